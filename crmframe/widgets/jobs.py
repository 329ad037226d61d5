"""The job panel and :class:`JobMonitor`: Zoho jobs watched live in a notebook.

:class:`JobPanel` is the one rendering of a job (title, status chart, progress bar, state
line) that every widget showing a job uses: the monitor, :class:`~crmframe.widgets.PushPreview`
after a push and :class:`~crmframe.widgets.EditGrid`.

Examples
--------
>>> from crmframe.core.jobs import JobStatus
>>> from crmframe.facade.jobs import Job
>>> job = Job("111111000000541958", "bulk_write")
>>> monitor = JobMonitor(None, [job], start=False)
>>> monitor.panels["111111000000541958"].chart.layout.display  # no empty image yet
'none'
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
from collections.abc import Callable, Iterable
from datetime import timezone
from typing import Any

from crmframe.core.jobs import JobStatus
from crmframe.errors import ConfigurationError, CrmframeError, InputError
from crmframe.facade.jobs import Job
from crmframe.plots import job_chart_png
from crmframe.polling import PollState, WaitPolicy, stop_never, wait_fixed

__all__ = ["JobMonitor", "JobPanel", "ipywidgets_module"]


def ipywidgets_module() -> Any:
    """``ipywidgets``, or a ConfigurationError saying how to install it."""
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


def cost_text(calls: Any, credits: Any) -> list[str]:
    """``["2 calls", "3 credits"]``: the calls and credits of a plan or a push, when known."""
    parts = []
    if calls is not None:
        parts.append(f"{calls:,} call{'s' if calls != 1 else ''}")
    if credits is not None:
        parts.append(f"{credits:g} credit{'s' if credits != 1 else ''}")
    return parts


def _bar_style(status: JobStatus) -> str:
    if status.state == "FAILED":
        return "danger"
    if status.state == "COMPLETED":
        # Records not written are a warning whichever kind of job left them: a mass
        # update's failures and a bulk write's skipped rows alike.
        return "warning" if (status.failed or status.skipped) else "success"
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
        The status chart (:func:`crmframe.plot_job_status`) as PNG; hidden until the
        first status arrives.
    progress : ipywidgets.IntProgress
        ``value`` = records processed, ``max`` = total; ``bar_style`` success, warning
        (completed with records failed or skipped), danger (failed), or info with
        description "pending" while Zoho reports no counts.
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
        # Hidden until the first status: an Image with no bytes shows a broken-image icon.
        self.chart = widgets.Image(
            value=b"", format="png",
            layout=widgets.Layout(display="none", max_width="100%", height="auto"),
        )
        # A description beside a 100%-wide bar overflows the panel (a horizontal
        # scrollbar): the bar takes what is left instead.
        self.progress = widgets.IntProgress(
            value=0, min=0, max=1, description="pending", bar_style="info",
            layout=widgets.Layout(width="auto", max_width="100%"),
            style={"description_width": "initial"},
        )
        self.state = widgets.HTML(value="<i>not polled yet</i>")
        self.error = widgets.HTML(value="")
        self.box = widgets.VBox(
            [self.title, self.chart, self.progress, self.state, self.error],
            layout=widgets.Layout(overflow="hidden", max_width="100%"),
        )
        self.box.add_class("crmframe-job-panel")
        self.shown: JobStatus | None = None

    def show(self, status: JobStatus) -> None:
        """Apply one status to the widgets."""
        if not _same(self.shown, status):
            self.chart.value = job_chart_png(status, dpi=80)
            self.chart.layout.display = None
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
        # data-state lets a page (and the browser test) read the state without parsing text.
        self.state.value = (
            f"<span class='crmframe-job-state' data-state='{status.state}'>"
            f"<b>{status.state}</b>{raw} · {html.escape(_counts_text(status))}{when}</span>"
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
        widgets = ipywidgets_module()
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
        self.widget = widgets.VBox([header, *(panel.box for panel in self.panels.values())],
                                   layout=widgets.Layout(overflow="hidden"))
        self.widget.add_class("crmframe-job-monitor")
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
