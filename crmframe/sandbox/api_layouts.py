"""``GET /settings/layouts?module=`` and ``/settings/layouts/{id}``: each module's one
layout, ``Standard``, with one section holding every field, and one subform section per
subform field (``isSubformSection``: true) holding it (v7 docs' layouts sample)."""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Request, Response

from crmframe.sandbox.envelopes import ApiError
from crmframe.sandbox.params import module_param
from crmframe.sandbox.responses import json_response
from crmframe.sandbox.schema import LAYOUTS, PROFILES, USERS, Module
from crmframe.sandbox.state import State, Version

__all__ = ["layout", "layouts"]

_BY = {"name": USERS[0]["name"], "id": USERS[0]["id"]}


def layout_json(mod: Module) -> dict[str, Any]:
    """The module's layout as ``/settings/layouts`` lists it."""
    ref = LAYOUTS.get(mod.api_name) or {"name": "Standard", "id": mod.id}
    view = {"name": ref["name"], "id": ref["id"], "type": "layout"}
    section_id = f"{ref['id'][:-3]}{(int(ref['id'][-3:]) + 500) % 1000:03d}"
    fields: list[dict[str, Any]] = []
    subform_fields: list[dict[str, Any]] = []
    for seq, item in enumerate(mod.fields, start=1):
        (subform_fields if item["api_name"] in mod.subforms else fields).append({
            **item,
            # the keys a field item carries inside a layout only
            "required": bool(item["system_mandatory"]),
            "sequence_number": seq,
            "section_id": section_id,
            "validation_rule": None,
            "default_value": None,
            "static_field": False,
            "show_type": 7,
            "category": 0,
            "_delete": None,
        })
    return {
        "display_type": -1,
        "api_name": f"{ref['name']}__s",
        "has_more_profiles": False,
        "created_time": None,
        "modified_time": "2024-01-01T09:00:00+05:30",
        "visible": True,
        "source": "crm",
        "id": ref["id"],
        "name": ref["name"],
        "display_label": ref["name"],
        "mode": "standard",
        "subform_properties": {"pinned_column": False},
        "status": "active",
        "show_business_card": False,
        "generated_type": "default",
        "created_for": None,
        "convert_mapping": {},
        "modified_by": dict(_BY),
        "profiles": [{"default": True, "name": name, "id": pid, "_default_view": dict(view),
                      "_default_assignment_view": dict(view)}
                     for name, pid in PROFILES.items()],
        "created_by": None,
        "sections": [{
            "display_label": f"{mod.singular} Information",
            "sequence_number": 1,
            "isSubformSection": False,
            "tab_traversal": "left_to_right",
            "api_name": f"{mod.singular}_Information",
            "column_count": 2,
            "name": f"{mod.singular} Information",
            "generated_type": "default",
            "id": section_id,
            "type": "used",
            "fields": fields,
            "properties": {"reorder_rows": False, "maximum_rows": 0, "tooltip": None},
            "_delete": None,
        }, *[{
            "display_label": item["display_label"],
            "sequence_number": n,
            "isSubformSection": True,
            "tab_traversal": "left_to_right",
            "api_name": item["api_name"],
            "column_count": 1,
            "name": item["display_label"],
            "generated_type": "custom" if item["custom_field"] else "default",
            "id": f"{section_id[:-1]}{n}",
            "type": "used",
            "fields": [item],
            "properties": {"reorder_rows": True, "maximum_rows": 100, "tooltip": None},
            "_delete": None,
        } for n, item in enumerate(subform_fields, start=2)]],
        "actions_allowed": {"edit": True, "rename": True, "clone": True, "downgrade": False,
                            "delete": False, "deactivate": False,
                            "set_layout_permissions": True},
    }


def layouts(sb: State, request: Request, version: Version) -> Response:
    """``GET /crm/{ver}/settings/layouts?module=``."""
    mod = module_param(sb, request, version)
    return json_response({"layouts": [layout_json(mod)]})


def layout(sb: State, request: Request, version: Version, layout_id: str) -> Response:
    """``GET /crm/{ver}/settings/layouts/{id}?module=``."""
    mod = module_param(sb, request, version)
    item = layout_json(mod)
    if item["id"] != layout_id:
        raise ApiError(400, "INVALID_DATA", "the id given seems to be invalid",
                       {"resource_path_index": 2} if version.modern else {})
    return json_response({"layouts": [item]})
