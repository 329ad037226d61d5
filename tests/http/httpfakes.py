"""A fake transport for ``requests``: a handler function answers every request in-process."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Mapping
from typing import Any

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict

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
