"""Polling policies and poll(): stop/wait rules, fake time, history, failure and timeout."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pandas as pd
import pytest

from crmframe.core.jobs import JobStatus
from crmframe.errors import ConfigurationError, JobFailed, JobTimeout
from crmframe.polling import (
    JobHistory,
    PollState,
    WaitPolicy,
    describe,
    poll,
    stop_after_attempt,
    stop_after_delay,
    stop_all,
    stop_any,
    stop_never,
    wait_exponential,
    wait_fixed,
)

from .conftest import MASS_UPDATE_JOB_ID, FakeTime

RUNNING = JobStatus("mass_update", MASS_UPDATE_JOB_ID, "RUNNING", "RUNNING", total=50,
                    updated=30, failed=0, not_updated=20)


def state(attempt: int = 1, elapsed: float = 0.0) -> PollState:
    return PollState(attempt=attempt, elapsed=elapsed, status=RUNNING)


class Script:
    """A fetch function that returns the statuses in order and counts its calls."""

    def __init__(self, statuses: list[JobStatus]) -> None:
        self.statuses = statuses
        self.calls = 0

    def __call__(self) -> JobStatus:
        status = self.statuses[min(self.calls, len(self.statuses) - 1)]
        self.calls += 1
        return status


# ---------------------------------------------------------------------------- rules


def test_stop_after_delay_boundary() -> None:
    rule = stop_after_delay(10)
    assert [rule(state(elapsed=e)) for e in (0.0, 9.99, 10.0, 30.0)] == [False, False, True, True]


def test_stop_after_attempt_boundary() -> None:
    rule = stop_after_attempt(3)
    assert [rule(state(attempt=n)) for n in (1, 2, 3, 4)] == [False, False, True, True]


def test_stop_never_never_stops() -> None:
    assert not stop_never(state(attempt=10**6, elapsed=1e9))


def test_stop_rules_combine_with_or_and_and() -> None:
    either = stop_after_attempt(3) | stop_after_delay(10)
    both = stop_after_attempt(3) & stop_after_delay(10)
    assert isinstance(either, stop_any)
    assert isinstance(both, stop_all)
    assert either(state(attempt=3, elapsed=0.0))
    assert either(state(attempt=1, elapsed=10.0))
    assert not either(state(attempt=2, elapsed=9.0))
    assert not both(state(attempt=3, elapsed=0.0))
    assert both(state(attempt=3, elapsed=10.0))
    assert repr(either) == "stop_after_attempt(3) | stop_after_delay(10)"


def test_wait_fixed_and_sum() -> None:
    assert wait_fixed(2)(state()) == 2.0
    assert (wait_fixed(2) + wait_fixed(0.5) + wait_fixed(1))(state()) == 3.5


def test_wait_exponential_caps_at_maximum() -> None:
    rule = wait_exponential(initial=0.5, maximum=5, multiplier=3)
    assert [rule(state(attempt=n)) for n in range(1, 6)] == [0.5, 1.5, 4.5, 5.0, 5.0]
    # An enormous attempt count must not overflow into an exception.
    assert rule(state(attempt=100_000)) == 5.0


@pytest.mark.parametrize(
    "make",
    [
        lambda: stop_after_delay(-1),
        lambda: stop_after_attempt(0),
        lambda: wait_fixed(-0.1),
        lambda: wait_exponential(initial=-1),
        lambda: wait_exponential(multiplier=0.5),
    ],
)
def test_bad_rule_arguments_raise_configuration_error(make: Any) -> None:
    with pytest.raises(ConfigurationError):
        make()


def test_policy_default_and_repr() -> None:
    policy = WaitPolicy.default(timeout=30, interval=5)
    assert policy.stop(state(elapsed=30.0))
    assert not policy.stop(state(elapsed=29.0))
    assert policy.wait(state()) == 5.0
    assert repr(policy) == "WaitPolicy(stop=stop_after_delay(30), wait=wait_fixed(5))"
    assert WaitPolicy.default().stop is stop_never


# ---------------------------------------------------------------------------- poll


def test_poll_goes_scheduled_running_completed_in_no_real_time(
    mass_update_statuses: dict[str, JobStatus], fake_time: FakeTime
) -> None:
    fetch = Script([mass_update_statuses[s] for s in ("scheduled", "running", "completed")])
    seen: list[JobStatus] = []
    history = JobHistory()

    final = poll(fetch, fake_time.policy(interval=3.0), seen.append, history=history)

    assert final.state == "COMPLETED"
    assert final.updated == 50
    assert fetch.calls == 3
    assert fake_time.naps == [3.0, 3.0]  # no sleep after the terminal status
    assert [s.state for s in history] == ["SCHEDULED", "RUNNING", "COMPLETED"]
    assert seen == list(history)
    # Stamped with the injected wall clock, one interval apart.
    stamps = [s.observed_at for s in history]
    assert stamps[0] == fake_time.epoch
    assert stamps[2] == fake_time.epoch + timedelta(seconds=6)
    assert all(s is not None and s.tzinfo is not None for s in stamps)


def test_poll_without_policy_returns_a_stamped_terminal_status() -> None:
    # A job already COMPLETED needs no sleep, so the default policy costs no real time.
    done = JobStatus("mass_update", MASS_UPDATE_JOB_ID, "COMPLETED", "COMPLETED", total=1)
    final = poll(lambda: done)
    assert final.state == "COMPLETED"
    assert final.observed_at is not None
    assert final.observed_at.utcoffset() == timedelta(0)


def test_poll_failed_raises_job_failed_with_last_status(
    mass_update_statuses: dict[str, JobStatus], fake_time: FakeTime
) -> None:
    fetch = Script([mass_update_statuses["running"], mass_update_statuses["failed"]])
    history = JobHistory()
    with pytest.raises(JobFailed) as info:
        poll(fetch, fake_time.policy(), history=history)
    status = info.value.status
    assert isinstance(status, JobStatus)
    assert status.state == "FAILED"
    assert status.failed == 50
    message = str(info.value)
    assert MASS_UPDATE_JOB_ID in message
    assert "mass_update" in message
    assert "Failed 50" in message
    assert "of 50" in message
    assert [s.state for s in history] == ["RUNNING", "FAILED"]


def test_poll_timeout_says_where_the_job_stood(
    bulk_write_statuses: dict[str, JobStatus], fake_time: FakeTime
) -> None:
    fetch = Script([bulk_write_statuses["added"], bulk_write_statuses["inprogress"]])
    history = JobHistory()
    with pytest.raises(JobTimeout) as info:
        poll(fetch, fake_time.policy(timeout=10, interval=4), history=history)
    status = info.value.status
    assert isinstance(status, JobStatus)
    assert status.state == "RUNNING"
    # Polls at t=0, 4, 8, 12: the fourth is past the 10 s budget.
    assert fetch.calls == 4
    assert fake_time.naps == [4.0, 4.0, 4.0]
    message = str(info.value)
    assert "12s" in message
    assert "4 polls" in message
    assert "111111000000541958" in message
    assert "RUNNING" in message
    assert "Skipped 100 of 100" in message
    assert len(history) == 4


def test_poll_timeout_with_counts_unknown(
    bulk_write_statuses: dict[str, JobStatus], fake_time: FakeTime
) -> None:
    fetch = Script([bulk_write_statuses["inprogress_v2_no_counts"]])
    with pytest.raises(JobTimeout, match="counts not known yet") as info:
        poll(fetch, fake_time.policy(timeout=0))
    assert "1 poll:" in str(info.value)
    assert fake_time.naps == []


def test_poll_stop_after_attempt(fake_time: FakeTime) -> None:
    fetch = Script([RUNNING])
    policy = WaitPolicy(stop=stop_after_attempt(5), wait=wait_exponential(1, 8),
                        sleep=fake_time.sleep, clock=fake_time.clock, now=fake_time.wall)
    with pytest.raises(JobTimeout):
        poll(fetch, policy)
    assert fetch.calls == 5
    assert fake_time.naps == [1.0, 2.0, 4.0, 8.0]


def test_poll_appends_to_a_plain_list_too(fake_time: FakeTime) -> None:
    done = JobStatus("bulk_read", "111111000000123456", "COMPLETED", "COMPLETED", total=7)
    history: list[JobStatus] = []
    poll(lambda: done, fake_time.policy(), history=history)
    assert len(history) == 1
    assert history[0].observed_at == fake_time.epoch


def test_fetch_errors_propagate_and_history_keeps_what_was_seen(fake_time: FakeTime) -> None:
    from crmframe.errors import NotFoundError

    calls = {"n": 0}

    def fetch() -> JobStatus:
        calls["n"] += 1
        if calls["n"] == 2:
            raise NotFoundError("NOT_FOUND", "Empty response", http_status=404)
        return RUNNING

    history = JobHistory()
    with pytest.raises(NotFoundError):
        poll(fetch, fake_time.policy(), history=history)
    assert len(history) == 1


# ---------------------------------------------------------------------------- history


def test_history_sequence_behaviour() -> None:
    history = JobHistory([RUNNING])
    assert len(history) == 1
    assert history[0] is RUNNING
    assert isinstance(history[0:1], JobHistory)
    assert history == [RUNNING]
    assert history == JobHistory([RUNNING])
    assert history != JobHistory()
    assert history.latest is RUNNING
    assert JobHistory().latest is None
    assert repr(history) == "JobHistory([RUNNING])"


def test_history_to_frame_one_row_per_observation(
    mass_update_statuses: dict[str, JobStatus], fake_time: FakeTime
) -> None:
    fetch = Script([mass_update_statuses[s] for s in ("scheduled", "running", "completed")])
    history = JobHistory()
    poll(fetch, fake_time.policy(), history=history)
    frame = history.to_frame()
    assert list(frame["state"]) == ["SCHEDULED", "RUNNING", "COMPLETED"]
    assert list(frame["updated"]) == [0, 30, 50]
    assert str(frame["updated"].dtype) == "Int64"
    assert str(frame["job_id"].dtype) == "string"
    assert frame["job_id"].iloc[0] == MASS_UPDATE_JOB_ID
    assert isinstance(frame["observed_at"].dtype, pd.DatetimeTZDtype)
    assert frame["observed_at"].iloc[1] == pd.Timestamp(fake_time.epoch) + pd.Timedelta("2s")


def test_empty_history_frame_has_the_columns() -> None:
    frame = JobHistory().to_frame()
    assert len(frame) == 0
    assert {"state", "updated", "total", "observed_at"} <= set(frame.columns)
    assert str(frame["total"].dtype) == "Int64"


def test_describe_bulk_read_says_records() -> None:
    done = JobStatus("bulk_read", "111111000000123456", "COMPLETED", "COMPLETED", total=7)
    assert describe(done) == "bulk_read job 111111000000123456 is COMPLETED (7 records)"
