"""Helpers shared by the client tests (imported by basename: tests/client has no package)."""

from __future__ import annotations

from typing import Any

from crmframe.http.retry import RetryPolicy


def no_wait_retry(max_attempts: int = 12) -> RetryPolicy:
    """Retries that never sleep: tests spend no time in backoff."""
    return RetryPolicy(max_attempts=max_attempts, max_delay=3600, sleep=lambda s: None)


def request_log(server: Any) -> list[tuple[str, str, int]]:
    """The sandbox's ``(method, path, status)`` log."""
    log = server.requests
    return list(log() if callable(log) else log)
