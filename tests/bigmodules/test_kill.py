"""kill -9 during an export and during a sync, then the next call finishes the job."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from bighelpers import connection, like_an_export

import crmframe

ROOT = Path(__file__).resolve().parents[2]

# The child exports (or syncs) slowly, one small batch at a time, and says where it is.
CHILD = r"""
import json, sys, time
import crmframe
import crmframe.facade.exportrun as exportrun
import crmframe.facade.syncrun as syncrun

credentials, path, what = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3]
exportrun.GROUP_ROWS = 250
crm = crmframe.connect(**credentials)
crm.bulk_sleep = lambda s: None
if what == "export":
    def slowly(done, total):
        print("rows", done, flush=True)
        time.sleep(0.4)
    crm.export("Leads", path, method="bulk", rows_per_file=500, progress=slowly)
else:
    original = syncrun.SyncRun._rewrite
    def rewrite(self, *args, **kwargs):
        dirty = original(self, *args, **kwargs)
        print("rewrote", flush=True)
        time.sleep(30)  # killed here, after the first file moved into place
        return dirty
    syncrun.SyncRun._rewrite = rewrite
    crm.sync("Leads", path, formula_every=None)
print("finished", flush=True)
"""


@pytest.fixture
def server() -> Iterator[Any]:
    from crmframe.sandbox import start

    with start(records=3000, seed=41, job_speed=1e7, job_delay=0) as running:
        yield running


def _run_child_until(server: Any, path: Path, what: str, marker: str, count: int) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, json.dumps(server.credentials), str(path), what],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
    seen = 0
    try:
        assert child.stdout is not None
        for line in child.stdout:
            assert not line.startswith("finished"), "the child finished before the kill"
            if line.startswith(marker):
                seen += 1
                if seen >= count:
                    break
        os.kill(child.pid, signal.SIGKILL)
    finally:
        if child.poll() is None:
            child.kill()
        child.wait()
        if child.stdout is not None:
            child.stdout.close()
    assert child.returncode == -signal.SIGKILL


def test_kill_9_during_an_export_then_it_resumes_from_the_last_complete_file(
    server: Any, tmp_path: Path
) -> None:
    path = tmp_path / "leads"
    # 3,000 records, files of 500: killed after 5 batches of 250 (2 complete files;
    # the first line the child prints is "rows 0").
    _run_child_until(server, path, "export", "rows", 6)
    manifest = json.loads((path / "_crmframe.json").read_text())
    assert manifest["state"] == "exporting"
    done = [f["name"] for f in manifest["files"]]
    assert len(done) >= 2
    # What a reader sees meanwhile: only complete files, no record twice.
    partial = pd.read_parquet(path)
    assert partial.index.is_unique
    assert len(partial) == 500 * len(done)
    server.clear_requests()
    with connection(server) as crm:
        result = crm.export("Leads", path, method="bulk", rows_per_file=500)
        frame = like_an_export(crm.read_records("Leads", method="pages"))
    assert result.resumed
    assert result.rows == 3000
    assert result.files == 6
    # The bulk job's result was downloaded again: no new job, no 50 credits spent.
    creates = [e for e in server.requests if e[:2] == ("POST", "/crm/bulk/v8/read")]
    assert creates == []
    assert [f["name"] for f in json.loads(
        (path / "_crmframe.json").read_text())["files"]][:len(done)] == done
    pd.testing.assert_frame_equal(crmframe.read_dataset(path), frame)


def test_kill_9_during_a_sync_leaves_it_readable_and_the_next_sync_finishes(
    server: Any, tmp_path: Path
) -> None:
    path = tmp_path / "leads"
    with connection(server) as crm, connection(server) as colleague:
        crm.sync("Leads", path, rows_per_file=500, formula_every=None)
        before = json.loads((path / "_crmframe.json").read_text())
        ids = server.ids("Leads")[::100][:30]  # spread over all six files
        put = colleague.client.request("PUT", "Leads", json={"data": [
            {"id": i, "City": "Killed Halfway"} for i in ids[:20]]})
        edited = sum(1 for r in (put.body or {})["data"] if r["status"] == "success")
        assert edited >= 15  # a few seeded records are locked
        colleague.client.request("DELETE", "Leads", params={"ids": ",".join(ids[20:])})
        _run_child_until(server, path, "sync", "rewrote", 1)
        # Killed after one file was rewritten: readable, each record once, old cursor.
        middle = pd.read_parquet(path)
        assert middle.index.is_unique
        assert len(middle) >= 2990
        applied = int((middle["City"] == "Killed Halfway").sum()) + 3000 - len(middle)
        assert 0 < applied < edited + 10
        assert json.loads((path / "_crmframe.json").read_text())["cursor"] == before["cursor"]
        result = crm.sync("Leads", path, formula_every=None)
        fresh = like_an_export(crm.read_records("Leads", method="pages"))
    assert result.deleted == 10
    assert result.rows == 2990
    mirror = crmframe.read_dataset(path)
    pd.testing.assert_frame_equal(mirror, fresh)
    assert int((mirror["City"] == "Killed Halfway").sum()) == edited
