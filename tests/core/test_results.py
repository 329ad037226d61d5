"""results_to_frame: per-record action results, one row per result in request order."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from crmframe.core.results import RESULT_COLUMNS, results_to_frame
from crmframe.errors import (
    AuthenticationError,
    EnvelopeError,
    InputError,
    InvalidModuleError,
    InvalidRequestError,
)

from .zoho_fixtures import body


def test_seed_003_success() -> None:
    df = results_to_frame(body("seed003_update_leads__success_response"))
    assert list(df.columns) == list(RESULT_COLUMNS)
    assert df.index.name == "position"
    assert isinstance(df.index, pd.RangeIndex)
    row = df.loc[0]
    assert row["id"] == "738964000002148061"
    assert row["code"] == "SUCCESS"
    assert row["status"] == "success"
    assert row["message"] == "record updated"
    assert str(df["Modified_Time"].dtype) == "datetime64[s, UTC]"
    assert row["Modified_Time"] == pd.Timestamp("2021-05-11 12:52:29", tz="UTC")
    assert row["Created_Time"] == pd.Timestamp("2021-05-11 12:41:33", tz="UTC")
    assert row["Modified_By.id"] == "738964000000291009"
    assert row["Modified_By.name"] == "Patricia Boyle"
    assert str(df["Modified_By.id"].dtype) == "string"
    assert row["details"]["id"] == "738964000002148061"


def test_seed_004_mass_update_by_ids() -> None:
    df = results_to_frame(body("seed004_mass_update__success_response"))
    assert df["id"].tolist() == ["738964000002131001", "738964000002130131"]
    assert (df["status"] == "success").all()
    assert df["Modified_Time"].tolist() == [pd.Timestamp("2021-05-12 07:26:48", tz="UTC")] * 2


def test_seed_004_error_fills_the_sent_id() -> None:
    df = results_to_frame(body("seed004_mass_update__invalid_data_field"),
                          records=["738964000002131001"])
    assert df.loc[0, "id"] == "738964000002131001"
    assert df.loc[0, "code"] == "INVALID_DATA"
    assert df.loc[0, "api_name"] == "No_of_Employees1"


def test_mixed_207_with_sent_records_in_every_form() -> None:
    env = body("v8_updateRecords_response__mixedresults")
    sent_dicts = [{"id": "111112000000142001", "Last_Name": "A"},
                  {"id": "111112000000142002", "Last_Name": "B"}]
    frame = pd.DataFrame({"Last_Name": ["A", "B"]},
                         index=pd.Index(["111112000000142001", "111112000000142002"], name="id"))
    for sent in (sent_dicts, frame, ["111112000000142001", "111112000000142002"]):
        df = results_to_frame(env, records=sent)
        assert df["id"].tolist() == ["111112000000142001", "111112000000142002"]
        assert df["status"].tolist() == ["success", "error"]
        assert df.loc[1, "json_path"] == "$.data[1].Last_Name"
        assert pd.isna(df.loc[1, "Modified_Time"])
    assert results_to_frame(env)["id"].isna().tolist() == [False, True]


def test_mass_update_207_keeps_the_locked_row_and_its_action() -> None:
    df = results_to_frame(body("v8_massUpdateRecords_response__partialmassupdate"))
    assert df["code"].tolist() == ["SUCCESS", "SUCCESS", "RECORD_LOCKED"]
    assert df.loc[2, "id"] == "1990117000045639003"
    assert df.loc[2, "action"] == "record_locking"
    assert df.loc[0, "Modified_Time"] == pd.Timestamp("2026-08-12 13:32:29", tz="UTC")


def test_counts_differ_unanswered_ids_fill_the_holes() -> None:
    ok1 = {"code": "SUCCESS", "status": "success", "message": "ok", "details": {"id": "1"}}
    ok3 = {"code": "SUCCESS", "status": "success", "message": "ok", "details": {"id": "3"}}
    bad = {"code": "INVALID_DATA", "status": "error", "message": "bad", "details": {}}
    # two ids nobody answered for, one hole: ambiguous, the hole stays empty
    df = results_to_frame({"data": [ok1, bad]}, records=["1", "2", "3"])
    assert df["id"].tolist() == ["1", pd.NA]
    # one id nobody answered for, one hole: that id
    df = results_to_frame({"data": [ok1, ok3, bad]}, records=["1", "2", "3", "3"])
    assert df["id"].tolist() == ["1", "3", "2"]


def test_multiple_errors_keep_details() -> None:
    df = results_to_frame(body("v8_updateRecords_response__multipleerrors"))
    assert df.loc[0, "code"] == "MULTIPLE_OR_MULTI_ERRORS"
    errors = df.loc[0, "details"]["errors"]
    assert [e["details"]["api_name"] for e in errors] == ["Email", "Mobile"]
    assert df.loc[0, "errors"] == errors


def test_per_record_invalid_module_is_a_row() -> None:
    df = results_to_frame(body("v8_updateRecords_response__invalidmodule"))
    assert df.loc[0, "code"] == "INVALID_MODULE"
    assert df.loc[0, "resource_path_index"] == 0
    assert str(df["resource_path_index"].dtype) == "Int64"


def test_mass_update_scheduled_job_id_is_a_string() -> None:
    df = results_to_frame(
        body("v7_mass_update_records_399__sample_response_response_for_scheduler_type"))
    assert df.loc[0, "job_id"] == "554023000000506003"
    assert str(df["job_id"].dtype) == "string"


def test_top_level_action_result_is_one_row() -> None:
    df = results_to_frame(body("v8_createBulkWriteJob_response__successresponse"))
    assert len(df) == 1
    assert df.loc[0, "id"] == "3524001000005697001"
    assert df.loc[0, "created_by"] == {"id": "3524001000000186003"}


def test_empty_answer_has_the_columns() -> None:
    df = results_to_frame({"data": []})
    assert list(df.columns) == list(RESULT_COLUMNS)
    assert len(df) == 0
    assert str(df["Modified_Time"].dtype) == "datetime64[s, UTC]"


@pytest.mark.parametrize(
    ("envelope", "error", "match"),
    [
        (body("seed003_update_leads__invalid_data"), InvalidRequestError, "jsonobject"),
        (body("seed003_update_leads__invalid_module"), InvalidModuleError, "INVALID_MODULE"),
        (body("seed004_mass_update__authentication_failure"), AuthenticationError, "failed"),
        ({"data": [{"id": "1", "Last_Name": "x"}]}, EnvelopeError, "records_to_frame"),
        ({"data": "x"}, EnvelopeError, "'data' is str"),
        ({"info": {}}, EnvelopeError, "not an action-result"),
        ({"data": [3]}, EnvelopeError, "data item 0 is int"),
    ],
)
def test_errors(envelope: Any, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        results_to_frame(envelope)


def test_bad_records_argument() -> None:
    env = body("seed003_update_leads__success_response")
    with pytest.raises(InputError, match="records"):
        results_to_frame(env, records=42)
    with pytest.raises(InputError, match="id is float"):
        results_to_frame(env, records=[1.5])


def test_duplicate_data_row_is_on_the_sent_record_not_the_existing_one() -> None:
    # Seed 003: details.id is the record already holding the Mobile number.
    envelope = body("seed003_update_leads__duplicate_data")
    existing = envelope["data"][0]["details"]["id"]
    sent = "738964000002148999"
    df = results_to_frame(envelope, records=[sent])
    assert df.loc[0, "id"] == sent
    assert df.loc[0, "duplicate_id"] == existing
    assert df.loc[0, "api_name"] == "Mobile"
    bare = results_to_frame(envelope)  # nothing sent to pair with: no id, never the other's
    assert pd.isna(bare.loc[0, "id"])
    assert bare.loc[0, "duplicate_id"] == existing


def test_a_missing_code_written_as_pandas_na_is_a_missing_value() -> None:
    # found by the fuzz test: pd.NA made `code == "DUPLICATE_DATA"` raise TypeError
    df = results_to_frame({"data": [{"code": pd.NA, "status": "error"},
                                    {"code": "DUPLICATE_DATA", "status": "error",
                                     "details": {"id": "9"}}]}, records=["1", "2"])
    assert df["id"].tolist() == ["1", "2"]
    assert df["code"].isna().tolist() == [True, False]
    assert df["duplicate_id"].tolist()[1] == "9"


def test_a_code_that_is_an_array_is_kept_not_compared() -> None:
    # found by the fuzz test: == on an array cell is an array, not a bool
    df = results_to_frame({"data": [{"id": None, "code": np.array([])},
                                    {"code": "DUPLICATE_DATA", "details": {"id": "9"}}]})
    assert len(df["code"][0]) == 0
    assert df["duplicate_id"].isna().tolist() == [True, False]
    assert df.loc[1, "duplicate_id"] == "9"
