"""Many clients at once, and the fault knobs (credits, concurrency, 500s, drops)."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
import requests

from crmframe.sandbox import ManualClock, SandboxServer, start
from crmframe.sandbox.faults import Faults

from .helpers import Api

pytestmark = pytest.mark.sandbox


def _clients_read_and_write(server: SandboxServer, n_clients: int) -> dict[str, str]:
    flagged = server.flagged("Leads")
    ids = [i for i in server.ids("Leads") if i not in flagged]
    barrier = threading.Barrier(n_clients)
    expected: dict[str, str] = {}
    inserted: list[str] = []
    errors: list[str] = []
    lock = threading.Lock()

    def client(n: int) -> None:
        api = Api(server, "v8" if n % 2 else "v2")
        try:
            mine = ids[n * 8:(n + 1) * 8]
            barrier.wait()
            r = api.get("Leads", params={"fields": "Last_Name,City", "per_page": 200,
                                         "page": n % 3 + 1})
            if r.status_code != 200:
                errors.append(f"GET {r.status_code}")
            batch = [{"id": rid, "City": f"City {n}-{k}"} for k, rid in enumerate(mine)]
            r = api.put("Leads", json={"data": batch})
            if r.status_code != 200:
                errors.append(f"PUT {r.status_code} {r.text[:200]}")
            r = api.post("Leads", json={"data": [{"Last_Name": f"Client {n}"}]})
            if r.status_code != 201:
                errors.append(f"POST {r.status_code}")
            with lock:
                for k, rid in enumerate(mine):
                    expected[rid] = f"City {n}-{k}"
                inserted.append(r.json()["data"][0]["details"]["id"])
        finally:
            api.close()

    threads = [threading.Thread(target=client, args=(n,)) for n in range(n_clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert len(set(inserted)) == n_clients
    for rid in inserted:
        assert server.get_record("Leads", rid)["Last_Name"].startswith("Client ")
    return expected


def test_25_concurrent_clients_reads_and_writes_all_visible(tmp_path: Path) -> None:
    with start(records=500, db=str(tmp_path / "c.db")) as server:
        expected = _clients_read_and_write(server, 25)
        api = Api(server)
        try:
            for rid, city in expected.items():
                assert server.get_record("Leads", rid)["City"] == city
            # and over HTTP, through the read path
            got = {}
            token = None
            while True:
                params = {"fields": "City", "per_page": 200}
                if token:
                    params["page_token"] = token
                body = api.get("Leads", params=params).json()
                got.update({rec["id"]: rec["City"] for rec in body["data"]})
                if not body["info"]["more_records"]:
                    break
                token = body["info"]["next_page_token"]
            assert all(got[rid] == city for rid, city in expected.items())
            assert len(got) == 525
        finally:
            api.close()
    with start(db=str(tmp_path / "c.db")) as again:
        assert all(again.get_record("Leads", rid)["City"] == city
                   for rid, city in expected.items())


def test_credits_per_day_answer_429_until_the_window_rolls() -> None:
    clock = ManualClock(1_717_200_000.0)
    with start(records=20, clock=clock, credits_per_day=25) as server:
        api = Api(server)
        try:
            ids = server.ids("Leads")[:5]
            assert api.get("Leads/actions/count").status_code == 200         # 1
            r = api.put("Leads", json={"data": [{"id": i, "City": "A"} for i in ids]})  # 1
            assert r.status_code == 200
            for _ in range(23):
                assert api.get("org").status_code == 200                      # 23 -> 25
            r = api.get("org")
            assert r.status_code == 429
            assert r.json()["code"] == "TOO_MANY_REQUESTS"
            assert r.json()["status"] == "error"
            assert r.json()["details"] == {}
            assert r.headers["Retry-After"]
            assert server.credits_used == 25
            clock.advance(86_400)
            api.refresh()
            assert api.get("org").status_code == 200
        finally:
            api.close()


def test_bulk_costs_more_credits(server: SandboxServer) -> None:
    api = Api(server)
    try:
        before = server.credits_used
        api.post("read", bulk=True, json={"query": {"module": {"api_name": "Leads"}}})
        assert server.credits_used - before == 50
        before = server.credits_used
        api.post("coql", json={"select_query": "select id from Leads where id is not null "
                                               "limit 0, 1500"})
        assert server.credits_used - before == 3
    finally:
        api.close()


def test_concurrency_limit_answers_429() -> None:
    with start(records=10, max_concurrency=2, latency=0.3) as server:
        barrier = threading.Barrier(6)
        statuses: list[int] = []
        lock = threading.Lock()
        token = server.access_token()

        def call() -> None:
            with requests.Session() as s:
                barrier.wait()
                r = s.get(server.url + "/crm/v8/org",
                          headers={"Authorization": f"Zoho-oauthtoken {token}"}, timeout=30)
                with lock:
                    statuses.append(r.status_code)

        threads = [threading.Thread(target=call) for _ in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert 200 in statuses
        assert 429 in statuses
        assert server.faults.peak_in_flight <= 2


def test_faults_class_limits_concurrency_exactly() -> None:
    f = Faults(ManualClock(0), seed=1, max_concurrency=2)
    assert f.enter()
    assert f.enter()
    assert not f.enter()
    f.leave()
    assert f.enter()


def _pattern(seed: int, failure_rate: float) -> list[int]:
    with start(records=20, seed=seed, failure_rate=failure_rate) as server:
        api = Api(server)
        try:
            return [api.get("Leads/actions/count").status_code for _ in range(40)]
        finally:
            api.close()


def test_failure_rate_is_repeatable_with_a_seed() -> None:
    a = _pattern(3, 0.3)
    b = _pattern(3, 0.3)
    c = _pattern(4, 0.3)
    assert a == b
    assert a != c
    assert set(a) == {200, 500}


def test_a_500_writes_nothing() -> None:
    with start(records=20, seed=5, failure_rate=0.5) as server:
        api = Api(server)
        try:
            rid = server.ids("Leads")[0]
            for n in range(30):
                before = server.get_record("Leads", rid)
                r = api.put("Leads", json={"data": [{"id": rid, "City": f"Try {n}"}]})
                after = server.get_record("Leads", rid)
                if r.status_code == 500:
                    assert r.json() == {"code": "INTERNAL_ERROR", "details": {},
                                        "message": "Internal Server Error", "status": "error"}
                    assert after == before
                else:
                    assert r.status_code == 200
                    assert after["City"] == f"Try {n}"
            assert any(s == 500 for _, _, s in server.requests)
        finally:
            api.close()


def test_dropped_connections_are_repeatable_and_write_nothing() -> None:
    def run() -> list[int]:
        with start(records=20, seed=9, drop_rate=0.3) as server:
            rid = server.ids("Leads")[0]
            token = server.access_token()
            out = []
            for n in range(20):
                before = server.get_record("Leads", rid)
                with requests.Session() as s:
                    try:
                        r = s.put(server.url + "/crm/v8/Leads",
                                  json={"data": [{"id": rid, "City": f"D{n}"}]},
                                  headers={"Authorization": f"Zoho-oauthtoken {token}"},
                                  timeout=30)
                        out.append(r.status_code)
                    except requests.ConnectionError:
                        out.append(0)
                        assert server.get_record("Leads", rid) == before
            assert [s for _, _, s in server.requests].count(0) == out.count(0)
            return out

    first = run()
    assert 0 in first
    assert 200 in first
    assert run() == first
