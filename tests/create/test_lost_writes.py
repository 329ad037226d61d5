"""Deletes and inserts whose answer is lost after Zoho acted: settled by reading back, never
re-sent blindly (a blind re-send is answered "not found" for records it did delete)."""

from __future__ import annotations

import pytest

from .conftest import writing_crm

pytestmark = [pytest.mark.sandbox]


def test_a_lost_delete_is_settled_by_reading_back_and_reports_each_record_once() -> None:
    from crmframe.sandbox import start

    with start(records=400, seed=17, flag_records=False, lost_answer_rate=1.0) as server:
        crm = writing_crm(server.credentials)
        colleague = writing_crm(server.credentials)
        try:
            ids = sorted(server.ids("Leads"))
            doomed, kept = ids[:150], ids[150:155]
            server.faults.lost_answer_rate = 0.0  # before: the colleague edits a kept record
            colleague.client.request("PUT", "Leads", json={"data": [{"id": kept[0],
                                                                     "City": "Theirs"}]})
            server.faults.lost_answer_rate = 1.0
            server.clear_requests()
            result = crm.delete(doomed, module="Leads", trigger=[])
        finally:
            crm.close()
            colleague.close()
        deletes = [r for r in server.requests if r[0] == "DELETE"]
        assert len(deletes) == 2  # one per batch of 100: never re-sent
        assert server.answers_lost == 2
        assert result.ok
        assert result.results["id"].tolist() == doomed  # every record, once, in order
        assert result.results["message"].str.contains("answer was lost").all()
        left = set(server.ids("Leads"))
        assert not left & set(doomed)
        assert set(kept) <= left
        assert server.get_record("Leads", kept[0])["City"] == "Theirs"


def test_a_lost_insert_is_found_by_reading_back_and_never_created_twice() -> None:
    import pandas as pd

    from crmframe.sandbox import start

    with start(records=200, seed=18, flag_records=False, lost_answer_rate=1.0) as server:
        crm = writing_crm(server.credentials)
        colleague = writing_crm(server.credentials)
        try:
            crm.read_records("Leads", ["Last_Name"], progress=False)  # a Date header seen
            new = pd.DataFrame({"Last_Name": [f"Lost {i}" for i in range(150)],
                                "Company": ["Same Co"] * 150})
            server.faults.lost_answer_rate = 0.0  # before: the colleague adds a look-alike
            colleague.client.request("POST", "Leads", json={"data": [
                {"Last_Name": "Lost 3 (theirs)", "Company": "Same Co"}]})
            server.faults.lost_answer_rate = 1.0
            before = set(server.ids("Leads"))
            server.clear_requests()
            result = crm.insert(new, module="Leads", trigger=[])
        finally:
            crm.close()
            colleague.close()
        posts = [r for r in server.requests if r[0] == "POST" and "/oauth/" not in r[1]]
        assert len(posts) == 2  # one per batch of 100: never re-sent
        assert result.ok
        created = set(server.ids("Leads")) - before
        assert len(created) == 150  # each row created once
        assert set(result.results["id"]) == created
        names = {server.get_record("Leads", rid)["Last_Name"] for rid in created}
        assert names == set(new["Last_Name"])
        by_row = dict(zip(result.results["id"], new["Last_Name"], strict=True))
        assert all(server.get_record("Leads", rid)["Last_Name"] == name
                   for rid, name in by_row.items())  # each row got its own record's id
