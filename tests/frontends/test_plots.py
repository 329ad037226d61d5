"""Charts checked at data level: bar pieces, colours, labels, titles; and written PNGs."""

from __future__ import annotations

import struct
from datetime import datetime, timedelta, timezone
from pathlib import Path

import matplotlib.colors as mcolors
import pytest
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle
from matplotlib.text import Text
from matplotlib.transforms import Bbox

from crmframe.core.jobs import JobStatus
from crmframe.errors import InputError
from crmframe.facade.jobs import Job
from crmframe.plots import (
    COLORS,
    PENDING_HATCH,
    job_bar_segments,
    job_chart_png,
    plot_job_progress,
    plot_job_status,
    save_job_charts,
)
from crmframe.polling import JobHistory

from .conftest import MASS_UPDATE_JOB_ID

BULK_ID = "111111000000541958"
RED = "#d62728"


def bars(ax: Axes) -> dict[str, tuple[float, float, str, str]]:
    """gid -> (left, width, colour hex, hatch) for every bar piece."""
    found = {}
    for patch in ax.patches:
        assert isinstance(patch, Rectangle)
        found[str(patch.get_gid())] = (
            round(float(patch.get_x()), 6),
            round(float(patch.get_width()), 6),
            mcolors.to_hex(patch.get_facecolor()),
            str(patch.get_hatch() or ""),
        )
    return found


def texts(ax: Axes) -> dict[str, str]:
    return {str(t.get_gid()): t.get_text() for t in ax.texts}


def legend_labels(ax: Axes) -> list[str]:
    legend = ax.get_legend()
    assert legend is not None
    return [t.get_text() for t in legend.get_texts()]


# ---------------------------------------------------------------------------- mass update


def test_mass_update_running(mass_update_statuses: dict[str, JobStatus]) -> None:
    ax = plot_job_status(mass_update_statuses["running"])
    assert ax.get_title() == f"mass_update {MASS_UPDATE_JOB_ID} — RUNNING"
    assert bars(ax) == {
        f"{MASS_UPDATE_JOB_ID}:Updated": (0.0, 60.0, COLORS["Updated"], ""),
        f"{MASS_UPDATE_JOB_ID}:Not processed yet": (
            60.0, 40.0, COLORS["Not processed yet"], PENDING_HATCH),
    }
    assert texts(ax) == {
        f"{MASS_UPDATE_JOB_ID}:Updated": "30 (60%)",
        f"{MASS_UPDATE_JOB_ID}:Not processed yet": "20 (40%)",
    }
    assert ax.get_ylabel() == "50 records"
    # The legend always names Failed, even at zero, so the red means the same everywhere.
    assert legend_labels(ax) == ["Updated", "Failed", "Not processed yet"]
    assert ax.get_xlim() == (0.0, 100.0)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("scheduled",
         {"Not processed yet": (0.0, 100.0, COLORS["Not processed yet"], "50 (100%)")}),
        ("completed", {"Updated": (0.0, 100.0, COLORS["Updated"], "50 (100%)")}),
        ("failed", {"Failed": (0.0, 100.0, RED, "50 (100%)")}),
    ],
)
def test_mass_update_other_states(
    mass_update_statuses: dict[str, JobStatus],
    name: str,
    expected: dict[str, tuple[float, float, str, str]],
) -> None:
    status = mass_update_statuses[name]
    ax = plot_job_status(status)
    assert ax.get_title() == f"mass_update {MASS_UPDATE_JOB_ID} — {status.state}"
    got = bars(ax)
    labels = texts(ax)
    assert {gid.split(":")[1] for gid in got} == set(expected)
    for label, (left, width, color, text) in expected.items():
        gid = f"{MASS_UPDATE_JOB_ID}:{label}"
        hatch = PENDING_HATCH if label == "Not processed yet" else ""
        assert got[gid] == (left, width, color, hatch)
        assert labels[gid] == text


def test_failed_is_always_the_same_red() -> None:
    assert COLORS["Failed"] == RED
    mixed = JobStatus("mass_update", MASS_UPDATE_JOB_ID, "COMPLETED", "COMPLETED",
                      total=200, updated=150, failed=50, not_updated=0)
    ax = plot_job_status(mixed)
    assert bars(ax)[f"{MASS_UPDATE_JOB_ID}:Failed"] == (75.0, 25.0, RED, "")
    assert texts(ax)[f"{MASS_UPDATE_JOB_ID}:Failed"] == "50 (25%)"


# ---------------------------------------------------------------------------- bulk write


def test_bulk_write_added_has_no_counts_and_is_pending(
    bulk_write_statuses: dict[str, JobStatus],
) -> None:
    status = bulk_write_statuses["added"]
    assert not status.counts_known
    ax = plot_job_status(status)
    assert ax.get_title() == f"bulk_write {BULK_ID} — SCHEDULED"
    # Drawn as one hatched, full-width pending bar: never as a zero-length bar.
    assert bars(ax) == {f"{BULK_ID}:Pending": (0.0, 100.0, COLORS["Pending"], PENDING_HATCH)}
    assert texts(ax) == {f"{BULK_ID}:Pending": "pending (ADDED)"}
    assert ax.get_ylabel() == "total not known yet"
    assert "Pending" in legend_labels(ax)


def test_bulk_write_v2_inprogress_without_file_counts(
    bulk_write_statuses: dict[str, JobStatus],
) -> None:
    ax = plot_job_status(bulk_write_statuses["inprogress_v2_no_counts"])
    assert bars(ax) == {
        "4150868000005392002:Pending": (0.0, 100.0, COLORS["Pending"], PENDING_HATCH)
    }
    assert texts(ax) == {"4150868000005392002:Pending": "pending (INPROGRESS)"}


@pytest.mark.parametrize("name", ["inprogress", "completed"])
def test_bulk_write_with_counts(bulk_write_statuses: dict[str, JobStatus], name: str) -> None:
    status = bulk_write_statuses[name]
    ax = plot_job_status(status)
    assert ax.get_title() == f"bulk_write {BULK_ID} — {status.state}"
    assert bars(ax) == {f"{BULK_ID}:Skipped": (0.0, 100.0, COLORS["Skipped"], "")}
    assert texts(ax) == {f"{BULK_ID}:Skipped": "100 (100%)"}
    assert legend_labels(ax) == ["Added", "Updated", "Skipped"]


def test_bulk_write_partial_counts_leave_the_rest_pending() -> None:
    status = JobStatus("bulk_write", BULK_ID, "RUNNING", "INPROGRESS", total=5000,
                       added=3000, updated=1200, skipped=40)
    ax = plot_job_status(status)
    assert bars(ax) == {
        f"{BULK_ID}:Added": (0.0, 60.0, COLORS["Added"], ""),
        f"{BULK_ID}:Updated": (60.0, 24.0, COLORS["Updated"], ""),
        f"{BULK_ID}:Skipped": (84.0, 0.8, COLORS["Skipped"], ""),
        f"{BULK_ID}:Pending": (84.8, 15.2, COLORS["Pending"], PENDING_HATCH),
    }
    assert texts(ax) == {
        f"{BULK_ID}:Added": "3,000 (60%)",
        f"{BULK_ID}:Updated": "1,200 (24%)",
        f"{BULK_ID}:Skipped": "40 (<1%)",
        f"{BULK_ID}:Pending": "760 pending (15%)",
    }
    # The narrow Skipped piece is labelled beside the bar, not inside it.
    skipped = next(t for t in ax.texts if t.get_gid() == f"{BULK_ID}:Skipped")
    assert skipped.get_position()[1] != 0


# ---------------------------------------------------------------------------- several jobs


def test_several_jobs_one_bar_each(
    mass_update_statuses: dict[str, JobStatus], bulk_write_statuses: dict[str, JobStatus]
) -> None:
    jobs = [mass_update_statuses["failed"], bulk_write_statuses["added"],
            bulk_write_statuses["completed"]]
    ax = plot_job_status(jobs)
    assert ax.get_title() == "3 jobs: 1 COMPLETED, 1 FAILED, 1 SCHEDULED"
    ticks = [t.get_text() for t in ax.get_yticklabels()]
    assert ticks == [
        f"mass_update {MASS_UPDATE_JOB_ID}\nFAILED, 50 records",
        f"bulk_write {BULK_ID}\nSCHEDULED, total not known yet",
        f"bulk_write {BULK_ID}\nCOMPLETED, 100 records",
    ]
    rows = sorted((float(p.get_y()) + float(p.get_height()) / 2, str(p.get_gid()))
                  for p in ax.patches)
    assert [gid for _, gid in rows] == [
        f"{MASS_UPDATE_JOB_ID}:Failed", f"{BULK_ID}:Pending", f"{BULK_ID}:Skipped"
    ]
    assert [round(y) for y, _ in rows] == [0, 1, 2]
    # First job on top: the y axis runs downward.
    bottom, top = ax.get_ylim()
    assert bottom > top


def test_one_colour_per_outcome_across_kinds() -> None:
    jobs = [
        JobStatus("mass_update", MASS_UPDATE_JOB_ID, "RUNNING", "RUNNING", total=10,
                  updated=5, failed=0, not_updated=5),
        JobStatus("bulk_write", BULK_ID, "RUNNING", "INPROGRESS", total=10, added=2,
                  updated=3, skipped=0),
    ]
    ax = plot_job_status(jobs)
    # Updated is one outcome whichever job did it: one legend entry, one colour.
    assert legend_labels(ax) == ["Updated", "Failed", "Not processed yet", "Added",
                                 "Skipped", "Pending"]
    got = bars(ax)
    assert got[f"{MASS_UPDATE_JOB_ID}:Updated"][2] == got[f"{BULK_ID}:Updated"][2]
    outcomes = ["Added", "Updated", "Not updated", "Skipped", "Failed", "Pending"]
    assert len({COLORS[o] for o in outcomes}) == len(outcomes)


def test_zero_records_job_says_so() -> None:
    empty = JobStatus("mass_update", MASS_UPDATE_JOB_ID, "COMPLETED", "COMPLETED",
                      total=0, updated=0, failed=0, not_updated=0)
    ax = plot_job_status(empty)
    assert len(ax.patches) == 0
    assert texts(ax) == {f"{MASS_UPDATE_JOB_ID}:empty": " no records"}


def test_draws_on_a_given_axes_and_a_job_object() -> None:
    fig = Figure()
    given = fig.add_subplot()
    job = Job(BULK_ID, "bulk_write",
              history=[JobStatus("bulk_write", BULK_ID, "COMPLETED", "COMPLETED", total=4,
                                 added=4, updated=0, skipped=0)])
    ax = plot_job_status(job.history, ax=given)
    assert ax is given
    assert bars(ax)[f"{BULK_ID}:Added"][1] == 100.0


@pytest.mark.parametrize("bad", [[], ["COMPLETED"], [None]])
def test_rejects_what_is_not_a_status(bad: list[object]) -> None:
    with pytest.raises(InputError):
        plot_job_status(bad)  # type: ignore[arg-type]


def test_segments_percent_helpers() -> None:
    few = JobStatus("mass_update", MASS_UPDATE_JOB_ID, "COMPLETED", "COMPLETED",
                    total=1000, updated=995, failed=5, not_updated=0)
    assert [s.text for s in job_bar_segments(few)] == ["995 (>99%)", "5 (<1%)"]


# ---------------------------------------------------------------------------- layout

# The demo's two finished jobs: one failure and four skips next to nearly full bars.
DEMO_JOBS = [
    JobStatus("mass_update", "4876876000000104051", "COMPLETED", "COMPLETED", total=416,
              updated=415, failed=1, not_updated=0),
    JobStatus("bulk_write", "4876876000000104053", "COMPLETED", "COMPLETED", total=3000,
              added=0, updated=2996, skipped=4),
]
# Narrow pieces at both ends of a bar, several side by side, and a narrow pending piece.
CROWDED_JOBS = [
    JobStatus("mass_update", "1", "RUNNING", "RUNNING", total=10_000, updated=9950, failed=3,
              not_updated=47),
    JobStatus("bulk_write", "2", "RUNNING", "INPROGRESS", total=10_000, added=4,
              updated=9990, skipped=2),
    JobStatus("bulk_write", "3", "RUNNING", "INPROGRESS", total=5000, added=3000,
              updated=1200, skipped=40),
    JobStatus("mass_update", "4", "COMPLETED", "COMPLETED", total=100_000, updated=99_000,
              failed=1, not_updated=999),
    # Narrow pieces either side of the middle: their lines would meet there.
    JobStatus("bulk_write", "5", "RUNNING", "INPROGRESS", total=1000, added=496, updated=5,
              skipped=4),
]


def drawn_texts(ax: Axes) -> tuple[Figure, list[tuple[str, Bbox]], Bbox]:
    """Draw the chart on an Agg canvas; every visible text's extent and the legend's."""
    fig = ax.figure
    assert isinstance(fig, Figure)
    FigureCanvasAgg(fig)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()  # type: ignore[attr-defined]
    legend = ax.get_legend()
    assert legend is not None
    own = set(map(id, legend.get_texts()))
    found = [(t.get_text(), t.get_window_extent(renderer)) for t in fig.findobj(Text)
             if t.get_visible() and t.get_text().strip() and id(t) not in own]
    return fig, found, legend.get_window_extent(renderer)


def inside(box: Bbox, area: Bbox) -> bool:
    """``box`` within ``area``, to half a pixel (extents are floats that round apart)."""
    return bool(area.x0 - 0.5 <= box.x0 and box.x1 <= area.x1 + 0.5
                and area.y0 - 0.5 <= box.y0 and box.y1 <= area.y1 + 0.5)


@pytest.mark.parametrize(
    "jobs", [DEMO_JOBS, CROWDED_JOBS, CROWDED_JOBS[:1], CROWDED_JOBS[1:2], CROWDED_JOBS[4:]],
    ids=["demo", "crowded", "one-crowded", "both-ends", "middle"],
)
def test_labels_stay_inside_the_figure_and_off_the_legend(jobs: list[JobStatus]) -> None:
    ax = plot_job_status(jobs)
    fig, found, legend = drawn_texts(ax)
    assert {t.get_text() for t in ax.texts} <= {text for text, _ in found}
    assert inside(legend, fig.bbox)
    for text, box in found:  # bar labels, ticks, title, axis labels
        assert inside(box, fig.bbox), (text, box, fig.bbox)
        assert not box.overlaps(legend), (text, box, legend)
    labels = [(t.get_text(), t.get_window_extent()) for t in ax.texts]
    for i, (first, a) in enumerate(labels):
        for second, b in labels[i + 1:]:
            assert not a.overlaps(b), (first, second)
    # Bar labels stay over the bars' x range: none runs past 100% towards the legend.
    area = ax.get_window_extent()
    for text, box in labels:
        assert area.x0 - 0.5 <= box.x0, text
        assert box.x1 <= area.x1 + 0.5, text


def test_narrow_labels_sit_above_their_bar_in_their_colour() -> None:
    ax = plot_job_status(DEMO_JOBS)
    drawn_texts(ax)
    failed = next(t for t in ax.texts if t.get_gid() == "4876876000000104051:Failed")
    assert failed.get_text() == "1 (<1%)"
    assert mcolors.to_hex(failed.get_color()) == RED
    bar = next(p for p in ax.patches if p.get_gid() == "4876876000000104051:Updated")
    text_box, bar_box = failed.get_window_extent(), bar.get_window_extent()
    assert text_box.y0 >= bar_box.y1  # above the bar (pixels grow upwards)
    # It ends where the bar ends (100%), not past it.
    assert abs(text_box.x1 - ax.get_window_extent().x1) < 0.5


# ---------------------------------------------------------------------------- progress


def stamped(statuses: list[JobStatus]) -> JobHistory:
    start = datetime(2026, 11, 22, 12, 0, tzinfo=timezone.utc)
    return JobHistory(s.with_observed_at(start + timedelta(seconds=2 * i))
                      for i, s in enumerate(statuses))


def test_progress_over_time(mass_update_statuses: dict[str, JobStatus]) -> None:
    history = stamped([mass_update_statuses[s] for s in ("scheduled", "running", "completed")])
    ax = plot_job_progress(history)
    assert ax.get_title() == f"mass_update {MASS_UPDATE_JOB_ID} — COMPLETED after 3 polls"
    lines = {str(line.get_gid()): [float(y) for y in line.get_ydata()] for line in ax.lines
             if str(line.get_gid()).startswith("progress:")}
    assert lines == {
        "progress:Updated": [0.0, 30.0, 50.0],
        "progress:Failed": [0.0, 0.0, 0.0],
        "progress:Not processed yet": [50.0, 20.0, 0.0],
        "progress:Total": [50.0, 50.0, 50.0],
    }
    failed = next(line for line in ax.lines if line.get_gid() == "progress:Failed")
    assert mcolors.to_hex(failed.get_color()) == RED
    # Four seconds of watching: seconds since the first poll, not clock times.
    assert ax.get_xlabel() == "seconds since the first observation (12:00:00 UTC)"
    assert [float(x) for x in failed.get_xdata()] == [0.0, 2.0, 4.0]
    assert [t.get_text() for t in ax.texts] == ["SCHEDULED", "RUNNING", "COMPLETED"]
    changes = [line for line in ax.lines if str(line.get_gid()).startswith("state:")]
    assert len(changes) == 3
    # The seconds formatter, not a date axis (whose ticks would all read 12:00:0x).
    assert tick_labels(ax) == ["0 s", "+1 s", "+2 s", "+3 s", "+4 s"]


def tick_labels(ax: Axes) -> list[str]:
    """The x tick labels as drawn (within the view; formatters run at draw time)."""
    fig = ax.figure
    assert isinstance(fig, Figure)
    FigureCanvasAgg(fig)
    fig.canvas.draw()
    low, high = sorted(ax.get_xlim())
    return [t.get_text() for t in ax.get_xticklabels()
            if low <= float(t.get_position()[0]) <= high and t.get_text()]


@pytest.mark.parametrize(
    ("step", "label"),
    [
        (timedelta(milliseconds=250), "seconds since"),
        (timedelta(seconds=1), "seconds since"),
        (timedelta(seconds=15), "seconds since"),
        (timedelta(seconds=40), "observed (UTC)"),
        (timedelta(minutes=50), "observed (UTC)"),
        (timedelta(hours=20), "observed (UTC)"),
    ],
)
def test_progress_ticks_are_distinct(
    mass_update_statuses: dict[str, JobStatus], step: timedelta, label: str
) -> None:
    start = datetime(2026, 11, 22, 20, 48, 8, 120_000, tzinfo=timezone.utc)
    names = ("scheduled", "running", "running", "completed")
    history = [mass_update_statuses[n].with_observed_at(start + i * step)
               for i, n in enumerate(names)]
    ax = plot_job_progress(history)
    assert ax.get_xlabel().startswith(label)
    ticks = tick_labels(ax)
    assert len(ticks) >= 3, ticks
    assert len(set(ticks)) == len(ticks), ticks


def test_short_job_ticks_read_as_seconds(mass_update_statuses: dict[str, JobStatus]) -> None:
    start = datetime(2026, 11, 22, 20, 48, 8, 300_000, tzinfo=timezone.utc)
    history = [mass_update_statuses[n].with_observed_at(start + timedelta(seconds=0.3 * i))
               for i, n in enumerate(("scheduled", "running", "completed"))]
    ax = plot_job_progress(history)
    assert ax.get_xlabel() == "seconds since the first observation (20:48:08 UTC)"
    ticks = tick_labels(ax)
    assert "0 s" in ticks
    assert all(t == "0 s" or (t.startswith("+") and t.endswith(" s")) for t in ticks), ticks


def test_progress_unknown_counts_are_gaps_not_zeros(
    bulk_write_statuses: dict[str, JobStatus],
) -> None:
    history = [bulk_write_statuses[s] for s in ("added", "inprogress", "completed")]
    ax = plot_job_progress(history)  # no observed_at: x is the poll number
    assert ax.get_xlabel() == "poll"
    skipped = next(line for line in ax.lines if line.get_gid() == "progress:Skipped")
    ys = [float(y) for y in skipped.get_ydata()]
    assert ys[0] != ys[0]  # NaN: not reported yet
    assert ys[1:] == [100.0, 100.0]
    assert [float(x) for x in skipped.get_xdata()] == [1.0, 2.0, 3.0]
    assert tick_labels(ax) == ["1", "2", "3"]  # whole polls only


def test_progress_refuses_several_jobs(mass_update_statuses: dict[str, JobStatus],
                                       bulk_write_statuses: dict[str, JobStatus]) -> None:
    with pytest.raises(InputError, match="one job"):
        plot_job_progress([mass_update_statuses["running"], bulk_write_statuses["completed"]])


# ---------------------------------------------------------------------------- files


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_save_job_charts_writes_pngs(tmp_path: Path,
                                     mass_update_statuses: dict[str, JobStatus]) -> None:
    history = stamped([mass_update_statuses[s] for s in ("scheduled", "running", "completed")])
    paths = save_job_charts(history, tmp_path / "charts", dpi=100)
    assert [p.name for p in paths] == [
        f"01_mass_update_{MASS_UPDATE_JOB_ID}_SCHEDULED.png",
        f"02_mass_update_{MASS_UPDATE_JOB_ID}_RUNNING.png",
        f"03_mass_update_{MASS_UPDATE_JOB_ID}_COMPLETED.png",
        f"mass_update_{MASS_UPDATE_JOB_ID}_progress.png",
    ]
    for path in paths:
        assert path.stat().st_size > 5_000  # a real picture, not an empty canvas
    assert png_size(paths[0].read_bytes()) == (800, 230)
    assert png_size(paths[-1].read_bytes()) == (800, 360)


def test_job_chart_png_renders_at_the_requested_dpi(
    bulk_write_statuses: dict[str, JobStatus],
) -> None:
    data = job_chart_png(bulk_write_statuses["inprogress"], dpi=50)
    assert png_size(data) == (400, 115)
    # Not a blank image: the rendered pixels hold several colours.
    import io

    import matplotlib.image as mimage

    pixels = mimage.imread(io.BytesIO(data), format="png")
    assert len({tuple(p) for p in pixels.reshape(-1, pixels.shape[-1])}) > 10


def test_a_job_is_drawn_at_its_latest_status(
    mass_update_statuses: dict[str, JobStatus],
) -> None:
    job = Job(MASS_UPDATE_JOB_ID, module="Accounts",
              history=[mass_update_statuses[s] for s in ("scheduled", "running")])
    ax = plot_job_status(job)
    assert ax.get_title() == f"mass_update {MASS_UPDATE_JOB_ID} — RUNNING"
    assert bars(ax)[f"{MASS_UPDATE_JOB_ID}:Updated"][1] == 60.0
    # A job never polled is pending, next to a finished one.
    fresh = Job(BULK_ID, "bulk_write")
    ax = plot_job_status([job, fresh])
    assert bars(ax)[f"{BULK_ID}:Pending"] == (0.0, 100.0, COLORS["Pending"], PENDING_HATCH)
    assert texts(ax)[f"{BULK_ID}:Pending"] == "pending"
    # The progress chart of a Job is its whole history.
    progress = plot_job_progress(job)
    assert progress.get_title().endswith("RUNNING after 2 polls")
