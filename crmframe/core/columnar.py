"""Record pages parsed straight into Arrow columns, then typed pandas columns.

The fast path of :class:`~crmframe.core.records.RecordsBuilder` when field metadata is
known: :func:`parse_page` reads the JSON bytes of one envelope with ``pyarrow.json`` and a
schema built from the metadata, so text, numbers, booleans, dates and lookups become Arrow
arrays without one Python object per value. :func:`arrow_series` turns a field's chunks
(one per page) into the same dtypes the Python path gives, or into ``pd.ArrowDtype``
columns for ``dtype_backend="pyarrow"``.

Nothing here may change a value. A page whose values do not fit the schema (a number in a
text field, an action result in place of a record, an error envelope), or where a column
Arrow had to infer could not be turned back into the exact JSON values, is refused
(``None``) and the builder parses that page with ``json`` instead. Fields without metadata,
lists and subforms are handed back as Python values (``to_pylist``), so their rules stay
those of :mod:`crmframe.core.codecs`.

Examples
--------
>>> from crmframe.core.metadata import normalise_fields
>>> fields = normalise_fields([{"api_name": "Score", "data_type": "integer"}])
>>> schema = schema_for(fields)
>>> page = parse_page(b'{"data": [{"id": "7", "Score": 3}, {"id": "8"}], "info": {}}', schema)
>>> page.count, page.columns["Score"].to_pylist()
(2, [3, None])
>>> arrow_series([page.columns["Score"]], Kind.INTEGER, "numpy_nullable").tolist()
[3, <NA>]
>>> parse_page(b'{"data": [{"id": "7", "Score": "three"}]}', schema) is None
True
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj

from crmframe.core.envelope import peek_info
from crmframe.core.fieldtypes import Kind
from crmframe.core.metadata import FieldInfo

__all__ = ["BACKENDS", "ArrowPage", "arrow_series", "faithful", "parse_page", "schema_for"]

#: The values ``dtype_backend`` takes (pandas' own convention).
BACKENDS = ("numpy_nullable", "pyarrow")

# Only these kinds are given an explicit Arrow type; everything else is left for Arrow to
# infer and comes back as Python values.
_ARROW_TYPES: dict[Kind, pa.DataType] = {
    Kind.TEXT: pa.string(),
    Kind.ID: pa.string(),
    Kind.INTEGER: pa.int64(),
    Kind.FLOAT: pa.float64(),
    Kind.BOOLEAN: pa.bool_(),
    Kind.DATE: pa.string(),
    Kind.DATETIME: pa.string(),
    Kind.LOOKUP: pa.struct([("id", pa.string()), ("name", pa.string())]),
}

# Zoho's exact formats (fieldtypes.DATE_RE / DATETIME_RE), for RE2: ASCII digits only, as
# the NumPy check of the Python path.
_SHAPES = {
    Kind.DATE: (r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$", "%Y-%m-%d"),
    Kind.DATETIME: (
        r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}[+-][0-9]{2}:[0-9]{2}$",
        "%Y-%m-%dT%H:%M:%S%z",
    ),
}

_NULLABLE: dict[pa.DataType, Any] = {
    pa.string(): pd.StringDtype(),
    pa.large_string(): pd.StringDtype(),
    pa.int64(): pd.Int64Dtype(),
    pa.float64(): pd.Float64Dtype(),
    pa.bool_(): pd.BooleanDtype(),
}

_PLAIN = (pa.string(), pa.int64(), pa.float64(), pa.bool_(), pa.null())


@dataclass(frozen=True)
class ArrowPage:
    """One parsed page: its records' columns (name → Arrow array) and its ``info``."""

    count: int
    columns: dict[str, pa.Array]
    info: dict[str, Any] | None


def schema_for(fields: Mapping[str, FieldInfo]) -> pa.Schema:
    """The ``pyarrow.json`` schema of an envelope whose records carry ``fields``.

    Examples
    --------
    >>> from crmframe.core.metadata import normalise_fields
    >>> schema_for(normalise_fields([{"api_name": "Owner", "data_type": "ownerlookup"}]))
    data: list<item: struct<id: string, Owner: struct<id: string, name: string>>>
      child 0, item: struct<id: string, Owner: struct<id: string, name: string>>
          child 0, id: string
          child 1, Owner: struct<id: string, name: string>
              child 0, id: string
              child 1, name: string
    """
    record = [pa.field("id", pa.string())]
    for name, info in fields.items():
        arrow_type = _ARROW_TYPES.get(info.kind)
        if arrow_type is not None and name != "id":
            record.append(pa.field(name, arrow_type))
    return pa.schema([pa.field("data", pa.list_(pa.struct(record)))])


def faithful(array: pa.Array) -> bool:
    """Whether ``array.to_pylist()`` gives back exactly the JSON values Arrow read.

    Arrow's inference turns date-like strings into timestamps and fills the keys an object
    lacked with nulls; such columns are refused.

    Examples
    --------
    >>> faithful(pa.array([["a"], [], None])), faithful(pa.array([{"a": 1}, {"b": 2}]))
    (True, False)
    """
    kind = array.type
    if kind in _PLAIN:
        return True
    if pa.types.is_list(kind):
        return faithful(array.flatten())
    if pa.types.is_struct(kind):
        # flatten() merges the struct's own validity: a child may only be null where its
        # parent is, otherwise a key was absent (or null) in some object.
        nulls = array.null_count
        return all(c.null_count == nulls and faithful(c) for c in array.flatten())
    return False


def parse_page(data: bytes, schema: pa.Schema) -> ArrowPage | None:
    """Parse one envelope's JSON bytes into columns, or ``None`` when it must be read by
    ``json`` (not a plain record page, or values that do not fit their field).

    ``schema`` comes from :func:`schema_for`.
    """
    body = data.strip()
    # Only an object that may hold records goes to Arrow: the JSON reader crashes the
    # process on a top-level ``null`` (pyarrow 26), and anything else is json's to judge.
    if not (body.startswith(b"{") and body.endswith(b"}") and b'"data"' in body):
        return None
    options = pj.ParseOptions(
        explicit_schema=schema, unexpected_field_behavior="infer", newlines_in_values=True
    )
    try:
        table = pj.read_json(
            pa.py_buffer(data),
            read_options=pj.ReadOptions(use_threads=False, block_size=max(len(data) + 64, 1 << 16)),
            parse_options=options,
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
        return None
    if table.num_rows != 1 or set(table.column_names) - {"data", "info"}:
        return None
    data_column = table.column("data").combine_chunks()
    if data_column.null_count:
        return None
    records = data_column.flatten()
    if records.null_count:
        return None
    count = len(records)
    info: dict[str, Any] | None = None
    if "info" in table.column_names:
        info_array = table.column("info").combine_chunks()
        if info_array.null_count or not pa.types.is_struct(info_array.type):
            return None
        info = _info(data, info_array.to_pylist()[0])
        if info is None:
            return None
    names = [records.type.field(i).name for i in range(records.type.num_fields)]
    columns = dict(zip(names, records.flatten(), strict=True))
    if "code" in columns and "status" in columns:
        return None  # perhaps action results in place of records: the JSON path says
    return ArrowPage(count, columns, info)


def _info(data: bytes, seen: dict[str, Any]) -> dict[str, Any] | None:
    """The ``info`` object exactly as sent: Arrow fills absent keys with nulls and reads
    date-like strings (``page_token_expiry``) as timestamps, so its own JSON is used, when
    it has the keys Arrow saw."""
    info = peek_info(data)
    if info is None or set(info) != set(seen):
        return None
    return info


def _concat(chunks: Sequence[pa.Array | int], arrow_type: pa.DataType) -> pa.ChunkedArray:
    parts = [pa.nulls(c, arrow_type) if isinstance(c, int) else c for c in chunks]
    return pa.chunked_array(parts, type=arrow_type)


def arrow_series(
    chunks: Sequence[pa.Array | int], kind: Kind, backend: str
) -> pd.Series | None:
    """A field's chunks (Arrow arrays, or an int: that many missing values) → a typed
    Series, or ``None`` when the values do not fit ``kind`` (the caller then takes the
    Python path, which keeps them in an ``object`` column).

    Examples
    --------
    >>> arrow_series([pa.array(["2024-02-29", None]), 1], Kind.DATE, "numpy_nullable").tolist()
    [Timestamp('2024-02-29 00:00:00'), NaT, NaT]
    >>> str(arrow_series([pa.array(["a"])], Kind.TEXT, "pyarrow").dtype)
    'string[pyarrow]'
    """
    arrow_type = _ARROW_TYPES.get(kind)
    if arrow_type is None or pa.types.is_struct(arrow_type):
        return None
    types = {c.type for c in chunks if not isinstance(c, int)} - {pa.null()}
    if types - {arrow_type}:
        return None
    column = _concat(chunks, arrow_type)
    if kind in _SHAPES:
        column = _parse_times(column, kind)
        if column is None:
            return None
    series: pd.Series
    if backend == "pyarrow":
        series = pd.Series(pd.arrays.ArrowExtensionArray(column), copy=False)
    elif kind in _SHAPES:
        # Arrow keeps the unit: datetime64[s] / datetime64[s, UTC], the Python path's dtypes
        series = pd.Series(column.to_pandas(), copy=False)
    else:
        series = pd.Series(column.to_pandas(types_mapper=_NULLABLE.get), copy=False)
    return series


def _parse_times(column: pa.ChunkedArray, kind: Kind) -> pa.ChunkedArray | None:
    pattern, spelled = _SHAPES[kind]
    if pc.all(pc.match_substring_regex(column, pattern)).as_py() is False:
        return None
    try:
        parsed: pa.ChunkedArray = pc.strptime(column, format=spelled, unit="s")
        # strptime rolls an impossible date over (2023-02-30 → 03-02): the wall-clock part
        # must print back as it was written, or the Python path keeps the strings.
        wall = pc.utf8_slice_codeunits(column, 0, 19) if kind is Kind.DATETIME else column
        local = pc.strptime(wall, format=spelled[:17], unit="s") if kind is Kind.DATETIME \
            else parsed
        printed = pc.strftime(local, format=spelled[:17] if kind is Kind.DATETIME else spelled)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    if pc.all(pc.equal(printed, wall)).as_py() is False:
        return None
    return parsed
