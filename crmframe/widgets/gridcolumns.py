"""What the edit grid knows about each column: how it is edited, and cells to and from JSON.

A column is edited through the editor its field's metadata calls for: a picklist through
its allowed values, a number only as a number, a date as ``yyyy-mm-dd``, a checkbox for a
boolean. Columns Zoho will not take (system fields, formulas, lookups' parts, multi-select
lists) are locked, with the reason shown on hover.

Examples
--------
>>> import pandas as pd
>>> frame = pd.DataFrame({"Lead_Status": pd.array(["Contacted"], dtype="string"),
...                       "Full_Name": pd.array(["Ada"], dtype="string")},
...                      index=pd.Index(["1"], dtype="string", name="id"))
>>> fields = {"fields": [
...     {"api_name": "Lead_Status", "data_type": "picklist", "json_type": "string",
...      "pick_list_values": [{"display_value": "Contacted", "actual_value": "Contacted"},
...                           {"display_value": "Junk Lead", "actual_value": "Junk Lead"}]},
...     {"api_name": "Full_Name", "data_type": "text", "json_type": "string",
...      "read_only": True}]}
>>> [(c.name, c.editor, c.options, c.locked) for c in column_specs(frame, fields)]
[('Lead_Status', 'picklist', ('Contacted', 'Junk Lead'), ''), ('Full_Name', '', (), 'read-only in Zoho')]
>>> cell_from_json("12", column_specs(frame, fields)[0])
Traceback (most recent call last):
...
crmframe.errors.InputError: Lead_Status: '12' is not one of its picklist values (Contacted, Junk Lead)
"""  # noqa: E501

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

import numpy as np
import pandas as pd

from crmframe.core.codecs import is_missing
from crmframe.core.fieldtypes import Kind
from crmframe.core.metadata import FieldInfo, normalise_fields
from crmframe.errors import InputError

__all__ = ["ColumnSpec", "cell_from_json", "column_json", "column_specs"]

_EDITORS = {
    Kind.TEXT: "text",
    Kind.ID: "text",
    Kind.INTEGER: "integer",
    Kind.FLOAT: "number",
    Kind.BOOLEAN: "boolean",
    Kind.DATE: "date",
    Kind.DATETIME: "datetime",
}
# Zoho's placeholder option: choosing it clears the cell.
_NONE_OPTION = "-None-"
_INTEGER = re.compile(r"^[+-]?\d+$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class ColumnSpec:
    """One grid column: ``editor`` is ``""`` when ``locked`` says why it cannot be edited."""

    name: str
    label: str
    editor: str
    options: tuple[str, ...] = ()
    max_length: int | None = None
    locked: str = ""

    def to_json(self) -> dict[str, Any]:
        """The column as the browser side reads it."""
        return {"name": self.name, "label": self.label, "editor": self.editor,
                "options": list(self.options), "max_length": self.max_length,
                "locked": self.locked}


def _locked_reason(name: str, info: FieldInfo | None) -> str:
    if info is None:
        if "." in name:
            return "part of a lookup: edit the lookup's .id in code"
        return "not a field of this module"
    if not info.writable:
        return "read-only in Zoho"
    if info.kind not in _EDITORS:
        return f"{info.kind.value} values are edited in code, not in the grid"
    return ""


def column_specs(frame: pd.DataFrame, fields: Any) -> list[ColumnSpec]:
    """The grid's columns for ``frame`` under the module's field metadata."""
    infos = normalise_fields(fields)
    specs = []
    for name in map(str, frame.columns):
        info = infos.get(name)
        locked = _locked_reason(name, info)
        label = (info.field_label if info is not None else None) or name
        if locked or info is None:
            specs.append(ColumnSpec(name, label, "", locked=locked))
            continue
        if info.data_type == "picklist" and info.picklist_values:
            options = tuple(v for v in info.picklist_values if v != _NONE_OPTION)
            specs.append(ColumnSpec(name, label, "picklist", options))
            continue
        specs.append(ColumnSpec(name, label, _EDITORS[info.kind], max_length=info.max_length))
    return specs


def _json_cell(value: Any) -> Any:
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    if isinstance(value, (bool, int, float, str)):
        return value
    if hasattr(value, "item"):  # numpy scalars
        return _json_cell(value.item())
    return str(value)


def column_json(series: pd.Series) -> list[Any]:
    """A column's cells as JSON values (times as ISO text in UTC, missing as null).

    Vectorised: a 10,000-row module of 90 columns goes in well under a second.

    Examples
    --------
    >>> column_json(pd.Series([1, None], dtype="Int64"))
    [1, None]
    >>> column_json(pd.Series(pd.to_datetime(["2026-01-02T03:04:05Z", None], utc=True)))
    ['2026-01-02T03:04:05Z', None]
    """
    missing = series.isna().to_numpy(dtype=bool)
    if isinstance(series.dtype, pd.DatetimeTZDtype) or str(series.dtype).startswith("datetime"):
        aware = isinstance(series.dtype, pd.DatetimeTZDtype)
        naive = series.dt.tz_convert("UTC").dt.tz_localize(None) if aware else series
        raw = naive.to_numpy(dtype="datetime64[s]")
        text = np.datetime_as_string(raw, unit="s" if aware else "D")
        cells: list[Any] = [t + "Z" if aware else t for t in text.tolist()]
    elif series.dtype == object:
        cells = [_json_cell(v) for v in series.tolist()]
    else:
        cells = series.astype(object).tolist()
    if missing.any():
        for position in np.flatnonzero(missing).tolist():
            cells[position] = None
    return cells


def cell_from_json(value: Any, spec: ColumnSpec) -> Any:
    """The browser's value for one cell, typed for the column; InputError when it does not fit.

    ``None`` (or ``pd.NA``, ``NaN``, ``NaT`` from code) or ``""`` clears the cell. Text is
    checked against the field's length, a picklist value against its options, numbers and
    dates against their forms.
    """
    if is_missing(value) or (isinstance(value, str) and value.strip() == ""):
        return None
    editor = spec.editor
    if not editor:
        raise InputError(f"{spec.name} cannot be edited in the grid: {spec.locked}")
    text = str(value).strip()
    if editor == "picklist":
        if text not in spec.options:
            raise InputError(f"{spec.name}: {text!r} is not one of its picklist values "
                             f"({', '.join(spec.options)})")
        return text
    if editor == "integer":
        if isinstance(value, float) and value.is_integer():
            return int(value)  # 7.0 from code: a whole number
        if isinstance(value, bool) or not _INTEGER.match(text):
            raise InputError(f"{spec.name}: {text!r} is not a whole number")
        return int(text)
    if editor == "number":
        try:
            number = float(text)
        except ValueError:
            raise InputError(f"{spec.name}: {text!r} is not a number") from None
        if not math.isfinite(number):
            raise InputError(f"{spec.name}: {text!r} is not a finite number")
        return number
    if editor == "boolean":
        if isinstance(value, bool):
            return value
        if text.lower() in ("true", "false"):
            return text.lower() == "true"
        raise InputError(f"{spec.name}: {text!r} is not true or false")
    if editor == "date":
        if not _DATE.match(text):
            raise InputError(f"{spec.name}: {text!r} is not a date (yyyy-mm-dd)")
        try:
            return pd.Timestamp(text)
        except ValueError:
            raise InputError(f"{spec.name}: {text!r} is not a date (yyyy-mm-dd)") from None
    if editor == "datetime":
        try:
            stamp = pd.Timestamp(text)
        except ValueError:
            raise InputError(f"{spec.name}: {text!r} is not a date and time") from None
        return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    if spec.max_length is not None and len(text) > spec.max_length:
        raise InputError(f"{spec.name}: {len(text)} characters, the field holds "
                         f"{spec.max_length}")
    return str(value)
