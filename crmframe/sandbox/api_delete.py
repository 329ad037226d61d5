"""Deleting records: ``DELETE /{module}?ids=`` and ``DELETE /{module}/{id}``."""

from __future__ import annotations

from werkzeug.wrappers import Request, Response

from crmframe.sandbox.envelopes import ApiError
from crmframe.sandbox.params import MAX_WRITE, path_module
from crmframe.sandbox.responses import json_response
from crmframe.sandbox.state import State, Version
from crmframe.sandbox.writes import write_status

__all__ = ["delete_many", "delete_one"]


def delete_many(sb: State, request: Request, version: Version, module: str) -> Response:
    """``DELETE /crm/{ver}/{module}?ids=`` (at most 100)."""
    mod = path_module(sb, version, module)
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


def delete_one(sb: State, request: Request, version: Version, module: str,
               rid: str) -> Response:
    """``DELETE /crm/{ver}/{module}/{id}``."""
    mod = path_module(sb, version, module)
    results = sb.writer.delete(mod.api_name, [rid], modern=version.modern)
    return json_response({"data": results}, write_status(results, modern=version.modern))
