"""Benchmark: ``crm.export`` (bulk path) against ``read_records`` into one frame.

For each size (default 200,000 and 1,000,000 Leads, every field):

1. a sandbox in its own process seeds the Leads into a SQLite file (once per size);
2. **read**: a fresh client process runs ``crm.read_records("Leads", method="bulk")``
   and reports its wall time, the frame's ``memory_usage(deep=True)`` and the growth of
   its peak RSS over the RSS it had once connected (``ru_maxrss``);
3. **export**: another fresh client process runs
   ``crm.export("Leads", dir, method="bulk")`` and reports the same, plus the calls and
   credits of the run and the dataset's size on disk.

Each side runs in its own process so that a peak RSS belongs to it alone. Ratios printed:
export time / read time, and export RSS growth / frame size (goal ≤ 0.5, aim ≤ 0.2).

Usage::

    .venv/bin/python benchmarks/bench_export.py                      # 200,000 and 1,000,000
    .venv/bin/python benchmarks/bench_export.py --records 50000

The 1,000,000 size takes long: the sandbox seeds and serves a million records from a
single process (196 s of CPU to seed them, 1,241 s of wall time at load 11-14 on the
shared 2-core machine). ``--cache-dir DIR`` keeps each seeded database there (keyed by
size, seed and a digest of the sandbox's seeding code) and later runs start from a copy:
loading costs ~60% of the seeding CPU (100,000 Leads: 9.6 s vs. 15.5 s), but the loaded
records take ~1.5× the memory (a JSON decode shares no objects: 100,000 Leads grew a
process by 1.27 GB loaded, 0.83 GB seeded).
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.util
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

SERVER_SCRIPT = """
import gc, json, sys, time
from crmframe.sandbox import start
cpu = time.process_time()
server = start(records=int(sys.argv[1]), db=sys.argv[2], seed=1, job_speed=1e7,
               job_delay=0)
# The seeded records live as long as the server: keep them out of every collection.
gc.freeze()
print(json.dumps({"credentials": dict(server.credentials),
                  "seed_cpu": time.process_time() - cpu}), flush=True)
sys.stdin.read()  # serve until the parent closes our stdin
server.stop()
import resource
print(json.dumps({"peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
                  "cpu": time.process_time() - cpu}), flush=True)
"""

CLIENT_SCRIPT = """
import json, resource, sys, time
import crmframe
import pyarrow, pyarrow.parquet  # loaded on both sides: the baseline holds them too

def rss_kib():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

credentials, what, target = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3]
# The sandbox builds a 200,000-row result while it answers a status poll: wait for it.
crm = crmframe.connect(**credentials, timeout=(10.0, 3600.0))
crm.bulk_sleep = lambda seconds: time.sleep(0.05)
crm.read_fields("Leads")
base = rss_kib()
calls0 = crm.client.request_count
start = time.perf_counter()
cpu = time.process_time()
out = {}
if what == "read":
    frame = crm.read_records("Leads", method="bulk", progress=False)
    out["seconds"] = time.perf_counter() - start
    out["rows"] = len(frame)
    out["frame_bytes"] = int(frame.memory_usage(deep=True).sum())
    out["calls"] = crm.client.request_count - calls0
    out["credits"] = out["calls"] + 49 * int(frame.attrs.get("bulk_jobs", 1))
else:
    result = crm.export("Leads", target, method="bulk", progress=False)
    out["seconds"] = time.perf_counter() - start
    out["rows"] = result.rows
    out["files"] = result.files
    out["calls"] = result.calls
    out["credits"] = result.credits
out["cpu_seconds"] = time.process_time() - cpu
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
out["rss_growth_bytes"] = (peak - base) * 1024
print(json.dumps(out), flush=True)
"""


@contextmanager
def sandbox(records: int, db: str) -> Iterator[dict[str, Any]]:
    """A sandbox in a child process (seeded on first use of ``db``); yields what it said
    when ready (``credentials``, ``seed_cpu``) and, once the block ends, adds its
    ``peak_rss_bytes`` and total ``cpu``."""
    child = subprocess.Popen([sys.executable, "-c", SERVER_SCRIPT, str(records), db],
                             stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    assert child.stdin is not None
    assert child.stdout is not None
    try:
        line = child.stdout.readline()
        if not line:
            raise SystemExit("the sandbox did not start")
        ready: dict[str, Any] = json.loads(line)
        yield ready
    finally:
        child.stdin.close()
        last = child.stdout.readline()
        child.wait(timeout=600)
        child.stdout.close()
    if last:
        ready.update(json.loads(last))


def client(credentials: dict[str, Any], what: str, target: str) -> dict[str, Any]:
    """Run one side in a fresh process and return what it measured."""
    done = subprocess.run([sys.executable, "-c", CLIENT_SCRIPT, json.dumps(credentials),
                           what, target], capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{what} failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def mib(n: float) -> str:
    return f"{n / 2**20:,.0f} MiB"


def load() -> str:
    """The machine's load averages (1, 5, 15 min): the wall times depend on them."""
    return "load average " + ", ".join(f"{x:.2f}" for x in os.getloadavg())


#: The data generator's seed (SERVER_SCRIPT).
SEED = 1


def seeding_digest() -> str:
    """A digest of the sandbox code that decides what a seeded database holds."""
    spec = importlib.util.find_spec("crmframe.sandbox")
    assert spec is not None
    assert spec.submodule_search_locations
    folder = Path(next(iter(spec.submodule_search_locations)))
    digest = hashlib.sha256()
    for name in ("seed.py", "schema.py", "store.py", "server.py", "validation.py", "clock.py"):
        digest.update((folder / name).read_bytes())
    return digest.hexdigest()[:12]


def run(records: int, workdir: Path, cache: Path | None = None) -> dict[str, Any]:
    db = str(workdir / f"leads-{records}.db")
    cached = (cache / f"leads-{records}-seed{SEED}-{seeding_digest()}.db"
              if cache is not None else None)
    how = "seeded and started"
    if cached is not None and cached.exists():
        shutil.copyfile(cached, db)
        how = f"loaded from a copy of {cached.name} and started"
    seeded = time.perf_counter()
    with sandbox(records, db) as server:
        if cached is not None and not cached.exists():
            # A consistent copy of the database as seeded (before any request), made with
            # SQLite's backup API while the sandbox holds it open.
            cached.parent.mkdir(parents=True, exist_ok=True)
            partial = cached.with_name(cached.name + ".tmp")
            with sqlite3.connect(db) as source, sqlite3.connect(partial) as target:
                source.backup(target)
            partial.replace(cached)
        print(f"\n{records:,} Leads: sandbox {how} in "
              f"{time.perf_counter() - seeded:.0f} s ({server['seed_cpu']:.0f} s CPU); "
              f"{load()}", flush=True)
        read = client(server["credentials"], "read", "")
        print(f"  read done; {load()}", flush=True)
        target = workdir / f"export-{records}"
        export = client(server["credentials"], "export", str(target))
        print(f"  export done; {load()}", flush=True)
    disk = sum(p.stat().st_size for p in target.glob("*.parquet"))
    shutil.rmtree(target)
    ratio_time = export["seconds"] / read["seconds"]
    ratio_cpu = export["cpu_seconds"] / read["cpu_seconds"]
    ratio_rss = export["rss_growth_bytes"] / read["frame_bytes"]
    print(f"  read_records (bulk): {read['seconds']:7.1f} s ({read['cpu_seconds']:.1f} s CPU), "
          f"frame {mib(read['frame_bytes'])}, peak RSS growth {mib(read['rss_growth_bytes'])}, "
          f"{read['calls']} calls, {read['credits']} credits")
    print(f"  export (bulk)      : {export['seconds']:7.1f} s ({export['cpu_seconds']:.1f} s "
          f"CPU), {export['files']} files, {mib(disk)} on disk, peak RSS growth "
          f"{mib(export['rss_growth_bytes'])}, {export['calls']} calls, "
          f"{export['credits']} credits")
    print(f"  sandbox process: peak RSS {mib(server.get('peak_rss_bytes', 0))}, "
          f"{server.get('cpu', 0):.0f} s CPU in all")
    print(f"  ratio export / read: wall time {ratio_time:.2f}, client CPU {ratio_cpu:.2f}")
    print(f"  export RSS growth / frame size: {ratio_rss:.2f} (goal <= 0.5, aim <= 0.2)",
          flush=True)
    return {"records": records, "read": read, "export": export, "ratio_time": ratio_time,
            "ratio_cpu": ratio_cpu, "ratio_rss": ratio_rss, "disk": disk,
            "sandbox": {k: v for k, v in server.items() if k != "credentials"}}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--records", type=int, nargs="+", default=[200_000, 1_000_000])
    parser.add_argument("--json", help="also write the measurements to this file")
    parser.add_argument("--cache-dir", type=Path,
                        help="keep seeded sandbox databases here and start from a copy")
    args = parser.parse_args(argv)
    print(f"{load()}; {os.cpu_count()} CPUs", flush=True)
    results = []
    with tempfile.TemporaryDirectory(prefix="crmframe-bench-export-") as tmp:
        for records in args.records:
            results.append(run(records, Path(tmp), args.cache_dir))
            if args.json:
                Path(args.json).write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
