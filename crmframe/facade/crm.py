"""``crmframe.connect()`` and the analyst's façade, :class:`CRM`.

``connect`` accepts every way an analyst holds Zoho credentials:

* an access token and an API domain (``connect("1000.xxx", "https://www.zohoapis.eu")``),
  or an access token and a data centre;
* a client id, client secret and refresh token, plus a data centre (``us``, ``eu``,
  ``in``, ``au``, ``jp``, ``cn``, ``ca``, ``sa``) or explicit ``accounts_url``/``api_domain``;
* the dict a sandbox gives: ``connect(**server.credentials)``;
* nothing at all: ``ZOHO_CLIENT_ID``, ``ZOHO_CLIENT_SECRET``, ``ZOHO_REFRESH_TOKEN``,
  ``ZOHO_DATA_CENTER`` and ``ZOHO_API_VERSION`` are read from the environment (or
  ``ZOHO_ACCESS_TOKEN`` with ``ZOHO_API_DOMAIN``/``ZOHO_DATA_CENTER``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pandas as pd

from crmframe.errors import ConfigurationError
from crmframe.facade.exporting import ExportMixin
from crmframe.facade.jobs import JobsMixin
from crmframe.facade.reading import ReadingMixin
from crmframe.facade.write.mixin import WritingMixin
from crmframe.http.auth import Auth, RefreshTokenAuth, StaticToken
from crmframe.http.client import EDITION_CONCURRENCY, SUPPORTED_VERSIONS, ZohoClient
from crmframe.http.datacenters import data_center as lookup_data_center
from crmframe.http.redact import remember_secret, shown
from crmframe.http.retry import RetryPolicy

if TYPE_CHECKING:  # imported on first use: ``import crmframe`` stays light
    import requests

__all__ = ["CRM", "ENV_VARIABLES", "connect"]

#: Environment variables ``connect()`` reads when called without credentials.
ENV_VARIABLES = (
    "ZOHO_CLIENT_ID",
    "ZOHO_CLIENT_SECRET",
    "ZOHO_REFRESH_TOKEN",
    "ZOHO_DATA_CENTER",
    "ZOHO_API_VERSION",
)
# Keys a credentials dict may carry that connect() has no use for.
_IGNORED_EXTRAS = frozenset({"upload_domain", "upload_url", "org_id", "url", "token_url"})
_DEFAULT_VERSION = "v8"


# One mixin per concern and module (reading, writing, jobs); each needs only ``self.client``,
# ``self.version`` and ``self.read_fields(module)``.
class CRM(ReadingMixin, WritingMixin, JobsMixin, ExportMixin):
    """A connection to one Zoho CRM org, speaking DataFrames.

    Build it with :func:`connect`. ``client`` is the :class:`~crmframe.http.client.ZohoClient`
    (HTTP, auth, retries); ``version`` the API version. Field metadata is cached per
    module (``read_fields(module, refresh=True)`` reloads it).

    Use it as a context manager, or call :meth:`close`, to release the HTTP session.

    Examples
    --------
    >>> from crmframe.http.auth import StaticToken
    >>> crm = CRM(ZohoClient("https://www.zohoapis.eu", StaticToken("1000.x.y")))
    >>> crm
    <CRM https://www.zohoapis.eu v8>
    >>> crm.close()
    """

    def __init__(self, client: ZohoClient) -> None:
        self.client = client
        self.version = client.version
        self._field_cache: dict[str, pd.DataFrame] = {}

    def __repr__(self) -> str:
        return f"<CRM {self.client.api_domain} {self.version}>"

    def __enter__(self) -> CRM:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the HTTP session (if crmframe opened it)."""
        self.client.close()


def _version(value: str | float | None) -> str:
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        value = str(value)  # version=8 or version=2.1
    if value is not None and not isinstance(value, str):
        raise ConfigurationError(
            f"version must be text such as 'v8', got {type(value).__name__}"
        )
    text = (value or _DEFAULT_VERSION).strip().lower()
    if not text.startswith("v"):
        text = "v" + text
    if text == "v2.0":
        text = "v2"
    if text not in SUPPORTED_VERSIONS:
        raise ConfigurationError(
            f"unsupported API version {shown(value)}: expected one of "
            f"{', '.join(SUPPORTED_VERSIONS)}"
        )
    return text


def _missing_message(missing: list[str], env: bool) -> str:
    if env:
        return (
            "connect() without arguments reads Zoho credentials from the environment, "
            f"but these variables are not set: {', '.join(missing)} "
            f"(it reads {', '.join(ENV_VARIABLES)}; or set ZOHO_ACCESS_TOKEN and "
            "ZOHO_API_DOMAIN)"
        )
    return (
        f"missing connection settings: {', '.join(missing)}. Give either access_token= "
        "with api_domain= (or data_center=), or client_id=, client_secret= and "
        "refresh_token= with data_center= (or accounts_url=)"
    )


def connect(
    access_token: str | None = None,
    api_domain: str | None = None,
    *,
    client_id: str | None = None,
    client_secret: str | None = None,
    refresh_token: str | None = None,
    data_center: str | None = None,
    accounts_url: str | None = None,
    version: str | None = None,
    session: requests.Session | None = None,
    max_concurrency: int | None = None,
    edition: str | None = None,
    retry: RetryPolicy | None = None,
    **extra: Any,
) -> CRM:
    """Connect to Zoho CRM (or a crmframe sandbox) and return the :class:`CRM` façade.

    Parameters
    ----------
    access_token : str, optional
        A ready access token (``1000.xxx``); it is not renewed when it expires.
    api_domain : str, optional
        API base, e.g. ``https://www.zohoapis.eu``; defaults to the data centre's (or the
        ``api_domain`` of the token answer).
    client_id, client_secret, refresh_token : str, optional
        OAuth self-client credentials; the access token is then obtained and renewed
        automatically (one token shared by all threads).
    data_center : str, optional
        ``us``, ``eu``, ``in``, ``au``, ``jp``, ``cn``, ``ca`` or ``sa``.
    accounts_url : str, optional
        The accounts server, instead of ``data_center`` (e.g. a sandbox's).
    version : str, optional
        API version: ``"v8"`` (default), ``"v2.1"`` or ``"v2"``.
    session : requests.Session, optional
        Your own session (proxies, adapters). crmframe leaves it open.
    max_concurrency : int, optional
        Requests in flight at once. Default: the ``edition``'s limit, else 10.
    edition : str, optional
        Zoho edition, to set ``max_concurrency`` from Zoho's table: ``free`` 5,
        ``standard`` 10, ``professional`` 15, ``enterprise`` 20, ``ultimate`` 25.
    retry : RetryPolicy, optional
        Retry bounds and backoff for 429/5xx/dropped connections.
    **extra
        ``timeout=`` for requests; other keys of a credentials dict that crmframe does not
        need (``upload_domain``...) are ignored.

    Returns
    -------
    CRM

    Raises
    ------
    ConfigurationError
        When settings are missing (the message names them, and the environment
        variables when reading those) or the data centre/version is unknown.

    Examples
    --------
    >>> crm = connect("1000.abc.def", data_center="eu")
    >>> crm
    <CRM https://www.zohoapis.eu v8>
    >>> crm.close()
    >>> connect(client_id="1000.X", client_secret="s")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    crmframe.errors.ConfigurationError: missing connection settings: refresh_token, ...
    """
    timeout = extra.pop("timeout", None)
    unknown = sorted(k for k in extra if k not in _IGNORED_EXTRAS)
    if unknown:
        raise ConfigurationError(f"connect() got unknown settings: {', '.join(unknown)}")
    from_env = access_token is None and not any((client_id, client_secret, refresh_token))
    if from_env:
        env = os.environ
        access_token = env.get("ZOHO_ACCESS_TOKEN") or None
        api_domain = api_domain or env.get("ZOHO_API_DOMAIN") or None
        data_center = data_center or env.get("ZOHO_DATA_CENTER") or None
        version = version or env.get("ZOHO_API_VERSION") or None
        if access_token is None:
            client_id = env.get("ZOHO_CLIENT_ID") or None
            client_secret = env.get("ZOHO_CLIENT_SECRET") or None
            refresh_token = env.get("ZOHO_REFRESH_TOKEN") or None
    # Registered before anything can fail: a message about a misplaced setting (a secret
    # given as data_center=, say) can then never show one of them.
    for secret in (access_token, client_secret, refresh_token):
        remember_secret(secret)
    chosen_version = _version(version)
    dc = lookup_data_center(data_center) if data_center else None
    if accounts_url is None and dc is not None:
        accounts_url = dc.accounts_url
    if api_domain is None and dc is not None:
        api_domain = dc.api_domain

    auth: Auth
    if access_token is not None:
        if api_domain is None:
            names = ["ZOHO_API_DOMAIN or ZOHO_DATA_CENTER"] if from_env else [
                "api_domain (or data_center)"]
            raise ConfigurationError(_missing_message(names, from_env))
        auth = StaticToken(access_token)
    else:
        given: Mapping[str, str | None] = {
            "client_id": client_id, "client_secret": client_secret,
            "refresh_token": refresh_token,
        }
        missing = [name for name, value in given.items() if not value]
        if accounts_url is None:
            missing.append("data_center (or accounts_url)")
        if missing:
            if from_env:
                env_names = {"client_id": "ZOHO_CLIENT_ID", "client_secret": "ZOHO_CLIENT_SECRET",
                             "refresh_token": "ZOHO_REFRESH_TOKEN"}
                missing = [env_names.get(n, "ZOHO_DATA_CENTER") for n in missing]
            raise ConfigurationError(_missing_message(missing, from_env))
        if not (client_id and client_secret and refresh_token and accounts_url):
            raise ConfigurationError(_missing_message(["credentials"], from_env))
        refreshing = RefreshTokenAuth(client_id, client_secret, refresh_token, accounts_url,
                                      session)
        if api_domain is None:
            # Only explicit accounts_url given: Zoho's token answer names the API host.
            refreshing.header()
            api_domain = refreshing.api_domain
            if api_domain is None:
                raise ConfigurationError(
                    "the token answer carried no api_domain: pass api_domain= or data_center="
                )
        auth = refreshing
    if max_concurrency is None:
        max_concurrency = 10
        if edition is not None:
            key = edition.strip().lower().replace(" ", "_") if isinstance(edition, str) else ""
            if key not in EDITION_CONCURRENCY:
                raise ConfigurationError(
                    f"unknown Zoho edition {shown(edition)}: expected one of "
                    + ", ".join(sorted(EDITION_CONCURRENCY))
                )
            max_concurrency = EDITION_CONCURRENCY[key]
    if retry is not None and not isinstance(retry, RetryPolicy):
        raise ConfigurationError(
            f"retry must be a crmframe.http.retry.RetryPolicy, got {type(retry).__name__} "
            "(e.g. RetryPolicy(max_attempts=3))"
        )
    kwargs: dict[str, Any] = {}
    if timeout is not None:
        kwargs["timeout"] = timeout
    client = ZohoClient(api_domain, auth, version=chosen_version, session=session, retry=retry,
                        max_concurrency=max_concurrency, **kwargs)
    return CRM(client)
