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

import csv
import io
import math
import zipfile
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import pandas as pd

from crmframe.core.bulkwrite import parse_bulk_result
from crmframe.core.codecs import encode_value, is_missing
from crmframe.core.fieldtypes import LOOKUP_KINDS, Kind
from crmframe.core.metadata import FieldInfo
from crmframe.core.results import results_to_frame
from crmframe.errors import (
    AuthenticationError,
    CrmframeError,
    EnvelopeError,
    InputError,
    InvalidModuleError,
    InvalidRequestMethodError,
    InvalidURLError,
    JobFailed,
    JobTimeout,
    PermissionDeniedError,
    RateLimitError,
    TransportError,
    ZohoAPIError,
)
from crmframe.facade.jobs import Job
from crmframe.facade.journal import Journal
from crmframe.http.datacenters import DATA_CENTERS

__all__ = [
    "BULK_APPLIED",
    "FATAL_ERRORS",
    "ROUTES",
    "VERIFIED_MESSAGE",
    "CrmSender",
    "Sender",
    "Step",
    "StepOutcome",
    "applied_ids",
    "bulk_rows_body",
    "csv_subset",
    "error_body",
    "execute",
    "outcome_rows",
    "reply_rows",
    "status_rows",
    "steps_from_plan",
    "upload_url",
    "zip_csv",
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
            return [
                {**record, "id": rid}
                for rid, record in self._pairs()
                if keep is None or rid in keep
            ]
        values: dict[str, Any] = {}
        if self.route == "mass_update" and isinstance(self.payload, Mapping):
            data = self.payload.get("data") or [{}]
            values = dict(data[0]) if data else {}
        return [{"id": i, **values} for i in self.ids if keep is None or i in keep]

    def _pairs(self) -> list[tuple[str, dict[str, Any]]]:
        """``(step id, record)`` for a PUT body: by position when the counts agree (a record
        may lack its id — reproducing Zoho's MANDATORY_NOT_FOUND), else by the record's id."""
        data = self.payload.get("data") if isinstance(self.payload, Mapping) else None
        rows = [r for r in data or [] if isinstance(r, Mapping)]
        if len(rows) == len(self.ids):
            return [(rid, dict(r)) for rid, r in zip(self.ids, rows, strict=True)]
        return [(str(r.get("id")), dict(r)) for r in rows]

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
            body["data"] = [r for rid, r in self._pairs() if rid in keep]
        elif self.route == "mass_update" and "ids" in body:
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


# ---------------------------------------------------------------------------------------------
# outcomes → results rows

#: Message of a record found applied by a read-back after an interrupted push.
VERIFIED_MESSAGE = "already applied (read back after an interrupted push)"


def _sent_fields(record: Mapping[str, Any]) -> list[str]:
    return [str(k) for k in record if k != "id"]


def _step_fields(step: Step) -> list[str]:
    # A bulk-write step lists CSV headers ("Owner.id"); results speak of fields ("Owner").
    out: list[str] = []
    for name in step.fields:
        base = name[:-3] if name.endswith(".id") else name
        if base not in out:
            out.append(base)
    return out


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
        try:
            frame = results_to_frame(_broadcast(body, len(records)), records=records)
        except CrmframeError as exc:
            # The call was made: its records must still be reported, as unknown.
            return status_rows(
                [str(r["id"]) for r in records], status="unknown", code="UNREADABLE_ANSWER",
                message=f"the answer could not be read: {exc}", route=step.route,
                call=step.index, fields=[_sent_fields(r) or _step_fields(step) for r in records],
            )
        frame = frame.reset_index(drop=True)
        if len(frame) == len(records):
            # Zoho answers in the order records were sent; the id sent is the truth.
            frame["id"] = pd.array([str(r["id"]) for r in records], dtype="string")
        answered = set(frame["id"].dropna().tolist())
        missing = [r for r in records if str(r["id"]) not in answered]
        if missing:
            frame = pd.concat(
                [frame, status_rows(
                    [str(r["id"]) for r in missing], status="unknown", code="NO_ANSWER",
                    message="Zoho's answer has no result for this record",
                )],
                ignore_index=True,
            )
    frame["route"] = step.route
    frame["call"] = step.index
    by_id = {str(r["id"]): _sent_fields(r) or _step_fields(step) for r in records}
    frame["fields"] = [by_id.get(str(i), _step_fields(step)) for i in frame["id"].tolist()]
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
    records = {str(r["id"]): _sent_fields(r) or _step_fields(step) for r in step.records()}
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
            code = "TRANSPORT_ERROR" if isinstance(outcome.error, TransportError) else (
                "JOB_TIMEOUT" if isinstance(outcome.error, JobTimeout) else "NO_ANSWER")
            frames.append(
                status_rows(
                    outcome.unsettled, status="unknown", code=code,
                    message=f"sent, outcome unknown: {outcome.error}", route=step.route,
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


# ---------------------------------------------------------------------------------------------
# plans → steps


def steps_from_plan(plan: Any, *, trigger: Sequence[str] | None = None) -> list[Step]:
    """The plan's steps as :class:`Step` values, in execution order.

    ``trigger`` goes into every PUT body (``[]`` disables automations; ``None`` leaves the
    key out, so Zoho runs them).
    """
    frame = plan.steps
    payloads = plan.payloads
    out: list[Step] = []
    for position, row in enumerate(frame.to_dict("records")):
        payload = payloads[position] if not isinstance(payloads, Mapping) else payloads[
            frame.index[position]]
        route = str(row["route"])
        if route == "put" and trigger is not None and isinstance(payload, Mapping):
            payload = {**payload, "trigger": list(trigger)}
        ids = tuple(str(i) for i in row.get("ids") or ())
        fields = tuple(str(f) for f in row.get("fields") or ())
        credits = row.get("credits")
        out.append(
            Step(
                index=position,
                route=route,
                ids=ids,
                fields=fields,
                payload=payload,
                credits=0.0 if credits is None or pd.isna(credits) else float(credits),
            )
        )
    order = {route: n for n, route in enumerate(ROUTES)}
    ordered = sorted(out, key=lambda s: (order.get(s.route, len(ROUTES)), s.index))
    return [
        Step(n, s.route, s.ids, s.fields, s.payload, s.credits) for n, s in enumerate(ordered)
    ]


# ---------------------------------------------------------------------------------------------
# the sender that talks to Zoho

#: Bulk-write result STATUS values that mean the row was applied.
BULK_APPLIED = frozenset({"updated", "added"})


def upload_url(api_domain: str, version: str) -> str:
    """Where bulk-write files go: the data centre's upload host, else the API host itself.

    Examples
    --------
    >>> upload_url("https://www.zohoapis.eu", "v8")
    'https://content.zohoapis.eu/crm/v8/upload'
    >>> upload_url("http://127.0.0.1:5000", "v2")
    'http://127.0.0.1:5000/crm/v2/upload'
    """
    domain = api_domain.rstrip("/")
    for center in DATA_CENTERS.values():
        if center.api_domain == domain:
            domain = center.upload_domain
            break
    return f"{domain}/crm/{version}/upload"


def bulk_rows_body(parsed: pd.DataFrame) -> dict[str, Any]:
    """A parsed bulk-write result as a per-record action-result body, in input order."""
    data = []
    for row in parsed.to_dict("records"):
        status = "" if is_missing(row.get("status")) else str(row["status"])
        applied = status in BULK_APPLIED
        code = row.get("code")
        errors = row.get("errors") or []
        details: dict[str, Any] = {
            "id": None if is_missing(row.get("record_id")) else str(row["record_id"]),
            "bulk_status": status or None,
        }
        if not is_missing(row.get("column")):
            details["api_name"] = str(row["column"])
        if errors:
            details["errors"] = [list(e) for e in errors]
        data.append(
            {
                "code": "SUCCESS" if applied else (
                    str(code) if not is_missing(code) else (status.upper() or "UNPROCESSED")
                ),
                "status": "success" if applied else "error",
                "message": f"record {status}" if applied else "; ".join(
                    f"{c}-{col}" if col else str(c) for c, col in errors
                ) or f"record {status or 'not processed'}",
                "details": details,
            }
        )
    return {"data": data}


def csv_subset(csv_bytes: bytes, ids: Sequence[str]) -> bytes:
    """The bulk-write CSV cut down to the rows of ``ids`` (header kept; ``id`` first)."""
    keep = set(ids)
    text = csv_bytes.decode("utf-8")
    rows = list(csv.reader(io.StringIO(text)))
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(rows[0])
    for row in rows[1:]:
        if row and row[0] in keep:
            writer.writerow(row)
    return out.getvalue().encode("utf-8")


def zip_csv(csv_bytes: bytes, name: str) -> bytes:
    """``csv_bytes`` zipped as ``name`` (what Zoho's upload takes)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr(name, csv_bytes)
    return buffer.getvalue()


class CrmSender:
    """Sends steps to Zoho through a :class:`~crmframe.http.client.ZohoClient`.

    Parameters
    ----------
    client : ZohoClient
        The HTTP client.
    module : str
        The module written to.
    infos : dict
        Field metadata, for comparing read-backs.
    read : callable
        ``read(fields, ids) -> DataFrame`` indexed by id: current values (read-backs).
    wait : callable
        ``wait(job) -> JobStatus``: waits for a bulk-write job to complete.
    """

    def __init__(
        self,
        client: Any,
        module: str,
        infos: Mapping[str, FieldInfo],
        *,
        read: Callable[[Sequence[str], Sequence[str]], pd.DataFrame],
        wait: Callable[[Any], Any],
    ) -> None:
        self.client = client
        self.module = module
        self.infos = infos
        self._read = read
        self._wait = wait
        self._org: str | None = None
        #: Write calls sent (PUT, mass update, upload, bulk job) — not the client's retries.
        self.calls = 0
        #: Read calls made for read-backs.
        self.reads = 0
        #: Bulk-write jobs created or resumed.
        self.jobs: list[Any] = []

    # -- Sender protocol -----------------------------------------------------------------

    def send(
        self,
        step: Step,
        ids: Sequence[str],
        *,
        job_id: str | None = None,
        on_job: Callable[[str], None] | None = None,
    ) -> dict[str, Any]:
        """Send ``ids`` of ``step``; the reply body (``{"data": [...]}``), ids in order."""
        if step.route == "put":
            self.calls += 1
            return self.write("PUT", self.module, step.restricted(ids))
        if step.route == "mass_update":
            self.calls += 1
            # Setting the same value twice is harmless: let the client retry dropped calls.
            return self.write(
                "POST", f"{self.module}/actions/mass_update", step.restricted(ids),
                idempotent=True,
            )
        if step.route == "bulk_write":
            return self._bulk(step, ids, job_id=job_id, on_job=on_job)
        raise InputError(f"unknown plan route {step.route!r}: expected one of {ROUTES}")

    def applied(self, step: Step, ids: Sequence[str]) -> list[str]:
        """Read ``ids`` back and keep those already holding the step's values."""
        if not ids or step.route == "bulk_write":
            # A bulk-write file cannot be compared cell by cell without re-parsing its CSV;
            # resending the rows is safe for the values (same values, one more job at most).
            return []
        self.reads += 1
        frame = self._read(list(step.fields), list(ids))
        return applied_ids(frame, step.records(ids), self.infos)

    def write(
        self, method: str, path: str, body: Any, *, idempotent: bool | None = None
    ) -> dict[str, Any]:
        """One write call; the per-record body whatever the HTTP status (400 included).

        Zoho (v8) answers a batch whose every record failed with HTTP 400 and the same
        per-record ``data[]``; ``ZohoClient.request`` returns such an answer (whole-request
        errors raise, typed).
        """
        reply = self.client.request(method, path, json=body, idempotent=idempotent)
        return dict(reply.body) if isinstance(reply.body, Mapping) else {"data": []}

    # -- bulk write ----------------------------------------------------------------------

    def org_id(self) -> str:
        """The org's ``zgid`` (the ``X-CRM-ORG`` header of uploads), read once."""
        if self._org is None:
            body = self.client.request("GET", "org").body or {}
            orgs = body.get("org") or []
            zgid = orgs[0].get("zgid") if orgs and isinstance(orgs[0], Mapping) else None
            if not zgid:
                raise EnvelopeError("GET org: no 'zgid' in the answer; cannot upload a file")
            self._org = str(zgid)
        return self._org

    def upload(self, zip_bytes: bytes, name: str) -> str:
        """Upload a zipped CSV; return its ``file_id``."""
        headers = {"feature": "bulk-write", "X-CRM-ORG": self.org_id()}
        self.calls += 1
        reply = self.client.request(
            "POST", upload_url(self.client.api_domain, self.client.version),
            files={"file": (name, zip_bytes, "application/zip")}, headers=headers,
            idempotent=True,  # an orphan upload costs nothing; a lost one costs the job
        )
        details = (reply.body or {}).get("details") or {}
        file_id = details.get("file_id") if isinstance(details, Mapping) else None
        if not file_id:
            raise EnvelopeError("bulk-write upload: no details.file_id in the answer")
        return str(file_id)

    def create_job(self, body: Mapping[str, Any]) -> str:
        """Create the bulk-write job; return its id."""
        self.calls += 1
        reply = self.client.request("POST", "write", json=dict(body), bulk=True)
        answer = reply.body or {}
        details = answer.get("details") or {}
        job_id = details.get("id") if isinstance(details, Mapping) else None
        if not job_id:
            raise EnvelopeError("bulk-write job: no details.id in the answer")
        return str(job_id)

    def download(self, url: str) -> bytes:
        """The result zip of a finished job (``download_url`` absolute or relative)."""
        if not url.startswith(("http://", "https://")):
            url = f"{self.client.api_domain}/{url.lstrip('/')}"
        self.reads += 1
        data: bytes = self.client.get_bytes(url)
        return data

    def run_bulk_job(
        self,
        zip_bytes: bytes,
        body_for: Callable[[str], Mapping[str, Any]],
        *,
        name: str,
        job_id: str | None = None,
        on_job: Callable[[str], None] | None = None,
    ) -> tuple[Any, bytes]:
        """Upload, create the job (unless ``job_id`` says it exists), wait, download."""
        if job_id is None:
            file_id = self.upload(zip_bytes, name)
            job_id = self.create_job(body_for(file_id))
            if on_job is not None:
                on_job(job_id)
        job = Job(job_id, "bulk_write", module=self.module)
        self.jobs.append(job)
        status = self._wait(job)
        url = getattr(status, "download_url", None)
        if not url:
            raise EnvelopeError(f"bulk-write job {job_id} completed without a download_url")
        return job, self.download(str(url))

    def _bulk(
        self,
        step: Step,
        ids: Sequence[str],
        *,
        job_id: str | None,
        on_job: Callable[[str], None] | None,
    ) -> dict[str, Any]:
        file = step.payload
        sent_ids = list(getattr(file, "ids", step.ids))
        if job_id is None and list(ids) != sent_ids:
            # Resuming: only the rows not yet settled go in a new file.
            csv_bytes = csv_subset(file.csv_bytes, ids)
            zip_bytes = zip_csv(csv_bytes, f"{self.module}.csv")
            sent_ids = [i for i in sent_ids if i in set(ids)]
        else:
            zip_bytes = file.zip_bytes
        _, result = self.run_bulk_job(
            zip_bytes,
            lambda file_id: file.job_body(file_id, version=self.client.version),
            name=f"{self.module}.zip",
            job_id=job_id,
            on_job=on_job,
        )
        parsed = parse_bulk_result(result, ids=sent_ids)
        body = bulk_rows_body(parsed)
        by_id = dict(zip(sent_ids, body["data"], strict=True))
        return {"data": [by_id[i] for i in ids if i in by_id]}
