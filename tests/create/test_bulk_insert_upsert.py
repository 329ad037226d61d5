"""crm.bulk_write insert/upsert against the sandbox: seed 000's job rebuilt from a frame,
values read back exact, upsert by Email, big frames split into several jobs."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from crmframe.core.mappings import mappings_to_frame
from crmframe.errors import InputError, ValidationError

pytestmark = pytest.mark.sandbox

SEED_000 = Path(__file__).parent / "fixtures" / "seed_000_bulk_write_insert_job.json"
COMPARED = ["module", "api_name", "index", "format", "find_by", "default_value"]
OWNER = "4876876000000000012"  # Theo Martin, not the API user
LAYOUT = "4876876000000000021"


def _seed_like(n: int) -> pd.DataFrame:
    """A frame shaped like seed 000's mappings: Last_Name, Owner, Date_3, Mobile, Layout."""
    return pd.DataFrame({
        "Last_Name": [f"Boyle {i}" for i in range(n)],
        "Owner": pd.array([OWNER] * n, dtype="string"),
        "Date_3": pd.to_datetime([f"2021-{i % 12 + 1:02d}-{i % 28 + 1:02d}" for i in range(n)]
                                 ).astype("datetime64[s]"),
        "Mobile": pd.array([f"+91 98 {i:07d}" for i in range(n)], dtype="string"),
        "Layout": pd.array([LAYOUT] * n, dtype="string"),
    })


def test_bulk_insert_3000_like_seed_000_reads_back_exact(server: Any, crm: Any,
                                                         colleague: Any) -> None:
    frame = _seed_like(3000)
    frame.attrs["module"] = "Leads"
    before = len(server.ids("Leads"))
    result = crm.bulk_write(frame, operation="insert", formats={"Date_3": "yyyy/MM/dd"},
                            poll_interval=0.05)
    assert result["STATUS"].value_counts().to_dict() == {"added": 3000}
    assert list(result.index) == list(frame.index)
    new_ids = result["RECORD_ID"].tolist()
    assert len(set(new_ids)) == 3000
    assert len(server.ids("Leads")) == before + 3000
    job = result.attrs["job"]
    detail = crm.client.request("GET", f"write/{job.job_id}", bulk=True).body
    file = detail["resource"][0]["file"]
    assert (file["added_count"], file["total_count"]) == (3000, 3000)
    # the job's mappings are seed 000's
    seed = mappings_to_frame(json.loads(SEED_000.read_text(encoding="utf-8")))
    sent = result.attrs["mappings"]
    echoed = mappings_to_frame(detail)
    assert detail["operation"] == "insert"
    pd.testing.assert_frame_equal(sent[COMPARED], seed[COMPARED])
    pd.testing.assert_frame_equal(echoed[COMPARED], seed[COMPARED])
    # values read back exact, in row order
    back = crm.read_records("Leads", ["Last_Name", "Owner", "Date_3", "Mobile", "Layout"],
                            progress=False)
    back = back.loc[new_ids]
    assert back["Last_Name"].tolist() == frame["Last_Name"].tolist()
    assert back["Mobile"].tolist() == frame["Mobile"].tolist()
    assert back["Owner.id"].tolist() == [OWNER] * 3000
    assert back["Layout.id"].tolist() == [LAYOUT] * 3000
    assert back["Date_3"].tolist() == frame["Date_3"].tolist()
    # the colleague edits one afterwards; a second identical insert is refused per row
    # (Mobile is unique): nothing is created twice
    colleague.client.request("PUT", "Leads", json={"data": [{"id": new_ids[0],
                                                             "City": "Pune"}]})
    again = crm.bulk_write(frame.iloc[:50], operation="insert",
                           formats={"Date_3": "yyyy/MM/dd"}, poll_interval=0.05)
    assert set(again["STATUS"]) == {"skipped"}
    assert set(again["code"]) == {"DUPLICATE_DATA"}
    assert server.get_record("Leads", new_ids[0])["City"] == "Pune"
    assert len(server.ids("Leads")) == before + 3000


def test_bulk_insert_lookups_by_email_and_name_layout_by_default(server: Any,
                                                                 crm: Any) -> None:
    account = server.get_record("Accounts", server.ids("Accounts")[0])
    frame = pd.DataFrame({
        "Last_Name": ["Ng", "Roy"],
        "Owner.email": ["theo.martin@sandbox.crmframe.test", "aiko.tanaka@sandbox.crmframe.test"],
        "Referred_Account.Account_Name": [account["Account_Name"], account["Account_Name"]],
        "Date_3": ["13/05/2021", "14/05/2021"],  # text already in the given format
    })
    result = crm.bulk_write(frame, "Leads", operation="insert",
                            formats={"Date_3": "dd/MM/yyyy"}, defaults={"Layout": LAYOUT},
                            poll_interval=0.05)
    assert result["STATUS"].tolist() == ["added", "added"]
    maps = result.attrs["mappings"]
    assert maps["find_by"].fillna("").tolist() == ["", "email", "Account_Name", "", ""]
    assert maps.iloc[-1]["default_value"] == {"value": LAYOUT}
    assert pd.isna(maps.iloc[-1]["index"])
    rec = server.get_record("Leads", result["RECORD_ID"].iloc[1])
    assert rec["Owner"]["email"] == "aiko.tanaka@sandbox.crmframe.test"
    assert rec["Referred_Account"]["id"] == account["id"]
    assert rec["Date_3"] == "2021-05-14"
    assert rec["Layout"]["id"] == LAYOUT


def test_bulk_upsert_1500_by_email(server: Any, crm: Any, colleague: Any) -> None:
    flagged = set(server.flagged("Leads"))
    ids = [i for i in server.ids("Leads") if i not in flagged
           and server.get_record("Leads", i).get("Email")][:1000]
    assert len(ids) == 1000
    emails = [server.get_record("Leads", i)["Email"] for i in ids]
    # before: the colleague sets a field the upsert does not carry
    colleague.client.request("PUT", "Leads", json={"data": [
        {"id": i, "City": "Kyoto"} for i in ids[:100]]})
    frame = pd.DataFrame({
        "Email": emails + [f"bulk{i}@fair.example" for i in range(500)],
        "Last_Name": [f"Bulk {i}" for i in range(1500)],
    })
    count = len(server.ids("Leads"))
    result = crm.bulk_write(frame, "Leads", operation="upsert", find_by="Email",
                            poll_interval=0.05)
    assert result["STATUS"].value_counts().to_dict() == {"updated": 1000, "added": 500}
    assert result["RECORD_ID"].iloc[:1000].tolist() == ids
    assert len(server.ids("Leads")) == count + 500
    assert server.get_record("Leads", ids[7])["Last_Name"] == "Bulk 7"
    overwritten = [i for i in ids[:100] if server.get_record("Leads", i)["City"] != "Kyoto"]
    assert overwritten == []
    with pytest.raises(InputError, match="needs find_by"):
        crm.bulk_write(frame, "Leads", operation="upsert")


def test_bulk_insert_60000_rows_split_into_jobs(server: Any, crm: Any) -> None:
    n = 60_000
    frame = pd.DataFrame({"Last_Name": [f"Bulk {i}" for i in range(n)]})
    seen: list[str] = []
    before = len(server.ids("Leads"))
    result = crm.bulk_write(frame, "Leads", operation="insert", poll_interval=0.05,
                            on_update=lambda status: seen.append(status.job_id))
    jobs = result.attrs["jobs"]
    assert len(jobs) == 3
    assert result.attrs["job"] is jobs[-1]
    assert set(seen) == {j.job_id for j in jobs}  # each job watched
    sizes = [crm.client.request("GET", f"write/{j.job_id}", bulk=True)
             .body["resource"][0]["file"]["total_count"] for j in jobs]
    assert sizes == [25_000, 25_000, 10_000]
    assert result["STATUS"].value_counts().to_dict() == {"added": n}
    assert result["RECORD_ID"].nunique() == n
    assert len(server.ids("Leads")) == before + n
    last = server.get_record("Leads", result["RECORD_ID"].iloc[-1])
    assert last["Last_Name"] == "Bulk 59999"


def test_bulk_write_refuses_bad_frames_before_any_call(server: Any, crm: Any) -> None:
    server.clear_requests()
    with pytest.raises(ValidationError) as info:
        crm.bulk_write(pd.DataFrame({"Last_Name": ["A", None], "No_of_Employees": [1, "x"]}),
                       "Leads", operation="insert")
    problems = info.value.problems
    assert problems is not None
    assert set(zip(problems["row"], problems["field"], strict=True)) == {
        (1, "Last_Name"), (1, "No_of_Employees")}
    wide = pd.DataFrame({"Last_Name": ["A"], **{f"Text_{i}": ["x"] for i in range(1, 6)}})
    with pytest.raises(InputError, match="Text_1"):
        crm.bulk_write(wide, "Leads", operation="insert")
    with pytest.raises(InputError, match="not supported"):
        crm.bulk_write(_seed_like(2), "Leads", operation="insert", formats={"Date_3": "yyyy-QQ"})
    with pytest.raises(InputError, match="written by id or by a unique field"):
        crm.bulk_write(pd.DataFrame({"Last_Name": ["A"], "Owner.name": ["Theo Martin"]}),
                       "Leads", operation="insert")
    with pytest.raises(InputError, match="users are found by"):
        crm.bulk_write(pd.DataFrame({"Last_Name": ["A"], "Owner.mobile": ["+1"]}),
                       "Leads", operation="insert")
    # City allows duplicates: Zoho cannot find a record by it
    with pytest.raises(InputError, match=r"find_by='City': Leads finds records only by 'id' "
                                         r"or \['Email', 'Mobile'\]"):
        crm.bulk_write(pd.DataFrame({"Last_Name": ["A"], "City": ["Gent"]}), "Leads",
                       operation="upsert", find_by="City")
    assert [r for r in server.requests if r[0] == "POST" and "/crm/" in r[1]] == []


def test_bulk_upsert_while_a_colleague_edits_the_same_records() -> None:
    """The job waits (manual clock) while the colleague edits; then it runs."""
    from crmframe.facade.crm import connect
    from crmframe.facade.jobs import Job
    from crmframe.sandbox import ManualClock, start

    clock = ManualClock(1_717_200_000.0)
    with start(records=200, clock=clock, job_delay=1.0, job_speed=100_000,
               flag_records=False) as srv, connect(**srv.credentials) as ours, \
            connect(**srv.credentials) as theirs:
        ids = [i for i in srv.ids("Leads") if srv.get_record("Leads", i).get("Email")][:30]
        emails = [srv.get_record("Leads", i)["Email"] for i in ids]
        frame = pd.DataFrame({"Email": [*emails, "during@fair.example"],
                              "Last_Name": [f"Job {i}" for i in range(31)]})
        job = ours.bulk_write(frame, "Leads", operation="upsert", find_by="Email", wait=False)
        assert isinstance(job, Job)
        # during: the job is queued; the colleague edits a field it does not carry, and
        # the Last_Name it does carry on one record
        theirs.client.request("PUT", "Leads", json={"data": [
            {"id": i, "City": "Porto"} for i in ids[:10]]})
        theirs.client.request("PUT", "Leads", json={"data": [{"id": ids[20],
                                                              "Last_Name": "Theirs"}]})
        clock.advance(5)
        status = ours.wait(job, interval=0.01)
        result = ours.bulk_write_result(status, frame)
        assert result["STATUS"].value_counts().to_dict() == {"updated": 30, "added": 1}
        assert result["RECORD_ID"].iloc[:30].tolist() == ids
        overwritten = [i for i in ids[:10] if srv.get_record("Leads", i)["City"] != "Porto"]
        assert overwritten == []
        # the job carried Last_Name for every row: it is the later write there
        assert srv.get_record("Leads", ids[20])["Last_Name"] == "Job 20"
        twice = [e for e in emails if sum(
            1 for i in srv.ids("Leads") if srv.get_record("Leads", i).get("Email") == e) > 1]
        assert twice == []


def test_crm_insert_goes_by_bulk_write_when_cheaper(server: Any, crm: Any,
                                                    colleague: Any) -> None:
    n = 450  # 5 POSTs against one job of 4 calls: the job, for objective="calls"
    frame = pd.DataFrame({"Last_Name": [f"Via job {i}" for i in range(n)],
                          "Mobile": [f"+44 20 7{i:06d}" for i in range(n)],
                          "Lead_Status": ["Contacted" if i % 2 else "" for i in range(n)]})
    # the colleague enters row 9's lead by hand just before
    theirs = colleague.insert(frame.iloc[[9]][["Last_Name", "Mobile"]], module="Leads",
                              trigger=[]).results.loc[0, "id"]
    before = len(server.ids("Leads"))
    spent = server.credits_used
    result = crm.insert(frame, module="Leads", bulk_threshold=400, poll_interval=0.05)
    out = result.results
    assert set(out["route"]) == {"bulk_insert"}
    assert len(result.jobs) == 1
    assert out["status"].value_counts().to_dict() == {"success": n - 1, "error": 1}
    assert out.loc[9, "code"] == "DUPLICATE_DATA"
    assert len(server.ids("Leads")) == before + n - 1
    assert result.credits == server.credits_used - spent
    # new ids in row order; the "" of a fillna is not written
    for position in (0, 1, 449):
        stored = server.get_record("Leads", out.loc[position, "id"])
        assert stored["Mobile"] == frame.loc[position, "Mobile"]
        assert stored["Lead_Status"] == (frame.loc[position, "Lead_Status"] or None)
    assert server.get_record("Leads", theirs)["Last_Name"] == "Via job 9"
    assert result.frame is not None
    assert result.frame["id"].tolist()[:2] == out["id"].tolist()[:2]
