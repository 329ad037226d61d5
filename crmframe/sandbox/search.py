"""Zoho's search criteria: ``((Field:operator:value)and(Field:operator:value))``.

Operators: ``equals``, ``not_equal``, ``starts_with``, ``greater_than``,
``greater_equal``, ``less_than``, ``less_equal``, ``in``, ``between``. ``\\(``, ``\\)``,
``\\,`` and ``\\:`` escape those characters in values; ``in`` and ``between`` take
comma-separated values.

Examples
--------
>>> parse_criteria("((City:equals:Paris)and(No_of_Employees:greater_than:10))")
('and', [('City', 'equals', 'Paris'), ('No_of_Employees', 'greater_than', '10')])
"""

from __future__ import annotations

from typing import Any

__all__ = ["SEARCH_OPERATORS", "parse_criteria", "split_values"]

SEARCH_OPERATORS = frozenset({
    "equals", "not_equal", "starts_with", "greater_than", "greater_equal", "less_than",
    "less_equal", "in", "between",
})


class _P:
    def __init__(self, text: str) -> None:
        self.s = text
        self.i = 0

    def peek(self) -> str:
        return self.s[self.i] if self.i < len(self.s) else ""

    def group(self) -> Any:
        if self.peek() != "(":
            raise ValueError(f"expected '(' at {self.i}")
        self.i += 1
        if self.peek() == "(":
            parts = [self.group()]
            ops: list[str] = []
            while self.peek() != ")":
                op = self.word()
                if op not in ("and", "or"):
                    raise ValueError(f"expected and/or at {self.i}")
                ops.append(op)
                parts.append(self.group())
            self.i += 1
            if not ops:
                return parts[0]
            if len(set(ops)) > 1:
                raise ValueError("mixing and/or needs brackets")
            return (ops[0], parts)
        cond = self.condition()
        if self.peek() != ")":
            raise ValueError(f"expected ')' at {self.i}")
        self.i += 1
        return cond

    def word(self) -> str:
        start = self.i
        while self.peek().isalpha():
            self.i += 1
        return self.s[start:self.i].lower()

    def condition(self) -> tuple[str, str, str]:
        parts: list[str] = []
        buf: list[str] = []
        while True:
            ch = self.peek()
            if ch == "":
                raise ValueError("unterminated condition")
            if ch == "\\" and self.i + 1 < len(self.s):
                buf.append(self.s[self.i:self.i + 2])
                self.i += 2
                continue
            if ch == ")":
                break
            if ch == ":" and len(parts) < 2:
                parts.append("".join(buf))
                buf = []
                self.i += 1
                continue
            buf.append(ch)
            self.i += 1
        parts.append("".join(buf))
        if len(parts) != 3:
            raise ValueError("a condition is field:operator:value")
        name, op, value = parts
        if op not in SEARCH_OPERATORS:
            raise ValueError(f"unknown operator {op!r}")
        return (name.strip(), op, value)


def parse_criteria(text: str) -> Any:
    """Parse criteria into ``(field, op, raw_value)`` leaves and ``(and|or, parts)`` nodes."""
    p = _P(text.strip())
    if not p.s.startswith("("):
        p = _P(f"({p.s})")
    tree = p.group()
    if p.i != len(p.s):
        raise ValueError(f"unexpected text at {p.i}")
    return tree


def split_values(raw: str) -> list[str]:
    """Split on unescaped commas and drop the escapes."""
    out: list[str] = []
    buf: list[str] = []
    i = 0
    while i < len(raw):
        ch = raw[i]
        if ch == "\\" and i + 1 < len(raw):
            buf.append(raw[i + 1])
            i += 2
            continue
        if ch == ",":
            out.append("".join(buf))
            buf = []
        else:
            buf.append(ch)
        i += 1
    out.append("".join(buf))
    return out


def unescape(raw: str) -> str:
    """Drop the backslash escapes of a single value."""
    return split_values(raw.replace(",", "\\,"))[0]
