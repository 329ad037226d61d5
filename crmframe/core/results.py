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

from collections.abc import Mapping
from typing import Any

import pandas as pd

from crmframe.core.codecs import decode_column, infer_kind, object_series, split_objects
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

# Extra detail keys known to hold ids: typed as strings even when they look numeric.
_ID_DETAILS = frozenset({"job_id", "file_id"})


def _sent_ids(records: Any) -> list[str | None]:
    """The ids of the sent records, in order, from any of the accepted forms."""
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
    if all(type(item) is dict and ("code" in item or "status" in item) for item in data):
        return data
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
        self._codes: list[Any] = []
        self._statuses: list[Any] = []
        self._messages: list[Any] = []
        self._details: list[Any] = []
        self._ids: list[Any] = []
        self._duplicates: list[Any] = []
        self._extra: dict[str, list[Any]] = {}
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
        details = [item.get("details") for item in items]
        ids = [d.get("id") if type(d) is dict or isinstance(d, Mapping) else None
               for d in details]
        # An int id (a non-Zoho source) is spelled out; one too long for str() stays as it is.
        ids = [str(i) if type(i) is int and i.bit_length() < 256 else i for i in ids]
        # DUPLICATE_DATA's details.id is the record already holding the value (seed 003),
        # not the one sent: the row belongs to the sent record (its id filled in from
        # ``records``), the other one goes to ``duplicate_id``.
        duplicate_ids: list[Any] = [None] * len(items)
        for position, item in enumerate(items):
            if item.get("code") == "DUPLICATE_DATA":
                d = details[position] if isinstance(details[position], Mapping) else {}
                record = d.get("duplicate_record") if isinstance(d, Mapping) else None
                other = record.get("id") if isinstance(record, Mapping) else None
                duplicate_ids[position] = other if other is not None else ids[position]
                ids[position] = None
        if sent is not None:
            ids = list(sent) if in_order and len(sent) == len(ids) else _fill_ids(ids, sent)
        self._codes += [item.get("code") for item in items]
        self._statuses += [item.get("status") for item in items]
        self._messages += [item.get("message") for item in items]
        self._details += details
        self._ids += ids
        self._duplicates += duplicate_ids
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
        self._ids += [None if i is None else str(i) for i in ids]
        self._duplicates += [None] * n
        self._codes += [code] * n
        self._statuses += [status] * n
        self._messages += [message] * n if isinstance(message, str) else list(message)
        self._details += [{} for _ in range(n)] if details is None else [
            dict(d) if isinstance(d, Mapping) else d for d in details
        ]
        return self._grow(n, columns)

    def _grow(self, n: int, columns: Mapping[str, Any]) -> int:
        for name, value in columns.items():
            if name not in self._extra:
                self._extra[name] = [None] * self._rows
            if callable(value):
                values = list(map(value, self._ids[self._rows:]))
            elif isinstance(value, list) and len(value) == n:
                values = value
            elif isinstance(value, list):
                values = [list(value) for _ in range(n)]
            else:
                values = [value] * n
            self._extra[name] += values
        for name, column in self._extra.items():
            if name not in columns:
                column += [None] * n
        self._rows += n
        return n

    def to_frame(self) -> pd.DataFrame:
        """The results frame of every row collected so far."""
        frame = _results_frame(
            self._ids, self._codes, self._statuses, self._messages, self._details,
            self._duplicates,
        )
        for name, values in self._extra.items():
            if name in frame.columns:
                continue
            kind = infer_kind(values)
            frame[name] = (
                object_series(values) if kind in (None, Kind.LIST, Kind.OBJECT)
                else decode_column(values, kind)
            )
        return frame


def _results_frame(
    ids: list[Any], codes: list[Any], statuses: list[Any], messages: list[Any],
    details: list[Any], duplicate_ids: list[Any],
) -> pd.DataFrame:
    detail_maps = [d if type(d) is dict or isinstance(d, Mapping) else _NO_DETAILS
                   for d in details]
    columns: dict[str, pd.Series] = {
        "id": decode_column(ids, Kind.ID),
        "code": decode_column(codes, Kind.TEXT),
        "status": decode_column(statuses, Kind.TEXT),
        "message": decode_column(messages, Kind.TEXT),
        "details": object_series([dict(d) if type(d) is dict or isinstance(d, Mapping) else d
                                  for d in details]),
    }
    for key, kind in _DETAIL_KINDS.items():
        values = [d.get(key) for d in detail_maps]
        if kind is Kind.LOOKUP:
            parts = split_objects(values) or {}
            for part in ("id", "name"):
                part_values = parts.get(part, [None] * len(values))
                columns[f"{key}.{part}"] = decode_column(
                    part_values, Kind.ID if part == "id" else Kind.TEXT
                )
        else:
            columns[key] = decode_column(values, kind)
    extra: dict[str, None] = {}
    for d in detail_maps:
        extra.update(dict.fromkeys(k for k in d if k not in _DETAIL_KINDS and k != "id"))
    for key in extra:
        if not isinstance(key, str) or key.startswith("$") or key in columns:
            continue
        values = [d.get(key) for d in detail_maps]
        guess = Kind.ID if key in _ID_DETAILS else infer_kind(values)
        if guess is None or guess in (Kind.OBJECT, Kind.LOOKUP):
            columns[key] = object_series(values)
        else:
            columns[key] = decode_column(values, guess)
    if any(i is not None for i in duplicate_ids):
        columns["duplicate_id"] = decode_column(
            [None if i is None else str(i) for i in duplicate_ids], Kind.ID)
    frame: pd.DataFrame = pd.DataFrame(columns, copy=False)
    frame.index = pd.RangeIndex(len(ids), name="position")
    frame.attrs["kind"] = "results"
    return frame


_NO_DETAILS: dict[str, Any] = {}
