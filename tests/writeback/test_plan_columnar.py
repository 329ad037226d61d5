"""The planner's columnar payloads are the record-by-record ones they replace."""

from __future__ import annotations

import random
from typing import Any

import pandas as pd
import pytest

from crmframe.core.bulkwrite import build_bulk_write, build_bulk_write_columns, csv_cells
from crmframe.core.diff import ChangeSet
from crmframe.core.fieldtypes import Kind
from crmframe.core.plan import Limits, make_plan
from crmframe.errors import InputError

FIELDS: list[dict[str, Any]] = [
    {"api_name": "City", "data_type": "text", "mass_update": True},
    {"api_name": "No_of_Employees", "data_type": "integer", "mass_update": True},
    {"api_name": "Owner", "data_type": "ownerlookup", "mass_update": True},
    {"api_name": "Tags_List", "data_type": "multiselectpicklist", "mass_update": True},
    {"api_name": "Annual_Revenue", "data_type": "currency", "mass_update": True},
]
VALUES: dict[str, list[Any]] = {
    "City": ["Pune", 'say "hi"', "a,b", "line\nbreak", "Köln", None],
    "No_of_Employees": [1, 250, None],
    "Owner": ["4150868000000225013", "4150868000000225014"],
    "Tags_List": [["a", "b"], ["c"]],
    "Annual_Revenue": [10.5, 3.0, None],
}


def changes(seed: int, n: int) -> ChangeSet:
    rng = random.Random(seed)
    rows = []
    for i in rng.sample(range(10 * n), n):
        # fields in a different order per record: the CSV's column order follows first use
        for name in rng.sample(list(VALUES), rng.randrange(1, 4)):
            rows.append((str(3652397000000000000 + i), name, None, rng.choice(VALUES[name])))
    frame = pd.DataFrame(rows, columns=["id", "field", "old", "new"])
    return ChangeSet(changes=frame.astype({"id": "string", "field": "string"}))


@pytest.mark.parametrize("seed", range(4))
def test_plan_payloads_match_the_records(seed: int) -> None:
    cs = changes(seed, 3000)
    records = cs.records()
    plan = make_plan(cs, FIELDS, "Leads", bulk_threshold=50,
                     limits=Limits(bulk_write_rows=800))
    assert set(plan.steps["route"]) >= {"bulk_write", "put"}
    seen: list[str] = []
    for route, ids, payload in zip(plan.steps["route"], plan.steps["ids"], plan.payloads,
                                   strict=True):
        seen += ids
        if route == "put":
            assert [r["id"] for r in payload["data"]] == ids
            for row in payload["data"]:
                sent = {k: v for k, v in row.items() if k != "id"}
                assert sent.keys() == records[row["id"]].keys()
        elif route == "bulk_write":
            kinds = {"City": Kind.TEXT, "No_of_Employees": Kind.INTEGER, "Owner": Kind.LOOKUP,
                     "Tags_List": Kind.LIST, "Annual_Revenue": Kind.FLOAT}
            # each record's fields in the change set's first-seen field order, as the
            # planner always sent them
            order = list(dict.fromkeys(cs.changes["field"].tolist()))
            ordered = {i: {f: records[i][f] for f in order if f in records[i]} for i in ids}
            expected = build_bulk_write(ordered, kinds, "Leads")
            assert payload.csv_bytes == expected.csv_bytes
            assert payload.columns == expected.columns
            assert payload.ids == ids
    assert sorted(seen) == sorted(records)  # every record once (mass updates included)


def test_csv_cells_refuse_a_clear() -> None:
    with pytest.raises(InputError, match="clears by PUT"):
        csv_cells([1.5, None], Kind.FLOAT)


def test_quoted_cells_are_written_by_csv() -> None:
    f = build_bulk_write_columns(["1", "2"], [("City", ['a "b"', "x,y"])], {}, "Leads")
    assert f.csv_bytes == b'id,City\n1,"a ""b"""\n2,"x,y"\n'
