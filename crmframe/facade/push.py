"""Executing a write plan step by step, with a journal, so nothing is lost or sent twice.

The executor knows nothing about HTTP: a :class:`Sender` sends one step (or the part of a
step not yet settled) and can tell, by reading records back, which of a step's records
already hold the step's values. :func:`execute` adds the bookkeeping:

* steps run in plan order (mass updates by ids, PUT batches, bulk writes);
* with a :class:`~crmframe.facade.journal.Journal`, "sending" is on disk before each call
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
...     def send(self, step, ids, *, job_id=None, on_job=None):
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

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from crmframe.errors import (
    AuthenticationError,
    CrmframeError,
    InvalidModuleError,
    InvalidRequestMethodError,
    InvalidURLError,
    PermissionDeniedError,
    RateLimitError,
    TransportError,
    ZohoAPIError,
)
from crmframe.facade.journal import Journal

__all__ = [
    "FATAL_ERRORS",
    "ROUTES",
    "Sender",
    "Step",
    "StepOutcome",
    "error_body",
    "execute",
]

#: The routes a plan step may take, in the order they are executed.
ROUTES: tuple[str, ...] = ("mass_update", "put", "bulk_write")

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


@dataclass(frozen=True)
class Step:
    """One call of a plan.

    Parameters
    ----------
    index : int
        Position in the plan (the ``call`` number in results).
    route : str
        ``"mass_update"``, ``"put"`` or ``"bulk_write"``.
    ids : tuple of str
        The records the step writes, in payload order.
    fields : tuple of str
        The fields it writes.
    payload : Any
        The body: ``{"data": [...]}`` for PUT, ``{"data": [{field: value}], "ids": [...]}``
        for a mass update, whatever the bulk-write builder made for a bulk write.
    credits : float
        What the plan expects the step to cost.
    """

    index: int
    route: str
    ids: tuple[str, ...]
    fields: tuple[str, ...]
    payload: Any
    credits: float = 0.0

    def records(self, ids: Sequence[str] | None = None) -> list[dict[str, Any]]:
        """The records the step sends (for ``ids`` only, when given), in payload order.

        A mass update sends one value map for many ids; it is expanded to one record per id
        so per-record results line up the same way for every route.
        """
        keep = None if ids is None else set(ids)
        if self.route == "put" and isinstance(self.payload, Mapping):
            data = self.payload.get("data") or []
            return [dict(r) for r in data if keep is None or str(r.get("id")) in keep]
        values: dict[str, Any] = {}
        if self.route == "mass_update" and isinstance(self.payload, Mapping):
            data = self.payload.get("data") or [{}]
            values = dict(data[0]) if data else {}
        return [{"id": i, **values} for i in self.ids if keep is None or i in keep]

    def restricted(self, ids: Sequence[str]) -> Any:
        """The payload cut down to ``ids`` (same keys otherwise), for JSON routes.

        Examples
        --------
        >>> Step(0, "mass_update", ("1", "2"), ("A",),
        ...      {"data": [{"A": 1}], "ids": ["1", "2"]}).restricted(["2"])
        {'data': [{'A': 1}], 'ids': ['2']}
        """
        keep = set(ids)
        if not isinstance(self.payload, Mapping):
            return self.payload
        body = dict(self.payload)
        if self.route == "put":
            body["data"] = [r for r in body.get("data") or [] if str(r.get("id")) in keep]
        elif self.route == "mass_update":
            body["ids"] = [str(i) for i in body.get("ids") or [] if str(i) in keep]
        return body

    def describe(self) -> dict[str, Any]:
        """The step without its payload, for journal headers and reprs."""
        return {
            "step": self.index,
            "route": self.route,
            "ids": list(self.ids),
            "fields": list(self.fields),
            "credits": self.credits,
        }


class Sender(Protocol):
    """Sends steps and reads back what they did (the I/O half of :func:`execute`)."""

    def send(
        self,
        step: Step,
        ids: Sequence[str],
        *,
        job_id: str | None = None,
        on_job: Callable[[str], None] | None = None,
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


@dataclass
class StepOutcome:
    """What happened to one step.

    ``parts`` are ``(ids, body)`` pairs: each call's ids and its reply body (or an error
    envelope under ``"error"``). ``verified`` ids were found applied by a read-back.
    ``unsettled`` ids have no known outcome (not sent, or sent and never answered), with
    ``reason`` saying which. ``calls`` counts the calls made in this run.
    """

    step: Step
    parts: list[tuple[list[str], dict[str, Any]]] = field(default_factory=list)
    verified: list[str] = field(default_factory=list)
    unsettled: list[str] = field(default_factory=list)
    reason: str | None = None
    error: CrmframeError | None = None
    calls: int = 0
    from_journal: bool = False


def error_body(exc: CrmframeError) -> dict[str, Any]:
    """A whole-request error as a JSON body ``{"error": {code, message, details, status}}``.

    Examples
    --------
    >>> from crmframe.errors import InvalidModuleError
    >>> error_body(InvalidModuleError("INVALID_MODULE", "bad", {}, 400))["error"]["code"]
    'INVALID_MODULE'
    """
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

    outcome.calls += 1
    try:
        body = sender.send(step, remaining, job_id=job_id, on_job=on_job)
    except TransportError as exc:
        # Ambiguous: the request may have landed. Leave the journal at "sending" so a
        # resume reads the records back instead of trusting or resending blindly.
        outcome.unsettled = list(remaining)
        outcome.reason = "unknown"
        outcome.error = exc
        return exc
    except ZohoAPIError as exc:
        body = error_body(exc)
        if journal is not None:
            journal.confirmed(step.index, remaining, body)
        outcome.parts.append((list(remaining), body))
        outcome.error = exc
        return exc if isinstance(exc, FATAL_ERRORS) else None
    if journal is not None:
        journal.confirmed(step.index, remaining, body)
    outcome.parts.append((list(remaining), body))
    return None
