"""Helpers of the sandbox tests: an authenticated HTTP client and the copied samples."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import requests

from crmframe.sandbox import SandboxServer

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


def shape(obj: Any) -> Any:
    """The key structure of a JSON value (keys, nested), for shape comparisons."""
    if isinstance(obj, dict):
        return {k: shape(v) for k, v in obj.items()}
    if isinstance(obj, list):
        return [shape(obj[0])] if obj else []
    return type(obj).__name__
