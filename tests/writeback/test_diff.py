"""diff(): type-aware, vectorised comparison of an edited frame with the original."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from crmframe.core.diff import ChangeSet, diff, values_equal
from crmframe.core.fieldtypes import Kind
from crmframe.errors import InputError

from .leads import LEADS_FIELDS, lead_ids, leads_frame

IDS = lead_ids(6)


def test_identical_copy_has_no_changes_and_no_reports() -> None:
    a = leads_frame()
    cs = diff(a, a.copy(), fields=LEADS_FIELDS)
    assert len(cs) == 0
    assert not cs.has_reports
    assert cs.records() == {}
    assert "0 changed cell(s)" in repr(cs)
    assert cs.module == "Leads"


def test_every_dtype_change_is_found_with_plain_values() -> None:
    a = leads_frame()
    b = a.copy()
    b.loc[IDS[0], "Last_Name"] = "Renamed"
    b.loc[IDS[1], "No_of_Employees"] = 42
    b.loc[IDS[2], "Annual_Revenue"] = 1234.5
    b.loc[IDS[3], "Email_Opt_Out"] = not bool(a.loc[IDS[3], "Email_Opt_Out"])
    b.loc[IDS[4], "Date_3"] = pd.Timestamp("2025-12-31")
    b.loc[IDS[5], "Created_Time"] = pd.Timestamp("2025-01-01 08:00", tz="UTC")
    langs = b["Languages"].copy()
    langs.iat[0] = ["French"]
    b["Languages"] = langs
    cs = diff(a, b, fields=LEADS_FIELDS)
    got = {(r.id, r.field): r.new for r in cs.changes.itertuples()}
    assert got == {
        (IDS[0], "Last_Name"): "Renamed",
        (IDS[0], "Languages"): ["French"],
        (IDS[1], "No_of_Employees"): 42,
        (IDS[2], "Annual_Revenue"): 1234.5,
        (IDS[3], "Email_Opt_Out"): not bool(a.loc[IDS[3], "Email_Opt_Out"]),
        (IDS[4], "Date_3"): pd.Timestamp("2025-12-31"),
        (IDS[5], "Created_Time"): pd.Timestamp("2025-01-01 08:00", tz="UTC"),
    }
    # row-major order: by record, then by column position
    assert cs.changes["id"].tolist() == sorted(cs.changes["id"].tolist())
    assert cs.changes.loc[cs.changes["id"] == IDS[0], "field"].tolist() == [
        "Last_Name", "Languages"]
    assert list(cs.changes.columns) == ["id", "field", "old", "new"]
    assert str(cs.changes["id"].dtype) == "string"
    assert isinstance(cs.changes.loc[1, "old"], list)
    assert cs.kinds["No_of_Employees"] is Kind.INTEGER
    assert cs.fields_changed.sum() == 7


def test_floats_compare_at_the_fields_decimal_places() -> None:
    a = leads_frame()
    b = a.copy()
    b["Annual_Revenue"] = a["Annual_Revenue"] + 0.001  # below 2 decimal places
    assert len(diff(a, b, fields=LEADS_FIELDS)) == 0
    # without metadata the default (9 places) sees it
    assert len(diff(a, b)) == len(a)
    b["Annual_Revenue"] = a["Annual_Revenue"] + 0.01
    assert len(diff(a, b, fields=LEADS_FIELDS)) == len(a)


def test_nan_and_na_are_both_missing() -> None:
    a = leads_frame()
    a["Annual_Revenue"] = pd.array([None, 1.0, None, 2.0, None, 3.0], dtype="Float64")
    b = a.copy()
    b["Annual_Revenue"] = np.array([np.nan, 1.0, np.nan, 2.0, np.nan, 3.0])  # float64 NaN
    assert len(diff(a, b, fields=LEADS_FIELDS)) == 0
    c = a.copy()
    c["City"] = pd.Series([None] * 6, dtype=object, index=a.index)
    a2 = a.copy()
    a2["City"] = pd.Series([np.nan] * 6, dtype=object, index=a.index)
    assert len(diff(a2, c)) == 0


def test_int_and_float_equal_values_are_not_changes() -> None:
    a = leads_frame()
    b = a.copy()
    b["No_of_Employees"] = a["No_of_Employees"].astype("Float64")
    assert len(diff(a, b, fields=LEADS_FIELDS)) == 0


def test_datetimes_compare_as_instants() -> None:
    a = leads_frame()
    b = a.copy()
    b["Created_Time"] = a["Created_Time"].dt.tz_convert("Asia/Kolkata")
    assert len(diff(a, b, fields=LEADS_FIELDS)) == 0
    # a tz-naive edit of a datetime column is read as UTC
    b["Created_Time"] = a["Created_Time"].dt.tz_localize(None)
    assert len(diff(a, b, fields=LEADS_FIELDS)) == 0
    b["Created_Time"] = a["Created_Time"] + pd.Timedelta(hours=1)
    assert len(diff(a, b, fields=LEADS_FIELDS)) == len(a)


def test_object_datetimes_and_strings_fall_back_to_element_rules() -> None:
    a = leads_frame()
    b = a.copy()
    col = b["Created_Time"].astype(object)
    col.iat[0] = col.iat[0].tz_convert("Europe/Paris")  # same instant
    col.iat[1] = "2024-01-02T15:30:00+05:30"  # Zoho's text for the same instant
    col.iat[2] = "2024-01-03T10:00:01+00:00"  # one second later: a change
    col.iat[3] = "next tuesday"  # not a datetime: a change (validation refuses it)
    b["Created_Time"] = col
    cs = diff(a, b, fields=LEADS_FIELDS)
    assert cs.changes[["id", "field"]].values.tolist() == [
        [IDS[2], "Created_Time"], [IDS[3], "Created_Time"]]
    assert cs.changes.loc[0, "new"] == "2024-01-03T10:00:01+00:00"


def test_lists_compare_by_content() -> None:
    a = leads_frame()
    b = a.copy()
    b["Languages"] = pd.Series([list(v) for v in a["Languages"]], index=a.index, dtype=object)
    langs = b["Languages"].copy()
    langs.iat[1] = ("English",)  # a tuple with the same content
    langs.iat[2] = ["Spanish", "English"]  # order matters for a multi-select
    b["Languages"] = langs
    cs = diff(a, b, fields=LEADS_FIELDS)
    assert cs.changes[["id", "field"]].values.tolist() == [[IDS[2], "Languages"]]


def test_lookup_id_change_is_a_change_of_the_lookup_field() -> None:
    a = leads_frame()
    b = a.copy()
    b.loc[IDS[0], "Owner.id"] = "4150868000000999999"
    b.loc[IDS[0], "Owner.name"] = "Somebody Else"  # follows the reassignment: not reported
    b.loc[IDS[1], "Owner.name"] = "Renamed Only"  # not pushable
    b.loc[IDS[2], "Owner.email"] = "new@x.example"
    cs = diff(a, b, fields=LEADS_FIELDS)
    assert cs.changes[["id", "field", "new"]].values.tolist() == [
        [IDS[0], "Owner", "4150868000000999999"]]
    assert cs.kinds["Owner"] is Kind.LOOKUP
    assert cs.unpushable[["id", "field"]].values.tolist() == [
        [IDS[1], "Owner.name"], [IDS[2], "Owner.email"]]
    assert "Owner.id" in cs.unpushable["reason"].iloc[0]
    assert cs.has_reports
    assert any("unpushable" in r for r in cs.reports())


def test_lookups_are_recognised_without_metadata() -> None:
    a = leads_frame()
    b = a.copy()
    b.loc[IDS[3], "Owner.id"] = "4150868000000999999"
    cs = diff(a, b)
    assert cs.changes["field"].tolist() == ["Owner"]


def test_cleared_cell_is_an_explicit_change_to_none() -> None:
    a = leads_frame()
    b = a.copy()
    b.loc[IDS[1], "Email"] = None
    b.loc[IDS[2], "No_of_Employees"] = pd.NA
    cs = diff(a, b, fields=LEADS_FIELDS)
    assert cs.records() == {IDS[1]: {"Email": None}, IDS[2]: {"No_of_Employees": None}}
    assert cs.changes.loc[0, "old"] == a.loc[IDS[1], "Email"]


def test_a_cell_cleared_with_an_empty_string_is_a_change_to_none() -> None:
    # "" is empty (fillna("") is not an edit), so b["City"] = "" clears: the change must
    # say None, or validation misses a mandatory clear and the plan sends "" as a value
    # (a bulk write with ignore_empty drops it, a mass update carries it)
    a = leads_frame()
    b = a.copy()
    b["Last_Name"] = b["Last_Name"].astype(object)
    b.loc[IDS[0], "Last_Name"] = ""
    b.loc[IDS[1], "Email"] = ""
    cs = diff(a, b, fields=LEADS_FIELDS)
    assert cs.records() == {IDS[0]: {"Last_Name": None}, IDS[1]: {"Email": None}}
    c = a.copy()
    c.loc[IDS[2], "Owner.id"] = ""
    assert diff(a, c, fields=LEADS_FIELDS).records() == {IDS[2]: {"Owner": None}}


def test_arrow_backed_frames_compare_their_timestamps() -> None:
    # read_records(dtype_backend="pyarrow") gives timestamp[s, tz=UTC][pyarrow] columns:
    # diff raised "column 'Created_Time' holds values diff cannot compare" even for a
    # frame against its own copy
    import pyarrow as pa

    a = leads_frame()
    arrow = {"Created_Time": pd.ArrowDtype(pa.timestamp("s", tz="UTC")),
             "Date_3": pd.ArrowDtype(pa.timestamp("s")),
             "No_of_Employees": pd.ArrowDtype(pa.int64()),
             "Last_Name": pd.ArrowDtype(pa.string())}
    a = a.astype(arrow)
    assert len(diff(a, a.copy(), fields=LEADS_FIELDS)) == 0
    b = a.copy()
    b.loc[IDS[0], "Date_3"] = pd.Timestamp("2020-01-02")
    b.loc[IDS[1], "Created_Time"] = pd.NaT
    b.loc[IDS[2], "No_of_Employees"] = 77
    cs = diff(a, b, fields=LEADS_FIELDS)
    assert cs.records() == {IDS[0]: {"Date_3": pd.Timestamp("2020-01-02")},
                            IDS[1]: {"Created_Time": None},
                            IDS[2]: {"No_of_Employees": 77}}
    numpy_backed = leads_frame()
    assert len(diff(numpy_backed, a, fields=LEADS_FIELDS)) == 0
    assert len(diff(a, numpy_backed, fields=LEADS_FIELDS)) == 0
    # without metadata the kinds come from the dtypes: Arrow timestamps are datetimes/dates
    # (a Timestamp planned as text was refused: "cannot send Timestamp to a text field")
    kinds = diff(a, b).kinds
    assert (kinds["Created_Time"], kinds["Date_3"]) == (Kind.DATETIME, Kind.DATE)


def test_a_date_field_compares_days_not_times_of_day() -> None:
    # A date field holds a day and the plan sends the day (yyyy-MM-dd): a timestamp on the
    # day already held was a change, and its record rewritten with the date it had
    a = leads_frame()
    b = a.copy()
    days = a["Date_3"].tolist()
    b["Date_3"] = pd.Series([days[0] + pd.Timedelta(hours=15, minutes=30),
                             pd.Timestamp("2024-03-05 15:30"), *days[2:]], index=a.index)
    assert str(b["Date_3"].dtype) != str(a["Date_3"].dtype)  # a datetime64 of finer unit
    cs = diff(a, b, fields=LEADS_FIELDS)
    assert cs.changes[["id", "field"]].values.tolist() == [[IDS[1], "Date_3"]]
    c = a.copy()
    c["Date_3"] = b["Date_3"].astype(object)  # the cell-by-cell path
    assert diff(a, c, fields=LEADS_FIELDS).changes["id"].tolist() == [IDS[1]]
    assert values_equal(pd.Timestamp("2024-03-01"), pd.Timestamp("2024-03-01 23:59"), Kind.DATE)
    # without metadata a naive datetime column may hold times: those are still compared
    assert sorted(diff(a, b).changes["id"].tolist()) == [IDS[0], IDS[1]]


def test_added_and_removed_rows_and_columns_are_reported_not_dropped() -> None:
    a = leads_frame()
    b = a.drop(index=[IDS[5]])
    new_row = b.iloc[[0]].copy()
    new_row.index = pd.Index([None], dtype="string", name="id")
    unknown = b.iloc[[1]].copy()
    unknown.index = pd.Index(["3652397000000000042"], dtype="string", name="id")
    b = pd.concat([b, new_row, unknown])
    b = b.drop(columns=["Date_3"])
    b["Segment"] = pd.array(["x"] * len(b), dtype="string")
    b.loc[IDS[0], "City"] = "Pune"  # City not in the original: an added column
    cs = diff(a, b, fields=LEADS_FIELDS)
    assert len(cs) == 0
    assert cs.removed_ids == (IDS[5],)
    assert len(cs.added_rows) == 2
    assert cs.added_rows.index.tolist()[1] == "3652397000000000042"
    assert cs.added_columns == ("Segment", "City")
    assert cs.removed_columns == ("Date_3",)
    reports = " ".join(cs.reports())
    assert "removed row" in reports
    assert "added row" in reports
    assert "Segment" in reports


def test_duplicate_ids_are_reported_and_left_out() -> None:
    a = leads_frame()
    b = pd.concat([a, a.iloc[[0]]])
    b.loc[b.index == IDS[0], "Last_Name"] = "Twice"
    b.loc[IDS[1], "Last_Name"] = "Once"
    cs = diff(a, b, fields=LEADS_FIELDS)
    assert cs.duplicate_ids == (IDS[0],)
    assert cs.records() == {IDS[1]: {"Last_Name": "Once"}}
    # duplicates in the original count too
    cs2 = diff(pd.concat([a, a.iloc[[2]]]), a, fields=LEADS_FIELDS)
    assert cs2.duplicate_ids == (IDS[2],)
    assert not cs2.removed_ids


def test_reordered_rows_align_on_id() -> None:
    a = leads_frame()
    b = a.iloc[::-1].copy()
    b.loc[IDS[4], "City"] = "x"  # unknown column to the original: reported, not compared
    b.loc[IDS[4], "Lead_Status"] = "Junk Lead"
    cs = diff(a, b, fields=LEADS_FIELDS)
    assert cs.records() == {IDS[4]: {"Lead_Status": "Junk Lead"}}


def test_id_column_instead_of_index_and_plain_index() -> None:
    a = leads_frame()
    b = a.copy()
    b.loc[IDS[0], "Lead_Status"] = "Contacted"
    cs = diff(a.reset_index(), b.reset_index())
    assert cs.records() == {IDS[0]: {"Lead_Status": "Contacted"}}
    a_obj = a.copy()
    a_obj.index = a.index.astype(object)
    assert diff(a_obj, b).records() == {IDS[0]: {"Lead_Status": "Contacted"}}


def test_text_assigned_into_an_integer_column_is_a_change() -> None:
    a = leads_frame()
    b = a.copy()
    col = b["No_of_Employees"].astype(object)
    col.iat[0] = "ten"
    col.iat[1] = float(a["No_of_Employees"].iat[1])  # same value as a float: no change
    b["No_of_Employees"] = col
    cs = diff(a, b, fields=LEADS_FIELDS)
    assert cs.records() == {IDS[0]: {"No_of_Employees": "ten"}}


def test_apply_writes_the_changes_back() -> None:
    a = leads_frame()
    b = a.copy()
    b.loc[IDS[0], "Owner.id"] = "4150868000000999999"
    b.loc[IDS[1], "Annual_Revenue"] = None
    langs = b["Languages"].copy()
    langs.iat[2] = ["German"]
    b["Languages"] = langs
    cs = diff(a, b, fields=LEADS_FIELDS)
    assert len(diff(cs.apply(a), b, fields=LEADS_FIELDS)) == 0
    with pytest.raises(InputError):
        cs.apply(a.drop(index=[IDS[0]]))


def test_reprs_show_per_field_counts_and_reports() -> None:
    a = leads_frame()
    b = a.copy()
    b["Lead_Status"] = pd.array(["Contacted"] * 6, dtype="string")
    b.loc[IDS[0], "Owner.name"] = "X"
    cs = diff(a, b, fields=LEADS_FIELDS)
    text = repr(cs)
    assert "Lead_Status: " in text
    assert "unpushable" in text
    html = cs._repr_html_()
    assert "<td>Lead_Status</td>" in html
    assert "unpushable" in html
    frame = cs.to_frame()
    frame.loc[0, "new"] = "mutated"
    assert cs.changes.loc[0, "new"] != "mutated"


def test_changeset_helpers() -> None:
    empty = ChangeSet.empty("Deals")
    assert len(empty) == 0
    assert empty.module == "Deals"
    assert empty.ids == []
    assert empty.fields_changed.empty
    a = leads_frame()
    b = a.copy()
    b["City"] = pd.array(["c"] * 6, dtype="string")
    a["City"] = pd.array(["d"] * 6, dtype="string")
    cs = diff(a, b)
    kept = cs.without(cs.changes["id"] == IDS[0])
    assert kept.ids == [IDS[0]]
    assert len(kept) == 1


def test_inputs_must_be_frames() -> None:
    with pytest.raises(InputError):
        diff([], leads_frame())  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("a", "b", "kind", "dp", "equal"),
    [
        (None, float("nan"), None, None, True),
        (pd.NA, pd.NaT, None, None, True),
        (1, 1.0, Kind.INTEGER, None, True),
        (True, 1, None, None, False),
        ("5", 5, None, None, False),
        (1.004, 1.0, Kind.FLOAT, 2, True),
        (1.006, 1.0, Kind.FLOAT, 2, False),
        ({"id": "1"}, {"id": "1"}, None, None, True),
        ([1, 2], np.array([1, 2]), None, None, True),
        (pd.Timestamp("2024-01-01"), pd.Timestamp("2024-01-01", tz="UTC"), None, None, True),
        (pd.Timestamp("2024-01-01", tz="UTC"), pd.Timestamp("2024-01-01", tz="Asia/Tokyo"),
         Kind.DATE, None, True),
    ],
)
def test_values_equal_rules(a: object, b: object, kind: Kind | None, dp: int | None,
                            equal: bool) -> None:
    assert values_equal(a, b, kind, dp) is equal
