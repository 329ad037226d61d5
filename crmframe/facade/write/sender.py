"""``CrmSender``: sends plan steps to Zoho through a ``ZohoClient`` and reads them back.

PUT batches and mass updates by ids are one call each; a bulk write is an upload, a job,
a wait and the result download. The helpers build and read the bulk-write files.

A PUT batch or a mass update whose answer is lost is never re-sent blindly (the HTTP client
is told it is not idempotent): the records are read back and only those provably not
applied are sent again (:mod:`~crmframe.facade.write.settle`).

Examples
--------
>>> rows = bytes(f"id,Phone{chr(10)}1,5{chr(10)}2,6{chr(10)}", "utf-8")
>>> csv_subset(rows, ["2"]).decode().splitlines()
['id,Phone', '2,6']
>>> zip_csv(rows, "Leads.csv")[:2]
b'PK'
"""

from __future__ import annotations

import csv
import io
import time
import zipfile
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pandas as pd

from crmframe.core.bulkwrite import parse_bulk_result
from crmframe.core.codecs import is_missing
from crmframe.core.metadata import FieldInfo
from crmframe.errors import CrmframeError, EnvelopeError, InputError, TransportError, ZohoAPIError
from crmframe.facade.jobs import Job
from crmframe.facade.write.conflicts import Guard
from crmframe.facade.write.orphans import OrphanJob, bulk_records, find_job, settle_until_stable
from crmframe.facade.write.readback import READ_IDS_PER_CALL
from crmframe.facade.write.settle import (
    AMBIGUOUS_CODE,
    APPLIED_MESSAGE,
    MAX_SETTLE_ROUNDS,
    Settled,
    is_ambiguous,
    server_time,
    settle,
    settled_row,
    unknown_message,
    zoho_now,
)
from crmframe.facade.write.steps import ROUTES, Step
from crmframe.http.datacenters import DATA_CENTERS

__all__ = ["BULK_APPLIED", "CrmSender", "bulk_rows_body", "csv_subset", "upload_url", "zip_csv"]

#: Bulk-write result STATUS values that mean the row was applied.
BULK_APPLIED = frozenset({"updated", "added"})


def upload_url(api_domain: str, version: str) -> str:
    """Where bulk-write files go: the data centre's upload host, else the API host itself.

    Examples
    --------
    >>> upload_url("https://www.zohoapis.eu", "v8")
    'https://content.zohoapis.eu/crm/v8/upload'
    >>> upload_url("http://127.0.0.1:5000", "v2")
    'http://127.0.0.1:5000/crm/v2/upload'
    """
    domain = api_domain.rstrip("/")
    for center in DATA_CENTERS.values():
        if center.api_domain == domain:
            domain = center.upload_domain
            break
    return f"{domain}/crm/{version}/upload"


def bulk_rows_body(parsed: pd.DataFrame) -> dict[str, Any]:
    """A parsed bulk-write result as a per-record action-result body, in input order."""
    data = []
    for row in parsed.to_dict("records"):
        status = "" if is_missing(row.get("status")) else str(row["status"])
        applied = status in BULK_APPLIED
        code = row.get("code")
        errors = row.get("errors") or []
        details: dict[str, Any] = {
            "id": None if is_missing(row.get("record_id")) else str(row["record_id"]),
            "bulk_status": status or None,
        }
        if not is_missing(row.get("column")):
            details["api_name"] = str(row["column"])
        if errors:
            details["errors"] = [list(e) for e in errors]
        data.append(
            {
                "code": "SUCCESS" if applied else (
                    str(code) if not is_missing(code) else (status.upper() or "UNPROCESSED")
                ),
                "status": "success" if applied else "error",
                "message": f"record {status}" if applied else "; ".join(
                    f"{c}-{col}" if col else str(c) for c, col in errors
                ) or f"record {status or 'not processed'}",
                "details": details,
            }
        )
    return {"data": data}


def csv_subset(csv_bytes: bytes, ids: Sequence[str]) -> bytes:
    """The bulk-write CSV cut down to the rows of ``ids`` (header kept; ``id`` first)."""
    keep = set(ids)
    text = csv_bytes.decode("utf-8")
    rows = list(csv.reader(io.StringIO(text)))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(rows[0])
    for row in rows[1:]:
        if row and row[0] in keep:
            writer.writerow(row)
    return out.getvalue().encode("utf-8")


def zip_csv(csv_bytes: bytes, name: str) -> bytes:
    """``csv_bytes`` zipped as ``name`` (what Zoho's upload takes)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, csv_bytes)
    return buffer.getvalue()


class CrmSender:
    """Sends steps to Zoho through a :class:`~crmframe.http.client.ZohoClient`.

    Parameters
    ----------
    client : ZohoClient
        The HTTP client.
    module : str
        The module written to.
    infos : dict
        Field metadata, for comparing read-backs.
    read : callable
        ``read(fields, ids) -> DataFrame`` indexed by id: current values (read-backs).
    wait : callable
        ``wait(job) -> JobStatus``: waits for a bulk-write job to complete.
    guard : Guard, optional
        The push's conflict checks (:mod:`~crmframe.facade.write.conflicts`): the
        ``If-Unmodified-Since`` header of each PUT, a check right before each mass update
        and bulk write, the stamps moved by each reply. Records it refuses are answered
        ``ALREADY_MODIFIED`` without being sent.
    stamps : mapping, optional
        ``{id: Modified_Time}`` of the baseline: a record still at its stamp after an
        unanswered write provably did not receive it.
    poll_interval : float
        Seconds between the read-backs that wait for an unanswered bulk-write job's effects
        to settle (:mod:`~crmframe.facade.write.orphans`).
    sleep : callable
        How to wait (tests pass one that does not).
    """

    def __init__(
        self,
        client: Any,
        module: str,
        infos: Mapping[str, FieldInfo],
        *,
        read: Callable[[Sequence[str], Sequence[str]], pd.DataFrame],
        wait: Callable[[Any], Any],
        guard: Guard | None = None,
        stamps: Mapping[str, Any] | None = None,
        poll_interval: float = 2.0,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client = client
        self.poll_interval = poll_interval
        self._sleep = sleep
        self.guard = guard
        self.module = module
        self.infos = infos
        self._read = read
        self._wait = wait
        self._org: str | None = None
        #: Write calls sent (PUT, mass update, upload, bulk job) — not the client's retries.
        self.calls = 0
        #: Read calls made for read-backs.
        self.reads = 0
        #: Files uploaded (bulk writes): 1 credit each beside the job's.
        self.uploads = 0
        #: Bulk-write jobs created or resumed.
        self.jobs: list[Any] = []
        self._stamps = dict(stamps or {})
        self._server_now: pd.Timestamp | None = None
        #: Writes whose answer was lost (or a 5xx after sending), settled by reading back.
        self.ambiguous = 0
        #: Of the calls and reads: those settling ambiguous writes (re-sends, read-backs).
        self.settle_calls = 0
        self.settle_reads = 0

    # -- Sender protocol -----------------------------------------------------------------

    def send(
        self,
        step: Step,
        ids: Sequence[str],
        *,
        job_id: str | None = None,
        on_job: Callable[[str], None] | None = None,
        on_upload: Callable[[str], None] | None = None,
    ) -> dict[str, Any]:
        """Send ``ids`` of ``step``; the reply body (``{"data": [...]}``), ids in order.

        Records the guard refuses (changed in Zoho) are not sent; their items say
        ``ALREADY_MODIFIED``, like Zoho's answer to ``If-Unmodified-Since``.
        """
        guard = self.guard
        refused: dict[str, dict[str, Any]] = {}
        if guard is not None and guard.enabled:
            refused = {i: guard.blocked[i] for i in ids if i in guard.blocked}
            if step.route != "put" and job_id is None:
                # Mass update and bulk write take no If-Unmodified-Since: check just before.
                refused.update(guard.changed([i for i in ids if i not in refused]))
        sending = [i for i in ids if i not in refused]
        body = self._send(step, sending, job_id=job_id, on_job=on_job,
                          on_upload=on_upload) if sending else {"data": []}
        if guard is not None:
            guard.note(sending, body)
        if not refused:
            return body
        assert guard is not None
        mine = guard.refused(list(refused), refused)["data"]
        raw = body.get("data")
        data: list[Any] = raw if isinstance(raw, list) else []
        if len(data) == len(sending):
            by_id = {**dict(zip(sending, data, strict=True)),
                     **dict(zip(list(refused), mine, strict=True))}
            return {**body, "data": [by_id[i] for i in ids]}
        return {**body, "data": [*data, *mine]}

    def _send(
        self,
        step: Step,
        ids: Sequence[str],
        *,
        job_id: str | None,
        on_job: Callable[[str], None] | None,
        on_upload: Callable[[str], None] | None = None,
    ) -> dict[str, Any]:
        if step.route == "put":
            return self._settled(step, ids, "PUT", self.module)
        if step.route == "mass_update":
            # Not idempotent for Zoho's customers either: each application moves
            # Modified_Time and runs their workflows again.
            return self._settled(step, ids, "POST", f"{self.module}/actions/mass_update")
        if step.route == "bulk_write":
            return self._bulk(step, ids, job_id=job_id, on_job=on_job, on_upload=on_upload)
        raise InputError(f"unknown plan route {step.route!r}: expected one of {ROUTES}")

    def settle(self, step: Step, ids: Sequence[str]) -> Settled:
        """Sort ``ids`` of ``step``, sent by a run that never saw the answer, by reading back.

        ``applied`` hold the step's values; ``not_applied`` are provably untouched since the
        baseline (their ``Modified_Time`` is the baseline's): safe to send; ``unknown`` were
        modified since (by this write, then by someone else? no read can tell) and must not
        be sent again. A bulk-write step whose file was never registered for a job (no
        ``file_id`` in the journal) created nothing: every id is ``not_applied``, without a
        read. A mass update's untouched record may be one its job has not reached: unknown.
        """
        if not ids:
            return Settled()
        if step.route == "bulk_write":
            return self.settle_bulk(step, ids)
        frame = self._read_settle(step.fields, ids)
        settled = settle(frame, step.records(ids), self.infos, stamps=self._stamps)
        if step.route == "mass_update":
            return Settled(settled.applied, [], [*settled.unknown, *settled.not_applied])
        return settled

    def find_job(self, step: Step, file_id: str) -> str | None:
        """The bulk-write job made from ``file_id``, when the server lists jobs
        (:func:`~crmframe.facade.write.orphans.find_job`); one read."""
        return self._find(file_id)

    def _find(self, file_id: str) -> str | None:
        self.reads += 1
        self.settle_reads += 1
        return find_job(self.client, file_id)

    def settle_bulk(self, step: Step, ids: Sequence[str]) -> Settled:
        """Read a bulk-write step's records back until an orphan job's effects are stable
        (:func:`~crmframe.facade.write.orphans.settle_until_stable`)."""
        records = bulk_records(step.payload.csv_bytes, self.infos, ids)
        fields = [f for f in dict.fromkeys(k for r in records for k in r) if f != "id"]
        return settle_until_stable(
            lambda pending: self._read_settle(fields, pending), records, self.infos,
            stamps=self._stamps, sleep=lambda: self._sleep(self.poll_interval),
        )

    def _read_settle(self, fields: Sequence[str], ids: Sequence[str]) -> pd.DataFrame:
        """Read ``fields`` and ``Modified_Time`` of ``ids`` back, counted as settling."""
        n_reads = -(-len(ids) // READ_IDS_PER_CALL)
        self.reads += n_reads
        self.settle_reads += n_reads
        return self._read([*dict.fromkeys([*fields, "Modified_Time"])], list(ids))

    def write(
        self,
        method: str,
        path: str,
        body: Any,
        *,
        idempotent: bool | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """One write call; the per-record body whatever the HTTP status (400 included).

        Zoho (v8) answers a batch whose every record failed with HTTP 400 and the same
        per-record ``data[]``; ``ZohoClient.request`` returns such an answer (whole-request
        errors raise, typed).
        """
        extra = {"headers": dict(headers)} if headers else {}
        reply = self.client.request(method, path, json=body, idempotent=idempotent, **extra)
        self._server_now = server_time(reply.headers) or self._server_now
        return dict(reply.body) if isinstance(reply.body, Mapping) else {"data": []}

    # -- ambiguous writes ----------------------------------------------------------------

    def _settled(self, step: Step, ids: Sequence[str], method: str, path: str) -> dict[str, Any]:
        """Send ``ids`` of a JSON step; settle a lost answer by reading back, never blindly.

        Returns the reply body as Zoho would have answered (one result per id, in order),
        with records settled by a read-back in place of the answers that never came.
        """
        pending = list(ids)
        answers: dict[str, dict[str, Any]] = {}
        for round_ in range(MAX_SETTLE_ROUNDS):
            sent_after = self.now()
            self.calls += 1
            if round_:
                self.settle_calls += 1
            # If-Unmodified-Since (PUT): a re-send is as safe against colleagues as the first.
            headers = (self.guard.header(pending) if self.guard is not None and method == "PUT"
                       else {})
            try:
                body = self.write(method, path, step.restricted(pending), idempotent=False,
                                  headers=headers)
            except CrmframeError as exc:
                if not is_ambiguous(exc):
                    refused = self._refused_whole(pending, exc)
                    if refused is not None and not answers:
                        return refused
                    if not answers:
                        raise  # nothing settled yet: the executor reports it as before
                    answers.update(_answers_by_id(pending, refused) if refused is not None
                                   else _error_answers(pending, exc))
                    break
                self.ambiguous += 1
                pending = self._read_back_settle(step, pending, exc, sent_after, answers)
                if not pending:
                    break
                if round_ == MAX_SETTLE_ROUNDS - 1:
                    for rid in pending:
                        answers[rid] = settled_row(
                            rid, "TRANSPORT_ERROR", "error",
                            f"not applied (read back after {MAX_SETTLE_ROUNDS} lost answers: "
                            "its values and Modified_Time are untouched); retry() sends it "
                            "again",
                        )
                continue
            if not answers:
                return body
            answers.update(_answers_by_id(pending, body))
            break
        return {"data": [answers.get(i) or settled_row(
            i, "NO_ANSWER", "unknown", "no answer and no read-back for this record")
            for i in ids]}

    def now(self) -> pd.Timestamp | None:
        """Zoho's clock now, never ahead of it (from the client's latest ``Date`` header;
        ``None`` before one was seen): a record last modified earlier than this, read back
        after a lost write sent from now on, provably did not receive it."""
        return zoho_now(self.client) or self._server_now

    def _until_stable(
        self, step: Step, settled: Settled, sent_after: pd.Timestamp | None
    ) -> Settled:
        """Re-read ``settled.not_applied`` until they stop moving; merge the verdicts."""
        again = settle_until_stable(
            lambda ids: self._read_settle(step.fields, ids), step.records(settled.not_applied),
            self.infos, stamps=self._stamps, sent_after=sent_after,
            sleep=lambda: self._sleep(self.poll_interval),
        )
        return Settled([*settled.applied, *again.applied], again.not_applied,
                       [*settled.unknown, *again.unknown])

    def _refused_whole(self, ids: Sequence[str], exc: CrmframeError) -> dict[str, Any] | None:
        """Zoho may refuse If-Unmodified-Since for the whole request (part 2 §1.2): then no
        record of it was written, and every one is a conflict."""
        if (isinstance(exc, ZohoAPIError) and exc.code == "ALREADY_MODIFIED"
                and self.guard is not None):
            return self.guard.refused(list(ids), {})
        return None

    def _read_back_settle(
        self,
        step: Step,
        pending: list[str],
        exc: CrmframeError,
        sent_after: pd.Timestamp | None,
        answers: dict[str, dict[str, Any]],
    ) -> list[str]:
        """Read ``pending`` back after an unanswered write; fill ``answers``; return what
        provably did not land (to send again)."""
        try:
            frame = self._read_settle(step.fields, pending)
        except CrmframeError as read_exc:
            why = f"the read-back failed as well ({type(read_exc).__name__})"
            for rid in pending:
                answers[rid] = settled_row(rid, AMBIGUOUS_CODE, "unknown",
                                           unknown_message(exc, why), sent_after=sent_after)
            return []
        settled = settle(frame, step.records(pending), self.infos, stamps=self._stamps,
                         sent_after=sent_after)
        if settled.not_applied and isinstance(exc, TransportError) and exc.timed_out:
            # A timeout: Zoho may still be writing these. Untouched now proves nothing
            # until they stop moving (read back again until stable), then it does.
            settled = self._until_stable(step, settled, sent_after)
        stamps = _current_stamps(frame)
        for rid in settled.applied:
            row = settled_row(rid, "SUCCESS", "success", APPLIED_MESSAGE)
            if rid in stamps:
                row["details"]["Modified_Time"] = stamps[rid]
            answers[rid] = row
        for rid in settled.unknown:
            answers[rid] = settled_row(rid, AMBIGUOUS_CODE, "unknown", unknown_message(
                exc, "the record was modified since, so whether this write landed cannot be "
                "told"), sent_after=sent_after)
        if step.route == "mass_update":
            # Zoho answers a mass update with a scheduled job: an untouched record may be one
            # the job has not reached yet, so "untouched" proves nothing and a re-send could
            # apply the update twice.
            for rid in settled.not_applied:
                answers[rid] = settled_row(rid, AMBIGUOUS_CODE, "unknown", unknown_message(
                    exc, "a mass update runs as a job Zoho schedules, so a record it has not "
                    "reached yet looks untouched"))
            return []
        return settled.not_applied

    # -- bulk write ----------------------------------------------------------------------

    def org_id(self) -> str:
        """The org's ``zgid`` (the ``X-CRM-ORG`` header of uploads), read once."""
        if self._org is None:
            body = self.client.request("GET", "org").body or {}
            orgs = body.get("org") or []
            zgid = orgs[0].get("zgid") if orgs and isinstance(orgs[0], Mapping) else None
            if not zgid:
                raise EnvelopeError("GET org: no 'zgid' in the answer; cannot upload a file")
            self._org = str(zgid)
        return self._org

    def upload(self, zip_bytes: bytes, name: str) -> str:
        """Upload a zipped CSV; return its ``file_id``."""
        headers = {"feature": "bulk-write", "X-CRM-ORG": self.org_id()}
        self.calls += 1
        self.uploads += 1
        reply = self.client.request(
            "POST", upload_url(self.client.api_domain, self.client.version),
            files={"file": (name, zip_bytes, "application/zip")}, headers=headers,
            idempotent=True,  # an orphan upload costs nothing; a lost one costs the job
        )
        details = (reply.body or {}).get("details") or {}
        file_id = details.get("file_id") if isinstance(details, Mapping) else None
        if not file_id:
            raise EnvelopeError("bulk-write upload: no details.file_id in the answer")
        return str(file_id)

    def create_job(self, body: Mapping[str, Any]) -> str:
        """Create the bulk-write job; return its id."""
        self.calls += 1
        reply = self.client.request("POST", "write", json=dict(body), bulk=True)
        answer = reply.body or {}
        details = answer.get("details") or {}
        job_id = details.get("id") if isinstance(details, Mapping) else None
        if not job_id:
            raise EnvelopeError("bulk-write job: no details.id in the answer")
        return str(job_id)

    def download(self, url: str) -> bytes:
        """The result zip of a finished job (``download_url`` absolute or relative)."""
        if not url.startswith(("http://", "https://")):
            url = f"{self.client.api_domain}/{url.lstrip('/')}"
        self.reads += 1
        data: bytes = self.client.get_bytes(url)
        return data

    def run_bulk_job(
        self,
        zip_bytes: bytes,
        body_for: Callable[[str], Mapping[str, Any]],
        *,
        name: str,
        job_id: str | None = None,
        on_job: Callable[[str], None] | None = None,
        on_upload: Callable[[str], None] | None = None,
    ) -> tuple[Any, bytes]:
        """Upload, create the job (unless ``job_id`` says it exists), wait, download.

        A job creation whose answer is lost (or a 5xx after sending) is never sent again:
        the job may exist, and a second one would write every record twice. The job is
        looked for by its ``file_id`` and awaited; when it cannot be found this raises
        :class:`~crmframe.facade.write.orphans.OrphanJob` (a ``TransportError``), which
        :meth:`send` settles by reading back.
        """
        if job_id is None:
            file_id = self.upload(zip_bytes, name)
            if on_upload is not None:
                on_upload(file_id)
            try:
                job_id = self.create_job(body_for(file_id))
            except CrmframeError as exc:
                if not is_ambiguous(exc):
                    raise
                self.ambiguous += 1
                # The job may exist: find it and wait for it, never create a second one.
                found = self._find(file_id)
                if found is None:
                    raise OrphanJob(file_id, exc) from None
                job_id = found
            if on_job is not None:
                on_job(job_id)
        job = Job(job_id, "bulk_write", module=self.module)
        self.jobs.append(job)
        try:
            status = self._wait(job)
        except TransportError as exc:
            # The job exists and may still be writing: writing these records again now
            # (a second bulk_write) would write them twice. Say so, with its id.
            lost = TransportError(
                f"{exc} — bulk-write job {job_id} was created and may still be running: "
                f"do not write these records again before it ends; watch it with "
                f"crm.wait(Job({job_id!r}, 'bulk_write', module={self.module!r})), then "
                "crm.bulk_write_result(job)"
            )
            lost.timed_out = exc.timed_out
            raise lost from None
        url = getattr(status, "download_url", None)
        if not url:
            raise EnvelopeError(f"bulk-write job {job_id} completed without a download_url")
        return job, self.download(str(url))

    def _bulk(
        self,
        step: Step,
        ids: Sequence[str],
        *,
        job_id: str | None,
        on_job: Callable[[str], None] | None,
        on_upload: Callable[[str], None] | None = None,
    ) -> dict[str, Any]:
        """Run the step's bulk write; a job created without an answer and not found is
        settled by reading back, and only rows provably not applied go in a new file."""
        pending = list(ids)
        answers: dict[str, dict[str, Any]] = {}
        for round_ in range(MAX_SETTLE_ROUNDS):
            try:
                answers.update(self._bulk_once(step, pending, job_id, on_job=on_job,
                                               on_upload=on_upload))
                break
            except OrphanJob as orphan:
                job_id = None
                if round_:
                    self.settle_calls += 1
                settled = self.settle_bulk(step, pending)
                for rid in settled.applied:
                    answers[rid] = settled_row(rid, "SUCCESS", "success", APPLIED_MESSAGE)
                for rid in settled.unknown:
                    answers[rid] = settled_row(rid, AMBIGUOUS_CODE, "unknown", unknown_message(
                        orphan, "the record was modified since the baseline, so whether the "
                        "job wrote it cannot be told"))
                pending = settled.not_applied
                if pending and round_ == MAX_SETTLE_ROUNDS - 1:
                    for rid in pending:
                        answers[rid] = settled_row(
                            rid, "TRANSPORT_ERROR", "error",
                            f"not applied (read back after {MAX_SETTLE_ROUNDS} unanswered job "
                            "creations: its values and Modified_Time are untouched); retry() "
                            "sends it again")
                if not pending:
                    break
        return {"data": [answers[i] for i in ids if i in answers]}

    def _bulk_once(
        self, step: Step, ids: Sequence[str], job_id: str | None, *, on_job: Any,
        on_upload: Any,
    ) -> dict[str, dict[str, Any]]:
        """One upload, job, wait and download."""
        file = step.payload
        sent_ids = list(getattr(file, "ids", step.ids))
        if job_id is None and list(ids) != sent_ids:
            # Resuming: only the rows not yet settled go in a new file.
            csv_bytes = csv_subset(file.csv_bytes, ids)
            zip_bytes = zip_csv(csv_bytes, f"{self.module}.csv")
            pending = set(ids)
            sent_ids = [i for i in sent_ids if i in pending]
        else:
            zip_bytes = file.zip_bytes
        _, result = self.run_bulk_job(
            zip_bytes,
            lambda file_id: file.job_body(file_id, version=self.client.version),
            name=f"{self.module}.zip",
            job_id=job_id,
            on_job=on_job,
            on_upload=on_upload,
        )
        parsed = parse_bulk_result(result, ids=sent_ids)
        body = bulk_rows_body(parsed)
        by_id = dict(zip(sent_ids, body["data"], strict=True))
        return {i: by_id[i] for i in ids if i in by_id}


def _current_stamps(frame: pd.DataFrame) -> dict[str, str]:
    if "Modified_Time" not in frame.columns:
        return {}
    out: dict[str, str] = {}
    for rid, value in zip(frame.index.tolist(), frame["Modified_Time"].tolist(), strict=True):
        if not is_missing(rid) and not is_missing(value):
            out.setdefault(str(rid), pd.Timestamp(value).isoformat())
    return out


def _answers_by_id(ids: Sequence[str], body: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """One answer per id from a reply body (Zoho answers in the order sent; a refused mass
    update answers once for all)."""
    data = body.get("data")
    items = [dict(d) for d in data if isinstance(d, Mapping)] if isinstance(data, list) else []
    if len(items) == 1 and len(ids) > 1:
        items = [dict(items[0]) for _ in ids]
    return dict(zip(ids, items, strict=False))


def _error_answers(ids: Sequence[str], exc: CrmframeError) -> dict[str, dict[str, Any]]:
    code = str(getattr(exc, "code", None) or type(exc).__name__)
    details = getattr(exc, "details", None) or {}
    return {rid: {"code": code, "status": "error", "message": str(getattr(exc, "message", exc)),
                  "details": {**details, "id": rid}} for rid in ids}
