"""Record endpoints: list (pages and v8 page tokens), get, insert, update, upsert, count."""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Request, Response

from crmframe.sandbox.criteria import Cond, all_of
from crmframe.sandbox.envelopes import ApiError
from crmframe.sandbox.listing import PageToken, View, page_text, project, sort_key
from crmframe.sandbox.params import (
    DUPLICATE_CHECK,
    MAX_WRITE,
    data_array,
    fields_param,
    header_time,
    int_param,
    invalid_param,
    json_body,
    path_module,
    search_condition,
    subform_module,
    view_cond,
)
from crmframe.sandbox.responses import empty, json_response, page_info, raw_json_response
from crmframe.sandbox.schema import Module
from crmframe.sandbox.state import State, Version
from crmframe.sandbox.store import Record
from crmframe.sandbox.subformrows import list_rows
from crmframe.sandbox.writes import write_status

__all__ = ["count", "get_record", "insert", "list_records", "update", "update_one", "upsert"]

MAX_PER_PAGE = 200
DISCRETE_LIMIT = 2000
TOKEN_LIMIT = 100_000


# ---------------------------------------------------------------------- GET list
def list_records(sb: State, request: Request, version: Version, module: str) -> Response:
    """``GET /crm/{ver}/{module}``: a page by number, or after a v8 ``page_token``; for a
    subform module, its rows (EMULATED, UNCONFIRMED: :mod:`~crmframe.sandbox.subformrows`)."""
    sub = subform_module(sb, module) if module not in sb.modules else None
    if sub is not None:
        return list_rows(sb, request, version, sub)
    mod = path_module(sb, version, module)
    fields = fields_param(request, version, mod, required=True)
    per_page = int_param(request, "per_page", MAX_PER_PAGE, 1, MAX_PER_PAGE)
    token_text = request.args.get("page_token") if version.modern else None
    if token_text is not None and request.args.get("page") is not None:
        raise ApiError(400, "AMBIGUITY_DURING_PROCESSING",
                       "You cannot use both page and page_token",
                       {"ambiguity_due_to": ["page", "page_token"]})
    page = int_param(request, "page", 1, 1, 10**9)
    sort_by = request.args.get("sort_by") or "id"
    sort_order = (request.args.get("sort_order") or "desc").lower()
    if sort_order not in ("asc", "desc"):
        raise invalid_param("sort_order")
    if version.modern and sort_by not in ("id", "Created_Time", "Modified_Time"):
        raise invalid_param("sort_by")
    if sort_by != "id" and sort_by not in mod.by_name:
        raise invalid_param("sort_by")
    cvid = request.args.get("cvid")
    cond: Cond | None = None
    if cvid:
        view_def = mod.view(cvid)
        if view_def is None:
            raise invalid_param("cvid")
        if version.modern and request.args.get("sort_by"):
            raise ApiError(400, "AMBIGUITY_DURING_PROCESSING",
                           "You cannot use both cvid and sort_by",
                           {"ambiguity_due_to": ["cvid", "sort_by"]})
        cond = view_cond(mod, view_def.criteria)
    ids_raw = request.args.get("ids")
    ids: tuple[str, ...] | None = None
    if ids_raw:
        ids = tuple(dict.fromkeys(i.strip() for i in ids_raw.split(",") if i.strip()))
        if len(ids) > 100:
            raise ApiError(400, "LIMIT_EXCEEDED", "limit exceeded",
                           {"limit": 100, "param_name": "ids"})
    since = header_time(request, "If-Modified-Since")
    descending = sort_order == "desc"
    if ids is not None:
        # at most 100 lookups by id, not a scan of the module
        found = [r for r in (sb.store.get(mod.api_name, i) for i in ids) if r is not None]
        if since is not None:
            found = [r for r in found if r.modified >= since]
        if cond is not None:
            found = [r for r in found if cond(r.values)]
        found.sort(key=lambda r: sort_key(r, sort_by))
        view = View(found, [sort_key(r, sort_by) for r in found])
    else:
        view = sb.views.get(mod.api_name, sort_by, filter_key=cvid, cond=cond, since=since)
    bound = (mod.api_name, tuple(fields) if fields is not None else None, sort_by, sort_order,
             cvid, ids, since)
    if token_text is not None:
        return _token_page(sb, version, mod, view, fields, token_text, bound, per_page,
                           sort_by, sort_order)
    offset = (page - 1) * per_page
    if offset + per_page > DISCRETE_LIMIT:
        raise ApiError(400, "DISCRETE_PAGINATION_LIMIT_EXCEEDED",
                       "You can only get the first 2000 records without using page_token param",
                       {"limit": DISCRETE_LIMIT})
    rows = view.page(offset, per_page, descending)
    if not rows:
        return empty(304 if since is not None else 204)
    more = len(view.records) > offset + len(rows)
    token, expiry = _next_token(sb, version, bound, rows[-1], sort_by, offset + len(rows), more)
    return _encode_page(rows, fields, mod.api_name, page_info(
        version, per_page=per_page, count=len(rows), page=page, more=more, sort_by=sort_by,
        sort_order=sort_order, next_token=token, expiry=expiry))


def _encode_page(page: list[Record], fields: list[str] | None, module: str,
                 info: dict[str, Any]) -> Response:
    return raw_json_response(page_text(page, fields, module, info))


def _next_token(sb: State, version: Version, bound: tuple[Any, ...], last: Record,
                sort_by: str, served: int, more: bool,
                previous: str | None = None) -> tuple[str | None, float | None]:
    if not version.modern or not more:
        return None, None
    now = sb.clock.now()
    expires = now + sb.page_token_ttl
    text = sb.tokens.issue(PageToken(bound, sort_key(last, sort_by), served, expires,
                                     previous), now)
    return text, expires


def _token_page(sb: State, version: Version, mod: Module, view: View,
                fields: list[str] | None, text: str, bound: tuple[Any, ...], per_page: int,
                sort_by: str, sort_order: str) -> Response:
    token = sb.tokens.find(text)
    if token is None:
        raise ApiError(400, "INVALID_DATA", "The token given seems to be invalid",
                       {"param_name": "page_token"})
    if token.expires <= sb.clock.now():
        raise ApiError(400, "EXPIRED_VALUE", "Page token expired",
                       {"api_name": "page_token", "json_path": "$.query.page_token"})
    if token.bound != bound:
        raise ApiError(400, "TOKEN_BOUND_DATA_MISMATCH",
                       "The page_token given seems to be invalid or input param is added or "
                       "altered or deleted", {"param_name": "page_token"})
    if token.served >= TOKEN_LIMIT:
        raise ApiError(400, "PAGINATION_LIMIT_EXCEEDED",
                       "You can only get upto 100000 records using page_token param",
                       {"param_name": "page_token"})
    sb.tokens.used(token)
    descending = sort_order == "desc"
    size = min(per_page, TOKEN_LIMIT - token.served)
    rows = view.after(token.last_key, size, descending)
    if not rows:
        return empty(204)
    served = token.served + len(rows)
    more = view.remaining_after(sort_key(rows[-1], sort_by), descending) > 0
    next_text, expiry = _next_token(sb, version, bound, rows[-1], sort_by, served, more,
                                    previous=text)
    return _encode_page(rows, fields, mod.api_name, page_info(
        version, per_page=per_page, count=len(rows), page=token.served // per_page + 1,
        more=more, sort_by=sort_by, sort_order=sort_order, next_token=next_text,
        expiry=expiry))


# ---------------------------------------------------------------------- one record
def get_record(sb: State, request: Request, version: Version, module: str,
               rid: str) -> Response:
    """``GET /crm/{ver}/{module}/{id}``."""
    mod = path_module(sb, version, module)
    fields = fields_param(request, version, mod, required=False)
    rec = sb.store.get(mod.api_name, rid)
    if rec is None:
        return empty(204)
    since = header_time(request, "If-Modified-Since")
    if since is not None and rec.modified < since:
        return empty(304)  # inclusive, like the listing's filter
    return json_response({"data": [project(rec, fields, mod.api_name)]})


# ---------------------------------------------------------------------- writes
def _write_data(parsed: dict[str, Any], version: Version) -> list[Any]:
    data = data_array(parsed)
    if len(data) > MAX_WRITE:
        raise ApiError(400, "LIMIT_EXCEEDED", "count of records in your request exceeds the limit",
                       {"maximum_length": MAX_WRITE, "api_name": "data"}, wrap=version.modern)
    return data


def insert(sb: State, request: Request, version: Version, module: str) -> Response:
    """``POST /crm/{ver}/{module}``."""
    mod = path_module(sb, version, module)
    data = _write_data(json_body(request), version)
    results = sb.writer.write(mod.api_name, data, op="insert", modern=version.modern,
                              unmodified_since=header_time(request, "If-Unmodified-Since"))
    return json_response({"data": results},
                         write_status(results, modern=version.modern, created=True))


def update(sb: State, request: Request, version: Version, module: str) -> Response:
    """``PUT /crm/{ver}/{module}``.

    ``If-Unmodified-Since`` (update, single update, upsert's update branch): the sandbox
    answers it **per record** — each record modified after the header's instant gets an
    ``ALREADY_MODIFIED`` item in ``data[]`` (details: the record's id, Modified_Time and
    Modified_By, as in Zoho's v8 example) and the others are written; HTTP 412 when every
    item is refused so, 207 when mixed (:func:`~crmframe.sandbox.writes.write_status`).
    Zoho's text leaves open a whole-request 412 as well; the client handles both.
    """
    mod = path_module(sb, version, module, wrap=True)
    data = _write_data(json_body(request), version)
    results = sb.writer.write(mod.api_name, data, op="update", modern=version.modern,
                              unmodified_since=header_time(request, "If-Unmodified-Since"))
    return json_response({"data": results},
                         write_status(results, modern=version.modern, created=False))


def update_one(sb: State, request: Request, version: Version, module: str,
               rid: str) -> Response:
    """``PUT /crm/{ver}/{module}/{id}``."""
    mod = path_module(sb, version, module, wrap=True)
    data = data_array(json_body(request))
    results = sb.writer.write(mod.api_name, data[:1], op="update", modern=version.modern,
                              path_id=rid,
                              unmodified_since=header_time(request, "If-Unmodified-Since"))
    return json_response({"data": results}, write_status(results, modern=version.modern))



def upsert(sb: State, request: Request, version: Version, module: str) -> Response:
    """``POST /crm/{ver}/{module}/upsert``: update the matching record or insert.

    Matches by ``id``, then by ``duplicate_check_fields`` (default: the module's unique
    fields, then Zoho's system ones: Email for Leads/Contacts, Account_Name, Deal_Name).
    """
    mod = path_module(sb, version, module)
    parsed = json_body(request)
    data = _write_data(parsed, version)
    checks = parsed.get("duplicate_check_fields")
    if checks is None:
        checks = [*mod.unique, *DUPLICATE_CHECK.get(mod.api_name, [])]
    if not isinstance(checks, list) or not all(isinstance(c, str) and c in mod.by_name
                                                for c in checks):
        raise ApiError(400, "INVALID_DATA", "invalid data",
                       {"api_name": "duplicate_check_fields"})
    results = sb.writer.upsert(mod.api_name, data, checks, modern=version.modern,
                               unmodified_since=header_time(request, "If-Unmodified-Since"))
    added = any(r.get("action") == "insert" for r in results)
    return json_response({"data": results},
                         write_status(results, modern=version.modern, created=added))


# ---------------------------------------------------------------------- count
def count(sb: State, request: Request, version: Version, module: str) -> Response:
    """``GET /crm/{ver}/{module}/actions/count``: of a custom view (``cvid``), or of what a
    search with the same ``criteria``/``email``/``phone``/``word`` finds (v8's spec)."""
    mod = path_module(sb, version, module)
    cvid = request.args.get("cvid")
    found = search_condition(mod, request)
    if cvid:
        view_def = mod.view(cvid)
        if view_def is None:
            raise invalid_param("cvid")
        cond = view_cond(mod, view_def.criteria)
        if found is not None:
            cond = found[0] if cond is None else all_of([cond, found[0]])
        key: Any = cvid if found is None else (cvid, found[1])  # cvid alone: the listing's
        view = sb.views.get(mod.api_name, "id", filter_key=key, cond=cond)
        return json_response({"count": len(view.records)})
    if found is not None:
        view = sb.views.get(mod.api_name, "id", filter_key=found[1], cond=found[0])
        return json_response({"count": len(view.records)})
    return json_response({"count": sb.store.count(mod.api_name)})
