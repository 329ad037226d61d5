"""Record envelopes (``GET /{module}``, search, COQL) → one typed DataFrame indexed by ``id``.

:class:`RecordsBuilder` collects the raw values of each page into one Python list per
column as pages arrive (the HTTP client feeds it page by page, so the JSON of all pages is
never held at once) and types every column once, in :meth:`RecordsBuilder.to_frame`.
:func:`records_to_frame` is the one-shot form and gives the identical frame.

Shape of the frame:

* index ``id`` (dtype ``string``): the exact id strings, ``<NA>`` where a record has none;
* lookups and other objects flatten to ``Field.id``, ``Field.name`` (``Field.email``...);
  a null lookup gives nulls in each part;
* multi-select picklists, other arrays and subforms stay Python lists in ``object`` columns;
* keys beginning with ``$`` are dropped unless ``keep_system_keys=True``;
* ``df.attrs``: ``module`` (when given), ``info`` (the last page's ``info`` block), ``pages``.

Dtypes follow the field metadata when given (:mod:`crmframe.core.codecs`), else they are
inferred from the JSON values. Values that do not fit their type are kept in an ``object``
column, never dropped. ``dtype_backend="pyarrow"`` gives ``pd.ArrowDtype`` columns instead
(``string[pyarrow]``, ``int64[pyarrow]``, ``timestamp[s, tz=UTC][pyarrow]``...; lists and
objects stay ``object``); the default ``"numpy_nullable"`` gives the dtypes above.

With field metadata, pages given as JSON bytes (or text, or a response) are parsed
straight into Arrow columns (:mod:`crmframe.core.columnar`); a page Arrow cannot read
exactly is parsed by ``json`` instead, with the same result.

Examples
--------
>>> env = {"data": [{"id": "4150868000000002175", "Owner": {"id": "4150868000000225013",
...     "name": "Patricia Boyle"}, "No_of_Employees": 12, "$approved": True},
...     {"Owner": None, "No_of_Employees": None}], "info": {"more_records": False}}
>>> df = records_to_frame(env, module="Leads")
>>> df.index.tolist()
['4150868000000002175', <NA>]
>>> df.dtypes.astype(str).to_dict()
{'Owner.id': 'string', 'Owner.name': 'string', 'No_of_Employees': 'Int64'}
>>> df.attrs["module"], df.attrs["info"]
('Leads', {'more_records': False})
"""

from __future__ import annotations

import gc
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from itertools import chain, repeat
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from crmframe.core.codecs import (
    decode_column,
    infer_kind,
    object_series,
    short_repr,
    split_objects,
)
from crmframe.core.columnar import (
    BACKENDS,
    ArrowPage,
    arrow_series,
    chunked,
    faithful,
    list_series,
    parse_page,
    parse_pages,
    python_lists_series,
    schema_for,
    text_type,
)
from crmframe.core.envelope import load_envelope
from crmframe.core.fieldtypes import LOOKUP_KINDS, Kind
from crmframe.core.metadata import FieldInfo, normalise_fields
from crmframe.errors import EnvelopeError, InputError, error_from_envelope

__all__ = ["RecordsBuilder", "records_to_frame"]

# Sub-keys of a lookup whose kind is known whatever the values look like.
_LOOKUP_PART_KINDS: dict[str, Kind] = {"id": Kind.ID, "name": Kind.TEXT, "email": Kind.TEXT}
_LOOKUP_PARTS = ("id", "name")


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while building.

    Parsing and collecting a page allocates thousands of acyclic containers, and each
    allocation burst sets off collections that walk every object already held: on 100,000
    records that was half of the time. Nothing built here forms a cycle, so nothing is
    left for the collector (and any cycle made meanwhile is only collected later, not
    leaked); the previous state is restored (never enabled if it was off).

    The switch is process-wide, so the pause holds for every thread while it lasts.
    Overlapping pauses in several threads are safe: only the pause that found the
    collector on turns it back on, so it always ends on, at worst early for a pause still
    running (which then only loses speed). A ``gc.disable()`` made elsewhere during a
    pause that found the collector on is undone when that pause ends.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _is_action_result(item: Mapping[str, Any]) -> bool:
    """A ``{"code", "status", "message"/"details"}`` object in place of a record."""
    return (
        isinstance(item.get("code"), str)
        and isinstance(item.get("status"), str)
        and item.get("status") in ("error", "success")
        and "id" not in item
        and ("message" in item or "details" in item)
    )


def _short_keys(body: Mapping[str, Any]) -> str:
    keys = [repr(k)[:40] for k in list(body)[:6]]
    more = ", ..." if len(body) > 6 else ""
    return ", ".join(keys) + more


class RecordsBuilder:
    """Turn record pages into one typed DataFrame, page by page.

    Parameters
    ----------
    fields : field metadata, optional
        The ``/settings/fields`` envelope, its ``fields`` list, or a frame from
        :func:`~crmframe.core.metadata.fields_to_frame`. Dtypes then follow each field's
        kind; unknown columns are inferred.
    columns : list of str, optional
        The fields asked for. They come first, in this order, and appear even when no
        record carries them. Without ``columns``, every field of ``fields`` appears (pass
        only the fields you asked for, or set ``columns``).
    keep_system_keys : bool, default False
        Keep keys beginning with ``$`` (``$approved``, ``$state``...).
    module : str, optional
        The module API name, kept in ``df.attrs["module"]``.
    dtype_backend : {"numpy_nullable", "pyarrow"}, default "numpy_nullable"
        ``"pyarrow"`` gives ``pd.ArrowDtype`` columns (see the module docstring).

    Examples
    --------
    >>> b = RecordsBuilder(module="Leads")
    >>> b.add({"data": [{"id": "1", "Rating": 4}], "info": {"more_records": True}})
    1
    >>> b.add([{"id": "2", "Rating": 5.5}])
    1
    >>> df = b.to_frame()
    >>> df["Rating"].tolist(), str(df["Rating"].dtype)
    ([4.0, 5.5], 'Float64')
    """

    def __init__(
        self,
        fields: Any = None,
        *,
        columns: Iterable[str] | None = None,
        keep_system_keys: bool = False,
        module: str | None = None,
        dtype_backend: str = "numpy_nullable",
    ) -> None:
        if dtype_backend not in BACKENDS:
            raise InputError(
                f"dtype_backend must be one of {', '.join(map(repr, BACKENDS))}, "
                f"got {short_repr(dtype_backend)}"
            )
        self._backend = dtype_backend
        self._fields: dict[str, FieldInfo] = {} if fields is None else normalise_fields(fields)
        if columns is not None:
            if isinstance(columns, (str, bytes)) or not isinstance(columns, Iterable):
                shown = short_repr(columns, 60)
                raise InputError(f"columns must be a list of field names, got {shown}")
            requested = list(columns)
            if not all(isinstance(c, str) for c in requested):
                raise InputError("columns must be a list of field API name strings")
            self._requested: list[str] = list(dict.fromkeys(requested))
        else:
            self._requested = list(self._fields)
        if module is not None and not isinstance(module, str):
            raise InputError(
                f"module must be a module API name string, got {type(module).__name__}"
            )
        self._keep_system = bool(keep_system_keys)
        self._module = module
        # Only requested fields get an explicit Arrow type: a typed column always appears,
        # where an unrequested field must appear only when a record carries it.
        wanted = {n: self._fields[n] for n in self._requested if n in self._fields}
        self._arrow_fields = wanted
        self._schema = schema_for(wanted, text_type(dtype_backend)) if wanted else None
        # Fields read with the schema's own type; any other column (a list, a field Arrow
        # inferred) must read back exactly, page by page, or the page takes the json path.
        record_type = self._schema.field("data").type.value_type if self._schema else None
        self._typed = set(record_type.names) if record_type is not None else set()
        # Of those, the objects (lookups): only their parts Arrow inferred need a look.
        self._typed_objects = (
            {f.name for f in record_type if pa.types.is_struct(f.type)}
            if record_type is not None else set()
        )
        self._last_count = 0
        # Each column is a list of per-page chunks: an Arrow array (the columnar path), a
        # tuple of the page's raw values (the ``json`` path; a tuple of strings and numbers
        # drops out of the garbage collector's sight, where one long list would make every
        # full collection walk millions of references), or an int: that many missing values.
        self._cols: dict[str, list[Any]] = {}
        self._rows = 0
        self._python_rows = 0
        self._pages = 0
        self._info: dict[str, Any] = {}

    @property
    def rows(self) -> int:
        """Number of records added so far."""
        return self._rows

    @property
    def python_rows(self) -> int:
        """Records added so far through ``json`` (decoded pages, dicts): their values are
        held as Python objects until :meth:`to_frame`, where bytes read into Arrow columns
        hold next to nothing more than the frame will."""
        return self._python_rows

    def add(self, page: Any) -> int:
        """Add one page: an envelope (dict, JSON text/bytes, response) or a list of records.

        Returns
        -------
        int
            The number of records the page held.

        Raises
        ------
        EnvelopeError
            When the page is not a record envelope (no ``data`` list, a record that is
            not an object).
        ZohoAPIError
            (a subclass) for a whole-request error envelope, or an error object in
            ``data`` instead of a record (e.g. ``INVALID_MODULE``).
        """
        with _gc_paused():
            return self._add(page)

    def _add(self, page: Any) -> int:
        http_status: int | None = None
        if self._schema is not None:
            raw = _raw_bytes(page)
            if raw is not None and self._add_arrow(raw):
                return self._last_count
        if isinstance(page, list):
            records: list[Any] = page
        else:
            loaded = load_envelope(page)
            http_status = loaded.http_status
            body = loaded.body
            if not body:  # 204/304 or {}: a valid answer with nothing in it
                self._pages += 1
                return 0
            if "data" not in body:
                raise EnvelopeError(
                    f"not a record envelope: no 'data' list (keys: {_short_keys(body)})"
                )
            data = body["data"]
            if not isinstance(data, list):
                raise EnvelopeError(f"'data' is {type(data).__name__}, expected a list of records")
            info = body.get("info")
            if info is not None and not isinstance(info, Mapping):
                raise EnvelopeError(f"'info' is {type(info).__name__}, expected an object")
            records = data
            added = self._add_records(records, http_status)
            if info is not None:
                self._info = dict(info)
            self._pages += 1
            return added
        return self._add_records(records, http_status)

    def add_pages(self, pages: Iterable[Any], *, batch: int = 8) -> int:
        """Add pages one after the other, as :meth:`add` would, and return the number of
        records they held.

        Consecutive JSON pages are parsed ``batch`` at a time in one call of Arrow's
        reader (its fixed cost per call, paid once). A batch that does not read exactly as
        its pages would one by one — a bad page, a page for the ``json`` path, a column
        Arrow could type otherwise on one page — is added page by page with :meth:`add`:
        the pages before a bad one are added and the bad one raises, as in a loop of
        :meth:`add`.

        Examples
        --------
        >>> builder = RecordsBuilder()
        >>> builder.add_pages([b'{"data": [{"id": "1"}]}', b'{"data": [{"id": "2"}]}'])
        2
        >>> builder.to_frame().index.tolist()
        ['1', '2']
        """
        total = 0
        pending: list[tuple[Any, bytes]] = []

        def flush() -> None:
            nonlocal total
            if len(pending) > 1 and self._schema is not None:
                with _gc_paused():
                    parsed = parse_pages([raw for _, raw in pending], self._schema)
                    kept = [] if parsed is None else [self._kept(p) for p in parsed]
                    if parsed is not None and all(k is not None for k in kept):
                        for page, columns in zip(parsed, kept, strict=True):
                            assert columns is not None
                            self._append_arrow(page, columns)
                            total += page.count
                        pending.clear()
                        return
            for page, _ in pending:
                total += self.add(page)
            pending.clear()

        for page in pages:
            raw = _raw_bytes(page) if self._schema is not None and batch > 1 else None
            if raw is None:
                flush()
                total += self.add(page)
                continue
            pending.append((page, raw))
            if len(pending) >= batch:
                flush()
        flush()
        return total

    def _add_arrow(self, raw: bytes) -> bool:
        """The columnar path; False (nothing added) when the page must go through ``json``."""
        parsed = parse_page(raw, self._schema)
        if parsed is None:
            return False
        kept = self._kept(parsed)
        if kept is None:
            return False
        self._append_arrow(parsed, kept)
        return True

    def _kept(self, parsed: ArrowPage) -> dict[str, pa.Array] | None:
        """The page's columns this builder keeps, or None when the page must go through
        ``json`` (a column Arrow read that would not give back its JSON values)."""
        kept: dict[str, pa.Array] = {}
        for key, array in parsed.columns.items():
            if key.startswith("$") and not self._keep_system:
                continue
            if key in self._typed:
                if key in self._typed_objects and not all(
                    faithful(part) for part in array.flatten()
                ):
                    return None
            # a requested subform or list has no explicit Arrow type either: Arrow's
            # inference (dates in rows read as timestamps) must not reach the cells
            elif not faithful(array):
                return None
            kept[key] = array
        return kept

    def _append_arrow(self, parsed: ArrowPage, kept: dict[str, pa.Array]) -> None:
        count = parsed.count
        self._last_count = count
        if count == 0:
            if parsed.info is not None:
                self._info = parsed.info
            self._pages += 1
            return
        cols = self._cols
        for key in kept:
            if key not in cols:
                cols[key] = [self._rows] if self._rows else []
        for key, column in cols.items():
            column.append(kept.get(key, count))
        self._rows += count
        if parsed.info is not None:
            self._info = parsed.info
        self._pages += 1

    def _add_records(self, records: list[Any], http_status: int | None) -> int:
        count = len(records)
        if count == 0:
            return 0
        if not all(type(r) is dict for r in records):
            for position, record in enumerate(records):
                if not isinstance(record, Mapping):
                    raise EnvelopeError(
                        f"data item {self._rows + position} is {type(record).__name__}, "
                        "expected a record object"
                    )
            records = [dict(r) for r in records]
        keys: dict[Any, Any] = {}
        for record in records:
            keys.update(record)
        # Everything is checked before any column grows, so a refused page leaves the
        # builder as it was.
        if "code" in keys and "status" in keys:
            for position, record in enumerate(records):
                if _is_action_result(record):
                    if record.get("status") == "error":
                        raise error_from_envelope(record, http_status)
                    raise EnvelopeError(
                        f"data item {self._rows + position} is an action result "
                        f"({record.get('code')}), not a record: use results_to_frame"
                    )
        cols = self._cols
        new = [k for k in keys if k not in cols]
        for key in new:
            if not isinstance(key, str):
                raise EnvelopeError(f"record keys must be strings, got {short_repr(key)}")
        ids: list[Any] | None = None
        if "id" in keys:
            ids = [r.get("id") for r in records]
            ids = _check_ids(ids, self._rows)
        for key in new:
            if key.startswith("$") and not self._keep_system:
                continue
            cols[key] = [self._rows] if self._rows else []
        for key, column in cols.items():
            if key == "id" and ids is not None:
                column.append(_arrow_chunk(tuple(ids), Kind.ID))
            elif key in keys:
                # dict.get mapped in C: every record is exactly a dict (checked above)
                values = tuple(map(dict.get, records, repeat(key)))
                info = self._arrow_fields.get(key)
                column.append(values if info is None else _arrow_chunk(values, info.kind))
            else:
                column.append(count)
        self._rows += count
        self._python_rows += count
        return count

    def to_frame(self, *, release: bool = False) -> pd.DataFrame:
        """The typed frame of every record added so far.

        The builder can keep going, unless ``release=True``: then each column's pages are
        let go as soon as its column is built, so the pages and the frame are never held
        whole at the same time, and the builder is left empty (``rows`` 0).
        """
        with _gc_paused():
            return self._to_frame(release)

    def _to_frame(self, release: bool = False) -> pd.DataFrame:
        rows = self._rows
        index = _id_index(self._cols.get("id", [rows]))
        out: dict[str, pd.Series] = {}
        taken = set(self._cols)
        cols = self._cols
        if release:
            self._cols, self._rows, self._python_rows = {}, 0, 0
        for name in list(cols):
            chunks = cols.pop(name) if release else cols[name]
            if name != "id" and not self._emit_arrow(name, chunks, out, taken):
                self._emit(name, _joined(chunks), out, taken)
            del chunks
        for name in self._requested:
            if name == "id" or name in taken:
                continue
            if name.startswith("$") and not self._keep_system:
                continue
            if not self._emit_arrow(name, [rows], out, taken):
                self._emit(name, [None] * rows, out, taken)
        if self._backend == "pyarrow":
            out = {
                name: _to_arrow_dtype(series, lists=self._maybe_lists(name))
                for name, series in out.items()
            }
        if self._requested:
            out = self._ordered(out)
        frame: pd.DataFrame = (
            pd.DataFrame(out, copy=False) if out else pd.DataFrame(index=range(rows))
        )
        frame.index = index
        frame.attrs["kind"] = "records"
        frame.attrs["module"] = self._module
        frame.attrs["info"] = dict(self._info)
        frame.attrs["pages"] = self._pages
        return frame

    def _ordered(self, out: dict[str, pd.Series]) -> dict[str, pd.Series]:
        # Requested fields first (with their flattened parts), then everything else as seen.
        first: dict[str, pd.Series] = {}
        for name in self._requested:
            for col in out:
                if col == name or (col.startswith(name + ".") and col not in first):
                    first[col] = out[col]
        return {**first, **{k: v for k, v in out.items() if k not in first}}

    def _emit_arrow(
        self, name: str, chunks: list[Any], out: dict[str, pd.Series], taken: set[str]
    ) -> bool:
        """The columnar path of one field; False when it must take the Python path."""
        if any(type(c) is tuple for c in chunks):
            return False
        if self._backend == "pyarrow" and self._maybe_lists(name):
            lists = list_series(chunks)  # the pages' lists as they are, no copy
            if lists is not None:
                out[name] = lists
                return True
        info = self._arrow_fields.get(name)
        if info is None:
            return False
        if info.kind is Kind.LOOKUP:
            return self._emit_lookup(name, chunks, out, taken)
        series = arrow_series(chunks, info.kind, self._backend)
        if series is None:
            return False
        out[name] = series
        return True

    def in_backend(self, frame: pd.DataFrame) -> pd.DataFrame:
        """``frame`` with the columns filled in after :meth:`to_frame` (lookup names, tags,
        subform rows from other calls) in this builder's ``dtype_backend``, by the rules
        its own columns follow, so a bulk read's frame equals a page read's.

        >>> builder = RecordsBuilder(None, dtype_backend="pyarrow")
        >>> filled = pd.DataFrame({"Owner.name": pd.array(["Ann", None], dtype="string")})
        >>> str(builder.in_backend(filled)["Owner.name"].dtype)
        'string[pyarrow]'
        """
        if self._backend != "pyarrow":
            return frame
        out = {
            name: _to_arrow_dtype(series.reset_index(drop=True),
                                  lists=self._maybe_lists(str(name)))
            for name, series in frame.items()
        }
        typed: pd.DataFrame = pd.DataFrame(out, copy=False)
        typed.index = frame.index
        typed.attrs = dict(frame.attrs)
        return typed

    def _maybe_lists(self, name: str) -> bool:
        info = self._fields.get(name)
        return info is None or info.kind in (Kind.LIST, Kind.SUBFORM)

    def _emit_lookup(
        self, name: str, chunks: list[Any], out: dict[str, pd.Series], taken: set[str]
    ) -> bool:
        parts: dict[str, list[Any]] = {"id": [], "name": []}
        types = {c.type for c in chunks if not isinstance(c, int)}
        if len(types) == 1 and pa.types.is_struct(next(iter(types))):
            # Every page's struct has the same parts (the usual case): one array, one split.
            struct = chunked(chunks, types.pop())
            for i, field in enumerate(struct.type):
                # struct_field takes the struct's own nulls into the part, per page, in C
                parts[field.name] = pc.struct_field(struct, [i]).chunks
            for part in ("id", "name"):
                if not parts[part]:
                    parts[part] = [len(struct)]
            return self._emit_parts(name, parts, out, taken)
        # Each page's struct may hold other parts (``email`` in one page only): a part
        # absent from a page is missing in its rows, as in the Python path.
        for chunk in chunks:
            if isinstance(chunk, pa.Array) and pa.types.is_struct(chunk.type):
                for i in range(chunk.type.num_fields):
                    parts.setdefault(chunk.type.field(i).name, [])
        for chunk in chunks:
            size = chunk if isinstance(chunk, int) else len(chunk)
            present = (
                dict(zip([f.name for f in chunk.type], chunk.flatten(), strict=True))
                if isinstance(chunk, pa.Array) and pa.types.is_struct(chunk.type)
                else {}
            )
            if not isinstance(chunk, int) and not present and chunk.null_count != size:
                return False  # not a struct: only an all-null page can be anything else
            for part, values in parts.items():
                values.append(present.get(part, size))
        return self._emit_parts(name, parts, out, taken)

    def _emit_parts(
        self, name: str, parts: dict[str, list[Any]], out: dict[str, pd.Series], taken: set[str]
    ) -> bool:
        """A lookup's parts (each a list of chunks) as ``name.id``, ``name.name``...
        columns; False when such a column exists already (a key ``"Owner.id"`` sent as it
        is), so the Python path decides."""
        flat = {f"{name}.{part}": part for part in sorted(parts, key=_lookup_order)}
        if set(flat) & taken:
            return False
        for col, part in flat.items():
            part_kind = _LOOKUP_PART_KINDS.get(part)
            series = (
                arrow_series(parts[part], part_kind, self._backend)
                if part_kind is not None
                else None
            )
            if series is None:
                values = _joined(parts[part])
                series = _decode(values, part_kind or infer_kind(values))
            out[col] = series
        return True

    def _emit(
        self, name: str, values: list[Any], out: dict[str, pd.Series], taken: set[str]
    ) -> None:
        info = self._fields.get(name)
        kind = info.kind if info is not None else infer_kind(values)
        if kind in LOOKUP_KINDS:
            parts = split_objects(values)
            if parts is not None and (parts or kind is Kind.LOOKUP):
                if kind is Kind.LOOKUP:
                    for part in _LOOKUP_PARTS:
                        parts.setdefault(part, [None] * len(values))
                parts = {p: parts[p] for p in sorted(parts, key=_lookup_order)}
                flat = {f"{name}.{part}": vals for part, vals in parts.items()}
                if not (set(flat) & taken):
                    for col, (part, vals) in zip(flat, parts.items(), strict=True):
                        part_kind = _LOOKUP_PART_KINDS.get(part) or infer_kind(vals)
                        out[col] = _decode(vals, part_kind)
                    return
            out[name] = object_series(values)
            return
        out[name] = _decode(values, kind)


def _joined(chunks: list[Any]) -> list[Any]:
    return list(chain.from_iterable(_values(c) for c in chunks))


def _values(chunk: Any) -> Any:
    if type(chunk) is tuple:
        return chunk
    if isinstance(chunk, int):
        return repeat(None, chunk)
    values: list[Any] = chunk.to_pylist()  # checked faithful when the page was added
    return values


# The Python types a page's values may have for its chunk to become an Arrow array at once
# (the page's own objects are then freed; anything else stays a tuple for the codecs).
_CHUNK_TYPES: dict[Kind, frozenset[type]] = {
    Kind.TEXT: frozenset({str, type(None)}),
    Kind.ID: frozenset({str, type(None)}),
    Kind.DATE: frozenset({str, type(None)}),
    Kind.DATETIME: frozenset({str, type(None)}),
    Kind.INTEGER: frozenset({int, type(None)}),
    Kind.FLOAT: frozenset({int, float, type(None)}),
    Kind.BOOLEAN: frozenset({bool, type(None)}),
}
_CHUNK_ARROW = {
    Kind.TEXT: pa.string(), Kind.ID: pa.string(), Kind.DATE: pa.string(),
    Kind.DATETIME: pa.string(), Kind.INTEGER: pa.int64(), Kind.FLOAT: pa.float64(),
    Kind.BOOLEAN: pa.bool_(),
}


def _arrow_chunk(values: tuple[Any, ...], kind: Kind) -> Any:
    allowed = _CHUNK_TYPES.get(kind)
    if allowed is None or not set(map(type, values)) <= allowed:
        return values
    try:
        return pa.array(values, type=_CHUNK_ARROW[kind])
    except (pa.ArrowException, OverflowError, ValueError, TypeError):
        return values  # an int beyond int64, say: the codecs keep it in an object column


def _raw_bytes(page: Any) -> bytes | None:
    """The JSON bytes of a page the columnar path may read, else None."""
    if isinstance(page, bytes):
        return page
    if isinstance(page, (bytearray, memoryview)):
        return bytes(page)
    if isinstance(page, str):
        return page.encode()
    if hasattr(page, "status_code") and hasattr(page, "content"):
        try:
            ok = page.status_code == 200
            content = page.content if ok else None
        except Exception:  # load_envelope reports it
            return None
        return content if isinstance(content, bytes) else None
    return None


def _to_arrow_dtype(series: pd.Series, *, lists: bool) -> pd.Series:
    """A Python-path column in its ``pd.ArrowDtype`` form: lists as Arrow lists where
    Arrow holds them exactly (``lists``: the field may hold lists), other objects stay."""
    if isinstance(series.dtype, pd.ArrowDtype):
        return series
    if series.dtype == object:
        arrow_lists = python_lists_series(series.tolist()) if lists else None
        return series if arrow_lists is None else arrow_lists
    converted: pd.Series = series.convert_dtypes(dtype_backend="pyarrow")
    return converted


def _lookup_order(part: str) -> int:
    return {"id": 0, "name": 1, "email": 2}.get(part, 3)


def _decode(values: list[Any], kind: Kind | None) -> pd.Series:
    if kind is None:
        return object_series(values)
    if kind in LOOKUP_KINDS:  # an object one level down: kept whole
        return object_series(values)
    return decode_column(values, kind)


def _check_ids(ids: list[Any], offset: int) -> list[Any]:
    """Record ids as strings (an int id from a non-Zoho source is spelled out exactly)."""
    types = set(map(type, ids))
    types.discard(type(None))
    if types <= {str}:
        return ids
    for position, value in enumerate(ids):
        if value is not None and type(value) not in (str, int):
            raise EnvelopeError(
                f"record {offset + position}: id {short_repr(value)} is {type(value).__name__}, "
                "expected an id string"
            )
    try:
        return [str(v) if type(v) is int else v for v in ids]
    except ValueError:  # an int too long to spell out is no Zoho id
        raise EnvelopeError(f"record id beyond {offset}: an integer too long for an id") from None


def _id_index(chunks: list[Any]) -> pd.Index:
    if chunks and all(isinstance(c, (int, pa.Array)) for c in chunks):
        series = arrow_series(chunks, Kind.ID, "numpy_nullable")
        if series is not None:
            index: pd.Index = pd.Index(series.array, name="id")
            return index
    return pd.Index(pd.array(_joined(chunks), dtype="string"), name="id")


def records_to_frame(
    envelope: Any,
    fields: Any = None,
    *,
    columns: Iterable[str] | None = None,
    keep_system_keys: bool = False,
    module: str | None = None,
    dtype_backend: str = "numpy_nullable",
) -> pd.DataFrame:
    """A record envelope → a typed DataFrame indexed by ``id`` (see the module docstring).

    Parameters
    ----------
    envelope : dict, str, bytes or requests.Response
        The answer of ``GET /{module}``, search or COQL; a 204/304 empty answer gives
        zero rows.
    fields : field metadata, optional
        ``/settings/fields`` envelope, its ``fields`` list, or a :func:`fields_to_frame`
        frame. Without it, dtypes are inferred from the values.
    columns, keep_system_keys, module, dtype_backend
        As for :class:`RecordsBuilder`.

    Returns
    -------
    pandas.DataFrame

    Raises
    ------
    EnvelopeError
        When the input is not a record envelope.
    ZohoAPIError
        (a subclass) for a whole-request error, or an error object in ``data``.

    Examples
    --------
    >>> df = records_to_frame({"data": [{"id": "4150868000000002175",
    ...     "Languages": ["English", "Spanish"], "Created_Time": "2021-05-11T18:22:29+05:30"}]})
    >>> df.loc["4150868000000002175", "Languages"]
    ['English', 'Spanish']
    >>> df["Created_Time"].iloc[0]
    Timestamp('2021-05-11 12:52:29+0000', tz='UTC')
    """
    builder = RecordsBuilder(
        fields,
        columns=columns,
        keep_system_keys=keep_system_keys,
        module=module,
        dtype_backend=dtype_backend,
    )
    builder.add(envelope)
    return builder.to_frame(release=True)
