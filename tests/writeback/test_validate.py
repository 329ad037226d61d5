"""find_problems / validate / split_valid against Leads-like metadata."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from crmframe.core.diff import ChangeSet, diff
from crmframe.core.validate import PROBLEM_COLUMNS, find_problems, split_valid, validate
from crmframe.errors import ValidationError

from .leads import LEADS_FIELDS, lead_ids, leads_frame

IDS = lead_ids(40)
OWNER = "4150868000000225099"


def changes(rows: list[tuple[str, str, Any]]) -> ChangeSet:
    frame = pd.DataFrame(rows, columns=["id", "field", "new"])
    frame.insert(2, "old", None)
    frame["id"] = frame["id"].astype("string")
    frame["field"] = frame["field"].astype("string")
    return ChangeSet(changes=frame)


def problems_of(rows: list[tuple[str, str, Any]]) -> list[tuple[str, str]]:
    found = find_problems(changes(rows), LEADS_FIELDS)
    return list(zip(found["field"].tolist(), found["problem"].tolist(), strict=True))


def test_valid_changes_have_no_problem() -> None:
    rows = [
        (IDS[0], "Last_Name", "Zhang"),
        (IDS[0], "Email", "a.b@corp.example"),
        (IDS[1], "Lead_Status", "Contacted"),
        (IDS[2], "No_of_Employees", 250),
        (IDS[2], "Annual_Revenue", 1234.567),  # extra decimals: Zoho rounds, not a problem
        (IDS[3], "Email_Opt_Out", True),
        (IDS[3], "Date_3", pd.Timestamp("2025-02-28")),
        (IDS[4], "Date_3", "2025-03-01"),
        (IDS[4], "Follow_Up", pd.Timestamp("2025-02-28 10:00", tz="UTC")),
        (IDS[5], "Follow_Up", "2025-02-28T10:00:00+05:30"),
        (IDS[5], "Owner", OWNER),
        (IDS[6], "Languages", ["English", "French"]),
        (IDS[6], "Email", None),  # clearing an optional field is fine
        (IDS[7], "No_of_Employees", 12.0),  # an integral float fits an integer
        (IDS[8], "Mobile", "+91 98883 43455"),
        (IDS[9], "Mobile", "+91 98883 43456"),
    ]
    found = find_problems(changes(rows), LEADS_FIELDS)
    assert found.empty
    assert list(found.columns) == list(PROBLEM_COLUMNS)
    validate(changes(rows), LEADS_FIELDS)  # does not raise


@pytest.mark.parametrize(
    ("field", "value", "problem"),
    [
        ("Created_Time", "2024-01-01T00:00:00+00:00", "read-only field"),
        ("Modified_By", OWNER, "read-only field"),
        ("Lead_Score_F", 3.0, "read-only field"),
        ("Lead_No", "L-1", "read-only field"),
        ("$approved", True, "read-only field"),
        ("Modified_Time", "2024-01-01T00:00:00+00:00", "read-only field"),
        ("No_Such_Field", "x", "unknown field"),
        ("No_of_Employees", "ten", "not an integer"),
        ("No_of_Employees", 2.5, "not an integer"),
        ("No_of_Employees", True, "not an integer"),
        ("No_of_Employees", 1_234_567_890, "more than 9 digits"),
        ("Annual_Revenue", "lots", "not a number"),
        ("Annual_Revenue", 12345678901234567.0, "more than 16 digits"),
        ("Email_Opt_Out", "yes", "not a boolean"),
        ("Date_3", "31/12/2024", "not a date (yyyy-MM-dd)"),
        ("Follow_Up", "2024-12-31T10:00:00.123Z", "not a datetime (yyyy-MM-ddTHH:mm:ss±HH:mm)"),
        ("Last_Name", "x" * 81, "longer than 80 characters"),
        ("Last_Name", 42, "not text"),
        ("Last_Name", None, "mandatory field cleared"),
        ("Lead_Status", "Hot", "not in the picklist"),
        ("Email", "not-an-email", "malformed email"),
        ("Email", "a@b", "malformed email"),
        ("Languages", ["English", "Klingon"], "not in the picklist"),
        ("Languages", "English", "not a list"),
        ("Owner", "12345", "not a lookup id"),
        ("Owner", 1.5, "not a lookup id"),
    ],
)
def test_each_problem_kind(field: str, value: Any, problem: str) -> None:
    assert problems_of([(IDS[0], field, value)]) == [(field, problem)]


def test_duplicate_values_in_a_unique_field() -> None:
    rows = [(IDS[0], "Mobile", "+1 555 0100"), (IDS[1], "Mobile", "+1 555 0100")]
    found = find_problems(changes(rows), LEADS_FIELDS)
    assert found[["id", "problem"]].values.tolist() == [
        [IDS[1], "duplicate value in a unique field"]]


def test_a_mandatory_field_cleared_with_an_empty_string_is_caught() -> None:
    # "" is an empty cell to diff, and to Zoho: it must not pass as a value
    assert problems_of([(IDS[0], "Last_Name", "")]) == [("Last_Name", "mandatory field cleared")]
    assert problems_of([(IDS[0], "Last_Name", ""), (IDS[1], "Last_Name", "Li")]) == [
        ("Last_Name", "mandatory field cleared")]
    a = leads_frame()
    b = a.copy()
    b.loc[IDS[0], "Last_Name"] = ""
    found = find_problems(diff(a, b, fields=LEADS_FIELDS), LEADS_FIELDS)
    assert found[["id", "problem"]].values.tolist() == [[IDS[0], "mandatory field cleared"]]


def test_all_problems_come_back_at_once_in_one_error() -> None:
    rows = [
        (IDS[0], "Created_Time", "2024-01-01T00:00:00+00:00"),
        (IDS[1], "No_of_Employees", "ten"),
        (IDS[2], "Lead_Status", "Hot"),
        (IDS[3], "Last_Name", None),
        (IDS[4], "City", "fine"),
        (IDS[5], "Email", "nope"),
        (IDS[6], "Unknown_X", 1),
        (IDS[7], "No_of_Employees", "eleven"),
    ] + [(IDS[10 + i], "Lead_Status", "Contacted") for i in range(5)]
    with pytest.raises(ValidationError) as info:
        validate(changes(rows), LEADS_FIELDS)
    problems = info.value.problems
    assert problems is not None
    assert len(problems) == 7
    assert problems["id"].tolist() == [IDS[i] for i in (0, 1, 2, 3, 5, 6, 7)]  # change order
    message = str(info.value)
    assert message.startswith("7 problem(s) in 13 change(s), nothing sent: 2 not an integer")
    assert "1 read-only field" in message
    assert "... and 2 more" in message
    assert problems.loc[1, "value"] == "ten"


def test_split_valid_keeps_only_the_valid_cells() -> None:
    rows = [
        (IDS[0], "City", "Pune"),
        (IDS[0], "No_of_Employees", "ten"),
        (IDS[1], "Lead_Status", "Contacted"),
        (IDS[2], "Created_Time", "2024-01-01T00:00:00+00:00"),
    ]
    cs = changes(rows)
    valid = split_valid(cs, find_problems(cs, LEADS_FIELDS))
    assert valid.records() == {IDS[0]: {"City": "Pune"}, IDS[1]: {"Lead_Status": "Contacted"}}
    assert find_problems(valid, LEADS_FIELDS).empty
    # a plain changes frame works too
    assert len(split_valid(cs.changes, find_problems(cs.changes, LEADS_FIELDS))) == 2


def test_text_typed_into_an_integer_column_of_a_real_frame_is_caught() -> None:
    a = leads_frame()
    b = a.copy()
    col = b["No_of_Employees"].astype(object)
    col.iat[0] = "ten"
    b["No_of_Employees"] = col
    b.loc[b.index[1], "Lead_Status"] = "Unknown status"
    b.loc[b.index[2], "Created_Time"] = pd.Timestamp("2020-01-01", tz="UTC")
    found = find_problems(diff(a, b, fields=LEADS_FIELDS), LEADS_FIELDS)
    assert found["problem"].tolist() == ["not an integer", "not in the picklist",
                                         "read-only field"]


def test_metadata_frame_form_is_accepted() -> None:
    from crmframe.core.metadata import fields_to_frame

    meta = fields_to_frame({"fields": LEADS_FIELDS})
    assert problems_of([(IDS[0], "Lead_Status", "Hot")]) == [("Lead_Status", "not in the picklist")]
    found = find_problems(changes([(IDS[0], "Lead_Status", "Hot")]), meta)
    assert found["problem"].tolist() == ["not in the picklist"]


def test_a_metadata_frame_saved_to_parquet_and_read_back_is_accepted(tmp_path: Any) -> None:
    # pd.read_parquet gives the picklist cells back as NumPy arrays: pd.isna of one raised
    # "truth value of an array is ambiguous" (a ValueError) in every function taking fields
    from crmframe.core.metadata import fields_to_frame, normalise_fields

    meta = fields_to_frame({"fields": LEADS_FIELDS})
    meta.to_parquet(tmp_path / "fields.parquet")
    back = pd.read_parquet(tmp_path / "fields.parquet")
    assert normalise_fields(back) == normalise_fields(meta)
    found = find_problems(changes([(IDS[0], "Lead_Status", "Hot"),
                                   (IDS[1], "Lead_Status", "Contacted")]), back)
    assert found[["id", "problem"]].values.tolist() == [[IDS[0], "not in the picklist"]]


def test_many_changes_are_checked_per_field() -> None:
    n = 20_000
    rows = [(str(3652397000000000000 + i), "Lead_Status", "Contacted" if i % 1000 else "Hot")
            for i in range(n)]
    rows += [(str(3652397000000000000 + i), "No_of_Employees", i) for i in range(n)]
    found = find_problems(changes(rows), LEADS_FIELDS)
    assert len(found) == n // 1000
    assert set(found["problem"]) == {"not in the picklist"}


@pytest.mark.parametrize("field", ["Last_Name", "Lead_Status", "Email", "No_of_Employees"])
def test_vectorised_and_per_value_checks_agree(field: str) -> None:
    values: list[Any] = ["ok@corp.example", "Contacted", "x" * 81, "Hot", "a@b", "Zhang",
                         "", "Junk Lead"]
    if field == "No_of_Employees":
        values = [1, 10**9, 2**31, 999_999_999, -5, 0]
    rows = [(IDS[i], field, v) for i, v in enumerate(values)]
    fast = find_problems(changes(rows), LEADS_FIELDS)
    # a trailing clear forces the per-value path for the whole field
    slow = find_problems(changes([*rows, (IDS[30], field, None)]), LEADS_FIELDS)
    slow = slow[slow["id"] != IDS[30]].reset_index(drop=True)
    assert fast[["id", "problem"]].values.tolist() == slow[["id", "problem"]].values.tolist()
    assert len(fast) > 0


def test_validate_reuses_problems_already_found() -> None:
    cs = changes([("1", "No_of_Employees", "many"), ("2", "Lead_Status", "Nope")])
    found = find_problems(cs, LEADS_FIELDS)
    assert len(found) == 2
    with pytest.raises(ValidationError) as caught:
        validate(cs, LEADS_FIELDS, problems=found)
    assert caught.value.problems is found
    validate(cs, LEADS_FIELDS, problems=found.iloc[:0])  # no problems given: nothing raised
