""":class:`PushPreview`: a push plan with a Push button, then the results and the jobs.

Examples
--------
>>> import pandas as pd
>>> from crmframe.facade.write.result import PushResult
>>> results = pd.DataFrame({"id": ["1", "2", "3"], "route": "put", "call": 0,
...     "fields": [["Phone"]] * 3, "code": ["SUCCESS", "SUCCESS", "INVALID_DATA"],
...     "status": ["success", "success", "error"], "message": "", "details": [{}] * 3})
>>> preview = PushPreview(None, push=lambda: PushResult(results, calls=1, credits=1.0))
>>> preview.run() is preview.result
True
>>> print(preview.message.value)
<span style='color:#d62728'>pushed: 2 records written, 1 failed · 1 call, 1 credit</span>
"""

from __future__ import annotations

import html
import threading
from collections.abc import Callable, Mapping
from typing import Any

from crmframe.errors import CrmframeError, InputError
from crmframe.facade.write.result import record_count
from crmframe.widgets.gridpanel import short_id
from crmframe.widgets.jobs import JobMonitor, cost_text, ipywidgets_module

__all__ = ["PushPreview", "result_message_html", "result_summary_html",
           "unexpected_error_html"]


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
        Summary, steps table, per-field counts, the button and a message, the results
        (records by status and code, then the first failures) and the jobs' monitor.
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
        widgets = ipywidgets_module()
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
        head = cost_text(getattr(self.plan, "calls", None), getattr(self.plan, "credits", None))
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
        except Exception as exc:
            # Not crmframe's: raised on for its traceback, but "pushing…" must not stay on
            # screen (from a background thread the traceback reaches no one who looks).
            self.message.value = unexpected_error_html(exc)
            raise
        self.result = result
        self._show_result(result)
        return result

    def _show_result(self, result: Any) -> None:
        self.message.value = result_message_html(result)
        self.results.value = result_summary_html(result)
        jobs = list(getattr(result, "jobs", []) or [])
        if jobs:
            self.monitor = JobMonitor(self.crm, jobs, **self._monitor_options)
            self.jobs_box.children = (self.monitor.widget,)


#: Rows of failures shown under the summary; the rest are in ``result.failed``.
FAILED_ROWS_SHOWN = 10


def _written(result: Any) -> int:
    frame = getattr(result, "results", None)
    if frame is None or not len(frame):
        return 0
    ok = frame[(frame["status"] == "success").fillna(False).to_numpy(dtype=bool)]
    return record_count(ok["id"])


def _failed_records(result: Any) -> int:
    failed = getattr(result, "failed", None)
    return record_count(failed["id"]) if failed is not None and len(failed) else 0


def unexpected_error_html(exc: BaseException) -> str:
    """The message line after a push raised something that is not a CrmframeError."""
    return (f"<span style='color:#d62728'>push stopped by an unexpected error: "
            f"{html.escape(type(exc).__name__)}: {html.escape(str(exc))} (some records may "
            "have been written: read them back before pushing again)</span>")


def result_message_html(result: Any) -> str:
    """One line: records written and failed, calls and credits, green or red."""
    n_failed = _failed_records(result)
    cost = cost_text(getattr(result, "calls", None), getattr(result, "credits", None))
    written = _written(result)
    text = f"{written:,} record{'s' if written != 1 else ''} written, {n_failed:,} failed"
    if cost:
        text += " · " + ", ".join(cost)
    colour = "#d62728" if n_failed else "#2ca02c"
    return f"<span style='color:{colour}'>pushed: {html.escape(text)}</span>"


def result_summary_html(result: Any) -> str:
    """Records by status and code (``result.summary()``), then the first failed rows.

    A push of thousands of records reads at a glance as a few lines of counts; the
    failures, which need a look, follow with their messages.
    """
    summary = getattr(result, "summary", None)
    if not callable(summary):
        return ""
    counts = summary()
    rows = "".join(
        f"<tr><td>{html.escape(str(r.status))}</td><td>{html.escape(str(r.code))}</td>"
        f"<td style='text-align:right'>{int(r.records):,}</td></tr>"
        for r in counts.itertuples(index=False)
    )
    out = (
        "<table class='crmframe-push-summary'><caption>records by status and code</caption>"
        "<thead><tr><th>status</th><th>code</th><th>records</th></tr></thead>"
        f"<tbody>{rows}</tbody></table>"
    )
    failed = getattr(result, "failed", None)
    if failed is not None and len(failed):
        shown = failed.head(FAILED_ROWS_SHOWN)
        lines = "".join(
            f"<tr><td title='{html.escape(str(r.id))}' style='white-space:nowrap'>"
            f"{html.escape(short_id(r.id))}</td><td>{html.escape(str(r.code))}</td>"
            f"<td>{html.escape(str(r.message))}</td></tr>"
            for r in shown[["id", "code", "message"]].itertuples(index=False)
        )
        more = len(failed) - len(shown)
        out += (
            "<table class='crmframe-push-failures'><caption>failed records"
            + (f" (first {len(shown)} of {len(failed):,}; all in result.failed)" if more else "")
            + "</caption><thead><tr><th>id</th><th>code</th><th>message</th></tr></thead>"
            f"<tbody>{lines}</tbody></table>"
        )
    return out
