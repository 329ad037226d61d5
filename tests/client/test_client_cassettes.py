"""The client's flows replayed from cassettes (recorded against a sandbox), offline.

CI replays them (``--record-mode=none`` in pyproject). To re-record against a fresh
sandbox: ``.venv/bin/pytest tests/client/test_client_cassettes.py --record-mode=rewrite``.
When replaying, the connection points at an unused loopback port: every answer comes from
the cassette (matching ignores host and port), so no server runs.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import Any

import pytest
from clienthelpers import no_wait_retry

from crmframe.facade.crm import CRM, connect
from crmframe.http.retry import RetryPolicy

pytestmark = pytest.mark.vcr

OFFLINE = {"client_id": "replay-client", "client_secret": "replay-secret",
           "refresh_token": "replay-refresh", "accounts_url": "http://127.0.0.1:9",
           "api_domain": "http://127.0.0.1:9"}

Opener = Callable[..., AbstractContextManager[tuple[CRM, Any]]]


@pytest.fixture
def open_crm(record_mode: str) -> Opener:
    """``open_crm(**sandbox_options)`` → (crm, server); server is None when replaying."""

    @contextmanager
    def opener(retry: RetryPolicy | None = None, **options: Any) -> Iterator[tuple[CRM, Any]]:
        if record_mode == "none":
            with connect(**OFFLINE, retry=no_wait_retry()) as crm:
                yield crm, None
            return
        from crmframe.sandbox import start

        with start(**{"records": 2500, "seed": 3, **options}) as server, connect(
            **server.credentials, retry=retry or no_wait_retry()
        ) as crm:
            yield crm, server

    return opener


def statuses(cassette: Any) -> list[int]:
    return [r["status"]["code"] for r in cassette.responses]


def test_token_refresh(open_crm: Opener, vcr: Any) -> None:
    with open_crm() as (crm, _):
        fields = crm.read_fields("Leads")
    assert len(fields) >= 60
    assert vcr.requests[0].path == "/oauth/v2/token"
    assert crm.client.auth.refresh_count == 1


def test_paging_past_2000_with_page_tokens(open_crm: Opener, vcr: Any) -> None:
    with open_crm() as (crm, _):
        frame = crm.read_records("Leads", ["Last_Name", "Owner"])
    assert len(frame) == 2500
    assert not frame.index.has_duplicates
    queries = [r.query for r in vcr.requests if r.path.endswith("/Leads")]
    assert sum(any(k == "page_token" for k, _ in q) for q in queries) == 3  # pages 11-13


def test_more_than_50_fields_are_merged(open_crm: Opener, vcr: Any) -> None:
    with open_crm() as (crm, _):
        frame = crm.read_records("Leads", limit=10)
    assert len(frame) == 10
    assert len({c.split(".")[0] for c in frame.columns}) >= 59
    for request in vcr.requests:
        for key, value in request.query:
            if key == "fields":
                assert len(value.split(",")) <= 50


def test_204_gives_an_empty_typed_frame(open_crm: Opener, vcr: Any) -> None:
    with open_crm() as (crm, _):
        frame = crm.read_records("Leads", ["Last_Name", "No_of_Employees"],
                                 modified_since="2099-01-01T00:00:00+00:00")
    assert len(frame) == 0
    assert frame.dtypes.astype(str).to_dict() == {"Last_Name": "string",
                                                  "No_of_Employees": "Int64"}
    assert statuses(vcr)[-1] in (204, 304)


def test_429_then_success(open_crm: Opener, vcr: Any, record_mode: str) -> None:
    # Recording: one slow request holds the sandbox's only concurrency slot, so the read
    # meets a 429 (Retry-After: 1), waits, and succeeds. Replay needs no timing at all.
    real_wait = RetryPolicy(max_attempts=6, sleep=time.sleep)
    with open_crm(retry=real_wait, max_concurrency=1, latency=0.5) as (crm, server):
        if server is not None:
            holder = threading.Thread(target=crm.read_modules)
            holder.start()
            time.sleep(0.1)
        frame = crm.read_records("Leads", ["Last_Name"], limit=5)
        if server is not None:
            holder.join()
    assert len(frame) == 5
    assert 429 in statuses(vcr)
    assert statuses(vcr)[-1] == 200


def test_invalid_token_then_refresh(open_crm: Opener, vcr: Any) -> None:
    with open_crm() as (crm, server):
        crm.read_fields("Leads")
        if server is not None:
            server.revoke_tokens()
        frame = crm.read_records("Leads", ["Last_Name"], limit=3)
        assert crm.client.auth.refresh_count == 2
    assert len(frame) == 3
    assert 401 in statuses(vcr)
