"""Fixtures for client tests: a sandbox per module, connections to it, and cassettes."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from clienthelpers import no_wait_retry

from crmframe.facade.crm import CRM, connect
from crmframe.http.recording import vcr_config as shared_vcr_config

ROOT = Path(__file__).resolve().parents[2]
CASSETTES = ROOT / "cassettes"


@pytest.fixture(scope="module")
def server() -> Iterator[Any]:
    from crmframe.sandbox import start

    with start(records=5000, seed=11) as running:
        yield running


@pytest.fixture
def crm(server: Any) -> Iterator[CRM]:
    with connect(**server.credentials, retry=no_wait_retry()) as connection:
        yield connection


@pytest.fixture
def vcr_config() -> dict[str, Any]:
    return shared_vcr_config()


@pytest.fixture(scope="module")
def vcr_cassette_dir(request: pytest.FixtureRequest) -> str:
    return str(CASSETTES / request.module.__name__.rsplit(".", 1)[-1].removeprefix("test_"))
