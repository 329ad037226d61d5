"""Plan the API calls that push a :class:`~crmframe.core.diff.ChangeSet`: fewest calls or credits.

Three routes reach Zoho [zoho-api.md §3–5]:

``mass_update``
    ``POST /{module}/actions/mass_update`` with ``ids``: one value per field for up to 500
    ids, one field per call (three in Deals), only fields whose metadata allows mass update
    (never lookups, e-mail, multi-line...).
``put``
    ``PUT /{module}``: batches of up to 100 records, each carrying only its changed fields.
``bulk_write``
    an asynchronous CSV import (upload, create job, poll, download result).

**How the plan is chosen.** A record leaves the PUT batches only when *all* its changed
fields are covered by mass updates. Records whose mass-updatable changes are identical
(the same field → value pairs, at most the per-call field limit) form a *unit*; a unit of
``n`` records can be sent with ``c`` mass-update calls removing ``min(500c, n)`` records from
the batches. The planner finds, by dynamic programming over the number of records removed,
the choice of ``c`` for every unit that minimises the objective — ``(calls, credits)`` or
``(credits, calls)``, compared lexicographically — with the PUT batches of the remainder
costed exactly (``ceil(rest / 100)`` calls). Records with more mass-updatable changes than
one call carries (*riders*) must travel in the calls of each of their values: up to
:data:`EXACT_RIDERS` of them, every subset is tried with the same search, so the plan is the
optimum of its cost model; beyond that a greedy pass lets them ride in calls already
chosen when that does not cost more. ``tests/writeback`` checks the plan against a
brute-force optimum on crafted change sets.

**Bulk write** is a switch, not part of the optimisation: when, after the best mass
updates, at least ``bulk_threshold`` records would still go by PUT (default
:data:`DEFAULT_BULK_THRESHOLD`, the point where PUT costs as many credits as one job), the
plan also prices sending them — or everything — as bulk-write jobs and keeps the cheapest
of the three for the objective. Changes *to empty* (null, ``""``, an emptied multi-select)
always go by PUT, as null (``[]`` for a multi-select): a bulk write is created
with ``ignore_empty: true``, and Zoho documents mass update with a value, not with null
(UNCONFIRMED that null works there, so it is not tried).

**Costs** (:class:`Costs`, all overridable): PUT 1 credit per 10 records per call
[zoho-api.md §8]; mass update — **UNCONFIRMED** in Zoho's docs — priced by default like
the update it is, 1 credit per 10 ids per call (the conservative choice: it never
under-states the bill; set ``Costs(mass_update_records_per_credit=None,
mass_update_call_credits=1)`` for a flat price per call); bulk write 500 credits per job and
:attr:`Costs.bulk_write_calls` = 4 calls (upload, create, one status poll, result download;
a long job polls more).

Examples
--------
>>> import pandas as pd
>>> from crmframe.core.diff import ChangeSet, field_infos
>>> ids = [str(3652397000000000000 + i) for i in range(580)]
>>> changes = pd.DataFrame({"id": ids, "field": "Lead_Status", "old": "New",
...                         "new": "Contacted"})
>>> meta = [{"api_name": "Lead_Status", "data_type": "picklist", "mass_update": True}]
>>> plan = make_plan(ChangeSet(changes=changes), meta, "Leads")
>>> plan.steps[["route", "n_records", "credits"]].values.tolist()
[['mass_update', 480, 48], ['put', 100, 10]]
>>> plan.calls, plan.credits, plan.batch_calls
(2, 58, 6)
"""

from __future__ import annotations

import html
import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import numpy as np
import pandas as pd

from crmframe.core.bulkwrite import BulkWriteFile, build_bulk_write_columns, csv_cells
from crmframe.core.codecs import empty_frame, encode_value
from crmframe.core.diff import ChangeSet, field_infos
from crmframe.core.fieldtypes import LOOKUP_KINDS, Kind
from crmframe.core.metadata import FieldInfo
from crmframe.errors import InputError

__all__ = [
    "DEFAULT_BULK_THRESHOLD",
    "EXACT_RIDERS",
    "ROUTES",
    "STEP_COLUMNS",
    "Costs",
    "Limits",
    "Objective",
    "Plan",
    "make_plan",
]

Objective = Literal["calls", "credits"]
#: The routes a step may take.
ROUTES: tuple[str, ...] = ("mass_update", "put", "bulk_write")
#: Columns of :attr:`Plan.steps`.
STEP_COLUMNS: tuple[str, ...] = (
    "route", "calls", "n_records", "ids", "fields", "payload_bytes", "credits",
)
#: Records left for PUT above which bulk write is considered (500 credits = 5,000 records).
DEFAULT_BULK_THRESHOLD = 5_000

# Lexicographic (primary, secondary) packed in one int64: secondary stays far below 2**32.
_SCALE = np.int64(2**32)
_INF = np.int64(2**62)


@dataclass(frozen=True)
class Costs:
    """Credits per route (zoho-api.md §8; every figure overridable).

    Attributes
    ----------
    put_records_per_credit : int
        PUT costs 1 credit per this many records, rounded up per call (10).
    mass_update_records_per_credit : int or None
        Mass update priced like an update, 1 credit per this many ids per call (10); None
        for a flat :attr:`mass_update_call_credits` per call. UNCONFIRMED in Zoho's docs.
    mass_update_call_credits : int
        Flat credits per mass-update call when the above is None.
    bulk_write_job_credits : int
        Credits per bulk-write job (500).
    bulk_write_calls : int
        API calls one bulk-write job makes: upload, create, one poll, download (4).

    Examples
    --------
    >>> Costs().put(100), Costs().put(101), Costs().mass_update(500)
    (10, 11, 50)
    >>> Costs(mass_update_records_per_credit=None).mass_update(500)
    1
    """

    put_records_per_credit: int = 10
    mass_update_records_per_credit: int | None = 10
    mass_update_call_credits: int = 1
    bulk_write_job_credits: int = 500
    bulk_write_calls: int = 4

    def put(self, n: int) -> int:
        """Credits of one PUT call carrying ``n`` records."""
        return math.ceil(n / self.put_records_per_credit) if n > 0 else 0

    def mass_update(self, n: int) -> int:
        """Credits of one mass-update call on ``n`` ids."""
        if n <= 0:
            return 0
        if self.mass_update_records_per_credit is None:
            return self.mass_update_call_credits
        return math.ceil(n / self.mass_update_records_per_credit)


@dataclass(frozen=True)
class Limits:
    """Zoho's per-call sizes (overridable, e.g. to test the planner on small numbers)."""

    put_batch: int = 100
    mass_update_ids: int = 500
    bulk_write_rows: int = 25_000


# ---------------------------------------------------------------------------------------------
# the result


def _empty_steps() -> pd.DataFrame:
    return empty_frame({
        "route": "string", "calls": "int64", "n_records": "int64", "ids": object,
        "fields": object, "payload_bytes": "int64", "credits": "int64",
    })


@dataclass(frozen=True, eq=False)
class Plan:
    """The calls that will push a change set, what they cost, and their bodies. No I/O.

    Attributes
    ----------
    steps : DataFrame
        One row per call (a bulk-write job is one row of several calls): ``route``,
        ``calls``, ``n_records``, ``ids`` (list), ``fields`` (list), ``payload_bytes``,
        ``credits``.
    payloads : list
        Aligned with ``steps``: the JSON body for ``put`` (``{"data": [...]}``, no
        ``trigger``) and ``mass_update`` (``{"data": [{...}], "ids": [...]}``), a
        :class:`~crmframe.core.bulkwrite.BulkWriteFile` for ``bulk_write``.
    changes : ChangeSet
        What the plan was made from.
    check_calls : int
        Reads a push makes to check for conflicts, estimated: one listing of the module's
        changes before sending, and one more right before each mass update and bulk write
        (set by the push, which knows whether it checks; 0 in a bare plan).
    """

    steps: pd.DataFrame
    payloads: list[Any]
    changes: ChangeSet
    module: str
    objective: Objective = "calls"
    costs: Costs = field(default_factory=Costs)
    limits: Limits = field(default_factory=Limits)
    n_records: int = 0
    check_calls: int = 0

    def __len__(self) -> int:
        return len(self.steps)

    @property
    def write_calls(self) -> int:
        """Calls of the steps: writes (a bulk write's upload, job, poll and download)."""
        return int(self.steps["calls"].sum())

    @property
    def calls(self) -> int:
        """API calls the push of this plan makes: the steps' and the conflict checks'."""
        return self.write_calls + self.check_calls

    @property
    def credits(self) -> int:
        """Credits the plan spends (under :attr:`costs`; a check's read costs 1)."""
        return int(self.steps["credits"].sum()) + self.check_calls

    def checked(self) -> Plan:
        """This plan with the conflict checks a push makes counted in :attr:`calls`.

        Examples
        --------
        >>> make_plan(ChangeSet.empty(), None, "Leads").checked().check_calls
        0
        """
        if not len(self.steps):
            return self
        rechecks = int(self.steps["route"].isin(["mass_update", "bulk_write"]).sum())
        return replace(self, check_calls=1 + rechecks)

    @property
    def naive_calls(self) -> int:
        """Calls of one PUT per record."""
        return self.n_records

    @property
    def naive_credits(self) -> int:
        """Credits of one PUT per record."""
        return self.n_records * self.costs.put(1)

    @property
    def batch_calls(self) -> int:
        """Calls of plain PUT batches of 100 (every record, every changed field)."""
        return math.ceil(self.n_records / self.limits.put_batch)

    @property
    def batch_credits(self) -> int:
        """Credits of plain PUT batches of 100."""
        return _put_credits(self.n_records, self.costs, self.limits)

    def route_totals(self) -> pd.DataFrame:
        """Calls, records and credits per route (index ``route``)."""
        if not len(self.steps):
            out: pd.DataFrame = pd.DataFrame(
                columns=["calls", "n_records", "credits"], dtype="int64"
            ).rename_axis("route")
            return out
        totals: pd.DataFrame = self.steps.groupby("route", sort=False)[
            ["calls", "n_records", "credits"]
        ].sum()
        return totals

    def field_counts(self) -> pd.DataFrame:
        """Changed cells per field and per route (rows: fields; columns: routes)."""
        rows: list[tuple[str, str]] = []
        records = self.changes.records()
        for route, ids, fields in zip(
            self.steps["route"], self.steps["ids"], self.steps["fields"], strict=True
        ):
            wanted = set(fields)
            for rid in ids:
                rows.extend((f, str(route)) for f in records.get(rid, {}) if f in wanted)
        if not rows:
            empty: pd.DataFrame = pd.DataFrame(dtype="int64")
            return empty
        frame = pd.DataFrame(rows, columns=["field", "route"])
        counts: pd.DataFrame = (
            frame.groupby(["field", "route"]).size().unstack("route", fill_value=0).astype("int64")
        )
        counts.columns.name = None
        return counts

    def to_frame(self) -> pd.DataFrame:
        """The steps as a new frame."""
        out: pd.DataFrame = self.steps.copy()
        return out

    def summary(self) -> str:
        """A few lines: calls and credits per route, against the naive ways.

        Examples
        --------
        >>> print(make_plan(ChangeSet.empty(), None, "Leads").summary())
        Plan for Leads (fewest calls): 0 calls, 0 credits for 0 records (0 changed cells)
          vs one PUT per record: 0 calls, 0 credits; vs PUT batches of 100: 0 calls, 0 credits
        """
        goal = "fewest calls" if self.objective == "calls" else "fewest credits"
        checks = (f" ({self.write_calls:,} for the steps, {self.check_calls:,} to check "
                  "for conflicts)" if self.check_calls else "")
        lines = [
            f"Plan for {self.module} ({goal}): {self.calls:,} calls{checks}, "
            f"{self.credits:,} credits for {self.n_records:,} records "
            f"({len(self.changes):,} changed cells)"
        ]
        for route, row in self.route_totals().iterrows():
            lines.append(f"  {route}: {int(row['calls']):,} calls, {int(row['n_records']):,} "
                         f"records, {int(row['credits']):,} credits")
        lines.append(
            f"  vs one PUT per record: {self.naive_calls:,} calls, {self.naive_credits:,} "
            f"credits; vs PUT batches of {self.limits.put_batch}: {self.batch_calls:,} calls, "
            f"{self.batch_credits:,} credits"
        )
        lines += [f"  ! {r}" for r in self.changes.reports()]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        head, *rest = self.summary().splitlines()
        items = "".join(f"<li>{html.escape(line.strip())}</li>" for line in rest)
        return f"<div><strong>{html.escape(head)}</strong><ul>{items}</ul></div>"


# ---------------------------------------------------------------------------------------------
# cost helpers


def _put_credits(n: int, costs: Costs, limits: Limits) -> int:
    full, rest = divmod(n, limits.put_batch)
    return full * costs.put(limits.put_batch) + costs.put(rest)


def _key(calls: Any, credits: Any, objective: Objective) -> Any:
    if objective == "calls":
        return calls * _SCALE + credits
    return credits * _SCALE + calls


def _put_key(rest: np.ndarray, costs: Costs, limits: Limits, objective: Objective) -> np.ndarray:
    rest = rest.astype(np.int64)
    calls = -(-rest // limits.put_batch)
    full, part = np.divmod(rest, limits.put_batch)
    part_credits = np.asarray([costs.put(int(p)) for p in range(limits.put_batch)],
                              dtype=np.int64)[part]
    credits = full * costs.put(limits.put_batch) + part_credits
    out: np.ndarray = _key(calls, credits, objective)
    return out


def _bulk_cost(n: int, costs: Costs, limits: Limits) -> tuple[int, int]:
    jobs = math.ceil(n / limits.bulk_write_rows) if n > 0 else 0
    return jobs * costs.bulk_write_calls, jobs * costs.bulk_write_job_credits


# ---------------------------------------------------------------------------------------------
# choosing mass updates


@dataclass
class _Unit:
    """Records sharing one set of mass-updatable changes (``ids``), plus ``forced`` riders:
    records with several changes sent in the calls of single-value units."""

    pairs: tuple[tuple[str, str], ...]
    ids: list[Any]  # record positions (make_plan) or ids
    forced: list[Any] = field(default_factory=list)
    per_chunk: int = 1  # calls per chunk of ids: ceil(len(pairs) / fields per call)


def _unit_options(
    unit: _Unit, costs: Costs, limits: Limits, objective: Objective, *, fine: bool = True
) -> list[tuple[int, int]]:
    """(own records removed, packed MU cost) of every choice worth considering for a unit.

    Sending ``t`` ids (riders first) takes ``ceil(t/B)`` calls. For a given number of calls
    the MU credits only step up every ``mass_update_records_per_credit`` ids, and removing
    more records never costs more PUT calls or credits, so the largest ``t`` of each credit
    step dominates: those are the only candidates, which keeps the search exact. When the
    search would be too large (``fine=False``), only the last chunk of a unit may be partial
    (with Zoho's sizes — 500, 100, 10 records per credit — a partial middle chunk never wins).
    """
    n, f, size = len(unit.ids), len(unit.forced), limits.mass_update_ids
    step = costs.mass_update_records_per_credit
    out = [] if f else [(0, 0)]
    most = math.ceil((n + f) / size)
    for c in range(max(1, math.ceil(f / size)), most + 1):
        low, high = (c - 1) * size, min(c * size, n + f)
        first = max(1, f - low)
        # coarse mode (very large inputs): partial chunks only as the unit's last chunk
        lasts = (
            [s for s in range(step, high - low, step) if s >= first]
            if step and (fine or c == most)
            else []
        )
        for s in [*lasts, high - low]:
            credits = (c - 1) * costs.mass_update(size) + costs.mass_update(s)
            key = _key(c * unit.per_chunk, credits * unit.per_chunk, objective)
            out.append((low + s - f, int(key)))
    return out


def _worth_keeping(unit: _Unit, costs: Costs, limits: Limits) -> bool:
    # k MU calls on units no larger than a PUT batch save at most k PUT calls: never a
    # strict gain in calls. Keep such a unit only if some part of it is cheaper in credits.
    n = len(unit.ids)
    if n > limits.put_batch or unit.forced:
        return True
    slack = 1 if limits.put_batch % costs.put_records_per_credit else 0
    return any(
        unit.per_chunk * costs.mass_update(s) < math.ceil(s / costs.put_records_per_credit) + slack
        for s in range(1, n + 1)
    )


def _choose(
    units: list[_Unit],
    n_total: int,
    costs: Costs,
    limits: Limits,
    objective: Objective,
) -> tuple[list[int], int]:
    """Own records to send per unit, minimising MU cost + PUT cost of the rest; and the
    packed total cost. Riders (``forced``) are already counted as removed."""
    riders = len({r for u in units for r in u.forced})
    capacity = sum(len(u.ids) for u in units)
    fine = sum(len(_unit_options(u, costs, limits, objective)) for u in units) * (
        capacity + 1
    ) <= _SEARCH_BUDGET
    dp = np.full(capacity + 1, _INF, dtype=np.int64)
    dp[0] = 0
    choices: list[np.ndarray] = []
    for unit in units:
        options = _unit_options(unit, costs, limits, objective, fine=fine)
        best = np.full(capacity + 1, _INF, dtype=np.int64)
        pick = np.zeros(capacity + 1, dtype=np.int32)
        for removed, cost in options:
            shifted = np.full(capacity + 1, _INF, dtype=np.int64)
            shifted[removed:] = dp[: capacity + 1 - removed] + cost
            better = shifted < best
            best[better] = shifted[better]
            pick[better] = removed
        dp = best
        choices.append(pick)
    reachable = np.flatnonzero(dp < _INF)
    total = dp[reachable] + _put_key(n_total - riders - reachable, costs, limits, objective)
    at = int(np.argmin(total))
    removed_best = int(reachable[at])
    takes = [0] * len(units)
    r = removed_best
    for i in range(len(units) - 1, -1, -1):
        take = int(choices[i][r])
        takes[i] = take
        r -= take
    return takes, int(total[at])


#: Riders (records with more mass-updatable changes than one call carries) up to which
#: every subset of them is tried; beyond, or when the search would be too large, a greedy
#: pass lets them ride in calls chosen for the others.
EXACT_RIDERS = 12
_SEARCH_BUDGET = 20_000_000


def _with_riders(
    base: list[_Unit], riders: list[tuple[Any, tuple[tuple[str, str], ...]]], chosen: int
) -> list[_Unit]:
    """Fresh units where the riders of bit mask ``chosen`` leave their own unit and are
    forced into the single-value units of each of their values (created when missing)."""
    picked = [(rid, sig) for bit, (rid, sig) in enumerate(riders) if chosen >> bit & 1]
    gone = {rid for rid, _ in picked}
    units = [
        _Unit(u.pairs, [i for i in u.ids if i not in gone] if gone else u.ids, [], u.per_chunk)
        for u in base
    ]
    by_pair = {u.pairs[0]: u for u in units if len(u.pairs) == 1}
    for rid, sig in picked:
        for pair in sig:
            unit = by_pair.get(pair)
            if unit is None:
                unit = by_pair[pair] = _Unit((pair,), [], [], 1)
                units.append(unit)
            unit.forced.append(rid)
    return units


# ---------------------------------------------------------------------------------------------
# make_plan


def _as_changeset(changes: Any) -> ChangeSet:
    if isinstance(changes, ChangeSet):
        return changes
    if isinstance(changes, pd.DataFrame):
        missing = {"id", "field", "new"} - set(changes.columns)
        if missing:
            raise InputError(f"changes frame lacks column(s) {sorted(missing)}")
        frame = changes.copy()
        if "old" not in frame.columns:
            frame["old"] = None
        return ChangeSet(changes=frame[["id", "field", "old", "new"]].reset_index(drop=True))
    raise InputError(f"changes must be a ChangeSet or its frame, got {type(changes).__name__}")


_PLAIN_TYPES: dict[Kind, tuple[type, ...]] = {
    Kind.TEXT: (str,),
    Kind.ID: (str,),
    Kind.INTEGER: (int,),
    Kind.FLOAT: (float, int),
    Kind.BOOLEAN: (bool,),
}


def _encode_column(values: list[Any], kind: Kind) -> tuple[list[Any], list[int]]:
    """``encode_value`` over one field's new values, and the positions of the missing ones.

    Values that already are what Zoho takes (``str`` for text, ``int`` for integers...)
    pass as they are, checked by type in one pass; the rest go through the codecs.
    """
    array = np.empty(len(values), dtype=object)
    array[:] = values
    missing_mask = pd.isna(array)
    if kind is Kind.TEXT or kind is Kind.ID:
        # "" is a clear (as diff has it): sent as null, by PUT (a bulk write ignores it)
        missing_mask |= np.fromiter((type(v) is str and not v for v in values), dtype=bool,
                                    count=len(values))
    missing = np.flatnonzero(missing_mask).tolist()
    plain = _PLAIN_TYPES.get(kind)
    present_types = set(map(type, array[~missing_mask] if missing else values))
    if plain is not None and present_types <= set(plain) and not (
        bool in present_types and kind is not Kind.BOOLEAN
    ):
        out = values if not missing else [None if m else v for v, m in zip(
            values, missing_mask.tolist(), strict=True)]
        if kind is Kind.FLOAT and int in present_types:
            out = [None if v is None else float(v) for v in out]
        return out, missing
    if not missing:
        return [encode_value(v, kind) for v in values], missing
    return [None if m else encode_value(v, kind)
            for v, m in zip(values, missing_mask.tolist(), strict=True)], missing


class _Cells:
    """A change set's cells by record, for the planner.

    Record ids in first-seen order (:attr:`rids`; records are their positions there), new
    values encoded once per field column, the records that must go by PUT (:attr:`cleared`:
    a clear, or a subform); a record's ``{field: value}`` is built only when asked for, so the
    records that go by bulk write never become dicts.
    """

    def __init__(self, cs: ChangeSet, infos: Mapping[str, FieldInfo]) -> None:
        frame = cs.changes
        codes, uniques = pd.factorize(frame["id"], use_na_sentinel=False)
        rids = uniques.tolist()
        if not set(map(type, rids)) <= {str}:
            rids = [str(r) for r in rids]
        fcodes, fnames = pd.factorize(frame["field"], use_na_sentinel=False)
        names = [str(f) for f in fnames.tolist()]
        new = frame["new"].to_numpy(dtype=object)
        encoded = np.empty(len(frame), dtype=object)
        cleared = np.zeros(len(rids), dtype=bool)
        self.kinds: dict[str, Kind] = {}
        self._columns: list[tuple[str, Kind, np.ndarray]] = []
        by_field = np.argsort(fcodes, kind="stable")
        field_bounds = np.searchsorted(fcodes[by_field], np.arange(len(names) + 1))
        for j, name in enumerate(names):
            pos = by_field[field_bounds[j] : field_bounds[j + 1]]
            info = infos.get(name)
            kind = info.kind if info is not None else Kind(cs.kinds.get(name, Kind.TEXT))
            self.kinds[name] = kind
            values, missing = _encode_column(new[pos].tolist(), kind)
            # fromiter keeps a list value as one cell
            encoded[pos] = np.fromiter(values, dtype=object, count=len(values))
            if missing:
                cleared[codes[pos[missing]]] = True
            if kind is Kind.LIST:
                # an emptied multi-select is a clear too: a bulk-write cell of "" is ignored
                emptied = [k for k, v in enumerate(values)
                           if isinstance(v, list) and all(x is None or x == "" for x in v)]
                cleared[codes[pos[emptied]]] = True
            if kind is Kind.SUBFORM:
                # a bulk-write CSV has no column for a subform's rows: these go by PUT
                cleared[codes[pos]] = True
            self._columns.append((name, kind, pos))
        self.rids: list[str] = rids
        self.cleared = cleared
        self._names = names
        self._codes = codes
        self._fcodes = fcodes
        self._encoded = encoded
        self._by_record: tuple[list[int], list[str], list[Any]] | None = None

    def record(self, r: int) -> dict[str, Any]:
        """``{field: encoded new value}`` of the record at position ``r``."""
        if self._by_record is None:
            # a record's cells are contiguous once sorted by (record, field): its dict
            # keeps the fields in their first-seen order, a repeated cell the later value;
            # sorted on first use (a plan all by bulk write never needs it)
            order = np.lexsort((self._fcodes, self._codes))
            bounds = np.searchsorted(self._codes[order], np.arange(len(self.rids) + 1))
            names = np.asarray(self._names, dtype=object)
            self._by_record = (bounds.tolist(), names[self._fcodes[order]].tolist(),
                               self._encoded[order].tolist())
        starts, fields, values = self._by_record
        start, stop = starts[r], starts[r + 1]
        return dict(zip(fields[start:stop], values[start:stop], strict=True))

    def eligible(self, mass_fields: set[str]) -> np.ndarray:
        """Positions of the records whose every change mass update can carry (no clear)."""
        is_mass = np.asarray([name in mass_fields for name in self._names], dtype=bool)
        other = self._codes[~is_mass[self._fcodes]] if len(self._names) else self._codes[:0]
        blocked = np.bincount(other, minlength=len(self.rids)) > 0
        out: np.ndarray = np.flatnonzero(~blocked & ~self.cleared)
        return out

    def csv_columns(self, chunk: np.ndarray) -> list[tuple[str, list[str]]]:
        """The bulk-write CSV columns of the records at ``chunk`` (ascending positions):
        ``(field, cells)`` in the order the records first change them, ``""`` where a
        record does not change the field."""
        at = np.full(len(self.rids), -1, dtype=np.intp)
        at[chunk] = np.arange(len(chunk))
        found: list[tuple[int, int, str, list[str]]] = []
        for j, (name, kind, pos) in enumerate(self._columns):
            rows = at[self._codes[pos]]
            take = rows >= 0
            if not take.any():
                continue
            column = np.full(len(chunk), "", dtype=object)
            texts = csv_cells(self._encoded[pos[take]].tolist(), kind)
            column[rows[take]] = np.fromiter(texts, dtype=object, count=len(texts))
            found.append((int(rows[take].min()), j, name, column.tolist()))
        found.sort(key=lambda c: (c[0], c[1]))
        return [(name, cells) for _, _, name, cells in found]


def _json_size(body: Any) -> int:
    return len(json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))


def make_plan(
    changes: ChangeSet | pd.DataFrame,
    fields: Any = None,
    module: str | None = None,
    *,
    objective: Objective = "calls",
    costs: Costs | None = None,
    bulk_threshold: int | None = DEFAULT_BULK_THRESHOLD,
    mass_update_max_fields: int | None = None,
    limits: Limits | None = None,
) -> Plan:
    """The cheapest set of calls that pushes ``changes``, with their bodies.

    Parameters
    ----------
    changes : ChangeSet or DataFrame
        From :func:`~crmframe.core.diff.diff` (or a frame with ``id``, ``field``, ``new``).
        Validate it first: values that do not fit their kind raise here.
    fields : optional
        Field metadata (anything ``normalise_fields`` accepts). Without it nothing is
        mass-updated (mass update needs the ``mass_update`` flag) and kinds come from the
        change set.
    module : str, optional
        Module API name; defaults to the change set's.
    objective : {"calls", "credits"}
        What to minimise first; the other breaks ties.
    costs : Costs, optional
        Credit prices (defaults: zoho-api.md §8, see :class:`Costs`).
    bulk_threshold : int or None
        Records left for PUT from which bulk write is priced as well; None: never.
    mass_update_max_fields : int, optional
        Fields per mass-update call (default 3 for Deals, else 1).
    limits : Limits, optional
        Per-call sizes (100 records per PUT, 500 ids per mass update, 25,000 rows per CSV).

    Returns
    -------
    Plan

    Raises
    ------
    InputError
        No module, an unknown objective, a malformed changes frame.
    ValidationError
        A value does not fit its field's kind (from the codecs).
    """
    if objective not in ("calls", "credits"):
        raise InputError(f"objective must be 'calls' or 'credits', got {objective!r}")
    cs = _as_changeset(changes)
    module = module or cs.module
    if not module:
        raise InputError("make_plan needs the module (argument or df.attrs['module'])")
    costs = costs or Costs()
    limits = limits or Limits()
    infos = field_infos(fields)
    per_call = mass_update_max_fields or (3 if module == "Deals" else 1)

    cells = _Cells(cs, infos)
    kinds = cells.kinds
    rids = cells.rids
    n_total = len(rids)
    cleared = cells.cleared

    # once per field, not once per record: mass_updatable rebuilds the field's dict
    mass_fields = {
        name for name, info in infos.items()
        if info.mass_updatable and info.kind not in LOOKUP_KINDS and info.kind is not Kind.SUBFORM
    }
    spelled: dict[tuple[type, Any], str] = {}

    def as_json(value: Any) -> str:
        # Most records share a handful of values: spell each once.
        if isinstance(value, (list, dict)):
            return json.dumps(value, sort_keys=True)
        key = (type(value), value)
        text = spelled.get(key)
        if text is None:
            text = spelled[key] = json.dumps(value, sort_keys=True)
        return text

    # Units and riders hold record positions (into ``rids``). Clears stay out of mass
    # updates (Zoho documents a value there, never null), and so does every record with a
    # change mass update cannot carry: counted per record with NumPy, not per cell.
    units_by_sig: dict[tuple[tuple[str, str], ...], _Unit] = {}
    riders: list[tuple[int, tuple[tuple[str, str], ...]]] = []
    for r in cells.eligible(mass_fields).tolist():
        values = cells.record(r)
        if len(values) == 1:
            ((f, v),) = values.items()
            sig: tuple[tuple[str, str], ...] = ((f, as_json(v)),)
        else:
            sig = tuple(sorted((f, as_json(v)) for f, v in values.items()))
        unit = units_by_sig.get(sig)
        if unit is None:
            unit = units_by_sig[sig] = _Unit(sig, [], [], math.ceil(len(sig) / per_call))
        unit.ids.append(r)
        if len(sig) > 1:
            riders.append((r, sig))
    every_unit = list(units_by_sig.values())
    units = [u for u in every_unit if _worth_keeping(u, costs, limits)]
    chosen_mask = 0
    options_size = sum(len(_unit_options(u, costs, limits, objective)) for u in units)
    capacity = sum(len(u.ids) for u in units) + 1
    exact = bool(riders) and len(riders) <= EXACT_RIDERS and (
        2 ** len(riders) * max(options_size + 2 * len(riders), 1) * capacity <= _SEARCH_BUDGET
    )
    if exact:
        # small units pruned above may still share a call with riders: start from all
        def forced_units(mask: int) -> list[_Unit]:
            return [u for u in _with_riders(every_unit, riders, mask)
                    if _worth_keeping(u, costs, limits)]

        best_key: int | None = None
        for mask in range(2 ** len(riders)):
            _, key = _choose(forced_units(mask), n_total, costs, limits, objective)
            if best_key is None or key < best_key:
                best_key, chosen_mask = key, mask
        units = forced_units(chosen_mask)
    takes, _ = _choose(units, n_total, costs, limits, objective)

    # mass-update calls: (pairs, ids); riders first so that they are always sent; a unit
    # with more values than one call carries sends each chunk once per group of fields
    mu_calls: list[tuple[tuple[tuple[str, str], ...], list[int]]] = []
    for unit, take in zip(units, takes, strict=True):
        members = unit.forced + unit.ids[:take]
        for start in range(0, len(members), limits.mass_update_ids):
            chunk = members[start : start + limits.mass_update_ids]
            for first in range(0, len(unit.pairs), per_call):
                mu_calls.append((unit.pairs[first : first + per_call], list(chunk)))
    covered = {rid for _, ids in mu_calls for rid in ids}

    if riders and mu_calls and not exact:
        # Riders add no call: they may add MU credits and save PUT calls or credits. Take
        # the best prefix of the riders that fit, so several small losses that together
        # empty a PUT batch are not refused one by one.
        single = {pairs[0]: i for i, (pairs, _) in enumerate(mu_calls) if len(pairs) == 1}
        sizes = [len(ids) for _, ids in mu_calls]
        n_put = n_total - len(covered)
        taken: list[tuple[int, list[int]]] = []
        d_calls = d_credits = 0
        best_gain, best_len = 0, 0
        for rid, sig in riders:
            if rid in covered:
                continue
            found = [single.get(pair) for pair in sig]
            slots = [s for s in found if s is not None]
            if len(slots) < len(sig) or any(sizes[s] >= limits.mass_update_ids for s in slots):
                continue
            for s in slots:
                d_credits += costs.mass_update(sizes[s] + 1) - costs.mass_update(sizes[s])
                sizes[s] += 1
            d_calls += math.ceil((n_put - 1) / limits.put_batch) - math.ceil(
                n_put / limits.put_batch
            )
            d_credits += _put_credits(n_put - 1, costs, limits) - _put_credits(
                n_put, costs, limits
            )
            n_put -= 1
            taken.append((rid, slots))
            gain = int(_key(d_calls, d_credits, objective))
            if gain < best_gain:
                best_gain, best_len = gain, len(taken)
        for rid, slots in taken[:best_len]:
            for s in slots:
                mu_calls[s][1].append(rid)
            covered.add(rid)

    in_mu = np.zeros(n_total, dtype=bool)
    in_mu[list(covered)] = True
    put_ids = np.flatnonzero(~in_mu)
    bulk_ids = np.zeros(0, dtype=np.intp)
    if bulk_threshold is not None and len(put_ids) >= bulk_threshold:
        # candidates: as planned; mass updates kept and the rest by bulk; everything by bulk
        def bulk_key(n_mu: list[tuple[Any, list[Any]]], to_put: np.ndarray,
                     to_bulk: np.ndarray) -> int:
            b_calls, b_credits = _bulk_cost(len(to_bulk), costs, limits)
            calls = len(n_mu) + math.ceil(len(to_put) / limits.put_batch) + b_calls
            credits = (sum(costs.mass_update(len(ids)) for _, ids in n_mu)
                       + _put_credits(len(to_put), costs, limits) + b_credits)
            return int(_key(calls, credits, objective))

        kept_put = put_ids[cleared[put_ids]]
        kept_bulk = put_ids[~cleared[put_ids]]
        all_put = np.flatnonzero(cleared)
        all_bulk = np.flatnonzero(~cleared)
        candidates = [
            (bulk_key(mu_calls, put_ids, bulk_ids), mu_calls, put_ids, bulk_ids),
            (bulk_key(mu_calls, kept_put, kept_bulk), mu_calls, kept_put, kept_bulk),
            (bulk_key([], all_put, all_bulk), [], all_put, all_bulk),
        ]
        _, mu_calls, put_ids, bulk_ids = min(candidates, key=lambda c: c[0])

    steps: list[dict[str, Any]] = []
    payloads: list[Any] = []
    for pairs, positions in mu_calls:
        ids = [rids[r] for r in positions]
        names = [f for f, _ in pairs]
        data = {f: json.loads(v) for f, v in pairs}
        body: dict[str, Any] = {"data": [data], "ids": list(ids)}
        if any(kinds[f] is Kind.LIST for f in names):
            body["over_write"] = True
        steps.append({"route": "mass_update", "calls": 1, "n_records": len(ids),
                      "ids": list(ids), "fields": names, "payload_bytes": _json_size(body),
                      "credits": costs.mass_update(len(ids))})
        payloads.append(body)
    put_list = put_ids.tolist()
    for start in range(0, len(put_list), limits.put_batch):
        positions = put_list[start : start + limits.put_batch]
        batch = [rids[r] for r in positions]
        data_rows = [{"id": rids[r], **cells.record(r)} for r in positions]
        names = list(dict.fromkeys(f for row in data_rows for f in row if f != "id"))
        body = {"data": data_rows}
        steps.append({"route": "put", "calls": 1, "n_records": len(batch), "ids": batch,
                      "fields": names, "payload_bytes": _json_size(body),
                      "credits": costs.put(len(batch))})
        payloads.append(body)
    for start in range(0, len(bulk_ids), limits.bulk_write_rows):
        chunk_at = bulk_ids[start : start + limits.bulk_write_rows]
        chunk = [rids[r] for r in chunk_at.tolist()]
        # the values already encoded above: encoding is idempotent, so the CSV is the same
        file: BulkWriteFile = build_bulk_write_columns(
            chunk, cells.csv_columns(chunk_at), kinds, module
        )
        steps.append({"route": "bulk_write", "calls": costs.bulk_write_calls,
                      "n_records": len(chunk), "ids": chunk,
                      "fields": [c[:-3] if c.endswith(".id") else c for c in file.columns[1:]],
                      "payload_bytes": len(file.zip_bytes),
                      "credits": costs.bulk_write_job_credits})
        payloads.append(file)

    if steps:
        table: pd.DataFrame = pd.DataFrame(steps, columns=list(STEP_COLUMNS))
        table["route"] = table["route"].astype("string")
        for col in ("calls", "n_records", "payload_bytes", "credits"):
            table[col] = table[col].astype("int64")
    else:
        table = _empty_steps()
    return Plan(steps=table, payloads=payloads, changes=cs, module=module, objective=objective,
                costs=costs, limits=limits, n_records=n_total)
