"""Subform and line-item cells (lists of row dicts) as a frame of their own, one row per
subform row, with the parent record's id.

A subform field (``Milestones`` of a custom module, ``Quoted_Items`` of Quotes...) reads
as one ``object`` cell per record holding Zoho's rows: ``[{"id", "Parent_Id": {"name",
"id"}, <fields>...}, ...]``. :func:`subform_frame` unrolls them for analysis; edit the
cells themselves (the whole list) to write rows back, since Zoho deletes the rows a write
leaves out.

Examples
--------
>>> import pandas as pd
>>> projects = pd.DataFrame(
...     {"Name": pd.array(["Rollout", "Audit"], dtype="string"),
...      "Milestones": [[{"id": "4876876000000100011", "Milestone": "Kick-off", "Hours": 8,
...                       "Assignee": {"name": "Theo Martin", "id": "4876876000000000012"}},
...                      {"id": "4876876000000100012", "Milestone": "Go-live",
...                       "Hours": None, "Assignee": None}],
...                     []]},
...     index=pd.Index(["4876876000000100010", "4876876000000100020"], dtype="string",
...                    name="id"))
>>> rows = subform_frame(projects, "Milestones")
>>> rows.index.tolist(), rows["Parent_Id"].tolist()
(['4876876000000100011', '4876876000000100012'], ['4876876000000100010', '4876876000000100010'])
>>> rows["Milestone"].tolist(), rows["Hours"].isna().tolist(), rows["Assignee.name"].iloc[0]
(['Kick-off', 'Go-live'], [False, True], 'Theo Martin')
>>> rows.dtypes.astype(str).to_dict()["Hours"], str(rows.index.dtype)
('Int64', 'string')
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from crmframe.core.codecs import is_missing
from crmframe.core.records import records_to_frame
from crmframe.errors import InputError

__all__ = ["subform_frame"]


def _parent_ids(frame: pd.DataFrame) -> list[Any]:
    if frame.index.name == "id":
        return list(frame.index)
    if "id" in frame.columns:
        return frame["id"].tolist()
    raise InputError(
        "subform_frame: the frame has no record ids (neither an index named 'id' nor an "
        "'id' column); read it with crm.read_records, or set_index('id') after "
        "reset_index()"
    )


def subform_frame(frame: pd.DataFrame, column: str, fields: Any = None) -> pd.DataFrame:
    """One row per subform row of ``frame[column]``, with the parent record's id.

    Parameters
    ----------
    frame : pandas.DataFrame
        Records as ``crm.read_records`` gives them (index ``id``, or an ``id`` column).
    column : str
        The subform or line-item field (``"Milestones"``, ``"Quoted_Items"``...).
    fields : field metadata, optional
        The subform module's fields (``crm.read_fields("Quoted_Items")``): columns are then
        typed by the metadata (dates as dates...); without it, types are inferred from
        the values.

    Returns
    -------
    pandas.DataFrame
        Indexed by the rows' ``id`` (``string``), first column ``Parent_Id`` (``string``,
        the parent's id), then the row fields typed like ``records_to_frame``'s columns:
        nullable numbers, lookups flattened to ``Field.id`` / ``Field.name``, ``$``-keys
        dropped. Records with no rows (``[]`` or missing) add no row.

    Raises
    ------
    InputError
        When ``column`` is not in the frame, the frame has no ids, or a cell is not a list
        of row dicts (a CSV reload leaves text: ``crmframe.retype(frame, fields)`` or
        ``crmframe.read_snapshot`` give the lists back).

    Examples
    --------
    >>> import pandas as pd
    >>> quotes = pd.DataFrame({"id": ["1"], "Quoted_Items": [[{"id": "11", "Quantity": 2.0,
    ...     "Product_Name": {"name": "Router 1", "id": "5"}, "Parent_Id": {"id": "1"}}]]})
    >>> lines = subform_frame(quotes, "Quoted_Items")
    >>> lines.index.tolist(), lines.columns.tolist()
    (['11'], ['Parent_Id', 'Quantity', 'Product_Name.id', 'Product_Name.name'])
    """
    if column not in frame.columns:
        raise InputError(
            f"subform_frame: no column {column!r} in the frame (columns: "
            f"{', '.join(map(str, frame.columns[:20]))}); read the subform field with "
            f"crm.read_records(module, fields=[..., {column!r}])"
        )
    parents = _parent_ids(frame)
    rows: list[dict[str, Any]] = []
    owners: list[Any] = []
    for position, (parent, cell) in enumerate(zip(parents, frame[column].tolist(),
                                                  strict=True)):
        if not isinstance(cell, (list, tuple)) and is_missing(cell):
            continue
        if not isinstance(cell, (list, tuple)) or not all(isinstance(r, Mapping) for r in cell):
            shown = repr(cell)
            raise InputError(
                f"subform_frame: {column!r} row {position} (id {parent}) holds "
                f"{type(cell).__name__} {shown[:60]}, not a list of row dicts; after a "
                f"CSV reload use crmframe.retype(frame, fields) (or save with "
                f"crmframe.to_snapshot, which keeps lists)"
            )
        for row in cell:
            rows.append({k: v for k, v in row.items() if k != "Parent_Id"})
            owners.append(None if is_missing(parent) else str(parent))
    out: pd.DataFrame = records_to_frame({"data": rows}, fields) if rows else pd.DataFrame(
        index=pd.Index([], dtype="string", name="id"))
    out = out.drop(columns=[c for c in out.columns if str(c).startswith("Parent_Id.")])
    out.insert(0, "Parent_Id", pd.Series(owners, index=out.index, dtype="string"))
    out.attrs = {"parent_column": column}
    return out
