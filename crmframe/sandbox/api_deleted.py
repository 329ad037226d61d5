"""``GET /crm/{ver}/{module}/deleted``: the records deleted from a module.

Every ``DELETE`` logs its records (in the same transaction as the delete) as Zoho's
recycle bin shows them; :meth:`crmframe.sandbox.server.SandboxServer.purge` empties the
bin, which turns entries ``permanent`` (no name nor users, as Zoho answers them).
Recycle-bin entries are listed for 60 days, permanent ones for 120 days
(zoho-api-part2.md §1.4). Latest deletion first; ``type`` all/recycle/permanent
(anything else ``PATTERN_NOT_MATCHED``); ``page``/``per_page`` (≤ 200) with
``info{per_page,count,page,more_records}``; ``If-Modified-Since`` keeps deletions at or
after that instant; nothing to list → 204 (304 when ``If-Modified-Since`` left nothing).
"""

from __future__ import annotations

from werkzeug.wrappers import Request, Response

from crmframe.sandbox.envelopes import ApiError
from crmframe.sandbox.params import header_time, int_param, path_module
from crmframe.sandbox.responses import empty, json_response
from crmframe.sandbox.state import State, Version

__all__ = ["KEPT_DAYS", "deleted"]

DAY = 86_400.0
#: How long Zoho lists a deletion, by type.
KEPT_DAYS = {"recycle": 60, "permanent": 120}
_TYPES = ("all", "recycle", "permanent")


MAX_PER_PAGE = 200


def deleted(sb: State, request: Request, version: Version, module: str) -> Response:
    """``GET /crm/{ver}/{module}/deleted``."""
    mod = path_module(sb, version, module)
    kind = request.args.get("type") or "all"
    if kind not in _TYPES:
        raise ApiError(400, "PATTERN_NOT_MATCHED", "Please check whether the input values are "
                       "correct", {"param_name": "type", "expected_pattern": "|".join(_TYPES)})
    per_page = int_param(request, "per_page", MAX_PER_PAGE, 1, MAX_PER_PAGE)
    page = int_param(request, "page", 1, 1, 10**6)
    since = header_time(request, "If-Modified-Since")
    now = sb.clock.now()
    entries = [
        entry for when, entry in sb.store.deleted(mod.api_name)
        if (kind == "all" or entry.get("type") == kind)
        and now - when <= KEPT_DAYS.get(str(entry.get("type")), 60) * DAY
        and (since is None or when >= since)
    ]
    offset = (page - 1) * per_page
    rows = entries[offset:offset + per_page]
    if not rows:
        return empty(304 if since is not None and offset == 0 else 204)
    more = len(entries) > offset + len(rows)
    return json_response({"data": rows, "info": {
        "per_page": per_page, "count": len(rows), "page": page, "more_records": more}})
