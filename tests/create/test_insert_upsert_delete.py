"""crm.insert / crm.upsert / crm.delete against the sandbox, with a colleague on a second
connection writing the same records before, during and after."""

from __future__ import annotations

import io
from typing import Any

import pandas as pd
import pytest

from crmframe.errors import InputError, ValidationError

pytestmark = pytest.mark.sandbox


def _posts(server: Any, part: str) -> int:
    return sum(1 for m, p, _ in server.requests if m == "POST" and p.endswith(part))


def _mobiles(server: Any) -> dict[str, list[str]]:
    """Mobile → ids holding it, over every stored Lead."""
    out: dict[str, list[str]] = {}
    for rid in server.ids("Leads"):
        mobile = server.get_record("Leads", rid).get("Mobile")
        if mobile:
            out.setdefault(mobile, []).append(rid)
    return out


def test_insert_250_gives_new_ids_in_row_order(server: Any, crm: Any, colleague: Any) -> None:
    before = len(server.ids("Leads"))
    new = pd.DataFrame({
        "Last_Name": [f"Show {i:03d}" for i in range(250)],
        "Company": [f"Booth {i % 7}" for i in range(250)],
        "Mobile": [f"+49 30 {i:06d}" for i in range(250)],
        "No_of_Employees": pd.array([i if i % 3 else None for i in range(250)],
                                    dtype="Int64"),
        "Lead_Status": ["Contacted" if i % 2 else None for i in range(250)],
    })
    # the analyst's habit: blanks as "" — they are left out, not sent as empty text
    new = new.astype({"Lead_Status": object}).fillna({"Lead_Status": ""})
    # a colleague enters one of the trade-show leads by hand first
    pre = colleague.insert(pd.DataFrame({"Last_Name": ["Show 007"],
                                         "Mobile": ["+49 30 000007"]}),
                           module="Leads")
    theirs = pre.results.loc[0, "id"]
    server.clear_requests()
    spent = server.credits_used
    result = crm.insert(new, module="Leads", trigger=[])
    assert result.writes == 3
    assert result.credits == 25.0 + result.reads
    assert result.credits == server.credits_used - spent  # every request counted
    assert _posts(server, "/Leads") == 3
    out = result.results
    assert len(out) == 250
    assert list(out.index) == list(range(250))
    assert out["status"].value_counts().to_dict() == {"success": 249, "error": 1}
    dup = out.loc[7]
    assert (dup["code"], dup["duplicate_id"], dup["duplicate_field"]) == (
        "DUPLICATE_DATA", theirs, "Mobile")
    assert pd.isna(dup["id"])
    ids = out["id"].dropna().tolist()
    assert len(set(ids)) == 249
    assert all(len(i) == 19 for i in ids)
    # new ids in row order: each id holds its own row's values
    for position in (0, 1, 100, 249):
        stored = server.get_record("Leads", out.loc[position, "id"])
        assert stored["Last_Name"] == new.loc[position, "Last_Name"]
        assert stored["Mobile"] == new.loc[position, "Mobile"]
    assert server.get_record("Leads", out.loc[2, "id"])["Lead_Status"] is None
    assert server.get_record("Leads", out.loc[1, "id"])["Lead_Status"] == "Contacted"
    assert len(server.ids("Leads")) == before + 1 + 249
    # nothing written twice, the colleague's record untouched
    assert all(len(v) == 1 for v in _mobiles(server).values())
    assert server.get_record("Leads", theirs)["Modified_By"]["name"] == "Patricia Boyle"
    # result.frame: the frame with the new ids, through a CSV round trip
    frame = result.frame
    assert frame["id"].tolist()[:2] == ids[:2]
    assert pd.isna(frame.loc[7, "id"])
    again = pd.read_csv(io.StringIO(frame.to_csv(index=False)), dtype={"id": "string"})
    assert again["id"].dropna().tolist() == ids
    # the colleague edits one of the new records afterwards; it stays theirs
    colleague.client.request("PUT", "Leads", json={"data": [{"id": ids[0], "City": "Bonn"}]})
    assert server.get_record("Leads", ids[0])["City"] == "Bonn"


def test_insert_a_trade_show_csv_as_the_analyst_reads_it(server: Any, crm: Any) -> None:
    text = ("Last_Name,Company,Phone,Date_3,No_of_Employees\n"
            "Fair Okafor,Booth A,0301234567,2026-03-01,12\n"
            "Fair Lindqvist,,0409876543,,\n"
            "Fair Nakamura,Booth C,0891112223,2026-03-02,7\n")
    server.clear_requests()
    # read_csv reads the phones as numbers: their leading 0 is gone, so they are refused
    # with the fix named, not sent as 301234567
    with pytest.raises(ValidationError, match=r"dtype=\{'Phone': str\}") as info:
        crm.insert(pd.read_csv(io.StringIO(text)), module="Leads")
    problems = info.value.problems
    assert problems is not None
    assert problems["field"].tolist() == ["Phone"] * 3
    shown = pd.read_csv(io.StringIO(text), dtype={"Phone": str})
    # reset_index() on the filtered list adds an "index" column: not a field, refused
    kept = shown[shown["Last_Name"] != "Fair Lindqvist"]
    with pytest.raises(ValidationError, match=r"index.*unknown field"):
        crm.insert(kept.reset_index(), module="Leads")
    assert [r for r in server.requests if r[0] == "POST" and "/crm/" in r[1]] == []
    table = shown.astype(object).fillna("").reset_index(drop=True)
    result = crm.insert(table, module="Leads", trigger=[])
    assert result.results["status"].tolist() == ["success"] * 3
    ids = result.results["id"].tolist()
    stored = [server.get_record("Leads", i) for i in ids]
    assert [r["Phone"] for r in stored] == ["0301234567", "0409876543", "0891112223"]
    assert [r["Date_3"] for r in stored] == ["2026-03-01", None, "2026-03-02"]
    assert [r["No_of_Employees"] for r in stored] == [12, None, 7]
    assert [r["Company"] for r in stored] == ["Booth A", None, "Booth C"]


def test_insert_refuses_bad_rows_before_any_call(server: Any, crm: Any) -> None:
    server.clear_requests()
    bad = pd.DataFrame({
        "Last_Name": ["Ok", None, "x" * 200, ""],
        "No_of_Employees": [1, "many", 3, 4],
        "Lead_Status": ["Contacted", "Nope", None, None],
        "Mobile": ["+1 1", "+1 1", None, None],
        "Favourite_Colour": [None, "red", None, None],
    })
    with pytest.raises(ValidationError) as info:
        crm.insert(bad, module="Leads")
    problems = info.value.problems
    assert problems is not None
    found = set(zip(problems["row"].tolist(), problems["field"].tolist(), strict=True))
    assert found == {(1, "Last_Name"), (1, "No_of_Employees"), (1, "Lead_Status"),
                     (1, "Mobile"), (1, "Favourite_Colour"), (2, "Last_Name"),
                     (3, "Last_Name")}
    assert "nothing sent" in str(info.value)
    with pytest.raises(ValidationError, match="has an id"):
        crm.insert(pd.DataFrame({"id": ["4876876000000100001"], "Last_Name": ["A"]}),
                   module="Leads")
    with pytest.raises(InputError, match="empty"):
        crm.insert(pd.DataFrame({"Last_Name": []}), module="Leads")
    with pytest.raises(InputError, match="trigger"):
        crm.insert(pd.DataFrame({"Last_Name": ["A"]}), module="Leads", trigger="workflow")
    assert [r for r in server.requests
            if r[0] in ("POST", "PUT", "DELETE") and "/crm/" in r[1]] == []


def test_upsert_by_email_updates_40_and_inserts_30(server: Any, crm: Any,
                                                   colleague: Any) -> None:
    flagged = set(server.flagged("Leads"))
    ids = [i for i in server.ids("Leads") if i not in flagged
           and server.get_record("Leads", i).get("Email")][:40]
    emails = [server.get_record("Leads", i)["Email"] for i in ids]
    # before: the colleague sets the City of the first ten
    colleague.client.request("PUT", "Leads", json={"data": [
        {"id": i, "City": "Lyon"} for i in ids[:10]]})
    rows = pd.DataFrame({
        "Email": [e.upper() for e in emails] + [f"new{i}@fair.example" for i in range(30)],
        "Last_Name": [f"Upserted {i}" for i in range(70)],
    })
    count = len(server.ids("Leads"))
    result = crm.upsert(rows, duplicate_check_fields=["Email"], module="Leads")
    out = result.results
    assert out["action"].value_counts().to_dict() == {"update": 40, "insert": 30}
    assert out.loc[:39, "id"].tolist() == ids
    assert out.loc[:39, "duplicate_id"].tolist() == ids
    assert set(out.loc[:39, "duplicate_field"]) == {"Email"}
    assert out.loc[40:, "duplicate_field"].isna().all()
    assert result.writes == 1
    assert len(server.ids("Leads")) == count + 30
    # the colleague's edits are not overwritten (only Email and Last_Name were sent)
    overwritten = [i for i in ids[:10] if server.get_record("Leads", i)["City"] != "Lyon"]
    assert overwritten == []
    assert server.get_record("Leads", ids[0])["Last_Name"] == "Upserted 0"
    # run again: everything matches now, nothing is created twice
    second = crm.upsert(rows, duplicate_check_fields=["Email"], module="Leads")
    assert set(second.results["action"]) == {"update"}
    assert len(server.ids("Leads")) == count + 30
    assert second.results["id"].tolist() == result.results["id"].tolist()
    # by id: the matched field is "id"
    by_id = crm.upsert(pd.DataFrame({"id": [ids[5]], "City": ["Gent"]}), module="Leads")
    assert (by_id.results.loc[0, "action"], by_id.results.loc[0, "duplicate_field"]) == (
        "update", "id")
    with pytest.raises(ValidationError, match="duplicate check field"):
        crm.upsert(rows, duplicate_check_fields=["Mobile"], module="Leads")
    # without Email (nor Mobile) the rows could only be inserted again: refused, nothing sent
    server.clear_requests()
    with pytest.raises(InputError, match="no column to match"):
        crm.upsert(rows[["Last_Name"]], module="Leads")
    assert [r for r in server.requests if r[0] == "POST" and "/crm/" in r[1]] == []
    assert len(server.ids("Leads")) == count + 30


def _deleted_ids(crm: Any) -> list[str]:
    out: list[str] = []
    page = 1
    while True:
        reply = crm.client.request("GET", "Leads/deleted", params={"page": page})
        if reply.status == 204 or not reply.body:
            return out
        out.extend(d["id"] for d in reply.body["data"])
        if not reply.body["info"]["more_records"]:
            return out
        page += 1


def test_delete_150_gone_and_listed_by_deleted(server: Any, crm: Any, colleague: Any) -> None:
    flagged = server.flagged("Leads")
    ids = [i for i in server.ids("Leads") if i not in flagged][-150:]
    locked = next(i for i, f in flagged.items() if f == "locked")
    # dry run: nothing goes
    server.clear_requests()
    plan = crm.delete(ids, module="Leads", dry_run=True)
    assert plan.dry_run
    assert set(plan.results["status"]) == {"planned"}
    assert plan.calls == 0  # nothing sent
    assert [r for r in server.requests if r[0] == "DELETE"] == []
    # malformed or empty ids: refused before any call, every bad one named
    with pytest.raises(InputError, match=r"position 1.*position 2"):
        crm.delete([ids[0], 4876876000000100001, "abc"], module="Leads")
    with pytest.raises(InputError, match="no ids"):
        crm.delete([], module="Leads")
    assert [r for r in server.requests if r[0] == "DELETE"] == []
    # the colleague edits one of them just before; deleting is what the analyst asked
    colleague.client.request("PUT", "Leads", json={"data": [{"id": ids[0], "City": "Gent"}]})
    result = crm.delete([*ids, ids[3], locked], module="Leads", trigger=[])
    out = result.results
    assert result.writes == 2
    assert out["id"].tolist() == [*ids, ids[3], locked]
    assert out["status"].value_counts().to_dict() == {"success": 150, "skipped": 1, "error": 1}
    assert out.iloc[150]["code"] == "DUPLICATE_ID"
    assert out.iloc[151]["code"] == "RECORD_LOCKED"
    remaining = set(server.ids("Leads"))
    assert not remaining & set(ids)
    listed = _deleted_ids(crm)
    assert set(ids) <= set(listed)
    assert locked not in listed
    # deleting again: Zoho's INVALID_DATA per id, data not an exception
    again = crm.delete(ids[:2], module="Leads")
    assert again.results["code"].tolist() == ["INVALID_DATA", "INVALID_DATA"]
    # the colleague cannot edit a deleted record any more
    reply = colleague.client.request("PUT", "Leads", json={"data": [{"id": ids[1],
                                                                      "City": "X"}]})
    assert reply.body["data"][0]["code"] == "INVALID_DATA"


class _Between:
    """Runs ``action`` once, after the first write call of ``crm`` got its answer."""

    def __init__(self, crm: Any, action: Any) -> None:
        self.request = crm.client.request
        self.action = action
        self.done = False
        crm.client.request = self

    def __call__(self, method: str, path: str, **kw: Any) -> Any:
        reply = self.request(method, path, **kw)
        if method in ("POST", "DELETE") and not self.done:
            self.done = True
            self.action()
        return reply


def test_insert_and_upsert_while_a_colleague_writes_between_batches(
        server: Any, crm: Any, colleague: Any) -> None:
    mobiles = [f"+34 91 {i:06d}" for i in range(150)]
    new = pd.DataFrame({"Last_Name": [f"Feria {i}" for i in range(150)], "Mobile": mobiles})

    def colleague_enters_row_120() -> None:
        colleague.insert(pd.DataFrame({"Last_Name": ["By hand"], "Mobile": [mobiles[120]]}),
                         module="Leads")

    _Between(crm, colleague_enters_row_120)
    result = crm.insert(new, module="Leads")
    assert result.results.loc[120, "code"] == "DUPLICATE_DATA"
    theirs = result.results.loc[120, "duplicate_id"]
    assert server.get_record("Leads", theirs)["Last_Name"] == "By hand"  # not overwritten
    assert (result.results["status"] == "success").sum() == 149
    assert all(len(v) == 1 for v in _mobiles(server).values())  # nothing written twice

    emails = [f"during{i}@fair.example" for i in range(150)]

    def colleague_creates_email_130() -> None:
        colleague.insert(pd.DataFrame({"Last_Name": ["Theirs"], "Email": [emails[130]]}),
                         module="Leads")

    _Between(crm, colleague_creates_email_130)
    up = crm.upsert(pd.DataFrame({"Email": emails, "Last_Name": ["Ours"] * 150}),
                    duplicate_check_fields=["Email"], module="Leads")
    actions = up.results["action"].tolist()
    assert actions.count("insert") == 149
    assert actions[130] == "update"  # the colleague's record, not a second one
    matched = up.results.loc[130, "id"]
    holders = [i for i in server.ids("Leads")
               if server.get_record("Leads", i).get("Email") == emails[130]]
    assert holders == [matched]
