"""OAuth refresh grant, token expiry and the 401s."""

from __future__ import annotations

import pytest
import requests

from crmframe.sandbox import ManualClock, SandboxServer, start

pytestmark = pytest.mark.sandbox


def _grant(server: SandboxServer, **overrides: str) -> requests.Response:
    creds = server.credentials
    form = {"grant_type": "refresh_token", "client_id": creds["client_id"],
            "client_secret": creds["client_secret"], "refresh_token": creds["refresh_token"]}
    form.update(overrides)
    return requests.post(creds["accounts_url"] + "/oauth/v2/token", data=form, timeout=10)


def test_refresh_grant_answers_zoho_token_shape(server: SandboxServer) -> None:
    r = _grant(server)
    assert r.status_code == 200
    body = r.json()
    assert set(body) == {"access_token", "api_domain", "token_type", "expires_in"}
    assert body["access_token"].startswith("1000.")
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == 3600
    api = requests.get(server.url + "/crm/v8/Leads/actions/count",
                       headers={"Authorization": f"Zoho-oauthtoken {body['access_token']}"},
                       timeout=10)
    assert api.status_code == 200
    assert api.json() == {"count": 300}


def test_refresh_grant_in_query_string(server: SandboxServer) -> None:
    creds = server.credentials
    r = requests.post(server.url + "/oauth/v2/token", params={
        "grant_type": "refresh_token", "client_id": creds["client_id"],
        "client_secret": creds["client_secret"], "refresh_token": creds["refresh_token"]},
        timeout=10)
    assert "access_token" in r.json()


@pytest.mark.parametrize(("override", "error"), [
    ({"refresh_token": "1000.bad.bad"}, "invalid_code"),
    ({"client_id": "1000.WRONG"}, "invalid_client"),
    ({"grant_type": "password"}, "unsupported_grant_type"),
])
def test_token_errors_answer_http_200(server: SandboxServer, override: dict[str, str],
                                      error: str) -> None:
    r = _grant(server, **override)
    assert r.status_code == 200
    assert r.json() == {"error": error}


def test_missing_and_unknown_tokens(server: SandboxServer) -> None:
    r = requests.get(server.url + "/crm/v8/Leads", params={"fields": "Last_Name"}, timeout=10)
    assert r.status_code == 401
    assert r.json() == {"code": "AUTHENTICATION_FAILURE", "details": {},
                        "message": "Authentication failed", "status": "error"}
    r = requests.get(server.url + "/crm/v8/Leads", params={"fields": "Last_Name"},
                     headers={"Authorization": "Zoho-oauthtoken 1000.nope.nope"}, timeout=10)
    assert r.status_code == 401
    assert r.json() == {"code": "INVALID_TOKEN", "details": {},
                        "message": "invalid oauth token", "status": "error"}


def test_bearer_scheme_is_accepted(server: SandboxServer) -> None:
    r = requests.get(server.url + "/crm/v2/Leads", params={"per_page": 1},
                     headers={"Authorization": f"Bearer {server.access_token()}"}, timeout=10)
    assert r.status_code == 200


def test_tokens_expire_with_the_clock() -> None:
    clock = ManualClock(1_717_200_000.0)
    with start(records=10, clock=clock, token_ttl=60) as server:
        body = _grant(server).json()
        assert body["expires_in"] == 60
        headers = {"Authorization": f"Zoho-oauthtoken {body['access_token']}"}
        url = server.url + "/crm/v8/Leads/actions/count"
        ok = requests.get(url, headers=headers, timeout=10)
        assert ok.status_code == 200
        assert ok.headers["X-ACCESSTOKEN-RESET"] == "2024-06-01T05:31:00+05:30"
        clock.advance(59)
        assert requests.get(url, headers=headers, timeout=10).status_code == 200
        clock.advance(1)
        r = requests.get(url, headers=headers, timeout=10)
        assert r.status_code == 401
        assert r.json()["code"] == "INVALID_TOKEN"
        fresh = _grant(server).json()["access_token"]
        assert requests.get(url, headers={"Authorization": f"Zoho-oauthtoken {fresh}"},
                            timeout=10).status_code == 200
