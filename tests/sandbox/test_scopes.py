"""OAuth scopes and a restricted profile: OAUTH_SCOPE_MISMATCH and NO_PERMISSION come from
the sandbox with the bodies of Zoho's v8 examples (getRecords ScopeMismatch/NoPermission)."""

from __future__ import annotations

import pytest
import requests

from crmframe.sandbox import SandboxServer

from .helpers import Api, samples


def _as(server: SandboxServer, **grant: object) -> requests.Session:
    s = requests.Session()
    s.headers["Authorization"] = f"Zoho-oauthtoken {server.access_token(**grant)}"  # type: ignore[arg-type]
    return s


def _v8(operation: str, name: str) -> dict[str, object]:
    return next(r for r in samples()["v8"][operation]["responses"] if r["name"] == name)


def test_scopes_limit_what_a_token_may_call(server: SandboxServer, api: Api) -> None:
    s = _as(server, scopes=["ZohoCRM.modules.leads.READ", "ZohoCRM.settings.fields.READ"])
    base = server.url + "/crm/v8/"
    rid = server.ids("Leads")[0]
    assert s.get(base + "Leads", params={"fields": "Last_Name"}).status_code == 200
    assert s.get(base + "settings/fields", params={"module": "Leads"}).status_code == 200
    sample = _v8("getRecords", "ScopeMismatch")
    for denied in (s.get(base + "Contacts", params={"fields": "Last_Name"}),
                   s.put(base + "Leads", json={"data": [{"id": rid, "City": "x"}]}),
                   s.post(base + "coql", json={"select_query": "select id from Leads "
                                                               "where id is not null"}),
                   s.get(base + "settings/modules"),
                   s.get(base + "users")):
        assert denied.status_code == sample["http_status"] == 401
        assert denied.json() == sample["body"]
    # nothing was written by the refused update
    assert server.get_record("Leads", rid)["City"] != "x"
    broad = _as(server, scopes=["ZohoCRM.modules.ALL", "ZohoCRM.coql.READ"])
    assert broad.put(base + "Leads", json={"data": [{"id": rid, "City": "y"}]}).json()[
        "data"][0]["code"] == "SUCCESS"
    assert broad.get(base + "org").status_code == 401


def test_the_standard_profile_sees_no_deals_and_only_reads_accounts(server: SandboxServer,
                                                                    api: Api) -> None:
    s = _as(server, profile="Standard")
    base = server.url + "/crm/v8/"
    sample = _v8("getRecords", "NoPermission")
    r = s.get(base + "Deals", params={"fields": "Deal_Name"})
    assert r.status_code == sample["http_status"] == 403
    assert r.json() == {**sample["body"], "details": {"permissions": ["Crm_Implied_View_Deals"]}}
    assert s.get(base + "Accounts", params={"fields": "Account_Name"}).status_code == 200
    account = server.ids("Accounts")[0]
    r = s.put(base + "Accounts", json={"data": [{"id": account, "Phone": "1"}]})
    assert (r.status_code, r.json()["code"]) == (403, "NO_PERMISSION")
    assert s.get(base + "Leads", params={"fields": "Last_Name"}).status_code == 200
    # the administrator's token is unaffected
    assert api.get("Deals", params={"fields": "Deal_Name"}).status_code == 200


def test_an_unknown_profile_is_refused(server: SandboxServer) -> None:
    with pytest.raises(ValueError, match="unknown profile"):
        server.access_token(profile="Nobody")
