"""Mass update of a whole view (a job, its failures found by reading back) and bulk write."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from crmframe.errors import InputError
from crmframe.facade.jobs import Job

from .helpers import write_calls

pytestmark = pytest.mark.sandbox


def _view_id(crm: Any, name: str) -> str:
    views = crm.read_custom_views("Leads")
    return str(views.index[views["name"] == name][0])


def test_mass_update_of_a_view_is_a_job_and_its_failures_are_found(
    crm: Any, server: Any
) -> None:
    cvid = _view_id(crm, "Leads in Paris")
    in_view = crm.read_records("Leads", ["City"], cvid=cvid, progress=False)
    assert len(in_view) > 3
    assert set(in_view["City"]) == {"Paris"}
    flagged = set(server.flagged("Leads"))
    locked = next(i for i in in_view.index if i not in flagged)
    server.flag("Leads", locked, locked=True)
    try:
        server.clear_requests()
        job = crm.mass_update("Leads", {"Custom_Text_12": "whole view"}, cvid=cvid)
        assert isinstance(job, Job)
        assert (job.kind, job.module) == ("mass_update", "Leads")
        assert len(write_calls(server)) == 1
        status = crm.wait(job, interval=0.05)
        assert status.state == "COMPLETED"
        assert [s.state for s in job.history][-1] == "COMPLETED"
        assert (status.failed or 0) >= 1
        missing = crm.mass_update_failures(job, {"Custom_Text_12": "whole view"}, cvid=cvid)
    finally:
        server.flag("Leads", locked, locked=False)
    not_updated = set(missing["id"])
    assert locked in not_updated
    assert not_updated <= set(in_view.index)
    assert len(not_updated) == status.failed
    assert set(missing["code"]) == {"NOT_UPDATED"}
    assert set(missing["expected"]) == {"whole view"}
    for rid in set(in_view.index) - not_updated:
        assert server.get_record("Leads", rid)["Custom_Text_12"] == "whole view"


def test_mass_update_refuses_what_zoho_would(crm: Any) -> None:
    with pytest.raises(InputError, match="exactly one"):
        crm.mass_update("Leads", {"City": "x"})
    with pytest.raises(InputError, match="1 field"):
        crm.mass_update("Leads", {"City": "x", "State": "y"}, ids=["1"])
    with pytest.raises(InputError, match="cannot be mass-updated"):
        crm.mass_update("Leads", {"Email": "a@b.co"}, ids=["1"])  # e-mail fields: never


def test_bulk_write_result_is_aligned_to_the_input_rows(crm: Any, server: Any) -> None:
    flagged = server.flagged("Leads")
    locked = next(i for i, why in flagged.items() if why == "locked")
    plain = [i for i in server.ids("Leads") if i not in flagged][600:640]
    frame = crm.read_records("Leads", ["City", "Custom_Int_3", "Owner", "Modified_Time"],
                             ids=[*plain, locked], progress=False)
    frame = frame.loc[[locked, *reversed(plain)]]  # an order of our own
    frame["City"] = pd.array([f"Bulk {n}" for n in range(len(frame))], dtype="string")
    no_id = frame.iloc[[1]].copy()
    no_id.index = pd.Index([pd.NA], dtype="string", name="id")
    frame = pd.concat([frame, no_id])
    server.clear_requests()
    result = crm.bulk_write(frame, "Leads", poll_interval=0.05)
    assert isinstance(result, pd.DataFrame)
    assert len(result) == len(frame)
    assert result["id"].tolist()[:-1] == frame.index.tolist()[:-1]
    assert result["STATUS"].iloc[-1] == "not_sent"
    assert result["code"].iloc[-1] == "NO_ID"
    assert result.loc[locked, "STATUS"] != "updated"
    assert set(result["STATUS"].iloc[1:-1]) == {"updated"}
    assert result["RECORD_ID"].iloc[1:-1].tolist() == frame.index.tolist()[1:-1]
    assert "Modified_Time" in result.attrs["ignored_columns"]
    assert "Owner.name" in result.attrs["ignored_columns"]
    assert result.attrs["job"].kind == "bulk_write"
    assert result.attrs["calls"] == len(write_calls(server)) == 2
    for n, rid in enumerate(frame.index[1:-1], start=1):
        assert server.get_record("Leads", rid)["City"] == f"Bulk {n}"


def test_bulk_write_without_waiting_returns_the_job(crm: Any, server: Any) -> None:
    plain = [i for i in server.ids("Leads") if i not in server.flagged("Leads")][700:705]
    frame = crm.read_records("Leads", ["City"], ids=plain, progress=False)
    frame["City"] = "Later"
    job = crm.bulk_write(frame, "Leads", wait=False)
    assert isinstance(job, Job)
    assert crm.wait(job, interval=0.05).state == "COMPLETED"
    assert {server.get_record("Leads", i)["City"] for i in plain} == {"Later"}
    with pytest.raises(InputError, match="operation"):
        crm.bulk_write(frame, "Leads", operation="merge")


def test_a_bulk_write_whose_watch_breaks_off_names_its_job_so_it_is_not_written_twice(
) -> None:
    """The network goes down while bulk_write watches its job. The error said only that a
    GET failed: re-running bulk_write (what an analyst does) made a second job writing every
    record again. It now names the job, says it may still run, and how to watch it."""
    import re

    import requests

    from crmframe.errors import TransportError
    from crmframe.sandbox import start

    from .helpers import fast_retry, writing_crm

    class Outage(requests.Session):
        polls = 0

        def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
            if method == "GET" and "/crm/bulk/" in url and "/write/" in url:
                self.polls += 1
                if self.polls >= 2:
                    raise requests.ConnectionError("network unreachable")
            return super().request(method, url, *args, **kwargs)

    with start(records=60, seed=48, flag_records=False, job_delay=0.5) as server:
        crm = writing_crm(server.credentials, session=Outage(), retry=fast_retry(2))
        watcher = writing_crm(server.credentials)
        try:
            leads = crm.read_records("Leads", ["Phone"], progress=False)
            edited = leads.copy()
            edited["Phone"] = "+1 555 0100"
            with pytest.raises(TransportError) as caught:
                crm.bulk_write(edited, "Leads", operation="update", poll_interval=0.01)
            message = str(caught.value)
            found = re.search(r"crm\.wait\(Job\('(\d+)', 'bulk_write', module='Leads'\)\)",
                              message)
            assert found, message
            assert "may still be running" in message
            # What the message says works, from another connection: the job ends, once.
            job = Job(found.group(1), "bulk_write", module="Leads")
            watcher.wait(job, interval=0.05)
            result = watcher.bulk_write_result(job)
        finally:
            crm.close()
            watcher.close()
        assert len(result) == 60
        assert set(result["STATUS"]) == {"updated"}
        assert set(server.write_counts("Leads").values()) == {1}
