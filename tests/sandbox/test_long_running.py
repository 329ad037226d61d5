"""A server that runs long: what it keeps must stay bounded (counted, not timed)."""

from __future__ import annotations

import gc
from typing import Any

import pytest

from crmframe.sandbox import ManualClock, SandboxServer, start
from crmframe.sandbox.envelopes import ApiError
from crmframe.sandbox.faults import Faults
from crmframe.sandbox.listing import PageToken, TokenBook
from crmframe.sandbox.oauth import OAuth

from .helpers import Api

pytestmark = pytest.mark.sandbox


def _read_all(api: Api, per_page: int = 10) -> int:
    """Page through every Lead with page tokens; the number of pages."""
    params: dict[str, Any] = {"fields": "Last_Name", "per_page": per_page}
    pages = 0
    while True:
        r = api.get("Leads", params=params)
        assert r.status_code == 200, r.text
        pages += 1
        info = r.json()["info"]
        if not info["more_records"]:
            return pages
        params = {"fields": "Last_Name", "per_page": per_page,
                  "page_token": info["next_page_token"]}


def test_page_tokens_do_not_pile_up_over_repeated_reads(server: SandboxServer,
                                                        api: Api) -> None:
    pages = sum(_read_all(api) for _ in range(3))
    assert pages == 3 * 30
    # One token per finished chain (its last, still retryable), not one per page.
    assert len(server.app.tokens) <= 3


def test_retrying_the_token_just_used_still_gives_the_same_page(api: Api) -> None:
    first = api.get("Leads", params={"fields": "Last_Name", "per_page": 10}).json()
    token = first["info"]["next_page_token"]
    params = {"fields": "Last_Name", "per_page": 10, "page_token": token}
    a = api.get("Leads", params=params).json()
    b = api.get("Leads", params=params).json()
    assert [r["id"] for r in a["data"]] == [r["id"] for r in b["data"]]
    # and the chain goes on from either answer
    nxt = {**params, "page_token": b["info"]["next_page_token"]}
    assert api.get("Leads", params=nxt).status_code == 200


def test_expired_page_tokens_are_purged(server: SandboxServer, api: Api,
                                        clock: ManualClock) -> None:
    for _ in range(5):  # five abandoned chains: one token each
        r = api.get("Leads", params={"fields": "Last_Name", "per_page": 10})
        assert r.json()["info"]["next_page_token"]
    assert len(server.app.tokens) == 5
    clock.advance(server.app.page_token_ttl + 1)
    api.refresh()
    api.get("Leads", params={"fields": "Last_Name", "per_page": 10})
    assert len(server.app.tokens) == 1


def test_token_book_capacity_is_a_hard_bound() -> None:
    book = TokenBook(capacity=10)
    texts = [book.issue(PageToken((), str(i), i, 100.0), 0.0) for i in range(25)]
    assert len(book) == 10
    assert book.find(texts[0]) is None
    assert book.find(texts[-1]) is not None


def test_stale_views_are_dropped_when_the_module_changes(server: SandboxServer,
                                                         api: Api) -> None:
    writable = next(i for i in server.ids("Leads") if i not in server.flagged("Leads"))
    for n in range(4):
        assert api.get("Leads", params={"fields": "Last_Name",
                                        "sort_by": "Modified_Time"}).status_code == 200
        r = api.put("Leads", json={"data": [{"id": writable, "City": f"C{n}"}]})
        assert r.status_code == 200, r.text
    assert api.get("Leads", params={"fields": "Last_Name",
                                    "sort_by": "Modified_Time"}).status_code == 200
    assert len(server.app.views) == 1


def _reachable(root: object, skip: frozenset[int] = frozenset()) -> set[int]:
    """Ids of the GC-tracked objects reachable from ``root`` (what a collection walks)."""
    seen: set[int] = set()
    stack = [root]
    while stack:
        obj = stack.pop()
        if id(obj) in seen or id(obj) in skip or not gc.is_tracked(obj):
            continue
        seen.add(id(obj))
        stack.extend(gc.get_referents(obj))
    return seen


def test_finished_bulk_reads_keep_their_zip_not_their_rows(server: SandboxServer, api: Api,
                                                           clock: ManualClock) -> None:
    r = api.post("read", bulk=True, json={"query": {"module": {"api_name": "Leads"}}})
    assert r.status_code == 201, r.text
    job_id = r.json()["data"][0]["details"]["id"]
    clock.advance(60)
    status = api.get(f"read/{job_id}", bulk=True).json()["data"][0]
    assert status["state"] == "COMPLETED"
    assert status["result"]["count"] == 300
    job = server.app.jobs.reads[job_id]
    # What the job holds beyond the server's shared metadata and records: 300 rows kept
    # as lists would be 300+ tracked objects, walked by every collection.
    shared = frozenset(_reachable(server.app.modules) | _reachable(server.store.data))
    assert len(_reachable(job, shared)) < 100
    first = api.get(f"read/{job_id}/result", bulk=True).content
    assert api.get(f"read/{job_id}/result", bulk=True).content == first


def test_request_log_keeps_the_latest_entries_only() -> None:
    with start(records=20, request_log_size=5) as server:
        api = Api(server)
        try:
            for _ in range(7):
                api.get("Leads/actions/count")
            api.get("org")
        finally:
            api.close()
        log = server.requests
        assert len(log) == 5
        assert log[-1] == ("GET", "/crm/v8/org", 200)


def test_credit_window_holds_one_entry_per_second() -> None:
    clock = ManualClock(1000.0)
    faults = Faults(clock, seed=1, credits_per_day=10_000)
    for _ in range(500):
        assert faults.spend(2)
    assert faults.window_entries() == 1
    clock.advance(1.0)
    assert faults.spend(1)
    assert faults.window_entries() == 2
    assert faults.remaining() == 10_000 - 1001
    clock.advance(86_400.0)
    assert faults.spend(1)
    assert faults.window_entries() == 1
    assert faults.remaining() == 10_000 - 1


def test_expired_access_tokens_are_forgotten() -> None:
    """Each connect mints a token; a server connected to again and again for days must not
    keep every one it ever minted (it kept 10,000 here before)."""
    clock = ManualClock(1000.0)
    oauth = OAuth(clock, ttl=60.0, seed=1)
    live = []
    for n in range(10_000):
        token = oauth.mint()
        if n % 100 == 0:
            live.append(token)  # a token in use as its successors are minted
        clock.advance(1.0)
    assert oauth.issued == 10_000
    assert oauth.kept <= 2048
    assert oauth.grant_of(f"Zoho-oauthtoken {token}").expires == clock.now() + 59.0
    for old in live[:-1]:
        with pytest.raises(ApiError) as refused:
            oauth.grant_of(f"Zoho-oauthtoken {old}")
        assert refused.value.status == 401
