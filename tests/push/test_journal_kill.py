"""A push killed half-way (SIGKILL) and started again with the same journal.

The child process pushes with a journal and is made to stop *after* the server applied a
PUT batch but *before* the journal recorded the answer — the one ambiguous moment — and
is then killed. The parent resumes with the same journal: confirmed batches are not sent
again, the ambiguous one is read back (found applied, not resent), the rest is sent once.
"""

from __future__ import annotations

import json
import os
import pickle
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from crmframe.errors import InputError
from crmframe.facade.write.journal import JournalMismatchError

from .helpers import api_calls, writable_leads, write_calls

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]

CHILD = r'''
import json, pickle, sys, time
from crmframe.facade.write import journal as journal_module
from crmframe.facade.crm import CRM, connect
from crmframe.facade.jobs import JobsMixin
from crmframe.facade.write.mixin import WritingMixin

args = json.loads(open(sys.argv[1]).read())
with open(args["frames"], "rb") as handle:
    edited, original = pickle.load(handle)
answered = {"n": 0}
record_answer = journal_module.Journal.confirmed

def confirmed(self, step, ids, result):
    answered["n"] += 1
    if answered["n"] > args["stop_after"]:
        # The batch reached Zoho; its answer is not on disk yet. Wait here to be killed.
        with open(args["ready"], "w") as flag:
            flag.write("paused")
        while True:
            time.sleep(1)
    return record_answer(self, step, ids, result)

journal_module.Journal.confirmed = confirmed

class PushCRM(CRM, WritingMixin, JobsMixin):
    pass

crm = PushCRM(connect(**args["credentials"]).client)
crm.push(edited, original, journal=args["journal"])
'''


def _states(path: Path) -> list[tuple[int, str]]:
    lines = [json.loads(line) for line in path.read_text().splitlines()[1:] if line.strip()]
    return [(line["step"], line["state"]) for line in lines]


def test_killed_push_resumes_without_sending_a_batch_twice(
    crm: Any, server: Any, tmp_path: Path
) -> None:
    original = writable_leads(crm, server, 450)
    edited = original.copy()
    # distinct values per record: no mass update, five PUT batches (100, 100, 100, 100, 50)
    edited["Custom_Text_9"] = pd.array([f"journal {n}" for n in range(450)], dtype="string")
    plan = crm.plan(edited, original)
    assert plan.steps["route"].tolist() == ["put"] * 5

    journal = tmp_path / "push.jsonl"
    frames = tmp_path / "frames.pkl"
    with frames.open("wb") as handle:
        pickle.dump((edited, original), handle)
    args = {
        "credentials": server.credentials, "frames": str(frames), "journal": str(journal),
        "ready": str(tmp_path / "ready"), "stop_after": 2,
    }
    (tmp_path / "args.json").write_text(json.dumps(args))
    script = tmp_path / "child.py"
    script.write_text(CHILD)
    server.clear_requests()

    with (tmp_path / "child.err").open("w") as err:
        child = subprocess.Popen(
            [sys.executable, str(script), str(tmp_path / "args.json")],
            stdout=subprocess.DEVNULL, stderr=err, cwd=str(tmp_path),
        )
        try:
            while not Path(args["ready"]).exists() and child.poll() is None:
                time.sleep(0.02)
            assert child.poll() is None, (tmp_path / "child.err").read_text()
            os.kill(child.pid, signal.SIGKILL)
        finally:
            if child.poll() is None:
                child.kill()
            child.wait()
    assert child.returncode == -signal.SIGKILL

    # two batches confirmed, the third sent (and applied) but never confirmed
    assert _states(journal) == [(0, "sending"), (0, "confirmed"), (1, "sending"),
                                (1, "confirmed"), (2, "sending")]
    assert len(write_calls(server, "/Leads")) == 3
    third = plan.steps["ids"].iloc[2]
    assert {server.get_record("Leads", i)["Custom_Text_9"] for i in third} == {
        edited.loc[i, "Custom_Text_9"] for i in third}

    before = len(api_calls(server))
    result = crm.push(edited, original, journal=journal)

    puts = write_calls(server, "/Leads")
    assert len(puts) == 5, puts  # every batch sent exactly once over both runs
    assert result.writes == 2
    assert result.calls == len(api_calls(server)) - before  # with the checks and read-back
    assert result.failed.empty, result.failed.head()
    assert result.results["id"].nunique() == 450
    assert not result.results["id"].duplicated().any()
    verified = result.results[result.results["message"].str.contains("read back", na=False)]
    assert sorted(verified["id"]) == sorted(third)
    assert [s for s, state in _states(journal) if state == "verified"] == [2]
    back = crm.read_records("Leads", ["Custom_Text_9"], ids=original.index, progress=False)
    pd.testing.assert_series_equal(back.loc[original.index, "Custom_Text_9"],
                                   edited["Custom_Text_9"])

    # a finished journal sends nothing more
    server.clear_requests()
    again = crm.push(edited, original, journal=journal)
    assert again.calls == 0
    assert write_calls(server) == []
    assert again.results["id"].nunique() == 450


def test_a_journal_of_another_plan_is_refused(crm: Any, server: Any, tmp_path: Path) -> None:
    original = writable_leads(crm, server, 3)
    edited = original.copy()
    edited["Custom_Text_10"] = "one"
    journal = tmp_path / "j.jsonl"
    assert crm.push(edited, original, journal=journal).failed.empty
    other = original.copy()
    other["Custom_Text_10"] = "two"
    server.clear_requests()
    with pytest.raises(JournalMismatchError, match=str(journal)):
        crm.push(other, original, journal=journal)
    assert write_calls(server) == []
    with pytest.raises(InputError, match="original"):
        crm.push(other, journal=tmp_path / "new.jsonl")
