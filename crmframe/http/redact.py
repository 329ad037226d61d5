"""Scrubbing secrets out of text before it reaches a log, a repr or an error message.

Zoho access and refresh tokens look like ``1000.<hex>.<hex>``; the header carries them
after ``Zoho-oauthtoken``. Known secret values (a client secret, say) can be registered
so they are scrubbed wherever they appear.

Importing this module also puts the scrubbing where secrets could otherwise escape:

* every :class:`~crmframe.errors.CrmframeError` message (and a Zoho error's ``details``):
  text a server echoed, or a secret passed in the wrong argument, is masked;
* every log record of crmframe, requests, urllib3, vcrpy and werkzeug, at any level:
  vcrpy logs whole token-endpoint answers at INFO while recording, urllib3 logs URLs at
  DEBUG. The record is rewritten only when it held a secret.

Examples
--------
>>> redact("Authorization: Zoho-oauthtoken 1000.8cb99dxxxxxxxx9be93.9b8xxxxxxf")
'Authorization: Zoho-oauthtoken ***'
>>> redact("refresh_token=1000.abc.def&client_id=x")
'refresh_token=***&client_id=x'
>>> redact('{"access_token":"ya29-xyz","expires_in":3600}')
'{"access_token":"***","expires_in":3600}'
>>> shown("https://www.zohoapis.eu"), shown("0f3a9c2b7d1e4f5a6b7c8d9e0f1a2b3c4d5e6f70")
("'https://www.zohoapis.eu'", 'a value of 40 characters (not shown: it may be a secret)')
"""

from __future__ import annotations

import logging
import re
import threading

from crmframe.errors import _install_scrubber

__all__ = ["LOGGER_PREFIXES", "MASK", "redact", "remember_secret", "shown"]

MASK = "***"

_PATTERNS = (
    # Zoho tokens (access and refresh): "1000." then dot-separated hex or base64-ish parts.
    re.compile(r"\b1000\.[A-Za-z0-9_\-]+(?:\.[A-Za-z0-9_\-]+)*"),
    re.compile(r"(?i)(Zoho-oauthtoken|Bearer)\s+[^\s,;\"']+"),
    # key=value, key: value and JSON "key": "value" (also inside a repr's escaped quotes).
    re.compile(
        r"(?i)((?:access_token|refresh_token|client_secret|id_token)\\?[\"']?\s*[=:]\s*"
        r"\\?[\"']?)[^\s&,;\"'\\]+"
    ),
)
# A run of letters and digits this long, without a dot, hyphen or slash, looks like a key
# or a secret rather than a host name, a data centre or a version.
_OPAQUE = re.compile(r"[A-Za-z0-9_]{24,}")

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


def shown(value: object) -> str:
    """``repr(value)`` for an error message, unless the value may be a secret.

    A setting given in the wrong place (a client secret passed as ``api_domain=`` or
    ``data_center=``) must not be echoed: values that are long or look opaque are
    described by their length instead.
    """
    text = str(value)
    if len(text) > 60 or _OPAQUE.search(text) or redact(text) != text:
        return f"a value of {len(text)} characters (not shown: it may be a secret)"
    return repr(value)


#: Loggers (and their children) whose records are scrubbed: crmframe's own, and those of
#: the libraries it drives.
LOGGER_PREFIXES = ("crmframe", "requests", "urllib3", "vcr", "werkzeug")


def _scrub_record(record: logging.LogRecord) -> None:
    if record.exc_info and record.exc_info[0] is not None:
        # A traceback is formatted by the handler, after this factory: format it here,
        # scrubbed (an exception's text may hold what a server or a library echoed), and
        # the standard Formatter uses exc_text as it is.
        record.exc_text = redact(_TRACEBACKS.formatException(record.exc_info))
    if record.stack_info:
        record.stack_info = redact(record.stack_info)
    try:
        message = record.getMessage()
    except Exception:
        return
    cleaned = redact(message)
    if cleaned != message:
        record.msg, record.args = cleaned, None


_TRACEBACKS = logging.Formatter()


def _install_log_scrubbing() -> None:
    """Wrap the log-record factory once, so records of :data:`LOGGER_PREFIXES` are scrubbed.

    A factory (not a filter on each logger) reaches every child logger a library creates,
    including ones created later (``vcr.stubs.httpx_stubs``...); it only runs for records
    that are logged, i.e. whose level is enabled.
    """
    previous = logging.getLogRecordFactory()
    if getattr(previous, "_crmframe_scrubbing", False):
        return

    def factory(*args: object, **kwargs: object) -> logging.LogRecord:
        record = previous(*args, **kwargs)
        if record.name.partition(".")[0] in LOGGER_PREFIXES:
            _scrub_record(record)
        return record

    factory._crmframe_scrubbing = True  # type: ignore[attr-defined]
    logging.setLogRecordFactory(factory)


_install_log_scrubbing()
_install_scrubber(redact)
