"""Compare an edited frame with the frame it came from: the cells to push, and what cannot be.

:func:`diff` lines both frames up on their ``id`` index and compares them column by column
with vectorised masks. Equality is type-aware:

* missing equals missing (``None``, ``pd.NA``, ``NaN``, ``NaT`` are all "empty"), and an
  empty string equals missing (``fillna("")`` is not an edit);
* floats are equal when they agree at the field's decimal places (metadata
  ``decimal_place``, else :data:`DEFAULT_DECIMAL_PLACES`);
* integers and floats compare by value (``5`` equals ``5.0``);
* datetimes compare as instants; a tz-naive value in a datetime column is taken as UTC
  (crmframe reads datetimes in UTC, so a naive edit most likely means UTC); a string in
  Zoho's own format (``2024-03-01``, ``2024-03-01T10:00:00+05:30``) is the date or instant
  it spells;
* lists (multi-select picklists) and dicts compare by content; strings exactly.

Lookups arrive flattened (``Owner.id``, ``Owner.name``...). A change to ``X.id`` is a change
of the lookup field ``X``: the change row has ``field="X"`` and ``new`` the id string (the
payload builder turns it into ``{"id": ...}``). A change to ``X.name`` or ``X.email`` alone
cannot be pushed; it is listed in :attr:`ChangeSet.unpushable`, never dropped.

Examples
--------
>>> import pandas as pd
>>> idx = pd.Index(["3652397000009851001", "3652397000009851002"], dtype="string", name="id")
>>> a = pd.DataFrame({"Lead_Status": pd.array(["New", "Lost"], dtype="string")}, index=idx)
>>> b = a.copy()
>>> b.loc["3652397000009851002", "Lead_Status"] = "Contacted"
>>> cs = diff(a, b)
>>> len(cs), cs.records()
(1, {'3652397000009851002': {'Lead_Status': 'Contacted'}})
"""

from __future__ import annotations

import html
import itertools
import operator
from collections.abc import Hashable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from crmframe.core.codecs import empty_frame, is_missing
from crmframe.core.fieldtypes import DATE_RE, DATETIME_RE, LOOKUP_KINDS, Kind
from crmframe.core.metadata import FieldInfo, normalise_fields
from crmframe.core.retype import check_dtypes
from crmframe.errors import InputError

__all__ = [
    "CHANGE_COLUMNS",
    "DEFAULT_DECIMAL_PLACES",
    "UNPUSHABLE_COLUMNS",
    "ChangeSet",
    "diff",
    "field_infos",
    "values_equal",
]

#: Columns of :attr:`ChangeSet.changes`.
CHANGE_COLUMNS: tuple[str, ...] = ("id", "field", "old", "new")
#: Columns of :attr:`ChangeSet.unpushable`.
UNPUSHABLE_COLUMNS: tuple[str, ...] = ("id", "field", "reason")
#: Decimal places used to compare floats when the metadata gives none.
DEFAULT_DECIMAL_PLACES = 9

_NAME_ONLY = "only the lookup's {sub} changed; change {field}.id to reassign the lookup"
_NO_ID_COLUMN = "{field}.{sub} changed but the frame has no {field}.id column"


def _series_kind(series: pd.Series) -> Kind:
    """The :class:`Kind` a typed column most likely holds, from its dtype (no metadata).

    Not :func:`crmframe.core.codecs.infer_kind`, which guesses from raw JSON values:
    here the frame is already typed, so the dtype decides.

    Examples
    --------
    >>> _series_kind(pd.Series([1, None], dtype="Int64")).value
    'integer'
    >>> _series_kind(pd.Series([["a"], None], dtype=object)).value
    'list'
    """
    dtype = series.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return Kind.BOOLEAN
    if pd.api.types.is_integer_dtype(dtype):
        return Kind.INTEGER
    if pd.api.types.is_float_dtype(dtype):
        return Kind.FLOAT
    if isinstance(dtype, pd.DatetimeTZDtype):
        return Kind.DATETIME
    if pd.api.types.is_datetime64_dtype(dtype):
        return Kind.DATE
    if dtype == np.dtype(object):
        for value in series.head(50):
            if isinstance(value, (list, tuple)):
                return Kind.LIST
            if isinstance(value, dict):
                return Kind.OBJECT
    return Kind.TEXT


# ---------------------------------------------------------------------------------------------
# element-wise equality (the slow path, for object columns and mixed dtypes)


def _as_utc(value: pd.Timestamp) -> pd.Timestamp:
    out: pd.Timestamp = (
        value.tz_localize("UTC") if value.tzinfo is None else value.tz_convert("UTC")
    )
    return out


def _parse_zoho_time(value: Any) -> Any:
    if isinstance(value, str) and (DATE_RE.match(value) or DATETIME_RE.match(value)):
        try:
            return pd.Timestamp(value)
        except ValueError:
            return value
    return value


def values_equal(
    a: Any, b: Any, kind: Kind | None = None, decimals: int | None = None, *, days: bool = True
) -> bool:
    """Type-aware equality of two cell values (the rules of :func:`diff`).

    Of ``kind`` DATE, two values on the same day are equal (a date field holds a day, and
    a day is what is sent); ``days=False`` compares their times as well.

    Examples
    --------
    >>> values_equal(1.004, 1.0, Kind.FLOAT, 2), values_equal(["a", "b"], ("a", "b"))
    (True, True)
    >>> values_equal(pd.Timestamp("2024-01-01 10:00", tz="Europe/Paris"),
    ...              pd.Timestamp("2024-01-01 09:00", tz="UTC"))
    True
    """
    if a is b:
        return True
    ma, mb = is_missing(a), is_missing(b)
    if ma or mb:
        # "" is empty as well (the fillna("") habit is not an edit)
        return (ma or (isinstance(a, str) and a == "")) and (
            mb or (isinstance(b, str) and b == ""))
    if kind in (Kind.DATE, Kind.DATETIME):
        # a date typed as Zoho's text ("2024-03-01", "...T10:00:00+05:30") is that instant
        a, b = _parse_zoho_time(a), _parse_zoho_time(b)
    if isinstance(a, (bool, np.bool_)) or isinstance(b, (bool, np.bool_)):
        return isinstance(a, (bool, np.bool_)) and isinstance(b, (bool, np.bool_)) and (
            bool(a) == bool(b)
        )
    if isinstance(a, (int, float, np.integer, np.floating)) and isinstance(
        b, (int, float, np.integer, np.floating)
    ):
        if kind is Kind.FLOAT or isinstance(a, (float, np.floating)) or isinstance(
            b, (float, np.floating)
        ):
            dp = DEFAULT_DECIMAL_PLACES if decimals is None else decimals
            return bool(round(float(a), dp) == round(float(b), dp))
        return bool(int(a) == int(b))
    if isinstance(a, (datetime, date, np.datetime64)) and isinstance(
        b, (datetime, date, np.datetime64)
    ):
        ta, tb = pd.Timestamp(a), pd.Timestamp(b)
        if kind is Kind.DATE:
            # dates are wall-clock days: drop any zone rather than convert
            na: pd.Timestamp = ta.tz_localize(None) if ta.tzinfo else ta
            nb: pd.Timestamp = tb.tz_localize(None) if tb.tzinfo else tb
            if days:
                return bool(na.normalize() == nb.normalize())
            return bool(na == nb)
        return bool(_as_utc(ta) == _as_utc(tb))
    if isinstance(a, (list, tuple, np.ndarray)) and isinstance(b, (list, tuple, np.ndarray)):
        return len(a) == len(b) and all(
            values_equal(x, y, None, decimals) for x, y in zip(a, b, strict=True)
        )
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        return a.keys() == b.keys() and all(values_equal(a[k], b[k], None, decimals) for k in a)
    try:
        return bool(a == b)
    except (TypeError, ValueError):
        return False


# operator's C function as a ufunc: one C call per cell, no Python frame
_is = np.frompyfunc(operator.is_, 2, 1)

# Values for which Python's ``==`` agrees with :func:`values_equal` whenever it says True:
# no bools (``True == 1``), no dates/times (a DATE compares wall-clock days, ``==`` instants).
_EQ_SAFE = frozenset({str, int, float, type(None), list, tuple})
_EQ_SAFE_ITEMS = frozenset({str, int, float, type(None)})
_SEQUENCES = frozenset({list, tuple})
_TEXT_ITEMS = frozenset({str, type(None)})
_NONE = type(None)
_SEQUENCES_OR_NONE = frozenset({list, tuple, _NONE})


def _surely_equal(xa: np.ndarray, xb: np.ndarray) -> np.ndarray | None:
    """Cells that Python's ``==`` finds equal, when that is :func:`values_equal`'s answer too.

    A re-read gives equal lists that are not the same objects: NumPy's ``==`` on object
    arrays compares them in C, where the rules of :func:`values_equal` take a Python call
    per cell. ``==`` being True implies equal under those rules unless a bool meets a
    number or a date meets a datetime, so the cells are trusted only when neither side
    holds such a value (types collected by C-level ``map``). ``None`` when they cannot be
    trusted: the caller compares them the careful way.
    """
    try:
        sure = xa == xb
    except Exception:  # pd.NA, arrays in cells...: the careful path
        return None
    if not isinstance(sure, np.ndarray) or sure.dtype != bool or sure.shape != xa.shape:
        return None
    if not sure.any():
        return sure
    left = xa[sure]
    types = set(map(type, left))
    if not types <= _EQ_SAFE:
        return None
    if types & _SEQUENCES:
        # None == x only for x None; every other cell must be a list or tuple on both
        # sides, its items plain scalars
        if not types <= _SEQUENCES_OR_NONE:
            return None
        # filter(None, ...) leaves the Nones (and empty lists, which hold no items) out
        items = set(map(type, itertools.chain.from_iterable(filter(None, left))))
        if items <= _TEXT_ITEMS:
            return sure  # only a str equals a str, only None equals None
        right = xb[sure]
        if not set(map(type, right)) <= _SEQUENCES_OR_NONE:
            return None
        items |= set(map(type, itertools.chain.from_iterable(filter(None, right))))
        if not items <= _EQ_SAFE_ITEMS:
            return None
    elif not set(map(type, xb[sure])) <= _EQ_SAFE:
        return None
    return sure


def _changed_generic(
    a: pd.Series, b: pd.Series, kind: Kind, decimals: int | None, days: bool = False
) -> np.ndarray:
    xa = a.to_numpy(dtype=object)
    xb = b.to_numpy(dtype=object)
    sure = _surely_equal(xa, xb) if len(xa) > _LIST_KERNEL_FROM else None
    if sure is None:
        sure = _is(xa, xb).astype(bool) if len(xa) else np.zeros(0, dtype=bool)
    todo = np.flatnonzero(~sure)
    changed = np.zeros(len(xa), dtype=bool)
    if len(todo) > _LIST_KERNEL_FROM:
        lists = _changed_lists(xa[todo], xb[todo], decimals)
        if lists is not None:
            changed[todo] = lists
            return changed
    for i in todo:
        changed[i] = not values_equal(xa[i], xb[i], kind, decimals, days=days)
    return changed


# Below this many non-identical cells the Arrow conversion costs more than it saves.
_LIST_KERNEL_FROM = 64

_SCALAR_ITEMS = (pa.string(), pa.large_string(), pa.int64(), pa.float64(), pa.bool_())


def _list_array(values: np.ndarray) -> Any:
    try:
        array = pa.array(values, from_pandas=True)
    except (pa.ArrowException, TypeError, ValueError, OverflowError):
        return None
    kind = array.type
    if not (pa.types.is_list(kind) or pa.types.is_large_list(kind)):
        return None
    if kind.value_type not in _SCALAR_ITEMS and kind.value_type != pa.null():
        return None
    return array


def _changed_lists(xa: np.ndarray, xb: np.ndarray, decimals: int | None) -> np.ndarray | None:
    """``not values_equal`` of cells that are all lists of scalars (or missing), by Arrow.

    Lists are equal when they have the same length and equal items, a missing item equal
    only to a missing one, floats compared rounded as :func:`values_equal` does. ``None``
    when the cells are not all such lists (objects, mixed item types...): the caller then
    compares cell by cell.
    """
    la, lb = _list_array(xa), _list_array(xb)
    if la is None or lb is None:
        return None
    ta, tb = la.type.value_type, lb.type.value_type
    if pa.null() not in (ta, tb) and ta != tb and {ta, tb} != {pa.string(), pa.large_string()}:
        return None  # [1] against [True], say: values_equal's own rules
    na_a = la.is_null().to_numpy(zero_copy_only=False)
    na_b = lb.is_null().to_numpy(zero_copy_only=False)
    len_a = pc.fill_null(pc.list_value_length(la), 0).to_numpy(zero_copy_only=False)
    len_b = pc.fill_null(pc.list_value_length(lb), 0).to_numpy(zero_copy_only=False)
    changed = (na_a != na_b) | (len_a != len_b)
    rows = np.flatnonzero(~changed & ~na_a & (len_a > 0))
    if not len(rows):
        return np.asarray(changed, dtype=bool)
    index = pa.array(rows)
    items_a = pc.list_flatten(la.take(index))
    items_b = pc.list_flatten(lb.take(index))
    parents = pc.list_parent_indices(la.take(index)).to_numpy(zero_copy_only=False)
    null_a = _empty(items_a)
    null_b = _empty(items_b)
    if pa.types.is_floating(items_a.type) or pa.types.is_floating(items_b.type):
        dp = DEFAULT_DECIMAL_PLACES if decimals is None else decimals
        fa = np.round(pc.cast(items_a, pa.float64()).to_numpy(zero_copy_only=False), dp)
        fb = np.round(pc.cast(items_b, pa.float64()).to_numpy(zero_copy_only=False), dp)
        differ = fa != fb
    elif pa.null() in (items_a.type, items_b.type):
        differ = np.zeros(len(items_a), dtype=bool)
    else:
        if items_a.type != items_b.type:
            items_a = pc.cast(items_a, pa.large_string())
            items_b = pc.cast(items_b, pa.large_string())
        differ = pc.fill_null(pc.not_equal(items_a, items_b), False).to_numpy(
            zero_copy_only=False
        )
    bad_items = (null_a != null_b) | (~null_a & ~null_b & differ)
    bad_rows = np.bincount(parents[bad_items], minlength=len(rows)) > 0
    changed[rows] = bad_rows
    return np.asarray(changed, dtype=bool)


def _empty(items: Any) -> np.ndarray:
    """Missing items, and "" for strings (empty, as values_equal has it)."""
    empty = items.is_null()
    if pa.types.is_string(items.type) or pa.types.is_large_string(items.type):
        empty = pc.or_(empty, pc.fill_null(pc.equal(items, ""), False))
    result: np.ndarray = empty.to_numpy(zero_copy_only=False)
    return result


def _arrow_strings(series: pd.Series) -> Any:
    """The Arrow array behind a pyarrow-backed string column, else None."""
    dtype = series.dtype
    pyarrow_backed = (isinstance(dtype, pd.StringDtype) and dtype.storage == "pyarrow") or (
        isinstance(dtype, pd.ArrowDtype) and pa.types.is_string(dtype.pyarrow_dtype)
    ) or (isinstance(dtype, pd.ArrowDtype) and pa.types.is_large_string(dtype.pyarrow_dtype))
    if not pyarrow_backed:
        return None
    array = series.array.__arrow_array__()
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks() if array.num_chunks != 1 else array.chunk(0)
    if array.type != pa.large_string():
        array = array.cast(pa.large_string())
    return array


def _changed_arrow_strings(xa: Any, xb: Any) -> np.ndarray:
    # "" is empty like a missing cell: fillna("") turns one into the other without an edit
    na_a = _empty(xa)
    na_b = _empty(xb)
    neq = pc.fill_null(pc.not_equal(xa, xb), False).to_numpy(zero_copy_only=False)
    result: np.ndarray = (na_a != na_b) | (~na_a & ~na_b & neq)
    return result


# ---------------------------------------------------------------------------------------------
# vectorised masks


def _utc_naive(series: pd.Series) -> pd.Series:
    if isinstance(series.dtype, pd.DatetimeTZDtype):
        out: pd.Series = series.dt.tz_convert("UTC").dt.tz_localize(None)
        return out
    return series


def _numpy_times(series: pd.Series) -> pd.Series:
    """An Arrow timestamp column (``dtype_backend="pyarrow"``) as NumPy datetimes, same
    unit and zone: the datetime masks below work on NumPy's ``datetime64``."""
    dtype = series.dtype
    if isinstance(dtype, pd.ArrowDtype) and pa.types.is_timestamp(dtype.pyarrow_dtype):
        arrow = dtype.pyarrow_dtype
        target: Any = (pd.DatetimeTZDtype(unit=arrow.unit, tz=arrow.tz) if arrow.tz
                       else np.dtype(f"datetime64[{arrow.unit}]"))
        out: pd.Series = series.astype(target)
        return out
    return series


def _changed(
    a: pd.Series, b: pd.Series, kind: Kind, decimals: int | None, days: bool = False
) -> np.ndarray:
    """Mask of positions where ``a`` and ``b`` (aligned, same length) differ; ``days``:
    values of a date field, compared by their day."""
    a, b = _numpy_times(a), _numpy_times(b)
    da, db = a.dtype, b.dtype
    num = pd.api.types.is_numeric_dtype
    if num(da) and num(db) and not pd.api.types.is_bool_dtype(da) and not (
        pd.api.types.is_bool_dtype(db)
    ):
        if (
            kind is not Kind.FLOAT
            and pd.api.types.is_integer_dtype(da)
            and pd.api.types.is_integer_dtype(db)
        ):
            xa = a.to_numpy(dtype="int64", na_value=0)
            xb = b.to_numpy(dtype="int64", na_value=0)
            neq = xa != xb
        else:
            dp = DEFAULT_DECIMAL_PLACES if decimals is None else decimals
            xa = np.round(a.to_numpy(dtype="float64", na_value=np.nan), dp)
            xb = np.round(b.to_numpy(dtype="float64", na_value=np.nan), dp)
            neq = xa != xb
        na_a = a.isna().to_numpy(dtype=bool)
        na_b = b.isna().to_numpy(dtype=bool)
        result: np.ndarray = (na_a != na_b) | (~na_a & ~na_b & neq)
        return result
    if pd.api.types.is_datetime64_any_dtype(da) and pd.api.types.is_datetime64_any_dtype(db):
        if kind is Kind.DATE:
            ta = a.dt.tz_localize(None) if isinstance(da, pd.DatetimeTZDtype) else a
            tb = b.dt.tz_localize(None) if isinstance(db, pd.DatetimeTZDtype) else b
        else:
            ta, tb = _utc_naive(a), _utc_naive(b)
        xa, xb = ta.to_numpy(), tb.to_numpy()
        if days and kind is Kind.DATE:
            # the day is what is sent (yyyy-MM-dd): a time of day is no change
            xa, xb = xa.astype("datetime64[D]"), xb.astype("datetime64[D]")
        na_a, na_b = np.isnat(xa), np.isnat(xb)
        result = (na_a != na_b) | (~na_a & ~na_b & (xa != xb))
        return result
    arrow_a, arrow_b = _arrow_strings(a), _arrow_strings(b)
    if arrow_a is not None and arrow_b is not None:
        # compared as Arrow arrays: no Python string object per cell
        return _changed_arrow_strings(arrow_a, arrow_b)
    if isinstance(da, pd.StringDtype) and isinstance(db, pd.StringDtype):
        # None for missing on both sides makes one object comparison enough:
        # None == None (both empty) and None != "x" (cleared or filled). "" is empty too:
        # fillna("") turns a missing cell into "" without anyone editing it.
        plain_a: Any = a.replace("", None) if (a == "").any() else a
        plain_b: Any = b.replace("", None) if (b == "").any() else b
        result = plain_a.to_numpy(dtype=object, na_value=None) != plain_b.to_numpy(
            dtype=object, na_value=None
        )
        return np.asarray(result, dtype=bool)
    if isinstance(da, pd.BooleanDtype) and isinstance(db, pd.BooleanDtype):
        # -1 stands for missing: equal only to itself
        result = a.to_numpy(dtype="int8", na_value=-1) != b.to_numpy(dtype="int8", na_value=-1)
        return result
    return _changed_generic(a, b, kind, decimals, days)


def _stamp_like(value: Any, dtype: Any) -> Any:
    """``value`` as a Timestamp in the zone of a datetime column of ``dtype`` (a tz-naive
    value in an aware column is taken as UTC, as :func:`diff` does)."""
    try:
        stamp = pd.Timestamp(value)
    except (TypeError, ValueError):
        return value
    zone = getattr(dtype, "tz", None)
    if zone is not None:
        return stamp.tz_localize("UTC").tz_convert(zone) if stamp.tzinfo is None else (
            stamp.tz_convert(zone))
    return stamp.tz_localize(None) if stamp.tzinfo is not None else stamp


def _python_values(series: pd.Series, positions: np.ndarray) -> list[Any]:
    """Cells at ``positions`` as plain Python values; every missing spelling → ``None``.

    ``""`` too: it is empty to the comparison, so a cell cleared with ``""`` is a change to
    ``None`` — validation sees a clear, and the plan sends it by PUT as null (a bulk write
    ignores empty cells, so ``""`` there would be no edit at all).
    """
    part = series.iloc[positions]
    values = part.tolist()
    missing = part.isna().to_numpy(dtype=bool) if part.dtype != object else None
    if missing is not None:
        return [None if m or (isinstance(v, str) and v == "") else v
                for v, m in zip(values, missing, strict=True)]
    return [None if is_missing(v) or (isinstance(v, str) and v == "") else v for v in values]


# ---------------------------------------------------------------------------------------------
# the result


def _empty_changes() -> pd.DataFrame:
    return empty_frame({"id": "string", "field": "string", "old": object, "new": object})


def _empty_unpushable() -> pd.DataFrame:
    return empty_frame(dict.fromkeys(UNPUSHABLE_COLUMNS, "string"))


@dataclass(frozen=True, eq=False)
class ChangeSet:
    """What :func:`diff` found: the cells to push and everything that cannot be pushed.

    Attributes
    ----------
    changes : DataFrame
        One row per changed cell: ``id`` (string), ``field`` (API name; ``X`` for a lookup
        reassigned through ``X.id``), ``old``, ``new`` (Python values, ``None`` = empty).
        A cleared cell is a change to ``None``.
    added_rows : DataFrame
        Edited rows without an id, or with an id the original does not have (insert
        candidates; never sent as updates).
    removed_ids : tuple of str
        Ids present in the original and missing from the edited frame (never deleted).
    added_columns, removed_columns : tuple of str
        Columns only in the edited / only in the original frame (not compared).
    duplicate_ids : tuple of str
        Ids found more than once in either frame; their rows are left out of ``changes``.
    unpushable : DataFrame
        ``id``, ``field``, ``reason``: edits that are not updates (e.g. ``Owner.name`` alone).
    kinds : Mapping[str, Kind]
        The kind of every field in ``changes`` (from metadata, else from dtypes).
    module : str or None
        ``df.attrs["module"]`` of the edited (else the original) frame.
    """

    changes: pd.DataFrame = field(default_factory=_empty_changes)
    added_rows: pd.DataFrame = field(default_factory=pd.DataFrame)
    removed_ids: tuple[str, ...] = ()
    added_columns: tuple[str, ...] = ()
    removed_columns: tuple[str, ...] = ()
    duplicate_ids: tuple[str, ...] = ()
    unpushable: pd.DataFrame = field(default_factory=_empty_unpushable)
    kinds: Mapping[str, Kind] = field(default_factory=dict)
    module: str | None = None

    @classmethod
    def empty(cls, module: str | None = None) -> ChangeSet:
        """A change set with nothing in it.

        Examples
        --------
        >>> len(ChangeSet.empty()), ChangeSet.empty().has_reports
        (0, False)
        """
        return cls(module=module)

    def __len__(self) -> int:
        """The number of changed cells."""
        return len(self.changes)

    @property
    def ids(self) -> list[str]:
        """Ids of the records with at least one change, in first-seen order."""
        return list(dict.fromkeys(self.changes["id"].tolist()))

    @property
    def fields_changed(self) -> pd.Series:
        """Changed cells per field (int Series named ``changes``, largest first)."""
        counts = self.changes["field"].value_counts(sort=True)
        counts.name = "changes"
        counts.index.name = "field"
        return counts.astype("int64")

    @property
    def has_reports(self) -> bool:
        """True when something was found that cannot be pushed as an update."""
        return bool(
            len(self.added_rows)
            or self.removed_ids
            or self.added_columns
            or self.removed_columns
            or self.duplicate_ids
            or len(self.unpushable)
        )

    def reports(self) -> list[str]:
        """One sentence per kind of unpushable finding (empty when there are none)."""
        out: list[str] = []

        def few(items: Sequence[str], n: int = 5) -> str:
            shown = ", ".join(str(i) for i in items[:n])
            return shown + (f", … (+{len(items) - n})" if len(items) > n else "")

        if len(self.added_rows):
            out.append(f"{len(self.added_rows)} added row(s) (no id or unknown id): not updates")
        if self.removed_ids:
            out.append(f"{len(self.removed_ids)} removed row(s), never deleted in Zoho: "
                       f"{few(self.removed_ids)}")
        if self.added_columns:
            out.append(f"added column(s) not compared: {few(self.added_columns)}")
        if self.removed_columns:
            out.append(f"removed column(s) not compared: {few(self.removed_columns)}")
        if self.duplicate_ids:
            out.append(f"{len(self.duplicate_ids)} duplicate id(s), left out: "
                       f"{few(self.duplicate_ids)}")
        if len(self.unpushable):
            out.append(f"{len(self.unpushable)} unpushable edit(s): "
                       f"{few(sorted(set(self.unpushable['field'].tolist())))}")
        return out

    def to_frame(self) -> pd.DataFrame:
        """The changes as a new frame (``id``, ``field``, ``old``, ``new``)."""
        out: pd.DataFrame = self.changes.copy()
        return out

    def records(self) -> dict[str, dict[str, Any]]:
        """``{id: {field: new value}}`` for every changed record.

        Examples
        --------
        >>> ChangeSet.empty().records()
        {}
        """
        out: dict[str, dict[str, Any]] = {}
        for rid, fld, new in zip(
            self.changes["id"].tolist(),
            self.changes["field"].tolist(),
            self.changes["new"].tolist(),
            strict=True,
        ):
            out.setdefault(rid, {})[fld] = new
        return out

    def without(self, keep: np.ndarray | pd.Series) -> ChangeSet:
        """A copy keeping only the change rows where ``keep`` is True (reports unchanged)."""
        mask = np.asarray(keep, dtype=bool)
        kept = self.changes.loc[mask].reset_index(drop=True)
        return ChangeSet(
            changes=kept,
            added_rows=self.added_rows,
            removed_ids=self.removed_ids,
            added_columns=self.added_columns,
            removed_columns=self.removed_columns,
            duplicate_ids=self.duplicate_ids,
            unpushable=self.unpushable,
            kinds=self.kinds,
            module=self.module,
        )

    def apply(self, frame: pd.DataFrame) -> pd.DataFrame:
        """A copy of ``frame`` with the changes written in (``X`` lookups into ``X.id``).

        Rows are found by the ``id`` index. Values that do not fit a column's dtype make
        that column ``object``.
        """
        out: pd.DataFrame = frame.copy()
        for fld, group in self.changes.groupby("field", sort=False):
            column = str(fld)
            if column not in out.columns and f"{column}.id" in out.columns:
                column = f"{column}.id"
            positions = out.index.get_indexer(pd.Index(group["id"].tolist(), dtype="string"))
            if (positions < 0).any():
                raise InputError(f"apply: ids of field {fld!r} are not in the frame")
            values = [pd.NA if v is None else v for v in group["new"].tolist()]
            col = out[column].copy()
            if pd.api.types.is_datetime64_any_dtype(col.dtype):
                # NaT, not NA, clears a datetime cell: the column keeps its dtype
                stamps = [pd.NaT if v is pd.NA else _stamp_like(v, col.dtype) for v in values]
                try:
                    col.iloc[positions] = pd.array(stamps, dtype=col.dtype)
                    out[column] = col
                    continue
                except (TypeError, ValueError):
                    pass  # not datetimes after all: the object column below
            if col.dtype == np.dtype(object) or any(isinstance(v, (list, dict)) for v in values):
                col = col.astype(object)
                for p, v in zip(positions, values, strict=True):
                    col.iat[p] = None if v is pd.NA else v
            else:
                try:
                    col.iloc[positions] = values
                except (TypeError, ValueError):
                    col = col.astype(object)
                    col.iloc[positions] = values
            out[column] = col
        return out

    def _summary_lines(self) -> list[str]:
        counts = self.fields_changed
        lines = [
            f"ChangeSet{f' for {self.module}' if self.module else ''}: {len(self)} changed "
            f"cell(s) in {len(self.ids)} record(s)"
        ]
        lines += [f"  {name}: {int(n)}" for name, n in counts.items()]
        lines += [f"  ! {r}" for r in self.reports()]
        return lines

    def __repr__(self) -> str:
        return "\n".join(self._summary_lines())

    def _repr_html_(self) -> str:
        head = self._summary_lines()[0]
        counts = self.fields_changed
        rows = "".join(
            f"<tr><td>{html.escape(str(k))}</td><td>{int(v)}</td></tr>" for k, v in counts.items()
        )
        table = (f"<table><thead><tr><th>field</th><th>changes</th></tr></thead>"
                 f"<tbody>{rows}</tbody></table>") if len(counts) else ""
        notes = "".join(f"<li>{html.escape(r)}</li>" for r in self.reports())
        return (f"<div><strong>{html.escape(head)}</strong>{table}"
                + (f"<ul>{notes}</ul>" if notes else "") + "</div>")


# ---------------------------------------------------------------------------------------------
# diff


def _id_text(value: Any, which: str) -> str | None:
    if isinstance(value, (list, tuple, dict, set, np.ndarray)):
        raise InputError(
            f"{which}: an id is a {type(value).__name__}, expected a record id (text such as "
            "'4876876000000624001')"
        )
    if is_missing(value) or (isinstance(value, str) and value == ""):
        return None
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _ids(frame: pd.DataFrame, which: str) -> tuple[pd.DataFrame, pd.Index]:
    """The frame without an ``id`` column, and its ids as a string Index (NA = no id)."""
    if not isinstance(frame, pd.DataFrame):
        raise InputError(f"{which} must be a DataFrame, got {type(frame).__name__}")
    if any(not isinstance(c, str) for c in frame.columns):
        # read_csv(header=None) numbers its columns, a pivot leaves tuples: the diff
        # speaks of columns by name, so every label becomes its text (a clash is reported
        # as a column that appears more than once).
        frame = frame.set_axis([str(c) for c in frame.columns], axis=1)
    if frame.index.name != "id" and "id" in frame.columns:
        frame = frame.set_index("id")
    ids = frame.index
    if ids.dtype != "string":
        ids = pd.Index([_id_text(v, which) for v in ids], dtype="string", name="id")
    else:
        blank = ids == ""
        # the full mask only when some id is "" (it costs more than the test)
        empty = (
            pd.Series(blank, dtype="boolean").fillna(False).to_numpy(dtype=bool)
            if blank.any() else None
        )
        if empty is not None:
            ids = pd.Index(
                [None if e else v for v, e in zip(ids, empty, strict=True)],
                dtype="string", name="id",
            )
    return frame, ids


def field_infos(fields: Any) -> dict[str, FieldInfo]:
    """Field metadata in any form → ``{api_name: FieldInfo}``; ``None`` → ``{}``.

    :func:`~crmframe.core.metadata.normalise_fields`, except that ``None`` means "no
    metadata" (diff and plan work without it). A ready ``{name: FieldInfo}`` mapping is
    taken as it is.

    Examples
    --------
    >>> field_infos([{"api_name": "City", "data_type": "text"}])["City"].kind.value
    'text'
    """
    return {} if fields is None else normalise_fields(fields)


def _column_plan(
    columns: Sequence[Hashable], infos: Mapping[str, FieldInfo]
) -> tuple[list[str], dict[str, list[str]]]:
    """Split columns into plain fields and lookup groups ``{field: [sub-keys]}``."""
    names = [str(c) for c in columns]
    present = set(names)
    plain: list[str] = []
    lookups: dict[str, list[str]] = {}
    for name in names:
        if name in infos:
            plain.append(name)
            continue
        head, dot, sub = name.partition(".")
        if dot and (
            f"{head}.id" in present
            or (head in infos and infos[head].kind in LOOKUP_KINDS)
        ):
            lookups.setdefault(head, []).append(sub)
        else:
            plain.append(name)
    return plain, lookups


@contextmanager
def _comparing(column: str) -> Iterator[None]:
    """Cells pandas cannot compare (bytes that are not UTF-8, arrays in cells...) → InputError."""
    try:
        yield
    except (TypeError, ValueError, OverflowError, RecursionError) as exc:
        raise InputError(
            f"column {column!r} holds values diff cannot compare ({type(exc).__name__}: "
            f"{str(exc)[:120]}); give it the field's dtype (crmframe.retype, or a snapshot "
            "instead of a CSV) or plain text"
        ) from None


def diff(original: pd.DataFrame, edited: pd.DataFrame, *, fields: Any = None) -> ChangeSet:
    """Compare ``edited`` with ``original`` on their ``id`` index: what changed, what cannot go.

    Parameters
    ----------
    original : DataFrame
        The frame as read from Zoho (index named ``id``, or an ``id`` column).
    edited : DataFrame
        The analyst's edited copy.
    fields : optional
        Field metadata (anything :func:`~crmframe.core.metadata.normalise_fields` accepts):
        gives each column its kind and floats their decimal places. Without it, kinds are
        inferred from the dtypes.

    Returns
    -------
    ChangeSet

    Raises
    ------
    InputError
        If either argument is not a DataFrame; with ``fields``, when a column's type cannot
        be what Zoho holds (an integer phone, datetimes as text: a CSV round trip), naming
        the columns and the fix (:func:`~crmframe.core.retype.retype`, snapshots).

    Examples
    --------
    >>> import pandas as pd
    >>> idx = pd.Index(["1", "2"], dtype="string", name="id")
    >>> a = pd.DataFrame({"Annual_Revenue": pd.array([10.0, 2.5], dtype="Float64"),
    ...                   "Owner.id": pd.array(["9", "9"], dtype="string"),
    ...                   "Owner.name": pd.array(["Ann", "Ann"], dtype="string")}, index=idx)
    >>> b = a.copy()
    >>> b["Annual_Revenue"] = pd.array([10.000000000001, None], dtype="Float64")
    >>> b.loc["1", "Owner.name"] = "Bob"
    >>> cs = diff(a, b)
    >>> cs.changes[["id", "field", "new"]].values.tolist()
    [['2', 'Annual_Revenue', None]]
    >>> cs.unpushable["field"].tolist()
    ['Owner.name']
    """
    if fields is not None and isinstance(original, pd.DataFrame) and isinstance(
        edited, pd.DataFrame
    ):
        # Types first: a CSV-reloaded frame would otherwise be hundreds of phantom edits.
        infos_first = field_infos(fields)
        check_dtypes(original, infos_first, "original")
        check_dtypes(edited, infos_first, "edited")
    original, ids_o = _ids(original, "original")
    edited, ids_e = _ids(edited, "edited")
    infos = field_infos(fields)
    module = edited.attrs.get("module") or original.attrs.get("module")

    same_ids = ids_o.equals(ids_e)
    dup_o = ids_o[ids_o.duplicated(keep=False) & ids_o.notna()]
    # the same ids on both sides (the usual edit): one hashing pass finds the duplicates
    dup_e = dup_o if same_ids else ids_e[ids_e.duplicated(keep=False) & ids_e.notna()]
    duplicates = pd.Index(dup_o.tolist() + dup_e.tolist(), dtype="string").unique()

    fast = same_ids and not len(duplicates) and not ids_o.hasnans
    if fast:
        common = ids_o
        pos_o = pos_e = None
        added_mask = np.zeros(len(ids_e), dtype=bool)
        removed: list[str] = []
    else:
        keep_o = np.flatnonzero(~ids_o.isin(duplicates) & ids_o.notna())
        keep_e = np.flatnonzero(~ids_e.isin(duplicates) & ids_e.notna())
        unique_o, unique_e = ids_o[keep_o], ids_e[keep_e]
        common = unique_e[unique_e.isin(unique_o)]
        pos_o = keep_o[unique_o.get_indexer(common)]
        pos_e = keep_e[unique_e.get_indexer(common)]
        added_mask = np.asarray(
            (ids_e.isna() | ~ids_e.isin(ids_o)) & ~ids_e.isin(duplicates), dtype=bool
        )
        removed = unique_o[~unique_o.isin(ids_e)].tolist()

    cols_o = [str(c) for c in original.columns]
    cols_e = [str(c) for c in edited.columns]
    set_o, set_e = set(cols_o), set(cols_e)
    shared = [c for c in cols_e if c in set_o]
    plain, lookups = _column_plan(shared, infos)

    def aligned(name: str) -> tuple[pd.Series, pd.Series]:
        a = original[name]
        b = edited[name]
        if isinstance(a, pd.DataFrame) or isinstance(b, pd.DataFrame):
            raise InputError(f"column {name!r} appears more than once")
        if pos_o is not None and pos_e is not None:
            a = a.iloc[pos_o]
            b = b.iloc[pos_e]
        return a, b

    def common_ids(positions: np.ndarray) -> Any:
        # only the changed rows' ids: converting every id would cost more than the diff
        return common.take(positions).array

    col_order = {name: i for i, name in enumerate(cols_e)}
    parts: list[tuple[np.ndarray, str, list[Any], list[Any], int]] = []
    unpushable: list[tuple[np.ndarray, str, str]] = []
    kinds: dict[str, Kind] = {}

    for name in plain:
        a, b = aligned(name)
        info = infos.get(name)
        kind = info.kind if info is not None else _series_kind(_numpy_times(a))
        decimals = info.decimal_place if info is not None else None
        with _comparing(name):
            # by day only when the metadata says date: a naive datetime column without
            # it may hold times of day
            mask = _changed(a, b, kind, decimals, days=info is not None)
        if mask.any():
            pos = np.flatnonzero(mask)
            kinds[name] = kind
            parts.append(
                (pos, name, _python_values(a, pos), _python_values(b, pos), col_order[name])
            )

    for head, subs in lookups.items():
        info = infos.get(head)
        id_changed: np.ndarray | None = None
        if "id" in subs:
            a, b = aligned(f"{head}.id")
            with _comparing(f"{head}.id"):
                id_changed = _changed(a.astype("string"), b.astype("string"), Kind.ID, None)
            if id_changed.any():
                pos = np.flatnonzero(id_changed)
                kinds[head] = info.kind if info is not None else Kind.LOOKUP
                parts.append((pos, head, _python_values(a, pos), _python_values(b, pos),
                              col_order[f"{head}.id"]))
        for sub in subs:
            if sub == "id":
                continue
            a, b = aligned(f"{head}.{sub}")
            with _comparing(f"{head}.{sub}"):
                mask = _changed(a, b, _series_kind(a), None)
            if id_changed is not None:
                mask &= ~id_changed
                reason = _NAME_ONLY.format(sub=sub, field=head)
            else:
                reason = _NO_ID_COLUMN.format(sub=sub, field=head)
            if mask.any():
                unpushable.append((np.flatnonzero(mask), f"{head}.{sub}", reason))

    if parts:
        pos_all = np.concatenate([p[0] for p in parts])
        order_all = np.concatenate([np.full(len(p[0]), p[4]) for p in parts])
        fields_all = np.concatenate([np.full(len(p[0]), p[1], dtype=object) for p in parts])
        old_all = [v for p in parts for v in p[2]]
        new_all = [v for p in parts for v in p[3]]
        perm = np.lexsort((order_all, pos_all))
        changes = pd.DataFrame(
            {
                "id": pd.array(common_ids(pos_all[perm]), dtype="string"),
                "field": pd.array(fields_all[perm], dtype="string"),
                "old": pd.Series([old_all[i] for i in perm], dtype=object),
                "new": pd.Series([new_all[i] for i in perm], dtype=object),
            }
        )
    else:
        changes = _empty_changes()

    if unpushable:
        unp = pd.DataFrame(
            {
                "id": pd.array(common_ids(np.concatenate([u[0] for u in unpushable])),
                               dtype="string"),
                "field": pd.array([u[1] for u in unpushable for _ in u[0]], dtype="string"),
                "reason": pd.array([u[2] for u in unpushable for _ in u[0]], dtype="string"),
            }
        )
    else:
        unp = _empty_unpushable()

    return ChangeSet(
        changes=changes,
        added_rows=edited.loc[added_mask] if added_mask.any() else edited.iloc[0:0],
        removed_ids=tuple(str(i) for i in removed),
        added_columns=tuple(c for c in cols_e if c not in set_o),
        removed_columns=tuple(c for c in cols_o if c not in set_e),
        duplicate_ids=tuple(str(i) for i in duplicates),
        unpushable=unp,
        kinds=kinds,
        module=None if module is None else str(module),
    )
