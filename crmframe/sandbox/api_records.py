"""Record endpoints: list/get, insert, update, count, search, mass update, COQL."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Request, Response

from crmframe.sandbox.clock import format_datetime, parse_datetime
from crmframe.sandbox.coql import CoqlError, compile_where, parse
from crmframe.sandbox.criteria import Cond, CriteriaError, all_of, any_of, condition
from crmframe.sandbox.envelopes import ApiError
from crmframe.sandbox.jobs import MassUpdateJob
from crmframe.sandbox.listing import PageToken, View, page_text, project, sort_key
from crmframe.sandbox.responses import empty, json_response, raw_json_response
from crmframe.sandbox.schema import USER_OFFSET_MINUTES, Module
from crmframe.sandbox.search import parse_criteria, split_values, unescape
from crmframe.sandbox.store import Record
from crmframe.sandbox.validation import Problem, check_value
from crmframe.sandbox.writes import write_status

if TYPE_CHECKING:
    from crmframe.sandbox.app import Sandbox, Version

__all__ = ["coql", "count", "mass_update", "record", "records", "search", "upsert"]

MAX_FIELDS_V8 = 50
MAX_PER_PAGE = 200
DISCRETE_LIMIT = 2000
TOKEN_LIMIT = 100_000
MAX_WRITE = 100
MAX_MASS_IDS = 500
MAX_MASS_CVID = 50_000
SEARCH_LIMIT = 2000


# ---------------------------------------------------------------------- helpers
_RESERVED = frozenset({"coql", "upload", "org", "users"})


def _module(sb: Sandbox, version: Version, name: str, *, wrap: bool = False) -> Module:
    from crmframe.sandbox.api_meta import find_module

    if name in _RESERVED:
        # /coql, /upload... exist with other methods: werkzeug matched {module} instead.
        raise ApiError(400, "INVALID_REQUEST_METHOD",
                       "The http request method type is not a valid one")
    mod = find_module(sb, name)
    if mod is None:
        raise ApiError(400, "INVALID_MODULE", "the module name given seems to be invalid",
                       {"resource_path_index": 0} if version.modern else {},
                       wrap=wrap and version.modern)
    return mod


def _invalid_param(name: str, message: str = "invalid data") -> ApiError:
    return ApiError(400, "INVALID_DATA", message, {"param_name": name})


def _int_param(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise _invalid_param(name) from None
    if not low <= value <= high:
        raise _invalid_param(name)
    return value


def _body(request: Request) -> dict[str, Any]:
    """The JSON object body, or Zoho's ``INVALID_DATA`` ``body`` error."""
    # get_json caches its result: the credit count already parsed this body.
    body = request.get_json(silent=True, force=True)
    if not isinstance(body, dict):
        raise ApiError(400, "INVALID_DATA", "body", {"expected_data_type": "jsonobject"})
    return body


def _data_array(body: dict[str, Any]) -> list[Any]:
    data = body.get("data")
    if not isinstance(data, list) or not data:
        raise ApiError(400, "INVALID_DATA", "invalid data",
                       {"expected_data_type": "jsonarray", "api_name": "data"})
    return data


def _unmodified_since(request: Request) -> float | None:
    header = request.headers.get("If-Unmodified-Since")
    if not header:
        return None
    try:
        return parse_datetime(header)
    except ValueError:
        raise ApiError(400, "INVALID_DATA", "invalid data",
                       {"header_name": "If-Unmodified-Since"}) from None


def _fields_param(request: Request, version: Version, mod: Module, *,
                  required: bool) -> list[str] | None:
    raw = request.args.get("fields")
    if raw is None or not raw.strip():
        if required and version.modern:
            raise ApiError(400, "REQUIRED_PARAM_MISSING", "required param is missing",
                           {"param_name": "fields"})
        return None
    names = list(dict.fromkeys(n.strip() for n in raw.split(",") if n.strip()))
    if version.modern and len(names) > MAX_FIELDS_V8:
        raise ApiError(400, "LIMIT_EXCEEDED", "limit exceeded",
                       {"limit": MAX_FIELDS_V8, "param_name": "fields"})
    # Zoho leaves out names it does not know; the record's id always comes back.
    return [n for n in names if n in mod.by_name and n != "id"]


def _encode_page(page: list[Record], fields: list[str] | None, module: str,
                 info: dict[str, Any]) -> Response:
    return raw_json_response(page_text(page, fields, module, info))


def _info(version: Version, *, per_page: int, count: int, page: int, more: bool,
          sort_by: str, sort_order: str, next_token: str | None = None,
          expiry: float | None = None) -> dict[str, Any]:
    if not version.modern:
        return {"per_page": per_page, "count": count, "page": page, "more_records": more}
    return {
        "call": False,
        "per_page": per_page,
        "next_page_token": next_token,
        "count": count,
        "sort_by": sort_by,
        "page": page,
        "page_token_expiry": (format_datetime(expiry, USER_OFFSET_MINUTES)
                              if expiry is not None else None),
        "sort_order": sort_order,
        "email": False,
        "more_records": more,
        "previous_page_token": None,
    }


def _view_cond(mod: Module, criteria: tuple[tuple[str, str, Any], ...]) -> Cond | None:
    if not criteria:
        return None
    return all_of([condition(mod, f, op, v) for f, op, v in criteria])


# ---------------------------------------------------------------------- GET list
def _list(sb: Sandbox, request: Request, version: Version, mod: Module) -> Response:
    fields = _fields_param(request, version, mod, required=True)
    per_page = _int_param(request, "per_page", MAX_PER_PAGE, 1, MAX_PER_PAGE)
    token_text = request.args.get("page_token") if version.modern else None
    if token_text is not None and request.args.get("page") is not None:
        raise ApiError(400, "AMBIGUITY_DURING_PROCESSING",
                       "You cannot use both page and page_token",
                       {"ambiguity_due_to": ["page", "page_token"]})
    page = _int_param(request, "page", 1, 1, 10**9)
    sort_by = request.args.get("sort_by") or "id"
    sort_order = (request.args.get("sort_order") or "desc").lower()
    if sort_order not in ("asc", "desc"):
        raise _invalid_param("sort_order")
    if version.modern and sort_by not in ("id", "Created_Time", "Modified_Time"):
        raise _invalid_param("sort_by")
    if sort_by != "id" and sort_by not in mod.by_name:
        raise _invalid_param("sort_by")
    cvid = request.args.get("cvid")
    cond: Cond | None = None
    if cvid:
        view_def = mod.view(cvid)
        if view_def is None:
            raise _invalid_param("cvid")
        if version.modern and request.args.get("sort_by"):
            raise ApiError(400, "AMBIGUITY_DURING_PROCESSING",
                           "You cannot use both cvid and sort_by",
                           {"ambiguity_due_to": ["cvid", "sort_by"]})
        cond = _view_cond(mod, view_def.criteria)
    ids_raw = request.args.get("ids")
    ids: tuple[str, ...] | None = None
    if ids_raw:
        ids = tuple(dict.fromkeys(i.strip() for i in ids_raw.split(",") if i.strip()))
        if len(ids) > 100:
            raise ApiError(400, "LIMIT_EXCEEDED", "limit exceeded",
                           {"limit": 100, "param_name": "ids"})
    since: float | None = None
    header = request.headers.get("If-Modified-Since")
    if header:
        try:
            since = parse_datetime(header)
        except ValueError:
            raise ApiError(400, "INVALID_DATA", "invalid data",
                           {"header_name": "If-Modified-Since"}) from None
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
    return _encode_page(rows, fields, mod.api_name, _info(
        version, per_page=per_page, count=len(rows), page=page, more=more, sort_by=sort_by,
        sort_order=sort_order, next_token=token, expiry=expiry))


def _next_token(sb: Sandbox, version: Version, bound: tuple[Any, ...], last: Record,
                sort_by: str, served: int, more: bool,
                previous: str | None = None) -> tuple[str | None, float | None]:
    if not version.modern or not more:
        return None, None
    now = sb.clock.now()
    expires = now + sb.page_token_ttl
    text = sb.tokens.issue(PageToken(bound, sort_key(last, sort_by), served, expires,
                                     previous), now)
    return text, expires


def _token_page(sb: Sandbox, version: Version, mod: Module, view: View,
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
    return _encode_page(rows, fields, mod.api_name, _info(
        version, per_page=per_page, count=len(rows), page=token.served // per_page + 1,
        more=more, sort_by=sort_by, sort_order=sort_order, next_token=next_text,
        expiry=expiry))


# ---------------------------------------------------------------------- endpoints
def records(sb: Sandbox, request: Request, version: Version, module: str) -> Response:
    """``GET|POST|PUT /crm/{ver}/{module}``."""
    mod = _module(sb, version, module, wrap=request.method == "PUT")
    if request.method == "GET":
        return _list(sb, request, version, mod)
    if request.method == "DELETE":
        raw = request.args.get("ids") or ""
        ids = [i.strip() for i in raw.split(",") if i.strip()]
        if not ids:
            raise ApiError(400, "REQUIRED_PARAM_MISSING", "required param is missing",
                           {"param_name": "ids"})
        if len(ids) > MAX_WRITE:
            raise ApiError(400, "LIMIT_EXCEEDED", "limit exceeded",
                           {"limit": MAX_WRITE, "param_name": "ids"})
        results = sb.writer.delete(mod.api_name, ids, modern=version.modern)
        return json_response({"data": results}, write_status(results, modern=version.modern))
    body = _body(request)
    data = _data_array(body)
    if len(data) > MAX_WRITE:
        raise ApiError(400, "LIMIT_EXCEEDED", "count of records in your request exceeds the limit",
                       {"maximum_length": MAX_WRITE, "api_name": "data"}, wrap=version.modern)
    op = "insert" if request.method == "POST" else "update"
    results = sb.writer.write(mod.api_name, data, op=op, modern=version.modern,  # type: ignore[arg-type]
                              unmodified_since=_unmodified_since(request))
    status = write_status(results, modern=version.modern, created=op == "insert")
    return json_response({"data": results}, status)


def record(sb: Sandbox, request: Request, version: Version, module: str, rid: str) -> Response:
    """``GET|PUT /crm/{ver}/{module}/{id}``."""
    mod = _module(sb, version, module, wrap=request.method == "PUT")
    if request.method == "GET":
        fields = _fields_param(request, version, mod, required=False)
        rec = sb.store.get(mod.api_name, rid)
        if rec is None:
            return empty(204)
        return json_response({"data": [project(rec, fields, mod.api_name)]})
    if request.method == "DELETE":
        results = sb.writer.delete(mod.api_name, [rid], modern=version.modern)
        return json_response({"data": results}, write_status(results, modern=version.modern))
    body = _body(request)
    data = _data_array(body)
    results = sb.writer.write(mod.api_name, data[:1], op="update", modern=version.modern,
                              path_id=rid, unmodified_since=_unmodified_since(request))
    return json_response({"data": results}, write_status(results, modern=version.modern))


#: Zoho's system duplicate-check fields, when a module has no unique field of its own.
_DUPLICATE_CHECK = {"Leads": ["Email"], "Contacts": ["Email"], "Accounts": ["Account_Name"],
                    "Deals": ["Deal_Name"]}


def upsert(sb: Sandbox, request: Request, version: Version, module: str) -> Response:
    """``POST /crm/{ver}/{module}/upsert``: update the matching record or insert.

    Matches by ``id``, then by ``duplicate_check_fields`` (default: the module's unique
    fields, then Zoho's system ones: Email for Leads/Contacts, Account_Name, Deal_Name).
    """
    mod = _module(sb, version, module)
    body = _body(request)
    data = _data_array(body)
    if len(data) > MAX_WRITE:
        raise ApiError(400, "LIMIT_EXCEEDED", "count of records in your request exceeds the limit",
                       {"maximum_length": MAX_WRITE, "api_name": "data"}, wrap=version.modern)
    checks = body.get("duplicate_check_fields")
    if checks is None:
        checks = [*mod.unique, *_DUPLICATE_CHECK.get(mod.api_name, [])]
    if not isinstance(checks, list) or not all(isinstance(c, str) and c in mod.by_name
                                                for c in checks):
        raise ApiError(400, "INVALID_DATA", "invalid data",
                       {"api_name": "duplicate_check_fields"})
    results = sb.writer.upsert(mod.api_name, data, checks, modern=version.modern)
    added = any(r.get("action") == "insert" for r in results)
    return json_response({"data": results},
                         write_status(results, modern=version.modern, created=added))


def count(sb: Sandbox, request: Request, version: Version, module: str) -> Response:
    """``GET /crm/{ver}/{module}/actions/count``."""
    mod = _module(sb, version, module)
    cvid = request.args.get("cvid")
    if cvid:
        view_def = mod.view(cvid)
        if view_def is None:
            raise _invalid_param("cvid")
        view = sb.views.get(mod.api_name, "id", filter_key=cvid,
                            cond=_view_cond(mod, view_def.criteria))
        return json_response({"count": len(view.records)})
    return json_response({"count": sb.store.count(mod.api_name)})


def _search_cond(mod: Module, tree: Any) -> Cond:
    if tree[0] in ("and", "or") and isinstance(tree[1], list):
        parts = [_search_cond(mod, t) for t in tree[1]]
        return all_of(parts) if tree[0] == "and" else any_of(parts)
    name, op, raw = tree
    if op in ("in", "between"):
        value: Any = split_values(raw)
    else:
        value = unescape(raw)
    if value == "${EMPTY}":
        return condition(mod, name, "is_null" if op == "equals" else "is_not_null", None)
    return condition(mod, name, {"equals": "equal"}.get(op, op), value)


def search(sb: Sandbox, request: Request, version: Version, module: str) -> Response:
    """``GET /crm/{ver}/{module}/search`` with ``criteria``, ``email``, ``phone`` or ``word``."""
    mod = _module(sb, version, module)
    per_page = _int_param(request, "per_page", MAX_PER_PAGE, 1, MAX_PER_PAGE)
    page = _int_param(request, "page", 1, 1, 10**6)
    fields = _fields_param(request, version, mod, required=False)
    criteria = request.args.get("criteria")
    try:
        if criteria:
            cond = _search_cond(mod, parse_criteria(criteria))
        elif request.args.get("email"):
            email = request.args["email"]
            names = [f["api_name"] for f in mod.fields if f["data_type"] == "email"]
            cond = any_of([condition(mod, n, "equal", email) for n in names])
        elif request.args.get("phone"):
            phone = request.args["phone"]
            names = [f["api_name"] for f in mod.fields if f["data_type"] == "phone"]
            cond = any_of([condition(mod, n, "equal", phone) for n in names])
        elif request.args.get("word"):
            word = request.args["word"].casefold()
            cond = lambda v: any(  # noqa: E731
                isinstance(x, str) and word in x.casefold() for x in v.values())
        else:
            raise ApiError(400, "EXPECTED_PARAM_MISSING", "mandatory param missing",
                           {"param_name": ["criteria", "email", "phone", "word"]})
    except (ValueError, CriteriaError) as exc:
        raise ApiError(400, "INVALID_QUERY", "invalid query formed",
                       {"reason": str(exc)}) from None
    offset = (page - 1) * per_page
    if offset + per_page > SEARCH_LIMIT:
        raise ApiError(400, "LIMIT_REACHED", "Maximum response iteration limit reached",
                       {"limit": SEARCH_LIMIT})
    key = ("search", request.args.get("criteria"), request.args.get("email"),
           request.args.get("phone"), request.args.get("word"))
    view = sb.views.get(mod.api_name, "id", filter_key=key, cond=cond)
    rows = view.page(offset, per_page, False)
    if not rows:
        return empty(204)
    more = len(view.records) > offset + len(rows) and offset + len(rows) < SEARCH_LIMIT
    info = {"per_page": per_page, "count": len(rows), "page": page, "more_records": more}
    return _encode_page(rows, fields, mod.api_name, info)


# ---------------------------------------------------------------------- mass update
def _mass_error(version: Version, code: str, message: str,
                details: dict[str, Any] | None = None) -> ApiError:
    # v2 answers these inside data[] with HTTP 200 (seed 004), v8 with 400.
    return ApiError(400 if version.modern else 200, code, message, details, wrap=True)


def mass_update(sb: Sandbox, request: Request, version: Version, module: str) -> Response:
    """``POST|GET /crm/{ver}/{module}/actions/mass_update``."""
    mod = _module(sb, version, module)
    if request.method == "GET":
        return _mass_status(sb, request, mod)
    body = _body(request)
    data = body.get("data")
    if not isinstance(data, list) or not data or not isinstance(data[0], dict) or not data[0]:
        raise _mass_error(version, "INVALID_DATA", "No field found")
    changes_in: dict[str, Any] = data[0]
    if len(changes_in) > mod.max_mass_fields:
        raise _mass_error(version, "INVALID_DATA", "Max field limit exceeded",
                          {"limit": mod.max_mass_fields})
    changes: dict[str, Any] = {}
    for name, value in changes_in.items():
        if name not in mod.mass:
            raise _mass_error(version, "INVALID_DATA",
                              "This field cannot be updated in the Mass Update",
                              {"api_name": name})
        checked = check_value(mod, name, value, "$.data[0]." + name if version.modern else None,
                              sb.writer.resolve)
        if isinstance(checked, Problem):
            raise ApiError(400 if version.modern else 200, checked.code, checked.message,
                           checked.details, wrap=True)
        changes[name] = checked
    over_write = bool(body.get("over_write", False))
    ids = body.get("ids")
    cvid = body.get("cvid")
    if ids is None and cvid is None:
        raise _mass_error(version, "MANDATORY_NOT_FOUND", "required field not found")
    if ids is not None:
        if not isinstance(ids, list) or not ids:
            raise _mass_error(version, "INVALID_DATA", "invalid data",
                              {"expected_data_type": "jsonarray", "api_name": "ids"})
        if len(ids) > MAX_MASS_IDS:
            raise _mass_error(version, "LIMIT_EXCEEDED", "Record count exceeded",
                              {"limit": MAX_MASS_IDS, "api_name": "ids"})
        results = sb.writer.mass_apply(mod.api_name, ids, changes, over_write=over_write,
                                       modern=version.modern)
        return json_response({"data": results},
                             write_status(results, modern=version.modern, mass=True))
    view_def = mod.view(str(cvid))
    if view_def is None:
        raise _mass_error(version, "INVALID_DATA", "invalid data", {"api_name": "cvid"})
    if sb.jobs.running_on(mod.api_name, view_def.id):
        raise ApiError(202, "ALREADY_SCHEDULED",
                       "Already a Mass Action scheduler is running for the given cvid",
                       {"cvid": view_def.id}, wrap=True)
    view = sb.views.get(mod.api_name, "id", filter_key=view_def.id,
                        cond=_view_cond(mod, view_def.criteria))
    if len(view.records) > MAX_MASS_CVID:
        raise _mass_error(version, "LIMIT_EXCEEDED", "Record count exceeded",
                          {"limit": MAX_MASS_CVID})
    job = MassUpdateJob(sb.jobs.new_id(), mod.api_name, view_def.id,
                        [r.id for r in view.records], changes, over_write, sb.clock.now())
    sb.jobs.add_mass(job)
    return json_response({"data": [{
        "code": "SUCCESS", "details": {"job_id": job.id},
        "message": "mass update scheduled successfully", "status": "success"}]}, 202)


def _mass_status(sb: Sandbox, request: Request, mod: Module) -> Response:
    job_id = request.args.get("job_id")
    if not job_id:
        raise ApiError(400, "MANDATORY_NOT_FOUND", "mandatory param missing",
                       {"param_name": "job_id"})
    if not job_id.isdigit():
        raise ApiError(400, "INVALID_DATA", "The jobid given seems to be invalid",
                       {"param_name": "job_id"})
    with sb.jobs.lock:
        job = sb.jobs.mass.get(job_id)
        if job is None or job.module != mod.api_name:
            raise ApiError(404, "NOT_FOUND", "Empty response")
        item = job.status(sb.clock.now(), sb.jobs.delay)
    return json_response({"data": [item]})


# ---------------------------------------------------------------------- COQL
def coql(sb: Sandbox, request: Request, version: Version) -> Response:
    """``POST /crm/{ver}/coql``."""
    body = _body(request)
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
            _check_column(mod, name)
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


def _check_column(mod: Module, name: str) -> None:
    head, _, tail = name.partition(".")
    if head == "id" and not tail:
        return
    if head not in mod.by_name:
        raise CoqlError("INVALID_QUERY", "invalid column given", {"column_name": name})
    if tail and head not in mod.lookups:
        raise CoqlError("INVALID_QUERY", "invalid column given", {"column_name": name})


def _coql_row(sb: Sandbox, mod: Module, rec: Record, fields: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name in fields:
        head, _, tail = name.partition(".")
        value = rec.values.get(head)
        if tail:
            out[name] = None
            target = mod.lookups.get(head)
            if isinstance(value, dict) and target in sb.modules:
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
