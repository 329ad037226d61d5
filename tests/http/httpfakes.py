"""A fake transport for ``requests``: a handler function answers every request in-process."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from typing import Any

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

from crmframe.http.auth import RefreshTokenAuth
from crmframe.http.client import ZohoClient

Answer = tuple[int, Any] | tuple[int, Any, Mapping[str, str]]
Handler = Callable[[requests.PreparedRequest], Answer]


class FakeAdapter(BaseAdapter):
    """Calls ``handler(request)``; it returns ``(status, body[, headers])`` or raises."""

    def __init__(self, handler: Handler) -> None:
        super().__init__()
        self.handler = handler
        self.requests: list[requests.PreparedRequest] = []
        self._lock = threading.Lock()

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        with self._lock:
            self.requests.append(request)
        answer = self.handler(request)
        status, body = answer[0], answer[1]
        headers = dict(answer[2]) if len(answer) > 2 else {}  # type: ignore[misc]
        response = requests.Response()
        response.status_code = status
        if body is None:
            content = b""
        elif isinstance(body, bytes):
            content = body
        else:
            content = json.dumps(body).encode()
            headers.setdefault("Content-Type", "application/json")
        response._content = content
        response.headers = CaseInsensitiveDict(headers)
        response.url = request.url or ""
        response.request = request
        response.reason = "FAKE"
        return response

    def close(self) -> None:
        pass


def fake_session(handler: Handler) -> tuple[requests.Session, FakeAdapter]:
    session = requests.Session()
    adapter = FakeAdapter(handler)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session, adapter


#: Zoho's answer to a request whose access token expired or was revoked.
EXPIRED = {"code": "INVALID_TOKEN", "details": {}, "message": "invalid oauth token",
           "status": "error"}


def refreshing_client(
    answer: Answer, tokens: tuple[str, ...] = ("1000.old.tok", "1000.new.tok")
) -> tuple[ZohoClient, FakeAdapter]:
    """A client on a refresh-token auth whose accounts server hands out ``tokens`` in turn.

    The API answers 401 :data:`EXPIRED` to ``1000.old.tok`` and ``answer`` to any other.
    """
    issued = iter(tokens)

    def handler(request: requests.PreparedRequest) -> Answer:
        if "oauth/v2/token" in (request.url or ""):
            return 200, {"access_token": next(issued), "expires_in": 3600}
        if request.headers["Authorization"].endswith("old.tok"):
            return 401, EXPIRED
        return answer

    session, adapter = fake_session(handler)
    auth = RefreshTokenAuth("id", "secret-secret", "1000.r.r", "https://accounts.zoho.com")
    return ZohoClient("https://www.zohoapis.com", auth, session=session), adapter


class FakeClock:
    """A monotonic clock that only moves when told (and when the fake sleep sleeps)."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds
