"""Writes whose answer is lost after Zoho committed them: settled by reading back, never
re-sent blindly (the sandbox's ``lost_answer_rate``), and the read-back logic on its own.

The count that matters is the sandbox's own: how often each record was written. A write
re-sent after its answer was lost writes the record twice — Modified_Time moves again and
the customer's workflows run again — so every count must be exactly 1.
"""

from __future__ import annotations

import functools
from typing import Any

import pandas as pd
import pytest

from crmframe.core.diff import diff
from crmframe.core.plan import Costs
from crmframe.errors import ServerError, TransportError
from crmframe.facade.write.lostview import HELD_MESSAGE
from crmframe.facade.write.sender import CrmSender
from crmframe.facade.write.settle import AMBIGUOUS_CODE, APPLIED_MESSAGE, settle
from crmframe.facade.write.steps import Step
from crmframe.http.client import Reply

from .helpers import writing_crm

T0 = pd.Timestamp("2024-05-01T10:00:00Z")
T1 = pd.Timestamp("2024-05-01T10:05:00Z")


# -- the read-back logic, without any server ------------------------------------------------


def _frame(values: dict[str, tuple[str | None, pd.Timestamp]]) -> pd.DataFrame:
    idx = pd.Index(list(values), dtype="string", name="id")
    return pd.DataFrame({
        "City": pd.array([v[0] for v in values.values()], dtype="string"),
        "Modified_Time": pd.Series([v[1] for v in values.values()], index=idx,
                                   dtype="datetime64[s, UTC]"),
    }, index=idx)


def test_settle_sorts_applied_untouched_and_unknown() -> None:
    now = _frame({"1": ("Paris", T1), "2": ("Lyon", T0), "3": ("Nice", T1), "4": (None, T0)})
    sent = [{"id": i, "City": "Paris"} for i in ("1", "2", "3", "4", "5")]
    out = settle(now, sent, {}, stamps={"1": T0, "2": T0, "3": T0, "4": T0, "5": T0})
    assert out.applied == ["1"]            # holds the values sent
    assert out.not_applied == ["2", "4"]   # still at the baseline's stamp: provably untouched
    assert out.unknown == ["3", "5"]       # modified since (by whom?), or not read back


def test_settle_without_a_baseline_uses_the_server_clock_before_the_send() -> None:
    now = _frame({"1": ("Lyon", T0), "2": ("Lyon", T1)})
    sent = [{"id": "1", "City": "Paris"}, {"id": "2", "City": "Paris"}]
    out = settle(now, sent, {}, sent_after=pd.Timestamp("2024-05-01T10:01:00.700Z"))
    assert (out.not_applied, out.unknown) == (["1"], ["2"])
    assert settle(now, sent, {}).unknown == ["1", "2"]  # nothing to prove it: unknown


class _Client:
    """A ZohoClient stand-in: loses the answers it is told to, applies writes to ``store``."""

    def __init__(self, store: dict[str, str], lose: list[bool]) -> None:
        self.store, self.lose, self.sent = store, lose, []
        self.api_domain, self.version = "https://www.zohoapis.com", "v8"

    def request(self, method: str, path: str, *, json: Any = None, idempotent: Any = None,
                **_: Any) -> Reply:
        assert idempotent is False  # a write may never be retried blindly by the client
        self.sent.append([r["id"] for r in json["data"]])
        for record in json["data"]:
            self.store[record["id"]] = record["City"]
        if self.lose.pop(0):
            raise TransportError("PUT Leads failed (ConnectionError); not retried")
        return Reply(200, {"data": [{"code": "SUCCESS", "status": "success", "message": "ok",
                                     "details": {"id": r["id"]}} for r in json["data"]]},
                     {"Date": "Wed, 01 May 2024 10:06:00 GMT"})


def test_sender_resends_only_what_provably_did_not_land() -> None:
    store = {"1": "Lyon", "2": "Lyon", "3": "Lyon"}
    client = _Client(store, lose=[True, False])

    def read(fields: Any, ids: Any) -> pd.DataFrame:
        # the lost write landed for 1 and 2; record 2 was changed again by a colleague;
        # record 3 never received it (the sandbox applied it: pretend it did not)
        store["3"] = "Lyon"
        store["2"] = "Colleague"
        return _frame({"1": (store["1"], T1), "2": (store["2"], T1), "3": (store["3"], T0)})

    step = Step(0, "put", ("1", "2", "3"), ("City",),
                {"data": [{"id": i, "City": "Paris"} for i in ("1", "2", "3")]})
    sender = CrmSender(client, "Leads", {}, read=read, wait=lambda job: None,
                       stamps={"1": T0, "2": T0, "3": T0})
    body = sender.send(step, list(step.ids))
    assert client.sent == [["1", "2", "3"], ["3"]]  # only the untouched record again
    assert [(d["details"]["id"], d["status"], d["code"]) for d in body["data"]] == [
        ("1", "success", "SUCCESS"), ("2", "unknown", AMBIGUOUS_CODE),
        ("3", "success", "SUCCESS")]
    assert "lost" in body["data"][0]["message"]
    counted = (sender.ambiguous, sender.settle_calls, sender.settle_reads, sender.calls)
    assert counted == (1, 1, 1, 2)


def test_a_5xx_after_sending_is_settled_too() -> None:
    class Failing(_Client):
        def request(self, *args: Any, **kwargs: Any) -> Reply:
            super().request(*args, **kwargs)
            raise ServerError("INTERNAL_ERROR", "boom", {}, 500)

    store = {"1": "Lyon"}
    sender = CrmSender(Failing(store, [False]), "Leads", {},
                       read=lambda f, i: _frame({"1": (store["1"], T1)}), wait=lambda j: None,
                       stamps={"1": T0})
    step = Step(0, "put", ("1",), ("City",), {"data": [{"id": "1", "City": "Paris"}]})
    assert sender.send(step, ["1"])["data"][0]["status"] == "success"


def test_a_lost_mass_update_is_never_sent_again_even_if_its_records_look_untouched() -> None:
    class MassClient(_Client):
        def request(self, method: str, path: str, *, json: Any = None, idempotent: Any = None,
                    **_: Any) -> Reply:
            assert idempotent is False
            self.sent.append(list(json["ids"]))  # scheduled: Zoho applies it later
            raise TransportError("POST Leads/actions/mass_update failed (ConnectionError)")

    client = MassClient({}, [])
    sender = CrmSender(client, "Leads", {}, wait=lambda job: None, stamps={"1": T0, "2": T0},
                       read=lambda f, i: _frame({"1": ("Lyon", T0), "2": ("Lyon", T0)}))
    step = Step(0, "mass_update", ("1", "2"), ("City",),
                {"data": [{"City": "Paris"}], "ids": ["1", "2"]})
    body = sender.send(step, ["1", "2"])
    assert client.sent == [["1", "2"]]  # once: the job may still be on its way
    assert [(d["status"], d["code"]) for d in body["data"]] == [("unknown", AMBIGUOUS_CODE)] * 2
    assert "job" in body["data"][0]["message"]


# -- against the sandbox: PUT batches, mass updates, bulk writes ----------------------------


@pytest.mark.parametrize("rate", [0.05, 0.3])
def test_push_with_lost_answers_writes_no_record_twice(rate: float) -> None:
    from crmframe.sandbox import start

    with start(records=10_000, seed=11, lost_answer_rate=rate, flag_records=False,
               job_speed=50_000, job_delay=0.05) as server:
        crm = writing_crm(server.credentials)
        try:
            original = crm.read_records("Leads", ["Last_Name", "City", "Lead_Status",
                                                  "Custom_Text_3", "Modified_Time"],
                                        progress=False)
            assert len(original) == 10_000
            edited = original.copy()
            n = len(edited)
            # mass updates: one status on 6,000; PUT batches: a value per record on 4,000
            edited.loc[edited.index[:6000], "Lead_Status"] = "Contacted"
            edited.loc[edited.index[6000:], "Custom_Text_3"] = pd.array(
                [f"lost {rate} {i}" for i in range(n - 6000)], dtype="string")
            result = crm.push(edited, original, trigger=[], progress=False,
                              bulk_threshold=100_000)
        finally:
            crm.close()
        routes = set(result.results["route"].dropna())
        assert {"put", "mass_update"} <= routes
        assert server.answers_lost > 0  # the fault did happen
        counts = server.write_counts("Leads")
        assert max(counts.values()) == 1, sorted(counts.values())[-5:]  # nobody twice
        # every edit applied or reported: success rows are in Zoho, the rest are reported
        changed = set(diff(original, edited).changes["id"])
        assert len(changed) > 9000
        assert set(result.results["id"]) == changed
        check = writing_crm(server.credentials)
        try:
            back = check.read_records("Leads", ["Custom_Text_3", "Lead_Status"],
                                      progress=False)
        finally:
            check.close()
        ok = result.results[result.results["status"] == "success"]
        for route, column in (("put", "Custom_Text_3"), ("mass_update", "Lead_Status")):
            ids = ok.loc[ok["route"] == route, "id"].tolist()
            assert (back.loc[ids, column] == edited.loc[ids, column]).all()
        failed = result.results[result.results["status"] != "success"]
        assert set(failed["status"]) <= {"unknown", "error"}
        assert set(failed["code"]) <= {AMBIGUOUS_CODE, "TRANSPORT_ERROR"}
        written = {rid for rid, c in counts.items() if c}
        assert set(ok["id"]) <= written


@pytest.mark.parametrize("rate", [0.05, 0.3])
def test_bulk_write_push_with_lost_answers_is_exact_and_never_creates_a_job_twice(
    rate: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One push. A job creation whose answer is lost is found (a server with a job listing:
    # the sandbox's emulated one) and awaited, or settled by reading the records back until
    # they stop moving; only rows provably not applied go in a new file. A colleague edits
    # two records before the push.
    from crmframe.core import plan as plan_module
    from crmframe.sandbox import start

    # jobs of 1,000 rows: ten job creations per push, so answers are lost on some of them
    monkeypatch.setattr(plan_module, "Limits",
                        functools.partial(plan_module.Limits, bulk_write_rows=1000))
    n = 10_000
    with start(records=n, seed=12, lost_answer_rate=rate, flag_records=False,
               job_speed=100_000, job_delay=0.02) as server:
        crm = writing_crm(server.credentials)
        colleague = writing_crm(server.credentials)
        try:
            original = crm.read_records("Leads", ["Custom_Text_4", "City", "Modified_Time"],
                                        progress=False)
            edited = original.copy()
            edited["Custom_Text_4"] = pd.array([f"bulk {rate} {i}" for i in range(n)],
                                               dtype="string")
            ids = list(original.index)
            theirs = {ids[7]: "before", ids[n // 2]: "before 2"}
            lost = server.faults.lost_answer_rate
            server.faults.lost_answer_rate = 0.0  # the colleague's answers arrive
            for rid, city in theirs.items():  # before: another field of two records
                colleague.client.request("PUT", "Leads", json={"data": [{"id": rid,
                                                                         "City": city}]})
            server.faults.lost_answer_rate = lost
            theirs_counts = server.write_counts("Leads")
            result = crm.push(edited, original, trigger=[], progress=False,
                              bulk_threshold=1000, poll_interval=0.02)
        finally:
            crm.close()
            colleague.close()
        assert set(result.results["route"].dropna()) == {"bulk_write"}
        jobs = [p for m, p, s in server.requests if m == "POST" and p.endswith("/write")]
        counts = server.write_counts("Leads")
        ours = {rid: counts.get(rid, 0) - theirs_counts.get(rid, 0) for rid in ids}
        assert max(ours.values()) == 1  # no record written twice, whatever was lost
        # one job per file: every orphan was found applied by reading back, none made twice
        assert len(jobs) == 10
        assert result.results["id"].is_unique  # every record reported, once
        assert set(result.results["id"]) == set(ids)
        conflicts = result.results[result.results["code"] == "CONFLICT"]
        assert set(conflicts["id"]) == set(theirs)  # changed since our read: not written
        assert all(ours[rid] == 0 for rid in theirs)
        done = result.results[result.results["status"] == "success"]
        assert len(done) == n - len(theirs)  # exact: everything else applied
        assert all(ours[rid] == 1 for rid in done["id"])


def test_a_lost_job_creation_is_found_in_a_job_listing_and_awaited(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A server that lists bulk-write jobs (the sandbox's emulated, UNCONFIRMED listing):
    # the job whose creation lost its answer is found by its file_id and awaited — its
    # per-record results reported, no record read back, no second job.
    from crmframe.facade.write import sender as sm
    from crmframe.sandbox import start

    with start(records=300, seed=13, flag_records=False, job_speed=100_000, job_delay=0.02,
               job_listing=True) as server:
        upload, find = sm.CrmSender.upload, sm.CrmSender._find

        def upload_then_lose(self: Any, *args: Any, **kwargs: Any) -> str:
            file_id = upload(self, *args, **kwargs)
            server.faults.lost_answer_rate = 1.0  # the job creation's answer is lost
            return file_id

        def find_answered(self: Any, file_id: str) -> Any:
            server.faults.lost_answer_rate = 0.0
            return find(self, file_id)

        monkeypatch.setattr(sm.CrmSender, "upload", upload_then_lose)
        monkeypatch.setattr(sm.CrmSender, "_find", find_answered)
        crm = writing_crm(server.credentials)
        try:
            original = crm.read_records("Leads", ["Custom_Text_4", "Modified_Time"],
                                        progress=False)
            edited = original.copy()
            edited["Custom_Text_4"] = pd.array([f"found {i}" for i in range(300)],
                                               dtype="string")
            server.clear_requests()
            result = crm.push(edited, original, trigger=[], progress=False,
                              bulk_threshold=100, poll_interval=0.02,
                              costs=Costs(bulk_write_job_credits=1, bulk_write_calls=1))
        finally:
            crm.close()
        assert set(result.results["route"]) == {"bulk_write"}
        assert server.answers_lost == 1
        posts = [p for m, p, s in server.requests if m == "POST" and p.endswith("/write")]
        lookups = [p for m, p, s in server.requests if m == "GET" and p.endswith("/write")]
        assert (len(posts), len(lookups)) == (1, 1)  # found at the first look: one job
        assert result.ok
        assert (result.results["message"] == "record updated").all()  # the job's own results
        assert set(server.write_counts("Leads").values()) == {1}
        # no record was read back to settle it: one GET of Leads by ids is the guard's check
        by_ids = [p for m, p, s in server.requests if m == "GET" and "/Leads" in p]
        assert len(by_ids) <= 3


def test_a_mass_update_by_view_whose_answer_is_lost_is_never_scheduled_twice() -> None:
    # The job Zoho scheduled has not started: the view reads back untouched. The request
    # is sent by view once more: Zoho refuses it while the first job is scheduled
    # (ALREADY_SCHEDULED), so there is still one job, and every record is reported.
    from crmframe.sandbox import start

    with start(records=300, lost_answer_rate=1.0, job_speed=1.0, job_delay=60) as server:
        crm = writing_crm(server.credentials)
        try:
            view = crm.read_custom_views("Leads").index[0]
            result = crm.mass_update("Leads", {"Rating": "Active"}, cvid=view,
                                     poll_interval=0.01)  # no exception: data
            posts = [p for m, p, _ in server.requests if m == "POST" and "mass_update" in p]
            assert len(posts) == 2  # the lost one, and the probe Zoho refused
            assert len(server.app.jobs.mass) == 1  # the job exists, once
            in_view = crm.read_records("Leads", ["Rating"], cvid=view, progress=False)
            assert set(result.results["id"]) == set(in_view.index)  # every record reported
            assert result.results["id"].is_unique
            scheduled = result.results[result.results["code"] == "ALREADY_SCHEDULED"]
            assert len(scheduled) > 200  # not reached yet: reported, not updated by ids
            assert set(scheduled["status"]) == {"unknown"}
            held = result.results[result.results["code"] != "ALREADY_SCHEDULED"]
            assert (held["message"] == HELD_MESSAGE).all()  # held "Active" already
            assert server.write_counts("Leads") == {}  # nothing written by ids meanwhile
        finally:
            crm.close()


def test_a_lost_mass_update_by_view_that_ran_is_settled_by_reading_the_view_back() -> None:
    # The lost job runs at once: the view reads back with the value, each record once.
    from crmframe.sandbox import start

    with start(records=300, lost_answer_rate=1.0, job_speed=100_000, job_delay=0.0,
               flag_records=False) as server:
        crm = writing_crm(server.credentials)
        try:
            view = crm.read_custom_views("Leads").index[0]
            result = crm.mass_update("Leads", {"Rating": "Shut Down"}, cvid=view,
                                     poll_interval=0.01)
            posts = [p for m, p, _ in server.requests if m == "POST" and "mass_update" in p]
            assert len(posts) == 1  # never sent again
            assert len(server.app.jobs.mass) == 1
            counts = server.write_counts("Leads")
            assert set(counts.values()) == {1}  # each record of the view written once
            assert result.ok
            assert set(result.results["id"]) == set(counts)
            assert (result.results["message"] == APPLIED_MESSAGE).all()
        finally:
            crm.close()



def test_a_put_that_timed_out_is_read_back_until_stable_never_resent_while_zoho_works() -> None:
    # Zoho took the PUT and is still working when the client's timeout fires: the first
    # read-back sees the record untouched. Re-sending it then would write it twice once
    # Zoho finishes; the records are read again until they stop moving.
    store = {"1": "Lyon", "2": "Lyon"}
    sent: list[list[str]] = []

    class Slow(_Client):
        def request(self, method: str, path: str, *, json: Any = None, idempotent: Any = None,
                    **_: Any) -> Reply:
            assert idempotent is False
            sent.append([r["id"] for r in json["data"]])
            timeout = TransportError("PUT Leads failed (ReadTimeout); not retried")
            timeout.timed_out = True
            raise timeout

    reads = 0

    def read(fields: Any, ids: Any) -> pd.DataFrame:
        nonlocal reads
        reads += 1
        if reads == 3:  # Zoho finishes record 1 between the 2nd and 3rd read-back
            store["1"] = "Paris"
        stamp = {"1": T1 if store["1"] == "Paris" else T0, "2": T0}
        return _frame({i: (store[i], stamp[i]) for i in ids})

    naps: list[float] = []
    sender = CrmSender(Slow(store, []), "Leads", {}, read=read, wait=lambda job: None,
                       stamps={"1": T0, "2": T0}, poll_interval=0.5, sleep=naps.append)
    step = Step(0, "put", ("1", "2"), ("City",),
                {"data": [{"id": i, "City": "Paris"} for i in ("1", "2")]})
    body = sender.send(step, ["1"])
    assert sent == [["1"]]  # never re-sent: it landed while crmframe was reading
    assert body["data"][0]["status"] == "success"
    assert naps
    assert set(naps) == {0.5}
    # a record that stays untouched for the whole quiet window is provably not applied
    store["2"] = "Lyon"
    sent.clear()
    sender.send(step, ["2"])
    assert sent[0] == ["2"]
    assert len(sent) > 1  # re-sent once it stayed untouched (each send times out again)
