"""Fixtures for the sandbox tests: servers on loopback, on a manual clock."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from crmframe.sandbox import ManualClock, SandboxServer, start

from .helpers import T0, Api


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(T0)


@pytest.fixture
def server(clock: ManualClock) -> Iterator[SandboxServer]:
    """A fresh 300-Lead sandbox per test (tests write to it), on a manual clock."""
    with start(records=300, clock=clock, job_delay=1.0, job_speed=100.0) as srv:
        yield srv


@pytest.fixture
def api(server: SandboxServer) -> Iterator[Api]:
    a = Api(server, "v8")
    yield a
    a.close()


@pytest.fixture
def api2(server: SandboxServer) -> Iterator[Api]:
    a = Api(server, "v2")
    yield a
    a.close()


@pytest.fixture(scope="module")
def big() -> Iterator[SandboxServer]:
    """A 5,000-Lead sandbox shared by read-only tests of one module."""
    with start(records=5000) as srv:
        yield srv


@pytest.fixture
def big_api(big: SandboxServer) -> Iterator[Api]:
    a = Api(big, "v8")
    yield a
    a.close()
