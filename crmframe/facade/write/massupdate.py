"""Mass update: one value on a whole custom view (a background job) or on given ids.

:func:`mass_update_failures` finds, by reading them back, the records a mass-update job
did not change.

The functions take the :class:`~crmframe.facade.crm.CRM` (``crm``) first: they are
``CRM.mass_update`` and ``CRM.mass_update_failures`` as they stand (see
:class:`~crmframe.facade.write.mixin.WritingMixin`).

Examples
--------
>>> MASS_UPDATE_IDS_PER_CALL
500
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

import pandas as pd

from crmframe.core.codecs import encode_value
from crmframe.core.jobs import job_status
from crmframe.core.metadata import FieldInfo, normalise_fields
from crmframe.core.plan import Costs
from crmframe.errors import (
    CrmframeError,
    InputError,
    ValidationError,
    error_from_envelope,
)
from crmframe.facade.jobs import Job
from crmframe.facade.write.frames import by_id
from crmframe.facade.write.lostview import settle_lost_view
from crmframe.facade.write.readback import applied_ids, read_back
from crmframe.facade.write.result import PushResult
from crmframe.facade.write.run import client_counts, send_steps
from crmframe.facade.write.settle import is_ambiguous, zoho_now
from crmframe.facade.write.steps import Step

__all__ = ["MASS_UPDATE_IDS_PER_CALL", "mass_update", "mass_update_failures", "mass_values"]

#: Zoho's maximum of ids in one mass update by ids.
MASS_UPDATE_IDS_PER_CALL = 500


def mass_values(
    crm: Any, module: str, values: Mapping[str, Any]
) -> tuple[dict[str, Any], dict[str, FieldInfo]]:
    """``values`` checked against the metadata and encoded for the JSON body; and the
    module's parsed field metadata they were checked against."""
    if not isinstance(values, Mapping) or not values:
        raise InputError("values must be a non-empty {field: value} mapping")
    infos = normalise_fields(crm.read_fields(module))
    limit = 3 if module == "Deals" else 1
    if len(values) > limit:
        raise InputError(
            f"Zoho mass-updates {limit} field(s) per call in {module}; got "
            f"{len(values)}: {', '.join(map(str, values))}"
        )
    problems = []
    body: dict[str, Any] = {}
    for name, value in values.items():
        info = infos.get(str(name))
        if info is None:
            problems.append((str(name), value, f"{module} has no field {name!r}"))
        elif not info.mass_updatable:
            problems.append((str(name), value, "this field cannot be mass-updated "
                             "(metadata mass_update is false, or its type is excluded)"))
        else:
            try:
                body[info.api_name] = encode_value(value, info.kind)
            except ValidationError as exc:
                problems.append((str(name), value, str(exc)))
    if problems:
        frame = pd.DataFrame(
            {"id": pd.array([None] * len(problems), dtype="string"),
             "field": [p[0] for p in problems], "value": [p[1] for p in problems],
             "problem": [p[2] for p in problems]}
        )
        raise ValidationError(
            "mass update refused before sending: "
            + "; ".join(f"{p[0]}: {p[2]}" for p in problems), frame,
        )
    return body, infos


def mass_update(
    crm: Any,
    module: str,
    values: Mapping[str, Any],
    *,
    cvid: str | None = None,
    ids: Sequence[str] | None = None,
    over_write: bool | None = None,
    territory: Mapping[str, Any] | None = None,
    poll_interval: float = 2.0,
) -> Job | PushResult:
    """Set one value on many records: a whole custom view (a job) or given ids.

    Parameters
    ----------
    module : str
        Module API name.
    values : dict
        ``{field: value}``: one field (three in Deals), which must be mass-updatable.
    cvid : str, optional
        A custom view: Zoho schedules a background job over its records (≤ 50,000).
    ids : list of str, optional
        Exactly these records, updated at once (500 per call).
    over_write : bool, optional
        For multi-select picklists: replace (True) or add to (False) the values.
    territory : dict, optional
        ``{"id": ..., "include_child": ...}`` with ``cvid``.
    poll_interval : float
        With ``cvid``, when the answer is lost: seconds between the read-backs of the view
        that settle it (:mod:`~crmframe.facade.write.lostview`).

    Returns
    -------
    Job or PushResult
        With ``cvid``: the scheduled :class:`~crmframe.facade.jobs.Job` (watch it with
        ``crm.wait(job)``; then :meth:`mass_update_failures`) — or, when Zoho's answer was
        lost, a :class:`PushResult` settled by reading the view back (one row per record:
        applied, updated by ids, or ``unknown``), never a second job. With ``ids``: a
        :class:`PushResult` with one row per id.

    Raises
    ------
    InputError
        Neither or both of ``cvid`` and ``ids``; too many fields.
    ValidationError
        A field that is unknown or not mass-updatable, or a value that does not fit.

    Examples
    --------
    >>> job = crm.mass_update("Leads", {"Lead_Status": "Contacted"},
    ...                       cvid=view)                  # doctest: +SKIP
    >>> crm.wait(job)                                     # doctest: +SKIP
    """
    if (cvid is None) == (ids is None):
        raise InputError("give exactly one of cvid= (a whole view, as a job) or ids=")
    encoded, infos = mass_values(crm, module, values)
    extra: dict[str, Any] = {}
    if over_write is not None:
        extra["over_write"] = bool(over_write)
    if cvid is not None:
        body: dict[str, Any] = {"data": [encoded], "cvid": str(cvid), **extra}
        if territory is not None:
            body["territory"] = dict(territory)
        counted_from = client_counts(crm)
        sent_after = zoho_now(crm.client)

        def send_view() -> Any:
            # Not idempotent (the client never re-sends it after it may have landed).
            return crm.client.request("POST", f"{module}/actions/mass_update", json=body,
                                      idempotent=False)

        try:
            reply = send_view()
        except CrmframeError as exc:
            if not is_ambiguous(exc):
                raise
            # Zoho lists no mass-update jobs, and a second job would apply the values twice
            # (Modified_Time, workflows): settle by reading the view back instead.
            return settle_lost_view(
                crm, module, str(cvid), encoded, infos, cause=exc, sent_after=sent_after,
                resend_view=lambda: _view_job(send_view(), module),
                update_ids=lambda left: _by_ids(crm, module, encoded, extra, left),
                poll_interval=poll_interval, sleep=time.sleep, counted_from=counted_from,
            )
        return _view_job(reply, module)
    return _by_ids(crm, module, encoded, extra, [str(i) for i in ids or []])


def _by_ids(crm: Any, module: str, encoded: Mapping[str, Any], extra: Mapping[str, Any],
            id_list: Sequence[str]) -> PushResult:
    """A mass update of exactly ``id_list``, 500 ids per call (answered at once)."""
    fields = tuple(encoded)
    costs = Costs()
    steps = [
        Step(n, "mass_update", tuple(chunk), fields,
             {"data": [dict(encoded)], "ids": list(chunk), **extra},
             credits=float(costs.mass_update(len(chunk))))
        for n, chunk in enumerate(
            id_list[start : start + MASS_UPDATE_IDS_PER_CALL]
            for start in range(0, len(id_list), MASS_UPDATE_IDS_PER_CALL)
        )
    ]
    return send_steps(crm, module, steps)


def _view_job(reply: Any, module: str) -> Job:
    """The job of a mass update by view, from Zoho's answer."""
    data = (reply.body or {}).get("data")
    first = data[0] if isinstance(data, list) and data else None
    if isinstance(first, Mapping) and first.get("status") == "error":
        # Refused for the view as a whole (ALREADY_SCHEDULED while a job runs on it,
        # LIMIT_EXCEEDED...): Zoho wraps it in data[]; it is the request's error.
        raise error_from_envelope(first, reply.status)
    # Stamped like every polled status, so progress charts can place it on the time axis.
    status = job_status(reply.body).with_observed_at(datetime.now(timezone.utc))
    return Job.from_status(status, module=module)


def mass_update_failures(
    crm: Any,
    job: Job,
    values: Mapping[str, Any],
    *,
    cvid: str | None = None,
    ids: Sequence[str] | None = None,
    wait: bool = True,
    poll_interval: float = 2.0,
) -> pd.DataFrame:
    """The records a mass-update job did not change, found by reading them back.

    Waits for the job (unless ``wait=False``); when it reports ``Failed_Count > 0`` (or
    fewer updated than total), reads ``values``' fields for the view's records (or
    ``ids``) and lists those not holding the value.

    Parameters
    ----------
    job : Job
        From :meth:`mass_update` with ``cvid``.
    values : dict
        The values the mass update set.
    cvid : str, optional
        The view the job ran on.
    ids : list of str, optional
        The records to check instead of the view's (a view whose criteria involve the
        updated field no longer lists the updated records).
    wait : bool
        Wait for the job first.
    poll_interval : float
        Seconds between status polls.

    Returns
    -------
    DataFrame
        ``id``, ``field``, ``expected``, ``actual``, ``code`` (``NOT_UPDATED``), one row per
        record and field not holding the value; empty when the job failed nothing.
    """
    if job.module is None:
        raise InputError("the job has no module; give the Job mass_update returned")
    status = crm.wait(job, interval=poll_interval) if wait else job.status
    columns = ["id", "field", "expected", "actual", "code"]
    nothing: pd.DataFrame = pd.DataFrame({c: pd.Series([], dtype="string" if c != "expected"
                                         and c != "actual" else object) for c in columns})
    if status is None:
        return nothing
    short = (status.failed or 0) > 0 or (
        status.total is not None and status.updated is not None
        and status.updated < status.total
    )
    if not short:
        return nothing
    module = job.module
    encoded, infos = mass_values(crm, module, values)
    if ids is not None:
        current = read_back(crm, module, list(encoded), [str(i) for i in ids])
    else:
        current = by_id(crm.read_records(
            module, fields=list(encoded), cvid=cvid, progress=False))
    records = [{"id": str(i), **encoded} for i in current.index.tolist()]
    done = set(applied_ids(current, records, infos))
    rows = []
    for rid in current.index.tolist():
        if str(rid) in done:
            continue
        for name, want in encoded.items():
            column = f"{name}.id" if f"{name}.id" in current.columns else name
            rows.append({"id": str(rid), "field": name, "expected": want,
                         "actual": current.loc[rid, column], "code": "NOT_UPDATED"})
    if not rows:
        return nothing
    out: pd.DataFrame = pd.DataFrame(rows, columns=columns)
    out["id"] = out["id"].astype("string")
    out["field"] = out["field"].astype("string")
    out["code"] = out["code"].astype("string")
    return out
