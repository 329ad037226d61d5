"""Where conflicts are decided: records changed in Zoho after the baseline was read.

A record's version stamp is its ``Modified_Time`` as read. A record whose stamp in Zoho
differs from the baseline's is a conflict: its edits are not sent (status ``skipped``, code
``CONFLICT``) unless the push says ``overwrite=True``.

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

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from crmframe.core.diff import ChangeSet
from crmframe.facade.write.journal import Journal
from crmframe.facade.write.readback import read_back
from crmframe.facade.write.rows import status_rows

__all__ = ["Conflicts", "check_conflicts", "conflicting_ids"]


@dataclass
class Conflicts:
    """What the conflict check found: the changes still to send, the conflicting ids, the
    rows reporting them and the read calls it made."""

    changes: ChangeSet
    ids: list[str] = field(default_factory=list)
    rows: list[pd.DataFrame] = field(default_factory=list)
    reads: int = 0


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


def check_conflicts(
    crm: Any,
    module: str,
    baseline: pd.DataFrame,
    changes: ChangeSet,
    *,
    overwrite: bool,
    journal: str | os.PathLike[str] | None = None,
) -> Conflicts:
    """Compare the baseline's ``Modified_Time`` with Zoho's for the changed records.

    Conflicting records' changes are taken out of ``changes`` (and reported as skipped
    rows) unless ``overwrite``.
    """
    found = Conflicts(changes)
    if "Modified_Time" not in baseline.columns or not len(changes):
        return found
    # Resuming a journal: the records it touched changed because of us, and the
    # conflicts the first run excluded must be excluded again for the same plan.
    head = Journal.peek(journal) if journal is not None else None
    exempt = head.touched if head is not None else set()
    before = [str(i) for i in (head.header.get("conflicts") or [])] if head else []
    check = [i for i in changes.ids if i not in exempt and i not in before]
    conflicts: list[str] = []
    if check:
        current = read_back(crm, module, ["Modified_Time"], check)
        found.reads += 1
        conflicts = conflicting_ids(baseline, current)
    conflicts += [i for i in before if i in set(changes.ids)]
    found.ids = conflicts
    if conflicts and not overwrite:
        hit = changes.changes["id"].isin(conflicts).to_numpy(dtype=bool)
        fields_by_id: dict[str, list[str]] = {}
        for rid, fld in changes.changes.loc[hit, ["id", "field"]].itertuples(index=False):
            fields_by_id.setdefault(str(rid), []).append(str(fld))
        found.changes = changes.without(~hit)
        found.rows.append(
            status_rows(
                conflicts, status="skipped", code="CONFLICT",
                message="changed in Zoho since it was read (Modified_Time differs): not "
                "overwritten; push with overwrite=True to send anyway",
                fields=[fields_by_id.get(c, []) for c in conflicts],
            )
        )
    return found
