"""Paging: v8 page → page_token at 2,000; v2/v2.1 id slices; ids chunks; COQL and search."""

from __future__ import annotations

import json
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from httpfakes import fake_session

from crmframe.errors import PaginationLimitError
from crmframe.http.auth import StaticToken
from crmframe.http.client import ZohoClient
from crmframe.http.paging import (
    iter_coql_pages,
    iter_record_pages,
    iter_search_pages,
    split_coql_limit,
)

IDS = [str(4876876000000000000 + 7 * n) for n in range(1, 5001)]


class FakeZoho:
    """Enough of Zoho's paging rules to check the client against them."""

    def __init__(self, ids: list[str], version: str) -> None:
        self.ids = ids
        self.version = version
        self.calls: list[str] = []

    def __call__(self, request):
        url = urlsplit(request.url)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        self.calls.append(url.path.rsplit("/", 1)[-1])
        if url.path.endswith("/coql"):
            return self.coql(json.loads(request.body)["select_query"])
        if "ids" in query:
            wanted = set(query["ids"].split(","))
            assert len(wanted) <= 100
            # Zoho's order for ?ids= is not the asked order: give it reversed.
            return 200, {"data": [{"id": i} for i in self.ids if i in wanted][::-1],
                         "info": {"more_records": False}}
        order = sorted(self.ids, key=int, reverse=query.get("sort_order", "desc") == "desc")
        per_page = int(query["per_page"])
        if "page_token" in query:
            assert "page" not in query
            start = int(query["page_token"].removeprefix("tok-"))
        else:
            page = int(query["page"])
            start = (page - 1) * per_page
            if start + per_page > 2000:
                return 400, {"code": "DISCRETE_PAGINATION_LIMIT_EXCEEDED", "details": {},
                             "message": "use page_token", "status": "error"}
        rows = order[start : start + per_page]
        if not rows:
            return 204, None
        more = start + per_page < len(order)
        info = {"more_records": more, "count": len(rows), "per_page": per_page}
        if self.version == "v8" and more:
            info["next_page_token"] = f"tok-{start + per_page}"
        return 200, {"data": [{"id": i} for i in rows], "info": info}

    def coql(self, select: str):
        match = re.search(r"id ([<>]) '(\d+)'.*order by id (\w+) limit (\d+), (\d+)", select)
        assert match, select
        op, pivot, order, offset, count = match.groups()
        keep = [i for i in self.ids if (int(i) < int(pivot) if op == "<" else int(i) > int(pivot))]
        keep.sort(key=int, reverse=order == "desc")
        rows = keep[int(offset) : int(offset) + int(count)]
        return 200, {"data": [{"id": i} for i in rows],
                     "info": {"more_records": len(keep) > int(offset) + int(count)}}


def run(version: str, records: list[str] = IDS, **kwargs) -> tuple[list[str], FakeZoho]:
    fake = FakeZoho(records, version)
    session, _ = fake_session(fake)
    client = ZohoClient("https://www.zohoapis.com", StaticToken("t"), version=version,
                        session=session)
    got = [r["id"] for page in iter_record_pages(client, "Leads", fields=["id"], **kwargs)
           for r in page["data"]]
    session.close()
    return got, fake


def test_v8_switches_to_page_token_after_2000() -> None:
    got, fake = run("v8")
    assert got == sorted(IDS, key=int, reverse=True)
    assert len(fake.calls) == 25


@pytest.mark.parametrize("version", ["v2", "v2.1"])
def test_v2_reads_every_record_once_by_id_slices(version: str) -> None:
    got, fake = run(version)
    assert len(got) == len(set(got)) == 5000
    assert got == sorted(IDS, key=int, reverse=True)
    assert fake.calls.count("coql") == 15  # 3,000 ids past page 10, 200 a query


def test_limit_stops_early_mid_page() -> None:
    got, fake = run("v8", limit=450)
    assert len(got) == 450
    assert len(fake.calls) == 3
    got, _ = run("v2", limit=2345)
    assert len(got) == 2345 == len(set(got))


def test_empty_module_gives_no_pages() -> None:
    got, fake = run("v8", records=[])
    assert got == []
    assert fake.calls == ["Leads"]


def test_ids_are_fetched_100_at_a_time_in_the_asked_order() -> None:
    wanted = IDS[:250]
    got, fake = run("v8", ids=wanted)
    assert got == wanted
    assert len(fake.calls) == 3


def test_v2_with_cvid_past_2000_raises_instead_of_stopping() -> None:
    with pytest.raises(PaginationLimitError, match="method='bulk'"):
        run("v2", cvid="123")


def test_split_coql_limit_forms() -> None:
    assert split_coql_limit("select id from Leads where a = 1 LIMIT 5 OFFSET 10;") == (
        "select id from Leads where a = 1", 10, 5)
    assert split_coql_limit("select id from Leads where a = 1 limit 7") == (
        "select id from Leads where a = 1", 0, 7)


def test_coql_pages_with_limit_offset() -> None:
    sent: list[str] = []

    total = 4500

    def handler(request):
        select = json.loads(request.body)["select_query"]
        sent.append(select)
        offset, count = map(int, re.search(r"limit (\d+), (\d+)$", select).groups())
        rows = [{"id": str(n)} for n in range(offset, min(total, offset + count))]
        return 200, {"data": rows, "info": {"more_records": offset + count < total,
                                            "count": len(rows)}}

    session, _ = fake_session(handler)
    client = ZohoClient("https://x.zohoapis.com", StaticToken("t"), session=session)
    rows = [r for p in iter_coql_pages(client, "select id from Leads where id is not null")
            for r in p["data"]]
    assert len(rows) == 4500
    assert sent[1].endswith("limit 2000, 2000")
    sent.clear()
    rows = [r for p in iter_coql_pages(client, "select id from Leads where id is not null "
                                       "limit 100, 2500") for r in p["data"]]
    assert len(rows) == 2500
    assert sent == ["select id from Leads where id is not null limit 100, 2000",
                    "select id from Leads where id is not null limit 2100, 500"]
    total = 12_000
    v2 = ZohoClient("https://x.zohoapis.com", StaticToken("t"), session=session, version="v2")
    with pytest.raises(PaginationLimitError, match="10000"):
        for _ in iter_coql_pages(v2, "select id from Leads where id is not null"):
            pass
    session.close()


def test_search_pages_and_cap() -> None:
    def handler(request):
        query = parse_qs(urlsplit(request.url).query)
        assert query["criteria"] == ["(Last_Name:equals:Smith)"]
        page = int(query["page"][0])
        return 200, {"data": [{"id": f"{page}-{n}"} for n in range(200)],
                     "info": {"more_records": True}}

    session, _ = fake_session(handler)
    client = ZohoClient("https://x.zohoapis.com", StaticToken("t"), session=session)
    pages = iter_search_pages(client, "Leads", "Last_Name:equals:Smith")
    got = [len(next(pages)["data"]) for _ in range(10)]
    assert sum(got) == 2000
    with pytest.raises(PaginationLimitError, match="2000"):
        next(pages)
    session.close()
