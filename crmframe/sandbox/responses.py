"""JSON and zip responses, encoded once and compactly."""

from __future__ import annotations

import json
from typing import Any

from werkzeug.wrappers import Response

from crmframe.sandbox.clock import format_datetime
from crmframe.sandbox.schema import USER_OFFSET_MINUTES
from crmframe.sandbox.state import Version

__all__ = ["empty", "json_response", "page_info", "raw_json_response", "zip_response"]

JSON_TYPE = "application/json;charset=utf-8"


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A JSON answer (UTF-8, no spaces)."""
    data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return Response(data, status=status, headers=headers, content_type=JSON_TYPE)


def raw_json_response(data: bytes, status: int = 200) -> Response:
    """An answer whose JSON text is already encoded."""
    return Response(data, status=status, content_type=JSON_TYPE)


def empty(status: int) -> Response:
    """204/304: no body and no ``Content-Type`` (werkzeug's default ``text/plain`` sends
    Zoho's SDK down its file-download path)."""
    response = Response(b"", status=status)
    del response.headers["Content-Type"]
    return response


def zip_response(data: bytes, name: str,
                 content_type: str = "application/octet-stream") -> Response:
    """A zip download (``content_type`` as Zoho labels that download)."""
    return Response(
        data,
        status=200,
        # Zoho's v8 spec: octet-stream for bulk-write results, x-download for bulk reads
        content_type=content_type,
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def page_info(version: Version, *, per_page: int, count: int, page: int, more: bool,
              sort_by: str, sort_order: str, next_token: str | None = None,
              expiry: float | None = None) -> dict[str, Any]:
    """The ``info`` object of a page of records (v2's four keys; v8's twelve)."""
    if not version.modern:
        return {"per_page": per_page, "count": count, "page": page, "more_records": more}
    return {
        "call": False,
        "per_page": per_page,
        "next_page_token": next_token,
        "count": count,
        "sort_by": sort_by,
        "page": page,
        "page_token_expiry": (format_datetime(expiry, USER_OFFSET_MINUTES)
                              if expiry is not None else None),
        "sort_order": sort_order,
        "email": False,
        "more_records": more,
        "previous_page_token": None,
    }
