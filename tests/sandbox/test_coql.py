"""COQL: parsing, filtering, ordering, limits and errors."""

from __future__ import annotations

from typing import Any

import pytest

from crmframe.sandbox import SandboxServer
from crmframe.sandbox.clock import parse_datetime
from crmframe.sandbox.coql import CoqlError, parse, tokenize

from .helpers import Api

pytestmark = pytest.mark.sandbox


def _q(api: Api, query: str) -> Any:
    return api.post("coql", json={"select_query": query})


def _records(server: SandboxServer) -> list[dict[str, Any]]:
    return [server.get_record("Leads", i) for i in server.ids("Leads")]


def test_tokenizer_and_parser() -> None:
    toks = tokenize("select Last_Name from Leads where City = 'O\\'Brien' limit 5, 10")
    assert [t.kind for t in toks][:4] == ["kw", "ident", "kw", "ident"]
    assert any(t.value == "O'Brien" for t in toks)
    q = parse("SELECT Last_Name, Account_Name.Account_Name FROM Contacts WHERE "
              "((City = 'Paris' AND Annual_Revenue > 1000) OR Email is null) "
              "ORDER BY Created_Time DESC, id LIMIT 20 OFFSET 40")
    assert q.fields == ["Last_Name", "Account_Name.Account_Name"]
    assert q.module == "Contacts"
    assert q.order == [("Created_Time", True), ("id", False)]
    assert (q.offset, q.limit) == (40, 20)
    assert q.where[0] == "or"
    for bad in ["update Leads set x = 1", "select from Leads where id > 0",
                "select a Leads", "select a from Leads", "select a from Leads where (a = 1",
                "select a from Leads where a = 1 limit x"]:
        with pytest.raises(CoqlError) as info:
            parse(bad)
        assert info.value.code == "SYNTAX_ERROR", bad


def test_where_and_or_brackets_order_limit(server: SandboxServer, api: Api) -> None:
    r = _q(api, "select Last_Name, City, Annual_Revenue from Leads where "
                "(City = 'Paris' and Annual_Revenue > 1000) order by id asc limit 0, 200")
    assert r.status_code == 200
    body = r.json()
    expected = [rec["id"] for rec in _records(server)
                if rec["City"] == "Paris" and (rec["Annual_Revenue"] or 0) > 1000]
    assert [row["id"] for row in body["data"]] == expected[:200]
    assert body["info"] == {"count": len(body["data"]), "more_records": len(expected) > 200}
    assert set(body["data"][0]) == {"Last_Name", "City", "Annual_Revenue", "id"}

    r = _q(api, "select Last_Name from Leads where City in ('Lyon', 'Tokyo') or "
                "No_of_Employees between 10 and 20 order by Last_Name desc limit 50")
    ids = {row["id"] for row in r.json()["data"]}
    want = [rec for rec in _records(server)
            if rec["City"] in ("Lyon", "Tokyo")
            or (rec["No_of_Employees"] is not None and 10 <= rec["No_of_Employees"] <= 20)]
    assert ids <= {rec["id"] for rec in want}
    names = [row["Last_Name"].casefold() for row in r.json()["data"]]
    assert names == sorted(names, reverse=True)


def test_like_null_dates_and_lookups(server: SandboxServer, api: Api) -> None:
    r = _q(api, "select Last_Name from Leads where Last_Name like 'Mar%' limit 200")
    assert all(row["Last_Name"].startswith("Mar") for row in r.json()["data"])
    r = _q(api, "select Date_3 from Leads where Date_3 is null limit 200")
    assert all(row["Date_3"] is None for row in r.json()["data"])
    # Seeded Leads are created 2024-01-01..03: the first bound matches none, the second some.
    for since in ("2024-01-05T00:00:00+00:00", "2024-01-02T12:00:00+00:00"):
        r = _q(api, f"select Created_Time from Leads where Created_Time >= '{since}' limit 200")
        want = {rec["id"] for rec in _records(server)
                if parse_datetime(rec["Created_Time"]) >= parse_datetime(since)}
        assert len(want) < 200, since
        if not want:
            assert r.status_code == 204, since
        else:
            assert r.status_code == 200, since
            assert {row["id"] for row in r.json()["data"]} == want, since
    r = _q(api, "select Last_Name, Referred_Account, Referred_Account.Account_Name from Leads "
                "where Referred_Account is not null limit 5")
    row = r.json()["data"][0]
    assert set(row["Referred_Account"]) == {"id"}
    acc = server.get_record("Accounts", row["Referred_Account"]["id"])
    assert row["Referred_Account.Account_Name"] == acc["Account_Name"]
    r = _q(api, "select Last_Name from Leads where Last_Name = 'Nobody At All'")
    assert r.status_code == 204


def test_user_lookup_parts(server: SandboxServer, api: Api) -> None:
    # Owner.last_name came back null on every row (the Owner object holds name, id and
    # email only), where Zoho and the sandbox's own bulk read give the owner's last name.
    r = _q(api, "select Last_Name, Owner.first_name, Owner.last_name, Owner.email "
                "from Leads where Owner is not null limit 20")
    assert r.status_code == 200
    for row in r.json()["data"]:
        owner = server.get_record("Leads", row["id"])["Owner"]
        first, _, last = owner["name"].partition(" ")
        assert (row["Owner.first_name"], row["Owner.last_name"], row["Owner.email"]) == (
            first, last, owner["email"])
    # a part no user has, or a field the lookup's module lacks, is an invalid column
    for column in ("Owner.shoe_size", "Referred_Account.No_Such_Field"):
        r = _q(api, f"select {column} from Leads where id is not null limit 5")
        assert r.status_code == 400, column
        assert r.json()["code"] == "INVALID_QUERY", column
        assert r.json()["details"] == {"column_name": column}


def test_limits_and_errors(api: Api, api2: Api) -> None:
    r = _q(api, "select Last_Name from Leads where id is not null limit 0, 2001")
    assert r.status_code == 400
    assert r.json()["code"] == "LIMIT_EXCEEDED"
    r = _q(api2, "select Last_Name from Leads where id is not null limit 0, 201")
    assert r.json()["code"] == "LIMIT_EXCEEDED"
    r = _q(api, "select Last_Name from Leads where id is not null limit 99000, 2000")
    assert r.json()["code"] == "LIMIT_EXCEEDED"
    r = _q(api, "select Nope from Leads where id is not null")
    assert r.json()["code"] == "INVALID_QUERY"
    r = _q(api, "select Last_Name from Nope where id is not null")
    assert r.json()["code"] == "INVALID_QUERY"
    r = _q(api, "select Last_Name from Leads where No_of_Employees = 'many'")
    assert r.json()["code"] == "INVALID_QUERY"
    r = _q(api, "select Last_Name from Leads")
    assert r.status_code == 400
    assert r.json()["code"] == "SYNTAX_ERROR"
    assert r.json()["status"] == "error"
    r = api.post("coql", json={"query": "x"})
    assert r.status_code == 400
