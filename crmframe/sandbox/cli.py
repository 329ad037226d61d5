"""``crmframe sandbox ...`` / ``python -m crmframe.sandbox``: run a sandbox until Ctrl-C."""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import gc
import json
import signal
import sqlite3
import sys
import threading
from types import FrameType

from crmframe.sandbox.server import SandboxServer

__all__ = ["build_parser", "keep_freed_memory", "main"]


def _number(text: str, kind: type[float] | type[int]) -> float:
    try:
        return kind(text)
    except ValueError:
        what = "a whole number" if kind is int else "a number"
        raise argparse.ArgumentTypeError(f"{text!r} is not {what}") from None


def _share(text: str) -> float:
    """A probability: a rate above 1 would fail every call, not a share of them."""
    value = _number(text, float)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text} is not a share between 0 and 1")
    return value


def _count(text: str) -> int:
    """A number of records (0 or more)."""
    value = int(_number(text, int))
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text} is negative")
    return value


def _port(text: str) -> int:
    """A TCP port (0: any free one); 70000 used to serve on 70000 - 65536."""
    value = int(_number(text, int))
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"{text} is not a port (0 to 65535)")
    return value


def _seconds(text: str) -> float:
    """A duration (0 or more seconds)."""
    value = _number(text, float)
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text} is negative")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The command line options (one per :class:`SandboxServer` option)."""
    p = argparse.ArgumentParser(
        prog="crmframe sandbox",
        description="Run a local Zoho-CRM-compatible server backed by SQLite.",
    )
    p.add_argument("--host", default="127.0.0.1", help="interface to listen on (loopback)")
    p.add_argument("--port", type=_port, default=8790, help="port (0 = any free port)")
    p.add_argument("--db", default=None, help="SQLite file to keep data in (default: memory)")
    p.add_argument("--records", type=_count, default=5000, help="Leads to seed in an empty db")
    p.add_argument("--seed", type=int, default=42, help="seed of the data and of the faults")
    p.add_argument("--token-ttl", type=float, default=3600.0, help="access-token lifetime, s")
    p.add_argument("--credits-per-day", type=int, default=None, help="API credits per 24 h")
    p.add_argument("--max-concurrency", type=int, default=None, help="concurrent requests")
    p.add_argument("--latency", type=_seconds, default=0.0, help="seconds added to each call")
    p.add_argument("--failure-rate", type=_share, default=0.0, help="share of 500 answers")
    p.add_argument("--drop-rate", type=_share, default=0.0, help="share of dropped connections")
    p.add_argument("--lost-answer-rate", type=_share, default=0.0,
                   help="share of writes that commit, then lose their answer")
    p.add_argument("--credentials-seed", type=int, default=None,
                   help="fixed OAuth credentials from this seed (default: random ones)")
    p.add_argument("--rate-limit-rate", type=_share, default=0.0,
                   help="share of API calls answered 429 TOO_MANY_REQUESTS")
    p.add_argument("--job-speed", type=float, default=2000.0, help="job records per second")
    p.add_argument("--job-delay", type=_seconds, default=1.0, help="seconds per waiting job state")
    p.add_argument("--no-flags", action="store_true",
                   help="do not seed locked / unapproved records")
    return p


#: glibc's ``mallopt`` parameters (malloc.h).
_M_TRIM_THRESHOLD, _M_TOP_PAD = -1, -2


def keep_freed_memory(trim_threshold: int = 64 << 20, top_pad: int = 16 << 20) -> bool:
    """Let glibc keep up to ``trim_threshold`` bytes it frees instead of handing them back
    to the system after each answer; True when set (glibc only, else nothing happens).

    A page of 200 full records is half a megabyte of text; with glibc's default
    (dynamic) thresholds, freeing it at the end of an answer could shrink a thread's heap
    (``madvise``) only for the next answer to fault the same pages back in: that doubled
    the server's CPU per v2 page in ``bench_sandbox.py``, as system time. Only the CLI,
    whose process is the sandbox's own, calls this; an embedded sandbox leaves its
    host's allocator alone.
    """
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        mallopt = libc.mallopt
    except (OSError, AttributeError):  # not glibc
        return False
    mallopt.argtypes = [ctypes.c_int, ctypes.c_int]
    mallopt.restype = ctypes.c_int
    return bool(mallopt(_M_TRIM_THRESHOLD, trim_threshold)) and bool(
        mallopt(_M_TOP_PAD, top_pad))


def main(argv: list[str] | None = None) -> int:
    """Start the server, print its URL and credentials, serve until interrupted."""
    args = build_parser().parse_args(argv)
    try:
        server = SandboxServer(
            args.records, args.db, host=args.host, port=args.port, seed=args.seed,
            token_ttl=args.token_ttl, credits_per_day=args.credits_per_day,
            max_concurrency=args.max_concurrency, latency=args.latency,
            failure_rate=args.failure_rate, drop_rate=args.drop_rate,
            lost_answer_rate=args.lost_answer_rate, credentials_seed=args.credentials_seed,
            rate_limit_rate=args.rate_limit_rate, job_speed=args.job_speed,
            job_delay=args.job_delay, flag_records=not args.no_flags,
        )
    except sqlite3.Error as exc:
        # only --db reaches SQLite from the command line: say so, not a traceback
        print(f"crmframe sandbox: cannot use --db {args.db}: {exc} (give a SQLite file, "
              "new or made by the sandbox, in a folder that exists and is writable)",
              file=sys.stderr, flush=True)
        return 2
    # This process is ours: move the seeded records out of the collector's way (they are
    # acyclic and freed by reference counting), which keeps full collections short.
    gc.freeze()
    keep_freed_memory()
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
