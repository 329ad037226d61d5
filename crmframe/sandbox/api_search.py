"""``GET /{module}/search``: Zoho's ``criteria`` syntax, or ``email``, ``phone``, ``word``."""

from __future__ import annotations

from werkzeug.wrappers import Request, Response

from crmframe.sandbox.envelopes import ApiError
from crmframe.sandbox.listing import page_text
from crmframe.sandbox.params import fields_param, int_param, path_module, search_condition
from crmframe.sandbox.responses import empty, raw_json_response
from crmframe.sandbox.state import State, Version

__all__ = ["search"]

MAX_PER_PAGE = 200
SEARCH_LIMIT = 2000


def search(sb: State, request: Request, version: Version, module: str) -> Response:
    """``GET /crm/{ver}/{module}/search`` with ``criteria``, ``email``, ``phone`` or ``word``."""
    mod = path_module(sb, version, module)
    per_page = int_param(request, "per_page", MAX_PER_PAGE, 1, MAX_PER_PAGE)
    page = int_param(request, "page", 1, 1, 10**6)
    fields = fields_param(request, version, mod, required=False)
    found = search_condition(mod, request)
    if found is None:
        raise ApiError(400, "EXPECTED_PARAM_MISSING", "mandatory param missing",
                       {"param_name": ["criteria", "email", "phone", "word"]})
    cond, key = found
    offset = (page - 1) * per_page
    if offset + per_page > SEARCH_LIMIT:
        raise ApiError(400, "LIMIT_REACHED", "Maximum response iteration limit reached",
                       {"limit": SEARCH_LIMIT})
    view = sb.views.get(mod.api_name, "id", filter_key=key, cond=cond)
    rows = view.page(offset, per_page, False)
    if not rows:
        return empty(204)
    more = len(view.records) > offset + len(rows) and offset + len(rows) < SEARCH_LIMIT
    info = {"per_page": per_page, "count": len(rows), "page": page, "more_records": more}
    return raw_json_response(page_text(rows, fields, mod.api_name, info))
