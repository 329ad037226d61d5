"""Bulk write (upload, job, result zip) and bulk read (job, CSV zip)."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from typing import Any

import pytest

from crmframe.sandbox import ManualClock, SandboxServer

from .helpers import Api

pytestmark = pytest.mark.sandbox

ORG_ZGID = "700000001"


def _zip(rows: list[list[str]], name: str = "leads.csv") -> bytes:
    text = io.StringIO()
    csv.writer(text, lineterminator="\n").writerows(rows)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr(name, text.getvalue())
    return out.getvalue()


def _unzip_csv(data: bytes) -> list[dict[str, str]]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        (name,) = zf.namelist()
        text = zf.read(name).decode("utf-8")
    return list(csv.DictReader(io.StringIO(text)))


def _upload(api: Api, payload: bytes, **headers: str) -> Any:
    hdrs = {"feature": "bulk-write", "X-CRM-ORG": ORG_ZGID, **headers}
    return api.post("upload", files={"file": ("leads.zip", payload, "application/zip")},
                    headers=hdrs)


def test_org_gives_the_zgid(api: Api) -> None:
    assert api.get("org").json()["org"][0]["zgid"] == ORG_ZGID


def test_bulk_insert_full_flow(server: SandboxServer, api: Api, clock: ManualClock) -> None:
    taken = server.get_record("Leads", server.ids("Leads")[0])["Mobile"]
    rows = [["Last_Name", "Mobile", "Date_3", "No_of_Employees", "Owner"]]
    rows += [[f"Bulk {i}", f"+1 600 {i:04d}", f"2024-01-{i % 28 + 1:02d}", str(i),
              "4876876000000000012"] for i in range(150)]
    rows += [["", "+1 601", "2024-01-01", "1", ""],          # mandatory missing
             ["Bad", "+1 602", "31/01/2024", "1", ""],        # date not in the format
             ["Dup", taken, "2024-01-01", "1", ""]]           # duplicate Mobile
    r = _upload(api, _zip(rows))
    assert r.status_code == 200
    up = r.json()
    assert up["code"] == "FILE_UPLOAD_SUCCESS"
    assert up["message"] == "file uploaded."
    file_id = up["details"]["file_id"]
    body = {"operation": "insert", "ignore_empty": True,
            "callback": {"url": "https://example.com/cb", "method": "post"},
            "resource": [{"type": "data", "module": {"api_name": "Leads"}, "file_id": file_id,
                          "field_mappings": [
                              {"api_name": "Last_Name", "index": 0},
                              {"api_name": "Mobile", "index": 1},
                              {"api_name": "Date_3", "index": 2, "format": "yyyy-MM-dd"},
                              {"api_name": "No_of_Employees", "index": 3},
                              {"api_name": "Owner", "index": 4, "find_by": "id"}]}]}
    r = api.post("write", bulk=True, json=body)
    assert r.status_code == 201
    created = r.json()
    assert created["status"] == "success"
    assert created["code"] == "SUCCESS"
    job_id = created["details"]["id"]

    def job() -> dict[str, Any]:
        r = api.get(f"write/{job_id}", bulk=True)
        assert r.status_code == 200
        return r.json()  # type: ignore[no-any-return]

    j = job()
    assert j["status"] == "ADDED"
    assert "result" not in j
    assert j["resource"][0]["file"] == {"status": "INPROGRESS", "name": "leads.csv"}
    clock.advance(2)  # 1 s added, then 100 rows/s
    j = job()
    assert j["status"] == "INPROGRESS"
    assert j["resource"][0]["file"]["total_count"] == 153
    assert 0 < j["resource"][0]["file"]["added_count"] < 153
    clock.advance(10)
    j = job()
    assert j["status"] == "COMPLETED"
    f = j["resource"][0]["file"]
    assert f == {"status": "COMPLETED", "name": "leads.csv", "added_count": 150,
                 "skipped_count": 3, "updated_count": 0, "total_count": 153}
    assert j["operation"] == "insert"
    assert j["callback"]["url"] == "https://example.com/cb"
    result = api.get(j["result"]["download_url"])
    assert result.status_code == 200
    out = _unzip_csv(result.content)
    assert len(out) == 153
    assert list(out[0])[-3:] == ["STATUS", "RECORD_ID", "ERRORS"]
    assert out[0]["STATUS"] == "added"
    assert len(out[0]["RECORD_ID"]) == 19
    assert server.get_record("Leads", out[0]["RECORD_ID"])["Date_3"] == "2024-01-01"
    assert server.get_record("Leads", out[0]["RECORD_ID"])["Owner"]["name"] == "Theo Martin"
    assert [o["ERRORS"] for o in out[-3:]] == ["MANDATORY_NOT_FOUND-Last_Name",
                                               "INVALID_DATA-Date_3", "DUPLICATE_DATA-Mobile"]
    assert {o["STATUS"] for o in out[-3:]} == {"skipped"}
    assert len(server.ids("Leads")) == 450


def test_bulk_update_and_upsert_by_id_and_unique_field(server: SandboxServer, api: Api,
                                                       clock: ManualClock) -> None:
    flagged = server.flagged("Leads")
    ids = [i for i in server.ids("Leads") if i not in flagged][:3]
    rows = [["id", "City", "Last_Contacted"]]
    rows += [[i, "Bulkville", "01/31/2024 10:30:00"] for i in ids]
    rows.append(["4876876000999999999", "Nowhere", ""])
    file_id = _upload(api, _zip(rows)).json()["details"]["file_id"]
    r = api.post("write", bulk=True, json={
        "operation": "update",
        "resource": [{"type": "data", "module": {"api_name": "Leads"}, "file_id": file_id,
                      "find_by": "id"}]})
    assert r.status_code == 201, r.text
    job_id = r.json()["details"]["id"]
    clock.advance(5)
    j = api.get(f"write/{job_id}", bulk=True).json()
    assert j["resource"][0]["file"]["updated_count"] == 3
    assert j["resource"][0]["file"]["skipped_count"] == 1
    rec = server.get_record("Leads", ids[0])
    assert rec["City"] == "Bulkville"
    assert rec["Last_Contacted"] == "2024-01-31T10:30:00+05:30"  # default format, user zone
    out = _unzip_csv(api.get(j["result"]["download_url"]).content)
    assert [o["STATUS"] for o in out] == ["updated"] * 3 + ["skipped"]
    assert out[-1]["ERRORS"] == "RESOURCE_NOT_FOUND-id"

    mobile = server.get_record("Leads", ids[1])["Mobile"]
    rows = [["Mobile", "Last_Name", "Score_2"], [mobile, "Upserted", "1.5"],
            ["+44 999 000", "Brand New", "2"]]
    file_id = _upload(api, _zip(rows)).json()["details"]["file_id"]
    r = api.post("write", bulk=True, json={
        "operation": "upsert",
        "resource": [{"type": "data", "module": {"api_name": "Leads"}, "file_id": file_id,
                      "find_by": "Mobile"}]})
    job_id = r.json()["details"]["id"]
    clock.advance(5)
    f = api.get(f"write/{job_id}", bulk=True).json()["resource"][0]["file"]
    assert (f["added_count"], f["updated_count"]) == (1, 1)
    assert server.get_record("Leads", ids[1])["Last_Name"] == "Upserted"


def test_bulk_write_v2_module_string_and_seed_000_shape(server: SandboxServer, api2: Api,
                                                         clock: ManualClock) -> None:
    rows = [["Last_Name", "Owner", "Date_3", "Mobile", "Layout"],
            ["Boyle", "4876876000000000011", "2021/05/13", "+1 555", "4876876000000000021"]]
    file_id = _upload(api2, _zip(rows)).json()["details"]["file_id"]
    body = {"operation": "insert", "ignore_empty": True, "resource": [{
        "type": "data", "module": "Leads", "file_id": file_id,
        "field_mappings": [{"api_name": "Owner", "index": 1},
                           {"api_name": "Date_3", "index": 2, "format": "yyyy/MM/dd"},
                           {"api_name": "Last_Name", "index": 0},
                           {"api_name": "Layout", "index": 4},
                           {"api_name": "Mobile", "index": 3}]}]}
    r = api2.post("write", bulk=True, json=body)
    assert r.status_code == 201
    job_id = r.json()["details"]["id"]
    clock.advance(1.5)
    j = api2.get(f"write/{job_id}", bulk=True).json()
    assert j["resource"][0]["module"] == "Leads"
    assert [m["api_name"] for m in j["resource"][0]["field_mappings"]] == [
        "Owner", "Date_3", "Last_Name", "Layout", "Mobile"]
    assert set(j["resource"][0]["field_mappings"][0]) == {"api_name", "index", "format",
                                                          "find_by", "module", "default_value"}
    clock.advance(5)
    j = api2.get(f"write/{job_id}", bulk=True).json()
    assert j["resource"][0]["file"]["added_count"] == 1
    body["resource"][0]["module"] = {"api_name": "Leads"}
    assert api2.post("write", bulk=True, json=body).status_code == 400


def test_bulk_write_errors(server: SandboxServer, api: Api) -> None:
    assert _upload(api, b"not a zip").json()["code"] == "INVALID_FILE_FORMAT"
    r = api.post("upload", files={"file": ("a.zip", _zip([["a"]]), "application/zip")})
    assert r.status_code == 400  # no feature / org headers
    r = _upload(api, _zip([["Last_Name"]]), **{"X-CRM-ORG": "1"})
    assert r.status_code == 400
    file_id = _upload(api, _zip([["First_Name"], ["x"]])).json()["details"]["file_id"]
    res = {"type": "data", "module": {"api_name": "Leads"}, "file_id": file_id}
    r = api.post("write", bulk=True, json={"operation": "insert", "resource": [res]})
    assert r.json()["code"] == "MANDATORY_FIELDS_NOT_MAPPED"
    r = api.post("write", bulk=True, json={"operation": "update", "resource": [res]})
    assert r.json()["code"] == "MANDATORY_NOT_FOUND"
    r = api.post("write", bulk=True, json={"operation": "insert",
                                           "resource": [dict(res, file_id="123")]})
    assert r.json()["code"] == "INVALID_FILE_ID"
    r = api.post("write", bulk=True, json={"operation": "insert",
                                           "resource": [dict(res, module="Leads")]})
    assert r.status_code == 400  # v8 wants {"api_name": ...}
    r = api.get("write/4876876000999999999", bulk=True)
    assert r.json() == {"status": "error", "code": "RESOURCE_NOT_FOUND",
                        "message": "The requested resource doesn't exist.", "details": {}}


def test_bulk_read_flow(server: SandboxServer, api: Api, clock: ManualClock) -> None:
    body = {"query": {"module": {"api_name": "Leads"},
                      "fields": ["Last_Name", "City", "Owner", "Owner.last_name",
                                 "Owner.full_name", "Languages_Known", "Email_Opt_Out",
                                 "Created_Time"],
                      "criteria": {"group_operator": "or", "group": [
                          {"field": {"api_name": "City"}, "comparator": "equal",
                           "value": "Paris"},
                          {"field": {"api_name": "City"}, "comparator": "equal",
                           "value": "Lyon"}]}}}
    r = api.post("read", bulk=True, json=body)
    assert r.status_code == 201
    created = r.json()
    item = created["data"][0]
    assert item["code"] == "ADDED_SUCCESSFULLY"
    assert created["info"] == {}
    assert item["details"]["state"] == "ADDED"
    assert item["details"]["operation"] == "read"
    job_id = item["details"]["id"]
    states = []
    for _ in range(4):
        data = api.get(f"read/{job_id}", bulk=True).json()["data"][0]
        states.append(data["state"])
        clock.advance(1)
    assert states[:3] == ["ADDED", "QUEUED", "IN PROGRESS"]
    clock.advance(10)
    data = api.get(f"read/{job_id}", bulk=True).json()["data"][0]
    assert data["state"] == "COMPLETED"
    result = data["result"]
    assert result["per_page"] == 200000
    assert result["more_records"] is False
    assert result["download_url"] == f"/crm/bulk/v8/read/{job_id}/result"
    rows = _unzip_csv(api.get(result["download_url"]).content)
    expected = [i for i in server.ids("Leads")
                if server.get_record("Leads", i)["City"] in ("Paris", "Lyon")]
    assert [row["id"] for row in rows] == expected == sorted(expected)
    first = server.get_record("Leads", expected[0])
    assert rows[0]["Owner"] == first["Owner"]["id"]
    assert rows[0]["Owner.last_name"] == first["Owner"]["name"].split(" ", 1)[1]
    assert rows[0]["Owner.full_name"] == first["Owner"]["name"]  # was empty
    assert rows[0]["Languages_Known"] == ";".join(first["Languages_Known"])
    assert rows[0]["Email_Opt_Out"] in ("true", "false")
    assert rows[0]["Created_Time"] == first["Created_Time"]


def test_bulk_read_errors(api: Api) -> None:
    r = api.post("read", bulk=True, json={"query": {"module": "Leads"}})
    assert r.status_code == 400
    r = api.post("read", bulk=True, json={"query": {"module": {"api_name": "Leads"},
                                                    "fields": ["Nope"]}})
    assert r.json()["code"] == "INVALID_DATA"
    r = api.get("read/4876876000999999999", bulk=True)
    assert r.status_code == 404
    assert r.json()["code"] == "RESOURCE_NOT_FOUND"


class _Receiver:
    """A loopback HTTP endpoint that records the callbacks it receives."""

    def __init__(self) -> None:
        import http.server
        import threading

        self.bodies: list[dict[str, Any]] = []
        self.got = threading.Event()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers["Content-Length"])
                outer.bodies.append(json.loads(self.rfile.read(length)))
                self.send_response(200)
                self.end_headers()
                outer.got.set()

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.httpd = http.server.HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/cb"
        self.thread = threading.Thread(target=self.httpd.serve_forever, args=(0.05,))
        self.thread.start()

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join()


def test_callbacks_are_posted_when_jobs_complete(server: SandboxServer, api: Api,
                                                 clock: ManualClock) -> None:
    receiver = _Receiver()
    try:
        file_id = _upload(api, _zip([["Last_Name"], ["Called Back"]])).json()["details"]["file_id"]
        r = api.post("write", bulk=True, json={
            "operation": "insert", "callback": {"url": receiver.url, "method": "post"},
            "resource": [{"type": "data", "module": {"api_name": "Leads"}, "file_id": file_id}]})
        job_id = r.json()["details"]["id"]
        clock.advance(5)  # the job ticker notices without any polling
        assert receiver.got.wait(60)
        body = receiver.bodies[0]
        assert body["id"] == job_id
        assert body["status"] == "COMPLETED"
        assert body["resource"][0]["file"]["added_count"] == 1
        receiver.got.clear()
        r = api.post("read", bulk=True, json={
            "callback": {"url": receiver.url, "method": "post"},
            "query": {"module": {"api_name": "Accounts"}}})
        clock.advance(60)
        assert receiver.got.wait(60)
        read = receiver.bodies[1]["data"][0]
        assert read["state"] == "COMPLETED"
        assert read["result"]["count"] == len(server.ids("Accounts"))
    finally:
        receiver.close()
    r = api.post("read", bulk=True, json={"callback": {"url": "ftp://x"},
                                          "query": {"module": {"api_name": "Leads"}}})
    assert r.json()["code"] == "INVALID_CALLBACK_URL"


def test_bulk_write_of_a_csv_not_in_utf8_names_the_encoding(api: Api) -> None:
    # latin-1 bytes used to be answered "The CSV file is empty."; Zoho documents no
    # answer for a badly encoded file, so the sandbox names the real cause
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("leads.csv", "Last_Name,City\nMüller,Zürich\n".encode("latin-1"))
    file_id = _upload(api, out.getvalue()).json()["details"]["file_id"]
    res = {"type": "data", "module": {"api_name": "Leads"}, "file_id": file_id}
    r = api.post("write", bulk=True, json={"operation": "insert", "resource": [res]})
    assert r.status_code == 400
    body = r.json()
    assert body["code"] == "INVALID_FILE_FORMAT"
    assert "not UTF-8 encoded (byte 0xfc at offset 16)" in body["message"]
    assert "empty" not in body["message"]


def test_bulk_write_of_tag_names_still_tags_the_record(server: SandboxServer, api: Api,
                                                       clock: ManualClock) -> None:
    # the records API takes tag objects only; a CSV cell holds names ("vip;hot")
    file_id = _upload(api, _zip([["Last_Name", "Tag"], ["Tagged", "vip;hot"]])).json()[
        "details"]["file_id"]
    res = {"type": "data", "module": {"api_name": "Leads"}, "file_id": file_id}
    r = api.post("write", bulk=True, json={"operation": "insert", "resource": [res]})
    assert r.status_code == 201
    clock.advance(5)
    j = api.get(f"write/{r.json()['details']['id']}", bulk=True).json()
    assert j["resource"][0]["file"]["added_count"] == 1
    (out,) = _unzip_csv(api.get(j["result"]["download_url"]).content)
    tags = server.get_record("Leads", out["RECORD_ID"])["Tag"]
    assert [t["name"] for t in tags] == ["vip", "hot"]
