"""Fixtures for the sandbox tests: servers on loopback and a small HTTP helper."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from crmframe.sandbox import ManualClock, SandboxServer, start

FIXTURES = Path(__file__).parent / "fixtures"
#: 2024-06-01T00:00:00Z: after every seeded timestamp.
T0 = 1_717_200_000.0


def samples() -> dict[str, Any]:
    """The copied Zoho samples (seeds and corpus), see fixtures/zoho_samples.json."""
    return json.loads((FIXTURES / "zoho_samples.json").read_text(encoding="utf-8"))


class Api:
    """A requests session against one sandbox, authenticated, on one API version."""

    def __init__(self, server: SandboxServer, version: str = "v8") -> None:
        self.server = server
        self.version = version
        self.session = requests.Session()
        self.token = server.access_token()
        self.session.headers["Authorization"] = f"Zoho-oauthtoken {self.token}"

    def refresh(self) -> None:
        """A new access token (after moving the clock past the old one's TTL)."""
        self.token = self.server.access_token()
        self.session.headers["Authorization"] = f"Zoho-oauthtoken {self.token}"

    def url(self, path: str, *, bulk: bool = False) -> str:
        if path.startswith("http"):
            return path
        if path.startswith("/"):
            return self.server.url + path
        base = f"/crm/bulk/{self.version}" if bulk else f"/crm/{self.version}"
        return f"{self.server.url}{base}/{path}"

    def get(self, path: str, *, bulk: bool = False, **kw: Any) -> requests.Response:
        return self.session.get(self.url(path, bulk=bulk), timeout=30, **kw)

    def post(self, path: str, *, bulk: bool = False, **kw: Any) -> requests.Response:
        return self.session.post(self.url(path, bulk=bulk), timeout=30, **kw)

    def put(self, path: str, **kw: Any) -> requests.Response:
        return self.session.put(self.url(path), timeout=30, **kw)

    def close(self) -> None:
        self.session.close()


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


def shape(obj: Any) -> Any:
    """The key structure of a JSON value (keys, nested), for shape comparisons."""
    if isinstance(obj, dict):
        return {k: shape(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [shape(obj[0])] if obj else []
    return type(obj).__name__
