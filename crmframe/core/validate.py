"""Check a change set against the field metadata before anything is sent.

:func:`find_problems` returns every problem at once as a frame (``id``, ``field``,
``value``, ``problem``); :func:`validate` raises one :class:`~crmframe.errors.ValidationError`
carrying that frame; :func:`split_valid` keeps only the changes without a problem, for an
analyst who chooses to push the valid part.

Checks, per changed cell:

* the field is unknown to the metadata;
* the field is read-only: system fields (``Created_Time``, ``Modified_By``..., any ``$`` key),
  formula/autonumber/rollup fields, or flagged read-only — the flags alone are not trusted
  (zoho-api.md §2), :attr:`~crmframe.core.metadata.FieldInfo.writable` hard-codes the rest;
* a mandatory field is cleared;
* the value does not fit the type: text into an integer or a number into text (the codecs
  decide), an integer over the field's ``length`` digits (or 32 bits), a number with more
  integer digits than ``length``, text longer than the field's maximum, a picklist value not
  in the list (each value for multi-select picklists), a malformed e-mail, an id that is not
  18–19 digits (lookups) or 1–19 digits (long integers);
* two records set the same new value in a ``unique`` field.

Decimal places beyond the field's ``decimal_place`` are **not** a problem: Zoho rounds them.
What :func:`~crmframe.core.diff.diff` reports as unpushable (added rows, lookup names...)
is not repeated here.

Examples
--------
>>> import pandas as pd
>>> from crmframe.core.diff import ChangeSet, field_infos
>>> meta = [{"api_name": "No_of_Employees", "data_type": "integer", "json_type": "integer"},
...         {"api_name": "Created_Time", "data_type": "datetime"}]
>>> changes = pd.DataFrame({"id": ["1", "2"], "field": ["No_of_Employees", "Created_Time"],
...                         "old": [1, None], "new": ["ten", "2024-01-01T00:00:00+00:00"]})
>>> find_problems(ChangeSet(changes=changes), meta)[["id", "field", "problem"]].values.tolist()
[['1', 'No_of_Employees', 'not an integer'], ['2', 'Created_Time', 'read-only field']]
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from crmframe.core.codecs import encode_value, is_missing
from crmframe.core.diff import ChangeSet
from crmframe.core.fieldtypes import EMAIL_RE, LOOKUP_KINDS, Kind, is_system_read_only
from crmframe.core.metadata import FieldInfo, normalise_fields
from crmframe.errors import CrmframeError, InputError, ValidationError

__all__ = [
    "PICKLIST_SHOWN", "PROBLEM_COLUMNS", "allowed_values", "find_problems", "split_valid",
    "validate",
]

#: Columns of the problems frame.
PROBLEM_COLUMNS: tuple[str, ...] = ("id", "field", "value", "problem")

_INT32_MAX = 2**31 - 1
_LOOKUP_ID_RE = re.compile(r"^\d{18,19}$")
_LONG_RE = re.compile(r"^-?\d{1,19}$")

_TYPE_PROBLEM: dict[Kind, str] = {
    Kind.TEXT: "not text",
    Kind.ID: "not an id",
    Kind.INTEGER: "not an integer",
    Kind.FLOAT: "not a number",
    Kind.BOOLEAN: "not a boolean",
    Kind.DATE: "not a date (yyyy-MM-dd)",
    Kind.DATETIME: "not a datetime (yyyy-MM-ddTHH:mm:ss±HH:mm)",
    Kind.LOOKUP: "not a lookup id",
    Kind.OBJECT: "not an object",
    Kind.LIST: "not a list",
    Kind.SUBFORM: "not a list of rows",
}


def _too_long(value: Any, digits: int | None) -> str | None:
    """The problem of a number with more integer digits than the field's ``length``."""
    if digits is not None and len(str(int(abs(value)))) > digits:
        return f"more than {digits} digits"
    return None


def _changes_frame(changes: ChangeSet | pd.DataFrame) -> pd.DataFrame:
    frame = changes.changes if isinstance(changes, ChangeSet) else changes
    if not isinstance(frame, pd.DataFrame) or not {"id", "field", "new"} <= set(frame.columns):
        raise InputError("changes must be a ChangeSet or a frame with id, field, new columns")
    return frame


def _value_checker(info: FieldInfo) -> Callable[[Any], str | None]:
    """A function: encoded JSON value → problem text or None, for one field."""
    kind = info.kind
    if kind is Kind.TEXT:
        limit = info.max_length
        choices = frozenset(info.picklist_values or ()) if info.data_type == "picklist" else None
        email = info.data_type == "email"

        def text(value: Any) -> str | None:
            if limit is not None and len(value) > limit:
                return f"longer than {limit} characters"
            if choices and value not in choices:
                return "not in the picklist"
            if email and not EMAIL_RE.match(value):
                return "malformed email"
            return None

        return text
    if kind is Kind.INTEGER:
        digits = info.length

        def integer(value: Any) -> str | None:
            out_of_range = "integer out of range" if abs(value) > _INT32_MAX else None
            return _too_long(value, digits) or out_of_range

        return integer
    if kind is Kind.FLOAT:
        digits = info.length

        def number(value: Any) -> str | None:
            if value != value or value in (float("inf"), float("-inf")):
                return "not a number"
            return _too_long(value, digits)

        return number
    if kind is Kind.ID:
        def long(value: Any) -> str | None:
            return None if _LONG_RE.match(value) else "not an id"

        return long
    if kind in LOOKUP_KINDS:
        def lookup(value: Any) -> str | None:
            if kind is Kind.OBJECT:
                return None
            return None if _LOOKUP_ID_RE.match(str(value.get("id"))) else "not a lookup id"

        return lookup
    if kind is Kind.LIST and info.data_type == "multiselectpicklist" and info.picklist_values:
        choices_ms = frozenset(info.picklist_values)

        def multi(value: Any) -> str | None:
            bad = [v for v in value if v not in choices_ms]
            return "not in the picklist" if bad else None

        return multi
    return lambda value: None


def _fast_problems(info: FieldInfo, values: list[Any]) -> list[str | None] | None:
    """Vectorised checks for the common case (all values plain ``str`` in a text field or
    plain ``int`` in an integer field, no uniqueness to track); None when not applicable."""
    if info.unique or not values:
        return None
    # "" is a clear (as diff has it): the per-value path checks it against ``mandatory``
    if info.kind is Kind.TEXT and all(type(v) is str for v in values) and "" not in values:
        texts = pd.Series(values, dtype=object)
        out: list[str | None] = [None] * len(values)
        checks: list[tuple[np.ndarray, str]] = []
        limit = info.max_length
        if limit is not None:
            checks.append((texts.str.len().to_numpy() > limit, f"longer than {limit} characters"))
        if info.data_type == "picklist" and info.picklist_values:
            checks.append((~texts.isin(list(info.picklist_values)).to_numpy(),
                           "not in the picklist"))
        if info.data_type == "email":
            ok = texts.str.match(EMAIL_RE.pattern).to_numpy(dtype=bool)
            checks.append((~ok, "malformed email"))
        # the first failing check wins, as in the per-value path
        for mask, problem in reversed(checks):
            for position in np.flatnonzero(mask):
                out[position] = problem
        return out
    if info.kind is Kind.INTEGER and all(type(v) is int for v in values):
        numbers = np.abs(np.asarray(values, dtype=object)).astype(float)
        out = [None] * len(values)
        for position in np.flatnonzero(numbers > _INT32_MAX):
            out[position] = "integer out of range"
        if info.length is not None:
            for position in np.flatnonzero(numbers >= 10.0 ** info.length):
                out[position] = f"more than {info.length} digits"
        return out
    return None


def find_problems(changes: ChangeSet | pd.DataFrame, fields: Any) -> pd.DataFrame:
    """Every problem of every changed cell, as a frame (empty when all is well).

    Parameters
    ----------
    changes : ChangeSet or DataFrame
        From :func:`~crmframe.core.diff.diff`, or a frame with ``id``, ``field``, ``new``.
    fields : any
        Field metadata (anything ``normalise_fields`` accepts).

    Returns
    -------
    DataFrame
        Columns ``id``, ``field``, ``value``, ``problem``; one row per problem, in the
        order of the changes.
    """
    frame = _changes_frame(changes)
    # Metadata is what the values are checked against, so None is refused here
    # (normalise_fields raises) where diff and plan take it as "no metadata".
    infos = normalise_fields(fields)
    found: list[tuple[int, str, str, Any, str]] = []  # (row, id, field, value, problem)
    for name, group in frame.groupby("field", sort=False):
        fname = str(name)
        rows = group.index.tolist()
        ids = [str(i) for i in group["id"].tolist()]
        values = group["new"].tolist()
        info = infos.get(fname)
        if info is None or not info.writable:
            verdict = (
                "read-only field"
                if (info is not None or is_system_read_only(fname))
                else "unknown field"
            )
            found.extend((r, i, fname, v, verdict) for r, i, v in zip(rows, ids, values,
                                                                       strict=True))
            continue
        fast = _fast_problems(info, values)
        if fast is not None:
            found.extend((r, i, fname, v, p) for r, i, v, p in zip(rows, ids, values, fast,
                                                                   strict=True) if p)
            continue
        check = _value_checker(info)
        type_problem = _TYPE_PROBLEM[info.kind]
        seen: dict[Any, int] = {}
        for r, i, v in zip(rows, ids, values, strict=True):
            if is_missing(v) or (isinstance(v, str) and v == ""):
                if info.mandatory:
                    found.append((r, i, fname, None, "mandatory field cleared"))
                continue
            try:
                encoded = encode_value(v, info.kind)
            except ValidationError:
                found.append((r, i, fname, v, type_problem))
                continue
            problem = check(encoded)
            if problem is not None:
                found.append((r, i, fname, v, problem))
            elif info.unique and isinstance(encoded, (str, int, float)):
                if encoded in seen:
                    found.append((r, i, fname, v, "duplicate value in a unique field"))
                seen.setdefault(encoded, r)
    found.sort(key=lambda item: item[0])
    out: pd.DataFrame = pd.DataFrame(
        {
            "id": pd.array([f[1] for f in found], dtype="string"),
            "field": pd.array([f[2] for f in found], dtype="string"),
            "value": pd.Series([f[3] for f in found], dtype=object),
            "problem": pd.array([f[4] for f in found], dtype="string"),
        }
    )
    return out


#: Allowed values the message lists per picklist (the rest are counted).
PICKLIST_SHOWN = 10


def allowed_values(allowed: Sequence[str]) -> str:
    """The allowed values of a picklist, for a message (the first :data:`PICKLIST_SHOWN`).

    Examples
    --------
    >>> allowed_values(["New", "Contacted"])
    "'New', 'Contacted'"
    >>> allowed_values([str(n) for n in range(12)]).endswith("'9', … and 2 more")
    True
    """
    shown = ", ".join(repr(str(v)) for v in list(allowed)[:PICKLIST_SHOWN])
    more = len(allowed) - PICKLIST_SHOWN
    return shown + (f", … and {more} more" if more > 0 else "")


def _message(problems: pd.DataFrame, n_changes: int, shown: int = 5,
             infos: Mapping[str, FieldInfo] | None = None) -> str:
    counts = Counter(problems["problem"].tolist())
    kinds = ", ".join(f"{n} {p}" for p, n in counts.most_common())
    lines = [f"{len(problems)} problem(s) in {n_changes} change(s), nothing sent: {kinds}"]
    for row in problems.head(shown).itertuples(index=False):
        value = repr(row.value)
        if len(value) > 60:
            value = value[:57] + "..."
        lines.append(f"  id={row.id} {row.field}={value}: {row.problem}")
    if len(problems) > shown:
        lines.append(f"  ... and {len(problems) - shown} more (see .problems)")
    picked = problems.loc[problems["problem"] == "not in the picklist", "field"]
    for name in dict.fromkeys(str(f) for f in picked.tolist()):
        info = (infos or {}).get(name)
        if info is not None and info.picklist_values:
            lines.append(f"  {name} allows: {allowed_values(info.picklist_values)}")
    return "\n".join(lines)


def validate(
    changes: ChangeSet | pd.DataFrame, fields: Any, *, problems: pd.DataFrame | None = None
) -> None:
    """Raise one :class:`~crmframe.errors.ValidationError` listing every problem, if any.

    ``problems``, when the caller already has :func:`find_problems`' frame, saves finding
    them again.

    Raises
    ------
    ValidationError
        ``.problems`` is the frame :func:`find_problems` returns; the message counts the
        problems per kind and shows the first few.

    Examples
    --------
    >>> import pandas as pd
    >>> meta = [{"api_name": "Last_Name", "data_type": "text", "system_mandatory": True,
    ...          "length": 80}]
    >>> bad = pd.DataFrame({"id": ["1"], "field": ["Last_Name"], "old": ["Li"], "new": [None]})
    >>> try:
    ...     validate(bad, meta)
    ... except ValidationError as err:
    ...     print(err.problems["problem"].tolist())
    ['mandatory field cleared']
    """
    if problems is None:
        problems = find_problems(changes, fields)
    if len(problems):
        try:
            infos: Mapping[str, FieldInfo] | None = normalise_fields(fields)
        except CrmframeError:
            infos = None
        raise ValidationError(
            _message(problems, len(_changes_frame(changes)), infos=infos), problems
        )


def split_valid(changes: ChangeSet | pd.DataFrame, problems: pd.DataFrame) -> ChangeSet:
    """The change set without the cells that have a problem (to push the valid part).

    Examples
    --------
    >>> import pandas as pd
    >>> ch = pd.DataFrame({"id": ["1", "2"], "field": ["City", "City"], "old": [None, None],
    ...                    "new": ["Pune", 7]})
    >>> meta = [{"api_name": "City", "data_type": "text"}]
    >>> split_valid(ch, find_problems(ch, meta)).records()
    {'1': {'City': 'Pune'}}
    """
    cs = changes if isinstance(changes, ChangeSet) else ChangeSet(
        changes=_changes_frame(changes).reset_index(drop=True)
    )
    bad = set(zip(problems["id"].astype(str).tolist(), problems["field"].astype(str).tolist(),
                  strict=True))
    keep = [
        (str(i), str(f)) not in bad
        for i, f in zip(cs.changes["id"].tolist(), cs.changes["field"].tolist(), strict=True)
    ]
    return cs.without(pd.Series(keep, dtype=bool).to_numpy())
