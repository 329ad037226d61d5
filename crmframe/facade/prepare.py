"""Everything decided before the first write call of a push.

Module and field metadata → baseline (given, or read back for the edited ids and columns)
→ :func:`~crmframe.core.diff.diff` → validation (all problems at once) → conflict check on
``Modified_Time`` → :func:`~crmframe.core.plan.make_plan`. What cannot be sent (added and
removed rows, unpushable edits, duplicate ids, invalid edits, conflicts) becomes skipped
result rows. Also here: the frames a :meth:`PushResult.retry` sends again and the read-back
that settles records sent without an answer.

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
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from crmframe.core.codecs import encode_value
from crmframe.core.diff import ChangeSet, diff
from crmframe.core.metadata import FieldInfo, normalise_fields
from crmframe.core.plan import Objective, make_plan
from crmframe.core.validate import find_problems, split_valid, validate
from crmframe.errors import InputError, ValidationError
from crmframe.facade.journal import Journal
from crmframe.facade.pushresult import PushResult, concat_results, empty_results
from crmframe.facade.readback import applied_ids
from crmframe.facade.steprows import VERIFIED_MESSAGE, status_rows

__all__ = [
    "READ_IDS_PER_CALL",
    "VOLATILE_FIELDS",
    "Prepared",
    "base_fields",
    "by_id",
    "conflicting_ids",
    "frame_ids",
    "is_blank",
    "module_of",
    "prepare_push",
    "problem_rows",
    "read_back",
    "report_rows",
    "retry_frames",
    "settle_unknown",
]

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


def read_back(crm: Any, module: str, fields: Sequence[str], ids: Sequence[str]) -> pd.DataFrame:
    """The current values of ``fields`` for ``ids`` (any number of ids), indexed by id."""
    parts = []
    for start in range(0, len(ids), READ_IDS_PER_CALL):
        chunk = [str(i) for i in ids[start : start + READ_IDS_PER_CALL]]
        frame = crm.read_records(
            module, fields=list(fields), ids=chunk, progress=False
        )
        parts.append(by_id(frame))
    if not parts:
        empty: pd.DataFrame = pd.DataFrame(index=pd.Index([], dtype="string", name="id"))
        return empty
    out: pd.DataFrame = pd.concat(parts) if len(parts) > 1 else parts[0]
    return out


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


def is_blank(value: Any) -> bool:
    if isinstance(value, (list, tuple, dict)):
        return False
    return bool(pd.isna(value))


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
    # Parsed once: diff, validation and the plan take the parsed mapping as it is
    # (normalise_fields); an empty one would be read as an envelope, hence the raw.
    fields = infos or meta
    edited_ix = by_id(edited)
    reads = 0
    if original is None:
        wanted = [f for f in base_fields(list(edited_ix.columns)) if f in infos] or ["id"]
        baseline = read_back(crm, name, wanted, frame_ids(edited_ix))
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
    changes = diff(baseline, edited_ix, fields=fields)
    skipped = report_rows(changes)

    problems = find_problems(changes, fields)
    if len(problems):
        if not push_valid:
            validate(changes, fields, problems=problems)  # raises with every problem
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
            current = read_back(crm, name, ["Modified_Time"], check)
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
                status_rows(
                    conflicts, status="skipped", code="CONFLICT",
                    message="changed in Zoho since it was read (Modified_Time differs): not "
                    "overwritten; push with overwrite=True to send anyway",
                    fields=[fields_by_id.get(c, []) for c in conflicts],
                )
            )
    plan = make_plan(changes, fields, name, objective=objective, costs=costs,
                     bulk_threshold=bulk_threshold)
    return Prepared(name, infos, baseline, changes, plan, skipped, reads,
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
    current = read_back(crm, module, fields, list(wanted))
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
    return settled, concat_results(frames)


def _group(ids: Sequence[str], key: Mapping[str, Any]) -> dict[Any, list[str]]:
    out: dict[Any, list[str]] = {}
    for rid in ids:
        out.setdefault(key.get(rid), []).append(rid)
    return out
