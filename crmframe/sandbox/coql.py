"""A small COQL: ``select <fields> from <module> where <criteria> order by ... limit ...``.

Supported: a select list of field API names (``id``, and ``Lookup.Field`` one level
deep); ``where`` with ``= != <> > < >= <=``, ``like``/``not like`` (``%`` and ``_``),
``in (...)``/``not in (...)``, ``is null``/``is not null``, ``between a and b``, ``and``/
``or`` and brackets; ``order by f [asc|desc], ...``; ``limit offset, count`` and
``limit count offset offset``. Lookups come back as ``{"id": ...}`` only.

Limits (zoho-api.md §7): rows per call 2,000 on v3+ and 200 on v2/v2.1; offset + count up
to 100,000 on v3+ and 10,000 on v2/v2.1 (UNCONFIRMED upstream for v2.1); 50 select
columns on v2/v2.1, 500 on v3+; 50 values in ``in`` on v2/v2.1, 100 on v3+.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from crmframe.core.fieldtypes import Kind
from crmframe.sandbox.criteria import Cond, CriteriaError, all_of, any_of, condition
from crmframe.sandbox.schema import Module

__all__ = ["CoqlError", "Query", "Tok", "parse", "tokenize"]

_TOKEN = re.compile(
    r"""\s*(?:
        (?P<str>'(?:[^'\\]|\\.)*')
      | (?P<num>-?\d+(?:\.\d+)?)(?![\w.])
      | (?P<op>>=|<=|!=|<>|=|<|>)
      | (?P<punct>[(),*])
      | (?P<ident>[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)?)
    )""",
    re.VERBOSE,
)
KEYWORDS = frozenset({
    "select", "from", "where", "and", "or", "order", "by", "asc", "desc", "limit", "offset",
    "in", "not", "like", "is", "null", "between", "true", "false",
})


class CoqlError(Exception):
    """A query Zoho would refuse: ``code`` is SYNTAX_ERROR, INVALID_QUERY or LIMIT_EXCEEDED."""

    def __init__(self, code: str, message: str, details: dict[str, Any] | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.details = details or {}


@dataclass(frozen=True)
class Tok:
    """A token: its kind (``str num op punct ident kw``) and value."""

    kind: str
    value: Any
    pos: int


def tokenize(text: str) -> list[Tok]:
    """Split a query into tokens (keywords lower-cased, strings unquoted)."""
    toks: list[Tok] = []
    pos = 0
    text = text.rstrip().rstrip(";")
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        m = _TOKEN.match(text, pos)
        if m is None:
            raise CoqlError("SYNTAX_ERROR", "error occured while parsing the query",
                            {"near": text[pos:pos + 20].strip(), "column": pos})
        kind = m.lastgroup or ""
        raw = m.group(kind)
        start = m.start(kind)
        value: Any = raw
        if kind == "str":
            value = re.sub(r"\\(.)", r"\1", raw[1:-1])
        elif kind == "num":
            value = float(raw) if "." in raw else int(raw)
        elif kind == "ident" and raw.lower() in KEYWORDS:
            kind, value = "kw", raw.lower()
        toks.append(Tok(kind, value, start))
        pos = m.end()
    return toks


@dataclass
class Query:
    """A parsed query."""

    fields: list[str]
    module: str
    where: Any
    order: list[tuple[str, bool]] = field(default_factory=list)
    offset: int = 0
    limit: int = 200


class _Parser:
    def __init__(self, toks: list[Tok]) -> None:
        self.toks = toks
        self.i = 0

    def peek(self, offset: int = 0) -> Tok | None:
        j = self.i + offset
        return self.toks[j] if j < len(self.toks) else None

    def is_kw(self, *words: str) -> bool:
        t = self.peek()
        return t is not None and t.kind == "kw" and t.value in words

    def take(self) -> Tok:
        t = self.peek()
        if t is None:
            raise CoqlError("SYNTAX_ERROR", "error occured while parsing the query",
                            {"near": "end of query"})
        self.i += 1
        return t

    def expect_kw(self, word: str, clause: str) -> None:
        t = self.peek()
        if t is None or t.kind != "kw" or t.value != word:
            raise CoqlError("SYNTAX_ERROR", f"missing {word} clause" if clause else
                            "error occured while parsing the query",
                            {"clause": clause or word, "near": getattr(t, "value", None)})
        self.i += 1

    def expect_punct(self, ch: str) -> None:
        t = self.take()
        if t.kind != "punct" or t.value != ch:
            raise CoqlError("SYNTAX_ERROR", "error occured while parsing the query",
                            {"near": t.value, "column": t.pos})

    # select a, b from M where ... order by ... limit ...
    def query(self) -> Query:
        if not self.is_kw("select"):
            raise CoqlError("SYNTAX_ERROR", "only select queries are supported",
                            {"clause": "select"})
        self.take()
        fields = [self.ident("select")]
        while self.peek() is not None and self.peek().kind == "punct" and self.peek().value == ",":  # type: ignore[union-attr]
            self.take()
            fields.append(self.ident("select"))
        self.expect_kw("from", "from")
        module = self.ident("from")
        if not self.is_kw("where"):
            raise CoqlError("SYNTAX_ERROR", "missing where clause", {"clause": "where"})
        self.take()
        where = self.expr()
        q = Query(fields, module, where)
        if self.is_kw("order"):
            self.take()
            self.expect_kw("by", "order by")
            while True:
                name = self.ident("order by")
                desc = False
                if self.is_kw("asc", "desc"):
                    desc = self.take().value == "desc"
                q.order.append((name, desc))
                t = self.peek()
                if t is not None and t.kind == "punct" and t.value == ",":
                    self.take()
                    continue
                break
        if self.is_kw("limit"):
            self.take()
            first = self.number("limit")
            t = self.peek()
            if t is not None and t.kind == "punct" and t.value == ",":
                self.take()
                q.offset, q.limit = first, self.number("limit")
            elif self.is_kw("offset"):
                self.take()
                q.limit, q.offset = first, self.number("offset")
            else:
                q.limit = first
        if self.peek() is not None:
            t = self.take()
            raise CoqlError("SYNTAX_ERROR", "error occured while parsing the query",
                            {"near": t.value, "column": t.pos})
        return q

    def ident(self, clause: str) -> str:
        t = self.take()
        if t.kind != "ident":
            raise CoqlError("SYNTAX_ERROR", "error occured while parsing the query",
                            {"clause": clause, "near": t.value, "column": t.pos})
        return str(t.value)

    def number(self, clause: str) -> int:
        t = self.take()
        if t.kind != "num" or not isinstance(t.value, int) or t.value < 0:
            raise CoqlError("SYNTAX_ERROR", "error occured while parsing the query",
                            {"clause": clause, "near": t.value, "column": t.pos})
        return int(t.value)

    # expr := term (or term)* ; term := factor (and factor)*
    def expr(self) -> Any:
        parts = [self.term()]
        while self.is_kw("or"):
            self.take()
            parts.append(self.term())
        return parts[0] if len(parts) == 1 else ("or", parts)

    def term(self) -> Any:
        parts = [self.factor()]
        while self.is_kw("and"):
            self.take()
            parts.append(self.factor())
        return parts[0] if len(parts) == 1 else ("and", parts)

    def factor(self) -> Any:
        t = self.peek()
        if t is not None and t.kind == "punct" and t.value == "(":
            self.take()
            inner = self.expr()
            self.expect_punct(")")
            return inner
        name = self.ident("where")
        t = self.take()
        if t.kind == "op":
            return ("cmp", name, str(t.value), self.value())
        if t.kind == "kw" and t.value == "is":
            negate = self.is_kw("not")
            if negate:
                self.take()
            self.expect_kw("null", "")
            return ("cmp", name, "is_not_null" if negate else "is_null", None)
        negate = False
        if t.kind == "kw" and t.value == "not":
            negate = True
            t = self.take()
        if t.kind == "kw" and t.value == "like":
            return ("cmp", name, "not_like" if negate else "like", self.value())
        if t.kind == "kw" and t.value == "in":
            self.expect_punct("(")
            values = [self.value()]
            while True:
                nxt = self.take()
                if nxt.kind == "punct" and nxt.value == ",":
                    values.append(self.value())
                    continue
                if nxt.kind == "punct" and nxt.value == ")":
                    break
                raise CoqlError("SYNTAX_ERROR", "error occured while parsing the query",
                                {"near": nxt.value, "column": nxt.pos})
            return ("cmp", name, "not_in" if negate else "in", values)
        if t.kind == "kw" and t.value == "between":
            low = self.value()
            self.expect_kw("and", "")
            high = self.value()
            return ("cmp", name, "not_between" if negate else "between", [low, high])
        raise CoqlError("INVALID_QUERY", "invalid operator found", {"operator": t.value,
                                                                    "column_name": name})

    def value(self) -> Any:
        t = self.take()
        if t.kind in ("str", "num"):
            return t.value
        if t.kind == "kw" and t.value in ("true", "false"):
            return t.value == "true"
        if t.kind == "kw" and t.value == "null":
            return None
        raise CoqlError("SYNTAX_ERROR", "error occured while parsing the query",
                        {"near": t.value, "column": t.pos})


def parse(text: str) -> Query:
    """Parse a select query (raises :class:`CoqlError`)."""
    if not isinstance(text, str) or not text.strip():
        raise CoqlError("SYNTAX_ERROR", "error occured while parsing the query", {})
    return _Parser(tokenize(text)).query()


def compile_where(module: Module, node: Any, max_in: int) -> Cond:
    """Turn the parsed where tree into a predicate on record values."""
    if node[0] in ("and", "or"):
        conds = [compile_where(module, n, max_in) for n in node[1]]
        return all_of(conds) if node[0] == "and" else any_of(conds)
    _, name, op, value = node
    if isinstance(value, list) and len(value) > max_in:
        raise CoqlError("LIMIT_EXCEEDED", f"more than {max_in} values for the in comparator",
                        {"limit": max_in, "column_name": name})
    if "." in name:
        head, _, tail = name.partition(".")
        if tail != "id" or module.kinds.get(head) is not Kind.LOOKUP:
            raise CoqlError("INVALID_QUERY", "invalid column given", {"column_name": name})
        name = head
    if name not in module.kinds:
        raise CoqlError("INVALID_QUERY", "invalid column given", {"column_name": name})
    kind = module.kinds[name]
    if op in ("like", "not_like") and kind not in (Kind.TEXT,):
        raise CoqlError("INVALID_QUERY", "invalid operator found",
                        {"operator": op, "column_name": name})
    try:
        return condition(module, name, op, value)
    except CriteriaError:
        raise CoqlError("INVALID_QUERY", "invalid data type for the value",
                        {"column_name": name}) from None
