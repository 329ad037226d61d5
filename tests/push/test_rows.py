"""Reply bodies → results rows (seed 003/004 shapes), and read-back comparison."""

from __future__ import annotations

import pandas as pd

from crmframe.core.fieldtypes import Kind
from crmframe.core.metadata import normalise_fields
from crmframe.errors import InvalidModuleError, TransportError
from crmframe.facade.write.execute import error_body
from crmframe.facade.write.readback import applied_ids
from crmframe.facade.write.rows import VERIFIED_MESSAGE, outcome_rows, reply_rows
from crmframe.facade.write.steps import Step, StepOutcome

IDS = ("738964000002148061", "738964000002131001")


def _put() -> Step:
    return Step(3, "put", IDS, ("Mobile", "Phone"),
                {"data": [{"id": IDS[0], "Mobile": "98883434559"},
                          {"id": IDS[1], "Mobile": "98883434559", "Phone": "1"}]})


def test_duplicate_data_row_keeps_the_sent_id_not_the_duplicate() -> None:
    body = {"data": [
        {"code": "SUCCESS", "status": "success", "message": "record updated",
         "details": {"id": IDS[0], "Modified_Time": "2021-05-11T12:52:29+00:00"}},
        {"code": "DUPLICATE_DATA", "status": "error", "message": "duplicate data",
         "details": {"api_name": "Mobile", "id": IDS[0]}},
    ]}
    rows = reply_rows(_put(), IDS, body)
    assert rows["id"].tolist() == list(IDS)
    assert rows["code"].tolist() == ["SUCCESS", "DUPLICATE_DATA"]
    assert rows["api_name"].tolist()[1] == "Mobile"
    assert rows["fields"].tolist() == [["Mobile"], ["Mobile", "Phone"]]
    assert rows["route"].unique().tolist() == ["put"]
    assert rows["call"].unique().tolist() == [3]
    assert rows.loc[0, "Modified_Time"] == pd.Timestamp("2021-05-11T12:52:29Z")


def test_refused_mass_update_gives_every_id_the_error() -> None:
    step = Step(0, "mass_update", IDS, ("No_of_Employees1",),
                {"data": [{"No_of_Employees1": 1000}], "ids": list(IDS), "over_write": True})
    body = {"data": [{"code": "INVALID_DATA", "details": {"api_name": "No_of_Employees1"},
                      "message": "This field cannot be updated in the Mass Update",
                      "status": "error"}]}
    rows = reply_rows(step, IDS, body)
    assert rows["id"].tolist() == list(IDS)
    assert set(rows["code"]) == {"INVALID_DATA"}
    assert rows["fields"].tolist() == [["No_of_Employees1"]] * 2


def test_whole_request_error_and_unsettled_rows() -> None:
    step = _put()
    outcome = StepOutcome(step)
    outcome.parts.append(
        ([IDS[0]], error_body(InvalidModuleError("INVALID_MODULE", "invalid module", {}, 400)))
    )
    outcome.verified = []
    outcome.unsettled = [IDS[1]]
    outcome.reason = "unknown"
    outcome.error = TransportError("reset")
    rows = pd.concat(outcome_rows(outcome), ignore_index=True)
    assert rows[["id", "status", "code"]].values.tolist() == [
        [IDS[0], "error", "INVALID_MODULE"], [IDS[1], "unknown", "TRANSPORT_ERROR"]]


def test_verified_rows_are_successes() -> None:
    outcome = StepOutcome(_put(), verified=[IDS[1]])
    rows = pd.concat(outcome_rows(outcome), ignore_index=True)
    assert rows[["id", "status", "code", "message"]].values.tolist() == [
        [IDS[1], "success", "SUCCESS", VERIFIED_MESSAGE]]


def test_applied_ids_compares_through_codecs() -> None:
    infos = normalise_fields({"fields": [
        {"api_name": "Closing", "data_type": "datetime", "json_type": "string"},
        {"api_name": "Owner", "data_type": "ownerlookup", "json_type": "jsonobject"},
        {"api_name": "Langs", "data_type": "multiselectpicklist", "json_type": "jsonarray"},
        {"api_name": "Amount", "data_type": "currency", "json_type": "double"},
    ]})
    assert infos["Langs"].kind is Kind.LIST
    idx = pd.Index(list(IDS), dtype="string", name="id")
    frame = pd.DataFrame({
        "Closing": pd.Series(pd.to_datetime(["2024-01-02T03:04:05Z", None]),
                             index=idx).astype("datetime64[s, UTC]"),
        "Owner.id": pd.array(["9", "9"], dtype="string"),
        "Langs": pd.Series([["b", "a"], []], index=idx, dtype=object),
        "Amount": pd.array([0.1 + 0.2, 1.0], dtype="Float64"),
    }, index=idx)
    sent = [
        {"id": IDS[0], "Closing": "2024-01-02T03:04:05+00:00", "Owner": {"id": "9"},
         "Langs": ["a", "b"], "Amount": 0.3},
        {"id": IDS[1], "Closing": None, "Owner": {"id": "8"}},
    ]
    assert applied_ids(frame, sent, infos) == [IDS[0]]
    assert applied_ids(frame, [{"id": "404", "Amount": 1.0}], infos) == []


def test_records_without_an_answer_are_reported_not_dropped() -> None:
    step = Step(0, "mass_update", (*IDS, "738964000002148099"), ("A",),
                {"data": [{"A": 1}], "ids": [*IDS, "738964000002148099"]})
    body = {"data": [{"code": "SUCCESS", "status": "success", "message": "record updated",
                      "details": {"id": IDS[0]}}]}
    rows = reply_rows(step, step.ids, body)
    assert sorted(rows["id"].tolist()) == sorted(step.ids)
    assert rows.set_index("id").loc[IDS[1], "code"] == "NO_ANSWER"
    assert set(rows["route"]) == {"mass_update"}
    unreadable = reply_rows(step, step.ids, {"data": "not a list"})
    assert set(unreadable["code"]) == {"UNREADABLE_ANSWER"}
    assert set(unreadable["status"]) == {"unknown"}
