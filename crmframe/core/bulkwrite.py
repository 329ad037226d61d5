"""Bulk-write files, built and read back in memory: the CSV+zip to upload and the result CSV.

:func:`build_bulk_write` turns per-record changes into the CSV Zoho's bulk write imports
(``operation: update``, ``find_by: id``), zips it, and builds the ``field_mappings`` with an
explicit ``format`` for every date and datetime column, because Zoho's defaults are US
``MM/dd/yyyy`` [zoho-api.md §5]. :func:`parse_bulk_result` reads the result CSV (or its
zip) into a frame with one row per input row and Zoho's ``ERRORS`` split into code and column.

Written values:

* date: ``yyyy-MM-dd`` with ``format`` ``yyyy-MM-dd``;
* datetime: UTC ``yyyy-MM-ddTHH:mm:ss+00:00`` with ``format`` :data:`DATETIME_FORMAT`
  (``yyyy-MM-dd'T'HH:mm:ssXXX``, the Java pattern of that shape; **UNCONFIRMED** that Zoho
  lists this exact pattern; the local sandbox parses it);
* boolean ``true``/``false``; multi-select picklists joined with ``;``;
* lookups: header ``X.id`` mapped to ``api_name: X`` with ``find_by: id``.

The job is created with ``ignore_empty: true`` so that a record which does not change a
column leaves it alone; a change *to empty* can therefore not travel in a bulk write — the
planner sends those records by PUT.

Examples
--------
>>> from crmframe.core.fieldtypes import Kind
>>> f = build_bulk_write({"3652397000009851001": {"Lead_Status": "Contacted"}},
...                      {"Lead_Status": Kind.TEXT}, "Leads")
>>> f.csv_bytes.decode().splitlines()
['id,Lead_Status', '3652397000009851001,Contacted']
>>> [m["api_name"] for m in f.field_mappings]
['id', 'Lead_Status']
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from crmframe.core.codecs import encode_value, is_missing
from crmframe.core.fieldtypes import LOOKUP_KINDS, Kind
from crmframe.core.mappings import frame_to_mappings
from crmframe.errors import EnvelopeError, InputError

__all__ = [
    "DATETIME_FORMAT",
    "DATE_FORMAT",
    "MAX_BULK_COLUMNS",
    "MAX_BULK_ROWS",
    "BulkWriteFile",
    "build_bulk_file",
    "build_bulk_write",
    "build_bulk_write_columns",
    "bulk_cells",
    "csv_cells",
    "java_strftime",
    "parse_bulk_result",
]

#: ``format`` sent for date columns.
DATE_FORMAT = "yyyy-MM-dd"
#: ``format`` sent for datetime columns (values written as ``2024-01-31T09:30:00+00:00``).
DATETIME_FORMAT = "yyyy-MM-dd'T'HH:mm:ssXXX"
#: Zoho's limits per CSV [zoho-api.md §5].
MAX_BULK_ROWS = 25_000
MAX_BULK_COLUMNS = 200

_ERROR_RE = re.compile(r"^([A-Z][A-Z0-9_]*)-(.*)$")


@dataclass(frozen=True)
class BulkWriteFile:
    """One bulk-write upload: the zip, the CSV inside it, and the job's resource.

    Attributes
    ----------
    zip_bytes : bytes
        What to upload (``multipart`` field ``file``).
    csv_bytes : bytes
        The CSV inside the zip (UTF-8).
    field_mappings : list of dict
        For the job's ``resource[0].field_mappings``.
    ids : list of str
        Record ids, in CSV row order.
    module : str
        Module API name.
    columns : list of str
        CSV header.
    """

    zip_bytes: bytes
    csv_bytes: bytes
    field_mappings: list[dict[str, Any]]
    ids: list[str]
    module: str
    columns: list[str] = field(default_factory=list)
    #: ``insert``, ``update`` or ``upsert``.
    operation: str = "update"
    #: How rows find their record (``id``, a unique field; ``None`` for a plain insert).
    find_by: str | None = "id"

    def job_body(self, file_id: str, *, version: str = "v8") -> dict[str, Any]:
        """The ``POST /crm/bulk/{version}/write`` body for this file once uploaded.

        ``module`` is a plain string on v2 and ``{"api_name": ...}`` from v2.1 on.

        Examples
        --------
        >>> from crmframe.core.fieldtypes import Kind
        >>> f = build_bulk_write({"1": {"City": "Pune"}}, {"City": Kind.TEXT}, "Leads")
        >>> f.job_body("77", version="v2")["resource"][0]["module"]
        'Leads'
        """
        module: Any = self.module if version in ("v2",) else {"api_name": self.module}
        resource: dict[str, Any] = {"type": "data", "module": module, "file_id": file_id}
        if self.find_by is not None:
            resource["find_by"] = self.find_by
        resource["field_mappings"] = self.field_mappings
        return {
            "operation": self.operation,
            "ignore_empty": True,
            "character_encoding": "UTF-8",
            "resource": [resource],
        }


def _cell(value: Any, kind: Kind) -> str:
    if type(value) is str and (kind is Kind.TEXT or kind is Kind.ID):
        return value  # what encode_value gives, without its checks per cell
    if type(value) is int and kind is Kind.INTEGER:
        return str(value)
    if is_missing(value):
        return ""
    encoded = encode_value(value, kind)
    if encoded is None:
        return ""
    if kind in LOOKUP_KINDS and isinstance(encoded, Mapping):
        return str(encoded.get("id", ""))
    if isinstance(encoded, bool):
        return "true" if encoded else "false"
    if isinstance(encoded, list):
        return ";".join("" if v is None else str(v) for v in encoded)
    if isinstance(encoded, float):
        return repr(encoded) if not encoded.is_integer() else str(int(encoded))
    return str(encoded)


def _mappings_frame(columns: list[str], kinds: Mapping[str, Kind], module: str) -> pd.DataFrame:
    rows = []
    for index, header in enumerate(columns):
        api_name = header[:-3] if header.endswith(".id") and header != "id" else header
        kind = kinds.get(api_name, Kind.ID if api_name == "id" else Kind.TEXT)
        rows.append(
            {
                "module": module,
                "api_name": api_name,
                "index": index,
                "format": DATE_FORMAT if kind is Kind.DATE
                else DATETIME_FORMAT if kind is Kind.DATETIME else None,
                "find_by": "id" if header != api_name else None,
                "default_value": None,
            }
        )
    frame: pd.DataFrame = pd.DataFrame(rows)
    return frame


def _mappings(frame: pd.DataFrame) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = frame_to_mappings(frame)
    return result


def build_bulk_write(
    records: Mapping[str, Mapping[str, Any]],
    kinds: Mapping[str, Kind],
    module: str,
) -> BulkWriteFile:
    """The bulk-write CSV (zipped) and ``field_mappings`` for ``{id: {field: new value}}``.

    Parameters
    ----------
    records : Mapping
        ``{record id: {field API name: new value}}`` (lookups by field name, value the id).
    kinds : Mapping
        Field API name → :class:`~crmframe.core.fieldtypes.Kind` (unknown fields: text).
    module : str
        Module API name.

    Returns
    -------
    BulkWriteFile

    Raises
    ------
    InputError
        More than 25,000 rows or 200 columns (Zoho's per-file limits), or a change to empty
        (the job ignores empty cells).
    ValidationError
        A value that does not fit its field's kind (from the codecs).
    """
    if len(records) > MAX_BULK_ROWS:
        raise InputError(f"a bulk-write file holds at most {MAX_BULK_ROWS} rows, got "
                         f"{len(records)}: split the records")
    fields: dict[str, None] = {}
    for values in records.values():
        for name in values:
            fields.setdefault(name, None)
    columns = ["id"] + [
        f"{name}.id" if kinds.get(name) in LOOKUP_KINDS else name for name in fields
    ]
    if len(columns) > MAX_BULK_COLUMNS:
        raise InputError(f"a bulk-write file holds at most {MAX_BULK_COLUMNS} columns")
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    for rid, values in records.items():
        row = [str(rid)]
        for name in fields:
            if name not in values:
                row.append("")
                continue
            value = values[name]
            if is_missing(value):
                raise InputError(f"record {rid}: {name} is cleared; a bulk write ignores empty "
                                 f"cells, send clears by PUT")
            row.append(_cell(value, kinds.get(name, Kind.TEXT)))
        writer.writerow(row)
    return _bulk_file(buffer, columns, [str(r) for r in records], kinds, module)


def _zipped(csv_bytes: bytes, module: str) -> bytes:
    zipped = io.BytesIO()
    # level 1: a quarter of the default level's CPU for a file about 12% larger
    with zipfile.ZipFile(zipped, "w", compression=zipfile.ZIP_DEFLATED,
                         compresslevel=1) as archive:
        archive.writestr(f"{module}.csv", csv_bytes)
    return zipped.getvalue()


def _bulk_file(
    buffer: io.StringIO, columns: list[str], ids: list[str], kinds: Mapping[str, Kind],
    module: str,
) -> BulkWriteFile:
    csv_bytes = buffer.getvalue().encode("utf-8")
    return BulkWriteFile(
        zip_bytes=_zipped(csv_bytes, module),
        csv_bytes=csv_bytes,
        field_mappings=_mappings(_mappings_frame(columns, kinds, module)),
        ids=ids,
        module=module,
        columns=columns,
    )


def csv_cells(values: list[Any], kind: Kind) -> list[str]:
    """One field's new values as bulk-write CSV cells (what :func:`build_bulk_write` writes).

    Text already in text fields and ints in integer fields are taken as they are, checked
    by type for the whole column at once; the rest cell by cell. A missing value raises
    (a bulk write ignores empty cells: clears go by PUT).

    Examples
    --------
    >>> csv_cells([3, 40], Kind.INTEGER), csv_cells(["a"], Kind.TEXT)
    (['3', '40'], ['a'])
    """
    types = set(map(type, values))
    if types <= {str} and kind in (Kind.TEXT, Kind.ID):
        return values
    if types <= {int} and kind is Kind.INTEGER:
        return list(map(str, values))
    if any(map(is_missing, values)):
        raise InputError("a bulk write ignores empty cells: send clears by PUT")
    return [_cell(v, kind) for v in values]


def build_bulk_write_columns(
    ids: list[str],
    columns: list[tuple[str, list[str]]],
    kinds: Mapping[str, Kind],
    module: str,
) -> BulkWriteFile:
    """:func:`build_bulk_write` from columns: ``(field, cells)`` pairs aligned with ``ids``.

    The cells are CSV text already (:func:`csv_cells`; ``""`` where a record does not
    change the field), so the rows are written by ``csv`` in C, one call for all.

    Examples
    --------
    >>> f = build_bulk_write_columns(["1", "2"], [("City", ["Pune", ""])],
    ...                              {"City": Kind.TEXT}, "Leads")
    >>> f.csv_bytes.decode().splitlines()
    ['id,City', '1,Pune', '2,']
    """
    if len(ids) > MAX_BULK_ROWS:
        raise InputError(f"a bulk-write file holds at most {MAX_BULK_ROWS} rows, got "
                         f"{len(ids)}: split the records")
    header = ["id"] + [
        f"{name}.id" if kinds.get(name) in LOOKUP_KINDS else name for name, _ in columns
    ]
    if len(header) > MAX_BULK_COLUMNS:
        raise InputError(f"a bulk-write file holds at most {MAX_BULK_COLUMNS} columns")
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(header)
    rows = zip(ids, *(cells for _, cells in columns), strict=True)
    # Joined in C; kept only when no cell needed quoting (as many commas and newlines as
    # the rows' cells make, no quote, no CR), else written by csv.
    text = "\n".join(map(",".join, rows)) + "\n" if ids else ""
    if (text.count(",") == len(ids) * len(columns) and text.count("\n") == len(ids)
            and '"' not in text and "\r" not in text):
        buffer.write(text)
    else:
        writer.writerows(zip(ids, *(cells for _, cells in columns), strict=True))
    return _bulk_file(buffer, header, list(ids), kinds, module)


_JAVA_TOKENS = (
    ("yyyy", "%Y"), ("yy", "%y"), ("MM", "%m"), ("dd", "%d"), ("HH", "%H"), ("hh", "%I"),
    ("mm", "%M"), ("ss", "%S"), ("XXX", "%:z"), ("XX", "%z"), ("Z", "%z"), ("a", "%p"),
)


def java_strftime(pattern: str) -> str:
    """A Java date pattern of a bulk-write ``format`` as a ``strftime`` pattern.

    Knows ``yyyy yy MM dd HH hh mm ss a XXX XX Z`` and quoted literals (the patterns the
    bulk-write docs use); anything else raises, naming the pattern.

    Examples
    --------
    >>> java_strftime("yyyy/MM/dd"), java_strftime("dd-MM-yyyy'T'HH:mm:ssXXX")
    ('%Y/%m/%d', '%d-%m-%YT%H:%M:%S%:z')
    """
    out: list[str] = []
    i = 0
    while i < len(pattern):
        if pattern[i] == "'":
            end = pattern.find("'", i + 1)
            if end < 0:
                raise InputError(f"date format {pattern!r}: unclosed quote")
            out.append(pattern[i + 1:end].replace("%", "%%") or "'")
            i = end + 1
            continue
        for token, code in _JAVA_TOKENS:
            if pattern.startswith(token, i):
                out.append(code)
                i += len(token)
                break
        else:
            char = pattern[i]
            if char.isalpha():
                raise InputError(f"date format {pattern!r}: {char!r} is not supported; use "
                                 "yyyy, MM, dd, HH, hh, mm, ss, a, XXX or quoted text")
            out.append(char.replace("%", "%%"))
            i += 1
    return "".join(out)


def _strftime(value: Any, pattern: str) -> str:
    if "%:z" in pattern:
        offset = value.strftime("%z")
        pattern = pattern.replace("%:z", f"{offset[:3]}:{offset[3:]}" if offset else "")
    return str(value.strftime(pattern))


def bulk_cells(series: pd.Series, kind: Kind, fmt: str | None = None) -> list[str]:
    """The CSV cells of one frame column for a bulk write (empty string for blanks).

    Dates and datetimes are written in ``fmt`` (a Java pattern, see :func:`java_strftime`)
    when given — text cells are taken as already in that format — else in
    :data:`DATE_FORMAT` / :data:`DATETIME_FORMAT`; lookups as their id; booleans
    ``true``/``false``; multi-select values joined with ``;``.

    Examples
    --------
    >>> dates = pd.Series(pd.to_datetime(["2024-02-29", None]))
    >>> bulk_cells(dates, Kind.DATE, "yyyy/MM/dd")
    ['2024/02/29', '']
    """
    values = series.tolist()
    if fmt is not None and kind in (Kind.DATE, Kind.DATETIME):
        py = java_strftime(fmt)
        out = []
        for value in values:
            if isinstance(value, str):
                out.append(value.strip())
            elif is_missing(value):
                out.append("")
            else:
                stamp = pd.Timestamp(value)
                if kind is Kind.DATETIME and stamp.tzinfo is None:
                    stamp = stamp.tz_localize("UTC")
                out.append(_strftime(stamp.to_pydatetime(), py))
        return out
    cells = []
    for value in values:
        if isinstance(value, str) and not value.strip():
            cells.append("")
        else:
            cells.append(_cell(value, kind))
    return cells


def build_bulk_file(
    columns: list[str],
    cells: list[list[str]],
    mappings: list[dict[str, Any]],
    module: str,
    *,
    operation: str,
    find_by: str | None,
) -> BulkWriteFile:
    """A bulk-write file from ready CSV columns: ``cells[j]`` is column ``j``'s cells.

    Raises
    ------
    InputError
        More than 25,000 rows or 200 mapped columns (Zoho's per-file limits).
    """
    n = len(cells[0]) if cells else 0
    if n > MAX_BULK_ROWS:
        raise InputError(f"a bulk-write file holds at most {MAX_BULK_ROWS} rows, got {n}: "
                         "split the rows")
    if len(mappings) > MAX_BULK_COLUMNS:
        raise InputError(f"a bulk-write job maps at most {MAX_BULK_COLUMNS} columns, got "
                         f"{len(mappings)}")
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(columns)
    writer.writerows(zip(*cells, strict=True))
    csv_bytes = buffer.getvalue().encode("utf-8")
    return BulkWriteFile(zip_bytes=_zipped(csv_bytes, module), csv_bytes=csv_bytes,
                         field_mappings=mappings, ids=[], module=module, columns=columns,
                         operation=operation, find_by=find_by)


def _csv_text(data: bytes | str) -> str:
    if isinstance(data, str):
        return data
    if data[:2] == b"PK":
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                names = [n for n in archive.namelist() if n.lower().endswith(".csv")]
                if not names:
                    raise EnvelopeError("bulk-write result zip holds no CSV")
                data = archive.read(names[0])
        except zipfile.BadZipFile as exc:
            raise EnvelopeError(f"bulk-write result is not a valid zip: {exc}") from None
    return data.decode("utf-8-sig")


def _split_errors(text: str) -> list[tuple[str, str | None]]:
    out: list[tuple[str, str | None]] = []
    for part in text.split(":"):
        part = part.strip()
        if not part:
            continue
        match = _ERROR_RE.match(part)
        out.append((match.group(1), match.group(2) or None) if match else (part, None))
    return out


def parse_bulk_result(data: bytes | str, ids: list[str] | None = None) -> pd.DataFrame:
    """Zoho's bulk-write result CSV (or the zip holding it) as a frame, one row per input row.

    Columns: ``position`` (0-based input row), ``id`` (the input row's id when ``ids`` is
    given, else the CSV's ``id`` column), ``status`` (lower case: ``added``, ``updated``,
    ``skipped``, ``unprocessed``), ``record_id``, ``code`` and ``column`` of the first error,
    ``errors`` (list of ``(code, column)``), then the CSV's other columns as strings.

    Raises
    ------
    EnvelopeError
        Not a CSV/zip, or no ``STATUS`` column.

    Examples
    --------
    >>> text = ("id,Email,STATUS,RECORD_ID,ERRORS\\n"
    ...         "1,a@b.co,updated,1,\\n"
    ...         "2,bad,skipped,,INVALID_DATA-Email:MANDATORY_NOT_FOUND-Last_Name\\n")
    >>> df = parse_bulk_result(text)
    >>> df[["id", "status", "code", "column"]].values.tolist()
    [['1', 'updated', <NA>, <NA>], ['2', 'skipped', 'INVALID_DATA', 'Email']]
    >>> df.loc[1, "errors"]
    [('INVALID_DATA', 'Email'), ('MANDATORY_NOT_FOUND', 'Last_Name')]
    """
    text = _csv_text(data)
    rows = list(csv.reader(io.StringIO(text)))
    if not rows or "STATUS" not in rows[0]:
        raise EnvelopeError("bulk-write result has no STATUS column")
    header = rows[0]
    body = [r + [""] * (len(header) - len(r)) for r in rows[1:] if any(c.strip() for c in r)]
    col = {name: i for i, name in enumerate(header)}

    def get(row: list[str], name: str) -> str | None:
        i = col.get(name)
        value = row[i].strip() if i is not None else ""
        return value or None

    errors = [_split_errors(get(r, "ERRORS") or "") for r in body]
    if ids is not None and len(ids) != len(body):
        raise EnvelopeError(f"bulk-write result has {len(body)} rows for {len(ids)} inputs")
    out: pd.DataFrame = pd.DataFrame(
        {
            "position": pd.Series(range(len(body)), dtype="int64"),
            "id": pd.array(ids if ids is not None else [get(r, "id") for r in body],
                           dtype="string"),
            "status": pd.array([(get(r, "STATUS") or "").lower() or None for r in body],
                               dtype="string"),
            "record_id": pd.array([get(r, "RECORD_ID") for r in body], dtype="string"),
            "code": pd.array([e[0][0] if e else None for e in errors], dtype="string"),
            "column": pd.array([e[0][1] if e else None for e in errors], dtype="string"),
            "errors": pd.Series(errors, dtype=object),
        }
    )
    for name in header:
        if name in ("id", "STATUS", "RECORD_ID", "ERRORS") or name in out.columns:
            continue
        out[name] = pd.array([get(r, name) for r in body], dtype="string")
    return out
