"""Helpers shared by the big-module tests (imported by basename: no package here)."""

from __future__ import annotations

from typing import Any

from crmframe.facade.crm import CRM, connect
from crmframe.http.retry import RetryPolicy


def no_wait_retry() -> RetryPolicy:
    """Retries that never sleep."""
    return RetryPolicy(max_attempts=12, max_delay=3600, sleep=lambda s: None)


def connection(server: Any) -> CRM:
    """A connection to ``server`` whose bulk-job polling does not sleep."""
    crm = connect(**server.credentials, retry=no_wait_retry())
    crm.bulk_sleep = lambda seconds: None  # type: ignore[method-assign]
    return crm
