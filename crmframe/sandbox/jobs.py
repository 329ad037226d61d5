"""Mass-update (by custom view), bulk-write and bulk-read jobs that advance with time.

Jobs advance with the clock: every API request first calls :meth:`Jobs.advance` (and the
server's ticker thread calls it every 0.2 s), which does the work a real server would
have done by now (``delay`` seconds per waiting state, then
``speed`` records per second). With an injected clock, tests move time instead of
sleeping. Jobs live in memory: a restart forgets them (records they wrote stay).
"""

from __future__ import annotations

import csv
import io
import json
import logging
import threading
import urllib.request
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from crmframe.core.fieldtypes import Kind
from crmframe.sandbox.clock import Clock, format_datetime
from crmframe.sandbox.criteria import Cond
from crmframe.sandbox.csvformats import convert_date, convert_datetime
from crmframe.sandbox.schema import USER_OFFSET_MINUTES, USERS, Module
from crmframe.sandbox.store import Record, Store
from crmframe.sandbox.writes import Writer

__all__ = ["BulkReadJob", "BulkWriteJob", "Jobs", "Mapping", "MassUpdateJob"]

log = logging.getLogger("crmframe.sandbox")

API_USER = {"id": USERS[0]["id"], "name": USERS[0]["name"]}
#: Records per bulk-read result page (Zoho's figure).
READ_PAGE = 200_000


@dataclass
class MassUpdateJob:
    """A mass update over a custom view."""

    id: str
    module: str
    cvid: str
    targets: list[str]
    changes: dict[str, Any]
    over_write: bool
    created: float
    processed: int = 0
    updated: int = 0
    failed: int = 0

    @property
    def total(self) -> int:
        """Records the job covers."""
        return len(self.targets)

    def status(self, now: float, delay: float) -> dict[str, Any]:
        """The seed 002 status item."""
        if self.processed >= self.total:
            state = "FAILED" if self.total and self.failed == self.total else "COMPLETED"
        elif self.processed == 0 and now < self.created + delay:
            state = "SCHEDULED"
        else:
            state = "RUNNING"
        return {
            "Status": state,
            "Failed_Count": self.failed,
            "Updated_Count": self.updated,
            "Not_Updated_Count": self.total - self.updated - self.failed,
            "Total_Count": self.total,
        }


@dataclass
class Mapping:
    """One bulk-write field mapping."""

    api_name: str
    index: int
    format: str | None = None
    find_by: str | None = None
    default_value: Any = None
    column: str = ""

    def to_json(self) -> dict[str, Any]:
        """As the job details echo it (seed 000)."""
        return {"api_name": self.api_name, "index": self.index, "format": self.format,
                "find_by": self.find_by, "module": None, "default_value": self.default_value}


@dataclass
class BulkWriteJob:
    """A bulk insert/update/upsert from one uploaded CSV."""

    id: str
    version: str
    module: Module
    operation: str
    find_by: str | None
    mappings: list[Mapping]
    header: list[str]
    rows: list[list[str]]
    file_name: str
    created: float
    ignore_empty: bool = False
    callback: dict[str, Any] | None = None
    character_encoding: str = "UTF-8"
    module_as_object: bool = True
    base_url: str = ""
    callback_result: str | None = None
    processed: int = 0
    added: int = 0
    updated: int = 0
    skipped: int = 0
    outcomes: list[tuple[str, str, str]] = field(default_factory=list)
    #: The upload the job was made from (for the emulated job listing only).
    file_id: str = ""

    @property
    def total(self) -> int:
        """Rows in the CSV."""
        return len(self.rows)

    def details(self, now: float, delay: float, base_url: str) -> dict[str, Any]:
        """The job-details answer (seed 000 / v7 / v8 shapes) at this point of its life."""
        done = self.processed >= self.total and now >= self.created + delay
        started = now >= self.created + delay
        module: Any = ({"api_name": self.module.api_name, "id": self.module.id}
                       if self.module_as_object else self.module.api_name)
        resource: dict[str, Any] = {
            "status": "COMPLETED" if done else "INPROGRESS",
            "type": "data",
            "module": module,
            "field_mappings": [m.to_json() for m in self.mappings],
            "code": "SUCCESS" if done else "INPROGRESS" if started else "ADDED",
        }
        if done:
            resource["file"] = self._file("COMPLETED")
        elif started:
            resource["file"] = self._file("INPROGRESS")
        else:
            resource["file"] = {"status": "INPROGRESS", "name": self.file_name}
        body: dict[str, Any] = {
            "status": "COMPLETED" if done else "INPROGRESS" if started else "ADDED",
            "character_encoding": self.character_encoding,
            "resource": [resource],
            "id": self.id,
        }
        if self.callback is not None:
            body["callback"] = self.callback
        if done:
            body["result"] = {
                "download_url": f"{base_url}/crm/bulk/{self.version}/write/{self.id}/result"
            }
        body.update({
            "created_by": dict(API_USER),
            "ignore_empty": self.ignore_empty,
            "operation": self.operation,
            "created_time": format_datetime(self.created, USER_OFFSET_MINUTES),
        })
        return body

    def _file(self, status: str) -> dict[str, Any]:
        return {"status": status, "name": self.file_name, "added_count": self.added,
                "skipped_count": self.skipped, "updated_count": self.updated,
                "total_count": self.total}

    def result_zip(self) -> bytes:
        """The result zip: the CSV's columns plus STATUS, RECORD_ID and ERRORS."""
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow([*self.header, "STATUS", "RECORD_ID", "ERRORS"])
        for row, (status, rid, errors) in zip(self.rows, self.outcomes, strict=False):
            writer.writerow([*row, status, rid, errors])
        for row in self.rows[len(self.outcomes):]:
            writer.writerow([*row, "unprocessed", "", ""])
        return _zip(f"{self.id}.csv", buf.getvalue())


@dataclass
class BulkReadJob:
    """An export of a module to CSV."""

    id: str
    version: str
    module: Module
    fields: list[str]
    cond: Cond | None
    query: dict[str, Any]
    page: int
    created: float
    expected: int
    file_type: str = "csv"
    callback: dict[str, Any] | None = None
    callback_result: str | None = None
    #: The result zip, built once when the job completes (``None`` before). Only the
    #: compressed bytes are kept: rows of 200,000 records as Python lists would stay in
    #: memory, and in every garbage collection, for as long as the server runs.
    result: bytes | None = None
    count: int = 0
    more: bool = False

    def state(self, now: float, delay: float, speed: float) -> str:
        """ADDED, QUEUED, IN PROGRESS or COMPLETED at ``now``."""
        elapsed = now - self.created
        if elapsed < delay:
            return "ADDED"
        if elapsed < 2 * delay:
            return "QUEUED"
        if elapsed < 2 * delay + self.expected / speed:
            return "IN PROGRESS"
        return "COMPLETED"

    def item(self, state: str) -> dict[str, Any]:
        """The ``data[0]`` of the status answer."""
        body: dict[str, Any] = {"id": self.id, "operation": "read", "state": state}
        if state == "COMPLETED" and self.result is not None:
            body["result"] = {
                "page": self.page,
                "per_page": READ_PAGE,
                "count": self.count,
                "download_url": f"/crm/bulk/{self.version}/read/{self.id}/result",
                "more_records": self.more,
            }
        body.update({
            "query": self.query,
            "created_by": dict(API_USER),
            "created_time": format_datetime(self.created, USER_OFFSET_MINUTES),
            "file_type": self.file_type,
        })
        return body

    def complete(self, rows: Iterable[list[str]], count: int) -> None:
        """Keep the result of ``count`` rows as its zip: ``id`` first, then the fields."""
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(["id", *[f for f in self.fields if f != "id"]])
        writer.writerows(rows)
        self.result = _zip(f"{self.id}.csv", buf.getvalue())
        self.count = count


def post_callback(job: BulkWriteJob | BulkReadJob, callback: dict[str, Any],
                  body: dict[str, Any]) -> None:
    """POST a finished job's details to its callback URL, in the background.

    Best effort like Zoho's: the outcome (HTTP status or error) lands in
    ``job.callback_result``; a failing callback never affects the job.
    """
    url = str(callback.get("url") or "")
    method = str(callback.get("method") or "post").upper()
    data = json.dumps(body).encode("utf-8")

    def send() -> None:
        req = urllib.request.Request(url, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=10) as resp:
                job.callback_result = str(resp.status)
        except Exception as exc:  # the callee's problem, not the job's
            job.callback_result = f"error: {type(exc).__name__}"
            log.debug("callback to %s failed: %s", url, exc)

    threading.Thread(target=send, name=f"crmframe-sandbox-callback-{job.id}",
                     daemon=True).start()


def _zip(name: str, text: str) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(name, text)
    return out.getvalue()


def csv_cell(value: Any, kind: Kind) -> str:
    """One value as bulk read writes it: lookups by id, lists joined by ``;``."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return str(value.get("id") or "")
    if isinstance(value, list):
        return ";".join(str(v.get("name") if isinstance(v, dict) else v) for v in value)
    return str(value)


class Jobs:
    """All jobs of a server, advanced by time."""

    def __init__(self, store: Store, writer: Writer, clock: Clock, *, speed: float,
                 delay: float) -> None:
        self.store = store
        self.writer = writer
        self.clock = clock
        self.speed = max(float(speed), 1e-9)
        self.delay = float(delay)
        self.lock = threading.RLock()
        self.mass: dict[str, MassUpdateJob] = {}
        self.writes: dict[str, BulkWriteJob] = {}
        self.reads: dict[str, BulkReadJob] = {}
        self._pending = 0

    def new_id(self) -> str:
        """A fresh 19-digit job id."""
        return self.store.new_id()

    def _due(self, created: float, now: float) -> int:
        return max(0, int((now - created - self.delay) * self.speed))

    def advance(self) -> None:
        """Do the work every job would have done by now (and post due callbacks)."""
        if not self._pending:
            return
        now = self.clock.now()
        with self.lock:
            busy = 0
            for job in self.mass.values():
                if job.processed < job.total:
                    self._advance_mass(job, min(job.total, self._due(job.created, now)))
                    busy += job.processed < job.total
            for wjob in self.writes.values():
                if wjob.processed < wjob.total:
                    self._advance_write(wjob, min(wjob.total, self._due(wjob.created, now)))
                    busy += wjob.processed < wjob.total
                if wjob.callback and wjob.callback_result is None:
                    if wjob.processed >= wjob.total and now >= wjob.created + self.delay:
                        wjob.callback_result = "pending"
                        post_callback(wjob, wjob.callback,
                                      wjob.details(now, self.delay, wjob.base_url))
                    else:
                        busy += 1
            for rjob in self.reads.values():
                if rjob.result is None:
                    if rjob.state(now, self.delay, self.speed) == "COMPLETED":
                        self.complete_read(rjob)
                    else:
                        busy += 1
                if rjob.result is not None and rjob.callback and rjob.callback_result is None:
                    rjob.callback_result = "pending"
                    post_callback(rjob, rjob.callback, {"data": [rjob.item("COMPLETED")]})
            self._pending = busy

    # ------------------------------------------------------------------ mass update
    def add_mass(self, job: MassUpdateJob) -> None:
        """Schedule a mass-update job."""
        with self.lock:
            self.mass[job.id] = job
            self._pending += 1

    def running_on(self, module: str, cvid: str) -> bool:
        """True when a mass update on this view is still running (``ALREADY_SCHEDULED``)."""
        with self.lock:
            return any(j.module == module and j.cvid == cvid and j.processed < j.total
                       for j in self.mass.values())

    def _advance_mass(self, job: MassUpdateJob, upto: int) -> None:
        while job.processed < upto:
            chunk = job.targets[job.processed:min(upto, job.processed + 500)]
            results = self.writer.mass_apply(job.module, chunk, job.changes,
                                             over_write=job.over_write, modern=True)
            ok = sum(1 for r in results if r["status"] == "success")
            job.updated += ok
            job.failed += len(results) - ok
            job.processed += len(chunk)

    # ------------------------------------------------------------------ bulk write
    def add_write(self, job: BulkWriteJob) -> None:
        """Queue a bulk-write job."""
        with self.lock:
            self.writes[job.id] = job
            self._pending += 1

    def _advance_write(self, job: BulkWriteJob, upto: int) -> None:
        while job.processed < upto:
            end = min(upto, job.processed + 100)
            self._write_rows(job, job.processed, end)
            job.processed = end

    def _cell(self, job: BulkWriteJob, m: Mapping, text: str) -> Any:
        mod = job.module
        kind = mod.kinds[m.api_name]
        dt = mod.by_name[m.api_name]["data_type"]
        if text == "":
            return [] if kind is Kind.LIST else None
        if kind is Kind.INTEGER:
            return int(text)
        if kind is Kind.FLOAT:
            return float(text)
        if kind is Kind.BOOLEAN:
            low = text.strip().lower()
            if low not in ("true", "false"):
                raise ValueError(text)
            return low == "true"
        if kind is Kind.DATE:
            return convert_date(text, m.format)
        if kind is Kind.DATETIME:
            return convert_datetime(text, m.format, USER_OFFSET_MINUTES)
        if kind is Kind.LIST:
            return [p for p in text.split(";") if p]
        if kind is Kind.LOOKUP:
            by = m.find_by or "id"
            if by == "id":
                return {"id": text}
            if dt == "ownerlookup":
                for user in USERS:
                    if by == "email" and user["email"].casefold() == text.casefold():
                        return {"id": user["id"]}
                raise ValueError(text)
            target = mod.lookups.get(m.api_name)
            if target is None:
                raise ValueError(text)
            found = self.writer.find(self.writer.modules[target], by, text)
            if found is None:
                raise ValueError(text)
            return {"id": found}
        return text

    def _write_rows(self, job: BulkWriteJob, start: int, end: int) -> None:
        mod = job.module
        column_of = {m.api_name: m.column for m in job.mappings}
        prepared: list[tuple[int, dict[str, Any] | None, str, str | None]] = []
        scan: dict[str, str] | None = None
        if job.find_by and job.find_by != "id" and job.find_by not in mod.unique:
            # a field without an index (Email of Leads): one pass per slice, not one per row
            scan = {}
            for rec in self.store.records(mod.api_name):
                value = rec.values.get(job.find_by)
                if value not in (None, ""):
                    scan.setdefault(str(value).casefold(), rec.id)
        for i in range(start, end):
            row = job.rows[i]
            item: dict[str, Any] = {}
            error = ""
            for m in job.mappings:
                text = row[m.index] if m.index < len(row) else ""
                if text == "" and m.default_value is not None:
                    default = m.default_value
                    text = str(default.get("value", "") if isinstance(default, dict) else default)
                if text == "" and job.ignore_empty:
                    continue
                try:
                    item[m.api_name] = self._cell(job, m, text)
                except (ValueError, TypeError):
                    error = f"INVALID_DATA-{m.column}"
                    break
            if error:
                prepared.append((i, None, error, None))
                continue
            target: str | None = None
            if job.find_by:
                key = item.pop("id", None) if job.find_by == "id" else item.get(job.find_by)
                if scan is not None:
                    target = scan.get(str(key).casefold()) if key not in (None, "") else None
                else:
                    target = self.writer.find(mod, job.find_by, key)
            by_column = column_of.get(job.find_by or "id", job.find_by or "id")
            if job.operation == "update" and target is None:
                prepared.append((i, None, f"RESOURCE_NOT_FOUND-{by_column}", None))
                continue
            if job.operation == "insert" and target is not None:
                prepared.append((i, None, f"DUPLICATE_DATA-{by_column}", None))
                continue
            item.pop("id", None)
            prepared.append((i, item, "", target))
        inserts = [(i, item) for i, item, _, target in prepared
                   if item is not None and target is None]
        updates = [(i, dict(item, id=target)) for i, item, _, target in prepared
                   if item is not None and target is not None]
        outcome: dict[int, tuple[str, str, str]] = {
            i: ("skipped", "", err) for i, item, err, _ in prepared if item is None
        }
        for op, batch in (("insert", inserts), ("update", updates)):
            if not batch:
                continue
            results = self.writer.write(mod.api_name, [b[1] for b in batch],
                                        op=op, modern=True)  # type: ignore[arg-type]
            for (i, _item), res in zip(batch, results, strict=True):
                if res["status"] == "success":
                    outcome[i] = ("added" if op == "insert" else "updated",
                                  str(res["details"]["id"]), "")
                else:
                    api = res["details"].get("api_name") or "id"
                    code = {"RECORD_LOCKED": "BLOCKED_RECORD"}.get(res["code"], res["code"])
                    outcome[i] = ("skipped", "", f"{code}-{column_of.get(api, api)}")
        for i in range(start, end):
            status, rid, err = outcome[i]
            job.outcomes.append((status, rid, err))
            if status == "added":
                job.added += 1
            elif status == "updated":
                job.updated += 1
            else:
                job.skipped += 1

    # ------------------------------------------------------------------ bulk read
    def add_read(self, job: BulkReadJob) -> None:
        """Queue a bulk-read job."""
        with self.lock:
            self.reads[job.id] = job
            self._pending += 1

    def complete_read(self, job: BulkReadJob) -> None:
        """Take the snapshot of a bulk-read job that just completed."""
        records = self.store.records(job.module.api_name)
        if job.cond is not None:
            records = [r for r in records if job.cond(r.values)]
        start = (job.page - 1) * READ_PAGE
        page = records[start:start + READ_PAGE]
        job.more = len(records) > start + READ_PAGE
        # a generator: rows go straight into the CSV, none is kept
        job.complete((self._row(job, rec) for rec in page), len(page))

    def _row(self, job: BulkReadJob, rec: Record) -> list[str]:
        mod = job.module
        row = [rec.id]
        for name in job.fields:
            if name == "id":
                continue
            if "." in name:
                row.append(self._dotted(mod, rec, name))
                continue
            row.append(csv_cell(rec.values.get(name), mod.kinds.get(name, Kind.TEXT)))
        return row

    def _dotted(self, mod: Module, rec: Record, name: str) -> str:
        head, _, tail = name.partition(".")
        ref = rec.values.get(head)
        if not isinstance(ref, dict):
            return ""
        if tail in ref:
            return csv_cell(ref.get(tail), Kind.TEXT)
        target = mod.lookups.get(head)
        if target == "users":
            user = next((u for u in USERS if u["id"] == ref.get("id")), None)
            if user is None:
                return ""
            first, _, last = user["name"].partition(" ")
            return {"first_name": first, "last_name": last}.get(tail, user.get(tail, ""))
        if target in self.writer.modules:
            other = self.store.get(target, str(ref.get("id")))
            if other is not None:
                kind = self.writer.modules[target].kinds.get(tail, Kind.TEXT)
                return csv_cell(other.values.get(tail), kind)
        return ""
