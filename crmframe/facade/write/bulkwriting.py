"""Bulk write: a whole job (upload, create, wait, download) for a frame's rows.

The functions take the :class:`~crmframe.facade.crm.CRM` (``crm``) first: they are
``CRM.bulk_write`` as they stand (see :class:`~crmframe.facade.write.mixin.WritingMixin`).

Examples
--------
>>> import pandas as pd
>>> frame = pd.DataFrame({"Phone": ["5"]}, index=pd.Index(["1"], name="id"))
>>> frame.attrs["module"] = "Leads"
>>> bulk_write(object(), frame, operation="upsert")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
crmframe.errors.InputError: bulk_write(operation='upsert') needs find_by=: ...
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pandas as pd

from crmframe.core.bulkwrite import build_bulk_write, parse_bulk_result
from crmframe.core.jobs import JobStatus
from crmframe.core.metadata import normalise_fields
from crmframe.errors import EnvelopeError, InputError, JobFailed
from crmframe.facade.jobs import Job
from crmframe.facade.write import bulkrows
from crmframe.facade.write.frames import by_id, is_blank, module_of
from crmframe.facade.write.orphans import OrphanJob, unknown_job_rows
from crmframe.facade.write.readback import read_back
from crmframe.facade.write.sender import CrmSender

__all__ = ["bulk_write", "bulk_write_result"]


def bulk_write(
    crm: Any,
    frame: pd.DataFrame,
    module: str | None = None,
    operation: str = "update",
    find_by: str | None = None,
    *,
    formats: Mapping[str, str] | None = None,
    defaults: Mapping[str, Any] | None = None,
    lookups: Mapping[str, str] | None = None,
    wait: bool = True,
    poll_interval: float = 2.0,
    on_update: Callable[[JobStatus], object] | None = None,
) -> pd.DataFrame | Job:
    """Run whole bulk-write jobs (upload, create, wait, download) for ``frame``'s rows.

    Every writable column is written; empty cells leave the record's value alone (the
    job ignores empty cells). Read-only columns (``Modified_Time``...) and lookup label
    parts (``Owner.name`` beside ``Owner.id``) are not written; they are listed in
    ``result.attrs["ignored_columns"]``. A frame of more than 25,000 rows (Zoho's limit
    per file) becomes several jobs of at most 25,000 rows, run and watched one after the
    other.

    Parameters
    ----------
    frame : DataFrame
        The rows. For ``update`` by id: indexed by ``id`` (or an ``id`` column).
    module : str, optional
        Default ``frame.attrs["module"]``.
    operation : {"update", "insert", "upsert"}
        ``insert`` creates a record per row (rows matching ``find_by``, when given, are
        skipped); ``upsert`` updates the record a row matches and creates the others.
    find_by : str, optional
        How rows find their record: ``id`` (default for ``update``), or a unique field
        (``Email``, ``Mobile``...); none for ``insert``; mandatory for ``upsert``.
    formats : dict, optional
        ``{field: Java date pattern}`` for date/datetime columns, sent as the mapping's
        ``format`` (e.g. ``{"Date_3": "yyyy/MM/dd"}``); datetime values are written in
        it, text cells are taken as already in it. Default ``yyyy-MM-dd`` and
        ``yyyy-MM-dd'T'HH:mm:ssXXX``, never Zoho's US default.
    defaults : dict, optional
        ``{field: value}`` sent as the mapping's ``default_value`` (fills empty cells; a
        field without a column gets it for every row) — the way to set ``Layout`` by id.
    lookups : dict, optional
        ``{lookup field: field of the target}`` for a lookup column holding, say, e-mails
        (``{"Owner": "email"}``) or names (``{"Account_Name": "Account_Name"}``); the same
        as naming the column ``Owner.email`` / ``Account_Name.Account_Name``. A lookup
        column holding ids needs nothing (``Owner``, ``Owner.id``).
    wait : bool
        Wait for the job and return the per-row result; False returns the
        :class:`~crmframe.facade.jobs.Job` once created (one job only).
    poll_interval : float
        Seconds between status polls.
    on_update : callable, optional
        Called with each new :class:`~crmframe.core.jobs.JobStatus` while waiting.

    Returns
    -------
    DataFrame or Job
        Aligned to ``frame`` (same index, same order): ``id``, ``STATUS`` (``added``,
        ``updated``, ``skipped``, ``unprocessed``... or ``not_sent`` for an update row
        without id), ``RECORD_ID`` (the new id of an added row), ``ERRORS`` (list of
        ``(code, column)``), ``code``, ``column``. ``attrs["job"]`` is the (last)
        finished job, ``attrs["jobs"]`` all of them, ``attrs["mappings"]`` the
        ``field_mappings`` sent as :func:`~crmframe.core.mappings.mappings_to_frame`
        shows them. A job whose creation got no answer, and which no job listing finds,
        may have run: its rows are ``unknown`` (code ``JOB_UNKNOWN``), never sent again,
        and ``attrs["unknown_jobs"]`` lists each such job (``file_id``, ``rows``: the
        frame's index labels, ``message``: how to find out whether it ran), also logged as
        a warning; the other jobs' rows keep their results. Any other failure of a job
        after the first (upload, creation, wait, a job ending FAILED, the download) keeps
        the finished jobs' results too: the job's rows are ``unknown`` when it was created
        (its ``job_id`` and how to collect its result in ``attrs["unknown_jobs"]``), else
        ``not_sent``; the later files are not sent (``not_sent``), and
        ``attrs["not_sent"]`` lists those rows (``rows``, ``message``).

    Raises
    ------
    InputError
        Another operation, a missing ``find_by``, no module, no writable column, more
        than 200 columns, a lookup column that names no field, an unknown format.
    ValidationError
        Values that do not fit the metadata (every problem at once), before any call.

    Examples
    --------
    >>> result = crm.bulk_write(edited, "Leads")          # doctest: +SKIP
    >>> result["STATUS"].value_counts()                    # doctest: +SKIP
    >>> new = crm.bulk_write(leads, "Leads", operation="insert",
    ...                      formats={"Date_3": "yyyy/MM/dd"},
    ...                      defaults={"Layout": layout_id})  # doctest: +SKIP
    """
    if on_update is not None and not wait:
        raise InputError(
            "on_update= reports progress while bulk_write waits; with wait=False pass it to "
            "crm.wait(job, on_update=...) and then call crm.bulk_write_result(status, frame)"
        )
    if operation not in ("update", "insert", "upsert"):
        raise InputError(
            f"bulk_write operation must be 'update', 'insert' or 'upsert', got {operation!r}"
        )
    if operation == "upsert" and not find_by:
        raise InputError(
            "bulk_write(operation='upsert') needs find_by=: the field matching rows to "
            "records ('id', a unique field such as 'Email')"
        )
    if operation == "update" and find_by in (None, "id") and not (formats or defaults
                                                                  or lookups):
        return _update_by_id(crm, frame, module, wait=wait, poll_interval=poll_interval,
                             on_update=on_update)
    return bulkrows.run(crm, frame, module, operation, find_by or (
        "id" if operation == "update" else None), formats=formats or {},
        defaults=defaults or {}, lookups=lookups or {}, wait=wait,
        poll_interval=poll_interval, on_update=on_update)


def _update_by_id(
    crm: Any,
    frame: pd.DataFrame,
    module: str | None,
    *,
    wait: bool,
    poll_interval: float,
    on_update: Callable[[JobStatus], object] | None,
) -> pd.DataFrame | Job:
    """An update by id: one file of each record's non-blank writable values."""
    name = module_of(frame, None, module)
    infos = normalise_fields(crm.read_fields(name))
    table = by_id(frame)
    plan: list[tuple[str, str]] = []  # (column, field)
    ignored: list[str] = []
    for column in map(str, table.columns):
        head, _, tail = column.rpartition(".")
        field_name = head if head and tail == "id" else column
        info = infos.get(field_name)
        if info is None or not info.writable or (head and tail in ("name", "email")):
            ignored.append(column)
        else:
            plan.append((column, field_name))
    if not plan:
        raise InputError(f"no writable {name} field among the columns: {ignored}")
    kinds = {f: infos[f].kind for _, f in plan}
    ids = [None if pd.isna(v) else str(v) for v in table.index.tolist()]
    records: dict[str, dict[str, Any]] = {}
    for position, rid in enumerate(ids):
        if rid is None:
            continue
        row = table.iloc[position]
        values = {f: row[c] for c, f in plan if not is_blank(row[c])}
        records[rid] = values
    file = build_bulk_write(records, kinds, name)
    sender = CrmSender(
        crm.client, name, infos,
        read=lambda f, i: read_back(crm, name, f, i),
        wait=lambda job: crm.wait(job, interval=poll_interval, on_update=on_update),
    )
    if not wait:
        file_id = sender.upload(file.zip_bytes, f"{name}.zip")
        job_id = sender.create_job(file.job_body(file_id, version=crm.client.version))
        return Job(job_id, "bulk_write", module=name)
    lost: list[dict[str, Any]] = []
    try:
        job, result = sender.run_bulk_job(
            file.zip_bytes,
            lambda file_id: file.job_body(file_id, version=crm.client.version),
            name=f"{name}.zip",
        )
        parsed = parse_bulk_result(result, ids=file.ids)
    except OrphanJob as orphan:
        # The job may have run: its rows are data (unknown), never sent again.
        parsed, message = unknown_job_rows(orphan, list(file.ids))
        sent = [label for label, rid in zip(frame.index, ids, strict=True) if rid is not None]
        lost.append(bulkrows.unknown_job(orphan, sent, message, name))
    out = _aligned(parsed, ids, frame.index)
    out.attrs["job"] = None if lost else job
    out.attrs["jobs"] = [] if lost else [job]
    out.attrs["unknown_jobs"] = lost
    out.attrs["not_sent"] = []  # one job: nothing after it to stop
    out.attrs["mappings"] = bulkrows.mappings_of(file)
    out.attrs["module"] = name
    out.attrs["ignored_columns"] = ignored
    out.attrs["calls"] = sender.calls
    return out


def bulk_write_result(
    crm: Any, job_or_status: Job | JobStatus, frame: pd.DataFrame | None = None
) -> pd.DataFrame:
    """The per-row result of a finished bulk-write job (one started with ``wait=False``).

    Downloads the job's result file and parses it, so a caller who did not wait in
    :meth:`bulk_write` gets the same table as one who did.

    Parameters
    ----------
    job_or_status : Job or JobStatus
        The :class:`~crmframe.facade.jobs.Job` ``bulk_write(..., wait=False)`` returned
        (its latest status is used, asked once more when it is not finished), or the
        final status ``crm.wait(job)`` returned.
    frame : DataFrame, optional
        The frame given to :meth:`bulk_write`: the result is then aligned to its rows
        (same index and order; rows without id are ``not_sent``; a frame without ids —
        an insert or upsert — by position). Without it, one row per
        row of the result file, in file order.

    Returns
    -------
    DataFrame
        ``id``, ``STATUS``, ``RECORD_ID``, ``ERRORS``, ``code``, ``column`` as
        :meth:`bulk_write` returns them; ``attrs["job"]`` (when a Job was given),
        ``attrs["status"]`` and ``attrs["module"]``.

    Raises
    ------
    InputError
        The job is not finished yet (``crm.wait(job)`` first), or is not a bulk write.
    JobFailed
        The job ended in the FAILED state.
    EnvelopeError
        The job completed without a result file, or the file cannot be read.

    Examples
    --------
    >>> job = crm.bulk_write(edited, "Leads", wait=False)      # doctest: +SKIP
    >>> status = crm.wait(job, on_update=print)                # doctest: +SKIP
    >>> crm.bulk_write_result(status, edited)["STATUS"].value_counts()  # doctest: +SKIP
    """
    job = job_or_status if isinstance(job_or_status, Job) else None
    if job is not None:
        if job.kind != "bulk_write":
            raise InputError(f"job {job.job_id} is a {job.kind} job, not a bulk write")
        status = job.status
        if status is None or not status.done:
            status = crm.job(job)
    elif isinstance(job_or_status, JobStatus):
        status = job_or_status
    else:
        raise InputError(
            "give the Job bulk_write(..., wait=False) returned or the JobStatus crm.wait "
            f"returned, got {type(job_or_status).__name__}"
        )
    if status.kind != "bulk_write":
        raise InputError(f"job {status.job_id} is a {status.kind} job, not a bulk write")
    if status.state == "FAILED":
        raise JobFailed(f"bulk-write job {status.job_id} failed ({status.raw_status})", status)
    if not status.done:
        raise InputError(
            f"bulk-write job {status.job_id} is {status.state}: wait for it first "
            "(crm.wait(job)), then ask for its result"
        )
    if not status.download_url:
        raise EnvelopeError(f"bulk-write job {status.job_id} completed without a download_url")
    url = status.download_url
    if not url.startswith(("http://", "https://")):
        url = f"{crm.client.api_domain}/{url.lstrip('/')}"
    data = crm.client.get_bytes(url)
    by_position = frame is not None and frame.index.name != "id" and "id" not in frame.columns
    if frame is None:
        parsed = parse_bulk_result(data)
        if parsed["id"].isna().all():  # an insert/upsert file: rows, not ids
            out = bulkrows.aligned_by_position(parsed, None, pd.RangeIndex(len(parsed)))
        else:
            out = _aligned(parsed, [str(i) for i in parsed["id"].tolist()], None)
    elif by_position:
        # insert/upsert: the result file holds the frame's rows in order
        out = bulkrows.aligned_by_position(parse_bulk_result(data), None, frame.index)
    else:
        ids = [None if pd.isna(v) else str(v) for v in by_id(frame).index.tolist()]
        # The file holds each id once, in the order of its first row (build_bulk_write).
        sent = list(dict.fromkeys(i for i in ids if i is not None))
        out = _aligned(parse_bulk_result(data, ids=sent), ids, frame.index)
    if job is not None:
        out.attrs["job"] = job
    out.attrs["status"] = status
    out.attrs["module"] = status.module or (frame.attrs.get("module") if frame is not None
                                            else None)
    return out


def _aligned(parsed: pd.DataFrame, ids: list[str | None], index: pd.Index | None) -> pd.DataFrame:
    """The parsed result file as one row per ``ids`` entry (``not_sent`` for no id)."""
    by_sent = parsed.drop_duplicates("id").set_index("id")
    got = [by_sent.loc[i] if i is not None and i in by_sent.index else None for i in ids]
    out: pd.DataFrame = pd.DataFrame(index=index if index is not None else pd.RangeIndex(len(ids)))
    out["id"] = pd.array(ids, dtype="string")
    out["STATUS"] = pd.array(
        [g["status"] if g is not None else "not_sent" for g in got], dtype="string")
    out["RECORD_ID"] = pd.array(
        [g["record_id"] if g is not None else None for g in got], dtype="string")
    out["ERRORS"] = pd.Series(
        [list(g["errors"]) if g is not None else [] for g in got], index=out.index, dtype=object)
    out["code"] = pd.array(
        [g["code"] if g is not None else "NO_ID" for g in got], dtype="string")
    out["column"] = pd.array(
        [g["column"] if g is not None else None for g in got], dtype="string")
    return out
