"""Bulk write: a whole job (upload, create, wait, download) for a frame's rows.

The functions take the :class:`~crmframe.facade.crm.CRM` (``crm``) first: they are
``CRM.bulk_write`` as they stand (see :class:`~crmframe.facade.writing.WritingMixin`).

Examples
--------
>>> import pandas as pd
>>> frame = pd.DataFrame({"Phone": ["5"]}, index=pd.Index(["1"], name="id"))
>>> frame.attrs["module"] = "Leads"
>>> bulk_write(object(), frame, operation="insert")
Traceback (most recent call last):
...
crmframe.errors.InputError: bulk_write supports operation='update' with find_by='id' (got ...)
"""

from __future__ import annotations

from typing import Any

import pandas as pd

from crmframe.core.bulkwrite import build_bulk_write, parse_bulk_result
from crmframe.core.metadata import normalise_fields
from crmframe.errors import InputError
from crmframe.facade.jobs import Job
from crmframe.facade.prepare import by_id, is_blank, module_of, read_back
from crmframe.facade.sender import CrmSender

__all__ = ["bulk_write"]


def bulk_write(
    crm: Any,
    frame: pd.DataFrame,
    module: str | None = None,
    operation: str = "update",
    find_by: str = "id",
    *,
    wait: bool = True,
    poll_interval: float = 2.0,
) -> pd.DataFrame | Job:
    """Run a whole bulk-write job (upload, create, wait, download) for ``frame``'s rows.

    Every writable column is written; empty cells leave the record's value alone (the
    job ignores empty cells). Read-only columns (``Modified_Time``...) and lookup name
    parts (``Owner.name``) are not written; they are listed in
    ``result.attrs["ignored_columns"]``.

    Parameters
    ----------
    frame : DataFrame
        Records indexed by ``id`` (or with an ``id`` column).
    module : str, optional
        Default ``frame.attrs["module"]``.
    operation : {"update"}
        Only updates by id are supported.
    find_by : {"id"}
        How Zoho matches rows to records.
    wait : bool
        Wait for the job and return the per-row result; False returns the
        :class:`~crmframe.facade.jobs.Job` once created.
    poll_interval : float
        Seconds between status polls.

    Returns
    -------
    DataFrame or Job
        Aligned to ``frame`` (same index, same order): ``id``, ``STATUS`` (``updated``,
        ``skipped``, ``unprocessed``... or ``not_sent`` for a row without id),
        ``RECORD_ID``, ``ERRORS`` (list of ``(code, column)``), ``code``, ``column``.
        ``attrs["job"]`` is the job.

    Raises
    ------
    InputError
        Another operation or ``find_by``, no module, no writable column.

    Examples
    --------
    >>> result = crm.bulk_write(edited, "Leads")          # doctest: +SKIP
    >>> result["STATUS"].value_counts()                    # doctest: +SKIP
    """
    if operation != "update" or find_by != "id":
        raise InputError(
            "bulk_write supports operation='update' with find_by='id' (got "
            f"operation={operation!r}, find_by={find_by!r})"
        )
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
        wait=lambda job: crm.wait(job, interval=poll_interval),
    )
    if not wait:
        file_id = sender.upload(file.zip_bytes, f"{name}.zip")
        job_id = sender.create_job(file.job_body(file_id, version=crm.client.version))
        return Job(job_id, "bulk_write", module=name)
    job, result = sender.run_bulk_job(
        file.zip_bytes,
        lambda file_id: file.job_body(file_id, version=crm.client.version),
        name=f"{name}.zip",
    )
    parsed = parse_bulk_result(result, ids=file.ids).set_index("id")
    out: pd.DataFrame = pd.DataFrame(index=frame.index)
    got = [parsed.loc[i] if i is not None and i in parsed.index else None for i in ids]
    out["id"] = pd.array(ids, dtype="string")
    out["STATUS"] = pd.array(
        [g["status"] if g is not None else "not_sent" for g in got], dtype="string")
    out["RECORD_ID"] = pd.array(
        [g["record_id"] if g is not None else None for g in got], dtype="string")
    out["ERRORS"] = pd.Series(
        [list(g["errors"]) if g is not None else [] for g in got],
        index=frame.index, dtype=object)
    out["code"] = pd.array(
        [g["code"] if g is not None else "NO_ID" for g in got], dtype="string")
    out["column"] = pd.array(
        [g["column"] if g is not None else None for g in got], dtype="string")
    out.attrs["job"] = job
    out.attrs["module"] = name
    out.attrs["ignored_columns"] = ignored
    out.attrs["calls"] = sender.calls
    return out
