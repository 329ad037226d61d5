"""``GET /crm/{ver}/{subform_module}`` (answered by ``api_records``): the rows of one
subform, of every parent record.

EMULATED, UNCONFIRMED upstream. The project's API notes (part 2 §4) say
``GET /crm/{ver}/<subform_api_name>?fields=…`` (at most 50 fields) exists and presumably
lists the rows of all parents, without a Zoho text confirming what it lists. The sandbox
answers with the rows of every parent record, parents in ascending id order, each parent's
rows in the order of its array. Each row carries ``id``, ``Parent_Id`` ``{"name", "id"}``
and the fields asked for. Pages go by number (``page``, ``per_page`` ≤ 200,
``info.more_records``), without page tokens and without the 2,000-record limit of record
listings (neither is documented for it).

It lets a bulk read, whose CSV has no column for subform fields, fill them in with one
call per 200 subform rows instead of paging the parent module.

>>> from crmframe.sandbox.schema import build_modules
>>> sub = build_modules()["Leads"].subforms["Lead_Contacts"]
>>> sub.parent, "Contact_Name" in sub.by_name
('Leads', True)
"""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Request, Response

from crmframe.sandbox.params import fields_param, int_param
from crmframe.sandbox.responses import empty, json_response, page_info
from crmframe.sandbox.schema import Module
from crmframe.sandbox.state import State, Version

__all__ = ["MAX_PER_PAGE", "list_rows"]

MAX_PER_PAGE = 200


def _all_rows(sb: State, sub: Module) -> list[dict[str, Any]]:
    """Every stored row of ``sub``, cached until the parent module changes."""
    parent = str(sub.parent)
    version = sb.store.version(parent)
    cached = sb.subform_rows.get(sub.api_name)
    if cached is not None and cached[0] == version:
        return cached[1]
    field = next(name for name, s in sb.modules[parent].subforms.items() if s is sub)
    rows = [row for rec in sb.store.records(parent)
            for row in (rec.values.get(field) or ()) if isinstance(row, dict)]
    sb.subform_rows[sub.api_name] = (version, rows)
    return rows


def list_rows(sb: State, request: Request, version: Version, sub: Module) -> Response:
    """One page of ``sub``'s rows (every parent's); 204 past the last."""
    fields = fields_param(request, version, sub, required=True)
    per_page = int_param(request, "per_page", MAX_PER_PAGE, 1, MAX_PER_PAGE)
    page = int_param(request, "page", 1, 1, 10**9)
    rows = _all_rows(sb, sub)
    offset = (page - 1) * per_page
    chunk = rows[offset:offset + per_page]
    if not chunk:
        return empty(204)
    names = [n for n in (fields if fields is not None else sub.names)
             if n not in ("id", "Parent_Id")]
    data = [{"id": row.get("id"), "Parent_Id": row.get("Parent_Id"),
             **{n: row.get(n) for n in names}} for row in chunk]
    more = len(rows) > offset + len(chunk)
    return json_response({"data": data, "info": page_info(
        version, per_page=per_page, count=len(chunk), page=page, more=more, sort_by="id",
        sort_order="asc")})
