"""``crm.job`` and ``crm.wait``: look at Zoho jobs and wait for them to finish.

:class:`JobsMixin` is one part of :class:`crmframe.facade.crm.CRM`; it only needs
``self.client`` (a :class:`~crmframe.http.client.ZohoClient`). One status is one GET:

=============  ======================================================  ==========================
kind           request                                                 relative to
=============  ======================================================  ==========================
mass_update    ``GET {module}/actions/mass_update?job_id={job_id}``    ``/crm/{version}/``
bulk_write     ``GET write/{job_id}``                                  ``/crm/bulk/{version}/``
bulk_read      ``GET read/{job_id}``                                   ``/crm/bulk/{version}/``
=============  ======================================================  ==========================

Examples
--------
>>> class Reply:
...     status, headers = 200, {}
...     body = {"data": [{"Status": "COMPLETED", "Failed_Count": 0, "Updated_Count": 50,
...                       "Not_Updated_Count": 0, "Total_Count": 50}]}
>>> class FakeClient:
...     def request(self, method, path, *, params=None, bulk=False, **kwargs):
...         return Reply()
>>> class FakeCRM(JobsMixin):
...     client, version = FakeClient(), "v8"
>>> job = Job("554023000000506003", "mass_update", module="Accounts")
>>> FakeCRM().wait(job).state
'COMPLETED'
>>> job
<Job mass_update 554023000000506003 (Accounts): COMPLETED, Updated 50, Failed 0, Not processed yet 0 of 50>
"""  # noqa: E501

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import datetime, timezone
from typing import Any, get_args

from crmframe.core.jobs import JobKind, JobStatus, job_status
from crmframe.errors import InputError
from crmframe.polling import JobHistory, WaitPolicy, poll, stop_after_delay

__all__ = ["Job", "JobsMixin"]

_KINDS: tuple[str, ...] = get_args(JobKind)


def _check_job_id(job_id: object) -> str:
    # 19-digit ids lose digits as floats and are easy to pass as int by mistake: insist on str.
    if not isinstance(job_id, str) or not job_id.strip():
        raise InputError(
            f"job_id must be a non-empty string such as '554023000000506003', got {job_id!r}"
        )
    return job_id.strip()


def _check_kind(kind: object) -> JobKind:
    if kind not in _KINDS:
        raise InputError(f"kind must be one of {', '.join(_KINDS)}; got {kind!r}")
    return kind  # type: ignore[return-value]  # narrowed by the membership test


def _module_needed(job_id: str) -> InputError:
    return InputError(
        f"mass update job {job_id}: give module=..., Zoho asks for a mass update's "
        "status under its module (GET /{module}/actions/mass_update)"
    )


class Job:
    """A Zoho job being watched: its id, kind, module, and every status seen so far.

    Parameters
    ----------
    job_id : str
        Zoho's job id (a 19-digit string).
    kind : {"mass_update", "bulk_write", "bulk_read"}
        Which API reports its status.
    module : str, optional
        The module API name; needed to ask for a mass update's status.
    history : iterable of JobStatus, optional
        Statuses already seen, oldest first.

    Examples
    --------
    >>> job = Job("111111000000541958", "bulk_write")
    >>> job, job.status, job.done
    (<Job bulk_write 111111000000541958: not polled yet>, None, False)
    """

    def __init__(
        self,
        job_id: str,
        kind: JobKind = "mass_update",
        *,
        module: str | None = None,
        history: JobHistory | list[JobStatus] | None = None,
    ) -> None:
        self.job_id = _check_job_id(job_id)
        self.kind: JobKind = _check_kind(kind)
        if kind == "mass_update" and not module:
            raise _module_needed(self.job_id)
        self.module = module
        self.history = JobHistory(history or ())

    @classmethod
    def from_status(cls, status: JobStatus, *, module: str | None = None) -> Job:
        """A job whose history starts with ``status`` (e.g. the answer to "create job").

        Examples
        --------
        >>> s = JobStatus("mass_update", "554023000000506003", "SCHEDULED", "SCHEDULED")
        >>> Job.from_status(s, module="Accounts")
        <Job mass_update 554023000000506003 (Accounts): SCHEDULED>
        """
        if status.job_id is None:
            raise InputError("this status carries no job id; cannot watch the job")
        return cls(status.job_id, status.kind, module=module or status.module, history=[status])

    @property
    def status(self) -> JobStatus | None:
        """The latest status seen, or None before the first poll."""
        return self.history.latest

    @property
    def done(self) -> bool:
        """True once the latest status is COMPLETED or FAILED."""
        latest = self.history.latest
        return latest is not None and latest.done

    def __repr__(self) -> str:
        where = f" ({self.module})" if self.module else ""
        latest = self.history.latest
        if latest is None:
            return f"<Job {self.kind} {self.job_id}{where}: not polled yet>"
        counts = [f"{label} {n}" for label, n in latest.segments() if n is not None]
        text = ", ".join([latest.state, *counts])
        if latest.total is not None and counts:
            text += f" of {latest.total}"
        return f"<Job {self.kind} {self.job_id}{where}: {text}>"


class JobsMixin:
    """``job`` and ``wait`` for :class:`~crmframe.facade.crm.CRM`."""

    # Typed loosely on purpose: the concrete ZohoClient is declared on CRM, and a precise
    # type here would clash with the other mixins' declarations under multiple inheritance.
    client: Any
    version: str

    def job(
        self,
        job_id: str | Job,
        kind: JobKind = "mass_update",
        *,
        module: str | None = None,
    ) -> JobStatus:
        """Ask Zoho once for a job's status.

        Parameters
        ----------
        job_id : str or Job
            The job id (a string), or a :class:`Job` (its kind and module are used).
        kind : {"mass_update", "bulk_write", "bulk_read"}, default "mass_update"
            Which API reports the job.
        module : str, optional
            The module API name; required for mass updates.

        Returns
        -------
        JobStatus
            Stamped with ``observed_at`` (now, UTC). A :class:`Job`'s history is left alone.

        Raises
        ------
        InputError
            A missing module for a mass update, an unknown kind, a non-string id.
        NotFoundError
            Zoho does not know the job.

        Examples
        --------
        >>> class Reply:
        ...     status, headers = 200, {}
        ...     body = {"status": "INPROGRESS", "id": "4150868000005392002",
        ...             "operation": "insert", "resource": [{"status": "INPROGRESS"}]}
        >>> class FakeClient:
        ...     def request(self, method, path, *, params=None, bulk=False, **kwargs):
        ...         print(method, path, params, bulk)
        ...         return Reply()
        >>> class FakeCRM(JobsMixin):
        ...     client, version = FakeClient(), "v8"
        >>> s = FakeCRM().job("4150868000005392002", "bulk_write")
        GET write/4150868000005392002 None True
        >>> s.state, s.raw_status, s.counts_known
        ('RUNNING', 'INPROGRESS', False)
        """
        if isinstance(job_id, Job):
            ident, kind, module = job_id.job_id, job_id.kind, module or job_id.module
        else:
            ident, kind = _check_job_id(job_id), _check_kind(kind)
        if kind == "mass_update":
            if not module:
                raise _module_needed(ident)
            reply = self.client.request(
                "GET", f"{module}/actions/mass_update", params={"job_id": ident}
            )
        elif kind == "bulk_write":
            reply = self.client.request("GET", f"write/{ident}", bulk=True)
        else:
            reply = self.client.request("GET", f"read/{ident}", bulk=True)
        status = job_status(reply.body, job_id=ident)
        if status.module is None and module:
            status = dataclasses.replace(status, module=module)
        return status.with_observed_at(datetime.now(timezone.utc))

    def wait(
        self,
        job: str | Job,
        *,
        kind: JobKind = "mass_update",
        module: str | None = None,
        timeout: float | None = None,
        interval: float = 2.0,
        on_update: Callable[[JobStatus], object] | None = None,
        policy: WaitPolicy | None = None,
    ) -> JobStatus:
        """Poll a job until it is COMPLETED, keeping every status in ``job.history``.

        Parameters
        ----------
        job : Job or str
            The job, or its id (then ``kind`` and ``module`` say what it is).
        kind, module
            As for :meth:`job`, when ``job`` is an id.
        timeout : float, optional
            Seconds to wait before giving up; None waits as long as the job runs.
        interval : float, default 2.0
            Seconds between polls (each poll costs an API credit).
        on_update : callable, optional
            Called with each new status (e.g. to redraw a chart).
        policy : WaitPolicy, optional
            Full control: stop and wait rules, sleep and clocks. ``interval`` is then
            ignored; ``timeout``, if given, is added to the policy's stop rule.

        Returns
        -------
        JobStatus
            The COMPLETED status.

        Raises
        ------
        JobFailed
            The job ended FAILED; ``.status`` is the last status, ``job.history`` all of them.
        JobTimeout
            ``timeout`` ran out; ``.status`` says where the job stood.

        Examples
        --------
        >>> states = iter(["SCHEDULED", "RUNNING", "COMPLETED"])
        >>> class Reply:
        ...     status, headers = 200, {}
        ...     @property
        ...     def body(self):
        ...         return {"data": [{"Status": next(states), "Total_Count": 50}]}
        >>> class FakeClient:
        ...     def request(self, method, path, *, params=None, bulk=False, **kwargs):
        ...         return Reply()
        >>> class FakeCRM(JobsMixin):
        ...     client, version = FakeClient(), "v8"
        >>> naps = []
        >>> job = Job("554023000000506003", module="Accounts")
        >>> FakeCRM().wait(job, policy=WaitPolicy(sleep=naps.append)).state
        'COMPLETED'
        >>> [s.state for s in job.history], naps
        (['SCHEDULED', 'RUNNING', 'COMPLETED'], [2.0, 2.0])
        """
        watched = job if isinstance(job, Job) else Job(job, kind, module=module)
        if policy is None:
            policy = WaitPolicy.default(timeout=timeout, interval=interval)
        elif timeout is not None:
            policy = dataclasses.replace(policy, stop=policy.stop | stop_after_delay(timeout))
        return poll(
            lambda: self.job(watched),
            policy,
            on_update,
            history=watched.history,
        )
