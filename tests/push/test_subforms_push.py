"""Subform and line-item cells read, unrolled (``crmframe.subform_frame``) and written
back without losing rows: an edited cell is one change whose push sends the full row list
(rows with id kept, new rows added, removed rows deleted by omission), under the same
conflict rule as any field — a colleague (a second connection) editing the record before
or during the push is never overwritten — and a CSV reload or ``fillna("")`` makes no
phantom edit."""

from __future__ import annotations

import copy
import io
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest

import crmframe
from crmframe.errors import InputError
from crmframe.facade.write.readback import applied_ids

from .helpers import api_calls, connected

pytestmark = pytest.mark.sandbox


@pytest.fixture(scope="module")
def server() -> Iterator[Any]:
    from crmframe.sandbox import start

    with start(records=1500, seed=17, flag_records=False) as running:
        yield running


@pytest.fixture
def analyst(server: Any) -> Iterator[Any]:
    yield from connected(server)


@pytest.fixture
def colleague(server: Any) -> Iterator[Any]:
    yield from connected(server)


_TAKEN: set[str] = set()


def _projects(server: Any, n: int, rows: int = 2) -> list[str]:
    """Projects with at least ``rows`` milestones that no other test of this module uses."""
    out = []
    for rid in server.ids("Projects"):
        if rid not in _TAKEN and len(server.get_record("Projects", rid)["Milestones"]) >= rows:
            out.append(rid)
            _TAKEN.add(rid)
            if len(out) == n:
                return out
    raise AssertionError("not enough seeded projects with milestones")


def _row_ids(server: Any, module: str, rid: str, column: str) -> list[str]:
    return [row["id"] for row in server.get_record(module, rid)[column]]


def test_subform_cells_are_lists_of_rows_as_zoho_sent_them(server: Any, analyst: Any) -> None:
    frame = analyst.read_records("Projects", progress=False)
    assert str(frame["Milestones"].dtype) == "object"
    assert len(frame) == len(server.ids("Projects"))
    for rid, cell in frame["Milestones"].items():
        assert cell == server.get_record("Projects", str(rid))["Milestones"]  # dates as text


def test_subform_frame_types_rows_and_keeps_the_parent_id(server: Any, analyst: Any) -> None:
    quotes = analyst.read_records("Quotes", progress=False)
    lines = crmframe.subform_frame(quotes, "Quoted_Items", analyst.read_fields("Quoted_Items"))
    expected = sum(len(server.get_record("Quotes", q)["Quoted_Items"])
                   for q in server.ids("Quotes"))
    assert len(lines) == expected
    assert str(lines.index.dtype) == "string"
    assert lines.index.name == "id"
    assert list(lines.columns[:1]) == ["Parent_Id"]
    assert str(lines["Parent_Id"].dtype) == "string"
    assert set(lines["Parent_Id"]) == set(quotes.index)
    assert str(lines["Quantity"].dtype) == "Float64"
    assert str(lines["Total"].dtype) == "Float64"
    assert str(lines["Product_Name.id"].dtype) == "string"
    assert lines["Product_Name.id"].isin(server.ids("Products")).all()
    first = quotes.index[0]
    sent = server.get_record("Quotes", str(first))["Quoted_Items"]
    mine = lines[lines["Parent_Id"] == first]
    assert mine.index.tolist() == [row["id"] for row in sent]
    assert mine["Total"].tolist() == [row["Total"] for row in sent]
    projects = analyst.read_records("Projects", progress=False)
    rows = crmframe.subform_frame(projects, "Milestones", analyst.read_fields("Milestones"))
    assert str(rows["Due_Date"].dtype) == "datetime64[s]"
    assert str(rows["Done"].dtype) == "boolean"
    # untyped: inferred, and the same after reset_index() (ids from the 'id' column)
    again = crmframe.subform_frame(projects.reset_index(), "Milestones")
    assert again.index.tolist() == rows.index.tolist()
    assert again["Parent_Id"].tolist() == rows["Parent_Id"].tolist()


def test_subform_frame_errors_are_typed(analyst: Any) -> None:
    projects = analyst.read_records("Projects", progress=False)
    with pytest.raises(InputError, match="no column 'Milestone'"):
        crmframe.subform_frame(projects, "Milestone")
    text = projects.copy()
    text["Milestones"] = text["Milestones"].astype(str)
    with pytest.raises(InputError, match=r"crmframe\.retype"):
        crmframe.subform_frame(text, "Milestones")
    with pytest.raises(InputError, match="no record ids"):
        crmframe.subform_frame(projects.reset_index(drop=True), "Milestones")


def test_an_edited_subform_cell_pushes_the_full_row_list(server: Any, analyst: Any) -> None:
    (rid,) = _projects(server, 1, rows=3)
    before = server.get_record("Projects", rid)["Milestones"]
    original = analyst.read_records("Projects", ["Name", "Milestones", "Modified_Time"],
                                    ids=[rid], progress=False)
    edited = original.copy()
    cell = copy.deepcopy(original.at[rid, "Milestones"])
    cell[0]["Hours"] = 99.5                                 # updated
    removed = cell.pop(1)                                   # removed
    cell.append({"Milestone": "Handover", "Due_Date": "2025-05-05", "Done": False})  # added
    edited.at[rid, "Milestones"] = cell
    changes = crmframe.diff(original, edited).changes
    assert changes[["id", "field"]].values.tolist() == [[rid, "Milestones"]]
    result = analyst.push(edited, original, trigger=[])
    assert result.failed.empty, result.results
    after = server.get_record("Projects", rid)["Milestones"]
    kept = [row["id"] for row in before if row["id"] != removed["id"]]
    assert [row["id"] for row in after[:-1]] == kept        # no row lost
    assert removed["id"] not in [row["id"] for row in after]
    assert after[0]["Hours"] == 99.5
    assert after[1:-1] == [row for row in before if row["id"] in kept[1:]]  # untouched
    assert after[-1]["Milestone"] == "Handover"
    assert after[-1]["Parent_Id"]["id"] == rid
    # pushing the same frame again changes nothing: the new row has its id now
    fresh = analyst.read_records("Projects", ["Name", "Milestones", "Modified_Time"],
                                 ids=[rid], progress=False)
    assert crmframe.diff(fresh, fresh.copy()).changes.empty
    assert [r["id"] for r in fresh.at[rid, "Milestones"]] == [r["id"] for r in after]


def test_line_items_edit_recomputes_totals_and_keeps_other_lines(server: Any,
                                                                analyst: Any) -> None:
    rid = next(q for q in server.ids("Quotes")
               if len(server.get_record("Quotes", q)["Quoted_Items"]) >= 2)
    before = server.get_record("Quotes", rid)["Quoted_Items"]
    original = analyst.read_records("Quotes", ["Subject", "Quoted_Items", "Modified_Time"],
                                    ids=[rid], progress=False)
    edited = original.copy()
    cell = copy.deepcopy(original.at[rid, "Quoted_Items"])
    cell[0]["Quantity"] = 7.0
    cell.append({"Product_Name": {"id": server.ids("Products")[0]}, "Quantity": 1.0,
                 "List_Price": 10.0})
    edited.at[rid, "Quoted_Items"] = cell
    result = analyst.push(edited, original, trigger=[])
    assert result.failed.empty, result.results
    quote = server.get_record("Quotes", rid)
    items = quote["Quoted_Items"]
    assert [r["id"] for r in items[:-1]] == [r["id"] for r in before]
    assert items[0]["Total"] == round(7.0 * before[0]["List_Price"] - before[0]["Discount"], 2)
    assert items[-1]["Total"] == 10.0
    assert quote["Sub_Total"] == round(sum(r["Total"] for r in items), 2)


def test_a_colleague_editing_before_or_during_the_push_is_not_overwritten(
    server: Any, analyst: Any, colleague: Any
) -> None:
    ids = _projects(server, 3)
    original = analyst.read_records("Projects", ["Name", "Status", "Milestones",
                                                 "Modified_Time"], ids=ids, progress=False)
    edited = original.copy()
    for rid in ids:
        cell = copy.deepcopy(original.at[rid, "Milestones"])
        cell[0]["Milestone"] = "mine"
        edited.at[rid, "Milestones"] = cell
    # before: the colleague adds a row to the first project's milestones
    theirs = colleague.read_records("Projects", ["Milestones", "Modified_Time"],
                                    ids=[ids[0]], progress=False)
    cell = copy.deepcopy(theirs.at[ids[0], "Milestones"])
    cell.append({"Milestone": "theirs, before"})
    theirs.at[ids[0], "Milestones"] = cell
    assert colleague.push(theirs, overwrite=True, trigger=[]).failed.empty
    theirs_before = server.get_record("Projects", ids[0])["Milestones"]

    # during: after the push's conflict check, before its PUT, the colleague edits ids[1]
    def meanwhile(response: Any, *args: Any, **kwargs: Any) -> None:
        if response.request.method == "GET" and not hooked:
            hooked.append(len(api_calls(server)))
            other = colleague.read_records("Projects", ["Status", "Modified_Time"],
                                           ids=[ids[1]], progress=False)
            other["Status"] = pd.array(["Done"], dtype="string")
            assert colleague.push(other, overwrite=True, trigger=[]).failed.empty
            hooked.append(len(api_calls(server)))

    hooked: list[int] = []
    untouched = server.get_record("Projects", ids[2])["Modified_Time"]
    analyst.client.session.hooks["response"].append(meanwhile)
    server.clear_requests()
    result = analyst.push(edited, original, trigger=[])
    analyst.client.session.hooks["response"].remove(meanwhile)
    colleagues_calls = hooked[1] - hooked[0]
    assert result.calls == len(api_calls(server)) - colleagues_calls
    conflicts = result.results[result.results["code"] == "CONFLICT"]
    assert sorted(conflicts["id"]) == sorted(ids[:2])
    # the colleague's row and status survive: overwritten 0
    assert server.get_record("Projects", ids[0])["Milestones"] == theirs_before
    assert server.get_record("Projects", ids[1])["Status"] == "Done"
    assert server.get_record("Projects", ids[1])["Milestones"][0]["Milestone"] != "mine"
    assert server.get_record("Projects", ids[2])["Milestones"][0]["Milestone"] == "mine"
    assert server.get_record("Projects", ids[2])["Modified_Time"] != untouched
    writes = server.write_counts("Projects")
    assert writes.get(ids[2]) == 1  # written once
    # after: the colleague edits ids[2] again; a push of the stale frame is refused
    later = colleague.read_records("Projects", ["Status", "Modified_Time"], ids=[ids[2]],
                                   progress=False)
    later["Status"] = pd.array(["On Hold"], dtype="string")
    assert colleague.push(later, overwrite=True, trigger=[]).failed.empty
    again = analyst.push(edited, original, trigger=[])
    assert set(again.results[again.results["code"] == "CONFLICT"]["id"]) == set(ids)
    assert again.succeeded.empty
    assert server.get_record("Projects", ids[2])["Status"] == "On Hold"


def test_csv_reload_and_fillna_make_no_phantom_edits(server: Any, analyst: Any) -> None:
    ids = _projects(server, 4)
    original = analyst.read_records("Projects", ["Name", "Budget", "Milestones",
                                                 "Modified_Time"], ids=ids, progress=False)
    text = io.StringIO()
    original.to_csv(text)
    text.seek(0)
    reloaded = pd.read_csv(text, dtype=str).set_index("id")
    with pytest.raises(InputError, match=r"Milestones.*subform field holds lists"):
        analyst.plan(reloaded, original)
    retyped = crmframe.retype(reloaded, analyst.read_fields("Projects"))
    assert crmframe.diff(original, retyped).changes.empty
    filled = original.copy()
    filled["Milestones"] = filled["Milestones"].fillna("")
    filled["Name"] = filled["Name"].fillna("")
    assert crmframe.diff(original, filled).changes.empty
    # an edit made on the reloaded frame is still exactly one change, rows intact
    cell = copy.deepcopy(retyped.at[ids[0], "Milestones"])
    cell[-1]["Done"] = not cell[-1]["Done"]
    retyped.at[ids[0], "Milestones"] = cell
    before = _row_ids(server, "Projects", ids[0], "Milestones")
    result = analyst.push(retyped, original, trigger=[])
    assert len(result.succeeded) == 1
    assert _row_ids(server, "Projects", ids[0], "Milestones") == before


def test_an_interrupted_subform_push_settles_as_applied_by_its_rows() -> None:
    from crmframe.core.metadata import normalise_fields

    infos = normalise_fields([{"api_name": "Milestones", "data_type": "subform",
                               "json_type": "jsonarray"}])
    now = pd.DataFrame({"Milestones": [[
        {"id": "11", "Parent_Id": {"id": "1"}, "Milestone": "a", "Hours": 2.0},
        {"id": "12", "Parent_Id": {"id": "1"}, "Milestone": "new", "Hours": None},
    ]]}, index=pd.Index(["1"], dtype="string", name="id"))
    sent = {"id": "1", "Milestones": [{"id": "11", "Milestone": "a", "Hours": 2.0},
                                      {"Milestone": "new"}]}
    assert applied_ids(now, [sent], infos) == ["1"]
    lost = {"id": "1", "Milestones": [{"id": "11", "Milestone": "a"}]}  # row 12 not sent
    assert applied_ids(now, [lost], infos) == []
    other = {"id": "1", "Milestones": [{"id": "11", "Milestone": "b"}, {"Milestone": "new"}]}
    assert applied_ids(now, [other], infos) == []


def test_a_bulk_read_fills_subform_fields_from_the_subform_listing(
        server: Any, analyst: Any) -> None:
    # the bulk CSV has no subform column: the rows come from GET /{subform module}
    # (UNCONFIRMED against Zoho, emulated by the sandbox), one call per 200 rows
    for module, field in (("Quotes", "Quoted_Items"), ("Leads", "Lead_Contacts")):
        paged = analyst.read_records(module, method="pages", progress=False)
        assert paged.attrs["method"] == "pages"
        server.clear_requests()
        bulk = analyst.read_records(module, method="bulk", progress=False)
        assert "left_out" not in bulk.attrs
        pd.testing.assert_frame_equal(paged, bulk)
        rows = int(paged[field].map(len).sum())
        listed = [r for r in api_calls(server) if r[1].endswith(f"/{field}")]
        assert bulk.attrs["subform_calls"] == len(listed) == max(1, -(-rows // 200))
    some = analyst.read_records("Leads", ["Last_Name", "Lead_Contacts"], method="bulk",
                                progress=False)
    pd.testing.assert_frame_equal(
        some, analyst.read_records("Leads", ["Last_Name", "Lead_Contacts"], method="pages",
                                   progress=False))
    assert some["Lead_Contacts"].map(len).gt(0).any()
    assert some["Lead_Contacts"].map(len).eq(0).any()


def test_a_refused_subform_listing_leaves_the_field_out_with_a_warning(
        analyst: Any, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from crmframe.errors import InvalidModuleError
    from crmframe.facade import subformrows

    def refused(client: Any, module: str, fields: Any) -> Any:
        raise InvalidModuleError("INVALID_MODULE", "the module name given seems to be invalid",
                                 http_status=400)

    monkeypatch.setattr(subformrows, "_list_rows", refused)
    paged = analyst.read_records("Quotes", method="pages", progress=False)
    with caplog.at_level("WARNING", logger="crmframe.facade"):
        bulk = analyst.read_records("Quotes", method="bulk", progress=False)
    assert bulk.attrs["left_out"] == ["Quoted_Items"]
    assert "leaves out the subform field(s) Quoted_Items" in caplog.text
    pd.testing.assert_frame_equal(paged.drop(columns=["Quoted_Items"]), bulk)


def test_insert_and_coql_search_on_the_custom_module(server: Any, analyst: Any) -> None:
    product = server.ids("Products")[0]
    new = pd.DataFrame({"Subject": ["Inserted quote"], "Quoted_Items": [[
        {"Product_Name": {"id": product}, "Quantity": 2.0, "List_Price": 3.0}]]})
    result = analyst.insert(new, module="Quotes", trigger=[])
    assert result.results["status"].tolist() == ["success"]
    quote = server.get_record("Quotes", result.results["id"].iloc[0])
    assert quote["Sub_Total"] == 6.0
    assert quote["Quoted_Items"][0]["Product_Name"]["id"] == product
    projects = analyst.coql("select Name, Account.Account_Name from Projects "
                            "where Account is not null limit 200")
    assert len(projects) == sum(1 for i in server.ids("Projects")
                                if server.get_record("Projects", i)["Account"])
    hits = analyst.search("Projects", "(Status:equals:Active)", ["Name", "Milestones"])
    assert set(hits.index) == {i for i in server.ids("Projects")
                               if server.get_record("Projects", i)["Status"] == "Active"}
    assert all(isinstance(cell, list) for cell in hits["Milestones"])
