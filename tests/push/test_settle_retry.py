"""``retry()`` after lost answers: records reported ``unknown`` are settled by reading back
(values and ``Modified_Time`` against the baseline) before anything is sent again.

A colleague (a second connection) edits the same records before, during and after the
push; the sandbox counts every write per record. Nothing of the colleague's may be
overwritten, and no record may receive our write twice — with ``overwrite=True`` too.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from crmframe.facade.write.settle import AMBIGUOUS_CODE

from .helpers import writing_crm

pytestmark = [pytest.mark.sandbox]


def _colleague_put(server: Any, colleague: Any, rid: str, **values: Any) -> None:
    lost = server.faults.lost_answer_rate
    server.faults.lost_answer_rate = 0.0  # the colleague's own answer arrives
    try:
        colleague.client.request("PUT", "Leads", json={"data": [{"id": rid, **values}]},
                                 idempotent=False)
    finally:
        server.faults.lost_answer_rate = lost


def _six_edited(crm: Any, tag: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Six Leads as read (with their stamps), and the same with ``Custom_Text_5`` edited."""
    original = crm.read_records("Leads", ["Custom_Text_5", "City", "Modified_Time"],
                                progress=False).iloc[:6]
    edited = original.copy()
    edited["Custom_Text_5"] = pd.array([f"{tag} {i}" for i in range(6)], dtype="string")
    return original, edited


def test_retry_settles_unknown_records_by_reading_back_and_never_resends_them() -> None:
    from crmframe.sandbox import start

    with start(records=40, seed=31, flag_records=False, lost_answer_rate=1.0) as server:
        crm = writing_crm(server.credentials)
        colleague = writing_crm(server.credentials)
        try:
            original, edited = _six_edited(crm, "ours")
            ids = list(original.index)
            # before: the colleague saves record 5 (another field) after our read
            _colleague_put(server, colleague, ids[5], City="Before town")
            reads = crm.read_records
            during: list[str] = []

            def read_records(module: str, *args: Any, **kwargs: Any) -> Any:
                # during: right after the lost PUT, before its read-back, the colleague
                # edits record 0 (the same field) and record 1 (another field)
                if kwargs.get("ids") and not during:
                    during.append("edited")
                    _colleague_put(server, colleague, ids[0], Custom_Text_5="colleague")
                    _colleague_put(server, colleague, ids[1], City="Colleague town")
                return reads(module, *args, **kwargs)

            crm.read_records = read_records
            result = crm.push(edited, original, trigger=[], progress=False)
            crm.read_records = reads
            assert during
            assert server.answers_lost >= 1
            status = result.results.set_index("id")["status"]
            assert status[ids[0]] == "unknown"  # our write landed, then the colleague's
            assert status[ids[1]] == "success"  # our field holds our value
            assert status[ids[5]] == "skipped"  # CONFLICT: changed since our read
            # after: the colleague edits record 2, which the push had written
            _colleague_put(server, colleague, ids[2], Custom_Text_5="colleague after")
            before_retry = server.write_counts("Leads")
            assert ids[5] not in before_retry or before_retry[ids[5]] == 1  # colleague's only

            # overwrite=True: record 5's conflict is sent (the colleague's field is not ours);
            # record 0 is read back first and, undecidable, never sent again
            again = result.retry(overwrite=True)

            counts = server.write_counts("Leads")
            assert {r: n for r, n in counts.items() if n != before_retry.get(r)} == {ids[5]: 2}
            mine = dict.fromkeys(ids, 1)
            colleagues = {ids[0]: 1, ids[1]: 1, ids[2]: 1, ids[5]: 1}
            for rid in ids:  # each record: our write once, plus the colleague's own
                assert counts[rid] == mine[rid] + colleagues.get(rid, 0), rid
            row = again.results.set_index("id").loc[ids[0]]
            assert (row["status"], row["code"]) == ("unknown", AMBIGUOUS_CODE)
            assert "modified since" in row["message"]
            back = crm.read_records("Leads", ["Custom_Text_5", "City"], ids=ids,
                                    progress=False).loc[ids]
            assert back.loc[ids[0], "Custom_Text_5"] == "colleague"  # never overwritten
            assert back.loc[ids[1], "City"] == "Colleague town"
            assert back.loc[ids[2], "Custom_Text_5"] == "colleague after"
            assert back.loc[ids[5], "Custom_Text_5"] == "ours 5"
            fives = crm.read_records("Leads", ["City"], ids=[ids[5]], progress=False)
            assert fives["City"].iloc[0] == "Before town"
        finally:
            crm.close()
            colleague.close()


def test_a_resumed_journal_with_overwrite_never_resends_over_a_colleague(
    tmp_path: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The kernel dies after Zoho applied the PUT batch but before its answer reached the
    # journal. A colleague then edits record 0 (our field) and record 1 (another field).
    # Resuming with overwrite=True must not send record 0 again: our write landed (or not)
    # and theirs came after — no read can tell, so it is reported unknown.
    from crmframe.facade.write import sender as sm
    from crmframe.sandbox import start

    with start(records=40, seed=32, flag_records=False) as server:
        crm = writing_crm(server.credentials)
        colleague = writing_crm(server.credentials)
        try:
            original, edited = _six_edited(crm, "resumed")
            ids = list(original.index)
            write = sm.CrmSender.write

            def dies_after_zoho_applied(self: Any, *args: Any, **kwargs: Any) -> Any:
                write(self, *args, **kwargs)
                raise KeyboardInterrupt("the kernel died before the answer was journaled")

            monkeypatch.setattr(sm.CrmSender, "write", dies_after_zoho_applied)
            journal = tmp_path / "push.jsonl"
            with pytest.raises(KeyboardInterrupt):
                crm.push(edited, original, journal=journal, overwrite=True, trigger=[],
                         progress=False)
            monkeypatch.setattr(sm.CrmSender, "write", write)
            colleague.client.request("PUT", "Leads", json={"data": [
                {"id": ids[0], "Custom_Text_5": "colleague"}, {"id": ids[1], "City": "Theirs"}]})
            counts_before = server.write_counts("Leads")

            result = crm.push(edited, original, journal=journal, overwrite=True, trigger=[],
                              progress=False)

            assert server.write_counts("Leads") == counts_before  # the resume wrote nothing
            status = result.results.set_index("id")
            assert (status.loc[ids[0], "status"], status.loc[ids[0], "code"]) == (
                "unknown", AMBIGUOUS_CODE)
            assert (status.loc[ids[1:], "status"] == "success").all()  # found applied
            back = crm.read_records("Leads", ["Custom_Text_5", "City"], ids=ids,
                                    progress=False).loc[ids]
            assert back.loc[ids[0], "Custom_Text_5"] == "colleague"  # theirs stands
            assert back.loc[ids[1], "City"] == "Theirs"
            assert (back.loc[ids[1:], "Custom_Text_5"] == edited.loc[ids[1:],
                                                                  "Custom_Text_5"]).all()
        finally:
            crm.close()
            colleague.close()


def test_retry_waits_for_a_bulk_write_job_whose_watch_broke_off_before_sending_again() -> None:
    """The network goes down while the push watches its bulk-write job: its rows are
    ``unknown`` and the job, scheduled, has not written yet. ``retry()`` read the records
    back, found them untouched, and sent them in a second job: both jobs wrote every
    record. The retry now waits for the first job and finds its records applied."""
    import requests

    from crmframe.http.retry import RetryPolicy
    from crmframe.sandbox import start
    from crmframe.sandbox.clock import ManualClock

    clock = ManualClock()

    class Outage(requests.Session):
        polls = 0
        retrying = False

        def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
            if method == "GET" and "/crm/bulk/" in url and "/write/" in url:
                self.polls += 1
                if self.polls == 2:  # the second poll of the push: the network is down
                    raise requests.ConnectionError("network unreachable")
                if self.retrying:
                    clock.advance(60)  # time passes while the retry watches: jobs run
            return super().request(method, url, *args, **kwargs)

    with start(records=700, seed=47, flag_records=False, clock=clock, job_delay=5,
               job_speed=1000) as server:
        session = Outage()
        crm = writing_crm(server.credentials, session=session,
                          retry=RetryPolicy(max_attempts=1, sleep=lambda s: None))
        try:
            original = crm.read_records("Leads", ["Phone", "Modified_Time"], progress=False)
            edited = original.copy()
            ids = list(edited.index[:600])
            edited.loc[ids, "Phone"] = [f"+1 555 {n:04d}" for n in range(600)]
            before = dict(server.write_counts("Leads"))
            result = crm.push(edited, original, trigger=[], poll_interval=0.01,
                              bulk_threshold=10)
            assert [j.kind for j in result.jobs] == ["bulk_write"]
            assert set(result.results["status"]) == {"unknown"}  # the job not seen ending
            session.retrying = True
            again = result.retry()
        finally:
            crm.close()
        counts = server.write_counts("Leads")
        twice = [k for k, n in counts.items() if n - before.get(k, 0) > 1]
        assert twice == []  # was 600: a second job for the same records
        assert len(again.succeeded) == 600
        assert all(server.get_record("Leads", i)["Phone"] == edited.loc[i, "Phone"]
                   for i in ids[:20])
