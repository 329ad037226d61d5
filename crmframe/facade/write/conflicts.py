"""Where conflicts are decided: records changed in Zoho after the baseline was read.

A record's version stamp is its ``Modified_Time`` as read. A record whose ``Modified_Time``
in Zoho is no longer the stamp the push holds for it was changed by someone else: its
edits are not sent (status ``skipped``, code ``CONFLICT``, the colleague's values, time and
name in ``details``) unless the push says ``overwrite=True``.

When each check happens (:class:`Guard` holds the stamps and does them all):

* **before the plan is sent** — :meth:`Guard.changed`: one listing ``GET /{module}`` with
  ``If-Modified-Since`` at the baseline's read time, only ``id``/``Modified_Time``, sorted
  by ``Modified_Time`` (a 304 means nothing changed: one call); when more records changed
  in the module than reading the edited ids would cost, the edited ids are read instead
  (``GET /{module}?ids=``, 100 per call);
* **on every update PUT** — :meth:`Guard.header`: ``If-Unmodified-Since`` with the batch's
  newest stamp; Zoho refuses a record changed since with ``ALREADY_MODIFIED`` (HTTP 412),
  per record in ``data[]`` or for the whole request: both become conflicts
  (:meth:`Guard.refused`);
* **right before each mass update and bulk write** (they take no such header) —
  :meth:`Guard.changed` again, since the previous check.

Stamps move with the push's own writes (:meth:`Guard.note`), so a record written by an
earlier step of the same push is not mistaken for a colleague's change.

Examples
--------
>>> idx = pd.Index(["1", "2"], dtype="string", name="id")
>>> t = pd.to_datetime(["2024-01-01T00:00:00Z", "2024-01-01T00:00:00Z"])
>>> stamps_of(pd.DataFrame({"Modified_Time": t}, index=idx))
{'1': 1704067200.0, '2': 1704067200.0}
>>> guard = Guard(None, "Leads", {"1": 1704067200.0, "2": 1704067300.0})
>>> guard.header(["1", "2"])
{'If-Unmodified-Since': '2024-01-01T00:01:40+00:00'}
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

import pandas as pd

from crmframe.core.codecs import is_missing
from crmframe.core.plan import make_plan
from crmframe.errors import InputError, PaginationLimitError
from crmframe.facade.write.journal import Journal
from crmframe.facade.write.readback import READ_IDS_PER_CALL, read_back
from crmframe.facade.write.rows import problem_rows, status_rows
from crmframe.http.paging import iter_record_pages

if TYPE_CHECKING:
    from crmframe.facade.write.prepare import Prepared

__all__ = [
    "CONFLICT_MESSAGE",
    "LISTING_PER_PAGE",
    "Guard",
    "conflict_rows",
    "conflicting_ids",
    "decide_conflicts",
    "describe_conflicts",
    "fresh_copy",
    "read_time",
    "stamps_of",
]

#: What a conflict row says.
CONFLICT_MESSAGE = (
    "changed in Zoho since it was read (Modified_Time differs): not overwritten; "
    "push with overwrite=True to send anyway"
)

#: Records per page of the change listing (Zoho's maximum).
LISTING_PER_PAGE = 200

#: Codes of rows that are conflicts: ours, and Zoho's answer to If-Unmodified-Since.
CONFLICT_CODES = frozenset({"CONFLICT", "ALREADY_MODIFIED"})


def _epoch(value: Any) -> float | None:
    if is_missing(value):
        return None
    try:
        stamp = pd.Timestamp(value)
    except (TypeError, ValueError):
        return None
    if stamp.tzinfo is None:
        stamp = stamp.tz_localize("UTC")
    return float(stamp.timestamp())


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(int(epoch), tz=timezone.utc).isoformat()


def stamps_of(frame: pd.DataFrame) -> dict[str, float]:
    """``{id: Modified_Time}`` (epoch seconds) of a frame indexed by id; NaT left out."""
    if "Modified_Time" not in frame.columns:
        return {}
    times = pd.to_datetime(frame["Modified_Time"], utc=True, errors="coerce")
    out: dict[str, float] = {}
    for rid, value in zip(frame.index.tolist(), times.tolist(), strict=True):
        if not is_missing(rid) and not is_missing(value):
            out.setdefault(str(rid), float(value.timestamp()))
    return out


def read_time(frame: pd.DataFrame) -> float | None:
    """When ``frame`` was read, on Zoho's clock (``attrs["read_at"]``), or ``None``."""
    return _epoch(frame.attrs.get("read_at"))


@dataclass
class Guard:
    """The version stamps of a push's records and every conflict check that uses them.

    Parameters
    ----------
    crm : CRM
        For the reads (``crm.client``); ``None`` only for a guard that never reads.
    module : str
        The module written to.
    stamps : dict
        ``{id: Modified_Time}`` (epoch seconds) the push expects each record to have.
    since : float, optional
        Zoho's time from which changes are not known yet (the baseline's read time, then
        each check's own); ``None`` reads the ids instead of listing.
    fallback : float, optional
        The stamp to assume for a record with none (the read time: it was not modified
        after it when read).
    enabled : bool
        False with ``overwrite=True``: no checks, no header.
    """

    crm: Any
    module: str
    stamps: dict[str, float] = field(default_factory=dict)
    since: float | None = None
    fallback: float | None = None
    enabled: bool = True
    #: Ids found changed by a check, with what Zoho said about them.
    found: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: Ids every step must refuse (found changed when resuming a journal).
    blocked: dict[str, dict[str, Any]] = field(default_factory=dict)

    # -- the checks -----------------------------------------------------------------------

    def changed(self, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Ids of ``ids`` changed in Zoho since their stamp: ``{id: {Modified_Time,
        Modified_By}}`` as Zoho has them now. Remembered in :attr:`found`."""
        wanted = [str(i) for i in dict.fromkeys(ids)]
        if not self.enabled or not wanted:
            return {}
        started = self.crm.client.server_time() - 1.0
        current = None
        if self.since is not None:
            budget = math.ceil(len(wanted) / READ_IDS_PER_CALL)
            current = self._listing(self.since, set(wanted), budget, started)
        if current is None:
            current = self._by_ids(wanted)
            listed = False
        else:
            listed = True
        self.since = started
        out: dict[str, dict[str, Any]] = {}
        for rid, (stamp, info) in current.items():
            expected = self.stamps.get(rid, self.fallback)
            if expected is None:
                # No stamp: listed since the read means changed since; read by id, unknown.
                hit = listed
            else:
                hit = stamp is None or stamp > expected
            if hit:
                out[rid] = info
        self.found.update(out)
        return out

    def _listing(
        self, since: float, wanted: set[str], budget: int, started: float
    ) -> dict[str, tuple[float | None, dict[str, Any]]] | None:
        """Records of ``wanted`` modified since ``since``, by listing the module's changes;
        ``None`` when that would take more than ``budget`` pages (or cannot be done), or
        when a record changed while the pages were read (``started``: Zoho's clock before
        the listing, less a second).

        Pages follow ``Modified_Time`` by position: a record changed between two pages
        leaves its place for the end of the listing, every later record moves up one, and
        the one that crosses the page boundary is never served. That one can be an edited
        record a colleague changed since the read, which no later check (they list from
        this one's start) would see again: so such a listing is not trusted.
        """
        out: dict[str, tuple[float | None, dict[str, Any]]] = {}
        pages = 0
        moved = False
        try:
            for body in iter_record_pages(
                self.crm.client, self.module, fields=["Modified_Time", "Modified_By"],
                sort_by="Modified_Time", sort_order="asc",
                modified_since=datetime.fromtimestamp(int(since), tz=timezone.utc),
                per_page=LISTING_PER_PAGE,
            ):
                pages += 1
                rows = body.get("data") or []
                for row in rows:
                    rid = str(row.get("id"))
                    if rid in wanted:
                        out[rid] = (_epoch(row.get("Modified_Time")), _who(row))
                if rows:  # sorted by Modified_Time: a page's last row is its latest change
                    last = _epoch(rows[-1].get("Modified_Time"))
                    moved = moved or (last is not None and last >= started)
                info = body.get("info") or {}
                if pages >= budget and info.get("more_records"):
                    return None  # more changes in the module than edited ids: read those
        except PaginationLimitError:
            return None
        if moved and pages > 1:
            return None  # positions may have shifted under the pages: read the ids
        return out

    def _by_ids(self, ids: Sequence[str]) -> dict[str, tuple[float | None, dict[str, Any]]]:
        frame = read_back(self.crm, self.module, ["Modified_Time", "Modified_By"], ids)
        out: dict[str, tuple[float | None, dict[str, Any]]] = {}
        times = stamps_of(frame)
        for rid in frame.index.tolist():
            row = frame.loc[rid]
            if isinstance(row, pd.DataFrame):
                row = row.iloc[0]
            name = row.get("Modified_By.name") if "Modified_By.name" in row.index else None
            when = times.get(str(rid))
            out[str(rid)] = (when, {
                "Modified_Time": None if when is None else _iso(when),
                "Modified_By": None if is_missing(name) else str(name),
            })
        return out

    # -- during the writes ----------------------------------------------------------------

    def header(self, ids: Sequence[str]) -> dict[str, str]:
        """``If-Unmodified-Since`` for a PUT of ``ids``: the newest of their stamps (so a
        record not changed since its stamp is never refused); empty when disabled or when
        a record has no stamp to go by."""
        if not self.enabled:
            return {}
        stamps = [self.stamps.get(str(i), self.fallback) for i in ids]
        if not stamps or any(s is None for s in stamps):
            return {}
        return {"If-Unmodified-Since": _iso(max(s for s in stamps if s is not None))}

    def note(self, ids: Sequence[str], body: Mapping[str, Any]) -> None:
        """Move the stamps of records a reply says were written (this push's own writes)."""
        data = body.get("data") if isinstance(body, Mapping) else None
        if not isinstance(data, list):
            return
        pairs: Iterable[tuple[str, Any]]
        if len(data) == len(ids):
            pairs = zip([str(i) for i in ids], data, strict=True)
        else:
            pairs = [(str((d.get("details") or {}).get("id")), d)
                     for d in data if isinstance(d, Mapping)]
        for rid, item in pairs:
            if not isinstance(item, Mapping) or item.get("status") != "success":
                continue
            details = item.get("details") if isinstance(item.get("details"), Mapping) else {}
            when = _epoch((details or {}).get("Modified_Time"))
            if when is None and self.crm is not None:
                # Written, time not given (a mass update may omit it): now is an upper bound.
                when = math.ceil(self.crm.client.server_time())
            if when is not None:
                self.stamps[rid] = max(when, self.stamps.get(rid, when))

    def refused(self, ids: Sequence[str], found: Mapping[str, Mapping[str, Any]]
                ) -> dict[str, Any]:
        """Zoho-shaped ``ALREADY_MODIFIED`` items for ``ids`` a check found changed, so the
        rows of a step read the same whoever refused the record (Zoho or the guard)."""
        return {
            "data": [
                {"code": "ALREADY_MODIFIED", "status": "error",
                 "message": "record updated time has already passed if-unmodified-since time",
                 "details": {"id": str(i), **dict(found.get(str(i)) or {})}}
                for i in ids
            ]
        }


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


def _who(row: Mapping[str, Any]) -> dict[str, Any]:
    by = row.get("Modified_By")
    return {
        "Modified_Time": row.get("Modified_Time"),
        "Modified_By": by.get("name") if isinstance(by, Mapping) else None,
    }


def conflict_rows(
    ids: Sequence[str],
    fields_by_id: Mapping[str, Sequence[str]],
    found: Mapping[str, Mapping[str, Any]],
) -> pd.DataFrame:
    """Skipped ``CONFLICT`` rows for ``ids`` (before :func:`describe_conflicts` adds the
    colleague's values)."""
    return status_rows(
        list(ids), status="skipped", code="CONFLICT", message=CONFLICT_MESSAGE,
        fields=[list(fields_by_id.get(i, [])) for i in ids],
        details=[dict(found.get(i) or {}) for i in ids],
    )


def describe_conflicts(crm: Any, module: str, results: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Every conflict row (ours or Zoho's ``ALREADY_MODIFIED``) as a skipped ``CONFLICT``
    row holding the colleague's values of its fields (``details["theirs"]``), their time
    (``Modified_Time`` column and ``details``) and name (``details["Modified_By"]``).

    Returns the rows and the read calls made (one per 100 conflicting records).
    """
    hit = results["code"].isin(list(CONFLICT_CODES)).fillna(False).to_numpy(dtype=bool)
    if not hit.any():
        return results, 0
    out = results.copy()
    rows = out.loc[hit]
    ids = [str(i) for i in dict.fromkeys(rows["id"].dropna().tolist())]
    fields = sorted({str(f) for fs in rows["fields"].tolist() for f in (fs or [])})
    calls = 0
    current = None
    if ids and crm is not None:
        wanted = [*fields, "Modified_Time", "Modified_By"]
        current = read_back(crm, module, list(dict.fromkeys(wanted)), ids)
        calls = math.ceil(len(ids) / READ_IDS_PER_CALL)
    times = stamps_of(current) if current is not None else {}
    new_details = []
    new_times = []
    for position, (rid, fs, details) in enumerate(
        zip(rows["id"].tolist(), rows["fields"].tolist(), rows["details"].tolist(),
            strict=True)
    ):
        del position
        info = dict(details) if isinstance(details, Mapping) else {}
        theirs: dict[str, Any] = {}
        when = times.get(str(rid))
        if current is not None and str(rid) in current.index:
            record = current.loc[str(rid)]
            if isinstance(record, pd.DataFrame):
                record = record.iloc[0]
            for name in fs or []:
                column = f"{name}.id" if f"{name}.id" in record.index else str(name)
                if column in record.index:
                    value = record[column]
                    theirs[str(name)] = None if is_missing(value) else value
            by = record.get("Modified_By.name") if "Modified_By.name" in record.index else None
            if not is_missing(by):
                info["Modified_By"] = str(by)
        if when is None:
            when = _epoch(info.get("Modified_Time"))
        if when is not None:
            info["Modified_Time"] = _iso(when)
        info["theirs"] = theirs
        new_details.append(info)
        new_times.append(pd.NaT if when is None else pd.Timestamp(int(when), unit="s", tz="UTC"))
    out.loc[hit, "status"] = "skipped"
    out.loc[hit, "code"] = "CONFLICT"
    out.loc[hit, "message"] = CONFLICT_MESSAGE
    details_col = out["details"].tolist()
    time_col = out["Modified_Time"].tolist()
    for n, position in enumerate(hit.nonzero()[0].tolist()):
        details_col[position] = new_details[n]
        time_col[position] = new_times[n]
    out["details"] = pd.Series(details_col, index=out.index, dtype=object)
    out["Modified_Time"] = pd.to_datetime(pd.Series(time_col, index=out.index), utc=True)
    return out, calls


def fresh_copy(prepared: Prepared) -> Prepared:
    """``prepared`` with a guard of its own (stamps move as a push writes)."""
    guard = prepared.guard
    if guard is None:
        return replace(prepared)
    return replace(prepared, guard=replace(
        guard, stamps=dict(guard.stamps), found={}, blocked={}, enabled=True))


def decide_conflicts(
    prepared: Prepared,
    *,
    overwrite: bool,
    journal: str | os.PathLike[str] | None = None,
) -> Prepared:
    """The conflict decision before sending: the one place it is made for every path.

    Checks the changed records (:meth:`Guard.changed`) and, unless ``overwrite``, takes
    the conflicting ones out of the plan (planned again without them) and reports them as
    skipped ``CONFLICT`` rows. Resuming a ``journal``: the records it touched changed
    because of this push (their stamps come from its replies, see
    :func:`~crmframe.facade.write.run.run_push`), the conflicts the first run excluded are
    excluded again (so the plan is the same), and records found changed since are refused
    at send time rather than planned out.

    Raises
    ------
    InputError
        When the records carry no version stamp (neither ``Modified_Time`` nor a read
        time) and ``overwrite`` is not given.
    """
    guard = prepared.guard
    if guard is None:
        return prepared
    problems = prepared.stale_problems
    if overwrite:
        guard.enabled = False
        skipped = prepared.skipped
        if problems is not None:
            skipped = [*skipped, problem_rows(problems)]
        return replace(prepared, conflicts=[], skipped=skipped,
                       plan=replace(prepared.plan, check_calls=0))
    if prepared.unstamped:
        raise InputError(
            "cannot tell whether these records changed in Zoho since they were read: the "
            "frame has no Modified_Time column and no read time (attrs['read_at']). Pass "
            "the frame as read (crm.read_records keeps both; crmframe.to_snapshot / "
            "read_snapshot keep them between sessions) as original=..., or push with "
            "overwrite=True to write over whatever Zoho holds"
        )
    changes = prepared.changes
    ids = list(changes.ids)
    head = Journal.peek(journal) if journal is not None else None
    exempt = head.touched if head is not None else set()
    before = [str(i) for i in (head.header.get("conflicts") or [])] if head else []
    found = {i: info for i, info in prepared.stale.items() if i in set(ids)}
    check = [i for i in ids if i not in exempt and i not in before and i not in found]
    resumed = head is not None and bool(exempt)
    fresh = guard.changed(check)
    if resumed:
        # Planned out now, the plan would no longer be the journal's: refused when sent.
        guard.blocked.update(fresh)
    else:
        found.update(fresh)
    found.update({i: guard.found.get(i, {}) for i in before if i in set(ids)})
    conflicts = [i for i in ids if i in found]
    fields_by_id: dict[str, list[str]] = {}
    if problems is not None:
        # stale records whose differences could not be sent (a recomputed formula...)
        for rid, fld in problems[["id", "field"]].astype(str).itertuples(index=False):
            fields_by_id.setdefault(rid, []).append(fld)
            found.setdefault(rid, prepared.stale.get(rid, {}))
        conflicts += [i for i in fields_by_id if i not in set(conflicts)]
    if not conflicts:
        return replace(prepared, conflicts=[])
    hit = changes.changes["id"].isin(conflicts).to_numpy(dtype=bool)
    for rid, fld in changes.changes.loc[hit, ["id", "field"]].itertuples(index=False):
        fields_by_id.setdefault(str(rid), []).append(str(fld))
    kept = changes.without(~hit)
    plan = make_plan(kept, prepared.fields, prepared.module, **prepared.plan_options).checked()
    return replace(
        prepared, changes=kept, plan=plan, conflicts=conflicts,
        skipped=[*prepared.skipped, conflict_rows(conflicts, fields_by_id, found)],
    )
