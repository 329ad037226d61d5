"""Benchmark: ``diff`` against ``DataFrame.compare``, and the plan's calls/credits vs naive pushes.

1. ``diff`` of a 500,000 x 40 typed frame (12 string, 8 Int64, 8 Float64, 4 boolean,
   5 datetime-UTC, 3 date columns) with 1% of the cells of every column changed, timed
   against ``DataFrame.compare`` on the same two frames in the same run (best of
   ``--repeat``). Goal: ``diff`` no slower. The changed-cell counts are cross-checked.
2. The standard scenario: 10,000 edited Leads — ``Lead_Status`` set to the same value on
   6,000, assorted edits of several fields on 4,000 (each with an Email or Owner change,
   which mass update cannot carry). Calls and credits of crmframe's plan, for both
   objectives and with bulk write allowed or not, against one PUT per record (10,000 calls)
   and plain PUT batches of 100 (100 calls). Goal: 52 calls without bulk write (12 mass
   updates of 500 + 40 batches of 100), the lower bound.

3. Inserting 10,000 and 100,000 new Leads into a local sandbox (``--insert-sizes``):
   ``crm.insert`` (its plan: POST batches or bulk-write jobs, whichever is cheaper) against
   POST batches of 100 and one POST per record. Calls and credits are counted by the
   sandbox (``server.requests``, ``server.credits_used``: POST 1 credit per 10 records,
   a bulk-write job 500, any other call 1). One POST per record is sent for real up to
   ``--single-max`` records (default 10,000); above that its row says "cost model"
   (n calls, n credits) instead of sending 100,000 calls.
4. ``diff`` against ``DataFrame.compare`` by column kind: list columns as a re-read gives
   them (equal lists, not the same objects) and pyarrow-backed strings. Goal <= 1.0x each.
5. Planning and results building against ``diff`` for 10,000 / 100,000 / 1,000,000 changed
   cells (median CPU of ``--repeat`` rounds). Goals at 1M: plan <= 1.0x, results <= 0.5x.

6. Settling lost answers (``--settle-rate``, default 5% and 30%): a 10,000-record push (a
   status on 6,000 by mass update, a value per record on 4,000 by PUT batches; then the
   same 10,000 as 10 bulk-write jobs) against a sandbox that commits each write and then
   loses its answer at that rate, and against the same sandbox without the fault. The
   extra calls are what settling costs (read-backs, job look-ups, and re-sends of what
   provably did not land); the sandbox counts how often each record was written (goal:
   never twice).
7. The conflict check of a push of 10,000 edited Leads (``--conflict-records``), in a local
   sandbox: the calls :class:`~crmframe.facade.write.conflicts.Guard` makes (one
   ``If-Modified-Since`` listing of the module's changes since the read, id reads only when
   that would cost more) against one ``GET ?ids=`` per 100 ids (100 calls), when nothing
   changed, when a colleague changed 50 of the edited records, and when 5,000 other records
   of the module changed. Counted by the sandbox. Goal: <= 2 calls when nothing changed.

Usage::

    .venv/bin/python benchmarks/bench_push.py                    # full size
    .venv/bin/python benchmarks/bench_push.py --only-inserts     # section 3 only
    .venv/bin/python benchmarks/bench_push.py --rows 50000       # quicker
    .venv/bin/python benchmarks/bench_push.py --only-settling    # section 6 only
    .venv/bin/python benchmarks/bench_push.py --only-conflicts   # section 7 only
    .venv/bin/python benchmarks/bench_push.py --only-scaling     # section 5 only
"""

from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
from pandas._libs.lib import dicts_to_array  # type: ignore[attr-defined]

from crmframe.core.diff import diff
from crmframe.core.plan import Costs, make_plan
from crmframe.core.results import ResultsBuilder
from crmframe.core.validate import find_problems

# The standard scenario is the planner tests' own (tests/writeback/scenarios.py), so the
# benchmark and the 52-call test measure the same change set; the repository root makes
# ``tests`` importable when this file is run as a script.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from tests.writeback.scenarios import standard_scenario

WORDS = np.array(["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta"],
                 dtype=object)


def frames(rows: int, fraction: float, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame, int]:
    """Original and edited frames, and the number of cells changed."""
    rng = np.random.default_rng(seed)
    ids = pd.Index(np.char.add("3652397", np.char.zfill(np.arange(rows).astype(str), 12)),
                   dtype="string", name="id")
    cols: dict[str, Any] = {}
    for j in range(12):
        cols[f"T{j}"] = pd.array(WORDS[rng.integers(0, len(WORDS), rows)], dtype="string")
    for j in range(8):
        cols[f"I{j}"] = pd.array(rng.integers(0, 100_000, rows), dtype="Int64")
    for j in range(8):
        cols[f"F{j}"] = pd.array(np.round(rng.random(rows) * 1e6, 2), dtype="Float64")
    for j in range(4):
        cols[f"B{j}"] = pd.array(rng.random(rows) < 0.5, dtype="boolean")
    for j in range(5):
        seconds = rng.integers(1_500_000_000, 1_800_000_000, rows)
        cols[f"DT{j}"] = pd.Series(pd.to_datetime(seconds, unit="s", utc=True)).astype(
            "datetime64[s, UTC]").array
    for j in range(3):
        days = rng.integers(17_000, 21_000, rows)
        cols[f"D{j}"] = pd.Series(pd.to_datetime(days, unit="D")).astype("datetime64[s]").array
    original = pd.DataFrame(cols, index=ids)
    edited = original.copy()
    per_column = int(rows * fraction)
    for name in edited.columns:
        pos = rng.choice(rows, per_column, replace=False)
        col = edited[name].copy()
        if name.startswith("T"):
            col.iloc[pos] = "changed"
        elif name.startswith(("I", "F")):
            col.iloc[pos] = col.iloc[pos] + 1
        elif name.startswith("B"):
            col.iloc[pos] = ~col.iloc[pos]
        else:
            col.iloc[pos] = col.iloc[pos] + pd.Timedelta(days=1)
        edited[name] = col
    return original, edited, per_column * len(edited.columns)


def best_of(repeat: int, fn: Callable[[], Any]) -> tuple[float, Any]:
    best, result = math.inf, None
    for _ in range(repeat):
        start = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - start)
    return best, result


LEADS_FIELDS: list[dict[str, Any]] = [
    {"api_name": "Owner", "data_type": "ownerlookup", "json_type": "jsonobject",
     "mass_update": True},
    {"api_name": "Email", "data_type": "email", "length": 100, "mass_update": True},
    {"api_name": "Lead_Status", "data_type": "picklist", "mass_update": True,
     "pick_list_values": [{"actual_value": v} for v in (
         "Attempted to Contact", "Contact in Future", "Contacted", "Junk Lead", "Lost Lead",
         "Not Contacted", "Pre-Qualified", "Not Qualified")]},
    {"api_name": "City", "data_type": "text", "length": 100, "mass_update": True},
    {"api_name": "No_of_Employees", "data_type": "integer", "json_type": "integer",
     "mass_update": True},
    {"api_name": "Annual_Revenue", "data_type": "currency", "decimal_place": 2,
     "mass_update": True},
]
def table(rows: list[list[Any]], header: list[str]) -> str:
    cells = [[f"{x:,}" if isinstance(x, int) else str(x) for x in row] for row in rows]
    widths = [max(len(x) for x in col) for col in zip(header, *cells, strict=True)]
    out = ["  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True)),
           "  ".join("-" * w for w in widths)]
    for raw, row in zip(rows, cells, strict=True):
        out.append("  ".join(
            x.ljust(w) if isinstance(r, str) else x.rjust(w)
            for r, x, w in zip(raw, row, widths, strict=True)))
    return "\n".join(out)


def describe(plan: Any) -> str:
    parts = []
    for route, group in plan.steps.groupby("route", sort=False):
        if route == "bulk_write":
            parts.append(f"bulk_write: {len(group)} job(s) = {int(group['calls'].sum())} calls")
        else:
            parts.append(f"{route} x {len(group)}")
    return ", ".join(parts)


def bench_diff(rows: int, fraction: float, repeat: int) -> None:
    original, edited, changed = frames(rows, fraction)
    print(f"\n1. diff vs DataFrame.compare: {rows:,} x {original.shape[1]} frame, "
          f"{changed:,} cells changed ({fraction:.0%} per column), best of {repeat}")
    t_diff, cs = best_of(repeat, lambda: diff(original, edited))
    t_cmp, cmp = best_of(repeat, lambda: original.compare(edited))
    cmp_cells = int(cmp.xs("self", level=1, axis=1).notna().to_numpy().sum())
    print(table(
        [["crmframe.diff", round(t_diff, 3), len(cs)],
         ["DataFrame.compare", round(t_cmp, 3), cmp_cells]],
        ["method", "seconds", "changed cells"],
    ))
    print(f"ratio diff / compare = {t_diff / t_cmp:.2f} (goal <= 1.00)")
    meta = [{"api_name": c, "data_type": "text", "length": 255} for c in edited.columns
            if c.startswith("T")]
    subset = cs.without(cs.changes["field"].str.startswith("T").to_numpy(dtype=bool))
    t_val, problems = best_of(repeat, lambda: find_problems(subset, meta))
    print(f"find_problems on {len(subset):,} text changes: {t_val:.3f} s, "
          f"{len(problems)} problems")


def bench_plan() -> None:
    cs = standard_scenario()
    print(f"\n2. plans for the standard scenario: {len(cs.ids):,} records, {len(cs):,} changed "
          "cells (6,000 x Lead_Status='Contacted'; 4,000 assorted, each with Email or Owner)")
    flat = Costs(mass_update_records_per_credit=None, mass_update_call_credits=1)
    variants: list[tuple[str, dict[str, Any]]] = [
        ("plan: fewest calls, no bulk write", {"objective": "calls", "bulk_threshold": None}),
        ("plan: fewest calls (default)", {"objective": "calls"}),
        ("plan: fewest credits (default)", {"objective": "credits"}),
        ("plan: fewest calls, bulk from 2,000", {"objective": "calls", "bulk_threshold": 2000}),
        ("plan: fewest credits, bulk from 2,000",
         {"objective": "credits", "bulk_threshold": 2000}),
        ("plan: fewest calls, bulk from 2,000, MU 1 credit/call",
         {"objective": "calls", "bulk_threshold": 2000, "costs": flat}),
        ("plan: fewest credits, bulk from 2,000, MU 1 credit/call",
         {"objective": "credits", "bulk_threshold": 2000, "costs": flat}),
    ]
    first = make_plan(cs, LEADS_FIELDS, "Leads", bulk_threshold=None)
    rows: list[list[Any]] = [
        ["one PUT per record", first.naive_calls, first.naive_credits, "put x 10,000", ""],
        ["PUT batches of 100", first.batch_calls, first.batch_credits, "put x 100", ""],
    ]
    for label, options in variants:
        start = time.perf_counter()
        plan = make_plan(cs, LEADS_FIELDS, "Leads", **options)
        took = time.perf_counter() - start
        rows.append([label, plan.calls, plan.credits, describe(plan), f"{took:.2f} s"])
    print(table(rows, ["method", "calls", "credits", "routes (calls)", "planning"]))
    print("lower bound without bulk write: 12 mass updates of 500 + 40 PUT batches = 52 calls; "
          f"plan: {first.calls} calls")
    print("(credits: PUT 1 per 10 records; mass update priced like an update unless noted "
          "(UNCONFIRMED in Zoho's docs); bulk-write job 500 credits, counted as 4 calls)")


def cpu_median(rounds: int, fn: Callable[[], Any]) -> tuple[float, list[float], Any]:
    """Median CPU seconds of ``rounds`` runs (CPU, not wall: the machine is shared)."""
    times, result = [], None
    for _ in range(rounds):
        result = None
        start = time.process_time()
        result = fn()
        times.append(time.process_time() - start)
    return statistics.median(times), times, result


def _lists(rng: np.random.Generator, rows: int) -> list[Any]:
    langs = ["English", "Spanish", "German", "Tamil", "Japanese"]
    return [None if k < 0 else [langs[(i + j) % 5] for j in range(k)]
            for i, k in enumerate(rng.integers(-1, 4, rows).tolist())]


def bench_diff_kinds(rows: int, fraction: float, rounds: int) -> None:
    """diff vs DataFrame.compare on re-read list columns and on Arrow-backed strings."""
    rng = np.random.default_rng(1)
    ids = pd.Index([str(3652397000000000000 + i) for i in range(rows)], dtype="string",
                   name="id")
    print(f"\n4. diff vs DataFrame.compare by column kind: {rows:,} rows, {fraction:.0%} of "
          f"each column changed; median CPU of {rounds} rounds")
    out = []
    for label, make in (
        ("4 list columns, re-read (equal lists, not the same objects)", "lists"),
        ("12 Arrow-backed string columns (string[pyarrow])", "strings"),
    ):
        cols: dict[str, Any] = {}
        if make == "lists":
            for j in range(4):
                cols[f"L{j}"] = pd.Series(_lists(rng, rows), dtype=object).to_numpy()
        else:
            for j in range(12):
                cols[f"T{j}"] = pd.array(WORDS[rng.integers(0, len(WORDS), rows)],
                                         dtype="string[pyarrow]")
        original = pd.DataFrame(cols, index=ids)
        edited = original.copy(deep=True)
        for name in edited.columns:
            if make == "lists":
                # what a re-read gives: new list objects with the same items
                col = [None if v is None else list(v) for v in original[name].tolist()]
                for i in rng.choice(rows, int(rows * fraction), replace=False).tolist():
                    col[i] = ["Changed"]
                values = np.empty(rows, dtype=object)
                values[:] = col
                edited[name] = values
            else:
                col = edited[name].copy()
                col.iloc[rng.choice(rows, int(rows * fraction), replace=False)] = "changed"
                edited[name] = col
        t_diff, _, cs = cpu_median(rounds, lambda o=original, e=edited: diff(o, e))
        t_cmp, _, _ = cpu_median(rounds, lambda o=original, e=edited: o.compare(e))
        out.append([label, f"{t_diff:.3f}", f"{t_cmp:.3f}", f"{t_diff / t_cmp:.2f}",
                    "met" if t_diff <= t_cmp else "NOT met", len(cs)])
    print(table(out, ["case", "diff s", "compare s", "ratio", "goal <= 1.0", "cells"]))


def _scaled_frames(cells: int, seed: int = 0) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``cells`` changed cells: cells / 4 records x 4 fields (a picklist, a phone, an
    integer, an e-mail), each record changed in all four."""
    rng = np.random.default_rng(seed)
    rows = cells // 4
    ids = pd.Index([str(3652397000000000000 + i) for i in range(rows)], dtype="string",
                   name="id")
    original = pd.DataFrame({
        "Lead_Status": pd.array(["Not Contacted"] * rows, dtype="string"),
        "Phone": pd.array([f"+1 555 {i:07d}" for i in range(rows)], dtype="string"),
        "No_of_Employees": pd.array(rng.integers(0, 100, rows), dtype="Int64"),
        "Email": pd.array([f"a{i}@example.com" for i in range(rows)], dtype="string"),
    }, index=ids)
    edited = original.copy()
    edited["Lead_Status"] = pd.array(
        rng.choice(["Contacted", "Junk Lead", "Lost Lead"], rows), dtype="string")
    edited["Phone"] = pd.array([f"+1 666 {i:07d}" for i in range(rows)], dtype="string")
    edited["No_of_Employees"] = edited["No_of_Employees"] + 1
    edited["Email"] = pd.array([f"b{i}@example.com" for i in range(rows)], dtype="string")
    original.attrs["module"] = edited.attrs["module"] = "Leads"
    return original, edited


def _answers(ids: list[str], per_call: int = 100) -> list[tuple[list[str], dict[str, Any]]]:
    """Zoho's per-record answers to PUT batches of ``per_call``: 1 in 50 an error."""
    calls = []
    for start in range(0, len(ids), per_call):
        chunk = ids[start : start + per_call]
        data = []
        for n, rid in enumerate(chunk):
            if (start + n) % 50 == 49:
                data.append({"code": "INVALID_DATA", "status": "error",
                             "message": "invalid data", "details": {"api_name": "Phone",
                                                                    "expected_data_type": "phone"}})
            else:
                data.append({"code": "SUCCESS", "status": "success", "message": "record updated",
                             "details": {"id": rid, "Modified_Time": "2024-05-11T18:22:29+05:30",
                                         "Modified_By": {"id": "4150868000000225013",
                                                         "name": "Patricia Boyle"}}})
        calls.append((chunk, {"data": data}))
    return calls


def _as_received(calls: list[tuple[list[str], dict[str, Any]]]
                 ) -> list[tuple[list[str], dict[str, Any]]]:
    """The answers as the client hands them on: each decoded by ``json.loads`` from its
    own bytes (fresh objects for every value, as in a real push, not shared literals)."""
    return [(ids, json.loads(json.dumps(body).encode())) for ids, body in calls]


def _least_work(calls: list[tuple[list[str], dict[str, Any]]]) -> list[Any]:
    """The least any builder of the results' columns must do, and nothing else: every
    field read once by pandas' C loop over dicts, one Arrow string array per column.
    No checks, no dtypes, no datetimes, no frame."""
    items: list[Any] = []
    ids: list[str] = []
    for sent, body in calls:
        items += body["data"]
        ids += sent
    top = dicts_to_array(items, ["code", "status", "message", "details"])
    details = dicts_to_array(top[:, 3].tolist(), ["Modified_Time", "Modified_By", "api_name",
                                                   "expected_data_type"])
    by = details[:, 1]
    by[pd.isna(by)] = {}
    lookups = dicts_to_array(by.tolist(), ["id", "name"])
    columns = [ids, top[:, 0], top[:, 1], top[:, 2], details[:, 0], details[:, 2],
               details[:, 3], lookups[:, 0], lookups[:, 1]]
    return [pa.array(c, type=pa.string(), from_pandas=True) for c in columns]


def bench_scaling(sizes: list[int], rounds: int) -> None:
    """Planning and results building against diff, for growing numbers of changed cells."""
    print(f"\n5. planning and results building against diff (median CPU of {rounds} rounds; "
          "cells = records x 4 fields; results: one per-record answer per changed cell, "
          "in calls of 100, each answer decoded by json.loads from its bytes; floor: the "
          "least work any builder of those columns must do, see _least_work)")
    out = []
    for cells in sizes:
        original, edited = _scaled_frames(cells)
        t_diff, _, cs = cpu_median(rounds, lambda o=original, e=edited: diff(
            o, e, fields=SCALING_FIELDS))
        t_plan, _, _ = cpu_median(rounds, lambda c=cs: make_plan(c, SCALING_FIELDS, "Leads"))
        answers = _as_received(_answers([str(3652397000000000000 + i) for i in range(cells)]))

        def build(calls: list[tuple[list[str], dict[str, Any]]] = answers) -> pd.DataFrame:
            builder = ResultsBuilder()
            for number, (ids, body) in enumerate(calls):
                builder.add(body, records=ids, in_order=True, route="put", call=number)
            return builder.to_frame()

        t_res, _, frame = cpu_median(rounds, build)
        assert len(frame) == cells
        t_floor, _, _ = cpu_median(rounds, lambda a=answers: _least_work(a))
        out.append([cells, f"{t_diff:.2f}", f"{t_plan:.2f}", f"{t_plan / t_diff:.2f}",
                    f"{t_res:.2f}", f"{t_res / t_diff:.2f}", f"{t_floor / t_diff:.2f}",
                    f"{t_res / cells * 1e6:.2f}"])
    print(table(out, ["changed cells", "diff s", "plan s", "plan/diff", "results s",
                      "results/diff", "floor/diff", "us/result"]))
    last = out[-1]
    print(f"goals at {sizes[-1]:,} cells: plan <= 1.0x diff: "
          f"{'met' if float(last[3]) <= 1.0 else 'NOT met'} ({last[3]}x); "
          f"results <= 0.5x diff: {'met' if float(last[5]) <= 0.5 else 'NOT met'} ({last[5]}x;"
          f" the floor alone is {last[6]}x)")


SCALING_FIELDS: list[dict[str, Any]] = [
    {"api_name": "Lead_Status", "data_type": "picklist", "mass_update": True},
    {"api_name": "Phone", "data_type": "phone", "mass_update": True},
    {"api_name": "No_of_Employees", "data_type": "integer", "json_type": "integer",
     "mass_update": True},
    {"api_name": "Email", "data_type": "email", "mass_update": False},
]


def _insert_frame(n: int, tag: str) -> pd.DataFrame:
    return pd.DataFrame({"Last_Name": [f"{tag} {i}" for i in range(n)],
                         "Company": [f"Booth {i % 50}" for i in range(n)],
                         "Lead_Source": ["Trade Show"] * n})


def _counted(server: Any, run: Callable[[], Any]) -> tuple[int, int, float]:
    """API calls (OAuth left out) and credits ``run`` cost on ``server``, and seconds."""
    server.clear_requests()
    credits = server.credits_used
    start = time.perf_counter()
    run()
    took = time.perf_counter() - start
    calls = sum(1 for _, path, _ in server.requests if "/oauth/" not in path)
    return calls, server.credits_used - credits, took


def bench_inserts(sizes: list[int], single_max: int) -> None:
    from crmframe.facade.crm import connect
    from crmframe.sandbox import start

    print("\n3. inserting new Leads (sandbox; calls and credits counted by the server)")
    rows: list[list[Any]] = []
    with start(records=50, job_speed=1_000_000, job_delay=0.05) as server, \
            connect(**server.credentials) as crm:
        crm.read_fields("Leads")  # metadata cached, not counted below
        for n in sizes:
            def ours(n: int = n) -> None:
                result = crm.insert(_insert_frame(n, "plan"), module="Leads",
                                    poll_interval=0.1, progress=False)
                assert result.failed.empty, result
            calls, credits, took = _counted(server, ours)
            rows.append([f"{n:,}", "crm.insert (its plan)", calls, credits, f"{took:.1f} s"])

            def batches(n: int = n) -> None:
                frame = _insert_frame(n, "batch")
                records = frame.to_dict("records")
                for i in range(0, n, 100):
                    crm.client.request("POST", "Leads", json={"data": records[i:i + 100]})
            calls_b, credits_b, took = _counted(server, batches)
            rows.append([f"{n:,}", "POST batches of 100", calls_b, credits_b, f"{took:.1f} s"])
            if n <= single_max:
                def singles(n: int = n) -> None:
                    for record in _insert_frame(n, "one").to_dict("records"):
                        crm.client.request("POST", "Leads", json={"data": [record]})
                calls_s, credits_s, took = _counted(server, singles)
                rows.append([f"{n:,}", "one POST per record", calls_s, credits_s,
                             f"{took:.1f} s"])
            else:
                rows.append([f"{n:,}", "one POST per record (cost model)", n, n, "not sent"])
            rows.append([f"{n:,}", "ratio batches/plan", f"{calls_b / calls:.1f}x",
                         f"{credits_b / credits:.1f}x", ""])
    print(table(rows, ["records", "method", "calls", "credits", "time"]))
    print("(crm.insert calls include its bulk-write status polls and result downloads)")


def _settling_run(rate: float, route: str) -> dict[str, Any]:
    """One 10,000-record push at ``rate`` lost answers: ``route`` "put+mass" (6,000 by mass
    update, 4,000 by PUT) or "bulk" (10 bulk-write jobs of 1,000 rows)."""
    import functools

    import crmframe.facade.write.run as run_module
    from crmframe.core import plan as plan_module
    from crmframe.facade.crm import connect
    from crmframe.facade.write.sender import CrmSender
    from crmframe.sandbox import start

    senders: list[CrmSender] = []

    class Counting(CrmSender):
        """The push's own sender, kept to read its settling counters afterwards."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            senders.append(self)

    run_module.CrmSender = Counting  # type: ignore[misc]
    limits = plan_module.Limits
    if route == "bulk":
        plan_module.Limits = functools.partial(limits, bulk_write_rows=1000)  # type: ignore
    try:
        with start(records=10_000, seed=11, lost_answer_rate=rate, flag_records=False,
                   job_speed=100_000, job_delay=0.02) as server, \
                connect(**server.credentials) as crm:
            original = crm.read_records("Leads", ["Lead_Status", "Custom_Text_3",
                                                  "Modified_Time"], progress=False)
            edited = original.copy()
            if route == "bulk":
                edited["Custom_Text_3"] = pd.array(
                    [f"bench {i}" for i in range(len(edited))], dtype="string")
            else:
                edited.loc[edited.index[:6000], "Lead_Status"] = "Contacted"
                edited.loc[edited.index[6000:], "Custom_Text_3"] = pd.array(
                    [f"bench {i}" for i in range(len(edited) - 6000)], dtype="string")
            result: Any = None

            def push() -> None:
                nonlocal result
                result = crm.push(edited, original, trigger=[], progress=False,
                                  bulk_threshold=1000 if route == "bulk" else 100_000,
                                  poll_interval=0.02)
            calls, credits, took = _counted(server, push)
            requests = server.requests
            counts = server.write_counts("Leads")
            statuses = result.results.groupby("status")["id"].nunique().to_dict()
    finally:
        run_module.CrmSender = CrmSender  # type: ignore[misc]
        plan_module.Limits = limits  # type: ignore[misc]
    return {
        "ambiguous": sum(x.ambiguous for x in senders),
        "settle_reads": sum(x.settle_reads for x in senders),
        "settle_calls": sum(x.settle_calls for x in senders),
        "calls": calls, "credits": credits, "took": took,
        "writes": sum(1 for m, p, _ in requests if m != "GET" and "/oauth/" not in p),
        "reads": sum(1 for m, p, _ in requests if m == "GET" and "/oauth/" not in p),
        "lost": server.answers_lost, "twice": sum(1 for n in counts.values() if n > 1),
        "success": statuses.get("success", 0), "unknown": statuses.get("unknown", 0),
        "error": statuses.get("error", 0),
    }


def bench_settling(rates: list[float]) -> None:
    for route, what in (("put+mass", "6,000 by mass update, 4,000 by PUT"),
                        ("bulk", "10 bulk-write jobs of 1,000 rows")):
        print(f"\n6. settling lost answers: 10,000 edited Leads ({what}), a share of write "
              "answers lost after the write committed (sandbox counts)")
        clean = _settling_run(0.0, route)
        runs = [("no lost answers", clean)] + [
            (f"{rate:.0%} lost answers", _settling_run(rate, route)) for rate in rates]
        rows = []
        for name, run in runs:
            extra = run["settle_reads"] + run["settle_calls"]
            rows.append([name, run["calls"], run["writes"], run["reads"], run["credits"],
                         run["lost"], run["ambiguous"], extra, run["settle_reads"],
                         run["settle_calls"], f"{extra / run['calls']:.1%}", run["twice"],
                         run["success"], run["unknown"], run["error"]])
        print(table(rows, ["run", "calls", "writes", "reads", "credits", "answers lost",
                           "settled writes", "settling calls", "read-backs", "re-sends",
                           "share of calls", "records written twice", "success", "unknown",
                           "error"]))
    print("settling calls: counted by the push's sender (read-backs and job look-ups, and "
          "re-sends of what provably did not land); the runs' totals also differ by the "
          "conflict check's reads and the client's retries of lost idempotent uploads.")


def bench_conflicts(n: int) -> None:
    from crmframe.facade.crm import connect
    from crmframe.facade.write.conflicts import Guard, read_time, stamps_of
    from crmframe.facade.write.readback import read_back
    from crmframe.sandbox import start

    print(f"\n7. conflict check of a push of {n:,} edited Leads (sandbox; calls counted by "
          "the server)")
    rows: list[list[Any]] = []
    with start(records=n + 5_000, seed=3, flag_records=False) as server, \
            connect(**server.credentials) as crm:
        leads = crm.read_records("Leads", ["City", "Modified_Time"], progress=False)
        edited_ids = [str(i) for i in leads.index[:n]]
        others = [str(i) for i in leads.index[n:]]
        baseline = leads.loc[edited_ids]

        def check() -> dict[str, Any]:
            guard = Guard(crm, "Leads", stamps_of(baseline), since=read_time(leads))
            return guard.changed(edited_ids)

        def per_100_ids() -> None:
            read_back(crm, "Leads", ["Modified_Time"], edited_ids)

        cases: list[tuple[str, Callable[[], None]]] = [
            ("nothing changed", lambda: None),
            ("a colleague changed 50 edited records",
             lambda: [server.touch("Leads", i) for i in edited_ids[:50]] and None),
            ("5,000 other records changed",
             lambda: [server.touch("Leads", i) for i in others] and None),
        ]
        for label, change in cases:
            change()
            found: dict[str, Any] = {}

            def run(found: dict[str, Any] = found) -> None:
                found.update(check())
            calls, _, took = _counted(server, run)
            calls_ids, _, took_ids = _counted(server, per_100_ids)
            rows.append([label, len(found), calls, f"{took:.2f} s", calls_ids,
                         f"{took_ids:.2f} s", f"{calls_ids / calls:.0f}x"])
    print(table(rows, ["case", "conflicts", "check calls", "time", "GET per 100 ids",
                       "time", "ratio"]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--rows", type=int, default=500_000)
    parser.add_argument("--fraction", type=float, default=0.01)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000, 1_000_000],
                        help="changed cells for the planning/results scaling table")
    parser.add_argument("--only-speed", action="store_true",
                        help="only sections 4 and 5 (diff by column kind, plan/results scaling)")
    parser.add_argument("--insert-sizes", type=int, nargs="*", default=[10_000, 100_000])
    parser.add_argument("--single-max", type=int, default=10_000)
    parser.add_argument("--only-inserts", action="store_true")
    parser.add_argument("--settle-rate", type=float, nargs="+", default=[0.05, 0.30])
    parser.add_argument("--only-settling", action="store_true")
    parser.add_argument("--conflict-records", type=int, default=10_000)
    parser.add_argument("--only-conflicts", action="store_true")
    parser.add_argument("--only-scaling", action="store_true",
                        help="only section 5 (plan/results scaling)")
    args = parser.parse_args()
    print(f"pandas {pd.__version__}, numpy {np.__version__}")
    if args.only_settling:
        bench_settling(args.settle_rate)
        return
    if args.only_conflicts:
        bench_conflicts(args.conflict_records)
        return
    if args.only_scaling:
        bench_scaling(args.sizes, args.repeat)
        return
    if not (args.only_inserts or args.only_speed):
        bench_diff(args.rows, args.fraction, args.repeat)
        bench_plan()
    if args.insert_sizes and not args.only_speed:
        bench_inserts(args.insert_sizes, args.single_max)
    if not (args.only_inserts or args.only_speed):
        bench_settling(args.settle_rate)
        bench_conflicts(args.conflict_records)
    if not args.only_inserts:
        bench_diff_kinds(args.rows, args.fraction, args.repeat)
        bench_scaling(args.sizes, args.repeat)


if __name__ == "__main__":
    main()
