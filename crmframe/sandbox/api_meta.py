"""Metadata endpoints: org, users, modules, fields, custom views."""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Request, Response

from crmframe.sandbox.envelopes import ApiError
from crmframe.sandbox.params import module_param
from crmframe.sandbox.responses import json_response
from crmframe.sandbox.schema import ORG, USERS, Module
from crmframe.sandbox.state import State, Version

__all__ = ["custom_view", "custom_views", "fields", "modules", "org", "users"]


def org(sb: State, request: Request, version: Version) -> Response:
    """``GET /crm/{ver}/org``."""
    return json_response({"org": [dict(ORG)]})


def users(sb: State, request: Request, version: Version) -> Response:
    """``GET /crm/{ver}/users``."""
    out = []
    for i, u in enumerate(USERS):
        first, _, last = u["name"].partition(" ")
        out.append({"id": u["id"], "full_name": u["name"], "first_name": first,
                    "last_name": last, "email": u["email"], "status": "active",
                    "role": {"name": "CEO" if i == 0 else "Manager", "id": "4876876000000000051"},
                    "profile": {"name": "Administrator", "id": "4876876000000000041"}})
    return json_response({"users": out, "info": {"per_page": 200, "count": len(out), "page": 1,
                                                 "more_records": False}})


def modules(sb: State, request: Request, version: Version) -> Response:
    """``GET /crm/{ver}/settings/modules``."""
    return json_response({"modules": [m.to_json() for m in sb.modules.values()]})


def fields(sb: State, request: Request, version: Version) -> Response:
    """``GET /crm/{ver}/settings/fields?module=``."""
    mod = module_param(sb, request, version)
    items: list[dict[str, Any]] = [dict(f) for f in mod.fields]
    return json_response({"fields": items})


def custom_views(sb: State, request: Request, version: Version) -> Response:
    """``GET /crm/{ver}/settings/custom_views?module=``."""
    mod = module_param(sb, request, version)
    return json_response({
        "custom_views": [v.to_json(_field_ids(mod)) for v in mod.views],
        "info": {"per_page": 200, "default": mod.views[0].id, "count": len(mod.views),
                 "page": 1, "more_records": False},
    })


def custom_view(sb: State, request: Request, version: Version, cvid: str) -> Response:
    """``GET /crm/{ver}/settings/custom_views/{id}?module=``."""
    mod = module_param(sb, request, version)
    view = mod.view(cvid)
    if view is None:
        raise ApiError(400, "INVALID_DATA", "invalid data", {"param_name": "id"})
    return json_response({"custom_views": [view.to_json(_field_ids(mod))]})


def _field_ids(mod: Module) -> dict[str, str]:
    return {name: str(f["id"]) for name, f in mod.by_name.items()}
