"""A frame as columns a Parquet file can hold, and back, losing nothing (pure: no I/O).

:func:`to_storable` turns the cells Parquet cannot type (lists, dicts, mixed objects) into
JSON text and describes the frame — its index, every column's dtype, the JSON columns and
its ``attrs`` — in a JSON-able :class:`dict`; :func:`from_storable` undoes it. The file I/O
is :func:`crmframe.to_snapshot` / :func:`crmframe.read_snapshot`.

Examples
--------
>>> idx = pd.Index(["1", "2"], dtype="string", name="id")
>>> frame = pd.DataFrame({"Tags": [["a", "b"], None],
...                       "Score": pd.array([1, None], dtype="Int64")}, index=idx)
>>> frame.attrs["module"] = "Leads"
>>> stored, meta = to_storable(frame)
>>> stored["Tags"].tolist(), meta["json_columns"]
(['["a", "b"]', <NA>], ['Tags'])
>>> back = from_storable(stored, meta)
>>> back.equals(frame), back.attrs, str(back["Score"].dtype)
(True, {'module': 'Leads'}, 'Int64')
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd

from crmframe.core.codecs import is_missing
from crmframe.errors import InputError

__all__ = ["SNAPSHOT_FORMAT", "from_storable", "to_storable"]

#: The ``format`` of the description; a file without it is not a crmframe snapshot.
SNAPSHOT_FORMAT = "crmframe-snapshot/1"

_INDEX = "__crmframe_index__"


def _json_default(value: Any) -> Any:
    if is_missing(value):  # pd.NA, NaT: JSON has only null for them
        return None
    if isinstance(value, (pd.Timestamp, datetime, date, np.datetime64)):
        return {"__timestamp__": pd.Timestamp(value).isoformat()}
    if isinstance(value, np.bool_):  # a value of a "boolean" column; str() would make "True"
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.floating):
        return float(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    return str(value)


def _json_hook(obj: dict[str, Any]) -> Any:
    if set(obj) == {"__timestamp__"}:
        return pd.Timestamp(obj["__timestamp__"])
    return obj


def _dumps(value: Any) -> str:
    return json.dumps(value, default=_json_default, ensure_ascii=False)


def _loads(text: str) -> Any:
    return json.loads(text, object_hook=_json_hook)


def to_storable(frame: pd.DataFrame) -> tuple[pd.DataFrame, dict[str, Any]]:
    """``(columns Parquet can hold, description)`` of ``frame``; see the module docstring.

    Raises
    ------
    InputError
        When column names are not unique or not all strings (a file needs one name each).
    """
    names = [str(c) for c in frame.columns]
    if len(set(names)) != len(names) or any(not isinstance(c, str) for c in frame.columns):
        raise InputError("a snapshot needs unique string column names")
    if _INDEX in names:
        raise InputError(f"a column may not be named {_INDEX!r}")
    out = pd.DataFrame(index=pd.RangeIndex(len(frame)))
    json_columns: list[str] = []
    for name in names:
        series = frame[name]
        if series.dtype == object:
            out[name] = pd.array(
                [None if not isinstance(v, (list, dict, tuple)) and is_missing(v) else _dumps(v)
                 for v in series.tolist()], dtype="string")
            json_columns.append(name)
        else:
            out[name] = series.array
    index = frame.index
    if isinstance(index, pd.MultiIndex):
        raise InputError("a snapshot keeps one index level: reset_index() the others first")
    index_json = index.dtype == object
    if index_json:
        out[_INDEX] = pd.array([_dumps(v) for v in index.tolist()], dtype="string")
    else:
        out[_INDEX] = index.array
    meta = {
        "format": SNAPSHOT_FORMAT,
        "columns": names,
        "dtypes": {n: str(frame[n].dtype) for n in names},
        "json_columns": json_columns,
        "index": {"name": index.name, "dtype": str(index.dtype), "json": bool(index_json)},
        "attrs": json.loads(_dumps(dict(frame.attrs))),
    }
    return out, meta


def from_storable(stored: pd.DataFrame, meta: Mapping[str, Any]) -> pd.DataFrame:
    """The frame :func:`to_storable` described: same index, dtypes, cells and ``attrs``.

    Raises
    ------
    InputError
        When ``meta`` is not a crmframe snapshot's description.
    """
    if not isinstance(meta, Mapping) or meta.get("format") != SNAPSHOT_FORMAT:
        raise InputError("not a crmframe snapshot (no crmframe description in the file)")
    dtypes: Mapping[str, str] = meta["dtypes"]
    json_columns = set(meta.get("json_columns") or [])
    columns: dict[str, Any] = {}
    for name in meta["columns"]:
        series = stored[name]
        if name in json_columns:
            columns[name] = pd.Series(
                [None if is_missing(v) else _loads(str(v)) for v in series.tolist()],
                dtype=object,
            )
        else:
            columns[name] = series.astype(dtypes[name])
    spec = meta["index"]
    raw_index = stored[_INDEX]
    if spec.get("json"):
        index = pd.Index([_loads(str(v)) for v in raw_index.tolist()], dtype=object,
                         name=spec.get("name"))
    else:
        index = pd.Index(raw_index.astype(spec["dtype"]), name=spec.get("name"))
    frame: pd.DataFrame = pd.DataFrame(columns, index=pd.RangeIndex(len(stored)))
    frame.index = index
    frame.attrs = dict(json.loads(json.dumps(meta.get("attrs") or {}), object_hook=_json_hook))
    return frame
