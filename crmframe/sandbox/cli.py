"""``crmframe sandbox ...`` / ``python -m crmframe.sandbox``: run a sandbox until Ctrl-C."""

from __future__ import annotations

import argparse
import gc
import json
import signal
import sys
import threading
from types import FrameType

from crmframe.sandbox.server import SandboxServer

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    """The command line options (one per :class:`SandboxServer` option)."""
    p = argparse.ArgumentParser(
        prog="crmframe sandbox",
        description="Run a local Zoho-CRM-compatible server backed by SQLite.",
    )
    p.add_argument("--host", default="127.0.0.1", help="interface to listen on (loopback)")
    p.add_argument("--port", type=int, default=8790, help="port (0 = any free port)")
    p.add_argument("--db", default=None, help="SQLite file to keep data in (default: memory)")
    p.add_argument("--records", type=int, default=5000, help="Leads to seed in an empty db")
    p.add_argument("--seed", type=int, default=42, help="seed of the data and of the faults")
    p.add_argument("--token-ttl", type=float, default=3600.0, help="access-token lifetime, s")
    p.add_argument("--credits-per-day", type=int, default=None, help="API credits per 24 h")
    p.add_argument("--max-concurrency", type=int, default=None, help="concurrent requests")
    p.add_argument("--latency", type=float, default=0.0, help="seconds added to each call")
    p.add_argument("--failure-rate", type=float, default=0.0, help="share of 500 answers")
    p.add_argument("--drop-rate", type=float, default=0.0, help="share of dropped connections")
    p.add_argument("--lost-answer-rate", type=float, default=0.0,
                   help="share of writes that commit, then lose their answer")
    p.add_argument("--credentials-seed", type=int, default=None,
                   help="fixed OAuth credentials from this seed (default: random ones)")
    p.add_argument("--rate-limit-rate", type=float, default=0.0,
                   help="share of API calls answered 429 TOO_MANY_REQUESTS")
    p.add_argument("--job-speed", type=float, default=2000.0, help="job records per second")
    p.add_argument("--job-delay", type=float, default=1.0, help="seconds per waiting job state")
    p.add_argument("--no-flags", action="store_true",
                   help="do not seed locked / unapproved records")
    return p


def main(argv: list[str] | None = None) -> int:
    """Start the server, print its URL and credentials, serve until interrupted."""
    args = build_parser().parse_args(argv)
    server = SandboxServer(
        args.records, args.db, host=args.host, port=args.port, seed=args.seed,
        token_ttl=args.token_ttl, credits_per_day=args.credits_per_day,
        max_concurrency=args.max_concurrency, latency=args.latency,
        failure_rate=args.failure_rate, drop_rate=args.drop_rate,
        lost_answer_rate=args.lost_answer_rate, credentials_seed=args.credentials_seed,
        rate_limit_rate=args.rate_limit_rate, job_speed=args.job_speed,
        job_delay=args.job_delay, flag_records=not args.no_flags,
    )
    # This process is ours: move the seeded records out of the collector's way (they are
    # acyclic and freed by reference counting), which keeps full collections short.
    gc.freeze()
    stop = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = signal.signal(signal.SIGTERM, _on_signal)
    try:
        print(f"crmframe sandbox listening on {server.url}", flush=True)
        print("credentials (crmframe.connect(**credentials)):", flush=True)
        print(json.dumps(server.credentials, indent=2), flush=True)
        print("Ctrl-C to stop.", flush=True)
        while not stop.wait(0.5):
            pass
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        server.stop()
    print("sandbox stopped", file=sys.stderr, flush=True)
    return 0
