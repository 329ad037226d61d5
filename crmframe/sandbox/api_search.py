"""``GET /{module}/search``: Zoho's ``criteria`` syntax, or ``email``, ``phone``, ``word``."""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Request, Response

from crmframe.sandbox.criteria import Cond, CriteriaError, all_of, any_of, condition
from crmframe.sandbox.envelopes import ApiError
from crmframe.sandbox.listing import page_text
from crmframe.sandbox.params import fields_param, int_param, path_module
from crmframe.sandbox.responses import empty, raw_json_response
from crmframe.sandbox.schema import Module
from crmframe.sandbox.search import parse_criteria, split_values, unescape
from crmframe.sandbox.state import State, Version

__all__ = ["search"]

MAX_PER_PAGE = 200
SEARCH_LIMIT = 2000


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


def search(sb: State, request: Request, version: Version, module: str) -> Response:
    """``GET /crm/{ver}/{module}/search`` with ``criteria``, ``email``, ``phone`` or ``word``."""
    mod = path_module(sb, version, module)
    per_page = int_param(request, "per_page", MAX_PER_PAGE, 1, MAX_PER_PAGE)
    page = int_param(request, "page", 1, 1, 10**6)
    fields = fields_param(request, version, mod, required=False)
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
    return raw_json_response(page_text(rows, fields, mod.api_name, info))
