"""PushResult views, retry gating, reprs; the push modules' docstring examples."""

from __future__ import annotations

import doctest
import importlib

import pandas as pd
import pytest

from crmframe.errors import InputError
from crmframe.facade.write.result import PushResult, empty_results


def _result(**kwargs: object) -> PushResult:
    frame = pd.DataFrame({
        "id": ["1", "2", "3", "4", "5", None],
        "route": ["put", "put", "put", None, "mass_update", None],
        "call": [0, 0, 0, None, 1, None],
        "fields": [["A"], ["A"], ["A"], ["A"], ["B"], ["C"]],
        "code": ["SUCCESS", "RECORD_LOCKED", "INVALID_DATA", "CONFLICT", "NOT_SENT",
                 "NOT_PUSHED_INSERT"],
        "status": ["success", "error", "error", "skipped", "not_sent", "skipped"],
        "message": ["record updated", "locked", "bad", "changed", "stopped", "insert"],
        "details": [{}, {}, {"api_name": "A"}, {}, {}, {}],
        "Modified_Time": ["2024-01-02T03:04:05+00:00", None, None, None, None, None],
    })
    return PushResult(frame, calls=2, credits=2.0, **kwargs)  # type: ignore[arg-type]


def test_views_and_dtypes() -> None:
    result = _result()
    assert result.succeeded["id"].tolist() == ["1"]
    assert result.failed["id"].tolist()[:4] == ["2", "3", "4", "5"]
    assert pd.isna(result.failed["id"].iloc[4])  # an added row has no id
    assert result.retryable["id"].tolist() == ["5"]  # a locked record is held back
    assert result.retryable_mask(overwrite=True).sum() == 2  # + the conflict
    assert result.retryable_mask(locked=True).sum() == 2  # + the locked record
    assert str(result.results["id"].dtype) == "string"
    assert str(result.results["call"].dtype) == "Int64"
    assert result.results.loc[0, "Modified_Time"] == pd.Timestamp("2024-01-02T03:04:05Z")
    assert not result.ok


def test_summary_and_reprs() -> None:
    result = _result()
    summary = result.summary()
    assert summary["records"].sum() == 6
    text = repr(result)
    assert text.startswith("<PushResult: 6 records, 2 calls, 2 credits")
    assert "error 2 (INVALID_DATA 1, RECORD_LOCKED 1)" in text
    assert "<table" in result._repr_html_()
    empty = PushResult(empty_results())
    assert empty.ok
    assert "nothing to push" in repr(empty)


def _failed_inserts() -> PushResult:
    """An insert of four rows: Zoho refused two (no id: each is its own new record)."""
    return PushResult(pd.DataFrame({
        "id": [None, "4876876000000100136", "4876876000000100137", None],
        "route": "insert", "call": 0, "fields": [["Last_Name", "Mobile"]] * 4,
        "code": ["DUPLICATE_DATA", "SUCCESS", "SUCCESS", "DUPLICATE_DATA"],
        "status": ["error", "success", "success", "error"],
        "message": ["duplicate data", "record added", "record added", "duplicate data"],
    }), calls=1, credits=1.0)


def test_failed_inserts_without_ids_are_counted_one_record_each() -> None:
    # nunique(dropna=False) made every id-less row one record: "3 records ... error 1"
    result = _failed_inserts()
    summary = result.summary().set_index(["status", "code"])["records"]
    assert summary.to_dict() == {("error", "DUPLICATE_DATA"): 2, ("success", "SUCCESS"): 2}
    assert repr(result).startswith("<PushResult: 4 records, 1 call, 1 credit")
    assert "error 2 (DUPLICATE_DATA 2)" in repr(result)
    # a record with an id is still counted once however many rows it has
    twice = PushResult(pd.concat([result.results, result.results.iloc[[1]]]))
    assert twice.summary()["records"].sum() == 4


def test_retry_needs_a_crm_and_passes_overwrite() -> None:
    with pytest.raises(InputError, match="nothing to retry"):
        _result().retry()
    seen: list[bool] = []

    def again(result: PushResult, overwrite: bool) -> PushResult:
        seen.append(overwrite)
        return PushResult(empty_results())

    _result(retry_with=again).retry()
    _result(retry_with=again, overwrite=True).retry()
    _result(retry_with=again).retry(overwrite=True)
    assert seen == [False, True, True]


@pytest.mark.parametrize("code", ["RECORD_LOCKED", "NOT_APPROVED", "BLOCKED_RECORD"])
def test_retry_holds_locked_and_unapproved_records_back_with_the_reason(code: str) -> None:
    sent: list[list[str]] = []

    def again(result: PushResult, overwrite: bool) -> PushResult:
        rows = result.results[result.retryable_mask(overwrite=overwrite)]
        sent.append(rows["id"].tolist())
        return PushResult(rows.assign(status="success", code="SUCCESS"), retry_with=again)

    first = _result(retry_with=again)
    first.results.loc[1, "code"] = code
    second = first.retry()
    assert sent == [["5"]]  # never the held record
    held = second.results[second.results["id"] == "2"]
    assert held[["status", "code"]].values.tolist() == [["error", code]]
    assert held["message"].iloc[0].startswith("not retried: ")
    assert "retry(locked=True)" in held["message"].iloc[0]
    # a retry loop ends: nothing retryable is left, the held record stays reported
    third = second.retry()
    assert sent[-1] == []
    assert third.results["id"].tolist() == ["2"]
    assert third.results["message"].tolist() == held["message"].tolist()  # said once
    # asked explicitly (the approval went through): it is sent
    fourth = first.retry(locked=True)
    assert sent[-1] == ["2", "5"]
    assert fourth.ok


@pytest.mark.parametrize("name", [
    *(f"crmframe.facade.write.{name}" for name in (
        "journal", "execute", "result", "mixin", "steps", "rows", "readback", "sender",
        "prepare", "conflicts", "frames", "run", "massupdate", "bulkwriting")),
    "crmframe.accessor",
])
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    outcome = doctest.testmod(module, optionflags=doctest.ELLIPSIS, report=True)
    assert outcome.attempted > 0
    assert outcome.failed == 0
