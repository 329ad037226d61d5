"""Scrubbing secrets out of text before it reaches a log, a repr or an error message.

Zoho access and refresh tokens look like ``1000.<hex>.<hex>``; the header carries them
after ``Zoho-oauthtoken``. Known secret values (a client secret, say) can be registered
so they are scrubbed wherever they appear.

Examples
--------
>>> redact("Authorization: Zoho-oauthtoken 1000.8cb99dxxxxxxxx9be93.9b8xxxxxxf")
'Authorization: Zoho-oauthtoken ***'
>>> redact("refresh_token=1000.abc.def&client_id=x")
'refresh_token=***&client_id=x'
"""

from __future__ import annotations

import re
import threading

__all__ = ["MASK", "redact", "remember_secret"]

MASK = "***"

_PATTERNS = (
    # Zoho tokens (access and refresh): "1000." then dot-separated hex or base64-ish parts.
    re.compile(r"\b1000\.[A-Za-z0-9_\-]+(?:\.[A-Za-z0-9_\-]+)*"),
    re.compile(r"(?i)(Zoho-oauthtoken|Bearer)\s+[^\s,;\"']+"),
    re.compile(
        r"(?i)((?:access_token|refresh_token|client_secret)\s*[=:]\s*[\"']?)[^\s&,;\"']+"
    ),
)

_lock = threading.Lock()
_secrets: set[str] = set()


def remember_secret(value: str | None) -> None:
    """Register ``value`` so :func:`redact` masks it wherever it appears (short values ignored)."""
    # Very short strings would mask innocent text ("a", "us"); real secrets are long.
    if value and len(value) >= 8:
        with _lock:
            _secrets.add(value)


def redact(text: str) -> str:
    """``text`` with Zoho tokens, ``Authorization`` values and registered secrets masked."""
    with _lock:
        secrets = sorted(_secrets, key=len, reverse=True)
    for secret in secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    text = _PATTERNS[0].sub(MASK, text)
    text = _PATTERNS[1].sub(lambda m: f"{m.group(1)} {MASK}", text)
    text = _PATTERNS[2].sub(lambda m: f"{m.group(1)}{MASK}", text)
    return text
