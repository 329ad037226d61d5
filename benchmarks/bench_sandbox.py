"""Sandbox throughput: GET pages of 200 records and PUT batches of 100, 8 client threads.

Run: ``.venv/bin/python benchmarks/bench_sandbox.py [--records 20000] [--threads 8]
[--db FILE] [--external]``. By default the sandbox runs in this process (as embedded in
tests and notebooks, sharing the GIL with the clients); ``--external`` starts it with
``python -m crmframe.sandbox`` in its own process, as the client benchmarks do.
The sandbox must never be the bottleneck of the client benchmarks (aim: >= 200 pages/s).
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import requests

from crmframe.sandbox import start


@dataclass
class Target:
    """Where the sandbox listens, a token, and the Leads ids to update."""

    url: str
    token: str
    ids: list[str]


@contextmanager
def embedded(records: int, db: str | None) -> Iterator[Target]:
    with start(records=records, db=db) as server:
        flagged = server.flagged("Leads")
        yield Target(server.url, server.access_token(),
                     [i for i in server.ids("Leads") if i not in flagged])


@contextmanager
def external(records: int, db: str | None) -> Iterator[Target]:
    cmd = [sys.executable, "-m", "crmframe.sandbox", "--port", "0", "--records", str(records)]
    if db:
        cmd += ["--db", db]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
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
        yield Target(found.group(0), token, ids)
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


def bench(target: Target, threads: int, seconds: float) -> list[tuple[str, float, float]]:
    """Measure the scenarios; rows of (name, calls/s, records/s)."""
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
                     ("GET v2 page of 200 (all 84 fields)", get_v2_all_fields),
                     ("PUT batch of 100 (2 fields)", put_100)]:
        calls, records, elapsed = _run(threads, seconds, fn)
        rows.append((name, calls / elapsed, records / elapsed))
    return rows


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--records", type=int, default=20_000)
    p.add_argument("--threads", type=int, default=8)
    p.add_argument("--seconds", type=float, default=5.0)
    p.add_argument("--db", default=None, help="SQLite file (default: in memory)")
    p.add_argument("--external", action="store_true",
                   help="run the sandbox in its own process (python -m crmframe.sandbox)")
    args = p.parse_args()
    t0 = time.perf_counter()
    runner = external if args.external else embedded
    with runner(args.records, args.db) as target:
        startup = time.perf_counter() - t0
        rows = bench(target, args.threads, args.seconds)
    where = "own process" if args.external else "this process"
    print(f"sandbox ({where}): {args.records} Leads, db={args.db or 'memory'}, "
          f"ready in {startup:.2f} s, {args.threads} client threads, "
          f"{args.seconds:.0f} s per scenario")
    print(f"{'scenario':<38} {'calls/s':>9} {'records/s':>11}")
    for name, cps, rps in rows:
        print(f"{name:<38} {cps:>9.1f} {rps:>11.0f}")


if __name__ == "__main__":
    main()
