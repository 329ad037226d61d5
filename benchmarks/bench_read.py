"""Benchmark: ``crm.read_records`` against a bare ``requests`` loop over the same pages.

Starts a sandbox in a separate process (so the server does not share this process's
GIL or memory accounting), then in one run:

1. a bare loop: ``requests.Session``, one token, ``GET /crm/v8/Leads`` page by page (page
   numbers to 2,000, then ``page_token``), one pass per chunk of ≤ 50 fields, keeping
   ``r.json()["data"]`` of every page — the untyped lists a hand-written script would hold;
2. ``crm.read_records("Leads", fields)`` over the same pages (typed frame);
3. ``read_records`` again under ``tracemalloc`` for its peak memory, compared with the
   final frame's ``memory_usage(deep=True)``.

Usage::

    .venv/bin/python benchmarks/bench_read.py                  # 100,000 records, 20 fields
    .venv/bin/python benchmarks/bench_read.py --records 20000 --fields 60

Goals: ``read_records`` within 1.2x the bare loop's time; peak memory under 3x the frame.
"""

from __future__ import annotations

import argparse
import gc
import json
import subprocess
import sys
import time
import tracemalloc
from typing import Any

import requests

import crmframe.facade.crm as facade

SERVER_SCRIPT = """
import json, sys, threading
from crmframe.sandbox import start
server = start(records=int(sys.argv[1]), seed=1)
print(json.dumps(dict(server.credentials)), flush=True)
sys.stdin.read()  # serve until the parent closes our stdin
server.stop()
"""


def start_server(records: int) -> tuple[subprocess.Popen[str], dict[str, Any]]:
    """Run a sandbox in a child process; return it and its credentials."""
    child = subprocess.Popen(
        [sys.executable, "-c", SERVER_SCRIPT, str(records)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    assert child.stdout is not None
    line = child.stdout.readline()
    if not line:
        child.kill()
        raise SystemExit("the sandbox did not start")
    return child, json.loads(line)


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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--fields", type=int, default=20, help="fields read (≤ 50: one pass)")
    parser.add_argument("--version", default="v8")
    args = parser.parse_args(argv)

    child, credentials = start_server(args.records)
    try:
        credentials = {**credentials, "version": args.version}
        with facade.connect(**credentials) as crm:
            names = [n for n in crm.read_fields("Leads").index if n != "id"][: args.fields]
            chunks = [names[i : i + 49] for i in range(0, len(names), 49)]

            # Warm-up: the sandbox builds its sorted view on the first page, for neither timing.
            crm.read_records("Leads", names[:1], limit=1, progress=False)

            gc.collect()
            t0 = time.perf_counter()
            bare_rows = bare_loop(credentials, args.version, chunks)
            bare_s = time.perf_counter() - t0

            gc.collect()
            t0 = time.perf_counter()
            frame = crm.read_records("Leads", names, progress=False, method="pages")
            read_s = time.perf_counter() - t0
            rows = len(frame)
            frame_bytes = int(frame.memory_usage(deep=True).sum())
            del frame

            gc.collect()
            tracemalloc.start()
            again = crm.read_records("Leads", names, progress=False, method="pages")
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            assert len(again) == rows == bare_rows // len(chunks)
    finally:
        assert child.stdin is not None
        child.stdin.close()
        child.wait(timeout=30)

    passes = len(chunks)
    print(f"records: {rows:,} x {len(names)} fields ({passes} pass(es)), API {args.version}")
    print(f"bare requests loop : {bare_s:7.2f} s  {bare_rows / passes / bare_s:9,.0f} records/s")
    print(f"read_records       : {read_s:7.2f} s  {rows / read_s:9,.0f} records/s")
    print(f"time ratio read_records / bare: {read_s / bare_s:.2f}  (goal <= 1.20)")
    print(f"frame memory_usage(deep=True): {frame_bytes / 2**20:8.1f} MiB")
    print(f"read_records peak (tracemalloc): {peak / 2**20:8.1f} MiB  "
          f"ratio {peak / frame_bytes:.2f}  (goal < 3)")


if __name__ == "__main__":
    main()
