"""Charts of Zoho jobs with matplotlib: where a job stands, and how it got there.

* :func:`plot_job_status`: one horizontal stacked bar per job, its counts out of the total:
  mass update *Updated / Failed / Not processed yet*, bulk write *Added / Updated /
  Skipped*, bulk read *Exported*. Counts Zoho has not reported yet are drawn as a hatched
  *pending* bar, never as zero.
* :func:`plot_job_progress`: one job's counts over the time it was watched.
* :func:`save_job_charts`: PNG files of both, e.g. for a report or the demo.

Figures are built with :class:`matplotlib.figure.Figure`, not ``pyplot``: no GUI, no global
state, safe in a thread and on a server. Colours are fixed per outcome (:data:`COLORS`),
so *Failed* is the same red and *Updated* the same blue in every chart, whatever the kind.

Examples
--------
>>> from crmframe.core.jobs import JobStatus
>>> s = JobStatus("mass_update", "554023000000506003", "RUNNING", "RUNNING",
...               total=50, updated=30, failed=0, not_updated=20)
>>> ax = plot_job_status(s)
>>> ax.get_title()
'mass_update 554023000000506003 — RUNNING'
>>> [(p.get_gid(), float(p.get_width())) for p in ax.patches]
[('554023000000506003:Updated', 60.0), ('554023000000506003:Not processed yet', 40.0)]
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
from matplotlib.font_manager import FontProperties
from matplotlib.patches import Patch
from matplotlib.textpath import TextToPath
from matplotlib.ticker import FuncFormatter, MaxNLocator

from crmframe.core.jobs import JobStatus
from crmframe.errors import InputError
from crmframe.facade.jobs import Job

if TYPE_CHECKING:
    from matplotlib.axes import Axes

__all__ = [
    "COLORS",
    "PENDING_HATCH",
    "PENDING_LABELS",
    "Segment",
    "job_bar_segments",
    "job_chart_png",
    "job_progress_png",
    "plot_job_progress",
    "plot_job_status",
    "save_job_charts",
]

#: One colour per outcome, the same in every kind of job, chart, widget and report: an
#: added record is green and an updated one blue whether a mass update or a bulk write did
#: it; skipped is amber and failed red (both "not written"); what is not known or not
#: reached yet is light grey and hatched.
COLORS: dict[str, str] = {
    "Added": "#2ca02c",
    "Updated": "#1f77b4",
    "Not updated": "#7f7f7f",
    "Skipped": "#ff9f1c",
    "Failed": "#d62728",
    "Exported": "#17becf",
    "Pending": "#e6e6e6",
    "Not processed yet": "#e6e6e6",
    "Total": "#000000",
}

#: Labels drawn hatched: outcomes not known yet, or records a job has not reached yet.
PENDING_LABELS = frozenset({"Pending", "Not processed yet"})

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
    # ``kind`` stays in the signature: colours do not depend on it, on purpose.
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
            _color(status.kind, label), label in PENDING_LABELS,
            f"{count:,} ({_percent(count, whole)})",
        ))
        left += count
    if reported < whole:
        rest = whole - reported
        segments.append(Segment(
            "Pending", rest, 100.0 * left / whole, 100.0 * rest / whole, COLORS["Pending"],
            True, f"{rest:,} pending ({_percent(rest, whole)})",
        ))
    return segments


#: Font sizes of the labels inside a bar piece and beside it.
_INSIDE_FONT = 8.0
_BESIDE_FONT = 7.0
#: Points between two labels beside a bar, and between a label and its bar.
_GAP_PT = 6.0
_LIFT_PT = 2.0
#: Share of the axes' width before layout that the bars are assumed to get after it. The
#: layout makes room for tick labels and the legend; guessing the width too small only sends
#: a label beside its piece or packs neighbours earlier, never makes two labels overprint.
_WIDTH_GUESS = 0.6

_TEXT_TO_PATH = TextToPath()


def _text_width_pt(text: str, size: float) -> float:
    """Width of ``text`` in points at ``size``, measured from the font (no renderer needed)."""
    width, _, _ = _TEXT_TO_PATH.get_text_width_height_descent(
        text, FontProperties(size=size), ismath=False)
    return float(width)


def _points_per_percent(ax: Axes) -> float:
    """A lower bound of how many points one percent of the x axis will span once drawn."""
    fig = _root_figure(ax)
    inches = float(fig.get_size_inches()[0]) * float(ax.get_position().width)
    return inches * 72.0 * _WIDTH_GUESS / 100.0


def _fits_inside(seg: Segment, pt_per_pct: float) -> bool:
    return seg.width * pt_per_pct >= _text_width_pt(seg.text, _INSIDE_FONT) + _GAP_PT


@dataclass(frozen=True)
class _Placed:
    """Where a label beside the bar goes: an anchor in data units, an offset in points."""

    anchor: float
    offset_pt: float
    ha: str


def _pack_beside(
    narrow: Sequence[Segment], pt_per_pct: float, *, from_right: bool
) -> list[_Placed]:
    """Place labels of narrow pieces in one line above the bar without overprinting.

    Labels on the right half of the bar end at their piece's right edge (so they never run
    past 100% into the legend), those on the left half start at their piece's left edge.
    A label that would reach its neighbour is packed against it instead: it shares the
    neighbour's anchor and is shifted by the neighbours' measured widths in points, which
    hold whatever width the axes end up with.
    """
    placed: list[_Placed] = []
    anchor_pt = anchor = 0.0
    cursor: float | None = None  # far edge of the last label, in guessed points
    for seg in narrow:
        width = _text_width_pt(seg.text, _BESIDE_FONT)
        edge = seg.left + seg.width if from_right else seg.left
        edge_pt = edge * pt_per_pct
        if from_right:
            free = cursor is None or edge_pt <= cursor - _GAP_PT
            near = edge_pt if free else (cursor or 0.0) - _GAP_PT
        else:
            free = cursor is None or edge_pt >= cursor + _GAP_PT
            near = edge_pt if free else (cursor or 0.0) + _GAP_PT
        if free:
            anchor, anchor_pt = edge, edge_pt
        placed.append(_Placed(anchor, near - anchor_pt, "right" if from_right else "left"))
        cursor = near - width if from_right else near + width
    return placed


def _far_edge(group: Sequence[Segment], placed: Sequence[_Placed], pt_per_pct: float, *,
              from_right: bool) -> float:
    """Where the last label of a packed line ends, in guessed points from 0%."""
    seg, last = group[-1], placed[-1]
    width = _text_width_pt(seg.text, _BESIDE_FONT)
    start = last.anchor * pt_per_pct + last.offset_pt
    return start - width if from_right else start + width


def _label_beside(ax: Axes, row: int, segments: Sequence[Segment], job_id: str | None,
                  pt_per_pct: float) -> None:
    """Label the pieces too narrow to hold their text, above the bar, inside the axes."""
    left_half = [s for s in segments if s.left + s.width / 2 < 50]
    right_half = [s for s in segments if s.left + s.width / 2 >= 50][::-1]  # end leftwards
    groups = [(left_half, False), (right_half, True)]
    if left_half and right_half:
        ends = _pack_beside(left_half, pt_per_pct, from_right=False)
        starts = _pack_beside(right_half, pt_per_pct, from_right=True)
        reach = _far_edge(left_half, ends, pt_per_pct, from_right=False)
        back = _far_edge(right_half, starts, pt_per_pct, from_right=True)
        if reach + _GAP_PT > back:
            # Narrow pieces either side of the middle would meet: one line for all of
            # them, from the right when it has room, else from the left.
            every = [*left_half, *right_half[::-1]]
            need = sum(_text_width_pt(s.text, _BESIDE_FONT) + _GAP_PT for s in every)
            room = (every[-1].left + every[-1].width) * pt_per_pct
            groups = [(every[::-1], True)] if room >= need else [(every, False)]
    for group, from_right in groups:
        for seg, place in zip(group, _pack_beside(group, pt_per_pct, from_right=from_right),
                              strict=True):
            # The piece's own colour ties a label to its piece once labels are packed.
            color = _DARK_TEXT if seg.pending else seg.color
            ax.annotate(seg.text, (place.anchor, row - _BAR_HEIGHT / 2),
                        xytext=(place.offset_pt, _LIFT_PT), textcoords="offset points",
                        ha=place.ha, va="bottom", fontsize=_BESIDE_FONT, color=color,
                        annotation_clip=False, gid=f"{job_id}:{seg.label}")


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
    labels: dict[str, None] = {}
    for status in statuses:
        for label, _ in status.segments():
            labels.setdefault(label)
    handles = [
        Patch(facecolor=COLORS.get(label, COLORS["Pending"]), label=label,
              edgecolor="#9e9e9e" if label in PENDING_LABELS else None,
              hatch=PENDING_HATCH if label in PENDING_LABELS else None)
        for label in labels
    ]
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
        (texts with the same gid); the title names the job, its state and size. A piece
        too narrow for its label has it written just above the bar in the piece's colour,
        packed against its neighbours so labels neither overprint nor run past 100% into
        the legend.

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
    pt_per_pct = _points_per_percent(ax)
    for row, status in enumerate(statuses):
        segments = job_bar_segments(status)
        if not segments:
            ax.text(0, row, " no records", ha="left", va="center", fontsize=_INSIDE_FONT,
                    color=_DARK_TEXT, gid=f"{status.job_id}:empty")
        narrow: list[Segment] = []
        for seg in segments:
            any_pending = any_pending or seg.label == "Pending"
            patch = ax.barh(
                row, seg.width, left=seg.left, height=_BAR_HEIGHT, color=seg.color,
                edgecolor="#9e9e9e" if seg.pending else "white", linewidth=0.8,
                hatch=PENDING_HATCH if seg.pending else None,
            ).patches[0]
            patch.set_gid(f"{status.job_id}:{seg.label}")
            if _fits_inside(seg, pt_per_pct):
                ax.text(seg.left + seg.width / 2, row, seg.text, ha="center", va="center",
                        fontsize=_INSIDE_FONT, color=_text_color(seg.color),
                        gid=f"{status.job_id}:{seg.label}")
            else:
                narrow.append(seg)
        _label_beside(ax, row, narrow, status.job_id, pt_per_pct)
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


#: Seconds of watching from which the progress chart's x axis shows clock times.
_CLOCK_TICKS_FROM = 60.0


def _clock(when: datetime) -> str:
    return when.astimezone(timezone.utc).strftime("%H:%M:%S")


def _seconds_tick(value: float, _position: float | None = None) -> str:
    """``+1.5 s``: ticks a few tenths apart stay distinct (``g`` drops float noise)."""
    if abs(value) < 1e-9:
        return "0 s"
    return f"{value:+g} s"


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
        The x axis is ``observed_at`` (UTC) when every status has it, in seconds since
        the first observation when they span less than a minute (ticks ``+0.5 s``), else
        the poll number.
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
    times = [t for t in stamps if isinstance(t, datetime)]
    timed = len(times) == len(stamps)
    start = min(times) if timed else None
    span = (max(times) - min(times)).total_seconds() if timed else 0.0
    # A job of a few seconds gets ticks that all read the same second as clock times:
    # short watches are drawn in seconds since the first observation instead.
    relative = timed and span < _CLOCK_TICKS_FROM
    xs: list[Any] = []
    if relative and start is not None:
        xs.extend((t - start).total_seconds() for t in times)
    elif timed:
        xs.extend(times)
    else:
        xs.extend(range(1, len(statuses) + 1))
    last = statuses[-1]
    nan = float("nan")
    # One line per count: the statuses' segments read column by column.
    columns = zip(*(s.segments() for s in statuses), strict=True)
    for label, column in zip((label for label, _ in last.segments()), columns, strict=True):
        ys = [float(n) if n is not None else nan for _, n in column]
        # What is still to do is a dotted grey line: the bar's light grey would not show.
        waiting = label in PENDING_LABELS
        ax.plot(xs, ys, marker="o", markersize=4, label=label, gid=f"progress:{label}",
                color="#9e9e9e" if waiting else _color(last.kind, label),
                linestyle=":" if waiting else "-")
    if last.kind != "bulk_read":
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
    if relative and start is not None:
        ax.xaxis.set_major_locator(MaxNLocator(nbins=8, steps=[1, 2, 2.5, 5, 10]))
        ax.xaxis.set_major_formatter(FuncFormatter(_seconds_tick))
        ax.set_xlabel(f"seconds since the first observation ({_clock(start)} UTC)")
    elif timed:
        from matplotlib.dates import AutoDateLocator, DateFormatter

        ax.xaxis.set_major_locator(AutoDateLocator(tz=timezone.utc))  # type: ignore[no-untyped-call]
        # Past a day the clock alone would repeat: the date goes with it.
        pattern = "%m-%d %H:%M" if span > 86_400 else "%H:%M:%S"
        formatter = DateFormatter(pattern, tz=timezone.utc)  # type: ignore[no-untyped-call]
        ax.xaxis.set_major_formatter(formatter)
        ax.set_xlabel("observed (UTC)")
    else:
        # Poll numbers are whole: no "1.25" between two polls.
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        ax.set_xlabel("poll")
    ax.set_ylabel("records")
    ax.set_ylim(bottom=0)
    polls = f"{len(statuses)} poll{'s' if len(statuses) != 1 else ''}"
    ax.set_title(f"{_job_name(last)} — {last.state} after {polls}")
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
    return _png(plot_job_status(status_or_statuses), dpi)


def job_progress_png(history: Any, *, dpi: int = 100) -> bytes:
    """The progress chart of one job (:func:`plot_job_progress`) as PNG bytes.

    Examples
    --------
    >>> from crmframe.core.jobs import JobStatus
    >>> h = [JobStatus("bulk_write", "1", st, st) for st in ("RUNNING", "COMPLETED")]
    >>> job_progress_png(h)[:4]
    b'\\x89PNG'
    """
    return _png(plot_job_progress(history), dpi)


def _png(ax: Axes, dpi: int) -> bytes:
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
