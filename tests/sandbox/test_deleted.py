"""Deletes and the deletion log (``GET /{module}/deleted``), inserts' duplicates, and bulk
writes that find lookups and records by unique fields and set the layout by default."""

from __future__ import annotations

import csv
import io
import zipfile
from typing import Any

import pytest

from crmframe.sandbox import ManualClock, SandboxServer, start

from .helpers import Api

pytestmark = pytest.mark.sandbox

DAY = 86_400.0
ORG_ZGID = "700000001"


def _plain(server: SandboxServer, n: int) -> list[str]:
    flagged = server.flagged("Leads")
    return [i for i in server.ids("Leads") if i not in flagged][:n]


def _delete(api: Api, ids: list[str]) -> Any:
    return api.session.delete(api.url("Leads"), params={"ids": ",".join(ids)}, timeout=30)


def test_deleted_lists_what_was_deleted_latest_first(server: SandboxServer, api: Api,
                                                     clock: ManualClock) -> None:
    assert api.get("Leads/deleted").status_code == 204  # nothing deleted yet
    a, b, c = _plain(server, 3)
    names = {i: server.get_record("Leads", i)["Full_Name"] for i in (a, b, c)}
    assert _delete(api, [a, b]).status_code == 200
    clock.advance(5)
    assert _delete(api, [c]).status_code == 200
    r = api.get("Leads/deleted")
    assert r.status_code == 200
    body = r.json()
    # latest first; one request's deletions by id, descending
    assert [d["id"] for d in body["data"]] == [c, b, a]
    first = body["data"][0]
    assert set(first) == {"id", "display_name", "type", "deleted_time", "deleted_by",
                          "created_by"}
    assert first["type"] == "recycle"
    assert first["display_name"] == names[c]
    assert first["deleted_by"]["name"] == "Patricia Boyle"
    assert first["created_by"]["id"]
    assert body["info"] == {"per_page": 200, "count": 3, "page": 1, "more_records": False}
    # paging as documented
    r = api.get("Leads/deleted", params={"per_page": 2})
    assert r.json()["info"] == {"per_page": 2, "count": 2, "page": 1, "more_records": True}
    r = api.get("Leads/deleted", params={"per_page": 2, "page": 2})
    assert [d["id"] for d in r.json()["data"]] == [body["data"][2]["id"]]
    assert api.get("Leads/deleted", params={"per_page": 2, "page": 3}).status_code == 204
    # types
    assert api.get("Leads/deleted", params={"type": "permanent"}).status_code == 204
    assert len(api.get("Leads/deleted", params={"type": "recycle"}).json()["data"]) == 3
    r = api.get("Leads/deleted", params={"type": "gone"})
    assert (r.status_code, r.json()["code"]) == (400, "PATTERN_NOT_MATCHED")
    # If-Modified-Since keeps the later deletion only
    since = first["deleted_time"]
    r = api.get("Leads/deleted", headers={"If-Modified-Since": since})
    assert [d["id"] for d in r.json()["data"]] == [c]
    # other modules have their own log
    assert api.get("Contacts/deleted").status_code == 204
    assert api.get("Nope/deleted").json()["code"] == "INVALID_MODULE"


def test_purged_deletions_are_permanent_and_expire(server: SandboxServer, api: Api,
                                                   clock: ManualClock) -> None:
    a, b = _plain(server, 2)
    assert _delete(api, [a, b]).status_code == 200
    assert server.purge("Leads", [a]) == 1
    perm = api.get("Leads/deleted", params={"type": "permanent"}).json()["data"]
    assert perm == [{"id": a, "display_name": None, "type": "permanent",
                     "deleted_time": perm[0]["deleted_time"], "deleted_by": None,
                     "created_by": None}]
    assert [d["id"] for d in api.get("Leads/deleted", params={"type": "recycle"})
            .json()["data"]] == [b]
    clock.advance(61 * DAY)  # recycle entries are listed 60 days, permanent ones 120
    api.refresh()
    assert [d["id"] for d in api.get("Leads/deleted").json()["data"]] == [a]
    clock.advance(60 * DAY)
    api.refresh()
    assert api.get("Leads/deleted").status_code == 204


def test_deletion_log_survives_a_restart(tmp_path: Any) -> None:
    db = str(tmp_path / "sandbox.db")
    with start(records=50, db=db, flag_records=False) as srv:
        api = Api(srv)
        rid = srv.ids("Leads")[0]
        assert _delete(api, [rid]).status_code == 200
        api.close()
    with start(records=50, db=db) as srv:
        api = Api(srv)
        assert [d["id"] for d in api.get("Leads/deleted").json()["data"]] == [rid]
        api.close()


def test_insert_duplicate_carries_the_existing_record(server: SandboxServer, api: Api) -> None:
    (a,) = _plain(server, 1)
    mobile = server.get_record("Leads", a)["Mobile"]
    r = api.post("Leads", json={"data": [{"Last_Name": "New", "Mobile": "+1 777 123"},
                                         {"Last_Name": "Dup", "Mobile": mobile}]})
    assert r.status_code == 207
    ok, dup = r.json()["data"]
    assert ok["message"] == "record added"
    assert dup["code"] == "DUPLICATE_DATA"
    assert dup["details"]["api_name"] == "Mobile"
    assert dup["details"]["json_path"] == "$.data[1].Mobile"
    assert dup["details"]["duplicate_record"]["id"] == a
    assert dup["details"]["duplicate_record"]["module"]["api_name"] == "Leads"


def _zip(rows: list[list[str]]) -> bytes:
    text = io.StringIO()
    csv.writer(text, lineterminator="\n").writerows(rows)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("leads.csv", text.getvalue())
    return out.getvalue()


def _job(api: Api, clock: ManualClock, rows: list[list[str]], operation: str,
         mappings: list[dict[str, Any]] | None, find_by: str | None = None) -> dict[str, Any]:
    up = api.post("upload", files={"file": ("leads.zip", _zip(rows), "application/zip")},
                  headers={"feature": "bulk-write", "X-CRM-ORG": ORG_ZGID})
    resource: dict[str, Any] = {"type": "data", "module": {"api_name": "Leads"},
                                "file_id": up.json()["details"]["file_id"]}
    if mappings is not None:
        resource["field_mappings"] = mappings
    if find_by is not None:
        resource["find_by"] = find_by
    r = api.post("write", bulk=True, json={"operation": operation, "ignore_empty": True,
                                           "resource": [resource]})
    assert r.status_code == 201, r.text
    clock.advance(60)
    j = api.get(f"write/{r.json()['details']['id']}", bulk=True).json()
    assert j["status"] == "COMPLETED"
    out = api.get(j["result"]["download_url"]).content
    with zipfile.ZipFile(io.BytesIO(out)) as zf:
        (name,) = zf.namelist()
        j["rows"] = list(csv.DictReader(io.StringIO(zf.read(name).decode())))
    return j


def test_bulk_insert_lookups_by_unique_fields_and_layout_by_default(
        server: SandboxServer, api: Api, clock: ManualClock) -> None:
    account_id = server.ids("Accounts")[0]
    account = server.get_record("Accounts", account_id)["Account_Name"]
    rows = [["Last_Name", "Owner", "Referred_Account", "Date_3"],
            ["One", "theo.martin@sandbox.crmframe.test", account, "2024/02/29"],
            ["Two", "nobody@example.com", account, "2024/03/01"],
            ["Three", "", "No Such Account", "2024/03/02"]]
    j = _job(api, clock, rows, "insert", [
        {"api_name": "Last_Name", "index": 0},
        {"api_name": "Owner", "index": 1, "find_by": "email"},
        {"api_name": "Referred_Account", "index": 2, "find_by": "Account_Name"},
        {"api_name": "Date_3", "index": 3, "format": "yyyy/MM/dd"},
        {"api_name": "Layout", "default_value": {"value": "4876876000000000021"}}])
    mapped = j["resource"][0]["field_mappings"]
    assert mapped[1]["find_by"] == "email"
    assert mapped[4]["default_value"] == {"value": "4876876000000000021"}
    assert [r["STATUS"] for r in j["rows"]] == ["added", "skipped", "skipped"]
    assert [r["ERRORS"] for r in j["rows"]] == ["", "INVALID_DATA-Owner",
                                               "INVALID_DATA-Referred_Account"]
    rec = server.get_record("Leads", j["rows"][0]["RECORD_ID"])
    assert rec["Owner"]["email"] == "theo.martin@sandbox.crmframe.test"
    assert rec["Referred_Account"]["id"] == account_id
    assert rec["Date_3"] == "2024-02-29"
    assert rec["Layout"]["id"] == "4876876000000000021"


def test_bulk_upsert_and_insert_by_email(server: SandboxServer, api: Api,
                                         clock: ManualClock) -> None:
    a, b = _plain(server, 2)
    emails = [server.get_record("Leads", i)["Email"] for i in (a, b)]
    rows = [["Email", "Last_Name"], [emails[0].upper(), "Matched"], [emails[1], "Also"],
            ["fresh@example.com", "Fresh"]]
    j = _job(api, clock, rows, "upsert", None, find_by="Email")
    assert [r["STATUS"] for r in j["rows"]] == ["updated", "updated", "added"]
    assert [r["RECORD_ID"] for r in j["rows"][:2]] == [a, b]
    assert server.get_record("Leads", a)["Last_Name"] == "Matched"
    f = j["resource"][0]["file"]
    assert (f["added_count"], f["updated_count"]) == (1, 2)
    # insert with find_by: rows matching a record are skipped
    j = _job(api, clock, [["Email", "Last_Name"], [emails[0], "Again"], ["other@x.org", "N"]],
             "insert", None, find_by="Email")
    assert [r["STATUS"] for r in j["rows"]] == ["skipped", "added"]
    assert j["rows"][0]["ERRORS"] == "DUPLICATE_DATA-Email"


def test_bulk_write_limits(server: SandboxServer, api: Api) -> None:
    up = api.post("upload", files={"file": ("l.zip", _zip([["Last_Name"]] + [["x"]] * 25_001),
                                            "application/zip")},
                  headers={"feature": "bulk-write", "X-CRM-ORG": ORG_ZGID})
    res = {"type": "data", "module": {"api_name": "Leads"},
           "file_id": up.json()["details"]["file_id"]}
    r = api.post("write", bulk=True, json={"operation": "insert", "resource": [res]})
    assert (r.status_code, r.json()["code"]) == (400, "LIMIT_EXCEEDED")
    header = ["Last_Name"] + [f"C{i}" for i in range(200)]
    up = api.post("upload", files={"file": ("l.zip", _zip([header, ["x"] * 201]),
                                            "application/zip")},
                  headers={"feature": "bulk-write", "X-CRM-ORG": ORG_ZGID})
    res["file_id"] = up.json()["details"]["file_id"]
    maps = [{"api_name": "Last_Name", "index": i} for i in range(201)]
    r = api.post("write", bulk=True, json={"operation": "insert",
                                           "resource": [dict(res, field_mappings=maps)]})
    assert (r.status_code, r.json()["code"]) == (400, "HEADER_LIMIT_EXCEEDED")
