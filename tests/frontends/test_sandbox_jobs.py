"""crm.wait, JobMonitor and the charts against the sandbox's mass-update jobs, in sandbox time.

The sandbox runs on a manual clock; the waiting policy's sleep moves that clock, so a job
goes SCHEDULED → RUNNING → COMPLETED through real HTTP in no real time.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from crmframe.core.jobs import job_status
from crmframe.errors import NotFoundError
from crmframe.facade.crm import connect
from crmframe.facade.jobs import Job, JobsMixin
from crmframe.plots import plot_job_progress, save_job_charts
from crmframe.polling import WaitPolicy, stop_after_delay, wait_fixed
from crmframe.widgets import JobMonitor

pytestmark = pytest.mark.sandbox

START = 1_700_000_000.0
RECORDS = 300


class Jobs(JobsMixin):
    """The jobs mixin over a connection, whatever else CRM is composed of."""

    def __init__(self, crm: Any) -> None:
        self.client = crm.client
        self.version = crm.version


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Any]:
    from crmframe.sandbox import start
    from crmframe.sandbox.clock import ManualClock

    clock = ManualClock(START)
    # 20 records per sandbox second after a 3 s delay: a 300-record job takes 18 s.
    with start(records=RECORDS, seed=3, clock=clock, job_speed=20, job_delay=3) as server:
        yield server


@pytest.fixture
def jobs(sandbox: Any) -> Iterator[Jobs]:
    with connect(**sandbox.credentials) as crm:
        yield Jobs(crm)


def sandbox_policy(server: Any, timeout: float = 120, interval: float = 5) -> WaitPolicy:
    clock = server.clock
    return WaitPolicy(
        stop=stop_after_delay(timeout), wait=wait_fixed(interval), sleep=clock.advance,
        clock=clock.now, now=lambda: datetime.fromtimestamp(clock.now(), timezone.utc),
    )


def schedule_mass_update(jobs: Jobs, value: str) -> Job:
    views = jobs.client.request("GET", "settings/custom_views", params={"module": "Leads"})
    all_leads = next(v["id"] for v in views.body["custom_views"] if v["name"] == "All Leads")
    reply = jobs.client.request(
        "POST", "Leads/actions/mass_update",
        json={"data": [{"Designation": value}], "cvid": all_leads},
    )
    return Job.from_status(job_status(reply.body), module="Leads")


def test_wait_follows_a_sandbox_job_to_completion(sandbox: Any, jobs: Jobs,
                                                  tmp_path: Path) -> None:
    job = schedule_mass_update(jobs, "Buyer")
    sandbox.clear_requests()
    final = jobs.wait(job, policy=sandbox_policy(sandbox))

    assert final.state == "COMPLETED"
    assert final.total == RECORDS
    assert (final.updated or 0) + (final.failed or 0) == RECORDS
    polled = job.history[1:]  # the first entry is the "scheduled" answer to the POST
    states = [s.state for s in polled]
    assert states[0] == "SCHEDULED"
    assert "RUNNING" in states
    assert states[-1] == "COMPLETED"
    updated = [s.updated for s in polled]
    assert updated == sorted(updated)  # progress only goes forward
    stamps = [s.observed_at for s in polled]
    assert all(b is not None and a is not None and (b - a).total_seconds() == 5
               for a, b in itertools.pairwise(stamps))
    assert {(m, p) for m, p, _ in sandbox.requests} == {
        ("GET", "/crm/v8/Leads/actions/mass_update")
    }
    assert len(sandbox.requests) == len(polled)

    ax = plot_job_progress(polled)
    line = next(ln for ln in ax.lines if ln.get_gid() == "progress:Updated")
    assert [float(y) for y in line.get_ydata()] == [float(u or 0) for u in updated]
    paths = save_job_charts(polled, tmp_path)
    assert len(paths) == len(polled) + 1
    assert all(p.stat().st_size > 5_000 for p in paths)


def test_job_monitor_polls_the_sandbox_until_done(sandbox: Any, jobs: Jobs) -> None:
    job = schedule_mass_update(jobs, "Owner")
    monitor = JobMonitor(jobs, job, start=False, policy=sandbox_policy(sandbox, interval=4))
    monitor.run()
    assert monitor.finished
    panel = monitor.panels[job.job_id]
    assert panel.progress.max == RECORDS
    assert panel.progress.bar_style in ("success", "warning")
    assert "COMPLETED" in panel.state.value


def test_unknown_job_is_not_found(jobs: Jobs) -> None:
    with pytest.raises(NotFoundError):
        jobs.job("1234567890123456789", module="Leads")
    with pytest.raises(NotFoundError):
        jobs.job("1234567890123456789", "bulk_write")
