"""Metadata endpoints: org, users, modules, fields, custom views."""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Request, Response

from crmframe.sandbox.envelopes import ApiError
from crmframe.sandbox.params import all_modules, find_module, module_param, settings_module
from crmframe.sandbox.responses import empty, json_response
from crmframe.sandbox.schema import ORG, PROFILES, USERS, Module
from crmframe.sandbox.state import State, Version

__all__ = ["custom_view", "custom_views", "fields", "module", "modules", "org", "user", "users",
           "users_count"]


def org(sb: State, request: Request, version: Version) -> Response:
    """``GET /crm/{ver}/org``."""
    return json_response({"org": [dict(ORG)]})


def _user_json(index: int) -> dict[str, Any]:
    u = USERS[index]
    first, _, last = u["name"].partition(" ")
    profile = "Administrator"
    return {"id": u["id"], "full_name": u["name"], "first_name": first, "last_name": last,
            "email": u["email"], "status": "active",
            "role": {"name": "CEO" if index == 0 else "Manager", "id": "4876876000000000051"},
            "profile": {"name": profile, "id": PROFILES[profile]},
            "time_zone": "Asia/Kolkata", "locale": "en_US", "country_locale": "en_US",
            "confirm": True, "created_time": "2024-01-01T09:00:00+05:30",
            "Modified_Time": "2024-01-01T09:00:00+05:30"}


def _user_type(request: Request) -> str:
    kind = request.args.get("type") or "AllUsers"
    known = ("AllUsers", "ActiveUsers", "DeactiveUsers", "ConfirmedUsers", "NotConfirmedUsers",
             "DeletedUsers", "ActiveConfirmedUsers", "AdminUsers", "ActiveConfirmedAdmins",
             "CurrentUser")
    if kind not in known:
        raise ApiError(400, "INVALID_DATA", "invalid data", {"param_name": "type"})
    return kind


def _users_of(kind: str) -> list[int]:
    if kind in ("DeactiveUsers", "NotConfirmedUsers", "DeletedUsers"):
        return []
    if kind in ("CurrentUser", "AdminUsers", "ActiveConfirmedAdmins"):
        return [0]  # the API user, the org's only administrator
    return list(range(len(USERS)))


def users(sb: State, request: Request, version: Version) -> Response:
    """``GET /crm/{ver}/users[?type=]``."""
    out = [_user_json(i) for i in _users_of(_user_type(request))]
    if not out:
        return empty(204)
    return json_response({"users": out, "info": {"per_page": 200, "count": len(out), "page": 1,
                                                 "more_records": False}})


def user(sb: State, request: Request, version: Version, user_id: str) -> Response:
    """``GET /crm/{ver}/users/{id}``."""
    for i, u in enumerate(USERS):
        if u["id"] == user_id:
            return json_response({"users": [_user_json(i)]})
    return empty(204)


def users_count(sb: State, request: Request, version: Version) -> Response:
    """``GET /crm/{ver}/users/actions/count[?type=]``."""
    return json_response({"count": len(_users_of(_user_type(request)))})


def modules(sb: State, request: Request, version: Version) -> Response:
    """``GET /crm/{ver}/settings/modules``."""
    return json_response({"modules": [m.to_json() for m in all_modules(sb)]})


def module(sb: State, request: Request, version: Version, api_name: str) -> Response:
    """``GET /crm/{ver}/settings/modules/{api_name}``."""
    mod = find_module(sb, api_name) or next(
        (m for m in all_modules(sb) if m.api_name.casefold() == api_name.casefold()), None)
    if mod is None:
        raise ApiError(400, "INVALID_MODULE", "the module name given seems to be invalid",
                       {"resource_path_index": 2} if version.modern else {})
    return json_response({"modules": [mod.to_json()]})


def fields(sb: State, request: Request, version: Version) -> Response:
    """``GET /crm/{ver}/settings/fields?module=`` (a subform module too)."""
    mod = settings_module(sb, request, version)
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
