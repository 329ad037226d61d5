"""crm.sync: only what changed, deletions applied, formulas refreshed, calls counted."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from bighelpers import connection, like_an_export

import crmframe
from crmframe.facade.crm import CRM


@pytest.fixture
def server() -> Iterator[Any]:
    from crmframe.sandbox import start

    with start(records=2500, seed=31, job_speed=1e7, job_delay=0) as running:
        yield running


def _calls(log: list[tuple[str, str, int]]) -> list[tuple[str, str, int]]:
    return [entry for entry in log if not entry[1].startswith("/oauth")]


def _colleague_changes(colleague: CRM, ids: list[str], frame: pd.DataFrame) -> None:
    """A colleague touches 40 records (same values), edits 20, deletes 10."""
    touched = [{"id": i, "Last_Name": frame.loc[i, "Last_Name"]} for i in ids[:40]]
    edited = [{"id": i, "Phone": f"+1-555-01{n:05d}", "Lead_Status": "Contacted"}
              for n, i in enumerate(ids[40:60])]
    colleague.client.request("PUT", "Leads", json={"data": touched})
    colleague.client.request("PUT", "Leads", json={"data": edited})
    colleague.client.request("DELETE", "Leads", params={"ids": ",".join(ids[60:70])})


def test_sync_after_touches_edits_and_deletions_makes_a_handful_of_calls(
    server: Any, tmp_path: Path
) -> None:
    path = tmp_path / "leads"
    with connection(server) as crm, connection(server) as colleague:
        first = crm.sync("Leads", path, formula_every=None, rows_per_file=1000)
        assert first.exported is not None
        assert first.rows == 2500
        frame = crm.read_records("Leads", ["Last_Name"], method="pages")
        # Spread over the whole module, so several files are concerned.
        ids = list(frame.index[::35])[:70]
        _colleague_changes(colleague, ids, frame)
        server.clear_requests()
        result = crm.sync("Leads", path, formula_every=None)
        calls = _calls(server.requests)
        fresh = like_an_export(crm.read_records("Leads", method="pages"))
    # fields, the If-Modified-Since listing, the second field chunk by ids, /deleted.
    assert len(calls) <= 5, calls
    assert result.calls == len(calls)
    assert result.files_rewritten == 3
    assert (result.changed, result.added, result.deleted) == (60, 0, 10)
    assert result.rows == 2490 == len(fresh)
    mirror = crmframe.read_dataset(path)
    assert mirror.dtypes.astype(str).to_dict() == fresh.dtypes.astype(str).to_dict()
    changes = crmframe.diff(fresh, mirror)
    assert len(changes.changes) == 0
    assert not len(changes.added_rows)
    assert not len(changes.removed_ids)
    pd.testing.assert_frame_equal(mirror, fresh)
    back = pd.read_parquet(path)
    assert len(back) == 2490
    assert back.index.is_unique
    assert (back.loc[ids[40:60], "Lead_Status"] == "Contacted").all()


def test_an_unchanged_module_costs_one_call_per_endpoint(server: Any, tmp_path: Path) -> None:
    path = tmp_path / "leads"
    with connection(server) as crm:
        crm.sync("Leads", path, fields=["Last_Name", "Email", "Owner"])
        before = sorted(p.stat().st_mtime_ns for p in path.glob("*.parquet"))
        server.clear_requests()
        result = crm.sync("Leads", path)
        calls = _calls(server.requests)
    assert result.unchanged
    assert result.files_rewritten == 0
    paths = [p for _, p, _ in calls]
    assert paths == ["/crm/v8/settings/fields", "/crm/v8/Leads", "/crm/v8/Leads/deleted"]
    assert [s for _, p, s in calls if p == "/crm/v8/Leads"] == [304]
    assert sorted(p.stat().st_mtime_ns for p in path.glob("*.parquet")) == before
    manifest = json.loads((path / "_crmframe.json").read_text())
    assert manifest["cursor"]["time"]
    assert manifest["history"][-1]["kind"] == "sync"
    assert manifest["history"][-1]["calls"] == result.calls


def test_new_records_land_in_a_new_file_and_formulas_refresh_on_schedule(
    server: Any, tmp_path: Path
) -> None:
    from crmframe.sandbox.store import Record

    path = tmp_path / "leads"
    names = ["Last_Name", "Company", "Annual_Revenue", "No_of_Employees",
             "Revenue_per_Employee"]
    with connection(server) as crm:
        crm.sync("Leads", path, fields=names)
        inserted = crm.client.request("POST", "Leads", json={"data": [
            {"Last_Name": f"New {n}", "Company": "Zylker"} for n in range(5)]})
        new_ids = [r["details"]["id"] for r in (inserted.body or {})["data"]]
        # Zoho recomputes formulas without touching Modified_Time: do the same here.
        store = server.app.store
        victims = server.ids("Leads")[:7]
        for rid in victims:
            old = store.get("Leads", rid)
            values = {**old.values, "Revenue_per_Employee": 12345.5}
            store.put("Leads", [Record(rid, values, old.created, old.modified, old.locked,
                                       old.approved)])
        without = crm.sync("Leads", path, formula_every=timedelta(days=1))
        assert without.formula_cells is None  # not due yet: refreshed at the export
        result = crm.sync("Leads", path, formula_every=timedelta(0))
        fresh = crm.read_records("Leads", names, method="pages")
    assert without.added == 5
    assert result.added == 0
    assert result.formula_cells == 7
    mirror = crmframe.read_dataset(path)
    assert set(new_ids) <= set(mirror.index)
    assert (mirror.loc[victims, "Revenue_per_Employee"] == 12345.5).all()
    pd.testing.assert_frame_equal(mirror, fresh)
    assert len(list(path.glob("part-*.parquet"))) == 2
