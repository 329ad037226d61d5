"""Property tests: whatever is thrown at the public core functions, only CrmframeError escapes.

Malformed JSON, random bytes and objects, and structured input that looks like Zoho
envelopes (records with random keys and values, deep nesting, huge ints, NaN-like strings,
``$`` keys, weird info blocks, job and mapping shapes).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crmframe.core.jobs import JobStatus, job_status
from crmframe.core.mappings import frame_to_mappings, mappings_to_frame
from crmframe.core.metadata import fields_to_frame
from crmframe.core.records import RecordsBuilder, records_to_frame
from crmframe.core.results import results_to_frame
from crmframe.errors import CrmframeError

FUZZ = settings(max_examples=int(os.environ.get("CRMFRAME_FUZZ_EXAMPLES", "120")), deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

FIELD_META = {"fields": [
    {"api_name": "Owner", "data_type": "ownerlookup", "json_type": "jsonobject"},
    {"api_name": "Created_Time", "data_type": "datetime", "json_type": "string"},
    {"api_name": "Date_of_Birth", "data_type": "date", "json_type": "string"},
    {"api_name": "No_of_Employees", "data_type": "integer", "json_type": "integer"},
    {"api_name": "Annual_Revenue", "data_type": "currency", "json_type": "double"},
    {"api_name": "Email_Opt_Out", "data_type": "boolean", "json_type": "boolean"},
    {"api_name": "Visitor_Score", "data_type": "bigint", "json_type": "string"},
    {"api_name": "Tag", "data_type": "text", "json_type": "jsonarray"},
    {"api_name": "Projects", "data_type": "subform", "json_type": "jsonarray"},
    {"api_name": "Details", "data_type": "text", "json_type": "jsonobject"},
    {"api_name": "Last_Name", "data_type": "text", "json_type": "string"},
]}

KEYS = ["id", "Total_Count", "Updated_Count", "Failed_Count", "state", "operation", "result",
        "count", "job_id", "file", "total_count", "actual_value", "display_value", "return_type",
        "Owner", "Created_Time", "Date_of_Birth", "No_of_Employees", "Annual_Revenue",
        "Email_Opt_Out", "Visitor_Score", "Tag", "Projects", "Details", "Last_Name", "$state",
        "$approved", "code", "status", "message", "details", "name", "email", "Status",
        "api_name", "index", "format", "module", "find_by", "default_value", "Owner.id", ""]

special_strings = st.sampled_from([
    "NaN", "nan", "None", "null", "NaT", "inf", "-Infinity", "", " ", "4150868000000002175",
    "2021-05-11T18:22:29+05:30", "2021-05-11", "2021-02-30", "9999-12-31T23:59:59-14:00",
    "0000-01-01", "2021-05-11T12:52:29Z", "2021-05-11T12:52:29+99:99", "2021-13-01T00:00:00+00:00",
    "yyyy/MM/dd", "error", "success", "SUCCESS", "INVALID_MODULE", "COMPLETED", "RUNNING",
    "2021-05-11\n", "\x00", "💥",
])
scalars = st.one_of(
    st.none(), st.booleans(),
    st.integers(), st.integers(min_value=2**62, max_value=2**200), st.integers(max_value=-(2**63)),
    st.sampled_from([float("inf"), float("-inf"), float("nan")]),
    st.floats(), st.text(max_size=12), special_strings,
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=4),
                            st.dictionaries(st.one_of(st.sampled_from(KEYS), st.text(max_size=6)),
                                            inner, max_size=5)),
    max_leaves=25,
)
lookups = st.one_of(st.none(), st.fixed_dictionaries(
    {}, optional={"id": st.one_of(special_strings, scalars), "name": scalars,
                  "email": scalars, "zuid": scalars}))
records = st.dictionaries(st.sampled_from(KEYS), st.one_of(json_values, lookups), max_size=10)
infos = st.one_of(json_values, st.dictionaries(
    st.sampled_from(["page", "per_page", "count", "more_records", "next_page_token"]),
    json_values, max_size=5))
mappings = st.dictionaries(st.sampled_from(["api_name", "index", "format", "find_by", "module",
                                            "default_value", "parent_column_index", "resource"]),
                           st.one_of(json_values, st.integers(-2, 5)), max_size=6)
resources = st.dictionaries(
    st.sampled_from(["module", "field_mappings", "status", "file", "type", "code"]),
    st.one_of(json_values, st.lists(mappings, max_size=4),
              st.fixed_dictionaries({"api_name": scalars})),
    max_size=5)
fields = st.dictionaries(
    st.sampled_from(["api_name", "data_type", "json_type", "length", "pick_list_values",
                     "lookup", "formula", "unique", "read_only", "mass_update", "id",
                     "field_label", "decimal_place", "rollup_summary", "subform"]),
    st.one_of(json_values, st.sampled_from(["lookup", "datetime", "integer", "jsonarray",
                                            "formula", "Owner", "id"])),
    max_size=8)
envelopes = st.dictionaries(
    st.sampled_from(["data", "info", "resource", "fields", "status", "code", "message",
                     "details", "id", "operation", "result"]),
    st.one_of(json_values, infos, st.lists(records, max_size=6), st.lists(resources, max_size=3),
              st.lists(fields, max_size=4), st.lists(st.one_of(records, json_values), max_size=3)),
    max_size=6)


class FakeResponse:
    """Shaped like requests.Response: what load_envelope looks for."""

    def __init__(self, status_code: Any, content: Any) -> None:
        self.status_code = status_code
        self.content = content


def _dump(value: Any) -> str:
    return json.dumps(value, default=str)


anything = st.one_of(
    envelopes,
    json_values,
    envelopes.map(_dump),
    envelopes.map(lambda e: _dump(e).encode()),
    st.binary(max_size=40),
    st.text(max_size=40),
    st.builds(FakeResponse, st.one_of(st.sampled_from([200, 204, 207, 304, 400, 500]),
                                      json_values),
              st.one_of(st.binary(max_size=20), envelopes.map(lambda e: _dump(e).encode()),
                        json_values)),
    st.builds(object),
    st.just(float("nan")),
    st.lists(records, max_size=4),
)


def survives(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """Call; a CrmframeError is a correct answer. Anything else fails the test."""
    try:
        return function(*args, **kwargs)
    except CrmframeError as exc:
        if not str(exc):
            raise AssertionError(f"{type(exc).__name__} without a message") from exc
        return exc


@FUZZ
@given(anything)
def test_records_to_frame_only_raises_crmframe_errors(value: Any) -> None:
    for kwargs in ({}, {"fields": FIELD_META}, {"keep_system_keys": True}):
        out = survives(records_to_frame, value, **kwargs)
        if isinstance(out, pd.DataFrame):
            assert out.index.name == "id"
            assert str(out.index.dtype) == "string"


@FUZZ
@given(st.lists(st.one_of(envelopes, st.lists(records, max_size=3), json_values), max_size=4))
def test_builder_pages_only_raise_crmframe_errors(pages: list[Any]) -> None:
    builder = RecordsBuilder(FIELD_META, columns=["Owner", "Created_Time"])
    for page in pages:
        out = survives(builder.add, page)
        assert isinstance(out, (int, CrmframeError))
    frame = builder.to_frame()
    assert len(frame) == builder.rows
    assert "Created_Time" in frame.columns
    # a lookup is flattened, or kept whole when a value is not an object (never lost)
    assert {"Owner.id", "Owner.name"} <= set(frame.columns) or "Owner" in frame.columns


@FUZZ
@given(anything, st.one_of(st.lists(fields, max_size=4), envelopes, json_values))
def test_fields_only_raise_crmframe_errors(value: Any, meta: Any) -> None:
    out = survives(fields_to_frame, value)
    assert isinstance(out, (pd.DataFrame, CrmframeError))
    out = survives(records_to_frame, {"data": [{"id": "1", "Owner": None}]}, meta)
    assert isinstance(out, (pd.DataFrame, CrmframeError))


@FUZZ
@given(anything, st.one_of(st.none(), json_values, st.lists(records, max_size=3)))
def test_results_to_frame_only_raises_crmframe_errors(value: Any, sent: Any) -> None:
    out = survives(results_to_frame, value, records=sent)
    if isinstance(out, pd.DataFrame):
        assert out.index.name == "position"


@FUZZ
@given(st.one_of(anything, st.builds(lambda r: {"resource": r}, st.lists(resources, max_size=3))))
def test_mappings_only_raise_crmframe_errors(value: Any) -> None:
    out = survives(mappings_to_frame, value)
    if isinstance(out, pd.DataFrame):
        back = survives(frame_to_mappings, out, by_module=True)
        assert isinstance(back, (dict, CrmframeError))


frames = st.integers(min_value=0, max_value=4).flatmap(
    lambda n: st.dictionaries(
        st.sampled_from(["api_name", "index", "format", "find_by", "module", "lookup_module",
                         "default_value", "resource", "x"]),
        st.lists(st.one_of(scalars, json_values), min_size=n, max_size=n),
        max_size=6,
    ).map(lambda cols: pd.DataFrame({k: pd.Series(v, dtype=object) for k, v in cols.items()}))
)


@FUZZ
@given(st.one_of(frames, anything), st.booleans())
def test_frame_to_mappings_only_raises_crmframe_errors(df: Any, by_module: bool) -> None:
    out = survives(frame_to_mappings, df, by_module=by_module)
    assert isinstance(out, (list, dict, CrmframeError))


@FUZZ
@given(anything, st.one_of(st.none(), scalars))
def test_job_status_only_raises_crmframe_errors(value: Any, job_id: Any) -> None:
    out = survives(job_status, value, job_id=job_id)
    assert isinstance(out, (JobStatus, CrmframeError))


# Ints beyond 4300 digits cannot be str()-ed or repr()-ed (Python 3.11+), nor can 100,000-deep
# nestings (RecursionError); hypothesis cannot
# print them either, so they get their own explicit cases.
HUGE = 10**5000


def _deep(depth: int = 100_000) -> Any:
    value: Any = "bottom"
    for _ in range(depth):
        value = [value]
    return value


DEEP = _deep()
HUGE_CASES: list[tuple[Callable[..., Any], tuple[Any, ...]]] = [
    (records_to_frame, ({"data": [{"id": HUGE}]},)),
    (records_to_frame, ({"data": [{"id": "1", "n": HUGE, "Owner": {"id": HUGE}}]},)),
    (records_to_frame, ({"data": [{"id": "1", "Visitor_Score": HUGE}]}, FIELD_META)),
    (records_to_frame, ({"data": [{HUGE: 1}]},)),
    (records_to_frame, ({"data": [{"id": "1"}]}, {"fields": [{"api_name": "a", "id": HUGE}]})),
    (records_to_frame, ({"data": [], "info": {"count": HUGE}},)),
    (records_to_frame, ({"data": [{"code": "X", "status": "error", "message": "m",
                                   "details": {"n": HUGE}}]},)),
    (records_to_frame, ({"code": "INVALID_DATA", "status": "error", "details": {"n": HUGE}},)),
    (records_to_frame, ({"code": "INVALID_DATA", "status": "error", "details": {1: 2, "a": 3}},)),
    (records_to_frame, ({"data": [{"id": "1", "deep": DEEP, "Owner": {"id": "2", "x": DEEP}}],
                         "info": {"deep": DEEP}},)),
    (records_to_frame, ({"data": [{"code": "X", "status": "error", "message": "m",
                                   "details": {"deep": DEEP}}]},)),
    (records_to_frame, ("[" * 100_000 + "]" * 100_000,)),
    (results_to_frame, ({"data": [{"code": "X", "status": "error", "details": {"d": DEEP}}]},)),
    (fields_to_frame, ({"fields": [{"api_name": "a", "length": HUGE, "field_label": HUGE}]},)),
    (fields_to_frame, ({"fields": [{"api_name": "a", "data_type": "picklist",
                                    "pick_list_values": [{"actual_value": HUGE}]}]},)),
    (fields_to_frame, ({"fields": [{"api_name": "a", "length": float("inf")}]},)),
    (results_to_frame, ({"data": [{"code": "SUCCESS", "status": "success",
                                   "details": {"id": HUGE, "x": HUGE}}]},)),
    (results_to_frame, ({"data": [{"code": "SUCCESS", "status": "success"}]}, [HUGE])),
    (mappings_to_frame, ({"resource": [{"module": HUGE, "field_mappings": []}]},)),
    (mappings_to_frame, ({"resource": [{"field_mappings": [{"api_name": HUGE}]}]},)),
    (mappings_to_frame, ({"resource": [{"field_mappings": [{"api_name": "a", "index": HUGE}]}]},)),
    (frame_to_mappings, (pd.DataFrame({"api_name": [HUGE]}, dtype=object),)),
    (frame_to_mappings, (pd.DataFrame({"api_name": ["a"], "index": [HUGE]}, dtype=object),)),
    (job_status, ({"data": [{"Status": "RUNNING", "Total_Count": HUGE}]},)),
    (job_status, ({"data": [{"Status": "RUNNING", "Total_Count": float("inf")}]},)),
    (job_status, ({"status": "COMPLETED", "id": HUGE, "resource": []},)),
    (job_status, ({"data": [{"state": "COMPLETED", "operation": "read",
                             "result": {"count": float("-inf")}}]},)),
]


@pytest.mark.parametrize(("function", "args"), HUGE_CASES,
                         ids=[f"{f.__name__}-{n}" for n, (f, _) in enumerate(HUGE_CASES)])
def test_huge_deep_and_infinite_values(function: Callable[..., Any],
                                              args: tuple[Any, ...]) -> None:
    out = survives(function, *args)
    assert isinstance(out, (pd.DataFrame, list, dict, JobStatus, CrmframeError))


# -- what analysts' frames and Python-built envelopes hold ----------------------------------
# Non-string column labels (read_csv(header=None), pivots), pd.NA and numpy values where JSON
# would have null and numbers, numpy arrays as ids, huge strings, bytes that are not UTF-8.

from crmframe.core.diff import diff  # noqa: E402
from crmframe.core.plan import make_plan  # noqa: E402
from crmframe.core.validate import find_problems  # noqa: E402

python_scalars = st.one_of(
    scalars,
    st.just(pd.NA), st.just(pd.NaT), st.just(np.nan),
    st.integers(-(2**40), 2**40).map(np.int64), st.floats(allow_nan=True).map(np.float64),
    st.binary(max_size=8).map(lambda b: b"\xff\xfe" + b),  # never valid UTF-8
    st.lists(st.integers(0, 9), max_size=3).map(np.array),
)
python_values = st.recursive(
    python_scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3),
                            st.dictionaries(st.sampled_from(KEYS), inner, max_size=4)),
    max_leaves=15,
)
labels = st.one_of(
    st.sampled_from(["City", "Phone", "Lead_Status", "Owner.id", "Owner.name", "Modified_Time",
                     "id", "No_of_Employees", "Annual_Revenue"]),
    st.integers(-2, 5), st.floats(allow_nan=True), st.none(),
    st.tuples(st.text(max_size=3), st.integers(0, 2)), st.text(max_size=5),
)
id_values = st.one_of(
    st.sampled_from(["4876876000000624001", "4876876000000624002", "1", "", "x"]),
    st.integers(0, 3), st.just(pd.NA), st.none(), st.just(np.int64(4876876000000624001)),
)


@st.composite
def analyst_frames(draw: Any) -> tuple[pd.DataFrame, pd.DataFrame]:
    n = draw(st.integers(0, 4))
    columns = draw(st.lists(labels, max_size=5))
    ids = draw(st.one_of(
        st.lists(id_values, min_size=n, max_size=n),
        st.just(np.arange(n)),  # a numpy array as the ids
        st.just(np.array([f"48768760000006240{i:02d}" for i in range(n)])),
    ))
    data = [draw(st.lists(python_scalars, min_size=n, max_size=n)) for _ in columns]
    as_index = draw(st.booleans())

    def frame(cells: list[list[Any]]) -> pd.DataFrame:
        out = pd.DataFrame({i: pd.Series(v, dtype=object) for i, v in enumerate(cells)},
                           index=pd.RangeIndex(n))
        out.columns = pd.Index(columns, dtype=object, tupleize_cols=False)
        if as_index:
            out.index = pd.Index(list(ids), dtype=object, name="id")
        elif "id" not in columns:
            out.insert(0, "id", ids)
        return out

    edited = [list(column) for column in data]
    if columns and n:
        edited[draw(st.integers(0, len(columns) - 1))][draw(st.integers(0, n - 1))] = \
            draw(python_scalars)
    return frame(data), frame(edited)


@FUZZ
@given(analyst_frames(), st.sampled_from([None, FIELD_META]))
def test_diff_validate_plan_only_raise_crmframe_errors(
    frames: tuple[pd.DataFrame, pd.DataFrame], meta: Any
) -> None:
    original, edited = frames
    changes = survives(diff, original, edited, fields=meta)
    if isinstance(changes, CrmframeError):
        return
    problems = survives(find_problems, changes, meta or {"fields": []})
    assert isinstance(problems, (pd.DataFrame, CrmframeError))
    plan = survives(make_plan, changes, meta or {"fields": []}, "Leads")
    assert not isinstance(plan, (list, dict))


def test_diff_of_a_csv_read_without_header_names_its_columns() -> None:
    import io

    text = "4876876000000624001,Paris,+33 1\n4876876000000624002,Lyon,+33 2\n"
    original = pd.read_csv(io.StringIO(text), header=None, dtype=str).set_index(0)
    original.index.name = "id"
    edited = original.copy()
    edited.iloc[0, 0] = "Nice"
    changes = diff(original, edited)
    assert changes.changes[["id", "field", "new"]].values.tolist() == [
        ["4876876000000624001", "1", "Nice"]]
    clash = pd.DataFrame({"id": ["1"], 1: ["a"], "1": ["b"]})
    with pytest.raises(CrmframeError, match="more than once"):
        diff(clash, clash)


@FUZZ
@given(python_values, st.one_of(st.none(), python_scalars))
def test_job_status_with_python_values_only_raises_crmframe_errors(
    value: Any, job_id: Any
) -> None:
    for envelope in (value, {"data": [value]}, {"data": [{"Status": "RUNNING", "x": value}]},
                     {"status": value, "resource": value, "id": value},
                     {"data": [{"state": value, "operation": "read", "result": value}]},
                     {"code": value, "status": value, "details": value}):
        out = survives(job_status, envelope, job_id=job_id)
        assert isinstance(out, (JobStatus, CrmframeError))


def test_job_status_reads_na_counts_as_not_reported() -> None:
    status = job_status({"data": [{"Status": "RUNNING", "Total_Count": pd.NA,
                                   "Updated_Count": np.int64(3), "Failed_Count": np.nan}]})
    assert (status.total, status.updated, status.failed) == (None, 3, None)
    assert job_status({"status": "COMPLETED", "id": pd.NA, "resource": []}).job_id is None


@FUZZ
@given(python_values)
def test_pure_functions_with_python_values_only_raise_crmframe_errors(value: Any) -> None:
    envelope = {"data": [{"id": "1", "Last_Name": value, "Owner": value}], "info": value}
    for function, args in ((records_to_frame, (envelope,)),
                           (records_to_frame, (envelope, FIELD_META)),
                           (records_to_frame, ({"data": [{"id": value}]},)),
                           (results_to_frame, ({"data": [value]},)),
                           (results_to_frame, ({"data": [{"code": "SUCCESS", "status": "success",
                                                          "details": value}]}, value)),
                           (fields_to_frame, ({"fields": [{"api_name": value, "data_type": value,
                                                           "pick_list_values": value}]},)),
                           (mappings_to_frame, ({"resource": [{"module": value,
                                                               "field_mappings": value}]},))):
        out = survives(function, *args)
        assert isinstance(out, (pd.DataFrame, CrmframeError))


def _deep_picklist(depth: int) -> Any:
    value: Any = "Hot"
    for _ in range(depth):
        value = {"actual_value": value, "display_value": [value]}
    return value


TEN_MB = "é" * 5_000_000  # 10 MB once encoded
NOT_UTF8 = b"\xff\xfe\xfa\xc3\x28" * 4
ODD_CASES: list[tuple[Callable[..., Any], tuple[Any, ...]]] = [
    (fields_to_frame, ({"fields": [{"api_name": "a", "data_type": "picklist",
                                    "pick_list_values": [_deep_picklist(100_000)]}]},)),
    (fields_to_frame, ({"fields": [{"api_name": "a", "data_type": "picklist",
                                    "pick_list_values": [{"actual_value": DEEP}]}]},)),
    (fields_to_frame, ({"fields": [{"api_name": TEN_MB, "data_type": "text"}]},)),
    (fields_to_frame, (NOT_UTF8,)),
    (records_to_frame, (NOT_UTF8,)),
    (records_to_frame, ({"data": [{"id": "1", "Last_Name": TEN_MB}]}, FIELD_META)),
    (records_to_frame, ({"data": [{"id": np.array(["1", "2"])}]},)),
    (records_to_frame, ({"data": [{"id": NOT_UTF8}]},)),
    (records_to_frame, (('{"data": [{"id": "1", "Last_Name": "' + TEN_MB + '"}]}').encode(),)),
    (results_to_frame, (NOT_UTF8,)),
    (results_to_frame, ({"data": [{"code": "SUCCESS", "status": "success",
                                   "details": {"id": "1"}}]}, np.array(["1"]))),
    (results_to_frame, ({"data": [{"code": TEN_MB, "status": "error", "message": TEN_MB}]},)),
    (job_status, (NOT_UTF8,)),
    (job_status, ({"data": [{"Status": "RUNNING"}]}, np.array(["1"]))),
    (job_status, ({"data": [{"Status": TEN_MB}]},)),
    (mappings_to_frame, (NOT_UTF8,)),
    (frame_to_mappings, (pd.DataFrame({0: ["a"], 1: [1]}),)),
    (diff, (pd.DataFrame({"id": np.array([1, 2]), "A": ["a", "b"]}),
            pd.DataFrame({"id": np.array([1, 2]), "A": ["a", TEN_MB]}))),
    (diff, (pd.DataFrame({"id": ["1"], "A": [NOT_UTF8]}), pd.DataFrame({"id": ["1"], "A": [b""]}))),
    (diff, (pd.DataFrame({"id": ["1"], np.nan: ["a"], None: ["b"]}),
            pd.DataFrame({"id": ["1"], np.nan: ["b"], None: ["b"]}))),
]


@pytest.mark.parametrize(("function", "args"), ODD_CASES,
                         ids=[f"{f.__name__}-{n}" for n, (f, _) in enumerate(ODD_CASES)])
def test_deep_picklists_huge_strings_numpy_ids_and_bytes(function: Callable[..., Any],
                                                         args: tuple[Any, ...]) -> None:
    out = survives(function, *args)
    assert not isinstance(out, BaseException) or isinstance(out, CrmframeError)
