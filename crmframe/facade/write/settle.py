"""Settling writes whose answer never came: read back, never re-send blindly.

A write whose outcome is unknown — the connection was lost after the request went out, it
timed out, or a 5xx came back after Zoho may have acted — can have been applied. Sending it
again would write the record twice: ``Modified_Time`` moves again and, with the default
``trigger``, the customer's workflows, approvals and blueprints run a second time (a second
e-mail, a second task). So the send stage reads the records back and sorts each one:

``applied``
    its current values are the ones the write sent: done, reported ``success``;
``not applied``
    its values differ and its ``Modified_Time`` shows nobody wrote it since the write was
    sent — equal to the baseline's stamp, or older than the server's clock just before the
    send: provably untouched, so it is sent again;
``unknown``
    its values differ but it was modified since (our write then someone else's, or someone
    else's alone: no read can tell), or it cannot be read: reported ``unknown``
    (code ``AMBIGUOUS_WRITE``), never re-sent.

Examples
--------
>>> import pandas as pd
>>> idx = pd.Index(["1", "2", "3"], dtype="string", name="id")
>>> t0, t1 = pd.Timestamp("2024-05-01T10:00:00Z"), pd.Timestamp("2024-05-01T10:05:00Z")
>>> now = pd.DataFrame({"Phone": pd.array(["5", "0", "0"], dtype="string"),
...                     "Modified_Time": pd.Series([t1, t0, t1], index=idx)}, index=idx)
>>> sent = [{"id": "1", "Phone": "5"}, {"id": "2", "Phone": "6"}, {"id": "3", "Phone": "7"}]
>>> settle(now, sent, {}, stamps={"1": t0, "2": t0, "3": t0})
Settled(applied=['1'], not_applied=['2'], unknown=['3'])
"""

from __future__ import annotations

import email.utils
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from crmframe.core.codecs import is_missing
from crmframe.core.metadata import FieldInfo
from crmframe.errors import CrmframeError, ServerError, TransportError
from crmframe.facade.write.readback import applied_ids

__all__ = [
    "AMBIGUOUS_CODE",
    "APPLIED_MESSAGE",
    "MAX_SETTLE_ROUNDS",
    "Settled",
    "is_ambiguous",
    "sent_after_of",
    "server_time",
    "settle",
    "settled_row",
    "unknown_body",
    "unknown_message",
    "zoho_now",
]

#: Code of a record whose write may or may not have been applied (status ``unknown``).
AMBIGUOUS_CODE = "AMBIGUOUS_WRITE"
#: Message of a record found applied by the read-back after its answer was lost.
APPLIED_MESSAGE = "record updated (its answer was lost; a read-back found the values applied)"
#: Sends of one step's records: the first and at most two re-sends of what provably did not
#: land. Every round that loses its answer again costs one read-back.
MAX_SETTLE_ROUNDS = 3


@dataclass(frozen=True)
class Settled:
    """How a read-back sorted the records of an unanswered write."""

    applied: list[str] = field(default_factory=list)
    not_applied: list[str] = field(default_factory=list)
    unknown: list[str] = field(default_factory=list)


def is_ambiguous(exc: BaseException) -> bool:
    """Whether a failed write may nonetheless have been applied by Zoho.

    A dropped connection or a timeout (:class:`~crmframe.errors.TransportError`), or a 5xx
    other than 503 (the client only gives a write back a 5xx it may have acted on).

    Examples
    --------
    >>> five_hundred = ServerError("INTERNAL_ERROR", "", {}, 500)
    >>> is_ambiguous(TransportError("cut")), is_ambiguous(five_hundred)
    (True, True)
    >>> from crmframe.errors import InvalidRequestError
    >>> is_ambiguous(InvalidRequestError("INVALID_DATA", "", {}, 400))
    False
    """
    if isinstance(exc, TransportError):
        return True
    return isinstance(exc, ServerError) and (exc.http_status or 500) != 503


def server_time(headers: Mapping[str, str] | None) -> pd.Timestamp | None:
    """The server's clock from an answer's ``Date`` header (UTC), or None.

    Examples
    --------
    >>> server_time({"Date": "Wed, 01 May 2024 10:00:00 GMT"})
    Timestamp('2024-05-01 10:00:00+0000', tz='UTC')
    >>> server_time({}) is None
    True
    """
    text = (headers or {}).get("Date")
    if not text:
        return None
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    stamp: pd.Timestamp = pd.Timestamp(when)
    utc: pd.Timestamp = (
        stamp.tz_convert("UTC") if stamp.tzinfo is not None else stamp.tz_localize("UTC")
    )
    return utc


def zoho_now(client: Any) -> pd.Timestamp | None:
    """Zoho's clock now, never ahead of it (the client's latest ``Date`` header), or
    ``None`` before one was seen: a record last modified earlier, read back after a write
    sent from now on, provably did not receive it."""
    seen = getattr(client, "date_seen", False)
    server_clock = getattr(client, "server_time", None)
    if seen and callable(server_clock):
        now: pd.Timestamp = pd.Timestamp(float(server_clock()), unit="s", tz="UTC")
        return now
    return None


def _stamp(value: Any) -> pd.Timestamp | None:
    if value is None or is_missing(value):
        return None
    try:
        stamp: pd.Timestamp = pd.Timestamp(value)
    except (TypeError, ValueError):
        return None
    utc: pd.Timestamp = (
        stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    )
    return utc


def settle(
    frame: pd.DataFrame,
    records: Sequence[Mapping[str, Any]],
    infos: Mapping[str, FieldInfo],
    *,
    stamps: Mapping[str, Any] | None = None,
    sent_after: pd.Timestamp | Mapping[str, pd.Timestamp | None] | None = None,
) -> Settled:
    """Sort the ``records`` of an unanswered write by what a read-back ``frame`` shows.

    Parameters
    ----------
    frame : DataFrame
        The records read back after the write, indexed by id, with the written fields and
        ``Modified_Time``.
    records : sequence of dict
        What the write sent, one dict per record (``id`` and the fields).
    infos : mapping
        Field metadata, for comparing values in their JSON form.
    stamps : mapping, optional
        ``{id: Modified_Time}`` of the baseline the edits were made against.
    sent_after : Timestamp or mapping, optional
        The server's clock before the write was sent (a ``Date`` header): a record last
        modified earlier was not written by it. One for all records, or ``{id: Timestamp}``.
    """
    applied = set(applied_ids(frame, records, infos))
    stamps = stamps or {}
    current: dict[str, pd.Timestamp | None] = {}
    if "Modified_Time" in frame.columns:
        for rid, value in zip(frame.index.tolist(), frame["Modified_Time"].tolist(),
                              strict=True):
            if not is_missing(rid):
                current.setdefault(str(rid), _stamp(value))
    out = Settled()
    for record in records:
        rid = str(record["id"])
        if rid in applied:
            out.applied.append(rid)
            continue
        now = current.get(rid)
        base = _stamp(stamps.get(rid))
        after = sent_after.get(rid) if isinstance(sent_after, Mapping) else sent_after
        untouched = now is not None and (
            (base is not None and now == base)
            # Modified_Time has whole seconds: older than the second the write went out in.
            or (after is not None and now < after.floor("s"))
        )
        (out.not_applied if untouched else out.unknown).append(rid)
    return out


def settled_row(
    rid: str, code: str, status: str, message: str, *, sent_after: pd.Timestamp | None = None
) -> dict[str, Any]:
    """A per-record result, shaped like Zoho's, for a record settled by a read-back.

    ``sent_after`` (Zoho's clock before the write went out) goes into ``details``, so a
    later ``retry()`` can still prove a record untouched by it (:func:`sent_after_of`).

    Examples
    --------
    >>> settled_row("1", "X", "unknown", "m", sent_after=pd.Timestamp(0, tz="UTC"))["details"]
    {'id': '1', 'sent_after': '1970-01-01T00:00:00+00:00'}
    """
    details: dict[str, Any] = {"id": rid}
    if sent_after is not None:
        details["sent_after"] = sent_after.isoformat()
    return {"code": code, "status": status, "message": message, "details": details}


def sent_after_of(details: Any) -> pd.Timestamp | None:
    """The ``sent_after`` a result row's ``details`` carry (see :func:`settled_row`)."""
    if not isinstance(details, Mapping):
        return None
    return _stamp(details.get("sent_after"))


def unknown_body(ids: Sequence[str], why: str) -> dict[str, Any]:
    """A reply body reporting ``ids`` ``unknown`` (code :data:`AMBIGUOUS_CODE`): sent, the
    answer lost, and a read-back cannot tell whether the write landed.

    Examples
    --------
    >>> unknown_body(["1"], "x")["data"][0]["status"]
    'unknown'
    """
    message = unknown_message(None, f"{why}; the record was modified since the baseline, so "
                                    "whether this write landed cannot be told")
    return {"data": [settled_row(str(i), AMBIGUOUS_CODE, "unknown", message) for i in ids]}


def unknown_message(exc: CrmframeError | None, why: str) -> str:
    """The message of a record left ``unknown``: what happened and what to do."""
    cause = f" ({type(exc).__name__}: {exc})" if exc is not None else ""
    return (
        f"sent, but the answer was lost{cause}; {why} — not re-sent, so it is never written "
        "twice: check the record, then push again if needed"
    )
