"""connect(): every way of giving credentials, and clear errors when something is missing."""

from __future__ import annotations

import pytest

from crmframe.errors import ConfigurationError
from crmframe.facade.crm import CRM, connect
from crmframe.http.auth import RefreshTokenAuth, StaticToken
from crmframe.http.datacenters import DATA_CENTERS


def test_access_token_with_api_domain() -> None:
    with connect("1000.abc.def", "https://www.zohoapis.com.au") as crm:
        assert isinstance(crm, CRM)
        assert isinstance(crm.client.auth, StaticToken)
        assert crm.client.api_domain == "https://www.zohoapis.com.au"
        assert crm.version == "v8"
        assert repr(crm) == "<CRM https://www.zohoapis.com.au v8>"
        assert "1000.abc.def" not in repr(crm) + repr(crm.client) + repr(crm.client.auth)


@pytest.mark.parametrize("dc", sorted(DATA_CENTERS))
def test_refresh_token_with_each_data_center(dc: str) -> None:
    with connect(client_id="1000.ID", client_secret="secret-value-1",
                 refresh_token="1000.r.t", data_center=dc.upper()) as crm:
        auth = crm.client.auth
        assert isinstance(auth, RefreshTokenAuth)
        assert auth.accounts_url == DATA_CENTERS[dc].accounts_url
        assert crm.client.api_domain == DATA_CENTERS[dc].api_domain


def test_canada_uses_zohocloud_accounts_but_zohoapis_api() -> None:
    with connect(client_id="i", client_secret="secret-value-1", refresh_token="r",
                 data_center="ca") as crm:
        assert crm.client.auth.accounts_url == "https://accounts.zohocloud.ca"
        assert crm.client.api_domain == "https://www.zohoapis.ca"


def test_explicit_urls_and_sandbox_shaped_dict() -> None:
    credentials = {"client_id": "c", "client_secret": "secret-value-2", "refresh_token": "r",
                   "accounts_url": "http://127.0.0.1:5000", "api_domain": "http://127.0.0.1:5000",
                   "version": "v2.1"}
    with connect(**credentials) as crm:
        assert crm.version == "v2.1"
        assert crm.client.url("Leads") == "http://127.0.0.1:5000/crm/v2.1/Leads"


@pytest.mark.parametrize(("given", "version"), [("v2", "v2"), ("2.1", "v2.1"), ("V8", "v8")])
def test_versions(given: str, version: str) -> None:
    with connect("1000.a.b", data_center="eu", version=given) as crm:
        assert crm.version == version


def test_unknown_version_and_data_center() -> None:
    with pytest.raises(ConfigurationError, match=r"v2, v2\.1, v8"):
        connect("t", data_center="eu", version="v5")
    with pytest.raises(ConfigurationError, match="au, ca, cn, eu, in, jp, sa, us"):
        connect("t", data_center="mars")


def test_missing_pieces_are_named() -> None:
    with pytest.raises(ConfigurationError, match=r"client_secret, refresh_token, data_center"):
        connect(client_id="x")
    with pytest.raises(ConfigurationError, match="api_domain"):
        connect("1000.a.b")
    with pytest.raises(ConfigurationError, match="unknown settings: colour"):
        connect("1000.a.b", data_center="us", colour="red")


def test_environment_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZOHO_CLIENT_ID", "1000.ENV")
    monkeypatch.setenv("ZOHO_CLIENT_SECRET", "env-secret-value")
    monkeypatch.setenv("ZOHO_REFRESH_TOKEN", "1000.env.refresh")
    monkeypatch.setenv("ZOHO_DATA_CENTER", "in")
    monkeypatch.setenv("ZOHO_API_VERSION", "v2.1")
    with connect() as crm:
        assert crm.version == "v2.1"
        assert crm.client.api_domain == "https://www.zohoapis.in"
        assert crm.client.auth.client_id == "1000.ENV"


def test_environment_missing_names_the_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ZOHO_CLIENT_ID", "1000.ENV")
    with pytest.raises(ConfigurationError) as info:
        connect()
    message = str(info.value)
    for name in ("ZOHO_CLIENT_SECRET", "ZOHO_REFRESH_TOKEN", "ZOHO_DATA_CENTER"):
        assert name in message
    assert "ZOHO_CLIENT_ID," not in message.split("not set:")[1].split("(")[0]


def test_secrets_never_in_errors() -> None:
    with pytest.raises(ConfigurationError) as info:
        connect(client_id="x", client_secret="very-secret-value", refresh_token="1000.rr.tt")
    assert "very-secret-value" not in str(info.value)
    assert "1000.rr.tt" not in str(info.value)


def test_concurrency_cap_from_edition_or_explicit() -> None:
    with connect("1000.a.b", data_center="us") as crm:
        assert crm.client.max_concurrency == 10
    with connect("1000.a.b", data_center="us", edition="Enterprise") as crm:
        assert crm.client.max_concurrency == 20
    with connect("1000.a.b", data_center="us", edition="free", max_concurrency=2) as crm:
        assert crm.client.max_concurrency == 2
    with pytest.raises(ConfigurationError, match="professional"):
        connect("1000.a.b", data_center="us", edition="platinum")


@pytest.mark.parametrize(("version", "expected"), [(8, "v8"), (2.1, "v2.1"), (2, "v2")])
def test_a_version_given_as_a_number_is_read_as_that_version(version: float,
                                                             expected: str) -> None:
    # Was AttributeError: 'int' object has no attribute 'strip'.
    with connect("1000.abc.def", "https://www.zohoapis.eu", version=version) as crm:
        assert crm.version == expected


@pytest.mark.parametrize("setting", [
    {"max_concurrency": "10"}, {"max_concurrency": 0}, {"timeout": "30"}, {"timeout": -1},
    {"timeout": (10, 0)}, {"edition": 5}, {"api_domain": 5}, {"retry": 3},
])
def test_settings_of_the_wrong_kind_are_configuration_errors(setting: dict[str, object]
                                                              ) -> None:
    # Each was an untyped TypeError/ValueError/AttributeError (some at the first request).
    options: dict[str, object] = {"api_domain": "https://www.zohoapis.eu", **setting}
    with pytest.raises(ConfigurationError, match=next(iter(setting))):
        connect("1000.abc.def", **options)  # type: ignore[arg-type]
