"""Step outcomes as result rows: one per record and call, whatever happened to it.

Examples
--------
>>> status_rows(["1", "2"], status="not_sent", code="NOT_SENT", message="stopped")[
...     "status"].tolist()
['not_sent', 'not_sent']
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from crmframe.core.results import ResultsBuilder
from crmframe.errors import CrmframeError, JobTimeout, TransportError
from crmframe.facade.write.steps import Step, StepOutcome

__all__ = [
    "VERIFIED_MESSAGE", "add_outcome", "outcome_rows", "problem_rows", "reply_rows",
    "status_rows",
]

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
    builder = ResultsBuilder()
    _add_reply(builder, step, ids, body)
    rows: pd.DataFrame = builder.to_frame().reset_index(drop=True)
    return rows


def status_rows(
    ids: Sequence[str | None],
    *,
    status: str,
    code: str,
    message: str | Sequence[str],
    route: str | None = None,
    call: int | None = None,
    fields: Sequence[Sequence[str]] | Sequence[str] | None = None,
    details: Sequence[Mapping[str, Any]] | None = None,
) -> pd.DataFrame:
    """Rows crmframe writes itself (skipped, not sent, verified...), one per id.

    ``message`` is one text for all ids, or one per id; ``fields`` is one list for all
    ids, or one list per id. An id may be ``None`` (a row or column with no record).

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
            "id": pd.array([None if i is None else str(i) for i in ids], dtype="string"),
            "route": pd.array([route] * n, dtype="string"),
            "call": pd.array([call] * n, dtype="Int64"),
            "fields": pd.Series(per_id, dtype=object),
            "code": code,
            "status": status,
            "message": pd.array(
                [message] * n if isinstance(message, str) else list(message), dtype="string"
            ),
            "details": pd.Series(
                [dict(d) for d in details] if details is not None else [{} for _ in range(n)],
                dtype=object,
            ),
        }
    )
    return rows


def _add_reply(
    builder: ResultsBuilder, step: Step, ids: Sequence[str], body: Mapping[str, Any]
) -> None:
    """:func:`reply_rows` into a builder: the same rows, no frame per call."""
    records = step.records(ids)
    sent = [str(r["id"]) for r in records]
    by_id = {str(r["id"]): _sent_fields(r) or _step_fields(step) for r in records}
    default = _step_fields(step)
    where = {"route": step.route, "call": step.index,
             "fields": lambda i: list(by_id.get(str(i), default))}
    if "error" in body and isinstance(body["error"], Mapping):
        err = body["error"]
        details = err.get("details") if isinstance(err.get("details"), Mapping) else {}
        builder.add_rows(sent, status="error", code=str(err.get("code") or "ERROR"),
                         message=str(err.get("message") or ""),
                         details=[dict(details or {}) for _ in sent], **where)
        return
    start = builder.rows
    try:
        builder.add(_broadcast(body, len(records)), records=records, in_order=True, **where)
    except CrmframeError as exc:
        # The call was made: its records must still be reported, as unknown.
        builder.add_rows(sent, status="unknown", code="UNREADABLE_ANSWER",
                         message=f"the answer could not be read: {exc}", **where)
        return
    answered = {i for i in builder.ids_from(start) if isinstance(i, str)}
    missing = [i for i in sent if i not in answered]
    if missing:
        builder.add_rows(missing, status="unknown", code="NO_ANSWER",
                         message="Zoho's answer has no result for this record", **where)


def add_outcome(builder: ResultsBuilder, outcome: StepOutcome) -> None:
    """Every row one step contributes to ``PushResult.results``, into ``builder``
    (the rows of :func:`outcome_rows`, built once for the whole push)."""
    step = outcome.step
    for ids, body in outcome.parts:
        if ids:
            _add_reply(builder, step, ids, body)
    records = {str(r["id"]): _sent_fields(r) or _step_fields(step) for r in step.records()}
    where = {"route": step.route, "call": step.index}
    if outcome.verified:
        builder.add_rows(outcome.verified, status="success", code="SUCCESS",
                         message=VERIFIED_MESSAGE, **where,
                         fields=[list(records.get(i, list(step.fields)))
                                 for i in outcome.verified])
    if outcome.unsettled:
        fields = [list(records.get(i, list(step.fields))) for i in outcome.unsettled]
        if outcome.reason == "unknown":
            code = "TRANSPORT_ERROR" if isinstance(outcome.error, TransportError) else (
                "JOB_TIMEOUT" if isinstance(outcome.error, JobTimeout) else "NO_ANSWER")
            after = ({"sent_after": outcome.sent_after.isoformat()}
                     if outcome.sent_after is not None else {})
            builder.add_rows(outcome.unsettled, status="unknown", code=code,
                             message=f"sent, outcome unknown: {outcome.error}", **where,
                             fields=fields, details=[dict(after) for _ in outcome.unsettled])
        else:
            cause = getattr(outcome.error, "code", None) or type(outcome.error).__name__
            builder.add_rows(
                outcome.unsettled, status="not_sent", code="NOT_SENT",
                message=f"not sent: the push stopped at an earlier error ({cause})", **where,
                fields=fields,
            )


def outcome_rows(outcome: StepOutcome) -> list[pd.DataFrame]:
    """Every row one step contributes to ``PushResult.results`` (one frame)."""
    builder = ResultsBuilder()
    add_outcome(builder, outcome)
    return [builder.to_frame().reset_index(drop=True)]


def problem_rows(problems: pd.DataFrame) -> pd.DataFrame:
    """Validation problems as skipped result rows (code ``VALIDATION``)."""
    ids = [None if v is None or pd.isna(v) else str(v) for v in problems["id"].tolist()]
    return status_rows(
        ids, status="skipped", code="VALIDATION",
        message=[str(p) for p in problems["problem"].tolist()],
        fields=[[str(f)] for f in problems["field"].tolist()],
        details=[{"value": v} for v in problems["value"].tolist()]
        if "value" in problems.columns else None,
    )
