"""Bulk-write jobs whose creation went unanswered: find them, or settle by reading back.

When the answer to ``POST /crm/bulk/{v}/write`` is lost (the connection dropped after Zoho
took the request, a timeout, a kill -9 between the call and the journal), a job may run
that crmframe never learnt the id of. Creating another would write every record twice,
so before anything is sent again:

1. **find it**: Zoho documents no list of bulk-write jobs and no lookup by ``file_id``
   (UNCONFIRMED either way). :func:`find_job` asks ``GET /crm/bulk/{v}/write`` anyway and
   looks for a job whose resource names the uploaded ``file_id``; the sandbox offers that
   listing as a clearly-labelled emulated feature (``start(job_listing=True)``). A server
   that refuses the call (any error) has no listing: step 2.
2. **settle by reading back until stable**: the records are read back, again and again at
   the poll interval, until every one holds the file's values, or until nothing among the
   rest moved for :data:`QUIET_POLLS` polls in a row (the orphan, if any, has finished or
   never existed). Then a record holding the values is ``applied``; one still at its
   baseline ``Modified_Time`` is ``not_applied`` (sent again, in a new file); any other is
   ``unknown`` and never re-sent. Only records not yet applied are read again each poll,
   so a job that did run costs one read-back per 100 records.

The quiet window is the weak point of step 2: a job Zoho queued for longer than
``QUIET_POLLS × poll_interval`` before touching its first record would be taken for
"never created" (UNCONFIRMED: Zoho documents no bound on that queueing). With the default
``poll_interval`` of 2 s the window is a minute.

Examples
--------
>>> from crmframe.core.bulkwrite import build_bulk_write
>>> from crmframe.core.fieldtypes import Kind
>>> from crmframe.core.metadata import FieldInfo
>>> f = build_bulk_write({"1": {"Score": 3, "Owner": "77"}}, {"Score": Kind.INTEGER,
...                      "Owner": Kind.LOOKUP}, "Leads")
>>> infos = {"Score": FieldInfo("Score", "integer", "integer", Kind.INTEGER),
...          "Owner": FieldInfo("Owner", "ownerlookup", "jsonobject", Kind.LOOKUP)}
>>> bulk_records(f.csv_bytes, infos, ["1"])
[{'id': '1', 'Score': 3, 'Owner': {'id': '77'}}]
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pandas as pd

from crmframe.core.codecs import encode_value, is_missing
from crmframe.core.fieldtypes import LOOKUP_KINDS, Kind
from crmframe.core.metadata import FieldInfo
from crmframe.errors import CrmframeError, TransportError
from crmframe.facade.write.settle import Settled, settle

__all__ = [
    "JOB_UNKNOWN",
    "QUIET_POLLS",
    "OrphanJob",
    "bulk_records",
    "bulk_status_rows",
    "find_job",
    "settle_until_stable",
    "unknown_job_rows",
]

#: Polls in a row without any change among the records not yet applied after which an
#: unanswered bulk-write job is taken to have finished (or never to have existed).
QUIET_POLLS = 30

#: The code of a ``crm.bulk_write`` row whose job's creation went unanswered and which no
#: job listing found: the job may have run, so the row is ``unknown``, never re-sent.
JOB_UNKNOWN = "JOB_UNKNOWN"


class OrphanJob(TransportError):
    """A bulk-write job creation went unanswered and no job for its file could be found.

    A push settles it by reading back (:func:`settle_until_stable`); ``crm.bulk_write``
    reports the job's rows ``unknown`` (:func:`unknown_job_rows`).
    """

    def __init__(self, file_id: str, cause: BaseException) -> None:
        self.cause_name = type(cause).__name__
        super().__init__(
            f"creating the bulk-write job for uploaded file {file_id} got no answer "
            f"({type(cause).__name__}) and no listed job names the file; the job may exist, "
            "so it is not created again (no record is written twice): read the records back "
            "before pushing them again"
        )
        self.file_id = file_id


def unknown_job_rows(orphan: OrphanJob, ids: Sequence[str | None]) -> tuple[pd.DataFrame, str]:
    """The rows of ``orphan``'s file as :func:`~crmframe.core.bulkwrite.parse_bulk_result`
    would give them (status ``unknown``, code :data:`JOB_UNKNOWN`), and the message saying
    why and how to find the job (no secret: the uploaded file's id and the cause's type).

    Examples
    --------
    >>> rows, message = unknown_job_rows(OrphanJob("55", TimeoutError()), [None, None])
    >>> rows[["status", "code"]].values.tolist()
    [['unknown', 'JOB_UNKNOWN'], ['unknown', 'JOB_UNKNOWN']]
    >>> "uploaded file 55" in message
    True
    """
    message = (
        f"the bulk-write job for these rows may have been created: its creation got no "
        f"answer ({orphan.cause_name}) and no job listing names uploaded file "
        f"{orphan.file_id}, so it was not created again (no record is written twice). "
        "Before writing these rows again, find out whether it ran: look in Zoho's Setup "
        "(Data Administration > Import history; UNCONFIRMED that it lists API jobs) for a "
        f"job from file {orphan.file_id}, or read the records back (for an insert: the "
        "module's records created since the call)"
    )
    return bulk_status_rows(ids, "unknown", JOB_UNKNOWN), message


def bulk_status_rows(ids: Sequence[str | None], status: str, code: str) -> pd.DataFrame:
    """Rows of a bulk-write file no result file speaks for, as
    :func:`~crmframe.core.bulkwrite.parse_bulk_result` would give them: all ``status``,
    with ``code`` as their one error.

    Examples
    --------
    >>> bulk_status_rows([None], "not_sent", "NOT_SENT")[["status", "code"]].values.tolist()
    [['not_sent', 'NOT_SENT']]
    """
    n = len(ids)
    rows: pd.DataFrame = pd.DataFrame({
        "position": pd.Series(range(n), dtype="int64"),
        "id": pd.array(list(ids), dtype="string"),
        "status": pd.array([status] * n, dtype="string"),
        "record_id": pd.array([None] * n, dtype="string"),
        "code": pd.array([code] * n, dtype="string"),
        "column": pd.array([None] * n, dtype="string"),
        "errors": pd.Series([[(code, None)] for _ in range(n)], dtype=object),
    })
    return rows


def _cell_value(cell: str, info: FieldInfo | None, lookup: bool) -> Any:
    """A bulk-write CSV cell as the JSON value a read-back compares it with."""
    if lookup:
        return {"id": cell}
    kind = info.kind if info is not None else Kind.TEXT
    try:
        if kind is Kind.BOOLEAN:
            return cell.strip().lower() == "true"
        if kind is Kind.INTEGER:
            return int(cell)
        if kind is Kind.FLOAT:
            return float(cell)
        if kind is Kind.LIST:
            return cell.split(";")
        if kind is Kind.DATETIME:
            return encode_value(pd.Timestamp(cell), kind)
    except (ValueError, TypeError, CrmframeError):
        return cell
    return cell


def bulk_records(
    csv_bytes: bytes, infos: Mapping[str, FieldInfo], ids: Sequence[str]
) -> list[dict[str, Any]]:
    """The records of a bulk-write CSV (rows of ``ids``) as ``{"id", field: JSON value}``.

    Empty cells are left out: the job ignores them (``ignore_empty``), so they write nothing.
    """
    keep = set(ids)
    rows = list(csv.reader(io.StringIO(csv_bytes.decode("utf-8"))))
    if not rows:
        return []
    header = rows[0]
    out: list[dict[str, Any]] = []
    for row in rows[1:]:
        if not row or row[0] not in keep:
            continue
        record: dict[str, Any] = {"id": row[0]}
        for column, cell in zip(header[1:], row[1:], strict=False):
            if cell == "":
                continue
            name = column[:-3] if column.endswith(".id") else column
            info = infos.get(name)
            lookup = column.endswith(".id") or (info is not None and info.kind in LOOKUP_KINDS)
            record[name] = _cell_value(cell, info, lookup)
        out.append(record)
    return out


def find_job(client: Any, file_id: str) -> str | None:
    """The id of the bulk-write job made from ``file_id``, from a job listing if the server
    has one (``GET /crm/bulk/{v}/write``; UNCONFIRMED for Zoho, emulated by the sandbox).

    ``None`` when no listed job names the file, or when the listing cannot be had (any
    error: the server has none, or it failed) — the caller then settles by reading back.
    """
    try:
        reply = client.request("GET", "write", bulk=True)
    except CrmframeError:
        return None
    body = reply.body if isinstance(reply.body, Mapping) else {}
    for job in body.get("data") or []:
        if not isinstance(job, Mapping):
            continue
        for resource in job.get("resource") or []:
            if isinstance(resource, Mapping) and str(resource.get("file_id")) == str(file_id):
                return None if job.get("id") is None else str(job["id"])
    return None


def _stamps_of(frame: pd.DataFrame, ids: Sequence[str]) -> dict[str, Any]:
    if "Modified_Time" not in frame.columns:
        return {}
    wanted = set(ids)
    return {str(i): (None if is_missing(t) else str(t))
            for i, t in zip(frame.index.tolist(), frame["Modified_Time"].tolist(), strict=True)
            if str(i) in wanted}


def settle_until_stable(
    read: Callable[[Sequence[str]], pd.DataFrame],
    records: Sequence[Mapping[str, Any]],
    infos: Mapping[str, FieldInfo],
    *,
    stamps: Mapping[str, Any],
    sleep: Callable[[], None],
    sent_after: pd.Timestamp | None = None,
    quiet_polls: int = QUIET_POLLS,
) -> Settled:
    """Read ``records`` back (``read(ids)``) until all are applied or the rest stop moving.

    Then each record is sorted as :func:`~crmframe.facade.write.settle.settle` does
    (``stamps`` of the baseline, ``sent_after`` Zoho's clock before the write went out).
    Also used after a write timed out: Zoho may still be working on it.

    Examples
    --------
    >>> idx = pd.Index(["1", "2"], dtype="string", name="id")
    >>> t0 = pd.Timestamp("2024-05-01T10:00:00Z")
    >>> now = pd.DataFrame({"City": ["Paris", "Lyon"], "Modified_Time": [t0, t0]}, index=idx)
    >>> settle_until_stable(lambda ids: now.loc[list(ids)],
    ...                     [{"id": "1", "City": "Lyon"}, {"id": "2", "City": "Lyon"}], {},
    ...                     stamps={"1": t0, "2": t0}, sleep=lambda: None, quiet_polls=2)
    Settled(applied=['2'], not_applied=['1'], unknown=[])
    """
    by_id = {str(r["id"]): r for r in records}
    pending = list(by_id)
    applied: list[str] = []
    last: dict[str, Any] | None = None
    quiet = 0
    while True:
        frame = read(pending)
        sorted_ = settle(frame, [by_id[i] for i in pending], infos, stamps=stamps,
                         sent_after=sent_after)
        applied.extend(sorted_.applied)
        pending = [i for i in pending if i not in set(sorted_.applied)]
        if not pending:
            return Settled(applied, [], [])
        now = _stamps_of(frame, pending)
        quiet = quiet + 1 if now == last else 0
        last = now
        if quiet >= quiet_polls:
            return Settled(applied, sorted_.not_applied, sorted_.unknown)
        sleep()
