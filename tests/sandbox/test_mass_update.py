"""Mass update by ids (immediate) and by custom view (a job that advances with time)."""

from __future__ import annotations

import pytest

from crmframe.sandbox import ManualClock, SandboxServer

from .helpers import Api

pytestmark = pytest.mark.sandbox


def _plain(server: SandboxServer, module: str, n: int) -> list[str]:
    flagged = server.flagged(module)
    return [i for i in server.ids(module) if i not in flagged][:n]


def test_mass_update_by_ids(server: SandboxServer, api: Api) -> None:
    ids = _plain(server, "Leads", 3)
    r = api.post("Leads/actions/mass_update", json={"data": [{"No_of_Employees": 1000}],
                                                   "over_write": True, "ids": ids})
    assert r.status_code == 200
    data = r.json()["data"]
    assert [d["code"] for d in data] == ["SUCCESS"] * 3
    assert [d["details"]["id"] for d in data] == ids
    assert all(server.get_record("Leads", i)["No_of_Employees"] == 1000 for i in ids)


def test_mass_update_mixed_with_locked_and_bad_ids(server: SandboxServer, api: Api) -> None:
    ok = _plain(server, "Leads", 1)
    locked = next(i for i, f in server.flagged("Leads").items() if f == "locked")
    r = api.post("Leads/actions/mass_update", json={"data": [{"Rating": "Active"}],
                                                   "ids": [*ok, locked, "4876876000999999999"]})
    assert r.status_code == 207
    data = r.json()["data"]
    assert data[1] == {"code": "RECORD_LOCKED",
                       "details": {"action": "record_locking", "id": locked},
                       "message": "Sorry, you cannot perform this operation as the record is "
                                  "locked.", "status": "error"}
    assert data[2] == {"code": "INVALID_DATA", "details": {"id": "4876876000999999999"},
                       "message": "the id given seems to be invalid", "status": "error"}


def test_multiselect_adds_unless_over_write(server: SandboxServer, api: Api) -> None:
    rid = _plain(server, "Leads", 1)[0]
    api.put("Leads", json={"data": [{"id": rid, "Languages_Known": ["English"]}]})
    api.post("Leads/actions/mass_update", json={"data": [{"Languages_Known": ["Tamil"]}],
                                               "ids": [rid]})
    assert server.get_record("Leads", rid)["Languages_Known"] == ["English", "Tamil"]
    api.post("Leads/actions/mass_update", json={"data": [{"Languages_Known": ["Hindi"]}],
                                               "ids": [rid], "over_write": True})
    assert server.get_record("Leads", rid)["Languages_Known"] == ["Hindi"]


def test_mass_update_refusals_v8(server: SandboxServer, api: Api) -> None:
    ids = _plain(server, "Leads", 2)
    cases = [
        ({"data": [{}], "ids": ids}, {"code": "INVALID_DATA", "details": {},
                                      "message": "No field found", "status": "error"}),
        ({"data": [{"Email": "a@b.co"}], "ids": ids},
         {"code": "INVALID_DATA", "details": {"api_name": "Email"},
          "message": "This field cannot be updated in the Mass Update", "status": "error"}),
        ({"data": [{"City": "A", "State": "B"}], "ids": ids},
         {"code": "INVALID_DATA", "details": {"limit": 1}, "message": "Max field limit exceeded",
          "status": "error"}),
        ({"data": [{"City": "A"}]}, {"code": "MANDATORY_NOT_FOUND", "details": {},
                                     "message": "required field not found", "status": "error"}),
    ]
    for body, expected in cases:
        r = api.post("Leads/actions/mass_update", json=body)
        assert r.status_code == 400, body
        assert r.json() == {"data": [expected]}
    r = api.post("Leads/actions/mass_update",
                 json={"data": [{"No_of_Employees": "many"}], "ids": ids})
    assert r.json()["data"][0]["details"]["expected_data_type"] == "integer"
    r = api.post("Leads/actions/mass_update", json={"data": [{"City": "A"}],
                                                   "ids": [str(n) for n in range(501)]})
    assert r.json()["data"][0]["code"] == "LIMIT_EXCEEDED"


def test_mass_update_v2_answers_200_like_seed_004(api2: Api) -> None:
    r = api2.post("Leads/actions/mass_update", json={"data": [{}], "ids": ["1"]})
    assert r.status_code == 200
    assert r.json()["data"][0]["message"] == "No field found"


def test_deals_allow_three_fields(server: SandboxServer, api: Api) -> None:
    ids = _plain(server, "Deals", 2)
    r = api.post("Deals/actions/mass_update",
                 json={"data": [{"Stage": "Negotiation/Review", "Probability": 80,
                                 "Next_Step": "Sign"}], "ids": ids})
    assert r.status_code == 200, r.text
    assert server.get_record("Deals", ids[0])["Stage"] == "Negotiation/Review"


def test_cvid_job_lifecycle(server: SandboxServer, api: Api, clock: ManualClock) -> None:
    views = api.get("settings/custom_views", params={"module": "Leads"}).json()["custom_views"]
    all_view = next(v for v in views if v["name"] == "All Leads")
    r = api.post("Leads/actions/mass_update", json={"data": [{"Segment": "SMB"}],
                                                   "cvid": all_view["id"]})
    assert r.status_code == 202
    item = r.json()["data"][0]
    assert item["message"] == "mass update scheduled successfully"
    job_id = item["details"]["job_id"]

    def status() -> dict[str, int | str]:
        r = api.get("Leads/actions/mass_update", params={"job_id": job_id})
        assert r.status_code == 200
        data = r.json()["data"]
        assert len(data) == 1
        assert set(data[0]) == {"Status", "Failed_Count", "Updated_Count", "Not_Updated_Count",
                                "Total_Count"}
        return data[0]  # type: ignore[no-any-return]

    s = status()
    assert s == {"Status": "SCHEDULED", "Failed_Count": 0, "Updated_Count": 0,
                 "Not_Updated_Count": 300, "Total_Count": 300}
    r = api.post("Leads/actions/mass_update", json={"data": [{"Segment": "SMB"}],
                                                   "cvid": all_view["id"]})
    assert r.status_code == 202
    assert r.json()["data"][0]["code"] == "ALREADY_SCHEDULED"
    clock.advance(2.0)  # 1 s scheduled, then 100 records/s
    s = status()
    assert s["Status"] == "RUNNING"
    assert s["Updated_Count"] + s["Failed_Count"] == 100
    assert s["Not_Updated_Count"] == 200
    clock.advance(10)
    s = status()
    assert s["Status"] == "COMPLETED"
    assert s["Failed_Count"] == 4  # the seeded locked / unapproved Leads
    assert s["Updated_Count"] == 296
    assert s["Not_Updated_Count"] == 0
    assert server.get_record("Leads", _plain(server, "Leads", 1)[0])["Segment"] == "SMB"


def test_cvid_job_that_fails_every_record(server: SandboxServer, api: Api,
                                          clock: ManualClock) -> None:
    views = api.get("settings/custom_views", params={"module": "Leads"}).json()["custom_views"]
    paris = next(v for v in views if v["name"] == "Leads in Paris")
    for rid in server.ids("Leads"):
        if server.get_record("Leads", rid)["City"] == "Paris":
            server.flag("Leads", rid, locked=True)
    r = api.post("Leads/actions/mass_update", json={"data": [{"Rating": "Active"}],
                                                   "cvid": paris["id"]})
    job_id = r.json()["data"][0]["details"]["job_id"]
    clock.advance(100)
    s = api.get("Leads/actions/mass_update", params={"job_id": job_id}).json()["data"][0]
    assert s["Status"] == "FAILED"
    assert s["Failed_Count"] == s["Total_Count"] > 0


def test_mass_update_status_errors(api: Api) -> None:
    r = api.get("Leads/actions/mass_update", params={"job_id": "4876876000999999999"})
    assert r.status_code == 404
    assert r.json()["code"] == "NOT_FOUND"
    r = api.get("Leads/actions/mass_update", params={"job_id": "abc"})
    assert r.status_code == 400
    assert r.json() == {"code": "INVALID_DATA", "details": {"param_name": "job_id"},
                        "message": "The jobid given seems to be invalid", "status": "error"}
    r = api.get("Leads/actions/mass_update")
    assert r.status_code == 400
    assert r.json()["code"] == "MANDATORY_NOT_FOUND"
