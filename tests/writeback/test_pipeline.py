"""End to end without a server: envelope → typed frame → edit → diff → validate → plan."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from crmframe.core.diff import diff
from crmframe.core.plan import make_plan
from crmframe.core.records import records_to_frame
from crmframe.core.validate import find_problems, split_valid, validate
from crmframe.errors import ValidationError

from .leads import LEADS_FIELDS

A, B = "3652397000009851001", "3652397000009851002"
ENVELOPE = {
    "data": [
        {"id": A, "Owner": {"id": "4150868000000225013", "name": "Ann", "email": "a@x.example"},
         "Last_Name": "Li", "Email": None, "Lead_Status": "Contacted", "No_of_Employees": 12,
         "Annual_Revenue": 1000.5, "Email_Opt_Out": False, "Date_3": "2024-03-01",
         "Created_Time": "2024-01-01T10:00:00+05:30", "Languages": ["English"],
         "$approved": True},
        {"id": B, "Owner": {"id": "4150868000000225014", "name": "Bo", "email": "b@x.example"},
         "Last_Name": "Wu", "Email": "w@corp.example", "Lead_Status": "Lost Lead",
         "No_of_Employees": None, "Annual_Revenue": None, "Email_Opt_Out": True,
         "Date_3": None, "Created_Time": "2024-01-02T10:00:00+00:00", "Languages": [],
         "$approved": True},
    ],
    "info": {"more_records": False},
}
META = {"fields": LEADS_FIELDS}


def test_read_edit_push_plan() -> None:
    original = records_to_frame(ENVELOPE, META, module="Leads")
    assert len(diff(original, original.copy(), fields=META)) == 0
    edited = original.copy()
    edited.loc[A, "Owner.id"] = "4150868000000225014"
    edited.loc[A, "Date_3"] = pd.Timestamp("2024-04-01")
    edited.loc[B, "Annual_Revenue"] = 2500.0
    edited.loc[B, "Email"] = None
    edited.loc[B, "Owner.name"] = "Bob"  # reported, not pushed
    cs = diff(original, edited, fields=META)
    assert cs.module == "Leads"
    assert cs.records() == {
        A: {"Owner": "4150868000000225014", "Date_3": pd.Timestamp("2024-04-01")},
        B: {"Email": None, "Annual_Revenue": 2500.0},
    }
    assert cs.unpushable["field"].tolist() == ["Owner.name"]
    validate(cs, META)
    plan = make_plan(cs, META)
    assert plan.calls == 1
    body = plan.payloads[0]
    assert json.loads(json.dumps(body)) == {"data": [
        {"id": A, "Owner": {"id": "4150868000000225014"}, "Date_3": "2024-04-01"},
        {"id": B, "Email": None, "Annual_Revenue": 2500.0},
    ]}


def test_invalid_edits_stop_everything_unless_the_valid_part_is_asked_for() -> None:
    original = records_to_frame(ENVELOPE, META, module="Leads")
    edited = original.copy()
    edited.loc[A, "Lead_Status"] = "Maybe"
    edited.loc[A, "Created_Time"] = pd.Timestamp("2020-01-01", tz="UTC")
    edited.loc[B, "Last_Name"] = None
    edited.loc[B, "City"] = "Pune"
    cs = diff(original, edited, fields=META)
    with pytest.raises(ValidationError) as info:
        validate(cs, META)
    assert info.value.problems is not None
    assert sorted(info.value.problems["problem"]) == [
        "mandatory field cleared", "not in the picklist", "read-only field"]
    valid = split_valid(cs, find_problems(cs, META))
    plan = make_plan(valid, META)
    assert plan.payloads[0] == {"data": [{"id": B, "City": "Pune"}]}
