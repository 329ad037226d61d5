"""Helpers shared by the push tests."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pandas as pd

from crmframe.facade.crm import CRM, connect
from crmframe.facade.jobs import JobsMixin
from crmframe.facade.write.mixin import WritingMixin
from crmframe.http.retry import RetryPolicy

WRITES = frozenset({"PUT", "POST"})


def fast_retry(max_attempts: int = 12) -> RetryPolicy:
    """Retries that never sleep: tests spend no time in backoff."""
    return RetryPolicy(max_attempts=max_attempts, max_delay=3600, sleep=lambda s: None)


def writing_crm(credentials: dict[str, str], **options: Any) -> Any:
    """A CRM with the writing and jobs verbs, whether or not CRM composes them yet."""
    base = connect(**credentials, retry=options.pop("retry", fast_retry()), **options)
    if isinstance(base, WritingMixin) and isinstance(base, JobsMixin):
        return base

    class PushCRM(CRM, WritingMixin, JobsMixin):
        pass

    return PushCRM(base.client)


def connected(server: Any) -> Iterator[Any]:
    """A writing connection to ``server`` for the length of a fixture."""
    crm = writing_crm(server.credentials)
    try:
        yield crm
    finally:
        crm.close()


def write_calls(server: Any, path_part: str = "") -> list[tuple[str, str, int]]:
    """The sandbox's write requests (PUT/POST, token requests left out)."""
    return [
        r for r in server.requests
        if r[0] in WRITES and "/oauth/" not in r[1] and path_part in r[1]
    ]


def api_calls(server: Any) -> list[tuple[str, str, int]]:
    """Every API request the sandbox saw (token requests left out): what a push's
    ``calls`` must equal."""
    return [r for r in server.requests if "/oauth/" not in r[1]]


def writable_leads(crm: Any, server: Any, n: int | None = None) -> pd.DataFrame:
    """Leads read from the sandbox, without the seeded locked/unapproved records."""
    frame = crm.read_records("Leads", progress=False)
    flagged = set(server.flagged("Leads"))
    frame = frame[~frame.index.isin(list(flagged))]
    return frame if n is None else frame.iloc[:n]


def wait_for_bulk_writes(server: Any) -> None:
    """Return once every bulk-write job the sandbox holds has processed all its rows (an
    orphan job, whose id crmframe never learnt, included)."""
    jobs = server.app.jobs
    while True:
        jobs.advance()
        with jobs.lock:
            if all(j.processed >= j.total for j in jobs.writes.values()):
                return
        time.sleep(0.02)  # the sandbox's jobs move with its clock: let it tick
