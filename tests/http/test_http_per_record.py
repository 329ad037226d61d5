"""ZohoClient returns a 4xx whose body holds per-record results instead of raising.

Zoho answers a write whose every record failed with 400 (v8) and a ``data[]`` of per-record
errors, the same shape as a partial success (207): those results are data. A whole-request
error envelope still raises its typed error.
"""

from __future__ import annotations

import pytest
from httpfakes import EXPIRED, FakeClock, fake_session, refreshing_client

from crmframe.errors import AuthenticationError, InvalidRequestError, ZohoAPIError
from crmframe.http.auth import StaticToken
from crmframe.http.client import ZohoClient, is_per_record
from crmframe.http.retry import RetryPolicy

TOKEN = "1000.5ecret5ecret.70ken70ken"
ALL_FAILED = {
    "data": [
        {"code": "INVALID_DATA", "details": {"api_name": "Email", "id": "4876876000000624001"},
         "message": "invalid data", "status": "error"},
        {"code": "MANDATORY_NOT_FOUND", "details": {"api_name": "id"},
         "message": "required field not found", "status": "error"},
    ]
}


def client_for(answers: list, clock: FakeClock) -> tuple[ZohoClient, list]:
    queue = list(answers)
    session, adapter = fake_session(lambda request: queue.pop(0))
    policy = RetryPolicy(max_attempts=3, max_delay=60, base=0.5, cap=8, sleep=clock.sleep,
                         clock=clock)
    client = ZohoClient("https://www.zohoapis.com", StaticToken(TOKEN), session=session,
                        retry=policy)
    return client, adapter.requests


@pytest.mark.parametrize("method", ["PUT", "POST"])
def test_400_with_per_record_errors_is_returned(clock: FakeClock, method: str) -> None:
    client, sent = client_for([(400, ALL_FAILED)], clock)
    reply = client.request(method, "Leads", json={"data": [{}, {}]})
    assert reply.status == 400
    assert reply.body == ALL_FAILED
    assert len(sent) == 1  # not retried: Zoho answered
    assert clock.slept == []


def test_202_on_v2_is_returned_as_before(clock: FakeClock) -> None:
    client, _ = client_for([(202, ALL_FAILED)], clock)
    reply = client.request("PUT", "Leads", json={"data": [{}, {}]})
    assert (reply.status, reply.body) == (202, ALL_FAILED)


@pytest.mark.parametrize(
    "body",
    [
        # a whole-request error that also carries data[]: the top-level error wins
        {**ALL_FAILED, "code": "INVALID_DATA", "status": "error", "message": "bad",
         "details": {}},
        # a top-level code without status: not a per-record answer
        {**ALL_FAILED, "code": "INVALID_DATA", "message": "bad"},
    ],
    ids=["status-error", "top-level-code"],
)
def test_top_level_error_still_raises(clock: FakeClock, body: dict) -> None:
    client, _ = client_for([(400, body)], clock)
    with pytest.raises(ZohoAPIError) as info:
        client.request("PUT", "Leads", json={"data": [{}]})
    assert info.value.http_status == 400
    if body.get("status") == "error":
        assert isinstance(info.value, InvalidRequestError)
        assert info.value.code == "INVALID_DATA"


@pytest.mark.parametrize(
    "body",
    [
        {"data": []},
        {"data": [{"message": "no code, no status"}]},
        {"data": ["not an object"]},
        {"data": {"code": "X", "status": "error"}},
        {"info": {}},
    ],
    ids=["empty", "no-code", "not-objects", "not-a-list", "no-data"],
)
def test_other_4xx_bodies_still_raise(clock: FakeClock, body: dict) -> None:
    client, _ = client_for([(400, body)], clock)
    with pytest.raises(ZohoAPIError) as info:
        client.request("PUT", "Leads", json={"data": [{}]})
    assert info.value.http_status == 400


def test_5xx_with_data_is_not_a_per_record_answer(clock: FakeClock) -> None:
    # A POST is not retried on a 500 (Zoho may have acted); the answer is still an error.
    client, sent = client_for([(500, ALL_FAILED)], clock)
    with pytest.raises(ZohoAPIError) as info:
        client.request("POST", "Leads", json={"data": [{}]})
    assert info.value.http_status == 500
    assert len(sent) == 1


def test_get_bytes_still_raises_on_a_per_record_body(clock: FakeClock) -> None:
    client, _ = client_for([(400, ALL_FAILED)], clock)
    with pytest.raises(ZohoAPIError):
        client.get_bytes("https://download.example/result.zip")


def test_invalid_token_is_still_refreshed_then_per_record_answer_returned() -> None:
    client, adapter = refreshing_client((400, ALL_FAILED))
    reply = client.request("PUT", "Leads", json={"data": [{}, {}]})
    assert (reply.status, reply.body) == (400, ALL_FAILED)
    assert len(adapter.requests) == 4  # token, 401, token, 400


def test_invalid_token_with_static_token_still_raises(clock: FakeClock) -> None:
    client, _ = client_for([(401, EXPIRED)], clock)
    with pytest.raises(AuthenticationError):
        client.request("PUT", "Leads", json={"data": [{}]})


def test_is_per_record_needs_code_and_status_strings() -> None:
    assert is_per_record(ALL_FAILED)
    assert not is_per_record({"data": [{"code": 1, "status": "error"}]})
    assert not is_per_record({"data": [{"code": "X", "status": None}]})
    assert not is_per_record({**ALL_FAILED, "status": "error"})
    assert not is_per_record(None)
