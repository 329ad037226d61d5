"""Value codecs: decode raw JSON values to typed columns, encode frame cells back to JSON."""

from __future__ import annotations

import math
from datetime import date, datetime, timedelta, timezone
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crmframe.core.codecs import (
    decode_column,
    dtype_for,
    encode_series,
    encode_value,
    infer_kind,
    is_missing,
    split_objects,
)
from crmframe.core.fieldtypes import DATE_RE, DATETIME_RE, Kind
from crmframe.errors import ValidationError

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def test_dtype_for_every_kind() -> None:
    expected = {
        Kind.TEXT: "string", Kind.ID: "string", Kind.INTEGER: "Int64", Kind.FLOAT: "Float64",
        Kind.BOOLEAN: "boolean", Kind.DATE: "datetime64[s]", Kind.DATETIME: "datetime64[s, UTC]",
        Kind.LOOKUP: "object", Kind.OBJECT: "object", Kind.LIST: "object", Kind.SUBFORM: "object",
    }
    assert {k: dtype_for(k) for k in Kind} == expected
    for kind in Kind:  # each one is a dtype pandas accepts
        assert pd.Series([], dtype=dtype_for(kind)).dtype == pd.api.types.pandas_dtype(
            dtype_for(kind)
        )


def test_decode_datetime_keeps_the_instant_across_offsets() -> None:
    s = decode_column(
        ["2021-05-11T18:22:29+05:30", "2021-05-11T05:52:29-07:00", None,
         "2021-05-11T12:52:29+00:00"],
        Kind.DATETIME,
    )
    assert str(s.dtype) == "datetime64[s, UTC]"
    instant = pd.Timestamp("2021-05-11 12:52:29", tz="UTC")
    assert s[0] == instant
    assert s[1] == instant
    assert s[3] == instant
    assert s.isna().tolist() == [False, False, True, False]


def test_decode_datetime_beyond_the_nanosecond_range() -> None:
    s = decode_column(["9999-12-31T23:59:59+00:00", "0001-01-01T00:00:00+00:00"], Kind.DATETIME)
    assert str(s.dtype) == "datetime64[s, UTC]"
    assert s[0].year == 9999
    assert s[1].year == 1


def test_decode_date_is_naive_midnight() -> None:
    s = decode_column(["2024-02-29", None, "2262-04-12"], Kind.DATE)
    assert str(s.dtype) == "datetime64[s]"
    assert s[0] == pd.Timestamp("2024-02-29")
    assert pd.isna(s[1])
    assert s[2].year == 2262


@pytest.mark.parametrize(
    ("values", "kind"),
    [
        (["2021-02-30"], Kind.DATE),  # not a calendar date
        (["2021-05-11T12:52:29Z"], Kind.DATETIME),  # not Zoho's format
        (["2021-05-11 12:52:29+00:00"], Kind.DATETIME),
        ([1, "a"], Kind.INTEGER),
        ([2**70], Kind.INTEGER),  # beyond Int64: never a wrong number
        ([True], Kind.INTEGER),
        (["1.5"], Kind.FLOAT),
        ([1], Kind.TEXT),
        ([1], Kind.BOOLEAN),
        ([1.5], Kind.ID),
    ],
)
def test_values_that_do_not_fit_stay_untouched_in_object(values: list[Any], kind: Kind) -> None:
    s = decode_column(values, kind)
    assert s.dtype == object
    assert s.tolist() == values


def test_decode_integer_and_float_and_bool() -> None:
    assert decode_column([1, None, 3.0], Kind.INTEGER).tolist() == [1, pd.NA, 3]
    assert str(decode_column([1, None, 3.0], Kind.INTEGER).dtype) == "Int64"
    f = decode_column([1, 2.5, None, float("nan")], Kind.FLOAT)
    assert str(f.dtype) == "Float64"
    assert f[:2].tolist() == [1.0, 2.5]
    assert f[2:].isna().all()
    b = decode_column([True, None, False], Kind.BOOLEAN)
    assert str(b.dtype) == "boolean"
    assert b.tolist() == [True, pd.NA, False]


def test_decode_ids_are_exact_strings() -> None:
    s = decode_column(["4150868000000002175", None, 4150868000000002176], Kind.ID)
    assert str(s.dtype) == "string"
    assert s.tolist() == ["4150868000000002175", pd.NA, "4150868000000002176"]


def test_lists_stay_python_lists() -> None:
    s = decode_column([["English", "Spanish"], None, []], Kind.LIST)
    assert s.dtype == object
    assert s[0] == ["English", "Spanish"]
    assert s[1] is None
    assert s[2] == []
    # equal-length lists must not turn into a 2-D array
    s2 = decode_column([["a", "b"], ["c", "d"]], Kind.LIST)
    assert len(s2) == 2
    assert s2[1] == ["c", "d"]


def test_infer_kind_rules() -> None:
    assert infer_kind([None, None]) is None
    assert infer_kind([1, None]) is Kind.INTEGER
    assert infer_kind([1, 2.5]) is Kind.FLOAT
    assert infer_kind([True, False]) is Kind.BOOLEAN
    assert infer_kind(["4150868000000002175", "12"]) is Kind.TEXT
    assert infer_kind(["2021-05-11T12:52:29+05:30", None]) is Kind.DATETIME
    assert infer_kind(["2021-05-11", "2021-05-12"]) is Kind.DATE
    assert infer_kind(["2021-05-11", "soon"]) is Kind.TEXT
    assert infer_kind([{"id": "1"}]) is Kind.OBJECT
    assert infer_kind([["a"]]) is Kind.LIST
    assert infer_kind([True, 1]) is None
    assert infer_kind([{"id": "1"}, "x"]) is None


def test_split_objects() -> None:
    assert split_objects([{"id": "1"}, None]) == {"id": ["1", None]}
    assert split_objects([{"id": "1"}, "x"]) is None


@pytest.mark.parametrize(
    ("value", "kind", "expected"),
    [
        (pd.Timestamp("2021-05-11 12:52:29", tz="UTC"), Kind.DATETIME, "2021-05-11T12:52:29+00:00"),
        (pd.Timestamp("2021-05-11 18:22:29.999", tz="Asia/Kolkata"), Kind.DATETIME,
         "2021-05-11T12:52:29+00:00"),
        # a naive datetime is taken to be UTC
        (datetime(2021, 5, 11, 12, 52, 29), Kind.DATETIME, "2021-05-11T12:52:29+00:00"),
        (datetime(2021, 5, 11, 5, 52, 29, tzinfo=timezone(timedelta(hours=-7))), Kind.DATETIME,
         "2021-05-11T12:52:29+00:00"),
        (np.datetime64("2021-05-11T12:52:29"), Kind.DATETIME, "2021-05-11T12:52:29+00:00"),
        ("2021-05-11T18:22:29+05:30", Kind.DATETIME, "2021-05-11T18:22:29+05:30"),
        (pd.Timestamp("2021-05-11"), Kind.DATE, "2021-05-11"),
        (date(2021, 5, 11), Kind.DATE, "2021-05-11"),
        (np.int64(7), Kind.INTEGER, 7),
        (7.0, Kind.INTEGER, 7),
        (np.float64(2.5), Kind.FLOAT, 2.5),
        (3, Kind.FLOAT, 3.0),
        (np.bool_(True), Kind.BOOLEAN, True),
        ("4150868000000002175", Kind.ID, "4150868000000002175"),
        (4150868000000002175, Kind.ID, "4150868000000002175"),
        ("4150868000000002175", Kind.LOOKUP, {"id": "4150868000000002175"}),
        ({"id": "1", "name": "A"}, Kind.LOOKUP, {"id": "1"}),
        (("English", "Spanish"), Kind.LIST, ["English", "Spanish"]),
        (np.array(["a", "b"], dtype=object), Kind.LIST, ["a", "b"]),
        ([{"Project": "X", "Hours": np.int64(3)}], Kind.SUBFORM, [{"Project": "X", "Hours": 3}]),
    ],
)
def test_encode_value(value: Any, kind: Kind, expected: Any) -> None:
    out = encode_value(value, kind)
    assert out == expected
    assert type(out) is type(expected)


@pytest.mark.parametrize("missing", [None, pd.NA, float("nan"), pd.NaT, np.datetime64("NaT"),
                                     np.float64("nan")])
@pytest.mark.parametrize("kind", list(Kind))
def test_missing_encodes_as_null(missing: Any, kind: Kind) -> None:
    assert encode_value(missing, kind) is None
    assert is_missing(missing)


@pytest.mark.parametrize(
    ("value", "kind"),
    [
        (5, Kind.TEXT),  # Zoho rejects numbers in text fields
        (1.5, Kind.INTEGER),
        (True, Kind.INTEGER),
        ("12", Kind.INTEGER),
        ("yes", Kind.BOOLEAN),
        (1.0, Kind.ID),  # a float id has lost its digits already
        ("2021-05-11T12:52:29Z", Kind.DATETIME),
        ("2021-05-11T12:52:29.123+00:00", Kind.DATETIME),
        ("11/05/2021", Kind.DATE),
        ({"name": "no id"}, Kind.LOOKUP),
        ("a;b", Kind.LIST),
        ([1, 2], Kind.SUBFORM),
        (object(), Kind.FLOAT),
    ],
)
def test_encode_value_refuses_what_zoho_would_refuse(value: Any, kind: Kind) -> None:
    with pytest.raises(ValidationError, match=kind.value):
        encode_value(value, kind)


def test_encode_series_datetime_is_vectorised_and_exact() -> None:
    s = decode_column(["2021-05-11T18:22:29+05:30", None, "9999-12-31T23:59:59+00:00"],
                      Kind.DATETIME)
    assert encode_series(s, Kind.DATETIME) == [
        "2021-05-11T12:52:29+00:00", None, "9999-12-31T23:59:59+00:00"]
    naive_ms = pd.Series(pd.to_datetime(["2021-05-11 12:52:29.900", None]))
    assert encode_series(naive_ms, Kind.DATETIME) == ["2021-05-11T12:52:29+00:00", None]
    assert encode_series(naive_ms, Kind.DATE) == ["2021-05-11", None]


def test_encode_series_rejects_years_zoho_cannot_store() -> None:
    s = decode_column(["9999-12-31T23:59:59-05:00"], Kind.DATETIME)  # 10000-01-01 in UTC
    with pytest.raises(ValidationError, match="1-9999"):
        encode_series(s, Kind.DATETIME)


def test_encode_series_typed_fast_paths() -> None:
    assert encode_series(pd.Series([1, None], dtype="Int64"), Kind.INTEGER) == [1, None]
    assert encode_series(pd.Series([1.5, None], dtype="Float64"), Kind.FLOAT) == [1.5, None]
    assert encode_series(pd.Series([True, None], dtype="boolean"), Kind.BOOLEAN) == [True, None]
    assert encode_series(pd.Series(["a", None], dtype="string"), Kind.TEXT) == ["a", None]
    assert encode_series(["1", None], Kind.LOOKUP) == [{"id": "1"}, None]
    out = encode_series(pd.Series([1, 2], dtype="int64"), Kind.INTEGER)
    assert out == [1, 2]
    assert all(type(v) is int for v in out)


# --------------------------------------------------------------------------- round trips

_ids = st.from_regex(r"[1-9][0-9]{17,18}", fullmatch=True)
_text = st.text(max_size=20)
_datetimes = st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30),
                          timezones=st.just(timezone.utc)).map(lambda d: d.replace(microsecond=0))
_offsets = st.integers(min_value=-12 * 60, max_value=14 * 60).map(lambda m: m - m % 15)

_VALUES: dict[Kind, st.SearchStrategy[Any]] = {
    Kind.TEXT: _text,
    Kind.ID: _ids,
    Kind.INTEGER: st.integers(min_value=-(2**63), max_value=2**63 - 1),
    Kind.FLOAT: st.floats(allow_nan=False, allow_infinity=False),
    Kind.BOOLEAN: st.booleans(),
    Kind.DATE: st.dates(min_value=date(1, 1, 1), max_value=date(9999, 12, 31)).map(
        lambda d: d.isoformat()),
    Kind.DATETIME: st.builds(
        lambda d, off: (d + timedelta(minutes=off)).isoformat(timespec="seconds")
        + ("+" if off >= 0 else "-") + f"{abs(off) // 60:02d}:{abs(off) % 60:02d}",
        _datetimes.map(lambda d: d.replace(tzinfo=None)), _offsets),
    Kind.LIST: st.lists(_text, max_size=4),
    Kind.SUBFORM: st.lists(st.fixed_dictionaries({"Name": _text, "Hours": st.integers(0, 99)}),
                           max_size=3),
    Kind.LOOKUP: _ids.map(lambda i: {"id": i}),
    Kind.OBJECT: st.fixed_dictionaries({"id": _ids, "api_name": _text}),
}


@pytest.mark.parametrize("kind", list(Kind))
@FUZZ
@given(data=st.data())
def test_round_trip_frame_json_frame(kind: Kind, data: st.DataObject) -> None:
    raw = data.draw(st.lists(st.one_of(st.none(), _VALUES[kind]), max_size=12), label="raw")
    column = decode_column(raw, kind)
    assert str(column.dtype) == dtype_for(kind)
    sent = encode_series(column, kind)
    again = decode_column(sent, kind)
    assert again.dtype == column.dtype
    pd.testing.assert_series_equal(again, column)
    # cell by cell gives the same JSON as the vectorised path
    assert [encode_value(v, kind) for v in column.tolist()] == sent
    for text in sent:
        if text is not None and kind is Kind.DATETIME:
            assert DATETIME_RE.match(text)
            assert text.endswith("+00:00")
        if text is not None and kind is Kind.DATE:
            assert DATE_RE.match(text)
        if text is not None and kind is Kind.FLOAT:
            assert isinstance(text, float)
            assert math.isfinite(text)


def test_unknown_kind_is_an_input_error() -> None:
    from crmframe.errors import InputError

    with pytest.raises(InputError, match="unknown field kind 'money'"):
        encode_value(1, "money")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="unknown field kind"):
        decode_column([1], "money")  # type: ignore[arg-type]
    assert encode_value("2021-05-11", "date") == "2021-05-11"  # type: ignore[arg-type]


def test_encode_series_of_other_dtypes_goes_cell_by_cell() -> None:
    picklist = pd.Series(["Hot", None, "Cold"], dtype="category")
    assert encode_series(picklist, Kind.TEXT) == ["Hot", None, "Cold"]
    floats = pd.Series([3.0, float("nan")], dtype="Float64")
    assert encode_series(floats, Kind.INTEGER) == [3, None]
    with pytest.raises(ValidationError, match="integer"):
        encode_series(pd.Series([3.5], dtype="Float64"), Kind.INTEGER)
    days = pd.Series([date(2021, 5, 11), None], dtype=object)
    assert encode_series(days, Kind.DATE) == ["2021-05-11", None]


# The column check of dates/datetimes is vectorised (codecs._fits_template); the regexes in
# fieldtypes stay the definition, so the two must agree on every string.
_NEAR_DATES = st.text(alphabet="0123456789-T:+ x\n\u0663\uff12", min_size=8, max_size=27)


def _valid_datetime(draw: Any) -> str:
    moment = draw(st.datetimes(min_value=datetime(1, 1, 2), max_value=datetime(9999, 12, 30)))
    sign = draw(st.sampled_from("+-"))
    hours, minutes = draw(st.integers(0, 23)), draw(st.sampled_from([0, 30, 45]))
    return f"{moment:%Y-%m-%dT%H:%M:%S}".rjust(19, "0") + f"{sign}{hours:02d}:{minutes:02d}"


@FUZZ
@given(st.one_of(_NEAR_DATES, st.composite(_valid_datetime)(),
                 st.dates().map(lambda d: f"{d.year:04d}-{d.month:02d}-{d.day:02d}")))
def test_column_format_check_agrees_with_the_regexes(text: str) -> None:
    from crmframe.core.codecs import _TEMPLATES, _fits_template

    for pattern, template in _TEMPLATES.items():
        expected = bool(pattern.fullmatch(text)) and text.isascii()
        assert _fits_template([text], template) is expected
        valid = {10: "2021-05-11", 25: "2021-05-11T18:22:29+05:30"}[len(template)]
        assert _fits_template([valid, text, valid], template) is expected


def test_column_format_check_edge_cases() -> None:
    # a trailing newline, other Unicode digits, one bad value among good ones: no fit
    assert decode_column(["2021-05-11\n"], Kind.DATE).dtype == object
    assert decode_column(["\u0662021-05-11"], Kind.DATE).dtype == object
    good = ["2021-05-11T18:22:29+05:30"] * 3
    assert str(decode_column([*good, None], Kind.DATETIME).dtype) == "datetime64[s, UTC]"
    assert decode_column([*good, "2021-05-11T18:22:29+0530"], Kind.DATETIME).dtype == object
    assert decode_column([*good, "2021-05-11 18:22:29+05:30"], Kind.DATETIME).dtype == object
    assert decode_column([None, None], Kind.DATETIME).isna().all()
