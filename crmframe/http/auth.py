"""Access tokens: a fixed one, or one refreshed from an OAuth refresh token.

Zoho allows few token refreshes (10 per 10 minutes per refresh token), so
:class:`RefreshTokenAuth` keeps **one** cached access token for every thread and
refreshes it once, under a lock, when it is about to expire or when the API said
``INVALID_TOKEN``. The token endpoint answers errors with HTTP 200
(``{"error": "invalid_code"}``), so success is recognised by the presence of
``access_token`` only.

Nothing here ever puts a token in a repr, a log line or an exception message.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from crmframe.errors import ConfigurationError, TokenRefreshError, TransportError
from crmframe.http.redact import MASK, redact, remember_secret, shown
from crmframe.http.retry import RetryPolicy

if TYPE_CHECKING:  # imported on first use: ``import crmframe`` stays light
    import requests

__all__ = ["HEADER_PREFIX", "Auth", "RefreshTokenAuth", "StaticToken", "token_lifetime"]

HEADER_PREFIX = "Zoho-oauthtoken"
log = logging.getLogger("crmframe.http")


@runtime_checkable
class Auth(Protocol):
    """What the client needs from an authenticator."""

    def header(self) -> str:
        """The ``Authorization`` header value for the next request."""
        ...

    def invalidate(self, header: str) -> bool:
        """Forget the token in ``header`` (the API rejected it).

        Returns True when a new token can be had, so replaying the request is worth it.
        """
        ...


class StaticToken:
    """A fixed access token (an analyst pasted it, or a test supplied it).

    Examples
    --------
    >>> auth = StaticToken("1000.abc.def")
    >>> auth
    StaticToken(access_token='***')
    >>> auth.header().startswith("Zoho-oauthtoken ")
    True
    """

    def __init__(self, access_token: str) -> None:
        remember_secret(access_token)
        # A token holds no whitespace: one read from a file or pasted keeps its newline,
        # which requests would refuse (quoting the header, token included).
        access_token = access_token.strip() if isinstance(access_token, str) else access_token
        if not access_token:
            raise TokenRefreshError("MISSING_TOKEN", "an access token is required")
        remember_secret(access_token)
        self._header = f"{HEADER_PREFIX} {access_token}"

    def __repr__(self) -> str:
        return f"StaticToken(access_token='{MASK}')"

    def header(self) -> str:
        """The ``Authorization`` header value."""
        return self._header

    def invalidate(self, header: str) -> bool:
        """A fixed token cannot be renewed: always False."""
        return False


def token_lifetime(body: Mapping[str, Any]) -> float:
    """Seconds an issued token lives, from a token-endpoint answer.

    Old Zoho accounts servers sent ``expires_in`` in **milliseconds** next to
    ``expires_in_sec``; both Zoho SDKs read ``expires_in`` as ms when ``expires_in_sec``
    is present, and so does this.

    Examples
    --------
    >>> token_lifetime({"expires_in": 3600})
    3600.0
    >>> token_lifetime({"expires_in": 3600000, "expires_in_sec": 3600})
    3600.0
    >>> token_lifetime({})
    3600.0
    """
    if "expires_in_sec" in body:
        try:
            return float(body["expires_in_sec"])
        except (TypeError, ValueError):
            pass
        try:
            return float(body["expires_in"]) / 1000.0
        except (KeyError, TypeError, ValueError):
            return 3600.0
    try:
        return float(body.get("expires_in", 3600))
    except (TypeError, ValueError):
        return 3600.0


class RefreshTokenAuth:
    """An access token obtained, cached and renewed with an OAuth refresh token.

    Parameters
    ----------
    client_id, client_secret, refresh_token : str
        The self-client or server-based client's credentials.
    accounts_url : str
        The accounts server of the data centre, e.g. ``https://accounts.zoho.eu``.
    session : requests.Session, optional
        Used for the token requests (the client's session by default).
    leeway : float
        Refresh this many seconds before the token expires (default 60), so a token never
        dies between the check and the request.
    clock : callable
        ``time.monotonic`` by default; inject a fake in tests.
    retry : RetryPolicy, optional
        For dropped connections and 5xx from the accounts server (not for refusals).

    Examples
    --------
    >>> auth = RefreshTokenAuth("1000.CLIENT", "topsecret-value", "1000.aa.bb",
    ...                         "https://accounts.zoho.com")
    >>> auth
    RefreshTokenAuth(accounts_url='https://accounts.zoho.com', client_id='1000.CLIENT', \
client_secret='***', refresh_token='***', access_token=None)
    """

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        refresh_token: str,
        accounts_url: str,
        session: requests.Session | None = None,
        *,
        leeway: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
        retry: RetryPolicy | None = None,
        timeout: float | tuple[float, float] = (10.0, 60.0),
    ) -> None:
        for secret in (client_secret, refresh_token):
            remember_secret(secret)
        if not isinstance(accounts_url, str) or not accounts_url.startswith(
                ("http://", "https://")):
            raise ConfigurationError(
                "accounts_url must be an http(s) URL such as https://accounts.zoho.eu (or "
                f"give data_center=), got {shown(accounts_url)}"
            )
        self.client_id = client_id
        self._client_secret = client_secret
        self._refresh_token = refresh_token
        self.accounts_url = accounts_url.rstrip("/")
        self._session = session
        self._own_session = False
        self._leeway = leeway
        self._clock = clock
        self._retry = retry or RetryPolicy(max_attempts=3, max_delay=30.0)
        self._timeout = timeout
        self._lock = threading.Lock()
        self._header: str | None = None
        self._expires_at = 0.0
        #: ``api_domain`` of the last token answer (Zoho tells which API host to use).
        self.api_domain: str | None = None
        #: How many tokens this object obtained (tests and diagnostics).
        self.refresh_count = 0

    def __repr__(self) -> str:
        held = None if self._header is None else f"'{MASK}'"
        return (
            f"RefreshTokenAuth(accounts_url={self.accounts_url!r}, client_id={self.client_id!r}, "
            f"client_secret='{MASK}', refresh_token='{MASK}', access_token={held})"
        )

    @property
    def token_url(self) -> str:
        """The accounts server's token endpoint."""
        return f"{self.accounts_url}/oauth/v2/token"

    def use_session(self, session: requests.Session) -> None:
        """Make token requests through ``session`` (the client shares its own)."""
        if self._session is None:
            self._session = session

    def close(self) -> None:
        """Close the session this object opened for itself, if any."""
        if self._own_session and self._session is not None:
            self._session.close()
            self._session = None
            self._own_session = False

    def _valid(self) -> bool:
        return self._header is not None and self._clock() < self._expires_at

    def header(self) -> str:
        """The ``Authorization`` value, refreshing first if the token is missing or expiring."""
        header = self._header
        if header is not None and self._valid():
            return header
        with self._lock:
            # Another thread may have refreshed while this one waited for the lock.
            if not self._valid():
                self._refresh()
            assert self._header is not None
            return self._header

    def invalidate(self, header: str) -> bool:
        """Drop the cached token if it is still the one the API rejected; True (can renew)."""
        with self._lock:
            if self._header == header:
                self._header = None
                self._expires_at = 0.0
        return True

    def _post(self) -> requests.Response:
        import requests

        if self._session is None:
            self._session = requests.Session()
            self._own_session = True
        data = {
            "grant_type": "refresh_token",
            "client_id": self.client_id,
            "client_secret": self._client_secret,
            "refresh_token": self._refresh_token,
        }
        started = self._retry.clock()
        attempt = 0
        while True:
            attempt += 1
            failure: str
            try:
                response = self._session.post(self.token_url, data=data, timeout=self._timeout)
            except (requests.ConnectionError, requests.Timeout) as exc:
                failure = type(exc).__name__
            except requests.RequestException as exc:
                # Not sent (a malformed URL, say): nothing to retry. Only the type is shown.
                raise ConfigurationError(
                    f"the token request to {shown(self.accounts_url)} could not be sent "
                    f"({type(exc).__name__}): check accounts_url (or data_center)"
                ) from None
            else:
                if response.status_code < 500:
                    return response
                failure = f"HTTP {response.status_code}"
            delay = self._retry.backoff(attempt)
            if not self._retry.allows(attempt, started, delay):
                raise TransportError(
                    f"the accounts server {self.accounts_url} failed {attempt} time(s) "
                    f"while refreshing the access token (last: {failure})"
                )
            log.warning("token refresh: %s; retrying in %.2fs", failure, delay)
            self._retry.sleep(delay)

    def _refresh(self) -> None:
        response = self._post()
        try:
            body = json.loads(response.content or b"null")
        except ValueError:
            body = None
        if not isinstance(body, dict) or not isinstance(body.get("access_token"), str) or not (
            body.get("access_token")
        ):
            # Zoho's token endpoint reports refusals with HTTP 200: trust only access_token.
            reason = body.get("error") if isinstance(body, dict) else None
            code = str(reason) if reason else "TOKEN_REFRESH_FAILED"
            message = (
                "the accounts server refused to issue an access token"
                f" (HTTP {response.status_code}, error={code!r})"
            )
            if code == "invalid_client":
                message += "; check the client id/secret and the data centre (accounts_url)"
            elif code == "invalid_code":
                message += "; the refresh token is wrong or revoked"
            elif "denied" in code.lower():
                message += "; too many token requests, wait a few minutes"
            raise TokenRefreshError(code, redact(message), http_status=response.status_code)
        token = str(body["access_token"])
        remember_secret(token)
        lifetime = token_lifetime(body)
        self._header = f"{HEADER_PREFIX} {token}"
        # Refresh a little early, but never so early that a short-lived token (a test
        # sandbox's) is refreshed on every request.
        self._expires_at = self._clock() + lifetime - min(self._leeway, lifetime / 10.0)
        if isinstance(body.get("api_domain"), str):
            self.api_domain = body["api_domain"]
        self.refresh_count += 1
        log.info("access token refreshed at %s (valid %.0fs)", self.accounts_url, lifetime)
