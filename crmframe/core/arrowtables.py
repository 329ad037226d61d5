"""Typed record frames ↔ Arrow tables with one fixed schema (for Parquet datasets).

Every file of an exported dataset must have the same schema, whatever its records hold,
so that pandas, DuckDB, Polars and Spark read the directory as one table. The schema
follows the frame's dtypes, which follow the field metadata
(:mod:`crmframe.core.codecs`):

====================  =========================================
frame dtype           Arrow / Parquet type
====================  =========================================
``string`` (ids too)  ``string``
``Int64``             ``int64``
``Float64``           ``double``
``boolean``           ``bool``
``datetime64[s, UTC]`` ``timestamp[ms, UTC]`` (Parquet has no seconds unit)
``datetime64[s]``     ``timestamp[ms]`` (dates: midnight, naive)
``object`` lists      ``list<string>``; ``Tag``: ``list<struct<name, id>>``
other ``object``      ``string`` holding the value as JSON
====================  =========================================

The index ``id`` is stored as a ``string`` column named ``id`` with pandas metadata, so
``pandas.read_parquet`` gives it back as the index. :func:`restore_dtypes` turns a frame
read back into the exact dtypes of ``read_records`` (seconds, lists).

Examples
--------
>>> import pandas as pd
>>> frame = pd.DataFrame({"Rating": pd.array([4, None], dtype="Int64"),
...     "Languages": [["en"], []]},
...     index=pd.Index(pd.array(["1", "2"], dtype="string"), name="id"))
>>> table = frame_to_table(frame, schema_for(frame))
>>> [str(t) for t in table.schema.types]
['string', 'int64', 'list<item: string>']
>>> table.column("Languages").to_pylist()
[['en'], []]
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pandas as pd
import pyarrow as pa

__all__ = [
    "TAG_TYPE",
    "arrow_type",
    "frame_to_table",
    "json_columns_of",
    "restore_dtypes",
    "schema_for",
]

TAG_TYPE = pa.list_(pa.struct([("name", pa.string()), ("id", pa.string())]))
_JSON_META = b"crmframe.json_columns"


def _is_list_column(values: pd.Series) -> bool | None:
    """True for a column of lists of scalars, False for other objects, None if all null."""
    seen = False
    for value in values.tolist():
        if value is None or value is pd.NA or (isinstance(value, float) and value != value):
            continue
        seen = True
        if not isinstance(value, list) or any(isinstance(v, (dict, list)) for v in value):
            return False
    return True if seen else None


def arrow_type(name: str, dtype: Any, values: pd.Series | None = None,
               kind: str | None = None) -> pa.DataType:
    """The Arrow type of one frame column (``kind``: the field's kind, when known)."""
    text = str(dtype)
    if text in ("string", "str"):
        return pa.string()
    if text == "Int64":
        return pa.int64()
    if text == "Float64":
        return pa.float64()
    if text == "boolean":
        return pa.bool_()
    if text.startswith("datetime64"):
        tz = "UTC" if "UTC" in text else None
        return pa.timestamp("ms", tz=tz)
    if name == "Tag":
        return TAG_TYPE
    if kind == "list":
        return pa.list_(pa.string())
    if kind is None and values is not None and _is_list_column(values):
        return pa.list_(pa.string())
    return pa.string()  # JSON text


def schema_for(frame: pd.DataFrame, kinds: Mapping[str, str] | None = None) -> pa.Schema:
    """The dataset schema of ``frame`` (``id`` first), with pandas metadata attached.

    ``kinds`` maps column → field kind (``"list"``...) so that a column whose values are
    all null still gets its list type.
    """
    kinds = kinds or {}
    fields = [pa.field("id", pa.string())]
    json_columns = []
    for column in frame.columns:
        name = str(column)
        kind = kinds.get(name)
        if kind not in ("list", None) and name != "Tag" and str(frame[column].dtype) == "object":
            kind = "json"
        typ = arrow_type(name, frame[column].dtype, frame[column], kind)
        if typ == pa.string() and str(frame[column].dtype) == "object":
            json_columns.append(name)
        fields.append(pa.field(name, typ))
    sample = pa.Table.from_pandas(frame.iloc[:0].astype(
        {c: "string" for c in json_columns}), preserve_index=True)
    metadata = dict(sample.schema.metadata or {})
    metadata[_JSON_META] = json.dumps(json_columns).encode()
    return pa.schema(fields, metadata=metadata)


def _json_text(value: Any) -> str | None:
    if value is None or value is pd.NA or (isinstance(value, float) and value != value):
        return None
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def frame_to_table(frame: pd.DataFrame, schema: pa.Schema) -> pa.Table:
    """``frame`` as a table of ``schema``: missing columns null, columns not in it dropped."""
    arrays = [pa.array([None if i is pd.NA else str(i) for i in frame.index.tolist()],
                       type=pa.string())]
    rows = len(frame)
    for field in schema:
        if field.name == "id":
            continue
        if field.name not in frame.columns:
            arrays.append(pa.nulls(rows, type=field.type))
            continue
        series = frame[field.name]
        typ = field.type
        if pa.types.is_timestamp(typ):
            values = series
            if str(series.dtype).startswith("datetime64"):
                values = series.astype(pd.api.types.pandas_dtype(
                    "datetime64[ms, UTC]" if typ.tz else "datetime64[ms]"))
            arrays.append(pa.array(values, type=typ, from_pandas=True))
        elif typ == pa.string() and str(series.dtype) == "object":
            arrays.append(pa.array([_json_text(v) for v in series.tolist()], type=typ))
        elif pa.types.is_list(typ):
            arrays.append(pa.array([v if isinstance(v, list) else None
                                    for v in series.tolist()], type=typ))
        else:
            arrays.append(pa.array(series, type=typ, from_pandas=True))
    return pa.Table.from_arrays(arrays, schema=schema)


def restore_dtypes(frame: pd.DataFrame, dtypes: Mapping[str, str],
                   json_columns: list[str] | None = None) -> pd.DataFrame:
    """A frame read from the dataset with the exact dtypes ``read_records`` gives.

    Datetimes back to seconds, arrays back to lists, JSON text back to objects, columns
    in the order of ``dtypes``.
    """
    out: dict[str, pd.Series] = {}
    json_set = set(json_columns or [])
    for name, dtype in dtypes.items():
        if name not in frame.columns:
            continue
        series = frame[name]
        if name in json_set:
            series = pd.Series([None if v is None or v is pd.NA else json.loads(v)
                                for v in series.tolist()], index=frame.index, dtype=object)
        elif dtype == "object":
            series = pd.Series([_to_list(v) for v in series.tolist()], index=frame.index,
                               dtype=object)
        elif str(series.dtype) != dtype:
            series = series.astype(pd.api.types.pandas_dtype(dtype))
        out[name] = series
    restored: pd.DataFrame = pd.DataFrame(out, index=frame.index)
    restored.index = pd.Index(frame.index.astype("string"), name="id")
    return restored


def _to_list(value: Any) -> Any:
    if value is None:
        return None
    if hasattr(value, "tolist") and not isinstance(value, (str, bytes)):
        value = value.tolist()
    if isinstance(value, list):
        return [_to_list(v) if hasattr(v, "tolist") else v for v in value]
    return value


def json_columns_of(schema: pa.Schema) -> list[str]:
    """Columns of ``schema`` that hold JSON text (objects in the frame)."""
    raw = (schema.metadata or {}).get(_JSON_META)
    return list(json.loads(raw)) if raw else []
