"""The columnar results builder gives, row by row, what each answer says."""

from __future__ import annotations

import random
from types import MappingProxyType
from typing import Any

import pandas as pd
import pytest

from crmframe.core import results
from crmframe.core.results import ResultsBuilder
from crmframe.errors import EnvelopeError


def answer(rng: random.Random, rid: str) -> dict[str, Any]:
    roll = rng.random()
    if roll < 0.6:
        return {"code": "SUCCESS", "status": "success", "message": "record updated",
                "details": {"id": rid, "Modified_Time": rng.choice(
                    ["2024-05-11T18:22:29+05:30", "2024-05-12T10:00:00+00:00"]),
                    "Modified_By": {"id": "4150868000000225013",
                                    "name": rng.choice(["Pat", "Al"])}}}
    if roll < 0.7:
        return {"code": "DUPLICATE_DATA", "status": "error", "message": "duplicate data",
                "details": {"api_name": "Email", "duplicate_record": {"id": "777"}}}
    if roll < 0.85:
        return {"code": "INVALID_DATA", "status": "error", "message": None,
                "details": {"api_name": "Phone", "expected_data_type": "phone",
                            "limit": rng.choice([1, 2, None])}}
    if roll < 0.95:
        return {"code": "MANDATORY_NOT_FOUND", "status": "error", "message": "missing"}
    return {"code": "SUCCESS", "status": "success", "message": "ok",
            "details": {"id": rid, "Modified_By": None}}


def value(x: Any) -> Any:
    return None if x is None or x is pd.NA or x is pd.NaT else x


@pytest.fixture(params=["C helper", "Python fallback"])
def helper(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run with pandas' C loop over dicts, and with the Python way used without it."""
    if request.param == "Python fallback":
        monkeypatch.setattr(results, "_dicts_to_array", results._dicts_to_array_fallback)
    return str(request.param)


@pytest.mark.parametrize("seed", range(3))
def test_rows_say_what_each_answer_says(seed: int, helper: str) -> None:
    rng = random.Random(seed)
    builder = ResultsBuilder()
    expected: list[dict[str, Any]] = []
    for call in range(8):
        ids = [str(3652397000000000000 + call * 1000 + i) for i in range(150)]
        items = [answer(rng, rid) for rid in ids]
        builder.add({"data": items}, records=ids, in_order=True, route="put", call=call)
        for rid, item in zip(ids, items, strict=True):
            details = item.get("details") or {}
            by = details.get("Modified_By") or {}
            expected.append({
                "id": rid, "code": item["code"], "status": item["status"],
                "message": item["message"], "api_name": details.get("api_name"),
                "expected_data_type": details.get("expected_data_type"),
                "Modified_Time": None if "Modified_Time" not in details
                else pd.Timestamp(details["Modified_Time"]).tz_convert("UTC"),
                "Modified_By.id": by.get("id"), "Modified_By.name": by.get("name"),
                "limit": details.get("limit"), "route": "put", "call": call,
                "duplicate_id": "777" if item["code"] == "DUPLICATE_DATA" else None,
                "details": item.get("details"),
            })
        if call == 3:
            builder.add_rows(["1", "2"], status="skipped", code="DUPLICATE_DATA",
                             message="not sent", route="skip")
            expected += [{"id": i, "code": "DUPLICATE_DATA", "status": "skipped",
                          "message": "not sent", "route": "skip", "details": {},
                          "duplicate_id": None} for i in ("1", "2")]
    frame = builder.to_frame()
    assert len(frame) == len(expected) == builder.rows
    assert str(frame["code"].dtype) == str(frame["id"].dtype) == "string"
    assert str(frame["Modified_Time"].dtype) == "datetime64[s, UTC]"
    assert str(frame["call"].dtype) == str(frame["limit"].dtype) == "Int64"
    assert frame["json_path"].isna().all()
    assert frame["Created_By.id"].isna().all()
    for position, row in enumerate(expected):
        got = frame.iloc[position]
        for column, want in row.items():
            assert value(got[column]) == want, (position, column)


def test_an_answer_that_is_not_results_is_refused_when_added(helper: str) -> None:
    builder = ResultsBuilder()
    records = [{"id": str(i), "Last_Name": "x"} for i in range(100)]
    with pytest.raises(EnvelopeError, match="a record, not an action result"):
        builder.add({"data": records})
    with pytest.raises(EnvelopeError, match="expected an object"):
        builder.add({"data": [{"code": "SUCCESS", "status": "success"}, "oops"]})
    assert builder.rows == 0


def test_details_that_are_not_plain_dicts(helper: str) -> None:
    ids = [str(i) for i in range(100)]
    items: list[Any] = [{"code": "SUCCESS", "status": "success", "message": "ok",
                         "details": {"id": i, "Modified_By": {"id": "5", "name": "Al"}}}
                        for i in ids]
    items[1]["details"] = MappingProxyType({"api_name": "Phone"})  # a Mapping: made a dict
    items[2]["details"] = "not an object"  # kept as it is, no detail columns
    items[3]["details"] = None
    items[4]["details"] = float("nan")
    del items[5]["details"]
    items[6]["details"] = {"id": "6", "Modified_By": None}
    builder = ResultsBuilder()
    builder.add({"data": items}, records=ids, in_order=True)
    frame = builder.to_frame()
    assert frame.loc[1, "details"] == {"api_name": "Phone"}
    assert type(frame.loc[1, "details"]) is dict
    assert frame.loc[1, "api_name"] == "Phone"
    assert frame.loc[2, "details"] == "not an object"
    assert frame.loc[[3, 4, 5], "details"].tolist() == [None, None, None]
    assert frame["Modified_By.name"].isna().tolist()[:8] == [False, True, True, True, True,
                                                            True, True, False]
    assert frame["api_name"].notna().sum() == 1


def test_a_lookup_that_is_not_an_object_leaves_its_columns_missing(helper: str) -> None:
    items = [{"code": "SUCCESS", "status": "success", "message": "ok",
              "details": {"id": str(i), "Modified_By": {"id": "5", "name": "Al"}}}
             for i in range(100)]
    items[7]["details"]["Modified_By"] = "Al"
    builder = ResultsBuilder()
    builder.add({"data": items})
    frame = builder.to_frame()
    assert frame["Modified_By.id"].isna().all()
    assert frame.loc[7, "details"]["Modified_By"] == "Al"
