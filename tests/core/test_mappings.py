"""Bulk-write field mappings: job → frame → mappings round trip."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest

from crmframe.core.mappings import MAPPING_COLUMNS, frame_to_mappings, mappings_to_frame
from crmframe.errors import EnvelopeError, InputError, NotFoundError

from .zoho_fixtures import body


def expected_mappings(resource: dict[str, Any]) -> list[dict[str, Any]]:
    """A resource's mappings ordered by index, null-valued keys dropped (the documented rule)."""
    mappings = [{k: v for k, v in m.items() if v is not None} for m in resource["field_mappings"]]
    return sorted(mappings, key=lambda m: (m.get("index") is None, m.get("index") or 0))


def test_seed_000_job_details() -> None:
    df = mappings_to_frame(body("seed000_bulk_write_job__success_response"))
    assert list(df.columns) == list(MAPPING_COLUMNS)
    assert df["index"].tolist() == [0, 1, 2, 3, 4]
    assert df["api_name"].tolist() == ["Last_Name", "Owner", "Date_3", "Mobile", "Layout"]
    assert str(df["index"].dtype) == "Int64"
    assert str(df["module"].dtype) == "string"
    assert (df["module"] == "Leads").all()
    date_3 = df.set_index("api_name").loc["Date_3"]
    assert date_3["format"] == "yyyy/MM/dd"
    assert df["format"].isna().sum() == 4
    assert df.attrs["job_id"] == "4150868000005392002"
    assert df.attrs["operation"] == "insert"


@pytest.mark.parametrize(
    "name",
    [
        "seed000_bulk_write_job__success_response",
        "v8_createBulkWriteJob_request__bulkwriterequest",
        "v8_getBulkWriteJobDetails_response__bulkwritejobdetailsresponse",
        "v7_create_bulk_write_job_362__sample_input_to_bulk_insert_subform_data",
        "v7_create_bulk_write_job_362__sample_response_2",
    ],
)
def test_round_trip_gives_back_the_jobs_mappings(name: str) -> None:
    job = body(name)
    df = mappings_to_frame(job)
    resources = [r for r in job["resource"] if r.get("field_mappings") is not None]
    if len({str(r.get("module")) for r in resources}) == 1:
        assert frame_to_mappings(df) == expected_mappings(resources[0])
    by_module = frame_to_mappings(df, by_module=True)
    for resource in resources:
        module = resource["module"]
        name_ = module["api_name"] if isinstance(module, dict) else module
        assert by_module[name_] == expected_mappings(resource)


def test_v2_and_v21_module_forms_read_alike() -> None:
    v2 = {"resource": [{"module": "Contacts", "field_mappings": [{"api_name": "A", "index": 0}]}]}
    v21 = {"resource": [{"module": {"api_name": "Contacts", "id": "3524001000000002179"},
                         "field_mappings": [{"api_name": "A", "index": 0}]}]}
    pd.testing.assert_frame_equal(mappings_to_frame(v2), mappings_to_frame(v21))
    assert mappings_to_frame(v2)["module"].tolist() == ["Contacts"]


def test_job_with_several_modules() -> None:
    job = {"resource": [
        {"module": {"api_name": "Leads"}, "field_mappings": [
            {"api_name": "Email", "index": 1}, {"api_name": "Last_Name", "index": 0}]},
        {"module": {"api_name": "Secondary"}, "field_mappings": [
            {"api_name": "Parent_Id", "parent_column_index": 0, "index": 2}]}]}
    df = mappings_to_frame(job)
    assert df["resource"].tolist() == [0, 0, 1]
    assert df["api_name"].tolist() == ["Last_Name", "Email", "Parent_Id"]
    assert df.loc[2, "parent_column_index"] == 0  # other mapping keys are kept as columns
    with pytest.raises(InputError, match="by_module=True"):
        frame_to_mappings(df)
    assert frame_to_mappings(df, by_module=True) == {
        "Leads": [{"api_name": "Last_Name", "index": 0}, {"api_name": "Email", "index": 1}],
        "Secondary": [{"api_name": "Parent_Id", "index": 2, "parent_column_index": 0}],
    }


def test_misplaced_resource_in_the_v7_doc_sample_is_refused() -> None:
    # Zoho's v7 page nests a third resource inside field_mappings (a bracket slip).
    with pytest.raises(EnvelopeError, match="resource 1, mapping 3: api_name"):
        mappings_to_frame(body("v7_create_bulk_write_job_362__request_json"))


def test_lookup_module_and_default_value_round_trip() -> None:
    job = {"resource": [{"module": {"api_name": "Contacts"}, "field_mappings": [
        {"api_name": "Layout", "default_value": {"value": "5725767000001022168"}},
        {"api_name": "Account_Lookup", "index": 3, "find_by": "Account_Name",
         "module": "Accounts"},
        {"api_name": "id", "index": 1}]}]}
    df = mappings_to_frame(job)
    assert df["api_name"].tolist() == ["id", "Account_Lookup", "Layout"]  # unindexed last
    assert df.loc[1, "lookup_module"] == "Accounts"
    assert df.loc[2, "default_value"] == {"value": "5725767000001022168"}
    assert frame_to_mappings(df) == [
        {"api_name": "id", "index": 1},
        {"api_name": "Account_Lookup", "index": 3, "find_by": "Account_Name",
         "module": "Accounts"},
        {"api_name": "Layout", "default_value": {"value": "5725767000001022168"}},
    ]


def test_frame_to_mappings_from_a_hand_made_frame() -> None:
    df = pd.DataFrame({"api_name": ["B", "A"], "index": [np.int64(1), np.float64(0.0)],
                       "format": [None, "yyyy-MM-dd"]})
    out = frame_to_mappings(df)
    assert out == [{"api_name": "A", "index": 0, "format": "yyyy-MM-dd"},
                   {"api_name": "B", "index": 1}]
    assert all(type(m["index"]) is int for m in out)


@pytest.mark.parametrize(
    ("df", "match"),
    [
        ([{"api_name": "A"}], "DataFrame"),
        (pd.DataFrame({"index": [0]}), "api_name"),
        (pd.DataFrame({"api_name": ["A"], "index": [0.5]}), "column number"),
        (pd.DataFrame({"api_name": [3]}), "not a string"),
        (pd.DataFrame({"api_name": ["A"], "module": [3]}), "module"),
    ],
)
def test_frame_to_mappings_refuses_bad_frames(df: Any, match: str) -> None:
    with pytest.raises(InputError, match=match):
        frame_to_mappings(df)


@pytest.mark.parametrize(
    ("job", "error", "match"),
    [
        ({"status": "ADDED"}, EnvelopeError, "resource"),
        ({"resource": [1]}, EnvelopeError, "resource 0"),
        ({"resource": [{"field_mappings": {}}]}, EnvelopeError, "field_mappings"),
        ({"resource": [{"field_mappings": [{"index": 0}]}]}, EnvelopeError, "api_name"),
        ({"resource": [{"field_mappings": [{"api_name": "A", "index": "0"}]}]}, EnvelopeError,
         "index"),
        ({"resource": [{"module": 5, "field_mappings": []}]}, EnvelopeError, "module"),
        (body("seed000_bulk_write_job__resource_not_found"), NotFoundError, "RESOURCE_NOT_FOUND"),
    ],
)
def test_mappings_to_frame_errors(job: Any, error: type[Exception], match: str) -> None:
    with pytest.raises(error, match=match):
        mappings_to_frame(job)


def test_resource_without_mappings_gives_no_rows() -> None:
    df = mappings_to_frame({"resource": [{"module": "Leads", "file_id": "1"}]})
    assert len(df) == 0
    assert list(df.columns) == list(MAPPING_COLUMNS)
    assert frame_to_mappings(df) == []
