"""COQL: ``POST /coql`` (the grammar is in ``coql.py``)."""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Request, Response

from crmframe.sandbox.coql import CoqlError, compile_where, parse
from crmframe.sandbox.envelopes import ApiError
from crmframe.sandbox.listing import sort_key
from crmframe.sandbox.params import json_body
from crmframe.sandbox.responses import empty, json_response
from crmframe.sandbox.schema import USER_PARTS, Module, user_part
from crmframe.sandbox.state import State, Version
from crmframe.sandbox.store import Record

__all__ = ["coql"]

#: Rows a v8 query may reach through offset + limit (v2: 10,000).
TOKEN_LIMIT = 100_000


def coql(sb: State, request: Request, version: Version) -> Response:
    """``POST /crm/{ver}/coql``."""
    body = json_body(request)
    text = body.get("select_query")
    if not isinstance(text, str):
        raise ApiError(400, "MANDATORY_NOT_FOUND", "required field not found",
                       {"api_name": "select_query"})
    try:
        q = parse(text)
        mod = sb.modules.get(q.module)
        if mod is None:
            raise CoqlError("INVALID_QUERY", "invalid module given", {"module": q.module})
        max_cols = 500 if version.modern else 50
        max_rows = version.max_coql_rows
        max_total = TOKEN_LIMIT if version.modern else 10_000
        if len(q.fields) > max_cols:
            raise CoqlError("LIMIT_EXCEEDED", "select columns limit exceeded",
                            {"limit": max_cols})
        if q.limit > max_rows or q.limit < 1:
            raise CoqlError("LIMIT_EXCEEDED", "limit exceeded", {"limit": max_rows})
        if q.offset + q.limit > max_total:
            raise CoqlError("LIMIT_EXCEEDED", "Max records limit exceeded",
                            {"limit": max_total})
        for name in q.fields:
            _check_column(sb, mod, name)
        for name, _desc in q.order:
            if name != "id" and name not in mod.by_name:
                raise CoqlError("INVALID_QUERY", "invalid column given", {"column_name": name})
        cond = compile_where(mod, q.where, 100 if version.modern else 50)
    except CoqlError as exc:
        raise ApiError(400, exc.code, exc.message, exc.details) from None
    view = sb.views.get(mod.api_name, "id", filter_key=("coql", repr(q.where)), cond=cond)
    rows = list(view.records)
    for name, desc in reversed(q.order):
        rows.sort(key=lambda r, n=name: sort_key(r, n)[0] if n != "id" else r.id,  # type: ignore[misc]
                  reverse=desc)
    page = rows[q.offset:q.offset + q.limit]
    if not page:
        return empty(204)
    data = [_coql_row(sb, mod, r, q.fields) for r in page]
    more = len(rows) > q.offset + len(page)
    return json_response({"data": data, "info": {"count": len(data), "more_records": more}})


def _check_column(sb: State, mod: Module, name: str) -> None:
    head, _, tail = name.partition(".")
    if head == "id" and not tail:
        return
    if head not in mod.by_name:
        raise CoqlError("INVALID_QUERY", "invalid column given", {"column_name": name})
    if not tail:
        return
    target = mod.lookups.get(head)
    other = sb.modules.get(str(target))
    if target is None or (target == "users" and tail not in USER_PARTS) or (
            other is not None and tail != "id" and tail not in other.by_name):
        raise CoqlError("INVALID_QUERY", "invalid column given", {"column_name": name})


def _coql_row(sb: State, mod: Module, rec: Record, fields: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in fields:
        head, _, tail = name.partition(".")
        value = rec.values.get(head)
        if tail:
            out[name] = None
            target = mod.lookups.get(head)
            if isinstance(value, dict) and target == "users":
                # the lookup holds name, id and email; the user has the other parts
                out[name] = user_part(value.get("id"), tail)
            elif isinstance(value, dict) and target in sb.modules:
                other = sb.store.get(str(target), str(value.get("id")))
                if other is not None:
                    out[name] = other.values.get(tail)
            elif isinstance(value, dict):
                out[name] = value.get(tail)
            continue
        if isinstance(value, dict) and "id" in value:
            value = {"id": value["id"]}
        out[name] = value
    out["id"] = rec.id
    return out
