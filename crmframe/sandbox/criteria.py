"""Conditions on record values, shared by custom views, search, COQL and bulk read.

Values are compared by their field's kind: numbers as numbers, datetimes as instants
(whatever their offsets), dates as ``yyyy-MM-dd`` text, text case-insensitively, lookups
by id, multi-select picklists by membership.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from crmframe.core.fieldtypes import Kind
from crmframe.sandbox.clock import parse_datetime
from crmframe.sandbox.schema import Module

__all__ = ["OPERATORS", "Cond", "CriteriaError", "all_of", "any_of", "condition", "normalise"]

Cond = Callable[[dict[str, Any]], bool]

OPERATORS = frozenset({
    "equal", "not_equal", "greater_than", "greater_equal", "less_than", "less_equal",
    "in", "not_in", "between", "not_between", "starts_with", "ends_with", "contains",
    "not_contains", "like", "not_like", "is_null", "is_not_null",
})
_ALIASES = {
    "equals": "equal", "=": "equal", "!=": "not_equal", "<>": "not_equal",
    ">": "greater_than", ">=": "greater_equal", "<": "less_than", "<=": "less_equal",
}


class CriteriaError(ValueError):
    """A condition names an unknown field or operator, or a value of the wrong type."""

    def __init__(self, message: str, api_name: str | None = None) -> None:
        super().__init__(message)
        self.api_name = api_name


def _kind(module: Module, api_name: str) -> Kind:
    if api_name not in module.kinds:
        raise CriteriaError(f"unknown field {api_name!r}", api_name)
    return module.kinds[api_name]


def normalise(kind: Kind, value: Any) -> Any:
    """The comparable form of ``value`` for a field of ``kind`` (``None`` stays ``None``)."""
    if value is None:
        return None
    if kind is Kind.ID:
        return int(str(value))
    if kind in (Kind.INTEGER, Kind.FLOAT):
        if isinstance(value, bool):
            raise CriteriaError(f"expected a number, got {value!r}")
        return float(value)
    if kind is Kind.DATETIME:
        return parse_datetime(str(value))
    if kind is Kind.BOOLEAN:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text not in ("true", "false"):
            raise CriteriaError(f"expected true or false, got {value!r}")
        return text == "true"
    if kind in (Kind.LOOKUP, Kind.OBJECT):
        if isinstance(value, dict):
            return str(value.get("id"))
        return str(value)
    if kind is Kind.LIST:
        if isinstance(value, list):
            return [str(v.get("name") if isinstance(v, dict) else v).casefold() for v in value]
        return str(value).casefold()
    return str(value).casefold()


def _like(pattern: str) -> Callable[[str], bool]:
    """A matcher of SQL ``LIKE`` (``%`` any run, ``_`` one character), case-insensitive,
    in linear passes: a regex of many ``.*`` backtracks exponentially on a miss (16 ``%``
    took minutes of CPU).

    >>> _like("%ab%c_")("xxABycd"), _like("a%%%%%%%%%%%%%%%%b")("a" * 40)
    (True, False)
    """
    pieces = [p.casefold() for p in pattern.split("%")]
    anchored_end = len(pieces) > 1

    def at(text: str, piece: str, pos: int) -> bool:
        return all(c == "_" or text[pos + i] == c for i, c in enumerate(piece))

    def find(text: str, piece: str, start: int) -> int:
        if "_" not in piece:
            return text.find(piece, start)
        for pos in range(start, len(text) - len(piece) + 1):
            if at(text, piece, pos):
                return pos
        return -1

    def match(value: str) -> bool:
        text = value.casefold()
        first, last = pieces[0], pieces[-1]
        if not anchored_end:  # no %: the whole text is the piece
            return len(text) == len(first) and at(text, first, 0)
        if len(text) < len(first) + len(last) or not at(text, first, 0):
            return False
        end = len(text) - len(last)
        if not at(text, last, end):
            return False
        pos = len(first)
        # leftmost match of each middle piece is enough: % absorbs whatever lies between
        for piece in pieces[1:-1]:
            found = find(text[:end], piece, pos)
            if found < 0:
                return False
            pos = found + len(piece)
        return True

    return match


def condition(module: Module, api_name: str, op: str, value: Any) -> Cond:
    """A predicate on a record's values: ``api_name op value``.

    Raises
    ------
    CriteriaError
        Unknown field or operator, or a value that does not fit the field.
    """
    op = _ALIASES.get(op, op)
    if op not in OPERATORS:
        raise CriteriaError(f"unknown operator {op!r}", api_name)
    kind = _kind(module, api_name)
    if op == "is_null":
        return lambda v: v.get(api_name) in (None, "", [])
    if op == "is_not_null":
        return lambda v: v.get(api_name) not in (None, "", [])
    try:
        if op in ("in", "not_in", "between", "not_between"):
            items = value if isinstance(value, (list, tuple)) else [value]
            targets = [normalise(kind, x) for x in items]
        elif op in ("like", "not_like", "starts_with", "ends_with", "contains", "not_contains"):
            target_text = str(value)
        else:
            target = normalise(kind, value)
    except (ValueError, TypeError) as exc:
        raise CriteriaError(str(exc), api_name) from None

    def get(v: dict[str, Any]) -> Any:
        try:
            return normalise(kind, v.get(api_name))
        except (ValueError, TypeError):
            return None

    if kind is Kind.LIST and op in ("equal", "not_equal", "in", "not_in"):
        wanted = set(targets) if op in ("in", "not_in") else {target}
        positive = op in ("equal", "in")
        return lambda v: positive == bool(wanted & set(get(v) or []))
    if op == "equal":
        return lambda v: get(v) == target
    if op == "not_equal":
        return lambda v: get(v) != target
    if op in ("in", "not_in"):
        positive = op == "in"
        return lambda v: positive == (get(v) in targets)
    if op in ("between", "not_between"):
        if len(targets) != 2:
            raise CriteriaError("between takes two values", api_name)
        low, high = targets
        positive = op == "between"

        def between(v: dict[str, Any]) -> bool:
            x = get(v)
            return x is not None and positive == (low <= x <= high)

        return between
    if op in ("greater_than", "greater_equal", "less_than", "less_equal"):
        if target is None:
            raise CriteriaError("comparison with null", api_name)
        cmp: Callable[[Any, Any], bool] = {
            "greater_than": lambda a, b: a > b,
            "greater_equal": lambda a, b: a >= b,
            "less_than": lambda a, b: a < b,
            "less_equal": lambda a, b: a <= b,
        }[op]

        def compare(v: dict[str, Any]) -> bool:
            x = get(v)
            try:
                return x is not None and cmp(x, target)
            except TypeError:
                return False

        return compare
    if op in ("like", "not_like"):
        matches = _like(target_text)
        positive = op == "like"
        return lambda v: positive == matches(str(v.get(api_name) or ""))
    folded = target_text.casefold()
    if op == "starts_with":
        return lambda v: str(v.get(api_name) or "").casefold().startswith(folded)
    if op == "ends_with":
        return lambda v: str(v.get(api_name) or "").casefold().endswith(folded)
    positive = op == "contains"
    return lambda v: positive == (folded in str(v.get(api_name) or "").casefold())


def all_of(conds: list[Cond]) -> Cond:
    """True when every condition holds (an empty list always holds)."""
    if len(conds) == 1:
        return conds[0]
    return lambda v: all(c(v) for c in conds)


def any_of(conds: list[Cond]) -> Cond:
    """True when one condition holds."""
    return lambda v: any(c(v) for c in conds)
