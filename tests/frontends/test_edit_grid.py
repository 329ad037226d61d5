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
    assert grid.diff_panel.value.count("<tr><td>") == 3
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


def test_a_frame_without_ids_is_refused() -> None:
    with pytest.raises(InputError, match="index 'id'"):
        EditGrid(None, pd.DataFrame({"A": [1]}), fields={"fields": []})
