"""Answers shaped like Zoho's where the official SDK tripped on the sandbox (issue 12)."""

from __future__ import annotations

import json
from pathlib import Path

from crmframe.sandbox import SandboxServer

from .helpers import Api

#: The Company field of the v7 docs' Fields Meta Data sample (Zoho's published body), copied from
#: ../shared/corpus/zoho/zoho-crm-v7-docs-examples.json (field-meta.html).
CORPUS_FIELD = Path(__file__).parent / "fixtures" / "zoho_field_v7.json"


def test_field_items_carry_zohos_keys_and_history_tracking_is_never_a_boolean(
        api: Api) -> None:
    fields = api.get("settings/fields", params={"module": "Leads"}).json()["fields"]
    zoho = json.loads(CORPUS_FIELD.read_text(encoding="utf-8"))
    for item in fields:
        assert item["history_tracking"] is None or isinstance(item["history_tracking"], dict)
        missing = set(zoho) - set(item) - {"convert_mapping", "layout_associations"}
        assert not missing, (item["api_name"], sorted(missing))
        assert isinstance(item["operation_type"]["api_update"], bool)
    by_name = {f["api_name"]: f for f in fields}
    assert by_name["Full_Name"]["operation_type"]["api_update"] is False
    assert by_name["City"]["operation_type"]["api_update"] is True


def test_module_items_carry_zohos_keys(api: Api) -> None:
    modules = api.get("settings/modules").json()["modules"]
    keys = {"access_type", "actual_plural_label", "actual_singular_label", "arguments",
            "business_card_field_limit", "convertable", "description", "feeds_required",
            "has_more_profiles", "parent_module", "presence_sub_menu", "private_profile",
            "profile_count", "quick_create", "recycle_bin_on_delete", "show_as_tab",
            "status", "sub_menu_available", "visibility", "web_link"}
    for item in modules:
        assert keys <= set(item), item["api_name"]


def test_custom_view_criteria_name_the_field_id(api: Api) -> None:
    fields = api.get("settings/fields", params={"module": "Leads"}).json()["fields"]
    city_id = next(f["id"] for f in fields if f["api_name"] == "City")
    views = api.get("settings/custom_views", params={"module": "Leads"}).json()["custom_views"]
    paris = next(v for v in views if v["name"] == "Leads in Paris")
    assert paris["criteria"]["field"] == {"api_name": "City", "id": city_id}


def test_no_content_answers_carry_no_content_type(server: SandboxServer, api: Api) -> None:
    empty = api.get("Leads/search", params={"criteria": "(City:equals:Nowhere-at-all)"})
    unknown = api.get("Leads/4876876000099999999")
    since = api.get("Leads", params={"fields": "Last_Name"},
                    headers={"If-Modified-Since": "2099-01-01T00:00:00+00:00"})
    assert (empty.status_code, unknown.status_code, since.status_code) == (204, 204, 304)
    for answer in (empty, unknown, since):
        assert "Content-Type" not in answer.headers
        assert answer.content == b""
    assert api.get("Leads/actions/count").headers["Content-Type"].startswith("application/json")


def test_numeric_ids_are_taken_wherever_ids_are(server: SandboxServer, api: Api) -> None:
    flagged = server.flagged("Leads")
    a, b, c = [
        int(i) for i in server.ids("Leads") if i not in flagged][:3]
    r = api.put("Leads", json={"data": [{"id": a, "City": "Numeric"}]})
    assert r.json()["data"][0]["code"] == "SUCCESS"
    r = api.post("Leads/actions/mass_update", json={"data": [{"City": "Mass"}], "ids": [b]})
    assert r.json()["data"][0]["code"] == "SUCCESS"
    accounts = server.ids("Accounts")
    r = api.put("Leads", json={"data": [{"id": str(c),
                                        "Referred_Account": {"id": int(accounts[0])}}]})
    assert r.json()["data"][0]["code"] == "SUCCESS"
    assert server.get_record("Leads", str(a))["City"] == "Numeric"
    assert server.get_record("Leads", str(b))["City"] == "Mass"
    assert server.get_record("Leads", str(c))["Referred_Account"]["id"] == accounts[0]
    # a boolean or a fraction is still no id
    r = api.put("Leads", json={"data": [{"id": True, "City": "x"}, {"id": 1.5, "City": "x"}]})
    assert [d["code"] for d in r.json()["data"]] == ["INVALID_DATA", "INVALID_DATA"]


def test_not_approved_on_v8_points_at_the_url_id(server: SandboxServer, api: Api) -> None:
    rid = next(i for i, why in server.flagged("Leads").items() if why == "not_approved")
    r = api.put(f"Leads/{rid}", json={"data": [{"City": "x"}]})
    assert r.json()["data"][0] == {
        "code": "NOT_APPROVED", "details": {"resource_path_index": 1},
        "message": "Cannot update record that is not approved yet", "status": "error"}


def test_layouts_modules_and_users_endpoints(api: Api) -> None:
    fields = api.get("settings/fields", params={"module": "Leads"}).json()["fields"]
    layouts = api.get("settings/layouts", params={"module": "Leads"}).json()["layouts"]
    assert [lay["name"] for lay in layouts] == ["Standard"]
    placed = [f["api_name"] for sec in layouts[0]["sections"] for f in sec["fields"]]
    assert placed == [f["api_name"] for f in fields]
    one = api.get(f"settings/layouts/{layouts[0]['id']}", params={"module": "Leads"})
    assert one.json()["layouts"][0]["id"] == layouts[0]["id"]
    assert api.get("settings/layouts/1", params={"module": "Leads"}).status_code == 400
    assert api.get("settings/layouts", params={"module": "Nope"}).json()["code"] == (
        "INVALID_MODULE")
    assert api.get("settings/modules/leads").json()["modules"][0]["api_name"] == "Leads"
    users = api.get("users").json()["users"]
    me = api.get("users", params={"type": "CurrentUser"}).json()["users"]
    assert [u["id"] for u in me] == [users[0]["id"]]
    assert api.get(f"users/{users[1]['id']}").json()["users"][0]["email"] == users[1]["email"]
    assert api.get("users/4876876000099999999").status_code == 204
    assert api.get("users/actions/count").json() == {"count": len(users)}
    assert api.get("users", params={"type": "DeactiveUsers"}).status_code == 204
