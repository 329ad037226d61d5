"""Journal and executor, with a fake sender (no server, no pandas)."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import pytest

from crmframe.errors import (
    AuthenticationError,
    InputError,
    InvalidRequestError,
    TransportError,
)
from crmframe.facade.write.execute import Step, execute
from crmframe.facade.write.journal import Journal, JournalMismatchError, plan_fingerprint
from crmframe.facade.write.settle import AMBIGUOUS_CODE, Settled


def _put(index: int, ids: Sequence[str], value: str = "x") -> Step:
    return Step(
        index, "put", tuple(ids), ("Phone",),
        {"data": [{"id": i, "Phone": f"{value}{i}"} for i in ids]},
    )


def _ok(ids: Sequence[str]) -> dict[str, Any]:
    return {"data": [{"code": "SUCCESS", "status": "success", "message": "record updated",
                      "details": {"id": i}} for i in ids]}


class FakeSender:
    """Applies PUT payloads to a dict 'server', can fail or die on chosen steps."""

    def __init__(self) -> None:
        self.server: dict[str, dict[str, Any]] = {}
        self.sent: list[tuple[int, list[str]]] = []
        self.read_back: list[tuple[int, list[str]]] = []
        self.raise_on: dict[int, Exception] = {}
        self.die_after_apply: set[int] = set()
        self.touched: set[str] = set()  # records written since the baseline
        self.jobs: dict[str, str] = {}  # file_id -> job id, for find_job
        self.found: list[str] = []

    def send(self, step: Step, ids: Sequence[str], *, job_id: str | None = None,
             on_job: Callable[[str], None] | None = None,
             on_upload: Callable[[str], None] | None = None) -> dict[str, Any]:
        self.sent.append((step.index, list(ids)))
        if step.index in self.raise_on:
            raise self.raise_on[step.index]
        for record in step.records(ids):
            self.server.setdefault(record["id"], {}).update(record)
            self.touched.add(record["id"])
        if step.index in self.die_after_apply:
            raise KeyboardInterrupt("killed between the call and its answer")
        return _ok(ids)

    def edit(self, rid: str, **values: Any) -> None:
        """A colleague edits a record: it is no longer at the baseline's stamp."""
        self.server.setdefault(rid, {"id": rid}).update(values)
        self.touched.add(rid)

    def settle(self, step: Step, ids: Sequence[str]) -> Settled:
        # Like the read-back: our values -> applied; untouched since the baseline -> not
        # applied; anything else (modified since, by whom?) -> unknown.
        self.read_back.append((step.index, list(ids)))
        wanted = {r["id"]: r for r in step.records(ids)}
        out = Settled()
        for i in ids:
            if all(self.server.get(i, {}).get(k) == v for k, v in wanted[i].items()):
                out.applied.append(i)
            elif i in self.touched:
                out.unknown.append(i)
            else:
                out.not_applied.append(i)
        return out

    def find_job(self, step: Step, file_id: str) -> str | None:
        self.found.append(file_id)
        return self.jobs.get(file_id)


def _journal(path: Path, steps: Sequence[Step]) -> Journal:
    return Journal.open(path, plan_fingerprint(s.payload for s in steps),
                        [s.describe() for s in steps], module="Leads")


def test_fingerprint_ignores_key_order_and_sees_values() -> None:
    a = plan_fingerprint([{"data": [{"id": "1", "A": 1}]}, b"zip"])
    assert a == plan_fingerprint([{"data": [{"A": 1, "id": "1"}]}, b"zip"])
    assert a != plan_fingerprint([{"data": [{"A": 1, "id": "1"}]}, b"zap"])


def test_journal_lines_are_written_and_read_back(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    steps = [_put(0, ["1", "2"]), _put(1, ["3"])]
    with _journal(path, steps) as journal:
        journal.sending(0, ["1", "2"])
        journal.confirmed(0, ["1", "2"], _ok(["1", "2"]))
        journal.sending(1, ["3"])
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert lines[0]["fingerprint"] == plan_fingerprint(s.payload for s in steps)
    assert [line["state"] for line in lines[1:]] == ["sending", "confirmed", "sending"]
    with _journal(path, steps) as journal:
        assert journal.resumed
        assert journal.step_state(0).remaining(["1", "2"]) == []
        assert journal.step_state(1).pending == ["3"]


def test_journal_of_another_plan_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    _journal(path, [_put(0, ["1"], "a")]).close()
    with pytest.raises(JournalMismatchError, match="another plan") as info:
        _journal(path, [_put(0, ["1"], "b")])
    assert isinstance(info.value, InputError)
    assert str(path) in str(info.value)


def test_not_a_journal_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("hello\n")
    with pytest.raises(JournalMismatchError, match="not a crmframe push journal"):
        Journal.open(path, "abc")


def test_a_journal_in_a_new_folder_is_made_and_a_folder_is_refused(tmp_path: Path) -> None:
    # Were FileNotFoundError and IsADirectoryError (untyped), after the conflict check.
    path = tmp_path / "journals" / "push-leads.jsonl"
    assert Journal.peek(path) is None
    Journal.open(path, "abc").close()
    assert Journal.peek(path) is not None
    with pytest.raises(JournalMismatchError, match="is a folder: give a file path"):
        Journal.peek(tmp_path)
    with pytest.raises(JournalMismatchError, match="is a folder"):
        Journal.open(tmp_path, "abc")


def test_torn_last_line_is_ignored(tmp_path: Path) -> None:
    path = tmp_path / "j.jsonl"
    steps = [_put(0, ["1"])]
    with _journal(path, steps) as journal:
        journal.sending(0, ["1"])
    with path.open("a") as handle:
        handle.write('{"step": 0, "state": "confir')  # the process died mid-write
    with _journal(path, steps) as journal:
        assert journal.step_state(0).pending == ["1"]
        journal.confirmed(0, ["1"], _ok(["1"]))
    with _journal(path, steps) as journal:
        assert journal.step_state(0).remaining(["1"]) == []


def test_execute_sends_every_step_once_and_journals(tmp_path: Path) -> None:
    steps = [_put(0, ["1", "2"]), _put(1, ["3", "4"])]
    sender = FakeSender()
    with _journal(tmp_path / "j.jsonl", steps) as journal:
        outcomes = execute(steps, sender, journal=journal)
    assert sender.sent == [(0, ["1", "2"]), (1, ["3", "4"])]
    assert [o.calls for o in outcomes] == [1, 1]
    assert outcomes[1].parts[0][0] == ["3", "4"]
    # resuming a finished journal sends nothing and reuses the recorded replies
    again = FakeSender()
    with _journal(tmp_path / "j.jsonl", steps) as journal:
        outcomes = execute(steps, again, journal=journal)
    assert again.sent == []
    assert all(o.from_journal and o.calls == 0 for o in outcomes)
    assert outcomes[0].parts[0][1] == _ok(["1", "2"])


def test_resume_after_kill_reads_back_ambiguous_step(tmp_path: Path) -> None:
    steps = [_put(0, ["1", "2"]), _put(1, ["3", "4"]), _put(2, ["5"])]
    sender = FakeSender()
    sender.die_after_apply = {1}
    with _journal(tmp_path / "j.jsonl", steps) as journal, pytest.raises(KeyboardInterrupt):
        execute(steps, sender, journal=journal)
    assert sender.sent == [(0, ["1", "2"]), (1, ["3", "4"])]
    # step 1 landed on the server but its answer was never recorded
    sender.die_after_apply = set()
    sender.sent = []
    with _journal(tmp_path / "j.jsonl", steps) as journal:
        outcomes = execute(steps, sender, journal=journal)
    assert sender.read_back == [(1, ["3", "4"])]
    assert sender.sent == [(2, ["5"])]  # step 0 confirmed, step 1 verified, only step 2 sent
    assert outcomes[1].verified == ["3", "4"]
    assert sender.server["5"]["Phone"] == "x5"


def test_resume_sends_only_the_part_not_applied(tmp_path: Path) -> None:
    steps = [_put(0, ["1", "2", "3"])]
    with _journal(tmp_path / "j.jsonl", steps) as journal:
        journal.sending(0, ["1", "2", "3"])
    sender = FakeSender()
    sender.server["2"] = {"id": "2", "Phone": "x2"}  # only record 2 landed before the kill
    with _journal(tmp_path / "j.jsonl", steps) as journal:
        outcomes = execute(steps, sender, journal=journal)
    assert sender.sent == [(0, ["1", "3"])]
    assert outcomes[0].verified == ["2"]
    assert outcomes[0].parts[-1][0] == ["1", "3"]


def test_whole_request_error_is_data_and_fatal_ones_stop(tmp_path: Path) -> None:
    steps = [_put(0, ["1"]), _put(1, ["2"]), _put(2, ["3"]), _put(3, ["4"])]
    sender = FakeSender()
    sender.raise_on = {
        0: InvalidRequestError("INVALID_DATA", "body", {"expected_data_type": "jsonobject"}, 400),
        2: AuthenticationError("OAUTH_SCOPE_MISMATCH", "invalid oauth scope", {}, 401),
    }
    with _journal(tmp_path / "j.jsonl", steps) as journal:
        outcomes = execute(steps, sender, journal=journal)
    assert [s for s, _ in sender.sent] == [0, 1, 2]
    assert outcomes[0].parts[0][1]["error"]["code"] == "INVALID_DATA"
    assert outcomes[1].parts[0][1] == _ok(["2"])
    assert outcomes[2].parts[0][1]["error"]["code"] == "OAUTH_SCOPE_MISMATCH"
    assert outcomes[3].reason == "not_sent"
    assert outcomes[3].unsettled == ["4"]


def test_transport_error_leaves_step_ambiguous(tmp_path: Path) -> None:
    steps = [_put(0, ["1"]), _put(1, ["2"])]
    sender = FakeSender()
    sender.raise_on = {0: TransportError("connection reset")}
    with _journal(tmp_path / "j.jsonl", steps) as journal:
        outcomes = execute(steps, sender, journal=journal)
    assert outcomes[0].reason == "unknown"
    assert outcomes[1].reason == "not_sent"
    sender.raise_on = {}
    sender.sent = []
    with _journal(tmp_path / "j.jsonl", steps) as journal:
        execute(steps, sender, journal=journal)
    assert sender.read_back == [(0, ["1"])]
    assert sender.sent == [(0, ["1"]), (1, ["2"])]


def test_mass_update_records_expand_per_id() -> None:
    step = Step(0, "mass_update", ("1", "2"), ("A",), {"data": [{"A": 5}], "ids": ["1", "2"]})
    assert step.records() == [{"id": "1", "A": 5}, {"id": "2", "A": 5}]
    assert step.records(["2"]) == [{"id": "2", "A": 5}]


def test_resume_of_a_created_job_waits_for_it_instead_of_creating_another(
    tmp_path: Path,
) -> None:
    step = Step(0, "bulk_write", ("1", "2"), ("City",), b"zip bytes")
    seen: list[tuple[list[str], str | None]] = []

    class JobSender(FakeSender):
        def send(self, step: Step, ids: Sequence[str], *, job_id: str | None = None,
                 on_job: Callable[[str], None] | None = None,
                 on_upload: Callable[[str], None] | None = None) -> dict[str, Any]:
            seen.append((list(ids), job_id))
            if job_id is None:
                assert on_job is not None
                on_job("554023000000506003")
                raise KeyboardInterrupt("killed while the job runs")
            return _ok(ids)

    with _journal(tmp_path / "j.jsonl", [step]) as journal, pytest.raises(KeyboardInterrupt):
        execute([step], JobSender(), journal=journal)
    sender = JobSender()
    with _journal(tmp_path / "j.jsonl", [step]) as journal:
        outcomes = execute([step], sender, journal=journal)
    assert seen == [(["1", "2"], None), (["1", "2"], "554023000000506003")]
    assert sender.read_back == []  # a job id settles the ambiguity: no read-back
    assert outcomes[0].parts[-1][1] == _ok(["1", "2"])


def test_failed_and_timed_out_jobs_are_data_and_later_steps_still_run(
    tmp_path: Path,
) -> None:
    import pandas as pd

    from crmframe.errors import JobFailed, JobTimeout
    from crmframe.facade.write.rows import outcome_rows

    steps = [_put(0, ["1"]), _put(1, ["2"]), _put(2, ["3"])]
    sender = FakeSender()
    sender.raise_on = {0: JobFailed("bulk write job 77 FAILED"),
                       1: JobTimeout("still RUNNING after 600 s")}
    with _journal(tmp_path / "j.jsonl", steps) as journal:
        outcomes = execute(steps, sender, journal=journal)
    assert [s for s, _ in sender.sent] == [0, 1, 2]
    rows = pd.concat([f for o in outcomes for f in outcome_rows(o)], ignore_index=True)
    assert rows[["id", "status", "code"]].values.tolist() == [
        ["1", "error", "JOB_FAILED"], ["2", "unknown", "JOB_TIMEOUT"], ["3", "success",
                                                                         "SUCCESS"]]
    with _journal(tmp_path / "j.jsonl", steps) as journal:
        assert journal.step_state(0).remaining(["1"]) == []  # failed: known, not resent
        assert journal.step_state(1).pending == ["2"]  # unknown: a resume reads back


def test_resume_never_resends_a_record_modified_since_its_lost_write(tmp_path: Path) -> None:
    # Killed after Zoho applied the PUT for 1 and 2; a colleague then edited 2, and 3 never
    # got the write. Resending everything not holding our values (the old contract) would
    # write 2 a second time over the colleague's edit, with overwrite=True or not.
    steps = [_put(0, ["1", "2", "3"])]
    sender = FakeSender()
    sender.die_after_apply = {0}
    with _journal(tmp_path / "j.jsonl", steps) as journal, pytest.raises(KeyboardInterrupt):
        execute(steps, sender, journal=journal)
    sender.server["3"] = {"id": "3", "Phone": "old"}
    sender.touched.discard("3")  # pretend the write never reached 3
    sender.edit("2", Phone="colleague")
    sender.die_after_apply, sender.sent = set(), []
    with _journal(tmp_path / "j.jsonl", steps) as journal:
        outcomes = execute(steps, sender, journal=journal)
    assert sender.sent == [(0, ["3"])]  # only the provably untouched record
    assert sender.server["2"]["Phone"] == "colleague"  # the colleague's edit stands
    assert outcomes[0].verified == ["1"]
    unknown = [(ids, body) for ids, body in outcomes[0].parts if ids == ["2"]]
    assert unknown[0][1]["data"][0]["code"] == AMBIGUOUS_CODE
    assert unknown[0][1]["data"][0]["status"] == "unknown"
    # a second resume reads nothing and sends nothing: every outcome is on disk
    sender.sent, sender.read_back = [], []
    with _journal(tmp_path / "j.jsonl", steps) as journal:
        again = execute(steps, sender, journal=journal)
    assert (sender.sent, sender.read_back) == ([], [])
    assert sorted(i for ids, _ in again[0].parts for i in ids) + again[0].verified == [
        "2", "3", "1"]


def test_resume_of_a_job_created_unseen_finds_it_or_reads_back(tmp_path: Path) -> None:
    step = Step(0, "bulk_write", ("1", "2"), ("City",), b"zip bytes")
    path = tmp_path / "j.jsonl"
    with _journal(path, [step]) as journal:
        journal.sending(0, ["1", "2"])
        journal.upload(0, "file-1")  # the job may exist; its id never reached the disk
    seen: list[str | None] = []

    class Jobs(FakeSender):
        def send(self, step: Step, ids: Sequence[str], *, job_id: str | None = None,
                 on_job: Callable[[str], None] | None = None,
                 on_upload: Callable[[str], None] | None = None) -> dict[str, Any]:
            seen.append(job_id)
            return _ok(ids)

    found = Jobs()
    found.jobs = {"file-1": "job-9"}
    with _journal(path, [step]) as journal:
        execute([step], found, journal=journal)
    assert (found.found, seen, found.read_back) == (["file-1"], ["job-9"], [])
    with _journal(path, [step]) as journal:
        assert journal.step_state(0).job_id == "job-9"

    # a server without a job listing: the records are read back instead
    path2 = tmp_path / "j2.jsonl"
    with _journal(path2, [step]) as journal:
        journal.sending(0, ["1", "2"])
        journal.upload(0, "file-1")
    unseen = Jobs()
    unseen.server["1"] = {"id": "1", "City": "x"}
    seen.clear()
    with _journal(path2, [step]) as journal:
        outcomes = execute([step], unseen, journal=journal)
    assert unseen.read_back == [(0, ["1", "2"])]
    assert seen == [None]  # a new job, for what provably did not land
    assert outcomes[0].verified == ["1"]  # holds the values: the orphan job wrote it
    assert outcomes[0].parts[-1][0] == ["2"]
