"""Conditional requests as Zoho documents them: ``If-Modified-Since`` → 304 on reads,
``If-Unmodified-Since`` → 412 ``ALREADY_MODIFIED`` on update and upsert, and a ``Date``
header on the sandbox's own clock."""

from __future__ import annotations

import email.utils

from crmframe.sandbox import ManualClock, SandboxServer
from crmframe.sandbox.clock import format_datetime

from .helpers import T0, Api


def _plain(server: SandboxServer, n: int) -> list[str]:
    flagged = server.flagged("Leads")
    return [i for i in server.ids("Leads") if i not in flagged][:n]


def _iso(epoch: float) -> str:
    return format_datetime(epoch, 0)


def test_date_header_follows_the_sandbox_clock(api: Api, clock: ManualClock) -> None:
    clock.advance(3600)
    r = api.get("Leads", params={"fields": "id", "per_page": 1})
    assert email.utils.parsedate_to_datetime(r.headers["Date"]).timestamp() == T0 + 3600
    assert r.raw.headers.getlist("Date") == [r.headers["Date"]]  # one Date, not two


def test_listing_since_a_time_gives_only_later_records_and_304_when_none(
    server: SandboxServer, api: Api, clock: ManualClock
) -> None:
    a, b = _plain(server, 2)
    clock.advance(3000)
    since = _iso(clock.now())
    params = {"fields": "id,Modified_Time", "sort_by": "Modified_Time", "sort_order": "asc"}
    r = api.get("Leads", params=params, headers={"If-Modified-Since": since})
    assert r.status_code == 304
    assert r.content == b""
    server.touch("Leads", b)
    clock.advance(5)
    server.touch("Leads", a)
    r = api.get("Leads", params=params, headers={"If-Modified-Since": since})
    assert r.status_code == 200
    assert [d["id"] for d in r.json()["data"]] == [b, a]  # oldest change first


def test_single_record_get_answers_304_when_not_modified(
    server: SandboxServer, api: Api, clock: ManualClock
) -> None:
    rid = _plain(server, 1)[0]
    clock.advance(100)
    since = _iso(clock.now())
    assert api.get(f"Leads/{rid}", headers={"If-Modified-Since": since}).status_code == 304
    server.touch("Leads", rid)
    r = api.get(f"Leads/{rid}", headers={"If-Modified-Since": since})
    assert r.status_code == 200
    assert r.json()["data"][0]["id"] == rid


def test_update_412_is_per_record_and_mixed_batches_answer_207(
    server: SandboxServer, api: Api, clock: ManualClock
) -> None:
    a, b = _plain(server, 2)
    clock.advance(100)
    read_at = _iso(clock.now())
    clock.advance(5)
    server.touch("Leads", a)
    r = api.put("Leads", json={"data": [{"id": a, "City": "Mine"}, {"id": b, "City": "Ok"}]},
                headers={"If-Unmodified-Since": read_at})
    assert r.status_code == 207
    first, second = r.json()["data"]
    assert first["code"] == "ALREADY_MODIFIED"
    assert first["details"]["id"] == a
    assert second["code"] == "SUCCESS"
    assert server.get_record("Leads", a)["City"] != "Mine"
    assert server.get_record("Leads", b)["City"] == "Ok"
    r = api.put(f"Leads/{a}", json={"data": [{"City": "Mine"}]},
                headers={"If-Unmodified-Since": read_at})
    assert r.status_code == 412
    assert r.json()["data"][0]["code"] == "ALREADY_MODIFIED"


def test_upsert_honours_if_unmodified_since_on_its_update_branch(
    server: SandboxServer, api: Api, clock: ManualClock
) -> None:
    rid = _plain(server, 1)[0]
    email_ = server.get_record("Leads", rid)["Email"]
    clock.advance(100)
    read_at = _iso(clock.now())
    clock.advance(5)
    server.touch("Leads", rid)
    body = {"data": [{"Email": email_, "Last_Name": "Upserted", "City": "Mine"}],
            "duplicate_check_fields": ["Email"]}
    r = api.post("Leads/upsert", json=body, headers={"If-Unmodified-Since": read_at})
    assert r.status_code == 412
    assert r.json()["data"][0]["code"] == "ALREADY_MODIFIED"
    assert server.get_record("Leads", rid)["City"] != "Mine"
    later = _iso(clock.now() + 10)
    r = api.post("Leads/upsert", json=body, headers={"If-Unmodified-Since": later})
    assert r.status_code == 200
    assert r.json()["data"][0]["action"] == "update"
    assert server.get_record("Leads", rid)["City"] == "Mine"
