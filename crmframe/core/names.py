"""Closest names: the ``did you mean`` of error messages about modules and fields.

One helper for every message that names something unknown (a module API name, a field),
so they all suggest the same way: case and separators are ignored first (``leads`` →
``Leads``, ``lead status`` → ``Lead_Status``), then :mod:`difflib` ranks the rest.

Examples
--------
>>> closest("Leds", ["Accounts", "Contacts", "Leads", "Deals"])
['Leads']
>>> did_you_mean("lead status", ["Lead_Status", "Lead_Source", "Phone"])
"did you mean 'Lead_Status'?"
>>> did_you_mean("Xyzzy", ["Leads"])
''
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable

__all__ = ["closest", "did_you_mean"]

_SEPARATORS = re.compile(r"[\s_\-.]+")


def _key(name: str) -> str:
    return _SEPARATORS.sub("", name).casefold()


def closest(name: str, candidates: Iterable[object], n: int = 3, cutoff: float = 0.6) -> list[str]:
    """Up to ``n`` candidates most like ``name``, best first (exact-but-for-case first)."""
    names = list(dict.fromkeys(str(c) for c in candidates if c is not None))
    wanted = _key(str(name))
    same = [c for c in names if _key(c) == wanted and c != name]
    if same:
        return same[:n]  # only the spelling differs: the rest would be noise
    by_key: dict[str, list[str]] = {}
    for c in names:
        by_key.setdefault(_key(c), []).append(c)
    near = difflib.get_close_matches(wanted, list(by_key), n=n, cutoff=cutoff)
    ranked = [c for k in near for c in by_key[k] if c != name]
    return ranked[:n]


def did_you_mean(name: str, candidates: Iterable[object], n: int = 3) -> str:
    """``"did you mean 'Leads'?"`` (or ``'A' or 'B'``), or ``""`` when nothing is close."""
    found = closest(name, candidates, n=n)
    if not found:
        return ""
    return "did you mean " + " or ".join(repr(c) for c in found) + "?"
