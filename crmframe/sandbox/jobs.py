"""Mass-update (by custom view), bulk-write and bulk-read jobs that advance with time.

Jobs advance with the clock: every API request first calls :meth:`Jobs.advance` (and the
server's ticker thread calls it every 0.2 s), which does the work a real server would
have done by now (``delay`` seconds per waiting state, then
``speed`` records per second). With an injected clock, tests move time instead of
sleeping.

Jobs are kept in the database (:mod:`jobstore`): a server started again on the same file
answers their status and result downloads as before. Zoho runs jobs on its servers, so a
client that goes away finds them later, finished or still running; here a job that was
running when the server stopped **continues** from the last slice it committed (each
slice commits with the records it wrote), and the time the server was down counts as
time passed, so a job due to finish by then is finished at the first call after the
restart. The files jobs read and make (uploads, result zips) live on disk
(:mod:`jobfiles`); a job's parsed rows stay in memory only while it runs.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import threading
import urllib.request
import zipfile
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from typing import Any

from crmframe.core.fieldtypes import Kind
from crmframe.sandbox.clock import Clock, format_datetime
from crmframe.sandbox.criteria import Cond, CriteriaError, all_of, any_of, condition
from crmframe.sandbox.csvformats import convert_date, convert_datetime
from crmframe.sandbox.jobfiles import JobFiles
from crmframe.sandbox.jobstore import JobTable
from crmframe.sandbox.schema import USER_OFFSET_MINUTES, USERS, Module, user_part
from crmframe.sandbox.store import Record, Store
from crmframe.sandbox.writes import Writer

__all__ = ["BulkReadJob", "BulkWriteJob", "Jobs", "Mapping", "MassUpdateJob", "read_condition",
           "read_csv"]

log = logging.getLogger("crmframe.sandbox")

API_USER = {"id": USERS[0]["id"], "name": USERS[0]["name"]}
#: Records per bulk-read result page (Zoho's figure).
READ_PAGE = 200_000
#: Finished jobs kept in memory (the latest); older ones are read back from the database
#: when asked for, so a server that ran many jobs does not hold them all.
KEEP_FINISHED = 256


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
    #: Records the job covers (its ``targets`` are let go once it is done).
    total: int = -1

    def __post_init__(self) -> None:
        if self.total < 0:
            self.total = len(self.targets)

    def spec(self) -> dict[str, Any]:
        """What was asked (stored once)."""
        return {"module": self.module, "cvid": self.cvid, "targets": self.targets,
                "changes": self.changes, "over_write": self.over_write,
                "created": self.created, "total": self.total}

    def progress(self) -> dict[str, Any]:
        """How far it got (stored as it advances)."""
        return {"processed": self.processed, "updated": self.updated, "failed": self.failed}

    @classmethod
    def restore(cls, job_id: str, spec: dict[str, Any],
                progress: dict[str, Any]) -> MassUpdateJob:
        """The job as :meth:`spec` and :meth:`progress` stored it."""
        job = cls(job_id, spec["module"], spec["cvid"], list(spec["targets"]),
                  spec["changes"], bool(spec["over_write"]), float(spec["created"]),
                  total=int(spec["total"]), **progress)
        if job.processed >= job.total:
            job.targets = []
        return job

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
    #: The CSV's rows while the job runs (``[]`` once its result file is made).
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
    #: Rows in the CSV.
    total: int = -1
    #: Key of the uploaded CSV in the job files (dropped once the result file is made).
    upload_key: str = ""
    #: True once the result zip is in the job files (rows and outcomes let go).
    finished: bool = False
    #: The upload the job was made from (for the emulated job listing only).
    file_id: str = ""

    def __post_init__(self) -> None:
        if self.total < 0:
            self.total = len(self.rows)

    def spec(self) -> dict[str, Any]:
        """What was asked (stored once); the rows stay in the uploaded file."""
        return {"version": self.version, "module": self.module.api_name,
                "operation": self.operation, "find_by": self.find_by,
                "mappings": [asdict(m) for m in self.mappings], "header": self.header,
                "file_name": self.file_name, "created": self.created,
                "ignore_empty": self.ignore_empty, "callback": self.callback,
                "character_encoding": self.character_encoding,
                "module_as_object": self.module_as_object, "base_url": self.base_url,
                "total": self.total, "upload_key": self.upload_key, "file_id": self.file_id}

    def progress(self) -> dict[str, Any]:
        """How far it got (stored as it advances)."""
        return {"processed": self.processed, "added": self.added, "updated": self.updated,
                "skipped": self.skipped, "callback_result": self.callback_result,
                "finished": self.finished}

    @classmethod
    def restore(cls, job_id: str, spec: dict[str, Any], progress: dict[str, Any],
                module: Module) -> BulkWriteJob:
        """The job as stored, without its rows and outcomes (the caller reloads them)."""
        return cls(job_id, spec["version"], module, spec["operation"], spec["find_by"],
                   [Mapping(**m) for m in spec["mappings"]], list(spec["header"]), [],
                   spec["file_name"], float(spec["created"]),
                   ignore_empty=bool(spec["ignore_empty"]), callback=spec["callback"],
                   character_encoding=spec["character_encoding"],
                   module_as_object=bool(spec["module_as_object"]), base_url=spec["base_url"],
                   total=int(spec["total"]), upload_key=spec["upload_key"],
                   file_id=str(spec.get("file_id") or ""), **progress)

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
        """The result zip: the CSV's columns plus STATUS, RECORD_ID and ERRORS (made
        while the rows are still held)."""
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
    #: True once the result zip is made (once, when the job completes) and kept in the
    #: job files: 200,000 records as Python lists, or even their zip, would stay in
    #: memory for as long as the server runs.
    done: bool = False
    count: int = 0
    more: bool = False
    #: The request's ``criteria`` and ``cvid``, from which ``cond`` is made again after a
    #: restart.
    criteria: Any = None
    cvid: str | None = None

    def spec(self) -> dict[str, Any]:
        """What was asked (stored once)."""
        return {"version": self.version, "module": self.module.api_name,
                "fields": self.fields, "criteria": self.criteria, "cvid": self.cvid,
                "query": self.query, "page": self.page, "created": self.created,
                "expected": self.expected, "file_type": self.file_type,
                "callback": self.callback}

    def progress(self) -> dict[str, Any]:
        """Whether it is done (stored when it completes)."""
        return {"done": self.done, "count": self.count, "more": self.more,
                "callback_result": self.callback_result}

    @classmethod
    def restore(cls, job_id: str, spec: dict[str, Any], progress: dict[str, Any],
                module: Module) -> BulkReadJob:
        """The job as stored, its condition made again from the request's criteria."""
        cond = read_condition(module, spec["criteria"], spec["cvid"])
        return cls(job_id, spec["version"], module, list(spec["fields"]), cond,
                   spec["query"], int(spec["page"]), float(spec["created"]),
                   int(spec["expected"]), spec["file_type"], spec["callback"],
                   criteria=spec["criteria"], cvid=spec["cvid"], **progress)

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
        if state == "COMPLETED" and self.done:
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

    def result_zip(self, rows: Iterable[list[str]]) -> bytes:
        """The result zip of ``rows``: ``id`` first, then the fields."""
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(["id", *[f for f in self.fields if f != "id"]])
        writer.writerows(rows)
        return _zip(f"{self.id}.csv", buf.getvalue())


def read_condition(mod: Module, criteria: Any, cvid: str | None) -> Cond | None:
    """The condition of a bulk read's ``criteria`` and custom view ``cvid`` (``None``:
    every record); raises :class:`CriteriaError` for criteria Zoho refuses."""
    conds: list[Cond] = []
    if criteria is not None:
        conds.append(_read_criteria(mod, criteria))
    view = mod.view(str(cvid)) if cvid is not None else None
    if view is not None and view.criteria:
        conds.extend(condition(mod, f, op, v) for f, op, v in view.criteria)
    return all_of(conds) if conds else None


def _read_criteria(mod: Module, spec: Any) -> Cond:
    if not isinstance(spec, dict):
        raise CriteriaError("criteria must be an object")
    if "group" in spec:
        group = spec.get("group")
        if not isinstance(group, list) or not group:
            raise CriteriaError("group must be a non-empty array")
        parts = [_read_criteria(mod, g) for g in group]
        op = str(spec.get("group_operator", "and")).lower()
        if op not in ("and", "or"):
            raise CriteriaError("group_operator must be and/or")
        return all_of(parts) if op == "and" else any_of(parts)
    field_ = spec.get("field")
    name = field_.get("api_name") if isinstance(field_, dict) else spec.get("api_name")
    if not isinstance(name, str):
        raise CriteriaError("criteria needs field.api_name")
    return condition(mod, name, str(spec.get("comparator", "equal")), spec.get("value"))


def read_csv(content: bytes) -> tuple[list[str], list[list[str]]]:
    """The header and rows of an uploaded CSV (``,``, ``;``, ``:`` or ``|`` separated;
    empty lines skipped); raises ``ValueError`` when it has no header or is not UTF-8."""
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        bad = content[exc.start:exc.start + 1].hex()
        raise ValueError(f"The CSV file is not UTF-8 encoded (byte 0x{bad} at offset "
                         f"{exc.start}). Save it as UTF-8 and upload it again.") from None
    first = text.split("\n", 1)[0]
    delimiter = max(",;:|", key=first.count)
    rows = [r for r in csv.reader(io.StringIO(text), delimiter=delimiter) if r]
    if not rows:
        raise ValueError("The CSV file is empty.")
    return rows[0], rows[1:]


def post_callback(job: BulkWriteJob | BulkReadJob, callback: dict[str, Any],
                  body: dict[str, Any], done: Callable[[], None] = lambda: None) -> None:
    """POST a finished job's details to its callback URL, in the background.

    Best effort like Zoho's: the outcome (HTTP status or error) lands in
    ``job.callback_result``, then ``done()`` runs; a failing callback never affects the
    job.
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
        try:
            done()
        except Exception:  # the server may have stopped meanwhile
            log.debug("callback outcome of job %s not stored", job.id, exc_info=True)

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
    """All jobs of a server, advanced by time, kept in its database (see the module)."""

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
        #: Uploads no job has taken yet: ``{file_id: file name}``, oldest first; their
        #: bytes are in :attr:`files`.
        self.uploads: dict[str, str] = {}
        self.files = JobFiles(store.path)
        self.table = JobTable(store)
        #: Jobs with work left (running, or a callback to post): the only ones
        #: :meth:`advance` looks at, so finished jobs cost a request nothing.
        self._active: dict[str, MassUpdateJob | BulkWriteJob | BulkReadJob] = {}
        #: Finished jobs in memory, oldest first (see KEEP_FINISHED).
        self._finished: dict[str, None] = {}
        self._load()

    def new_id(self) -> str:
        """A fresh 19-digit job id."""
        return self.store.new_id()

    def close(self) -> None:
        """Close the job files (a temporary file is deleted)."""
        self.files.close()

    def _due(self, created: float, now: float) -> int:
        return max(0, int((now - created - self.delay) * self.speed))

    def advance(self) -> None:
        """Do the work every job would have done by now (and post due callbacks)."""
        if not self._active:
            return
        now = self.clock.now()
        with self.lock:
            for job in list(self._active.values()):
                if isinstance(job, MassUpdateJob):
                    busy = self._step_mass(job, now)
                elif isinstance(job, BulkWriteJob):
                    busy = self._step_write(job, now)
                else:
                    busy = self._step_read(job, now)
                if not busy:
                    del self._active[job.id]
                    self._retire(job.id)

    def _retire(self, job_id: str) -> None:
        """Note a finished job; past KEEP_FINISHED, the oldest leave memory."""
        self._finished[job_id] = None
        while len(self._finished) > KEEP_FINISHED:
            oldest = next(iter(self._finished))
            del self._finished[oldest]
            for jobs in (self.mass, self.writes, self.reads):
                jobs.pop(oldest, None)

    def mass_job(self, job_id: str) -> MassUpdateJob | None:
        """A mass-update job by id (read back from the database when not in memory)."""
        with self.lock:
            job = self.mass.get(job_id) or self._stored(job_id, "mass")
        return job if isinstance(job, MassUpdateJob) else None

    def write_job(self, job_id: str) -> BulkWriteJob | None:
        """A bulk-write job by id (read back from the database when not in memory)."""
        with self.lock:
            job = self.writes.get(job_id) or self._stored(job_id, "write")
        return job if isinstance(job, BulkWriteJob) else None

    def read_job(self, job_id: str) -> BulkReadJob | None:
        """A bulk-read job by id (read back from the database when not in memory)."""
        with self.lock:
            job = self.reads.get(job_id) or self._stored(job_id, "read")
        return job if isinstance(job, BulkReadJob) else None

    def _stored(self, job_id: str,
                kind: str) -> MassUpdateJob | BulkWriteJob | BulkReadJob | None:
        """A finished job that left memory, from its row (and back in memory a while)."""
        row = self.table.get(job_id) if job_id.isdigit() else None
        if row is None or row[1] != kind or row[2]["module"] not in self.writer.modules:
            return None
        module = self.writer.modules[row[2]["module"]]
        job: MassUpdateJob | BulkWriteJob | BulkReadJob
        if kind == "mass":
            job = self.mass[job_id] = MassUpdateJob.restore(job_id, row[2], row[3])
        elif kind == "write":
            job = self.writes[job_id] = BulkWriteJob.restore(job_id, row[2], row[3], module)
        else:
            job = self.reads[job_id] = BulkReadJob.restore(job_id, row[2], row[3], module)
        self._retire(job_id)
        return job

    def _step_mass(self, job: MassUpdateJob, now: float) -> bool:
        if job.processed < job.total:
            self._advance_mass(job, min(job.total, self._due(job.created, now)))
        return job.processed < job.total

    def _step_write(self, job: BulkWriteJob, now: float) -> bool:
        if job.processed < job.total:
            self._advance_write(job, min(job.total, self._due(job.created, now)))
        if job.processed >= job.total and not job.finished:
            self._finish_write(job)
        if job.callback and job.callback_result is None:
            if job.processed < job.total or now < job.created + self.delay:
                return True
            job.callback_result = "pending"
            self.table.save(job.id, job.progress())
            post_callback(job, job.callback, job.details(now, self.delay, job.base_url),
                          self._saver(job))
        return job.processed < job.total

    def _step_read(self, job: BulkReadJob, now: float) -> bool:
        if not job.done:
            if job.state(now, self.delay, self.speed) != "COMPLETED":
                return True
            self.complete_read(job)
        if job.callback and job.callback_result is None:
            job.callback_result = "pending"
            self.table.save(job.id, job.progress())
            post_callback(job, job.callback, {"data": [job.item("COMPLETED")]},
                          self._saver(job))
        return False

    def _saver(self, job: BulkWriteJob | BulkReadJob) -> Callable[[], None]:
        def save() -> None:
            with self.lock:
                self.table.save(job.id, job.progress())
        return save

    # ------------------------------------------------------------------ restart
    def _load(self) -> None:
        """Take back the jobs and uploads stored in the database."""
        if self.store.path is None:
            return  # a new in-memory database holds no job
        modules = self.writer.modules
        taken: set[str] = set()
        for job_id, kind, spec, progress in self.table.all():
            module = modules.get(spec["module"])
            if module is None:  # a module this version of the sandbox no longer has
                continue
            if kind == "mass":
                mjob = MassUpdateJob.restore(job_id, spec, progress)
                self.mass[job_id] = mjob
                if mjob.processed < mjob.total:
                    self._active[job_id] = mjob
            elif kind == "write":
                wjob = BulkWriteJob.restore(job_id, spec, progress, module)
                if not wjob.finished:
                    content = self.files.get(wjob.upload_key)
                    if content is None:  # its file is gone: nothing can be resumed
                        continue
                    wjob.rows = read_csv(content)[1]
                    wjob.outcomes = [tuple(o) for o in self.table.outcomes(job_id)]
                    del wjob.outcomes[wjob.processed:]  # slices commit with their records
                    taken.add(wjob.upload_key)
                self.writes[job_id] = wjob
                if not wjob.finished or (wjob.callback and wjob.callback_result is None):
                    self._active[job_id] = wjob
            elif kind == "read":
                rjob = BulkReadJob.restore(job_id, spec, progress, module)
                self.reads[job_id] = rjob
                if not rjob.done or (rjob.callback and rjob.callback_result is None):
                    self._active[job_id] = rjob
        used = {job.upload_key for job in self.writes.values()}
        for key, name in self.files.names("upload:").items():
            if key not in used:
                self.uploads[key.removeprefix("upload:")] = name
            elif key not in taken:  # its job finished: the file was about to be dropped
                self.files.drop(key)
        for job_id in sorted({*self.mass, *self.writes, *self.reads} - set(self._active)):
            self._retire(job_id)

    # ------------------------------------------------------------------ uploads
    def add_upload(self, name: str, content: bytes, *, keep: int) -> str:
        """Keep an uploaded CSV on disk until a bulk-write job takes it; its file id.

        At most ``keep`` uploads wait for a job: the oldest go first.
        """
        file_id = self.new_id()
        self.files.put(f"upload:{file_id}", name, content, self.clock.now())
        with self.lock:
            with self.store.transaction():
                pass  # the id counter, so a restart never hands the file id out again
            self.uploads[file_id] = name
            while len(self.uploads) > keep:
                oldest = next(iter(self.uploads))
                del self.uploads[oldest]
                self.files.drop(f"upload:{oldest}")
        return file_id

    def upload(self, file_id: str) -> tuple[str, bytes] | None:
        """The name and bytes of an upload no job has taken yet, or ``None``."""
        with self.lock:
            name = self.uploads.get(file_id)
        if name is None:
            return None
        content = self.files.get(f"upload:{file_id}")
        return None if content is None else (name, content)

    # ------------------------------------------------------------------ mass update
    def add_mass(self, job: MassUpdateJob) -> None:
        """Schedule a mass-update job."""
        with self.lock:
            self.table.add(job.id, "mass", job.spec(), job.progress())
            self.mass[job.id] = job
            self._active[job.id] = job

    def running_on(self, module: str, cvid: str) -> bool:
        """True when a mass update on this view is still running (``ALREADY_SCHEDULED``)."""
        with self.lock:
            return any(isinstance(j, MassUpdateJob) and j.module == module and j.cvid == cvid
                       for j in self._active.values())

    def _advance_mass(self, job: MassUpdateJob, upto: int) -> None:
        while job.processed < upto:
            chunk = job.targets[job.processed:min(upto, job.processed + 500)]
            with self.store.transaction():
                results = self.writer.mass_apply(job.module, chunk, job.changes,
                                                 over_write=job.over_write, modern=True)
                ok = sum(1 for r in results if r["status"] == "success")
                job.updated += ok
                job.failed += len(results) - ok
                job.processed += len(chunk)
                self.table.save(job.id, job.progress())
        if job.processed >= job.total:
            job.targets = []  # done: the ids are in the database, not needed here

    # ------------------------------------------------------------------ bulk write
    def add_write(self, job: BulkWriteJob, file_id: str) -> bool:
        """Queue a bulk-write job on the upload ``file_id``; False when another job took
        that upload meanwhile."""
        with self.lock:
            if self.uploads.pop(file_id, None) is None:
                return False
            job.upload_key = f"upload:{file_id}"
            self.table.add(job.id, "write", job.spec(), job.progress())
            self.writes[job.id] = job
            self._active[job.id] = job
            return True

    def _advance_write(self, job: BulkWriteJob, upto: int) -> None:
        while job.processed < upto:
            start = job.processed
            end = min(upto, start + 100)
            with self.store.transaction():
                self._write_rows(job, start, end)
                job.processed = end
                self.table.add_outcomes(job.id, start, job.outcomes[start:end])
                self.table.save(job.id, job.progress())

    def _finish_write(self, job: BulkWriteJob) -> None:
        """Make the result file of a job that wrote its last row; let its rows go."""
        self.files.put(f"result:{job.id}", f"{job.id}.zip", job.result_zip(),
                       self.clock.now())
        job.finished = True
        with self.store.transaction():
            self.table.save(job.id, job.progress())
            self.table.drop_outcomes(job.id)
        self.files.drop(job.upload_key)
        job.rows = []
        job.outcomes = []

    def write_result(self, job: BulkWriteJob) -> bytes | None:
        """The result zip of a bulk-write job that wrote every row, else ``None``."""
        with self.lock:
            if job.processed < job.total:
                return None
            if not job.finished:
                self._finish_write(job)
        return self.files.get(f"result:{job.id}")

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
            names = [p for p in text.split(";") if p]
            # a CSV cell holds tag names; the records API takes tag objects
            return [{"name": n} for n in names] if m.api_name == "Tag" else names
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
            self.table.add(job.id, "read", job.spec(), job.progress())
            self.reads[job.id] = job
            self._active[job.id] = job

    def complete_read(self, job: BulkReadJob) -> None:
        """Take the snapshot of a bulk-read job that just completed; its zip goes to the
        job files."""
        records = self.store.records(job.module.api_name)
        if job.cond is not None:
            records = [r for r in records if job.cond(r.values)]
        start = (job.page - 1) * READ_PAGE
        page = records[start:start + READ_PAGE]
        # a generator: rows go straight into the CSV, none is kept
        data = job.result_zip(self._row(job, rec) for rec in page)
        self.files.put(f"result:{job.id}", f"{job.id}.zip", data, self.clock.now())
        with self.lock:
            job.more = len(records) > start + READ_PAGE
            job.count = len(page)
            job.done = True
            self.table.save(job.id, job.progress())

    def read_result(self, job: BulkReadJob) -> bytes | None:
        """The result zip of a completed bulk read, else ``None``."""
        return self.files.get(f"result:{job.id}") if job.done else None

    def _row(self, job: BulkReadJob, rec: Record) -> list[str]:
        # Most cells are text as stored: only other values go through csv_cell (a million
        # records of 90 fields is 90 million cells).
        values = rec.values
        row = [rec.id]
        for name in job.fields:
            if name == "id":
                continue
            if "." in name:
                row.append(self._dotted(job.module, rec, name))
                continue
            value = values.get(name)
            row.append(value if type(value) is str else csv_cell(value, Kind.TEXT))
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
            return user_part(ref.get("id"), tail) or ""
        if target in self.writer.modules:
            other = self.store.get(target, str(ref.get("id")))
            if other is not None:
                kind = self.writer.modules[target].kinds.get(tail, Kind.TEXT)
                return csv_cell(other.values.get(tail), kind)
        return ""
