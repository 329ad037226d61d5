"""Bulk-read CSV → the same typed frame a paged read gives.

A bulk-read export is a CSV whose header holds field API names and whose cells are text:
empty for null, ``true``/``false`` for checkboxes, ISO dates and datetimes, multi-select
picklists joined with ``;``, and **lookups as the related record's id only**. Each cell is
turned back into the JSON value a ``GET /{module}`` page would have held (``12`` not
``"12"``, ``{"id": "..."}`` for a lookup, a list for a multi-select) and fed to
:class:`~crmframe.core.records.RecordsBuilder`, so both paths share one typing code path.

Lookups therefore give ``X.id`` only unless the job asked for a dotted field
(``Account_Name.Account_Name``): ``renames`` maps such a header to the part a page carries
(``{"Account_Name.Account_Name": "Account_Name.name"}``). A lookup part the export does not
carry is left out rather than filled with fake nulls; the facade fills it from a lookup
table (:mod:`crmframe.facade.lookupnames`). ``Tag`` comes as the joined tag names and is
read as a list of names (split on ``,`` and ``;``).

Examples
--------
>>> fields = {"fields": [
...     {"api_name": "Last_Name", "data_type": "text", "json_type": "string"},
...     {"api_name": "No_of_Employees", "data_type": "integer", "json_type": "integer"},
...     {"api_name": "Owner", "data_type": "ownerlookup", "json_type": "jsonobject"}]}
>>> csv_text = b"id,Last_Name,No_of_Employees,Owner\\n4150868000000002175,Boyle,12,4150868000000225013\\n"
>>> df = csv_to_frame(csv_text, fields, module="Leads")
>>> df.dtypes.astype(str).to_dict()
{'Last_Name': 'string', 'No_of_Employees': 'Int64', 'Owner.id': 'string'}
"""  # noqa: E501

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Any

import pandas as pd

from crmframe.core.fieldtypes import Kind
from crmframe.core.metadata import FieldInfo, normalise_fields
from crmframe.core.records import RecordsBuilder

__all__ = [
    "add_csv",
    "csv_header",
    "csv_records",
    "csv_to_frame",
    "finish_bulk_frame",
    "iter_csv_batches",
    "lookups_by_id_only",
]

_TRUE = frozenset({"true", "1", "yes"})
_FALSE = frozenset({"false", "0", "no"})
_BATCH = 5000  # rows handed to the builder at a time: bounded memory for big exports


def _integer(text: str) -> Any:
    try:
        return int(text)
    except ValueError:
        try:
            number = float(text)
        except ValueError:
            return text  # left as text: the builder keeps non-fitting values in object
        return int(number) if number.is_integer() else number


def _float(text: str) -> Any:
    try:
        return float(text)
    except ValueError:
        return text


def _boolean(text: str) -> Any:
    low = text.strip().lower()
    if low in _TRUE:
        return True
    if low in _FALSE:
        return False
    return text


_NOT_JSON = object()


def _json(text: str, openers: str) -> Any:
    """The JSON value of ``text`` when it opens with one of ``openers`` and parses, else
    ``_NOT_JSON`` (each caller has its own reading of plain text)."""
    if text[:1] and text[0] in openers:
        try:
            return json.loads(text)
        except ValueError:
            pass
    return _NOT_JSON


def _list(text: str) -> Any:
    value = _json(text, "[")
    if value is _NOT_JSON:
        return [part.strip() for part in text.split(";") if part.strip()]
    return value


def _json_or_text(text: str) -> Any:
    value = _json(text, "[{")
    return text if value is _NOT_JSON else value


def _lookup(text: str) -> Any:
    value = _json(text, "{")
    return {"id": text} if value is _NOT_JSON else value


def _datetime(text: str) -> Any:
    # Some exports write UTC as "Z"; Zoho's read form (and the codec) wants "+00:00".
    if text.endswith("Z"):
        return text[:-1] + "+00:00"
    return text


_CONVERTERS: dict[Kind, Callable[[str], Any]] = {
    Kind.INTEGER: _integer,
    Kind.FLOAT: _float,
    Kind.BOOLEAN: _boolean,
    Kind.DATETIME: _datetime,
    Kind.LIST: _list,
    Kind.SUBFORM: _json_or_text,
    Kind.OBJECT: _json_or_text,
}


def _tag_names(text: str) -> Any:
    value = _json(text, "[")
    if value is _NOT_JSON:
        return [part.strip() for part in text.replace(";", ",").split(",") if part.strip()]
    return value


def _converter(info: FieldInfo | None) -> Callable[[str], Any] | None:
    if info is None:
        return None
    if info.kind is Kind.LOOKUP:
        return _lookup
    if info.kind is Kind.LIST and info.api_name == "Tag":
        return _tag_names
    return _CONVERTERS.get(info.kind)


def csv_records(
    rows: Iterable[list[str]], header: list[str], fields: dict[str, FieldInfo]
) -> Iterator[dict[str, Any]]:
    """Rows of a bulk-read CSV as record dicts with JSON-typed values."""
    plan: list[tuple[str, str | None, Callable[[str], Any] | None]] = []
    for name in header:
        base, dot, sub = name.partition(".")
        if dot and base in fields and fields[base].kind is Kind.LOOKUP:
            plan.append((base, sub, None))  # "Owner.name" style columns, if an export has them
        else:
            plan.append((name, None, _converter(fields.get(name))))
    for row in rows:
        record: dict[str, Any] = {}
        for (name, part, convert), cell in zip(plan, row, strict=False):
            if part is not None:
                if cell != "":
                    target = record.get(name)
                    if not isinstance(target, dict):
                        target = {}
                        record[name] = target
                    target[part] = cell
                else:
                    record.setdefault(name, None)
                continue
            if cell == "":
                # JSON pages give [] for an empty multi-select; the CSV cannot tell [] from null.
                record[name] = [] if convert is _list or convert is _tag_names else None
            elif convert is None:
                record[name] = cell
            else:
                record[name] = convert(cell)
        yield record


def iter_csv_batches(
    lines: Iterable[str],
    fields: Any = None,
    *,
    renames: Mapping[str, str] | None = None,
    size: int = _BATCH,
) -> Iterator[list[dict[str, Any]]]:
    """Records of a bulk-read CSV (given as lines of text), ``size`` at a time.

    ``renames`` maps header cells to the names records should use (a dotted export field
    to the lookup part a page carries). Only one batch of records is held at a time.

    Examples
    --------
    >>> lines = ["id,Owner,Owner.full_name\\n", "1,42,Ann Lee\\n"]
    >>> next(iter_csv_batches(lines, {"fields": [{"api_name": "Owner",
    ...     "data_type": "ownerlookup"}]}, renames={"Owner.full_name": "Owner.name"}))
    [{'id': '1', 'Owner': {'id': '42', 'name': 'Ann Lee'}}]
    """
    reader = csv.reader(lines)
    try:
        header = next(reader)
    except StopIteration:
        return
    if header and header[0].startswith("\ufeff"):
        header[0] = header[0][1:]
    if renames:
        header = [renames.get(name, name) for name in header]
    infos = normalise_fields(fields) if fields is not None else {}
    batch: list[dict[str, Any]] = []
    for record in csv_records(reader, header, infos):
        batch.append(record)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def add_csv(
    builder: RecordsBuilder,
    payload: bytes | str,
    fields: Any = None,
    *,
    renames: Mapping[str, str] | None = None,
) -> int:
    """Feed one bulk-read CSV into ``builder``; returns the number of rows added."""
    text = payload.decode("utf-8-sig") if isinstance(payload, bytes) else payload
    added = 0
    for batch in iter_csv_batches(io.StringIO(text, newline=""), fields, renames=renames):
        added += builder.add(batch)
    return added


def _drop_absent_lookup_names(frame: pd.DataFrame, header_lookups: set[str]) -> pd.DataFrame:
    # A bulk export carries the lookup's id only; an all-null ".name" would claim "no name".
    drop = [f"{name}.name" for name in header_lookups if f"{name}.name" in frame.columns
            and frame[f"{name}.name"].isna().all()]
    return frame.drop(columns=drop) if drop else frame


def lookups_by_id_only(header: Iterable[str], fields: Any) -> set[str]:
    """Lookup fields that a CSV header carries as bare ids (no ``X.name`` column)."""
    infos = normalise_fields(fields) if fields is not None else {}
    names = list(header)
    return {
        n for n in names
        if n in infos and infos[n].kind is Kind.LOOKUP and f"{n}.name" not in names
    }


def csv_to_frame(
    payload: bytes | str,
    fields: Any = None,
    *,
    columns: Iterable[str] | None = None,
    module: str | None = None,
) -> pd.DataFrame:
    """One bulk-read CSV → a typed frame indexed by ``id`` (see the module docstring).

    Parameters
    ----------
    payload : bytes or str
        The CSV (unzipped).
    fields : field metadata, optional
        As for :func:`~crmframe.core.records.records_to_frame`; without it every column
        stays text.
    columns : list of str, optional
        Fields to put first and to include even when absent.
    module : str, optional
        Kept in ``df.attrs["module"]``.
    """
    builder = RecordsBuilder(fields, columns=columns, module=module)
    add_csv(builder, payload, fields)
    return finish_bulk_frame(builder.to_frame(), payload, fields)


def csv_header(payload: bytes | str) -> list[str]:
    """The header row of a CSV payload."""
    text = payload.decode("utf-8-sig") if isinstance(payload, bytes) else payload
    first = text.split("\n", 1)[0]
    return next(csv.reader([first.rstrip("\r")]), [])


def finish_bulk_frame(
    frame: pd.DataFrame,
    payload: bytes | str,
    fields: Any,
    *,
    renames: Mapping[str, str] | None = None,
) -> pd.DataFrame:
    """Drop the ``X.name`` columns of lookups the export carried as ids only."""
    header = csv_header(payload)
    if renames:
        header = [renames.get(name, name) for name in header]
    by_id = lookups_by_id_only(header, fields)
    return _drop_absent_lookup_names(frame, by_id)
