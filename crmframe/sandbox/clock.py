"""The sandbox's time source, injectable so tests move time instead of sleeping.

Examples
--------
>>> c = ManualClock(1_700_000_000.0)
>>> c.advance(30)
>>> c.now()
1700000030.0
"""

from __future__ import annotations

import email.utils
import threading
import time
from datetime import datetime, timezone
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
    # Seeding calls this for every timestamp: the date text is memoised per day and the
    # offset per offset, leaving only integer arithmetic (datetime was ten times slower).
    local = int(epoch) + offset_minutes * 60
    day, seconds = divmod(local, 86_400)
    date = _DATES.get(day)
    if date is None:
        t = time.gmtime(day * 86_400)
        date = f"{t.tm_year:04d}-{t.tm_mon:02d}-{t.tm_mday:02d}T"
        if len(_DATES) < 200_000:  # ~550 years of days: a bound, never reached in practice
            _DATES[day] = date
    suffix = _OFFSETS.get(offset_minutes)
    if suffix is None:
        hours, minutes = divmod(abs(offset_minutes), 60)
        suffix = _OFFSETS[offset_minutes] = (f"{'-' if offset_minutes < 0 else '+'}"
                                             f"{hours:02d}:{minutes:02d}")
    hour, rest = divmod(seconds, 3600)
    minute, second = divmod(rest, 60)
    return f"{date}{hour:02d}:{minute:02d}:{second:02d}{suffix}"


_DATES: dict[int, str] = {}
_OFFSETS: dict[int, str] = {}


def parse_datetime(text: str) -> float:
    """Epoch seconds of an ISO-8601 datetime with an offset (``Z`` accepted), or of an
    HTTP date (``If-Modified-Since`` as HTTP clients send it). Naive means UTC.

    >>> parse_datetime("1970-01-01T05:30:00+05:30")
    0.0
    >>> parse_datetime("Thu, 01 Jan 1970 00:01:00 GMT")
    60.0
    """
    value = text.strip()
    if value[:3].isalpha():
        try:
            return email.utils.parsedate_to_datetime(value).timestamp()
        except (TypeError, ValueError):
            raise ValueError(f"not a date: {text!r}") from None
    if value.endswith("Z"):
        value = value[:-1] + "+00:00"
    dt = datetime.fromisoformat(value)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone.utc)
    return dt.timestamp()
