"""The rows an :class:`~crmframe.widgets.EditGrid` adds and deletes, and the windows it sends.

Added rows are labelled ``new-1``, ``new-2``... (not Zoho ids, so ``crm.push(...,
inserts=True)`` inserts them) and checked as ``crm.insert`` checks its frame: every
problem at once, mandatory fields included (:func:`~crmframe.core.inserts.new_records`).
The browser asks for the rows it shows a window at a time (:func:`window`): a 10,000-row
frame of 91 columns opens without serialising its 910,000 cells.

Examples
--------
>>> import pandas as pd
>>> original = pd.DataFrame({"Last_Name": pd.array(["Ito"], dtype="string"),
...                          "City": pd.array(["Gent"], dtype="string")},
...                         index=pd.Index(["4150868000000225013"], dtype="string", name="id"))
>>> added = added_frame(original, {0: {"City": "Lyon"}, 1: {"Last_Name": "Berg"}})
>>> added.index.tolist(), added["City"].tolist()
(['new-1', 'new-2'], ['Lyon', <NA>])
>>> fields = {"fields": [
...     {"api_name": "Last_Name", "data_type": "text", "json_type": "string",
...      "system_mandatory": True},
...     {"api_name": "City", "data_type": "text", "json_type": "string"}]}
>>> insert_problems(added, fields)[["id", "field", "problem"]].values.tolist()
[['new-1', 'Last_Name', 'mandatory field missing']]
>>> window(original, ["Last_Name", "City"], 0, 10)["rows"]
[['Ito', 'Gent']]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from crmframe.core.inserts import new_records
from crmframe.core.metadata import normalise_fields
from crmframe.errors import ValidationError
from crmframe.widgets.gridcolumns import column_json

__all__ = ["added_frame", "insert_problems", "new_label", "window"]

_PROBLEM_COLUMNS = ["id", "field", "value", "problem"]


def new_label(number: int) -> str:
    """The label of the grid's ``number``-th added row (0-based): ``new-1``, ``new-2``..."""
    return f"new-{number + 1}"


def added_frame(original: pd.DataFrame, rows: Mapping[int, Mapping[str, Any]]) -> pd.DataFrame:
    """The added rows (``{number: {column: typed value}}``) as rows of ``original``'s shape.

    Same columns and dtypes as ``original``, missing where nothing was typed; labelled
    :func:`new_label` of their number, in number order.
    """
    numbers = sorted(rows)
    labels = pd.Index([new_label(n) for n in numbers], dtype="string", name="id")
    frame: pd.DataFrame = original.iloc[:0].reindex(labels)
    for number in numbers:
        for column, value in rows[number].items():
            if value is not None:
                frame.at[new_label(number), column] = value
    frame.attrs = {}
    return frame


def insert_problems(added: pd.DataFrame, fields: Any) -> pd.DataFrame:
    """``id``, ``field``, ``value``, ``problem`` of the added rows, as an insert checks them.

    Only the columns the grid edits are checked (the others are blank in a new row, and a
    push sends only writable columns); a mandatory field missing is a problem wherever it is.
    """
    if added.empty:
        empty: pd.DataFrame = pd.DataFrame(columns=_PROBLEM_COLUMNS)
        return empty
    infos = normalise_fields(fields)
    columns = [c for c in added.columns if str(c) in infos and infos[str(c)].writable]
    rows = added[columns].reset_index(drop=True)
    try:
        new_records(rows, infos)
    except ValidationError as exc:
        found = exc.problems
        if found is None or found.empty:
            whole: pd.DataFrame = pd.DataFrame([[None, None, None, str(exc)]],
                                               columns=_PROBLEM_COLUMNS)
            return whole
        labels = added.index.tolist()
        out: pd.DataFrame = pd.DataFrame({
            "id": [str(labels[int(r)]) for r in found["row"]],
            "field": found["field"].astype(str).tolist(),
            "value": found["value"].tolist(),
            "problem": found["problem"].astype(str).tolist(),
        })
        return out
    none: pd.DataFrame = pd.DataFrame(columns=_PROBLEM_COLUMNS)
    return none


def window(frame: pd.DataFrame, columns: Sequence[str], start: int, end: int
           ) -> dict[str, Any]:
    """Rows ``start:end`` of ``frame`` for the browser: ids, and cells row by row as JSON.

    Rows past the end are left out; ``start`` is echoed so the browser files them.
    """
    start = max(0, int(start))
    end = max(start, min(len(frame), int(end)))
    part = frame.iloc[start:end]
    cells = [column_json(part[name]) for name in columns]
    return {
        "type": "rows",
        "start": start,
        "ids": [str(i) for i in part.index],
        "rows": [[column[i] for column in cells] for i in range(len(part))],
    }
