"""Per-record action results (insert/update/upsert/delete, mass update by ids) as a frame.

Zoho answers a write of several records with one result object per record, in request
order, whatever the HTTP status (200, 201, 202, 207 and 400 all carry them)::

    {"data": [{"code": "SUCCESS", "status": "success", "message": "record updated",
               "details": {"id": "...", "Modified_Time": "...", "Modified_By": {...}}},
              {"code": "INVALID_DATA", "status": "error", "message": "...",
               "details": {"api_name": "Phone", "expected_data_type": "phone"}}]}

:func:`results_to_frame` keeps one row per result (a ``RangeIndex`` named ``position``).
Per-record errors are rows, never exceptions; only a whole-request error envelope raises.

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

__all__ = ["RESULT_COLUMNS", "results_to_frame"]

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
    items = _items(load_envelope(envelope).body)
    sent = None if records is None else _sent_ids(records)
    details = [item.get("details") for item in items]
    detail_maps = [d if isinstance(d, Mapping) else {} for d in details]
    ids = [d.get("id") for d in detail_maps]
    # An int id (a non-Zoho source) is spelled out; one too long for str() stays as it is.
    ids = [str(i) if type(i) is int and i.bit_length() < 256 else i for i in ids]
    # DUPLICATE_DATA's details.id is the record already holding the value (seed 003), not
    # the one sent: the row belongs to the sent record (its id filled in from ``records``),
    # the other one goes to ``duplicate_id``.
    duplicate = [item.get("code") == "DUPLICATE_DATA" for item in items]
    duplicate_ids: list[Any] = [None] * len(items)
    if any(duplicate):
        for position, d in enumerate(detail_maps):
            if duplicate[position]:
                record = d.get("duplicate_record")
                other = record.get("id") if isinstance(record, Mapping) else None
                duplicate_ids[position] = other if other is not None else ids[position]
                ids[position] = None
    if sent is not None:
        ids = _fill_ids(ids, sent)

    columns: dict[str, pd.Series] = {
        "id": decode_column(ids, Kind.ID),
        "code": decode_column([item.get("code") for item in items], Kind.TEXT),
        "status": decode_column([item.get("status") for item in items], Kind.TEXT),
        "message": decode_column([item.get("message") for item in items], Kind.TEXT),
        "details": object_series([dict(d) if isinstance(d, Mapping) else d for d in details]),
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
    if any(duplicate):
        columns["duplicate_id"] = decode_column(
            [None if i is None else str(i) for i in duplicate_ids], Kind.ID)
    frame: pd.DataFrame = pd.DataFrame(columns, copy=False)
    frame.index = pd.RangeIndex(len(items), name="position")
    frame.attrs["kind"] = "results"
    return frame
