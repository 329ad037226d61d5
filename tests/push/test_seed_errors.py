"""The documented results of seed 003 (update records) and seed 004 (mass update), as rows.

Bodies are the seeds' (minus the ``{{placeholders}}``, replaced by sandbox ids); every case
is run on v2 (the seeds' version) and v8. Whole-request errors become rows for every
record of the call; fatal ones (method, module, auth) stop the push: later calls are
``not_sent``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import pandas as pd
import pytest
import requests

from crmframe.errors import InputError, InvalidModuleError, ValidationError
from crmframe.facade.crm import CRM
from crmframe.facade.write.result import PushResult
from crmframe.facade.write.run import send_steps
from crmframe.facade.write.sender import CrmSender
from crmframe.facade.write.steps import Step
from crmframe.http.client import ZohoClient

from .helpers import fast_retry, writing_crm

pytestmark = pytest.mark.sandbox

SEED_RECORD = {
    "Last_Name": "Last_Name", "Email": "newcrmapi@zoho.com",
    "Description": "Design your own layouts that align your business processes precisely. "
                   "Assign them to profiles appropriately.",
    "Rating": "Acquired", "Website": "crm.zoho.com", "Twitter": "Twitter", "Salutation": "Mr.",
    "First_Name": "First_Name", "Lead_Status": "Attempted to Contact", "Industry": "ASP",
    "Skype_ID": "Skype_ID", "Phone": "98883434559", "Street": "Street", "Zip_Code": "Zip_Code",
    "Email_Opt_Out": False, "Designation": "Designation", "City": "City",
    "No_of_Employees": 1791, "State": "State", "Lead_Source": "Advertisement",
    "Country": "Country", "Fax": "Fax", "Annual_Revenue": 136.67,
    "Secondary_Email": "newcrmapi@zoho.com",
}


@pytest.fixture(params=["v2", "v8"])
def crm(request: pytest.FixtureRequest, server: Any) -> Iterator[Any]:
    connection = writing_crm({**server.credentials, "version": request.param})
    try:
        yield connection
    finally:
        connection.close()


def _plain_ids(server: Any, n: int, skip: int = 0) -> list[str]:
    flagged = set(server.flagged("Leads"))
    return [i for i in server.ids("Leads") if i not in flagged][skip : skip + n]


def _put(ids: Sequence[str], records: Sequence[dict[str, Any]], index: int = 0) -> Step:
    return Step(index, "put", tuple(ids), tuple(SEED_RECORD), {"data": list(records)})


def _row(result: PushResult, rid: str) -> pd.Series:
    rows = result.results[result.results["id"] == rid]
    assert len(rows) == 1, result.results
    return rows.iloc[0]


# -- seed 003: update records -------------------------------------------------------------


def test_003_success_response(crm: Any, server: Any) -> None:
    (rid,) = _plain_ids(server, 1, skip=100)
    result = send_steps(crm, "Leads", [_put([rid], [{"id": rid, **SEED_RECORD}])])
    row = _row(result, rid)
    assert (row["code"], row["status"], row["message"]) == ("SUCCESS", "success",
                                                           "record updated")
    assert row["details"]["id"] == rid
    assert pd.notna(row["Modified_Time"])
    assert row["Modified_By.id"] == row["details"]["Modified_By"]["id"]
    assert server.get_record("Leads", rid)["Skype_ID"] == "Skype_ID"


def test_003_invalid_module(crm: Any, server: Any) -> None:
    (rid,) = _plain_ids(server, 1, skip=101)
    result = send_steps(crm, "Lead", [_put([rid], [{"id": rid, **SEED_RECORD}])])
    row = _row(result, rid)
    assert (row["code"], row["status"]) == ("INVALID_MODULE", "error")
    assert row["message"] == "the module name given seems to be invalid"
    # through push, the module is checked when its fields are read: a typed error, no write
    edited = pd.DataFrame({"City": pd.array(["x"], dtype="string")},
                          index=pd.Index([rid], dtype="string", name="id"))
    with pytest.raises(InvalidModuleError):
        crm.push(edited, edited, module="Lead")


def test_003_invalid_data_body(crm: Any, server: Any) -> None:
    ids = _plain_ids(server, 2, skip=102)
    step = Step(0, "put", tuple(ids), ("Last_Name",), ["not", "an", "object"])
    result = send_steps(crm, "Leads", [step])
    assert result.results["id"].tolist() == ids
    assert set(result.results["code"]) == {"INVALID_DATA"}
    assert set(result.results["expected_data_type"]) == {"jsonobject"}
    assert set(result.results["message"]) == {"body"}


def test_003_mandatory_not_found_without_id(crm: Any, server: Any) -> None:
    step = _put(["(no id)"], [dict(SEED_RECORD)])
    result = send_steps(crm, "Leads", [step])
    row = result.results.iloc[0]
    assert (row["code"], row["status"], row["message"]) == (
        "MANDATORY_NOT_FOUND", "error", "required field not found")
    assert row["api_name"] == "id"


class CopySender(CrmSender):
    """Sends every step with the seed's COPY method."""

    def send(self, step: Step, ids: Sequence[str], *, job_id: str | None = None,
             on_job: Callable[[str], None] | None = None,
             on_upload: Callable[[str], None] | None = None) -> dict[str, Any]:
        self.calls += 1
        return self.write("COPY", self.module, step.restricted(ids))


def test_003_invalid_request_method_stops_the_push(crm: Any, server: Any) -> None:
    from crmframe.facade.write.execute import execute
    from crmframe.facade.write.rows import outcome_rows

    ids = _plain_ids(server, 2, skip=104)
    steps = [_put([i], [{"id": i, "City": "C"}], index=n) for n, i in enumerate(ids)]
    sender = CopySender(crm.client, "Leads", {}, read=lambda f, i: pd.DataFrame(),
                        wait=lambda job: None)
    outcomes = execute(steps, sender)
    rows = pd.concat([f for o in outcomes for f in outcome_rows(o)], ignore_index=True)
    assert rows[["id", "code", "status"]].values.tolist() == [
        [ids[0], "INVALID_REQUEST_METHOD", "error"], [ids[1], "NOT_SENT", "not_sent"]]
    assert rows.loc[0, "message"] == "The http request method type is not a valid one"
    assert sender.calls == 1


def test_003_duplicate_data(crm: Any, server: Any) -> None:
    first, second = _plain_ids(server, 2, skip=106)
    taken = server.get_record("Leads", first)["Mobile"]
    result = send_steps(crm, "Leads", [_put([second], [{"id": second, "Mobile": taken}])])
    row = _row(result, second)
    assert (row["code"], row["status"], row["message"]) == ("DUPLICATE_DATA", "error",
                                                           "duplicate data")
    assert row["api_name"] == "Mobile"
    assert row["details"]["id"] == first  # Zoho names the record that holds the value


class ScopeMismatch(requests.adapters.BaseAdapter):
    """Answers every request as Zoho does to a token without the module's scope."""

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        response = requests.Response()
        response.status_code = 401
        response.reason = "Unauthorized"
        response._content = (b'{"code": "OAUTH_SCOPE_MISMATCH", "details": {}, "message": '
                             b'"invalid oauth scope to access this URL", "status": "error"}')
        response.headers["Content-Type"] = "application/json;charset=utf-8"
        response.request = request
        response.url = request.url or ""
        return response

    def close(self) -> None:
        pass


def test_003_oauth_scope_mismatch() -> None:
    # The sandbox issues all-scope tokens; Zoho's answer is replayed by a transport adapter.
    from crmframe.http.auth import StaticToken

    session = requests.Session()
    session.mount("https://", ScopeMismatch())
    client = ZohoClient("https://www.zohoapis.com", StaticToken("1000.a.b"), version="v2",
                        session=session, retry=fast_retry())
    try:
        steps = [_put(["738964000002148061"], [{"id": "738964000002148061", **SEED_RECORD}]),
                 _put(["738964000002148062"], [{"id": "738964000002148062", "City": "x"}], 1)]
        result = send_steps(CRM(client), "Leads", steps)
    finally:
        session.close()
        client.close()
    assert result.results[["code", "status"]].values.tolist() == [
        ["OAUTH_SCOPE_MISMATCH", "error"], ["NOT_SENT", "not_sent"]]
    assert result.results.loc[0, "message"] == "invalid oauth scope to access this URL"
    assert result.calls == 1


def test_003_not_approved(crm: Any, server: Any) -> None:
    rid = next(i for i, why in server.flagged("Leads").items() if why == "not_approved")
    result = send_steps(crm, "Leads", [_put([rid], [{"id": rid, **SEED_RECORD}])])
    row = _row(result, rid)
    assert (row["code"], row["status"]) == ("NOT_APPROVED", "error")
    assert row["message"].lower() == "cannot update record that is not approved yet"
    assert row["details"]["id"] == rid


def test_003_record_locked(crm: Any, server: Any) -> None:
    rid = next(i for i, why in server.flagged("Leads").items() if why == "locked")
    result = send_steps(crm, "Leads", [_put([rid], [{"id": rid, **SEED_RECORD}])])
    row = _row(result, rid)
    assert (row["code"], row["status"]) == ("RECORD_LOCKED", "error")
    assert row["details"]["action"]
    assert rid not in result.retryable["id"].tolist()  # the same edit would fail again
    assert rid in result.held_back()["id"].tolist()
    assert rid in result.retryable_mask(locked=True).pipe(
        lambda mask: result.results.loc[mask.to_numpy(), "id"]).tolist()


# -- seed 004: mass update ----------------------------------------------------------------


def _mass(ids: Sequence[str], data: dict[str, Any], *, with_ids: bool = True) -> Step:
    body: dict[str, Any] = {"data": [data], "over_write": True}
    if with_ids:
        body["ids"] = list(ids)
    return Step(0, "mass_update", tuple(ids), tuple(data), body)


def test_004_success_response(crm: Any, server: Any) -> None:
    ids = _plain_ids(server, 2, skip=110)
    result = crm.mass_update("Leads", {"No_of_Employees": 1000}, ids=ids, over_write=True)
    assert isinstance(result, PushResult)
    assert result.results[["id", "code", "status", "message"]].values.tolist() == [
        [ids[0], "SUCCESS", "success", "record updated"],
        [ids[1], "SUCCESS", "success", "record updated"]]
    assert result.results["fields"].tolist() == [["No_of_Employees"]] * 2
    assert result.calls == 1
    assert {server.get_record("Leads", i)["No_of_Employees"] for i in ids} == {1000}


def test_004_invalid_data_no_field(crm: Any, server: Any) -> None:
    ids = _plain_ids(server, 2, skip=112)
    result = send_steps(crm, "Leads", [_mass(ids, {})])
    assert result.results["id"].tolist() == ids
    assert set(result.results["code"]) == {"INVALID_DATA"}
    assert set(result.results["message"]) == {"No field found"}
    with pytest.raises(InputError, match="non-empty"):
        crm.mass_update("Leads", {}, ids=ids)


def test_004_invalid_data_field(crm: Any, server: Any) -> None:
    ids = _plain_ids(server, 2, skip=114)
    result = send_steps(crm, "Leads", [_mass(ids, {"No_of_Employees1": 1000})])
    assert set(result.results["code"]) == {"INVALID_DATA"}
    assert set(result.results["message"]) == {"This field cannot be updated in the Mass Update"}
    assert set(result.results["api_name"]) == {"No_of_Employees1"}
    server.clear_requests()
    with pytest.raises(ValidationError, match="No_of_Employees1"):
        crm.mass_update("Leads", {"No_of_Employees1": 1000}, ids=ids)
    assert not [r for r in server.requests if r[0] == "POST"]  # refused before sending


def test_004_mandatory_not_found_without_ids(crm: Any, server: Any) -> None:
    ids = _plain_ids(server, 2, skip=116)
    result = send_steps(crm, "Leads", [_mass(ids, {"No_of_Employees": 1000}, with_ids=False)])
    assert set(result.results["code"]) == {"MANDATORY_NOT_FOUND"}
    assert set(result.results["message"]) == {"required field not found"}


def test_004_authentication_failure(server: Any) -> None:
    class NoToken:
        def header(self) -> str:
            return ""

        def invalidate(self, token: str) -> bool:
            return False

    client = ZohoClient(server.url, NoToken(), version="v2", retry=fast_retry())
    try:
        ids = _plain_ids(server, 2, skip=118)
        steps = [_mass(ids[:1], {"No_of_Employees": 1000}),
                 Step(1, "mass_update", (ids[1],), ("No_of_Employees",),
                      {"data": [{"No_of_Employees": 1000}], "ids": [ids[1]]})]
        result = send_steps(CRM(client), "Leads", steps)
    finally:
        client.close()
    assert result.results[["code", "status"]].values.tolist() == [
        ["AUTHENTICATION_FAILURE", "error"], ["NOT_SENT", "not_sent"]]
    assert result.results.loc[0, "message"] == "Authentication failed"


def test_004_not_approved_and_record_locked(crm: Any, server: Any) -> None:
    flagged = server.flagged("Leads")
    locked = next(i for i, why in flagged.items() if why == "locked")
    unapproved = next(i for i, why in flagged.items() if why == "not_approved")
    (plain,) = _plain_ids(server, 1, skip=120)
    result = crm.mass_update("Leads", {"No_of_Employees": 1000},
                             ids=[locked, unapproved, plain], over_write=True)
    assert isinstance(result, PushResult)
    rows = result.results.set_index("id")
    assert rows.loc[locked, "code"] == "RECORD_LOCKED"
    assert rows.loc[unapproved, "code"] == "NOT_APPROVED"
    assert rows.loc[unapproved, "details"]["id"] == unapproved
    assert rows.loc[plain, "code"] == "SUCCESS"
    assert sorted(result.failed["id"]) == sorted([locked, unapproved])
