"""Executing a write plan step by step, with a journal, so nothing is lost or sent twice.

The executor knows nothing about HTTP: a :class:`Sender` sends one step (or the part of a
step not yet settled) and can tell, by reading records back, which of a step's records
already hold the step's values. :func:`execute` adds the bookkeeping:

* steps run in plan order (mass updates by ids, PUT batches, bulk writes);
* with a :class:`~crmframe.facade.write.journal.Journal`, "sending" is on disk before each call
  and "confirmed" (with the raw reply) after it; a step confirmed in an earlier run is not
  sent again, its recorded reply is reused;
* a step left "sending" by a killed run is the only ambiguous case: its records are read
  back; those already applied are settled as "verified", those provably untouched since
  the baseline are sent, and those modified since (by that write, or by someone else
  after or instead of it: no read can tell) are reported ``unknown`` and never re-sent —
  with ``overwrite=True`` too. A bulk-write job created without its id reaching the
  journal is looked for and awaited instead of created again;
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
...     def settle(self, step, ids):
...         return Settled(not_applied=list(ids))
...     def find_job(self, step, file_id):
...         return None
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
from crmframe.facade.write.journal import Journal, StepState
from crmframe.facade.write.settle import Settled, unknown_body
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

    def settle(self, step: Step, ids: Sequence[str]) -> Settled:
        """Sort ``ids`` of ``step`` (sent, answer never seen) by reading them back:
        ``applied``, ``not_applied`` (provably untouched: to send) or ``unknown``."""
        ...

    def find_job(self, step: Step, file_id: str) -> str | None:
        """The id of the bulk-write job created from uploaded ``file_id``, if it can be
        found (``None``: none exists, or the server offers no way to find it)."""
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


def _settle_pending(
    step: Step, sender: Sender, journal: Journal | None, state: StepState, outcome: StepOutcome
) -> None:
    """Settle a call an earlier run sent and never saw answered, before sending anything.

    A bulk write whose file was registered (the "upload" event) may have a job running
    without crmframe knowing its id: it is looked for (and then awaited, never duplicated);
    otherwise every route reads back — only ``not_applied`` ids stay to be sent, ``unknown``
    ones are reported and never re-sent (a colleague may have edited them since).
    """
    pending = state.pending or []
    if state.job_may_exist and state.file_id is not None:
        found = sender.find_job(step, state.file_id)
        if found is not None:
            if journal is not None:
                journal.job(step.index, found)
            state.job_id = found
            return
    elif step.route == "bulk_write":
        return  # no file was registered for a job: nothing was created, nothing to read
    settled = sender.settle(step, pending)
    if journal is not None:
        journal.verified(step.index, settled.applied)
    outcome.verified.extend(settled.applied)
    if settled.unknown:
        body = unknown_body(settled.unknown, "the run that sent it stopped before the answer")
        if journal is not None:
            journal.confirmed(step.index, settled.unknown, body)
        outcome.parts.append((list(settled.unknown), body))


def _run_step(
    step: Step, sender: Sender, journal: Journal | None, outcome: StepOutcome
) -> CrmframeError | None:
    state = journal.step_state(step.index) if journal is not None else None
    if state is not None:
        outcome.parts.extend((list(ids), body) for ids, body in state.confirmed)
        outcome.verified.extend(state.verified)
        if state.pending is not None and not state.job_id:
            _settle_pending(step, sender, journal, state, outcome)
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

    # Before the call: Zoho's clock, so a retry can prove a record untouched by it.
    clock = getattr(sender, "now", None)
    outcome.sent_after = clock() if callable(clock) else None
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
