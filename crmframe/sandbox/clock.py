"""The sandbox's time source, injectable so tests move time instead of sleeping.

Examples
--------
>>> c = ManualClock(1_700_000_000.0)
>>> c.advance(30)
>>> c.now()
1700000030.0
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta, timezone
from typing import Protocol

__all__ = ["Clock", "ManualClock", "SystemClock", "format_datetime", "parse_datetime"]


class Clock(Protocol):
    """Anything with ``now() -> float`` (seconds since the epoch)."""

    def now(self) -> float: ...


class SystemClock:
    """Wall-clock time."""

    def now(self) -> float:
        return time.time()


class ManualClock:
    """A clock that only moves when told to (thread-safe)."""

    def __init__(self, start: float | None = None) -> None:
        self._t = time.time() if start is None else float(start)
        self._lock = threading.Lock()

    def now(self) -> float:
        with self._lock:
            return self._t

    def advance(self, seconds: float) -> None:
        """Move time forward by ``seconds``."""
        with self._lock:
            self._t += float(seconds)

    def set(self, t: float) -> None:
        """Jump to epoch time ``t``."""
        with self._lock:
            self._t = float(t)


def format_datetime(epoch: float, offset_minutes: int) -> str:
    """Zoho's datetime text ``yyyy-MM-ddTHH:mm:ss±HH:mm`` for ``epoch`` at a fixed offset.

    >>> format_datetime(0, 330)
    '1970-01-01T05:30:00+05:30'
    """
    tz = _ZONES.get(offset_minutes)
    if tz is None:
        tz = _ZONES.setdefault(offset_minutes, timezone(timedelta(minutes=offset_minutes)))
    return datetime.fromtimestamp(int(epoch), tz).isoformat()


_ZONES: dict[int, timezone] = {}


def parse_datetime(text: str) -> float:
    """Epoch seconds of an ISO-8601 datetime with an offset (``Z`` accepted).

    >>> parse_datetime("1970-01-01T05:30:00+05:30")
    0.0
    """
    value = text.strip()
    if value.endswith("Z"):
        value = value[:-1] + "+00:00"
    dt = datetime.fromisoformat(value)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.timestamp()
