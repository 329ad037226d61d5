"""Sandbox throughput: GET pages of 200 records and PUT batches of 100, 8 client threads.

Run: ``.venv/bin/python benchmarks/bench_sandbox.py [--records 20000] [--threads 8]
[--db FILE] [--external]``. By default the sandbox runs in this process (as embedded in
tests and notebooks, sharing the GIL with the clients); ``--external`` starts it with
``python -m crmframe.sandbox`` in its own process, as the client benchmarks do, and also
reports the server process's CPU per call.
The sandbox must never be the bottleneck of the client benchmarks (aim: >= 200 pages/s).

``--baseline DIR`` compares with another checkout of crmframe (say
``git worktree add /tmp/base <commit>``): both sandboxes run in their own process,
alternately, ``--rounds`` times, and the figure compared is the **server's CPU time per
call** (utime + stime of its process from ``/proc/<pid>/stat``, taken around each
scenario). Wall-clock throughput on a shared, loaded machine swings by ±50 %; CPU per call
does not depend on how many other processes compete for the cores, so its ratio
(this tree / baseline, summed over the rounds) is what the 5 % goal is checked on.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests

from crmframe.sandbox import start


@dataclass
class Target:
    """Where the sandbox listens, a token, and the Leads ids to update."""

    url: str
    token: str
    ids: list[str]
    #: The server's process id when it runs in its own process (its CPU is measured).
    pid: int | None = None


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) a process has used so far, from ``/proc/<pid>/stat``."""
    text = Path(f"/proc/{pid}/stat").read_text()
    fields = text[text.rindex(")") + 2:].split()  # the name may hold spaces
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextmanager
def embedded(records: int, db: str | None) -> Iterator[Target]:
    with start(records=records, db=db) as server:
        flagged = server.flagged("Leads")
        yield Target(server.url, server.access_token(),
                     [i for i in server.ids("Leads") if i not in flagged])


@contextmanager
def external(records: int, db: str | None, tree: str | None = None) -> Iterator[Target]:
    """A sandbox in its own process; ``tree``: the checkout whose crmframe it runs."""
    cmd = [sys.executable, "-m", "crmframe.sandbox", "--port", "0", "--records", str(records)]
    if db:
        cmd += ["--db", db]
    env = dict(os.environ)
    if tree is not None:
        env["PYTHONPATH"] = tree
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=env, cwd=tree)
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline()]
        while "Ctrl-C" not in lines[-1] and lines[-1]:
            lines.append(proc.stdout.readline())
        found = re.search(r"http://[\d.]+:\d+", lines[0])
        if found is None:
            raise RuntimeError("".join(lines))
        creds = json.loads("".join(lines[2:-1]))
        token = requests.post(found.group(0) + "/oauth/v2/token", data={
            "grant_type": "refresh_token", "client_id": creds["client_id"],
            "client_secret": creds["client_secret"], "refresh_token": creds["refresh_token"]},
            timeout=30).json()["access_token"]
        ids: list[str] = []
        params: dict[str, str | int] = {"fields": "Last_Name", "per_page": 200}
        with requests.Session() as s:
            while True:
                body = s.get(found.group(0) + "/crm/v8/Leads", params=params, timeout=60,
                             headers={"Authorization": f"Zoho-oauthtoken {token}"}).json()
                ids += [r["id"] for r in body["data"]]
                if not body["info"]["more_records"]:
                    break
                params = {"fields": "Last_Name", "per_page": 200,
                          "page_token": body["info"]["next_page_token"]}
        yield Target(found.group(0), token, ids, proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=60)


def _run(threads: int, seconds: float, work: Callable[[requests.Session, int], int]
         ) -> tuple[int, int, float]:
    """Run ``work`` in a loop on ``threads`` threads; (calls, records, elapsed)."""
    stop = threading.Event()
    calls = [0] * threads
    records = [0] * threads
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        with requests.Session() as s:
            i = 0
            while not stop.is_set():
                try:
                    records[n] += work(s, n * 1_000_000 + i)
                except BaseException as exc:  # report, do not hide
                    errors.append(exc)
                    return
                calls[n] += 1
                i += 1

    pool = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
    t0 = time.perf_counter()
    for t in pool:
        t.start()
    time.sleep(seconds)
    stop.set()
    for t in pool:
        t.join()
    elapsed = time.perf_counter() - t0
    if errors:
        raise errors[0]
    return sum(calls), sum(records), elapsed


@dataclass
class Row:
    """One scenario's figures: calls, records, wall seconds, server CPU seconds."""

    name: str
    calls: int
    records: int
    elapsed: float
    cpu: float | None

    @property
    def cpu_per_call_ms(self) -> float | None:
        """Server CPU milliseconds per call (``None`` when the server shares this process)."""
        return None if self.cpu is None else 1000 * self.cpu / max(self.calls, 1)


def bench(target: Target, threads: int, seconds: float) -> list[Row]:
    """Measure the scenarios."""
    auth = {"Authorization": f"Zoho-oauthtoken {target.token}"}
    url = target.url
    fields20 = ",".join(["Last_Name", "First_Name", "Email", "Phone", "Mobile", "Company",
                         "City", "Country", "Lead_Status", "Lead_Source", "Industry", "Rating",
                         "No_of_Employees", "Annual_Revenue", "Email_Opt_Out", "Date_3",
                         "Last_Contacted", "Owner", "Modified_Time", "Languages_Known"])
    ids = target.ids

    def get_v8(s: requests.Session, i: int) -> int:
        r = s.get(f"{url}/crm/v8/Leads", params={
            "fields": fields20, "per_page": 200, "page": i % 10 + 1}, headers=auth, timeout=60)
        r.raise_for_status()
        # count without parsing: the benchmark measures the server, not json.loads
        return r.content.count(b'{"id":')

    def get_v2_all_fields(s: requests.Session, i: int) -> int:
        r = s.get(f"{url}/crm/v2/Leads", params={"per_page": 200, "page": i % 10 + 1},
                  headers=auth, timeout=60)
        r.raise_for_status()
        return r.content.count(b'"$currency_symbol":')

    def put_100(s: requests.Session, i: int) -> int:
        start_at = (i * 100) % (len(ids) - 100)
        batch = [{"id": rid, "Custom_Text_1": f"bench {i}", "No_of_Employees": i % 5000}
                 for rid in ids[start_at:start_at + 100]]
        r = s.put(f"{url}/crm/v8/Leads", json={"data": batch}, headers=auth, timeout=60)
        if r.status_code not in (200, 207):
            raise RuntimeError(f"PUT answered {r.status_code}: {r.text[:200]}")
        return len(batch)

    def count(s: requests.Session, i: int) -> int:
        # a tiny answer: what a call costs besides its records (TCP set-up without
        # keep-alive)
        r = s.get(f"{url}/crm/v8/Leads/actions/count", headers=auth, timeout=60)
        r.raise_for_status()
        return 0

    rows = []
    for name, fn in [("GET count (tiny answer)", count),
                     ("GET v8 page of 200 (20 fields)", get_v8),
                     ("GET v2 page of 200 (all 85 fields)", get_v2_all_fields),
                     ("PUT batch of 100 (2 fields)", put_100)]:
        cpu0 = process_cpu(target.pid) if target.pid else 0.0
        calls, records, elapsed = _run(threads, seconds, fn)
        cpu = process_cpu(target.pid) - cpu0 if target.pid else None
        rows.append(Row(name, calls, records, elapsed, cpu))
    return rows


def compare(baseline: str, args: argparse.Namespace) -> None:
    """Alternate rounds of this tree and ``baseline``; print CPU per call and the ratio."""
    here = str(Path(__file__).resolve().parent.parent)
    trees = {"this tree": here, "baseline": str(Path(baseline).resolve())}
    totals: dict[tuple[str, str], list[float]] = {}  # (tree, scenario) -> [calls, cpu, wall]
    for n in range(args.rounds):
        order = list(trees.items()) if n % 2 == 0 else list(trees.items())[::-1]
        for label, tree in order:
            with external(args.records, args.db, tree) as target:
                for row in bench(target, args.threads, args.seconds):
                    acc = totals.setdefault((label, row.name), [0.0, 0.0, 0.0])
                    acc[0] += row.calls
                    acc[1] += row.cpu or 0.0
                    acc[2] += row.elapsed
                    print(f"round {n + 1} {label:<9} {row.name:<38} {row.calls:>6} calls "
                          f"{row.cpu_per_call_ms:>7.2f} ms CPU/call "
                          f"{row.calls / row.elapsed:>7.1f} calls/s", flush=True)
    print(f"\nsandbox in its own process, {args.records} Leads, {args.threads} client threads, "
          f"{args.rounds} alternating rounds of {args.seconds:.0f} s per scenario; "
          f"baseline = {trees['baseline']}")
    print(f"{'scenario':<38} {'base ms/call':>12} {'this ms/call':>12} {'ratio':>6} "
          f"{'base calls/s':>12} {'this calls/s':>12}")
    names = [name for (label, name) in totals if label == "this tree"]
    worst = 0.0
    for name in names:
        b_calls, b_cpu, b_wall = totals[("baseline", name)]
        t_calls, t_cpu, t_wall = totals[("this tree", name)]
        b_ms, t_ms = 1000 * b_cpu / b_calls, 1000 * t_cpu / t_calls
        worst = max(worst, t_ms / b_ms)
        print(f"{name:<38} {b_ms:>12.2f} {t_ms:>12.2f} {t_ms / b_ms:>6.3f} "
              f"{b_calls / b_wall:>12.1f} {t_calls / t_wall:>12.1f}")
    print(f"worst CPU-per-call ratio (this tree / baseline): {worst:.3f} (goal <= 1.05)")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--records", type=int, default=20_000)
    p.add_argument("--threads", type=int, default=8)
    p.add_argument("--seconds", type=float, default=5.0)
    p.add_argument("--db", default=None, help="SQLite file (default: in memory)")
    p.add_argument("--external", action="store_true",
                   help="run the sandbox in its own process (python -m crmframe.sandbox)")
    p.add_argument("--baseline", default=None, metavar="DIR",
                   help="another crmframe checkout: compare server CPU per call with it")
    p.add_argument("--rounds", type=int, default=3, help="alternating rounds (--baseline)")
    args = p.parse_args()
    if args.baseline:
        compare(args.baseline, args)
        return
    t0 = time.perf_counter()
    runner = external if args.external else embedded
    with runner(args.records, args.db) as target:
        startup = time.perf_counter() - t0
        rows = bench(target, args.threads, args.seconds)
    where = "own process" if args.external else "this process"
    print(f"sandbox ({where}): {args.records} Leads, db={args.db or 'memory'}, "
          f"ready in {startup:.2f} s, {args.threads} client threads, "
          f"{args.seconds:.0f} s per scenario")
    print(f"{'scenario':<38} {'calls/s':>9} {'records/s':>11} {'server CPU ms/call':>19}")
    for row in rows:
        per_call = row.cpu_per_call_ms
        cpu = "" if per_call is None else f"{per_call:.2f}"
        print(f"{row.name:<38} {row.calls / row.elapsed:>9.1f} "
              f"{row.records / row.elapsed:>11.0f} {cpu:>19}")


if __name__ == "__main__":
    main()
