"""Everything decided before the first write call of a push.

Module and field metadata → baseline (given, or read back for the edited ids and columns)
→ :func:`~crmframe.core.diff.diff` → validation (all problems at once) → conflict check
(:mod:`~crmframe.facade.write.conflicts`) → :func:`~crmframe.core.plan.make_plan`. What
cannot be sent (added and removed rows, unpushable edits, duplicate ids, invalid edits,
conflicts) becomes skipped result rows.

Examples
--------
>>> problem_rows(pd.DataFrame({"id": ["1"], "field": ["Email"], "value": ["x"],
...     "problem": ["not an email"]}))[["id", "code"]].values.tolist()
[['1', 'VALIDATION']]
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from crmframe.core.diff import ChangeSet, diff
from crmframe.core.metadata import FieldInfo, normalise_fields
from crmframe.core.plan import Objective, make_plan
from crmframe.core.validate import find_problems, split_valid, validate
from crmframe.errors import InputError
from crmframe.facade.write.conflicts import Guard, read_time, stamps_of
from crmframe.facade.write.frames import base_fields, by_id, frame_ids, is_blank, module_of
from crmframe.facade.write.readback import read_back
from crmframe.facade.write.rows import problem_rows, status_rows

__all__ = ["VOLATILE_FIELDS", "Prepared", "prepare_push", "problem_rows", "report_rows"]


#: Fields Zoho changes on its own; not compared when the baseline is read back fresh.
VOLATILE_FIELDS = frozenset({"Modified_Time", "Modified_By", "Last_Activity_Time"})


def report_rows(changes: ChangeSet) -> list[pd.DataFrame]:
    """Rows for every finding of ``diff`` that is not an update (nothing is dropped)."""
    frames: list[pd.DataFrame] = []
    added = changes.added_rows
    if len(added):
        ids = [None if v is None or pd.isna(v) else str(v) for v in added.index.tolist()]
        frames.append(
            status_rows(
                ids, status="skipped", code="NOT_PUSHED_INSERT",
                message="row without a known id: push updates records, it does not insert",
                fields=[[str(c) for c in added.columns if not is_blank(row[c])]
                        for _, row in added.iterrows()],
                details=[{"row": n} for n in range(len(added))],
            )
        )
    if changes.removed_ids:
        frames.append(
            status_rows(list(changes.removed_ids), status="skipped", code="NOT_PUSHED_DELETE",
                        message="row removed from the edited frame: push never deletes records")
        )
    if changes.duplicate_ids:
        frames.append(
            status_rows(list(changes.duplicate_ids), status="skipped", code="DUPLICATE_ID",
                        message="id appears more than once: its rows were left out")
        )
    unpushable = changes.unpushable
    if len(unpushable):
        frames.append(
            status_rows(
                [str(i) for i in unpushable["id"].tolist()], status="skipped", code="UNPUSHABLE",
                message=[str(r) for r in unpushable["reason"].tolist()],
                fields=[[str(f)] for f in unpushable["field"].tolist()],
            )
        )
    for column in changes.added_columns:
        frames.append(
            status_rows([None], status="skipped", code="UNPUSHABLE",
                        message="column not in the original (or not a field of the module): "
                        "not compared, not sent", fields=[[column]])
        )
    return frames


@dataclass
class Prepared:
    """Everything decided before the first write call."""

    module: str
    infos: dict[str, FieldInfo]
    baseline: pd.DataFrame
    changes: ChangeSet
    plan: Any = None
    skipped: list[pd.DataFrame] = field(default_factory=list)
    reads: int = 0
    conflicts: list[str] = field(default_factory=list)
    #: The version stamps and the checks that use them.
    guard: Guard | None = None
    #: Without an original: records changed in Zoho since the edited frame was read.
    stale: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: Neither Modified_Time nor a read time: conflicts cannot be told apart.
    unstamped: bool = False
    #: The field metadata and plan options, to plan again without the conflicts.
    fields: Any = None
    plan_options: dict[str, Any] = field(default_factory=dict)
    #: Without an original: the problems found only on stale records (their values are
    #: Zoho's newer ones, a colleague's edit or a formula it recomputed, not the analyst's).
    #: Taken out of the changes; reported as conflicts, or as VALIDATION rows with
    #: ``overwrite=True`` (see decide_conflicts).
    stale_problems: pd.DataFrame | None = None


def prepare_push(
    crm: Any,
    edited: pd.DataFrame,
    original: pd.DataFrame | None,
    *,
    module: str | None,
    push_valid: bool,
    objective: Objective,
    bulk_threshold: int | None,
    costs: Any,
) -> Prepared:
    """Module, metadata, baseline, diff, validation, version stamps and the plan (no
    writes). Conflicts are decided afterwards, by
    :func:`~crmframe.facade.write.conflicts.decide_conflicts`, right before sending.

    Without ``original`` the current values are read back for the edited ids and columns
    (with their ``Modified_Time``): records whose ``Modified_Time`` differs from the
    edited frame's are stale (``Prepared.stale``), the others are diffed against their
    current values.
    """
    if not isinstance(edited, pd.DataFrame):
        raise InputError(f"edited must be a DataFrame, got {type(edited).__name__}")
    name = module_of(edited, original, module)
    meta = crm.read_fields(name)
    infos = normalise_fields(meta)
    # Parsed once: diff, validation and the plan take the parsed mapping as it is
    # (normalise_fields); an empty one would be read as an envelope, hence the raw.
    fields = infos or meta
    edited_ix = by_id(edited)
    stale: dict[str, dict[str, Any]] = {}
    if original is None:
        wanted = [f for f in base_fields(list(edited_ix.columns)) if f in infos] or ["id"]
        stamped = "Modified_Time" in infos
        ask = list(dict.fromkeys([*wanted, "Modified_Time", "Modified_By"])) if stamped else wanted
        current = read_back(crm, name, ask, frame_ids(edited_ix))
        current_stamps = stamps_of(current)
        stale = stale_records(edited_ix, current)
        # Only the edited columns are compared (the read may bring extra lookup parts), and
        # not those Zoho changes by itself: a fresh baseline would flag them as edits.
        volatile = [c for c in edited_ix.columns if set(base_fields([c])) & VOLATILE_FIELDS]
        edited_ix = edited_ix.drop(columns=volatile)
        keep = [c for c in current.columns if c in set(map(str, edited_ix.columns))]
        baseline = current[keep]
        baseline.attrs = dict(current.attrs)
        baseline.attrs["module"] = name
        guard = Guard(crm, name, current_stamps, since=read_time(current))
        # The frame's own stamps decide staleness; without them only a read time can.
        unstamped = "Modified_Time" not in edited.columns and read_time(edited) is None
    else:
        baseline = by_id(original)
        read_at = read_time(original)
        guard = Guard(crm, name, stamps_of(baseline), since=read_at, fallback=read_at)
        unstamped = not guard.stamps and read_at is None
    changes = diff(baseline, edited_ix, fields=fields)
    skipped = report_rows(changes)

    problems = find_problems(changes, fields)
    stale_problems: pd.DataFrame | None = None
    if stale and len(problems):
        # a stale record is set aside whatever its differences hold: a formula field Zoho
        # recomputed after a colleague's edit must not refuse the whole push
        on_stale = problems["id"].astype(str).isin(list(stale)).to_numpy(dtype=bool)
        if on_stale.any():
            stale_problems = problems[on_stale].reset_index(drop=True)
            changes = split_valid(changes, stale_problems)
            problems = problems[~on_stale].reset_index(drop=True)
    if len(problems):
        if not push_valid:
            validate(changes, fields, problems=problems)  # raises with every problem
        changes = split_valid(changes, problems)
        skipped.append(problem_rows(problems))

    if original is None and guard.stamps:
        # Kept for retry(): the stamps its own writes move (see retry_frames).
        stamps = pd.Series(guard.stamps, dtype="float64")
        baseline = baseline.copy()
        baseline["Modified_Time"] = pd.to_datetime(
            stamps.reindex([str(i) for i in baseline.index]).to_numpy(), unit="s", utc=True
        ).astype("datetime64[s, UTC]")
    plan_options = {"objective": objective, "costs": costs, "bulk_threshold": bulk_threshold}
    # Counted as a push makes it: with its conflict checks (overwrite=True drops them).
    plan = make_plan(changes, fields, name, **plan_options).checked()
    return Prepared(name, infos, baseline, changes, plan, skipped, 0, [], guard=guard,
                    stale=stale, unstamped=unstamped, fields=fields,
                    plan_options=plan_options, stale_problems=stale_problems)


def stale_records(edited: pd.DataFrame, current: pd.DataFrame) -> dict[str, dict[str, Any]]:
    """Records whose ``Modified_Time`` in Zoho (``current``) is not the edited frame's
    (or, without that column, is after the frame's read time): ``{id: what Zoho has}``."""
    now = stamps_of(current)
    mine = stamps_of(edited)
    read_at = read_time(edited) if not mine else None
    out: dict[str, dict[str, Any]] = {}
    for rid, stamp in now.items():
        expected = mine.get(rid, read_at)
        if expected is not None and stamp > expected:
            out[rid] = {"Modified_Time": pd.Timestamp(int(stamp), unit="s", tz="UTC").isoformat()}
    return out
