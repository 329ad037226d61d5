"""Every exception crmframe raises, in one tree.

::

    CrmframeError                      one ``except`` catches everything crmframe raises
    ├── InputError                     the caller gave something crmframe cannot use
    │   ├── EnvelopeError              not a Zoho envelope (bad JSON, wrong shape, bad status)
    │   ├── ConfigurationError         missing or inconsistent connection settings
    │   ├── JournalMismatchError       a push journal that belongs to another plan
    │   └── ValidationError            edits that fail the field metadata (``.problems`` frame)
    ├── TransportError                 the network failed and retries were exhausted
    ├── JobError                       a watched job did not finish well
    │   ├── JobFailed                  the job ended FAILED (``.status`` is the last JobStatus)
    │   └── JobTimeout                 the wait ran out (``.status`` says where the job stood)
    └── ZohoAPIError                   Zoho answered a whole request with an error envelope
        ├── AuthenticationError        INVALID_TOKEN, AUTHENTICATION_FAILURE, OAUTH_SCOPE_MISMATCH
        │   └── TokenRefreshError      the OAuth token endpoint refused (``invalid_code``...)
        ├── PermissionDeniedError      NO_PERMISSION, AUTHORIZATION_FAILED
        ├── InvalidModuleError         INVALID_MODULE
        ├── InvalidURLError            INVALID_URL_PATTERN
        ├── InvalidRequestMethodError  INVALID_REQUEST_METHOD
        ├── InvalidRequestError        INVALID_DATA, MANDATORY_NOT_FOUND, REQUIRED_PARAM_MISSING,
        │                              LIMIT_EXCEEDED, TOKEN_BOUND_DATA_MISMATCH, EXPIRED_VALUE ...
        ├── PaginationLimitError       DISCRETE_PAGINATION_LIMIT_EXCEEDED, PAGINATION_LIMIT_EXCEEDED
        ├── RateLimitError             TOO_MANY_REQUESTS
        ├── NotFoundError              NOT_FOUND, RESOURCE_NOT_FOUND
        └── ServerError                INTERNAL_ERROR (and any 5xx)

Per-record failures inside ``data[]`` are never raised: they are rows of a results frame.
A Zoho ``code`` picks its class through :data:`CODE_TO_ERROR`; unknown codes fall back to
:class:`ZohoAPIError`. Messages never contain tokens or secrets.
"""

from __future__ import annotations

import reprlib
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "CODE_TO_ERROR",
    "AuthenticationError",
    "ConfigurationError",
    "CrmframeError",
    "EnvelopeError",
    "InputError",
    "InvalidModuleError",
    "InvalidRequestError",
    "InvalidRequestMethodError",
    "InvalidURLError",
    "JobError",
    "JobFailed",
    "JobTimeout",
    "JournalMismatchError",
    "NotFoundError",
    "PaginationLimitError",
    "PermissionDeniedError",
    "RateLimitError",
    "ServerError",
    "TokenRefreshError",
    "TransportError",
    "ValidationError",
    "ZohoAPIError",
    "error_from_envelope",
]


class _ShortRepr(reprlib.Repr):
    """reprlib with limits, and huge ints (which ``repr`` refuses past 4,300 digits) summarised."""

    def repr_int(self, x: int, level: int) -> str:
        bits = x.bit_length()
        return f"<int of {bits} bits>" if bits > 128 else repr(x)


_SHORT = _ShortRepr()
_SHORT.maxstring = 120
_SHORT.maxother = 120


# errors.py imports nothing of crmframe, so the HTTP layer, which knows the secrets in
# play, installs its scrubber here when it is imported (crmframe.http.redact): every
# message, and what a server echoed into a Zoho error, passes through it.
_scrubber: Callable[[str], str] | None = None


def _install_scrubber(scrub: Callable[[str], str]) -> None:
    global _scrubber
    _scrubber = scrub


def _clean(value: Any) -> Any:
    """``value`` with secrets masked when it is a string (and a scrubber is installed)."""
    if _scrubber is not None and isinstance(value, str):
        return _scrubber(value)
    return value


def _clean_deep(value: Any, depth: int = 0) -> Any:
    # Server-echoed details can nest without bound: below 20 levels they are left as they
    # are (messages show them through a depth-limited repr, which is cleaned).
    if _scrubber is None or depth > 20:
        return value
    if isinstance(value, str):
        return _scrubber(value)
    if isinstance(value, Mapping):
        return {k: _clean_deep(v, depth + 1) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean_deep(v, depth + 1) for v in value]
    return value


class CrmframeError(Exception):
    """Base of every exception crmframe raises.

    String arguments are scrubbed of secrets (tokens, client secrets) once the HTTP layer
    is loaded, so no message can carry one.
    """

    def __init__(self, *args: Any) -> None:
        super().__init__(*(_clean(a) for a in args))


class InputError(CrmframeError):
    """The caller gave crmframe something it cannot use."""


class EnvelopeError(InputError):
    """The input is not a Zoho envelope: unreadable JSON, a wrong shape, or an unusable status."""


class ConfigurationError(InputError):
    """Connection settings are missing or inconsistent."""


class ValidationError(InputError):
    """Edits do not fit the field metadata; nothing was sent.

    ``problems`` is a DataFrame with columns ``id``, ``field``, ``value``, ``problem``:
    every problem found, not only the first.
    """

    def __init__(self, message: str, problems: pd.DataFrame | None = None) -> None:
        super().__init__(message)
        self.problems = problems


class JournalMismatchError(InputError):
    """A push journal on disk belongs to a different plan, or is not a crmframe journal."""


class TransportError(CrmframeError):
    """The network failed (connection dropped, timed out) and retries were exhausted."""

    #: True when the request went out and no answer came in time: the server may still be
    #: working on it, so a read-back right away can see a record it is about to write.
    timed_out: bool = False


class JobError(CrmframeError):
    """A watched job did not finish well. ``status`` is the last status seen."""

    def __init__(self, message: str, status: Any = None) -> None:
        super().__init__(message)
        self.status = status


class JobFailed(JobError):
    """The job ended in the FAILED state."""


class JobTimeout(JobError):
    """Waiting for the job ran out of time before it reached a terminal state."""


class ZohoAPIError(CrmframeError):
    """Zoho answered a whole request with an error envelope.

    Attributes
    ----------
    code : str
        Zoho's error code, e.g. ``"INVALID_MODULE"``.
    message : str
        Zoho's message.
    details : dict
        Zoho's ``details`` object (empty dict when absent).
    http_status : int or None
        The HTTP status of the answer, when known.
    envelope : dict or None
        The raw error envelope.
    """

    def __init__(
        self,
        code: str,
        message: str = "",
        details: Mapping[str, Any] | None = None,
        http_status: int | None = None,
        envelope: Mapping[str, Any] | None = None,
    ) -> None:
        self.code = _clean(code)
        self.message = _clean(message)
        self.details: dict[str, Any] = _clean_deep(dict(details or {}))
        self.http_status = http_status
        self.envelope = _clean_deep(dict(envelope)) if envelope is not None else None
        super().__init__(self._describe())

    def _describe(self) -> str:
        status = f"HTTP {self.http_status} " if self.http_status is not None else ""
        text = f"{status}{self.code}: {self.message}".rstrip(": ")
        if self.details:
            # Details come from the server: keys may not sort, values may be huge or deep.
            items = sorted(self.details.items(), key=lambda kv: str(kv[0]))
            shown = ", ".join(f"{k}={_SHORT.repr(v)}" for k, v in items)
            text += f" ({shown})"
        return text

    def __reduce__(self) -> tuple[Any, ...]:
        args = (self.code, self.message, self.details, self.http_status, self.envelope)
        return (type(self), args)


class AuthenticationError(ZohoAPIError):
    """The access token is missing, invalid or expired, or lacks the scope for this URL."""


class TokenRefreshError(AuthenticationError):
    """The OAuth token endpoint refused to issue an access token (even with HTTP 200)."""


class PermissionDeniedError(ZohoAPIError):
    """The user may not do this (NO_PERMISSION, AUTHORIZATION_FAILED)."""


class InvalidModuleError(ZohoAPIError):
    """The module API name is unknown or not available to this user."""


class InvalidURLError(ZohoAPIError):
    """The URL does not match any Zoho endpoint (INVALID_URL_PATTERN)."""


class InvalidRequestMethodError(ZohoAPIError):
    """The HTTP method is not valid for this URL."""


class InvalidRequestError(ZohoAPIError):
    """The request as a whole is malformed (INVALID_DATA, REQUIRED_PARAM_MISSING, ...)."""


class PaginationLimitError(ZohoAPIError):
    """Paging went past what Zoho allows (2,000 without page_token, 100,000 with)."""


class RateLimitError(ZohoAPIError):
    """Too many requests: the credit window or the concurrency limit is exhausted."""


class NotFoundError(ZohoAPIError):
    """The resource (a job, a record, an URL's target) does not exist."""


class ServerError(ZohoAPIError):
    """Zoho failed internally (INTERNAL_ERROR or another 5xx)."""


#: Zoho ``code`` → exception class. Codes not listed raise :class:`ZohoAPIError`.
CODE_TO_ERROR: dict[str, type[ZohoAPIError]] = {
    "INVALID_TOKEN": AuthenticationError,
    "AUTHENTICATION_FAILURE": AuthenticationError,
    "OAUTH_SCOPE_MISMATCH": AuthenticationError,
    "INVALID_OAUTHTOKEN": AuthenticationError,
    "INVALID_OAUTHSCOPE": AuthenticationError,
    "NO_PERMISSION": PermissionDeniedError,
    "AUTHORIZATION_FAILED": PermissionDeniedError,
    "INVALID_MODULE": InvalidModuleError,
    "INVALID_URL_PATTERN": InvalidURLError,
    "INVALID_REQUEST_METHOD": InvalidRequestMethodError,
    "INVALID_DATA": InvalidRequestError,
    "MANDATORY_NOT_FOUND": InvalidRequestError,
    "REQUIRED_PARAM_MISSING": InvalidRequestError,
    "LIMIT_EXCEEDED": InvalidRequestError,
    "TOKEN_BOUND_DATA_MISMATCH": InvalidRequestError,
    "EXPIRED_VALUE": InvalidRequestError,
    "INVALID_CALLBACK_URL": InvalidRequestError,
    "AMBIGUITY_DURING_PROCESSING": InvalidRequestError,
    "DISCRETE_PAGINATION_LIMIT_EXCEEDED": PaginationLimitError,
    "PAGINATION_LIMIT_EXCEEDED": PaginationLimitError,
    "TOO_MANY_REQUESTS": RateLimitError,
    "NOT_FOUND": NotFoundError,
    "RESOURCE_NOT_FOUND": NotFoundError,
    "INTERNAL_ERROR": ServerError,
    "INTERNAL_SERVER_ERROR": ServerError,
}


def error_from_envelope(
    envelope: Mapping[str, Any], http_status: int | None = None
) -> ZohoAPIError:
    """Build the typed exception for a whole-request error envelope.

    Parameters
    ----------
    envelope : Mapping
        A Zoho error object: ``{"code", "message", "details", "status": "error"}``.
    http_status : int, optional
        The HTTP status it came with.

    Examples
    --------
    >>> err = error_from_envelope({"code": "INVALID_MODULE", "details": {},
    ...     "message": "the module name given seems to be invalid", "status": "error"}, 400)
    >>> type(err).__name__, err.code, err.http_status
    ('InvalidModuleError', 'INVALID_MODULE', 400)
    """
    code = str(envelope.get("code") or "UNKNOWN_ERROR")
    details = envelope.get("details")
    if not isinstance(details, Mapping):
        details = {"value": details} if details is not None else {}
    cls = CODE_TO_ERROR.get(code)
    if cls is None:
        cls = ServerError if http_status is not None and http_status >= 500 else ZohoAPIError
    return cls(
        code=code,
        message=str(envelope.get("message") or ""),
        details=details,
        http_status=http_status,
        envelope=envelope,
    )
