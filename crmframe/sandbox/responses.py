"""JSON and zip responses, encoded once and compactly."""

from __future__ import annotations

import json
from typing import Any

from werkzeug.wrappers import Response

__all__ = ["empty", "json_response", "zip_response"]

JSON_TYPE = "application/json;charset=utf-8"


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A JSON answer (UTF-8, no spaces)."""
    data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return Response(data, status=status, headers=headers, content_type=JSON_TYPE)


def raw_json_response(data: bytes, status: int = 200) -> Response:
    """An answer whose JSON text is already encoded."""
    return Response(data, status=status, content_type=JSON_TYPE)


def empty(status: int) -> Response:
    """204/304: no body at all."""
    return Response(b"", status=status)


def zip_response(data: bytes, name: str) -> Response:
    """A zip download."""
    return Response(
        data,
        status=200,
        content_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
