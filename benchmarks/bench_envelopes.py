"""Benchmark: Zoho record pages → typed DataFrame, against ``json.loads`` of the same bytes.

Builds a synthetic corpus (by default 200,000 records over 1,000 pages of 200, 30 fields of
mixed types with their ``/settings/fields`` metadata: ids, text, picklists, e-mail,
integer, double, currency, boolean, date, datetimes with varied offsets, lookups,
multi-select lists, tags, some nulls) as JSON bytes, then measures the CPU time of:

* ``json.loads`` of every page (the baseline: 1.00);
* ``orjson.loads`` of every page (when orjson is installed);
* ``pandas.json_normalize`` of the parsed records (flattened, untyped; its parse excluded);
* ``pyarrow.json.read_json`` of every page with the metadata's schema (untyped tables,
  not flattened: the floor of the columnar parse);
* ``records_to_frame`` over the pages from the **bytes** (its own parse included), with
  the metadata, for ``dtype_backend="numpy_nullable"`` (the default) and ``"pyarrow"``.

Every side runs with the cyclic garbage collector in its normal state (on), the same for
all. The machine is shared: each measurement is repeated ``--rounds`` times (default 3),
the rounds interleaved, and the median CPU time reported.

Run: ``python benchmarks/bench_envelopes.py [--records 200000] [--rounds 3] [--profile]``.
Goals (CPU): the pyarrow backend at most 0.6x ``json.loads``, the default at most 1.0x.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import json
import os
import pstats
import random
import statistics
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.json as pj

from crmframe.core.records import RecordsBuilder

PER_PAGE = 200

FIELDS: list[tuple[str, str, str]] = [
    ("id", "bigint", "string"),
    ("Owner", "ownerlookup", "jsonobject"),
    ("Account_Name", "lookup", "jsonobject"),
    ("Layout", "layout", "jsonobject"),
    ("Last_Name", "text", "string"),
    ("First_Name", "text", "string"),
    ("Company", "text", "string"),
    ("Email", "email", "string"),
    ("Phone", "phone", "string"),
    ("Website", "website", "string"),
    ("Lead_Status", "picklist", "string"),
    ("Lead_Source", "picklist", "string"),
    ("Industry", "picklist", "string"),
    ("Description", "textarea", "string"),
    ("No_of_Employees", "integer", "integer"),
    ("Score", "integer", "integer"),
    ("Annual_Revenue", "currency", "double"),
    ("Percent_Done", "percent", "double"),
    ("Average_Time", "double", "double"),
    ("Email_Opt_Out", "boolean", "boolean"),
    ("Converted__s", "boolean", "boolean"),
    ("Date_of_Birth", "date", "string"),
    ("Created_Time", "datetime", "string"),
    ("Modified_Time", "datetime", "string"),
    ("Last_Activity_Time", "datetime", "string"),
    ("Languages", "multiselectpicklist", "jsonarray"),
    ("Tag", "text", "jsonarray"),
    ("Visitor_Score", "bigint", "string"),
    ("Record_Status__s", "picklist", "string"),
    ("Unsubscribed_Mode", "picklist", "string"),
]
OFFSETS = ["+00:00", "+05:30", "-07:00", "+01:00", "-03:30", "+09:00"]
STATUSES = ["Contacted", "Not Contacted", "Attempted to Contact", "Junk Lead", "Qualified"]
LANGS = ["English", "Spanish", "German", "French", "Tamil", "Japanese"]


def _when(rng: random.Random) -> str:
    offset = rng.choice(OFFSETS)
    moment = datetime(2020, 1, 1, tzinfo=timezone.utc) + timedelta(seconds=rng.randrange(10**8))
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + offset


def make_record(i: int, rng: random.Random) -> dict[str, Any]:
    base = 4150868000000000000 + i
    maybe = rng.random
    return {
        "id": str(base),
        "Owner": {"name": "Patricia Boyle", "id": "4150868000000225013",
                  "email": "patricia.boyle@zylker.com"},
        "Account_Name": None if maybe() < 0.3 else {"name": f"Account {i % 977}",
                                                     "id": str(base + 10**9)},
        "Layout": {"name": "Standard", "id": "4150868000000091055"},
        "Last_Name": f"Last {i}",
        "First_Name": None if maybe() < 0.1 else f"First {i % 313}",
        "Company": f"Company {i % 1009}",
        "Email": f"lead{i}@example.com",
        "Phone": f"+1-555-{i % 10000:04d}",
        "Website": None if maybe() < 0.5 else f"https://example{i % 50}.com",
        "Lead_Status": rng.choice(STATUSES),
        "Lead_Source": rng.choice(["Advertisement", "Web Download", "Trade Show", None]),
        "Industry": rng.choice(["ASP", "Data/Telecom OEM", "ERP", None]),
        "Description": None if maybe() < 0.7 else "Met at the fair; wants a demo " * 3,
        "No_of_Employees": None if maybe() < 0.2 else rng.randrange(1, 100000),
        "Score": rng.randrange(0, 100),
        "Annual_Revenue": None if maybe() < 0.2 else round(rng.random() * 10**7, 2),
        "Percent_Done": rng.choice([0, 25, 50.5, 100]),
        "Average_Time": rng.random() * 60,
        "Email_Opt_Out": maybe() < 0.1,
        "Converted__s": False,
        "Date_of_Birth": None if maybe() < 0.4 else
        f"{rng.randrange(1950, 2005)}-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}",
        "Created_Time": _when(rng),
        "Modified_Time": _when(rng),
        "Last_Activity_Time": None if maybe() < 0.3 else _when(rng),
        "Languages": rng.sample(LANGS, rng.randrange(0, 3)),
        "Tag": [] if maybe() < 0.7 else [{"name": "VIP", "id": "4150868000001000001"}],
        "Visitor_Score": str(rng.randrange(10**15, 10**18)),
        "Record_Status__s": "Available",
        "Unsubscribed_Mode": None,
        "$approved": True,
        "$state": "save",
    }


def make_corpus(n_records: int, seed: int = 7) -> list[bytes]:
    rng = random.Random(seed)
    pages = []
    for start in range(0, n_records, PER_PAGE):
        rows = [make_record(i, rng) for i in range(start, min(start + PER_PAGE, n_records))]
        more = start + PER_PAGE < n_records
        info = {"per_page": PER_PAGE, "count": len(rows), "page": start // PER_PAGE + 1,
                "more_records": more, "next_page_token": "tok" if more else None}
        pages.append(json.dumps({"data": rows, "info": info}).encode())
    return pages


def metadata() -> dict[str, Any]:
    return {"fields": [{"api_name": a, "data_type": d, "json_type": j} for a, d, j in FIELDS]}


def cpu(function: Callable[[], Any]) -> tuple[float, Any]:
    gc.collect()
    start = time.process_time()
    result = function()
    return time.process_time() - start, result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--profile", action="store_true", help="profile the default backend")
    args = parser.parse_args()

    built = time.perf_counter()
    pages = make_corpus(args.records)
    meta = metadata()
    size = sum(map(len, pages))
    print(f"corpus: {args.records:,} records, {len(pages)} pages, {len(FIELDS)} fields, "
          f"{size / 1e6:.1f} MB JSON (built in {time.perf_counter() - built:.1f} s)")
    print(f"garbage collector: on for every side; {args.rounds} rounds interleaved, "
          f"median CPU seconds (process time); load {os.getloadavg()[0]:.1f}")

    def frame(backend: str) -> Callable[[], pd.DataFrame]:
        def run() -> pd.DataFrame:
            builder = RecordsBuilder(meta, module="Leads", dtype_backend=backend)
            for page in pages:
                builder.add(page)
            return builder.to_frame()
        return run

    def normalise() -> pd.DataFrame:
        records = [r for page in parsed for r in page["data"]]
        return pd.json_normalize(records)

    parsed = [json.loads(p) for p in pages]
    cases: dict[str, Callable[[], Any]] = {
        "json.loads": lambda: [json.loads(p) for p in pages],
    }
    try:
        import orjson
    except ImportError:
        orjson = None
    if orjson is not None:
        cases["orjson.loads"] = lambda: [orjson.loads(p) for p in pages]
    cases["json_normalize (parsed records)"] = normalise
    schema = RecordsBuilder(meta, dtype_backend="pyarrow")._schema
    options = pj.ParseOptions(explicit_schema=schema, unexpected_field_behavior="infer")
    cases["pyarrow read_json (tables only)"] = lambda: [
        pj.read_json(pa.py_buffer(p), parse_options=options,
                     read_options=pj.ReadOptions(use_threads=False, block_size=len(p) + 64))
        for p in pages
    ]
    cases["records_to_frame, default backend"] = frame("numpy_nullable")
    cases["records_to_frame, pyarrow backend"] = frame("pyarrow")

    times: dict[str, list[float]] = {name: [] for name in cases}
    results: dict[str, Any] = {}
    for _ in range(args.rounds):
        for name, function in cases.items():
            seconds, results[name] = cpu(function)
            times[name].append(seconds)
    default = results["records_to_frame, default backend"]
    arrow = results["records_to_frame, pyarrow backend"]
    assert len(default) == len(arrow) == args.records
    assert str(default["Created_Time"].dtype) == "datetime64[s, UTC]"
    assert str(arrow["Created_Time"].dtype) == "timestamp[s, tz=UTC][pyarrow]"
    from_dicts = RecordsBuilder(meta, module="Leads")
    for page in parsed[:50]:
        from_dicts.add(page)
    expected = from_dicts.to_frame()
    pd.testing.assert_frame_equal(default.iloc[: len(expected)], expected)

    base = statistics.median(times["json.loads"])
    print(f"{'step':<38}{'cpu s':>8}{'x loads':>9}   rounds")
    for name, values in times.items():
        median = statistics.median(values)
        shown = " ".join(f"{v:.2f}" for v in values)
        print(f"{name:<38}{median:>8.3f}{median / base:>9.2f}   {shown}")
    ratio_default = statistics.median(times["records_to_frame, default backend"]) / base
    ratio_arrow = statistics.median(times["records_to_frame, pyarrow backend"]) / base
    print(f"frame: {default.shape[0]:,} rows x {default.shape[1]} typed columns")
    print(f"goal default <= 1.0x json.loads: {'met' if ratio_default <= 1.0 else 'NOT met'} "
          f"({ratio_default:.2f}x); goal pyarrow <= 0.6x: "
          f"{'met' if ratio_arrow <= 0.6 else 'NOT met'} ({ratio_arrow:.2f}x)")

    if args.profile:
        profiler = cProfile.Profile()
        profiler.runcall(frame("numpy_nullable"))
        pstats.Stats(profiler).sort_stats("tottime").print_stats(25)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
