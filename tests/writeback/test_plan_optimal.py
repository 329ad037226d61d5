"""The plan's cost equals a brute-force optimum on crafted change sets (small limits).

With limits shrunk (3 records per PUT, 4 ids per mass update) every subset of the
mass-updatable records can be enumerated: a record leaves the PUT batches only when each of
its changed fields is covered by a mass update of its value; a value sent to ``k`` records
costs ``ceil(k / 4)`` calls. The minimum over all subsets is the exact lower bound of the
objective; the planner must reach it.
"""

from __future__ import annotations

import math
import random
from typing import Any

import pytest

from crmframe.core.plan import Costs, Limits, Objective, make_plan

from .scenarios import change_set

LIMITS = Limits(put_batch=3, mass_update_ids=4)
META = [
    {"api_name": "A", "data_type": "picklist", "mass_update": True},
    {"api_name": "B", "data_type": "integer", "json_type": "integer", "mass_update": True},
    {"api_name": "C", "data_type": "text", "mass_update": False},
]
COSTS = {
    "per_2_records": Costs(put_records_per_credit=2, mass_update_records_per_credit=2),
    "flat_per_call": Costs(put_records_per_credit=2, mass_update_records_per_credit=None,
                           mass_update_call_credits=1),
    "zoho_default": Costs(),
}


def brute_force(records: dict[str, dict[str, Any]], costs: Costs, objective: Objective,
                limits: Limits = LIMITS, mass: str = "AB") -> tuple[int, int]:
    ids = list(records)
    eligible = [r for r in ids if all(f in mass for f in records[r])]
    best: tuple[int, int] | None = None
    for mask in range(1 << len(eligible)):
        chosen = [eligible[i] for i in range(len(eligible)) if mask >> i & 1]
        per_value: dict[tuple[str, Any], int] = {}
        for rid in chosen:
            for pair in records[rid].items():
                per_value[pair] = per_value.get(pair, 0) + 1
        calls = credits = 0
        for n in per_value.values():
            full, rest = divmod(n, limits.mass_update_ids)
            calls += full + (1 if rest else 0)
            credits += full * costs.mass_update(limits.mass_update_ids) + costs.mass_update(rest)
        left = len(ids) - len(chosen)
        calls += math.ceil(left / limits.put_batch)
        full, rest = divmod(left, limits.put_batch)
        credits += full * costs.put(limits.put_batch) + costs.put(rest)
        key = (calls, credits) if objective == "calls" else (credits, calls)
        if best is None or key < best:
            best = key
    assert best is not None
    return best


def crafted(seed: int) -> dict[str, dict[str, Any]]:
    rng = random.Random(seed)
    records: dict[str, dict[str, Any]] = {}
    multi = seed % 2 == 1
    for i in range(rng.randint(1, 12)):
        fields: dict[str, Any] = {}
        roll = rng.random()
        if roll < 0.6:
            fields["A"] = rng.choice(["x", "y"])
        elif roll < 0.85:
            fields["B"] = rng.choice([1, 2])
        else:
            fields["C"] = "t"
        if multi and rng.random() < 0.4:
            fields.setdefault("B", rng.choice([1, 2]))
            fields.setdefault("A", "x")
        records[str(3652397000000000000 + i)] = fields
    return records


@pytest.mark.parametrize("objective", ["calls", "credits"])
@pytest.mark.parametrize("costs_name", sorted(COSTS))
@pytest.mark.parametrize("seed", range(40))
def test_plan_equals_the_brute_force_optimum(seed: int, costs_name: str,
                                             objective: Objective) -> None:
    records = crafted(seed)
    costs = COSTS[costs_name]
    rows = [(rid, f, v) for rid, fields in records.items() for f, v in fields.items()]
    plan = make_plan(change_set(rows), META, "Leads", objective=objective, costs=costs,
                     limits=LIMITS, bulk_threshold=None)
    got = (plan.calls, plan.credits) if objective == "calls" else (plan.credits, plan.calls)
    assert got == brute_force(records, costs, objective)
    # and the plan really covers every change exactly once per field
    covered: dict[str, dict[str, Any]] = {}
    for route, body in zip(plan.steps["route"], plan.payloads, strict=True):
        if route == "put":
            for row in body["data"]:
                covered.setdefault(row["id"], {}).update({k: v for k, v in row.items()
                                                          if k != "id"})
        else:
            for rid in body["ids"]:
                covered.setdefault(rid, {}).update(body["data"][0])
    assert covered == {rid: fields for rid, fields in records.items()}


def test_a_hand_made_case_where_mass_update_wins() -> None:
    # 7 records, one value: 3 PUT batches, or 2 calls once 4 of them go by mass update
    rows = [(str(3652397000000000000 + i), "A", "x") for i in range(7)]
    plan = make_plan(change_set(rows), META, "Leads", limits=LIMITS, bulk_threshold=None)
    assert plan.calls == 2
    assert "mass_update" in set(plan.steps["route"])
    assert plan.batch_calls == 3


THREE = [{"api_name": f, "data_type": "text", "mass_update": True} for f in "ABD"] + [
    {"api_name": "C", "data_type": "text"}]


@pytest.mark.parametrize("objective", ["calls", "credits"])
@pytest.mark.parametrize(("put_batch", "mass_ids"), [(2, 3), (4, 5)])
@pytest.mark.parametrize("seed", range(15))
def test_three_fields_many_values_other_limits(seed: int, put_batch: int, mass_ids: int,
                                               objective: Objective) -> None:
    rng = random.Random(1000 * put_batch + seed)
    records: dict[str, dict[str, Any]] = {}
    for i in range(rng.randint(1, 11)):
        fields = {f: rng.choice("xyz") for f in "ABD" if rng.random() < 0.45}
        if not fields or rng.random() < 0.1:
            fields["C"] = "t"
        records[str(3652397000000000000 + i)] = fields
    limits = Limits(put_batch=put_batch, mass_update_ids=mass_ids)
    costs = Costs(put_records_per_credit=2, mass_update_records_per_credit=3)
    rows = [(rid, f, v) for rid, fields in records.items() for f, v in fields.items()]
    plan = make_plan(change_set(rows), THREE, "Leads", objective=objective, costs=costs,
                     limits=limits, bulk_threshold=None)
    got = (plan.calls, plan.credits) if objective == "calls" else (plan.credits, plan.calls)
    assert got == brute_force(records, costs, objective, limits, "ABD")
