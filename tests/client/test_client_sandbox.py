"""The client against a live sandbox: whole modules, 60 fields, faults, expiring tokens."""

from __future__ import annotations

import io
import logging
import re
import threading
import time
from datetime import datetime, timedelta, timezone
from typing import Any

import pandas as pd
import pytest
import requests
from clienthelpers import no_wait_retry, request_log

from crmframe.core.records import records_to_frame
from crmframe.errors import (
    InputError,
    InvalidModuleError,
    InvalidRequestError,
    PaginationLimitError,
)
from crmframe.facade.crm import CRM, connect
from crmframe.http.paging import iter_record_pages
from crmframe.http.retry import RetryPolicy

pytestmark = pytest.mark.sandbox


def record_gets(server: Any, module: str = "Leads") -> list[tuple[str, str, int]]:
    return [e for e in request_log(server) if e[0] == "GET" and e[1].endswith(f"/{module}")]


@pytest.mark.parametrize("version", ["v8", "v2.1", "v2"])
def test_read_5000_ids_match_the_sandbox(server: Any, version: str) -> None:
    credentials = {**server.credentials, "version": version}
    with connect(**credentials, retry=no_wait_retry()) as crm:
        frame = crm.read_records("Leads", ["Last_Name", "Email", "Owner"])
    assert len(frame) == 5000
    assert not frame.index.has_duplicates
    assert set(frame.index) == set(server.ids("Leads"))
    assert frame.index.dtype == "string"
    assert list(frame.columns[:4]) == ["Last_Name", "Email", "Owner.id", "Owner.name"]
    assert frame["Last_Name"].notna().all()


def test_v8_switches_to_page_tokens_past_2000(server: Any, crm: CRM) -> None:
    pages = list(iter_record_pages(crm.client, "Leads", fields=["id"], limit=2600))
    assert sum(len(p["data"]) for p in pages) == 2600
    assert all("next_page_token" in p["info"] for p in pages[:-1])


def test_sixty_field_read_is_chunked_and_merged(server: Any, crm: CRM) -> None:
    fields = crm.read_fields("Leads")
    assert len(fields) >= 60
    server.clear_requests()
    frame = crm.read_records("Leads", limit=450)
    gets = record_gets(server)
    assert len(gets) == 3 * 2  # 450 rows = 3 pages, in two passes of ≤ 50 fields
    assert len(frame) == 450
    assert not frame.index.has_duplicates
    base = {c.split(".")[0] for c in frame.columns}
    assert base >= set(fields.index) - {"id"}
    # dtypes come from the metadata, whichever pass fetched the column
    for name, kind in fields["kind"].items():
        if name in frame.columns and kind == "integer":
            assert str(frame[name].dtype) == "Int64", name
        if name in frame.columns and kind == "datetime":
            assert str(frame[name].dtype) == "datetime64[s, UTC]", name


def test_read_records_agrees_with_records_to_frame(crm: CRM) -> None:
    fields = crm.read_fields("Leads")
    names = [n for n in fields.index if n != "id"][:30]
    frame = crm.read_records("Leads", names, limit=300)
    envelopes = [crm.client.request("GET", "Leads", params={
        "fields": ",".join(["id", *names]), "per_page": 200, "page": page}).body
        for page in (1, 2)]
    merged = {"data": envelopes[0]["data"] + envelopes[1]["data"][:100]}
    expected = records_to_frame(merged, fields, columns=names, module="Leads")
    pd.testing.assert_frame_equal(frame, expected, check_like=False)


def test_ids_and_limit(server: Any, crm: CRM) -> None:
    wanted = sorted(server.ids("Leads"))[:230]
    frame = crm.read_records("Leads", ["Last_Name"], ids=wanted)
    assert list(frame.index) == wanted
    assert len(crm.read_records("Leads", ["Last_Name"], limit=17)) == 17


def test_ids_read_from_a_csv_as_numbers_are_refused_or_read_exactly(
    server: Any, crm: CRM
) -> None:
    wanted = sorted(server.ids("Leads"))[:3]
    # As floats the ids have lost digits: they found nothing, silently (an empty frame).
    with pytest.raises(InputError, match=r"dtype=\{'id': str\}") as caught:
        crm.read_records("Leads", ["Last_Name"], ids=[float(i) for i in wanted])
    assert "position 0" in str(caught.value)
    as_csv = pd.read_csv(io.StringIO("id\n" + "\n".join(wanted)))  # int64: exact, kept
    assert list(crm.read_records("Leads", ["Last_Name"], ids=as_csv["id"]).index) == wanted
    # One id as a string is that id, not its 19 characters (which found nothing).
    assert list(crm.read_records("Leads", ["Last_Name"], ids=wanted[0]).index) == wanted[:1]
    with pytest.raises(InputError, match="not Zoho record ids"):
        crm.read_records("Leads", ["Last_Name"], ids=["4876876000000100218 ", "Leads"])


def test_modified_since_that_is_no_time_is_a_typed_error(crm: CRM) -> None:
    with pytest.raises(InputError, match="modified_since must be a datetime or an ISO 8601"):
        crm.read_records("Leads", ["Last_Name"], modified_since="yesterday")


def test_nothing_modified_gives_typed_empty_frame(crm: CRM) -> None:
    future = datetime.now(timezone.utc) + timedelta(days=3650)
    frame = crm.read_records("Leads", ["Last_Name", "No_of_Employees", "Owner", "Created_Time"],
                             modified_since=future)
    assert len(frame) == 0
    assert frame.dtypes.astype(str).to_dict() == {
        "Last_Name": "string", "No_of_Employees": "Int64", "Owner.id": "string",
        "Owner.name": "string", "Created_Time": "datetime64[s, UTC]"}
    assert frame.index.name == "id"


def test_bulk_and_paged_reads_give_equal_frames() -> None:
    from crmframe.sandbox import start

    names = ["Last_Name", "Email", "No_of_Employees", "Annual_Revenue", "Owner",
             "Created_Time", "Email_Opt_Out", "Lead_Status"]
    with start(records=1500, seed=8, job_speed=1e6, job_delay=0) as server, connect(
        **server.credentials, retry=no_wait_retry()
    ) as crm:
        crm.bulk_sleep = lambda seconds: time.sleep(0.01)  # type: ignore[method-assign]
        paged = crm.read_records("Leads", names, method="pages")
        bulk = crm.read_records("Leads", names, method="bulk")
    assert bulk.attrs["method"] == "bulk"
    assert paged.attrs["method"] == "pages"
    assert len(bulk) == len(paged) == 1500
    # One frame whichever path: the owner's name and email come from the users table.
    assert list(bulk.columns) == list(paged.columns)
    assert {"Owner.id", "Owner.name", "Owner.email"} <= set(bulk.columns)
    assert bulk["Owner.name"].notna().all()
    pd.testing.assert_frame_equal(bulk, paged, check_like=False)


def test_auto_switches_to_bulk_past_the_threshold_and_follows_job_slices(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import crmframe.facade.reading as reading
    import crmframe.sandbox.jobs as sandbox_jobs
    from crmframe.sandbox import start

    # Scaled down: "past 100,000 rows" becomes past 1,000, and a bulk job exports 400
    # records instead of 200,000, so one read needs four jobs (page 1..4).
    monkeypatch.setattr(reading, "BULK_THRESHOLD", 1000)
    monkeypatch.setattr(sandbox_jobs, "READ_PAGE", 400)
    with start(records=1500, seed=9, job_speed=1e6, job_delay=0) as server, connect(
        **server.credentials, retry=no_wait_retry()
    ) as crm:
        crm.bulk_sleep = lambda seconds: time.sleep(0.01)  # type: ignore[method-assign]
        frame = crm.read_records("Leads", ["Last_Name", "Owner"])
        creates = [e for e in request_log(server) if e[:2] == ("POST", "/crm/bulk/v8/read")]
        ids = set(server.ids("Leads"))
    assert frame.attrs["method"] == "bulk"
    assert len(creates) == 4
    assert len(frame) == 1500
    assert set(frame.index) == ids


def test_429_500_and_drops_on_a_fifth_of_calls_still_give_every_record() -> None:
    from crmframe.sandbox import start

    # Two reads in parallel against a server that takes one request at a time give 429s
    # (with Retry-After); failure_rate and drop_rate add 500s and cut connections.
    retry = RetryPolicy(max_attempts=40, max_delay=3600, sleep=lambda s: time.sleep(0.01))
    frames: dict[str, pd.DataFrame] = {}
    with start(records=3000, seed=5, failure_rate=0.12, drop_rate=0.1, max_concurrency=1,
               latency=0.005) as server, connect(**server.credentials, retry=retry) as crm:
        crm.read_fields("Leads")

        def read(name: str) -> None:
            frames[name] = crm.read_records("Leads", [name])

        threads = [threading.Thread(target=read, args=(n,)) for n in ("Last_Name", "Email")]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        statuses = [status for _, _, status in request_log(server)]
        ids = set(server.ids("Leads"))
    for frame in frames.values():
        assert len(frame) == 3000
        assert set(frame.index) == ids
    assert statuses.count(429) > 0
    assert statuses.count(500) > 0
    assert statuses.count(0) > 0  # dropped connections
    faulty = len(statuses) - statuses.count(200)
    assert faulty >= 0.18 * len(statuses)


def test_token_expiring_mid_read_is_refreshed_and_replayed(server: Any) -> None:
    state = {"pages": 0}

    def revoke_after_five_pages(response: requests.Response, *args: Any, **kwargs: Any) -> None:
        if response.request.path_url.startswith("/crm/v8/Leads?"):
            state["pages"] += 1
            if state["pages"] in (5, 15):
                server.revoke_tokens()

    with requests.Session() as session:
        session.hooks["response"].append(revoke_after_five_pages)
        server.clear_requests()
        with connect(**server.credentials, session=session, retry=no_wait_retry()) as crm:
            frame = crm.read_records("Leads", ["Last_Name"])
            assert crm.client.auth.refresh_count == 3
    log = request_log(server)
    assert len(frame) == 5000
    assert set(frame.index) == set(server.ids("Leads"))
    assert sum(1 for _, path, status in log if status == 401) == 2
    assert sum(1 for _, path, _ in log if path.endswith("/oauth/v2/token")) == 3


def test_typed_errors_are_not_retried(server: Any, crm: CRM) -> None:
    crm.read_fields("Leads")  # token obtained
    server.clear_requests()
    with pytest.raises(InvalidModuleError):
        crm.read_records("Nope", ["Last_Name"])
    # One 400, never retried; the module list after it only feeds the "did you mean" in the error.
    assert request_log(server) == [
        ("GET", "/crm/v8/settings/fields", 400),
        ("GET", "/crm/v8/settings/modules", 200),
    ]
    with pytest.raises(InvalidRequestError):
        crm.client.request("GET", "Leads", params={"fields": "Last_Name", "sort_by": "Email"})
    assert request_log(server)[-1][2] == 400


def test_read_users(server: Any, crm: CRM) -> None:
    users = crm.read_users()
    assert users.index.name == "id"
    assert len(users) == 4
    assert all(isinstance(i, str) and len(i) == 19 for i in users.index)
    assert users["email"].str.contains("@").all()
    me = crm.read_users("CurrentUser")
    assert list(me.index) == [users.index[0]]
    assert crm.read_users("DeactiveUsers").empty


def test_modules_views_coql_and_search(server: Any, crm: CRM) -> None:
    modules = crm.read_modules()
    assert "Leads" in modules.index
    views = crm.read_custom_views("Leads")
    assert views.index.name == "id"
    assert len(views) >= 1
    found = crm.coql("select Last_Name, No_of_Employees from Leads where id is not null")
    assert len(found) == 5000
    assert str(found["No_of_Employees"].dtype) == "Int64"
    capped = crm.coql("select Last_Name from Leads where id is not null limit 2500")
    assert len(capped) == 2500
    name = crm.read_records("Leads", ["Last_Name"], limit=1)["Last_Name"].iloc[0]
    hits = crm.search("Leads", f"(Last_Name:equals:{name})", ["Last_Name", "Email"])
    assert len(hits) >= 1
    assert (hits["Last_Name"].str.lower() == name.lower()).all()


def test_page_tokens_and_id_slices_give_the_same_frame(server: Any) -> None:
    names = ["Last_Name", "Email", "No_of_Employees", "Created_Time", "Lead_Status"]
    frames = {}
    for version in ("v8", "v2.1"):
        with connect(**{**server.credentials, "version": version},
                     retry=no_wait_retry()) as crm:
            frames[version] = crm.read_records("Leads", names, limit=3000)
    v8, v21 = frames["v8"], frames["v2.1"]
    assert len(v8) == len(v21) == 3000
    pd.testing.assert_frame_equal(v21.sort_index(), v8.sort_index())


def test_progress_bar_when_asked(crm: CRM, capsys: pytest.CaptureFixture[str]) -> None:
    frame = crm.read_records("Leads", ["Last_Name"], limit=600, progress=True)
    err = capsys.readouterr().err
    assert len(frame) == 600
    assert "Leads" in err
    assert "600/600" in err


def test_other_ways_to_connect(server: Any) -> None:
    credentials = server.credentials
    # accounts server only: the token answer names the API domain
    with connect(client_id=credentials["client_id"], client_secret=credentials["client_secret"],
                 refresh_token=credentials["refresh_token"],
                 accounts_url=credentials["accounts_url"]) as crm:
        assert crm.client.api_domain == server.url
        assert len(crm.read_records("Leads", ["Last_Name"], limit=3)) == 3
    # a ready access token
    with connect(server.access_token(), server.url) as crm:
        assert len(crm.read_records("Leads", ["Last_Name"], limit=3)) == 3


def test_logs_carry_no_secret(server: Any, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="crmframe")
    state = {"n": 0}

    def revoke_once(response: requests.Response, *args: Any, **kwargs: Any) -> None:
        state["n"] += 1
        if state["n"] == 4:
            server.revoke_tokens()

    with requests.Session() as session:
        session.hooks["response"].append(revoke_once)
        with connect(**server.credentials, session=session, retry=no_wait_retry()) as crm:
            crm.read_records("Leads", ["Last_Name"], limit=1000)
            shown = repr(crm) + repr(crm.client) + repr(crm.client.auth)
    text = caplog.text + shown
    assert "GET http://127.0.0.1" in caplog.text
    assert "access token rejected" in caplog.text
    assert "access token refreshed" in caplog.text
    for secret in (server.credentials["client_secret"], server.credentials["refresh_token"]):
        assert secret not in text
    assert "Zoho-oauthtoken 1000" not in text
    assert not re.search(r"1000\.[0-9a-f]{32}\.", text)


def test_v2_with_a_view_past_2000_falls_back_to_bulk() -> None:
    from crmframe.sandbox import start

    with start(records=2500, seed=4, job_speed=1e6, job_delay=0) as server, connect(
        **{**server.credentials, "version": "v2.1"}, retry=no_wait_retry()
    ) as crm:
        crm.bulk_sleep = lambda seconds: time.sleep(0.01)  # type: ignore[method-assign]
        views = crm.read_custom_views("Leads")
        everyone = views.index[views["system_name"] == "ALLVIEWS"][0]
        with pytest.raises(PaginationLimitError, match="method='bulk'"):
            crm.read_records("Leads", ["Last_Name"], cvid=everyone, method="pages")
        frame = crm.read_records("Leads", ["Last_Name"], cvid=everyone)
        by_time = crm.read_records("Leads", ["Last_Name", "Created_Time"],
                                   sort_by="Created_Time", sort_order="asc")
        ids = set(server.ids("Leads"))
    assert frame.attrs["method"] == "bulk"
    assert set(frame.index) == ids
    assert by_time.attrs["method"] == "bulk"
    assert len(by_time) == 2500
    assert by_time["Created_Time"].is_monotonic_increasing


def test_progress_in_a_notebook_only_past_one_page(
    crm: CRM, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    import crmframe.facade.reading as reading

    crm.read_records("Leads", ["Last_Name"], limit=600)
    assert capsys.readouterr().err == ""  # not a notebook: no bar by default
    monkeypatch.setattr(reading, "_in_notebook", lambda: True)
    crm.read_records("Leads", ["Last_Name"], limit=150)
    assert capsys.readouterr().err == ""  # one page: no bar
    crm.read_records("Leads", ["Last_Name"], limit=600)
    assert "600/600" in capsys.readouterr().err
    crm.read_records("Leads", ["Last_Name"], limit=600, progress=False)
    assert capsys.readouterr().err == ""


def test_coql_lookups_are_ids_only(crm: CRM) -> None:
    frame = crm.coql("select Last_Name, Owner from Leads where id is not null limit 5")
    assert list(frame.columns) == ["Last_Name", "Owner.id"]
    paged = crm.read_records("Leads", ["Last_Name", "Owner"], ids=list(frame.index))
    pd.testing.assert_frame_equal(frame, paged[["Last_Name", "Owner.id"]],
                                  check_index_type=True)


def test_field_metadata_is_cached_per_connection(server: Any, crm: CRM) -> None:
    first = crm.read_fields("Leads")
    server.clear_requests()
    assert crm.read_fields("Leads") is first
    assert request_log(server) == []
    again = crm.read_fields("Leads", refresh=True)
    assert request_log(server) == [("GET", "/crm/v8/settings/fields", 200)]
    pd.testing.assert_frame_equal(again, first)


def test_modified_since_past_2000_on_v8_and_v21_agree(server: Any, crm: CRM) -> None:
    times = crm.read_records("Leads", ["Modified_Time"])["Modified_Time"].sort_values()
    since = times.iloc[1000].to_pydatetime()
    v8 = crm.read_records("Leads", ["Last_Name", "Modified_Time"], modified_since=since)
    with connect(**{**server.credentials, "version": "v2.1"}, retry=no_wait_retry()) as old:
        v21 = old.read_records("Leads", ["Last_Name", "Modified_Time"], modified_since=since)
    assert len(v8) == (times >= since).sum() > 2000
    assert (v8["Modified_Time"] >= since).all()
    pd.testing.assert_frame_equal(v21.sort_index(), v8.sort_index())


def test_batch_typing_gives_the_frame_one_builder_gives(
    crm: CRM, monkeypatch: pytest.MonkeyPatch
) -> None:
    import crmframe.facade.reading as reading

    names = [n for n in crm.read_fields("Leads").index if n != "id"]
    whole = crm.read_records("Leads", names, limit=1300)
    monkeypatch.setattr(reading, "TYPE_EVERY", 250)  # 6 batches per pass, 2 passes
    batched = crm.read_records("Leads", names, limit=1300)
    assert len(names) > 50
    pd.testing.assert_frame_equal(batched, whole)
    assert batched.attrs["pages"] == whole.attrs["pages"]


def _plain(value: Any) -> Any:
    """A cell as a plain Python value, missing as None (to compare backends' frames)."""
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and value != value:
        return None
    if isinstance(value, datetime):
        return pd.Timestamp(value)
    return value


def test_read_records_pyarrow_backend_holds_the_default_frame_s_values(crm: CRM) -> None:
    names = [n for n in crm.read_fields("Leads").index if n != "id"]
    assert len(names) > 50  # two passes, joined on id
    default = crm.read_records("Leads", names, method="pages")
    arrow = crm.read_records("Leads", names, method="pages", dtype_backend="pyarrow")
    assert list(arrow.columns) == list(default.columns)
    assert arrow.index.equals(default.index)
    assert str(arrow["Last_Name"].dtype) == "string[pyarrow]"
    assert str(arrow["Created_Time"].dtype) == "timestamp[s, tz=UTC][pyarrow]"
    assert str(arrow["Owner.id"].dtype) == "string[pyarrow]"
    typed = [c for c in arrow.columns if isinstance(arrow[c].dtype, pd.ArrowDtype)]
    assert len(typed) > 0.8 * len(arrow.columns)
    for column in arrow.columns:
        assert [_plain(v) for v in arrow[column].tolist()] == [
            _plain(v) for v in default[column].tolist()], column
    assert arrow.attrs["pages"] == default.attrs["pages"]


def test_read_records_refuses_an_unknown_dtype_backend_before_any_call(
    server: Any, crm: CRM
) -> None:
    before = len(request_log(server))
    with pytest.raises(InputError, match="dtype_backend"):
        crm.read_records("Leads", ["Last_Name"], dtype_backend="numpy")
    assert len(request_log(server)) == before
