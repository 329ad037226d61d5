"""crm.sync edge cases: a record deleted while a sync runs, deletions older than the export."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from bighelpers import connection, like_an_export

import crmframe
from crmframe.facade.syncrun import SyncRun


@pytest.fixture
def server() -> Iterator[Any]:
    from crmframe.sandbox import start

    with start(records=900, seed=37, job_speed=1e7, job_delay=0) as running:
        yield running


def _calls(server: Any) -> list[tuple[str, str, int]]:
    return [entry for entry in server.requests if not entry[1].startswith("/oauth")]


def test_a_record_deleted_after_the_listing_read_it_stays_deleted(
    server: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "leads"
    with connection(server) as crm, connection(server) as colleague:
        crm.sync("Leads", path, formula_every=None, rows_per_file=300)
        ids = server.ids("Leads")
        edited, doomed = ids[10:14], ids[12:14]  # two edited records get deleted mid-sync
        colleague.client.request("PUT", "Leads", json={"data": [
            {"id": i, "Lead_Status": "Contacted"} for i in edited]})
        fetch_deletions = SyncRun.fetch_deletions

        def colleague_deletes_first(run: SyncRun) -> int:
            # between the listing of changes and the deletion log: the colleague deletes
            colleague.client.request("DELETE", "Leads", params={"ids": ",".join(doomed)})
            return fetch_deletions(run)

        monkeypatch.setattr(SyncRun, "fetch_deletions", colleague_deletes_first)
        result = crm.sync("Leads", path, formula_every=None)
        monkeypatch.undo()
        again = crm.sync("Leads", path, formula_every=None)
        fresh = like_an_export(crm.read_records("Leads", method="pages"))
    assert (result.changed, result.added, result.deleted) == (2, 0, 2)
    mirror = crmframe.read_dataset(path)
    assert not set(doomed) & set(mirror.index)
    assert (mirror.loc[edited[:2], "Lead_Status"] == "Contacted").all()
    assert again.unchanged
    assert len(mirror) == len(fresh) == 898
    pd.testing.assert_frame_equal(mirror, fresh)


def test_deletions_older_than_the_export_cost_the_first_sync_nothing(tmp_path: Path) -> None:
    from crmframe.sandbox import ManualClock, start

    path = tmp_path / "leads"
    clock = ManualClock()
    with start(records=900, seed=37, job_speed=1e7, job_delay=0, clock=clock) as server, \
            connection(server) as crm, connection(server) as colleague:
        ids = server.ids("Leads")
        # 300 deletions a minute before the export: a page and a half of the deletion log.
        for start_at in range(0, 300, 100):
            colleague.client.request("DELETE", "Leads",
                                     params={"ids": ",".join(ids[start_at:start_at + 100])})
        clock.advance(60)
        first = crm.sync("Leads", path, fields=["Last_Name", "Email"])
        clock.advance(60)
        server.clear_requests()
        result = crm.sync("Leads", path)
        calls = _calls(server)
        later = crm.sync("Leads", path)
    assert first.rows == 600
    assert result.unchanged
    assert later.unchanged
    # one call per endpoint: the deletion log is asked only from the export's start
    assert [p for _, p, _ in calls] == ["/crm/v8/settings/fields", "/crm/v8/Leads",
                                        "/crm/v8/Leads/deleted"]
    assert [s for _, p, s in calls if p.endswith("/deleted")] == [304]
    assert len(crmframe.read_dataset(path)) == 600


def test_a_second_edit_within_the_cursors_second_is_not_lost(tmp_path: Path) -> None:
    from crmframe.sandbox import ManualClock, start
    from crmframe.sandbox.store import Record

    path = tmp_path / "leads"
    clock = ManualClock()
    with start(records=300, seed=41, job_speed=1e7, job_delay=0, clock=clock) as server, \
            connection(server) as crm, connection(server) as colleague:
        crm.sync("Leads", path, fields=["Last_Name", "Phone"])
        rid = server.ids("Leads")[5]
        clock.advance(60)
        # The clock stands still: the sync reads within the second of the first edit
        # (its cursor is not settled), the second edit has the same Modified_Time.
        colleague.client.request("PUT", "Leads", json={"data": [{"id": rid, "Phone": "1"}]})
        first = crm.sync("Leads", path)
        # A second edit within the same second: Zoho stamps it with the same Modified_Time
        # (the sandbox moves a record's stamp on by a second, so it is written directly).
        store = server.app.store
        old = store.get("Leads", rid)
        store.put("Leads", [Record(rid, {**old.values, "Phone": "2"}, old.created,
                                   old.modified, old.locked, old.approved)])
        second = crm.sync("Leads", path)
        third = crm.sync("Leads", path)  # re-reads the record once more: it is the same
        clock.advance(60)
        server.clear_requests()
        # The third read was within the second too: one more re-read, now settled...
        fourth = crm.sync("Leads", path)
        fifth = crm.sync("Leads", path)  # ... so nothing is read again
        listing = [s for _, p, s in _calls(server) if p == "/crm/v8/Leads"]
    assert (first.changed, second.changed) == (1, 1)
    assert third.unchanged
    assert third.files_rewritten == 0
    assert fourth.unchanged
    assert fifth.unchanged
    assert listing == [200, 304]
    assert crmframe.read_dataset(path).loc[rid, "Phone"] == "2"


def test_a_record_changed_while_the_listing_pages_does_not_hide_another(tmp_path: Path) -> None:
    """The listing of changes goes by page number in Modified_Time order: a record a
    colleague changes between two pages moves to the end and the rest move up one, so the
    record crossing the page boundary was never served — and the cursor passed it: no
    later sync fetched it again."""
    from urllib.parse import parse_qs, urlparse

    from crmframe.sandbox import start
    from crmframe.sandbox.clock import ManualClock

    clock = ManualClock()
    path = tmp_path / "leads"
    with start(records=600, seed=43, flag_records=False, clock=clock) as server, \
            connection(server) as crm, connection(server) as colleague:
        crm.sync("Leads", path, formula_every=None)
        ids = sorted(server.ids("Leads"))

        def colleague_puts(rids: list[str], city: str) -> None:
            for at in range(0, len(rids), 100):
                colleague.client.request("PUT", "Leads", json={"trigger": [], "data": [
                    {"id": r, "City": city} for r in rids[at:at + 100]]})

        clock.advance(10)
        colleague_puts(ids[:200], "First")    # the listing's page 1
        clock.advance(10)
        colleague_puts([ids[400]], "Second")  # its page 2
        clock.advance(10)
        fired: list[bool] = []

        def during(response: Any, *args: Any, **kwargs: Any) -> None:
            query = parse_qs(urlparse(response.request.url).query)
            if (not fired and "If-Modified-Since" in response.request.headers
                    and query.get("sort_by") == ["Modified_Time"] and query.get("page") == ["1"]):
                fired.append(True)
                clock.advance(5)
                colleague_puts([ids[0]], "Moved")  # from page 1 to the end

        crm.client.session.hooks["response"].append(during)
        crm.client.request("GET", "org")  # its Date: the analyst's clock follows Zoho's
        crm.sync("Leads", path, formula_every=None)
        crm.client.session.hooks["response"].remove(during)
        clock.advance(10)
        crm.client.request("GET", "org")
        crm.sync("Leads", path, formula_every=None)
        fresh = like_an_export(crm.read_records("Leads", method="pages"))
    assert fired
    mirror = crmframe.read_dataset(path)
    assert mirror.loc[ids[400], "City"] == "Second"  # was the value before the change
    assert mirror.loc[ids[0], "City"] == "Moved"
    assert mirror.index.is_unique
    pd.testing.assert_frame_equal(mirror, fresh)
