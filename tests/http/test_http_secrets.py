"""Secrets never reach an error message or a log record: misplaced settings, server echoes,
vcrpy's and urllib3's loggers."""

from __future__ import annotations

import logging

import pytest
from httpfakes import fake_session

import crmframe
from crmframe.errors import ConfigurationError, CrmframeError, ZohoAPIError
from crmframe.http.auth import StaticToken
from crmframe.http.client import ZohoClient
from crmframe.http.redact import redact, remember_secret, shown

SECRET = "0f3a9c2b7d1e4f5a6b7c8d9e0f1a2b3c4d5e6f70"  # client-secret shaped: 40 hex
REFRESH = "1000.2b9d7c6e5f4a3b2c1d0e9f8a7b6c5d4e.9f8e7d6c5b4a39281706f5e4d3c2b1a0"


@pytest.mark.parametrize("settings", [
    {"access_token": "1000.a.b", "api_domain": SECRET},
    {"access_token": "1000.a.b", "data_center": SECRET},
    {"access_token": "1000.a.b", "data_center": "eu", "version": SECRET},
    {"access_token": "1000.a.b", "data_center": "eu", "edition": SECRET},
    {"client_id": "1000.ID", "client_secret": "x" * 12, "refresh_token": REFRESH,
     "data_center": REFRESH},
    {"client_id": "1000.ID", "client_secret": "short-secret-1", "refresh_token": REFRESH,
     "api_domain": "short-secret-1", "data_center": "eu"},
])
def test_a_misplaced_secret_is_never_echoed(settings: dict[str, str]) -> None:
    with pytest.raises(ConfigurationError) as caught:
        crmframe.connect(**settings)
    text = str(caught.value)
    for value in settings.values():
        if value not in ("eu", "1000.ID", "1000.a.b"):
            assert value not in text
    assert "not shown" in text or "***" in text


def test_harmless_settings_are_still_shown_for_the_fix() -> None:
    with pytest.raises(ConfigurationError, match="'eur'"):
        crmframe.connect(access_token="1000.a.b", data_center="eur")
    with pytest.raises(ConfigurationError, match=r"'www\.zohoapis\.eu'"):
        crmframe.connect(access_token="1000.a.b", api_domain="www.zohoapis.eu")
    assert shown("v9") == "'v9'"


def test_server_echoed_text_is_redacted_in_typed_errors() -> None:
    remember_secret(SECRET)
    echo = {"code": "INVALID_DATA", "status": "error",
            "message": f"bad client_secret {SECRET} for token 1000.aa11.bb22",
            "details": {"echo": {"deep": [f"Zoho-oauthtoken 1000.cc.dd {SECRET}"]}}}

    def handler(request):
        return 400, echo

    session, _ = fake_session(handler)
    client = ZohoClient("https://www.zohoapis.com", StaticToken("1000.ee.ff"), session=session)
    with pytest.raises(ZohoAPIError) as caught:
        client.request("GET", "Leads")
    err = caught.value
    everything = f"{err} {err.message} {err.details} {err.envelope} {err!r}"
    for secret in (SECRET, "1000.aa11.bb22", "1000.cc.dd"):
        assert secret not in everything
    assert err.code == "INVALID_DATA"
    assert "***" in err.message
    assert SECRET not in str(CrmframeError(f"x {SECRET}"))


def test_third_party_loggers_are_scrubbed_at_every_level(
    caplog: pytest.LogCaptureFixture,
) -> None:
    remember_secret(SECRET)
    caplog.set_level(logging.DEBUG)
    answer = b'{"access_token":"1000.f00d.beef","refresh_token":"' + REFRESH.encode() + b'"}'
    # what vcrpy logs (INFO) while it records a token refresh, and urllib3's DEBUG URL line
    logging.getLogger("vcr.cassette").info("Appending request %s and response %s",
                                           "<Request (POST) x>", {"body": {"string": answer}})
    logging.getLogger("urllib3.connectionpool").debug('"%s %s" %s', "GET",
                                                     f"/x?client_secret={SECRET}", 200)
    logging.getLogger("vcr.stubs.httpx_stubs").warning("got %s", SECRET)
    logging.getLogger("crmframe.journal").error("Authorization: Zoho-oauthtoken 1000.a1.b2")
    text = caplog.text + " ".join(r.getMessage() for r in caplog.records)
    for secret in (SECRET, REFRESH, "1000.f00d.beef", "1000.a1.b2"):
        assert secret not in text
    assert text.count("***") >= 4
    # other loggers are left exactly as they were
    logging.getLogger("myapp").info("value %s", "1000.keep.me")
    assert caplog.records[-1].getMessage() == "value 1000.keep.me"


def test_a_logged_traceback_is_scrubbed(caplog: pytest.LogCaptureFixture) -> None:
    remember_secret(SECRET)
    caplog.set_level(logging.DEBUG)
    try:
        raise ValueError(f"token endpoint said client_secret={SECRET}")  # not a CrmframeError
    except ValueError:
        logging.getLogger("urllib3.connectionpool").warning("failed", exc_info=True)
        logging.getLogger("crmframe.http").exception("failed")
    assert len(caplog.records) == 2
    assert all(r.exc_text and "ValueError" in r.exc_text for r in caplog.records)
    assert SECRET not in caplog.text
    assert caplog.text.count("ValueError: token endpoint said client_secret=***") == 2


def test_redact_json_and_repr_forms() -> None:
    assert redact('{"refresh_token": "abc-def"}') == '{"refresh_token": "***"}'
    assert redact(r'{\"client_secret\": \"abcd\"}') == r'{\"client_secret\": \"***\"}'


def test_an_access_token_pasted_with_its_newline_is_sent_without_it() -> None:
    token = "1000.4c1d2e3f4a5b6c7d8e9f0a1b2c3d4e5f.0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d"
    seen: list[str] = []

    def handler(request):
        seen.append(request.headers["Authorization"])
        return 200, {"data": [{"id": "1"}], "info": {"more_records": False}}

    session, _ = fake_session(handler)
    client = ZohoClient("https://www.zohoapis.com", StaticToken(token + "\n"), session=session)
    assert client.request("GET", "Leads").status == 200  # was requests' InvalidHeader
    assert seen == [f"Zoho-oauthtoken {token}"]


def test_a_header_requests_refuses_raises_a_typed_error_without_the_token() -> None:
    # A token with a line break inside: requests refuses the header and quotes it whole in
    # its InvalidHeader message (a traceback in the notebook showed the token).
    token = "1000.7d6c5b4a39281706f5e4d3c2b1a09f8e\r\n.2b3c4d5e6f7a8b9c0d1e2f3a4b5c6d7e"

    def handler(request):
        raise AssertionError("nothing may be sent")

    session, _ = fake_session(handler)
    client = ZohoClient("https://www.zohoapis.com", StaticToken(token), session=session)
    with pytest.raises(ConfigurationError) as caught:
        client.request("PUT", "Leads", json={"data": [{"id": "1"}]})
    text = f"{caught.value}\n{caught.value!r}\n{caught.value.__cause__!r}"
    for part in ("7d6c5b4a39281706", "2b3c4d5e6f7a8b9c"):
        assert part not in text
    assert "InvalidHeader" in str(caught.value)
    assert caught.value.__cause__ is None
    assert caught.value.__suppress_context__


def test_a_body_requests_cannot_encode_is_not_sent_and_not_taken_for_a_lost_answer() -> None:
    def handler(request):
        raise AssertionError("nothing may be sent")

    session, _ = fake_session(handler)
    client = ZohoClient("https://www.zohoapis.com", StaticToken("1000.ee.ff"), session=session)
    body = {"data": [{"id": "1", "Annual_Revenue": float("nan")}]}
    # Was a TransportError "may have reached Zoho": a write then settled as a lost answer.
    with pytest.raises(ConfigurationError, match=r"not sent.*InvalidJSONError"):
        client.request("PUT", "Leads", json=body)
