"""make_plan(): routes, counts, costs and payloads."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest

from crmframe.core.bulkwrite import BulkWriteFile
from crmframe.core.plan import DEFAULT_BULK_THRESHOLD, Costs, Limits, make_plan
from crmframe.errors import InputError

from .leads import LEADS_FIELDS, lead_ids
from .scenarios import change_set, standard_scenario

DEALS_FIELDS = [
    {"api_name": "Stage", "data_type": "picklist", "mass_update": True,
     "pick_list_values": [{"actual_value": v} for v in ("Qualification", "Closed Won")]},
    {"api_name": "Probability", "data_type": "integer", "mass_update": True},
    {"api_name": "Next_Step", "data_type": "text", "mass_update": True},
    {"api_name": "Amount", "data_type": "currency", "mass_update": True, "decimal_place": 2},
]


@pytest.fixture(scope="module")
def standard() -> object:
    return standard_scenario()


def test_standard_scenario_reaches_the_lower_bound_of_52_calls(standard: object) -> None:
    plan = make_plan(standard, LEADS_FIELDS, "Leads")  # type: ignore[arg-type]
    # Lower bound: the 4,000 assorted records each change a field mass update cannot carry
    # (Email or Owner), so they need PUT; x of the 6,000 go by mass update.
    bound = min(math.ceil(x / 500) + math.ceil((10_000 - x) / 100) for x in range(6001))
    assert bound == 52
    assert plan.calls == bound
    totals = plan.route_totals()
    assert totals.loc["mass_update", "calls"] == 12
    assert totals.loc["put", "calls"] == 40
    assert "bulk_write" not in totals.index
    assert plan.n_records == 10_000
    assert (plan.naive_calls, plan.batch_calls) == (10_000, 100)
    assert (plan.naive_credits, plan.batch_credits) == (10_000, 1_000)
    assert plan.credits == 1_000
    assert len(standard_scenario().changes) == len(plan.changes)  # type: ignore[arg-type]
    text = plan.summary()
    assert "52 calls" in text
    assert "one PUT per record: 10,000 calls" in text


def test_standard_scenario_credits_objective(standard: object) -> None:
    plan = make_plan(standard, LEADS_FIELDS, "Leads", objective="credits")  # type: ignore[arg-type]
    assert (plan.calls, plan.credits) == (52, 1_000)
    flat = Costs(mass_update_records_per_credit=None, mass_update_call_credits=1)
    cheap = make_plan(standard, LEADS_FIELDS, "Leads", objective="credits",  # type: ignore[arg-type]
                      costs=flat, bulk_threshold=2_000)
    assert (cheap.calls, cheap.credits) == (52, 12 + 400)
    fast = make_plan(standard, LEADS_FIELDS, "Leads", objective="calls",  # type: ignore[arg-type]
                     costs=flat, bulk_threshold=2_000)
    assert fast.credits > cheap.credits
    assert fast.calls < cheap.calls
    assert list(fast.steps["route"]) == ["bulk_write"]


def test_bulk_threshold_switch(standard: object) -> None:
    assert DEFAULT_BULK_THRESHOLD > 4_000
    off = make_plan(standard, LEADS_FIELDS, "Leads", bulk_threshold=None)  # type: ignore[arg-type]
    assert off.calls == 52
    on = make_plan(standard, LEADS_FIELDS, "Leads", bulk_threshold=2_000)  # type: ignore[arg-type]
    assert set(on.steps["route"]) == {"bulk_write"}
    assert (on.calls, on.credits) == (4, 500)
    file = on.payloads[0]
    assert isinstance(file, BulkWriteFile)
    assert len(file.ids) == 10_000
    assert on.steps.loc[0, "payload_bytes"] == len(file.zip_bytes)
    # a threshold above the PUT part keeps PUT
    high = make_plan(standard, LEADS_FIELDS, "Leads", bulk_threshold=4_001)  # type: ignore[arg-type]
    assert high.calls == 52


def test_cleared_cells_never_travel_by_bulk_write() -> None:
    ids = lead_ids(3_000)
    rows: list[tuple[str, str, object]] = [(rid, "City", f"c{i}") for i, rid in enumerate(ids)]
    rows += [(ids[0], "Email", None), (ids[1], "No_of_Employees", None)]
    plan = make_plan(change_set(rows), LEADS_FIELDS, "Leads", bulk_threshold=1_000)
    bulk = plan.steps[plan.steps["route"] == "bulk_write"]
    put = plan.steps[plan.steps["route"] == "put"]
    assert len(bulk) == 1
    assert put["ids"].iloc[0] == [ids[0], ids[1]]
    assert ids[0] not in bulk["ids"].iloc[0]


def test_put_payloads_carry_only_changed_fields() -> None:
    ids = lead_ids(250)
    rows: list[tuple[str, str, object]] = []
    for i, rid in enumerate(ids):
        rows.append((rid, "City", f"City {i}"))
        if i % 2:
            rows.append((rid, "No_of_Employees", i))
        if i % 5 == 0:
            rows.append((rid, "Owner", "4150868000000225099"))
        if i % 7 == 0:
            rows.append((rid, "Date_3", pd.Timestamp("2025-01-31")))
        if i % 11 == 0:
            rows.append((rid, "Follow_Up", pd.Timestamp("2025-01-31 09:30", tz="Asia/Kolkata")))
    cs = change_set(rows)
    plan = make_plan(cs, LEADS_FIELDS, "Leads")
    assert list(plan.steps["route"]) == ["put"] * 3
    assert list(plan.steps["n_records"]) == [100, 100, 50]
    expected = cs.records()
    seen = 0
    for step, body in zip(plan.steps.itertuples(), plan.payloads, strict=True):
        assert set(body) == {"data"}
        assert len(body["data"]) <= 100
        assert [r["id"] for r in body["data"]] == step.ids
        for record in body["data"]:
            assert isinstance(record["id"], str)
            assert set(record) - {"id"} == set(expected[record["id"]])
            seen += 1
        assert step.payload_bytes == len(json.dumps(body, separators=(",", ":")).encode())
        assert step.credits == math.ceil(step.n_records / 10)
    assert seen == 250
    first = plan.payloads[0]["data"][0]
    assert first["Owner"] == {"id": "4150868000000225099"}
    assert first["Date_3"] == "2025-01-31"
    assert first["Follow_Up"] == "2025-01-31T04:00:00+00:00"
    assert plan.payloads[0]["data"][1]["No_of_Employees"] == 1


def test_mass_update_payloads() -> None:
    ids = lead_ids(1_200)
    rows: list[tuple[str, str, object]] = [(rid, "Lead_Status", "Contacted") for rid in ids]
    rows += [(rid, "Languages", ["English", "French"]) for rid in lead_ids(300, 5_000)]
    plan = make_plan(change_set(rows), LEADS_FIELDS, "Leads")
    mu = [(s, p) for s, p in zip(plan.steps.itertuples(), plan.payloads, strict=True)
          if s.route == "mass_update"]
    assert plan.calls == 4
    assert sorted(s.n_records for s, _ in mu) == [200, 300, 500, 500]
    for step, body in mu:
        assert len(body["ids"]) <= 500
        assert all(isinstance(i, str) for i in body["ids"])
        assert len(body["data"]) == 1
        assert len(body["data"][0]) == 1  # one field per call outside Deals
        assert step.fields == list(body["data"][0])
    languages = next(p for s, p in mu if s.fields == ["Languages"])
    assert languages["over_write"] is True
    assert languages["data"] == [{"Languages": ["English", "French"]}]
    status = next(p for s, p in mu if s.fields == ["Lead_Status"])
    assert "over_write" not in status


def test_lookups_email_and_multiline_are_never_mass_updated() -> None:
    rows: list[tuple[str, str, object]] = []
    rows += [(rid, "Owner", "4150868000000225099") for rid in lead_ids(600)]
    rows += [(rid, "Email", "same@corp.example") for rid in lead_ids(600, 1_000)]
    rows += [(rid, "Description", "same text") for rid in lead_ids(600, 2_000)]
    plan = make_plan(change_set(rows), LEADS_FIELDS, "Leads")
    assert set(plan.steps["route"]) == {"put"}
    assert plan.calls == 18


def test_fields_without_metadata_go_by_put() -> None:
    rows = [(rid, "Lead_Status", "Contacted") for rid in lead_ids(1_000)]
    plan = make_plan(change_set(rows), None, "Leads")
    assert set(plan.steps["route"]) == {"put"}
    assert plan.calls == 10


def test_identical_multi_field_changes_use_one_call_per_field() -> None:
    ids = lead_ids(1_000)
    rows: list[tuple[str, str, object]] = []
    for rid in ids:
        rows += [(rid, "Lead_Status", "Contacted"), (rid, "Email_Opt_Out", True)]
    plan = make_plan(change_set(rows), LEADS_FIELDS, "Leads")
    assert plan.calls == 4  # 2 chunks of 500 ids x 2 fields, instead of 10 PUT batches
    assert all(len(p["data"][0]) == 1 for p in plan.payloads)
    covered: dict[str, set[str]] = {}
    for p in plan.payloads:
        for rid in p["ids"]:
            covered.setdefault(rid, set()).update(p["data"][0])
    assert covered == {rid: {"Lead_Status", "Email_Opt_Out"} for rid in ids}


def test_deals_carry_three_fields_per_mass_update_call() -> None:
    ids = [str(5725767000000500000 + i) for i in range(1_000)]
    rows: list[tuple[str, str, object]] = []
    for rid in ids:
        rows += [(rid, "Stage", "Closed Won"), (rid, "Probability", 100),
                 (rid, "Next_Step", "Invoice"), (rid, "Amount", 10.0)]
    plan = make_plan(change_set(rows, "Deals"), DEALS_FIELDS, "Deals")
    assert plan.calls == 4  # 2 chunks x ceil(4 fields / 3 per call)
    widths = sorted(len(p["data"][0]) for p in plan.payloads)
    assert widths == [1, 1, 3, 3]
    one = make_plan(change_set(rows, "Deals"), DEALS_FIELDS, "Deals", mass_update_max_fields=1)
    assert one.calls == 8


def test_plan_frame_reprs_and_field_counts() -> None:
    rows = [(rid, "Lead_Status", "Contacted") for rid in lead_ids(600)]
    rows += [(rid, "City", "x") for rid in lead_ids(3, 600)]
    plan = make_plan(change_set(rows), LEADS_FIELDS)
    assert plan.module == "Leads"
    frame = plan.to_frame()
    assert list(frame.columns) == ["route", "calls", "n_records", "ids", "fields",
                                   "payload_bytes", "credits"]
    assert str(frame["route"].dtype) == "string"
    counts = plan.field_counts()
    assert counts.loc["Lead_Status"].sum() == 600
    assert counts.loc["City"].sum() == 3
    assert len(plan) == len(frame)
    assert "<strong>Plan for Leads" in plan._repr_html_()
    assert repr(plan) == plan.summary()


def test_empty_and_bad_input() -> None:
    empty = make_plan(change_set([]), LEADS_FIELDS, "Leads")
    assert (empty.calls, empty.credits, len(empty)) == (0, 0, 0)
    assert empty.field_counts().empty
    with pytest.raises(InputError):
        make_plan(change_set([]), LEADS_FIELDS, "Leads", objective="speed")  # type: ignore[arg-type]
    with pytest.raises(InputError):
        make_plan(change_set([]).changes.drop(columns=["new"]), LEADS_FIELDS, "Leads")
    nomod = change_set([(lead_ids(1)[0], "City", "x")])
    with pytest.raises(InputError):
        make_plan(type(nomod)(changes=nomod.changes), LEADS_FIELDS)


def test_small_limits_are_respected() -> None:
    rows = [(rid, "Lead_Status", "Contacted") for rid in lead_ids(23)]
    rows += [(rid, "City", f"c{i}") for i, rid in enumerate(lead_ids(7, 100))]
    plan = make_plan(change_set(rows), LEADS_FIELDS, "Leads",
                     limits=Limits(put_batch=3, mass_update_ids=5))
    assert plan.steps["n_records"].max() <= 5
    assert (plan.steps.loc[plan.steps["route"] == "put", "n_records"] <= 3).all()
    assert plan.calls == 5 + 3  # 23 ids in 5 mass updates, 7 records in 3 batches


def test_a_very_large_unit_uses_full_mass_update_calls() -> None:
    rows = [(str(3652397000000000000 + i), "Lead_Status", "Contacted") for i in range(60_250)]
    plan = make_plan(change_set(rows), LEADS_FIELDS, "Leads", bulk_threshold=None)
    # 120 full calls and the last 250 ids: one more mass update beats 3 PUT batches
    assert plan.calls == 121
    assert set(plan.steps["route"]) == {"mass_update"}
    assert sorted(set(plan.steps["n_records"])) == [250, 500]


def test_clears_are_never_mass_updated() -> None:
    rows = [(rid, "City", None) for rid in lead_ids(600)]
    plan = make_plan(change_set(rows), LEADS_FIELDS, "Leads")
    assert set(plan.steps["route"]) == {"put"}
    assert plan.payloads[0]["data"][0] == {"id": lead_ids(1)[0], "City": None}


def test_clears_from_a_diff_never_travel_by_bulk_write_or_mass_update() -> None:
    # a bulk write ignores empty cells: a text cleared with "" or a multi-select emptied to
    # [] written there as "" is silently not cleared; mass update is documented with values
    from crmframe.core.diff import diff

    from .leads import leads_frame

    original = leads_frame(3_000)
    edited = original.copy()
    ids = edited.index.tolist()
    edited["Email"] = [f"n{i}@corp.example" for i in range(len(ids))]
    edited.loc[ids[1], "Email"] = ""  # p1@corp.example before
    edited.at[ids[2], "Languages"] = []
    edited.loc[ids[3:5], "Lead_Status"] = ""
    cs = diff(original, edited, fields=LEADS_FIELDS)
    plan = make_plan(cs, LEADS_FIELDS, "Leads", bulk_threshold=1_000)
    assert "bulk_write" in set(plan.steps["route"])
    cleared = set(ids[1:5])
    for route, step_ids in zip(plan.steps["route"], plan.steps["ids"], strict=True):
        if route != "put":
            assert not cleared & set(step_ids), route
    sent = {row["id"]: row for body in plan.payloads if isinstance(body, dict)
            and "ids" not in body for row in body["data"]}
    assert sent[ids[1]]["Email"] is None
    assert sent[ids[2]]["Languages"] == []
    assert sent[ids[3]]["Lead_Status"] is None


def test_an_empty_string_in_a_changes_frame_is_sent_as_a_clear() -> None:
    rows: list[tuple[str, str, object]] = [(rid, "City", "") for rid in lead_ids(600)]
    plan = make_plan(change_set(rows), LEADS_FIELDS, "Leads", bulk_threshold=100,
                     limits=Limits(put_batch=10))
    assert set(plan.steps["route"]) == {"put"}
    assert plan.payloads[0]["data"][0] == {"id": lead_ids(1)[0], "City": None}
