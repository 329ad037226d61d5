"""Realism knobs: credits, concurrency, latency, failures and dropped connections.

Every fault but one is decided when a request arrives, before its handler runs, so a 429,
a 500 or a dropped connection means nothing was written: a client may retry any of them
safely. The exception is a **lost answer** (``lost_answer_rate``): a write runs and
commits, then the connection closes without an answer — what a real network does to a
client when the answer is lost on the way back, and the one case where re-sending blindly
writes twice. Decisions come from seeded generators, so a given seed and request order
repeat.
"""

from __future__ import annotations

import random
import threading
from collections import deque
from dataclasses import dataclass

from crmframe.sandbox.clock import Clock

__all__ = ["Decision", "Faults", "credit_cost"]

DAY = 86_400.0


@dataclass(frozen=True)
class Decision:
    """What to do with one request: ``ok``, ``fail`` (500) or ``drop``."""

    action: str


def credit_cost(method: str, endpoint: str, records: int = 0, limit: int = 0) -> int:
    """Credits of one call (zoho-api.md §8).

    Most calls 1; writes 1 per 10 records; COQL 1/2/3 by LIMIT; bulk write 500; bulk
    read 50; a mass update by ids 1 per 10 ids, by view 1 (UNCONFIRMED upstream: priced like
    an update, as crmframe's default ``Costs`` prices it, so a push's own count and the
    sandbox's agree).

    >>> credit_cost("POST", "mass_update", records=420), credit_cost("POST", "mass_update")
    (42, 1)
    """
    if endpoint == "mass_update" and method == "POST":
        return max(1, (records + 9) // 10)
    if endpoint == "bulk_write_create":
        return 500
    if endpoint == "bulk_read_create":
        return 50
    if endpoint == "coql":
        return 1 if limit <= 200 else 2 if limit <= 1000 else 3
    if endpoint == "records" and method in ("POST", "PUT"):
        return max(1, (records + 9) // 10)
    return 1


class Faults:
    """Per-request fault decisions and the credit / concurrency accounting."""

    def __init__(
        self,
        clock: Clock,
        *,
        seed: int,
        credits_per_day: int | None = None,
        max_concurrency: int | None = None,
        failure_rate: float = 0.0,
        drop_rate: float = 0.0,
        rate_limit_rate: float = 0.0,
        latency: float = 0.0,
        lost_answer_rate: float = 0.0,
    ) -> None:
        self.clock = clock
        self.credits_per_day = credits_per_day
        self.max_concurrency = max_concurrency
        self.failure_rate = failure_rate
        self.drop_rate = drop_rate
        self.rate_limit_rate = rate_limit_rate
        self.latency = latency
        self.lost_answer_rate = lost_answer_rate
        self._rng = random.Random(f"faults-{seed}")
        # its own generator, so losing answers leaves the 500/drop sequence of a seed as is
        self._lost_rng = random.Random(f"lost-answer-{seed}")
        #: Answers lost after their write committed (tests compare with what clients saw).
        self.answers_lost = 0
        # its own generator, so turning 429s on leaves the 500/drop sequence of a seed as is
        self._limit_rng = random.Random(f"rate-limit-{seed}")
        self._lock = threading.Lock()
        self._spent: deque[tuple[float, int]] = deque()
        self._window_total = 0
        self.credits_used = 0
        self.in_flight = 0
        self.peak_in_flight = 0

    def enter(self) -> bool:
        """Count a request in; False when it is over the concurrency limit."""
        with self._lock:
            if self.max_concurrency is not None and self.in_flight >= self.max_concurrency:
                return False
            self.in_flight += 1
            self.peak_in_flight = max(self.peak_in_flight, self.in_flight)
            return True

    def leave(self) -> None:
        """Count a request out."""
        with self._lock:
            self.in_flight -= 1

    def spend(self, cost: int) -> bool:
        """Charge ``cost`` credits to the rolling 24-hour window; False when over the limit."""
        with self._lock:
            now = self.clock.now()
            while self._spent and self._spent[0][0] <= now - DAY:
                self._window_total -= self._spent.popleft()[1]
            if (self.credits_per_day is not None
                    and self._window_total + cost > self.credits_per_day):
                return False
            # One entry per second at most: the window then holds at most 86,400 entries
            # however busy the server is (one per call grew with every call for a day).
            second = float(int(now))
            if self._spent and self._spent[-1][0] == second:
                self._spent[-1] = (second, self._spent[-1][1] + cost)
            else:
                self._spent.append((second, cost))
            self._window_total += cost
            self.credits_used += cost
            return True

    def remaining(self) -> int | None:
        """Credits left in the window (``None`` when unlimited)."""
        if self.credits_per_day is None:
            return None
        with self._lock:
            return max(0, self.credits_per_day - self._window_total)

    def window_entries(self) -> int:
        """Entries kept for the rolling credit window (at most one per second)."""
        with self._lock:
            return len(self._spent)

    def rate_limited(self) -> bool:
        """Answer this API call 429 (a share ``rate_limit_rate`` of calls)?"""
        if not self.rate_limit_rate:
            return False
        with self._lock:
            return self._limit_rng.random() < self.rate_limit_rate

    def answer_lost(self) -> bool:
        """Close this write's connection after it committed (a share ``lost_answer_rate``)?"""
        if not self.lost_answer_rate:
            return False
        with self._lock:
            lost = self._lost_rng.random() < self.lost_answer_rate
            if lost:
                self.answers_lost += 1
            return lost

    def decide(self) -> Decision:
        """Fail, drop or serve this request (one draw per knob, in a fixed order)."""
        if not self.failure_rate and not self.drop_rate:
            return Decision("ok")
        with self._lock:
            fail = self._rng.random() < self.failure_rate
            drop = self._rng.random() < self.drop_rate
        if drop:
            return Decision("drop")
        if fail:
            return Decision("fail")
        return Decision("ok")
