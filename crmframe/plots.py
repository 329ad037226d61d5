"""Charts of Zoho jobs with matplotlib: where a job stands, and how it got there.

* :func:`plot_job_status`: one horizontal stacked bar per job, its counts out of the total:
  mass update *Updated / Failed / Not updated*, bulk write *Added / Updated / Skipped*,
  bulk read *Exported*. Counts Zoho has not reported yet are drawn as a hatched *pending*
  bar, never as zero.
* :func:`plot_job_progress`: one job's counts over the time it was watched.
* :func:`save_job_charts`: PNG files of both, e.g. for a report or the demo.

Figures are built with :class:`matplotlib.figure.Figure`, not ``pyplot``: no GUI, no global
state, safe in a thread and on a server. Colours are fixed (:data:`COLORS`), so *Failed* is
the same red in every chart.

Examples
--------
>>> from crmframe.core.jobs import JobStatus
>>> s = JobStatus("mass_update", "554023000000506003", "RUNNING", "RUNNING",
...               total=50, updated=30, failed=0, not_updated=20)
>>> ax = plot_job_status(s)
>>> ax.get_title()
'mass_update 554023000000506003 — RUNNING'
>>> [(p.get_gid(), float(p.get_width())) for p in ax.patches]
[('554023000000506003:Updated', 60.0), ('554023000000506003:Not updated', 40.0)]
>>> [t.get_text() for t in ax.texts]
['30 (60%)', '20 (40%)']
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from matplotlib.figure import Figure
from matplotlib.patches import Patch

from crmframe.core.jobs import JobStatus
from crmframe.errors import InputError
from crmframe.facade.jobs import Job

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = [
    "COLORS",
    "PENDING_HATCH",
    "Segment",
    "job_bar_segments",
    "job_chart_png",
    "plot_job_progress",
    "plot_job_status",
    "save_job_charts",
]

#: Fixed colours by segment label. Failed is always the same red, whatever the job kind.
COLORS: dict[str, str] = {
    "Updated": "#2ca02c",  # mass update: the records it changed
    "Added": "#2ca02c",  # bulk write: new records, the "good" outcome as for mass update
    "Updated (bulk)": "#1f77b4",  # bulk write updates: good but different from inserts
    "Exported": "#1f77b4",
    "Failed": "#d62728",
    "Not updated": "#7f7f7f",
    "Skipped": "#7f7f7f",
    "Pending": "#e6e6e6",
    "Total": "#000000",
}

#: Hatch of the pending part of a bar (counts Zoho has not reported yet).
PENDING_HATCH = "//"

_BAR_HEIGHT = 0.6
_DARK_TEXT = "#222222"


@dataclass(frozen=True)
class Segment:
    """One coloured piece of a job's bar.

    ``left`` and ``width`` are in percent of the job's total, so jobs of any size share an
    axis; ``count`` is the number of records (None when Zoho has not reported it).
    ``pending`` is True for the hatched part whose outcome is not known yet.
    """

    label: str
    count: int | None
    left: float
    width: float
    color: str
    pending: bool
    text: str


def _color(kind: str, label: str) -> str:
    if kind == "bulk_write" and label == "Updated":
        return COLORS["Updated (bulk)"]
    return COLORS.get(label, COLORS["Pending"])


def _percent(part: int, whole: int) -> str:
    if whole <= 0:
        return "0%"
    share = 100.0 * part / whole
    # Never round a few failures down to 0% or an unfinished job up to 100%.
    if 0 < share < 1:
        return "<1%"
    if 99 < share < 100:
        return ">99%"
    return f"{share:.0f}%"


def job_bar_segments(status: JobStatus) -> list[Segment]:
    """The pieces of one job's bar, left to right, in percent of its total.

    This is what :func:`plot_job_status` draws. Zero counts give no piece. Counts Zoho
    has not reported give one hatched *Pending* piece: the whole bar when nothing is
    known, the rest of the total when some counts are.

    Examples
    --------
    >>> from crmframe.core.jobs import JobStatus
    >>> running = JobStatus("bulk_write", "111111000000541958", "RUNNING", "INPROGRESS",
    ...                     total=200, added=80, updated=20, skipped=0)
    >>> [(s.label, s.count, s.left, s.width, s.text) for s in job_bar_segments(running)]
    [('Added', 80, 0.0, 40.0, '80 (40%)'), ('Updated', 20, 40.0, 10.0, '20 (10%)'), ('Pending', 100, 50.0, 50.0, '100 pending (50%)')]
    >>> unknown = JobStatus("bulk_write", "4150868000005392002", "RUNNING", "INPROGRESS")
    >>> [(s.label, s.count, s.width, s.pending, s.text) for s in job_bar_segments(unknown)]
    [('Pending', None, 100.0, True, 'pending (INPROGRESS)')]
    """  # noqa: E501
    known = [(label, n) for label, n in status.segments() if n is not None]
    if not known and status.total is None:
        word = "pending" if status.raw_status in ("", status.state) else (
            f"pending ({status.raw_status})"
        )
        return [Segment("Pending", None, 0.0, 100.0, COLORS["Pending"], True, word)]
    reported = sum(n for _, n in known)
    # Zoho's total normally bounds the counts; if it does not, the bar still ends at 100%.
    whole = max(status.total or 0, reported)
    if whole == 0:
        return []
    segments: list[Segment] = []
    left = 0
    for label, count in known:
        if count == 0:
            continue  # a zero-width patch draws nothing and its label would overlap
        segments.append(Segment(
            label, count, 100.0 * left / whole, 100.0 * count / whole,
            _color(status.kind, label), False, f"{count:,} ({_percent(count, whole)})",
        ))
        left += count
    if reported < whole:
        rest = whole - reported
        segments.append(Segment(
            "Pending", rest, 100.0 * left / whole, 100.0 * rest / whole, COLORS["Pending"],
            True, f"{rest:,} pending ({_percent(rest, whole)})",
        ))
    return segments


def _fits_inside(seg: Segment) -> bool:
    # About 1.3% of the axis per character at font size 8 on the default 8-inch figure.
    return seg.width >= 1.3 * len(seg.text) + 1.0


def _as_statuses(status_or_statuses: Any) -> list[JobStatus]:
    """Observations to draw: a status, a Job's history, or an iterable of statuses."""
    if isinstance(status_or_statuses, JobStatus):
        return [status_or_statuses]
    if isinstance(status_or_statuses, Job):
        items: list[Any] = list(status_or_statuses.history)
    else:
        items = list(status_or_statuses)
    if not items:
        raise InputError("nothing to plot: give a JobStatus, a Job or a list of them")
    bad = [type(s).__name__ for s in items if not isinstance(s, JobStatus)]
    if bad:
        raise InputError(f"expected JobStatus values, got {', '.join(sorted(set(bad)))}")
    return items


def _latest(item: Any) -> JobStatus:
    if isinstance(item, Job):
        # A job not polled yet is drawn as pending, like a job whose counts are unknown.
        return item.status or JobStatus(item.kind, item.job_id, "SCHEDULED", "", module=item.module)
    if not isinstance(item, JobStatus):
        raise InputError(f"expected JobStatus or Job values, got {type(item).__name__}")
    return item


def _current(status_or_statuses: Any) -> list[JobStatus]:
    """One status per job: a status, a Job's latest status, or an iterable of either."""
    if isinstance(status_or_statuses, (JobStatus, Job)):
        return [_latest(status_or_statuses)]
    items = [_latest(item) for item in status_or_statuses]
    if not items:
        raise InputError("nothing to plot: give a JobStatus, a Job or a list of them")
    return items


def _new_axes(width: float, height: float) -> Axes:
    fig = Figure(figsize=(width, height), layout="constrained")
    ax: Axes = fig.add_subplot()
    return ax


def _root_figure(ax: Axes) -> Figure:
    fig = ax.figure
    # A SubFigure cannot be saved on its own; its root Figure can.
    return fig if isinstance(fig, Figure) else fig.figure


def _job_name(status: JobStatus) -> str:
    return f"{status.kind} {status.job_id or '(no id)'}"


def _size(status: JobStatus) -> str:
    if status.total is None:
        return "total not known yet"
    return f"{status.total:,} record{'s' if status.total != 1 else ''}"


def _text_color(color: str) -> str:
    # White on the saturated colours, dark on the light pending grey.
    return _DARK_TEXT if color == COLORS["Pending"] else "white"


def _legend(statuses: list[JobStatus], pending: bool) -> list[Patch]:
    entries: dict[tuple[str, str], str] = {}
    for status in statuses:
        for label, _ in status.segments():
            entries.setdefault((label, _color(status.kind, label)), label)
    labels = list(entries.values())
    handles = []
    for (label, color), text in entries.items():
        if labels.count(label) > 1 and color == COLORS["Updated (bulk)"]:
            text = f"{label} (bulk write)"  # mass and bulk updates side by side
        handles.append(Patch(facecolor=color, label=text))
    if pending:
        handles.append(Patch(facecolor=COLORS["Pending"], edgecolor="#9e9e9e",
                             hatch=PENDING_HATCH, label="Pending"))
    return handles


def plot_job_status(
    status_or_statuses: JobStatus | Job | Iterable[JobStatus | Job], ax: Axes | None = None
) -> Axes:
    """Draw one horizontal stacked bar per job: its counts out of the total.

    Parameters
    ----------
    status_or_statuses : JobStatus, Job, or iterable of them
        One job, or several (one bar each, first at the top). A :class:`Job` is drawn at
        its latest status (pending when not polled yet).
    ax : matplotlib Axes, optional
        Where to draw; default a new :class:`~matplotlib.figure.Figure` (no pyplot).

    Returns
    -------
    matplotlib.axes.Axes
        The x axis is percent of each job's total, so jobs of any size compare. Patches
        carry ``gid`` ``"{job_id}:{label}"``; each is labelled with its count and share
        (texts with the same gid); the title names the job, its state and size.

    Raises
    ------
    InputError
        When given nothing, or something other than ``JobStatus`` values.

    Examples
    --------
    >>> from crmframe.core.jobs import JobStatus
    >>> jobs = [JobStatus("mass_update", "554023000000506003", "FAILED", "FAILED",
    ...                   total=50, updated=0, failed=50, not_updated=0),
    ...         JobStatus("bulk_write", "4150868000005392002", "RUNNING", "INPROGRESS")]
    >>> ax = plot_job_status(jobs)
    >>> ax.get_title()
    '2 jobs: 1 FAILED, 1 RUNNING'
    >>> [(p.get_gid(), float(p.get_width()), str(p.get_hatch() or "")) for p in ax.patches]
    [('554023000000506003:Failed', 100.0, ''), ('4150868000005392002:Pending', 100.0, '//')]
    """
    statuses = _current(status_or_statuses)
    if ax is None:
        ax = _new_axes(8.0, 1.7 + 0.6 * len(statuses))
    any_pending = False
    for row, status in enumerate(statuses):
        segments = job_bar_segments(status)
        if not segments:
            ax.text(0, row, " no records", ha="left", va="center", fontsize=8,
                    color=_DARK_TEXT, gid=f"{status.job_id}:empty")
        above = True
        for seg in segments:
            any_pending = any_pending or seg.pending
            patch = ax.barh(
                row, seg.width, left=seg.left, height=_BAR_HEIGHT, color=seg.color,
                edgecolor="#9e9e9e" if seg.pending else "white", linewidth=0.8,
                hatch=PENDING_HATCH if seg.pending else None,
            ).patches[0]
            patch.set_gid(f"{status.job_id}:{seg.label}")
            centre = seg.left + seg.width / 2
            gid = f"{status.job_id}:{seg.label}"
            if _fits_inside(seg):
                ax.text(centre, row, seg.text, ha="center", va="center", fontsize=8,
                        color=_text_color(seg.color), gid=gid)
                continue
            # Too narrow to hold its label: write it beside the bar, alternating above and
            # below so two narrow neighbours do not overprint.
            offset = _BAR_HEIGHT / 2 + 0.03
            ax.text(centre, row - offset if above else row + offset, seg.text, ha="center",
                    va="bottom" if above else "top", fontsize=7, color=_DARK_TEXT, gid=gid)
            above = not above
    ax.set_yticks(range(len(statuses)))
    # Bottom above top: first job on top, with room around each bar for narrow labels.
    ax.set_ylim(len(statuses) - 1 + 0.85, -0.85)
    ax.set_xlim(0, 100)
    ax.set_xticks([0, 25, 50, 75, 100])
    ax.set_xticklabels(["0%", "25%", "50%", "75%", "100%"])
    ax.set_xlabel("share of the job's records")
    if len(statuses) == 1:
        only = statuses[0]
        ax.set_yticklabels([""])
        ax.tick_params(axis="y", length=0)
        ax.set_title(f"{_job_name(only)} — {only.state}")
        ax.set_ylabel(_size(only), fontsize=8)
    else:
        ax.set_yticklabels([f"{_job_name(s)}\n{s.state}, {_size(s)}" for s in statuses],
                           fontsize=8)
        by_state = {state: sum(s.state == state for s in statuses) for state in
                    ("COMPLETED", "FAILED", "RUNNING", "SCHEDULED")}
        parts = [f"{n} {state}" for state, n in by_state.items() if n]
        ax.set_title(f"{len(statuses)} jobs: {', '.join(parts)}")
    ax.legend(handles=_legend(statuses, any_pending), loc="center left",
              bbox_to_anchor=(1.01, 0.5), fontsize=8, frameon=False)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return ax


def _history_of(history: Any) -> list[JobStatus]:
    statuses = _as_statuses(history)
    ids = {s.job_id for s in statuses}
    if len(ids) > 1:
        shown = ", ".join(sorted(str(i) for i in ids))
        raise InputError(f"a progress chart shows one job; got several job ids: {shown}")
    return statuses


def plot_job_progress(history: Any, ax: Axes | None = None) -> Axes:
    """Draw one job's counts over the time it was watched.

    Parameters
    ----------
    history : JobHistory, list of JobStatus, or Job
        Observations of one job, oldest first (``crm.wait`` keeps them in ``job.history``).
    ax : matplotlib Axes, optional
        Where to draw; default a new Figure.

    Returns
    -------
    matplotlib.axes.Axes
        One line per count (gid ``"progress:{label}"``) plus a dashed *Total* line.
        The x axis is ``observed_at`` (UTC) when every status has it, else the poll number.
        Unknown counts are gaps in the lines, not zeros.

    Examples
    --------
    >>> from crmframe.core.jobs import JobStatus
    >>> h = [JobStatus("mass_update", "554023000000506003", st, st, total=50, updated=u,
    ...                failed=0, not_updated=50 - u)
    ...      for st, u in [("SCHEDULED", 0), ("RUNNING", 30), ("COMPLETED", 50)]]
    >>> ax = plot_job_progress(h)
    >>> ax.get_title()
    'mass_update 554023000000506003 — COMPLETED after 3 polls'
    >>> [(line.get_gid(), [float(y) for y in line.get_ydata()]) for line in ax.lines][:2]
    [('progress:Updated', [0.0, 30.0, 50.0]), ('progress:Failed', [0.0, 0.0, 0.0])]
    """
    statuses = _history_of(history)
    if ax is None:
        ax = _new_axes(8.0, 3.6)
    stamps = [s.observed_at for s in statuses]
    timed = all(isinstance(t, datetime) for t in stamps)
    xs: Sequence[Any] = stamps if timed else list(range(1, len(statuses) + 1))
    first = statuses[-1]
    nan = float("nan")
    for index, (label, _) in enumerate(first.segments()):
        ys = [float(n) if (n := s.segments()[index][1]) is not None else nan for s in statuses]
        ax.plot(xs, ys, marker="o", markersize=4, color=_color(first.kind, label), label=label,
                gid=f"progress:{label}")
    if first.kind != "bulk_read":
        totals = [float(s.total) if s.total is not None else nan for s in statuses]
        ax.plot(xs, totals, linestyle="--", color=COLORS["Total"], linewidth=1, label="Total",
                gid="progress:Total")
    # Mark where the state changed, so a long SCHEDULED wait is visible.
    previous = None
    for x, status in zip(xs, statuses, strict=True):
        if status.state != previous:
            ax.axvline(x, color="#bdbdbd", linewidth=0.8, zorder=0, gid=f"state:{status.state}")
            ax.annotate(status.state, (x, 1.0), xycoords=("data", "axes fraction"),
                        xytext=(2, -2), textcoords="offset points", fontsize=7,
                        va="top", color="#616161", gid=f"state:{status.state}")
            previous = status.state
    if timed:
        from matplotlib.dates import AutoDateLocator, DateFormatter

        ax.xaxis.set_major_locator(AutoDateLocator(tz=timezone.utc))  # type: ignore[no-untyped-call]
        formatter = DateFormatter("%H:%M:%S", tz=timezone.utc)  # type: ignore[no-untyped-call]
        ax.xaxis.set_major_formatter(formatter)
        ax.set_xlabel("observed (UTC)")
    else:
        ax.set_xlabel("poll")
    ax.set_ylabel("records")
    ax.set_ylim(bottom=0)
    polls = f"{len(statuses)} poll{'s' if len(statuses) != 1 else ''}"
    ax.set_title(f"{_job_name(first)} — {first.state} after {polls}")
    ax.legend(fontsize=8, frameon=False, loc="center left", bbox_to_anchor=(1.0, 0.5))
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    return ax


def job_chart_png(
    status_or_statuses: JobStatus | Job | Iterable[JobStatus | Job], *, dpi: int = 100
) -> bytes:
    """The status chart as PNG bytes (what the notebook widget shows).

    Examples
    --------
    >>> from crmframe.core.jobs import JobStatus
    >>> job_chart_png(JobStatus("bulk_write", "1", "RUNNING", "INPROGRESS"))[:4]
    b'\\x89PNG'
    """
    ax = plot_job_status(status_or_statuses)
    buffer = io.BytesIO()
    _root_figure(ax).savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-") or "job"


def save_job_charts(
    statuses: JobStatus | Job | Iterable[JobStatus],
    directory: str | Path,
    *,
    dpi: int = 100,
    progress: bool = True,
) -> list[Path]:
    """Write PNG charts: one status chart per status, and a progress chart per watched job.

    Parameters
    ----------
    statuses : JobStatus, iterable of JobStatus, or Job
        The observations to draw, e.g. a job's history.
    directory : str or Path
        Created if missing.
    dpi : int, default 100
        Resolution; a status chart of one job is 800 x 215 pixels at 100 dpi.
    progress : bool, default True
        Also write ``{kind}_{job_id}_progress.png`` for each job seen at least twice.

    Returns
    -------
    list of Path
        The files written, in order: ``{n:02d}_{kind}_{job_id}_{state}.png`` then progress.

    Examples
    --------
    >>> import tempfile
    >>> from crmframe.core.jobs import JobStatus
    >>> h = [JobStatus("mass_update", "554023000000506003", st, st, total=50, updated=u)
    ...      for st, u in [("RUNNING", 30), ("COMPLETED", 50)]]
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     [p.name for p in save_job_charts(h, tmp)]
    ['01_mass_update_554023000000506003_RUNNING.png', '02_mass_update_554023000000506003_COMPLETED.png', 'mass_update_554023000000506003_progress.png']
    """  # noqa: E501
    items = _as_statuses(statuses)
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    for number, status in enumerate(items, start=1):
        name = _slug(f"{number:02d}_{status.kind}_{status.job_id}_{status.state}") + ".png"
        ax = plot_job_status(status)
        _root_figure(ax).savefig(folder / name, dpi=dpi)
        written.append(folder / name)
    if progress:
        by_job: dict[tuple[str, str | None], list[JobStatus]] = {}
        for status in items:
            by_job.setdefault((status.kind, status.job_id), []).append(status)
        for (kind, job_id), seen in by_job.items():
            if len(seen) < 2:
                continue
            name = _slug(f"{kind}_{job_id}_progress") + ".png"
            ax = plot_job_progress(seen)
            _root_figure(ax).savefig(folder / name, dpi=dpi)
            written.append(folder / name)
    return written
