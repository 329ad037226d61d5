"""Reading records: fields, pages, page tokens, the 2,000 wall, v2 slicing, search, count."""

from __future__ import annotations

from typing import Any

import pytest

from crmframe.core.fieldtypes import DATETIME_RE
from crmframe.sandbox import SandboxServer

from .helpers import Api

pytestmark = pytest.mark.sandbox

V2_INFO = {"per_page", "count", "page", "more_records"}
V8_INFO = V2_INFO | {"next_page_token", "previous_page_token", "page_token_expiry", "sort_by",
                     "sort_order", "call", "email"}


def _read_all_v8(api: Api, fields: str = "Last_Name", **params: Any) -> list[str]:
    ids: list[str] = []
    r = api.get("Leads", params={"fields": fields, "per_page": 200, **params})
    while True:
        assert r.status_code == 200, r.text
        body = r.json()
        assert set(body["info"]) == V8_INFO
        ids += [rec["id"] for rec in body["data"]]
        if not body["info"]["more_records"]:
            return ids
        r = api.get("Leads", params={"fields": fields, "per_page": 200, **params,
                                     "page_token": body["info"]["next_page_token"]})


def test_v8_page_tokens_read_every_record_once(big: SandboxServer, big_api: Api) -> None:
    ids = _read_all_v8(big_api)
    assert len(ids) == 5000
    assert len(set(ids)) == 5000
    assert set(ids) == set(big.ids("Leads"))
    assert ids == sorted(ids, reverse=True)  # default sort: id desc


def test_v8_page_tokens_sorted_by_modified_time_ascending(big: SandboxServer,
                                                          big_api: Api) -> None:
    ids = _read_all_v8(big_api, fields="Modified_Time", sort_by="Modified_Time",
                       sort_order="asc")
    assert sorted(ids) == sorted(big.ids("Leads"))


def test_discrete_pagination_wall(big_api: Api) -> None:
    r = big_api.get("Leads", params={"fields": "Last_Name", "page": 10, "per_page": 200})
    assert r.status_code == 200
    r = big_api.get("Leads", params={"fields": "Last_Name", "page": 11, "per_page": 200})
    assert r.status_code == 400
    assert r.json() == {
        "code": "DISCRETE_PAGINATION_LIMIT_EXCEEDED",
        "message": "You can only get the first 2000 records without using page_token param",
        "status": "error", "details": {"limit": 2000}}
    big_api.version = "v2"
    r = big_api.get("Leads", params={"page": 11, "per_page": 200})
    assert r.status_code == 400
    assert r.json()["code"] == "DISCRETE_PAGINATION_LIMIT_EXCEEDED"


def test_v8_fields_is_mandatory_and_at_most_50(api: Api) -> None:
    r = api.get("Leads")
    assert r.status_code == 400
    assert r.json() == {"code": "REQUIRED_PARAM_MISSING", "status": "error",
                        "details": {"param_name": "fields"}, "message": "required param is missing"}
    fields = api.get("settings/fields", params={"module": "Leads"}).json()["fields"]
    names = [f["api_name"] for f in fields]
    r = api.get("Leads", params={"fields": ",".join(names[:51])})
    assert r.status_code == 400
    assert r.json()["details"] == {"limit": 50, "param_name": "fields"}
    r = api.get("Leads", params={"fields": ",".join(names[:50]), "per_page": 2})
    assert r.status_code == 200
    assert set(r.json()["data"][0]) == set(names[:50])


def test_v2_fields_optional_and_info_has_four_keys(api2: Api) -> None:
    r = api2.get("Leads", params={"per_page": 5})
    assert r.status_code == 200
    body = r.json()
    assert set(body["info"]) == V2_INFO
    assert body["info"] == {"per_page": 5, "count": 5, "page": 1, "more_records": True}
    rec = body["data"][0]
    assert "$approved" in rec
    assert "$currency_symbol" in rec
    assert len([k for k in rec if not k.startswith("$")]) >= 60


def test_page_token_bound_expired_unknown_and_ambiguous(server: SandboxServer, api: Api,
                                                        clock: Any) -> None:
    r = api.get("Leads", params={"fields": "Last_Name", "per_page": 50})
    token = r.json()["info"]["next_page_token"]
    r = api.get("Leads", params={"fields": "Last_Name,Email", "per_page": 50, "page_token": token})
    assert r.status_code == 400
    assert r.json()["code"] == "TOKEN_BOUND_DATA_MISMATCH"
    assert r.json()["details"] == {"param_name": "page_token"}
    r = api.get("Leads", params={"fields": "Last_Name", "page_token": token, "page": 2})
    assert r.json()["code"] == "AMBIGUITY_DURING_PROCESSING"
    r = api.get("Leads", params={"fields": "Last_Name", "page_token": "nope"})
    assert r.status_code == 400
    assert r.json()["code"] == "INVALID_DATA"
    # the same token twice gives the same page (safe retries)
    a = api.get("Leads", params={"fields": "Last_Name", "per_page": 50, "page_token": token})
    b = api.get("Leads", params={"fields": "Last_Name", "per_page": 50, "page_token": token})
    assert a.json()["data"] == b.json()["data"]
    clock.advance(86_400)
    api.refresh()
    r = api.get("Leads", params={"fields": "Last_Name", "per_page": 50, "page_token": token})
    assert r.status_code == 400
    assert r.json() == {"status": "error", "code": "EXPIRED_VALUE", "message": "Page token expired",
                        "details": {"api_name": "page_token", "json_path": "$.query.page_token"}}


def test_page_token_ceiling(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    from crmframe.sandbox import api_records

    monkeypatch.setattr(api_records, "TOKEN_LIMIT", 100)
    r = api.get("Leads", params={"fields": "Last_Name", "per_page": 100})
    token = r.json()["info"]["next_page_token"]
    r = api.get("Leads", params={"fields": "Last_Name", "per_page": 100, "page_token": token})
    assert r.status_code == 400
    assert r.json()["code"] == "PAGINATION_LIMIT_EXCEEDED"


def test_v2_if_modified_since_slices_past_2000(big: SandboxServer) -> None:
    api = Api(big, "v2")
    seen: dict[str, str] = {}
    since: str | None = None
    try:
        while True:
            headers = {"If-Modified-Since": since} if since else {}
            got_any = False
            last_time = since
            for page in range(1, 11):
                r = api.get("Leads", params={"fields": "Modified_Time", "sort_by": "Modified_Time",
                                             "sort_order": "asc", "page": page, "per_page": 200},
                            headers=headers)
                if r.status_code in (204, 304):
                    break
                body = r.json()
                for rec in body["data"]:
                    seen[rec["id"]] = rec["Modified_Time"]
                    last_time = rec["Modified_Time"]
                got_any = True
                if not body["info"]["more_records"]:
                    break
            if not got_any or last_time == since or len(seen) == 5000:
                break
            since = last_time
    finally:
        api.close()
    assert len(seen) == 5000


def test_if_modified_since_304_when_nothing_changed(api2: Api) -> None:
    r = api2.get("Leads", headers={"If-Modified-Since": "2030-01-01T00:00:00+00:00"})
    assert r.status_code == 304
    assert r.content == b""


def test_v2_coql_id_slicing_past_2000(big: SandboxServer) -> None:
    api = Api(big, "v2")
    ids: list[str] = []
    last = "0"
    try:
        while True:
            r = api.post("coql", json={"select_query":
                         f"select Last_Name from Leads where id > '{last}' order by id asc "
                         "limit 0, 200"})
            if r.status_code == 204:
                break
            body = r.json()
            ids += [row["id"] for row in body["data"]]
            last = ids[-1]
            if not body["info"]["more_records"]:
                break
    finally:
        api.close()
    assert ids == sorted(big.ids("Leads"))


def test_single_record_and_missing_id(server: SandboxServer, api: Api) -> None:
    rid = server.ids("Leads")[3]
    r = api.get(f"Leads/{rid}")
    assert r.status_code == 200
    data = r.json()["data"]
    assert len(data) == 1
    assert data[0]["id"] == rid
    r = api.get("Leads/4876876000999999999")
    assert r.status_code == 204


def test_ids_cvid_sort_and_count(server: SandboxServer, api: Api) -> None:
    some = server.ids("Leads")[:3]
    r = api.get("Leads", params={"fields": "Last_Name", "ids": ",".join(some)})
    assert sorted(rec["id"] for rec in r.json()["data"]) == sorted(some)
    views = api.get("settings/custom_views", params={"module": "Leads"}).json()["custom_views"]
    paris = next(v for v in views if v["name"] == "Leads in Paris")
    r = api.get("Leads", params={"fields": "City", "cvid": paris["id"]})
    rows = r.json()["data"]
    assert rows
    assert all(row["City"] == "Paris" for row in rows)
    expected = sum(1 for rid in server.ids("Leads")
                   if server.get_record("Leads", rid)["City"] == "Paris")
    count = api.get("Leads/actions/count", params={"cvid": paris["id"]}).json()["count"]
    assert count == expected
    r = api.get("Leads", params={"fields": "City", "cvid": "123"})
    assert r.json() == {"code": "INVALID_DATA", "details": {"param_name": "cvid"},
                        "message": "invalid data", "status": "error"}
    r = api.get("Leads", params={"fields": "Last_Name", "sort_by": "Last_Name"})
    assert r.status_code == 400  # v8 sorts by id / Created_Time / Modified_Time only
    api.version = "v2"
    r = api.get("Leads", params={"sort_by": "Last_Name", "sort_order": "asc", "per_page": 200})
    names = [rec["Last_Name"].casefold() for rec in r.json()["data"]]
    assert names == sorted(names)


def test_search_criteria(server: SandboxServer, api: Api) -> None:
    criteria = "((City:equals:Paris)and(Email_Opt_Out:equals:false))"
    r = api.get("Leads/search", params={"criteria": criteria})
    assert r.status_code == 200
    rows = r.json()["data"]
    assert rows
    assert all(row["City"] == "Paris" and row["Email_Opt_Out"] is False for row in rows)
    r = api.get("Leads/search", params={"criteria": "(Last_Name:starts_with:Mar)"})
    assert all(row["Last_Name"].startswith("Mar") for row in r.json()["data"])
    r = api.get("Leads/search", params={"criteria": "(No_of_Employees:greater_than:4000)"})
    assert all(row["No_of_Employees"] > 4000 for row in r.json()["data"])
    r = api.get("Leads/search", params={"criteria": "(City:in:Paris,Lyon)"})
    assert {row["City"] for row in r.json()["data"]} == {"Paris", "Lyon"}
    r = api.get("Leads/search", params={"criteria": "(Nope:equals:1)"})
    assert r.status_code == 400
    assert r.json()["code"] == "INVALID_QUERY"
    r = api.get("Leads/search")
    assert r.status_code == 400
    r = api.get("Leads/search", params={"criteria": "(Last_Name:equals:Nobody)"})
    assert r.status_code == 204
    r = api.get("Leads/search", params={"criteria": "(City:equals:Paris)", "page": 11})
    assert r.json()["code"] == "LIMIT_REACHED"


def test_count_takes_the_search_parameters(server: SandboxServer, api: Api) -> None:
    # v8's spec gives /actions/count criteria, email, phone and word; they were ignored and
    # every count was the module's total.
    records = [server.get_record("Leads", i) for i in server.ids("Leads")]
    paris = sum(1 for rec in records if rec["City"] == "Paris")
    assert 0 < paris < len(records)

    def count(**params: str) -> Any:
        return api.get("Leads/actions/count", params=params)

    assert count(criteria="(City:equals:Paris)").json() == {"count": paris}
    rec = records[7]
    assert count(email=rec["Email"]).json() == {"count": 1}
    searched = api.get("Leads/search", params={"word": "Mar", "per_page": 200}).json()
    assert not searched["info"]["more_records"]
    assert count(word="Mar").json() == {"count": len(searched["data"])}
    assert count(criteria="(Last_Name:equals:Nobody At All)").json() == {"count": 0}
    bad = count(criteria="(Nope:equals:1)")
    assert bad.status_code == 400
    assert bad.json()["code"] == "INVALID_QUERY"
    assert count().json() == {"count": len(records)}


def test_field_values_have_zoho_forms(server: SandboxServer, api: Api) -> None:
    r = api.get("Leads", params={"fields": "Owner,Layout,Created_Time,Last_Contacted,Tag,"
                                           "Languages_Known,External_Ref,Annual_Revenue",
                                 "per_page": 200})
    rows = r.json()["data"]
    offsets = set()
    for row in rows:
        assert set(row["Owner"]) == {"name", "id", "email"}
        assert set(row["Layout"]) == {"name", "id"}
        assert DATETIME_RE.match(row["Created_Time"])
        if row["Last_Contacted"]:
            assert DATETIME_RE.match(row["Last_Contacted"])
            offsets.add(row["Last_Contacted"][-6:])
        assert isinstance(row["Tag"], list)
        assert isinstance(row["Languages_Known"], list)
        assert row["External_Ref"] is None or isinstance(row["External_Ref"], str)
    assert len(offsets) >= 3


def test_unknown_module_and_url(api: Api, api2: Api) -> None:
    r = api.get("Nope", params={"fields": "a"})
    assert r.status_code == 400
    assert r.json() == {"code": "INVALID_MODULE", "details": {"resource_path_index": 0},
                        "message": "the module name given seems to be invalid", "status": "error"}
    r = api2.get("Nope")
    assert r.json()["details"] == {}
    r = api.get("/crm/v8/Leads/1/2/3/4")
    assert r.status_code == 404
    assert r.json()["code"] == "INVALID_URL_PATTERN"
    r = api.get("/crm/v99/Leads")
    assert r.status_code == 404
    r = api.session.delete(api.url("coql"))
    assert r.status_code == 400
    assert r.json()["code"] == "INVALID_REQUEST_METHOD"


def test_search_by_email_phone_word(server: SandboxServer, api: Api) -> None:
    rec = server.get_record("Leads", server.ids("Leads")[7])
    r = api.get("Leads/search", params={"email": rec["Email"]})
    assert [row["id"] for row in r.json()["data"]] == [rec["id"]]
    r = api.get("Leads/search", params={"phone": rec["Mobile"]})
    assert rec["id"] in [row["id"] for row in r.json()["data"]]
    r = api.get("Leads/search", params={"word": rec["Email"].split("@")[0]})
    assert rec["id"] in [row["id"] for row in r.json()["data"]]
    assert set(r.json()["info"]) == V2_INFO


def test_metadata_endpoints(server: SandboxServer, api: Api, api2: Api) -> None:
    modules = api.get("settings/modules").json()["modules"]
    assert [m["api_name"] for m in modules] == ["Leads", "Lead_Contacts", "Contacts",
                                               "Accounts", "Deals", "Products", "Quotes",
                                               "Quoted_Items", "Projects", "Milestones"]
    fields = api.get("settings/fields", params={"module": "Leads"}).json()["fields"]
    assert len(fields) >= 60
    by = {f["api_name"]: f for f in fields}
    types = {f["data_type"] for f in fields}
    assert {"text", "email", "phone", "picklist", "multiselectpicklist", "lookup",
            "ownerlookup", "date", "datetime", "integer", "bigint", "double", "currency",
            "percent", "boolean", "autonumber", "formula", "textarea", "website",
            "layout"} <= types
    assert by["Last_Name"]["system_mandatory"] is True
    assert by["Mobile"]["unique"]
    assert by["Tag"]["json_type"] == "jsonarray"
    assert by["Annual_Revenue"]["decimal_place"] == 2
    assert by["Email"]["mass_update"] is False
    assert by["Lead_Status"]["mass_update"] is True
    assert [v["actual_value"] for v in by["Lead_Status"]["pick_list_values"]] == [
        "-None-", "Attempted to Contact", "Contact in Future", "Contacted", "Junk Lead",
        "Lost Lead", "Not Contacted", "Pre-Qualified", "Not Qualified"]
    assert by["Referred_Account"]["lookup"]["module"]["api_name"] == "Accounts"
    assert by["Revenue_per_Employee"]["formula"]["return_type"] == "double"
    for f in fields:
        assert len(f["id"]) == 19
    r = api.get("settings/fields", params={"module": "Nope"})
    assert r.status_code == 400
    assert r.json()["code"] == "INVALID_MODULE"
    r = api.get("settings/fields")
    assert r.json()["code"] == "REQUIRED_PARAM_MISSING"
    views = api.get("settings/custom_views", params={"module": "Deals"}).json()
    one = views["custom_views"][1]
    r = api.get(f"settings/custom_views/{one['id']}", params={"module": "Deals"})
    assert r.json()["custom_views"][0]["name"] == one["name"]
    users = api2.get("users").json()["users"]
    assert {u["email"] for u in users} >= {"patricia.boyle@sandbox.crmframe.test"}


def test_v2_1_takes_bulk_module_as_string_or_object(server: SandboxServer) -> None:
    api = Api(server, "v2.1")
    try:
        for module in ("Leads", {"api_name": "Leads"}):
            r = api.post("read", bulk=True, json={"query": {"module": module}})
            assert r.status_code == 201, r.text
        r = api.get("Leads", params={"per_page": 2})
        assert set(r.json()["info"]) == V2_INFO
    finally:
        api.close()
