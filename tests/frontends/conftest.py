"""Fixtures for the front-end tests: Zoho job samples, a scripted fake client, fake time."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import matplotlib
import pytest

# Headless and deterministic: no GUI backend, whatever the developer's matplotlibrc says.
matplotlib.use("Agg")

from crmframe.core.jobs import JobStatus, job_status
from crmframe.polling import WaitPolicy, stop_after_delay, stop_never, wait_fixed

FIXTURES = Path(__file__).parent / "fixtures"
MASS_UPDATE_JOB_ID = "554023000000506003"


def _samples(name: str) -> dict[str, Any]:
    with (FIXTURES / name).open(encoding="utf-8") as fh:
        samples: dict[str, Any] = json.load(fh)["samples"]
    return samples


@pytest.fixture(scope="session")
def mass_update_bodies() -> dict[str, Any]:
    """Zoho's four mass-update status samples, keyed scheduled/running/completed/failed."""
    return _samples("mass_update_status.json")


@pytest.fixture(scope="session")
def bulk_write_bodies() -> dict[str, Any]:
    """Zoho's bulk-write job details: added, inprogress, completed, inprogress_v2_no_counts."""
    return _samples("bulk_write_job_details.json")


@pytest.fixture(scope="session")
def mass_update_statuses(mass_update_bodies: dict[str, Any]) -> dict[str, JobStatus]:
    return {
        name: job_status(body, job_id=MASS_UPDATE_JOB_ID)
        for name, body in mass_update_bodies.items()
    }


@pytest.fixture(scope="session")
def bulk_write_statuses(bulk_write_bodies: dict[str, Any]) -> dict[str, JobStatus]:
    return {name: job_status(body) for name, body in bulk_write_bodies.items()}


@dataclass
class Reply:
    """The shape of ``crmframe.http.client.Reply`` that the mixin relies on."""

    body: dict[str, Any] | None
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)


@dataclass
class Call:
    method: str
    path: str
    params: dict[str, Any] | None
    bulk: bool


class FakeClient:
    """Answers each request with the next scripted body; the last one repeats."""

    def __init__(self, bodies: Iterable[dict[str, Any] | Exception]) -> None:
        self._bodies = list(bodies)
        self.calls: list[Call] = []

    def request(
        self,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: Any = None,
        bulk: bool = False,
        **kwargs: Any,
    ) -> Reply:
        self.calls.append(Call(method, path, params, bulk))
        index = min(len(self.calls), len(self._bodies)) - 1
        body = self._bodies[index]
        if isinstance(body, Exception):
            raise body
        return Reply(body)


class FakeTime:
    """A monotonic clock, a wall clock and a sleep that only moves them forward."""

    def __init__(self) -> None:
        self.now_s = 0.0
        self.naps: list[float] = []
        self.epoch = datetime(2026, 11, 22, 12, 0, tzinfo=timezone.utc)

    def sleep(self, seconds: float) -> None:
        self.naps.append(seconds)
        self.now_s += seconds

    def clock(self) -> float:
        return self.now_s

    def wall(self) -> datetime:
        return self.epoch + timedelta(seconds=self.now_s)

    def policy(self, timeout: float | None = None, interval: float = 2.0) -> WaitPolicy:
        stop = stop_never if timeout is None else stop_after_delay(timeout)
        return WaitPolicy(
            stop=stop, wait=wait_fixed(interval), sleep=self.sleep, clock=self.clock,
            now=self.wall,
        )


@pytest.fixture
def fake_time() -> FakeTime:
    return FakeTime()
