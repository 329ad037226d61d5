"""``crm.plan``, ``crm.push``, ``crm.mass_update``, ``crm.bulk_write``: edits back to Zoho.

:class:`WritingMixin` is one part of :class:`crmframe.facade.crm.CRM`. It uses the other
parts through ``self``: ``client`` (a :class:`~crmframe.http.client.ZohoClient`),
``read_fields`` and ``read_records`` (reading), ``wait`` (jobs).

A push goes: module and field metadata → baseline (given, or read back for the edited ids
and columns) → :func:`~crmframe.core.diff.diff` → validation (all problems at once, before
any call) → conflict check on ``Modified_Time`` → :func:`~crmframe.core.plan.make_plan` →
the steps, in order, through :func:`~crmframe.facade.push.execute` (journaled when asked)
→ :class:`~crmframe.facade.pushresult.PushResult`. Whatever is not sent — added rows,
removed rows, unpushable edits, duplicate ids, invalid edits, conflicts — is a row of the
result, never dropped.

Examples
--------
>>> frame = pd.DataFrame({"City": ["Pune"]})
>>> frame.attrs["module"] = "Leads"
>>> module_of(frame, None, None)
'Leads'
>>> base_fields(["id", "Owner.id", "Owner.name", "Phone", "Modified_Time"])
['Owner', 'Phone', 'Modified_Time']
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from crmframe.core.bulkwrite import build_bulk_write, parse_bulk_result
from crmframe.core.codecs import encode_value
from crmframe.core.diff import ChangeSet, diff
from crmframe.core.jobs import job_status
from crmframe.core.metadata import FieldInfo, normalise_fields
from crmframe.core.plan import DEFAULT_BULK_THRESHOLD, Costs, Objective, make_plan
from crmframe.core.validate import find_problems, split_valid, validate
from crmframe.errors import InputError, ValidationError
from crmframe.facade.jobs import Job
from crmframe.facade.journal import Journal, plan_fingerprint
from crmframe.facade.push import (
    VERIFIED_MESSAGE,
    CrmSender,
    Step,
    StepOutcome,
    applied_ids,
    execute,
    outcome_rows,
    status_rows,
    steps_from_plan,
)
from crmframe.facade.pushresult import PushResult, empty_results, normalise_results

__all__ = ["WritingMixin", "base_fields", "module_of", "send_steps"]

_LOOKUP_PARTS = ("id", "name", "email")
#: Fields Zoho changes on its own; not compared when the baseline is read back fresh.
VOLATILE_FIELDS = frozenset({"Modified_Time", "Modified_By", "Last_Activity_Time"})
#: Zoho's documented maximum of ids per read (``GET /{module}?ids=``) used for read-backs.
READ_IDS_PER_CALL = 100


def module_of(edited: pd.DataFrame, original: pd.DataFrame | None, module: str | None) -> str:
    """The module to write to: the argument, else ``edited.attrs["module"]``, else the original's.

    Raises
    ------
    InputError
        When none of them names a module.
    """
    found = module or edited.attrs.get("module")
    if not found and original is not None:
        found = original.attrs.get("module")
    if not found or not isinstance(found, str):
        raise InputError(
            "which module? pass module='Leads' (or read the frame with crm.read_records, "
            "which sets df.attrs['module'])"
        )
    return found


def base_fields(columns: Sequence[Any]) -> list[str]:
    """API names behind frame columns (``Owner.id``/``Owner.name`` → ``Owner``), no ``id``."""
    out: list[str] = []
    for column in columns:
        name = str(column)
        head, _, tail = name.rpartition(".")
        if head and tail in _LOOKUP_PARTS:
            name = head
        if name != "id" and name not in out:
            out.append(name)
    return out


def frame_ids(frame: pd.DataFrame) -> list[str]:
    """The non-missing ids of a frame (``id`` index or column), as strings, in order."""
    if frame.index.name != "id" and "id" in frame.columns:
        values = frame["id"].tolist()
    else:
        values = frame.index.tolist()
    return list(
        dict.fromkeys(str(v) for v in values if v is not None and not pd.isna(v) and str(v))
    )


def by_id(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` indexed by a string ``id`` index (moved from a column when needed)."""
    if frame.index.name != "id" and "id" in frame.columns:
        frame = frame.set_index("id")
    if frame.index.dtype != "string":
        frame = frame.copy()
        frame.index = pd.Index(
            [None if v is None or pd.isna(v) else str(v) for v in frame.index],
            dtype="string", name="id",
        )
    return frame



# ---------------------------------------------------------------------------------------------
# what cannot be sent becomes rows


def report_rows(changes: ChangeSet) -> list[pd.DataFrame]:
    """Rows for every finding of ``diff`` that is not an update (nothing is dropped)."""
    frames: list[pd.DataFrame] = []
    added = changes.added_rows
    if len(added):
        ids = [None if v is None or pd.isna(v) else str(v) for v in added.index.tolist()]
        frames.append(
            _rows(
                ids, code="NOT_PUSHED_INSERT",
                message="row without a known id: push updates records, it does not insert",
                fields=[[str(c) for c in added.columns if not _empty(row[c])]
                        for _, row in added.iterrows()],
                details=[{"row": n} for n in range(len(added))],
            )
        )
    if changes.removed_ids:
        frames.append(
            _rows(list(changes.removed_ids), code="NOT_PUSHED_DELETE",
                  message="row removed from the edited frame: push never deletes records")
        )
    if changes.duplicate_ids:
        frames.append(
            _rows(list(changes.duplicate_ids), code="DUPLICATE_ID",
                  message="id appears more than once: its rows were left out")
        )
    unpushable = changes.unpushable
    if len(unpushable):
        frames.append(
            _rows(
                [str(i) for i in unpushable["id"].tolist()], code="UNPUSHABLE",
                message=[str(r) for r in unpushable["reason"].tolist()],
                fields=[[str(f)] for f in unpushable["field"].tolist()],
            )
        )
    for column in changes.added_columns:
        frames.append(
            _rows([None], code="UNPUSHABLE",
                  message="column not in the original (or not a field of the module): "
                  "not compared, not sent", fields=[[column]])
        )
    return frames


def _empty(value: Any) -> bool:
    if isinstance(value, (list, tuple, dict)):
        return False
    return bool(pd.isna(value))


def _rows(
    ids: Sequence[str | None],
    *,
    code: str,
    message: str | Sequence[str],
    status: str = "skipped",
    fields: Sequence[Sequence[str]] | None = None,
    details: Sequence[Mapping[str, Any]] | None = None,
) -> pd.DataFrame:
    n = len(ids)
    messages = [message] * n if isinstance(message, str) else list(message)
    frame: pd.DataFrame = pd.DataFrame(
        {
            "id": pd.array(list(ids), dtype="string"),
            "route": pd.array([None] * n, dtype="string"),
            "call": pd.array([None] * n, dtype="Int64"),
            "fields": pd.Series([list(f) for f in fields] if fields is not None
                                else [[] for _ in range(n)], dtype=object),
            "code": code,
            "status": status,
            "message": pd.array(messages, dtype="string"),
            "details": pd.Series([dict(d) for d in details] if details is not None
                                 else [{} for _ in range(n)], dtype=object),
        }
    )
    return frame


# ---------------------------------------------------------------------------------------------
# preparing a push


@dataclass
class Prepared:
    """Everything decided before the first write call."""

    module: str
    meta: Any
    infos: dict[str, FieldInfo]
    baseline: pd.DataFrame
    changes: ChangeSet
    plan: Any = None
    skipped: list[pd.DataFrame] = field(default_factory=list)
    reads: int = 0
    conflicts: list[str] = field(default_factory=list)


def problem_rows(problems: pd.DataFrame) -> pd.DataFrame:
    """Validation problems as skipped result rows (code ``VALIDATION``)."""
    ids = [None if v is None or pd.isna(v) else str(v) for v in problems["id"].tolist()]
    return _rows(
        ids, code="VALIDATION",
        message=[str(p) for p in problems["problem"].tolist()],
        fields=[[str(f)] for f in problems["field"].tolist()],
        details=[{"value": v} for v in problems["value"].tolist()]
        if "value" in problems.columns else None,
    )


def conflicting_ids(original: pd.DataFrame, current: pd.DataFrame) -> list[str]:
    """Ids whose ``Modified_Time`` in Zoho (``current``) differs from ``original``'s.

    Records missing from ``current`` are not conflicts here: the write itself reports them.

    Examples
    --------
    >>> idx = pd.Index(["1", "2"], dtype="string", name="id")
    >>> t = pd.to_datetime(["2024-01-01T00:00:00Z", "2024-01-01T00:00:00Z"])
    >>> a = pd.DataFrame({"Modified_Time": t}, index=idx)
    >>> b = a.copy()
    >>> b.iloc[1, 0] = pd.Timestamp("2024-02-01T00:00:00Z")
    >>> conflicting_ids(a, b)
    ['2']
    """
    if "Modified_Time" not in current.columns or "Modified_Time" not in original.columns:
        return []
    then = pd.to_datetime(original["Modified_Time"], utc=True, errors="coerce")
    now = pd.to_datetime(current["Modified_Time"], utc=True, errors="coerce")
    out = []
    for rid in now.index:
        if rid not in then.index:
            continue
        before, after = then.loc[rid], now.loc[rid]
        if isinstance(before, pd.Series):
            before = before.iloc[0]
        if pd.isna(before) or pd.isna(after):
            continue
        if before != after:
            out.append(str(rid))
    return out


def prepare_push(
    crm: Any,
    edited: pd.DataFrame,
    original: pd.DataFrame | None,
    *,
    module: str | None,
    push_valid: bool,
    overwrite: bool,
    check_conflicts: bool,
    objective: Objective,
    bulk_threshold: int | None,
    costs: Any,
    journal: str | os.PathLike[str] | None = None,
) -> Prepared:
    """Module, metadata, baseline, diff, validation, conflicts and the plan (no writes)."""
    if not isinstance(edited, pd.DataFrame):
        raise InputError(f"edited must be a DataFrame, got {type(edited).__name__}")
    name = module_of(edited, original, module)
    meta = crm.read_fields(name)
    infos = normalise_fields(meta)
    edited_ix = by_id(edited)
    reads = 0
    if original is None:
        wanted = [f for f in base_fields(list(edited_ix.columns)) if f in infos] or ["id"]
        baseline = crm._read_back(name, wanted, frame_ids(edited_ix))
        reads += 1
        # Only the edited columns are compared (the read may bring extra lookup parts), and
        # not those Zoho changes by itself: a fresh baseline would flag them as edits.
        volatile = [c for c in edited_ix.columns if set(base_fields([c])) & VOLATILE_FIELDS]
        edited_ix = edited_ix.drop(columns=volatile)
        keep = [c for c in baseline.columns if c in set(map(str, edited_ix.columns))]
        baseline = baseline[keep]
        baseline.attrs["module"] = name
    else:
        baseline = by_id(original)
    changes = diff(baseline, edited_ix, fields=meta)
    skipped = report_rows(changes)

    problems = find_problems(changes, meta)
    if problems is not None and len(problems):
        if not push_valid:
            validate(changes, meta)  # raises ValidationError with every problem
            raise ValidationError(f"{len(problems)} edit(s) do not fit the field metadata",
                                  problems)
        changes = split_valid(changes, problems)
        skipped.append(problem_rows(problems))

    conflicts: list[str] = []
    if check_conflicts and "Modified_Time" in baseline.columns and len(changes):
        # Resuming a journal: the records it touched changed because of us, and the
        # conflicts the first run excluded must be excluded again for the same plan.
        head = Journal.peek(journal) if journal is not None else None
        exempt = head.touched if head is not None else set()
        before = [str(i) for i in (head.header.get("conflicts") or [])] if head else []
        check = [i for i in changes.ids if i not in exempt and i not in before]
        if check:
            current = crm._read_back(name, ["Modified_Time"], check)
            reads += 1
            conflicts = conflicting_ids(baseline, current)
        conflicts += [i for i in before if i in set(changes.ids)]
        if conflicts and not overwrite:
            hit = changes.changes["id"].isin(conflicts).to_numpy(dtype=bool)
            fields_by_id: dict[str, list[str]] = {}
            for rid, fld in changes.changes.loc[hit, ["id", "field"]].itertuples(index=False):
                fields_by_id.setdefault(str(rid), []).append(str(fld))
            changes = changes.without(~hit)
            skipped.append(
                _rows(
                    conflicts, code="CONFLICT",
                    message="changed in Zoho since it was read (Modified_Time differs): not "
                    "overwritten; push with overwrite=True to send anyway",
                    fields=[fields_by_id.get(c, []) for c in conflicts],
                )
            )
    plan = make_plan(changes, meta, name, objective=objective, costs=costs,
                     bulk_threshold=bulk_threshold)
    return Prepared(name, meta, infos, baseline, changes, plan, skipped, reads,
                    conflicts if not overwrite else [])


def retry_frames(
    result: Any, edited: pd.DataFrame, baseline: pd.DataFrame, *, overwrite: bool
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(edited, original)`` holding only what ``result.retry()`` must send again.

    Cells of a retried record that did go through are made equal on both sides, so the
    diff sends only the failed fields. ``Modified_Time``, when present, is moved to the
    latest time Zoho reported for the record, so the record's own successful writes are not
    mistaken for someone else's (conflict check).
    """
    rows = result.results[result.retryable_mask(overwrite=overwrite)]
    rows = rows[rows["id"].notna()]
    edited_ix, base_ix = by_id(edited), by_id(baseline)
    ids = [i for i in dict.fromkeys(rows["id"].tolist()) if i in base_ix.index]
    failed: dict[str, set[str]] = {}
    for rid, fields in zip(rows["id"].tolist(), rows["fields"].tolist(), strict=True):
        failed.setdefault(str(rid), set()).update(str(f) for f in fields or [])
    columns = [c for c in edited_ix.columns if c in base_ix.columns]
    new_edited = edited_ix.loc[ids, columns].copy()
    new_original = base_ix.loc[ids, columns].copy()
    for column in columns:
        base = base_fields([column])
        if not base:
            continue
        same = [i for i in ids if base[0] not in failed.get(i, set())]
        if same:
            new_original.loc[same, column] = new_edited.loc[same, column]
    if "Modified_Time" in columns:
        done = result.results[(result.results["status"] == "success").fillna(False)]
        latest = done.dropna(subset=["Modified_Time"]).groupby("id")["Modified_Time"].max()
        for rid in ids:
            if rid in latest.index:
                stamp = latest.loc[rid]
                new_original.loc[rid, "Modified_Time"] = stamp
                new_edited.loc[rid, "Modified_Time"] = stamp
    new_edited.attrs = dict(edited.attrs)
    new_original.attrs = dict(baseline.attrs)
    return new_edited, new_original


def settle_unknown(
    crm: Any,
    module: str,
    infos: Mapping[str, FieldInfo],
    result: PushResult,
    edited: pd.DataFrame,
    original: pd.DataFrame,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Read back the records a push sent without an answer; those that landed are settled.

    Returns ``original`` with the landed cells made equal to ``edited`` (so a retry does
    not send them again) and the rows reporting them as applied.
    """
    unknown = result.results[(result.results["status"] == "unknown").fillna(False)]
    unknown = unknown[unknown["id"].isin(list(edited.index))]
    if unknown.empty:
        return original, empty_results()
    wanted: dict[str, dict[str, Any]] = {}
    for rid, fields in zip(unknown["id"].tolist(), unknown["fields"].tolist(), strict=True):
        for name in fields or []:
            column = f"{name}.id" if f"{name}.id" in edited.columns else name
            info = infos.get(name)
            if column not in edited.columns or info is None:
                continue
            value = edited.loc[rid, column]
            try:
                encoded = encode_value(value, info.kind)
            except ValidationError:
                continue
            wanted.setdefault(str(rid), {})[name] = encoded
    if not wanted:
        return original, empty_results()
    fields = sorted({f for values in wanted.values() for f in values})
    current = crm._read_back(module, fields, list(wanted))
    landed = applied_ids(current, [{"id": i, **v} for i, v in wanted.items()], infos)
    settled = original.copy()
    for rid in landed:
        for name in wanted[rid]:
            column = f"{name}.id" if f"{name}.id" in edited.columns else name
            settled.loc[rid, column] = edited.loc[rid, column]
    route_of = dict(zip(unknown["id"].tolist(), unknown["route"].tolist(), strict=True))
    frames = [
        status_rows(
            ids, status="success", code="SUCCESS", message=VERIFIED_MESSAGE,
            route=None if pd.isna(route) else str(route),
            fields=[sorted(wanted[i]) for i in ids],
        )
        for route, ids in _group(landed, route_of).items()
    ]
    return settled, _concat(frames)


def _group(ids: Sequence[str], key: Mapping[str, Any]) -> dict[Any, list[str]]:
    out: dict[Any, list[str]] = {}
    for rid in ids:
        out.setdefault(key.get(rid), []).append(rid)
    return out


# ---------------------------------------------------------------------------------------------
# running a push


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
) -> PushResult:
    """Execute a prepared plan and gather every row into a :class:`PushResult`."""
    steps = steps_from_plan(prepared.plan, trigger=trigger)
    frames = list(prepared.skipped)
    if dry_run:
        frames += planned_rows(steps)
        return PushResult(
            _concat(frames), calls=0, credits=0.0, reads=prepared.reads, plan=prepared.plan,
            changes=prepared.changes, dry_run=True, overwrite=overwrite,
        )
    sender = CrmSender(
        crm.client, prepared.module, prepared.infos,
        read=lambda fields, ids: crm._read_back(prepared.module, fields, ids),
        wait=lambda job: crm.wait(job, interval=poll_interval),
    )
    bar = StepProgress(progress, steps)
    try:
        if journal is not None and steps:
            fingerprint = plan_fingerprint(s.payload for s in steps)
            with Journal.open(journal, fingerprint, [s.describe() for s in steps],
                              module=prepared.module,
                              extra={"conflicts": prepared.conflicts}) as book:
                outcomes = execute(steps, sender, journal=book, on_step=bar.update)
        else:
            outcomes = execute(steps, sender, on_step=bar.update)
    finally:
        bar.close()
    for outcome in outcomes:
        frames += outcome_rows(outcome)
    credits = sum(o.step.credits for o in outcomes if o.calls)
    return PushResult(
        _concat(frames), calls=sender.calls, credits=credits,
        reads=prepared.reads + sender.reads, jobs=sender.jobs, plan=prepared.plan,
        changes=prepared.changes, retry_with=retry_with, overwrite=overwrite,
    )


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
    sender = CrmSender(
        crm.client, module, infos,
        read=lambda fields, ids: crm._read_back(module, fields, ids),
        wait=lambda job: crm.wait(job, interval=poll_interval),
    )
    if journal is not None and steps:
        fingerprint = plan_fingerprint(s.payload for s in steps)
        with Journal.open(journal, fingerprint, [s.describe() for s in steps],
                          module=module) as book:
            outcomes = execute(steps, sender, journal=book)
    else:
        outcomes = execute(steps, sender)
    frames = [frame for outcome in outcomes for frame in outcome_rows(outcome)]
    credits = sum(o.step.credits for o in outcomes if o.calls)
    return PushResult(_concat(frames), calls=sender.calls, credits=credits,
                      reads=sender.reads, jobs=sender.jobs)


def _concat(frames: Sequence[pd.DataFrame]) -> pd.DataFrame:
    kept = [f for f in frames if len(f)]
    if not kept:
        return empty_results()
    return normalise_results(pd.concat([normalise_results(f) for f in kept], ignore_index=True))


# ---------------------------------------------------------------------------------------------
# the mixin

#: Zoho's maximum of ids in one mass update by ids.
MASS_UPDATE_IDS_PER_CALL = 500


class WritingMixin:
    """``plan``, ``push``, ``mass_update``, ``bulk_write`` for :class:`~crmframe.facade.crm.CRM`.

    Uses ``self.client``, ``self.read_fields``, ``self.read_records`` and ``self.wait``
    from the other parts of :class:`~crmframe.facade.crm.CRM`.
    """

    # Typed loosely on purpose, like the other mixins: the concrete types live on CRM.
    client: Any
    version: str

    def _any(self) -> Any:
        # read_fields/read_records/wait come from sibling mixins; going through Any keeps
        # the mixins independent of each other's declarations.
        return self

    def _read_back(self, module: str, fields: Sequence[str], ids: Sequence[str]) -> pd.DataFrame:
        """The current values of ``fields`` for ``ids`` (any number of ids), indexed by id."""
        parts = []
        for start in range(0, len(ids), READ_IDS_PER_CALL):
            chunk = [str(i) for i in ids[start : start + READ_IDS_PER_CALL]]
            frame = self._any().read_records(
                module, fields=list(fields), ids=chunk, progress=False
            )
            parts.append(by_id(frame))
        if not parts:
            empty: pd.DataFrame = pd.DataFrame(index=pd.Index([], dtype="string", name="id"))
            return empty
        out: pd.DataFrame = pd.concat(parts) if len(parts) > 1 else parts[0]
        return out

    # -- plan ----------------------------------------------------------------------------

    def plan(
        self,
        edited: pd.DataFrame,
        original: pd.DataFrame | None = None,
        *,
        module: str | None = None,
        objective: Objective = "calls",
        bulk_threshold: int | None = DEFAULT_BULK_THRESHOLD,
        costs: Any = None,
    ) -> Any:
        """The cheapest set of calls that would push ``edited``; nothing is sent.

        Parameters
        ----------
        edited : DataFrame
            The analyst's frame (index ``id``, or an ``id`` column).
        original : DataFrame, optional
            The frame as read; when omitted the current values are read back from Zoho for
            the ids and columns of ``edited``.
        module : str, optional
            Default ``edited.attrs["module"]``.
        objective : {"calls", "credits"}
            What the plan minimises.
        bulk_threshold : int, optional
            Records from which a bulk write is considered.
        costs : optional
            Credit costs per route (see :func:`crmframe.core.plan.make_plan`).

        Returns
        -------
        Plan

        Raises
        ------
        ValidationError
            With every problem found (``.problems``), when an edit does not fit the metadata.
        InputError
            When no module can be found.

        Examples
        --------
        >>> crm.plan(edited, original).summary()          # doctest: +SKIP
        """
        return prepare_push(
            self, edited, original, module=module, push_valid=False, overwrite=True,
            check_conflicts=False, objective=objective, bulk_threshold=bulk_threshold,
            costs=costs,
        ).plan

    # -- push ----------------------------------------------------------------------------

    def push(
        self,
        edited: pd.DataFrame,
        original: pd.DataFrame | None = None,
        *,
        module: str | None = None,
        dry_run: bool = False,
        trigger: Sequence[str] | None = None,
        journal: str | os.PathLike[str] | None = None,
        overwrite: bool = False,
        push_valid: bool = False,
        objective: Objective = "calls",
        bulk_threshold: int | None = DEFAULT_BULK_THRESHOLD,
        costs: Any = None,
        poll_interval: float = 2.0,
        progress: bool | None = None,
    ) -> PushResult:
        """Send the edits in ``edited`` to Zoho with the fewest calls; report every record.

        Parameters
        ----------
        edited : DataFrame
            The analyst's frame (index ``id``, or an ``id`` column).
        original : DataFrame, optional
            The frame as read. When omitted, the baseline is read back from Zoho for the
            ids and columns of ``edited``. When it has ``Modified_Time``, records changed in
            Zoho since they were read are conflicts: not sent unless ``overwrite``.
        module : str, optional
            Default ``edited.attrs["module"]``.
        dry_run : bool
            Plan and report (status ``planned``) without sending anything.
        trigger : list of str, optional
            Zoho's ``trigger`` for PUT calls: ``[]`` runs no workflow/approval/blueprint;
            ``None`` leaves the key out (Zoho runs them all).
        journal : str or os.PathLike, optional
            A file recording the plan and each confirmed call as they happen. Pushing the
            same edits with the same journal after a crash sends only what was not confirmed.
        overwrite : bool
            Send conflicting records anyway.
        push_valid : bool
            Push the valid edits and report invalid ones (status ``skipped``, code
            ``VALIDATION``) instead of raising.
        objective, bulk_threshold, costs
            As for :meth:`plan`.
        poll_interval : float
            Seconds between status polls of bulk-write jobs.
        progress : bool, optional
            Show a ``tqdm`` bar over the records. Default: only in a notebook, and only
            when the push takes more than one call.

        Returns
        -------
        PushResult
            ``results`` (one row per record and route), ``failed``, ``calls``, ``credits``,
            ``jobs``, ``plan``, ``changes``, ``retry()``.

        Raises
        ------
        ValidationError
            Before any call, with every problem, unless ``push_valid``.
        JournalMismatchError
            When ``journal`` holds another plan.

        Examples
        --------
        >>> from crmframe.facade.crm import connect
        >>> from crmframe.sandbox import start
        >>> with start(records=300, flag_records=False) as server:
        ...     with connect(**server.credentials) as crm:
        ...         leads = crm.read_records("Leads", ["City", "Lead_Status"])
        ...         edited = leads.copy()
        ...         edited.loc[edited.index[:250], "Lead_Status"] = "Contacted"
        ...         edited.loc[edited.index[0], "City"] = "Pune"
        ...         result = crm.push(edited, leads, trigger=[])
        >>> result.calls, list(result.results["route"].unique()), result.failed.empty
        (2, ['mass_update', 'put'], True)
        """
        if journal is not None and original is None:
            raise InputError(
                "a journal needs original=...: resuming compares the same baseline, and a "
                "baseline read back after a partial push would already hold some edits"
            )
        prepared = prepare_push(
            self, edited, original, module=module, push_valid=push_valid, overwrite=overwrite,
            check_conflicts=original is not None, objective=objective,
            bulk_threshold=bulk_threshold, costs=costs, journal=journal,
        )
        options: dict[str, Any] = {
            "module": prepared.module, "trigger": trigger, "push_valid": push_valid,
            "objective": objective, "bulk_threshold": bulk_threshold, "costs": costs,
            "poll_interval": poll_interval, "progress": progress,
        }
        baseline = prepared.baseline

        def again(result: PushResult, overwrite_now: bool) -> PushResult:
            part_edited, part_original = retry_frames(
                result, edited, baseline, overwrite=overwrite_now
            )
            part_original, landed = settle_unknown(
                self, prepared.module, prepared.infos, result, part_edited, part_original
            )
            retried = self.push(part_edited, part_original, overwrite=overwrite_now, **options)
            return retried.with_rows(landed, reads=1) if len(landed) else retried

        return run_push(
            self, prepared, dry_run=dry_run, trigger=trigger, journal=journal,
            overwrite=overwrite, retry_with=again, poll_interval=poll_interval,
            progress=progress,
        )

    # -- mass update ---------------------------------------------------------------------

    def _mass_values(self, module: str, values: Mapping[str, Any]) -> dict[str, Any]:
        """``values`` checked against the metadata and encoded for the JSON body."""
        if not isinstance(values, Mapping) or not values:
            raise InputError("values must be a non-empty {field: value} mapping")
        infos = normalise_fields(self._any().read_fields(module))
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
        return body

    def mass_update(
        self,
        module: str,
        values: Mapping[str, Any],
        *,
        cvid: str | None = None,
        ids: Sequence[str] | None = None,
        over_write: bool | None = None,
        territory: Mapping[str, Any] | None = None,
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

        Returns
        -------
        Job or PushResult
            With ``cvid``: the scheduled :class:`~crmframe.facade.jobs.Job` (watch it with
            ``crm.wait(job)``; then :meth:`mass_update_failures`). With ``ids``: a
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
        encoded = self._mass_values(module, values)
        extra: dict[str, Any] = {}
        if over_write is not None:
            extra["over_write"] = bool(over_write)
        if cvid is not None:
            body: dict[str, Any] = {"data": [encoded], "cvid": str(cvid), **extra}
            if territory is not None:
                body["territory"] = dict(territory)
            reply = self.client.request("POST", f"{module}/actions/mass_update", json=body)
            status = job_status(reply.body)
            return Job.from_status(status, module=module)
        id_list = [str(i) for i in ids or []]
        fields = tuple(encoded)
        costs = Costs()
        steps = [
            Step(n, "mass_update", tuple(chunk), fields,
                 {"data": [encoded], "ids": list(chunk), **extra},
                 credits=float(costs.mass_update(len(chunk))))
            for n, chunk in enumerate(
                id_list[start : start + MASS_UPDATE_IDS_PER_CALL]
                for start in range(0, len(id_list), MASS_UPDATE_IDS_PER_CALL)
            )
        ]
        return send_steps(self, module, steps)

    def mass_update_failures(
        self,
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
        status = self._any().wait(job, interval=poll_interval) if wait else job.status
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
        encoded = self._mass_values(module, values)
        infos = normalise_fields(self._any().read_fields(module))
        if ids is not None:
            current = self._read_back(module, list(encoded), [str(i) for i in ids])
        else:
            current = by_id(self._any().read_records(
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

    # -- bulk write ----------------------------------------------------------------------

    def bulk_write(
        self,
        frame: pd.DataFrame,
        module: str | None = None,
        operation: str = "update",
        find_by: str = "id",
        *,
        wait: bool = True,
        poll_interval: float = 2.0,
    ) -> pd.DataFrame | Job:
        """Run a whole bulk-write job (upload, create, wait, download) for ``frame``'s rows.

        Every writable column is written; empty cells leave the record's value alone (the
        job ignores empty cells). Read-only columns (``Modified_Time``...) and lookup name
        parts (``Owner.name``) are not written; they are listed in
        ``result.attrs["ignored_columns"]``.

        Parameters
        ----------
        frame : DataFrame
            Records indexed by ``id`` (or with an ``id`` column).
        module : str, optional
            Default ``frame.attrs["module"]``.
        operation : {"update"}
            Only updates by id are supported.
        find_by : {"id"}
            How Zoho matches rows to records.
        wait : bool
            Wait for the job and return the per-row result; False returns the
            :class:`~crmframe.facade.jobs.Job` once created.
        poll_interval : float
            Seconds between status polls.

        Returns
        -------
        DataFrame or Job
            Aligned to ``frame`` (same index, same order): ``id``, ``STATUS`` (``updated``,
            ``skipped``, ``unprocessed``... or ``not_sent`` for a row without id),
            ``RECORD_ID``, ``ERRORS`` (list of ``(code, column)``), ``code``, ``column``.
            ``attrs["job"]`` is the job.

        Raises
        ------
        InputError
            Another operation or ``find_by``, no module, no writable column.

        Examples
        --------
        >>> result = crm.bulk_write(edited, "Leads")          # doctest: +SKIP
        >>> result["STATUS"].value_counts()                    # doctest: +SKIP
        """
        if operation != "update" or find_by != "id":
            raise InputError(
                "bulk_write supports operation='update' with find_by='id' (got "
                f"operation={operation!r}, find_by={find_by!r})"
            )
        name = module_of(frame, None, module)
        infos = normalise_fields(self._any().read_fields(name))
        table = by_id(frame)
        plan: list[tuple[str, str]] = []  # (column, field)
        ignored: list[str] = []
        for column in map(str, table.columns):
            head, _, tail = column.rpartition(".")
            field_name = head if head and tail == "id" else column
            info = infos.get(field_name)
            if info is None or not info.writable or (head and tail in ("name", "email")):
                ignored.append(column)
            else:
                plan.append((column, field_name))
        if not plan:
            raise InputError(f"no writable {name} field among the columns: {ignored}")
        kinds = {f: infos[f].kind for _, f in plan}
        ids = [None if pd.isna(v) else str(v) for v in table.index.tolist()]
        records: dict[str, dict[str, Any]] = {}
        for position, rid in enumerate(ids):
            if rid is None:
                continue
            row = table.iloc[position]
            values = {f: row[c] for c, f in plan if not _empty(row[c])}
            records[rid] = values
        file = build_bulk_write(records, kinds, name)
        sender = CrmSender(
            self.client, name, infos,
            read=lambda f, i: self._read_back(name, f, i),
            wait=lambda job: self._any().wait(job, interval=poll_interval),
        )
        if not wait:
            file_id = sender.upload(file.zip_bytes, f"{name}.zip")
            job_id = sender.create_job(file.job_body(file_id, version=self.client.version))
            return Job(job_id, "bulk_write", module=name)
        job, result = sender.run_bulk_job(
            file.zip_bytes,
            lambda file_id: file.job_body(file_id, version=self.client.version),
            name=f"{name}.zip",
        )
        parsed = parse_bulk_result(result, ids=file.ids).set_index("id")
        out: pd.DataFrame = pd.DataFrame(index=frame.index)
        got = [parsed.loc[i] if i is not None and i in parsed.index else None for i in ids]
        out["id"] = pd.array(ids, dtype="string")
        out["STATUS"] = pd.array(
            [g["status"] if g is not None else "not_sent" for g in got], dtype="string")
        out["RECORD_ID"] = pd.array(
            [g["record_id"] if g is not None else None for g in got], dtype="string")
        out["ERRORS"] = pd.Series(
            [list(g["errors"]) if g is not None else [] for g in got],
            index=frame.index, dtype=object)
        out["code"] = pd.array(
            [g["code"] if g is not None else "NO_ID" for g in got], dtype="string")
        out["column"] = pd.array(
            [g["column"] if g is not None else None for g in got], dtype="string")
        out.attrs["job"] = job
        out.attrs["module"] = name
        out.attrs["ignored_columns"] = ignored
        out.attrs["calls"] = sender.calls
        return out
