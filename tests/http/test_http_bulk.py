"""Bulk read over a fake transport: create, poll with an injected sleep, download, slices."""

from __future__ import annotations

import io
import json
import zipfile

import pytest
from httpfakes import FakeClock, fake_session

from crmframe.errors import JobFailed, JobTimeout, NotFoundError
from crmframe.http.auth import StaticToken
from crmframe.http.bulk import iter_bulk_read, unzip_csv, wait_bulk_read
from crmframe.http.client import ZohoClient


def zipped(text: str) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("111.csv", text)
    return out.getvalue()


class FakeBulk:
    def __init__(self, states: list[str], slices: int = 1) -> None:
        self.states = states
        self.slices = slices
        self.created: list[dict] = []
        self.polls = 0

    def __call__(self, request):
        path = request.path_url
        if request.method == "POST":
            self.created.append(json.loads(request.body)["query"])
            job = str(len(self.created))
            return 201, {"data": [{"status": "success", "code": "ADDED_SUCCESSFULLY",
                                   "details": {"id": job, "operation": "read",
                                               "state": "ADDED"}}], "info": {}}
        if path.endswith("/result"):
            job = path.split("/")[-2]
            return 200, zipped(f"id,Last_Name\n{job}000,Name{job}\n")
        job = path.rsplit("/", 1)[-1]
        self.polls += 1
        state = self.states[min(self.polls - 1, len(self.states) - 1)]
        item = {"id": job, "operation": "read", "state": state}
        if state == "COMPLETED":
            item["result"] = {"page": int(job), "count": 1, "more_records": int(job) < self.slices,
                              "download_url": f"/crm/bulk/v8/read/{job}/result"}
            self.polls = 0
        return 200, {"data": [item]}


def client_for(handler, version: str = "v8") -> ZohoClient:
    session, _ = fake_session(handler)
    return ZohoClient("https://www.zohoapis.com", StaticToken("t"), session=session,
                      version=version)


def test_slices_are_followed_until_more_records_is_false() -> None:
    fake = FakeBulk(["ADDED", "IN PROGRESS", "COMPLETED"], slices=3)
    clock = FakeClock()
    client = client_for(fake)
    pieces = list(iter_bulk_read(client, "Leads", fields=["id", "Last_Name"], sleep=clock.sleep))
    assert [p.csv for p in pieces] == [b"id,Last_Name\n1000,Name1\n", b"id,Last_Name\n2000,Name2\n",
                                       b"id,Last_Name\n3000,Name3\n"]
    assert [q["page"] for q in fake.created] == [1, 2, 3]
    assert fake.created[0]["module"] == {"api_name": "Leads"}
    assert clock.slept[:2] == [2.0, 3.0]  # the poll interval grows by half


def test_v2_names_the_module_as_a_string() -> None:
    fake = FakeBulk(["COMPLETED"])
    list(iter_bulk_read(client_for(fake, "v2"), "Leads", sleep=lambda s: None))
    assert fake.created[0]["module"] == "Leads"


def test_failed_and_stuck_jobs_raise() -> None:
    with pytest.raises(JobFailed, match="failed"):
        wait_bulk_read(client_for(FakeBulk(["ADDED", "FAILURE"])), "1", sleep=lambda s: None)
    clock = FakeClock()
    with pytest.raises(JobTimeout, match="still IN PROGRESS") as info:
        wait_bulk_read(client_for(FakeBulk(["IN PROGRESS"])), "1", timeout=30,
                       sleep=clock.sleep, clock=clock)
    assert info.value.status["state"] == "IN PROGRESS"
    assert sum(clock.slept) <= 30


def test_download_errors_are_typed() -> None:
    def handler(request):
        return 404, {"code": "RESOURCE_NOT_FOUND", "details": {}, "message": "gone",
                     "status": "error"}

    with pytest.raises(NotFoundError):
        client_for(handler).get_bytes("/crm/bulk/v8/read/1/result")


def test_unzip_passes_plain_csv_through() -> None:
    assert unzip_csv(b"id\n1\n") == b"id\n1\n"
    assert unzip_csv(zipped("id\n2\n")) == b"id\n2\n"
