"""crm.push(edited, original, inserts=True, deletes=True): added rows inserted, removed rows
deleted in the same push, with the conflict rule holding for deletes."""

from __future__ import annotations

import io
from typing import Any

import pandas as pd
import pytest

from crmframe.errors import InputError, ValidationError

pytestmark = pytest.mark.sandbox


def _plain(server: Any, crm: Any, n: int, offset: int) -> pd.DataFrame:
    flagged = set(server.flagged("Leads"))
    ids = [i for i in server.ids("Leads") if i not in flagged][offset:offset + n]
    return crm.read_records("Leads", ["Last_Name", "City", "Mobile", "Modified_Time",
                                      "Owner"], ids=ids, progress=False)


def _added(frame: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    """The analyst's way: new rows concatenated under the read ones (labels 0, 1, 2)."""
    new = pd.DataFrame({"Last_Name": names, "City": ["Lille"] * len(names)})
    return pd.concat([frame, new])


def test_push_three_added_two_removed_one_edit_six_successes(server: Any, crm: Any,
                                                             colleague: Any) -> None:
    original = _plain(server, crm, 6, 10)
    edited = original.copy()
    removed = list(edited.index[-2:])
    edited = edited.drop(index=removed)
    edited.loc[edited.index[0], "City"] = "Antwerp"
    edited = _added(edited, ["Ada", "Bo", "Cy"])
    # the default is unchanged: reported, not sent
    dry = crm.push(edited, original, dry_run=True)
    assert set(dry.results["code"]) >= {"NOT_PUSHED_INSERT", "NOT_PUSHED_DELETE"}
    plan = crm.push(edited, original, inserts=True, deletes=True, dry_run=True)
    assert plan.results["status"].value_counts().to_dict() == {"planned": 6}
    # costed and counted like the other routes
    totals = plan.plan.route_totals()
    assert totals.loc["insert", "n_records"] == 3
    assert totals.loc["delete", "n_records"] == 2
    assert plan.plan.write_calls == 3
    assert plan.plan.credits - plan.plan.check_calls == 3
    assert "insert: 1 calls, 3 records" in plan.plan.summary()
    count = len(server.ids("Leads"))
    # a colleague edits a record nobody touches here, meanwhile
    colleague.client.request("PUT", "Leads", json={"data": [
        {"id": original.index[2], "City": "Ghent"}]})
    spent = server.credits_used
    result = crm.push(edited, original, inserts=True, deletes=True, trigger=[])
    assert result.credits == server.credits_used - spent  # every request counted
    out = result.results
    assert out["status"].value_counts().to_dict() == {"success": 6}
    assert sorted(out["route"]) == ["delete", "delete", "insert", "insert", "insert", "put"]
    assert result.writes == 3  # one PUT, one POST, one DELETE
    assert result.calls == result.writes + result.reads
    assert result.credits == 3.0 + result.reads
    assert result.plan.write_calls == 3
    assert len(server.ids("Leads")) == count + 3 - 2
    assert not set(removed) & set(server.ids("Leads"))
    assert server.get_record("Leads", original.index[2])["City"] == "Ghent"  # not overwritten
    # result.frame: edited with the new ids, ready as the next original
    frame = result.frame
    assert frame is not None
    new_ids = out.loc[out["route"] == "insert", "id"].tolist()
    assert frame.index[-3:].tolist() == new_ids
    assert [server.get_record("Leads", i)["Last_Name"] for i in new_ids] == ["Ada", "Bo", "Cy"]
    # a CSV round trip of it, pushed again, sends nothing more: nothing written twice
    again = pd.read_csv(io.StringIO(frame.to_csv()), dtype={"id": "string"}).set_index("id")
    again.attrs["module"] = "Leads"
    again = again[["Last_Name", "City"]]
    second = crm.push(again, frame[["Last_Name", "City", "Modified_Time"]], inserts=True,
                      deletes=True)
    assert second.writes == 0
    assert len(server.ids("Leads")) == count + 1


def test_push_deletes_keep_the_conflict_rule(server: Any, crm: Any, colleague: Any) -> None:
    original = _plain(server, crm, 4, 30)
    edited = original.drop(index=original.index[:2])
    changed, untouched = original.index[0], original.index[1]
    colleague.client.request("PUT", "Leads", json={"data": [{"id": changed,
                                                             "City": "Colleague"}]})
    result = crm.push(edited, original, deletes=True)
    codes = dict(zip(result.results["id"], result.results["code"], strict=True))
    assert codes[changed] == "CONFLICT"
    assert codes[untouched] == "SUCCESS"
    assert changed in server.ids("Leads")  # the colleague's edit is not destroyed
    assert server.get_record("Leads", changed)["City"] == "Colleague"
    assert untouched not in server.ids("Leads")
    forced = crm.push(edited, original, deletes=True, overwrite=True)
    assert forced.results.set_index("id").loc[changed, "status"] == "success"
    assert changed not in server.ids("Leads")


def test_push_inserts_are_checked_before_any_call(server: Any, crm: Any) -> None:
    original = _plain(server, crm, 3, 50)
    edited = _added(original.copy(), ["Ok", None])
    edited.loc[edited.index[0], "City"] = "Paris"
    server.clear_requests()
    with pytest.raises(ValidationError) as info:
        crm.push(edited, original, inserts=True)
    problems = info.value.problems
    assert problems is not None
    assert problems[["row", "field", "problem"]].values.tolist() == [
        [1, "Last_Name", "mandatory field missing"]]
    assert [r for r in server.requests if r[0] in ("PUT", "POST", "DELETE")
            and "/crm/" in r[1]] == []
    with pytest.raises(InputError, match="needs original"):
        crm.push(edited, deletes=True)


def test_push_inserts_without_original_and_after_reset_index(server: Any, crm: Any) -> None:
    leads = _plain(server, crm, 5, 70)[["Last_Name", "City", "Modified_Time"]]
    edited = pd.concat([leads, pd.DataFrame({"Last_Name": ["New1", "New2"]})])
    edited.attrs["module"] = "Leads"
    count = len(server.ids("Leads"))
    result = crm.push(edited, inserts=True)  # baseline read back: the 5 known ids
    assert result.results["code"].tolist() == ["SUCCESS", "SUCCESS"]
    assert result.frame is not None
    assert result.frame.index[:5].tolist() == leads.index.tolist()
    assert result.frame.index[5:].tolist() == result.results["id"].tolist()
    # the reset_index() habit: ids in a column, new rows with <NA> there
    flat = pd.concat([leads.reset_index(), pd.DataFrame({"Last_Name": ["New3"]})],
                     ignore_index=True)
    flat.attrs["module"] = "Leads"
    again = crm.push(flat, leads.reset_index(), inserts=True)
    assert again.results["route"].tolist() == ["insert"]
    assert again.frame is not None
    assert again.frame["id"].iloc[-1] == again.results["id"].iloc[0]
    assert len(server.ids("Leads")) == count + 3
