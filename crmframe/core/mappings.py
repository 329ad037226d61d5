"""Bulk-write field mappings (``resource[].field_mappings``) as a frame, and back.

A bulk-write job maps CSV column positions to field API names::

    {"operation": "insert", "resource": [{"type": "data", "module": "Leads",
      "field_mappings": [{"api_name": "Last_Name", "index": 0},
                         {"api_name": "Date_3", "index": 2, "format": "yyyy/MM/dd"}]}]}

``module`` is a string in v2 and ``{"api_name": ...}`` from v2.1 on; both read as the
module name. :func:`mappings_to_frame` gives one row per mapping; :func:`frame_to_mappings`
rebuilds the list Zoho expects.

**Round trip.** ``frame_to_mappings(mappings_to_frame(job))`` gives back the job's
mappings ordered by ``index`` (mappings without an index, such as a ``default_value``-only
Layout mapping, come last), with every key whose value is null **dropped**: Zoho treats
an absent key and a null one alike, and its job details echo nulls (``"format": null``)
that a create-job request does not need.

Examples
--------
>>> job = {"resource": [{"module": {"api_name": "Leads"}, "field_mappings": [
...     {"api_name": "Date_3", "index": 2, "format": "yyyy/MM/dd", "find_by": None},
...     {"api_name": "Last_Name", "index": 0}]}]}
>>> df = mappings_to_frame(job)
>>> df[["module", "api_name", "index", "format"]].values.tolist()
[['Leads', 'Last_Name', 0, <NA>], ['Leads', 'Date_3', 2, 'yyyy/MM/dd']]
>>> frame_to_mappings(df)
[{'api_name': 'Last_Name', 'index': 0}, {'api_name': 'Date_3', 'index': 2, 'format': 'yyyy/MM/dd'}]
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, overload

import numpy as np
import pandas as pd

from crmframe.core.codecs import decode_column, is_missing, object_series, short_repr
from crmframe.core.envelope import load_envelope
from crmframe.core.fieldtypes import Kind
from crmframe.errors import EnvelopeError, InputError

__all__ = ["MAPPING_COLUMNS", "frame_to_mappings", "mappings_to_frame"]

#: Columns of :func:`mappings_to_frame`, in order (other mapping keys Zoho sends follow).
MAPPING_COLUMNS: tuple[str, ...] = (
    "resource",
    "module",
    "api_name",
    "index",
    "format",
    "find_by",
    "lookup_module",
    "default_value",
)

# Mapping key -> frame column, where they differ ("module" inside a mapping is the
# lookup's module, not the resource's).
_KEY_TO_COLUMN = {"module": "lookup_module"}
_COLUMN_TO_KEY = {v: k for k, v in _KEY_TO_COLUMN.items()}
_MAPPING_KEYS = ("api_name", "index", "format", "find_by", "module", "default_value")


def _module_name(raw: Any, where: str) -> str | None:
    if raw is None or isinstance(raw, str):
        return raw
    if isinstance(raw, Mapping):
        name = raw.get("api_name")
        if name is None or isinstance(name, str):
            return name
    shown = short_repr(raw, 60)
    raise EnvelopeError(f"{where}: module is {shown}, expected a name or {{'api_name': ...}}")


def _index(raw: Any, where: str) -> int | None:
    if raw is None:
        return None
    if isinstance(raw, int) and not isinstance(raw, bool):
        return raw
    raise EnvelopeError(f"{where}: index is {short_repr(raw)}, expected a column number")


def mappings_to_frame(job: Any) -> pd.DataFrame:
    """A bulk-write job's field mappings → a DataFrame, one row per mapping.

    Parameters
    ----------
    job : dict, str, bytes or requests.Response
        The job-details envelope (``GET /crm/bulk/{ver}/write/{job_id}``) or the
        create-job request body: anything with a ``resource`` list.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`MAPPING_COLUMNS`: ``resource`` (position of the resource in the
        job, ``Int64``), ``module`` (string, v2 and v2.1+ forms alike), ``api_name``,
        ``index`` (``Int64``), ``format``, ``find_by``, ``lookup_module`` (the
        mapping's own ``module`` key, for lookups), ``default_value`` (the object, e.g.
        ``{"value": "..."}``), then any other mapping key. Sorted by resource, then
        index (mappings without an index last, in their job order).

    Raises
    ------
    EnvelopeError
        When the input has no ``resource`` list or a mapping is malformed.
    ZohoAPIError
        (a subclass) for an error envelope (``RESOURCE_NOT_FOUND``...).
    """
    body = load_envelope(job).body
    rows: list[dict[str, Any]] = []
    extra: dict[str, None] = {}
    if body:
        resources = body.get("resource")
        if not isinstance(resources, list):
            raise EnvelopeError("not a bulk-write job: no 'resource' list")
        for r_pos, resource in enumerate(resources):
            if not isinstance(resource, Mapping):
                raise EnvelopeError(f"resource {r_pos} is {type(resource).__name__}, "
                                    "expected an object")
            module = _module_name(resource.get("module"), f"resource {r_pos}")
            mappings = resource.get("field_mappings")
            if mappings is None:
                continue  # no mappings: Zoho takes the CSV header names as API names
            if not isinstance(mappings, list):
                raise EnvelopeError(f"resource {r_pos}: 'field_mappings' is "
                                    f"{type(mappings).__name__}, expected a list")
            for m_pos, mapping in enumerate(mappings):
                where = f"resource {r_pos}, mapping {m_pos}"
                if not isinstance(mapping, Mapping):
                    raise EnvelopeError(f"{where} is {type(mapping).__name__}, expected an object")
                api_name = mapping.get("api_name")
                if not isinstance(api_name, str):
                    shown = short_repr(api_name)
                    raise EnvelopeError(f"{where}: api_name is {shown}, expected a string")
                row: dict[str, Any] = {"resource": r_pos, "module": module}
                for key, value in mapping.items():
                    if not isinstance(key, str):
                        shown = short_repr(key)
                        raise EnvelopeError(f"{where}: keys must be strings, got {shown}")
                    column = _KEY_TO_COLUMN.get(key, key)
                    if column in ("resource", "module"):
                        raise EnvelopeError(f"{where}: unexpected key {short_repr(key)}")
                    row[column] = value
                    if column not in MAPPING_COLUMNS:
                        extra[column] = None
                row["index"] = _index(mapping.get("index"), where)
                row["_order"] = m_pos
                rows.append(row)
    rows.sort(key=lambda r: (r["resource"], r["index"] is None, r["index"] or 0, r["_order"]))

    def values_of(name: str) -> list[Any]:
        return [r.get(name) for r in rows]

    out: dict[str, pd.Series] = {
        "resource": decode_column(values_of("resource"), Kind.INTEGER),
        "module": decode_column(values_of("module"), Kind.TEXT),
        "api_name": decode_column(values_of("api_name"), Kind.TEXT),
        "index": decode_column(values_of("index"), Kind.INTEGER),
        "format": decode_column(values_of("format"), Kind.TEXT),
        "find_by": decode_column(values_of("find_by"), Kind.TEXT),
        "lookup_module": decode_column(values_of("lookup_module"), Kind.TEXT),
        "default_value": object_series(values_of("default_value")),
    }
    for name in extra:
        out[name] = object_series(values_of(name))
    frame: pd.DataFrame = pd.DataFrame(out, copy=False)
    frame.attrs["kind"] = "mappings"
    if body:
        job_id = body.get("id")
        frame.attrs["job_id"] = job_id if isinstance(job_id, str) else None
        operation = body.get("operation")
        frame.attrs["operation"] = operation if isinstance(operation, str) else None
    return frame


def _plain(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    return value


def _mapping_from_row(row: Mapping[Any, Any], names: list[str], position: int) -> dict[str, Any]:
    mapping: dict[str, Any] = {}
    for name in names:
        value = _plain(row.get(name))
        if is_missing(value):
            continue
        key = _COLUMN_TO_KEY.get(name, name)
        if key == "index":
            # is_integer() is False for inf and nan, which int() would refuse with other errors.
            if isinstance(value, bool) or not isinstance(value, (int, float)) or (
                isinstance(value, float) and not value.is_integer()
            ):
                raise InputError(f"mapping row {position}: index {short_repr(value)} is not a "
                                 "column number")
            value = int(value)
        elif key == "api_name" and not isinstance(value, str):
            shown = short_repr(value)
            raise InputError(f"mapping row {position}: api_name {shown} is not a string")
        mapping[key] = value
    if "api_name" not in mapping:
        raise InputError(f"mapping row {position} has no api_name")
    return mapping


@overload
def frame_to_mappings(df: pd.DataFrame, *, by_module: Literal[False] = ...) -> list[dict[str, Any]]:
    ...


@overload
def frame_to_mappings(
    df: pd.DataFrame, *, by_module: Literal[True]
) -> dict[str | None, list[dict[str, Any]]]:
    ...


def frame_to_mappings(
    df: pd.DataFrame, *, by_module: bool = False
) -> list[dict[str, Any]] | dict[str | None, list[dict[str, Any]]]:
    """A mappings frame → the ``field_mappings`` list(s) for a bulk-write job.

    Parameters
    ----------
    df : pandas.DataFrame
        A frame like :func:`mappings_to_frame` returns (at least an ``api_name`` column;
        ``index``, ``format``, ``find_by``, ``lookup_module``, ``default_value`` and
        ``module`` are optional; other columns become mapping keys).
    by_module : bool, default False
        False: return one list of mapping dicts; the frame must then hold a single
        module. True: return ``{module: [mappings...]}`` (several resources of a job).

    Returns
    -------
    list of dict, or dict of lists
        Mappings ordered by ``index`` (unindexed ones last, in frame order); keys whose
        value is missing (None/NA/NaN) are dropped; ``lookup_module`` goes back to the
        mapping's ``module`` key; ``resource`` and ``module`` columns are not mapping keys.

    Raises
    ------
    InputError
        When ``df`` is not such a frame, or holds several modules and ``by_module`` is
        False.
    """
    if not isinstance(df, pd.DataFrame):
        raise InputError(f"frame_to_mappings needs a DataFrame, got {type(df).__name__}")
    if "api_name" not in df.columns:
        raise InputError("a mappings frame needs an 'api_name' column")
    if not all(isinstance(c, str) for c in df.columns) or df.columns.has_duplicates:
        raise InputError("a mappings frame needs unique string column names")
    names = [c for c in df.columns if c not in ("resource", "module")]
    ordered = [n for n in _MAPPING_KEYS if _KEY_TO_COLUMN.get(n, n) in names]
    names = [_KEY_TO_COLUMN.get(n, n) for n in ordered] + [
        n for n in names if _COLUMN_TO_KEY.get(n, n) not in _MAPPING_KEYS
    ]
    records = df.to_dict("records")
    groups: dict[str | None, list[tuple[tuple[Any, ...], dict[str, Any]]]] = {}
    for position, row in enumerate(records):
        module = _plain(row.get("module"))
        if is_missing(module):
            module = None
        elif not isinstance(module, str):
            shown = short_repr(module)
            raise InputError(f"mapping row {position}: module {shown} is not a string")
        mapping = _mapping_from_row(row, names, position)
        index = mapping.get("index")
        key = (index is None, index or 0, position)
        groups.setdefault(module, []).append((key, mapping))
    result = {m: [mp for _, mp in sorted(items, key=lambda t: t[0])] for m, items in groups.items()}
    if by_module:
        return result
    if len(result) > 1:
        shown = ", ".join(sorted(str(m) for m in result))
        raise InputError(f"the frame holds mappings of several modules ({shown}): pass "
                         "by_module=True to get {module: mappings}")
    return next(iter(result.values()), [])
