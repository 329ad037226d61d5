"""Deletes whose answer is lost after Zoho deleted: settled by reading back, never
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
