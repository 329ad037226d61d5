"""Changes past the 100,000 records page tokens reach: COQL keyset paging on (Modified_Time, id)."""

from __future__ import annotations

from datetime import datetime

import pytest
from bighelpers import connection

from crmframe.http.changes import iter_changed_pages, keyset_query


def test_keyset_query_is_estuarys_template() -> None:
    query = keyset_query("Deals", "2024-05-01T10:00:00+00:00", "42")
    assert "Modified_Time >= '2024-05-01T10:00:00+00:00'" in query
    assert "(Modified_Time > '2024-05-01T10:00:00+00:00' or id > '42')" in query
    assert query.endswith("order by Modified_Time asc, id asc limit 2000")


def test_changes_past_the_page_token_ceiling_go_on_by_coql_keyset(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import crmframe.sandbox.api_records as api_records
    from crmframe.sandbox import start
    from crmframe.sandbox.store import Record

    # Scaled down: page tokens stop after 2,200 records instead of 100,000.
    monkeypatch.setattr(api_records, "TOKEN_LIMIT", 2200)
    with start(records=2600, seed=51) as server, connection(server) as crm:
        store = server.app.store
        # Thirty records modified in the newest second (so past the ceiling, in the keyset
        # part): only the id orders them.
        model = max(store.records("Leads"), key=lambda r: r.modified)
        tied = server.ids("Leads")[100:130]
        for rid in tied:
            old = store.get("Leads", rid)
            values = {**old.values, "Modified_Time": model.values["Modified_Time"]}
            store.put("Leads", [Record(rid, values, old.created, model.modified, old.locked,
                                       old.approved)])
        server.clear_requests()
        seen = [record for body in iter_changed_pages(crm.client, "Leads",
                                                      fields=["Last_Name"], since=None)
                for record in body["data"]]
        log = server.requests
    assert len(seen) == 2600
    assert len({r["id"] for r in seen}) == 2600
    keys = [(datetime.fromisoformat(r["Modified_Time"]), r["id"]) for r in seen]
    assert keys == sorted(keys)
    assert all(r.get("Last_Name") is not None or "Last_Name" in r for r in seen)
    coql = [e for e in log if e[1] == "/crm/v8/coql"]
    assert len(coql) == 1  # 400 ids past the ceiling: one keyset call of ≤2,000
    assert {r["id"] for r in seen[-31:]} == {*tied, model.id}
    assert ("GET", "/crm/v8/Leads", 400) in log  # the ceiling, answered by Zoho's error
