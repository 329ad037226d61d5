"""Properties of diff(): a frame equals itself; applying the changes gives the edited frame."""

from __future__ import annotations

from typing import Any

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crmframe.core.diff import diff, values_equal

from .leads import lead_ids

TEXT = st.one_of(st.none(), st.text(alphabet="abcxyz -", max_size=6))
INTS = st.one_of(st.none(), st.integers(-10**6, 10**6))
FLOATS = st.one_of(st.none(), st.floats(-1e6, 1e6, allow_nan=False).map(lambda x: round(x, 2)))
BOOLS = st.one_of(st.none(), st.booleans())
STAMPS = st.one_of(st.none(), st.integers(0, 2 * 10**9))
LISTS = st.one_of(st.none(), st.lists(st.sampled_from(["English", "Spanish", "French"]),
                                      max_size=3))
COLUMNS: dict[str, tuple[Any, str]] = {
    "T": (TEXT, "string"), "I": (INTS, "Int64"), "F": (FLOATS, "Float64"),
    "B": (BOOLS, "boolean"), "S": (STAMPS, "datetime64[s, UTC]"), "L": (LISTS, "object"),
    "Owner.id": (st.one_of(st.none(), st.sampled_from(["41508680000002250", "41508680000002251"])),
                 "string"),
}


def build(rows: list[dict[str, Any]]) -> pd.DataFrame:
    idx = pd.Index(lead_ids(len(rows)), dtype="string", name="id")
    data: dict[str, Any] = {}
    for name, (_, dtype) in COLUMNS.items():
        values = [r[name] for r in rows]
        if dtype == "datetime64[s, UTC]":
            data[name] = pd.Series(pd.to_datetime(values, unit="s", utc=True),
                                   index=idx).astype(dtype)
        elif dtype == "object":
            data[name] = pd.Series(values, index=idx, dtype=object)
        else:
            data[name] = pd.Series(values, index=idx, dtype=dtype)
    return pd.DataFrame(data, index=idx)


ROW = st.fixed_dictionaries({name: strat for name, (strat, _) in COLUMNS.items()})
FRAMES = st.lists(ROW, min_size=0, max_size=8)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(FRAMES)
def test_a_frame_has_no_change_against_itself(rows: list[dict[str, Any]]) -> None:
    a = build(rows)
    assert len(diff(a, a)) == 0
    assert len(diff(a, a.copy())) == 0
    assert not diff(a, a.copy()).has_reports


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_applying_the_changes_gives_the_edited_frame(data: st.DataObject) -> None:
    rows = data.draw(st.lists(ROW, min_size=1, max_size=8))
    edits = [
        {k: (data.draw(COLUMNS[k][0]) if data.draw(st.booleans()) else v) for k, v in r.items()}
        for r in rows
    ]
    a, b = build(rows), build(edits)
    cs = diff(a, b)
    # every changed cell is exactly one change row, and nothing else is
    expected = {
        (rid, "Owner" if name == "Owner.id" else name)
        for rid in a.index
        for name in COLUMNS
        if not values_equal(b.loc[rid, name], a.loc[rid, name])
    }
    assert set(zip(cs.changes["id"], cs.changes["field"], strict=True)) == expected
    assert len(diff(cs.apply(a), b)) == 0
