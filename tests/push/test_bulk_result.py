"""bulk_write(on_update=...) reports progress; crm.bulk_write_result gets a job's table later."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from crmframe.core.jobs import JobStatus
from crmframe.errors import InputError, JobFailed
from crmframe.facade.jobs import Job

from .helpers import write_calls

pytestmark = pytest.mark.sandbox

COLUMNS = ["id", "STATUS", "RECORD_ID", "ERRORS", "code", "column"]


def _frame(crm: Any, server: Any, rows: slice, city: str) -> tuple[pd.DataFrame, str]:
    """Plain records in an order of their own, one locked record first, one row without id."""
    flagged = server.flagged("Leads")
    locked = next(i for i, why in flagged.items() if why == "locked")
    plain = [i for i in server.ids("Leads") if i not in flagged][rows]
    frame = crm.read_records("Leads", ["City"], ids=[*plain, locked], progress=False)
    frame = frame.loc[[locked, *reversed(plain)]]
    frame["City"] = pd.array([f"{city} {n}" for n in range(len(frame))], dtype="string")
    no_id = frame.iloc[[1]].copy()
    no_id.index = pd.Index([pd.NA], dtype="string", name="id")
    frame = pd.concat([frame, no_id])
    frame.attrs["module"] = "Leads"
    return frame, locked


def _check_aligned(result: pd.DataFrame, frame: pd.DataFrame, locked: str) -> None:
    assert list(result.columns) == COLUMNS
    assert len(result) == len(frame)
    assert result["id"].tolist()[:-1] == frame.index.tolist()[:-1]
    assert (result["STATUS"].iloc[-1], result["code"].iloc[-1]) == ("not_sent", "NO_ID")
    assert result.loc[locked, "STATUS"] != "updated"
    assert set(result["STATUS"].iloc[1:-1]) == {"updated"}
    assert result["RECORD_ID"].iloc[1:-1].tolist() == frame.index.tolist()[1:-1]


def test_bulk_write_reports_each_status_while_it_waits(crm: Any, server: Any) -> None:
    frame, locked = _frame(crm, server, slice(800, 830), "Progress")
    seen: list[JobStatus] = []
    result = crm.bulk_write(frame, "Leads", poll_interval=0.05, on_update=seen.append)
    assert isinstance(result, pd.DataFrame)
    _check_aligned(result, frame, locked)
    assert seen, "on_update was never called"
    assert {s.kind for s in seen} == {"bulk_write"}
    assert {s.job_id for s in seen} == {result.attrs["job"].job_id}
    assert seen[-1].state == "COMPLETED"
    assert seen == list(result.attrs["job"].history)[-len(seen):]


def test_on_update_needs_wait(crm: Any, server: Any) -> None:
    frame, _ = _frame(crm, server, slice(830, 835), "Never")
    server.clear_requests()
    with pytest.raises(InputError, match="wait=False"):
        crm.bulk_write(frame, "Leads", wait=False, on_update=print)
    assert write_calls(server) == []


def test_result_of_a_job_started_without_waiting(crm: Any, server: Any) -> None:
    frame, locked = _frame(crm, server, slice(840, 880), "Later")
    job = crm.bulk_write(frame, wait=False)
    assert isinstance(job, Job)
    status = crm.wait(job, interval=0.05)
    assert status.state == "COMPLETED"

    from_status = crm.bulk_write_result(status, frame)
    _check_aligned(from_status, frame, locked)
    assert from_status.attrs["status"] is status
    assert from_status.attrs["module"] == "Leads"

    server.clear_requests()
    from_job = crm.bulk_write_result(job, frame)  # finished: no status asked again
    assert [r for r in server.requests if r[1].endswith(f"/write/{job.job_id}")] == []
    pd.testing.assert_frame_equal(from_job, from_status)
    assert from_job.attrs["job"] is job

    # a Job with no status seen yet: its status is asked once, then the file is read
    fresh = crm.bulk_write_result(Job(job.job_id, "bulk_write", module="Leads"), frame)
    pd.testing.assert_frame_equal(fresh, from_status)

    # without the frame: the result file's rows, in file order (ids sent once each)
    unaligned = crm.bulk_write_result(status)
    assert list(unaligned.columns) == COLUMNS
    sent = [i for i in frame.index.tolist() if not pd.isna(i)]
    assert unaligned["id"].tolist() == sent
    assert unaligned.set_index("id")["STATUS"].to_dict() == (
        from_status.iloc[:-1].set_index("id")["STATUS"].to_dict())
    for n, rid in enumerate(frame.index[1:-1], start=1):
        assert server.get_record("Leads", rid)["City"] == f"Later {n}"


def test_result_refuses_what_has_no_result(crm: Any) -> None:
    def status(state: str, kind: str = "bulk_write") -> JobStatus:
        return JobStatus(kind=kind, job_id="554023000000506003", state=state,  # type: ignore[arg-type]
                         raw_status=state, module="Leads")

    with pytest.raises(InputError, match="RUNNING: wait for it first"):
        crm.bulk_write_result(status("RUNNING"))
    with pytest.raises(JobFailed, match="failed"):
        crm.bulk_write_result(status("FAILED"))
    with pytest.raises(InputError, match="not a bulk write"):
        crm.bulk_write_result(status("COMPLETED", "mass_update"))
    with pytest.raises(InputError, match="not a bulk write"):
        crm.bulk_write_result(Job("554023000000506003", "mass_update", module="Leads"))
    with pytest.raises(InputError, match="got str"):
        crm.bulk_write_result("554023000000506003")
