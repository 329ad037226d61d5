"""Fixtures for big-module tests: sandboxes whose jobs finish at once, connections to them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from bighelpers import connection

from crmframe.facade.crm import CRM


@pytest.fixture(scope="module")
def small_server() -> Iterator[Any]:
    from crmframe.sandbox import start

    with start(records=3000, seed=21, job_speed=1e7, job_delay=0) as running:
        yield running


@pytest.fixture
def crm(small_server: Any) -> Iterator[CRM]:
    with connection(small_server) as conn:
        yield conn
