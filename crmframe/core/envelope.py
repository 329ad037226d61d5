"""Reading whatever the caller hands us into a Zoho envelope, and raising for error envelopes.

Accepted inputs: a ``dict``, JSON ``str``/``bytes``, or anything shaped like a
``requests.Response`` (``status_code`` and ``content``); the core never imports
``requests``, it only looks for those attributes. A 204 or 304 with an empty body is a
valid answer with nothing in it and loads as ``None``.

Examples
--------
>>> load_envelope('{"data": [], "info": {"more_records": false}}').body["info"]
{'more_records': False}
>>> load_envelope(b"").body is None
Traceback (most recent call last):
...
crmframe.errors.EnvelopeError: empty input: expected a Zoho JSON envelope
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from crmframe.errors import EnvelopeError, error_from_envelope

__all__ = ["EMPTY_STATUSES", "Loaded", "load_envelope", "peek_info", "raise_for_error"]

#: Statuses whose empty body means "zero rows" rather than an error.
EMPTY_STATUSES = frozenset({204, 304})


@dataclass(frozen=True)
class Loaded:
    """An envelope body (``None`` for an empty 204/304) and the HTTP status, when known."""

    body: dict[str, Any] | None
    http_status: int | None = None


def _parse_json(raw: str | bytes | bytearray, http_status: int | None) -> Any:
    where = f" (HTTP {http_status})" if http_status is not None else ""
    try:
        return json.loads(raw)
    except (ValueError, RecursionError) as exc:
        # ValueError covers JSONDecodeError and UnicodeDecodeError.
        raise EnvelopeError(f"not valid JSON{where}: {type(exc).__name__}: {exc}") from None


def load_envelope(obj: Any) -> Loaded:
    """Turn a dict, JSON text/bytes or a response into a :class:`Loaded` envelope.

    Raises
    ------
    EnvelopeError
        When the input is not JSON, not a JSON object, or of an unsupported type.
    ZohoAPIError
        (a subclass chosen by ``code``) when the envelope is a whole-request error.
    """
    http_status: int | None = None
    if isinstance(obj, Mapping):
        body: Any = obj
    elif isinstance(obj, (str, bytes, bytearray)):
        if not obj.strip():
            raise EnvelopeError("empty input: expected a Zoho JSON envelope")
        body = _parse_json(obj, None)
    elif hasattr(obj, "status_code") and hasattr(obj, "content"):
        try:
            http_status = int(obj.status_code)
            content = obj.content
        except Exception as exc:  # a response-like object that cannot be read
            raise EnvelopeError(f"cannot read the response: {type(exc).__name__}") from None
        if not isinstance(content, (bytes, bytearray, str)):
            raise EnvelopeError(
                f"response content is {type(content).__name__}, expected bytes (HTTP {http_status})"
            )
        if not content.strip():
            if http_status in EMPTY_STATUSES or 200 <= http_status < 300:
                return Loaded(None, http_status)
            raise EnvelopeError(f"HTTP {http_status} with an empty body: no Zoho envelope to read")
        body = _parse_json(content, http_status)
    else:
        raise EnvelopeError(
            f"expected a dict, JSON str/bytes or a requests.Response, got {type(obj).__name__}"
        )
    if not isinstance(body, Mapping):
        raise EnvelopeError(f"expected a JSON object at the top level, got {type(body).__name__}")
    body = dict(body)
    raise_for_error(body, http_status)
    return Loaded(body, http_status)


def _is(value: Any, text: str) -> bool:
    return isinstance(value, str) and value == text


def raise_for_error(body: Mapping[str, Any], http_status: int | None = None) -> None:
    """Raise the typed :class:`~crmframe.errors.ZohoAPIError` if ``body`` is an error envelope.

    A whole-request error is a top-level object with ``status: "error"`` and a ``code``
    (per-record errors inside ``data[]`` are data, not exceptions).
    """
    # isinstance first: a dict built in Python may hold pd.NA, whose == has no truth value.
    if isinstance(body.get("code"), str) and _is(body.get("status"), "error"):
        raise error_from_envelope(body, http_status)


_DECODER = json.JSONDecoder()


def peek_info(raw: bytes) -> dict[str, Any] | None:
    """The top-level ``info`` object of a JSON envelope, without decoding its records.

    Zoho writes ``info`` after ``data``: it is decoded from the last ``"info":`` key on,
    and only trusted when it closes the envelope (nothing but ``}`` after it), so an
    ``"info"`` inside a record is never taken for it. ``None`` when that is not the shape:
    decode the whole envelope then.

    Examples
    --------
    >>> peek_info(b'{"data": [{"id": "1", "info": {"x": 1}}], "info": {"more_records": true}}')
    {'more_records': True}
    >>> peek_info(b'{"info": {"count": 1}, "data": [{"info": {"x": 1}}]}') is None
    True
    """
    start = raw.rfind(b'"info"')
    if start < 0:
        return None
    try:
        text = raw[start + 6 :].decode()
    except UnicodeDecodeError:
        return None
    text = text.lstrip()
    if not text.startswith(":"):
        return None
    text = text[1:].lstrip()
    try:
        info, end = _DECODER.raw_decode(text)
    except (ValueError, RecursionError):
        return None
    if not isinstance(info, dict) or text[end:].strip() != "}":
        return None
    return info
