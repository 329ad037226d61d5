"""Jobs kept in the SQLite file across restarts, and job files kept out of memory.

Zoho runs mass updates, bulk writes and bulk reads on its servers: a client that goes
away finds them later, finished or still running. A sandbox stopped and started again on
the same file must do the same: every job answers its status and result download as
before, and a job that was running continues from the last slice it committed, never
writing a row twice (also after a SIGKILL). Uploads and result zips live on disk, so a
server's memory does not grow with the bulk jobs it ran.
"""

from __future__ import annotations

import csv
import gc
import io
import json
import signal
import subprocess
import sys
import time
import tracemalloc
import zipfile
from pathlib import Path
from typing import Any

import pytest
import requests

from crmframe.sandbox import ManualClock, SandboxServer, jobs, start

from .helpers import T0, Api

ORG_ZGID = "700000001"


def _zip(rows: list[list[str]], name: str = "leads.csv") -> bytes:
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(name, buf.getvalue())
    return out.getvalue()


def _unzip(data: bytes) -> list[dict[str, str]]:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        text = zf.read(zf.namelist()[0]).decode("utf-8")
    return list(csv.DictReader(io.StringIO(text)))


def _upload(session: requests.Session, url: str, rows: list[list[str]]) -> str:
    r = session.post(f"{url}/crm/v8/upload", timeout=60,
                     files={"file": ("leads.zip", _zip(rows), "application/zip")},
                     headers={"feature": "bulk-write", "X-CRM-ORG": ORG_ZGID})
    assert r.status_code == 200, r.text
    return str(r.json()["details"]["file_id"])


def _bulk_insert(api: Api, rows: list[list[str]]) -> str:
    file_id = _upload(api.session, api.server.url, rows)
    r = api.post("write", bulk=True, json={"operation": "insert", "resource": [{
        "type": "data", "module": {"api_name": "Leads"}, "file_id": file_id}]})
    assert r.status_code == 201, r.text
    return str(r.json()["details"]["id"])


def _mass_by_view(api: Api) -> str:
    views = api.get("settings/custom_views", params={"module": "Leads"}).json()["custom_views"]
    cvid = next(v["id"] for v in views if v["name"] == "All Leads")
    r = api.post("Leads/actions/mass_update", json={"data": [{"Segment": "SMB"}],
                                                   "cvid": cvid})
    assert r.status_code == 202, r.text
    return str(r.json()["data"][0]["details"]["job_id"])


def _bulk_read(api: Api) -> str:
    r = api.post("read", bulk=True, json={"query": {
        "module": {"api_name": "Leads"}, "fields": ["Last_Name", "City"],
        "criteria": {"field": {"api_name": "City"}, "comparator": "equal", "value": "Paris"}}})
    assert r.status_code == 201, r.text
    return str(r.json()["data"][0]["details"]["id"])


def _answers(api: Api, jobs: dict[str, str]) -> dict[str, Any]:
    """Every job's status answer and result download, URLs without the server's port."""
    out: dict[str, Any] = {}
    for name, job_id in jobs.items():
        if name.startswith("mass"):
            r = api.get("Leads/actions/mass_update", params={"job_id": job_id})
            out[name] = (r.status_code, r.json())
            continue
        kind = "write" if name.startswith("write") else "read"
        r = api.get(f"{kind}/{job_id}", bulk=True)
        out[name] = (r.status_code, json.loads(r.text.replace(api.server.url, "URL")))
        result = api.get(f"{kind}/{job_id}/result", bulk=True)
        out[name + " result"] = (result.status_code, result.content
                                 if result.status_code == 200 else result.json())
    return out


def _leads_named(server: SandboxServer, prefix: str) -> list[str]:
    return [str(server.get_record("Leads", rid)["Last_Name"]) for rid in server.ids("Leads")
            if str(server.get_record("Leads", rid)["Last_Name"]).startswith(prefix)]


def test_jobs_of_each_kind_answer_the_same_after_a_restart(tmp_path: Path) -> None:
    db = str(tmp_path / "jobs.db")
    clock = ManualClock(T0)
    options: dict[str, Any] = {"clock": clock, "job_delay": 1.0, "job_speed": 100.0,
                               "job_listing": True}
    with start(records=300, db=db, **options) as server:
        api = Api(server)
        done = {"write done": _bulk_insert(api, [["Last_Name", "City"]]
                                           + [[f"Done {i}", "Lyon"] for i in range(120)]),
                "mass done": _mass_by_view(api),
                "read done": _bulk_read(api)}
        clock.advance(60)
        running = {"write running": _bulk_insert(api, [["Last_Name"]]
                                                 + [[f"Running {i}"] for i in range(300)]),
                   "mass running": _mass_by_view(api)}
        clock.advance(2)  # 1 s waiting, then 100 rows/s
        running["read waiting"] = _bulk_read(api)
        clock.advance(1.5)  # 250 rows of each running job; the read is queued
        pending_upload = _upload(api.session, server.url, [["Last_Name"], ["Later"]])
        before = _answers(api, {**done, **running})
        listed = {j["id"]: j["resource"][0]["file_id"]
                  for j in api.get("write", bulk=True).json()["data"]}
        api.close()
    for name in done:
        assert before[name][0] == 200
    assert before["write done result"][0] == before["read done result"][0] == 200
    assert before["write running"][1]["status"] == "INPROGRESS"
    assert before["write running"][1]["resource"][0]["file"]["added_count"] == 250
    assert before["mass running"][1]["data"][0]["Status"] == "RUNNING"
    assert before["read waiting"][1]["data"][0]["state"] == "QUEUED"
    assert before["write running result"][0] == 404  # not finished: no result yet

    with start(db=db, **options) as again:
        api = Api(again)
        # the same answers, byte for byte for the result files
        assert _answers(api, {**done, **running}) == before
        assert {j["id"]: j["resource"][0]["file_id"]
                for j in api.get("write", bulk=True).json()["data"]} == listed
        assert len(set(listed.values())) == 2
        assert pending_upload in again.app.uploads
        # running jobs continue where they stopped: time moves, they finish
        clock.advance(10)
        after = _answers(api, running)
        written = after["write running"][1]
        assert written["status"] == "COMPLETED"
        assert written["resource"][0]["file"]["added_count"] == 300
        result = _unzip(after["write running result"][1])
        assert [row["Last_Name"] for row in result] == [f"Running {i}" for i in range(300)]
        assert {row["STATUS"] for row in result} == {"added"}
        assert len({row["RECORD_ID"] for row in result}) == 300
        # every row written once: not one record twice, none lost
        assert sorted(_leads_named(again, "Running ")) == sorted(
            f"Running {i}" for i in range(300))
        mass = after["mass running"][1]["data"][0]
        assert (mass["Status"], mass["Updated_Count"] + mass["Failed_Count"]) == ("COMPLETED",
                                                                                 420)
        read = after["read waiting"][1]["data"][0]
        assert read["state"] == "COMPLETED"
        rows = _unzip(after["read waiting result"][1])
        assert len(rows) == read["result"]["count"] > 0
        assert {row["City"] for row in rows} == {"Paris"}
        # the upload no job took is still there for one
        r = api.post("write", bulk=True, json={"operation": "insert", "resource": [{
            "type": "data", "module": {"api_name": "Leads"}, "file_id": pending_upload}]})
        assert r.status_code == 201, r.text
        api.close()


def _cli(*args: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "crmframe.sandbox", "--port", "0", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _connect(proc: subprocess.Popen[str]) -> tuple[str, requests.Session]:
    assert proc.stdout is not None
    lines = [proc.stdout.readline()]
    while "Ctrl-C" not in lines[-1] and lines[-1]:
        lines.append(proc.stdout.readline())
    url = lines[0].rsplit(" ", 1)[-1].strip()
    creds = json.loads("".join(lines[2:-1]))
    token = requests.post(url + "/oauth/v2/token", timeout=60, data={
        "grant_type": "refresh_token", "client_id": creds["client_id"],
        "client_secret": creds["client_secret"],
        "refresh_token": creds["refresh_token"]}).json()["access_token"]
    session = requests.Session()
    session.headers["Authorization"] = f"Zoho-oauthtoken {token}"
    return url, session


def test_a_killed_server_resumes_a_bulk_write_without_writing_a_row_twice(
        tmp_path: Path) -> None:
    db = tmp_path / "killed.db"
    rows = 600
    proc = _cli("--records", "30", "--db", str(db), "--job-speed", "100", "--job-delay", "0.5")
    try:
        url, session = _connect(proc)
        file_id = _upload(session, url, [["Last_Name"]] + [[f"Killed {i}"] for i in range(rows)])
        r = session.post(url + "/crm/bulk/v8/write", timeout=60, json={
            "operation": "insert", "resource": [{"type": "data", "module": {"api_name": "Leads"},
                                                 "file_id": file_id}]})
        assert r.status_code == 201, r.text
        job_id = r.json()["details"]["id"]
        added = 0
        for _ in range(600):  # until the job is part way (bounded; the sleep only paces)
            file = session.get(f"{url}/crm/bulk/v8/write/{job_id}", timeout=60).json()[
                "resource"][0]["file"]
            added = int(file.get("added_count") or 0)
            if added >= 100:
                break
            time.sleep(0.05)
        assert 100 <= added < rows
        session.close()
    finally:
        proc.send_signal(signal.SIGKILL)  # no shutdown: whatever was mid-slice is lost
        proc.communicate(timeout=60)
    clock = ManualClock(time.time() + 3600)  # long after: the job is due to be finished
    with start(db=str(db), clock=clock) as again:
        api = Api(again)
        details = api.get(f"write/{job_id}", bulk=True).json()
        assert details["status"] == "COMPLETED"
        assert details["resource"][0]["file"]["added_count"] == rows
        assert sorted(_leads_named(again, "Killed ")) == sorted(
            f"Killed {i}" for i in range(rows))
        result = _unzip(api.get(f"write/{job_id}/result", bulk=True).content)
        assert [r["Last_Name"] for r in result] == [f"Killed {i}" for i in range(rows)]
        assert len({r["RECORD_ID"] for r in result}) == rows
        api.close()


def test_memory_does_not_grow_with_uploads_and_bulk_jobs() -> None:
    """Uploads and result files are on disk; a finished job lets its rows go."""
    rows = [["id", "Last_Name", "Description"]] + [
        [str(4_876_876_100_000_000_000 + i), f"Name {i}", "x" * 300] for i in range(2500)]
    clock = ManualClock(T0)
    with start(records=50, clock=clock, job_delay=1.0, job_speed=1_000_000.0) as server:
        api = Api(server)

        def round_trip() -> None:
            # one bulk update of 2,500 rows (~0.8 MB of CSV; every id unknown, so the
            # records stay as they are) run to its end and downloaded, plus an upload no
            # job takes
            file_id = _upload(api.session, server.url, rows)
            r = api.post("write", bulk=True, json={"operation": "update", "resource": [{
                "type": "data", "module": {"api_name": "Leads"}, "file_id": file_id,
                "find_by": "id"}]})
            assert r.status_code == 201, r.text
            job_id = r.json()["details"]["id"]
            clock.advance(5)
            result = api.get(f"write/{job_id}/result", bulk=True)
            assert result.status_code == 200
            assert len(_unzip(result.content)) == 2500
            _upload(api.session, server.url, rows)

        round_trip()  # first use: connections, caches, the job files' database
        tracemalloc.start()
        try:
            held: list[int] = []
            for _ in range(12):
                round_trip()
                gc.collect()
                held.append(tracemalloc.get_traced_memory()[0])
        finally:
            tracemalloc.stop()
        api.close()
        # 12 jobs' rows as Python lists and 12 waiting uploads (~10 MB) were held until
        # stop before; now what stays is a few small objects per job
        assert held[-1] - held[2] < 500_000, held
        assert max(held) < 2_000_000, held
        assert len(server.app.uploads) == 13


def test_finished_jobs_leave_memory_and_still_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    """Only the latest finished jobs stay in memory; older ones are read back from the
    database when asked for, with the same answers."""
    monkeypatch.setattr(jobs, "KEEP_FINISHED", 2)
    clock = ManualClock(T0)
    with start(records=100, clock=clock, job_delay=1.0, job_speed=100.0) as server:
        api = Api(server)
        reads = {f"read {n}": _bulk_read(api) for n in range(4)}
        mass = {"mass 0": _mass_by_view(api)}
        clock.advance(1)
        reads["read 4"] = _bulk_read(api)
        clock.advance(30)
        first = _answers(api, {**reads, **mass})
        kept = server.app.jobs
        assert len(kept.reads) + len(kept.mass) <= 3  # 2 finished (+ 1 read back)
        assert _answers(api, {**reads, **mass}) == first
        assert len(kept.reads) + len(kept.mass) <= 3
        assert first["mass 0"][1]["data"][0]["Status"] == "COMPLETED"
        for name in reads:
            assert first[name][1]["data"][0]["state"] == "COMPLETED"
            assert first[name + " result"][0] == 200
        assert api.get("read/4876876000000099999", bulk=True).status_code == 404
        api.close()
