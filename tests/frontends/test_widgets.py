"""JobMonitor and PushPreview: widget state after scripted statuses, polling, the Push button."""

from __future__ import annotations

import sys
import threading
from typing import Any

import ipywidgets
import pandas as pd
import pytest

from crmframe.core.jobs import JobStatus
from crmframe.errors import ConfigurationError, InputError, NotFoundError, ValidationError
from crmframe.facade.jobs import Job
from crmframe.facade.write.result import PushResult
from crmframe.polling import WaitPolicy, stop_after_attempt, wait_fixed
from crmframe.widgets import JobMonitor, PushPreview
from crmframe.widgets.push import result_message_html, result_summary_html

from .conftest import MASS_UPDATE_JOB_ID, FakeTime

BULK_ID = "111111000000541958"
PNG = b"\x89PNG"


class FakeCRM:
    """``job()`` answers each job from its own script; the last status repeats."""

    def __init__(self, scripts: dict[str, list[JobStatus | Exception]]) -> None:
        self.scripts = scripts
        self.calls: list[tuple[str, str, str | None]] = []
        self._lock = threading.Lock()

    def job(self, job_id: str, kind: str = "mass_update", *, module: str | None = None) -> Any:
        with self._lock:
            self.calls.append((job_id, kind, module))
            script = self.scripts[job_id]
            seen = sum(1 for c in self.calls if c[0] == job_id)
            answer = script[min(seen, len(script)) - 1]
        if isinstance(answer, Exception):
            raise answer
        return answer


def mass_job() -> Job:
    return Job(MASS_UPDATE_JOB_ID, "mass_update", module="Accounts")


# ---------------------------------------------------------------------------- update()


def test_layout_before_any_status() -> None:
    monitor = JobMonitor(None, [mass_job(), Job(BULK_ID, "bulk_write")], start=False)
    header, *boxes = monitor.widget.children
    assert isinstance(header, ipywidgets.HBox)
    button, message = header.children
    assert button.description == "Refresh"
    assert button.disabled  # no crm: nothing to refresh with
    assert message.value == "0 of 2 jobs finished"
    assert len(boxes) == 2
    first = monitor.panels[MASS_UPDATE_JOB_ID]
    assert boxes[0] is first.box
    assert first.title.value == f"<b>mass_update {MASS_UPDATE_JOB_ID}</b> (Accounts)"
    assert list(first.box.children) == [first.title, first.chart, first.progress, first.state,
                                        first.error]
    assert (first.progress.value, first.progress.max) == (0, 1)
    assert (first.progress.description, first.progress.bar_style) == ("pending", "info")
    assert first.state.value == "<i>not polled yet</i>"
    assert monitor.statuses == {}
    assert not monitor.finished


def test_update_scheduled_running_completed(
    mass_update_statuses: dict[str, JobStatus],
) -> None:
    job = mass_job()
    monitor = JobMonitor(None, job, start=False)
    panel = monitor.panels[MASS_UPDATE_JOB_ID]
    charts: list[bytes] = []

    monitor.update(mass_update_statuses["scheduled"])
    assert (panel.progress.value, panel.progress.max) == (0, 50)
    assert (panel.progress.description, panel.progress.bar_style) == ("SCHEDULED", "")
    assert "data-state='SCHEDULED'><b>SCHEDULED</b> · " in panel.state.value
    assert "Not processed yet 50 · of 50" in panel.state.value
    charts.append(bytes(panel.chart.value))

    monitor.update(mass_update_statuses["running"])
    assert (panel.progress.value, panel.progress.max) == (30, 50)
    assert (panel.progress.description, panel.progress.bar_style) == ("RUNNING", "")
    assert "Updated 30 · Failed 0 · Not processed yet 20 · of 50" in panel.state.value
    assert monitor.message.value == "0 of 1 job finished"
    charts.append(bytes(panel.chart.value))

    monitor.update(mass_update_statuses["completed"])
    assert (panel.progress.value, panel.progress.max) == (50, 50)
    assert (panel.progress.description, panel.progress.bar_style) == ("COMPLETED", "success")
    assert monitor.message.value == "1 of 1 job finished — done"
    charts.append(bytes(panel.chart.value))

    assert all(c.startswith(PNG) for c in charts)
    assert len(set(charts)) == 3  # redrawn at each change
    assert monitor.finished
    assert monitor.statuses[MASS_UPDATE_JOB_ID].state == "COMPLETED"
    assert [s.state for s in job.history] == ["SCHEDULED", "RUNNING", "COMPLETED"]
    assert repr(monitor) == f"<JobMonitor 1 job: {MASS_UPDATE_JOB_ID} COMPLETED>"


def test_failed_job_is_red(mass_update_statuses: dict[str, JobStatus]) -> None:
    monitor = JobMonitor(None, mass_job(), start=False)
    monitor.update(mass_update_statuses["failed"])
    bar = monitor.panels[MASS_UPDATE_JOB_ID].progress
    assert (bar.value, bar.max, bar.description, bar.bar_style) == (50, 50, "FAILED", "danger")


def test_completed_with_failures_is_a_warning() -> None:
    monitor = JobMonitor(None, mass_job(), start=False)
    monitor.update(JobStatus("mass_update", MASS_UPDATE_JOB_ID, "COMPLETED", "COMPLETED",
                             total=10, updated=8, failed=2, not_updated=0))
    bar = monitor.panels[MASS_UPDATE_JOB_ID].progress
    assert (bar.value, bar.bar_style) == (10, "warning")


def test_bulk_write_pending_then_counts(bulk_write_statuses: dict[str, JobStatus]) -> None:
    monitor = JobMonitor(None, Job(BULK_ID, "bulk_write"), start=False)
    panel = monitor.panels[BULK_ID]

    monitor.update(bulk_write_statuses["added"])
    assert (panel.progress.value, panel.progress.max) == (0, 1)
    assert (panel.progress.description, panel.progress.bar_style) == ("pending", "info")
    assert "<b>SCHEDULED</b> (ADDED) · counts not reported yet" in panel.state.value

    monitor.update(bulk_write_statuses["inprogress"])
    assert (panel.progress.value, panel.progress.max) == (100, 100)
    assert (panel.progress.description, panel.progress.bar_style) == ("RUNNING", "")
    assert "Added 0 · Updated 0 · Skipped 100 · of 100" in panel.state.value

    monitor.update(bulk_write_statuses["completed"])
    # Zoho's sample job skipped all 100 records: finished, but nothing written.
    assert (panel.progress.description, panel.progress.bar_style) == ("COMPLETED", "warning")


def test_chart_is_not_redrawn_for_an_unchanged_status(
    monkeypatch: pytest.MonkeyPatch, mass_update_statuses: dict[str, JobStatus]
) -> None:
    drawn: list[JobStatus] = []

    def fake_png(status: JobStatus, *, dpi: int = 100) -> bytes:
        drawn.append(status)
        return PNG + bytes([len(drawn)])

    monkeypatch.setattr("crmframe.widgets.jobs.job_chart_png", fake_png)
    monitor = JobMonitor(None, mass_job(), start=False)
    running = mass_update_statuses["running"]
    from datetime import datetime, timezone

    monitor.update(running.with_observed_at(datetime(2026, 1, 1, tzinfo=timezone.utc)))
    monitor.update(running.with_observed_at(datetime(2026, 1, 2, tzinfo=timezone.utc)))
    assert len(drawn) == 1
    assert "observed 2026-01-02 00:00:00 UTC" in monitor.panels[MASS_UPDATE_JOB_ID].state.value


def test_jobs_with_history_show_their_latest_status(
    mass_update_statuses: dict[str, JobStatus],
) -> None:
    job = Job(MASS_UPDATE_JOB_ID, module="Accounts",
              history=[mass_update_statuses["running"]])
    monitor = JobMonitor(FakeCRM({}), job, start=False)
    assert monitor.statuses[MASS_UPDATE_JOB_ID].updated == 30
    assert monitor.panels[MASS_UPDATE_JOB_ID].progress.value == 30
    assert len(job.history) == 1  # shown, not recorded twice


@pytest.mark.parametrize(
    "jobs",
    [["554023000000506003"], [mass_job(), mass_job()]],
)
def test_bad_jobs_are_refused(jobs: list[Any]) -> None:
    with pytest.raises(InputError):
        JobMonitor(None, jobs, start=False)


def test_update_for_an_unknown_job_is_refused(bulk_write_statuses: dict[str, JobStatus]) -> None:
    monitor = JobMonitor(None, mass_job(), start=False)
    with pytest.raises(InputError, match=BULK_ID):
        monitor.update(bulk_write_statuses["completed"])


def test_displays_as_a_widget() -> None:
    monitor = JobMonitor(None, mass_job(), start=False)
    bundle = monitor._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert bundle["application/vnd.jupyter.widget-view+json"]["model_id"] == (
        monitor.widget.model_id
    )


# ---------------------------------------------------------------------------- polling


def fake_policy(fake_time: FakeTime, **kwargs: Any) -> WaitPolicy:
    return WaitPolicy(sleep=fake_time.sleep, clock=fake_time.clock, now=fake_time.wall,
                      **kwargs)


def test_run_polls_until_terminal_then_stops(
    mass_update_statuses: dict[str, JobStatus],
    bulk_write_statuses: dict[str, JobStatus],
    fake_time: FakeTime,
) -> None:
    crm = FakeCRM({
        MASS_UPDATE_JOB_ID: [mass_update_statuses[s]
                             for s in ("scheduled", "running", "completed")],
        BULK_ID: [bulk_write_statuses[s] for s in ("added", "inprogress", "inprogress",
                                                    "completed")],
    })
    monitor = JobMonitor(crm, [mass_job(), Job(BULK_ID, "bulk_write")], start=False,
                         policy=fake_policy(fake_time, wait=wait_fixed(5)))
    monitor.run()
    assert monitor.finished
    # The finished mass update is not asked again while the bulk write still runs.
    assert [c[0] for c in crm.calls].count(MASS_UPDATE_JOB_ID) == 3
    assert [c[0] for c in crm.calls].count(BULK_ID) == 4
    assert crm.calls[0] == (MASS_UPDATE_JOB_ID, "mass_update", "Accounts")
    assert crm.calls[1] == (BULK_ID, "bulk_write", None)
    assert fake_time.naps == [5.0, 5.0, 5.0]
    assert monitor.message.value == "2 of 2 jobs finished — done"
    # Nothing more to ask: a refresh makes no call.
    monitor.refresh()
    assert len(crm.calls) == 7


def test_policy_stop_rule_ends_polling(mass_update_statuses: dict[str, JobStatus],
                                       fake_time: FakeTime) -> None:
    crm = FakeCRM({MASS_UPDATE_JOB_ID: [mass_update_statuses["running"]]})
    monitor = JobMonitor(crm, mass_job(), start=False,
                         policy=fake_policy(fake_time, stop=stop_after_attempt(3)))
    monitor.run()
    assert len(crm.calls) == 3
    assert not monitor.finished
    assert monitor.message.value == "stopped polling after 4s; 0 of 1 job finished"


def test_errors_show_under_the_job_and_polling_goes_on(
    mass_update_statuses: dict[str, JobStatus], fake_time: FakeTime
) -> None:
    crm = FakeCRM({MASS_UPDATE_JOB_ID: [
        NotFoundError("NOT_FOUND", "Empty response", http_status=404),
        mass_update_statuses["completed"],
    ]})
    monitor = JobMonitor(crm, mass_job(), start=False, policy=fake_policy(fake_time))
    panel = monitor.panels[MASS_UPDATE_JOB_ID]
    monitor.refresh()
    assert "NotFoundError" in panel.error.value
    assert "NOT_FOUND" in panel.error.value
    monitor.run()
    assert monitor.finished
    assert panel.error.value == ""


def test_stop_ends_the_loop(mass_update_statuses: dict[str, JobStatus]) -> None:
    crm = FakeCRM({MASS_UPDATE_JOB_ID: [mass_update_statuses["running"]]})
    holder: dict[str, JobMonitor] = {}
    policy = WaitPolicy(sleep=lambda _s: holder["m"].stop())
    monitor = JobMonitor(crm, mass_job(), start=False, policy=policy)
    holder["m"] = monitor
    monitor.run()
    assert len(crm.calls) == 1
    assert monitor.message.value == "stopped; 0 of 1 job finished"


def test_refresh_button_asks_once(mass_update_statuses: dict[str, JobStatus]) -> None:
    crm = FakeCRM({MASS_UPDATE_JOB_ID: [mass_update_statuses["running"]]})
    monitor = JobMonitor(crm, mass_job(), start=False)
    assert not monitor.refresh_button.disabled
    monitor.refresh_button.click()
    assert len(crm.calls) == 1
    assert monitor.panels[MASS_UPDATE_JOB_ID].progress.value == 30
    assert monitor.thread is None


def test_background_thread_polls_and_stops_at_terminal_state(
    mass_update_statuses: dict[str, JobStatus],
) -> None:
    crm = FakeCRM({MASS_UPDATE_JOB_ID: [mass_update_statuses[s]
                                        for s in ("scheduled", "running", "completed")]})
    # interval=0: the thread waits on its stop event for zero seconds, no real sleeping.
    monitor = JobMonitor(crm, mass_job(), interval=0)
    assert monitor.thread is not None
    assert monitor.thread.daemon
    monitor.thread.join(timeout=30)  # a safety net against a hang, not a speed check
    assert not monitor.thread.is_alive()
    assert monitor.finished
    assert len(crm.calls) == 3
    assert monitor.panels[MASS_UPDATE_JOB_ID].progress.bar_style == "success"
    monitor.start()  # a finished monitor starts a thread that ends at once...
    monitor.thread.join(timeout=30)
    assert len(crm.calls) == 3  # ...without asking Zoho again


def test_thread_factory_is_used(mass_update_statuses: dict[str, JobStatus]) -> None:
    made: list[dict[str, Any]] = []

    class NoThread(threading.Thread):
        def start(self) -> None:
            made.append({"name": self.name, "daemon": self.daemon})

    crm = FakeCRM({MASS_UPDATE_JOB_ID: [mass_update_statuses["running"]]})
    JobMonitor(crm, mass_job(), thread_factory=NoThread)
    assert made == [{"name": "crmframe-job-monitor", "daemon": True}]
    assert crm.calls == []


def test_start_without_crm_is_refused() -> None:
    monitor = JobMonitor(None, mass_job(), start=False)
    with pytest.raises(InputError, match="no crm"):
        monitor.start()


def test_missing_ipywidgets_says_how_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ipywidgets", None)
    with pytest.raises(ConfigurationError, match=r'pip install "crmframe\[notebook\]"'):
        JobMonitor(None, mass_job(), start=False)


# ---------------------------------------------------------------------------- PushPreview


class FakeChanges:
    fields_changed = pd.Series({"Phone": 3, "Lead_Status": 120}, name="records")


def FakeResult(jobs: list[Job]) -> PushResult:
    return PushResult(pd.DataFrame({
        "id": pd.array(["4150868000000225013", "4150868000000225014"], dtype="string"),
        "route": ["put", "put"], "status": ["success", "error"],
        "code": ["SUCCESS", "RECORD_LOCKED"], "message": ["record updated", "locked"],
    }), calls=2, credits=3.0, jobs=jobs)


class FakePlan:
    def __init__(self, result: Any = None, error: Exception | None = None) -> None:
        self.steps = pd.DataFrame({
            "route": ["put", "mass_update"],
            "ids": [["4150868000000225013", "4150868000000225014"], ["1"] * 120],
            "fields": [["Phone"], ["Lead_Status"]],
            "n_records": [2, 120],
            "payload_bytes": [310, 420],
            "credits": [1.0, 2.0],
        })
        self.calls = 2
        self.credits = 3.0
        self.changes = FakeChanges()
        self.pushes = 0
        self._result = result
        self._error = error

    def summary(self) -> str:
        return "2 calls, 3 credits: put 2 records, mass_update 120 records"

    def push(self) -> Any:
        self.pushes += 1
        if self._error is not None:
            raise self._error
        return self._result


def test_preview_shows_the_plan() -> None:
    preview = PushPreview(FakePlan())
    summary, steps, fields, actions, results, jobs_box = preview.widget.children
    assert summary.value.startswith("<b>Push plan</b>: 2 calls, 3 credits")
    assert "put 2 records, mass_update 120 records" in summary.value
    for text in ("put", "mass_update", "Phone", "Lead_Status", "payload_bytes", "120"):
        assert text in steps.value
    assert "4150868000000225013" not in steps.value  # ids are counted, not listed
    assert "<td>Lead_Status</td><td>120</td>" in fields.value
    assert "<td>Phone</td><td>3</td>" in fields.value
    button, message = actions.children
    assert button is preview.button
    assert (button.description, button.disabled) == ("Push", False)
    assert message.value == ""
    assert results.value == ""
    assert jobs_box.children == ()


def test_push_button_runs_the_plan_and_shows_results_and_jobs(
    mass_update_statuses: dict[str, JobStatus],
) -> None:
    job = mass_job()
    plan = FakePlan(FakeResult([job]))
    crm = FakeCRM({MASS_UPDATE_JOB_ID: [mass_update_statuses["completed"]]})
    preview = PushPreview(plan, crm=crm, monitor_options={"start": False})
    preview.button.click()
    assert plan.pushes == 1
    assert preview.button.disabled
    assert "pushed: 1 record written, 1 failed · 2 calls, 3 credits" in preview.message.value
    assert "4150868000000225014" in preview.results.value
    assert "RECORD_LOCKED" in preview.results.value
    assert preview.monitor is not None
    assert preview.jobs_box.children == (preview.monitor.widget,)
    assert preview.monitor.jobs == [job]
    preview.monitor.refresh()
    assert preview.monitor.finished
    preview.button.click()  # disabled: a second click pushes nothing
    assert plan.pushes == 1


def test_push_errors_are_shown_not_raised() -> None:
    plan = FakePlan(error=ValidationError("2 edits do not fit the field metadata"))
    preview = PushPreview(plan)
    assert preview.run() is None
    assert "push failed: ValidationError: 2 edits do not fit" in preview.message.value
    assert preview.result is None
    assert preview.monitor is None


def test_an_unexpected_push_error_is_shown_then_raised() -> None:
    # Anything but a CrmframeError left "pushing…" on screen for good (in a background
    # thread the traceback went to the server's log only).
    plan = FakePlan(error=ConnectionResetError("connection reset by peer"))
    preview = PushPreview(plan)
    with pytest.raises(ConnectionResetError):
        preview.run()
    assert "push stopped by an unexpected error: ConnectionResetError: connection reset" in (
        preview.message.value)
    assert "pushing…" not in preview.message.value
    assert preview.button.disabled  # it may have written part: no second push from here
    assert preview.run() is None
    assert plan.pushes == 1


def test_push_callable_and_crm_push_fallbacks() -> None:
    result = FakeResult([])
    calls: list[str] = []

    def push() -> FakeResult:
        calls.append("push")
        return result

    assert PushPreview(FakePlan(), push=push).run() is result
    assert calls == ["push"]

    class PlanWithoutPush:
        steps = FakePlan().steps
        calls, credits = 2, 3.0

    class CRMWithPush:
        def push(self, plan: Any) -> FakeResult:
            calls.append(type(plan).__name__)
            return result

    plan = PlanWithoutPush()
    preview = PushPreview(plan, crm=CRMWithPush())
    assert preview.run() is result
    assert calls == ["push", "PlanWithoutPush"]
    assert preview.jobs_box.children == ()

    lonely = PushPreview(PlanWithoutPush())
    assert lonely.run() is None
    assert "nothing can run this plan" in lonely.message.value


def test_background_push_keeps_the_notebook_free() -> None:
    plan = FakePlan(FakeResult([]))
    preview = PushPreview(plan, background=True)
    preview.button.click()
    assert preview.thread is not None
    assert preview.thread.daemon
    preview.thread.join(timeout=30)  # a safety net against a hang, not a speed check
    assert not preview.thread.is_alive()
    assert plan.pushes == 1
    assert "1 failed · 2 calls, 3 credits" in preview.message.value
    preview.button.click()
    preview.thread.join(timeout=30)
    assert plan.pushes == 1  # the second thread found the push done


def test_preview_of_a_real_plan() -> None:
    from crmframe.core.diff import ChangeSet
    from crmframe.core.plan import make_plan

    ids = [str(3652397000000000000 + i) for i in range(580)]
    changes = pd.concat([
        pd.DataFrame({"id": ids, "field": "Lead_Status", "old": "New", "new": "Contacted"}),
        pd.DataFrame({"id": ids[:3], "field": "Phone", "old": "1", "new": "2"}),
    ], ignore_index=True)
    meta = [{"api_name": "Lead_Status", "data_type": "picklist", "mass_update": True},
            {"api_name": "Phone", "data_type": "phone", "mass_update": False}]
    plan = make_plan(ChangeSet(changes=changes), meta, "Leads")
    preview = PushPreview(plan, push=lambda: FakeResult([]))
    assert preview.summary.value.startswith(
        f"<b>Push plan</b>: {plan.calls} calls, {plan.credits} credits"
    )
    assert "Plan for Leads" in preview.summary.value
    for route in plan.steps["route"]:
        assert f"<td>{route}</td>" in preview.steps.value
    assert ids[0] not in preview.steps.value
    assert "<th>Lead_Status</th>" in preview.fields.value
    assert "<th>Phone</th>" in preview.fields.value
    preview.button.click()
    assert "1 failed · 2 calls, 3 credits" in preview.message.value


# ---------------------------------------------------------------------------- looks


def test_no_empty_image_before_the_first_status() -> None:
    monitor = JobMonitor(None, mass_job(), start=False)
    chart = monitor.panels[MASS_UPDATE_JOB_ID].chart
    # An Image with no bytes is a broken-image icon in the browser: hidden until drawn.
    assert chart.value == b""
    assert chart.layout.display == "none"
    monitor.update(JobStatus("mass_update", MASS_UPDATE_JOB_ID, "RUNNING", "RUNNING",
                             total=50, updated=10, failed=0, not_updated=40))
    assert chart.value[:4] == b"\x89PNG"
    assert chart.layout.display is None


def test_records_not_written_are_a_warning_whatever_the_kind() -> None:
    skipped = JobStatus("bulk_write", "111111000000541958", "COMPLETED", "COMPLETED",
                        total=100, added=0, updated=95, skipped=5)
    failed = JobStatus("mass_update", MASS_UPDATE_JOB_ID, "COMPLETED", "COMPLETED",
                       total=100, updated=98, failed=2, not_updated=0, module="Leads")
    clean = JobStatus("bulk_write", "111111000000541959", "COMPLETED", "COMPLETED",
                      total=100, added=0, updated=100, skipped=0)
    monitor = JobMonitor(None, [skipped, failed, clean], start=False)
    styles = [monitor.panels[s.job_id or ""].progress.bar_style
              for s in (skipped, failed, clean)]
    assert styles == ["warning", "warning", "success"]


def test_push_message_counts_failed_inserts_that_have_no_id() -> None:
    result = PushResult(pd.DataFrame({
        "id": [None, "4876876000000100136", None, None], "route": "insert",
        "status": ["error", "success", "error", "error"],
        "code": ["DUPLICATE_DATA", "SUCCESS", "DUPLICATE_DATA", "INVALID_DATA"],
        "message": ["duplicate data", "record added", "duplicate data", "invalid data"],
    }), calls=1, credits=1.0)
    assert "pushed: 1 record written, 3 failed" in result_message_html(result)
    assert "<td>error</td><td>DUPLICATE_DATA</td><td style='text-align:right'>2</td>" in (
        result_summary_html(result))


def test_push_results_are_a_summary_by_status_and_code_not_a_dump() -> None:
    n = 300
    ids = [f"41508680000002{i:05d}" for i in range(n)]
    statuses = ["success"] * (n - 2) + ["error", "error"]
    codes = ["SUCCESS"] * (n - 2) + ["RECORD_LOCKED", "INVALID_DATA"]
    result = PushResult(pd.DataFrame({
        "id": ids, "route": "put", "status": statuses, "code": codes,
        "message": ["record updated"] * (n - 2) + ["locked", "bad value"],
    }), calls=3, credits=30.0)
    preview = PushPreview(FakePlan(result))
    preview.run()
    shown = preview.results.value
    assert "records by status and code" in shown
    assert "<td>success</td><td>SUCCESS</td><td style='text-align:right'>298</td>" in shown
    # The two failures are listed with their messages; the 298 successes are not.
    assert ids[-1] in shown
    assert ids[-2] in shown
    assert ids[0] not in shown
    assert "pushed: 298 records written, 2 failed · 3 calls, 30 credits" in (
        preview.message.value)
