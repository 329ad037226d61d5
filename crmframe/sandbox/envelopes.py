"""Zoho's error and result envelopes, built once here so every endpoint answers alike.

The messages are Zoho's own, copied from the seed samples and the v8 OpenAPI examples.
"""

from __future__ import annotations

from typing import Any

__all__ = ["ApiError", "error_body", "record_error"]


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    """A whole-request error object ``{"code","details","message","status":"error"}``."""
    return {"code": code, "details": details or {}, "message": message, "status": "error"}


def record_error(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    """One per-record error item of a ``data[]`` answer (same keys as a whole-request error)."""
    return error_body(code, message, details)


class ApiError(Exception):
    """Raised by handlers to answer with an error envelope.

    ``wrap`` puts the error inside ``{"data": [...]}`` the way Zoho's v8 write endpoints
    report some whole-request errors (``LIMIT_EXCEEDED``, ``INVALID_MODULE`` on PUT).
    """

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: dict[str, Any] | None = None,
        *,
        wrap: bool = False,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.details = details or {}
        self.wrap = wrap
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        """The JSON body to send."""
        err = error_body(self.code, self.message, self.details)
        return {"data": [err]} if self.wrap else err


# Zoho's wording, one place.
MSG_INVALID_URL = "Please check if the URL trying to access is a correct one"
MSG_INVALID_METHOD = "The http request method type is not a valid one"
MSG_AUTH_FAILED = "Authentication failed"
MSG_INVALID_TOKEN = "invalid oauth token"
MSG_INVALID_MODULE = "the module name given seems to be invalid"
MSG_INVALID_DATA = "invalid data"
MSG_INVALID_ID = "the id given seems to be invalid"
MSG_MANDATORY = "required field not found"
MSG_DUPLICATE = "duplicate data"
MSG_LOCKED = "Sorry, you cannot perform this operation as the record is locked."
MSG_NOT_APPROVED = "cannot update record that is not approved yet"
MSG_NOT_FOUND_RESOURCE = "The requested resource doesn't exist."
MSG_INTERNAL = "Internal Server Error"
MSG_TOO_MANY = "You have exceeded the maximum number of API calls or concurrent requests allowed"
