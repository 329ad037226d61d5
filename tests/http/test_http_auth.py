"""Token auth: one refresh for many threads, HTTP-200 refusals, millisecond lifetimes, no leaks."""

from __future__ import annotations

import threading
import time
from urllib.parse import parse_qs

import pytest
from httpfakes import FakeClock, fake_session

from crmframe.errors import TokenRefreshError, TransportError
from crmframe.http.auth import RefreshTokenAuth, StaticToken, token_lifetime
from crmframe.http.retry import RetryPolicy

SECRET = "s3cr3t-client-secret-value"
REFRESH = "1000.3f2b8a.9c0d1e"


def make_auth(handler, clock: FakeClock | None = None, **kwargs) -> tuple[RefreshTokenAuth, list]:
    session, adapter = fake_session(handler)
    clock = clock or FakeClock()
    auth = RefreshTokenAuth(
        "1000.CLIENTID", SECRET, REFRESH, "https://accounts.zoho.eu", session, clock=clock,
        retry=RetryPolicy(max_attempts=3, sleep=clock.sleep, clock=clock), **kwargs,
    )
    return auth, adapter.requests


def test_refresh_posts_the_grant_and_builds_the_header() -> None:
    def handler(request):
        return 200, {"access_token": "1000.aaa.bbb", "expires_in": 3600,
                     "api_domain": "https://www.zohoapis.eu", "token_type": "Bearer"}

    auth, sent = make_auth(handler)
    assert auth.header() == "Zoho-oauthtoken 1000.aaa.bbb"
    assert auth.header() == "Zoho-oauthtoken 1000.aaa.bbb"
    assert len(sent) == 1
    assert sent[0].url == "https://accounts.zoho.eu/oauth/v2/token"
    form = parse_qs(sent[0].body)
    assert form["grant_type"] == ["refresh_token"]
    assert form["refresh_token"] == [REFRESH]
    assert auth.api_domain == "https://www.zohoapis.eu"


def test_many_threads_share_one_refresh() -> None:
    calls = []
    gate = threading.Event()

    def handler(request):
        calls.append(1)
        gate.wait(5)  # hold the refresh so every thread piles up behind the lock
        return 200, {"access_token": "1000.shared.token", "expires_in": 3600}

    session, _ = fake_session(handler)
    auth = RefreshTokenAuth("id", SECRET, REFRESH, "https://accounts.zoho.com", session)
    headers: list[str] = []
    threads = [threading.Thread(target=lambda: headers.append(auth.header())) for _ in range(16)]
    for t in threads:
        t.start()
    time.sleep(0.05)
    gate.set()
    for t in threads:
        t.join()
    assert len(calls) == 1
    assert auth.refresh_count == 1
    assert set(headers) == {"Zoho-oauthtoken 1000.shared.token"}
    session.close()


def test_invalidate_then_many_threads_refresh_once() -> None:
    tokens = iter(["1000.first.t", "1000.second.t", "1000.third.t"])

    def handler(request):
        return 200, {"access_token": next(tokens), "expires_in": 3600}

    auth, sent = make_auth(handler)
    old = auth.header()
    # Eight threads saw the same rejected token; only the first invalidation counts.
    for _ in range(8):
        assert auth.invalidate(old) is True
    new = {auth.header() for _ in range(8)}
    assert new == {"Zoho-oauthtoken 1000.second.t"}
    assert len(sent) == 2


def test_refreshes_shortly_before_expiry(clock: FakeClock) -> None:
    tokens = iter(["1000.one.x", "1000.two.x"])
    auth, sent = make_auth(lambda r: (200, {"access_token": next(tokens), "expires_in": 3600}),
                           clock=clock)
    assert auth.header().endswith("one.x")
    clock.now += 3600 - 120
    assert auth.header().endswith("one.x")
    clock.now += 90  # inside the 60 s leeway
    assert auth.header().endswith("two.x")
    assert len(sent) == 2


def test_short_lived_tokens_are_not_refreshed_on_every_call(clock: FakeClock) -> None:
    auth, sent = make_auth(lambda r: (200, {"access_token": "1000.t.t", "expires_in": 5}),
                           clock=clock)
    for _ in range(5):
        auth.header()
    assert len(sent) == 1


@pytest.mark.parametrize(
    ("body", "seconds"),
    [
        ({"expires_in": 3600}, 3600.0),
        ({"expires_in": 3600000, "expires_in_sec": 3600}, 3600.0),
        ({"expires_in": 7200000, "expires_in_sec": "bad"}, 7200.0),
        ({"expires_in": "120"}, 120.0),
    ],
)
def test_token_lifetime(body: dict, seconds: float) -> None:
    assert token_lifetime(body) == seconds


def test_legacy_milliseconds_lifetime_is_read_as_an_hour(clock: FakeClock) -> None:
    body = {"access_token": "1000.ms.x", "expires_in": 3600000, "expires_in_sec": 3600}
    auth, sent = make_auth(lambda r: (200, body), clock=clock)
    auth.header()
    clock.now += 3600  # were ms read as seconds, the token would still look valid here
    auth.header()
    assert len(sent) == 2


@pytest.mark.parametrize("error", ["invalid_code", "invalid_client", "Access Denied"])
def test_token_errors_with_http_200_raise(error: str) -> None:
    auth, _ = make_auth(lambda r: (200, {"error": error}))
    with pytest.raises(TokenRefreshError) as info:
        auth.header()
    assert info.value.code == error
    assert SECRET not in str(info.value)
    assert REFRESH not in str(info.value)


def test_token_answer_that_is_not_json_raises() -> None:
    auth, _ = make_auth(lambda r: (200, b"<html>oops</html>"))
    with pytest.raises(TokenRefreshError, match="TOKEN_REFRESH_FAILED"):
        auth.header()


def test_accounts_server_5xx_is_retried_then_gives_up(clock: FakeClock) -> None:
    auth, sent = make_auth(lambda r: (502, b"bad gateway"), clock=clock)
    with pytest.raises(TransportError, match="3 time"):
        auth.header()
    assert len(sent) == 3
    assert len(clock.slept) == 2


def test_reprs_hide_secrets() -> None:
    auth, _ = make_auth(lambda r: (200, {"access_token": "1000.visible.no", "expires_in": 60}))
    auth.header()
    text = repr(auth) + str(auth)
    assert SECRET not in text
    assert REFRESH not in text
    assert "1000.visible.no" not in text
    assert "access_token='***'" in text
    static = StaticToken("1000.static.tok")
    assert "1000.static.tok" not in repr(static)
    assert static.invalidate(static.header()) is False


def test_auth_opens_and_closes_its_own_session_when_none_given() -> None:
    # Port 9 (discard) on loopback refuses the connection: a quick, local failure.
    auth = RefreshTokenAuth("id", SECRET, REFRESH, "http://127.0.0.1:9",
                            retry=RetryPolicy(max_attempts=1))
    with pytest.raises(TransportError, match="ConnectionError"):
        auth.header()
    assert auth._own_session
    auth.close()
    assert auth._session is None


@pytest.mark.parametrize("accounts_url", ["accounts.zoho.eu", "https://accounts.zoho.eu:99999"])
def test_an_accounts_url_that_cannot_be_used_is_a_configuration_error(accounts_url: str) -> None:
    # Was requests' MissingSchema / InvalidURL (untyped), at the first request.
    import crmframe
    from crmframe.errors import ConfigurationError

    def first_request() -> None:
        crm = crmframe.connect(client_id="1000.X", client_secret="s" * 20,
                               refresh_token="1000.aa.bb", accounts_url=accounts_url,
                               api_domain="https://www.zohoapis.eu")
        crm.client.auth.header()

    with pytest.raises(ConfigurationError, match="accounts_url") as caught:
        first_request()
    assert "s" * 20 not in str(caught.value)
    assert caught.value.__cause__ is None
