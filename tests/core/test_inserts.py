"""core.inserts: new records from frames, their checks, ids of deletes, per-record results."""

from __future__ import annotations

import io

import pandas as pd
import pytest

from crmframe.core.inserts import (
    check_ids,
    duplicate_of,
    insert_route,
    new_records,
    write_results,
)
from crmframe.errors import InputError, ValidationError

META = [
    {"api_name": "Last_Name", "data_type": "text", "system_mandatory": True, "length": 80},
    {"api_name": "No_of_Employees", "data_type": "integer", "json_type": "integer"},
    {"api_name": "Date_3", "data_type": "date", "json_type": "string"},
    {"api_name": "Owner", "data_type": "ownerlookup", "json_type": "jsonobject"},
    {"api_name": "Lead_Status", "data_type": "picklist", "json_type": "string",
     "pick_list_values": [{"display_value": "New", "actual_value": "New"}]},
    {"api_name": "Mobile", "data_type": "phone", "json_type": "string", "unique": {"a": 1}},
    {"api_name": "Created_Time", "data_type": "datetime", "json_type": "string",
     "read_only": True},
]


def test_records_are_encoded_and_blanks_left_out_through_habits() -> None:
    frame = pd.DataFrame({
        "Last_Name": ["Ito", "Berg"],
        "No_of_Employees": pd.array([5, None], dtype="Int64"),
        "Date_3": pd.to_datetime(["2024-02-29", None]).astype("datetime64[s]"),
        "Owner.id": ["4876876000000000012", None],
        "Owner.name": ["Theo Martin", None],
        "Lead_Status": ["New", ""],
    })
    # the analyst saves, reloads and fills blanks
    again = pd.read_csv(io.StringIO(frame.to_csv(index=False)),
                        dtype={"Owner.id": "string"}, parse_dates=["Date_3"])
    again = again.astype(object).where(again.notna(), "")
    for table in (frame, again):
        new = new_records(table, META)
        assert new.records == [
            {"Last_Name": "Ito", "No_of_Employees": 5, "Date_3": "2024-02-29",
             "Owner": {"id": "4876876000000000012"}, "Lead_Status": "New"},
            {"Last_Name": "Berg"},
        ]
        assert new.ignored == ["Owner.name"]
    # reset_index() of a frame with a RangeIndex leaves an "index" column: unknown field
    with pytest.raises(ValidationError, match="unknown field"):
        new_records(frame.reset_index(), META)


def test_every_problem_at_once() -> None:
    frame = pd.DataFrame({"Last_Name": ["", "A", "B"], "Mobile": ["1", "2", "2"],
                          "Lead_Status": ["Old", None, None],
                          "Created_Time": [None, "2024-01-01T00:00:00+00:00", None]})
    with pytest.raises(ValidationError) as info:
        new_records(frame, META)
    problems = info.value.problems
    assert problems is not None
    assert problems[["row", "field", "problem"]].values.tolist() == [
        [0, "Last_Name", "mandatory field missing"],
        [0, "Lead_Status", "not in the picklist"],
        [1, "Created_Time", "read-only field"],
        [2, "Mobile", "duplicate value in a unique field"],
    ]
    # an upsert does not need the mandatory fields, and keeps ids
    up = new_records(pd.DataFrame({"id": ["4876876000000100001", None],
                                   "Mobile": ["1", "2"]}), META, upsert=True)
    assert up.records == [{"id": "4876876000000100001", "Mobile": "1"}, {"Mobile": "2"}]


def test_delete_ids_checked() -> None:
    idx = pd.Index(["4876876000000100001"], name="id", dtype="string")
    assert check_ids(pd.DataFrame({"City": ["x"]}, index=idx)) == ["4876876000000100001"]
    assert check_ids(pd.Series(["1", "2"])) == ["1", "2"]
    with pytest.raises(InputError, match=r"position 0.*position 2"):
        check_ids([None, "1", 2.0])
    with pytest.raises(InputError, match="no ids"):
        check_ids(pd.Index([]))


def test_results_and_duplicates() -> None:
    assert duplicate_of({"api_name": "Email",
                         "duplicate_record": {"id": "9", "module": {"api_name": "Leads"}}}) == (
        "9", "Email")
    assert duplicate_of(None) == (None, None)
    body = {"data": [{"code": "SUCCESS", "status": "success", "message": "record updated",
                      "action": "update", "duplicate_field": "Email",
                      "details": {"id": "5"}}]}
    out = write_results(body, [{"Email": "a@b.co"}, {"Email": "c@d.co"}], route="upsert",
                        call=0)
    assert out["status"].tolist() == ["success", "unknown"]
    assert out["code"].tolist() == ["SUCCESS", "NO_ANSWER"]
    assert out.loc[0, "duplicate_id"] == "5"


def test_insert_route_prefers_bulk_only_when_cheaper() -> None:
    assert insert_route(4_999).route == "post"
    small = insert_route(6_000, objective="credits")
    assert (small.route, small.credits) == ("bulk_write", 500)
    assert insert_route(60_000).jobs == 3
    assert insert_route(0).calls == 0
