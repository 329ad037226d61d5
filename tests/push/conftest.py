"""Fixtures for push tests: one sandbox per module and a CRM that can write."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from .helpers import writing_crm


@pytest.fixture(scope="module")
def server() -> Iterator[Any]:
    from crmframe.sandbox import start

    with start(records=5000, seed=5) as running:
        yield running


@pytest.fixture
def crm(server: Any) -> Iterator[Any]:
    connection = writing_crm(server.credentials)
    try:
        yield connection
    finally:
        connection.close()
