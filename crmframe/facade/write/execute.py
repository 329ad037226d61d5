"""Executing a write plan step by step, with a journal, so nothing is lost or sent twice.

The executor knows nothing about HTTP: a :class:`Sender` sends one step (or the part of a
step not yet settled) and can tell, by reading records back, which of a step's records
already hold the step's values. :func:`execute` adds the bookkeeping:

* steps run in plan order (mass updates by ids, PUT batches, bulk writes);
* with a :class:`~crmframe.facade.write.journal.Journal`, "sending" is on disk before each call
  and "confirmed" (with the raw reply) after it; a step confirmed in an earlier run is not
  sent again, its recorded reply is reused;
* a step left "sending" by a killed run is the only ambiguous case: its records are read
  back and those already applied are settled as "verified", only the others are sent;
* a whole-request error (Zoho answered with an error envelope) settles the step's records
  as failed — Zoho did not apply them — and is data, not an exception; errors that would
  fail every later step too (authentication, permission, module, network) stop the run and
  the later steps are reported as not sent.

Examples
--------
>>> class Echo:
...     def send(self, step, ids, *, job_id=None, on_job=None, on_upload=None):
...         return {"data": [{"code": "SUCCESS", "status": "success",
...                           "message": "record updated", "details": {"id": i}} for i in ids]}
...     def applied(self, step, ids):
...         return []
>>> step = Step(0, "put", ("1", "2"), ("Phone",),
...             {"data": [{"id": "1", "Phone": "5"}, {"id": "2", "Phone": "6"}]})
>>> [o.calls for o in execute([step], Echo())]
[1]
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

from crmframe.errors import (
    AuthenticationError,
    CrmframeError,
    InvalidModuleError,
    InvalidRequestMethodError,
    InvalidURLError,
    JobFailed,
    PermissionDeniedError,
    RateLimitError,
    TransportError,
    ZohoAPIError,
)
from crmframe.facade.write.journal import Journal
from crmframe.facade.write.steps import Step, StepOutcome

__all__ = ["FATAL_ERRORS", "Sender", "error_body", "execute"]

#: Whole-request errors that would fail every later step as well: the run stops.
FATAL_ERRORS: tuple[type[CrmframeError], ...] = (
    AuthenticationError,
    PermissionDeniedError,
    InvalidModuleError,
    InvalidURLError,
    InvalidRequestMethodError,
    RateLimitError,
    TransportError,
)


class Sender(Protocol):
    """Sends steps and reads back what they did (the I/O half of :func:`execute`)."""

    def send(
        self,
        step: Step,
        ids: Sequence[str],
        *,
        job_id: str | None = None,
        on_job: Callable[[str], None] | None = None,
        on_upload: Callable[[str], None] | None = None,
    ) -> dict[str, Any]:
        """Send ``ids`` of ``step``; return ``{"data": [one result per id, in order]}``.

        For a background job, ``on_job(job_id)`` is called as soon as the job exists, and a
        given ``job_id`` means "the job exists already: wait for it, do not create another".
        Whole-request errors raise :class:`~crmframe.errors.ZohoAPIError` subclasses.
        """
        ...

    def applied(self, step: Step, ids: Sequence[str]) -> list[str]:
        """The ``ids`` whose current values already equal what ``step`` writes."""
        ...


def error_body(exc: CrmframeError) -> dict[str, Any]:
    """A whole-request error as a JSON body ``{"error": {code, message, details, status}}``.

    Examples
    --------
    >>> from crmframe.errors import InvalidModuleError
    >>> error_body(InvalidModuleError("INVALID_MODULE", "bad", {}, 400))["error"]["code"]
    'INVALID_MODULE'
    """
    if isinstance(exc, JobFailed):
        return {
            "error": {
                "code": "JOB_FAILED",
                "message": str(exc),
                "details": {},
                "status": "error",
                "http_status": None,
            }
        }
    if isinstance(exc, ZohoAPIError):
        return {
            "error": {
                "code": exc.code,
                "message": exc.message,
                "details": exc.details,
                "status": "error",
                "http_status": exc.http_status,
            }
        }
    return {
        "error": {
            "code": "TRANSPORT_ERROR",
            "message": str(exc),
            "details": {},
            "status": "error",
            "http_status": None,
        }
    }


def execute(
    steps: Sequence[Step],
    sender: Sender,
    *,
    journal: Journal | None = None,
    on_step: Callable[[StepOutcome], None] | None = None,
) -> list[StepOutcome]:
    """Run ``steps`` in order through ``sender``; return one :class:`StepOutcome` per step.

    Parameters
    ----------
    steps : sequence of Step
        The plan's steps.
    sender : Sender
        Does the I/O.
    journal : Journal, optional
        Records each call before and after it; on resume, settled steps are not resent.
    on_step : callable, optional
        Called after each step (progress bars, tests that stop a run half-way).

    Returns
    -------
    list of StepOutcome
        In step order. Never raises for per-record or whole-request errors of a step.
    """
    outcomes: list[StepOutcome] = []
    stop: CrmframeError | None = None
    for step in steps:
        outcome = StepOutcome(step)
        outcomes.append(outcome)
        if stop is not None:
            outcome.unsettled = list(step.ids)
            outcome.reason = "not_sent"
            outcome.error = stop
            continue
        stop = _run_step(step, sender, journal, outcome)
        if on_step is not None:
            on_step(outcome)
    return outcomes


def _run_step(
    step: Step, sender: Sender, journal: Journal | None, outcome: StepOutcome
) -> CrmframeError | None:
    state = journal.step_state(step.index) if journal is not None else None
    if state is not None:
        outcome.parts.extend((list(ids), body) for ids, body in state.confirmed)
        outcome.verified.extend(state.verified)
        if state.job_may_exist:
            # Killed while the job was being created: it may run without crmframe knowing
            # its id. Creating another could write every record twice; report instead.
            outcome.unsettled = state.remaining(step.ids)
            outcome.reason = "unknown"
            outcome.error = TransportError(
                f"the bulk-write job for uploaded file {state.file_id} may have been created "
                "by the run that stopped (its id was never recorded); not created again, so "
                "no record is written twice: read the records back (or wait for the job) "
                "before pushing them again"
            )
            return None
        if state.pending and not state.job_id:
            # Sent by an earlier run and never answered: find out what landed, by reading.
            applied = sender.applied(step, state.pending)
            if journal is not None:
                journal.verified(step.index, applied)
            outcome.verified.extend(applied)
        remaining = state.remaining(step.ids)
        outcome.from_journal = state.started and not remaining
    else:
        remaining = list(step.ids)
    if not remaining:
        return None
    job_id = state.job_id if state is not None else None
    if journal is not None:
        journal.sending(step.index, remaining)

    def on_job(new_id: str) -> None:
        if journal is not None:
            journal.job(step.index, new_id)

    def on_upload(file_id: str) -> None:
        if journal is not None:
            journal.upload(step.index, file_id)

    outcome.calls += 1
    try:
        body = sender.send(step, remaining, job_id=job_id, on_job=on_job, on_upload=on_upload)
    except TransportError as exc:
        # Ambiguous: the request may have landed. Leave the journal at "sending" so a
        # resume reads the records back instead of trusting or resending blindly.
        outcome.unsettled = list(remaining)
        outcome.reason = "unknown"
        outcome.error = exc
        return exc
    except (ZohoAPIError, JobFailed) as exc:
        # Zoho answered: nothing of this call was applied (a failed job wrote nothing
        # crmframe can vouch for), so the outcome is known and recorded.
        body = error_body(exc)
        if journal is not None:
            journal.confirmed(step.index, remaining, body)
        outcome.parts.append((list(remaining), body))
        outcome.error = exc
        return exc if isinstance(exc, FATAL_ERRORS) else None
    except CrmframeError as exc:
        # A job still running at a timeout, an answer that could not be read: the outcome
        # is unknown. Not fatal for the next steps; a resume or retry() reads back first.
        outcome.unsettled = list(remaining)
        outcome.reason = "unknown"
        outcome.error = exc
        return None
    if journal is not None:
        journal.confirmed(step.index, remaining, body)
    outcome.parts.append((list(remaining), body))
    return None
