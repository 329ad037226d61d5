"""``ZohoClient``: one ``requests.Session``, auth, retries, a concurrency cap, typed errors.

The client sends a request and returns a :class:`Reply` whose ``body`` is the Zoho
envelope (``None`` for an empty 204/304). It never imports pandas.

Behaviour, in the order it is applied to every answer:

1. **401 ``INVALID_TOKEN``** (the token expired or was revoked): the token is dropped,
   refreshed and the request replayed — as often as a token is rejected within the
   request's retries (a 401, then a 500, then a 401 again ends well), but at most
   :data:`MAX_TOKEN_REFRESHES` times; then, or when the token cannot be renewed (a fixed
   access token), :class:`~crmframe.errors.AuthenticationError` says why it gave up.
2. **429, 5xx, dropped connections and timeouts**: retried with exponential backoff and
   full jitter (``Retry-After`` honoured), bounded by the :class:`RetryPolicy`; when
   exhausted: :class:`~crmframe.errors.RateLimitError`, :class:`~crmframe.errors.ServerError`
   or :class:`~crmframe.errors.TransportError`. Non-idempotent requests (``POST`` unless
   told otherwise) are retried only where Zoho cannot have acted: 429, 503 and failed
   connects.
3. A 4xx whose body is a per-record answer (a ``data`` list of results with ``code`` and
   ``status``, no top-level error) is returned, not raised: Zoho answers a batch whose every
   record failed with 400 (202 on v2) and the same ``data[]`` as a partial success, and
   per-record failures are data (zoho-api.md §3).
4. Any other error envelope (``INVALID_DATA``, ``INVALID_MODULE``...) raises its typed
   error at once, never retried.

Every request is logged on the ``crmframe.http`` logger (DEBUG; retries at WARNING) with
tokens and secrets redacted.
"""

from __future__ import annotations

import email.utils
import json
import logging
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, BinaryIO
from urllib.parse import urlencode

from crmframe.core.envelope import load_envelope
from crmframe.errors import (
    AuthenticationError,
    ConfigurationError,
    CrmframeError,
    EnvelopeError,
    RateLimitError,
    ServerError,
    TransportError,
    ZohoAPIError,
    error_from_envelope,
)
from crmframe.http.auth import Auth
from crmframe.http.redact import redact, shown
from crmframe.http.retry import RetryPolicy

if TYPE_CHECKING:  # imported on first use: ``import crmframe`` stays light
    import requests

__all__ = [
    "EDITION_CONCURRENCY",
    "MAX_TOKEN_REFRESHES",
    "SUPPORTED_VERSIONS",
    "Reply",
    "ZohoClient",
    "is_per_record",
]

log = logging.getLogger("crmframe.http")

#: API versions the client knows the differences of.
SUPPORTED_VERSIONS = ("v2", "v2.1", "v8")

#: Zoho's concurrency limit per org and app, by edition (zoho-api.md §8). Heavy calls
#: (COQL, search, cvid/sort reads, big writes) share a sub-limit of 10 on every edition.
EDITION_CONCURRENCY: dict[str, int] = {
    "free": 5,
    "standard": 10,
    "starter": 10,
    "professional": 15,
    "enterprise": 20,
    "zoho_one": 20,
    "ultimate": 25,
    "crm_plus": 25,
}

_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
# Statuses that mean "not processed", safe to retry even for a POST that inserts.
_SAFE_RETRY_STATUSES = frozenset({429, 503})


def _dropped() -> tuple[type[BaseException], ...]:
    """A connection refused, reset or cut mid-body, or a timeout (requests' exceptions)."""
    import requests

    return (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError)


def _unsendable() -> tuple[type[BaseException], ...]:
    """Requests refused by ``requests`` before anything went out (a header holding a line
    break, a malformed URL, a body with NaN): their text can quote the ``Authorization``
    header."""
    import requests

    errors = requests.exceptions
    return (errors.InvalidHeader, errors.InvalidURL, errors.MissingSchema,
            errors.InvalidSchema, errors.URLRequired, errors.InvalidJSONError)


def _request_error() -> type[BaseException]:
    import requests

    return requests.RequestException


def _connect_timeout(exc: BaseException) -> bool:
    import requests

    return isinstance(exc, requests.ConnectTimeout)


def _read_timeout(exc: BaseException) -> bool:
    """Sent and not answered in time (not a failed connect): Zoho may still be at work."""
    import requests

    return isinstance(exc, requests.Timeout) and not isinstance(exc, requests.ConnectTimeout)


_TOKEN_CODES = frozenset({"INVALID_TOKEN", "INVALID_OAUTHTOKEN"})

#: Token refreshes one request may trigger. Zoho grants 10 refreshes per 10 minutes per
#: refresh token, and a token that is rejected right after being issued three times in a
#: row will not be accepted on the fourth: the bound keeps a broken setup from burning
#: the refresh budget every other call of the session needs.
MAX_TOKEN_REFRESHES = 3


@dataclass(frozen=True)
class Reply:
    """An answer: HTTP status, the envelope (``None`` when empty) and the headers."""

    status: int
    body: dict[str, Any] | None
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)


class _Shown:
    """The URL as logs and messages show it, built (and redacted) only when printed."""

    __slots__ = ("_params", "_text", "_url")

    def __init__(self, url: str, params: Mapping[str, Any] | None) -> None:
        self._url = url
        self._params = params
        self._text: str | None = None

    def __str__(self) -> str:
        if self._text is None:
            query = f"?{urlencode(self._params, doseq=True)}" if self._params else ""
            self._text = redact(self._url + query)
        return self._text


def is_per_record(body: Any) -> bool:
    """Whether ``body`` is a per-record answer: results in ``data[]``, no whole-request error.

    Examples
    --------
    >>> is_per_record({"data": [{"code": "INVALID_DATA", "status": "error", "details": {}}]})
    True
    >>> is_per_record({"code": "INVALID_MODULE", "status": "error", "message": "x"})
    False
    >>> is_per_record({"data": []})
    False
    """
    if not isinstance(body, Mapping) or "code" in body or body.get("status") == "error":
        return False
    data = body.get("data")
    return (
        isinstance(data, list)
        and bool(data)
        and all(
            isinstance(item, Mapping)
            and isinstance(item.get("code"), str)
            and isinstance(item.get("status"), str)
            for item in data
        )
    )


def _token_gave_up(
    body: Mapping[str, Any], method: str, shown: _Shown, refreshes: int
) -> CrmframeError:
    """The AuthenticationError for a token still rejected: why the client stopped refreshing."""
    if refreshes == 0:
        why = "the access token cannot be renewed (a fixed access_token: connect with " \
              "client_id, client_secret and refresh_token to have it refreshed)"
    else:
        why = (
            f"the access token was rejected again after {refreshes} refresh(es) within "
            f"this request (at most {MAX_TOKEN_REFRESHES}); the refresh token is accepted "
            "but its access tokens are not: check the scopes and the data centre"
        )
    server = redact(str(body.get("message") or ""))
    message = f"{method} {shown}: {why}" + (f" (Zoho said: {server})" if server else "")
    details = body.get("details")
    return AuthenticationError(
        str(body.get("code")), message, details if isinstance(details, Mapping) else None,
        401, dict(body),
    )


def _error_body(response: requests.Response) -> dict[str, Any] | None:
    try:
        body = json.loads(response.content or b"null")
    except ValueError:
        return None
    return body if isinstance(body, dict) else None


class ZohoClient:
    """Talks to one Zoho CRM org.

    Parameters
    ----------
    api_domain : str
        ``https://www.zohoapis.eu`` for instance, or a sandbox's URL.
    auth : Auth
        :class:`~crmframe.http.auth.StaticToken` or :class:`~crmframe.http.auth.RefreshTokenAuth`.
    version : str
        ``"v8"`` (default), ``"v2.1"`` or ``"v2"``.
    session : requests.Session, optional
        Injected session (adapters, proxies, a fake transport in tests). A session the
        client creates is closed by :meth:`close`; an injected one is left to its owner.
    retry : RetryPolicy, optional
        Retry bounds and backoff (default :class:`RetryPolicy()`).
    max_concurrency : int
        Requests in flight at once across threads (default 10, Zoho's sub-concurrency
        limit; Zoho allows 5 on Free up to 25 on Ultimate).
    timeout : float or (connect, read)
        Passed to ``requests`` (default ``(10, 120)``).

    Examples
    --------
    >>> from crmframe.http.auth import StaticToken
    >>> client = ZohoClient("https://www.zohoapis.eu", StaticToken("1000.abc.def"))
    >>> client
    ZohoClient(api_domain='https://www.zohoapis.eu', version='v8')
    >>> client.url("Leads")
    'https://www.zohoapis.eu/crm/v8/Leads'
    >>> client.url("read", bulk=True)
    'https://www.zohoapis.eu/crm/bulk/v8/read'
    >>> client.close()
    """

    def __init__(
        self,
        api_domain: str,
        auth: Auth,
        *,
        version: str = "v8",
        session: requests.Session | None = None,
        retry: RetryPolicy | None = None,
        max_concurrency: int = 10,
        timeout: float | tuple[float, float] = (10.0, 120.0),
    ) -> None:
        if version not in SUPPORTED_VERSIONS:
            raise ConfigurationError(
                f"unsupported API version {shown(version)}: expected one of "
                + ", ".join(SUPPORTED_VERSIONS)
            )
        if not isinstance(api_domain, str) or not api_domain.startswith(("http://", "https://")):
            raise ConfigurationError(
                f"api_domain must be an http(s) URL such as https://www.zohoapis.com, "
                f"got {shown(api_domain)}"
            )
        if not isinstance(max_concurrency, int) or isinstance(max_concurrency, bool) or (
                max_concurrency < 1):
            raise ConfigurationError(
                "max_concurrency must be a whole number of at least 1, got "
                f"{shown(max_concurrency)}"
            )
        parts = timeout if isinstance(timeout, tuple) else (timeout,)
        if len(parts) not in (1, 2) or not all(
                isinstance(t, (int, float)) and not isinstance(t, bool) and t > 0
                for t in parts):
            raise ConfigurationError(
                "timeout must be seconds above 0, or (connect, read) seconds, got "
                f"{shown(timeout)}"
            )
        self.api_domain = api_domain.rstrip("/")
        self.auth = auth
        self.version = version
        self.retry = retry or RetryPolicy()
        self.timeout = timeout
        self.max_concurrency = max_concurrency
        self._own_session = session is None
        if session is None:
            import requests

            session = requests.Session()
        self.session = session
        use_session = getattr(auth, "use_session", None)
        if callable(use_session):
            use_session(self.session)
        self._slots = threading.BoundedSemaphore(max_concurrency)
        # (url, stream, session settings) -> requests' merged environment settings
        self._environment: dict[tuple[Any, ...], dict[str, Any]] = {}
        self._counter_lock = threading.Lock()
        #: Requests sent (attempts included) — diagnostics and tests.
        self.request_count = 0
        #: Requests with a method other than GET/HEAD (attempts included).
        self.write_count = 0
        #: Zoho's clock minus ours, in seconds, from the latest ``Date`` header.
        self.server_offset = 0.0
        #: Whether a ``Date`` header was seen (until then :meth:`server_time` is our clock).
        self.date_seen = False

    def __repr__(self) -> str:
        return f"ZohoClient(api_domain={self.api_domain!r}, version={self.version!r})"

    def __enter__(self) -> ZohoClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the session if the client created it (and the auth's own session)."""
        close_auth = getattr(self.auth, "close", None)
        if callable(close_auth):
            close_auth()
        if self._own_session:
            self.session.close()

    # -- URLs ---------------------------------------------------------------------------

    def url(self, path: str, *, bulk: bool = False) -> str:
        """The absolute URL of ``path`` (``Leads``, ``settings/fields``, ``/crm/...``, a URL)."""
        if path.startswith(("http://", "https://")):
            return path
        if path.startswith("/crm/"):
            return f"{self.api_domain}{path}"
        prefix = f"/crm/bulk/{self.version}" if bulk else f"/crm/{self.version}"
        return f"{self.api_domain}{prefix}/{path.lstrip('/')}"

    # -- requests -----------------------------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: Any = None,
        files: Any = None,
        headers: Mapping[str, str] | None = None,
        bulk: bool = False,
        idempotent: bool | None = None,
    ) -> Reply:
        """Send a request and return its envelope.

        Parameters
        ----------
        method : str
            ``GET``, ``POST``, ``PUT``, ``DELETE``...
        path : str
            Relative to ``/crm/{version}/`` (or ``/crm/bulk/{version}/`` with ``bulk=True``),
            or starting with ``/crm/``, or an absolute URL.
        params, json, data, files, headers
            As for ``requests``.
        idempotent : bool, optional
            Whether a request that may have reached Zoho can be safely sent again. Default:
            every method except ``POST``. Pass True for read-only POSTs (COQL, bulk read).

        Returns
        -------
        Reply
            ``body`` is ``None`` for 204/304 and other empty 2xx answers. A 4xx carrying
            per-record results (every record of a write failed) is returned as well, with
            its status: check ``body["data"]``, not the status.

        Raises
        ------
        ZohoAPIError
            A typed subclass for whole-request error envelopes (after retries for 429/5xx).
        TransportError
            When the connection kept failing.
        """
        response = self._send(
            method, self.url(path, bulk=bulk), params=params, json=json, data=data,
            files=files, headers=headers, idempotent=idempotent,
        )
        return Reply(response.status_code, self._envelope(response), response.headers)

    def request_raw(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> tuple[int, bytes]:
        """Like :meth:`request`, but a successful answer's body comes back as bytes, not
        decoded: the record builder parses it once, straight into columns. Error answers
        raise as for :meth:`request`. An empty body (204/304) gives ``b""``.
        """
        response = self._send(method, self.url(path), params=params, headers=headers)
        if response.status_code >= 400:
            self._envelope(response, per_record=False)
        return response.status_code, response.content or b""

    def server_time(self, local: float | None = None) -> float:
        """``local`` (default now; epoch seconds on this machine) on Zoho's clock, as its
        latest ``Date`` header put it (this machine's clock until one was seen)."""
        return (time.time() if local is None else local) + self.server_offset

    def _observe_date(self, response: requests.Response) -> None:
        text = response.headers.get("Date")
        if not text:
            return
        try:
            server = email.utils.parsedate_to_datetime(text).timestamp()
        except (TypeError, ValueError):
            return
        # The header is rounded down to the second and written before the answer left, so
        # server_time() never runs ahead of Zoho's clock (settling lost writes relies on it).
        self.server_offset = server - time.time()
        self.date_seen = True

    def get_bytes(self, path: str, *, params: Mapping[str, Any] | None = None) -> bytes:
        """GET a file (a bulk-read zip) and return its bytes; error envelopes raise."""
        response = self._send("GET", self.url(path), params=params)
        if response.status_code >= 400:
            self._envelope(response, per_record=False)
        return response.content

    def download(self, path: str, sink: BinaryIO, *, chunk_size: int = 1 << 20) -> int:
        """GET a file (a bulk-read zip) into ``sink`` chunk by chunk and return its size.

        The file never sits in memory whole (:meth:`get_bytes` holds it twice while
        joining it). A connection dropped half way is retried like a dropped GET, the sink
        rewound; error envelopes raise.
        """
        attempt = 0
        while True:
            attempt += 1
            response = self._send("GET", self.url(path), stream=True)
            try:
                if response.status_code >= 400:
                    self._envelope(response, per_record=False)
                sink.seek(0)
                sink.truncate()
                size = 0
                for chunk in response.iter_content(chunk_size):
                    sink.write(chunk)
                    size += len(chunk)
                sink.flush()
                return size
            except _dropped() as exc:
                if attempt >= self.retry.max_attempts:
                    raise TransportError(
                        f"GET {_Shown(self.url(path), None)} broke off after {attempt} "
                        f"attempt(s): {type(exc).__name__}") from None
                log.warning("GET %s broke off (%s); downloading it again",
                            _Shown(self.url(path), None), type(exc).__name__)
            finally:
                response.close()

    def _envelope(
        self, response: requests.Response, *, per_record: bool = True
    ) -> dict[str, Any] | None:
        status = response.status_code
        try:
            body = load_envelope(response).body
        except EnvelopeError:
            if status < 400:
                raise
            body = None
        if per_record and 400 <= status < 500 and is_per_record(body):
            return body
        if status >= 400:
            # A 4xx/5xx without a Zoho error envelope (an HTML page from a proxy, say).
            raise error_from_envelope(
                {"code": f"HTTP_{status}", "message": redact(response.reason or "")}, status
            )
        return body

    def _count(self, method: str = "GET") -> None:
        with self._counter_lock:
            self.request_count += 1
            if method not in ("GET", "HEAD"):
                self.write_count += 1

    def _send(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Any = None,
        data: Any = None,
        files: Any = None,
        headers: Mapping[str, str] | None = None,
        idempotent: bool | None = None,
        stream: bool = False,
    ) -> requests.Response:
        method = method.upper()
        if idempotent is None:
            idempotent = method != "POST"
        shown = _Shown(url, params)
        policy = self.retry
        started = policy.clock()
        attempt = 0
        refreshes = 0
        while True:
            attempt += 1
            auth_header = self.auth.header()
            all_headers = {**(headers or {}), "Authorization": auth_header}
            t0 = time.perf_counter()
            self._count(method)
            failure: str
            retry_after: str | None = None
            try:
                with self._slots:
                    response = self._transport(
                        method, url, params=params, json=json, data=data, files=files,
                        headers=all_headers, stream=stream,
                    )
            except _dropped() as exc:
                elapsed = (time.perf_counter() - t0) * 1000
                failure = type(exc).__name__
                log.debug("%s %s -> %s (%.0f ms)", method, shown, failure, elapsed)
                safe = idempotent or _connect_timeout(exc)
                timed_out = _read_timeout(exc)
                if not safe:
                    # Sent, unanswered: the caller settles it (a timeout may still be
                    # running on Zoho's side), never this loop.
                    lost = TransportError(
                        f"{method} {shown} failed ({failure}); not retried because the "
                        "request may have reached Zoho and is not idempotent"
                    )
                    lost.timed_out = timed_out
                    raise lost from None
                dropped = TransportError(
                    f"{method} {shown} failed after {attempt} attempt(s): {failure}"
                )
                dropped.timed_out = timed_out
                last_error: CrmframeError = dropped
            except _unsendable() as exc:
                # Not sent. requests' message quotes the offending value, which may be the
                # Authorization header: only the exception's name is shown.
                raise ConfigurationError(
                    f"{method} {shown}: not sent, requests refused it ({type(exc).__name__}): "
                    "a header or the URL holds a line break or an invalid character (an "
                    "access token pasted with a stray character?), or the body a NaN or an "
                    "infinity. The value is not shown"
                ) from None
            except _request_error() as exc:
                # Any other failure of requests (a body that could not be decoded...): the
                # request may have reached Zoho, so it is not sent again; the text is not
                # shown (it may quote a header).
                other = TransportError(
                    f"{method} {shown} failed ({type(exc).__name__}); not retried"
                )
                raise other from None
            else:
                status = response.status_code
                self._observe_date(response)
                elapsed = (time.perf_counter() - t0) * 1000
                log.debug("%s %s -> %s (%.0f ms)", method, shown, status, elapsed)
                if status == 401:
                    body = _error_body(response)
                    if body is not None and body.get("code") in _TOKEN_CODES:
                        if refreshes < MAX_TOKEN_REFRESHES and self.auth.invalidate(auth_header):
                            refreshes += 1
                            log.info(
                                "%s %s: access token rejected; refreshing (%d of at most %d)",
                                method, shown, refreshes, MAX_TOKEN_REFRESHES,
                            )
                            attempt -= 1  # a replay after refresh is not a failed attempt
                            continue
                        raise _token_gave_up(body, method, shown, refreshes)
                if status not in _RETRY_STATUSES:
                    return response
                if not idempotent and status not in _SAFE_RETRY_STATUSES:
                    return response
                failure = f"HTTP {status}"
                retry_after = response.headers.get("Retry-After")
                last_error = self._exhausted_error(response, attempt)
            delay = policy.backoff(attempt, retry_after)
            if not policy.allows(attempt, started, delay):
                raise last_error
            log.warning(
                "%s %s: %s (attempt %d of %d); retrying in %.2fs",
                method, shown, failure, attempt, policy.max_attempts, delay,
            )
            policy.sleep(delay)

    def _transport(
        self,
        method: str,
        url: str,
        *,
        params: Mapping[str, Any] | None,
        json: Any,
        data: Any,
        files: Any,
        headers: Mapping[str, str],
        stream: bool,
    ) -> requests.Response:
        """``session.request(...)``, with the environment's settings looked up once per URL.

        ``requests`` reads every environment variable on each call (proxies, ``no_proxy``,
        CA bundles) — on a read of many pages, more CPU than this client's own work per
        call. For a plain ``requests.Session`` the merged settings are kept per URL (the
        query apart: proxies depend on the host only) and the session's own settings; a
        session whose ``request`` is overridden is called as it is.
        """
        import requests

        session = self.session
        kind = type(session)
        if not (
            isinstance(session, requests.Session)
            and kind.request is requests.Session.request
            and kind.merge_environment_settings is requests.Session.merge_environment_settings
        ):
            return session.request(
                method, url, params=params, json=json, data=data, files=files,
                headers=headers, timeout=self.timeout, stream=stream,
            )
        prepared = session.prepare_request(requests.Request(
            method=method, url=url, headers=headers, files=files, data=data or {},
            json=json, params=params or {},
        ))
        key = (url, stream, session.trust_env, repr(session.verify), repr(session.cert),
               tuple(sorted(session.proxies.items())))
        settings = self._environment.get(key)
        if settings is None:
            if len(self._environment) >= 64:  # a client reading many URLs: start again
                self._environment.clear()
            settings = dict(session.merge_environment_settings(url, {}, stream, None, None))
            self._environment[key] = settings
        return session.send(
            prepared, timeout=self.timeout, allow_redirects=True,
            proxies=dict(settings["proxies"]), stream=settings["stream"],
            verify=settings["verify"], cert=settings["cert"],
        )

    @staticmethod
    def _exhausted_error(response: requests.Response, attempt: int) -> ZohoAPIError:
        status = response.status_code
        body = _error_body(response) or {}
        code = body.get("code") if isinstance(body.get("code"), str) else None
        message = str(body.get("message") or response.reason or "")
        suffix = f" (gave up after {attempt} attempt(s))"
        if status == 429:
            return RateLimitError(
                code or "TOO_MANY_REQUESTS", redact(message) + suffix, body.get("details"),
                status, body or None,
            )
        err = error_from_envelope(
            {**body, "code": code or "INTERNAL_ERROR", "message": redact(message) + suffix},
            status,
        )
        if not isinstance(err, ServerError):
            err = ServerError(err.code, err.message, err.details, status, err.envelope)
        return err
