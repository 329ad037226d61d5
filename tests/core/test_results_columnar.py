"""The columnar results builder gives, row by row, what each answer says."""

from __future__ import annotations

import random
from typing import Any

import pandas as pd
import pytest

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


@pytest.mark.parametrize("seed", range(3))
def test_rows_say_what_each_answer_says(seed: int) -> None:
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


def test_an_answer_that_is_not_results_is_refused_when_added() -> None:
    builder = ResultsBuilder()
    records = [{"id": str(i), "Last_Name": "x"} for i in range(100)]
    with pytest.raises(EnvelopeError, match="a record, not an action result"):
        builder.add({"data": records})
    with pytest.raises(EnvelopeError, match="expected an object"):
        builder.add({"data": [{"code": "SUCCESS", "status": "success"}, "oops"]})
    assert builder.rows == 0
