"""Plans to steps (order, trigger), what the sender puts on the wire, bulk-write helpers."""

from __future__ import annotations

import io
import zipfile
from typing import Any

import pandas as pd

from crmframe.core.bulkwrite import parse_bulk_result
from crmframe.core.diff import ChangeSet
from crmframe.core.metadata import normalise_fields
from crmframe.core.plan import make_plan
from crmframe.facade.write.sender import CrmSender, bulk_rows_body, csv_subset, upload_url, zip_csv
from crmframe.facade.write.steps import steps_from_plan

META = [
    {"api_name": "Lead_Status", "data_type": "picklist", "json_type": "string",
     "mass_update": True, "pick_list_values": [{"actual_value": "Contacted"}]},
    {"api_name": "City", "data_type": "text", "json_type": "string", "mass_update": True},
]


def _plan() -> Any:
    ids = [str(3652397000000000000 + i) for i in range(620)]
    rows = [{"id": i, "field": "Lead_Status", "old": "New", "new": "Contacted"} for i in ids]
    rows += [{"id": i, "field": "City", "old": "A", "new": f"City {n}"}
             for n, i in enumerate(ids[:30])]
    return make_plan(ChangeSet(changes=pd.DataFrame(rows)), META, "Leads")


def test_steps_keep_plan_order_and_carry_trigger_only_in_puts() -> None:
    plan = _plan()
    steps = steps_from_plan(plan, trigger=[])
    assert [s.route for s in steps] == plan.steps["route"].tolist()
    assert [s.index for s in steps] == list(range(len(steps)))
    assert {s.route for s in steps} == {"mass_update", "put"}
    for step in steps:
        if step.route == "put":
            assert step.payload["trigger"] == []
        else:
            assert "trigger" not in step.payload
    assert all("trigger" not in s.payload for s in steps_from_plan(plan, trigger=None))
    assert sum(len(s.ids) for s in steps) == sum(plan.steps["n_records"])


class Reply:
    def __init__(self, body: dict[str, Any]) -> None:
        self.status, self.body, self.headers = 200, body, {}


class RecordingClient:
    """A stand-in client: records every request, answers success for each record."""

    api_domain, version = "https://www.zohoapis.eu", "v8"

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, Any, Any]] = []

    def request(self, method: str, path: str, *, json: Any = None, idempotent: Any = None,
                **kwargs: Any) -> Reply:
        self.calls.append((method, path, json, idempotent))
        ids = [r["id"] for r in json.get("data", [])] if method == "PUT" else json["ids"]
        return Reply({"data": [{"code": "SUCCESS", "status": "success",
                                "message": "record updated", "details": {"id": i}}
                               for i in ids]})


def test_sender_puts_the_restricted_body_on_the_wire() -> None:
    client = RecordingClient()
    sender = CrmSender(client, "Leads", normalise_fields(META),
                       read=lambda f, i: pd.DataFrame(), wait=lambda job: None)
    steps = steps_from_plan(_plan(), trigger=["workflow"])
    put = next(s for s in steps if s.route == "put")
    mass = next(s for s in steps if s.route == "mass_update")
    sender.send(put, list(put.ids[:2]))
    sender.send(mass, list(mass.ids[:3]))
    (m1, p1, body1, idem1), (m2, p2, body2, idem2) = client.calls
    assert (m1, p1) == ("PUT", "Leads")
    assert [r["id"] for r in body1["data"]] == list(put.ids[:2])
    assert body1["trigger"] == ["workflow"]
    assert (m2, p2) == ("POST", "Leads/actions/mass_update")
    assert body2["ids"] == list(mass.ids[:3])
    assert body2["data"] == [{"Lead_Status": "Contacted"}]
    # Never retried blindly by the client: a second application moves Modified_Time and
    # runs the customer's workflows again; a lost answer is settled by reading back.
    assert (idem1, idem2) == (False, False)
    assert sender.calls == 2


def test_bulk_helpers() -> None:
    csv_bytes = b"id,City\n1,Pune\n2,Goa\n3,Rome\n"
    assert csv_subset(csv_bytes, ["3", "1"]) == b"id,City\n1,Pune\n3,Rome\n"
    with zipfile.ZipFile(io.BytesIO(zip_csv(csv_bytes, "Leads.csv"))) as archive:
        assert archive.read("Leads.csv") == csv_bytes
    assert upload_url("https://www.zohoapis.ca", "v8") == (
        "https://upload.zohocloud.ca/crm/v8/upload")
    parsed = parse_bulk_result(
        "id,City,STATUS,RECORD_ID,ERRORS\n1,Pune,updated,1,\n2,,skipped,,INVALID_DATA-City\n",
        ids=["1", "2"])
    body = bulk_rows_body(parsed)
    assert [(d["status"], d["code"]) for d in body["data"]] == [
        ("success", "SUCCESS"), ("error", "INVALID_DATA")]
    assert body["data"][1]["details"]["api_name"] == "City"
