"""Every Zoho sample envelope in ``tests/fixtures/zoho`` becomes the right frame or error.

The fixtures were copied from the seed pages and the shared corpus by
``tests/fixtures/zoho/extract_fixtures.py`` (provenance in each file's ``source``).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pandas as pd
import pytest

from crmframe.core.jobs import STATES, JobStatus, job_status
from crmframe.core.mappings import frame_to_mappings, mappings_to_frame
from crmframe.core.metadata import fields_to_frame
from crmframe.core.records import records_to_frame
from crmframe.core.results import RESULT_COLUMNS, results_to_frame
from crmframe.errors import (
    CODE_TO_ERROR,
    EnvelopeError,
    InvalidRequestError,
    InvalidRequestMethodError,
    ServerError,
    ZohoAPIError,
)

from .zoho_fixtures import body, fixture_names, load_fixture

CASES = [(name, fn) for name in fixture_names() for fn in load_fixture(name)["functions"]]
# Zoho's own v7 sample nests a resource inside field_mappings: refused, not misread.
MALFORMED = {("v7_create_bulk_write_job_362__request_json", "mappings")}
ALLOWED_DTYPES = {"string", "Int64", "Float64", "boolean", "datetime64[s]", "datetime64[s, UTC]",
                  "object"}


def test_fixture_corpus_is_complete() -> None:
    names = fixture_names()
    assert len(names) >= 130
    prefixes = {n.split("__")[0] for n in names}
    for group in ("seed000_bulk_write_job", "seed002_mass_update_status", "seed003_update_leads",
                  "seed004_mass_update", "v8_getRecords_response", "v8_updateRecords_response",
                  "v8_massUpdateRecords_response", "v7_records_154", "v7_fields", "amp"):
        assert group in prefixes, group
    assert len([n for n in names if n.startswith("seed002")]) == 4


def _expected_error(fixture: dict[str, Any]) -> type[ZohoAPIError]:
    cls = CODE_TO_ERROR.get(fixture["error_code"])
    if cls is None:
        status = fixture["http_status"]
        return ServerError if status is not None and status >= 500 else ZohoAPIError
    return cls


def _check_cell(cell: Any, value: Any, dtype: str) -> None:
    if value is None:
        assert cell is None or pd.isna(cell)
    elif dtype == "datetime64[s, UTC]":
        assert cell == pd.Timestamp(datetime.fromisoformat(value))
    elif dtype == "datetime64[s]":
        assert cell == pd.Timestamp(value)
    else:
        assert cell == value


def _check_records(df: pd.DataFrame, envelope: dict[str, Any]) -> None:
    data = envelope.get("data", [])
    assert len(df) == len(data)
    assert df.index.name == "id"
    assert str(df.index.dtype) == "string"
    ids = [r.get("id") for r in data]
    assert [None if pd.isna(i) else i for i in df.index] == ids
    assert not [c for c in df.columns if c.startswith("$")]
    assert set(df.dtypes.astype(str)) <= ALLOWED_DTYPES
    checked = 0
    for pos, record in enumerate(data):
        for key, value in record.items():
            if key == "id" or key.startswith("$"):
                continue
            if isinstance(value, dict) and f"{key}.{next(iter(value), '')}" in df.columns:
                for sub, sub_value in value.items():
                    col = f"{key}.{sub}"
                    _check_cell(df[col].iloc[pos], sub_value, str(df[col].dtype))
                    checked += 1
            else:
                _check_cell(df[key].iloc[pos], value, str(df[key].dtype))
                checked += 1
    assert checked >= len(data)  # every record had at least one value compared


def _check_results(df: pd.DataFrame, envelope: dict[str, Any]) -> None:
    items = envelope.get("data", [envelope])
    assert list(df.columns[: len(RESULT_COLUMNS)]) == list(RESULT_COLUMNS)
    assert df.index.name == "position"
    assert df["code"].tolist() == [i["code"] for i in items]
    assert df["status"].tolist() == [i["status"] for i in items]
    for pos, item in enumerate(items):
        details = item.get("details") or {}
        if item.get("code") == "DUPLICATE_DATA":
            # details.id is the record already holding the value, not the one sent
            other = (details.get("duplicate_record") or {}).get("id", details.get("id"))
            assert df["duplicate_id"].iloc[pos] == other
        elif "id" in details:
            assert df["id"].iloc[pos] == details["id"]
        if "Modified_Time" in details:
            assert df["Modified_Time"].iloc[pos] == pd.Timestamp(
                datetime.fromisoformat(details["Modified_Time"]))
    assert str(df["Modified_Time"].dtype) == "datetime64[s, UTC]"


def _check_mappings(df: pd.DataFrame, envelope: dict[str, Any]) -> None:
    resources = [r for r in envelope["resource"] if r.get("field_mappings") is not None]
    assert len(df) == sum(len(r["field_mappings"]) for r in resources)
    assert str(df["index"].dtype) == "Int64"
    by_module = frame_to_mappings(df, by_module=True)
    for r in resources:
        module = r["module"]["api_name"] if isinstance(r["module"], dict) else r["module"]
        mappings = [{k: v for k, v in m.items() if v is not None} for m in r["field_mappings"]]
        mappings.sort(key=lambda m: (m.get("index") is None, m.get("index") or 0))
        assert by_module[module] == mappings


@pytest.mark.parametrize(("name", "function"), CASES, ids=[f"{n}-{f}" for n, f in CASES])
def test_fixture(name: str, function: str) -> None:
    fixture = load_fixture(name)
    envelope = fixture["body"]
    run = {"records": records_to_frame, "results": results_to_frame,
           "mappings": mappings_to_frame, "job_status": job_status,
           "fields": fields_to_frame}[function]
    if fixture["error_code"]:
        with pytest.raises(_expected_error(fixture)) as info:
            run(envelope)
        assert info.value.code == fixture["error_code"]
        assert info.value.envelope == envelope
        return
    if (name, function) in MALFORMED:
        with pytest.raises(EnvelopeError):
            run(envelope)
        return
    result = run(envelope)
    if function == "records":
        _check_records(result, envelope)
    elif function == "results":
        _check_results(result, envelope)
    elif function == "mappings":
        _check_mappings(result, envelope)
    elif function == "job_status":
        assert isinstance(result, JobStatus)
        assert result.state in STATES
    else:
        assert result.index.tolist() == [f["api_name"] for f in envelope["fields"]]


# ----------------------------------------------------------------- specific values


@pytest.mark.parametrize(
    ("name", "state", "updated", "failed", "not_updated"),
    [
        ("seed002_mass_update_status__for_job_completed", "COMPLETED", 50, 0, 0),
        ("seed002_mass_update_status__for_job_failed", "FAILED", 0, 50, 0),
        ("seed002_mass_update_status__for_job_scheduled", "SCHEDULED", 0, 0, 50),
        ("seed002_mass_update_status__for_job_in_progress", "RUNNING", 30, 0, 20),
    ],
)
def test_seed_002_four_states(name: str, state: str, updated: int, failed: int,
                              not_updated: int) -> None:
    status = job_status(body(name), job_id="554023000000506003")
    assert (status.kind, status.state, status.total) == ("mass_update", state, 50)
    assert (status.updated, status.failed, status.not_updated) == (updated, failed, not_updated)
    assert status.done is (state in ("COMPLETED", "FAILED"))


def test_seed_000_job_status_and_errors() -> None:
    status = job_status(body("seed000_bulk_write_job__success_response"))
    assert (status.kind, status.state, status.job_id, status.module) == (
        "bulk_write", "RUNNING", "4150868000005392002", "Leads")
    assert status.total is None  # no counts while in progress: unknown, not zero
    with pytest.raises(InvalidRequestMethodError):
        mappings_to_frame(body("seed000_bulk_write_job__invalid_request_method"))


def test_seed_003_invalid_data_jsonobject() -> None:
    with pytest.raises(InvalidRequestError) as info:
        results_to_frame(body("seed003_update_leads__invalid_data"))
    assert info.value.details == {"expected_data_type": "jsonobject"}


def test_bulk_read_completed_count() -> None:
    name = "v7_status_of_the_bulk_read_job_368__sample_response_for_job_completed"
    status = job_status(body(name))
    assert status.kind == "bulk_read"
    assert status.state == "COMPLETED"
    # the fixture's result block: count 200000, download_url the job's result path
    assert status.download_url == "/crm/bulk/v7/read/2276164000001136017/result"
    assert status.total == 200000


def test_amp_contacts_page() -> None:
    df = records_to_frame(body("amp__contacts"), module="Contacts")
    assert df.index.tolist() == ["6493490000001291001", "6493490000001291002"]
    assert df.loc["6493490000001291001", "Created_Time"] == pd.Timestamp(
        "2024-12-20 07:09:52", tz="UTC")
    assert pd.isna(df.loc["6493490000001291002", "Created_Time"])
    assert df["Created_By.email"].tolist() == ["josephkarage@gmail.com"] * 2
    assert "next_page_token" in df.attrs["info"]


def test_amp_deals_field_metadata() -> None:
    df = fields_to_frame(body("amp__deals"))
    assert df.loc["Owner", "kind"] == "lookup"
