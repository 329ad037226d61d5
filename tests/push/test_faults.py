"""A push under injected 429s, 500s and dropped connections loses and duplicates nothing."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest
import requests

from crmframe.errors import CrmframeError
from crmframe.facade.pushresult import PushResult
from crmframe.http.retry import RetryPolicy

from .helpers import writing_crm

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]


@pytest.fixture(scope="module")
def flaky_server() -> Iterator[Any]:
    from crmframe.sandbox import start

    # one request at a time (a neighbour's request makes ours a 429), 15% answered 500,
    # 10% dropped without an answer
    with start(records=700, seed=9, max_concurrency=1, failure_rate=0.15, drop_rate=0.10,
               latency=0.004) as running:
        yield running


class Neighbour(threading.Thread):
    """Another client of the same org, reading all the time (and so taking the slot)."""

    def __init__(self, url: str, token: str) -> None:
        super().__init__(daemon=True)
        self.url = url
        self.token = token
        self.stop = threading.Event()
        self.sent = 0

    def run(self) -> None:
        with requests.Session() as session:
            while not self.stop.is_set():
                with contextlib.suppress(requests.RequestException):
                    session.get(f"{self.url}/crm/v8/Leads", params={"fields": "City"},
                                headers={"Authorization": f"Zoho-oauthtoken {self.token}"},
                                timeout=5).close()
                self.sent += 1


@pytest.mark.parametrize("attempts", [40, 2], ids=["client-retries", "push-retries"])
def test_push_under_429_500_and_drops_loses_and_duplicates_nothing(
    flaky_server: Any, attempts: int
) -> None:
    # With 40 attempts the client's retries absorb the faults; with 2, calls give up and
    # PushResult.retry() must finish the job (reads before the first write would raise
    # when their retries run out, so the baseline is read with the generous policy).
    patient = RetryPolicy(max_attempts=40, base=0.002, cap=0.03, max_delay=600)
    policy = RetryPolicy(max_attempts=attempts, base=0.002, cap=0.03, max_delay=600)
    reader = writing_crm(flaky_server.credentials, retry=patient)
    crm = writing_crm(flaky_server.credentials, retry=policy)
    neighbour = Neighbour(flaky_server.url, flaky_server.access_token())
    try:
        original = _read_all(reader, flaky_server)
        _prime_fields(crm)  # cached from now on: a retry only writes
        if attempts < 3:
            original = original.drop(columns=["Modified_Time"])  # no conflict-check reads
        edited = original.copy()
        n = len(edited)
        edited["Custom_Text_11"] = pd.array([f"flaky {attempts} {i}" for i in range(n)],
                                            dtype="string")
        edited.loc[edited.index[: n // 2], "Lead_Status"] = (  # + mass updates
            "Contacted" if attempts > 2 else "Pre-Qualified")
        flaky_server.clear_requests()
        neighbour.start()
        results = [crm.push(edited, original, trigger=[])]
        rounds = 0
        while not results[-1].retryable.empty and rounds < 40:
            rounds += 1
            try:
                results.append(results[-1].retry())
            except CrmframeError:
                continue  # the read-back before any write gave up: nothing sent, again
    finally:
        neighbour.stop.set()
        if neighbour.is_alive():
            neighbour.join()
        crm.close()
        reader.close()
    statuses = {status for _, _, status in flaky_server.requests}
    assert {429, 500, 0} <= statuses, statuses  # the faults did happen
    final = results[-1]
    assert final.retryable.empty
    assert not any(r.results.duplicated(["id", "route"]).any() for r in results)
    applied = pd.concat([r.succeeded for r in results], ignore_index=True)
    # every (record, route) applied exactly once over all rounds
    assert not applied.duplicated(["id", "route"]).any()
    expected_pairs = set(zip(results[0].results["id"], results[0].results["route"],
                             strict=True))
    assert set(zip(applied["id"], applied["route"], strict=True)) == expected_pairs
    check = writing_crm(flaky_server.credentials, retry=patient)
    try:
        back = check.read_records("Leads", ["Custom_Text_11", "Lead_Status"],
                                  ids=original.index, progress=False)
    finally:
        check.close()
    cols = ["Custom_Text_11", "Lead_Status"]
    pd.testing.assert_frame_equal(back.loc[original.index, cols], edited[cols])
    assert isinstance(final, PushResult)


def _read_all(crm: Any, server: Any) -> pd.DataFrame:
    frame = crm.read_records("Leads", progress=False)
    flagged = set(server.flagged("Leads"))
    out: pd.DataFrame = frame[~frame.index.isin(list(flagged))]
    return out


def _prime_fields(crm: Any) -> None:
    """Read the field metadata through the flaky server until it comes (it is cached)."""
    for _ in range(100):
        try:
            crm.read_fields("Leads")
            return
        except CrmframeError:
            continue
    raise AssertionError("field metadata never came through")

