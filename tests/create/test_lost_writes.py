"""Deletes and inserts whose answer is lost after Zoho acted: settled by reading back, never
re-sent blindly (a blind re-send is answered "not found" for records it did delete)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from tests.push.helpers import wait_for_bulk_writes

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


class _GatewayErrorAfterCommit:
    """A ``requests.Session`` whose first write to ``path`` (by ``method``) reaches the
    sandbox, which commits it, and comes back as a 502 from a gateway: Zoho may have acted."""

    def __new__(cls, method: str, path: str) -> Any:
        import requests

        class Session(requests.Session):
            armed = True

            def request(self, verb: str, url: str, *args: Any, **kwargs: Any) -> Any:
                response = super().request(verb, url, *args, **kwargs)
                if self.armed and verb == method and url.split("?")[0].endswith(path):
                    self.armed = False
                    response.status_code = 502
                    response._content = (b'{"code":"INTERNAL_ERROR","status":"error",'
                                         b'"message":"bad gateway","details":{}}')
                return response

        return Session()


def test_an_insert_answered_502_after_zoho_created_it_is_settled_not_reported_failed() -> None:
    import pandas as pd

    from crmframe.facade.crm import connect
    from crmframe.http.retry import RetryPolicy
    from crmframe.sandbox import start

    with start(records=100, seed=19, flag_records=False) as server:
        crm = connect(**server.credentials, session=_GatewayErrorAfterCommit("POST", "/Leads"),
                      retry=RetryPolicy(max_attempts=12, max_delay=3600, sleep=lambda s: None))
        colleague = writing_crm(server.credentials)
        try:
            crm.read_records("Leads", ["Last_Name"], progress=False)  # a Date header seen
            colleague.client.request("POST", "Leads", json={"data": [
                {"Last_Name": "Gateway 1", "Company": "Gw Co"}]})  # a look-alike of theirs
            before = set(server.ids("Leads"))
            new = pd.DataFrame({"Last_Name": [f"Gateway {i}" for i in range(3)],
                                "Company": ["Gw Co"] * 3})
            result = crm.insert(new, module="Leads", trigger=[])
            # What an analyst does with failed rows: insert them again.
            failed = new[result.results["status"].ne("success").to_numpy()]
            if len(failed):
                crm.insert(failed, module="Leads", trigger=[])
        finally:
            crm.close()
            colleague.close()
        created = set(server.ids("Leads")) - before
        assert len(created) == 3  # each row created once (was 6: reported failed, re-inserted)
        assert result.ok
        assert set(result.results["id"]) == created
        assert result.results["message"].str.contains("answer was lost").all()


def test_a_delete_answered_502_after_zoho_deleted_is_reported_deleted() -> None:
    from crmframe.facade.crm import connect
    from crmframe.http.retry import RetryPolicy
    from crmframe.sandbox import start

    with start(records=100, seed=20, flag_records=False) as server:
        crm = connect(**server.credentials, session=_GatewayErrorAfterCommit("DELETE", "/Leads"),
                      retry=RetryPolicy(max_attempts=12, max_delay=3600, sleep=lambda s: None))
        try:
            doomed = sorted(server.ids("Leads"))[:5]
            server.clear_requests()
            result = crm.delete(doomed, module="Leads", trigger=[])
        finally:
            crm.close()
        assert not set(doomed) & set(server.ids("Leads"))
        assert len([r for r in server.requests if r[0] == "DELETE"]) == 1
        assert result.ok  # was: every id "error" INTERNAL_ERROR although all were deleted
        assert result.results["id"].tolist() == doomed


def test_an_upsert_answered_502_is_unknown_not_failed() -> None:
    import pandas as pd

    from crmframe.facade.crm import connect
    from crmframe.http.retry import RetryPolicy
    from crmframe.sandbox import start

    with start(records=50, seed=21, flag_records=False) as server:
        crm = connect(**server.credentials,
                      session=_GatewayErrorAfterCommit("POST", "/Leads/upsert"),
                      retry=RetryPolicy(max_attempts=12, max_delay=3600, sleep=lambda s: None))
        try:
            new = pd.DataFrame({"Last_Name": ["Up"], "Company": ["Up Co"],
                                "Email": ["up.gateway@example.com"]})
            result = crm.upsert(new, module="Leads", duplicate_check_fields=["Email"],
                                trigger=[])
        finally:
            crm.close()
        assert len(server.ids("Leads")) == 51  # it landed
        assert result.results["status"].tolist() == ["unknown"]  # not "error": retry-able


def test_a_lost_insert_does_not_take_an_earlier_batchs_identical_record_for_its_own() -> None:
    """Two rows alike (same name, same company) in different batches; the second batch's
    connection breaks before Zoho got it. Settling read back every record created since the
    first batch, and took the first row's record for the second row: reported inserted,
    with the first row's id, and never created."""
    import pandas as pd
    import requests

    from crmframe.facade.crm import connect
    from crmframe.http.retry import RetryPolicy
    from crmframe.sandbox import start

    class SecondInsertNeverArrives(requests.Session):
        posts = 0

        def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
            if method == "POST" and url.split("?")[0].endswith("/Leads"):
                self.posts += 1
                if self.posts == 2:
                    raise requests.ConnectionError("reset: the request may have been sent")
            return super().request(method, url, *args, **kwargs)

    with start(records=50, seed=22, flag_records=False) as server:
        crm = connect(**server.credentials, session=SecondInsertNeverArrives(),
                      retry=RetryPolicy(max_attempts=12, max_delay=3600, sleep=lambda s: None))
        colleague = writing_crm(server.credentials)
        try:
            crm.read_records("Leads", ["Last_Name"], progress=False)  # a Date header seen
            colleague.client.request("POST", "Leads", json={"data": [
                {"Last_Name": "Alike 7", "Company": "Alike Co"}]})  # theirs, alike too
            names = [f"Alike {i}" for i in range(150)]
            names[120] = names[20]
            new = pd.DataFrame({"Last_Name": names, "Company": ["Alike Co"] * 150})
            before = set(server.ids("Leads"))
            result = crm.insert(new, module="Leads", trigger=[])
        finally:
            crm.close()
            colleague.close()
        created = set(server.ids("Leads")) - before
        assert result.ok
        assert len(created) == 150  # was 149: row 120 reported inserted, never created
        assert result.results["id"].is_unique  # was row 20's id twice
        assert set(result.results["id"]) == created


def test_a_push_whose_insert_answer_is_lost_finds_the_records_it_created() -> None:
    """push(inserts=True) sent its inserts without settling: a lost answer made its rows
    'unknown' (their records created, their ids unknown) and every later insert batch
    'not_sent'. It now settles them as crm.insert does."""
    import pandas as pd

    from crmframe.sandbox import start

    with start(records=60, seed=23, flag_records=False) as server:
        crm = writing_crm(server.credentials)
        colleague = writing_crm(server.credentials)
        try:
            original = crm.read_records("Leads", ["Last_Name", "City", "Modified_Time"],
                                        ids=sorted(server.ids("Leads"))[:5], progress=False)
            edited = pd.concat([original, pd.DataFrame({
                "Last_Name": [f"Pushed {n}" for n in range(150)], "City": ["Lille"] * 150})])
            colleague.client.request("POST", "Leads", json={"data": [
                {"Last_Name": "Pushed 3", "City": "Lille"}]})  # theirs, alike
            before = set(server.ids("Leads"))
            server.faults.lost_answer_rate = 1.0  # every write commits, its answer is lost
            result = crm.push(edited, original, inserts=True, trigger=[])
            server.faults.lost_answer_rate = 0.0
        finally:
            crm.close()
            colleague.close()
        created = set(server.ids("Leads")) - before
        inserted = result.results[result.results["route"] == "insert"]
        assert len(created) == 150  # each row once
        assert inserted["status"].tolist() == ["success"] * 150  # was unknown / not_sent
        assert set(inserted["id"]) == created
        frame = result.frame
        assert frame is not None
        assert frame.index[5:].tolist() == inserted["id"].tolist()


class _JobCreationAnswerLost:
    """A ``requests.Session`` forwarding every call; the ``nth`` ``POST /crm/bulk/v8/write``
    reaches the sandbox (which creates the job) and its answer is lost on the way back."""

    def __new__(cls, nth: int) -> Any:
        import requests

        class Session(requests.Session):
            creations = 0

            def request(self, verb: str, url: str, *args: Any, **kwargs: Any) -> Any:
                response = super().request(verb, url, *args, **kwargs)
                if verb == "POST" and url.split("?")[0].endswith("/crm/bulk/v8/write"):
                    self.creations += 1
                    if self.creations == nth:
                        raise requests.ConnectionError("reset after the job was created")
                return response

        return Session()


def test_a_bulk_write_job_whose_creation_answer_is_lost_is_rows_unknown_not_an_exception(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    """30 new leads in 3 jobs of 10; the second job's creation commits and its answer is
    lost, and the server lists no jobs. bulk_write raised OrphanJob: no result, and the
    first job's 10 new ids lost with it. Now the lost job's rows are ``unknown``
    (JOB_UNKNOWN, a message naming the uploaded file), never sent again; the other jobs'
    rows keep their results, and every lead exists exactly once."""
    import logging

    with _new_leads_in_jobs(monkeypatch, _JobCreationAnswerLost(2), tag="Orphan", rows=30,
                            per_job=10, seed=24, attempts=12, records=40,
                            first_label=100) as (server, crm, colleague, frame, before):
        server.clear_requests()
        result, added = _insert_then_colleague_edits(server, crm, colleague, frame, caplog)
        creations = [r for r in server.requests
                     if r[0] == "POST" and r[1].split("?")[0].endswith("/bulk/v8/write")]
        assert len(creations) == 3  # one per file: the lost one never created again
        assert list(result.index) == list(frame.index)
        status = result["STATUS"].tolist()
        assert status == ["added"] * 10 + ["unknown"] * 10 + ["added"] * 10
        lost = result.iloc[10:20]
        assert set(lost["code"]) == {"JOB_UNKNOWN"}
        assert lost["RECORD_ID"].isna().all()
        assert all(e == [("JOB_UNKNOWN", None)] for e in lost["ERRORS"])
        assert result.iloc[[*range(10), *range(20, 30)]]["RECORD_ID"].notna().all()
        assert len(result.attrs["jobs"]) == 2
        [orphan] = result.attrs["unknown_jobs"]
        assert orphan["rows"] == list(range(110, 120))
        message = orphan["message"]
        assert orphan["file_id"] in message
        assert "may have been created" in message
        assert "Setup" in message
        warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        assert any(orphan["file_id"] in w and "JOB_UNKNOWN" in w for w in warned)
        for secret in server.credentials.values():
            assert str(secret) not in message
            assert not any(str(secret) in w for w in warned)
        # the lost job ran in the sandbox: every lead exists exactly once, the colleague's
        # look-alike included, and their edit stands
        created = set(server.ids("Leads")) - before
        names = sorted(server.get_record("Leads", rid)["Last_Name"] for rid in created)
        assert names == sorted(frame["Last_Name"])
        assert set(added) <= created
        assert server.get_record("Leads", added[0])["City"] == "Theirs"


@contextmanager
def _new_leads_in_jobs(monkeypatch: pytest.MonkeyPatch, session: Any, *, tag: str, rows: int,
                       per_job: int, seed: int, attempts: int, records: int = 20,
                       first_label: int = 0) -> Iterator[tuple[Any, Any, Any, Any, set[str]]]:
    """A sandbox, the analyst's connection through ``session``, a colleague's, and ``rows``
    new leads ("{tag} i", labelled from ``first_label``) that go as bulk-write jobs of
    ``per_job`` rows; the colleague has already inserted a look-alike of one of them.
    Yields ``(server, crm, colleague, new, the lead ids before)``."""
    import pandas as pd

    from crmframe.facade.crm import connect
    from crmframe.facade.write import bulkrows
    from crmframe.http.retry import RetryPolicy
    from crmframe.sandbox import start

    monkeypatch.setattr(bulkrows, "MAX_BULK_ROWS", per_job)
    with start(records=records, seed=seed, flag_records=False, job_speed=200_000,
               job_delay=0.05) as server:
        crm = connect(**server.credentials, session=session,
                      retry=RetryPolicy(max_attempts=attempts, max_delay=3600,
                                        sleep=lambda s: None))
        colleague = writing_crm(server.credentials)
        try:
            colleague.client.request("POST", "Leads", json={"data": [
                {"Last_Name": f"{tag} {rows * 5 // 6}", "Company": f"{tag} Co"}]})  # alike
            new = pd.DataFrame({"Last_Name": [f"{tag} {i}" for i in range(rows)],
                                "Company": [f"{tag} Co"] * rows},
                               index=pd.RangeIndex(first_label, first_label + rows))
            yield server, crm, colleague, new, set(server.ids("Leads"))
        finally:
            crm.close()
            colleague.close()


def _insert_then_colleague_edits(server: Any, crm: Any, colleague: Any, frame: Any,
                                 caplog: pytest.LogCaptureFixture) -> tuple[Any, list[str]]:
    """``bulk_write`` inserts ``frame`` (warnings captured), every job the sandbox holds
    runs, then the colleague edits the first new lead. Returns the result and new ids."""
    import logging

    with caplog.at_level(logging.WARNING, logger="crmframe"):
        result = crm.bulk_write(frame, "Leads", operation="insert", poll_interval=0.05)
    wait_for_bulk_writes(server)
    added = result["RECORD_ID"].dropna().tolist()
    colleague.client.request("PUT", "Leads", json={"data": [
        {"id": added[0], "City": "Theirs"}]})  # after: a colleague edits a new lead
    return result, added


def test_a_bulk_route_insert_whose_job_creation_answer_is_lost_reports_rows_unknown(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """crm.insert by bulk write (900 rows, 3 jobs here): the lost job's rows are ``unknown``
    in the PushResult with the message, the others ``success`` with their ids."""
    with _new_leads_in_jobs(monkeypatch, _JobCreationAnswerLost(3), tag="Bulk", rows=900,
                            per_job=300, seed=25, attempts=12) as (server, crm, _, new, before):
        result = crm.insert(new, module="Leads", trigger=[], bulk_threshold=1,
                            poll_interval=0.05)
        wait_for_bulk_writes(server)
        rows = result.results
        assert rows["status"].tolist() == ["success"] * 600 + ["unknown"] * 300
        assert set(rows["code"].iloc[600:]) == {"JOB_UNKNOWN"}
        assert rows["message"].iloc[600:].str.contains("may have been created").all()
        assert rows["id"].iloc[:600].notna().all()
        created = set(server.ids("Leads")) - before
        names = sorted(server.get_record("Leads", rid)["Last_Name"] for rid in created)
        assert names == sorted(new["Last_Name"])  # every row once, the lost job's too


def test_a_bulk_update_by_id_whose_job_creation_answer_is_lost_reports_rows_unknown() -> None:
    """bulk_write(edited) (update by id): the job's creation commits, its answer is lost.
    Its rows are ``unknown`` (not an OrphanJob raised), no record is written twice, and a
    colleague's edit of another field stands."""
    import pandas as pd

    from crmframe.facade.crm import connect
    from crmframe.http.retry import RetryPolicy
    from crmframe.sandbox import start

    with start(records=40, seed=26, flag_records=False, job_speed=200_000,
               job_delay=0.05) as server:
        crm = connect(**server.credentials, session=_JobCreationAnswerLost(1),
                      retry=RetryPolicy(max_attempts=12, max_delay=3600, sleep=lambda s: None))
        colleague = writing_crm(server.credentials)
        try:
            ids = sorted(server.ids("Leads"))[:20]
            edited = pd.DataFrame({"City": [f"City {i}" for i in range(20)]},
                                  index=pd.Index(ids, dtype="string", name="id"))
            theirs = ids[3]
            colleague.client.request("PUT", "Leads", json={"data": [
                {"id": theirs, "Company": "Theirs Co"}]})
            result = crm.bulk_write(edited, "Leads", poll_interval=0.05)
            wait_for_bulk_writes(server)
        finally:
            crm.close()
            colleague.close()
        assert result["STATUS"].tolist() == ["unknown"] * 20
        assert set(result["code"]) == {"JOB_UNKNOWN"}
        assert result["id"].tolist() == ids
        [orphan] = result.attrs["unknown_jobs"]
        assert orphan["rows"] == ids
        counts = server.write_counts("Leads")
        assert {rid: counts.get(rid, 0) - (rid == theirs) for rid in ids} == dict.fromkeys(
            ids, 1)  # the lost job ran once, nothing re-sent
        assert server.get_record("Leads", theirs)["Company"] == "Theirs Co"
        assert [server.get_record("Leads", rid)["City"] for rid in ids] == edited["City"].tolist()


class _LaterJobFails:
    """A ``requests.Session`` forwarding every call, except for the bulk-write job made
    from the ``nth`` upload: ``"upload"`` — that upload (and every retry of it) never
    connects; ``"wait"`` — the job is created, then every status call about it drops;
    ``"failed"`` — the job is created and runs, and its status says FAILED."""

    def __new__(cls, nth: int, fault: str) -> Any:
        import json

        import requests

        class Session(requests.Session):
            uploads = 0
            job_id: str | None = None

            def request(self, verb: str, url: str, *args: Any, **kwargs: Any) -> Any:
                path = url.split("?")[0]
                if verb == "POST" and path.endswith("/upload"):
                    self.uploads += 1
                    if fault == "upload" and self.uploads >= nth:
                        raise requests.ConnectionError("connection refused")
                mine = self.job_id is not None and path.endswith(f"/write/{self.job_id}")
                if fault == "wait" and mine:
                    raise requests.ConnectionError("connection reset")
                response = super().request(verb, url, *args, **kwargs)
                if (verb == "POST" and path.endswith("/crm/bulk/v8/write")
                        and self.uploads == nth):
                    self.job_id = str(response.json()["details"]["id"])
                if fault == "failed" and mine and response.json().get("status") == "COMPLETED":
                    body = response.json()
                    body["status"] = "FAILED"
                    response._content = json.dumps(body).encode()
                return response

        return Session()


def _three_job_insert(monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture,
                      fault: str, nth: int, seed: int) -> tuple[Any, Any, set[str], Any]:
    """30 new leads in 3 jobs of 10, the ``nth`` job failing by ``fault``; a colleague adds
    a look-alike before and edits one of our new leads after. The analyst then inserts again
    the rows reported ``not_sent`` (what they are for). Returns the result, the frame, the
    leads created and the server."""
    import logging

    with _new_leads_in_jobs(monkeypatch, _LaterJobFails(nth, fault), tag="Later", rows=30,
                            per_job=10, seed=seed, attempts=4, records=40,
                            first_label=100) as (server, crm, colleague, frame, before):
        result, added = _insert_then_colleague_edits(server, crm, colleague, frame, caplog)
        again = frame[result["STATUS"].eq("not_sent").to_numpy()]
        if len(again):
            retry = writing_crm(server.credentials)
            try:
                retry.bulk_write(again, "Leads", operation="insert", poll_interval=0.05)
            finally:
                retry.close()
        wait_for_bulk_writes(server)
        created = set(server.ids("Leads")) - before
        names = sorted(server.get_record("Leads", rid)["Last_Name"] for rid in created)
        assert names == sorted(frame["Last_Name"])  # every lead exactly once
        assert set(added) <= created
        assert server.get_record("Leads", added[0])["City"] == "Theirs"
        warned = [r.getMessage() for r in caplog.records
                  if r.levelno == logging.WARNING and r.name == "crmframe.facade"]
        assert any("NOT_SENT" in w or "JOB_UNKNOWN" in w for w in warned)
        for key in ("client_id", "client_secret", "refresh_token"):
            secret = server.credentials[key]
            assert not any(secret in w for w in warned)
            assert not any(secret in str(e) for e in [
                *result.attrs["unknown_jobs"], *result.attrs["not_sent"]])
        return result, frame, created, server


def test_a_bulk_write_whose_last_upload_fails_keeps_the_finished_jobs_ids(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    """The third file's upload never connects (after retries). bulk_write raised the
    TransportError: the 20 leads the first two jobs created were in no result, and an
    analyst inserting the frame again wrote them twice. Now those rows keep their ids and
    the third file's rows are ``not_sent`` (no upload, so no job: safe to send again)."""
    result, frame, _, _ = _three_job_insert(monkeypatch, caplog, "upload", 3, seed=27)
    assert list(result.index) == list(frame.index)
    assert result["STATUS"].tolist() == ["added"] * 20 + ["not_sent"] * 10
    assert result["RECORD_ID"].iloc[:20].notna().all()
    assert result["RECORD_ID"].iloc[20:].isna().all()
    assert set(result["code"].iloc[20:]) == {"NOT_SENT"}
    assert len(result.attrs["jobs"]) == 2
    assert result.attrs["unknown_jobs"] == []
    [stop] = result.attrs["not_sent"]
    assert stop["rows"] == list(range(120, 130))
    assert "no job was created" in stop["message"]


def test_a_bulk_write_whose_job_cannot_be_watched_reports_it_unknown_with_its_id(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    """The second job is created, then every status call about it drops: bulk_write raised
    ("job ... may still be running") and lost the first job's 10 ids. Now its rows are
    ``unknown`` (never re-sent, the message names the job and how to collect it), the
    third file is not sent (``not_sent``), the first job's rows keep their ids."""
    result, _, _, _ = _three_job_insert(monkeypatch, caplog, "wait", 2, seed=28)
    assert result["STATUS"].tolist() == ["added"] * 10 + ["unknown"] * 10 + ["not_sent"] * 10
    assert result["RECORD_ID"].iloc[:10].notna().all()
    assert set(result["code"].iloc[10:20]) == {"JOB_UNKNOWN"}
    [lost] = result.attrs["unknown_jobs"]
    assert lost["rows"] == list(range(110, 120))
    assert lost["job_id"]
    assert lost["job_id"] in lost["message"]
    assert "crm.bulk_write_result" in lost["message"]
    [stop] = result.attrs["not_sent"]
    assert stop["rows"] == list(range(120, 130))


def test_a_bulk_write_job_ending_failed_is_unknown_not_an_exception(
        monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture) -> None:
    """The second job runs (its 10 leads are written) and says FAILED: bulk_write raised
    JobFailed, losing the first job's ids. Its rows are now ``unknown`` (it may have written
    some: never re-sent), and the third file is not sent."""
    result, _, _, _ = _three_job_insert(monkeypatch, caplog, "failed", 2, seed=29)
    assert result["STATUS"].tolist() == ["added"] * 10 + ["unknown"] * 10 + ["not_sent"] * 10
    [lost] = result.attrs["unknown_jobs"]
    assert lost["job_id"] in lost["message"]
    assert "FAILED" in lost["message"]


def test_a_bulk_route_insert_whose_last_upload_fails_reports_rows_not_sent(
        monkeypatch: pytest.MonkeyPatch) -> None:
    """crm.insert by bulk write (900 rows, 3 jobs): the third upload never connects. The
    first 600 rows are ``success`` with their ids, the last 300 ``not_sent`` (safe to
    insert again), and inserting those again makes every lead exist exactly once."""
    with _new_leads_in_jobs(monkeypatch, _LaterJobFails(3, "upload"), tag="Bulk", rows=900,
                            per_job=300, seed=30, attempts=4) as (server, crm, colleague, new,
                                                                  before):
        result = crm.insert(new, module="Leads", trigger=[], bulk_threshold=1,
                            poll_interval=0.05)
        rows = result.results
        colleague.insert(new[rows["status"].eq("not_sent").to_numpy()], module="Leads",
                         trigger=[], bulk_threshold=1, poll_interval=0.05)
        assert rows["status"].tolist() == ["success"] * 600 + ["not_sent"] * 300
        assert set(rows["code"].iloc[600:]) == {"NOT_SENT"}
        assert rows["message"].iloc[600:].str.contains("no job was created").all()
        assert rows["id"].iloc[:600].notna().all()
        created = set(server.ids("Leads")) - before
        names = sorted(server.get_record("Leads", rid)["Last_Name"] for rid in created)
        assert names == sorted(new["Last_Name"])  # every row once
