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

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import pandas as pd

from crmframe.core.codecs import encode_value, is_missing
from crmframe.core.fieldtypes import LOOKUP_KINDS, Kind
from crmframe.core.metadata import FieldInfo
from crmframe.core.results import results_to_frame
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
    "VERIFIED_MESSAGE",
    "Sender",
    "Step",
    "StepOutcome",
    "applied_ids",
    "error_body",
    "execute",
    "outcome_rows",
    "reply_rows",
    "status_rows",
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


# ---------------------------------------------------------------------------------------------
# outcomes → results rows

#: Message of a record found applied by a read-back after an interrupted push.
VERIFIED_MESSAGE = "already applied (read back after an interrupted push)"


def _sent_fields(record: Mapping[str, Any]) -> list[str]:
    return [str(k) for k in record if k != "id"]


def _broadcast(body: Mapping[str, Any], n: int) -> dict[str, Any]:
    """Zoho answers a refused mass update with one item for all ids: give each id its row."""
    data = body.get("data")
    if (
        isinstance(data, list)
        and len(data) == 1
        and n > 1
        and isinstance(data[0], Mapping)
        and not (isinstance(data[0].get("details"), Mapping) and data[0]["details"].get("id"))
    ):
        return {**body, "data": [dict(data[0]) for _ in range(n)]}
    return dict(body)


def reply_rows(step: Step, ids: Sequence[str], body: Mapping[str, Any]) -> pd.DataFrame:
    """Per-record rows of one answered call (``results_to_frame`` plus route/call/fields).

    A whole-request error (``{"error": {...}}``) gives every id of the call that error.
    """
    records = step.records(ids)
    if "error" in body and isinstance(body["error"], Mapping):
        err = body["error"]
        details = err.get("details") if isinstance(err.get("details"), Mapping) else {}
        frame = pd.DataFrame(
            {
                "id": [r["id"] for r in records],
                "code": str(err.get("code") or "ERROR"),
                "status": "error",
                "message": str(err.get("message") or ""),
                "details": [dict(details or {}) for _ in records],
                "api_name": (details or {}).get("api_name"),
                "expected_data_type": (details or {}).get("expected_data_type"),
            }
        )
    else:
        frame = results_to_frame(_broadcast(body, len(records)), records=records)
        frame = frame.reset_index(drop=True)
        if len(frame) == len(records):
            # Zoho answers in the order records were sent; the id sent is the truth.
            frame["id"] = pd.array([str(r["id"]) for r in records], dtype="string")
    frame["route"] = step.route
    frame["call"] = step.index
    by_id = {str(r["id"]): _sent_fields(r) for r in records}
    frame["fields"] = [by_id.get(str(i), list(step.fields)) for i in frame["id"].tolist()]
    rows: pd.DataFrame = frame
    return rows


def status_rows(
    ids: Sequence[str],
    *,
    status: str,
    code: str,
    message: str,
    route: str | None = None,
    call: int | None = None,
    fields: Sequence[Sequence[str]] | Sequence[str] | None = None,
    details: Sequence[Mapping[str, Any]] | None = None,
) -> pd.DataFrame:
    """Rows crmframe writes itself (skipped, not sent, verified...), one per id.

    ``fields`` is one list for all ids, or one list per id.

    Examples
    --------
    >>> status_rows(["1"], status="skipped", code="CONFLICT", message="changed")[
    ...     ["id", "status", "code"]].values.tolist()
    [['1', 'skipped', 'CONFLICT']]
    """
    n = len(ids)
    if fields is None:
        per_id: list[list[str]] = [[] for _ in range(n)]
    elif n and len(fields) == n and all(not isinstance(f, str) for f in fields):
        per_id = [list(f) for f in fields]
    else:
        per_id = [[str(f) for f in fields] for _ in range(n)]
    rows: pd.DataFrame = pd.DataFrame(
        {
            "id": pd.array([str(i) for i in ids], dtype="string"),
            "route": pd.array([route] * n, dtype="string"),
            "call": pd.array([call] * n, dtype="Int64"),
            "fields": pd.Series(per_id, dtype=object),
            "code": code,
            "status": status,
            "message": message,
            "details": pd.Series(
                [dict(d) for d in details] if details is not None else [{} for _ in range(n)],
                dtype=object,
            ),
        }
    )
    return rows


def outcome_rows(outcome: StepOutcome) -> list[pd.DataFrame]:
    """Every row one step contributes to ``PushResult.results``."""
    step = outcome.step
    frames = [reply_rows(step, ids, body) for ids, body in outcome.parts if ids]
    records = {str(r["id"]): _sent_fields(r) for r in step.records()}
    if outcome.verified:
        frames.append(
            status_rows(
                outcome.verified, status="success", code="SUCCESS", message=VERIFIED_MESSAGE,
                route=step.route, call=step.index,
                fields=[records.get(i, list(step.fields)) for i in outcome.verified],
            )
        )
    if outcome.unsettled:
        fields = [records.get(i, list(step.fields)) for i in outcome.unsettled]
        if outcome.reason == "unknown":
            frames.append(
                status_rows(
                    outcome.unsettled, status="unknown", code="TRANSPORT_ERROR",
                    message=f"sent, no answer: {outcome.error}", route=step.route,
                    call=step.index, fields=fields,
                )
            )
        else:
            cause = getattr(outcome.error, "code", None) or type(outcome.error).__name__
            frames.append(
                status_rows(
                    outcome.unsettled, status="not_sent", code="NOT_SENT",
                    message=f"not sent: the push stopped at an earlier error ({cause})",
                    route=step.route, call=step.index, fields=fields,
                )
            )
    return frames


# ---------------------------------------------------------------------------------------------
# read-back comparison


def _same_value(current: Any, sent: Any, kind: Kind) -> bool:
    if current is None or sent is None:
        return current is None and sent is None
    if kind is Kind.FLOAT and isinstance(current, (int, float)) and isinstance(sent, (int, float)):
        return math.isclose(float(current), float(sent), rel_tol=1e-9, abs_tol=1e-9)
    if kind is Kind.LIST and isinstance(current, list) and isinstance(sent, list):
        # Zoho may return a multi-select's values in its own order.
        return sorted(map(str, current)) == sorted(map(str, sent))
    return bool(current == sent)


def applied_ids(
    frame: pd.DataFrame,
    records: Sequence[Mapping[str, Any]],
    infos: Mapping[str, FieldInfo],
) -> list[str]:
    """Ids of ``records`` whose values in ``frame`` (read back, indexed by id) equal them.

    Values are compared in their JSON form (both sides through the same codec), so a
    datetime read back in another offset still matches the instant that was sent.

    Examples
    --------
    >>> idx = pd.Index(["1", "2"], dtype="string", name="id")
    >>> now = pd.DataFrame({"Phone": pd.array(["5", "7"], dtype="string")}, index=idx)
    >>> applied_ids(now, [{"id": "1", "Phone": "5"}, {"id": "2", "Phone": "6"}], {})
    ['1']
    """
    out: list[str] = []
    index = frame.index.astype("string") if len(frame.index) else frame.index
    for record in records:
        rid = str(record["id"])
        if rid not in index:
            continue
        row = frame.loc[index == rid].iloc[0]
        if all(_field_matches(row, str(f), v, infos) for f, v in record.items() if f != "id"):
            out.append(rid)
    return out


def _field_matches(row: pd.Series, field: str, sent: Any, infos: Mapping[str, FieldInfo]) -> bool:
    info = infos.get(field)
    lookup = (info is not None and info.kind in LOOKUP_KINDS) or isinstance(sent, Mapping)
    if lookup and f"{field}.id" in row.index:
        current = row[f"{field}.id"]
        want = sent.get("id") if isinstance(sent, Mapping) else sent
        if is_missing(current) or want is None:
            return is_missing(current) and want is None
        return str(current) == str(want)
    if field not in row.index:
        return False
    kind = info.kind if info is not None else _kind_of_sent(sent)
    try:
        current = encode_value(row[field], kind)
    except CrmframeError:
        return False
    return _same_value(current, sent, kind)


def _kind_of_sent(sent: Any) -> Kind:
    if isinstance(sent, bool):
        return Kind.BOOLEAN
    if isinstance(sent, int):
        return Kind.INTEGER
    if isinstance(sent, float):
        return Kind.FLOAT
    if isinstance(sent, list):
        return Kind.LIST
    return Kind.TEXT
