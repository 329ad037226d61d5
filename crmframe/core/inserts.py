"""New records from a frame: checked against the metadata, encoded, and their results.

:func:`new_records` turns the rows of a frame into the JSON records an insert or an upsert
sends, after checking every cell against the field metadata (types, picklists, lengths,
unknown and read-only fields, unique values repeated in the frame) and every row for its
mandatory fields — every problem at once, as one :class:`~crmframe.errors.ValidationError`
whose ``problems`` frame names the row, the field, the value and the problem.

Column conventions are those of the frames crmframe reads: a lookup is written from its
``X.id`` column (or an ``X`` column holding ids); ``X.name``/``X.email`` parts are read
labels and are not sent. Blank cells (``NaN``, ``None``, ``pd.NA`` and the ``""`` of a
``fillna("")``) are not sent: the record is created without that value.

:func:`write_results` reads Zoho's per-record answers of an insert/upsert/delete into one
results row per sent record, with the new id, and — for ``DUPLICATE_DATA`` — the id of the
record that already holds the value and the field that matched.

Examples
--------
>>> import pandas as pd
>>> meta = [{"api_name": "Last_Name", "data_type": "text", "system_mandatory": True,
...          "length": 80},
...         {"api_name": "No_of_Employees", "data_type": "integer", "json_type": "integer"}]
>>> rows = pd.DataFrame({"Last_Name": ["Li", None], "No_of_Employees": [5, "many"]})
>>> try:
...     new_records(rows, meta)
... except ValidationError as err:
...     print(err.problems[["row", "field", "problem"]].values.tolist())
[[1, 'Last_Name', 'mandatory field missing'], [1, 'No_of_Employees', 'not an integer']]
>>> new_records(rows.iloc[:1], meta).records
[{'Last_Name': 'Li', 'No_of_Employees': 5}]
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import pandas as pd

from crmframe.core.bulkwrite import MAX_BULK_ROWS
from crmframe.core.codecs import encode_series, is_missing
from crmframe.core.fieldtypes import LOOKUP_KINDS, is_system_read_only
from crmframe.core.metadata import FieldInfo, normalise_fields
from crmframe.core.plan import DEFAULT_BULK_THRESHOLD, STEP_COLUMNS, Costs, Objective, Plan
from crmframe.core.validate import find_problems
from crmframe.errors import InputError, ValidationError

__all__ = [
    "PER_CALL",
    "SYSTEM_DUPLICATE_CHECK",
    "InsertRoute",
    "NewRecords",
    "blank_mask",
    "check_ids",
    "check_upsert_match",
    "duplicate_of",
    "insert_route",
    "is_id_text",
    "match_fields",
    "new_records",
    "post_credits",
    "problems_error",
    "same_answer",
    "with_row_steps",
    "write_results",
]

_ID_TEXT = re.compile(r"[0-9]{1,19}")

#: Label parts of a lookup column (``Owner.name``): read, never written.
_LABEL_PARTS = frozenset({"name", "email", "first_name", "last_name", "full_name", "module"})


@dataclass(frozen=True)
class NewRecords:
    """The checked, encoded records of a frame's rows, in row order.

    Attributes
    ----------
    records : list of dict
        One JSON record per row (blank cells left out; ``id`` kept for upserts).
    fields : list of str
        The fields sent (API names), in column order.
    columns : dict
        Field → the frame column it came from.
    ignored : list of str
        Columns not sent: lookup label parts (``Owner.name``) and the ``id`` of inserts.
    """

    records: list[dict[str, Any]]
    fields: list[str]
    columns: dict[str, str] = field(default_factory=dict)
    ignored: list[str] = field(default_factory=list)


def _is_blank(value: Any) -> bool:
    if isinstance(value, str):
        return not value.strip()
    return is_missing(value)


def blank_mask(series: pd.Series) -> np.ndarray:
    """True where a cell holds no value to send: missing, or blank text (``fillna("")``).

    Examples
    --------
    >>> blank_mask(pd.Series(["a", "", " ", None, float("nan"), 0, []], dtype=object)).tolist()
    [False, True, True, True, True, False, False]
    """
    values = series.tolist()
    return np.fromiter((_is_blank(v) for v in values), dtype=bool, count=len(values))


def _column_fields(
    columns: Sequence[Any], infos: Mapping[str, FieldInfo]
) -> tuple[dict[str, str], list[str], list[str]]:
    """``field → column``, ignored label columns, and columns naming no field."""
    chosen: dict[str, str] = {}
    ignored: list[str] = []
    unknown: list[str] = []
    names = [str(c) for c in columns]
    for column in names:
        if column == "id":
            continue
        head, dot, tail = column.rpartition(".")
        if dot and tail == "id":
            chosen[head] = column  # X.id wins over an X column
            continue
        if dot and tail in _LABEL_PARTS and head in infos:
            ignored.append(column)
            continue
        if column in infos or is_system_read_only(column):
            chosen.setdefault(column, column)
        else:
            unknown.append(column)
    return chosen, ignored, unknown


def _row_labels(n: int) -> list[str]:
    return [str(i) for i in range(n)]


def new_records(
    frame: pd.DataFrame,
    fields: Any,
    *,
    upsert: bool = False,
    duplicate_check_fields: Sequence[str] | None = None,
) -> NewRecords:
    """Check ``frame``'s rows against ``fields`` and encode them as records to create.

    Parameters
    ----------
    frame : DataFrame
        One row per record. Rows are positions: the index is not sent.
    fields : any
        Field metadata of the module (anything ``normalise_fields`` accepts).
    upsert : bool
        For ``POST /{module}/upsert``: an ``id`` column is sent (rows with an id update
        that record), and mandatory fields are not required (a row that matches an
        existing record updates it).
    duplicate_check_fields : list of str, optional
        Upsert only: the fields matching rows to records; each must be a known field and a
        column of ``frame``.

    Returns
    -------
    NewRecords

    Raises
    ------
    ValidationError
        With every problem (``.problems``: ``row``, ``field``, ``value``, ``problem``);
        nothing is to be sent.
    InputError
        An empty frame, a frame with no writable column, or an insert of rows that already
        have an id.
    """
    if not isinstance(frame, pd.DataFrame):
        raise InputError(f"expected a DataFrame of new records, got {type(frame).__name__}")
    if frame.empty:
        raise InputError("no rows to write: the frame is empty")
    infos = normalise_fields(fields)
    table = frame
    if table.index.name == "id" and "id" not in table.columns:
        table = table.reset_index()
    table = table.reset_index(drop=True)
    chosen, ignored, unknown = _column_fields(table.columns, infos)
    n = len(table)
    labels = _row_labels(n)
    problems: list[pd.DataFrame] = []
    ids: list[str | None] = [None] * n
    if "id" in table.columns:
        given = blank_mask(table["id"])
        if upsert:
            ids = [None if b else str(v) for v, b in zip(table["id"].tolist(), given,
                                                           strict=True)]
            bad = [i for i, v in enumerate(ids) if v is not None and not is_id_text(v)]
            if bad:
                problems.append(_problems(bad, "id", [ids[i] for i in bad], "not an id"))
        elif not given.all():
            rows = np.flatnonzero(~given).tolist()
            problems.append(_problems(rows, "id", [table["id"].iloc[i] for i in rows],
                                      "has an id: insert creates records (use push or "
                                      "upsert to change existing ones)"))
        else:
            ignored.append("id")
    if unknown:
        for column in unknown:
            mask = ~blank_mask(table[column])
            rows = np.flatnonzero(mask).tolist()
            if rows:
                problems.append(_problems(rows, column, table[column].iloc[rows].tolist(),
                                          "unknown field"))
    if not chosen and not upsert:
        raise InputError(
            f"no field among the columns {list(map(str, frame.columns))}: name columns by "
            "API name (Last_Name, Owner.id...)"
        )
    blanks = {f: blank_mask(table[c]) for f, c in chosen.items()}
    long_parts = []
    for fname, column in chosen.items():
        keep = ~blanks[fname]
        if keep.any():
            long_parts.append(pd.DataFrame({
                "id": np.asarray(labels, dtype=object)[keep],
                "field": fname,
                "old": None,
                "new": pd.Series(table[column].to_numpy(dtype=object)[keep], dtype=object),
            }))
    if long_parts:
        found = find_problems(pd.concat(long_parts, ignore_index=True), infos)
        if len(found):
            problems.append(pd.DataFrame({
                "row": found["id"].astype(int).to_numpy(),
                "field": found["field"].astype(object).to_numpy(),
                "value": found["value"].to_numpy(),
                "problem": found["problem"].astype(object).to_numpy(),
            }))
    if not upsert:
        for info in infos.values():
            if not info.mandatory or not info.writable:
                continue
            missing = blanks.get(info.api_name)
            rows = (np.flatnonzero(missing).tolist() if missing is not None
                    else list(range(n)))
            if rows:
                problems.append(_problems(rows, info.api_name, [None] * len(rows),
                                          "mandatory field missing"))
    if duplicate_check_fields is not None:
        for name in duplicate_check_fields:
            if name not in infos:
                problems.append(_problems([-1], name, [None], "unknown duplicate check field"))
            elif name not in chosen:
                problems.append(_problems([-1], name, [None],
                                          "duplicate check field is not a column"))
    error = problems_error(problems, n)
    if error is not None:
        raise error
    records: list[dict[str, Any]] = [{} for _ in range(n)]
    if upsert:
        for i, rid in enumerate(ids):
            if rid is not None:
                records[i]["id"] = rid
    for fname, column in chosen.items():
        kind = infos[fname].kind
        keep = ~blanks[fname]
        series = table[column]
        if not keep.all():
            # "" of a fillna("") is blank: not sent, and not encoded (an integer or date
            # field would refuse it); object dtype so that None stays None
            series = series.astype(object).where(keep, None)
        encoded = encode_series(series, kind)
        lookup = kind in LOOKUP_KINDS
        for i in np.flatnonzero(keep).tolist():
            value = encoded[i]
            if lookup and isinstance(value, str):
                value = {"id": value}
            records[i][fname] = value
    return NewRecords(records, list(chosen), dict(chosen), ignored)


#: Zoho's system duplicate-check field of each standard module: an upsert without
#: ``duplicate_check_fields`` matches by it first, then by the unique fields (custom
#: modules: ``Name``). Zoho refuses any other field as a duplicate check.
SYSTEM_DUPLICATE_CHECK: dict[str, str] = {
    "Leads": "Email", "Contacts": "Email", "Accounts": "Account_Name", "Deals": "Deal_Name",
    "Campaigns": "Campaign_Name", "Cases": "Subject", "Quotes": "Subject",
    "Sales_Orders": "Subject", "Purchase_Orders": "Subject", "Invoices": "Subject",
    "Solutions": "Solution_Title", "Products": "Product_Name", "Vendors": "Vendor_Name",
    "Price_Books": "Price_Book_Name",
}


def match_fields(module: str, fields: Any) -> list[str]:
    """The fields an upsert into ``module`` can match records by, in Zoho's default order.

    Examples
    --------
    >>> match_fields("Leads", [{"api_name": "Email", "data_type": "email"},
    ...                        {"api_name": "Mobile", "data_type": "phone", "unique": True}])
    ['Email', 'Mobile']
    >>> match_fields("Tasks", [{"api_name": "Subject", "data_type": "text"}])
    []
    """
    infos = normalise_fields(fields)
    system = SYSTEM_DUPLICATE_CHECK.get(module, "Name")
    first = [system] if system in infos else []
    return first + [name for name, info in infos.items() if info.unique and name != system]


def check_upsert_match(
    module: str,
    fields: Any,
    new: NewRecords,
    duplicate_check_fields: Sequence[str] | None,
) -> None:
    """Refuse an upsert that could only insert, or that names a field Zoho cannot match by.

    Rows without an id are matched by the duplicate-check fields: when the frame holds
    none of them, every such row would be created again — a silent insert of records
    that may exist — so it is an :class:`~crmframe.errors.InputError`, before any call.

    Examples
    --------
    >>> meta = [{"api_name": "Email", "data_type": "email"},
    ...         {"api_name": "Last_Name", "data_type": "text"}]
    >>> check_upsert_match("Leads", meta, NewRecords([{"Last_Name": "Li"}], ["Last_Name"]),
    ...                    None)  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    crmframe.errors.InputError: upsert into Leads: no column to match rows without an id by ...
    """
    allowed = match_fields(module, fields)
    if duplicate_check_fields is not None:
        wrong = [f for f in duplicate_check_fields if f not in allowed]
        if not duplicate_check_fields or wrong:
            raise InputError(
                f"duplicate_check_fields={list(duplicate_check_fields)!r}: {module} matches "
                f"records only by {allowed or 'id'} (its system duplicate-check field and the "
                "fields set to allow no duplicates)")
        return
    if all("id" in record for record in new.records) or any(f in new.columns for f in allowed):
        return
    if not allowed:
        raise InputError(
            f"upsert into {module}: it has no duplicate-check field nor unique field, so rows "
            "without an id would all be inserted; give an id column, or use crm.insert")
    raise InputError(
        f"upsert into {module}: no column to match rows without an id by ({', '.join(allowed)}), "
        "so they would all be inserted; add one of these columns, or use crm.insert")


def _problems(rows: list[int], fname: str, values: list[Any], problem: str) -> pd.DataFrame:
    out: pd.DataFrame = pd.DataFrame({"row": rows, "field": fname,
                                      "value": pd.Series(values, dtype=object),
                                      "problem": problem})
    return out


def _concat_problems(parts: list[pd.DataFrame]) -> pd.DataFrame:
    if not parts:
        empty: pd.DataFrame = pd.DataFrame({"row": pd.array([], dtype="Int64"),
                                            "field": pd.array([], dtype="string"),
                                            "value": pd.Series([], dtype=object),
                                            "problem": pd.array([], dtype="string")})
        return empty
    out: pd.DataFrame = pd.concat(parts, ignore_index=True)
    out = out.sort_values(["row", "field"], kind="stable").reset_index(drop=True)
    out["row"] = out["row"].astype("Int64")
    out.loc[out["row"] < 0, "row"] = pd.NA
    out["field"] = out["field"].astype("string")
    out["problem"] = out["problem"].astype("string")
    return out


def problems_error(parts: Sequence[pd.DataFrame], n_rows: int) -> ValidationError | None:
    """One :class:`~crmframe.errors.ValidationError` for every problem found, or None.

    ``parts`` are frames of ``row`` (-1 or missing: not a row's), ``field``, ``value``,
    ``problem``; the error's ``problems`` holds them sorted by row and field.

    Examples
    --------
    >>> part = pd.DataFrame({"row": [2], "field": ["Last_Name"], "value": [None],
    ...                      "problem": ["mandatory field missing"]})
    >>> print(problems_error([part], 3))
    1 problem(s) in 3 row(s), nothing sent: 1 mandatory field missing
      row 2 Last_Name: mandatory field missing
    >>> problems_error([], 3) is None
    True
    """
    problems = _concat_problems(list(parts))
    return ValidationError(_message(problems, n_rows), problems) if len(problems) else None


def _message(problems: pd.DataFrame, n_rows: int, shown: int = 5) -> str:
    counts = problems["problem"].value_counts()
    kinds = ", ".join(f"{n} {p}" for p, n in counts.items())
    lines = [f"{len(problems)} problem(s) in {n_rows} row(s), nothing sent: {kinds}"]
    for row in problems.head(shown).itertuples(index=False):
        where = "" if pd.isna(row.row) else f"row {row.row} "
        value = "" if row.value is None else f"={row.value!r}"[:60]
        lines.append(f"  {where}{row.field}{value}: {row.problem}")
    if len(problems) > shown:
        lines.append(f"  ... and {len(problems) - shown} more (see .problems)")
    numbers = sorted({str(f) for f, p, v in zip(problems["field"], problems["problem"],
                                                  problems["value"], strict=True)
                      if p == "not text" and isinstance(v, (int, float, np.number))
                      and not isinstance(v, bool)})
    if numbers:
        # read_csv makes numbers of phone numbers and codes: leading zeros and '+' are gone
        # by then, so the fix is at the read, not a str() here.
        spelled = ", ".join(f"{f!r}: str" for f in numbers)
        lines.append(f"  numbers in text fields: read them as text, e.g. "
                     f"pd.read_csv(..., dtype={{{spelled}}})")
    return "\n".join(lines)


def check_ids(ids: Any) -> list[str]:
    """The ids of a delete, as strings in the given order; refuses bad input at once.

    Accepts a list/tuple/Index/Series of id strings, or a frame (its ``id`` index or
    column). Every malformed id is named in one :class:`~crmframe.errors.InputError`.

    Examples
    --------
    >>> check_ids(["3652397000009851001"])
    ['3652397000009851001']
    >>> check_ids([3652397000009851001])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    crmframe.errors.InputError: malformed ids (Zoho ids are strings of up to 19 ASCII digits, ...
    """
    if isinstance(ids, pd.DataFrame):
        if "id" in ids.columns:
            values: list[Any] = ids["id"].tolist()
        elif ids.index.name == "id":
            values = ids.index.tolist()
        else:
            raise InputError("a frame of records to delete needs an id index or column")
    elif isinstance(ids, (pd.Series, pd.Index)):
        values = ids.tolist()
    elif isinstance(ids, str):
        values = [ids]
    elif isinstance(ids, (list, tuple)):
        values = list(ids)
    else:
        raise InputError(f"ids must be a list of id strings, got {type(ids).__name__}")
    if not values:
        raise InputError("no ids given: nothing to delete")
    bad = [p for p, v in enumerate(values) if not is_id_text(v)]
    if bad:
        shown = "; ".join(f"position {p}: {values[p]!r} ({type(values[p]).__name__})"
                          for p in bad[:5])
        if len(bad) > 5:
            shown += f"; ... and {len(bad) - 5} more"
        numbers = any(isinstance(values[p], (int, float, np.number)) for p in bad)
        hint = (" — ids read as numbers lose their text (a float loses digits): read them "
                "as text, e.g. pd.read_csv(..., dtype={'id': str})" if numbers else "")
        raise InputError(f"malformed ids (Zoho ids are strings of up to 19 ASCII digits, "
                         f"such as '3652397000009851001'): {shown}{hint}")
    return [str(v) for v in values]


def is_id_text(value: Any) -> bool:
    """True for a well-formed record id: a string of 1 to 19 ASCII digits.

    ``str.isdigit`` alone would let ``"３"`` or ``"²"`` through to Zoho.

    Examples
    --------
    >>> [is_id_text(v) for v in ("3652397000009851001", "365239700000985100", "３", " 1", 1)]
    [True, True, False, False, False]
    """
    return isinstance(value, str) and _ID_TEXT.fullmatch(value) is not None


def duplicate_of(details: Any) -> tuple[str | None, str | None]:
    """``(existing id, field)`` of a ``DUPLICATE_DATA`` answer's ``details``.

    Reads v8's ``duplicate_record`` and the older ``{"api_name", "id"}`` form.

    Examples
    --------
    >>> duplicate_of({"api_name": "Email", "duplicate_record": {"id": "1"}})
    ('1', 'Email')
    >>> duplicate_of({"api_name": "Mobile", "id": "2"})
    ('2', 'Mobile')
    """
    if not isinstance(details, Mapping):
        return None, None
    record = details.get("duplicate_record")
    rid = record.get("id") if isinstance(record, Mapping) else details.get("id")
    name = details.get("api_name")
    return (str(rid) if rid is not None else None,
            str(name) if isinstance(name, str) else None)


def write_results(
    body: Mapping[str, Any] | None,
    sent: Sequence[Mapping[str, Any]] | Sequence[str],
    *,
    route: str,
    call: int,
) -> pd.DataFrame:
    """One results row per sent record from an insert/upsert/delete answer, in order.

    ``id`` is the record's id (the new one of an insert; none when it failed);
    ``duplicate_id``/``duplicate_field`` name the existing record of a ``DUPLICATE_DATA``
    and the field that matched (an upsert's update: the record updated and Zoho's
    ``duplicate_field``); ``action`` is an upsert's ``insert``/``update``.

    Examples
    --------
    >>> body = {"data": [
    ...     {"code": "SUCCESS", "status": "success", "message": "record added",
    ...      "details": {"id": "11"}},
    ...     {"code": "DUPLICATE_DATA", "status": "error", "message": "duplicate data",
    ...      "details": {"api_name": "Mobile", "duplicate_record": {"id": "7"}}}]}
    >>> out = write_results(body, [{"Last_Name": "A"}, {"Last_Name": "B"}],
    ...                     route="insert", call=0)
    >>> out["id"].tolist(), out["duplicate_id"].tolist(), out["duplicate_field"].tolist()
    (['11', <NA>], [<NA>, '7'], [<NA>, 'Mobile'])
    """
    items = list((body or {}).get("data") or [])
    rows: list[dict[str, Any]] = []
    for position, record in enumerate(sent):
        item = items[position] if position < len(items) and isinstance(items[position],
                                                                       Mapping) else {}
        details = item.get("details") if isinstance(item.get("details"), Mapping) else {}
        assert isinstance(details, Mapping)
        code = item.get("code")
        code = code if isinstance(code, str) and code else "NO_ANSWER"
        status = item.get("status")
        status = status if isinstance(status, str) and status else (
            "unknown" if not item else "error")
        deleting = isinstance(record, str)
        fields = [] if deleting else [str(k) for k in record if k != "id"]
        own = details.get("id")
        rid: str | None = None
        dup_id: str | None = None
        dup_field: str | None = None
        if status == "success":
            rid = str(own) if own is not None else None
            if item.get("action") == "update":
                dup_id, dup_field = rid, item.get("duplicate_field")
        elif code == "DUPLICATE_DATA":
            dup_id, dup_field = duplicate_of(details)
        if deleting:
            rid = str(record)
        elif rid is None and isinstance(record, Mapping) and record.get("id") is not None:
            rid = str(record["id"])
        rows.append({
            "id": rid, "route": route, "call": call, "fields": fields, "code": str(code),
            "status": str(status), "message": item.get("message"), "details": dict(details),
            "api_name": details.get("api_name") if isinstance(details.get("api_name"), str)
            else None,
            "expected_data_type": details.get("expected_data_type"),
            "json_path": details.get("json_path"),
            "Modified_Time": details.get("Modified_Time"),
            "action": item.get("action"),
            "duplicate_id": dup_id,
            "duplicate_field": dup_field,
        })
    out: pd.DataFrame = pd.DataFrame(rows)
    for column in ("id", "duplicate_id", "duplicate_field", "action"):
        out[column] = out[column].astype("string")
    return out


def same_answer(
    sent: Sequence[Mapping[str, Any]] | Sequence[str],
    *,
    code: str,
    status: str,
    message: str,
    route: str,
    call: int = -1,
    details: Mapping[str, Any] | None = None,
) -> pd.DataFrame:
    """:func:`write_results` rows giving every sent record the same answer.

    For what Zoho did not answer record by record: a dry run (``planned``), batches not
    sent after a fatal error, a whole-request error.

    Examples
    --------
    >>> out = same_answer(["1", "2"], code="DRY_RUN", status="planned",
    ...                   message="would be deleted", route="delete")
    >>> out[["id", "code", "status", "call"]].values.tolist()
    [['1', 'DRY_RUN', 'planned', -1], ['2', 'DRY_RUN', 'planned', -1]]
    """
    item = {"code": code, "status": status, "message": message, "details": dict(details or {})}
    return write_results({"data": [item] * len(sent)}, sent, route=route, call=call)


#: Records per insert/upsert call and ids per delete call: Zoho's maximum.
PER_CALL = 100


def post_credits(n: int, calls: int, costs: Costs | None = None) -> float:
    """Credits of the first ``calls`` POST batches of ``n`` records (1 per 10 records).

    Examples
    --------
    >>> post_credits(250, 3), post_credits(250, 1)
    (25.0, 10.0)
    """
    costs = costs or Costs()
    sizes = [min(PER_CALL, n - i) for i in range(0, n, PER_CALL)]
    return float(sum(costs.put(k) for k in sizes[:calls]))


@dataclass(frozen=True)
class InsertRoute:
    """How an insert of ``n`` records goes, and what it costs by the plan's cost model."""

    route: str
    calls: int
    credits: int
    jobs: int


def insert_route(
    n: int,
    *,
    objective: Objective = "calls",
    costs: Costs | None = None,
    bulk_threshold: int | None = DEFAULT_BULK_THRESHOLD,
) -> InsertRoute:
    """POST batches of 100 or bulk-write jobs of ≤ 25,000 rows, whichever is cheaper.

    Bulk write is considered from ``bulk_threshold`` records (``None``: never), and kept
    only when it is cheaper for ``objective`` (``(calls, credits)`` or ``(credits,
    calls)``, compared in that order), by the plan's cost model
    (:class:`~crmframe.core.plan.Costs`: 1 credit per 10 records per POST; 500 credits
    and 4 calls per job).

    Examples
    --------
    >>> insert_route(250)
    InsertRoute(route='post', calls=3, credits=25, jobs=0)
    >>> insert_route(10_000)
    InsertRoute(route='bulk_write', calls=4, credits=500, jobs=1)
    >>> insert_route(100_000, objective="credits")
    InsertRoute(route='bulk_write', calls=16, credits=2000, jobs=4)
    >>> insert_route(10_000, bulk_threshold=None)
    InsertRoute(route='post', calls=100, credits=1000, jobs=0)
    """
    costs = costs or Costs()
    batches = math.ceil(n / PER_CALL)
    post = InsertRoute("post", batches, int(post_credits(n, batches, costs)), 0)
    if bulk_threshold is None or n < bulk_threshold or n == 0:
        return post
    jobs = math.ceil(n / MAX_BULK_ROWS)
    bulk = InsertRoute("bulk_write", jobs * costs.bulk_write_calls,
                       jobs * costs.bulk_write_job_credits, jobs)

    def key(r: InsertRoute) -> tuple[int, int]:
        return (r.calls, r.credits) if objective == "calls" else (r.credits, r.calls)

    return bulk if key(bulk) < key(post) else post


def with_row_steps(
    plan: Plan,
    route: InsertRoute | None,
    new: NewRecords | None,
    delete_ids: Sequence[str],
) -> Plan:
    """``plan`` with the steps of a push's inserts and deletes added (their own routes).

    ``insert`` steps are POST batches of 100, a ``bulk_insert`` step is one job of at most
    25,000 rows, ``delete`` steps are 100 ids per call (1 credit each): so ``calls``,
    ``credits`` and :meth:`~crmframe.core.plan.Plan.summary` count them like the other
    routes. Only for reporting: a push sends them itself, after the plan's steps.

    Examples
    --------
    >>> from crmframe.core.diff import ChangeSet
    >>> from crmframe.core.plan import make_plan
    >>> base = make_plan(ChangeSet.empty(), None, "Leads")
    >>> new = NewRecords([{"Last_Name": "A"}] * 150, ["Last_Name"])
    >>> full = with_row_steps(base, insert_route(150), new, ["1", "2"])
    >>> full.steps[["route", "calls", "n_records", "credits"]].values.tolist()
    [['insert', 1, 100, 10], ['insert', 1, 50, 5], ['delete', 1, 2, 1]]
    >>> full.calls, full.credits
    (3, 16)
    """
    rows: list[dict[str, Any]] = []
    payloads: list[Any] = []
    if route is not None and new is not None and new.records:
        n = len(new.records)
        if route.route == "post":
            for start in range(0, n, PER_CALL):
                part = new.records[start:start + PER_CALL]
                rows.append({"route": "insert", "calls": 1, "n_records": len(part),
                             "ids": [], "fields": list(new.fields), "payload_bytes": 0,
                             "credits": plan.costs.put(len(part))})
                payloads.append({"data": part})
        else:
            for start in range(0, n, MAX_BULK_ROWS):
                size = min(MAX_BULK_ROWS, n - start)
                rows.append({"route": "bulk_insert", "calls": plan.costs.bulk_write_calls,
                             "n_records": size, "ids": [], "fields": list(new.fields),
                             "payload_bytes": 0,
                             "credits": plan.costs.bulk_write_job_credits})
                payloads.append(None)
    for start in range(0, len(delete_ids), PER_CALL):
        gone = [str(i) for i in delete_ids[start:start + PER_CALL]]
        rows.append({"route": "delete", "calls": 1, "n_records": len(gone), "ids": gone,
                     "fields": [], "payload_bytes": 0, "credits": 1})
        payloads.append({"ids": gone})
    if not rows:
        return plan
    added = pd.DataFrame(rows, columns=list(STEP_COLUMNS)).astype(
        {"route": "string", "calls": "int64", "n_records": "int64",
         "payload_bytes": "int64", "credits": "int64"})
    steps = pd.concat([plan.steps, added], ignore_index=True) if len(plan.steps) else added
    return replace(plan, steps=steps, payloads=[*plan.payloads, *payloads])
