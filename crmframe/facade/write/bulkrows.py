"""Bulk writes of a frame's rows by position: insert, upsert, and update by a unique field.

:func:`run` is ``crm.bulk_write`` for everything but the plain update by id (which
:mod:`~crmframe.facade.write.bulkwriting` builds from per-record changes). Each column becomes
one field mapping (``index`` = its CSV position): plain fields with an explicit ``format``
for dates and datetimes, lookups by id (``Owner``, ``Owner.id``) or by a field of the
target through the mapping's ``find_by`` (``Owner.email``, ``Account_Name.Account_Name``),
and ``default_value`` mappings (``Layout``). Values are checked against the metadata first
(every problem at once). The rows go in files of at most 25,000 (Zoho's limit), one job
each, run and watched in turn; the result files are read back in row order, so the result
is aligned to the frame by position.

Examples
--------
>>> import pandas as pd
>>> from crmframe.core.bulkwrite import build_bulk_file
>>> file = build_bulk_file(["Last_Name"], [["Ito"]], [{"api_name": "Last_Name", "index": 0}],
...                        "Leads", operation="insert", find_by=None)
>>> mappings_of(file)[["module", "api_name", "index"]].values.tolist()
[['Leads', 'Last_Name', 0]]
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from crmframe.core.bulkwrite import (
    DATE_FORMAT,
    DATETIME_FORMAT,
    MAX_BULK_COLUMNS,
    MAX_BULK_ROWS,
    BulkWriteFile,
    build_bulk_file,
    bulk_cells,
    java_strftime,
    parse_bulk_result,
)
from crmframe.core.fieldtypes import LOOKUP_KINDS, Kind
from crmframe.core.inserts import blank_mask, match_fields, new_records, problems_error
from crmframe.core.jobs import JobStatus
from crmframe.core.mappings import mappings_to_frame
from crmframe.core.metadata import FieldInfo, normalise_fields
from crmframe.errors import CrmframeError, InputError, ValidationError, ZohoAPIError
from crmframe.facade.jobs import Job
from crmframe.facade.write.frames import module_of
from crmframe.facade.write.orphans import JOB_UNKNOWN, OrphanJob, bulk_status_rows, unknown_job_rows
from crmframe.facade.write.readback import read_back
from crmframe.facade.write.sender import CrmSender

__all__ = ["aligned_by_position", "mappings_of", "run", "unknown_job"]

log = logging.getLogger("crmframe.facade")

_LABEL_PARTS = frozenset({"name", "first_name", "last_name", "full_name"})


@dataclass(frozen=True)
class _Column:
    """One CSV column: where it comes from and how Zoho maps it."""

    source: str
    api_name: str
    kind: Kind
    find_by: str | None = None
    format: str | None = None


def mappings_of(file: BulkWriteFile) -> pd.DataFrame:
    """The ``field_mappings`` of ``file`` as :func:`~crmframe.core.mappings.mappings_to_frame`
    shows them (what ``result.attrs["mappings"]`` holds)."""
    return mappings_to_frame({"operation": file.operation, "resource": [
        {"module": {"api_name": file.module}, "field_mappings": file.field_mappings}]})


def aligned_by_position(parsed: pd.DataFrame, ids: list[Any] | None,
                        index: pd.Index) -> pd.DataFrame:
    """A parsed result file (rows in the frame's order) as ``bulk_write``'s result frame."""
    if len(parsed) != len(index):
        raise InputError(f"the result file has {len(parsed)} rows for {len(index)} rows of "
                         "the frame: give the frame the job was made from")
    values = ids if ids is not None else [None] * len(index)
    out: pd.DataFrame = pd.DataFrame(index=index)
    out["id"] = pd.array([None if v is None or pd.isna(v) else str(v) for v in values],
                         dtype="string")
    out["STATUS"] = pd.array(parsed["status"].tolist(), dtype="string")
    out["RECORD_ID"] = pd.array(parsed["record_id"].tolist(), dtype="string")
    out["ERRORS"] = pd.Series([list(e) for e in parsed["errors"].tolist()],
                              index=out.index, dtype=object)
    out["code"] = pd.array(parsed["code"].tolist(), dtype="string")
    out["column"] = pd.array(parsed["column"].tolist(), dtype="string")
    return out


def unknown_job(orphan: OrphanJob | None, rows: list[Any], message: str,
                module: str, *, file_id: str | None = None,
                job_id: str | None = None) -> dict[str, Any]:
    """An entry of ``result.attrs["unknown_jobs"]`` (``file_id``, ``job_id`` when known,
    ``rows``: the frame's index labels, ``message``), logged as a warning."""
    log.warning("%s: %d row(s) are JOB_UNKNOWN (not re-sent): %s", module, len(rows), message)
    return {"file_id": orphan.file_id if orphan is not None else file_id, "job_id": job_id,
            "rows": rows, "message": message}


def _failed_job(exc: CrmframeError, stage: Mapping[str, str], rows: list[Any], name: str,
                span: tuple[int, int]) -> tuple[pd.DataFrame, dict[str, Any] | None, str]:
    """The rows of a job that failed other than by an unanswered creation: ``unknown``
    (and its ``attrs["unknown_jobs"]`` entry) when the job exists or may, else
    ``not_sent``; and the reason the frame's later files are not sent."""
    cause = f"{type(exc).__name__}: {exc}"
    job_id, file_id = stage.get("job_id"), stage.get("file_id")
    if job_id is not None:
        message = (
            f"bulk-write job {job_id} was created and may have written these rows, but its "
            f"end was not seen ({cause}); they are not sent again (no record is written "
            f"twice). Collect its result before writing them again: job = Job({job_id!r}, "
            f"'bulk_write', module={name!r}); crm.wait(job); "
            f"crm.bulk_write_result(job, frame.iloc[{span[0]}:{span[1]}])"
        )
        return (bulk_status_rows([None] * len(rows), "unknown", JOB_UNKNOWN),
                unknown_job(None, rows, message, name, file_id=file_id, job_id=job_id),
                f"bulk-write job {job_id} failed")
    if file_id is not None and not isinstance(exc, ZohoAPIError):
        # answered without a job id: the job may exist all the same
        message = (
            f"creating the bulk-write job for uploaded file {file_id} failed ({cause}): the "
            "job may exist, so these rows are not sent again (no record is written twice); "
            "read the records back before writing them again"
        )
        return (bulk_status_rows([None] * len(rows), "unknown", JOB_UNKNOWN),
                unknown_job(None, rows, message, name, file_id=file_id),
                f"creating the job for uploaded file {file_id} failed")
    what = "the job creation was refused" if file_id is not None else "the upload failed"
    return (bulk_status_rows([None] * len(rows), "not_sent", "NOT_SENT"), None,
            f"{what} ({cause})")


def _lookup_target_field(crm: Any, info: FieldInfo, by: str, column: str) -> str:
    """Check ``by`` names a way Zoho can find the lookup's target; return it."""
    if by == "id":
        return by
    if info.data_type == "ownerlookup" or info.lookup_module in (None, "users"):
        if by != "email":
            raise InputError(f"column {column!r}: users are found by 'id' or 'email', not "
                             f"{by!r} (name the column {info.api_name}.id or "
                             f"{info.api_name}.email)")
        return by
    target = normalise_fields(crm.read_fields(info.lookup_module))
    if by not in target:
        raise InputError(f"column {column!r}: {info.lookup_module} has no field {by!r} to "
                         f"find {info.api_name} by (use a unique field, e.g. "
                         f"{info.api_name}.id)")
    return by


def _columns(
    crm: Any,
    table: pd.DataFrame,
    infos: Mapping[str, FieldInfo],
    operation: str,
    find_by: str | None,
    formats: Mapping[str, str],
    lookups: Mapping[str, str],
) -> tuple[list[_Column], list[str]]:
    names = [str(c) for c in table.columns]
    plan: list[_Column] = []
    ignored: list[str] = []
    unknown: list[str] = []
    for column in names:
        if column == "id":
            if find_by == "id":
                plan.append(_Column(column, "id", Kind.ID))
            elif operation == "insert" and not blank_mask(table[column]).all():
                raise InputError("rows with an id cannot be inserted: drop the id column, or "
                                 "use operation='update'/'upsert' with find_by='id'")
            else:
                ignored.append(column)
            continue
        head, dot, tail = column.rpartition(".")
        if dot and head in infos and infos[head].kind in LOOKUP_KINDS:
            lookup = infos[head]
            if tail in _LABEL_PARTS and f"{head}.id" in names:
                ignored.append(column)
                continue
            if tail in _LABEL_PARTS:
                raise InputError(f"column {column!r}: a lookup is written by id or by a "
                                 f"unique field of its target, not by {tail!r}: name it "
                                 f"{head}.id (or {head}.email for users)")
            found = _lookup_target_field(crm, lookup, tail, column)
            plan.append(_Column(column, head, lookup.kind, found))
            continue
        info = infos.get(column)
        if info is None:
            unknown.append(column)
            continue
        if not info.writable:
            ignored.append(column)
            continue
        by: str | None = lookups.get(column)
        if by is not None:
            if info.kind not in LOOKUP_KINDS:
                raise InputError(f"lookups={{{column!r}: ...}}: {column} is not a lookup field")
            by = _lookup_target_field(crm, info, by, column)
        fmt = formats.get(column)
        if info.kind in (Kind.DATE, Kind.DATETIME):
            fmt = fmt or (DATE_FORMAT if info.kind is Kind.DATE else DATETIME_FORMAT)
            java_strftime(fmt)  # an unknown pattern fails here, before any call
        elif fmt is not None:
            raise InputError(f"formats={{{column!r}: ...}}: {column} is not a date or "
                             "datetime field")
        plan.append(_Column(column, column, info.kind, by, fmt))
    if unknown and operation != "update":
        raise InputError(f"no {', '.join(map(repr, unknown))} field in this module: name "
                         "columns by API name (Last_Name, Owner.id...)")
    ignored.extend(unknown)
    for name in [*formats, *lookups]:
        if name not in names:
            raise InputError(f"{name!r} (in formats/lookups) is not a column of the frame")
    return plan, ignored


def _check_values(
    table: pd.DataFrame,
    plan: list[_Column],
    infos: Mapping[str, FieldInfo],
    operation: str,
    defaults: Mapping[str, Any],
    formats: Mapping[str, str],
) -> None:
    """Every problem of the values at once (types, picklists, lengths, mandatory)."""
    checked: dict[str, pd.Series] = {}
    for col in plan:
        if col.api_name == "id" or col.find_by not in (None, "id"):
            continue  # found by Zoho: an e-mail, a name...
        series = table[col.source]
        if col.api_name in formats and series.map(lambda v: isinstance(v, str)).any():
            continue  # text already in the analyst's format
        checked[col.api_name] = series
    problems: list[pd.DataFrame] = []
    if checked:
        try:
            new_records(pd.DataFrame(checked), infos, upsert=True)
        except ValidationError as err:
            if err.problems is not None:
                problems.append(err.problems)
    if operation == "insert":
        mapped = {c.api_name: c for c in plan}
        for info in infos.values():
            if not info.mandatory or not info.writable or info.api_name in defaults:
                continue
            given = mapped.get(info.api_name)
            rows = (list(range(len(table))) if given is None
                    else np.flatnonzero(blank_mask(table[given.source])).tolist())
            if rows:
                problems.append(pd.DataFrame({"row": rows, "field": info.api_name,
                                              "value": None,
                                              "problem": "mandatory field missing"}))
    error = problems_error(problems, len(table))
    if error is not None:
        raise error


def _mappings(plan: list[_Column], defaults: Mapping[str, Any],
              infos: Mapping[str, FieldInfo]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for index, col in enumerate(plan):
        mapping: dict[str, Any] = {"api_name": col.api_name, "index": index}
        if col.format is not None:
            mapping["format"] = col.format
        if col.find_by is not None:
            mapping["find_by"] = col.find_by
        if col.api_name in defaults:
            mapping["default_value"] = {"value": _default_text(defaults[col.api_name])}
        out.append(mapping)
    mapped = {c.api_name for c in plan}
    for name, value in defaults.items():
        info = infos.get(name)
        if info is None or not info.writable:
            raise InputError(f"defaults={{{name!r}: ...}}: no writable field {name!r}")
        if name not in mapped:
            out.append({"api_name": name, "default_value": {"value": _default_text(value)}})
    return out


def _default_text(value: Any) -> str:
    if isinstance(value, Mapping) and "id" in value:
        return str(value["id"])
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def run(
    crm: Any,
    frame: pd.DataFrame,
    module: str | None,
    operation: str,
    find_by: str | None,
    *,
    formats: Mapping[str, str],
    defaults: Mapping[str, Any],
    lookups: Mapping[str, str],
    wait: bool,
    poll_interval: float,
    on_update: Callable[[JobStatus], object] | None,
    checked: bool = False,
) -> pd.DataFrame | Job:
    """``crm.bulk_write`` by row position.

    See :func:`~crmframe.facade.write.bulkwriting.bulk_write` for the parameters;
    ``checked=True`` when the values were already checked against the metadata (the bulk
    path of ``crm.insert``, after :func:`~crmframe.core.inserts.new_records`).
    """
    name = module_of(frame, None, module)
    infos = normalise_fields(crm.read_fields(name))
    if find_by is not None and find_by != "id" and find_by not in infos:
        raise InputError(f"find_by={find_by!r}: {name} has no such field (use 'id' or a "
                         "unique field such as 'Email')")
    if find_by is not None and find_by != "id" and find_by not in match_fields(name, infos):
        # Zoho refuses the job only after the upload: say it before any call
        raise InputError(f"find_by={find_by!r}: {name} finds records only by 'id' or "
                         f"{match_fields(name, infos) or 'nothing else'} (its system "
                         "duplicate-check field and the fields set to allow no duplicates)")
    table = frame
    if table.index.name == "id" and "id" not in table.columns:
        table = table.reset_index()
    table = table.reset_index(drop=True)
    if find_by is not None and find_by not in table.columns:
        raise InputError(f"find_by={find_by!r} is not a column of the frame")
    plan, ignored = _columns(crm, table, infos, operation, find_by, formats, lookups)
    if not any(c.api_name != "id" for c in plan) and not defaults:
        raise InputError(f"no writable {name} field among the columns: {ignored}")
    mappings = _mappings(plan, defaults, infos)
    if len(mappings) > MAX_BULK_COLUMNS:
        raise InputError(f"a bulk-write job maps at most {MAX_BULK_COLUMNS} columns, got "
                         f"{len(mappings)}: write the fields in several jobs")
    if not checked:
        _check_values(table, plan, infos, operation, defaults, formats)
    cells = [bulk_cells(table[c.source], c.kind if c.find_by in (None, "id") else Kind.TEXT,
                        c.format if c.api_name in formats else None) for c in plan]
    columns = [c.source for c in plan]
    n = len(table)
    chunks = [(a, min(n, a + MAX_BULK_ROWS)) for a in range(0, n, MAX_BULK_ROWS)] or [(0, 0)]
    files = [build_bulk_file(columns, [col[a:b] for col in cells], mappings, name,
                             operation=operation, find_by=find_by) for a, b in chunks]
    sender = CrmSender(
        crm.client, name, infos,
        read=lambda f, i: read_back(crm, name, f, i),
        wait=lambda job: crm.wait(job, interval=poll_interval, on_update=on_update),
    )
    if not wait:
        if len(files) > 1:
            raise InputError(f"{n} rows make {len(files)} jobs: wait=False takes one job "
                             f"(at most {MAX_BULK_ROWS} rows)")
        file_id = sender.upload(files[0].zip_bytes, f"{name}.zip")
        job_id = sender.create_job(files[0].job_body(file_id, version=crm.client.version))
        return Job(job_id, "bulk_write", module=name)
    parts: list[pd.DataFrame] = []
    jobs: list[Job] = []
    lost: list[dict[str, Any]] = []
    stopped: list[dict[str, Any]] = []
    for file, (a, b) in zip(files, chunks, strict=True):
        if stopped:
            stopped[0]["rows"].extend(frame.index[a:b])
            parts.append(bulk_status_rows([None] * (b - a), "not_sent", "NOT_SENT"))
            continue
        stage: dict[str, str] = {}
        try:
            job, data = sender.run_bulk_job(
                file.zip_bytes,
                lambda file_id, f=file: f.job_body(file_id, version=crm.client.version),  # type: ignore[misc]
                name=f"{name}.zip",
                on_upload=lambda file_id, s=stage: s.__setitem__("file_id", file_id),  # type: ignore[misc]
                on_job=lambda job_id, s=stage: s.__setitem__("job_id", job_id),  # type: ignore[misc]
            )
        except OrphanJob as orphan:
            # The job may have run: its rows are data (unknown), never sent again; the
            # other jobs' rows keep their results.
            rows, message = unknown_job_rows(orphan, [None] * (b - a))
            parts.append(rows)
            lost.append(unknown_job(orphan, list(frame.index[a:b]), message, name))
            continue
        except CrmframeError as exc:
            if not parts:
                raise  # nothing written yet: no result to lose, the error says it all
            # Earlier jobs wrote records: their ids must reach the caller (or the rows are
            # inserted twice). This job's rows are data; the later files are not sent (the
            # failure may repeat, and a job may still be running).
            rows, entry, reason = _failed_job(exc, stage, list(frame.index[a:b]), name,
                                              (a, b))
            parts.append(rows)
            if entry is not None:
                lost.append(entry)
            stopped.append({"rows": [] if entry is not None else list(frame.index[a:b]),
                            "message": f"not sent: {reason}; the frame's later files were "
                                       "not sent either (no job was created for these "
                                       "rows): safe to write again, e.g. "
                                       "frame[result['STATUS'] == 'not_sent']"})
            continue
        jobs.append(job)
        parsed = parse_bulk_result(data)
        if len(parsed) != b - a:
            raise InputError(f"bulk-write job {job.job_id}: {len(parsed)} result rows for "
                             f"{b - a} rows sent")
        parts.append(parsed)
    parsed_all = pd.concat(parts, ignore_index=True)
    ids: list[Any] | None = table["id"].tolist() if "id" in table.columns else None
    out = aligned_by_position(parsed_all, ids, frame.index)
    out.attrs["job"] = jobs[-1] if jobs else None
    out.attrs["jobs"] = jobs
    out.attrs["unknown_jobs"] = lost
    out.attrs["not_sent"] = [s for s in stopped if s["rows"]]
    for entry in out.attrs["not_sent"]:
        log.warning("%s: %d row(s) NOT_SENT: %s", name, len(entry["rows"]), entry["message"])
    out.attrs["mappings"] = mappings_of(files[0])
    out.attrs["module"] = name
    out.attrs["operation"] = operation
    out.attrs["ignored_columns"] = ignored
    out.attrs["calls"] = sender.calls
    out.attrs["reads"] = sender.reads + 1  # the result downloads, and GET org
    return out
