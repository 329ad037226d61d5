"""What :meth:`PushResult.retry <crmframe.facade.write.result.PushResult.retry>` sends again,
and the read-back that settles records sent without an answer."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from crmframe.core.codecs import encode_value
from crmframe.core.metadata import FieldInfo
from crmframe.errors import ValidationError
from crmframe.facade.write.frames import base_fields, by_id
from crmframe.facade.write.readback import READ_IDS_PER_CALL, read_back
from crmframe.facade.write.result import PushResult, concat_results, empty_results
from crmframe.facade.write.rows import VERIFIED_MESSAGE, status_rows
from crmframe.facade.write.run import baseline_stamps
from crmframe.facade.write.settle import AMBIGUOUS_CODE, sent_after_of, settle, unknown_message

__all__ = ["retry_frames", "settle_unknown"]


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
    # The version stamps go along, moved to the latest time Zoho reported for a record
    # this push wrote, so its own writes are not mistaken for someone else's.
    done = result.results[(result.results["status"] == "success").fillna(False)]
    latest = done.dropna(subset=["Modified_Time"]).groupby("id")["Modified_Time"].max()
    if "Modified_Time" in base_ix.columns or len(latest):
        stamps = (
            pd.to_datetime(base_ix.loc[ids, "Modified_Time"], utc=True, errors="coerce")
            if "Modified_Time" in base_ix.columns
            else pd.Series(pd.NaT, index=new_original.index, dtype="datetime64[s, UTC]")
        ).astype("datetime64[s, UTC]")
        for rid in ids:
            if rid in latest.index:
                stamps.loc[rid] = latest.loc[rid]
        new_original["Modified_Time"] = stamps.to_numpy()
        if "Modified_Time" in new_edited.columns:
            new_edited["Modified_Time"] = stamps.to_numpy()
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
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame, int]:
    """Settle the records a push sent without an answer, before a retry sends anything.

    The records reported ``unknown`` are read back (their values and ``Modified_Time``)
    and sorted by :func:`~crmframe.facade.write.settle.settle` against the baseline's stamps:
    those holding the edit landed (reported ``success``, not sent again); those still at
    the baseline's ``Modified_Time`` provably did not, and stay in the retry; the others
    were modified since — by the lost write, then someone else? someone else alone? no read
    can tell — so they are left out of the retry and reported ``unknown`` again
    (``AMBIGUOUS_WRITE``), with ``overwrite=True`` too: re-sending could write the record
    twice or undo a colleague's edit.

    Returns
    -------
    tuple
        ``(edited, original, rows, reads)``: the frames to retry (landed cells made equal on
        both sides, undecidable records dropped), the rows settled here, and the read calls
        the read-back made.
    """
    unknown = result.results[(result.results["status"] == "unknown").fillna(False)]
    unknown = unknown[unknown["id"].isin(list(edited.index))]
    if unknown.empty:
        return edited, original, empty_results(), 0
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
        return edited, original, empty_results(), 0
    fields = sorted({f for values in wanted.values() for f in values} | {"Modified_Time"})
    current = read_back(crm, module, fields, list(wanted))
    reads = -(-len(wanted) // READ_IDS_PER_CALL)
    # Zoho's clock before each lost write went out (in the row's details): a record last
    # modified earlier provably did not receive it, even without a baseline stamp.
    sent_after: dict[str, pd.Timestamp | None] = {}
    for rid, details in zip(unknown["id"].tolist(), unknown["details"].tolist(), strict=True):
        when = sent_after_of(details)
        known = sent_after.get(str(rid), when)
        sent_after[str(rid)] = None if when is None or known is None else min(when, known)
    sorted_ = settle(current, [{"id": i, **v} for i, v in wanted.items()], infos,
                     stamps=baseline_stamps(original), sent_after=sent_after)
    settled = original.copy()
    for rid in sorted_.applied:
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
        for route, ids in _group(sorted_.applied, route_of).items()
    ]
    message = unknown_message(None, "read back before the retry: the record was modified "
                                    "since the baseline, so whether the write landed cannot "
                                    "be told")
    frames += [
        status_rows(
            ids, status="unknown", code=AMBIGUOUS_CODE, message=message,
            route=None if pd.isna(route) else str(route),
            fields=[sorted(wanted[i]) for i in ids],
            details=[_after(sent_after.get(i)) for i in ids],
        )
        for route, ids in _group(sorted_.unknown, route_of).items()
    ]
    keep = [i for i in edited.index if i not in set(sorted_.unknown)]
    return edited.loc[keep], settled.loc[keep], concat_results(frames), reads


def _after(when: pd.Timestamp | None) -> dict[str, Any]:
    return {} if when is None else {"sent_after": when.isoformat()}


def _group(ids: Sequence[str], key: Mapping[str, Any]) -> dict[Any, list[str]]:
    out: dict[Any, list[str]] = {}
    for rid in ids:
        out.setdefault(key.get(rid), []).append(rid)
    return out
