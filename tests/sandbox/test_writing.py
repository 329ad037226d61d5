"""Inserting and updating records: per-record results, statuses and whole-request errors."""

from __future__ import annotations

from typing import Any

import pytest

from crmframe.sandbox import ManualClock, SandboxServer

from .helpers import Api

pytestmark = pytest.mark.sandbox

SUCCESS_DETAILS = {"Modified_Time", "Modified_By", "Created_Time", "id", "Created_By"}


def _put(api: Api, *items: dict[str, Any]) -> tuple[int, list[dict[str, Any]]]:
    r = api.put("Leads", json={"data": list(items)})
    return r.status_code, r.json()["data"]


def _plain(server: SandboxServer, n: int = 3) -> list[str]:
    flagged = server.flagged("Leads")
    return [i for i in server.ids("Leads") if i not in flagged][:n]


def test_update_success_shape_and_modified_time(server: SandboxServer, api: Api,
                                                clock: ManualClock) -> None:
    rid = _plain(server, 1)[0]
    before = server.get_record("Leads", rid)
    status, data = _put(api, {"id": rid, "City": "Nantes", "No_of_Employees": 12})
    assert status == 200
    item = data[0]
    assert item["code"] == "SUCCESS"
    assert item["status"] == "success"
    assert item["message"] == "record updated"
    assert set(item["details"]) >= SUCCESS_DETAILS
    assert set(item["details"]["Modified_By"]) == {"name", "id"}
    after = server.get_record("Leads", rid)
    assert after["City"] == "Nantes"
    assert after["No_of_Employees"] == 12
    assert after["Modified_Time"] != before["Modified_Time"]
    assert item["details"]["Modified_Time"] == after["Modified_Time"]
    # two updates in the same second still move Modified_Time
    status, data2 = _put(api, {"id": rid, "City": "Rennes"})
    assert data2[0]["details"]["Modified_Time"] > item["details"]["Modified_Time"]


def test_insert_answers_201_and_fills_system_fields(server: SandboxServer, api: Api) -> None:
    r = api.post("Leads", json={"data": [{"Last_Name": "Newman", "First_Name": "Ada",
                                          "Annual_Revenue": 1234.567}]})
    assert r.status_code == 201
    item = r.json()["data"][0]
    assert item["message"] == "record added"
    rec = server.get_record("Leads", item["details"]["id"])
    assert rec["Full_Name"] == "Ada Newman"
    assert rec["Annual_Revenue"] == 1234.57  # decimal_place 2
    assert rec["Owner"]["id"] == rec["Created_By"]["id"]
    assert rec["Lead_Number"].startswith("LD-")
    assert len(item["details"]["id"]) == 19


@pytest.mark.parametrize(("field", "value", "expected"), [
    ("No_of_Employees", "twelve", "integer"),
    ("No_of_Employees", 1.5, "integer"),
    ("No_of_Employees", True, "integer"),
    ("Last_Name", 42, "text"),
    ("Annual_Revenue", "100", "currency"),
    ("Email_Opt_Out", "false", "boolean"),
    ("Email", "not-an-email", "email"),
    ("Lead_Status", "Sleeping", "picklist"),
    ("Date_3", "2024/01/31", "date"),
    ("Last_Contacted", "2024-01-31T10:00:00.000Z", "datetime"),
    ("Last_Contacted", "2024-01-31T10:00:00Z", "datetime"),
    ("Last_Contacted", "2024-01-31 10:00:00+05:30", "datetime"),
    ("Languages_Known", "English", "multiselectpicklist"),
    ("Languages_Known", ["Klingon"], "multiselectpicklist"),
    ("Referred_Account", {"id": "4876876000999999999"}, "lookup"),
    ("Owner", {"id": "123"}, "ownerlookup"),
    ("External_Ref", "12ab", "bigint"),
    # Zoho's v8 spec (record.json Record.Tag) and its SDK (Record.set_tag) give tag
    # objects; plain names used to be accepted
    ("Tag", ["hot"], "jsonarray"),
    ("Tag", "hot", "jsonarray"),
])
def test_invalid_data_per_type(server: SandboxServer, api: Api, field: str, value: Any,
                               expected: str) -> None:
    rid = _plain(server, 1)[0]
    status, data = _put(api, {"id": rid, field: value})
    assert status == 400
    item = data[0]
    assert item["code"] == "INVALID_DATA"
    assert item["message"] == "invalid data"
    assert item["details"]["api_name"] == field
    assert item["details"]["expected_data_type"] == expected
    assert item["details"]["json_path"] == f"$.data[0].{field}"


def test_too_long_unknown_and_read_only(server: SandboxServer, api: Api) -> None:
    rid = _plain(server, 1)[0]
    _, data = _put(api, {"id": rid, "First_Name": "x" * 41})
    assert data[0]["details"] == {"api_name": "First_Name", "json_path": "$.data[0].First_Name",
                                  "maximum_length": 40}
    _, data = _put(api, {"id": rid, "Not_A_Field": 1})
    assert data[0]["code"] == "INVALID_DATA"
    assert data[0]["message"] == "the field api name given seems to be invalid"
    for field, value in [("Created_Time", "2024-01-01T00:00:00+00:00"), ("Lead_Number", "X"),
                         ("Revenue_per_Employee", 1.0), ("Full_Name", "A B")]:
        _, data = _put(api, {"id": rid, field: value})
        assert data[0]["code"] == "INVALID_DATA", field
        assert data[0]["details"]["api_name"] == field
    # $-keys are ignored (they are what a GET returned)
    status, data = _put(api, {"id": rid, "$approved": False, "City": "Lille"})
    assert status == 200


def test_valid_writes_of_every_type(server: SandboxServer, api: Api) -> None:
    rid = _plain(server, 1)[0]
    acc = server.ids("Accounts")[0]
    status, data = _put(api, {
        "id": rid, "No_of_Employees": 7, "Annual_Revenue": 10, "Email_Opt_Out": True,
        "Date_3": "2024-02-29", "Last_Contacted": "2024-03-01T10:00:00-07:00",
        "Languages_Known": ["English", "Tamil"], "Referred_Account": {"id": acc},
        "Owner": {"id": "4876876000000000012"}, "External_Ref": "123456789012345678",
        "Tag": [{"name": "hot"}], "Lead_Status": "Contacted", "Salutation": None,
        "Layout": {"id": "4876876000000000021"}, "Score_2": 0.125, "Probability_Score": 55,
    })
    assert status == 200, data
    rec = server.get_record("Leads", rid)
    assert rec["Referred_Account"]["id"] == acc
    assert rec["Referred_Account"]["name"]
    assert rec["Owner"]["name"] == "Theo Martin"
    assert rec["Last_Contacted"] == "2024-03-01T10:00:00-07:00"
    assert rec["Tag"][0]["name"] == "hot"
    assert rec["Revenue_per_Employee"] == round(10 / 7, 2)


def test_mandatory_missing_on_insert_and_blanked_on_update(server: SandboxServer,
                                                            api: Api) -> None:
    r = api.post("Leads", json={"data": [{"First_Name": "NoLast"}]})
    assert r.status_code == 400
    assert r.json()["data"][0] == {"code": "MANDATORY_NOT_FOUND",
                                   "details": {"api_name": "Last_Name",
                                               "json_path": "$.data[0].Last_Name"},
                                   "message": "required field not found", "status": "error"}
    _, data = _put(api, {"id": _plain(server, 1)[0], "Last_Name": None})
    assert data[0]["code"] == "MANDATORY_NOT_FOUND"
    _, data = _put(api, {"City": "NoId"})
    assert data[0]["code"] == "MANDATORY_NOT_FOUND"
    assert data[0]["details"]["api_name"] == "id"


def test_bad_id(api: Api) -> None:
    status, data = _put(api, {"id": "4876876000999999999", "City": "X"})
    assert status == 400
    assert data[0] == {"code": "INVALID_DATA", "details": {"id": "4876876000999999999"},
                       "message": "the id given seems to be invalid", "status": "error"}


def test_duplicate_unique_field(server: SandboxServer, api: Api, api2: Api) -> None:
    a, b = _plain(server, 2)
    mobile = server.get_record("Leads", a)["Mobile"]
    status, data = _put(api, {"id": b, "Mobile": mobile})
    assert status == 400
    d = data[0]["details"]
    assert data[0]["code"] == "DUPLICATE_DATA"
    assert data[0]["message"] == "duplicate data"
    assert d["api_name"] == "Mobile"
    assert d["duplicate_record"]["id"] == a
    assert d["id"] == a
    r = api2.put("Leads", json={"data": [{"id": b, "Mobile": mobile}]})
    assert r.status_code == 202  # v2 (seed 003)
    assert r.json()["data"][0]["details"] == {"api_name": "Mobile", "id": a}
    # swapping two records' values in one request works (no false duplicate)
    mb = server.get_record("Leads", b)["Mobile"]
    status, data = _put(api, {"id": a, "Mobile": "+33 0000"}, {"id": b, "Mobile": mobile})
    assert status == 200, data
    assert server.get_record("Leads", b)["Mobile"] == mobile != mb
    # two inserts with the same value in one request: the second is refused
    r = api.post("Leads", json={"data": [{"Last_Name": "A", "Mobile": "+1 777"},
                                         {"Last_Name": "B", "Mobile": "+1 777"}]})
    assert r.status_code == 207
    assert [x["code"] for x in r.json()["data"]] == ["SUCCESS", "DUPLICATE_DATA"]


def test_locked_and_not_approved(server: SandboxServer, api: Api, api2: Api) -> None:
    flags = server.flagged("Leads")
    locked = next(i for i, f in flags.items() if f == "locked")
    pending = next(i for i, f in flags.items() if f == "not_approved")
    status, data = _put(api, {"id": locked, "City": "X"}, {"id": pending, "City": "Y"})
    assert status == 400
    assert data[0] == {"code": "RECORD_LOCKED",
                       "details": {"api_name": "id", "json_path": "$.data[0].id",
                                   "action": "record_locking"},
                       "message": "Sorry, you cannot perform this operation as the record is "
                                  "locked.", "status": "error"}
    assert data[1]["code"] == "NOT_APPROVED"
    assert data[1]["details"] == {"id": pending}
    r = api2.put(f"Leads/{locked}", json={"data": [{"City": "X"}]})
    assert r.status_code == 202
    assert r.json()["data"][0]["code"] == "RECORD_LOCKED"
    assert server.get_record("Leads", locked)["City"] != "X"


def test_mixed_results_answer_207(server: SandboxServer, api: Api) -> None:
    a, b = _plain(server, 2)
    status, data = _put(api, {"id": a, "City": "Ok"}, {"id": b, "No_of_Employees": "bad"})
    assert status == 207
    assert [d["status"] for d in data] == ["success", "error"]
    assert server.get_record("Leads", a)["City"] == "Ok"
    assert data[1]["details"]["json_path"] == "$.data[1].No_of_Employees"


def test_single_record_put(server: SandboxServer, api: Api) -> None:
    rid = _plain(server, 1)[0]
    r = api.put(f"Leads/{rid}", json={"data": [{"City": "Brest"}]})
    assert r.status_code == 200
    assert server.get_record("Leads", rid)["City"] == "Brest"


def test_whole_request_errors(server: SandboxServer, api: Api, api2: Api) -> None:
    r = api.put("Leads", data=b"[1, 2]", headers={"Content-Type": "application/json"})
    assert r.status_code == 400
    assert r.json() == {"code": "INVALID_DATA", "details": {"expected_data_type": "jsonobject"},
                        "message": "body", "status": "error"}
    r = api.put("Leads", data=b"not json")
    assert r.json()["message"] == "body"
    r = api.put("Leads", json={"data": {"id": "1"}})
    assert r.status_code == 400
    assert r.json()["details"] == {"expected_data_type": "jsonarray", "api_name": "data"}
    r = api.put("Leads", json={"data": [{"id": i} for i in server.ids("Leads")[:101]]})
    assert r.status_code == 400
    assert r.json() == {"data": [{"code": "LIMIT_EXCEEDED",
                                  "details": {"maximum_length": 100, "api_name": "data"},
                                  "message": "count of records in your request exceeds the limit",
                                  "status": "error"}]}
    r = api.put("Nope", json={"data": [{"id": "1"}]})
    assert r.json()["data"][0]["code"] == "INVALID_MODULE"
    r = api2.put("Nope", json={"data": [{"id": "1"}]})
    assert r.json() == {"code": "INVALID_MODULE", "details": {},
                        "message": "the module name given seems to be invalid", "status": "error"}
    r = api.session.request("COPY", api.url("Leads"))
    assert r.status_code == 400
    assert r.json()["code"] == "INVALID_REQUEST_METHOD"
    r = api2.session.request("PATCH", api2.url("Leads"))
    assert r.json()["code"] == "INVALID_REQUEST_METHOD"


def test_writes_on_other_modules(server: SandboxServer, api: Api) -> None:
    acc = server.ids("Accounts")[0]
    r = api.post("Deals", json={"data": [{"Deal_Name": "Big one", "Stage": "Qualification",
                                          "Amount": 1000, "Probability": 50,
                                          "Account_Name": acc}]})
    assert r.status_code == 201, r.text
    deal = server.get_record("Deals", r.json()["data"][0]["details"]["id"])
    assert deal["Expected_Revenue"] == 500.0
    assert deal["Account_Name"]["id"] == acc
    r = api.post("Deals", json={"data": [{"Deal_Name": "No stage"}]})
    assert r.json()["data"][0]["details"]["api_name"] == "Stage"
    r = api.post("Contacts", json={"data": [{"Last_Name": "C", "Account_Name": {"id": acc}}]})
    assert r.status_code == 201


def test_records_written_are_read_back(server: SandboxServer, api: Api) -> None:
    rid = _plain(server, 1)[0]
    _put(api, {"id": rid, "Custom_Text_3": "round trip"})
    r = api.get("Leads", params={"fields": "Custom_Text_3", "ids": rid})
    assert r.json()["data"][0]["Custom_Text_3"] == "round trip"


def test_if_unmodified_since_refuses_records_edited_meanwhile(server: SandboxServer,
                                                             api: Api) -> None:
    a, b = _plain(server, 2)
    read_at = server.get_record("Leads", a)["Modified_Time"]
    later = server.get_record("Leads", b)["Modified_Time"]
    since = max(read_at, later, key=lambda t: t)
    server.touch("Leads", a)  # another user edits a after we read it
    r = api.put("Leads", json={"data": [{"id": a, "City": "Mine"}]},
                headers={"If-Unmodified-Since": since})
    assert r.status_code == 412
    item = r.json()["data"][0]
    assert item["code"] == "ALREADY_MODIFIED"
    assert set(item["details"]) == {"Modified_Time", "Created_Time", "id", "Modified_By",
                                    "Created_By"}
    assert server.get_record("Leads", a)["City"] != "Mine"
    r = api.put("Leads", json={"data": [{"id": a, "City": "Mine"}, {"id": b, "City": "Ok"}]},
                headers={"If-Unmodified-Since": "2030-01-01T00:00:00+00:00"})
    assert r.status_code == 200


def test_delete_records(server: SandboxServer, api: Api, api2: Api) -> None:
    a, b = _plain(server, 2)
    locked = next(i for i, f in server.flagged("Leads").items() if f == "locked")
    r = api.session.delete(api.url("Leads"), params={"ids": f"{a},{locked},4876876000999999999"})
    assert r.status_code == 207
    data = r.json()["data"]
    assert data[0] == {"code": "SUCCESS", "details": {"id": a}, "message": "record deleted",
                       "status": "success"}
    assert [d["code"] for d in data[1:]] == ["RECORD_LOCKED", "INVALID_DATA"]
    assert a not in server.ids("Leads")
    assert api.get(f"Leads/{a}").status_code == 204
    mobile = server.get_record("Leads", b)["Mobile"]
    r = api2.session.delete(api2.url(f"Leads/{b}"))
    assert r.status_code == 200
    # the unique value is free again
    r = api.post("Leads", json={"data": [{"Last_Name": "Reuse", "Mobile": mobile}]})
    assert r.status_code == 201
    r = api.session.delete(api.url("Leads"))
    assert r.json()["code"] == "REQUIRED_PARAM_MISSING"


def test_deleting_a_record_already_deleted_is_record_not_deleted(server: SandboxServer,
                                                               api: Api, api2: Api) -> None:
    # Zoho's Delete Records page: INVALID_DATA "record not deleted" (400) for a record
    # already deleted; the sandbox answered "the id given seems to be invalid"
    a, b = _plain(server, 2)
    assert api2.session.delete(api2.url(f"Leads/{a}")).status_code == 200  # a colleague
    r = api.session.delete(api.url(f"Leads/{a}"))
    assert r.status_code == 400
    assert r.json() == {"data": [{"code": "INVALID_DATA", "details": {"id": a},
                                  "message": "record not deleted", "status": "error"}]}
    r = api.session.delete(api.url("Leads"), params={"ids": f"{b},{b}"})
    assert r.status_code == 207
    assert [d["message"] for d in r.json()["data"]] == ["record deleted", "record not deleted"]


def test_upsert_updates_matches_and_inserts_the_rest(server: SandboxServer, api: Api) -> None:
    a = _plain(server, 1)[0]
    rec = server.get_record("Leads", a)
    r = api.post("Leads/upsert", json={"data": [
        {"Last_Name": "Upd", "Mobile": rec["Mobile"]},
        {"Last_Name": "Brand New", "Mobile": "+1 999 888"},
        {"id": a, "City": "ById"}]})
    assert r.status_code == 201
    data = r.json()["data"]
    assert [(d["action"], d["duplicate_field"]) for d in data] == [
        ("update", "Mobile"), ("insert", None), ("update", None)]
    assert data[0]["details"]["id"] == a
    after = server.get_record("Leads", a)
    assert (after["Last_Name"], after["City"]) == ("Upd", "ById")
    r = api.post("Leads/upsert", json={"data": [{"Last_Name": "X", "Email": rec["Email"]}],
                                       "duplicate_check_fields": ["Email"]})
    assert r.status_code == 200
    assert r.json()["data"][0]["details"]["id"] == a
