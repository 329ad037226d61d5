"""Benchmark: ``crm.read_records`` against a bare ``requests`` loop over the same pages.

In one run:

1. a sandbox seeds N Leads into a SQLite file once; every timed phase then gets a fresh
   sandbox process on that file (the server keeps page tokens and views in memory, so a
   long-lived one slows down as phases go by, which would skew the comparison);
2. a **bare loop**: ``requests.Session``, one token, ``GET /crm/v8/Leads`` page by page
   (page numbers to 2,000, then ``page_token``), one pass per chunk of ≤ 50 fields,
   keeping ``r.json()["data"]`` of every page — the untyped lists a hand-written script
   would hold;
3. ``crm.read_records("Leads", fields)`` over the same pages (a typed frame);
4. ``read_records`` again for its peak memory: Python's heap (``tracemalloc``) plus Arrow's
   (a proxy of Arrow's memory pool made the default for that read: parsed pages and the
   frame's Arrow-backed strings live there, out of tracemalloc's sight), the two peaks
   added (an over-count at worst), compared with the final frame's
   ``memory_usage(deep=True)``.

Both wall time and this process's CPU time are reported: the sandbox runs in another
process, so CPU time is the client's own work, free of server speed and machine load.
The garbage collector is in its normal state (on) on both sides.

Usage::

    .venv/bin/python benchmarks/bench_read.py                  # 100,000 records, 20 fields
    .venv/bin/python benchmarks/bench_read.py --records 20000 --fields 60 --repeat 3
    .venv/bin/python benchmarks/bench_read.py --latency 0.05   # network-like round trips

Flags:

``--records N`` (default 100,000)
    Leads seeded into the sandbox and read back. Seeding is done once per run. Measured
    on the shared 2-core development machine (load 2-4): the default size takes about
    80-100 s in all (seeding, one bare pass, one ``read_records`` pass, one traced
    pass), about 110-145 s with ``--repeat 3``; ``--records 20000 --repeat 3`` about
    55-60 s (60 s with ``--fields 60``).
``--fields N`` (default 20)
    Fields read (the first N of the Leads metadata, ``id`` apart). Zoho allows 50 per
    call, so above 49 both sides read the records once per chunk of 49 fields.
``--version V`` (default ``v8``)
    API version in the URLs (``v2``/``v2.1`` take the older paging).
``--repeat N`` (default 3)
    Timed rounds, bare loop and ``read_records`` alternating, each on a fresh sandbox;
    the medians are reported.
``--dtype-backend B`` (default ``numpy_nullable``)
    ``read_records``' ``dtype_backend`` (``pyarrow``: Arrow-backed columns).
``--latency S`` (default 0)
    Seconds the sandbox waits before answering each call (real Zoho: ~0.1-0.3 s), so
    wall time includes round trips as it would over a network.

Goals: ``read_records`` client CPU at most 1.1x the bare loop's; peak memory at most 1.5x
the frame.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pyarrow as pa
import requests

import crmframe.facade.crm as facade
from crmframe.facade.reading import MAX_FIELDS_PER_CALL

SERVER_SCRIPT = """
import json, sys
from crmframe.sandbox import start
server = start(records=int(sys.argv[1]), db=sys.argv[2], seed=1, latency=float(sys.argv[3]))
print(json.dumps(dict(server.credentials)), flush=True)
sys.stdin.read()  # serve until the parent closes our stdin
server.stop()
"""


@contextmanager
def sandbox(records: int, db: str, latency: float = 0.0) -> Iterator[dict[str, Any]]:
    """A sandbox in a child process (seeded on first use of ``db``); yields credentials."""
    child = subprocess.Popen(
        [sys.executable, "-c", SERVER_SCRIPT, str(records), db, str(latency)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    assert child.stdin is not None
    assert child.stdout is not None
    try:
        line = child.stdout.readline()
        if not line:
            raise SystemExit("the sandbox did not start")
        yield json.loads(line)
    finally:
        child.stdin.close()
        child.wait(timeout=60)
        child.stdout.close()


def bare_loop(credentials: dict[str, Any], version: str, chunks: list[list[str]]) -> int:
    """The hand-written baseline: same pages, JSON lists kept, no typing."""
    with requests.Session() as session:
        token = session.post(
            credentials["accounts_url"].rstrip("/") + "/oauth/v2/token",
            data={"grant_type": "refresh_token", "client_id": credentials["client_id"],
                  "client_secret": credentials["client_secret"],
                  "refresh_token": credentials["refresh_token"]},
        ).json()["access_token"]
        headers = {"Authorization": f"Zoho-oauthtoken {token}"}
        url = f"{credentials['api_domain'].rstrip('/')}/crm/{version}/Leads"
        kept: list[list[dict[str, Any]]] = []
        rows = 0
        for chunk in chunks:
            params: dict[str, Any] = {"fields": ",".join(["id", *chunk]), "per_page": 200}
            page, page_token = 1, None
            while True:
                query = dict(params)
                if page_token:
                    query["page_token"] = page_token
                else:
                    query["page"] = page
                response = session.get(url, params=query, headers=headers)
                if response.status_code == 204:
                    break
                body = response.json()
                kept.append(body["data"])
                rows += len(body["data"])
                info = body.get("info", {})
                if not info.get("more_records"):
                    break
                if page_token is None and page < 10:
                    page += 1
                else:
                    page_token = info["next_page_token"]
        return rows


def timed(run: Callable[[], Any]) -> tuple[float, float, Any]:
    """(wall seconds, this process's CPU seconds, result)."""
    gc.collect()
    wall, cpu = time.perf_counter(), time.process_time()
    result = run()
    return time.perf_counter() - wall, time.process_time() - cpu, result


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--fields", type=int, default=20, help="fields read (> 49: passes)")
    parser.add_argument("--version", default="v8")
    parser.add_argument("--repeat", type=int, default=3, help="alternating timed runs")
    parser.add_argument("--dtype-backend", default="numpy_nullable",
                        choices=["numpy_nullable", "pyarrow"], help="read_records' backend")
    parser.add_argument("--latency", type=float, default=0.0,
                        help="seconds the sandbox adds to each call (Zoho: ~0.1-0.3)")
    args = parser.parse_args(argv)

    bare: list[tuple[float, float]] = []
    read: list[tuple[float, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        db = os.path.join(tmp, "bench.db")
        with sandbox(args.records, db) as credentials:  # seeds the file once
            credentials = {**credentials, "version": args.version}
            with facade.connect(**credentials) as crm:
                names = [n for n in crm.read_fields("Leads").index if n != "id"][: args.fields]
        per_pass = MAX_FIELDS_PER_CALL - 1  # "id" takes the 50th place
        chunks = [names[i : i + per_pass] for i in range(0, len(names), per_pass)]

        for _ in range(args.repeat):
            with sandbox(args.records, db, args.latency) as credentials:
                wall, cpu, bare_rows = timed(lambda: bare_loop(
                    {**credentials}, args.version, chunks))
                bare.append((wall, cpu))
            with sandbox(args.records, db, args.latency) as credentials, facade.connect(
                **{**credentials, "version": args.version}
            ) as crm:
                crm.read_fields("Leads")
                wall, cpu, frame = timed(lambda: crm.read_records(
                    "Leads", names, progress=False, method="pages",
                    dtype_backend=args.dtype_backend))
                read.append((wall, cpu))
                rows = len(frame)
                frame_bytes = int(frame.memory_usage(deep=True).sum())
                del frame

        with sandbox(args.records, db) as credentials, facade.connect(
            **{**credentials, "version": args.version}
        ) as crm:
            crm.read_fields("Leads")
            gc.collect()
            previous = pa.default_memory_pool()
            pool = pa.proxy_memory_pool(previous)  # kept alive: its buffers free through it
            pa.set_memory_pool(pool)
            try:
                tracemalloc.start()
                again = crm.read_records("Leads", names, progress=False, method="pages",
                                         dtype_backend=args.dtype_backend)
                _, python_peak = tracemalloc.get_traced_memory()
                tracemalloc.stop()
                again_rows = len(again)
                # Arrow frees these buffers through the proxy pool: before the pool goes.
                del again
                gc.collect()
            finally:
                pa.set_memory_pool(previous)
            arrow_peak = pool.max_memory()
            peak = python_peak + arrow_peak
            assert again_rows == rows == bare_rows // len(chunks)

    bare_wall = statistics.median(w for w, _ in bare)
    bare_cpu = statistics.median(c for _, c in bare)
    read_wall = statistics.median(w for w, _ in read)
    read_cpu = statistics.median(c for _, c in read)
    print(f"records: {rows:,} x {len(names)} fields ({len(chunks)} pass(es)), "
          f"API {args.version}, latency {args.latency}s, median of {args.repeat}, "
          f"dtype_backend {args.dtype_backend}, "
          f"load {os.getloadavg()[0]:.1f}")
    print(f"bare requests loop : wall {bare_wall:7.2f} s ({rows / bare_wall:9,.0f} rec/s)  "
          f"client CPU {bare_cpu:6.2f} s")
    print(f"read_records       : wall {read_wall:7.2f} s ({rows / read_wall:9,.0f} rec/s)  "
          f"client CPU {read_cpu:6.2f} s")
    print(f"ratio read_records / bare: wall {read_wall / bare_wall:.2f}, "
          f"client CPU {read_cpu / bare_cpu:.2f} (goal <= 1.10: "
          f"{'met' if read_cpu <= 1.1 * bare_cpu else 'NOT met'})")
    print(f"frame memory_usage(deep=True): {frame_bytes / 2**20:8.1f} MiB")
    print(f"read_records peak: {python_peak / 2**20:.1f} MiB Python + "
          f"{arrow_peak / 2**20:.1f} MiB Arrow = {peak / 2**20:.1f} MiB, "
          f"ratio {peak / frame_bytes:.2f} (goal <= 1.5: "
          f"{'met' if peak <= 1.5 * frame_bytes else 'NOT met'})")


if __name__ == "__main__":
    main()
