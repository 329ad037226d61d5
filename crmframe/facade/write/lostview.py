"""A mass update by custom view whose answer was lost: settled, never scheduled twice.

Zoho answers ``POST /{module}/actions/mass_update`` with ``cvid`` by scheduling a job and
returning its id; when that answer is lost the job may exist with its id unknown, and Zoho
lists no mass-update jobs (UNCONFIRMED). Sending the request again could run the update
twice (``Modified_Time`` moves again, workflows run again). So :func:`settle_lost_view`:

1. reads the view's records back (values and ``Modified_Time``) until every one holds the
   value, or nothing among the rest moved for
   :data:`~crmframe.facade.write.orphans.QUIET_POLLS` polls in a row;
2. records holding the value: ``success`` (the job ran — unless they held it since before
   the request, which proves nothing about the job); records modified since the
   request went out (Zoho's clock before it) but not holding the value: ``unknown``,
   never re-sent; records untouched since then: provably not reached;
3. when some records were applied, the untouched ones are updated by ids (the job ran and
   left them; a mass update by ids is answered at once); when none was, the update is sent
   by view once more: a job still scheduled on the view makes Zoho refuse it
   (``ALREADY_SCHEDULED``, and the records are reported ``unknown`` — watch the view),
   otherwise the first request never made a job and this one is the only one.

A view whose criteria use the updated field stops listing the records the job updated:
those are not read back (they are not in the view any more) and not reported.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import pandas as pd

from crmframe.core.metadata import FieldInfo
from crmframe.errors import CrmframeError, ZohoAPIError
from crmframe.facade.jobs import Job
from crmframe.facade.write.conflicts import stamps_of
from crmframe.facade.write.frames import by_id
from crmframe.facade.write.orphans import settle_until_stable
from crmframe.facade.write.readback import read_back
from crmframe.facade.write.result import PushResult, concat_results
from crmframe.facade.write.rows import status_rows
from crmframe.facade.write.run import client_counts
from crmframe.facade.write.settle import (
    AMBIGUOUS_CODE,
    APPLIED_MESSAGE,
    Settled,
    settle,
    unknown_message,
)

__all__ = ["HELD_MESSAGE", "settle_lost_view"]

#: Message of a view record that held the value before the lost request went out.
HELD_MESSAGE = "already held the value before the request (its answer was lost)"


def settle_lost_view(
    crm: Any,
    module: str,
    cvid: str,
    encoded: Mapping[str, Any],
    infos: Mapping[str, FieldInfo],
    *,
    cause: CrmframeError,
    sent_after: pd.Timestamp | None,
    resend_view: Callable[[], Job],
    update_ids: Callable[[list[str]], PushResult],
    poll_interval: float,
    sleep: Callable[[float], None],
    counted_from: tuple[int, int] | None,
) -> Job | PushResult:
    """Settle a lost mass update of view ``cvid`` (see the module docstring).

    Returns the :class:`~crmframe.facade.jobs.Job` of a re-sent request when the first
    provably made none, else a :class:`PushResult` with one row per record of the view
    (its ``calls`` every request since ``counted_from``, :func:`client_counts`).
    """
    fields = [*encoded, "Modified_Time"]
    view = by_id(crm.read_records(module, fields=fields, cvid=str(cvid), progress=False))
    every = [str(i) for i in view.index.tolist()]
    # Records holding the value since before the request prove nothing about the job.
    held = set(settle(view, [{"id": i, **encoded} for i in every], infos).applied) & {
        i for i, when in stamps_of(view).items()
        if sent_after is not None and when < sent_after.floor("s").timestamp()}
    ids = [i for i in every if i not in held]
    records = [{"id": i, **encoded} for i in ids]
    settled: Settled = settle_until_stable(
        lambda pending: read_back(crm, module, fields, list(pending)), records, infos,
        stamps={}, sent_after=sent_after, sleep=lambda: sleep(poll_interval),
    ) if ids else Settled()
    frames = []
    if held:
        frames.append(status_rows([i for i in every if i in held], status="success",
                                  code="SUCCESS", message=HELD_MESSAGE, route="mass_update",
                                  fields=list(encoded)))
    if settled.applied:
        frames.append(status_rows(settled.applied, status="success", code="SUCCESS",
                                  message=APPLIED_MESSAGE, route="mass_update",
                                  fields=list(encoded)))
    if settled.unknown:
        frames.append(status_rows(
            settled.unknown, status="unknown", code=AMBIGUOUS_CODE, route="mass_update",
            fields=list(encoded), message=unknown_message(
                cause, "the record was modified since the request went out, so whether the "
                "job reached it cannot be told")))
    if settled.not_applied and not settled.applied:
        try:
            return resend_view()  # no record was reached: the first request made no job
        except ZohoAPIError as exc:
            if exc.code != "ALREADY_SCHEDULED":
                raise
            frames.append(status_rows(
                settled.not_applied, status="unknown", code="ALREADY_SCHEDULED",
                route="mass_update", fields=list(encoded), message=unknown_message(
                    cause, "Zoho refused the request again as a job is scheduled on the view "
                    "(the lost one): its records are not reached yet; wait, then "
                    "mass_update_failures")))
    elif settled.not_applied:
        # The job ran and left these untouched: update exactly them, by ids.
        frames.append(update_ids(list(settled.not_applied)).results)
    results = concat_results(frames)
    now, before = client_counts(crm), counted_from
    calls, writes = ((now[0] - before[0], now[1] - before[1])
                     if now is not None and before is not None else (0, 0))
    return PushResult(results, calls=calls, writes=writes, credits=float(calls),
                      reads=calls - writes)
