"""The sandbox's answers against Zoho's own samples, shape by shape.

Samples are copies (tests/sandbox/fixtures/zoho_samples.json) of the five seed pages (v2
Postman items with their saved responses), the v8 OpenAPI examples and v7 doc examples.
For errors the whole body must match; for successes the key sets, codes, messages and
HTTP statuses must match (values such as ids and times naturally differ).
"""

from __future__ import annotations

import io
import zipfile
from typing import Any

import pytest
import requests

from crmframe.sandbox import ManualClock, SandboxServer, start

from .helpers import Api, samples

pytestmark = pytest.mark.sandbox

S = samples()


def seed_response(seed: str, name: str) -> dict[str, Any]:
    return next(r for r in S["seeds"][seed]["responses"] if r["name"] == name)


def v8_response(op: str, name: str) -> dict[str, Any]:
    return next(r for r in S["v8"][op]["responses"] if r["name"] == name)


def v7_example(page: str, section: str, caption: str | None = None) -> Any:
    for e in S["v7"][page]["examples"]:
        if e["section"].startswith(section) and (caption is None or e.get("caption") == caption):
            return e["body"]
    raise KeyError((page, section, caption))


def assert_same_error(expected: dict[str, Any], r: requests.Response) -> None:
    """A whole error answer: identical body and HTTP status."""
    assert r.status_code == expected["http_status"], (r.status_code, r.text)
    assert r.json() == expected["body"]


def assert_same_keys(expected: Any, actual: Any, *, subset: bool = False, path: str = "$") -> None:
    """Same keys at every level (``subset``: the sample's keys are all present)."""
    if isinstance(expected, dict):
        assert isinstance(actual, dict), (path, actual)
        if subset:
            assert set(expected) <= set(actual), (path, set(expected) - set(actual))
        else:
            assert set(expected) == set(actual), (path, set(expected) ^ set(actual))
        for k, v in expected.items():
            if k in actual and isinstance(v, (dict, list)) and v and actual[k] is not None:
                assert_same_keys(v, actual[k], subset=subset, path=f"{path}.{k}")
    elif isinstance(expected, list) and expected and isinstance(expected[0], dict):
        assert isinstance(actual, list), (path, actual)
        assert actual, path
        assert_same_keys(expected[0], actual[0], subset=subset, path=f"{path}[0]")


def assert_same_items(expected: dict[str, Any], r: requests.Response, *,
                      exact: bool = False) -> None:
    """A data[] answer: HTTP status, and per item the code, status, message and keys."""
    assert r.status_code == expected["http_status"], (r.status_code, r.text)
    got = r.json()["data"]
    want = expected["body"]["data"]
    assert len(got) == len(want)
    for w, g in zip(want, got, strict=True):
        if exact:
            assert g == w
            continue
        assert (g["code"], g["status"], g["message"]) == (w["code"], w["status"], w["message"])
        assert_same_keys(w, g)


@pytest.fixture
def v2(server: SandboxServer) -> Api:
    api = Api(server, "v2")
    yield api  # type: ignore[misc]
    api.close()


def _plain(server: SandboxServer, n: int = 2) -> list[str]:
    flagged = server.flagged("Leads")
    return [i for i in server.ids("Leads") if i not in flagged][:n]


def _flagged(server: SandboxServer, kind: str) -> str:
    return next(i for i, f in server.flagged("Leads").items() if f == kind)


# ---------------------------------------------------------------------- seed 003: v2 PUT
def test_seed_003_update_success(server: SandboxServer, v2: Api) -> None:
    body = S["seeds"]["003"]["request_body"]
    body["data"][0]["Owner"]["id"] = "4876876000000000011"
    r = v2.put(f"Leads/{_plain(server, 1)[0]}", json=body)
    assert_same_items(seed_response("003", "SUCCESS RESPONSE"), r)


def test_seed_003_errors(server: SandboxServer, v2: Api) -> None:
    assert_same_error(seed_response("003", "INVALID_MODULE"),
                      v2.put("Leadz/1", json={"data": [{"City": "x"}]}))
    assert_same_error(seed_response("003", "INVALID_DATA"),
                      v2.put(f"Leads/{_plain(server, 1)[0]}", data=b"[]"))
    assert_same_items(seed_response("003", "MANDATORY_NOT_FOUND"),
                      v2.put("Leads", json={"data": [{"City": "x"}]}), exact=True)
    assert_same_error(seed_response("003", "INVALID_REQUEST_METHOD"),
                      v2.session.request("COPY", v2.url(f"Leads/{_plain(server, 1)[0]}")))
    a, b = _plain(server, 2)
    mobile = server.get_record("Leads", a)["Mobile"]
    assert_same_items(seed_response("003", "DUPLICATE_DATA"),
                      v2.put(f"Leads/{b}", json={"data": [{"Mobile": mobile}]}))
    assert_same_items(seed_response("003", "NOT_APPROVED"),
                      v2.put(f"Leads/{_flagged(server, 'not_approved')}",
                             json={"data": [{"City": "x"}]}))
    assert_same_items(seed_response("003", "RECORD_LOCKED"),
                      v2.put(f"Leads/{_flagged(server, 'locked')}",
                             json={"data": [{"City": "x"}]}))


# ---------------------------------------------------------------------- seed 004: v2 mass update
def test_seed_004_mass_update(server: SandboxServer, v2: Api) -> None:
    ids = _plain(server, 2)
    url = "Leads/actions/mass_update"
    assert_same_items(seed_response("004", "SUCCESS RESPONSE"),
                      v2.post(url, json={"data": [{"No_of_Employees": 1000}], "over_write": True,
                                         "ids": ids}))
    assert_same_items(seed_response("004", "INVALID_DATA (no field)"),
                      v2.post(url, json={"data": [{}], "ids": ids}), exact=True)
    assert_same_items(seed_response("004", "INVALID_DATA (field)"),
                      v2.post(url, json={"data": [{"No_of_Employees1": 1000}], "ids": ids}),
                      exact=True)
    assert_same_items(seed_response("004", "MANDATORY_NOT_FOUND"),
                      v2.post(url, json={"data": [{"No_of_Employees": 1}]}), exact=True)
    assert_same_error(seed_response("004", "INVALID_REQUEST_METHOD"),
                      v2.put(url, json={"data": [{}]}))
    assert_same_error(seed_response("004", "AUTHENTICATION_FAILURE"),
                      requests.post(v2.url(url), json={"data": [{}]}, timeout=10))
    assert_same_items(seed_response("004", "NOT_APPROVED"),
                      v2.post(url, json={"data": [{"No_of_Employees": 1}],
                                         "ids": [_flagged(server, "not_approved")]}))
    assert_same_items(seed_response("004", "RECORD_LOCKED"),
                      v2.post(url, json={"data": [{"No_of_Employees": 1}],
                                         "ids": [_flagged(server, "locked")]}))


# ------------------------------------------------------------ seed 002: mass update status
def test_seed_002_mass_update_status_shapes(server: SandboxServer, api: Api,
                                            clock: ManualClock) -> None:
    seeds = S["seeds"]["002"]["samples"]
    views = api.get("settings/custom_views", params={"module": "Leads"}).json()["custom_views"]
    cvid = next(v["id"] for v in views if v["name"] == "All Leads")
    job = api.post("Leads/actions/mass_update",
                   json={"data": [{"Segment": "SMB"}], "cvid": cvid}).json()
    assert_same_keys(v7_example("Mass_Update_Records_399", "Sample Response",
                                "Response for scheduler type"), job)
    job_id = job["data"][0]["details"]["job_id"]
    seen = {}
    for step in (0, 2, 10):
        clock.advance(step)
        body = api.get("Leads/actions/mass_update", params={"job_id": job_id}).json()
        seen[body["data"][0]["Status"]] = body
    for caption, state in [("For Job Scheduled", "SCHEDULED"), ("For Job In Progress", "RUNNING"),
                           ("For Job Completed", "COMPLETED")]:
        assert_same_keys(seeds[caption], seen[state])
    assert_same_keys(seeds["For Job Failed"], seen["COMPLETED"])
    assert_same_keys(v8_response("getMassUpdateStatus", "ScheduledJob")["body"],
                     seen["SCHEDULED"])
    assert_same_error(v8_response("getMassUpdateStatus", "InvalidJobId"),
                      api.get("Leads/actions/mass_update", params={"job_id": "x1"}))


# ---------------------------------------------------------------------- seed 000: bulk write job
def _bulk_write(api: Api, version_module: Any) -> str:
    csv_text = "Last_Name,Owner,Date_3,Mobile,Layout\nBoyle,4876876000000000011,2021/05/13,+1 5,\n"
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("Leads.csv", csv_text)
    up = api.post("upload", files={"file": ("Leads.zip", out.getvalue())},
                  headers={"feature": "bulk-write", "X-CRM-ORG": "700000001"})
    up_sample = v7_example("Upload_File_361", "Sample Response")
    assert_same_keys(up_sample, up.json())
    assert up.json()["code"] == up_sample["code"]
    body = {"operation": "insert", "ignore_empty": True,
            "callback": {"url": "https://www.zoho.com/in/crm/", "method": "post"},
            "resource": [{"type": "data", "module": version_module,
                          "file_id": up.json()["details"]["file_id"],
                          "field_mappings": [
                              {"api_name": "Owner", "index": 1},
                              {"api_name": "Date_3", "index": 2, "format": "yyyy/MM/dd"},
                              {"api_name": "Last_Name", "index": 0},
                              {"api_name": "Layout", "index": 4},
                              {"api_name": "Mobile", "index": 3}]}]}
    r = api.post("write", bulk=True, json=body)
    sample = v8_response("createBulkWriteJob", "SuccessResponse")
    assert r.status_code == sample["http_status"]
    assert_same_keys(sample["body"], r.json(), subset=True)
    assert r.json()["code"] == "SUCCESS"
    return str(r.json()["details"]["id"])


def test_seed_000_bulk_write_job_details(server: SandboxServer, v2: Api, api: Api,
                                         clock: ManualClock) -> None:
    job_id = _bulk_write(v2, "Leads")
    clock.advance(1.001)
    r = v2.get(f"write/{job_id}", bulk=True)
    sample = seed_response("000", "SUCCESS RESPONSE")
    assert r.status_code == 200
    assert r.json()["status"] == sample["body"]["status"] == "INPROGRESS"
    assert_same_keys(sample["body"], r.json(), subset=True)
    assert r.json()["resource"][0]["field_mappings"] == sample["body"]["resource"][0][
        "field_mappings"]
    assert_same_error(seed_response("000", "RESOURCE_NOT_FOUND"),
                      v2.get("write/4150868000005392002", bulk=True))
    assert_same_error(seed_response("000", "INVALID_URL_PATTERN"),
                      v2.get("/crm/bulk/v2/writes/1"))
    assert_same_error(seed_response("000", "INVALID_REQUEST_METHOD"),
                      v2.session.delete(v2.url(f"write/{job_id}", bulk=True)))
    assert_same_error(seed_response("000", "AUTHENTICATION_FAILURE"),
                      requests.get(v2.url(f"write/{job_id}", bulk=True), timeout=10))
    # v8: the completed shape of the OpenAPI example and the v7 docs' three states
    job8 = _bulk_write(api, {"api_name": "Leads"})
    states = {}
    for step in (0, 1.001, 10):
        clock.advance(step)
        body = api.get(f"write/{job8}", bulk=True).json()
        states[body["status"]] = body
    assert set(states) == {"ADDED", "INPROGRESS", "COMPLETED"}
    completed = v8_response("getBulkWriteJobDetails", "BulkWriteJobDetailsResponse")["body"]
    assert_same_keys(completed, states["COMPLETED"], subset=True)
    for caption, state in [("Sample response for job \"Added\"", "ADDED"),
                           ("Sample response for job \"In Progress\"", "INPROGRESS"),
                           ("Sample response for job \"Completed\"", "COMPLETED")]:
        sample7 = next(e["body"] for e in S["v7"]["Job_Details_363"]["examples"]
                       if e["section"] == caption)
        assert_same_keys(sample7, states[state], subset=True)
    bad_cb = {"operation": "insert", "callback": {"url": "ftp://nowhere"},
              "resource": [{"type": "data", "module": {"api_name": "Leads"}, "file_id": "1"}]}
    assert_same_error(v8_response("createBulkWriteJob", "InvalidCallbackUrlError"),
                      api.post("write", bulk=True, json=bad_cb))


# ---------------------------------------------------------------------- v8 getRecords
def test_v8_get_records_examples(server: SandboxServer, api: Api, clock: ManualClock,
                                 monkeypatch: pytest.MonkeyPatch) -> None:
    r = api.get("Leads", params={"fields": "Owner,Company,First_Name,Last_Name,Email,Phone,"
                                           "Lead_Status,Created_Time,Modified_Time",
                                 "per_page": 5})
    sample = v8_response("getRecords", "Leads")
    assert r.status_code == 200
    assert_same_keys(sample["body"], r.json())
    assert_same_error(v8_response("getRecords", "InvalidData"),
                      api.get("Leadz", params={"fields": "Last_Name"}))
    assert_same_error(v8_response("getRecords", "InvalidCvid"),
                      api.get("Leads", params={"fields": "Last_Name", "cvid": "1"}))
    assert_same_error(v8_response("getRecords", "RequiredParamMissing"), api.get("Leads"))
    assert_same_error(v8_response("getRecords", "LimitExceeded"),
                      api.get("Leads", params={"fields": ",".join(
                          server.get_record("Leads", server.ids("Leads")[0]))}))
    assert_same_error(v8_response("getRecords", "DiscretePaginationLimitExceeded"),
                      api.get("Leads", params={"fields": "Last_Name", "page": 21,
                                               "per_page": 100}))
    token = r.json()["info"]["next_page_token"]
    assert_same_error(v8_response("getRecords", "TokenBoundDataMismatch"),
                      api.get("Leads", params={"fields": "Email", "per_page": 5,
                                               "page_token": token}))
    assert_same_error(v8_response("getRecords", "InvalidUrlPattern"),
                      api.get("/crm/v8/Leads/a/b/c"))
    from crmframe.sandbox import api_records
    monkeypatch.setattr(api_records, "TOKEN_LIMIT", 5)
    assert_same_error(v8_response("getRecords", "PaginationLimitExceeded"),
                      api.get("Leads", params={
                          "fields": "Owner,Company,First_Name,Last_Name,Email,Phone,"
                                    "Lead_Status,Created_Time,Modified_Time",
                          "per_page": 5, "page_token": token}))
    clock.advance(86_401)
    api.refresh()
    assert_same_error(v8_response("getRecords", "ExpiredValue"),
                      api.get("Leads", params={
                          "fields": "Owner,Company,First_Name,Last_Name,Email,Phone,"
                                    "Lead_Status,Created_Time,Modified_Time",
                          "per_page": 5, "page_token": token}))


def test_v8_internal_error_example() -> None:
    with start(records=5, failure_rate=1.0) as server:
        api = Api(server)
        try:
            assert_same_error(v8_response("getRecords", "InternalError"),
                              api.get("Leads", params={"fields": "Last_Name"}))
            assert_same_error(v8_response("updateRecords", "InternalError"),
                              api.put("Leads", json={"data": [{"id": "1"}]}))
        finally:
            api.close()


# ---------------------------------------------------------------------- v8 updateRecords
def test_v8_update_records_examples(server: SandboxServer, api: Api) -> None:
    a, b = _plain(server, 2)
    assert_same_items(v8_response("updateRecords", "Success"),
                      api.put("Leads", json={"data": [{"id": a, "Company": "ABC"}]}))
    assert_same_items(v8_response("updateRecords", "MixedResults"),
                      api.put("Leads", json={"data": [{"id": a, "Company": "ABC"},
                                                      {"id": b, "Last_Nam": "x"}]}))
    sample = v8_response("updateRecords", "InvalidDataType")
    r = api.put("Leads", json={"data": [{"id": a, "Custom_Int_1": "x"}]})
    assert_same_items(sample, r)
    sample = v8_response("updateRecords", "InvalidDataLength")
    assert_same_items(sample, api.put("Leads", json={"data": [{"id": a, "Zip_Code": "9" * 31}]}))
    assert_same_error(v8_response("updateRecords", "InvalidModule"),
                      api.put("Leadz", json={"data": [{"id": a}]}))
    # v8's example wraps INVALID_REQUEST_METHOD in data[]; the sandbox answers the seeds'
    # top-level shape on every version (a whole-request error), same code and status.
    sample = v8_response("updateRecords", "InvalidRequestMethod")
    r = api.session.request("COPY", api.url("Leads"))
    assert r.status_code == sample["http_status"]
    assert r.json()["code"] == sample["body"]["data"][0]["code"]
    assert_same_error(v8_response("updateRecords", "RecordLockedError"),
                      api.put("Leads", json={"data": [{"id": _flagged(server, "locked"),
                                                       "City": "x"}]}))
    assert_same_error(v8_response("updateRecords", "LimitExceededError"),
                      api.put("Leads", json={"data": [{"id": a}] * 101}))
    assert_same_error(v8_response("updateRecords", "InvalidUrlPattern"),
                      api.put("/crm/v8/Leads/1/2/3", json={}))
    mobile = server.get_record("Leads", a)["Mobile"]
    sample = v8_response("updateRecords", "DuplicateDataError")
    r = api.put("Leads", json={"data": [{"id": b, "Mobile": mobile}]})
    assert r.status_code == sample["http_status"]
    got = r.json()["data"][0]
    assert (got["code"], got["message"]) == (sample["body"]["data"][0]["code"],
                                             sample["body"]["data"][0]["message"])
    assert_same_keys(sample["body"]["data"][0], got, subset=True)
    assert set(got["details"]) == set(sample["body"]["data"][0]["details"])
    # NOT_APPROVED: same code, message and status; details follow seed 003 ({"id"}).
    sample = v8_response("updateRecords", "NotApprovedError")
    r = api.put("Leads", json={"data": [{"id": _flagged(server, "not_approved"), "City": "x"}]})
    assert r.status_code == sample["http_status"]
    got = r.json()["data"][0]
    assert (got["code"], got["message"], got["status"]) == (
        "NOT_APPROVED", sample["body"]["data"][0]["message"], "error")


# ---------------------------------------------------------------------- v8 massUpdateRecords
def test_v8_mass_update_examples(server: SandboxServer, api: Api) -> None:
    a, b = _plain(server, 2)
    url = "Leads/actions/mass_update"
    assert_same_items(v8_response("massUpdateRecords", "SuccessfulMassUpdate"),
                      api.post(url, json={"data": [{"City": "Estancia"}], "ids": [a]}))
    assert_same_items(v8_response("massUpdateRecords", "PartialMassUpdate"),
                      api.post(url, json={"data": [{"City": "Estancia"}],
                                          "ids": [a, b, _flagged(server, "locked")]}))
    assert_same_error(v8_response("massUpdateRecords", "NoRecordsFound"),
                      api.post(url, json={"data": [{"City": "Estancia"}],
                                          "ids": ["19901170000358080"]}))
    assert_same_error(v8_response("massUpdateRecords", "MandatoryFieldMissing"),
                      api.post(url, json={"data": [{"City": "Estancia"}]}))


# ---------------------------------------------------------------------- v7 bulk read & COQL
def test_v7_bulk_read_and_coql_shapes(server: SandboxServer, api: Api,
                                      clock: ManualClock) -> None:
    views = api.get("settings/custom_views", params={"module": "Leads"}).json()["custom_views"]
    r = api.post("read", bulk=True, json={"query": {
        "module": {"api_name": "Leads"}, "fields": ["Last_Name", "Owner.last_name"],
        "cvid": views[0]["id"],
        "criteria": {"group_operator": "and", "group": [
            {"field": {"api_name": "Last_Name"}, "comparator": "equal", "value": "Martin"},
            {"field": {"api_name": "Email_Opt_Out"}, "comparator": "equal", "value": False}]}}})
    sample = v7_example("Create_Bulk_Read_job_367", "Sample response")
    assert_same_keys(sample, r.json())
    assert r.json()["data"][0]["code"] == sample["data"][0]["code"]
    job_id = r.json()["data"][0]["details"]["id"]
    clock.advance(60)
    status = api.get(f"read/{job_id}", bulk=True).json()
    completed = next(e["body"] for e in S["v7"]["Status_of_the_Bulk_Read_Job_368"]["examples"]
                     if e["section"].endswith("Job Completed"))
    assert status["data"][0]["state"] == "COMPLETED"
    assert_same_keys(completed, status, subset=True)
    assert set(status["data"][0]["result"]) == set(completed["data"][0]["result"])
    coql = v7_example("Records_through_a_COQL_Query_381", "Sample Response")
    r = api.post("coql", json={"select_query": "select First_Name, Last_Name, Full_Name, "
                                               "Languages_Known, Lead_Source from Leads where "
                                               "id is not null limit 2"})
    assert_same_keys(coql, r.json())


def test_v7_custom_views_and_count_shapes(api: Api) -> None:
    views = api.get("settings/custom_views", params={"module": "Leads"}).json()
    sample = v7_example("Custom_View_52", "Sample Response")
    assert_same_keys(sample["custom_views"][0], views["custom_views"][0], subset=True)
    count = api.get("Leads/actions/count").json()
    assert_same_keys(v7_example("Record_Count_in_a_Module_163", "Sample Response"), count)
