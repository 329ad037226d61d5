"""Job status envelopes (mass update, bulk write, bulk read) as one immutable value.

Zoho reports jobs in three shapes:

* mass update status: ``{"data": [{"Status", "Failed_Count", "Updated_Count",
  "Not_Updated_Count", "Total_Count"}]}`` (and, when scheduled,
  ``{"data": [{"code": "SUCCESS", "details": {"job_id": ...}}]}``);
* bulk write job details: ``{"status", "id", "operation", "resource": [{"file": {...}}]}``
  whose counts are absent while the job runs (and, when created,
  ``{"status": "success", "code": "SUCCESS", "details": {"id": ...}}``);
* bulk read job details: ``{"data": [{"id", "operation": "read", "state", "result"}]}``.

:func:`job_status` reads any of them into a :class:`JobStatus` with a normalised ``state``.

Examples
--------
>>> s = job_status({"data": [{"Status": "RUNNING", "Failed_Count": 0, "Updated_Count": 30,
...     "Not_Updated_Count": 20, "Total_Count": 50}]}, job_id="554023000000506003")
>>> s.kind, s.state, s.updated, s.total, s.done
('mass_update', 'RUNNING', 30, 50, False)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import numpy as np
import pandas as pd

from crmframe.core.envelope import load_envelope
from crmframe.errors import EnvelopeError

__all__ = ["STATES", "TERMINAL_STATES", "JobKind", "JobState", "JobStatus", "job_status"]

JobKind = Literal["mass_update", "bulk_write", "bulk_read"]
JobState = Literal["SCHEDULED", "RUNNING", "COMPLETED", "FAILED"]
STATES: tuple[JobState, ...] = ("SCHEDULED", "RUNNING", "COMPLETED", "FAILED")
TERMINAL_STATES: frozenset[str] = frozenset({"COMPLETED", "FAILED"})

# Zoho's raw states, all kinds, to the four crmframe states.
_STATE_MAP: dict[str, JobState] = {
    "SCHEDULED": "SCHEDULED",
    "ADDED": "SCHEDULED",
    "QUEUED": "SCHEDULED",
    "SUCCESS": "SCHEDULED",  # the answer to "create job": accepted, not started
    "RUNNING": "RUNNING",
    "INPROGRESS": "RUNNING",
    "IN PROGRESS": "RUNNING",
    "IN_PROGRESS": "RUNNING",
    "COMPLETED": "COMPLETED",
    "FAILED": "FAILED",
    "FAILURE": "FAILED",
}

# Which counts each kind reports, in the order charts stack them. Zoho's Not_Updated_Count
# is what the job has not reached yet (it falls to 0 as the job ends, failures or not), so
# it is named for that rather than read as an outcome.
_SEGMENTS: dict[str, tuple[tuple[str, str], ...]] = {
    "mass_update": (
        ("Updated", "updated"), ("Failed", "failed"), ("Not processed yet", "not_updated"),
    ),
    "bulk_write": (("Added", "added"), ("Updated", "updated"), ("Skipped", "skipped")),
    "bulk_read": (("Exported", "total"),),
}


@dataclass(frozen=True)
class JobStatus:
    """One observation of a Zoho job.

    ``state`` is normalised to ``SCHEDULED``/``RUNNING``/``COMPLETED``/``FAILED``;
    ``raw_status`` keeps Zoho's word. Counts are ``None`` when Zoho gives none (a bulk
    write in progress has no ``file`` counts yet): unknown, not zero.
    """

    kind: JobKind
    job_id: str | None
    state: JobState
    raw_status: str
    total: int | None = None
    updated: int | None = None
    failed: int | None = None
    not_updated: int | None = None
    added: int | None = None
    skipped: int | None = None
    module: str | None = None
    operation: str | None = None
    download_url: str | None = None
    observed_at: datetime | None = None

    def __str__(self) -> str:
        """One readable line: kind, id, module, state, the known counts, when observed.

        Examples
        --------
        >>> print(JobStatus("mass_update", "554023000000506003", "RUNNING", "RUNNING",
        ...                 total=50, updated=30, failed=0, not_updated=20, module="Leads"))
        mass_update 554023000000506003 (Leads): RUNNING · Updated 30, Failed 0, Not processed yet 20 of 50
        >>> print(JobStatus("bulk_write", "4150868000005392002", "RUNNING", "INPROGRESS"))
        bulk_write 4150868000005392002: RUNNING (INPROGRESS) · counts not reported yet
        """  # noqa: E501
        where = f" ({self.module})" if self.module else ""
        raw = "" if self.raw_status in ("", self.state) else f" ({self.raw_status})"
        known = [] if self.kind == "bulk_read" else [
            f"{label} {n:,}" for label, n in self.segments() if n is not None
        ]
        counts = ", ".join(known)
        if self.total is not None:
            counts = f"{counts} of {self.total:,}" if counts else f"{self.total:,} records"
        text = f"{self.kind} {self.job_id or '(no id)'}{where}: {self.state}{raw}"
        text += f" · {counts or 'counts not reported yet'}"
        if self.observed_at is not None:
            text += f" · observed {self.observed_at:%H:%M:%S}"
        return text

    @property
    def done(self) -> bool:
        """True once the job reached a terminal state (COMPLETED or FAILED)."""
        return self.state in TERMINAL_STATES

    @property
    def counts_known(self) -> bool:
        """True when Zoho reported counts for this job."""
        return any(getattr(self, attr) is not None for _, attr in _SEGMENTS[self.kind]) or (
            self.total is not None
        )

    def segments(self) -> list[tuple[str, int | None]]:
        """The kind's counts in chart order, e.g. ``[("Updated", 30), ("Failed", 0), ...]``."""
        return [(label, getattr(self, attr)) for label, attr in _SEGMENTS[self.kind]]

    def with_observed_at(self, when: datetime) -> JobStatus:
        """A copy stamped with the time it was observed (used for progress histories)."""
        return dataclasses.replace(self, observed_at=when)

    def to_frame(self) -> pd.DataFrame:
        """One row: kind, job_id, state, raw_status, done, and the counts as ``Int64``."""
        row: dict[str, Any] = {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}
        row["done"] = self.done
        frame: pd.DataFrame = pd.DataFrame([row])
        for col in ("total", "updated", "failed", "not_updated", "added", "skipped"):
            frame[col] = frame[col].astype("Int64")
        for col in ("kind", "job_id", "state", "raw_status", "module", "operation", "download_url"):
            frame[col] = frame[col].astype("string")
        frame["done"] = frame["done"].astype("boolean")
        frame["observed_at"] = pd.to_datetime(frame["observed_at"], utc=True)
        return frame


def _count(obj: Mapping[str, Any], key: str) -> int | None:
    value = obj.get(key)
    if _missing(value):
        return None
    if isinstance(value, np.integer):
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise EnvelopeError(f"job count {key!r} is {type(value).__name__}, expected an integer")
    try:
        number = int(value)
    except (TypeError, ValueError, OverflowError):  # OverflowError: int(float("inf"))
        raise EnvelopeError(f"job count {key!r} is {value!r:.40}, expected an integer") from None
    # Counts land in Int64 columns (to_frame): beyond int64 is no real count either.
    if number < 0 or number >= 2**63 or (isinstance(value, float) and value != number):
        raise EnvelopeError(
            f"job count {key!r} is {value!r:.40}, expected a non-negative integer"
        )
    return number


def _state(raw: Any, where: str) -> JobState:
    if not isinstance(raw, str) or not raw:
        raise EnvelopeError(f"{where}: job status is {raw!r}, expected a string such as RUNNING")
    # Unknown states are treated as still running so a poller keeps waiting (and times out).
    return _STATE_MAP.get(raw.strip().upper(), "RUNNING")


def _is(value: Any, text: str) -> bool:
    # A job envelope built in Python may hold pd.NA, whose == has no truth value.
    return isinstance(value, str) and value == text


def _missing(value: Any) -> bool:
    return value is None or value is pd.NA or (isinstance(value, float) and value != value)


def _str_or_none(value: Any) -> str | None:
    if _missing(value):
        return None
    if isinstance(value, Mapping):
        name = value.get("api_name")
        value = name if isinstance(name, str) and name else value.get("name")
        return None if _missing(value) else str(value)
    return str(value)


def _sum(values: list[int | None]) -> int | None:
    known = [v for v in values if v is not None]
    return sum(known) if known else None


def _bulk_write(body: Mapping[str, Any], job_id: str | None) -> JobStatus:
    if "resource" not in body and _is(body.get("code"), "SUCCESS"):
        details = body.get("details")
        created_id = details.get("id") if isinstance(details, Mapping) else None
        return JobStatus(
            kind="bulk_write",
            job_id=_str_or_none(created_id) or job_id,
            state="SCHEDULED",
            raw_status="ADDED",
        )
    resources = body.get("resource") or []
    if not isinstance(resources, list) or not all(isinstance(r, Mapping) for r in resources):
        raise EnvelopeError("bulk write job: 'resource' must be a list of objects")
    files = [r.get("file") for r in resources if isinstance(r.get("file"), Mapping)]
    result = body.get("result")
    download = result.get("download_url") if isinstance(result, Mapping) else None
    modules = [_str_or_none(r.get("module")) for r in resources]
    return JobStatus(
        kind="bulk_write",
        job_id=_str_or_none(body.get("id")) or job_id,
        state=_state(body.get("status"), "bulk write job"),
        raw_status=str(body.get("status")),
        total=_sum([_count(f, "total_count") for f in files]),
        added=_sum([_count(f, "added_count") for f in files]),
        updated=_sum([_count(f, "updated_count") for f in files]),
        skipped=_sum([_count(f, "skipped_count") for f in files]),
        module=next((m for m in modules if m), None),
        operation=_str_or_none(body.get("operation")),
        download_url=_str_or_none(download),
    )


def _from_data_item(item: Mapping[str, Any], job_id: str | None) -> JobStatus:
    if "Status" in item:
        return JobStatus(
            kind="mass_update",
            job_id=job_id,
            state=_state(item.get("Status"), "mass update"),
            raw_status=str(item.get("Status")),
            total=_count(item, "Total_Count"),
            updated=_count(item, "Updated_Count"),
            failed=_count(item, "Failed_Count"),
            not_updated=_count(item, "Not_Updated_Count"),
        )
    if "state" in item and (_is(item.get("operation"), "read") or "result" in item):
        result = item.get("result")
        result = result if isinstance(result, Mapping) else {}
        state = _state(item.get("state"), "bulk read job")
        return JobStatus(
            kind="bulk_read",
            job_id=_str_or_none(item.get("id")) or job_id,
            state=state,
            raw_status=str(item.get("state")),
            total=_count(result, "count") if state == "COMPLETED" else None,
            download_url=_str_or_none(result.get("download_url")),
            operation="read",
        )
    details = item.get("details")
    if isinstance(details, Mapping):
        if "job_id" in details and _is(item.get("status"), "success"):
            return JobStatus(
                kind="mass_update",
                job_id=_str_or_none(details.get("job_id")),
                state="SCHEDULED",
                raw_status="SCHEDULED",
            )
        if _is(details.get("operation"), "read") and "state" in details:
            return JobStatus(
                kind="bulk_read",
                job_id=_str_or_none(details.get("id")) or job_id,
                state=_state(details.get("state"), "bulk read job"),
                raw_status=str(details.get("state")),
                operation="read",
            )
    raise EnvelopeError(
        "not a job status: expected mass-update 'Status', bulk-read 'state' or a 'job_id'"
    )


def job_status(envelope: Any, job_id: str | None = None) -> JobStatus:
    """Read a mass-update status, bulk-write or bulk-read job envelope into a :class:`JobStatus`.

    Parameters
    ----------
    envelope : dict, str, bytes or requests.Response
        The job envelope as Zoho returned it.
    job_id : str, optional
        The job id, for shapes that do not carry it (mass-update status).

    Raises
    ------
    EnvelopeError
        When the envelope is not a job status.
    ZohoAPIError
        (a subclass) for a whole-request error such as ``NOT_FOUND``.
    """
    body = load_envelope(envelope).body
    if body is None:
        raise EnvelopeError("empty answer: a job status envelope has a body")
    if job_id is not None and not isinstance(job_id, str):
        raise EnvelopeError(f"job_id must be a string, got {type(job_id).__name__}")
    try:
        return _parse(_without_missing(body), job_id)
    except ValueError:  # str() of an integer too long to spell out (an id, a state)
        raise EnvelopeError("job status: a value is an integer too long to read") from None
    except TypeError as exc:  # a value deeper than _without_missing looks, e.g. pd.NA
        raise EnvelopeError(f"job status: a value cannot be read ({exc})") from None


def _without_missing(value: Any, depth: int = 0) -> Any:
    """``value`` with pd.NA, NaT and NaN read as None (a frame's cells put back into an
    envelope carry them; ``x or default`` on pd.NA raises), to the depth a job status uses."""
    if depth > 8:
        return value
    if isinstance(value, Mapping):
        return {k: _without_missing(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [_without_missing(v, depth + 1) for v in value]
    return None if _missing(value) or value is pd.NaT else value


def _parse(body: Mapping[str, Any], job_id: str | None) -> JobStatus:
    data = body.get("data")
    if isinstance(data, list):
        if not data or not isinstance(data[0], Mapping):
            raise EnvelopeError("job status: 'data' must hold one object")
        return _from_data_item(data[0], job_id)
    if "resource" in body or ("operation" in body and "status" in body) or (
        _is(body.get("code"), "SUCCESS") and isinstance(body.get("details"), Mapping)
    ):
        return _bulk_write(body, job_id)
    raise EnvelopeError("not a job status envelope: no 'data' array and no bulk-write 'resource'")
