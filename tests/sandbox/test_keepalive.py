"""HTTP/1.1 keep-alive, the 429 knob and the token-revoking hook."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import pytest
import requests

from crmframe.sandbox import SandboxServer, start

from .helpers import Api

pytestmark = pytest.mark.sandbox


def test_a_session_reuses_one_connection(server: SandboxServer, api: Api) -> None:
    before = server.connections.accepted
    for _ in range(20):
        r = api.get("Leads", params={"fields": "Last_Name", "per_page": 5})
        assert r.status_code == 200
        assert r.raw.version == 11
        assert "close" not in r.headers.get("Connection", "").lower()
        assert int(r.headers["Content-Length"]) == len(r.content)
    assert server.connections.accepted - before == 1


def test_empty_answers_have_no_length_and_keep_the_connection(server: SandboxServer,
                                                               api: Api) -> None:
    before = server.connections.accepted
    r = api.get("Leads", params={"fields": "Last_Name", "per_page": 10, "page": 31})
    assert r.status_code == 204
    assert "Content-Length" not in r.headers
    r = api.get("Leads", params={"fields": "Last_Name"},
                headers={"If-Modified-Since": "2099-01-01T00:00:00+00:00"})
    assert r.status_code == 304
    assert "Content-Length" not in r.headers
    assert api.get("Leads/actions/count").status_code == 200
    assert server.connections.accepted - before == 1


def test_an_unread_request_body_does_not_spill_into_the_next_request(
        server: SandboxServer) -> None:
    body = json.dumps({"data": [{"Last_Name": "x" * 50} for _ in range(100)]})
    before = server.connections.accepted
    with requests.Session() as s:
        # no token: answered 401 before the body is read
        r = s.post(server.url + "/crm/v8/Leads", data=body, timeout=30)
        assert r.status_code == 401
        r = s.post(server.url + "/crm/v8/Nowhere/at/all/here", data=body, timeout=30)
        assert r.status_code == 404
        r = s.post(server.url + "/oauth/v2/token", data={"grant_type": "refresh_token",
                                                         **_creds(server)}, timeout=30)
        assert r.status_code == 200
        assert r.json()["access_token"]
    assert server.connections.accepted - before == 1


def _creds(server: SandboxServer) -> dict[str, str]:
    c = server.credentials
    return {k: c[k] for k in ("client_id", "client_secret", "refresh_token")}


def test_chunked_request_bodies_are_read_to_their_end(server: SandboxServer, api: Api) -> None:
    def chunks() -> Iterator[bytes]:
        yield b'{"data": [{"Last_Name": "Chunked",'
        yield b' "Company": "Keep-Alive Ltd"}]}'

    before = server.connections.accepted
    r = api.post("Leads", data=chunks(), headers={"Content-Type": "application/json"})
    assert r.status_code == 201, r.text
    rid = r.json()["data"][0]["details"]["id"]
    assert server.get_record("Leads", rid)["Last_Name"] == "Chunked"
    assert api.get(f"Leads/{rid}").status_code == 200
    assert server.connections.accepted - before == 1


def test_a_dropped_connection_is_closed_and_the_session_recovers() -> None:
    with start(records=20, seed=9, drop_rate=1.0) as server:
        api = Api(server)
        try:
            rid = server.ids("Leads")[0]
            before = server.get_record("Leads", rid)
            with pytest.raises(requests.ConnectionError):
                api.put("Leads", json={"data": [{"id": rid, "City": "Dropped"}]})
            assert server.get_record("Leads", rid) == before
            assert server.requests[-1] == ("PUT", "/crm/v8/Leads", 0)
            server.faults.drop_rate = 0.0
            r = api.put("Leads", json={"data": [{"id": rid, "City": "Kept"}]})
            assert r.status_code == 200
            assert server.get_record("Leads", rid)["City"] == "Kept"
        finally:
            api.close()


def test_stop_ends_idle_keep_alive_connections() -> None:
    server = start(records=20)
    api = Api(server)
    raw = socket.create_connection((server.host, server.port))
    try:
        assert api.get("Leads/actions/count").status_code == 200
        raw.sendall(f"GET /crm/v8/org HTTP/1.1\r\nHost: {server.host}\r\n"
                    f"Authorization: Zoho-oauthtoken {api.token}\r\n\r\n".encode())
        assert raw.recv(12) == b"HTTP/1.1 200"
        assert server.connections.open == 2  # both idle, waiting for a next request
        server.stop()
        assert server.connections.open == 0
        raw.settimeout(30)
        while raw.recv(65536):  # the server closed its side: EOF after the answer
            pass
        with pytest.raises(requests.ConnectionError):
            api.get("Leads/actions/count")
    finally:
        raw.close()
        api.close()
        server.stop()


def test_rate_limit_rate_answers_429_before_anything_is_written_or_charged() -> None:
    with start(records=20, rate_limit_rate=1.0) as server:
        api = Api(server)
        try:
            rid = server.ids("Leads")[0]
            before = server.get_record("Leads", rid)
            r = api.put("Leads", json={"data": [{"id": rid, "City": "Limited"}]})
            assert r.status_code == 429
            assert r.headers["Retry-After"] == "1"
            assert r.json()["code"] == "TOO_MANY_REQUESTS"
            assert server.get_record("Leads", rid) == before
            assert server.credits_used == 0
            # OAuth is not an API call
            token = requests.post(server.url + "/oauth/v2/token", timeout=30, data={
                "grant_type": "refresh_token", **_creds(server)})
            assert "access_token" in token.json()
            server.faults.rate_limit_rate = 0.0
            assert api.put("Leads", json={"data": [{"id": rid, "City": "Ok"}]}
                           ).status_code == 200
        finally:
            api.close()


def _limit_pattern(seed: int) -> list[int]:
    with start(records=20, seed=seed, rate_limit_rate=0.3) as server:
        api = Api(server)
        try:
            return [api.get("Leads/actions/count").status_code for _ in range(40)]
        finally:
            api.close()


def test_rate_limit_rate_is_repeatable_with_a_seed() -> None:
    a = _limit_pattern(3)
    assert a == _limit_pattern(3)
    assert a != _limit_pattern(4)
    assert set(a) == {200, 429}


def test_cli_takes_rate_limit_rate() -> None:
    from crmframe.sandbox.cli import build_parser

    assert build_parser().parse_args(["--rate-limit-rate", "0.25"]).rate_limit_rate == 0.25
    assert build_parser().parse_args([]).rate_limit_rate == 0.0


def test_revoke_tokens_forces_a_refresh(server: SandboxServer, api: Api) -> None:
    assert api.get("org").status_code == 200
    server.revoke_tokens()
    r = api.get("org")
    assert r.status_code == 401
    assert r.json()["code"] == "INVALID_TOKEN"
    api.refresh()
    assert api.get("org").status_code == 200
