"""JobsMixin.job / .wait against a scripted fake client (the real ZohoClient is not used)."""

from __future__ import annotations

from typing import Any

import pytest

from crmframe.core.jobs import JobStatus
from crmframe.errors import InputError, JobFailed, JobTimeout, NotFoundError
from crmframe.facade.jobs import Job, JobsMixin
from crmframe.polling import WaitPolicy, stop_after_attempt, wait_fixed

from .conftest import MASS_UPDATE_JOB_ID, Call, FakeClient, FakeTime

BULK_ID = "111111000000541958"


class FakeCRM(JobsMixin):
    def __init__(self, bodies: list[Any]) -> None:
        self.client = FakeClient(bodies)
        self.version = "v8"


def test_job_mass_update_request_and_parse(mass_update_bodies: dict[str, Any]) -> None:
    crm = FakeCRM([mass_update_bodies["running"]])
    status = crm.job(MASS_UPDATE_JOB_ID, "mass_update", module="Accounts")
    assert crm.client.calls == [
        Call("GET", "Accounts/actions/mass_update", {"job_id": MASS_UPDATE_JOB_ID}, False)
    ]
    assert (status.kind, status.job_id, status.state) == (
        "mass_update", MASS_UPDATE_JOB_ID, "RUNNING"
    )
    assert (status.updated, status.not_updated, status.total) == (30, 20, 50)
    assert status.module == "Accounts"
    assert status.observed_at is not None


def test_job_bulk_write_request(bulk_write_bodies: dict[str, Any]) -> None:
    crm = FakeCRM([bulk_write_bodies["completed"]])
    status = crm.job(BULK_ID, "bulk_write")
    assert crm.client.calls == [Call("GET", f"write/{BULK_ID}", None, True)]
    assert status.state == "COMPLETED"
    assert status.skipped == 100
    assert status.module == "Deals"


def test_job_bulk_read_request() -> None:
    body = {"data": [{"id": "111111000000123456", "operation": "read", "state": "COMPLETED",
                      "result": {"page": 1, "count": 7, "download_url": "/crm/bulk/v8/read/x",
                                 "per_page": 200000, "more_records": False}}]}
    crm = FakeCRM([body])
    status = crm.job("111111000000123456", "bulk_read")
    assert crm.client.calls == [Call("GET", "read/111111000000123456", None, True)]
    assert (status.kind, status.state, status.total) == ("bulk_read", "COMPLETED", 7)


def test_job_accepts_a_job_object(bulk_write_bodies: dict[str, Any]) -> None:
    crm = FakeCRM([bulk_write_bodies["added"]])
    job = Job(BULK_ID, "bulk_write")
    status = crm.job(job)
    assert status.state == "SCHEDULED"
    assert crm.client.calls[0].path == f"write/{BULK_ID}"
    assert len(job.history) == 0  # job() looks, wait() records


@pytest.mark.parametrize(
    ("args", "kwargs", "match"),
    [
        ((554023000000506003,), {"module": "Accounts"}, "must be a non-empty string"),
        (("",), {"module": "Accounts"}, "must be a non-empty string"),
        ((MASS_UPDATE_JOB_ID,), {}, "give module="),
        ((MASS_UPDATE_JOB_ID, "bulk_delete"), {}, "kind must be one of"),
    ],
)
def test_job_rejects_bad_arguments_before_any_call(
    args: tuple[Any, ...], kwargs: dict[str, Any], match: str
) -> None:
    crm = FakeCRM([])
    with pytest.raises(InputError, match=match):
        crm.job(*args, **kwargs)
    assert crm.client.calls == []


def test_job_errors_from_the_client_propagate() -> None:
    crm = FakeCRM([NotFoundError("RESOURCE_NOT_FOUND", "gone", http_status=404)])
    with pytest.raises(NotFoundError):
        crm.job(BULK_ID, "bulk_write")


def test_wait_polls_through_states_and_keeps_history(
    mass_update_bodies: dict[str, Any], fake_time: FakeTime
) -> None:
    crm = FakeCRM([mass_update_bodies[s] for s in ("scheduled", "running", "completed")])
    job = Job(MASS_UPDATE_JOB_ID, "mass_update", module="Accounts")
    updates: list[JobStatus] = []
    final = crm.wait(job, policy=fake_time.policy(interval=5), on_update=updates.append)
    assert final.state == "COMPLETED"
    assert len(crm.client.calls) == 3
    assert [s.state for s in job.history] == ["SCHEDULED", "RUNNING", "COMPLETED"]
    assert [s.updated for s in updates] == [0, 30, 50]
    assert job.status is final
    assert job.done
    assert fake_time.naps == [5.0, 5.0]
    assert repr(job) == (
        f"<Job mass_update {MASS_UPDATE_JOB_ID} (Accounts): COMPLETED, "
        "Updated 50, Failed 0, Not processed yet 0 of 50>"
    )


def test_wait_with_an_id_builds_the_job(bulk_write_bodies: dict[str, Any],
                                        fake_time: FakeTime) -> None:
    crm = FakeCRM([bulk_write_bodies[s] for s in ("added", "inprogress", "completed")])
    final = crm.wait(BULK_ID, kind="bulk_write", policy=fake_time.policy())
    assert final.state == "COMPLETED"
    assert final.download_url is not None
    assert all(c.bulk for c in crm.client.calls)


def test_wait_failed_raises_and_history_survives(
    mass_update_bodies: dict[str, Any], fake_time: FakeTime
) -> None:
    crm = FakeCRM([mass_update_bodies["running"], mass_update_bodies["failed"]])
    job = Job(MASS_UPDATE_JOB_ID, module="Accounts")
    with pytest.raises(JobFailed, match=MASS_UPDATE_JOB_ID) as info:
        crm.wait(job, policy=fake_time.policy())
    assert info.value.status.state == "FAILED"
    assert info.value.status is job.status
    assert [s.state for s in job.history] == ["RUNNING", "FAILED"]


def test_wait_timeout_is_added_to_a_given_policy(
    bulk_write_bodies: dict[str, Any], fake_time: FakeTime
) -> None:
    crm = FakeCRM([bulk_write_bodies["inprogress"]])
    policy = WaitPolicy(stop=stop_after_attempt(100), wait=wait_fixed(1),
                        sleep=fake_time.sleep, clock=fake_time.clock, now=fake_time.wall)
    with pytest.raises(JobTimeout, match="RUNNING") as info:
        crm.wait(BULK_ID, kind="bulk_write", policy=policy, timeout=3)
    assert info.value.status.skipped == 100
    assert len(crm.client.calls) == 4  # t = 0, 1, 2, 3


def test_job_object_validation_and_from_status() -> None:
    with pytest.raises(InputError, match="give module="):
        Job(MASS_UPDATE_JOB_ID)
    with pytest.raises(InputError):
        Job(BULK_ID, "bulk_update")  # type: ignore[arg-type]
    created = JobStatus("bulk_write", BULK_ID, "SCHEDULED", "ADDED")
    job = Job.from_status(created)
    assert (job.job_id, job.kind, job.status) == (BULK_ID, "bulk_write", created)
    assert not job.done
    assert repr(job) == f"<Job bulk_write {BULK_ID}: SCHEDULED>"
    with pytest.raises(InputError, match="no job id"):
        Job.from_status(JobStatus("bulk_write", None, "SCHEDULED", "ADDED"))
