"""Per-record action results (insert/update/upsert/delete, mass update by ids) as a frame.

Zoho answers a write of several records with one result object per record, in request
order, whatever the HTTP status (200, 201, 202, 207 and 400 all carry them)::

    {"data": [{"code": "SUCCESS", "status": "success", "message": "record updated",
               "details": {"id": "...", "Modified_Time": "...", "Modified_By": {...}}},
              {"code": "INVALID_DATA", "status": "error", "message": "...",
               "details": {"api_name": "Phone", "expected_data_type": "phone"}}]}

:func:`results_to_frame` keeps one row per result (a ``RangeIndex`` named ``position``).
Per-record errors are rows, never exceptions; only a whole-request error envelope raises.
:class:`ResultsBuilder` collects the answers of many calls (and rows crmframe writes itself:
skipped, not sent...) as plain per-column lists and types them once, so a push of a million
records builds one frame, not one small frame per call.

Examples
--------
>>> df = results_to_frame({"data": [
...     {"code": "SUCCESS", "status": "success", "message": "record updated",
...      "details": {"id": "738964000002148061", "Modified_Time": "2021-05-11T12:52:29+00:00"}},
...     {"code": "MANDATORY_NOT_FOUND", "status": "error", "message": "required field not found",
...      "details": {"api_name": "Last_Name"}}]},
...     records=["738964000002148061", "738964000002148062"])
>>> df[["id", "code", "api_name"]].values.tolist()[1]
['738964000002148062', 'MANDATORY_NOT_FOUND', 'Last_Name']
"""

from __future__ import annotations

import gc
import operator
from collections.abc import Mapping
from itertools import repeat
from typing import Any

import numpy as np
import pandas as pd

from crmframe.core.codecs import arrow_strings, decode_column, infer_kind, object_series
from crmframe.core.envelope import load_envelope
from crmframe.core.fieldtypes import Kind
from crmframe.errors import EnvelopeError, InputError

__all__ = ["RESULT_COLUMNS", "ResultsBuilder", "results_to_frame"]

# The detail keys every results frame carries as columns, with their kinds.
_DETAIL_KINDS: dict[str, Kind] = {
    "api_name": Kind.TEXT,
    "expected_data_type": Kind.TEXT,
    "json_path": Kind.TEXT,
    "Modified_Time": Kind.DATETIME,
    "Modified_By": Kind.LOOKUP,
    "Created_Time": Kind.DATETIME,
    "Created_By": Kind.LOOKUP,
}

#: Columns always present, in order (more detail keys follow when Zoho sends them).
RESULT_COLUMNS: tuple[str, ...] = (
    "id",
    "code",
    "status",
    "message",
    "details",
    "api_name",
    "expected_data_type",
    "json_path",
    "Modified_Time",
    "Modified_By.id",
    "Modified_By.name",
    "Created_Time",
    "Created_By.id",
    "Created_By.name",
)

_STR = frozenset({str})
_DICT = frozenset({dict})

# Extra detail keys known to hold ids: typed as strings even when they look numeric.
_ID_DETAILS = frozenset({"job_id", "file_id"})


def _sent_ids(records: Any) -> list[str | None]:
    """The ids of the sent records, in order, from any of the accepted forms."""
    if type(records) is list and set(map(type, records)) <= _STR:
        return records  # ids already: checked by one C-level pass
    if isinstance(records, pd.DataFrame):
        if records.index.name != "id" and "id" in records.columns:
            values: list[Any] = records["id"].tolist()
        else:
            values = records.index.tolist()
    elif isinstance(records, (pd.Series, pd.Index)):
        values = records.tolist()
    elif isinstance(records, (list, tuple)):
        values = [r.get("id") if isinstance(r, Mapping) else r for r in records]
    else:
        raise InputError(
            "records must be the sent records (list of dicts with 'id'), a frame indexed "
            f"by id, or a list of ids; got {type(records).__name__}"
        )
    if all(type(v) is str for v in values):
        return values
    ids: list[str | None] = []
    for position, value in enumerate(values):
        if value is None or value is pd.NA or (isinstance(value, float) and value != value):
            ids.append(None)
        elif isinstance(value, str):
            ids.append(value)
        elif isinstance(value, int) and not isinstance(value, bool) and value.bit_length() < 256:
            ids.append(str(value))
        else:
            raise InputError(
                f"sent record {position}: id is {type(value).__name__}, expected an id string"
            )
    return ids


def _fill_ids(ids: list[Any], sent: list[str | None]) -> list[Any]:
    if len(sent) == len(ids):
        # Zoho answers in request order: a result without an id belongs to the sent record.
        return [own if isinstance(own, str) else mine for own, mine in zip(ids, sent, strict=True)]
    # Counts differ (a mass update may leave invalid ids out): fill the id-less rows with
    # the sent ids nobody answered for, only when that pairing is unambiguous.
    answered = {i for i in ids if isinstance(i, str)}
    unanswered = [s for s in sent if s is not None and s not in answered]
    holes = [p for p, i in enumerate(ids) if i is None]
    if holes and len(holes) == len(unanswered):
        ids = list(ids)
        for position, sent_id in zip(holes, unanswered, strict=True):
            ids[position] = sent_id
    return ids


def _items(body: Mapping[str, Any] | None) -> list[Mapping[str, Any]]:
    if body is None or not body:
        return []
    if "data" not in body:
        if isinstance(body.get("code"), str) and "status" in body:
            return [body]  # a single action result at top level (bulk job created...)
        raise EnvelopeError(
            "not an action-result envelope: no 'data' list and no top-level 'code'/'status'"
        )
    data = body["data"]
    if not isinstance(data, list):
        raise EnvelopeError(f"'data' is {type(data).__name__}, expected a list of results")
    if set(map(type, data)) <= _DICT and all(map(operator.contains, data, repeat("code"))):
        return data  # checked by C-level passes, no Python call per result
    for position, item in enumerate(data):
        if not isinstance(item, Mapping):
            raise EnvelopeError(
                f"data item {position} is {type(item).__name__}, expected an object"
            )
        if "code" not in item and "status" not in item:
            raise EnvelopeError(
                f"data item {position} has no 'code' or 'status': a record, not an action "
                "result (use records_to_frame)"
            )
    return data


def results_to_frame(envelope: Any, records: Any = None) -> pd.DataFrame:
    """Per-record action results → a DataFrame, one row per result in request order.

    Parameters
    ----------
    envelope : dict, str, bytes or requests.Response
        The answer of a PUT/POST/DELETE on records or of a mass update by ids (any of
        HTTP 200/201/202/207/400). A single top-level action result (``{"code":
        "SUCCESS", "details": {...}}``) gives one row.
    records : list of dicts, DataFrame, or list of ids, optional
        What was sent, in order. Error rows carry no id in Zoho's answer: when given,
        the sent ids fill them in by position (or, when the counts differ, the ids left
        unanswered fill the id-less rows if that pairing is unambiguous).

    Returns
    -------
    pandas.DataFrame
        ``RangeIndex`` named ``position``; columns :data:`RESULT_COLUMNS` (``details``
        holds Zoho's whole ``details`` object; ``Modified_Time``/``Created_Time`` are UTC
        datetimes; ``Modified_By``/``Created_By`` are flattened to ``.id``/``.name``)
        then any other detail key Zoho sent (``job_id``, ``action``, ``errors``...).

    Raises
    ------
    ZohoAPIError
        (a subclass) for a whole-request error envelope.
    EnvelopeError
        When the input is not an action-result envelope.
    InputError
        When ``records`` is not one of the accepted forms.

    Examples
    --------
    >>> df = results_to_frame('{"data": [{"code": "SUCCESS", "status": "success", '
    ...     '"message": "mass update scheduled successfully", '
    ...     '"details": {"job_id": "554023000000506003"}}]}')
    >>> df.loc[0, "job_id"], str(df["job_id"].dtype)
    ('554023000000506003', 'string')
    """
    builder = ResultsBuilder()
    builder.add(envelope, records)
    return builder.to_frame()


class ResultsBuilder:
    """The results of many calls → one results frame, typed once.

    :meth:`add` takes one answer (as :func:`results_to_frame` does), :meth:`add_rows`
    rows with the same outcome for many ids (records skipped, not sent, verified...).
    Keyword ``columns`` add per-row columns of their own (``route="update"``, ``call=3``,
    one value per row in a list, or a function of the row's id); rows that lack one hold
    a missing value.
    :meth:`to_frame` gives :func:`results_to_frame`'s columns, then those.

    The answers' result objects are kept as they are (no per-record work when a call is
    added) and turned into columns once, in :meth:`to_frame`: one C-level pass per key,
    each distinct value decoded once.

    Examples
    --------
    >>> b = ResultsBuilder()
    >>> b.add({"data": [{"code": "SUCCESS", "status": "success", "message": "ok",
    ...                  "details": {"id": "1"}}]}, call=1)
    1
    >>> b.add_rows(["2", "3"], status="skipped", code="CONFLICT", message="changed")
    2
    >>> df = b.to_frame()
    >>> df[["id", "status", "call"]].values.tolist()
    [['1', 'success', 1], ['2', 'skipped', <NA>], ['3', 'skipped', <NA>]]
    """

    def __init__(self) -> None:
        # one result object per row: Zoho's own, or one made for a row of add_rows
        self._items: list[Any] = []
        self._ids: list[Any] = []
        # rows of add_rows: never a DUPLICATE_DATA answer, whatever their code
        self._own: list[tuple[int, int]] = []
        self._extra: dict[str, _Column] = {}
        self._rows = 0

    @property
    def rows(self) -> int:
        """Number of rows collected so far."""
        return self._rows

    def add(
        self, envelope: Any, records: Any = None, *, in_order: bool = False, **columns: Any
    ) -> int:
        """One answer's results (see :func:`results_to_frame`); returns its row count.

        ``in_order=True``: when the answer holds one result per sent record, the sent ids
        win over those in the answer (Zoho answers in the order records were sent).
        """
        items = _items(load_envelope(envelope).body)
        sent = None if records is None else _sent_ids(records)
        if sent is not None and in_order and len(sent) == len(items):
            ids: list[Any] = sent
        else:
            ids = _answer_ids(items)
            if sent is not None:
                ids = _fill_ids(ids, sent)
        self._items += items
        self._ids += ids
        return self._grow(len(items), columns)

    def ids_from(self, start: int) -> list[Any]:
        """The ids of the rows from position ``start`` on (the rows one call added)."""
        return self._ids[start:]

    def add_rows(
        self,
        ids: Any,
        *,
        status: str,
        code: str,
        message: Any,
        details: Any = None,
        **columns: Any,
    ) -> int:
        """Rows crmframe writes itself, one per id; ``message``/``details`` are one value
        for all or one per id."""
        ids = list(ids)
        n = len(ids)
        messages = [message] * n if isinstance(message, str) else list(message)
        detail_maps = [{} for _ in range(n)] if details is None else [
            dict(d) if isinstance(d, Mapping) else d for d in details
        ]
        self._own.append((self._rows, self._rows + n))
        self._ids += [None if i is None else str(i) for i in ids]
        self._items += [
            {"code": code, "status": status, "message": m, "details": d}
            for m, d in zip(messages, detail_maps, strict=True)
        ]
        return self._grow(n, columns)

    def _grow(self, n: int, columns: Mapping[str, Any]) -> int:
        for name, value in columns.items():
            column = self._extra.get(name)
            if column is None:
                column = self._extra[name] = _Column(self._rows)
            if callable(value):
                column.extend(list(map(value, self._ids[self._rows:])))
            elif isinstance(value, list) and len(value) == n:
                column.extend(value)
            elif isinstance(value, list):
                column.extend([list(value) for _ in range(n)])
            else:
                column.repeat(value, n)
        self._rows += n
        for column in self._extra.values():
            column.pad(self._rows)
        return n

    def to_frame(self) -> pd.DataFrame:
        """The results frame of every row collected so far."""
        paused = gc.isenabled()
        # a million result objects are scanned on every collection triggered by the
        # columns built here, none of which can be part of a cycle
        gc.disable()
        try:
            frame = _results_frame(self._items, self._ids, self._own)
            for name, column in self._extra.items():
                if name not in frame.columns:
                    frame[name] = column.series()
        finally:
            if paused:
                gc.enable()
        return frame


class _Column:
    """An extra column, kept as runs of one repeated value or of given values."""

    def __init__(self, missing: int) -> None:
        self._runs: list[tuple[bool, Any, int]] = []
        self._length = 0
        self.repeat(None, missing)

    def repeat(self, value: Any, n: int) -> None:
        if n:
            self._runs.append((True, value, n))
            self._length += n

    def extend(self, values: list[Any]) -> None:
        if values:
            self._runs.append((False, values, len(values)))
            self._length += len(values)

    def pad(self, rows: int) -> None:
        self.repeat(None, rows - self._length)

    def series(self) -> pd.Series:
        repeated = [(value, n) for constant, value, n in self._runs if constant]
        if all(constant for constant, _, _ in self._runs) and all(
            type(v) in _SCALARS for v, _ in repeated
        ):
            # one distinct value per run (route, call...): typed from the distinct values
            # and repeated, not inferred over every row
            distinct = list(dict.fromkeys(v for v, _ in repeated))
            at = {v: i for i, v in enumerate(distinct)}
            codes = np.repeat([at[v] for v, _ in repeated], [n for _, n in repeated])
            return _spread(_typed_values(distinct), codes)
        values: list[Any] = []
        for constant, value, n in self._runs:
            values += [value] * n if constant else value
        return _typed_values(values)


# Types whose values are the same key in a dict only when equal and of one type (no
# 1 == 1.0 == True merging), checked on the distinct values.
_SCALARS = frozenset({str, int, float, bool, type(None)})


def _typed_values(values: list[Any]) -> pd.Series:
    kind = infer_kind(values)
    if kind in (None, Kind.LIST, Kind.OBJECT):
        return object_series(values)
    return decode_column(values, kind)


def _spread(decoded: pd.Series, codes: np.ndarray) -> pd.Series:
    """``decoded`` (one row per distinct value) taken at ``codes`` (-1: missing)."""
    array = decoded.array.take(codes, allow_fill=True)
    spread: pd.Series = pd.Series(array, copy=False)
    return spread


def _answer_ids(items: list[Mapping[str, Any]]) -> list[Any]:
    """The ids Zoho put in an answer's results (None for DUPLICATE_DATA: not the sent
    record's, see ``duplicate_id``)."""
    details = [item.get("details") for item in items]
    ids = [d.get("id") if type(d) is dict or isinstance(d, Mapping) else None
           for d in details]
    # An int id (a non-Zoho source) is spelled out; one too long for str() stays as it is.
    ids = [str(i) if type(i) is int and i.bit_length() < 256 else i for i in ids]
    for position, item in enumerate(items):
        code = item.get("code")
        # a str test first: a code that is pd.NA would make == ambiguous
        if isinstance(code, str) and code == "DUPLICATE_DATA":
            ids[position] = None
    return ids


def _duplicate_id(item: Mapping[str, Any]) -> Any:
    # DUPLICATE_DATA's details.id is the record already holding the value (seed 003),
    # not the one sent: the row belongs to the sent record, the other one goes here.
    d = item.get("details")
    d = d if isinstance(d, Mapping) else {}
    record = d.get("duplicate_record")
    other = record.get("id") if isinstance(record, Mapping) else None
    if other is None:
        other = d.get("id")
    return str(other) if type(other) is int and other.bit_length() < 256 else other


def _take_keys(maps: list[Any], keys: list[str]) -> list[np.ndarray]:
    """``[m.get(k) for m in maps]`` for each key (None where absent): one C pass."""
    if not keys:
        return []
    try:
        table = _dicts_to_array(maps, keys)
    except (TypeError, ValueError):  # not all plain dicts: the Python way
        return [np.fromiter((m.get(k) for m in maps), dtype=object, count=len(maps))
                for k in keys]
    # absent keys come back as NaN (None from dict.get): the text columns take NaN as
    # missing, the others are mended where they are built (see _as_none)
    return [table[:, j] for j in range(len(keys))]


def _as_none(values: np.ndarray) -> np.ndarray:
    """``values`` with NaN (an absent key, from _take_keys) as None."""
    values = values.copy()
    values[pd.isna(values)] = None
    return values


def _dicts_to_array_fallback(maps: list[Any], keys: list[str]) -> np.ndarray:
    """What pandas' C helper does, in Python: TypeError unless every map is a dict."""
    table = np.empty((len(maps), len(keys)), dtype=object)
    for i, m in enumerate(maps):
        if type(m) is not dict:
            raise TypeError(f"Expected dict, got {type(m).__name__}")
        for j, k in enumerate(keys):
            table[i, j] = m.get(k, np.nan)
    return table


try:  # pandas' own C loop behind DataFrame(list_of_dicts), in every pandas crmframe supports
    from pandas._libs.lib import (  # type: ignore[attr-defined]
        dicts_to_array as _dicts_to_array,
    )
except ImportError:  # pragma: no cover - a pandas without it takes the Python way
    _dicts_to_array = _dicts_to_array_fallback


def _missing(kind: Kind, n: int) -> pd.Series:
    """A column of ``n`` missing values of ``kind``'s dtype (a key no result holds)."""
    return _spread(decode_column([None], kind), np.full(n, -1, dtype=np.intp))


def _text_column(values: np.ndarray, kind: Kind) -> pd.Series:
    """A text (or date/time text) column (None or NaN: missing).

    Arrow-backed strings are built by one Arrow conversion, with no hashing; otherwise
    each distinct value is decoded once and spread.
    """
    if kind in (Kind.TEXT, Kind.ID):
        strings = arrow_strings(values)
        if strings is not None:
            return strings
    if len(values) > 64:
        codes, uniques = pd.factorize(values)
        distinct = uniques.tolist()
        # only strings: 1 == 1.0 == True would have been merged into one value
        if len(distinct) * 4 < len(values) and set(map(type, distinct)) <= _STR:
            return _spread(decode_column(distinct or [None], kind), codes)
    return decode_column(_as_none(values).tolist(), kind)


def _absent(values: list[Any]) -> np.ndarray:
    """Mask of the cells that are None or NaN (an absent key, from :func:`_take_keys`).

    Tested by identity: the cells are never opened, which matters when they are a
    million dicts scattered in memory.
    """
    n = len(values)
    absent = np.fromiter(map(operator.is_, values, repeat(np.nan)), dtype=bool, count=n)
    absent |= np.fromiter(map(operator.is_, values, repeat(None)), dtype=bool, count=n)
    return absent


def _detail_maps(details: np.ndarray) -> tuple[list[Any], np.ndarray]:
    """The ``details`` column (None where absent) and one dict per row to read detail
    keys from (empty where there is no dict).

    Mappings of another type become dicts; anything else stays as it is in the column
    and gives no detail columns.
    """
    maps: list[Any] = details.tolist()
    absent = _absent(maps)
    if absent.any():
        details = details.copy()
        details[absent] = None
        for i in np.flatnonzero(absent).tolist():
            maps[i] = _NO_DETAILS
    try:
        _dicts_to_array(maps, [])  # no keys: only checks that every row is a dict, in C
    except (TypeError, ValueError):
        details = details.copy()
        for i, value in enumerate(maps):
            if type(value) is dict:
                continue
            if isinstance(value, Mapping):
                details[i] = maps[i] = dict(value)
            else:
                if isinstance(value, float) and value != value:
                    details[i] = None
                maps[i] = _NO_DETAILS
    return maps, details


def _results_frame(items: list[Any], ids: list[Any], own: list[tuple[int, int]]) -> pd.DataFrame:
    n = len(items)
    codes, statuses, messages, details = _take_keys(
        items, ["code", "status", "message", "details"])
    detail_maps, details = _detail_maps(details)
    keys = set().union(*detail_maps) if n else set()
    columns: dict[str, pd.Series] = {
        "id": decode_column(ids, Kind.ID),
        "code": _text_column(codes, Kind.TEXT),
        "status": _text_column(statuses, Kind.TEXT),
        "message": _text_column(messages, Kind.TEXT),
        "details": pd.Series(details, dtype=object, copy=False),
    }
    wanted = [k for k in _DETAIL_KINDS if k in keys]
    extra = [k for k in keys if k not in _DETAIL_KINDS and k != "id"]
    extra = [k for k in _first_seen(detail_maps, extra)
             if isinstance(k, str) and not k.startswith("$") and k not in columns]
    taken = dict(zip(wanted + extra, _take_keys(detail_maps, wanted + extra), strict=True))
    for key, kind in _DETAIL_KINDS.items():
        values = taken.get(key)
        if kind is Kind.LOOKUP:
            parts = {} if values is None else _lookup_parts(values)
            for part in ("id", "name"):
                part_kind = Kind.ID if part == "id" else Kind.TEXT
                part_values = parts.get(part)
                columns[f"{key}.{part}"] = (_missing(part_kind, n) if part_values is None
                                            else _text_column(part_values, part_kind))
        else:
            columns[key] = _missing(kind, n) if values is None else _text_column(values, kind)
    for key in extra:
        values = _as_none(taken[key])
        listed = values.tolist()
        guess = Kind.ID if key in _ID_DETAILS else infer_kind(listed)
        if guess is None or guess in (Kind.OBJECT, Kind.LOOKUP):
            columns[key] = object_series(listed)
        elif guess in (Kind.TEXT, Kind.ID, Kind.DATE, Kind.DATETIME):
            columns[key] = _text_column(values, guess)
        else:
            columns[key] = decode_column(listed, guess)
    duplicates = np.flatnonzero(_is_duplicate_data(columns["code"]))
    if len(duplicates) and own:
        mine = np.zeros(n, dtype=bool)
        for start, stop in own:
            mine[start:stop] = True
        duplicates = duplicates[~mine[duplicates]]
    if len(duplicates):
        duplicate_ids: list[Any] = [None] * n
        for i in duplicates.tolist():
            duplicate_ids[i] = _duplicate_id(items[i])
        columns["duplicate_id"] = decode_column(
            [None if i is None else str(i) for i in duplicate_ids], Kind.ID)
    frame: pd.DataFrame = pd.DataFrame(columns, copy=False)
    frame.index = pd.RangeIndex(n, name="position")
    frame.attrs["kind"] = "results"
    return frame


def _is_duplicate_data(codes: pd.Series) -> np.ndarray:
    """Mask of the rows whose code is DUPLICATE_DATA."""
    if isinstance(codes.dtype, pd.StringDtype):
        return np.asarray(codes.eq("DUPLICATE_DATA").fillna(False), dtype=bool)
    # codes that are not all text (an object column): == on an array cell would not be a bool
    return np.array([type(c) is str and c == "DUPLICATE_DATA" for c in codes], dtype=bool)


def _first_seen(maps: list[Any], keys: list[Any]) -> list[Any]:
    """``keys`` in the order the results first hold them (the frame's column order)."""
    if len(keys) < 2:
        return keys
    wanted = set(keys)
    order: dict[Any, None] = {}
    for d in maps:
        for k in d:
            if k in wanted and k not in order:
                order[k] = None
        if len(order) == len(wanted):
            break
    return list(order)


def _lookup_parts(values: np.ndarray) -> dict[str, np.ndarray]:
    """``{"id": ..., "name": ...}`` of a column of ``{"id", "name"}`` objects (or None)."""
    filled = values.tolist()
    absent = _absent(filled)
    for i in np.flatnonzero(absent).tolist():
        filled[i] = _NO_DETAILS
    try:
        _dicts_to_array(filled, [])  # every value an object, or the column cannot be split
    except (TypeError, ValueError):
        return {}
    keys = ["id", "name"]
    return dict(zip(keys, _take_keys(filled, keys), strict=True))


_NO_DETAILS: dict[str, Any] = {}
