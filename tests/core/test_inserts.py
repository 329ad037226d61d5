"""core.inserts: new records from frames, their checks, ids of deletes, per-record results."""

from __future__ import annotations

import io

import pandas as pd
import pytest

from crmframe.core.inserts import (
    NewRecords,
    check_ids,
    check_upsert_match,
    duplicate_of,
    insert_route,
    match_fields,
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


def test_delete_ids_from_the_analysts_habits() -> None:
    # older orgs' ids have 18 digits: well formed, sent as they are
    assert check_ids(["365239700000985100", "3652397000009851001"]) == [
        "365239700000985100", "3652397000009851001"]
    # read_csv reads an id column as int64 (or float64 with a gap): refused, with the fix
    saved = pd.read_csv(io.StringIO("id,City\n3652397000009851001,Gent\n365239700000985100,x\n"))
    with pytest.raises(InputError, match=r"position 0: 3652397000009851001 \(int\).*"
                                         r"dtype=\{'id': str\}"):
        check_ids(saved)
    with pytest.raises(InputError, match=r"position 1: 3\.6\d+e\+18 \(float\).*dtype"):
        check_ids(["3652397000009851001", 3652397000009851001.0])
    # digits outside ASCII pass str.isdigit but are no Zoho id; nor is padded text
    with pytest.raises(InputError, match=r"position 0: '３'.*position 1: ' 1'") as err:
        check_ids(["３", " 1", "365239700000985100"])
    assert "dtype" not in str(err.value)
    # an upsert's id column is held to the same rule
    with pytest.raises(ValidationError, match="not an id"):
        new_records(pd.DataFrame({"id": ["４"], "Last_Name": ["A"]}), META, upsert=True)


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


def test_upsert_that_could_only_insert_is_refused() -> None:
    meta = [*META, {"api_name": "Email", "data_type": "email", "json_type": "string"}]
    by_name = new_records(pd.DataFrame({"Last_Name": ["A"], "Email": ["a@b.co"]}), meta,
                          upsert=True)
    assert match_fields("Leads", meta) == ["Email", "Mobile"]
    check_upsert_match("Leads", meta, by_name, None)  # Email is a column: matches
    check_upsert_match("Leads", meta, by_name, ["Email"])
    names_only = new_records(pd.DataFrame({"Last_Name": ["A", "B"]}), meta, upsert=True)
    with pytest.raises(InputError, match=r"no column to match.*\(Email, Mobile\).*insert"):
        check_upsert_match("Leads", meta, names_only, None)
    # every row names its record: nothing to match by field
    by_id = new_records(pd.DataFrame({"id": ["4876876000000100001"], "Last_Name": ["A"]}),
                        meta, upsert=True)
    check_upsert_match("Leads", meta, by_id, None)
    # a module with no duplicate-check nor unique field matches by id only
    with pytest.raises(InputError, match="Tasks: it has no duplicate-check field"):
        check_upsert_match("Tasks", META[:1], NewRecords([{"Last_Name": "A"}], ["Last_Name"]),
                           None)
    # Zoho refuses a field that allows duplicates, and an empty list matches nothing
    with pytest.raises(InputError, match=r"\['Last_Name'\]: Leads matches records only by"):
        check_upsert_match("Leads", meta, by_name, ["Last_Name"])
    with pytest.raises(InputError, match=r"duplicate_check_fields=\[\]"):
        check_upsert_match("Leads", meta, by_name, [])


def test_dates_that_do_not_exist_are_refused() -> None:
    # the shape of Zoho's format is not enough: a CSV's typo would reach Zoho
    meta = [*META, {"api_name": "Call_Time", "data_type": "datetime", "json_type": "string"}]
    rows = pd.DataFrame({"Last_Name": ["A", "B", "C"],
                         "Date_3": ["2026-13-01", "2026-02-30", "2024-02-29"],
                         "Call_Time": ["2026-01-01T25:00:00+00:00", None,
                                       "2026-01-01T10:00:00-05:30"]})
    with pytest.raises(ValidationError) as err:
        new_records(rows, meta)
    problems = err.value.problems
    assert problems is not None
    assert list(zip(problems["row"], problems["field"], strict=True)) == [
        (0, "Call_Time"), (0, "Date_3"), (1, "Date_3")]
    assert new_records(rows.iloc[2:], meta).records == [
        {"Last_Name": "C", "Date_3": "2024-02-29", "Call_Time": "2026-01-01T10:00:00-05:30"}]


def test_write_results_reads_a_code_given_as_pandas_na_as_no_code() -> None:
    out = write_results({"data": [{"code": pd.NA, "status": pd.NA, "details": {}}]},
                        [{"Email": "a@b.co"}], route="insert", call=0)
    assert out["code"].tolist() == ["NO_ANSWER"]
    assert out["status"].tolist() == ["error"]
