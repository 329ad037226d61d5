"""Fixtures for insert/upsert/delete tests: a sandbox per test module, two connections."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from crmframe.facade.crm import connect
from crmframe.http.retry import RetryPolicy


def writing_crm(credentials: dict[str, str]) -> Any:
    """A connection whose retries never sleep."""
    return connect(**credentials, retry=RetryPolicy(max_attempts=12, max_delay=3600,
                                                    sleep=lambda s: None))


@pytest.fixture(scope="module")
def server() -> Iterator[Any]:
    from crmframe.sandbox import start

    # Fast jobs: bulk writes complete within a poll or two.
    with start(records=1200, seed=11, job_speed=200_000, job_delay=0.05) as running:
        yield running


@pytest.fixture
def crm(server: Any) -> Iterator[Any]:
    with writing_crm(server.credentials) as connection:
        yield connection


@pytest.fixture
def colleague(server: Any) -> Iterator[Any]:
    """A second connection: another user editing the same records."""
    with writing_crm(server.credentials) as connection:
        yield connection
