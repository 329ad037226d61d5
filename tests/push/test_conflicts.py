"""Write-back never silently overwrites: a colleague (a second connection) edits the same
records before, during and after a push, on every push path. Each test counts the
colleague's changes the push overwrote and the records it rewrote without an edit of its
own: both must be 0."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import crmframe
from crmframe.errors import InputError
from crmframe.widgets import PushPreview

from .helpers import api_calls, writing_crm

pytestmark = pytest.mark.sandbox

FIELDS = ["City", "Phone", "Lead_Status", "Modified_Time"]


@pytest.fixture(scope="module")
def server() -> Iterator[Any]:
    from crmframe.sandbox import start

    with start(records=3000, seed=31, flag_records=False) as running:
        yield running


@pytest.fixture
def analyst(server: Any) -> Iterator[Any]:
    crm = writing_crm(server.credentials)
    try:
        yield crm
    finally:
        crm.close()


@pytest.fixture
def colleague(server: Any) -> Iterator[Any]:
    crm = writing_crm(server.credentials)
    try:
        yield crm
    finally:
        crm.close()


_BLOCKS = iter(range(0, 3000, 150))


def _ids(server: Any, n: int = 150) -> list[str]:
    """Records no other test of this module touches."""
    start = next(_BLOCKS)
    return sorted(server.ids("Leads"))[start : start + n][:n]


class Ledger:
    """What the colleague wrote, and the stamps of records the push must not rewrite."""

    def __init__(self, server: Any) -> None:
        self.server = server
        self.theirs: dict[str, dict[str, Any]] = {}
        self.untouched: dict[str, str] = {}

    def colleague_sets(self, colleague: Any, ids: list[str], field: str, tag: str) -> None:
        frame = colleague.read_records("Leads", [field], ids=ids, progress=False)
        frame[field] = pd.array([f"{tag} {n}" for n in range(len(frame))], dtype="string")
        result = colleague.push(frame, overwrite=True, trigger=[])
        assert result.failed.empty, result.failed.head()
        for rid in frame.index:
            self.theirs.setdefault(str(rid), {})[field] = frame.loc[rid, field]

    def keep(self, ids: list[str]) -> None:
        """Records the push must leave alone (not edited, or a colleague's): their stamps."""
        for rid in ids:
            self.untouched[rid] = self.server.get_record("Leads", rid)["Modified_Time"]

    def overwritten(self) -> int:
        return sum(
            any(self.server.get_record("Leads", rid)[f] != v for f, v in values.items())
            for rid, values in self.theirs.items()
        )

    def rewritten(self) -> int:
        return sum(self.server.get_record("Leads", rid)["Modified_Time"] != stamp
                   for rid, stamp in self.untouched.items())


def _read(crm: Any, ids: list[str]) -> pd.DataFrame:
    return crm.read_records("Leads", FIELDS, ids=ids, progress=False)


def _conflicts(result: Any) -> pd.DataFrame:
    rows: pd.DataFrame = result.results[result.results["code"] == "CONFLICT"]
    return rows


def _assert_conflict_rows_show_theirs(result: Any, ledger: Ledger, field: str) -> None:
    rows = _conflicts(result)
    assert len(rows)
    for rid, details, when in zip(rows["id"], rows["details"], rows["Modified_Time"],
                                  strict=True):
        assert (rows.loc[rows["id"] == rid, "status"] == "skipped").all()
        assert not pd.isna(when)  # the colleague's time
        theirs = ledger.theirs.get(rid, {})
        if field in theirs:
            assert details["theirs"][field] == theirs[field]  # the colleague's value


def test_push_with_original_refuses_records_a_colleague_changed_before(
    server: Any, analyst: Any, colleague: Any
) -> None:
    ids = _ids(server, 60)
    original = _read(analyst, ids)
    edited = original.copy()
    edited.loc[ids[:40], "City"] = pd.array([f"mine {n}" for n in range(40)], dtype="string")
    ledger = Ledger(server)
    ledger.colleague_sets(colleague, ids[:10], "City", "theirs")  # the same field
    ledger.colleague_sets(colleague, ids[10:20], "Phone", "555")  # another field
    ledger.keep(ids[:20] + ids[40:])
    server.clear_requests()
    result = analyst.push(edited, original, trigger=[])
    assert result.calls == len(api_calls(server))  # the check, the colleague's values, PUT
    assert sorted(_conflicts(result)["id"]) == sorted(ids[:20])
    assert set(result.succeeded["id"]) == set(ids[20:40])
    _assert_conflict_rows_show_theirs(result, ledger, "City")
    assert ledger.overwritten() == 0
    assert ledger.rewritten() == 0
    # with overwrite=True the analyst's values win, deliberately
    again = analyst.push(edited, original, trigger=[], overwrite=True)
    assert again.failed.empty
    assert server.get_record("Leads", ids[0])["City"] == "mine 0"


def test_push_without_original_does_not_revert_a_colleague_s_other_field(
    server: Any, analyst: Any, colleague: Any
) -> None:
    ids = _ids(server, 40)
    frame = _read(analyst, ids)
    edited = frame.copy()
    edited["City"] = pd.array([f"city {n}" for n in range(40)], dtype="string")
    ledger = Ledger(server)
    ledger.colleague_sets(colleague, ids[:20], "Phone", "777")  # analyst only edited City
    ledger.keep(ids[:20])
    result = analyst.push(edited, trigger=[])  # no original: the frame's stamps decide
    assert sorted(_conflicts(result)["id"]) == sorted(ids[:20])
    assert set(result.succeeded["id"]) == set(ids[20:])
    assert ledger.overwritten() == 0  # 20 of 20 Phones kept (they used to be reverted)
    assert ledger.rewritten() == 0


def test_a_frame_with_no_version_stamp_is_refused_unless_overwrite(
    server: Any, analyst: Any
) -> None:
    ids = _ids(server, 5)
    frame = analyst.read_records("Leads", ["City"], ids=ids, progress=False)
    frame.attrs.pop("read_at")
    frame["City"] = "stampless"
    with pytest.raises(InputError, match="overwrite=True"):
        analyst.push(frame)
    assert analyst.push(frame, overwrite=True, trigger=[]).failed.empty


def test_push_of_a_plan_checks_when_pushed_not_when_planned(
    server: Any, analyst: Any, colleague: Any
) -> None:
    ids = _ids(server, 40)
    original = _read(analyst, ids)
    edited = original.copy()
    edited["City"] = pd.array([f"planned {n}" for n in range(40)], dtype="string")
    plan = analyst.plan(edited, original)
    ledger = Ledger(server)
    ledger.colleague_sets(colleague, ids[:10], "City", "after planning")
    ledger.keep(ids[:10])
    result = analyst.push(plan, trigger=[])
    assert sorted(_conflicts(result)["id"]) == sorted(ids[:10])  # 10 of 10 refused
    _assert_conflict_rows_show_theirs(result, ledger, "City")
    assert ledger.overwritten() == 0
    assert ledger.rewritten() == 0


def test_push_preview_button_refuses_a_colleague_s_records(
    server: Any, analyst: Any, colleague: Any
) -> None:
    ids = _ids(server, 30)
    original = _read(analyst, ids)
    edited = original.copy()
    edited["City"] = pd.array([f"preview {n}" for n in range(30)], dtype="string")
    preview = PushPreview(analyst.plan(edited, original), crm=analyst,
                          monitor_options={"start": False})
    ledger = Ledger(server)
    ledger.colleague_sets(colleague, ids[5:15], "City", "while previewing")
    ledger.keep(ids[5:15])
    preview.button.click()
    assert sorted(_conflicts(preview.result)["id"]) == sorted(ids[5:15])
    assert ledger.overwritten() == 0
    assert ledger.rewritten() == 0


def _between_batches(crm: Any, method: str, after: int, action: Callable[[], None]) -> None:
    """Run ``action`` (the colleague) once ``after`` answers to ``method`` calls reached
    the analyst's connection: a hook between the push's batches."""
    seen: list[int] = []

    def hook(response: Any, *args: Any, **kwargs: Any) -> None:
        if response.request.method == method and "/oauth/" not in response.request.url:
            seen.append(1)
            if len(seen) == after:
                action()

    crm.client.session.hooks["response"].append(hook)


def _two_put_batches(server: Any, analyst: Any, tag: str
                     ) -> tuple[pd.DataFrame, pd.DataFrame, list[str]]:
    """150 records with a new City each: two PUT batches; the second batch's ids."""
    original = _read(analyst, _ids(server, 150))
    edited = original.copy()
    edited["City"] = pd.array([f"{tag} {n}" for n in range(150)], dtype="string")
    plan = analyst.plan(edited, original)
    assert plan.steps["route"].tolist() == ["put", "put"]
    return original, edited, list(plan.steps["ids"].iloc[1])


def test_a_colleague_writing_during_the_push_is_not_overwritten(
    server: Any, analyst: Any, colleague: Any
) -> None:
    original, edited, later = _two_put_batches(server, analyst, "batch")
    ledger = Ledger(server)
    _between_batches(analyst, "PUT", 1, lambda: (
        ledger.colleague_sets(colleague, later[:10], "City", "meanwhile"),
        ledger.colleague_sets(colleague, later[10:20], "Phone", "888"),
        ledger.keep(later[:20]),
    ))
    result = analyst.push(edited, original, trigger=[])
    # Zoho's If-Unmodified-Since answer (412 ALREADY_MODIFIED) became conflict rows
    assert sorted(_conflicts(result)["id"]) == sorted(later[:20])
    _assert_conflict_rows_show_theirs(result, ledger, "City")
    assert len(result.succeeded) == 130
    assert ledger.overwritten() == 0
    assert ledger.rewritten() == 0


def test_a_colleague_writing_between_mass_updates_is_not_overwritten(
    server: Any, analyst: Any, colleague: Any
) -> None:
    ids = [i for _ in range(5) for i in _ids(server, 150)]
    original = _read(analyst, ids)
    edited = original.copy()
    edited["Lead_Status"] = "Contacted"  # one value on ~650 records: two mass updates
    plan = analyst.plan(edited, original)
    assert plan.steps["route"].tolist() == ["mass_update", "mass_update"]
    second = list(plan.steps["ids"].iloc[1])
    before_status = {i: original.loc[i, "Lead_Status"] for i in second[:10]}
    ledger = Ledger(server)

    def meanwhile() -> None:
        ledger.colleague_sets(colleague, second[10:20], "Phone", "999")
        ledger.keep(second[:20])

    # a mass update takes no If-Unmodified-Since: the push checks again right before it
    _between_batches(analyst, "POST", 1, lambda: (
        [server.touch("Leads", i) for i in second[:10]], meanwhile()))
    result = analyst.push(edited, original, trigger=[])
    assert sorted(_conflicts(result)["id"]) == sorted(second[:20])
    assert {i: server.get_record("Leads", i)["Lead_Status"] for i in second[:10]} == {
        i: (None if pd.isna(v) else v) for i, v in before_status.items()}
    assert ledger.overwritten() == 0
    assert ledger.rewritten() == 0


def test_retry_checks_again(server: Any, analyst: Any, colleague: Any) -> None:
    ids = _ids(server, 30)
    original = _read(analyst, ids)
    edited = original.copy()
    edited["City"] = pd.array([f"retried {n}" for n in range(30)], dtype="string")
    locked = ids[:6]
    for rid in locked:
        server.flag("Leads", rid, locked=True)
    first = analyst.push(edited, original, trigger=[])
    assert sorted(first.failed["id"]) == sorted(locked)
    for rid in locked:
        server.flag("Leads", rid, locked=False)
    ledger = Ledger(server)
    ledger.colleague_sets(colleague, locked[:3], "City", "before the retry")
    ledger.keep(locked[:3] + ids[6:])  # the 24 written by the first push stay as they are
    retried = first.retry(locked=True)
    assert sorted(_conflicts(retried)["id"]) == sorted(locked[:3])
    assert set(retried.succeeded["id"]) >= set(locked[3:])
    assert ledger.overwritten() == 0
    assert ledger.rewritten() == 0


class Killed(BaseException):
    """The process dying between two batches (not an error crmframe may catch)."""


def test_journal_resume_refuses_what_a_colleague_changed_in_between(
    server: Any, analyst: Any, colleague: Any, tmp_path: Path
) -> None:
    ids = _ids(server, 150) + _ids(server, 150)
    original = _read(analyst, ids)
    edited = original.copy()
    edited["City"] = pd.array([f"journal {n}" for n in range(300)], dtype="string")
    plan = analyst.plan(edited, original)
    assert plan.steps["route"].tolist() == ["put", "put", "put"]
    journal = tmp_path / "push.jsonl"

    def die() -> None:
        raise Killed

    _between_batches(analyst, "PUT", 1, die)  # the first batch landed, unconfirmed
    with pytest.raises(Killed):
        analyst.push(edited, original, trigger=[], journal=journal)
    analyst.client.session.hooks["response"].clear()
    first, third = list(plan.steps["ids"].iloc[0]), list(plan.steps["ids"].iloc[2])
    ledger = Ledger(server)
    ledger.colleague_sets(colleague, third[:10], "City", "between the runs")
    ledger.keep(third[:10] + first)  # the first batch landed already: not to be resent
    puts = len([r for r in server.requests if r[0] == "PUT"])
    result = analyst.push(edited, original, trigger=[], journal=journal)
    assert sorted(_conflicts(result)["id"]) == sorted(third[:10])
    assert len([r for r in server.requests if r[0] == "PUT"]) - puts == 2
    assert ledger.overwritten() == 0
    assert ledger.rewritten() == 0
    assert result.results["id"].nunique() == 300


def test_a_csv_reloaded_original_is_refused_then_retyped_and_pushes_one_record(
    server: Any, analyst: Any, colleague: Any, tmp_path: Path
) -> None:
    ids = _ids(server, 150)
    leads = analyst.read_records("Leads", ids=ids, progress=False)  # every field
    path = tmp_path / "leads.csv"
    leads.to_csv(path)
    reloaded = pd.read_csv(path, index_col="id")  # next session
    edited = reloaded.copy()
    edited.loc[edited.index[0], "City"] = "One edit"
    with pytest.raises(InputError, match="retype") as info:
        analyst.push(edited, reloaded, module="Leads")
    assert "read-only" not in str(info.value)
    fields = analyst.read_fields("Leads")
    original = crmframe.retype(pd.read_csv(path, index_col="id", dtype=str), fields)
    edited = original.copy()
    edited.loc[edited.index[0], "City"] = "One edit"
    ledger = Ledger(server)
    ledger.colleague_sets(colleague, [str(i) for i in original.index[1:6]], "Phone", "321")
    ledger.keep([str(i) for i in original.index[1:]])
    result = analyst.push(edited, original, module="Leads", trigger=[])
    assert result.succeeded["id"].tolist() == [str(original.index[0])]
    assert len(result.results) == 1  # the colleague's records had no edit: nothing to refuse
    assert ledger.overwritten() == 0
    assert ledger.rewritten() == 0


def test_a_snapshot_is_a_valid_original_next_week(
    server: Any, analyst: Any, colleague: Any, tmp_path: Path
) -> None:
    ids = _ids(server, 100)
    leads = analyst.read_records("Leads", ids=ids, progress=False)
    path = crmframe.to_snapshot(leads, tmp_path / "leads.parquet")
    back = crmframe.read_snapshot(path)
    pd.testing.assert_frame_equal(back, leads)
    assert back.attrs == leads.attrs
    assert len(crmframe.diff(back, leads, fields=analyst.read_fields("Leads"))) == 0
    ledger = Ledger(server)
    ledger.colleague_sets(colleague, ids[:5], "City", "during the week")
    edited = back.copy()
    edited["City"] = pd.array([f"week {n}" for n in range(100)], dtype="string")
    ledger.keep(ids[:5])
    result = analyst.push(edited, back, trigger=[])
    assert sorted(_conflicts(result)["id"]) == sorted(ids[:5])
    assert len(result.succeeded) == 95
    assert ledger.overwritten() == 0
    assert ledger.rewritten() == 0


def test_fillna_empty_strings_are_not_edits(server: Any, analyst: Any, colleague: Any) -> None:
    ids = _ids(server, 100)
    original = analyst.read_records("Leads", ids=ids, progress=False)
    edited = original.copy()
    text = [c for c in edited.columns if str(edited[c].dtype) == "string"]
    edited[text] = edited[text].fillna("")  # the habit
    assert (edited[text] == "").any().any()
    edited.loc[edited.index[0], "City"] = "Only edit"
    ledger = Ledger(server)
    ledger.colleague_sets(colleague, ids[50:60], "Phone", "123")
    ledger.keep(ids[1:])
    result = analyst.push(edited, original, trigger=[])
    assert result.results["id"].tolist() == [ids[0]]
    assert result.failed.empty
    assert ledger.overwritten() == 0
    assert ledger.rewritten() == 0


def _whole_request_412(crm: Any) -> list[int]:
    """Give Zoho's other possible 412 shape (UNCONFIRMED which one it uses, part 2 §1.2):
    one top-level ``ALREADY_MODIFIED`` for the whole request, no ``data[]``. Only answers
    where the sandbox refused every record are rewritten, so nothing was written either
    way."""
    import json

    rewritten: list[int] = []

    def hook(response: Any, *args: Any, **kwargs: Any) -> None:
        if response.status_code != 412 or response.request.method != "PUT":
            return
        body = json.loads(response.content)
        assert all(d["code"] == "ALREADY_MODIFIED" for d in body["data"])
        response._content = json.dumps({
            "code": "ALREADY_MODIFIED", "status": "error", "details": {},
            "message": "record updated time has already passed if-unmodified-since time",
        }).encode()
        rewritten.append(len(body["data"]))

    crm.client.session.hooks["response"].append(hook)
    return rewritten


def test_a_whole_request_412_makes_every_record_of_the_batch_a_conflict(
    server: Any, analyst: Any, colleague: Any
) -> None:
    original, edited, later = _two_put_batches(server, analyst, "whole")
    ledger = Ledger(server)
    # during: the colleague edits every record of the second batch (City on half, Phone on
    # the other half) once the first batch is answered
    _between_batches(analyst, "PUT", 1, lambda: (
        ledger.colleague_sets(colleague, later[:25], "City", "theirs"),
        ledger.colleague_sets(colleague, later[25:], "Phone", "777"),
        ledger.keep(later),
    ))
    rewritten = _whole_request_412(analyst)
    refused_before = len([r for r in api_calls(server) if r[0] == "PUT" and r[2] == 412])
    result = analyst.push(edited, original, trigger=[])
    assert rewritten == [len(later)]  # Zoho refused the batch as a whole, once
    assert sorted(_conflicts(result)["id"]) == sorted(later)  # each record reported
    assert (result.results.loc[result.results["id"].isin(later), "status"] == "skipped").all()
    assert len(result.succeeded) == 150 - len(later)
    assert result.results["id"].is_unique
    assert ledger.overwritten() == 0
    assert ledger.rewritten() == 0
    refused = len([r for r in api_calls(server) if r[0] == "PUT" and r[2] == 412])
    assert refused - refused_before == 1  # never re-sent after the refusal
    # after: retry() without overwrite sends nothing for them
    again = result.retry()
    assert again.writes == 0
    assert ledger.overwritten() == 0


def test_a_record_changed_while_the_conflict_listing_pages_does_not_hide_another(
) -> None:
    """The listing of changes since the read goes by page numbers in Modified_Time order. A
    record a colleague changes between two pages moves to the end and the rest move up one:
    the record crossing the page boundary was never served. It was an edited record the
    colleague had changed since the read, and the mass update wrote over it."""
    from urllib.parse import parse_qs, urlparse

    from crmframe.sandbox import start
    from crmframe.sandbox.clock import ManualClock

    clock = ManualClock()
    with start(records=1200, seed=41, flag_records=False, clock=clock) as server:
        analyst, colleague = writing_crm(server.credentials), writing_crm(server.credentials)
        try:
            ids = sorted(server.ids("Leads"))
            mine, others = ids[:300], ids[600:800]
            original = analyst.read_records("Leads", ["Lead_Status", "Modified_Time"],
                                            ids=mine, progress=False)
            ledger = Ledger(server)

            def colleague_puts(rids: list[str], field: str, value: str) -> None:
                for start_at in range(0, len(rids), 100):
                    colleague.client.request("PUT", "Leads", json={"trigger": [], "data": [
                        {"id": r, field: value} for r in rids[start_at:start_at + 100]]})

            clock.advance(10)
            colleague_puts(others, "City", "Theirs")  # 200 changes: the listing's page 1
            clock.advance(10)
            colleague_puts([mine[150]], "Lead_Status", "Junk Lead")  # the listing's page 2
            ledger.theirs[mine[150]] = {"Lead_Status": "Junk Lead"}
            clock.advance(10)

            def during(response: Any, *args: Any, **kwargs: Any) -> None:
                query = parse_qs(urlparse(response.request.url).query)
                if (response.request.method == "GET"
                        and "If-Modified-Since" in response.request.headers
                        and query.get("sort_by") == ["Modified_Time"]
                        and query.get("page") == ["1"] and not fired):
                    fired.append(True)
                    clock.advance(5)
                    colleague_puts([others[0]], "City", "Theirs again")  # moves to the end

            fired: list[bool] = []
            analyst.client.session.hooks["response"].append(during)
            clock.advance(10)
            analyst.client.request("GET", "org")  # its Date: the analyst's clock follows
            edited = original.copy()
            edited["Lead_Status"] = "Contacted"
            routes = analyst.plan(edited, original).steps["route"].tolist()
            assert routes == ["mass_update"]  # no If-Unmodified-Since to fall back on
            result = analyst.push(edited, original, trigger=[])
        finally:
            analyst.close()
            colleague.close()
        assert fired  # the colleague's change did land between the listing's pages
        assert ledger.overwritten() == 0  # was 1: "Junk Lead" became "Contacted"
        assert _conflicts(result)["id"].tolist() == [mine[150]]
        assert server.get_record("Leads", mine[150])["Lead_Status"] == "Junk Lead"


def test_a_formula_zoho_recomputed_after_a_colleague_s_edit_is_a_conflict_not_a_refused_push(
    server: Any, analyst: Any, colleague: Any
) -> None:
    ids = _ids(server, 30)
    columns = ["City", "Annual_Revenue", "No_of_Employees", "Revenue_per_Employee",
               "Modified_Time"]
    frame = analyst.read_records("Leads", columns, ids=ids, progress=False)
    edited = frame.copy()
    edited["City"] = pd.array([f"town {n}" for n in range(30)], dtype="string")
    theirs = colleague.read_records("Leads", ["Annual_Revenue", "No_of_Employees"],
                                    ids=ids[:10], progress=False)
    theirs["Annual_Revenue"] = pd.array([1_000_000.0] * 10, dtype="Float64")
    theirs["No_of_Employees"] = pd.array(list(range(501, 511)), dtype="Int64")
    assert colleague.push(theirs, overwrite=True, trigger=[]).failed.empty
    # Zoho recomputed the formula of the colleague's records: the frame's is now stale
    before = frame.loc[ids[:10], "Revenue_per_Employee"].astype(object).tolist()
    after = [server.get_record("Leads", i)["Revenue_per_Employee"] for i in ids[:10]]
    assert all(a is not None and (b is pd.NA or a != b)
               for a, b in zip(after, before, strict=True))
    ledger = Ledger(server)
    ledger.keep(ids[:10])
    result = analyst.push(edited, trigger=[])  # no original: was a ValidationError (read-only)
    assert sorted(_conflicts(result)["id"].unique()) == sorted(ids[:10])
    assert set(result.succeeded["id"]) == set(ids[10:])
    assert [server.get_record("Leads", i)["No_of_Employees"] for i in ids[:10]] == list(
        range(501, 511))  # the colleague's values kept
    assert ledger.rewritten() == 0
    # the same frame again: every record changed since it was read (the colleague's, and
    # this push's own): nothing refused, nothing rewritten
    ledger.keep(ids)
    again = analyst.push(edited, trigger=[])
    assert sorted(_conflicts(again)["id"].unique()) == sorted(ids[:10])
    assert again.succeeded.empty
    assert ledger.rewritten() == 0
    # overwrite=True writes the analyst's values; a formula cannot be: VALIDATION rows
    over = analyst.push(edited, trigger=[], overwrite=True)
    invalid = over.results[over.results["code"] == "VALIDATION"]
    assert sorted(invalid["id"].unique()) == sorted(ids[:10])
    assert {f for fields in invalid["fields"] for f in fields} == {"Revenue_per_Employee"}
    assert [server.get_record("Leads", i)["City"] for i in ids[:10]] == [
        f"town {n}" for n in range(10)]
