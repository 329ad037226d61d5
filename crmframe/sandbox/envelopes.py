"""Zoho's error and result envelopes, built once here so every endpoint answers alike.

The messages are Zoho's own, copied from the seed samples and the v8 OpenAPI examples.
"""

from __future__ import annotations

from typing import Any

__all__ = ["ApiError", "error_body"]


def error_body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    """A whole-request error object ``{"code","details","message","status":"error"}``."""
    return {"code": code, "details": details or {}, "message": message, "status": "error"}


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

