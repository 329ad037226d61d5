"""A push under injected 429s, 500s and dropped connections loses and duplicates nothing.

Deterministic: one connection sends one request at a time, so the requests reach the
sandbox in the same order on every run and its seeded generators put the same faults on
the same requests (no other thread draws from them in between).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest

from crmframe.errors import CrmframeError
from crmframe.facade.write.result import PushResult
from crmframe.http.retry import RetryPolicy

from .helpers import writing_crm

pytestmark = [pytest.mark.sandbox, pytest.mark.slow]


@pytest.fixture
def flaky_server() -> Iterator[Any]:
    # A sandbox per test: each test's requests meet the seeded faults from the start, so a
    # test run alone (-k push-retries) meets the same faults as in a full run.
    from crmframe.sandbox import start

    # one request at a time, 20% answered 429 (rate limit), 15% answered 500, 20% dropped
    # without an answer. The request order is fixed (see the module docstring), so this
    # seed gives each push below at least four faults of each kind on every run.
    with start(records=700, seed=12, max_concurrency=1, rate_limit_rate=0.20,
               failure_rate=0.15, drop_rate=0.20, latency=0.004) as running:
        yield running


@pytest.mark.parametrize("attempts", [40, 2], ids=["client-retries", "push-retries"])
def test_push_under_429_500_and_drops_loses_and_duplicates_nothing(
    flaky_server: Any, attempts: int
) -> None:
    # With 40 attempts the client's retries absorb the faults; with 2, calls give up and
    # PushResult.retry() must finish the job. Reads before the first write would raise when
    # their retries run out, so the baseline and the field metadata (cached from then on:
    # a retry only writes) are read with the generous policy, and only then does the
    # connection switch to the push's policy.
    patient = RetryPolicy(max_attempts=40, base=0.002, cap=0.03, max_delay=600)
    policy = RetryPolicy(max_attempts=attempts, base=0.002, cap=0.03, max_delay=600)
    crm = writing_crm(flaky_server.credentials, retry=patient)
    try:
        original = _read_all(crm, flaky_server)
        crm.read_fields("Leads")
        crm.client.retry = policy
        if attempts < 3:
            original = original.drop(columns=["Modified_Time"])  # no conflict-check reads
        edited = original.copy()
        n = len(edited)
        edited["Custom_Text_11"] = pd.array([f"flaky {attempts} {i}" for i in range(n)],
                                            dtype="string")
        edited.loc[edited.index[: n // 2], "Lead_Status"] = (  # + mass updates
            "Contacted" if attempts > 2 else "Pre-Qualified")
        flaky_server.clear_requests()
        results = [crm.push(edited, original, trigger=[])]
        rounds = 0
        while not results[-1].retryable.empty and rounds < 40:
            rounds += 1
            try:
                results.append(results[-1].retry())
            except CrmframeError:
                continue  # the read-back before any write gave up: nothing sent, again
    finally:
        crm.close()
    statuses = {status for _, _, status in flaky_server.requests}
    assert {429, 500, 0} <= statuses, statuses  # the faults did happen
    final = results[-1]
    if attempts < 3:
        assert len(results) > 1  # some calls gave up: PushResult.retry() had work to do
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
