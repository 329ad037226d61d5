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
column, never dropped.

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

from crmframe.core.codecs import (
    decode_column,
    infer_kind,
    object_series,
    short_repr,
    split_objects,
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
    ) -> None:
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
        # Each column is a list of per-page tuples: a tuple of strings and numbers drops out
        # of the garbage collector's sight, where one long list would make every full
        # collection walk millions of references (measured: a third of the build time).
        self._cols: dict[str, list[tuple[Any, ...]]] = {}
        self._rows = 0
        self._pages = 0
        self._info: dict[str, Any] = {}

    @property
    def rows(self) -> int:
        """Number of records added so far."""
        return self._rows

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
            cols[key] = [(None,) * self._rows] if self._rows else []
        for key, column in cols.items():
            if key == "id" and ids is not None:
                column.append(tuple(ids))
            elif key in keys:
                # dict.get mapped in C: every record is exactly a dict (checked above)
                column.append(tuple(map(dict.get, records, repeat(key))))
            else:
                column.append((None,) * count)
        self._rows += count
        return count

    def to_frame(self) -> pd.DataFrame:
        """The typed frame of every record added so far (the builder can keep going)."""
        with _gc_paused():
            return self._to_frame()

    def _to_frame(self) -> pd.DataFrame:
        rows = self._rows
        ids = _joined(self._cols["id"]) if "id" in self._cols else [None] * rows
        out: dict[str, pd.Series] = {}
        taken = set(self._cols)
        for name, chunks in self._cols.items():
            if name != "id":
                self._emit(name, _joined(chunks), out, taken)
        for name in self._requested:
            if name == "id" or name in self._cols:
                continue
            if name.startswith("$") and not self._keep_system:
                continue
            self._emit(name, [None] * rows, out, taken)
        if self._requested:
            out = self._ordered(out)
        frame: pd.DataFrame = (
            pd.DataFrame(out, copy=False) if out else pd.DataFrame(index=range(rows))
        )
        frame.index = _id_index(ids)
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


def _joined(chunks: list[tuple[Any, ...]]) -> list[Any]:
    return list(chain.from_iterable(chunks))


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


def _id_index(ids: list[Any]) -> pd.Index:
    return pd.Index(pd.array(ids, dtype="string"), name="id")


def records_to_frame(
    envelope: Any,
    fields: Any = None,
    *,
    columns: Iterable[str] | None = None,
    keep_system_keys: bool = False,
    module: str | None = None,
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
    columns, keep_system_keys, module
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
        fields, columns=columns, keep_system_keys=keep_system_keys, module=module
    )
    builder.add(envelope)
    return builder.to_frame()
