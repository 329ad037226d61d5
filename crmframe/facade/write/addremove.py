"""``push(..., inserts=True, deletes=True)``: the added and removed rows of a push.

By default a push reports added rows (``NOT_PUSHED_INSERT``) and removed rows
(``NOT_PUSHED_DELETE``) without sending them. When opted in, :func:`prepare_rows` decides —
before any call, like the rest of the push — what goes:

* **inserts**: added rows without an id, or with a label that is not a Zoho id (the
  ``0, 1, 2`` a ``pd.concat`` gives new rows), are checked like :meth:`crm.insert` checks
  its frame (every problem at once) and go by POST batches of 100 or, when cheaper, by
  bulk-write jobs (:func:`~crmframe.core.inserts.insert_route`). Only writable
  columns are sent: the read-only and label columns of a read frame (``Modified_Time``,
  ``Owner.name``...) are not. A row with a well-formed id unknown to the original stays
  ``NOT_PUSHED_INSERT`` (it names a record, it is not a new one).
* **deletes**: removed ids, with the same conflict rule as updates — a record changed in
  Zoho since it was read (``Modified_Time``) is not deleted (``CONFLICT``) unless
  ``overwrite=True``: deleting it would destroy a colleague's edit unseen.

Their calls and credits are counted with the push's, and the result's ``plan`` lists them
as steps of their own routes (``insert``, ``bulk_insert``, ``delete``:
:func:`~crmframe.core.inserts.with_row_steps`); :func:`send_rows` sends them after the
updates.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from crmframe.core.inserts import (
    InsertRoute,
    NewRecords,
    insert_route,
    new_records,
    post_credits,
    same_answer,
    with_row_steps,
)
from crmframe.core.metadata import FieldInfo, normalise_fields
from crmframe.core.plan import DEFAULT_BULK_THRESHOLD, Objective
from crmframe.errors import CrmframeError
from crmframe.facade.write import creating
from crmframe.facade.write.conflicts import Guard, read_time, stamps_of
from crmframe.facade.write.frames import by_id
from crmframe.facade.write.result import PushResult, concat_results
from crmframe.facade.write.rows import status_rows
from crmframe.facade.write.run import client_counts
from crmframe.facade.write.settle import zoho_now

__all__ = ["RowPlan", "prepare_rows", "send_rows"]

_ZOHO_ID = re.compile(r"^\d{18,19}$")


@dataclass
class RowPlan:
    """The inserts and deletes a push sends, decided before any call."""

    insert_positions: list[int] = field(default_factory=list)
    new: NewRecords | None = None
    insert_frame: pd.DataFrame | None = None
    route: InsertRoute | None = None
    delete_ids: list[str] = field(default_factory=list)
    skipped: list[pd.DataFrame] = field(default_factory=list)
    reads: int = 0


def _is_new(value: Any) -> bool:
    if value is None or pd.isna(value):
        return True
    return not _ZOHO_ID.match(str(value))


def _writable_columns(columns: Sequence[Any], infos: dict[str, FieldInfo]) -> list[Any]:
    keep = []
    for column in columns:
        name = str(column)
        head, dot, tail = name.rpartition(".")
        lookup_id = dot and tail == "id" and head in infos and infos[head].writable
        if lookup_id or (name in infos and infos[name].writable):
            keep.append(column)
    return keep


def prepare_rows(
    crm: Any,
    module: str,
    infos: dict[str, FieldInfo],
    edited: pd.DataFrame,
    original: pd.DataFrame | None,
    changes: Any,
    *,
    baseline: pd.DataFrame,
    inserts: bool,
    deletes: bool,
    overwrite: bool,
    objective: Objective = "calls",
    bulk_threshold: int | None = DEFAULT_BULK_THRESHOLD,
) -> RowPlan:
    """What of the added/removed rows a push sends; raises ``ValidationError`` first.

    The returned :class:`RowPlan` carries the rows reporting what is not sent
    (``NOT_PUSHED_INSERT`` for rows naming unknown ids, ``CONFLICT`` for deletes).
    """
    plan = RowPlan()
    if inserts and len(changes.added_rows):
        table = by_id(edited)
        # the ids the diff compared against: the original, or the baseline read back
        known = set(by_id(baseline).index.dropna().tolist())
        labels = table.index.tolist()
        plan.insert_positions = [p for p, v in enumerate(labels)
                                 if _is_new(v) and (v is None or pd.isna(v) or v not in known)]
        kept = [str(v) for p, v in enumerate(labels)
                if not _is_new(v) and v not in known]
        if kept:
            plan.skipped.append(status_rows(
                kept, status="skipped", code="NOT_PUSHED_INSERT",
                message="row with an id the original does not have: not inserted (a new "
                        "record has no id yet)"))
        if plan.insert_positions:
            rows = table.iloc[plan.insert_positions]
            rows = rows[_writable_columns(rows.columns, infos)].reset_index(drop=True)
            rows.attrs = {}
            plan.new = new_records(rows, infos)
            plan.insert_frame = rows
            plan.route = insert_route(len(rows), objective=objective,
                                      bulk_threshold=bulk_threshold)
    if deletes and changes.removed_ids:
        ids = list(changes.removed_ids)
        found: dict[str, dict[str, Any]] = {}
        read_at = read_time(original) if original is not None else None
        if original is not None and ("Modified_Time" in original.columns
                                     or read_at is not None):
            # The same check as updates (conflicts.Guard): one listing of the module's
            # changes since the read when that is cheaper than reading the ids back.
            guard = Guard(crm, module, stamps_of(by_id(original)), since=read_at,
                          fallback=read_at)
            before = client_counts(crm)
            found = guard.changed(ids)
            after = client_counts(crm)
            plan.reads += (after[0] - before[0]) if before and after else 1
        if found and not overwrite:
            conflicts = [i for i in ids if i in found]
            plan.skipped.append(status_rows(
                conflicts, status="skipped", code="CONFLICT", route="delete",
                message="changed in Zoho since it was read (Modified_Time differs): not "
                        "deleted; push with overwrite=True to delete anyway",
                details=[{"theirs": dict(found[i])} for i in conflicts]))
            ids = [i for i in ids if i not in found]
        plan.delete_ids = ids
    return plan


def planned(plan: RowPlan) -> list[pd.DataFrame]:
    """Dry-run rows (``planned``) for the inserts and deletes."""
    frames: list[pd.DataFrame] = []
    if plan.new is not None and plan.route is not None:
        route = "insert" if plan.route.route == "post" else "bulk_insert"
        frames.append(same_answer(plan.new.records, code="DRY_RUN", status="planned",
                                  message=f"would be inserted by {plan.route.route}",
                                  route=route))
    if plan.delete_ids:
        frames.append(same_answer(plan.delete_ids, code="DRY_RUN", status="planned",
                                  message="would be deleted", route="delete"))
    return frames


def send_rows(crm: Any, module: str, plan: RowPlan, *, trigger: Sequence[str] | None,
              poll_interval: float, progress: bool | None) -> list[PushResult]:
    """Send the plan's inserts, then its deletes."""
    out: list[PushResult] = []
    if plan.new is not None and plan.insert_frame is not None and plan.route is not None:
        if plan.route.route == "bulk_write":
            out.append(creating.bulk_insert(crm, plan.insert_frame, module, plan.new,
                                            poll_interval=poll_interval))
        else:
            # As crm.insert: a batch whose answer is lost is settled by reading back (the
            # records it created found by their values), never re-sent blindly.
            infos = normalise_fields(crm.read_fields(module))
            sent_after = zoho_now(crm.client)
            claimed: set[str] = set()

            def settle(batch: Sequence[Any], exc: CrmframeError, call: int) -> pd.DataFrame:
                return creating.settle_inserts(
                    crm, module, infos, list(batch), exc, call, sent_after,
                    lambda left: creating.request_body(left, trigger), claimed=claimed)

            results, calls = creating.send_batches(
                crm, "POST", module, plan.new.records, route="insert",
                body_of=lambda batch: creating.request_body(batch, trigger),
                progress=progress, settle=settle, claimed=claimed)
            out.append(PushResult(results, calls=calls,
                                  credits=post_credits(len(plan.new.records), calls)))
    if plan.delete_ids:
        out.append(creating.delete(crm, plan.delete_ids, module=module, trigger=trigger,
                                   progress=progress))
    return out


def combine(main: PushResult, extra: list[PushResult], plan: RowPlan,
            counted: tuple[int, int] | None = None) -> PushResult:
    """One :class:`PushResult` for the updates, inserts and deletes of a push.

    ``counted`` is ``(requests, writes)`` the client sent during the whole push, when it
    counts them: then ``calls`` is every request (the deletes' conflict read, bulk polls
    and downloads included) and each request not priced by the cost model costs 1 credit.
    """
    frames = [main.results, *plan.skipped, *[r.results for r in extra]]
    retry = main._retry_with

    def again(result: PushResult, overwrite: bool) -> PushResult:
        mine = result.results["route"].isin(["insert", "bulk_insert", "delete"]).fillna(False)
        part = PushResult(result.results[~mine], overwrite=result.overwrite,
                          jobs=result.jobs)
        assert retry is not None
        return retry(part, overwrite)

    full = (with_row_steps(main.plan, plan.route, plan.new, plan.delete_ids)
            if main.plan is not None else None)
    known_reads = main.reads + sum(r.reads for r in extra)
    credits = main.credits + sum(r.credits for r in extra)
    if counted is not None:
        calls, writes = counted
        credits += max(0, (calls - writes) - known_reads)
    else:
        # every request: the updates', the inserts' and deletes', the deletes' conflict read
        calls = main.calls + sum(r.calls for r in extra) + plan.reads
        writes = main.writes + sum(r.writes for r in extra)
        credits += plan.reads
    out = PushResult(
        concat_results(frames), calls=calls, credits=credits, reads=calls - writes,
        writes=writes,
        jobs=[*main.jobs, *(j for r in extra for j in r.jobs)],
        plan=full, changes=main.changes, retry_with=again if retry is not None else None,
        dry_run=main.dry_run, overwrite=main.overwrite,
    )
    return out
