"""Running a prepared push: steps through the executor (journaled when asked), progress,
and every row gathered into a :class:`~crmframe.facade.write.result.PushResult`.

Examples
--------
>>> from crmframe.facade.write.steps import Step
>>> step = Step(0, "put", ("1",), ("Phone",), {"data": [{"id": "1", "Phone": "5"}]})
>>> planned_rows([step])[0][["id", "status", "code"]].values.tolist()
[['1', 'planned', 'DRY_RUN']]
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pandas as pd

from crmframe.core.metadata import FieldInfo, normalise_fields
from crmframe.core.results import ResultsBuilder
from crmframe.facade.write.conflicts import Guard, describe_conflicts
from crmframe.facade.write.execute import execute
from crmframe.facade.write.journal import Journal, plan_fingerprint
from crmframe.facade.write.prepare import Prepared
from crmframe.facade.write.readback import read_back
from crmframe.facade.write.result import PushResult, concat_results
from crmframe.facade.write.rows import add_outcome, status_rows
from crmframe.facade.write.sender import CrmSender
from crmframe.facade.write.steps import Step, StepOutcome, steps_from_plan

__all__ = ["StepProgress", "planned_rows", "run_push", "send_steps"]

def planned_rows(steps: Sequence[Step]) -> list[pd.DataFrame]:
    """A dry run's rows: what each step would send (status ``planned``)."""
    frames = []
    for step in steps:
        records = step.records()
        frames.append(
            status_rows(
                [str(r["id"]) for r in records], status="planned", code="DRY_RUN",
                message=f"would be sent by {step.route}", route=step.route, call=step.index,
                fields=[[str(k) for k in r if k != "id"] for r in records],
            )
        )
    return frames


def _in_notebook() -> bool:
    shell = getattr(sys.modules.get("IPython"), "get_ipython", lambda: None)()
    return type(shell).__name__ == "ZMQInteractiveShell"


class StepProgress:
    """A ``tqdm.auto`` bar over the records of a push: when asked, or in a notebook when
    the push takes more than one call."""

    def __init__(self, wanted: bool | None, steps: Sequence[Step]) -> None:
        self.bar: Any = None
        show = wanted is True or (wanted is None and len(steps) > 1 and _in_notebook())
        if show:
            from tqdm.auto import tqdm

            total = sum(len(s.ids) for s in steps)
            self.bar = tqdm(total=total, desc="push", unit="rec", leave=True)

    def update(self, outcome: StepOutcome) -> None:
        """Advance by the step's records."""
        if self.bar is not None:
            self.bar.update(len(outcome.step.ids))

    def close(self) -> None:
        """Close the bar (if any)."""
        if self.bar is not None:
            self.bar.close()


def client_counts(crm: Any) -> tuple[int, int] | None:
    """``(requests, writes)`` the connection's client has sent so far (``None`` for a
    client that does not count)."""
    client = getattr(crm, "client", None)
    sent = getattr(client, "request_count", None)
    writes = getattr(client, "write_count", None)
    if isinstance(sent, int) and isinstance(writes, int):
        return sent, writes
    return None


def _counted(crm: Any, since: tuple[int, int] | None) -> tuple[int, int] | None:
    now = client_counts(crm)
    if since is None or now is None:
        return None
    return now[0] - since[0], now[1] - since[1]


def run_push(
    crm: Any,
    prepared: Prepared,
    *,
    dry_run: bool,
    trigger: Sequence[str] | None,
    journal: str | os.PathLike[str] | None,
    overwrite: bool,
    retry_with: Callable[[PushResult, bool], PushResult] | None,
    poll_interval: float = 2.0,
    progress: bool | None = None,
    counted_from: tuple[int, int] | None = None,
) -> PushResult:
    """Execute a prepared plan and gather every row into a :class:`PushResult`.

    ``counted_from`` is :func:`client_counts` when the push began: the result's ``calls``
    are every request since (reads, writes, polls, uploads, downloads; the client's retries
    included, token refreshes apart), ``writes`` the write requests among them.
    """
    steps = steps_from_plan(prepared.plan, trigger=trigger)
    frames = list(prepared.skipped)
    if dry_run:
        frames += planned_rows(steps)
        results, _ = describe_conflicts(crm, prepared.module, concat_results(frames))
        counted = _counted(crm, counted_from)
        reads = counted[0] if counted is not None else prepared.reads
        return PushResult(
            results, calls=reads, credits=float(reads), reads=reads, writes=0,
            plan=prepared.plan, changes=prepared.changes, dry_run=True, overwrite=overwrite,
        )
    bar = StepProgress(progress, steps)
    try:
        sender, outcomes = _execute(
            crm, prepared.module, prepared.infos, steps, journal=journal,
            poll_interval=poll_interval, extra={"conflicts": prepared.conflicts},
            on_step=bar.update, guard=prepared.guard,
            stamps=baseline_stamps(prepared.baseline),
        )
    finally:
        bar.close()
    frames.append(_outcome_results(outcomes))
    results, described = describe_conflicts(crm, prepared.module, concat_results(frames))
    counted = _counted(crm, counted_from)
    if counted is not None:
        calls, writes = counted
    else:
        writes = sender.calls
        calls = writes + prepared.reads + sender.reads + described
    reads = calls - writes
    # Writes by the plan's cost model (steps that made a call); every other request, read
    # or upload, 1 credit.
    credits = _credits(outcomes) + reads + sender.uploads
    return PushResult(
        results, calls=calls, credits=credits, reads=reads, writes=writes,
        jobs=sender.jobs, plan=prepared.plan, changes=prepared.changes,
        retry_with=retry_with, overwrite=overwrite,
    )


def _outcome_results(outcomes: Sequence[StepOutcome]) -> pd.DataFrame:
    # One frame for every call of the push, typed once (not one small frame per call).
    builder = ResultsBuilder()
    for outcome in outcomes:
        add_outcome(builder, outcome)
    return builder.to_frame()


def _execute(
    crm: Any,
    module: str,
    infos: Mapping[str, FieldInfo],
    steps: Sequence[Step],
    *,
    journal: str | os.PathLike[str] | None,
    poll_interval: float,
    extra: Mapping[str, Any] | None = None,
    on_step: Callable[[StepOutcome], None] | None = None,
    guard: Guard | None = None,
    stamps: Mapping[str, Any] | None = None,
) -> tuple[CrmSender, list[StepOutcome]]:
    """Send ``steps`` through a :class:`CrmSender` for ``crm``, journaled when asked."""
    sender = CrmSender(
        crm.client, module, infos,
        read=lambda fields, ids: read_back(crm, module, fields, ids),
        wait=lambda job: crm.wait(job, interval=poll_interval),
        guard=guard,
        stamps=stamps,
        poll_interval=poll_interval,
    )
    if journal is not None and steps:
        fingerprint = plan_fingerprint(s.payload for s in steps)
        with Journal.open(journal, fingerprint, [s.describe() for s in steps],
                          module=module, extra=extra) as book:
            if guard is not None:
                # Records this push already wrote carry the stamps of its own replies.
                for step in steps:
                    for ids, body in book.step_state(step.index).confirmed:
                        guard.note(ids, body)
            return sender, execute(steps, sender, journal=book, on_step=on_step)
    return sender, execute(steps, sender, on_step=on_step)


def baseline_stamps(baseline: Any) -> dict[str, Any]:
    """``{id: Modified_Time}`` of a baseline frame (empty without that column)."""
    if not isinstance(baseline, pd.DataFrame) or "Modified_Time" not in baseline.columns:
        return {}
    ids = baseline.index if baseline.index.name == "id" or "id" not in baseline.columns \
        else pd.Index(baseline["id"])
    return {str(i): t for i, t in zip(ids.tolist(), baseline["Modified_Time"].tolist(),
                                      strict=True) if not pd.isna(t)}


def _credits(outcomes: Sequence[StepOutcome]) -> float:
    """Credits of the steps that made a call (steps settled from a journal cost nothing)."""
    return sum(o.step.credits for o in outcomes if o.calls)


def send_steps(
    crm: Any,
    module: str,
    steps: Sequence[Step],
    *,
    journal: str | os.PathLike[str] | None = None,
    poll_interval: float = 2.0,
) -> PushResult:
    """Send ready-made steps (no diff, no validation) and report every record.

    For bodies crmframe would not build itself — replaying a payload, reproducing an
    error — and for :meth:`WritingMixin.mass_update` by ids.

    Examples
    --------
    >>> step = Step(0, "put", ("738964000002148061",), ("Phone",),
    ...             {"data": [{"id": "738964000002148061", "Phone": "98883434559"}]})
    >>> send_steps(crm, "Leads", [step]).results           # doctest: +SKIP
    """
    # Field metadata only serves read-backs, which only a journal resume makes; not asking
    # for it otherwise lets a step reach Zoho even for a module Zoho will refuse.
    infos = normalise_fields(crm.read_fields(module)) if journal is not None else {}
    counted_from = client_counts(crm)
    sender, outcomes = _execute(crm, module, infos, steps, journal=journal,
                                poll_interval=poll_interval)
    frames = [_outcome_results(outcomes)]
    counted = _counted(crm, counted_from)
    calls, writes = counted if counted is not None else (sender.calls + sender.reads,
                                                           sender.calls)
    reads = calls - writes
    return PushResult(concat_results(frames), calls=calls, writes=writes,
                      credits=_credits(outcomes) + reads + sender.uploads, reads=reads,
                      jobs=sender.jobs)
