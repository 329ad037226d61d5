"""The columnar kernels agree with the per-cell rules they replace."""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from crmframe.core.codecs import encode_value
from crmframe.core.diff import _changed, values_equal
from crmframe.core.fieldtypes import Kind
from crmframe.core.plan import _encode_column
from crmframe.core.results import ResultsBuilder, results_to_frame

ITEMS: list[Any] = ["English", "Spanish", "Tamil", None, ""]


def random_list(rng: random.Random) -> Any:
    roll = rng.random()
    if roll < 0.1:
        return None
    if roll < 0.2:
        return []
    return [rng.choice(ITEMS) for _ in range(rng.randrange(1, 4))]


def object_series(values: list[Any]) -> pd.Series:
    array = np.empty(len(values), dtype=object)
    array[:] = values
    return pd.Series(array, dtype=object)


def reference(a: list[Any], b: list[Any], kind: Kind | None) -> list[bool]:
    return [not values_equal(x, y, kind) for x, y in zip(a, b, strict=True)]


@pytest.mark.parametrize("seed", range(5))
def test_list_columns_compare_as_values_equal_does(seed: int) -> None:
    rng = random.Random(seed)
    a = [random_list(rng) for _ in range(400)]
    # re-read lists: equal but not the same objects, some edited
    b = [None if x is None else list(x) for x in a]
    for i in rng.sample(range(400), 60):
        b[i] = random_list(rng)
    got = _changed(object_series(a), object_series(b), Kind.LIST, None).tolist()
    assert got == reference(a, b, Kind.LIST)
    assert any(got)
    assert not all(got)


def test_float_lists_round_like_values_equal() -> None:
    a = [[1.0000000001, 2.5]] * 100 + [[1.0, 2.0]] * 100
    b = [[1.0, 2.5]] * 100 + [[1.0, 2.5]] * 100
    got = _changed(object_series(a), object_series(b), Kind.LIST, None).tolist()
    assert got == reference(a, b, Kind.LIST) == [False] * 100 + [True] * 100


def test_lists_of_objects_keep_the_per_cell_rules() -> None:
    # {"a": 1} and {"a": 1, "b": None} differ (Arrow would fill the absent key with null)
    a = [[{"a": 1}]] * 100
    b = [[{"a": 1, "b": None}]] * 100
    assert _changed(object_series(a), object_series(b), Kind.SUBFORM, None).all()


def test_mixed_item_types_keep_the_per_cell_rules() -> None:
    a = [[1]] * 100
    b = [[True]] * 100
    assert _changed(object_series(a), object_series(b), Kind.LIST, None).all()


def test_bools_inside_lists_are_never_taken_for_numbers() -> None:
    # Python has [True] == [1] and [1.0] == [True]; values_equal does not
    a = [[True], ["x", 1.0], [False, "y"]] * 40
    b = [[1], ["x", True], [0, "y"]] * 40
    assert _changed(object_series(a), object_series(b), Kind.LIST, None).all()
    assert _changed(object_series(b), object_series(a), Kind.LIST, None).all()


POOL: list[Any] = [
    None, "", "a", 1, 1.0, 1.0000000001, True, False, 0, ["a"], ("a",), ["a", None], [""],
    [None], [1], [1.0], [True], [], [["a"]], {"a": 1}, pd.Timestamp("2024-01-01 10:00"),
    pd.Timestamp("2024-01-01 10:00", tz="UTC"), pd.Timestamp("2024-01-01 11:00", tz="Europe/Paris"),
    "2024-01-01", np.int64(1), float("nan"),
]


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("kind", [Kind.LIST, Kind.TEXT, Kind.DATE, Kind.DATETIME, Kind.INTEGER])
def test_mixed_object_columns_agree_with_values_equal(seed: int, kind: Kind) -> None:
    # re-read copies (equal, not identical) beside real edits, over many value types
    rng = random.Random(seed)
    pool = POOL if seed % 2 else [v for v in POOL if not isinstance(v, (bool, pd.Timestamp))]
    a = [rng.choice(pool) for _ in range(300)]
    b = [list(x) if isinstance(x, list) else x for x in a]
    for i in rng.sample(range(300), 40):
        b[i] = rng.choice(pool)
    got = _changed(object_series(a), object_series(b), kind, None).tolist()
    assert got == reference(a, b, kind)


@pytest.mark.parametrize("storage", ["pyarrow", "python"])
def test_string_columns_by_storage(storage: str) -> None:
    a = pd.Series(["a", None, "c", None, "e", ""], dtype=pd.StringDtype(storage))
    b = pd.Series(["a", "b", None, "", "x", None], dtype=pd.StringDtype(storage))
    assert _changed(a, b, Kind.TEXT, None).tolist() == [False, True, True, False, True, False]
    arrow = pd.Series(["a", None, "c"], dtype=pd.ArrowDtype(pa.string()))
    other = pd.Series(["a", None, "d"], dtype="string[pyarrow]")
    assert _changed(arrow, other, Kind.TEXT, None).tolist() == [False, False, True]


@pytest.mark.parametrize(("kind", "values"), [
    (Kind.TEXT, ["a", None, "b", pd.NA]),
    (Kind.INTEGER, [1, None, 3, np.int64(4)]),
    (Kind.FLOAT, [1, 2.5, None, float("nan")]),
    (Kind.BOOLEAN, [True, None, False]),
    (Kind.DATETIME, [pd.Timestamp("2024-01-01 10:00", tz="UTC"), pd.NaT]),
    (Kind.LIST, [["a"], None, ("b", "c")]),
])
def test_encode_column_is_encode_value_per_cell(kind: Kind, values: list[Any]) -> None:
    encoded, missing = _encode_column(values, kind)
    assert encoded == [encode_value(v, kind) for v in values]
    assert missing == [i for i, v in enumerate(values) if encode_value(v, kind) is None]


def test_results_builder_matches_results_to_frame_per_call() -> None:
    answers = [
        {"data": [{"code": "SUCCESS", "status": "success", "message": "ok",
                   "details": {"id": "1", "Modified_Time": "2024-01-01T10:00:00+05:30",
                               "Modified_By": {"id": "9", "name": "P"}}},
                  {"code": "INVALID_DATA", "status": "error", "message": "bad",
                   "details": {"api_name": "Phone"}}]},
        {"data": [{"code": "SUCCESS", "status": "success", "message": "ok",
                   "details": {"id": "3", "job_id": "554023000000506003"}}]},
    ]
    sent = [["1", "2"], ["3"]]
    builder = ResultsBuilder()
    for call, (answer, ids) in enumerate(zip(answers, sent, strict=True)):
        builder.add(answer, records=ids, call=call, fields=lambda i: [f"F{i}"])
    builder.add_rows(["4", "5"], status="skipped", code="CONFLICT", message=["x", "y"],
                     route="put")
    frame = builder.to_frame()
    one_by_one = pd.concat([results_to_frame(a, records=ids) for a, ids in
                            zip(answers, sent, strict=True)], ignore_index=True)
    head = frame.iloc[:3].drop(columns=["call", "fields", "route"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(head, one_by_one.reset_index(drop=True), check_dtype=False)
    assert frame["id"].tolist() == ["1", "2", "3", "4", "5"]
    assert frame["call"].tolist() == [0, 0, 1, pd.NA, pd.NA]
    assert frame["fields"].tolist()[:3] == [["F1"], ["F2"], ["F3"]]
    assert frame["message"].tolist()[3:] == ["x", "y"]
    assert frame["route"].tolist() == [pd.NA, pd.NA, pd.NA, "put", "put"]
    assert str(frame["job_id"].dtype) == "string"
