"""Bulk-write CSV cells to JSON values: Zoho's date patterns and lookups by id.

Supported ``format`` patterns (Java ``SimpleDateFormat`` letters): ``yyyy``, ``yy``,
``MM``, ``dd``, ``HH``, ``hh``, ``mm``, ``ss``, ``a``, ``SSS``, ``XXX``/``XX``/``X``/``Z``
(offsets, ``Z`` for UTC accepted) and quoted literals such as ``'T'``; any other
character stands for itself. Zoho's defaults apply when a mapping gives no format:
``MM/dd/yyyy`` for dates and ``MM/dd/yyyy HH:mm:ss`` for datetimes (in the API user's
time zone).

Examples
--------
>>> to_strptime("yyyy-MM-dd'T'HH:mm:ssXXX")
'%Y-%m-%dT%H:%M:%S%z'
>>> convert_date("12/31/2024", None)
'2024-12-31'
>>> convert_datetime("2024-12-31T23:59:00+01:00", "yyyy-MM-dd'T'HH:mm:ssXXX")
'2024-12-31T23:59:00+01:00'
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from functools import lru_cache

__all__ = [
    "DEFAULT_DATETIME_FORMAT",
    "DEFAULT_DATE_FORMAT",
    "convert_date",
    "convert_datetime",
    "to_strptime",
]

DEFAULT_DATE_FORMAT = "MM/dd/yyyy"
DEFAULT_DATETIME_FORMAT = "MM/dd/yyyy HH:mm:ss"

_LETTERS = [
    ("yyyy", "%Y"), ("yy", "%y"), ("MM", "%m"), ("dd", "%d"), ("HH", "%H"), ("hh", "%I"),
    ("mm", "%M"), ("ss", "%S"), ("SSS", "%f"), ("XXX", "%z"), ("XX", "%z"), ("X", "%z"),
    ("Z", "%z"), ("a", "%p"),
]


@lru_cache(maxsize=64)
def to_strptime(pattern: str) -> str:
    """Translate a Java date pattern into a :func:`datetime.strptime` format."""
    out: list[str] = []
    i = 0
    while i < len(pattern):
        ch = pattern[i]
        if ch == "'":
            end = pattern.find("'", i + 1)
            if end < 0:
                raise ValueError(f"unterminated quote in {pattern!r}")
            out.append(pattern[i + 1:end].replace("%", "%%") or "'")
            i = end + 1
            continue
        for letters, directive in _LETTERS:
            if pattern.startswith(letters, i):
                out.append(directive)
                i += len(letters)
                break
        else:
            if ch.isalpha():
                raise ValueError(f"unsupported pattern letter {ch!r} in {pattern!r}")
            out.append("%%" if ch == "%" else ch)
            i += 1
    return "".join(out)


def _parse(text: str, pattern: str) -> datetime:
    fmt = to_strptime(pattern)
    value = text.strip()
    if "%z" in fmt and value.endswith("Z"):
        value = value[:-1] + "+00:00"
    return datetime.strptime(value, fmt)


def convert_date(text: str, pattern: str | None) -> str:
    """A CSV date cell as Zoho's ``yyyy-MM-dd`` (raises ValueError when it does not fit)."""
    return _parse(text, pattern or DEFAULT_DATE_FORMAT).date().isoformat()


def convert_datetime(text: str, pattern: str | None, offset_minutes: int = 330) -> str:
    """A CSV datetime cell as ``yyyy-MM-ddTHH:mm:ss±HH:mm``.

    A value without an offset is read in the API user's zone (``offset_minutes``).
    """
    dt = _parse(text, pattern or DEFAULT_DATETIME_FORMAT).replace(microsecond=0)
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=timezone(timedelta(minutes=offset_minutes)))
    return dt.isoformat()
