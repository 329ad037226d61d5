"""OAuth scopes and CRM profiles: which token may call what.

A token minted without scopes (every client's refresh grant, ``server.access_token()``)
may do everything, as before. ``server.access_token(scopes=..., profile=...)`` mints a
limited one: a call outside its scopes answers 401 ``OAUTH_SCOPE_MISMATCH``, a module its
profile may not touch 403 ``NO_PERMISSION`` (v8 examples getRecords/updateRecords).
The ``Standard`` profile sees no Deals and may only read Accounts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from werkzeug.wrappers import Request

from crmframe.sandbox.envelopes import ApiError
from crmframe.sandbox.oauth import Grant, scope_allows

__all__ = ["RESTRICTED", "authorize", "needed_scope"]

#: profile → module → what it may do there ("none" or "read"); modules not named: all.
RESTRICTED: dict[str, dict[str, str]] = {"Standard": {"Deals": "none", "Accounts": "read"}}

_OPS = {"GET": "READ", "HEAD": "READ", "POST": "CREATE", "PUT": "UPDATE", "DELETE": "DELETE"}
_RECORD_ENDPOINTS = frozenset({"records", "record", "upsert", "search", "count", "deleted"})
_SETTINGS = {"modules": "modules", "module": "modules", "fields": "fields",
             "layouts": "layouts", "layout": "layouts", "custom_views": "custom_views",
             "custom_view": "custom_views"}


def needed_scope(endpoint: str, method: str,
                 module: str | None) -> tuple[str, str, str | None, str]:
    """The scope a call needs, as (service, area, module or None, operation)."""
    op = _OPS.get(method, "READ")
    if endpoint in _RECORD_ENDPOINTS:
        return ("ZohoCRM", "modules", module, "CREATE" if endpoint == "upsert" else op)
    if endpoint == "mass_update":
        return ("ZohoCRM", "mass_update", module, "UPDATE" if method == "POST" else "READ")
    if endpoint in _SETTINGS:
        return ("ZohoCRM", "settings", _SETTINGS[endpoint], "READ")
    if endpoint in ("users", "user", "users_count"):
        return ("ZohoCRM", "users", None, "READ")
    if endpoint == "upload":
        return ("ZohoFiles", "files", None, "CREATE")
    if endpoint.startswith("bulk_"):
        return ("ZohoCRM", "bulk", None, op)
    return ("ZohoCRM", endpoint, None, op)  # org, coql


def authorize(grant: Grant, endpoint: str, request: Request, args: Mapping[str, Any]) -> None:
    """Raise 401 ``OAUTH_SCOPE_MISMATCH`` or 403 ``NO_PERMISSION`` when ``grant`` may not
    make this call (scopes first, as Zoho checks them)."""
    if grant.scopes is None and grant.profile not in RESTRICTED:
        return  # every client's usual token: nothing to check, on every call
    module = args.get("module") or request.args.get("module")
    needed = needed_scope(endpoint, request.method, module)
    if not scope_allows(grant.scopes, needed):
        raise ApiError(401, "OAUTH_SCOPE_MISMATCH", "Unauthorized")
    rules = RESTRICTED.get(grant.profile, {})
    allowed = rules.get(str(module)) if module else None
    if allowed is None:
        return
    reading = request.method in ("GET", "HEAD") and endpoint != "mass_update"
    if allowed == "none" or (allowed == "read" and not reading):
        # Zoho's example names the view permission; the edit one is the sandbox's guess
        verb = "View" if allowed == "none" else "Edit"
        raise ApiError(403, "NO_PERMISSION", "Permission denied",
                       {"permissions": [f"Crm_Implied_{verb}_{module}"]})
