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

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pj

from crmframe.core.codecs import fits_template
from crmframe.core.envelope import peek_info
from crmframe.core.fieldtypes import Kind
from crmframe.core.metadata import FieldInfo

__all__ = [
    "BACKENDS",
    "ArrowPage",
    "arrow_series",
    "chunked",
    "combined",
    "exact_type",
    "faithful",
    "list_series",
    "parse_page",
    "parse_pages",
    "python_lists_series",
    "schema_for",
    "text_type",
]

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
_TEMPLATES = {
    Kind.DATE: "9999-99-99",
    Kind.DATETIME: "9999-99-99T99:99:99±99:99",
}
_SHAPES = {
    Kind.DATE: r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$",
    Kind.DATETIME: (
        r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}[+-][0-9]{2}:[0-9]{2}$"
    ),
}

_NULLABLE: dict[pa.DataType, Any] = {
    pa.string(): pd.StringDtype(),
    pa.large_string(): pd.StringDtype(),
    pa.int64(): pd.Int64Dtype(),
    pa.float64(): pd.Float64Dtype(),
    pa.bool_(): pd.BooleanDtype(),
}

_PLAIN = (pa.string(), pa.large_string(), pa.int64(), pa.float64(), pa.bool_(), pa.null())
_TEXT_TYPES = frozenset({pa.string(), pa.large_string()})


@dataclass(frozen=True)
class ArrowPage:
    """One parsed page: its records' columns (name → Arrow array) and its ``info``."""

    count: int
    columns: dict[str, pa.Array]
    info: dict[str, Any] | None


def text_type(backend: str) -> pa.DataType:
    """The Arrow type text is read as for ``backend``: what its string dtype holds, so no
    column is converted afterwards (pandas' own ``string`` dtype, when backed by Arrow,
    holds ``large_string``; ``string[pyarrow]`` holds ``string``).

    Examples
    --------
    >>> text_type("pyarrow")
    DataType(string)
    """
    if backend != "pyarrow" and pd.StringDtype().storage == "pyarrow":
        return pa.large_string()
    return pa.string()


def schema_for(fields: Mapping[str, FieldInfo], text: pa.DataType | None = None) -> pa.Schema:
    """The ``pyarrow.json`` schema of an envelope whose records carry ``fields``; text
    (ids, dates and lookups' parts too) is read as ``text`` (default ``string``).

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
    text = text or pa.string()

    def typed(arrow_type: pa.DataType) -> pa.DataType:
        if arrow_type == pa.string():
            return text
        if pa.types.is_struct(arrow_type):
            return pa.struct([pa.field(f.name, typed(f.type)) for f in arrow_type])
        return arrow_type

    record = [pa.field("id", text)]
    for name, info in fields.items():
        arrow_type = _ARROW_TYPES.get(info.kind)
        if arrow_type is not None and name != "id":
            record.append(pa.field(name, typed(arrow_type)))
    return pa.schema([pa.field("data", pa.list_(pa.struct(record)))])


def faithful(array: pa.Array, *, in_list: bool = False) -> bool:
    """Whether ``array.to_pylist()`` gives back exactly the JSON values Arrow read.

    Arrow's inference turns date-like strings into timestamps, fills the keys an object
    lacked with nulls, and makes the integers of a list holding fractions floats; such
    columns are refused. (A column of numbers is typed ``Float64`` on both paths.)

    Examples
    --------
    >>> faithful(pa.array([["a"], [], None])), faithful(pa.array([{"a": 1}, {"b": 2}]))
    (True, False)
    >>> faithful(pa.array([1, 2.5])), faithful(pa.array([[1, 2.5]]))
    (True, False)
    """
    kind = array.type
    if kind in _PLAIN:
        return not (in_list and kind == pa.float64())
    if pa.types.is_list(kind):
        return faithful(array.flatten(), in_list=True)
    if pa.types.is_struct(kind):
        # flatten() merges the struct's own validity: a child may only be null where its
        # parent is, otherwise a key was absent (or null) in some object.
        nulls = array.null_count
        return all(
            c.null_count == nulls and faithful(c, in_list=in_list) for c in array.flatten()
        )
    return False


def parse_page(data: bytes, schema: pa.Schema) -> ArrowPage | None:
    """Parse one envelope's JSON bytes into columns, or ``None`` when it must be read by
    ``json`` (not a plain record page, or values that do not fit their field).

    ``schema`` comes from :func:`schema_for`.
    """
    # Only an object goes to Arrow: the JSON reader crashes the process on a top-level
    # ``null`` (pyarrow 26), and anything else is json's to judge. Only the ends are looked
    # at (a page is a megabyte: no stripped copy); an object without ``data`` is refused
    # below, its ``data`` column being null.
    if not (_first_byte(data) == b"{" and _last_byte(data) == b"}"):
        return None
    read = _read_envelopes(data, schema, 1)
    if read is None:
        return None
    _, records, info_array = read
    count = len(records)
    info: dict[str, Any] | None = None
    if info_array is not None:
        info = _info(data, {f.name for f in info_array.type})
        if info is None:
            return None
    # The records have no nulls (checked above), so each field's own array is exactly
    # what flatten() would give, without merging validity bitmaps field by field.
    columns = {f.name: records.field(i) for i, f in enumerate(records.type)}
    if "code" in columns and "status" in columns:
        return None  # perhaps action results in place of records: the JSON path says
    return ArrowPage(count, columns, info)


def _read_envelopes(
    data: bytes, schema: pa.Schema, envelopes: int
) -> tuple[pa.ListArray, pa.StructArray, pa.StructArray | None] | None:
    """``envelopes`` JSON objects (one per line) read by Arrow: their ``data`` lists, the
    records of all of them, and their ``info`` objects; ``None`` where they are not plain
    record pages (other keys, a missing ``data``, a null record or ``info``)."""
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
    if table.num_rows != envelopes or set(table.column_names) - {"data", "info"}:
        return None
    data_column = _one_chunk(table.column("data"))
    if data_column.null_count:
        return None
    records = data_column.flatten()
    if records.null_count:
        return None
    info_array = None
    if "info" in table.column_names:
        info_array = _one_chunk(table.column("info"))
        if info_array.null_count or not pa.types.is_struct(info_array.type):
            return None
    return data_column, records, info_array


def parse_pages(datas: Sequence[bytes], schema: pa.Schema) -> list[ArrowPage] | None:
    """Several envelopes' JSON bytes parsed in ONE ``read_json`` call (the reader's fixed
    cost per call, paid once), or ``None`` when any page might read differently alone —
    the caller then parses them one by one with :func:`parse_page`, so a bad page fails
    (or takes the ``json`` path) exactly as it would have.

    A batch is kept only where each page alone would give the same columns of the same
    types: every field Arrow inferred (and every inferred part of a typed object) holds a
    value in every page, no inferred number is fractional (a page of whole numbers alone
    would read as integers) and no inferred text looks like a date (a page of dates alone
    would read as timestamps).

    Examples
    --------
    >>> schema = schema_for({}, pa.string())
    >>> one, two = b'{"data": [{"id": "1", "n": 2}]}', b'{"data": [{"id": "2", "n": 3}]}'
    >>> pages = parse_pages([one, two], schema)
    >>> [(p.count, p.columns["n"].to_pylist()) for p in pages]
    [(1, [2]), (1, [3])]
    >>> parse_pages([one, b'{"data": [{"id": "2", "n": 0.5}]}'], schema) is None
    True
    """
    if len(datas) < 2 or not all(
        _first_byte(d) == b"{" and _last_byte(d) == b"}" for d in datas
    ):
        return None
    read = _read_envelopes(b"\n".join(datas), schema, len(datas))
    if read is None:
        return None
    data_column, records, info_array = read
    infos: list[dict[str, Any] | None] = [None] * len(datas)
    if info_array is not None:
        seen = {f.name for f in info_array.type}
        infos = [_info(d, seen) for d in datas]
        if any(i is None for i in infos):
            return None
    record_type = records.type
    if "code" in record_type.names and "status" in record_type.names:
        return None
    inferred = _inferred_paths(record_type, schema.field("data").type.value_type)
    whole = [_at(records, path) for path in inferred]
    if not all(_same_alone(part) for part in whole):
        return None
    offsets = data_column.offsets.to_pylist()
    base = offsets[0]
    pages = []
    for position in range(len(datas)):
        start, stop = offsets[position] - base, offsets[position + 1] - base
        page = records.slice(start, stop - start)
        if not all(_grounded(_at(page, path)) for path in inferred):
            return None
        columns = {f.name: page.field(i) for i, f in enumerate(record_type)}
        pages.append(ArrowPage(stop - start, columns, infos[position]))
    return pages


def _inferred_paths(found: pa.DataType, declared: pa.DataType) -> list[tuple[int, ...]]:
    """Child positions (a path into structs) of the parts ``found`` has and ``declared``
    lacks: what Arrow inferred."""
    names = set(declared.names)
    paths: list[tuple[int, ...]] = []
    for i, f in enumerate(found):
        if f.name not in names:
            paths.append((i,))
        elif pa.types.is_struct(f.type):
            inner = declared.field(f.name).type
            if pa.types.is_struct(inner):
                paths.extend((i, *p) for p in _inferred_paths(f.type, inner))
    return paths


def _at(array: pa.Array, path: tuple[int, ...]) -> pa.Array:
    for i in path:
        array = array.field(i)
    return array


def _same_alone(array: pa.Array) -> bool:
    """Whether no part of an inferred column could be typed otherwise on a page alone."""
    kind = array.type
    if kind in _TEXT_TYPES:
        return not pc.any(pc.match_substring_regex(array, "^[0-9]{4}-")).as_py()
    if kind in (pa.int64(), pa.bool_()):
        return True
    if pa.types.is_list(kind):
        return _same_alone(array.flatten())
    if pa.types.is_struct(kind):
        return all(_same_alone(array.field(i)) for i in range(kind.num_fields))
    return False  # fractions, timestamps, nulls only: a page alone may differ


def _grounded(array: pa.Array) -> bool:
    """Whether every part of ``array`` holds a value (so a page alone infers it too)."""
    if len(array) == 0 or array.null_count == len(array):
        return False
    kind = array.type
    if pa.types.is_list(kind):
        return _grounded(array.flatten())
    if pa.types.is_struct(kind):
        return all(_grounded(array.field(i)) for i in range(kind.num_fields))
    return True


def _one_chunk(column: pa.ChunkedArray) -> pa.Array:
    # combine_chunks() copies even a single chunk: a whole page's values, every page
    return column.chunk(0) if column.num_chunks == 1 else column.combine_chunks()


def _first_byte(data: bytes) -> bytes:
    head = data[:64].lstrip()
    return head[:1] if head or len(data) <= 64 else data.lstrip()[:1]


def _last_byte(data: bytes) -> bytes:
    tail = data[-64:].rstrip()
    return tail[-1:] if tail or len(data) <= 64 else data.rstrip()[-1:]


def _info(data: bytes, seen: set[str]) -> dict[str, Any] | None:
    """The ``info`` object exactly as sent: Arrow fills absent keys with nulls and reads
    date-like strings (``page_token_expiry``) as timestamps, so its own JSON is used, when
    it has the keys Arrow saw."""
    info = peek_info(data)
    if info is None or set(info) != seen:
        return None
    return info


def combined(chunks: Sequence[pa.Array | int], arrow_type: pa.DataType) -> pa.Array:
    """The chunks as one contiguous array (an int chunk: that many nulls).

    One array, not a chunked array of a thousand page-sized pieces: pandas and Arrow's
    kernels then work on one buffer, and the pages' own buffers are freed.
    """
    parts = _typed_parts(chunks, arrow_type)
    if not parts:
        return pa.array([], type=arrow_type)
    return parts[0] if len(parts) == 1 else pa.concat_arrays(parts)


def chunked(chunks: Sequence[pa.Array | int], arrow_type: pa.DataType) -> pa.ChunkedArray:
    """The chunks as one chunked array, without copying them (an int: that many nulls)."""
    return pa.chunked_array(_typed_parts(chunks, arrow_type), type=arrow_type)


def _typed_parts(chunks: Sequence[pa.Array | int], arrow_type: pa.DataType) -> list[pa.Array]:
    parts = [pa.nulls(c, arrow_type) if isinstance(c, int) else c for c in chunks]
    return [p if p.type == arrow_type else p.cast(arrow_type) for p in parts]


def arrow_series(
    chunks: Sequence[pa.Array | int], kind: Kind, backend: str
) -> pd.Series | None:
    """A field's chunks (Arrow arrays, or an int: that many missing values) → a typed
    Series, or ``None`` when the values do not fit ``kind`` (the caller then takes the
    Python path, which keeps them in an ``object`` column).

    The ``pyarrow`` backend wraps the pages' arrays as they are (one chunk per page, no
    copy); the default one joins them once into the dtypes of the Python path.

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
    if arrow_type == pa.string():
        # the text type of the schema (string, or large_string for pandas' own strings)
        if types - _TEXT_TYPES:
            return None
        target = text_type(backend)
    else:
        target = arrow_type
        if types - {arrow_type}:
            return None
    column: pa.Array | pa.ChunkedArray
    if kind in _SHAPES:
        column = _parse_times(combined(chunks, target), kind)
        if column is None:
            return None
    elif backend == "pyarrow":
        column = chunked(chunks, target)
    else:
        column = combined(chunks, target)
    series: pd.Series
    if backend == "pyarrow":
        series = pd.Series(pd.arrays.ArrowExtensionArray(column), copy=False)
    elif kind in _SHAPES:
        # Arrow keeps the unit: datetime64[s] / datetime64[s, UTC], the Python path's dtypes
        series = pd.Series(column.to_pandas(), copy=False)
    else:
        dtype = _NULLABLE[column.type]
        series = pd.Series(dtype.__from_arrow__(column), copy=False)
    return series


def _parse_times(column: pa.Array, kind: Kind) -> pa.Array | None:
    """Date or datetime strings → ``timestamp[s]`` (UTC for datetimes), or ``None`` when
    one is not in Zoho's exact format or names no real moment (Arrow's cast refuses
    2023-02-30 and offsets past 23:59, as the Python path does)."""
    fits = _fits_template(column, _TEMPLATES[kind])
    if fits is None:  # not laid out for the byte check: the regex says
        fits = pc.all(pc.match_substring_regex(column, _SHAPES[kind])).as_py() is not False
    if not fits:
        return None
    target = pa.timestamp("s", tz="UTC") if kind is Kind.DATETIME else pa.timestamp("s")
    try:
        parsed: pa.Array = pc.cast(column, target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    return parsed


def _fits_template(column: pa.Array, template: str) -> bool | None:
    """Whether every string of ``column`` has ``template``'s shape (as
    :func:`crmframe.core.codecs.template_bounds` reads it), checked on the bytes at once.

    Every value of the right width, and nulls taking no bytes (as Arrow's readers write
    them), make the values one ``(n, width)`` block of bytes, compared position by
    position with NumPy. ``None`` when nulls hold bytes: the caller asks the regex then.
    """
    valid = len(column) - column.null_count
    if valid == 0:
        return True
    width = len(template)
    lengths = pc.min_max(pc.binary_length(column)).as_py()
    if lengths["min"] != width or lengths["max"] != width:
        return False
    large = pa.types.is_large_string(column.type)
    offset_type = np.dtype(np.int64 if large else np.int32)
    offsets = np.frombuffer(
        column.buffers()[1], dtype=offset_type, count=len(column) + 1,
        offset=column.offset * offset_type.itemsize,
    )
    first, last = int(offsets[0]), int(offsets[-1])
    if last - first != valid * width:
        return None
    data = np.frombuffer(column.buffers()[2], dtype=np.uint8, count=last - first, offset=first)
    return fits_template(data.reshape(valid, width), template)


def list_series(chunks: Sequence[pa.Array | int]) -> pd.Series | None:
    """A list field's chunks as a ``pd.ArrowDtype`` list column (the ``pyarrow`` backend),
    without copying them; ``None`` when they are not lists of one exact type.

    Pages whose lists were all empty (``list<null>``) or all null take the others' type.
    Lists holding numbers with a fraction stay Python objects: Arrow would have turned
    the integers beside them into floats.

    Examples
    --------
    >>> str(list_series([pa.array([["en"], []]), pa.array([[]]), 1]).dtype)
    'list<item: string>[pyarrow]'
    >>> list_series([pa.array([[1.5, 2.0]])]) is None
    True
    """
    types = {c.type for c in chunks if not isinstance(c, int)}
    if not all(pa.types.is_list(t) or t == pa.null() for t in types):
        return None
    found = {t for t in types if t not in (pa.null(), _EMPTY_LISTS)}
    if len(found) > 1 or not types:
        return None
    target = found.pop() if found else _EMPTY_LISTS
    if not exact_type(target):
        return None
    try:
        column = chunked(chunks, target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    series: pd.Series = pd.Series(pd.arrays.ArrowExtensionArray(column), copy=False)
    return series


def python_lists_series(values: list[Any]) -> pd.Series | None:
    """Python lists (``None`` where missing) as the ``pd.ArrowDtype`` list column
    :func:`list_series` gives for the same JSON, or ``None`` when Arrow cannot hold them
    exactly (mixed types, objects with different keys, numbers with a fraction)."""
    if not values or not all(v is None or type(v) is list for v in values):
        return None
    if all(v is None for v in values):
        return None
    try:
        array = pa.array(values)
    except (pa.ArrowException, OverflowError, TypeError, ValueError):
        return None
    if not (pa.types.is_list(array.type) and exact_type(array.type) and faithful(array)):
        return None
    series: pd.Series = pd.Series(pd.arrays.ArrowExtensionArray(array), copy=False)
    return series


_EMPTY_LISTS = pa.list_(pa.null())
_EXACT_LEAVES = (pa.string(), pa.large_string(), pa.int64(), pa.bool_(), pa.null())


def exact_type(arrow_type: pa.DataType) -> bool:
    """Whether values of ``arrow_type`` read back exactly as the JSON values they came
    from: text, integers, booleans, and lists and objects of those."""
    if pa.types.is_list(arrow_type):
        return exact_type(arrow_type.value_type)
    if pa.types.is_struct(arrow_type):
        return all(exact_type(f.type) for f in arrow_type)
    return arrow_type in _EXACT_LEAVES
