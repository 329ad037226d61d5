"""A frame's dtypes against the field metadata: what Zoho holds, checked and restored.

A frame saved with ``to_csv`` (or Excel, or SQL) and read back loses its types: phone
numbers become integers, datetimes text, lists their ``repr``. Compared with a frame as
read, every such cell looks edited. :func:`dtype_problems` finds the columns whose type
cannot be what Zoho holds, :func:`check_dtypes` refuses them with an
:class:`~crmframe.errors.InputError` that names them and the fix, and :func:`retype`
converts a frame back where that loses nothing (pure: no I/O).

Examples
--------
>>> from crmframe.core.metadata import normalise_fields
>>> infos = normalise_fields({"fields": [
...     {"api_name": "Phone", "data_type": "phone"},
...     {"api_name": "Created_Time", "data_type": "datetime"}]})
>>> frame = pd.DataFrame({"Phone": [4915112345], "Created_Time": ["2024-01-01T10:00:00+01:00"]},
...                      index=pd.Index([4876876000000000001], name="id"))
>>> sorted(dtype_problems(frame, infos))
['Created_Time', 'Phone']
>>> back = retype(frame, infos, errors="keep")
>>> str(back["Created_Time"].dtype), str(back.index.dtype), back.attrs["not_retyped"]["Phone"][:30]
('datetime64[s, UTC]', 'string', 'int64: text read as numbers ha')
"""

from __future__ import annotations

import ast
import json
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from crmframe.core.codecs import dtype_for, is_missing
from crmframe.core.fieldtypes import LOOKUP_KINDS, Kind
from crmframe.core.metadata import FieldInfo, normalise_fields
from crmframe.errors import InputError

__all__ = ["check_dtypes", "dtype_problems", "retype"]

_TEXT_KINDS = (Kind.TEXT, Kind.ID)
_LOOKUP_PARTS = ("id", "name", "email")

_FIX = (
    "a frame saved with to_csv/to_excel and read back loses its types: save it with "
    "crmframe.to_snapshot(frame, path) and load it with crmframe.read_snapshot(path), or "
    "convert it with crmframe.retype(frame, crm.read_fields(module))"
)


def _infos(fields: Any) -> dict[str, FieldInfo]:
    if isinstance(fields, Mapping) and all(isinstance(v, FieldInfo) for v in fields.values()):
        return dict(fields)
    return normalise_fields(fields)


def _kind_of_column(column: str, infos: Mapping[str, FieldInfo]) -> Kind | None:
    info = infos.get(column)
    if info is not None:
        return None if info.kind in LOOKUP_KINDS else info.kind
    head, _, tail = column.rpartition(".")
    if head and tail in _LOOKUP_PARTS and head in infos:
        return Kind.ID if tail == "id" else Kind.TEXT
    return None


def _holds_text(series: pd.Series) -> bool:
    """Only text where values of another type belong: a column read from a file. (An
    object column mixing a few strings with typed values is edited cells: validation and
    the diff's element rules judge those.)"""
    if series.dtype == object:
        # "" is an empty cell (fillna("") of a column with nothing in it), not text
        values = [v for v in series.dropna().tolist() if not (isinstance(v, str) and v == "")]
        return bool(values) and all(isinstance(v, str) for v in values)
    if isinstance(series.dtype, pd.StringDtype) or pd.api.types.is_string_dtype(series.dtype):
        return bool(series.notna().any())
    return False


def _problem(series: pd.Series, kind: Kind) -> str | None:
    """Why ``series`` cannot hold ``kind``'s values as Zoho does, or None."""
    dtype = series.dtype
    filled = bool(series.notna().any())
    numeric = pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)
    if kind in _TEXT_KINDS:
        if numeric and filled:
            if kind is Kind.ID:
                return f"{dtype}: ids read as numbers"
            return f"{dtype}: text read as numbers (phone numbers lose leading zeros and '+')"
        if pd.api.types.is_bool_dtype(dtype) and filled:
            return f"{dtype}: a text field holding booleans"
        if pd.api.types.is_datetime64_any_dtype(dtype) and filled:
            return f"{dtype}: a text field holding datetimes"
        return None
    if kind in (Kind.INTEGER, Kind.FLOAT):
        if _holds_text(series):
            return f"{dtype} holding text: a number field"
        return None
    if kind in (Kind.DATE, Kind.DATETIME):
        if pd.api.types.is_datetime64_any_dtype(dtype):
            return None
        if _holds_text(series):
            return f"{dtype} holding text: a {kind.value} field"
        if numeric and filled:
            return f"{dtype}: a {kind.value} field holding numbers"
        return None
    if kind is Kind.BOOLEAN:
        if _holds_text(series):
            return f"{dtype} holding text: a boolean field"
        return None
    if kind in (Kind.LIST, Kind.SUBFORM) and any(
        isinstance(v, str) for v in series.dropna().tolist()
    ):
        return f"{dtype} holding text: a {kind.value} field holds lists"
    return None


def dtype_problems(frame: pd.DataFrame, fields: Any) -> dict[str, str]:
    """``{column: why}`` for the columns (and the ``id`` index) whose type cannot be what
    Zoho holds for the field. Columns that are not fields are not judged."""
    infos = _infos(fields)
    out: dict[str, str] = {}
    index = frame.index
    if index.name == "id" and pd.api.types.is_float_dtype(index.dtype):
        out["id"] = f"index {index.dtype}: 19-digit ids as floats have lost digits"
    elif "id" in frame.columns:
        ids = frame["id"]
        if isinstance(ids, pd.Series) and pd.api.types.is_float_dtype(ids.dtype):
            out["id"] = f"{ids.dtype}: 19-digit ids as floats have lost digits"
    for column in frame.columns:
        name = str(column)
        kind = _kind_of_column(name, infos)
        if kind is None:
            continue
        series = frame[column]
        if isinstance(series, pd.DataFrame):
            continue
        why = _problem(series, kind)
        if why is not None:
            out[name] = why
    return out


def check_dtypes(frame: pd.DataFrame, fields: Any, which: str) -> None:
    """Raise :class:`~crmframe.errors.InputError` when :func:`dtype_problems` finds any.

    Examples
    --------
    >>> from crmframe.core.metadata import normalise_fields
    >>> infos = normalise_fields({"fields": [{"api_name": "Phone", "data_type": "phone"}]})
    >>> check_dtypes(pd.DataFrame({"Phone": [491511]}), infos, "original")
    Traceback (most recent call last):
    ...
    crmframe.errors.InputError: the original's columns do not have the types Zoho holds ...
    """
    problems = dtype_problems(frame, fields)
    if not problems:
        return
    grouped: dict[str, list[str]] = {}
    for column, why in problems.items():
        grouped.setdefault(why.split(": ", 1)[-1], []).append(f"{column} ({why.split(':')[0]})")
    listed = "; ".join(f"{', '.join(cols)}: {why}" for why, cols in grouped.items())
    raise InputError(
        f"the {which}'s columns do not have the types Zoho holds (comparing them would "
        f"make phantom edits): {listed}. {_FIX[0].upper()}{_FIX[1:]}"
    )


def retype(frame: pd.DataFrame, fields: Any, *, errors: str = "raise") -> pd.DataFrame:
    """``frame`` with each field column converted to the dtype crmframe reads it as, where
    that loses nothing; the ``id`` index (or column) as strings.

    Parameters
    ----------
    frame : DataFrame
        A frame loaded from CSV, Excel, SQL... (``pd.read_csv(path, dtype=str,
        keep_default_na=False)``: by default ``read_csv`` reads text such as ``NA`` or
        ``null`` as missing; ``""`` is read as empty here).
    fields : field metadata
        ``crm.read_fields(module)`` (or anything ``normalise_fields`` accepts).
    errors : {"raise", "keep"}
        A column that cannot be converted without loss (phone numbers read as integers,
        text that is not a date): ``"raise"`` an :class:`~crmframe.errors.InputError`
        naming every such column and why; ``"keep"`` it as it is and list it in
        ``attrs["not_retyped"]``.

    Returns
    -------
    DataFrame
        A new frame; ``attrs`` kept.
    """
    if errors not in ("raise", "keep"):
        raise InputError(f"errors must be 'raise' or 'keep', got {errors!r}")
    infos = _infos(fields)
    out: pd.DataFrame = frame.copy()
    failed: dict[str, str] = {}
    if out.index.name == "id" or ("id" not in out.columns and out.index.name is None):
        converted = _ids(pd.Series(out.index, dtype=out.index.dtype))
        if converted is None:
            failed["id"] = f"index {out.index.dtype}: ids as floats have lost digits"
        else:
            out.index = pd.Index(converted, dtype="string", name=out.index.name)
    if "id" in out.columns and isinstance(out["id"], pd.Series):
        ids = _ids(out["id"])
        if ids is None:
            failed["id"] = f"{out['id'].dtype}: ids as floats have lost digits"
        else:
            out["id"] = ids
    for column in list(out.columns):
        name = str(column)
        if name == "id":
            continue
        kind = _kind_of_column(name, infos)
        if kind is None:
            continue
        series = out[column]
        try:
            out[column] = _convert(series, kind)
        except (ValueError, TypeError, OverflowError, SyntaxError) as exc:
            failed[name] = f"{series.dtype}: {exc}"
    out.attrs = dict(frame.attrs)
    if failed:
        if errors == "raise":
            raise InputError(
                "retype: these columns cannot be converted without loss: "
                + "; ".join(f"{c} ({why})" for c, why in failed.items())
                + ". Read the file again with dtype=str for them (e.g. pd.read_csv(path, "
                "dtype={'Phone': str}, keep_default_na=False)), or pass errors='keep' to "
                "leave them as they are"
            )
        out.attrs["not_retyped"] = failed
    return out


def _ids(series: pd.Series) -> Any:
    if pd.api.types.is_float_dtype(series.dtype) and series.notna().any():
        return None
    return pd.array([None if is_missing(v) else str(v) for v in series.tolist()],
                    dtype="string")


def _convert(series: pd.Series, kind: Kind) -> pd.Series:
    target = dtype_for(kind)
    if str(series.dtype) == target and kind not in (Kind.LIST, Kind.SUBFORM):
        return series
    # "" is an empty cell too (read_csv(dtype=str).fillna(""), keep_default_na=False)
    if series.dtype == object:
        missing = np.array([is_missing(v) or (isinstance(v, str) and v == "")
                            for v in series.tolist()], dtype=bool)
    else:
        missing = series.isna().to_numpy(dtype=bool)
        if pd.api.types.is_string_dtype(series.dtype):
            missing = missing | (series == "").fillna(False).to_numpy(dtype=bool)
    if kind in _TEXT_KINDS:
        if kind is Kind.ID and pd.api.types.is_integer_dtype(series.dtype):
            # ids up to 2**63 survive as integers: their text is exact
            ids: pd.Series = pd.Series(_ids(series), index=series.index)
            return ids
        if pd.api.types.is_numeric_dtype(series.dtype) and not missing.all():
            raise ValueError("text read as numbers has lost leading zeros and '+' (phone "
                             "numbers), or digits")
        if pd.api.types.is_bool_dtype(series.dtype) and not missing.all():
            raise ValueError("booleans are not the field's text")
        values = [None if m else v for v, m in zip(series.tolist(), missing, strict=True)]
        if any(not isinstance(v, str) for v in values if v is not None):
            raise ValueError("cells that are not text")
        texts: pd.Series = pd.Series(pd.array(values, dtype="string"), index=series.index)
        return texts
    if kind is Kind.INTEGER:
        numbers = pd.to_numeric(series, errors="raise")
        floats = numbers.to_numpy(dtype="float64", na_value=np.nan)
        whole = np.isnan(floats) | (floats == np.round(floats))
        if not whole.all():
            raise ValueError("values with decimals in an integer field")
        out: pd.Series = numbers.astype("Int64")
        return out
    if kind is Kind.FLOAT:
        decimals: pd.Series = pd.to_numeric(series, errors="raise").astype("Float64")
        return decimals
    if kind is Kind.BOOLEAN:
        spelled = {"true": True, "false": False, "1": True, "0": False}
        values = []
        for v, m in zip(series.tolist(), missing, strict=True):
            if m:
                values.append(None)
            elif isinstance(v, (bool, np.bool_)):
                values.append(bool(v))
            elif str(v).strip().lower() in spelled:
                values.append(spelled[str(v).strip().lower()])
            else:
                raise ValueError(f"{v!r} is not a boolean")
        flags: pd.Series = pd.Series(pd.array(values, dtype="boolean"), index=series.index)
        return flags
    if kind is Kind.DATETIME:
        parsed = pd.to_datetime(series, utc=True, errors="raise", format="ISO8601")
        instants: pd.Series = parsed.astype("datetime64[s, UTC]")
        return instants
    if kind is Kind.DATE:
        parsed = pd.to_datetime(series, errors="raise", format="ISO8601")
        if isinstance(parsed.dtype, pd.DatetimeTZDtype):
            parsed = parsed.dt.tz_localize(None)
        times = parsed.dropna()
        if len(times) and (times != times.dt.normalize()).any():
            raise ValueError("times of day in a date field")
        days: pd.Series = parsed.astype("datetime64[s]")
        return days
    if kind in (Kind.LIST, Kind.SUBFORM):
        cells: list[Any] = []
        for v, m in zip(series.tolist(), missing, strict=True):
            if m:
                cells.append(None)
            elif isinstance(v, (list, dict)):
                cells.append(v)
            elif isinstance(v, str):
                cells.append(_literal(v))
            else:
                raise ValueError(f"{v!r} is not a list")
        lists: pd.Series = pd.Series(cells, index=series.index, dtype=object)
        return lists
    return series


def _literal(text: str) -> Any:
    """A list or dict cell written as text (``to_csv`` writes the repr, JSON the JSON)."""
    stripped = text.strip()
    try:
        value = json.loads(stripped)
    except ValueError:
        value = ast.literal_eval(stripped)
    if not isinstance(value, (list, dict)):
        raise ValueError(f"{text!r} is not a list")
    return value
