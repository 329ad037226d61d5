"""The columnar (Arrow) parse gives exactly the frame of the ``json`` path, or steps aside."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import pytest

from crmframe.core.records import RecordsBuilder, records_to_frame
from crmframe.errors import EnvelopeError, InputError, ZohoAPIError

META = {"fields": [
    {"api_name": "Owner", "data_type": "ownerlookup", "json_type": "jsonobject"},
    {"api_name": "Last_Name", "data_type": "text", "json_type": "string"},
    {"api_name": "Employees", "data_type": "integer", "json_type": "integer"},
    {"api_name": "Revenue", "data_type": "currency", "json_type": "double"},
    {"api_name": "Opt_Out", "data_type": "boolean", "json_type": "boolean"},
    {"api_name": "Born", "data_type": "date", "json_type": "string"},
    {"api_name": "Created_Time", "data_type": "datetime", "json_type": "string"},
    {"api_name": "Languages", "data_type": "multiselectpicklist", "json_type": "jsonarray"},
    {"api_name": "Tag", "data_type": "text", "json_type": "jsonarray"},
]}


def record(i: int) -> dict[str, Any]:
    return {
        "id": str(4150868000000000000 + i),
        "Owner": {"id": "4150868000000225013", "name": "P B", **({"email": "p@x.io"} if i % 2
                                                               else {})},
        "Last_Name": None if i % 5 == 0 else f"Name {i}",
        "Employees": None if i % 3 == 0 else i,
        "Revenue": i * 1.5 if i % 4 else i,
        "Opt_Out": i % 2 == 0,
        "Born": None if i % 7 == 0 else "1999-02-28",
        "Created_Time": "2021-05-11T18:22:29+05:30" if i % 2 else "9999-12-31T23:59:59-07:00",
        "Languages": ["English"] if i % 2 else [],
        "Tag": [{"name": "VIP", "id": "1"}] if i % 3 == 0 else [],
        "$approved": True,
        "Unknown": i,
    }


def pages(records: list[dict[str, Any]], size: int = 3) -> list[bytes]:
    out = []
    for start in range(0, len(records), size):
        info = {"more_records": start + size < len(records), "next_page_token": None}
        out.append(json.dumps({"data": records[start:start + size], "info": info}).encode())
    return out


def build(items: list[Any], **kwargs: Any) -> pd.DataFrame:
    builder = RecordsBuilder(META, **kwargs)
    for item in items:
        builder.add(item)
    return builder.to_frame()


@pytest.mark.parametrize("columns", [None, ["Last_Name", "Owner", "Born"]])
def test_bytes_and_dicts_give_the_same_frame(columns: list[str] | None) -> None:
    raw = pages([record(i) for i in range(10)])
    from_bytes = build(raw, columns=columns)
    from_dicts = build([json.loads(p) for p in raw], columns=columns)
    pd.testing.assert_frame_equal(from_bytes, from_dicts)
    assert from_bytes.attrs == from_dicts.attrs
    assert from_bytes.attrs["info"] == {"more_records": False, "next_page_token": None}
    if columns is None:
        assert str(from_bytes["Created_Time"].dtype) == "datetime64[s, UTC]"
        assert from_bytes["Languages"].iloc[1] == ["English"]
        assert from_bytes["Tag"].iloc[0] == [{"name": "VIP", "id": "1"}]
        assert from_bytes["Owner.email"].isna().sum() == 5


def test_a_page_arrow_cannot_read_exactly_takes_the_json_path() -> None:
    records = [record(i) for i in range(9)]
    records[4]["Employees"] = 2.5          # does not fit integer: kept, column object
    records[7]["Last_Name"] = 12           # a number in a text field
    records[8]["Tag"] = [{"name": "x"}, {"id": "2"}]  # objects with different keys
    raw = pages(records)
    from_bytes = build(raw)
    pd.testing.assert_frame_equal(from_bytes, build([json.loads(p) for p in raw]))
    assert from_bytes["Employees"].dtype == object
    assert from_bytes.loc[records[7]["id"], "Last_Name"] == 12
    assert from_bytes.loc[records[8]["id"], "Tag"] == [{"name": "x"}, {"id": "2"}]


def test_impossible_dates_stay_strings_in_an_object_column() -> None:
    records = [record(i) for i in range(3)]
    records[1]["Born"] = "2023-02-30"
    records[2]["Created_Time"] = "2023-04-31T10:00:00+00:00"
    frame = build(pages(records))
    assert frame["Born"].dtype == object
    assert frame["Born"].iloc[1] == "2023-02-30"
    assert frame["Created_Time"].dtype == object
    assert frame["Created_Time"].iloc[2] == "2023-04-31T10:00:00+00:00"


def test_errors_still_raise_from_bytes() -> None:
    error = {"data": [{"code": "INVALID_MODULE", "status": "error", "message": "bad",
                       "details": {}}]}
    with pytest.raises(ZohoAPIError):
        build([json.dumps(error).encode()])
    with pytest.raises(ZohoAPIError):
        build([b'{"code": "INVALID_TOKEN", "status": "error", "message": "no"}'])


def test_pyarrow_backend() -> None:
    raw = pages([record(i) for i in range(6)])
    frame = build(raw, dtype_backend="pyarrow")
    dtypes = frame.dtypes.astype(str).to_dict()
    assert dtypes["Employees"] == "int64[pyarrow]"
    assert dtypes["Last_Name"] == "string[pyarrow]"
    assert dtypes["Created_Time"] == "timestamp[s, tz=UTC][pyarrow]"
    assert dtypes["Languages"] == "list<item: string>[pyarrow]"
    default = build(raw)
    assert frame["Employees"].isna().tolist() == default["Employees"].isna().tolist()
    assert frame["Employees"].dropna().tolist() == default["Employees"].dropna().tolist()
    # Without metadata too (the Python path's columns are converted)
    plain = records_to_frame(json.loads(raw[0]), dtype_backend="pyarrow")
    assert str(plain["Unknown"].dtype) == "int64[pyarrow]"
    with pytest.raises(InputError, match="dtype_backend"):
        RecordsBuilder(dtype_backend="numpy")


@pytest.mark.parametrize("raw", [b"null", b"  null ", b"[]", b"1", b'{"data": null}', b"{}"])
def test_odd_bytes_with_metadata_are_json_path_answers(raw: bytes) -> None:
    # pyarrow's JSON reader crashes the process on a top-level null: it must never see it
    try:
        frame = build([raw])
    except EnvelopeError:
        return
    assert len(frame) == 0


@pytest.mark.parametrize("columns", [None, ["Last_Name", "Owner", "Languages", "Tag"]])
def test_pyarrow_backend_bytes_and_dicts_give_the_same_frame(columns: list[str] | None) -> None:
    raw = pages([record(i) for i in range(10)])
    from_bytes = build(raw, columns=columns, dtype_backend="pyarrow")
    from_dicts = build([json.loads(p) for p in raw], columns=columns, dtype_backend="pyarrow")
    pd.testing.assert_frame_equal(from_bytes, from_dicts)
    assert str(from_bytes["Tag"].dtype) == "list<item: struct<name: string, id: string>>[pyarrow]"
    assert from_bytes["Tag"].iloc[0] == [{"name": "VIP", "id": "1"}]
    assert from_bytes["Languages"].tolist()[:2] == [[], ["English"]]
    # the pages' arrays are wrapped as they are: one chunk per page, nothing copied
    assert from_bytes["Last_Name"].array._pa_array.num_chunks == len(raw)


@pytest.mark.parametrize("backend", ["numpy_nullable", "pyarrow"])
def test_lists_arrow_cannot_hold_exactly_stay_python_objects(backend: str) -> None:
    records = [record(i) for i in range(4)]
    records[1]["Languages"] = [1, 2.5]              # Arrow would make 1 a float
    records[2]["Tag"] = [{"name": "x"}, {"id": "2"}]  # objects with different keys
    raw = pages(records, size=2)
    for items in (raw, [json.loads(p) for p in raw]):
        frame = build(items, dtype_backend=backend)
        assert frame["Languages"].dtype == object
        assert frame["Languages"].iloc[1] == [1, 2.5]
        assert frame["Tag"].dtype == object
        assert frame["Tag"].iloc[2] == [{"name": "x"}, {"id": "2"}]
        assert type(frame["Languages"].iloc[1][0]) is int


@pytest.mark.parametrize("created", [
    "2021-05-11 18:22:29+05:30",   # a space for the T
    "2021-05-11T18:22:29,05:30",   # a comma for the sign
    "2021-05-11T18:22:29+0530",    # no colon in the offset
    "2021-05-11T18:22:29Z",
    "2021-05-11T18:22:29+24:00",   # no such offset
    "２021-05-11T18:22:29+05:30",  # a full-width digit
    "1700-02-29T00:00:00+00:00",   # not a leap year
])
def test_datetimes_off_zoho_format_stay_strings_on_both_paths(created: str) -> None:
    records = [record(i) for i in range(4)]
    records[2]["Created_Time"] = created
    raw = pages(records, size=2)
    from_bytes = build(raw)
    pd.testing.assert_frame_equal(from_bytes, build([json.loads(p) for p in raw]))
    if created.endswith("+24:00"):
        return  # the Python path reads it (NumPy takes any offset): the frames agree above
    assert from_bytes["Created_Time"].dtype == object
    assert from_bytes["Created_Time"].iloc[2] == created


def test_dates_read_from_bytes_match_the_python_path_across_the_calendar() -> None:
    days = ["0001-01-01", "1600-02-29", "1970-01-01", "2024-02-29", "9999-12-31", None]
    records = [{"id": str(i), "Born": day} for i, day in enumerate(days)]
    raw = pages(records)
    frame = build(raw, columns=["Born"])
    pd.testing.assert_frame_equal(frame, build([json.loads(p) for p in raw], columns=["Born"]))
    assert str(frame["Born"].dtype) == "datetime64[s]"
    assert frame["Born"].iloc[1] == pd.Timestamp("1600-02-29")


@pytest.mark.parametrize("backend", ["numpy_nullable", "pyarrow"])
def test_to_frame_release_gives_the_same_frame_and_lets_the_pages_go(backend: str) -> None:
    raw = pages([record(i) for i in range(10)])
    builder = RecordsBuilder(META, dtype_backend=backend)
    for page in [*raw[:2], json.loads(raw[2]), *raw[3:]]:
        builder.add(page)
    kept = builder.to_frame()
    released = builder.to_frame(release=True)
    pd.testing.assert_frame_equal(released, kept)
    assert builder.rows == 0
    assert builder.python_rows == 0
    assert len(builder.to_frame()) == 0
