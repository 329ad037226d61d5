"""Subform cells in core: ``subform_frame`` (one typed row per subform row), the encoding
of rows written back, and plans that never route subform changes to a bulk-write CSV."""

from __future__ import annotations

import pandas as pd
import pytest

import crmframe
from crmframe.core.codecs import encode_value
from crmframe.core.fieldtypes import Kind
from crmframe.core.plan import make_plan
from crmframe.errors import InputError

ROWS_META = [
    {"api_name": "id", "data_type": "bigint"},
    {"api_name": "Parent_Id", "data_type": "lookup", "lookup": {"module": {"api_name": "Quotes"}}},
    {"api_name": "Product_Name", "data_type": "lookup"},
    {"api_name": "Quantity", "data_type": "double"},
    {"api_name": "Due", "data_type": "date"},
    {"api_name": "Seats", "data_type": "integer"},
]


def _quotes() -> pd.DataFrame:
    return pd.DataFrame(
        {"Subject": pd.array(["A", "B", "C"], dtype="string"),
         "Quoted_Items": [
             [{"id": "4876876000000200001", "Parent_Id": {"name": "A", "id": "1"},
               "Product_Name": {"name": "Router", "id": "4876876000000300001"},
               "Quantity": 2.0, "Due": "2025-01-31", "Seats": 3, "$editable": True},
              {"id": "4876876000000200002", "Parent_Id": {"name": "A", "id": "1"},
               "Product_Name": None, "Quantity": None, "Due": None, "Seats": None}],
             [],
             None]},
        index=pd.Index(["4876876000000100001", "4876876000000100002",
                        "4876876000000100003"], dtype="string", name="id"))


def test_one_row_per_subform_row_typed_by_the_metadata() -> None:
    rows = crmframe.subform_frame(_quotes(), "Quoted_Items", ROWS_META)
    assert rows.index.tolist() == ["4876876000000200001", "4876876000000200002"]
    assert str(rows.index.dtype) == "string"
    assert rows["Parent_Id"].tolist() == ["4876876000000100001"] * 2  # the frame's id wins
    assert {c: str(t) for c, t in rows.dtypes.items()} == {
        "Parent_Id": "string", "Product_Name.id": "string", "Product_Name.name": "string",
        "Quantity": "Float64", "Due": "datetime64[s]", "Seats": "Int64"}
    assert rows["Quantity"].isna().tolist() == [False, True]
    assert "$editable" not in rows.columns
    assert rows.attrs == {"parent_column": "Quoted_Items"}


def test_no_rows_gives_an_empty_typed_frame() -> None:
    empty = _quotes().iloc[1:]
    rows = crmframe.subform_frame(empty, "Quoted_Items")
    assert rows.empty
    assert list(rows.columns) == ["Parent_Id"]
    assert str(rows.index.dtype) == "string"


def test_a_text_cell_is_a_typed_error_naming_the_fix() -> None:
    frame = _quotes()
    frame["Quoted_Items"] = frame["Quoted_Items"].astype(str)
    with pytest.raises(InputError, match=r"row 0 .*crmframe\.retype"):
        crmframe.subform_frame(frame, "Quoted_Items")


def test_rows_written_back_drop_what_zoho_sets() -> None:
    cell = _quotes().iloc[0]["Quoted_Items"] + [{"Product_Name": {"id": 42}, "Quantity": 1}]
    assert encode_value(cell, Kind.SUBFORM) == [
        {"id": "4876876000000200001", "Product_Name": {"id": "4876876000000300001"},
         "Quantity": 2.0, "Due": "2025-01-31", "Seats": 3},
        {"id": "4876876000000200002", "Product_Name": None, "Quantity": None, "Due": None,
         "Seats": None},
        {"Product_Name": {"id": "42"}, "Quantity": 1},
    ]


def test_subform_changes_go_by_put_even_past_the_bulk_threshold() -> None:
    n = 6000
    ids = pd.Index([f"48768760001{i:08d}" for i in range(n)], dtype="string", name="id")
    original = pd.DataFrame({"Milestones": [[{"id": "1", "Hours": 1.0}]] * n}, index=ids)
    edited = original.copy()
    edited["Milestones"] = [[{"id": "1", "Hours": 2.0}]] * n
    fields = [{"api_name": "Milestones", "data_type": "subform", "json_type": "jsonarray"}]
    changes = crmframe.diff(original, edited, fields=fields)
    assert len(changes.changes) == n
    plan = make_plan(changes, fields, "Projects")
    assert set(plan.steps["route"]) == {"put"}
    assert plan.payloads[0]["data"][0]["Milestones"] == [{"id": "1", "Hours": 2.0}]
