"""Benchmark: a 10,000-row frame opens in ``EditGrid`` and an edit round-trips to the diff panel.

A sandbox with ``--records`` Leads (default 10,000) is read once; then, best of ``--repeat``:

1. **open**: ``EditGrid(crm, leads)`` with notebook 06's 12 columns and with every column
   (91): the column editors from the metadata and the cells serialised for the browser
   (the payload the grid sends).
2. **edit round trip**: what one keystroke-and-Enter costs on the Python side: the browser's
   ``edits`` map arrives, the edited frame is updated, the diff, the validation and the
   plan are redone and the side panel's HTML is rebuilt (the diff panel then shows it).

Baseline, measured in the same run: ``DataFrame.copy()`` plus ``crmframe.diff`` of the
whole frame, which is what redrawing the panel from the full frames after each edit would
cost; and ``DataFrame.to_json`` of the frame for the open. Goal: open and a round trip each
under a second on this machine.

The browser half (drawing the visible rows of a virtual table) is exercised by
tests/browser; its cost does not grow with the rows since only the rows in view are drawn.

Usage::

    .venv/bin/python benchmarks/bench_grid.py
    .venv/bin/python benchmarks/bench_grid.py --records 2000 --repeat 3
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

import crmframe
from crmframe.widgets import EditGrid

#: The columns notebook 06 opens its grid with.
NOTEBOOK_COLUMNS = ["Last_Name", "Company", "Lead_Status", "Lead_Source", "Phone", "Email",
                    "No_of_Employees", "Annual_Revenue", "Email_Opt_Out", "Custom_Date_1",
                    "Full_Name", "Modified_Time"]


def best(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    times, value = [], None
    for _ in range(repeat):
        start = time.perf_counter()
        value = fn()
        times.append(time.perf_counter() - start)
    return min(times), value


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()

    with crmframe.sandbox.start(records=args.records) as server, \
            crmframe.connect(**server.credentials) as crm:
        leads = crm.read_records("Leads", progress=False)
        fields = crm.read_fields("Leads")
        print(f"frame: {len(leads):,} rows x {leads.shape[1]} columns")

        base_open, _ = best(lambda: leads.to_json(orient="values", date_format="iso"),
                            args.repeat)
        few_open, few = best(lambda: EditGrid(crm, leads, columns=NOTEBOOK_COLUMNS),
                             args.repeat)
        print(f"open:   EditGrid, the {len(few.specs)} columns of notebook 06 "
              f"{few_open * 1000:8.1f} ms  (payload {len(few.view.payload) / 1e6:.1f} MB)")
        grid_open, grid = best(lambda: EditGrid(crm, leads), args.repeat)
        payload = len(grid.view.payload)
        print(f"open:   EditGrid, all {len(grid.specs)} columns {grid_open * 1000:8.1f} ms  "
              f"(payload {payload / 1e6:.1f} MB)   baseline DataFrame.to_json "
              f"{base_open * 1000:8.1f} ms   ratio {grid_open / base_open:.2f}")

        names = [s.name for s in grid.specs]
        col = names.index("Lead_Status")
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
        print(f"goal under 1 s: open ({len(few.specs)} columns) "
              f"{'met' if few_open < 1 else 'NOT met'}, open (all) "
              f"{'met' if grid_open < 1 else 'NOT met'}, round trip "
              f"{'met' if grid_edit < 1 else 'NOT met'}")


if __name__ == "__main__":
    main()
