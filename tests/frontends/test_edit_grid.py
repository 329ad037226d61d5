"""EditGrid: column editors from the metadata, typed edits, the live diff/problems/plan, Push.

The browser half (grid.js) is driven in a real browser by tests/browser; here the Python
half is driven the way the browser drives it: by setting the view's ``edits`` map.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest

import crmframe
from crmframe.errors import InputError
from crmframe.widgets import EditGrid
from crmframe.widgets.gridcolumns import cell_from_json

RECORDS = 300


@pytest.fixture(scope="module")
def server() -> Iterator[Any]:
    with crmframe.sandbox.start(records=RECORDS, seed=15) as running:
        yield running


@pytest.fixture
def crm(server: Any) -> Iterator[Any]:
    with crmframe.connect(**server.credentials) as connection:
        yield connection


def _leads(crm: Any, server: Any) -> pd.DataFrame:
    frame = crm.read_records("Leads", progress=False)
    flagged = set(server.flagged("Leads"))  # seeded locked/unapproved records
    return frame[~frame.index.isin(list(flagged))]


def _col(grid: EditGrid, name: str) -> int:
    return [s.name for s in grid.specs].index(name)


def _type(grid: EditGrid, record_id: str, column: str, value: Any) -> None:
    """What the browser sends when a cell is committed."""
    row = list(grid.original.index).index(record_id)
    grid.view.edits = {**grid.view.edits, f"{row}:{_col(grid, column)}": value}


@pytest.mark.sandbox
def test_columns_follow_the_metadata(crm: Any, server: Any) -> None:
    grid = EditGrid(crm, _leads(crm, server))
    specs = {s.name: s for s in grid.specs}
    assert specs["Lead_Status"].editor == "picklist"
    assert "Contacted" in specs["Lead_Status"].options
    assert "-None-" not in specs["Lead_Status"].options
    assert specs["No_of_Employees"].editor == "integer"
    assert specs["Annual_Revenue"].editor == "number"
    assert specs["Email_Opt_Out"].editor == "boolean"
    assert specs["Custom_Date_1"].editor == "date"
    assert specs["Designation"].max_length == 100
    # Locked, each with its reason.
    assert specs["Full_Name"].locked == "read-only in Zoho"
    assert specs["Modified_Time"].locked == "read-only in Zoho"
    assert specs["Owner.name"].locked.startswith("part of a lookup")
    assert "edited in code" in specs["Custom_Multi_1"].locked


@pytest.mark.sandbox
def test_edits_build_the_diff_problems_and_plan(crm: Any, server: Any) -> None:
    leads = _leads(crm, server)
    grid = EditGrid(crm, leads)
    a, b, c = (str(i) for i in leads.index[:3])
    was = leads.at[a, "Lead_Status"]
    new_status = next(v for v in ("Contacted", "Junk Lead") if pd.isna(was) or v != was)
    _type(grid, a, "Lead_Status", new_status)
    _type(grid, b, "No_of_Employees", 4321)
    _type(grid, c, "Email", "not an e-mail")  # the grid takes text; validation refuses it
    _type(grid, c, "No_of_Employees", "about fifty")  # a typed value that does not fit

    edited = grid.edited
    assert edited.at[a, "Lead_Status"] == new_status
    assert edited.at[b, "No_of_Employees"] == 4321
    assert str(edited["No_of_Employees"].dtype) == "Int64"  # types kept
    assert edited.at[c, "No_of_Employees"] == leads.at[c, "No_of_Employees"]  # refused
    assert leads.at[a, "Lead_Status"] != new_status  # the frame as read is untouched

    changed = set(zip(grid.changes["id"], grid.changes["field"], strict=True))
    assert changed == {(a, "Lead_Status"), (b, "No_of_Employees"), (c, "Email")}
    assert grid.diff_panel.value.count("<tr><td class='id'") == 3
    assert "3 cells changed in 3 records" in grid.diff_panel.value
    assert list(grid.problems["field"]) == ["Email"]
    assert "data-problems='2'" in grid.problems_panel.value
    assert "about fifty" in grid.problems_panel.value
    marked = grid.view.problems
    assert set(marked) == {f"2:{_col(grid, 'Email')}", f"2:{_col(grid, 'No_of_Employees')}"}
    # The plan covers the two valid edits only.
    assert grid.plan is not None
    assert grid.plan.n_records == 2
    assert f"data-calls='{grid.plan.calls}'" in grid.plan_panel.value
    assert not grid.push_button.disabled


@pytest.mark.sandbox
def test_an_edit_typed_back_is_no_change(crm: Any, server: Any) -> None:
    leads = _leads(crm, server)
    grid = EditGrid(crm, leads, columns=["Phone", "Lead_Status"])
    rid = str(leads.index[5])
    _type(grid, rid, "Phone", "+1 555 0100")
    assert len(grid.changes) == 1
    grid.view.edits = {}  # what the browser sends when the cell is typed back
    assert grid.changes.empty
    assert grid.edited.loc[[rid], "Phone"].equals(leads.loc[[rid], "Phone"])
    assert grid.push_button.disabled
    assert "No edits yet" in grid.diff_panel.value


@pytest.mark.sandbox
def test_push_goes_through_crm_push_with_conflicts(crm: Any, server: Any) -> None:
    leads = _leads(crm, server)
    grid = EditGrid(crm, leads)
    mine, theirs = (str(i) for i in leads.index[10:12])
    _type(grid, mine, "Custom_Text_3", "from the grid")
    _type(grid, theirs, "Custom_Text_3", "from the grid")
    # A colleague edits one of the records after we read it, before we push.
    with crmframe.connect(**server.credentials) as colleague:
        before = colleague.read_records("Leads", ["Custom_Text_3"], ids=[theirs],
                                        progress=False)
        change = before.copy()
        change.loc[theirs, "Custom_Text_3"] = "the colleague's"
        assert colleague.push(change, before).ok
    result = grid.push()
    assert result is grid.result
    by_id = result.results.set_index("id")
    assert by_id.loc[mine, "code"] == "SUCCESS"
    assert by_id.loc[theirs, "code"] == "CONFLICT"
    assert grid.push_button.disabled
    assert grid.push() is result  # at most once
    assert "records by status and code" in grid.results.value
    assert "CONFLICT" in grid.results.value
    now = crm.read_records("Leads", ["Custom_Text_3"], ids=[mine, theirs], progress=False)
    overwritten = int(now.at[theirs, "Custom_Text_3"] != "the colleague's")
    assert overwritten == 0
    assert now.at[mine, "Custom_Text_3"] == "from the grid"
    written_twice = int((result.succeeded["id"].value_counts() > 1).sum())
    assert written_twice == 0


def test_values_are_checked_as_typed() -> None:
    frame = pd.DataFrame({"N": pd.array([1], dtype="Int64")},
                         index=pd.Index(["1"], dtype="string", name="id"))
    fields = {"fields": [{"api_name": "N", "data_type": "integer", "json_type": "integer"}]}
    grid = EditGrid(None, frame, fields=fields)
    spec = grid.specs[0]
    assert cell_from_json("12", spec) == 12
    assert cell_from_json("", spec) is None
    for bad in ("1.5", "twelve", True):
        with pytest.raises(InputError, match="not a whole number"):
            cell_from_json(bad, spec)
    with pytest.raises(InputError, match="no record"):
        grid.edit("2", "N", 3)
    with pytest.raises(InputError, match="not a whole number"):
        grid.edit("1", "N", "x")
    grid.edit("1", "N", 7)
    assert grid.edited.at["1", "N"] == 7
    assert "offline: no plan" in grid.plan_panel.value
    with pytest.raises(InputError, match="no crm"):
        grid.push()


def test_an_unexpected_push_error_is_shown_then_raised() -> None:
    frame = pd.DataFrame({"N": pd.array([1], dtype="Int64")},
                         index=pd.Index(["1"], dtype="string", name="id"))
    fields = {"fields": [{"api_name": "N", "data_type": "integer", "json_type": "integer"}]}

    class Broken:
        def plan(self, *args: Any, **kwargs: Any) -> Any:
            return None

        def push(self, *args: Any, **kwargs: Any) -> Any:
            raise ConnectionResetError("connection reset by peer")

    grid = EditGrid(Broken(), frame, fields=fields)
    grid.edit("1", "N", 2)
    with pytest.raises(ConnectionResetError):
        grid.push()
    assert "push stopped by an unexpected error: ConnectionResetError" in grid.message.value


def test_pandas_missing_values_clear_a_cell_from_code() -> None:
    # grid.edit(id, col, frame.at[id, col]) with a missing value raised "'<NA>' is not a
    # whole number"; None cleared the cell, pandas' own missing values did not
    frame = pd.DataFrame({"N": pd.array([1, 2, 3], dtype="Int64")},
                         index=pd.Index(["1", "2", "3"], dtype="string", name="id"))
    fields = {"fields": [{"api_name": "N", "data_type": "integer", "json_type": "integer"}]}
    grid = EditGrid(None, frame, fields=fields)
    for record_id, missing in (("1", pd.NA), ("2", float("nan"))):
        grid.edit(record_id, "N", missing)
    grid.edit("3", "N", 7.0)  # a whole number that arrived as a float
    assert grid.changes[["id", "new"]].values.tolist() == [["1", None], ["2", None],
                                                           ["3", 7]]
    assert [grid.view.edits[k] for k in ("0:0", "1:0")] == [None, None]  # JSON for the view
    with pytest.raises(InputError, match="not a whole number"):
        grid.edit("3", "N", 7.5)


def test_a_frame_without_ids_is_refused() -> None:
    with pytest.raises(InputError, match="index 'id'"):
        EditGrid(None, pd.DataFrame({"A": [1]}), fields={"fields": []})


def test_a_frame_with_duplicated_ids_is_refused() -> None:
    # Two rows with one id (a frame concatenated from two reads): the grid's edit of either
    # row was left out of the diff ("No edits yet") and never pushed, silently.
    frame = pd.DataFrame({"N": pd.array([1, 2, 1], dtype="Int64")},
                         index=pd.Index(["1", "2", "1"], dtype="string", name="id"))
    fields = {"fields": [{"api_name": "N", "data_type": "integer", "json_type": "integer"}]}
    with pytest.raises(InputError, match=r"duplicated id.*'1'.*drop_duplicates"):
        EditGrid(None, frame, fields=fields)
    with pytest.raises(InputError, match="duplicated id"):
        EditGrid(None, frame.reset_index(), fields=fields)


# -- rows: the browser asks for windows; added and deleted rows follow push's opt-ins ------


def _after_first_write(crm: Any, action: Any) -> None:
    """Run ``action`` once the first write of ``crm`` is answered: while the push runs."""
    send, pending = crm.client.request, [action]

    def request(method: str, path: str, **kw: Any) -> Any:
        reply = send(method, path, **kw)
        if method in ("PUT", "POST", "DELETE") and pending:
            pending.pop()()
        return reply

    crm.client.request = request


@pytest.mark.sandbox
def test_the_browser_gets_rows_a_window_at_a_time(crm: Any, server: Any) -> None:
    leads = _leads(crm, server)
    grid = EditGrid(crm, leads)
    # The view's state holds no cells: the browser asks for the rows it shows.
    state = grid.view.get_state()
    assert set(state) >= {"columns", "n_rows", "edits", "added", "deleted"}
    assert "payload" not in state
    assert state["n_rows"] == len(leads)
    # Only the first window of cells travels with the state (drawn without a round trip).
    assert state["head"]["ids"] == [str(i) for i in leads.index[:state["window_rows"]]]
    assert len(state["head"]["rows"]) == state["window_rows"] < len(leads)
    window = grid.window(100, 150)
    assert window["start"] == 100
    assert window["ids"] == [str(i) for i in leads.index[100:150]]
    col = _col(grid, "No_of_Employees")
    want = leads["No_of_Employees"].iloc[100:150].astype(object).tolist()
    got = [row[col] for row in window["rows"]]
    assert got == [None if pd.isna(v) else int(v) for v in want]
    assert len(window["rows"][0]) == len(grid.specs)
    tail = grid.window(len(leads) - 5, len(leads) + 100)  # past the end: what there is
    assert len(tail["ids"]) == 5
    # The message the browser sends is answered with that window.
    sent: list[Any] = []
    grid.view.send = sent.append
    grid._on_msg(grid.view, {"type": "rows", "start": 0, "end": 3}, [])
    assert sent[0]["ids"] == [str(i) for i in leads.index[:3]]


def test_rows_are_added_and_deleted_only_when_opted_in() -> None:
    frame = pd.DataFrame({"Last_Name": pd.array(["Ito", "Berg"], dtype="string")},
                         index=pd.Index(["4150868000000225013", "4150868000000225014"],
                                        dtype="string", name="id"))
    fields = {"fields": [{"api_name": "Last_Name", "data_type": "text",
                          "json_type": "string", "system_mandatory": True}]}
    grid = EditGrid(None, frame, fields=fields)
    assert not grid.view.can_insert
    assert not grid.view.can_delete
    with pytest.raises(InputError, match="inserts=True"):
        grid.add_row({"Last_Name": "Ada"})
    with pytest.raises(InputError, match="deletes=True"):
        grid.delete_row("4150868000000225013")
    # A view that sends rows anyway (its buttons are disabled) changes nothing.
    grid.view.added = 2
    grid.view.deleted = [0]
    assert grid.added.empty
    assert grid.deleted == []
    assert grid.edited.index.tolist() == frame.index.tolist()


def test_added_rows_are_checked_like_an_insert() -> None:
    frame = pd.DataFrame({"Last_Name": pd.array(["Ito"], dtype="string"),
                          "No_of_Employees": pd.array([10], dtype="Int64")},
                         index=pd.Index(["4150868000000225013"], dtype="string", name="id"))
    fields = {"fields": [
        {"api_name": "Last_Name", "data_type": "text", "json_type": "string",
         "system_mandatory": True},
        {"api_name": "No_of_Employees", "data_type": "integer", "json_type": "integer"}]}
    grid = EditGrid(None, frame, fields=fields, inserts=True, deletes=True)
    label = grid.add_row({"No_of_Employees": 12})
    assert label == "new-1"
    # The mandatory field is missing: a problem on the cell the analyst must fill.
    assert grid.problems[["id", "field", "problem"]].values.tolist() == [
        ["new-1", "Last_Name", "mandatory field missing"]]
    assert grid.view.problems == {"1:0": "mandatory field missing"}
    assert "data-added='1'" in grid.diff_panel.value
    grid.edit("new-1", "Last_Name", "Ada")
    assert grid.problems.empty
    edited = grid.edited
    assert edited.index.tolist() == ["4150868000000225013", "new-1"]
    assert edited.loc["new-1", "Last_Name"] == "Ada"
    assert edited.loc["new-1", "No_of_Employees"] == 12
    assert str(edited["No_of_Employees"].dtype) == "Int64"  # types kept
    # Removing an added row needs no opt-in; marking a record needs deletes=True.
    grid.delete_row("new-1")
    assert grid.added.empty
    grid.delete_row("new-1", undo=True)
    grid.delete_row("4150868000000225013")
    assert grid.deleted == ["4150868000000225013"]
    assert grid.edited.index.tolist() == ["new-1"]
    assert "data-deleted='1'" in grid.diff_panel.value
    assert "1 record to delete in Zoho" in grid.diff_panel.value


@pytest.mark.sandbox
def test_push_inserts_and_deletes_beside_a_colleague(crm: Any, server: Any) -> None:
    leads = _leads(crm, server)
    columns = ["Last_Name", "Company", "Lead_Status", "City", "Modified_Time"]
    grid = EditGrid(crm, leads, columns=columns, inserts=True, deletes=True,
                    push_options={"trigger": []})
    updated, gone, kept_by_them, touched_during = (str(i) for i in leads.index[40:44])
    _type(grid, updated, "City", "Grid City")
    grid.add_row({"Last_Name": "Grid New One", "Company": "Acme"})
    grid.add_row({"Company": "No Name Yet"})
    grid.delete_row(gone)
    grid.delete_row(kept_by_them)
    # The second new row lacks its mandatory Last_Name: Push waits for it.
    assert list(grid.problems["id"]) == ["new-2"]
    assert grid.push_button.disabled
    assert grid.plan is None or "insert" not in set(grid.plan.steps["route"])
    with pytest.raises(InputError, match="added rows"):
        grid.push()
    grid.edit("new-2", "Last_Name", "Grid New Two")
    assert grid.problems.empty
    # The plan lists the update, the two inserts and the two deletes.
    routes = grid.plan.steps.groupby("route")["n_records"].sum().to_dict()
    assert routes == {"put": 1, "insert": 2, "delete": 2}
    # Checks: the listing of the module's changes, and the read before the deletes.
    assert grid.plan.check_calls == 2
    assert grid.plan.calls == grid.plan.write_calls + 2
    assert "2 new records to insert" in grid.diff_panel.value
    assert "2 records to delete in Zoho" in grid.diff_panel.value
    # Deletions wait for the confirmation.
    assert grid.push_button.disabled
    assert not grid.confirm_deletes.value
    assert "confirm" in grid.message.value
    grid.confirm_deletes.value = True
    assert not grid.push_button.disabled

    count = len(server.ids("Leads"))
    with crmframe.connect(**server.credentials) as colleague:
        def edit(rid: str, value: str) -> None:
            colleague.client.request("PUT", "Leads", json={"data": [
                {"id": rid, "Designation": value}]})

        edit(kept_by_them, "the colleague's, before")  # before: a record we mean to delete
        _after_first_write(crm, lambda: edit(touched_during, "the colleague's, during"))
        result = grid.push()
        edit(updated, "the colleague's, after")
        assert grid.push() is result  # at most once: nothing written twice
    codes = result.results.groupby("route")["code"].agg(list).to_dict()
    assert codes["put"] == ["SUCCESS"]
    assert codes["insert"] == ["SUCCESS", "SUCCESS"]
    assert sorted(codes["delete"]) == ["CONFLICT", "SUCCESS"]
    assert result.results.set_index("id").loc[kept_by_them, "code"] == "CONFLICT"
    assert "CONFLICT" in grid.results.value
    assert "records by status and code" in grid.results.value
    now = set(server.ids("Leads"))
    assert len(now) == count + 2 - 1
    assert gone not in now
    assert kept_by_them in now  # the colleague's edit is not destroyed
    overwritten = sum([
        server.get_record("Leads", kept_by_them)["Designation"] != "the colleague's, before",
        server.get_record("Leads", touched_during)["Designation"] != "the colleague's, during",
        server.get_record("Leads", updated)["Designation"] != "the colleague's, after",
    ])
    assert overwritten == 0
    assert server.get_record("Leads", updated)["City"] == "Grid City"
    names = [server.get_record("Leads", i)["Last_Name"] for i in now]
    written_twice = sum(names.count(n) > 1 for n in ("Grid New One", "Grid New Two"))
    assert written_twice == 0
    assert names.count("Grid New One") == names.count("Grid New Two") == 1
    # result.frame: the grid's frame with the new ids, ready as the next original.
    assert result.frame is not None
    new_ids = result.results.loc[result.results["route"] == "insert", "id"].tolist()
    assert result.frame.index[-2:].tolist() == new_ids
    # The browser shows the new rows by their ids now, and takes no more edits.
    n = len(leads)
    assert grid.view.new_ids == {str(n): new_ids[0], str(n + 1): new_ids[1]}
    assert grid.view.pushed
    assert grid.edited.index[-2:].tolist() == ["new-1", "new-2"]
