"""When and how long to wait before trying a failed request again.

A :class:`RetryPolicy` is a small value: how many attempts, how much total time, and an
exponential backoff with full jitter (``uniform(0, min(cap, base * 2**n))``) that gives
way to a server's ``Retry-After``. ``sleep``, ``clock`` and ``rng`` are injectable so tests
spend no real time.

Examples
--------
>>> policy = RetryPolicy(base=1.0, cap=8.0, jitter=False)
>>> [policy.backoff(n) for n in (1, 2, 3, 4, 5)]
[1.0, 2.0, 4.0, 8.0, 8.0]
>>> policy.backoff(1, retry_after="3")
3.0
"""

from __future__ import annotations

import email.utils
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone

__all__ = ["RetryPolicy", "parse_retry_after"]


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (delta-seconds or an HTTP date).

    Examples
    --------
    >>> parse_retry_after("2")
    2.0
    >>> parse_retry_after("Wed, 21 Oct 2015 07:28:05 GMT",
    ...     now=datetime(2015, 10, 21, 7, 28, 0, tzinfo=timezone.utc))
    5.0
    >>> parse_retry_after("soon") is None
    True
    """
    if value is None:
        return None
    text = value.strip()
    try:
        return max(0.0, float(text))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    now = now or datetime.now(timezone.utc)
    return max(0.0, (when - now).total_seconds())


@dataclass(frozen=True)
class RetryPolicy:
    """Bounds and backoff for retrying 429s, 5xx and dropped connections.

    Parameters
    ----------
    max_attempts : int
        Attempts in all, the first included (default 6). ``1`` disables retries.
    max_delay : float
        Seconds a request may spend in all, waits included, before giving up (default 120).
    base : float
        First backoff step in seconds (default 0.5); step ``n`` is ``base * 2**(n-1)``.
    cap : float
        Largest single wait in seconds (default 30), ``Retry-After`` included.
    jitter : bool
        Full jitter: wait a uniform random time up to the step (default True), so many
        clients that failed together do not come back together.
    sleep, clock, rng
        ``time.sleep``, ``time.monotonic`` and a ``random.Random``; inject fakes in tests.

    Examples
    --------
    >>> policy = RetryPolicy(max_attempts=3, jitter=False, base=0.1)
    >>> policy.backoff(1), policy.backoff(2), policy.backoff(3, retry_after="60")
    (0.1, 0.2, 30.0)
    """

    max_attempts: int = 6
    max_delay: float = 120.0
    base: float = 0.5
    cap: float = 30.0
    jitter: bool = True
    sleep: Callable[[float], None] = field(default=time.sleep, repr=False, compare=False)
    clock: Callable[[], float] = field(default=time.monotonic, repr=False, compare=False)
    rng: random.Random = field(default_factory=random.Random, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if self.base < 0 or self.cap < 0 or self.max_delay < 0:
            raise ValueError("base, cap and max_delay must not be negative")

    def backoff(self, attempt: int, retry_after: str | float | None = None) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based).

        A ``Retry-After`` (seconds or HTTP date) replaces the computed step, capped by ``cap``.
        """
        if retry_after is not None:
            seconds = (
                float(retry_after)
                if isinstance(retry_after, (int, float))
                else parse_retry_after(retry_after)
            )
            if seconds is not None:
                return min(self.cap, seconds)
        step = min(self.cap, self.base * (2 ** (attempt - 1)))
        return self.rng.uniform(0.0, step) if self.jitter else step

    def allows(self, attempt: int, started: float, delay: float) -> bool:
        """True when another attempt fits: below ``max_attempts`` and inside ``max_delay``."""
        if attempt >= self.max_attempts:
            return False
        return (self.clock() - started) + delay <= self.max_delay
