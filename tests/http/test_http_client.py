"""ZohoClient: retries with backoff, token replay, typed errors, concurrency cap, redaction."""

from __future__ import annotations

import logging
import threading
import time

import pytest
import requests
from httpfakes import EXPIRED, FakeClock, fake_session, refreshing_client

from crmframe.errors import (
    AuthenticationError,
    ConfigurationError,
    InvalidModuleError,
    InvalidRequestError,
    RateLimitError,
    ServerError,
    TransportError,
    ZohoAPIError,
)
from crmframe.http.auth import RefreshTokenAuth, StaticToken
from crmframe.http.client import MAX_TOKEN_REFRESHES, ZohoClient
from crmframe.http.retry import RetryPolicy, parse_retry_after

TOKEN = "1000.5ecret5ecret.70ken70ken"
OK = {"data": [{"id": "4876876000000624001"}], "info": {"more_records": False}}
TOO_MANY = {"code": "TOO_MANY_REQUESTS", "details": {}, "message": "too many", "status": "error"}
INVALID_DATA = {"code": "INVALID_DATA", "details": {"api_name": "Email"},
                "message": "invalid data", "status": "error"}


def client_for(handler, clock: FakeClock, **kwargs) -> tuple[ZohoClient, list]:
    session, adapter = fake_session(handler)
    policy = kwargs.pop("retry", None) or RetryPolicy(
        max_attempts=5, max_delay=60, base=0.5, cap=8, sleep=clock.sleep, clock=clock
    )
    client = ZohoClient("https://www.zohoapis.com", StaticToken(TOKEN), session=session,
                        retry=policy, **kwargs)
    return client, adapter.requests


def script(*answers):
    """A handler giving ``answers`` in turn (an exception instance is raised)."""
    queue = list(answers)

    def handler(request):
        answer = queue.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return answer

    return handler


def test_get_builds_url_and_header(clock: FakeClock) -> None:
    client, sent = client_for(script((200, OK)), clock)
    reply = client.request("GET", "Leads", params={"fields": "id", "page": 1})
    assert reply.status == 200
    assert reply.body == OK
    assert sent[0].url == "https://www.zohoapis.com/crm/v8/Leads?fields=id&page=1"
    assert sent[0].headers["Authorization"] == f"Zoho-oauthtoken {TOKEN}"


@pytest.mark.parametrize("status", [204, 304])
def test_empty_answers_have_no_body(clock: FakeClock, status: int) -> None:
    client, _ = client_for(script((status, None)), clock)
    reply = client.request("GET", "Leads")
    assert (reply.status, reply.body) == (status, None)


def test_429_then_success_backs_off_exponentially(clock: FakeClock) -> None:
    policy = RetryPolicy(max_attempts=5, base=0.5, cap=8, jitter=False, sleep=clock.sleep,
                         clock=clock)
    client, sent = client_for(
        script((429, TOO_MANY), (500, {"code": "INTERNAL_ERROR", "message": "x",
                                       "status": "error", "details": {}}),
               (503, b""), (200, OK)),
        clock, retry=policy,
    )
    assert client.request("GET", "Leads").body == OK
    assert len(sent) == 4
    assert clock.slept == [0.5, 1.0, 2.0]


def test_full_jitter_stays_under_the_step(clock: FakeClock) -> None:
    policy = RetryPolicy(base=1, cap=4, sleep=clock.sleep, clock=clock)
    for attempt in range(1, 8):
        for _ in range(50):
            assert 0 <= policy.backoff(attempt) <= min(4, 2 ** (attempt - 1))


def test_retry_after_is_honoured(clock: FakeClock) -> None:
    client, _ = client_for(script((429, TOO_MANY, {"Retry-After": "7"}), (200, OK)), clock)
    client.request("GET", "Leads")
    assert clock.slept == [7.0]


def test_retry_after_http_date() -> None:
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past


def test_429_exhausted_raises_rate_limit_error(clock: FakeClock) -> None:
    client, sent = client_for(script(*[(429, TOO_MANY)] * 5), clock)
    with pytest.raises(RateLimitError, match="gave up after 5") as info:
        client.request("GET", "Leads")
    assert info.value.http_status == 429
    assert len(sent) == 5
    assert len(clock.slept) == 4


def test_total_time_bound_stops_early(clock: FakeClock) -> None:
    policy = RetryPolicy(max_attempts=100, max_delay=10, base=4, cap=4, jitter=False,
                         sleep=clock.sleep, clock=clock)
    client, sent = client_for(script(*[(503, b"")] * 100), clock, retry=policy)
    with pytest.raises(ServerError):
        client.request("GET", "Leads")
    assert sum(clock.slept) <= 10
    assert len(sent) == 3  # waits of 4 + 4 fit in 10 s; a third would not


def test_5xx_exhausted_raises_server_error(clock: FakeClock) -> None:
    client, _ = client_for(script(*[(502, b"<html>bad gateway</html>")] * 5), clock)
    with pytest.raises(ServerError) as info:
        client.request("GET", "Leads")
    assert info.value.http_status == 502


@pytest.mark.parametrize(
    "exc",
    [requests.ConnectionError("reset"), requests.exceptions.ChunkedEncodingError("cut"),
     requests.ReadTimeout("slow")],
)
def test_dropped_connections_are_retried(clock: FakeClock, exc: Exception) -> None:
    client, sent = client_for(script(exc, (200, OK)), clock)
    assert client.request("GET", "Leads").body == OK
    assert len(sent) == 2


def test_dropped_connections_exhausted_raise_transport_error(clock: FakeClock) -> None:
    client, _ = client_for(script(*[requests.ConnectionError("x")] * 5), clock)
    with pytest.raises(TransportError, match="5 attempt"):
        client.request("GET", "Leads")


def test_invalid_data_is_never_retried(clock: FakeClock) -> None:
    client, sent = client_for(script((400, INVALID_DATA), (200, OK)), clock)
    with pytest.raises(InvalidRequestError) as info:
        client.request("PUT", "Leads", json={"data": [{}]})
    assert info.value.code == "INVALID_DATA"
    assert info.value.details == {"api_name": "Email"}
    assert len(sent) == 1
    assert clock.slept == []


def test_other_request_errors_are_typed(clock: FakeClock) -> None:
    body = {"code": "INVALID_MODULE", "details": {}, "message": "bad", "status": "error"}
    client, _ = client_for(script((400, body)), clock)
    with pytest.raises(InvalidModuleError):
        client.request("GET", "Nope")


def test_4xx_without_envelope_is_an_api_error(clock: FakeClock) -> None:
    client, _ = client_for(script((404, b"<html>not here</html>")), clock)
    with pytest.raises(ZohoAPIError, match="HTTP_404"):
        client.request("GET", "Leads")


def test_post_is_not_replayed_after_a_500_or_a_cut(clock: FakeClock) -> None:
    error = {"code": "INTERNAL_ERROR", "details": {}, "message": "x", "status": "error"}
    client, sent = client_for(script((500, error), (200, OK)), clock)
    with pytest.raises(ServerError):
        client.request("POST", "Leads", json={"data": [{}]})
    assert len(sent) == 1
    client, sent = client_for(script(requests.ConnectionError("cut")), clock)
    with pytest.raises(TransportError, match="not idempotent"):
        client.request("POST", "Leads", json={"data": [{}]})
    # but a 429 means Zoho did nothing: retried even for a POST
    client, sent = client_for(script((429, TOO_MANY), (201, OK)), clock)
    assert client.request("POST", "Leads", json={"data": [{}]}).status == 201


def test_invalid_token_refreshes_once_and_replays() -> None:
    client, adapter = refreshing_client((200, OK))
    assert client.request("GET", "Leads").body == OK
    urls = [r.url.split("?")[0] for r in adapter.requests]
    assert urls == [
        "https://accounts.zoho.com/oauth/v2/token",
        "https://www.zohoapis.com/crm/v8/Leads",
        "https://accounts.zoho.com/oauth/v2/token",
        "https://www.zohoapis.com/crm/v8/Leads",
    ]


def test_a_token_rejected_after_every_refresh_gives_up_with_the_reason(clock: FakeClock) -> None:
    # the accounts server keeps issuing tokens the API rejects: bounded, and the error says why
    client, adapter = refreshing_client((200, OK), tokens=("1000.old.tok",) * 10)
    with pytest.raises(AuthenticationError, match="rejected again after 3 refresh") as caught:
        client.request("GET", "Leads")
    assert caught.value.code == "INVALID_TOKEN"
    tokens = [r for r in adapter.requests if "oauth/v2/token" in (r.url or "")]
    assert len(tokens) == 1 + MAX_TOKEN_REFRESHES
    assert len(adapter.requests) == 2 * (1 + MAX_TOKEN_REFRESHES)


def test_token_invalidated_twice_within_one_requests_retries_succeeds() -> None:
    # 401, then 500, then 401 again (the org revoked the new token too): refresh each time
    tokens = iter(["1000.t1.a", "1000.t2.b", "1000.t3.c"])
    api_answers = iter([(401, EXPIRED), (500, {"code": "INTERNAL_ERROR", "details": {},
                        "message": "m", "status": "error"}), (401, EXPIRED), (200, OK)])

    def handler(request):
        if "oauth/v2/token" in (request.url or ""):
            return 200, {"access_token": next(tokens), "expires_in": 3600}
        return next(api_answers)

    session, adapter = fake_session(handler)
    fake = FakeClock()
    auth = RefreshTokenAuth("id", "secret-secret", "1000.r.r", "https://accounts.zoho.com")
    client = ZohoClient("https://www.zohoapis.com", auth, session=session,
                        retry=RetryPolicy(sleep=fake.sleep, clock=fake))
    assert client.request("PUT", "Leads", json={"data": [{"id": "1"}]}).body == OK
    assert auth.refresh_count == 3
    sent = [r.headers.get("Authorization", "")[-3:] for r in adapter.requests
            if "oauth" not in (r.url or "")]
    assert sent == ["1.a", "2.b", "2.b", "3.c"]


def test_static_token_rejected_raises_at_once(clock: FakeClock) -> None:
    expired = {"code": "INVALID_TOKEN", "details": {}, "message": "m", "status": "error"}
    client, sent = client_for(script((401, expired)), clock)
    with pytest.raises(AuthenticationError, match="cannot be renewed"):
        client.request("GET", "Leads")
    assert len(sent) == 1


def test_concurrency_cap_is_respected(clock: FakeClock) -> None:
    lock = threading.Lock()
    state = {"now": 0, "peak": 0}

    def handler(request):
        with lock:
            state["now"] += 1
            state["peak"] = max(state["peak"], state["now"])
        time.sleep(0.01)
        with lock:
            state["now"] -= 1
        return 200, OK

    client, sent = client_for(handler, clock, max_concurrency=3)
    threads = [threading.Thread(target=client.request, args=("GET", "Leads")) for _ in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(sent) == 12
    assert 1 <= state["peak"] <= 3


def test_logs_and_reprs_never_show_the_token(clock: FakeClock,
                                             caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="crmframe.http")
    client, _ = client_for(script((429, TOO_MANY), (200, OK)), clock)
    client.request("GET", "Leads", params={"fields": "id"})
    assert "GET https://www.zohoapis.com/crm/v8/Leads?fields=id -> 429" in caplog.text
    assert "retrying" in caplog.text
    everything = caplog.text + repr(client) + repr(client.auth)
    assert TOKEN not in everything
    assert "5ecret" not in everything


def test_bad_settings_raise_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match=r"v2, v2\.1, v8"):
        ZohoClient("https://www.zohoapis.com", StaticToken(TOKEN), version="v3")
    with pytest.raises(ConfigurationError, match="http"):
        ZohoClient("www.zohoapis.com", StaticToken(TOKEN))


def test_client_closes_its_own_session_not_an_injected_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    closed: list[int] = []
    monkeypatch.setattr(requests.Session, "close", lambda self: closed.append(id(self)))
    with ZohoClient("https://www.zohoapis.com", StaticToken(TOKEN)) as client:
        own = client.session
    assert closed == [id(own)]
    injected = requests.Session()
    with ZohoClient("https://www.zohoapis.com", StaticToken(TOKEN), session=injected):
        pass
    assert closed == [id(own)]


@pytest.mark.parametrize(
    ("exc", "timed_out"),
    [(requests.ReadTimeout("Zoho still working"), True),
     (requests.ConnectionError("reset by peer after the body went out"), False),
     (requests.exceptions.ChunkedEncodingError("answer cut"), False)],
)
def test_a_write_sent_and_unanswered_is_ambiguous_never_replayed(
    clock: FakeClock, exc: Exception, timed_out: bool
) -> None:
    # A PUT told it is not idempotent by effect (each application moves Modified_Time and
    # runs workflows): after a read timeout or a reset it is raised, never sent again, and
    # a timeout says so (the caller then waits for the records to stop moving).
    client, sent = client_for(script(exc, (200, OK)), clock)
    with pytest.raises(TransportError, match="not idempotent") as info:
        client.request("PUT", "Leads", json={"data": [{}]}, idempotent=False)
    assert len(sent) == 1
    assert info.value.timed_out is timed_out
    # a connect timeout never reached Zoho: retried even for a non-idempotent write
    client, sent = client_for(script(requests.ConnectTimeout("no route"), (200, OK)), clock)
    assert client.request("PUT", "Leads", json={"data": [{}]}, idempotent=False).body == OK
    assert len(sent) == 2
