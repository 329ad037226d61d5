"""Notebook widgets (ipywidgets): watch jobs live, preview a push and run it.

* :class:`JobMonitor` shows, for each job, its status chart, a progress bar, its state and
  counts, refreshed by a background thread while the notebook stays usable. It only
  consumes :class:`~crmframe.core.jobs.JobStatus` values from ``crm.job(...)``.
* :class:`PushPreview` shows a dry-run plan (routes, calls, credits, per-field counts) with
  a *Push* button; after the push, the results and a :class:`JobMonitor` for its jobs.

ipywidgets is an optional dependency (``pip install "crmframe[notebook]"``); it is
imported when a widget is built, so ``import crmframe`` never needs it.

Examples
--------
>>> from crmframe.core.jobs import JobStatus
>>> from crmframe.facade.jobs import Job
>>> job = Job("111111000000541958", "bulk_write")
>>> monitor = JobMonitor(None, [job], start=False)
>>> monitor.update(JobStatus("bulk_write", "111111000000541958", "RUNNING", "INPROGRESS",
...                          total=100, added=40, updated=0, skipped=10))
>>> bar = monitor.panels["111111000000541958"].progress
>>> bar.value, bar.max, bar.description
(50, 100, 'RUNNING')
"""

from __future__ import annotations

import dataclasses
import html
import threading
from collections.abc import Callable, Iterable, Mapping
from datetime import timezone
from typing import Any

from crmframe.core.jobs import JobStatus
from crmframe.errors import ConfigurationError, CrmframeError, InputError
from crmframe.facade.jobs import Job
from crmframe.plots import job_chart_png
from crmframe.polling import PollState, WaitPolicy, stop_never, wait_fixed

__all__ = ["JobMonitor", "JobPanel", "PushPreview"]


def _ipywidgets() -> Any:
    try:
        import ipywidgets
    except ImportError as exc:
        raise ConfigurationError(
            'crmframe widgets need ipywidgets: pip install "crmframe[notebook]"'
        ) from exc
    return ipywidgets


def _counts_text(status: JobStatus) -> str:
    # A bulk read's one count is its total, said once below.
    parts = [] if status.kind == "bulk_read" else [
        f"{label} {n:,}" for label, n in status.segments() if n is not None
    ]
    if status.total is not None:
        parts.append(f"of {status.total:,}")
    return " · ".join(parts) if parts else "counts not reported yet"


def _processed(status: JobStatus) -> int | None:
    """Records Zoho has dealt with so far, or None when it has not said."""
    if status.kind == "mass_update":
        known = [n for n in (status.updated, status.failed) if n is not None]
    elif status.kind == "bulk_write":
        known = [n for n in (status.added, status.updated, status.skipped) if n is not None]
    else:
        return status.total if status.state == "COMPLETED" else None
    return sum(known) if known else None


def _cost(calls: Any, credits: Any) -> list[str]:
    """``["2 calls", "3 credits"]``: the calls and credits of a plan or a push, when known."""
    parts = []
    if calls is not None:
        parts.append(f"{calls} call{'s' if calls != 1 else ''}")
    if credits is not None:
        parts.append(f"{credits:g} credit{'s' if credits != 1 else ''}")
    return parts


def _bar_style(status: JobStatus) -> str:
    if status.state == "FAILED":
        return "danger"
    if status.state == "COMPLETED":
        return "warning" if status.failed else "success"
    return ""


def _same(a: JobStatus | None, b: JobStatus) -> bool:
    # Two polls with equal counts and state draw the same chart; skip re-rendering it.
    return a is not None and dataclasses.replace(a, observed_at=None) == dataclasses.replace(
        b, observed_at=None
    )


class JobPanel:
    """The widgets of one job inside a :class:`JobMonitor`.

    Attributes
    ----------
    title : ipywidgets.HTML
        Kind, id and module.
    chart : ipywidgets.Image
        The status chart (:func:`crmframe.plot_job_status`) as PNG.
    progress : ipywidgets.IntProgress
        ``value`` = records processed, ``max`` = total; ``bar_style`` success, warning
        (completed with failures), danger (failed), or info with description "pending"
        while Zoho reports no counts.
    state : ipywidgets.HTML
        State, Zoho's word, counts, and when it was observed.
    error : ipywidgets.HTML
        The last polling error for this job (empty once a status arrives).
    box : ipywidgets.VBox
        The five above.
    """

    def __init__(self, job: Job, widgets: Any) -> None:
        self.job = job
        where = f" ({html.escape(job.module)})" if job.module else ""
        self.title = widgets.HTML(
            value=f"<b>{html.escape(job.kind)} {html.escape(job.job_id)}</b>{where}"
        )
        self.chart = widgets.Image(value=b"", format="png", layout=widgets.Layout(width="100%"))
        self.progress = widgets.IntProgress(
            value=0, min=0, max=1, description="pending", bar_style="info",
            layout=widgets.Layout(width="100%"),
        )
        self.state = widgets.HTML(value="<i>not polled yet</i>")
        self.error = widgets.HTML(value="")
        self.box = widgets.VBox([self.title, self.chart, self.progress, self.state, self.error])
        self.shown: JobStatus | None = None

    def show(self, status: JobStatus) -> None:
        """Apply one status to the widgets."""
        if not _same(self.shown, status):
            self.chart.value = job_chart_png(status, dpi=80)
        processed = _processed(status)
        if processed is None or status.total is None:
            self.progress.max = 1
            self.progress.value = 1 if status.state == "COMPLETED" else 0
            self.progress.description = (
                "pending" if status.state in ("SCHEDULED", "RUNNING") else status.state
            )
            self.progress.bar_style = "info" if not status.done else _bar_style(status)
        else:
            # max first: ipywidgets clamps value to the current max.
            self.progress.max = max(status.total, 1)
            self.progress.value = min(processed, self.progress.max)
            self.progress.description = status.state
            self.progress.bar_style = _bar_style(status)
        raw = "" if status.raw_status == status.state else f" ({html.escape(status.raw_status)})"
        when = ""
        if status.observed_at is not None:
            seen = status.observed_at.astimezone(timezone.utc)
            when = f" · observed {seen:%Y-%m-%d %H:%M:%S} UTC"
        self.state.value = (
            f"<b>{status.state}</b>{raw} · {html.escape(_counts_text(status))}{when}"
        )
        self.error.value = ""
        self.shown = status


class JobMonitor:
    """Watch Zoho jobs live in a notebook; polling stops when every job is finished.

    Parameters
    ----------
    crm : CRM or None
        Anything with ``job(job_id, kind, module=...) -> JobStatus``. None shows the jobs
        without polling.
    jobs : Job, JobStatus, or iterable of them
        The jobs to watch (a status is turned into a :class:`~crmframe.facade.jobs.Job`).
    interval : float, default 2.0
        Seconds between polls (each poll of each job costs an API credit).
    policy : WaitPolicy, optional
        Stop and wait rules instead of ``interval`` (e.g. give up after an hour).
    start : bool, default True
        Start the polling thread now.
    thread_factory : callable, default threading.Thread
        Builds the polling thread (tests pass their own).

    Attributes
    ----------
    statuses : dict
        Job id → latest :class:`JobStatus`.
    jobs : list of Job
        With every status seen in ``job.history``.
    widget : ipywidgets.VBox
        What the notebook shows: a header (Refresh button, message) and one panel per job.

    Examples
    --------
    >>> from crmframe.core.jobs import JobStatus
    >>> m = JobMonitor(None, JobStatus("mass_update", "554023000000506003", "FAILED",
    ...     "FAILED", total=50, updated=0, failed=50, not_updated=0, module="Accounts"),
    ...     start=False)
    >>> m.statuses["554023000000506003"].state, m.panels["554023000000506003"].progress.bar_style
    ('FAILED', 'danger')
    >>> m.finished
    True
    """

    def __init__(
        self,
        crm: Any,
        jobs: Job | JobStatus | Iterable[Job | JobStatus],
        interval: float = 2.0,
        *,
        policy: WaitPolicy | None = None,
        start: bool = True,
        thread_factory: Callable[..., threading.Thread] = threading.Thread,
    ) -> None:
        widgets = _ipywidgets()
        self.crm = crm
        self.jobs = self._as_jobs(jobs)
        self._stopped = threading.Event()
        self._lock = threading.RLock()
        # Sleeping on the stop event lets stop() end a long wait at once.
        self.policy = policy or WaitPolicy(
            stop=stop_never, wait=wait_fixed(interval), sleep=self._stopped.wait
        )
        self._thread_factory = thread_factory
        self.thread: threading.Thread | None = None
        self.statuses: dict[str, JobStatus] = {}
        self.panels: dict[str, JobPanel] = {job.job_id: JobPanel(job, widgets) for job in self.jobs}
        self.refresh_button = widgets.Button(
            description="Refresh", icon="refresh", tooltip="Ask Zoho for the jobs' status now",
            disabled=crm is None,
        )
        self.refresh_button.on_click(lambda _button: self.refresh())
        self.message = widgets.HTML(value="")
        header = widgets.HBox([self.refresh_button, self.message])
        self.widget = widgets.VBox([header, *(panel.box for panel in self.panels.values())])
        for job in self.jobs:
            if job.status is not None:
                self._show(job.status)
        self._say(self._summary())
        if start and crm is not None and not self.finished:
            self.start()

    @staticmethod
    def _as_jobs(jobs: Job | JobStatus | Iterable[Job | JobStatus]) -> list[Job]:
        items = [jobs] if isinstance(jobs, (Job, JobStatus)) else list(jobs)
        out: list[Job] = []
        for item in items:
            if isinstance(item, Job):
                out.append(item)
            elif isinstance(item, JobStatus):
                out.append(Job.from_status(item))
            else:
                raise InputError(f"JobMonitor watches Job or JobStatus values, got {item!r}")
        ids = [job.job_id for job in out]
        if len(set(ids)) != len(ids):
            raise InputError("JobMonitor got the same job twice")
        return out

    # -- display -------------------------------------------------------------------------

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)

    def __repr__(self) -> str:
        states = ", ".join(
            f"{job.job_id} {s.state if (s := self.statuses.get(job.job_id)) else 'not polled'}"
            for job in self.jobs
        )
        return f"<JobMonitor {len(self.jobs)} job{'s' if len(self.jobs) != 1 else ''}: {states}>"

    # -- state ---------------------------------------------------------------------------

    @property
    def finished(self) -> bool:
        """True when every job is COMPLETED or FAILED."""
        return all(
            (s := self.statuses.get(job.job_id)) is not None and s.done for job in self.jobs
        )

    def _summary(self) -> str:
        done = sum(1 for s in self.statuses.values() if s.done)
        return f"{done} of {len(self.jobs)} job{'s' if len(self.jobs) != 1 else ''} finished"

    def _say(self, text: str) -> None:
        self.message.value = html.escape(text)

    def _show(self, status: JobStatus) -> None:
        panel = self.panels.get(status.job_id or "")
        if panel is None:
            raise InputError(f"this monitor does not watch job {status.job_id!r}")
        panel.show(status)
        self.statuses[status.job_id or ""] = status

    def update(self, status: JobStatus) -> None:
        """Apply a new status of one watched job: its history, chart, bar and text.

        The one entry point for new information; the polling thread and the Refresh
        button go through it, and tests can drive it directly.
        """
        with self._lock:
            self._show(status)
            job = self.panels[status.job_id or ""].job
            job.history.append(status)
            self._say(self._summary() + (" — done" if self.finished else ""))

    def refresh(self) -> None:
        """Ask for the status of every unfinished job once (one ``crm.job`` call each)."""
        if self.crm is None:
            return
        for job in self.jobs:
            latest = self.statuses.get(job.job_id)
            if latest is not None and latest.done:
                continue
            try:
                status = self.crm.job(job.job_id, job.kind, module=job.module)
            except CrmframeError as exc:
                # Keep watching the other jobs; show what went wrong under this one.
                self.panels[job.job_id].error.value = (
                    f"<span style='color:#d62728'>{html.escape(type(exc).__name__)}: "
                    f"{html.escape(str(exc))}</span>"
                )
                continue
            self.update(status)

    # -- polling thread ------------------------------------------------------------------

    def start(self) -> None:
        """Start polling in a daemon thread (does nothing if it is already running)."""
        if self.crm is None:
            raise InputError("JobMonitor has no crm to poll with")
        if self.thread is not None and self.thread.is_alive():
            return
        self._stopped.clear()
        self.thread = self._thread_factory(
            target=self.run, name="crmframe-job-monitor", daemon=True
        )
        self.thread.start()

    def stop(self) -> None:
        """Stop polling after the current round."""
        self._stopped.set()

    def run(self) -> None:
        """The polling loop: refresh, then wait as the policy says, until all are done."""
        clock = self.policy.clock
        began = clock()
        attempt = 0
        while not self._stopped.is_set():
            try:
                self.refresh()
            except Exception as exc:
                # A thread's exception would vanish into a log; say it where the user looks.
                self._say(f"polling stopped by an error: {type(exc).__name__}: {exc}")
                raise
            attempt += 1
            if self.finished:
                return
            unfinished = [job for job in self.jobs
                          if (s := self.statuses.get(job.job_id)) is None or not s.done]
            first = unfinished[0]
            # Before any answer the rules still need a status to look at.
            current = self.statuses.get(first.job_id) or JobStatus(
                kind=first.kind, job_id=first.job_id, state="SCHEDULED", raw_status=""
            )
            state = PollState(attempt=attempt, elapsed=clock() - began, status=current)
            if self.policy.stop(state):
                self._say(f"stopped polling after {state.elapsed:g}s; " + self._summary())
                return
            self.policy.sleep(self.policy.wait(state))
        self._say("stopped; " + self._summary())


class PushPreview:
    """A dry-run plan with a Push button; after the push, its results and jobs.

    Parameters
    ----------
    plan : Plan
        From ``crm.plan(edited, original)``: ``steps`` (route, ids, fields, n_records,
        payload_bytes, credits), ``calls``, ``credits``, ``summary()``, ``changes``.
    crm : CRM, optional
        Polls the jobs the push starts (a :class:`JobMonitor`).
    push : callable, optional
        Runs the push and returns a ``PushResult`` (``results``, ``failed``, ``calls``,
        ``credits``, ``jobs``). Default ``plan.push()``, else ``crm.push(plan)``; e.g.
        ``push=lambda: crm.push(edited, original)``.
    monitor_options : dict, optional
        Passed to the :class:`JobMonitor` (``interval``, ``policy``, ``start``...).
    background : bool, default False
        Run the push in a daemon thread so the notebook stays usable while a bulk write
        uploads and runs; the widget fills in when it is done.
    thread_factory : callable, default threading.Thread
        Builds that thread (tests pass their own).

    Attributes
    ----------
    widget : ipywidgets.VBox
        Summary, steps table, per-field counts, the button and a message, the results,
        and the jobs' monitor.
    button : ipywidgets.Button
        Disabled once clicked: a push is not repeated by a second click.
    result : PushResult or None
    monitor : JobMonitor or None

    Examples
    --------
    >>> import pandas as pd
    >>> class Plan:
    ...     steps = pd.DataFrame({"route": ["put"], "ids": [["4150868000000225013"]],
    ...         "fields": [["Phone"]], "n_records": [1], "payload_bytes": [80],
    ...         "credits": [1.0]})
    ...     calls, credits = 1, 1.0
    ...     def push(self):
    ...         return None
    >>> preview = PushPreview(Plan())
    >>> preview.summary.value
    '<b>Push plan</b>: 1 call, 1 credit'
    >>> preview.button.description, preview.button.disabled
    ('Push', False)
    """

    def __init__(
        self,
        plan: Any,
        *,
        crm: Any = None,
        push: Callable[[], Any] | None = None,
        monitor_options: Mapping[str, Any] | None = None,
        background: bool = False,
        thread_factory: Callable[..., threading.Thread] = threading.Thread,
    ) -> None:
        widgets = _ipywidgets()
        self.plan = plan
        self.crm = crm
        self._push = push
        self._monitor_options = dict(monitor_options or {})
        self.result: Any = None
        self.monitor: JobMonitor | None = None
        self.thread: threading.Thread | None = None
        self._background = background
        self._thread_factory = thread_factory
        self._claim = threading.Lock()
        self._pushed = False
        self.summary = widgets.HTML(value=self._summary_html())
        self.steps = widgets.HTML(value=self._steps_html())
        self.fields = widgets.HTML(value=self._fields_html())
        self.button = widgets.Button(description="Push", button_style="warning", icon="upload",
                                     tooltip="Send these calls to Zoho")
        self.button.on_click(self._clicked)
        self.message = widgets.HTML(value="")
        self.results = widgets.HTML(value="")
        self.jobs_box = widgets.VBox([])
        self.widget = widgets.VBox([
            self.summary, self.steps, self.fields,
            widgets.HBox([self.button, self.message]), self.results, self.jobs_box,
        ])

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)

    # -- the plan ------------------------------------------------------------------------

    def _summary_html(self) -> str:
        head = _cost(getattr(self.plan, "calls", None), getattr(self.plan, "credits", None))
        summary = getattr(self.plan, "summary", None)
        text = str(summary()) if callable(summary) else ""
        return (
            f"<b>Push plan</b>: {html.escape(', '.join(head) or 'no cost reported')}"
            + (f"<pre>{html.escape(text)}</pre>" if text else "")
        )

    def _steps_html(self) -> str:
        steps = getattr(self.plan, "steps", None)
        if steps is None or len(steps) == 0:
            return "<i>nothing to send</i>"
        shown = steps.copy()
        if "ids" in shown.columns:
            # Hundreds of 19-digit ids say nothing at a glance; their number does.
            if "n_records" not in shown.columns:
                shown["n_records"] = shown["ids"].map(len)
            shown = shown.drop(columns=["ids"])
        if "fields" in shown.columns:
            shown["fields"] = shown["fields"].map(
                lambda f: ", ".join(map(str, f)) if isinstance(f, (list, tuple)) else f
            )
        table: str = shown.to_html(index=False, border=0, classes="crmframe-steps")
        return table

    def _fields_html(self) -> str:
        by_route = getattr(self.plan, "field_counts", None)
        if callable(by_route):
            # Changed cells per field and per route: which route carries which edits.
            counts_table = by_route()
            if len(counts_table):
                table: str = counts_table.to_html(border=0, classes="crmframe-fields")
                return "<b>changed cells per field</b>" + table
        changes = getattr(self.plan, "changes", None)
        counts = getattr(changes, "fields_changed", None)
        if counts is None or len(counts) == 0:
            return ""
        rows = "".join(
            f"<tr><td>{html.escape(str(name))}</td><td>{int(n):,}</td></tr>"
            for name, n in counts.items()
        )
        return (
            "<b>changed cells per field</b><table class='crmframe-fields'><thead><tr>"
            f"<th>field</th><th>changes</th></tr></thead><tbody>{rows}</tbody></table>"
        )

    # -- pushing -------------------------------------------------------------------------

    def _pusher(self) -> Callable[[], Any]:
        if self._push is not None:
            return self._push
        plan_push = getattr(self.plan, "push", None)
        if callable(plan_push):
            return plan_push  # type: ignore[no-any-return]
        crm_push = getattr(self.crm, "push", None)
        if callable(crm_push):
            return lambda: crm_push(self.plan)
        raise InputError("nothing can run this plan: give push=..., or a plan with .push()")

    def _clicked(self, _button: Any) -> None:
        if not self._background:
            self.run()
            return
        self.thread = self._thread_factory(target=self.run, name="crmframe-push", daemon=True)
        self.thread.start()

    def run(self) -> Any:
        """Push (what the button does), then show the results and watch the jobs.

        Pushes at most once, however often it is called or clicked. Returns the
        ``PushResult``, or None when the push raised (the error is shown).
        """
        with self._claim:
            if self._pushed:
                return self.result
            self._pushed = True
        self.button.disabled = True
        self.message.value = "pushing…"
        try:
            result = self._pusher()()
        except CrmframeError as exc:
            self.message.value = (
                f"<span style='color:#d62728'>push failed: {html.escape(type(exc).__name__)}: "
                f"{html.escape(str(exc))}</span>"
            )
            return None
        self.result = result
        self._show_result(result)
        return result

    def _show_result(self, result: Any) -> None:
        failed = getattr(result, "failed", None)
        n_failed = len(failed) if failed is not None else 0
        parts = [f"{n_failed} failed",
                 *_cost(getattr(result, "calls", None), getattr(result, "credits", None))]
        colour = "#d62728" if n_failed else "#2ca02c"
        self.message.value = f"<span style='color:{colour}'>pushed: {', '.join(parts)}</span>"
        frame = getattr(result, "results", None)
        if frame is not None:
            columns = [c for c in ("id", "route", "status", "code", "message")
                       if c in frame.columns]
            self.results.value = frame[columns or list(frame.columns)].to_html(
                border=0, max_rows=50, classes="crmframe-results"
            )
        jobs = list(getattr(result, "jobs", []) or [])
        if jobs:
            self.monitor = JobMonitor(self.crm, jobs, **self._monitor_options)
            self.jobs_box.children = (self.monitor.widget,)
