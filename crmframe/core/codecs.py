"""Value codecs: raw Zoho JSON values to typed pandas columns, and frame cells back to JSON.

One :class:`~crmframe.core.fieldtypes.Kind` decides both directions:

============  ========================  ==========================================
kind          frame dtype               JSON value sent to Zoho
============  ========================  ==========================================
TEXT          ``string``                ``str``
ID            ``string``                ``str`` (19-digit ids never become numbers)
INTEGER       ``Int64``                 ``int``
FLOAT         ``Float64``               ``float``
BOOLEAN       ``boolean``               ``bool``
DATE          ``datetime64[s]``         ``"yyyy-MM-dd"``
DATETIME      ``datetime64[s, UTC]``    ``"yyyy-MM-ddTHH:mm:ss+00:00"``
LOOKUP        ``object`` (dicts)        ``{"id": "..."}``
OBJECT        ``object`` (dicts)        the dict
LIST          ``object`` (lists)        ``list``
SUBFORM       ``object`` (lists)        ``list`` of dicts
============  ========================  ==========================================

Decoding never loses data: a column whose values do not fit its kind (a number in a text
field, a malformed date) is returned as an ``object`` column holding the values untouched.
Encoding is strict: a value that does not fit raises :class:`~crmframe.errors.ValidationError`.

Datetimes are parsed with NumPy at second precision, so the whole range Zoho can store
(years 1–9999) fits; pandas' nanosecond ``to_datetime`` would overflow after 2262.

Examples
--------
>>> decode_column(["2021-05-11T18:22:29+05:30", None], Kind.DATETIME).tolist()
[Timestamp('2021-05-11 12:52:29+0000', tz='UTC'), NaT]
>>> encode_value(pd.Timestamp("2021-05-11 12:52:29", tz="UTC"), Kind.DATETIME)
'2021-05-11T12:52:29+00:00'
>>> encode_value("4150868000000002175", Kind.LOOKUP)
{'id': '4150868000000002175'}
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import date, datetime, timezone
from itertools import chain, repeat
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from crmframe.core.fieldtypes import DATE_RE, DATETIME_RE, Kind
from crmframe.errors import InputError, ValidationError

__all__ = [
    "DTYPES",
    "arrow_strings",
    "decode_column",
    "dtype_for",
    "empty_frame",
    "encode_series",
    "encode_value",
    "fits_template",
    "infer_kind",
    "is_missing",
    "object_series",
    "short_repr",
    "split_objects",
]

#: The dtype of a decoded column, per kind (lookups/objects before flattening are ``object``).
DTYPES: dict[Kind, str] = {
    Kind.TEXT: "string",
    Kind.ID: "string",
    Kind.INTEGER: "Int64",
    Kind.FLOAT: "Float64",
    Kind.BOOLEAN: "boolean",
    Kind.DATE: "datetime64[s]",
    Kind.DATETIME: "datetime64[s, UTC]",
    Kind.LOOKUP: "object",
    Kind.OBJECT: "object",
    Kind.LIST: "object",
    Kind.SUBFORM: "object",
}

_NONE = type(None)
_INT_MIN = -(2**63)
_INT_MAX = 2**63 - 1
# Offsets seen in real data are few; caching them keeps the datetime path free of re-parsing.
_OFFSETS: dict[str, int] = {}


class _NoFit(Exception):
    """Internal: the values do not fit the kind; the caller falls back to ``object``."""


def short_repr(value: Any, limit: int = 40) -> str:
    """``repr(value)`` cut to ``limit`` characters, for error messages; never raises.

    Examples
    --------
    >>> short_repr("x" * 100, 8), short_repr(10**5000, 12)
    ("'xxxxxx…", '<int>')
    """
    try:
        text = repr(value)
    except Exception:  # a repr can fail: ints beyond 4300 digits, out-of-range Timestamps
        return f"<{type(value).__name__}>"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _kind(kind: Any) -> Kind:
    try:
        return Kind(kind)
    except ValueError:
        names = ", ".join(k.value for k in Kind)
        shown = short_repr(kind)
        raise InputError(f"unknown field kind {shown}: expected one of {names}") from None


def dtype_for(kind: Kind) -> str:
    """The pandas dtype (as a string ``astype`` accepts) of a decoded column of ``kind``.

    Examples
    --------
    >>> dtype_for(Kind.DATETIME), dtype_for(Kind.ID), dtype_for(Kind.LIST)
    ('datetime64[s, UTC]', 'string', 'object')
    """
    return DTYPES[_kind(kind)]


def is_missing(value: Any) -> bool:
    """True for every spelling of "no value": None, ``pd.NA``, NaN, NaT.

    Examples
    --------
    >>> [is_missing(v) for v in (None, pd.NA, float("nan"), pd.NaT, 0, "", [])]
    [True, True, True, True, False, False, False]
    """
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    if isinstance(value, (float, np.floating)):
        return bool(value != value)
    if isinstance(value, (np.datetime64, np.timedelta64)):
        return bool(np.isnat(value))
    return False


def object_series(values: list[Any]) -> pd.Series:
    """An ``object`` Series holding ``values`` untouched (lists stay single cells)."""
    # np.fromiter keeps each list as one element where np.array would build a 2-D array;
    # the explicit dtype stops pandas 3 from inferring its ``str`` dtype.
    array: np.ndarray[Any, np.dtype[Any]] = np.fromiter(values, dtype=object, count=len(values))
    series: pd.Series = pd.Series(array, dtype=object)
    return series


def empty_frame(dtypes: Mapping[str, Any]) -> pd.DataFrame:
    """A zero-row frame with one column per ``{name: dtype}`` item, in that order.

    Result frames keep their column dtypes when empty, so code that filters or
    concatenates them never meets pandas' default ``object`` (or pandas 3's ``str``).

    Examples
    --------
    >>> empty_frame({"id": "string", "calls": "int64"}).dtypes.astype(str).to_dict()
    {'id': 'string', 'calls': 'int64'}
    """
    frame: pd.DataFrame = pd.DataFrame(
        {name: pd.Series([], dtype=dtype) for name, dtype in dtypes.items()}
    )
    return frame


def _types(values: list[Any]) -> set[type]:
    types = set(map(type, values))
    types.discard(_NONE)
    return types


# ----------------------------------------------------------------------------- decoding


def _string_array(values: list[Any]) -> Any:
    """Strings and Nones → a ``string`` array (values already checked to be str or None)."""
    if _PYTHON_STRINGS:
        # StringArray only validates; pd.array(dtype="string") copies element by element.
        # np.fromiter fills the object array without np.array's probing of each element
        # for nested sequences (a third of the cost of a text column).
        try:
            array = np.fromiter(values, dtype=object, count=len(values))
            return pd.arrays.StringArray(array)
        except ValueError:  # a pandas version stricter about None: take the slow path
            pass
    try:
        # Arrow-backed "string": build the Arrow array directly (pd.array(dtype="string")
        # converts element by element, several times slower)
        return _STRING.__from_arrow__(pa.array(values, type=pa.string()))
    except (pa.ArrowException, TypeError, ValueError):
        return pd.array(values, dtype="string")


_STRING: Any = pd.StringDtype()  # Any: the stubs do not know __from_arrow__
# The fast path builds the python-backed array directly, so only when "string" means that.
_PYTHON_STRINGS = _STRING.storage == "python"


def arrow_strings(values: Any) -> pd.Series | None:
    """Text cells (None or NaN: missing; a list or an object array) → a ``string`` Series
    by one Arrow conversion, when ``"string"`` is Arrow-backed; ``None`` when it is not, or
    when a value is not text (the caller decodes value by value then).

    Examples
    --------
    >>> out = arrow_strings(["a", None])
    >>> out is None or out.tolist() == ["a", pd.NA]
    True
    """
    if _PYTHON_STRINGS:
        return None
    try:
        arrow = pa.array(values, type=pa.string(), from_pandas=True)
    except (pa.ArrowException, TypeError, ValueError):
        return None
    strings: pd.Series = pd.Series(_STRING.__from_arrow__(arrow), copy=False)
    return strings


def _decode_text(values: list[Any]) -> Any:
    if not _types(values) <= {str}:
        raise _NoFit
    return _string_array(values)


def _decode_id(values: list[Any]) -> Any:
    types = _types(values)
    if not types <= {str, int}:
        raise _NoFit
    if int in types:
        values = [str(v) if type(v) is int else v for v in values]
    return _string_array(values)


def _decode_integer(values: list[Any]) -> Any:
    types = _types(values)
    if not types <= {int, float}:
        raise _NoFit
    if float in types:
        if not all(v is None or type(v) is int or (math.isfinite(v) and v == int(v))
                   for v in values):
            raise _NoFit
        values = [int(v) if type(v) is float else v for v in values]
    present = [v for v in values if v is not None] if None in values else values
    if present and (min(present) < _INT_MIN or max(present) > _INT_MAX):
        raise _NoFit
    return pd.array(values, dtype="Int64")


def _decode_float(values: list[Any]) -> Any:
    if not _types(values) <= {int, float}:
        raise _NoFit
    return pd.array(values, dtype="Float64")


def _decode_boolean(values: list[Any]) -> Any:
    if not _types(values) <= {bool}:
        raise _NoFit
    return pd.array(values, dtype="boolean")


# Zoho's date and datetime formats, one character per position: "9" a digit, "±" a sign,
# anything else itself. The same formats as DATE_RE and DATETIME_RE, which stay the
# definition; these let a whole column be checked with NumPy instead of one regex call
# per value (the regex loop cost more than parsing the column).
_TEMPLATES: dict[Any, str] = {
    DATE_RE: "9999-99-99",
    DATETIME_RE: "9999-99-99T99:99:99±99:99",
}


def _check_strings(values: list[Any], pattern: Any) -> None:
    if not _types(values) <= {str}:
        raise _NoFit
    present = [v for v in values if v is not None] if None in values else values
    template = _TEMPLATES.get(pattern)
    if template is None:
        # fullmatch, because "$" would let a trailing newline through
        if not all(map(pattern.fullmatch, present)):
            raise _NoFit
    elif present and not _fits_template(present, template):
        raise _NoFit


def _fits_template(texts: list[str], template: str) -> bool:
    """Whether every string has ``template``'s shape (see ``_TEMPLATES``), vectorised.

    Only ASCII digits count as digits; the regexes also take other Unicode digits, but
    neither pandas' nor NumPy's parser reads those, so such a column ends as ``object``
    either way.
    """
    width = len(template)
    if set(map(len, texts)) != {width}:
        return False  # also keeps NumPy from cutting longer strings to the width
    # Each character as its code point, one row per string (fixed-width UTF-32).
    codes = np.array(texts, dtype=f"U{width}").view(np.uint32).reshape(len(texts), width)
    return fits_template(codes, template)


def fits_template(codes: Any, template: str) -> bool:
    """Whether each row of ``codes`` (an unsigned NumPy array, one row per value, one
    column per character: code points, or the bytes of ASCII text) spells ``template``:
    ``"9"`` a digit, ``"±"`` a sign, any other character itself.

    Examples
    --------
    >>> rows = np.frombuffer(b"2024-02-291999-1-011", dtype=np.uint8).reshape(2, 10)
    >>> fits_template(rows[:1], "9999-99-99"), fits_template(rows, "9999-99-99")
    (True, False)
    """
    low, span = _template_bounds(template)
    low, span = low.astype(codes.dtype), span.astype(codes.dtype)
    # One broadcast comparison for all positions: unsigned, so a code below its position's
    # lowest allowed one wraps round to a huge number and fails the same test.
    if not bool(((codes - low) <= span).all()):
        return False
    # A sign position allows "+" to "-", which includes ","; rule that one out.
    signs = [i for i, c in enumerate(template) if c == "±"]
    return not bool((codes[:, signs] == ord(",")).any())


def _template_bounds(template: str) -> tuple[Any, Any]:
    """Per position of ``template``: the lowest allowed code point and the range above it."""
    ranges = {"9": ("0", "9"), "±": ("+", "-")}
    low = np.array([ord(ranges.get(c, (c, c))[0]) for c in template], dtype=np.uint32)
    high = np.array([ord(ranges.get(c, (c, c))[1]) for c in template], dtype=np.uint32)
    return low, high - low


def _decode_date(values: list[Any]) -> Any:
    _check_strings(values, DATE_RE)
    try:
        # pandas' C parser is the fast path; it refuses years its unit cannot hold
        parsed = pd.to_datetime(values, format="%Y-%m-%d")
        return pd.Series(parsed, copy=False).astype("datetime64[s]")
    except (ValueError, OverflowError):
        return pd.Series(np.array(values, dtype="datetime64[s]"), dtype="datetime64[s]")


def _offset_seconds(text: str) -> int:
    seconds = _OFFSETS.get(text)
    if seconds is None:
        seconds = (int(text[1:3]) * 3600 + int(text[4:6]) * 60) * (-1 if text[0] == "-" else 1)
        _OFFSETS[text] = seconds
    return seconds


def _decode_datetime(values: list[Any]) -> Any:
    _check_strings(values, DATETIME_RE)
    try:
        parsed = pd.to_datetime(values, format="%Y-%m-%dT%H:%M:%S%z", utc=True)
        return pd.Series(parsed, copy=False).astype("datetime64[s, UTC]")
    except (ValueError, OverflowError):
        pass  # beyond pandas' range on 2.x (ns), or an offset it refuses: NumPy below
    local = np.array([None if v is None else v[:19] for v in values], dtype="datetime64[s]")
    offsets = np.array(
        [0 if v is None else _offset_seconds(v[19:]) for v in values], dtype="timedelta64[s]"
    )
    utc = local - offsets  # NaT stays NaT
    return pd.Series(utc, dtype="datetime64[s]").dt.tz_localize("UTC")


def _decode_object(values: list[Any]) -> Any:
    raise _NoFit  # lists, subforms and dicts are kept as they are


_DECODERS = {
    Kind.TEXT: _decode_text,
    Kind.ID: _decode_id,
    Kind.INTEGER: _decode_integer,
    Kind.FLOAT: _decode_float,
    Kind.BOOLEAN: _decode_boolean,
    Kind.DATE: _decode_date,
    Kind.DATETIME: _decode_datetime,
    Kind.LOOKUP: _decode_object,
    Kind.OBJECT: _decode_object,
    Kind.LIST: _decode_object,
    Kind.SUBFORM: _decode_object,
}


def decode_column(values: Iterable[Any], kind: Kind) -> pd.Series:
    """Raw JSON values of one field → a typed Series (default ``RangeIndex``).

    Parameters
    ----------
    values : list
        The field's values, one per record; ``None`` for null or absent.
    kind : Kind
        The field's kind (from metadata, or :func:`infer_kind`).

    Returns
    -------
    pandas.Series
        Of dtype :func:`dtype_for(kind) <dtype_for>`; or ``object`` with the values
        untouched when they do not fit the kind (never an exception, never lost data).

    Examples
    --------
    >>> decode_column([1, None, 3], Kind.INTEGER).dtype
    Int64Dtype()
    >>> decode_column(["2024-02-29", None], Kind.DATE).tolist()
    [Timestamp('2024-02-29 00:00:00'), NaT]
    >>> decode_column(["not a number"], Kind.FLOAT).dtype
    dtype('O')
    """
    vals = values if isinstance(values, list) else list(values)
    try:
        decoded = _DECODERS[_kind(kind)](vals)
    except (_NoFit, ValueError, TypeError, ArithmeticError):
        # ArithmeticError: OverflowError from huge ints; ValueError covers bad calendar dates.
        return object_series(vals)
    if isinstance(decoded, pd.Series):
        return decoded
    typed: pd.Series = pd.Series(decoded, copy=False)
    return typed


def infer_kind(values: list[Any]) -> Kind | None:
    """Guess the kind of a column from its JSON values (used when there is no metadata).

    Strings become dates/datetimes only when every non-null value has Zoho's exact
    format; numeric strings stay text (ids!). ``None`` means "unknown": all values are
    null, or the types are incompatible (the column stays ``object``).

    Examples
    --------
    >>> infer_kind([1, 2.5]), infer_kind(["4150868000000002175"]), infer_kind([1, "a"])
    (<Kind.FLOAT: 'float'>, <Kind.TEXT: 'text'>, None)
    """
    types = _types(values)
    if not types:
        return None
    if len(types) == 1:
        (only,) = types
        if only is str:
            return _infer_string_kind(values)
        return _SINGLE_TYPE_KIND.get(only)
    if types == {int, float}:
        return Kind.FLOAT
    return None


_SINGLE_TYPE_KIND: dict[type, Kind] = {
    bool: Kind.BOOLEAN,
    int: Kind.INTEGER,
    float: Kind.FLOAT,
    dict: Kind.OBJECT,
    list: Kind.LIST,
}


def _infer_string_kind(values: list[Any]) -> Kind:
    first = next(v for v in values if v is not None)
    # Checking the first value before scanning the column keeps plain text columns cheap.
    for pattern, kind in ((DATETIME_RE, Kind.DATETIME), (DATE_RE, Kind.DATE)):
        if pattern.match(first):
            try:
                _check_strings(values, pattern)
            except _NoFit:
                return Kind.TEXT
            return kind
    return Kind.TEXT


def split_objects(values: list[Any]) -> dict[str, list[Any]] | None:
    """Split a column of JSON objects into one list per key (``None`` where absent).

    Returns ``None`` when a non-null value is not an object with string keys (the column
    cannot be flattened and stays ``object``).

    Examples
    --------
    >>> split_objects([{"id": "1", "name": "A"}, None, {"id": "2", "email": "b@x.io"}])
    {'id': ['1', None, '2'], 'name': ['A', None, None], 'email': [None, None, 'b@x.io']}
    """
    if not _types(values) <= {dict}:
        return None
    keys = dict.fromkeys(chain.from_iterable(filter(None, values)))
    if not all(isinstance(k, str) for k in keys):
        return None
    # An empty dict in place of each None lets dict.get run as one C-level map per key
    # (every value is exactly a dict: checked above).
    filled = [v or _NO_KEYS for v in values] if None in values else values
    return {k: list(map(dict.get, filled, repeat(k))) for k in keys}


_NO_KEYS: dict[str, Any] = {}


# ----------------------------------------------------------------------------- encoding


def _bad(value: Any, kind: Kind, expected: str) -> ValidationError:
    shown = short_repr(value, 80)
    return ValidationError(f"cannot send {shown} ({type(value).__name__}) to a {kind.value} "
                           f"field: expected {expected}")


def _utc_text(value: datetime, kind: Kind) -> str:
    if value.tzinfo is not None:
        value = value.astimezone(timezone.utc)
    # Zoho rejects milliseconds and "Z": seconds precision and an explicit +00:00 offset.
    return (f"{value.year:04d}-{value.month:02d}-{value.day:02d}T"
            f"{value.hour:02d}:{value.minute:02d}:{value.second:02d}+00:00")


def _time_or_text(value: Any, kind: Kind, pattern: Any, spelled: str) -> Any:
    """The shared first step of date and datetime encoding.

    A string already in Zoho's format is returned as it is (any other string raises);
    a NumPy datetime becomes a Timestamp; anything else is returned unchanged.
    """
    noun = kind.value  # "date" or "datetime"
    if isinstance(value, str):
        if pattern.match(value) and not value.endswith("\n"):
            try:  # the shape alone lets 2026-13-01 and 2026-02-30 through to Zoho
                (date if kind is Kind.DATE else datetime).fromisoformat(value)
            except ValueError:
                raise _bad(value, kind, f"a {noun} that exists") from None
            return value
        raise _bad(value, kind, f"a {noun} or a '{spelled}' string")
    if isinstance(value, np.datetime64):
        try:
            return pd.Timestamp(value)
        except (ValueError, OverflowError):
            raise _bad(value, kind, f"a {noun} within years 1-9999") from None
    return value


def _encode_datetime(value: Any, kind: Kind) -> Any:
    value = _time_or_text(value, kind, DATETIME_RE, "yyyy-MM-ddTHH:mm:ss±HH:mm")
    if isinstance(value, str):
        return value
    if isinstance(value, datetime):
        try:
            return _utc_text(value, kind)
        except (ValueError, OverflowError):
            raise _bad(value, kind, "a datetime within years 1-9999") from None
    raise _bad(value, kind, "a datetime")


def _encode_date(value: Any, kind: Kind) -> Any:
    value = _time_or_text(value, kind, DATE_RE, "yyyy-MM-dd")
    if isinstance(value, str):
        return value
    if isinstance(value, date):  # datetime and Timestamp are dates too: keep the wall date
        return f"{value.year:04d}-{value.month:02d}-{value.day:02d}"
    raise _bad(value, kind, "a date")


def _encode_integer(value: Any, kind: Kind) -> Any:
    if isinstance(value, (bool, np.bool_)):
        raise _bad(value, kind, "an integer")
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)) and math.isfinite(value) and value == int(value):
        return int(value)
    raise _bad(value, kind, "an integer")


def _encode_float(value: Any, kind: Kind) -> Any:
    if isinstance(value, (bool, np.bool_)) or not isinstance(
        value, (int, float, np.integer, np.floating)
    ):
        raise _bad(value, kind, "a number")
    try:
        return float(value)
    except OverflowError:
        raise _bad(value, kind, "a number within the float range") from None


def _encode_boolean(value: Any, kind: Kind) -> Any:
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise _bad(value, kind, "True or False")


def _encode_text(value: Any, kind: Kind) -> Any:
    if isinstance(value, str):
        return value
    raise _bad(value, kind, "a string (Zoho rejects numbers in text fields)")


def _encode_id(value: Any, kind: Kind) -> Any:
    if isinstance(value, str):
        return value
    if isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)):
        return str(int(value))
    raise _bad(value, kind, "an id string")


def _encode_lookup(value: Any, kind: Kind) -> Any:
    if isinstance(value, Mapping):
        if kind is Kind.OBJECT:
            return dict(value)
        if is_missing(value.get("id")):
            raise _bad(value, kind, "an object with an 'id'")
        return {"id": _encode_id(value["id"], kind)}
    if isinstance(value, (str, int, np.integer)) and not isinstance(value, (bool, np.bool_)):
        return {"id": _encode_id(value, kind)}
    raise _bad(value, kind, "an id string or an object with an 'id'")


def _plain(item: Any) -> Any:
    if isinstance(item, np.generic):
        return item.item()
    if is_missing(item):
        return None
    return item


def _subform_row(row: Mapping[Any, Any]) -> dict[str, Any]:
    """A subform row as written back: what was read minus ``Parent_Id`` and ``$``-keys
    (Zoho sets them), lookups as ``{"id"}``; the row's ``id`` stays, so Zoho keeps that
    row (rows without one are added, rows left out deleted).

    >>> _subform_row({"id": "11", "Parent_Id": {"id": "1"}, "$editable": True,
    ...               "Product_Name": {"name": "Router", "id": "5"}, "Quantity": 2.0})
    {'id': '11', 'Product_Name': {'id': '5'}, 'Quantity': 2.0}
    """
    out: dict[str, Any] = {}
    for key, item in row.items():
        name = str(key)
        if name == "Parent_Id" or name.startswith("$"):
            continue
        if isinstance(item, Mapping) and "id" in item and not is_missing(item["id"]):
            out[name] = {"id": str(_plain(item["id"]))}
        elif name == "id" and not is_missing(item):
            out[name] = str(_plain(item))
        else:
            out[name] = _plain(item)
    return out


def _encode_list(value: Any, kind: Kind) -> Any:
    if isinstance(value, (list, tuple, np.ndarray, pd.Series)):
        items = value.tolist() if isinstance(value, (np.ndarray, pd.Series)) else value
        if kind is Kind.SUBFORM:
            if not all(isinstance(row, Mapping) for row in items):
                raise _bad(value, kind, "a list of row objects")
            return [_subform_row(row) for row in items]
        return [_plain(item) for item in items]
    raise _bad(value, kind, "a list")


_ENCODERS = {
    Kind.TEXT: _encode_text,
    Kind.ID: _encode_id,
    Kind.INTEGER: _encode_integer,
    Kind.FLOAT: _encode_float,
    Kind.BOOLEAN: _encode_boolean,
    Kind.DATE: _encode_date,
    Kind.DATETIME: _encode_datetime,
    Kind.LOOKUP: _encode_lookup,
    Kind.OBJECT: _encode_lookup,
    Kind.LIST: _encode_list,
    Kind.SUBFORM: _encode_list,
}


def encode_value(value: Any, kind: Kind) -> Any:
    """One frame cell → the JSON value Zoho accepts for a field of ``kind``.

    Missing values (None, ``pd.NA``, NaN, NaT) become ``None`` (JSON null). Datetimes are
    sent in UTC as ``yyyy-MM-ddTHH:mm:ss+00:00`` (no milliseconds, no ``Z``; sub-second
    parts are dropped); a **naive datetime is taken to be UTC**. Dates are sent as
    ``yyyy-MM-dd`` (a datetime's wall date). Lookups are sent as ``{"id": "..."}`` from an
    id or from an object with an ``id``.

    Raises
    ------
    ValidationError
        When the value does not fit the kind (a number for a text field, a float id...).

    Examples
    --------
    >>> encode_value(pd.Timestamp("2021-05-11 18:22:29.750+05:30"), Kind.DATETIME)
    '2021-05-11T12:52:29+00:00'
    >>> encode_value(pd.NA, Kind.INTEGER) is None, encode_value(3.0, Kind.INTEGER)
    (True, 3)
    >>> encode_value(("English", "Spanish"), Kind.LIST)
    ['English', 'Spanish']
    """
    kind = _kind(kind)
    if is_missing(value):
        return None
    if isinstance(value, np.generic) and kind not in (Kind.DATE, Kind.DATETIME):
        value = value.item()
    return _ENCODERS[kind](value, kind)


def _datetime_strings(series: pd.Series, kind: Kind) -> list[Any]:
    values = series
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        if kind is Kind.DATETIME:
            values = values.dt.tz_convert("UTC")
        values = values.dt.tz_localize(None)
    # numpy casts to whole seconds/days by flooring, which is what dropping the fraction means
    unit = "s" if kind is Kind.DATETIME else "D"
    arr = values.to_numpy(dtype=f"datetime64[{unit}]")
    texts: list[str] = np.datetime_as_string(arr, unit=unit).tolist()  # type: ignore[call-overload]
    width = 19 if kind is Kind.DATETIME else 10
    suffix = "+00:00" if kind is Kind.DATETIME else ""
    out: list[Any] = []
    for position, text in enumerate(texts):
        if text == "NaT":
            out.append(None)
        elif len(text) != width:
            raise _bad(text, kind, f"a value within years 1-9999 (row {position})")
        else:
            out.append(text + suffix)
    return out


_FAST_DTYPES: dict[Kind, tuple[str, ...]] = {
    Kind.TEXT: ("string",),
    Kind.ID: ("string",),
    Kind.INTEGER: ("Int64", "int64", "int32", "int16", "int8"),
    Kind.FLOAT: ("Float64", "float64", "float32", "Int64", "int64"),
    Kind.BOOLEAN: ("boolean", "bool"),
}


def encode_series(series: Any, kind: Kind) -> list[Any]:
    """A whole column → JSON values, one per row (vectorised :func:`encode_value`).

    Same rules as :func:`encode_value`; typed columns (``string``, ``Int64``,
    ``Float64``, ``boolean``, ``datetime64``) take a vectorised path, anything else is
    encoded cell by cell.

    Raises
    ------
    ValidationError
        When a value does not fit the kind.

    Examples
    --------
    >>> s = pd.Series(["2021-05-11 12:52:29", None], dtype="datetime64[s]")
    >>> encode_series(s, Kind.DATETIME)
    ['2021-05-11T12:52:29+00:00', None]
    >>> encode_series(pd.Series([1, None], dtype="Int64"), Kind.INTEGER)
    [1, None]
    """
    kind = _kind(kind)
    if not isinstance(series, pd.Series):
        try:
            series = pd.Series(list(series), dtype=object)
        except TypeError:
            raise ValidationError(
                f"encode_series needs a Series or a list, got {type(series).__name__}"
            ) from None
    dtype = series.dtype
    if kind in (Kind.DATE, Kind.DATETIME) and (
        isinstance(dtype, pd.DatetimeTZDtype) or (dtype.kind == "M")
    ):
        return _datetime_strings(series, kind)
    if str(dtype) in _FAST_DTYPES.get(kind, ()):
        values: list[Any] = series.to_numpy(dtype=object, na_value=None).tolist()
        if kind is Kind.FLOAT:
            return [None if v is None or v != v else float(v) for v in values]
        if kind is Kind.INTEGER:
            return [None if v is None else int(v) for v in values]
        if kind is Kind.BOOLEAN:
            return [None if v is None else bool(v) for v in values]
        return values
    return [encode_value(v, kind) for v in series.tolist()]
