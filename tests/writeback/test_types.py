"""Types against the metadata (CSV round trips, retype, snapshots), fillna(""), and the
small defects of the write path: ChangeSet.apply on datetimes, picklist messages, unknown
field names."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import crmframe
from crmframe.core.diff import diff
from crmframe.core.retype import check_dtypes, dtype_problems, retype
from crmframe.core.validate import validate
from crmframe.errors import InputError, ValidationError

from .leads import LEAD_STATUSES, LEADS_FIELDS, lead_ids, leads_frame


def _csv_round_trip(frame: pd.DataFrame, path: Path, **read: Any) -> pd.DataFrame:
    frame.to_csv(path)
    return pd.read_csv(path, index_col="id", **read)


def test_a_csv_reloaded_frame_is_an_input_error_naming_columns_and_the_fix(
    tmp_path: Path,
) -> None:
    original = leads_frame(20)
    reloaded = _csv_round_trip(original, tmp_path / "leads.csv")
    problems = dtype_problems(reloaded, LEADS_FIELDS)
    assert {"Owner.id", "Created_Time", "Date_3", "Languages"} <= set(problems)
    with pytest.raises(InputError) as info:
        diff(reloaded, original, fields=LEADS_FIELDS)
    message = str(info.value)
    for column in ("Owner.id", "Created_Time", "Languages"):
        assert column in message
    assert "read_snapshot" in message
    assert "retype" in message
    check_dtypes(original, LEADS_FIELDS, "original")  # a frame as read passes


def test_retype_restores_a_csv_frame_losslessly(tmp_path: Path) -> None:
    original = leads_frame(20)
    back = retype(_csv_round_trip(original, tmp_path / "leads.csv", dtype=str), LEADS_FIELDS)
    assert len(diff(original, back, fields=LEADS_FIELDS)) == 0
    for column in ("Owner.id", "Lead_Status", "No_of_Employees", "Annual_Revenue",
                   "Email_Opt_Out", "Date_3", "Created_Time"):
        assert str(back[column].dtype) == str(original[column].dtype), column
    assert back["Languages"].tolist() == original["Languages"].tolist()
    assert str(back.index.dtype) == "string"


def test_retype_takes_empty_strings_as_empty_cells(tmp_path: Path) -> None:
    # read_csv(dtype=str).fillna("") and keep_default_na=False give "" for empty cells:
    # a boolean or multi-select column with one was refused ("'' is not a boolean",
    # "invalid syntax") while numbers, dates and texts took "" as empty
    original = leads_frame(6)
    original.loc[original.index[1], "Email_Opt_Out"] = pd.NA
    original.loc[original.index[2], "Languages"] = None
    path = tmp_path / "leads.csv"
    for reloaded in (_csv_round_trip(original, path, dtype=str).fillna(""),
                     _csv_round_trip(original, path, dtype=str, keep_default_na=False)):
        back = retype(reloaded, LEADS_FIELDS)
        assert len(diff(original, back, fields=LEADS_FIELDS)) == 0
        assert str(back["Email_Opt_Out"].dtype) == "boolean"
        assert back["Languages"].tolist() == original["Languages"].tolist()


def test_the_readme_csv_recipe_keeps_text_that_read_csv_takes_for_missing(
    tmp_path: Path,
) -> None:
    # read_csv(dtype=str) alone reads "NA", "null", "N/A" as missing: a push would clear
    # them in Zoho; the README's recipe adds keep_default_na=False
    original = leads_frame(6)
    original.loc[original.index[0], "Last_Name"] = "NA"
    original.loc[original.index[1], "Email"] = "null@x.example"
    original.loc[original.index[2], "Lead_Status"] = "N/A"
    original.loc[original.index[3], "Email_Opt_Out"] = pd.NA
    original.to_csv(tmp_path / "leads.csv")
    lossy = retype(pd.read_csv(tmp_path / "leads.csv", index_col="id", dtype=str),
                   LEADS_FIELDS)
    assert diff(original, lossy, fields=LEADS_FIELDS).records() == {
        original.index[0]: {"Last_Name": None}, original.index[2]: {"Lead_Status": None}}
    old = retype(pd.read_csv(tmp_path / "leads.csv", index_col="id", dtype=str,
                             keep_default_na=False), LEADS_FIELDS)
    assert len(diff(original, old, fields=LEADS_FIELDS)) == 0
    assert old.loc[original.index[0], "Last_Name"] == "NA"


def test_an_empty_column_filled_with_empty_strings_is_not_text_from_a_file() -> None:
    # astype(object).fillna("") leaves "" in every cell of an all-empty datetime column:
    # nothing there is text read from a file, and diff takes "" as empty
    original = leads_frame(4)
    original["Created_Time"] = pd.Series(pd.NaT, index=original.index,
                                         dtype="datetime64[s, UTC]")
    with warnings.catch_warnings():
        # pandas 2.2 warns that this fillna will stop downcasting object columns (CI runs
        # the suite on 2.2 with warnings as errors); the cells are the same either way
        warnings.simplefilter("ignore", FutureWarning)
        edited = original.astype(object).fillna("")
    assert "Created_Time" not in dtype_problems(edited, LEADS_FIELDS)
    assert len(diff(original, edited, fields=LEADS_FIELDS)) == 0


def test_retype_says_which_columns_it_cannot_convert() -> None:
    frame = pd.DataFrame({"Mobile": [4915112345678, 4915112345679],
                          "City": ["Pune", "Goa"]},
                         index=pd.Index(lead_ids(2), name="id"))
    with pytest.raises(InputError, match="Mobile"):
        retype(frame, LEADS_FIELDS)
    kept = retype(frame, LEADS_FIELDS, errors="keep")
    assert list(kept.attrs["not_retyped"]) == ["Mobile"]
    assert str(kept["City"].dtype) == "string"


def test_snapshot_round_trip_keeps_everything(tmp_path: Path) -> None:
    original = leads_frame(30)
    original.attrs["read_at"] = "2026-01-01T10:00:00+00:00"
    original["Details"] = pd.Series([{"a": [1, 2]}, None] * 15, index=original.index,
                                    dtype=object)
    back = crmframe.read_snapshot(crmframe.to_snapshot(original, tmp_path / "s.parquet"))
    pd.testing.assert_frame_equal(back, original)
    assert back.attrs == original.attrs
    assert len(diff(original, back, fields=LEADS_FIELDS)) == 0
    path = original.crm.to_snapshot(tmp_path / "t.parquet")
    assert crmframe.read_snapshot(path).equals(original)
    original.drop(columns=["Details", "Languages"]).to_parquet(tmp_path / "plain.parquet")
    with pytest.raises(InputError, match="not a crmframe snapshot"):
        crmframe.read_snapshot(tmp_path / "plain.parquet")


def test_snapshot_keeps_numpy_scalars_in_cells_as_their_values(tmp_path: Path) -> None:
    # A subform row edited with values taken from subform_frame's typed columns holds
    # NumPy scalars (a "boolean" column gives numpy.bool_): the snapshot wrote them with
    # str(), so the reloaded edits held the text "True" and a NumPy datetime as text
    import numpy as np

    lines = pd.DataFrame({"Primary": pd.array([True], dtype="boolean"),
                          "Quantity": pd.array([3], dtype="Int64")})
    row = {"id": "11", "Primary": lines["Primary"].iloc[0],
           "Quantity": lines["Quantity"].iloc[0], "Due": np.datetime64("2024-03-01T10:00:00")}
    edited = leads_frame(2)
    edited["Lead_Contacts"] = pd.Series([[row], []], index=edited.index, dtype=object)
    edited.attrs["flag"] = np.bool_(False)
    back = crmframe.read_snapshot(crmframe.to_snapshot(edited, tmp_path / "e.parquet"))
    stored = back["Lead_Contacts"].iloc[0][0]
    assert stored["Primary"] is True
    assert stored["Quantity"] == 3
    assert stored["Due"] == pd.Timestamp("2024-03-01 10:00:00")
    assert back.attrs["flag"] is False
    assert len(diff(edited, back)) == 0


def test_read_snapshot_of_a_csv_or_a_folder_is_an_input_error(tmp_path: Path) -> None:
    # The snapshot's usual mix-up: the CSV saved beside it. pyarrow's ArrowInvalid
    # ("Parquet magic bytes not found") reached the analyst untyped; a folder was read as
    # a dataset of every file in it.
    leads_frame(3).to_csv(tmp_path / "leads.csv")
    crmframe.to_snapshot(leads_frame(3), tmp_path / "leads.parquet")
    with pytest.raises(InputError, match=r"leads\.csv.*not a crmframe snapshot.*Parquet"):
        crmframe.read_snapshot(tmp_path / "leads.csv")
    with pytest.raises(InputError, match="is a folder"):
        crmframe.read_snapshot(tmp_path)


def test_null_becoming_empty_string_is_not_an_edit() -> None:
    original = leads_frame(12)
    edited = original.copy()
    edited["Email"] = edited["Email"].fillna("")
    assert (edited["Email"] == "").sum() == 4
    assert len(diff(original, edited, fields=LEADS_FIELDS)) == 0
    edited.loc[edited.index[1], "Email"] = ""  # a real value cleared: an edit
    assert diff(original, edited, fields=LEADS_FIELDS).changes["id"].tolist() == [
        edited.index[1]]


def test_apply_keeps_datetime64_when_a_cell_is_cleared() -> None:
    original = leads_frame(4)
    edited = original.copy()
    edited.loc[edited.index[0], "Created_Time"] = pd.NaT
    edited.loc[edited.index[1], "Date_3"] = pd.NaT
    edited.loc[edited.index[2], "Created_Time"] = pd.Timestamp("2025-05-05 08:00", tz="UTC")
    changes = diff(original, edited, fields=LEADS_FIELDS)
    applied = changes.apply(original)
    assert str(applied["Created_Time"].dtype) == "datetime64[s, UTC]"
    assert str(applied["Date_3"].dtype) == "datetime64[s]"
    pd.testing.assert_frame_equal(applied, edited)


def test_picklist_validation_error_lists_the_allowed_values() -> None:
    original = leads_frame(3)
    edited = original.copy()
    edited.loc[edited.index[0], "Lead_Status"] = "Hot"
    with pytest.raises(ValidationError) as info:
        validate(diff(original, edited, fields=LEADS_FIELDS), LEADS_FIELDS)
    message = str(info.value)
    assert "Lead_Status allows:" in message
    assert all(repr(v) in message for v in LEAD_STATUSES[:9])


def test_read_records_unknown_field_names_the_closest(tmp_path: Path) -> None:
    from crmframe.sandbox import start

    with start(records=20, flag_records=False) as server, crmframe.connect(
        **server.credentials
    ) as crm:
        with pytest.raises(InputError) as info:
            crm.read_records("Leads", ["Emial", "City"])
        assert "'Emial'" in str(info.value)
        assert "'Email'" in str(info.value)
        frame = crm.read_records("Leads", ["Email", "City"], progress=False)
        assert frame["Email"].notna().any()
        assert frame.attrs["read_at"]
