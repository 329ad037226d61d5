"""Benchmark: a 10,000-row frame with every Leads column opens in ``EditGrid`` and an edit
round-trips to the diff panel; the same frame in ipydatagrid's editable ``DataGrid``.

A sandbox with ``--records`` Leads (default 10,000, all 91 columns of the read frame) is
read once; then, best of ``--repeat``, CPU time of this process (``time.process_time``:
repeatable on a loaded machine; the sandbox is idle meanwhile):

1. **open**: what the kernel does before the browser can draw the grid. ``EditGrid``:
   the column editors from the metadata, the view's state as JSON (columns, no cells) and
   the first window of rows the browser asks for (100 rows). Measured with notebook 06's
   12 columns and with all columns.
2. **scroll**: one more window of 100 rows (what the browser asks for as it scrolls).
3. **edit round trip**: the browser's ``edits`` map arrives, the diff, the validation and
   the plan are redone and the side panel's HTML is rebuilt (the diff panel shows it).

Baselines in the same run: ``DataFrame.to_json`` of the whole frame (sending every cell,
as yesterday's grid did); and, when ipydatagrid is installed (``pip install -e
".[bench]"``), its editable ``DataGrid`` and its ``StreamingDataGrid`` (which also sends
windows): open = building the widget and its state as JSON; edit = the browser's
``cell-changed`` message handled and the edited frame read back (``grid.data``), without
any diff or plan (a lower bound for a diff panel built on it). Goal: open and a round trip
each under a second on this machine.

Usage::

    nice -n 10 .venv/bin/python benchmarks/bench_grid.py
    nice -n 10 .venv/bin/python benchmarks/bench_grid.py --records 2000 --repeat 3
"""

from __future__ import annotations

import argparse
import json
import time
import warnings
from collections.abc import Callable
from typing import Any

import pandas as pd

import crmframe
from crmframe.widgets import EditGrid

#: The columns notebook 06 opens its grid with.
NOTEBOOK_COLUMNS = ["Last_Name", "Company", "Lead_Status", "Lead_Source", "Phone", "Email",
                    "No_of_Employees", "Annual_Revenue", "Email_Opt_Out", "Custom_Date_1",
                    "Full_Name", "Modified_Time"]
WINDOW = 100


def best(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """The least CPU time of ``repeat`` runs of ``fn`` and its last value."""
    times, value = [], None
    for _ in range(repeat):
        start = time.process_time()
        value = fn()
        times.append(time.process_time() - start)
    return min(times), value


def _state_bytes(widget: Any) -> int:
    """The widget's state as the comm would send it (JSON), in bytes."""
    return len(json.dumps(widget.get_state(), default=str).encode("utf-8"))


def open_edit_grid(crm: Any, leads: pd.DataFrame, columns: list[str] | None) -> tuple[Any, int]:
    """EditGrid built, its state serialised and the first window served (what opens it)."""
    grid = EditGrid(crm, leads, columns=columns)
    sent = _state_bytes(grid.view)
    sent += len(json.dumps(grid.window(0, WINDOW), default=str).encode("utf-8"))
    return grid, sent


def bench_ipydatagrid(leads: pd.DataFrame, repeat: int) -> list[str]:
    """Open and edit round trip of ipydatagrid's grids, or why they were not measured."""
    try:
        from ipydatagrid import DataGrid, StreamingDataGrid
    except ImportError:
        return ["ipydatagrid: not installed (pip install -e '.[bench]'): not measured"]
    lines = []
    frame = leads.reset_index()

    def opened(kind: Any) -> tuple[Any, int]:
        grid = kind(frame, editable=True)
        sent = _state_bytes(grid)
        if hasattr(grid, "_handle_comm_msg"):  # streaming: the first window it is asked for
            replies: list[Any] = []
            grid.send = lambda content, buffers=None: replies.append((content, buffers))
            grid._handle_comm_msg(None, {"type": "data-request", "r1": 0, "r2": WINDOW - 1,
                                         "c1": 0, "c2": frame.shape[1]}, [])
            content, buffers = replies[0]
            sent += len(json.dumps(content, default=str)) + sum(
                len(memoryview(b).cast("B")) for b in buffers or [])
        return grid, sent

    for name, kind in (("DataGrid", DataGrid), ("StreamingDataGrid", StreamingDataGrid)):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # bqplot warns about every tz-aware column
            try:
                seconds, (grid, sent) = best(lambda kind=kind: opened(kind), repeat)
            except Exception as exc:  # a third-party widget: report, do not stop the bench
                lines.append(f"ipydatagrid {name}: failed to open: "
                             f"{type(exc).__name__}: {exc}")
                continue
            column = list(frame.columns).index("Lead_Status") + 1  # + its index column
            rows = iter(range(10**9))

            def edit(grid: Any = grid, column: int = column, rows: Any = rows) -> int:
                row = next(rows) % len(frame)
                grid._DataGrid__handle_custom_msg(None, {
                    "event_type": "cell-changed", "row": row, "column_index": column,
                    "value": "Junk Lead"}, [])
                return len(grid.data)

            try:
                edit_s, _ = best(edit, repeat)
                edit_text = (f"edit round trip {edit_s * 1000:8.1f} ms (cell-changed "
                             "handled + grid.data; no diff, no plan)")
            except Exception as exc:
                edit_text = f"edit failed: {type(exc).__name__}: {exc}"
        lines.append(f"ipydatagrid {name} (editable), all {leads.shape[1]} columns: open "
                     f"{seconds * 1000:8.1f} ms (sent {sent / 1e6:.1f} MB), {edit_text}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    with crmframe.sandbox.start(records=args.records) as server, \
            crmframe.connect(**server.credentials) as crm:
        leads = crm.read_records("Leads", progress=False)
        fields = crm.read_fields("Leads")
        print(f"frame: {len(leads):,} rows x {leads.shape[1]} columns; CPU time, best of "
              f"{args.repeat}")

        base_open, _ = best(lambda: leads.to_json(orient="values", date_format="iso"),
                            args.repeat)
        few_open, (few, few_sent) = best(
            lambda: open_edit_grid(crm, leads, NOTEBOOK_COLUMNS), args.repeat)
        print(f"open:   EditGrid, the {len(few.specs)} columns of notebook 06 "
              f"{few_open * 1000:8.1f} ms  (sent {few_sent / 1e3:.0f} kB)")
        grid_open, (grid, sent) = best(lambda: open_edit_grid(crm, leads, None), args.repeat)
        print(f"open:   EditGrid, all {len(grid.specs)} columns {grid_open * 1000:8.1f} ms  "
              f"(sent {sent / 1e3:.0f} kB)   baseline DataFrame.to_json (every cell) "
              f"{base_open * 1000:8.1f} ms   ratio {grid_open / base_open:.2f}")
        starts = iter(range(WINDOW, 10**9, WINDOW))

        def next_window() -> dict[str, Any]:
            start = next(starts) % len(leads)
            return grid.window(start, start + WINDOW)

        scroll, window = best(next_window, args.repeat)
        print(f"scroll: one more window of {WINDOW} rows x {len(grid.specs)} columns "
              f"{scroll * 1000:8.1f} ms  ({len(json.dumps(window, default=str)) / 1e3:.0f} kB)")

        col = [s.name for s in grid.specs].index("Lead_Status")
        options = grid.specs[col].options
        counter = iter(range(10**9))

        def round_trip() -> str:
            n = next(counter)
            row = n % len(leads)
            grid.view.edits = {**grid.view.edits, f"{row}:{col}": options[n % len(options)]}
            return str(grid.diff_panel.value)

        def baseline() -> int:
            edited = leads.copy()
            edited.iloc[0, edited.columns.get_loc("Lead_Status")] = options[0]
            return len(crmframe.diff(leads, edited, fields=fields).changes)

        base_edit, _ = best(baseline, args.repeat)
        grid_edit, panel = best(round_trip, args.repeat)
        assert "crmframe-grid-diff" in panel
        print(f"edit:   round trip {grid_edit * 1000:8.1f} ms  "
              f"({len(grid.changes)} cells in the diff)   baseline copy+full diff "
              f"{base_edit * 1000:8.1f} ms   ratio {grid_edit / base_edit:.2f}")
        for line in bench_ipydatagrid(leads, args.repeat):
            print(line)
        print(f"goal under 1 s: open ({len(few.specs)} columns) "
              f"{'met' if few_open < 1 else 'NOT met'}, open (all) "
              f"{'met' if grid_open < 1 else 'NOT met'}, round trip "
              f"{'met' if grid_edit < 1 else 'NOT met'}")


if __name__ == "__main__":
    main()
