"""Waiting for Zoho jobs: small, composable polling policies (no HTTP here).

A policy says *when to give up* (a stop rule), *how long to wait between polls* (a wait
rule), and *how to sleep and tell time* (injectable, so tests poll in no real time).
Rules combine with operators, in the manner of tenacity::

    stop_after_delay(600) | stop_after_attempt(100)     # whichever comes first
    wait_fixed(1) + wait_exponential(1, maximum=30)     # delays add up

:func:`poll` calls a ``fetch`` function until the job reaches a terminal state, stamps every
status with the wall-clock time it was observed and keeps them in a :class:`JobHistory`.

Examples
--------
>>> from crmframe.core.jobs import JobStatus
>>> script = iter([
...     JobStatus("mass_update", "554023000000506003", "SCHEDULED", "SCHEDULED", total=50),
...     JobStatus("mass_update", "554023000000506003", "RUNNING", "RUNNING", total=50,
...               updated=30),
...     JobStatus("mass_update", "554023000000506003", "COMPLETED", "COMPLETED", total=50,
...               updated=50),
... ])
>>> naps = []
>>> policy = WaitPolicy(stop=stop_after_delay(60), wait=wait_fixed(2.0), sleep=naps.append)
>>> history = JobHistory()
>>> poll(lambda: next(script), policy, history=history).state
'COMPLETED'
>>> [s.state for s in history], naps
(['SCHEDULED', 'RUNNING', 'COMPLETED'], [2.0, 2.0])
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import overload

import pandas as pd

from crmframe.core.jobs import JobStatus
from crmframe.errors import ConfigurationError, JobFailed, JobTimeout

__all__ = [
    "JobHistory",
    "PollState",
    "StopRule",
    "WaitPolicy",
    "WaitRule",
    "describe",
    "poll",
    "stop_after_attempt",
    "stop_after_delay",
    "stop_all",
    "stop_any",
    "stop_never",
    "wait_combine",
    "wait_exponential",
    "wait_fixed",
]


@dataclass(frozen=True)
class PollState:
    """What the rules see after each poll.

    Attributes
    ----------
    attempt : int
        How many polls were made so far (1 after the first).
    elapsed : float
        Seconds since polling started, from the policy's monotonic clock.
    status : JobStatus
        The latest status.
    """

    attempt: int
    elapsed: float
    status: JobStatus


# ---------------------------------------------------------------------------- stop rules


class StopRule(ABC):
    """Decides, after a poll of a job that is not finished, whether to give up."""

    @abstractmethod
    def __call__(self, state: PollState) -> bool:
        """True to stop polling (the wait then times out)."""

    def __or__(self, other: StopRule) -> StopRule:
        return stop_any(self, other)

    def __and__(self, other: StopRule) -> StopRule:
        return stop_all(self, other)


class stop_any(StopRule):
    """Stops when any of the rules says stop.

    Examples
    --------
    >>> rule = stop_after_attempt(3) | stop_after_delay(10)
    >>> from crmframe.core.jobs import JobStatus
    >>> s = JobStatus("mass_update", None, "RUNNING", "RUNNING")
    >>> rule(PollState(attempt=1, elapsed=11.0, status=s))
    True
    """

    def __init__(self, *rules: StopRule) -> None:
        self.rules = rules

    def __call__(self, state: PollState) -> bool:
        return any(rule(state) for rule in self.rules)

    def __repr__(self) -> str:
        return " | ".join(repr(r) for r in self.rules)


class stop_all(StopRule):
    """Stops only when every rule says stop."""

    def __init__(self, *rules: StopRule) -> None:
        self.rules = rules

    def __call__(self, state: PollState) -> bool:
        return all(rule(state) for rule in self.rules)

    def __repr__(self) -> str:
        return " & ".join(repr(r) for r in self.rules)


class stop_after_delay(StopRule):
    """Stops once ``seconds`` have elapsed since polling started.

    Examples
    --------
    >>> from crmframe.core.jobs import JobStatus
    >>> s = JobStatus("bulk_write", "111111000000541958", "RUNNING", "INPROGRESS")
    >>> rule = stop_after_delay(30)
    >>> rule(PollState(1, 29.9, s)), rule(PollState(2, 30.0, s))
    (False, True)
    """

    def __init__(self, seconds: float) -> None:
        if seconds < 0:
            raise ConfigurationError(f"stop_after_delay needs seconds >= 0, got {seconds!r}")
        self.seconds = float(seconds)

    def __call__(self, state: PollState) -> bool:
        return state.elapsed >= self.seconds

    def __repr__(self) -> str:
        return f"stop_after_delay({self.seconds:g})"


class stop_after_attempt(StopRule):
    """Stops after ``attempts`` polls.

    Examples
    --------
    >>> from crmframe.core.jobs import JobStatus
    >>> s = JobStatus("mass_update", None, "RUNNING", "RUNNING")
    >>> [stop_after_attempt(2)(PollState(n, 0.0, s)) for n in (1, 2)]
    [False, True]
    """

    def __init__(self, attempts: int) -> None:
        if attempts < 1:
            raise ConfigurationError(f"stop_after_attempt needs attempts >= 1, got {attempts!r}")
        self.attempts = attempts

    def __call__(self, state: PollState) -> bool:
        return state.attempt >= self.attempts

    def __repr__(self) -> str:
        return f"stop_after_attempt({self.attempts})"


class _StopNever(StopRule):
    """Never gives up: waits as long as the job runs."""

    def __call__(self, state: PollState) -> bool:
        return False

    def __repr__(self) -> str:
        return "stop_never"


#: Never gives up: waits as long as the job runs.
stop_never: StopRule = _StopNever()


# ---------------------------------------------------------------------------- wait rules


class WaitRule(ABC):
    """Gives the number of seconds to sleep before the next poll."""

    @abstractmethod
    def __call__(self, state: PollState) -> float:
        """Seconds to wait after this poll."""

    def __add__(self, other: WaitRule) -> WaitRule:
        return wait_combine(self, other)


class wait_combine(WaitRule):
    """Waits the sum of the rules' delays.

    Examples
    --------
    >>> from crmframe.core.jobs import JobStatus
    >>> s = JobStatus("mass_update", None, "RUNNING", "RUNNING")
    >>> (wait_fixed(1) + wait_fixed(0.5))(PollState(1, 0.0, s))
    1.5
    """

    def __init__(self, *rules: WaitRule) -> None:
        self.rules = rules

    def __call__(self, state: PollState) -> float:
        return sum(rule(state) for rule in self.rules)

    def __repr__(self) -> str:
        return " + ".join(repr(r) for r in self.rules)


class wait_fixed(WaitRule):
    """Waits the same number of seconds between polls.

    Examples
    --------
    >>> from crmframe.core.jobs import JobStatus
    >>> wait_fixed(2)(PollState(5, 8.0, JobStatus("mass_update", None, "RUNNING", "RUNNING")))
    2.0
    """

    def __init__(self, seconds: float) -> None:
        if seconds < 0:
            raise ConfigurationError(f"wait_fixed needs seconds >= 0, got {seconds!r}")
        self.seconds = float(seconds)

    def __call__(self, state: PollState) -> float:
        return self.seconds

    def __repr__(self) -> str:
        return f"wait_fixed({self.seconds:g})"


class wait_exponential(WaitRule):
    """Waits ``initial * multiplier ** (attempt - 1)`` seconds, capped at ``maximum``.

    Long jobs (a bulk write of 25,000 rows) need not be polled every second; each status
    call costs an API credit.

    Examples
    --------
    >>> from crmframe.core.jobs import JobStatus
    >>> s = JobStatus("bulk_write", None, "RUNNING", "INPROGRESS")
    >>> rule = wait_exponential(initial=1, maximum=10, multiplier=2)
    >>> [rule(PollState(n, 0.0, s)) for n in range(1, 7)]
    [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]
    """

    def __init__(
        self, initial: float = 1.0, maximum: float = 60.0, multiplier: float = 2.0
    ) -> None:
        if initial < 0 or maximum < 0 or multiplier < 1:
            raise ConfigurationError(
                "wait_exponential needs initial >= 0, maximum >= 0 and multiplier >= 1, "
                f"got initial={initial!r}, maximum={maximum!r}, multiplier={multiplier!r}"
            )
        self.initial = float(initial)
        self.maximum = float(maximum)
        self.multiplier = float(multiplier)

    def __call__(self, state: PollState) -> float:
        exponent = max(state.attempt - 1, 0)
        try:
            delay = self.initial * self.multiplier**exponent
        except OverflowError:
            # A very long wait overflows the float; the cap is the answer anyway.
            return self.maximum
        return min(delay, self.maximum)

    def __repr__(self) -> str:
        return (
            f"wait_exponential(initial={self.initial:g}, maximum={self.maximum:g}, "
            f"multiplier={self.multiplier:g})"
        )


# ---------------------------------------------------------------------------- policy


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class WaitPolicy:
    """How to wait for a job: when to stop, how long to wait, how to sleep and tell time.

    Parameters
    ----------
    stop : StopRule
        When to give up on a job that is not finished. Default: never.
    wait : WaitRule
        The delay after each poll. Default: 2 seconds.
    sleep : callable
        Called with the delay in seconds. Default :func:`time.sleep`; tests pass a fake.
    clock : callable
        A monotonic clock in seconds for elapsed time. Default :func:`time.monotonic`.
    now : callable
        The wall clock (a timezone-aware UTC ``datetime``) used to stamp statuses.

    Examples
    --------
    >>> WaitPolicy.default(timeout=60, interval=5)
    WaitPolicy(stop=stop_after_delay(60), wait=wait_fixed(5))
    """

    stop: StopRule = stop_never
    wait: WaitRule = field(default_factory=lambda: wait_fixed(2.0))
    sleep: Callable[[float], object] = time.sleep
    clock: Callable[[], float] = time.monotonic
    now: Callable[[], datetime] = _utc_now

    @classmethod
    def default(cls, timeout: float | None = None, interval: float = 2.0) -> WaitPolicy:
        """The policy behind ``crm.wait(job, timeout=..., interval=...)``.

        ``timeout=None`` waits as long as the job runs.
        """
        stop = stop_never if timeout is None else stop_after_delay(timeout)
        return cls(stop=stop, wait=wait_fixed(interval))

    def __repr__(self) -> str:
        # The callables are noise in a repr; the rules are what a reader wants to see.
        return f"WaitPolicy(stop={self.stop!r}, wait={self.wait!r})"


# ---------------------------------------------------------------------------- history


class JobHistory(Sequence[JobStatus]):
    """The statuses seen while watching a job, oldest first.

    Examples
    --------
    >>> from crmframe.core.jobs import JobStatus
    >>> h = JobHistory([JobStatus("mass_update", "554023000000506003", "RUNNING", "RUNNING",
    ...                           total=50, updated=30)])
    >>> len(h), h.latest.updated
    (1, 30)
    >>> h.to_frame()[["job_id", "state", "updated", "total"]]
                   job_id    state  updated  total
    0  554023000000506003  RUNNING       30     50
    """

    def __init__(self, statuses: Iterable[JobStatus] = ()) -> None:
        self._items: list[JobStatus] = list(statuses)

    @overload
    def __getitem__(self, index: int) -> JobStatus: ...

    @overload
    def __getitem__(self, index: slice) -> JobHistory: ...

    def __getitem__(self, index: int | slice) -> JobStatus | JobHistory:
        if isinstance(index, slice):
            return JobHistory(self._items[index])
        return self._items[index]

    def __len__(self) -> int:
        return len(self._items)

    def __iter__(self) -> Iterator[JobStatus]:
        return iter(self._items)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, JobHistory):
            return self._items == other._items
        if isinstance(other, list):
            return self._items == other
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # mutable, like a list

    def __repr__(self) -> str:
        states = ", ".join(s.state for s in self._items)
        return f"JobHistory([{states}])"

    def append(self, status: JobStatus) -> None:
        """Add the newest observation."""
        self._items.append(status)

    @property
    def latest(self) -> JobStatus | None:
        """The newest status, or None before the first poll."""
        return self._items[-1] if self._items else None

    def to_frame(self) -> pd.DataFrame:
        """One row per observation, columns as :meth:`JobStatus.to_frame`, oldest first."""
        if not self._items:
            blank = JobStatus(kind="mass_update", job_id=None, state="SCHEDULED", raw_status="")
            empty: pd.DataFrame = blank.to_frame().iloc[0:0].reset_index(drop=True)
            return empty
        frame: pd.DataFrame = pd.concat([s.to_frame() for s in self._items], ignore_index=True)
        return frame


# ---------------------------------------------------------------------------- poll


def describe(status: JobStatus) -> str:
    """A short human description: kind, id, state and the counts that are known.

    Examples
    --------
    >>> from crmframe.core.jobs import JobStatus
    >>> describe(JobStatus("mass_update", "554023000000506003", "RUNNING", "RUNNING",
    ...                    total=50, updated=30, failed=0, not_updated=20))
    'mass_update job 554023000000506003 is RUNNING (Updated 30, Failed 0, Not processed yet 20 of 50)'
    >>> describe(JobStatus("bulk_write", "4150868000005392002", "RUNNING", "INPROGRESS"))
    'bulk_write job 4150868000005392002 is RUNNING (INPROGRESS, counts not known yet)'
    """  # noqa: E501
    known = [(label, n) for label, n in status.segments() if n is not None]
    if status.kind == "bulk_read":
        known = []
    if known or status.total is not None:
        counts = ", ".join(f"{label} {n}" for label, n in known)
        if status.total is not None:
            counts = f"{counts} of {status.total}" if counts else f"{status.total} records"
    else:
        counts = "counts not known yet"
        if status.raw_status and status.raw_status != status.state:
            counts = f"{status.raw_status}, {counts}"
    return f"{status.kind} job {status.job_id or '(no id)'} is {status.state} ({counts})"


def poll(
    fetch: Callable[[], JobStatus],
    policy: WaitPolicy | None = None,
    on_update: Callable[[JobStatus], object] | None = None,
    *,
    history: JobHistory | list[JobStatus] | None = None,
) -> JobStatus:
    """Call ``fetch`` until the job is COMPLETED; sleep between polls as the policy says.

    Parameters
    ----------
    fetch : callable
        Returns the job's current :class:`JobStatus` (one API call).
    policy : WaitPolicy, optional
        Stop and wait rules, sleep and clocks. Default :meth:`WaitPolicy.default`.
    on_update : callable, optional
        Called with every stamped status, e.g. to redraw a chart.
    history : JobHistory or list, optional
        Where to append the stamped statuses; pass one to keep them after an exception.

    Returns
    -------
    JobStatus
        The COMPLETED status, stamped with ``observed_at``.

    Raises
    ------
    JobFailed
        The job ended FAILED; ``.status`` is that last status.
    JobTimeout
        The stop rule gave up first; ``.status`` says where the job stood.

    Examples
    --------
    >>> from crmframe.core.jobs import JobStatus
    >>> running = JobStatus("bulk_write", "111111000000541958", "RUNNING", "INPROGRESS",
    ...                     total=100, added=0, updated=0, skipped=40)
    >>> fake_time = [0.0]
    >>> policy = WaitPolicy(stop=stop_after_delay(6), wait=wait_fixed(2),
    ...     sleep=lambda s: fake_time.__setitem__(0, fake_time[0] + s),
    ...     clock=lambda: fake_time[0])
    >>> try:
    ...     poll(lambda: running, policy)
    ... except JobTimeout as exc:
    ...     print(exc)
    gave up after 6s and 4 polls: bulk_write job 111111000000541958 is RUNNING (Added 0, Updated 0, Skipped 40 of 100)
    """  # noqa: E501
    policy = policy if policy is not None else WaitPolicy.default()
    seen = history if history is not None else JobHistory()
    start = policy.clock()
    attempt = 0
    while True:
        status = fetch().with_observed_at(policy.now())
        attempt += 1
        seen.append(status)
        if on_update is not None:
            on_update(status)
        if status.state == "COMPLETED":
            return status
        if status.state == "FAILED":
            raise JobFailed(describe(status), status)
        state = PollState(attempt=attempt, elapsed=policy.clock() - start, status=status)
        if policy.stop(state):
            raise JobTimeout(
                f"gave up after {state.elapsed:g}s and {attempt} "
                f"poll{'s' if attempt != 1 else ''}: {describe(status)}",
                status,
            )
        policy.sleep(policy.wait(state))
