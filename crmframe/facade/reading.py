"""``ReadingMixin``: Zoho modules, fields, views and records as typed DataFrames.

Every record read goes through :class:`~crmframe.core.records.RecordsBuilder`, page by page,
so ``crm.read_records(...)`` and ``records_to_frame(envelope, fields)`` give the same frame
for the same records, whichever path (pages, id slices, bulk CSV) fetched them.
"""

from __future__ import annotations

import logging
import numbers
import queue
import re
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import partial
from typing import TYPE_CHECKING, Any

import pandas as pd

from crmframe.core.bulkcsv import iter_csv_batches
from crmframe.core.codecs import is_missing
from crmframe.core.columnar import BACKENDS
from crmframe.core.inserts import is_id_text
from crmframe.core.metadata import fields_to_frame
from crmframe.core.names import did_you_mean
from crmframe.core.records import RecordsBuilder
from crmframe.errors import (
    InputError,
    InvalidModuleError,
    InvalidRequestError,
    InvalidURLError,
    NotFoundError,
    PaginationLimitError,
    PermissionDeniedError,
    ZohoAPIError,
)
from crmframe.facade.lookupnames import LookupNames
from crmframe.facade.subformrows import fill_subforms, in_field_order
from crmframe.http.bulk import iter_bulk_read
from crmframe.http.paging import (
    PAGE_NUMBER_LIMIT,
    format_modified_since,
    iter_coql_pages,
    iter_record_pages,
    iter_search_pages,
)

if TYPE_CHECKING:
    from crmframe.http.client import ZohoClient

__all__ = [
    "BULK_THRESHOLD",
    "MAX_FIELDS_PER_CALL",
    "TYPE_EVERY",
    "ReadingMixin",
    "estimate_credits",
]

log = logging.getLogger("crmframe.facade")

#: Rows past which paging cannot go on v8 (Zoho's page-token ceiling): a bulk read then.
BULK_THRESHOLD = 100_000
#: Rows per bulk-read job, and the credits of one job (zoho-api-part2.md §3.2, §5).
BULK_JOB_ROWS = 200_000
BULK_JOB_CREDITS = 50
#: Calls a bulk read makes besides its jobs' 50 credits: create, a few polls, the
#: download, and filling lookup names (users, layouts, tags) — a typical count.
BULK_OVERHEAD_CALLS = 8
#: Field names per ``GET /{module}`` on v3+ (Zoho answers LIMIT_EXCEEDED past it).
MAX_FIELDS_PER_CALL = 50
#: Rows typed at a time while later pages download (then joined into one frame).
TYPE_EVERY = 20_000

_FROM_RE = re.compile(r"\bfrom\s+([A-Za-z0-9_]+)", re.IGNORECASE)
_SELECT_RE = re.compile(r"^\s*select\s+(.*?)\s+from\s", re.IGNORECASE | re.DOTALL)


def _in_notebook() -> bool:
    shell = getattr(sys.modules.get("IPython"), "get_ipython", lambda: None)()
    return type(shell).__name__ == "ZMQInteractiveShell"


class _Progress:
    """A ``tqdm.auto`` bar opened when asked, or lazily in a notebook on the second page."""

    def __init__(self, wanted: bool | None, total: int | None, desc: str) -> None:
        self._always = wanted is True
        self._in_notebook = wanted is None and _in_notebook()
        self._total = total
        self._desc = desc
        self._bar: Any = None
        self._done = 0
        self._pages = 0

    def update(self, rows: int) -> None:
        self._pages += 1
        self._done += rows
        if self._bar is not None:
            self._bar.update(rows)
        elif self._always or (self._in_notebook and self._pages > 1):
            from tqdm.auto import tqdm

            self._bar = tqdm(total=self._total, desc=self._desc, unit="rec", leave=True)
            self._bar.update(self._done)

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()


def estimate_credits(rows: int, fields: int, version: str = "v8") -> dict[str, int]:
    """Credits each read path spends on ``rows`` records of ``fields`` fields.

    Pages: one credit per 200 records per pass (v3+ takes at most 50 field names per
    call, so 90 fields take two passes; v2/v2.1 list every field at once). Bulk: 50
    credits per job of up to 200,000 records plus a few calls (create, polls, download,
    lookup names). COQL (shown, not used to read whole modules): 3 credits per 2,000
    rows. Per 100,000 rows of up to 49 fields that is about 500, 58 and 150.

    Examples
    --------
    >>> estimate_credits(100_000, 20)
    {'pages': 500, 'coql': 150, 'bulk': 58}
    >>> estimate_credits(3_000, 90)
    {'pages': 30, 'coql': 6, 'bulk': 58}
    """
    passes = 1 if version != "v8" else max(1, -(-fields // (MAX_FIELDS_PER_CALL - 1)))
    jobs = max(1, -(-rows // BULK_JOB_ROWS))
    return {
        "pages": passes * -(-rows // 200),
        "coql": 3 * -(-rows // 2000),
        "bulk": jobs * BULK_JOB_CREDITS + BULK_OVERHEAD_CALLS,
    }


def _chunks(names: Sequence[str], size: int) -> list[list[str]]:
    return [list(names[i : i + size]) for i in range(0, len(names), size)] or [[]]


def _typed_settings_frame(items: list[dict[str, Any]], index: str) -> pd.DataFrame:
    frame: pd.DataFrame = (
        pd.DataFrame.from_records(items) if items else pd.DataFrame(columns=[index])
    )
    for col in frame.columns:
        # from_records fills keys some items lack with NaN: missing, like None.
        values = [v for v in frame[col].tolist()
                  if v is not None and not (isinstance(v, float) and v != v)]
        kinds = set(map(type, values))
        if kinds <= {str}:
            frame[col] = frame[col].astype("string")
        elif kinds <= {bool}:
            frame[col] = frame[col].astype("boolean")
        elif kinds <= {int}:
            frame[col] = frame[col].astype("Int64")
        else:
            frame[col] = frame[col].astype(object)
    if index in frame.columns:
        indexed: pd.DataFrame = frame.set_index(index)
        indexed.index = indexed.index.astype("string")
        return indexed
    return frame


@dataclass(frozen=True)
class _Read:
    """One ``read_records`` call, as both its paths (pages, bulk export) need it."""

    module: str
    names: list[str]
    meta: pd.DataFrame
    all_fields: bool
    cvid: str | None
    ids: list[str] | None
    modified_since: datetime | str | None
    sort_by: str | None
    sort_order: str | None
    limit: int | None
    progress: bool | None
    total: int | None
    keep_system_keys: bool
    dtype_backend: str = "numpy_nullable"


class _Prefetch:
    """Iterate ``pages`` in a background thread, one page ahead of the consumer.

    The next page downloads (the socket wait releases the GIL) while the current one is
    turned into columns, so the client's own work hides behind the server's. Errors are
    raised in the consumer; :meth:`close` stops the thread early.
    """

    def __init__(self, pages: Iterator[dict[str, Any]], depth: int = 2) -> None:
        self._pages = pages
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="crmframe-prefetch", daemon=True)
        self._thread.start()

    def _put(self, item: Any) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _run(self) -> None:
        try:
            for page in self._pages:
                if not self._put(("page", page)):
                    break
        except BaseException as exc:  # handed to the consumer, raised there
            self._put(("error", exc))
        else:
            self._put(("done", None))
        finally:
            close = getattr(self._pages, "close", None)
            if callable(close):
                close()

    def __iter__(self) -> Iterator[dict[str, Any]]:
        while True:
            kind, value = self._queue.get()
            if kind == "page":
                yield value
            elif kind == "error":
                self._thread.join()
                raise value
            else:
                self._thread.join()
                return

    def close(self) -> None:
        """Stop fetching and wait for the thread."""
        self._stop.set()
        self._thread.join()



def _id_list(ids: Iterable[Any] | str) -> list[str]:
    """``ids=`` of a read as id strings; missing values left out, anything that cannot be an
    id refused at once (a float has lost digits: it would find nothing, silently).

    Examples
    --------
    >>> _id_list("3652397000009851001"), _id_list([3652397000009851001, None])
    (['3652397000009851001'], ['3652397000009851001'])
    >>> _id_list([3.652397000009851e18])  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    crmframe.errors.InputError: ids= holds values that are not Zoho record ids ...
    """
    values: list[Any] = [ids] if isinstance(ids, str) else list(ids)
    out: list[str] = []
    bad: list[int] = []
    for position, value in enumerate(values):
        if is_missing(value):
            continue
        if isinstance(value, numbers.Integral) and not isinstance(value, bool):
            value = str(int(value))  # exact, unlike a float
        if not is_id_text(value):
            bad.append(position)
            continue
        out.append(value)
    if bad:
        listed = "; ".join(f"position {p}: {values[p]!r} ({type(values[p]).__name__})"
                           for p in bad[:5]) + (f"; ... and {len(bad) - 5} more"
                                                if len(bad) > 5 else "")
        raise InputError(
            "ids= holds values that are not Zoho record ids (strings of up to 19 digits such "
            f"as '3652397000009851001'): {listed} — ids read as numbers lose digits as "
            "floats: read them as text, e.g. pd.read_csv(..., dtype={'id': str})"
        )
    return out


class ReadingMixin:
    """Reading methods of :class:`~crmframe.facade.crm.CRM` (needs ``client``, ``version``)."""

    client: ZohoClient
    version: str
    _field_cache: dict[str, pd.DataFrame]
    #: Sleep used while polling bulk-read jobs (tests inject a no-op).
    bulk_sleep: Callable[[float], None] = staticmethod(time.sleep)

    # -- metadata -----------------------------------------------------------------------

    def read_fields(self, module: str, *, refresh: bool = False) -> pd.DataFrame:
        """Field metadata of ``module``, one row per field, indexed by ``api_name``.

        Cached per module on this connection; ``refresh=True`` asks Zoho again.

        Examples
        --------
        >>> fields = crm.read_fields("Leads")               # doctest: +SKIP
        >>> fields.loc["Email", ["data_type", "kind"]]      # doctest: +SKIP
        """
        frame = self._field_cache.get(module)
        if refresh or frame is None:
            try:
                reply = self.client.request("GET", "settings/fields", params={"module": module})
            except InvalidModuleError as exc:
                raise self._unknown_module(module, exc) from exc
            frame = fields_to_frame(reply.body or {"fields": []})
            self._field_cache[module] = frame
        return frame

    def _unknown_module(self, module: str, exc: InvalidModuleError) -> InvalidModuleError:
        """Zoho's INVALID_MODULE, with the closest module API names of this org."""
        try:
            names = [str(n) for n in self.read_modules().index]
        except ZohoAPIError:
            return exc  # no module list to suggest from: Zoho's error as it came
        hint = did_you_mean(module, names) or (
            "crm.read_modules() lists this org's module API names"
        )
        message = f"{exc.message} — {module!r} is not a module API name here; {hint}"
        return InvalidModuleError(exc.code, message, exc.details, exc.http_status, exc.envelope)

    def read_modules(self) -> pd.DataFrame:
        """The org's modules (``GET /settings/modules``), indexed by ``api_name``."""
        reply = self.client.request("GET", "settings/modules")
        items = (reply.body or {}).get("modules") or []
        return _typed_settings_frame(list(items), "api_name")

    def read_users(self, type: str = "AllUsers") -> pd.DataFrame:
        """The org's users (``GET /users?type=``, every page), indexed by user id.

        ``type`` is Zoho's filter: ``AllUsers`` (default), ``ActiveUsers``,
        ``AdminUsers``, ``CurrentUser``... Ids stay strings; ``role`` and ``profile`` are
        ``{"name", "id"}`` objects as Zoho sends them. No user of that type: an empty
        frame. For example ``crm.read_users()[["full_name", "email"]]``, or
        ``crm.read_users("CurrentUser").index[0]`` for the API user's id.
        """
        items: list[dict[str, Any]] = []
        page = 1
        while True:
            reply = self.client.request(
                "GET", "users", params={"type": type, "page": page, "per_page": 200})
            body = reply.body or {}
            items.extend(u for u in body.get("users") or [] if isinstance(u, dict))
            info = body.get("info") or {}
            if not (isinstance(info, dict) and info.get("more_records")):
                break
            page += 1
        return _typed_settings_frame(items, "id")

    def read_custom_views(self, module: str) -> pd.DataFrame:
        """Custom views of ``module`` (``GET /settings/custom_views``), indexed by view id."""
        reply = self.client.request("GET", "settings/custom_views", params={"module": module})
        items = (reply.body or {}).get("custom_views") or []
        return _typed_settings_frame(list(items), "id")

    def count_records(self, module: str, *, cvid: str | None = None) -> int | None:
        """Records in ``module`` (``GET /{module}/actions/count``); ``None`` when unknown."""
        if self.version == "v2":
            return None  # the count endpoint arrived with v2.1
        params = {"cvid": str(cvid)} if cvid else None
        try:
            reply = self.client.request("GET", f"{module}/actions/count", params=params)
        except (InvalidURLError, InvalidRequestError, NotFoundError, PermissionDeniedError):
            # A module or org without the count endpoint: read on, just without a total.
            return None
        count = (reply.body or {}).get("count")
        return int(count) if isinstance(count, (int, str)) and str(count).isdigit() else None

    # -- records ------------------------------------------------------------------------

    def _field_names(self, module: str, fields: Iterable[str] | str | None) -> list[str]:
        if isinstance(fields, str):
            fields = [f.strip() for f in fields.split(",") if f.strip()]
        if fields is None:
            names = [str(n) for n in self.read_fields(module).index]
        else:
            names = list(dict.fromkeys(fields))
            if not all(isinstance(n, str) and n for n in names):
                raise InputError("fields must be field API name strings")
            known = [str(n) for n in self.read_fields(module).index]
            unknown = [n for n in names if n != "id" and n not in set(known)]
            if unknown:
                # Zoho leaves unknown names out of its answer: the column would be empty.
                hints = "; ".join(
                    f"{n!r}: {did_you_mean(n, known) or 'no close field name'}" for n in unknown
                )
                raise InputError(
                    f"{module} has no field {', '.join(map(repr, unknown))} ({hints}); "
                    f"crm.read_fields({module!r}) lists its field API names"
                )
        return [n for n in names if n != "id"]

    def read_records(
        self,
        module: str,
        fields: Iterable[str] | str | None = None,
        *,
        cvid: str | None = None,
        ids: Iterable[str] | None = None,
        modified_since: datetime | str | None = None,
        sort_by: str | None = None,
        sort_order: str | None = None,
        limit: int | None = None,
        progress: bool | None = None,
        method: str = "auto",
        keep_system_keys: bool = False,
        dtype_backend: str = "numpy_nullable",
    ) -> pd.DataFrame:
        """Records of ``module`` as a typed DataFrame indexed by ``id``.

        Parameters
        ----------
        module : str
            Module API name (``"Leads"``).
        fields : list of str, optional
            Field API names. ``None`` (default) means every field of the module; more
            than 50 are fetched 50 at a time and joined on ``id``.
        cvid : str, optional
            Custom view id: only that view's records.
        ids : list of str, optional
            Exactly these records.
        modified_since : datetime or str, optional
            Only records modified at or after this instant (``If-Modified-Since``).
        sort_by, sort_order : str, optional
            Zoho's sort (v8 sorts on ``id``, ``Created_Time`` or ``Modified_Time`` only).
        limit : int, optional
            At most this many records.
        progress : bool, optional
            Show a ``tqdm`` bar. Default: only in a notebook, and only past one page.
        method : {"auto", "pages", "bulk"}
            Both paths give the same frame (columns, dtypes, values, order); they differ
            in cost. Credits per 100,000 records (zoho-api-part2.md §5): pages ~500 per
            pass of 49 fields (1 credit per page of 200), COQL ~150 (not used for whole
            modules: it gives lookups as ids only), bulk read ~50 per job of 200,000 plus
            a few calls (create, polls, download; lookup names: the users once, one record
            per distinct layout/tag/other lookup value by id; other lookups' names come in
            the export as dotted fields). A bulk job takes Zoho minutes to run, pages
            return at once.
            ``"auto"`` (default) asks for the count (one call) and takes the cheaper path
            by :func:`estimate_credits` (bulk from about 11,600 records of ≤49 fields,
            5,800 of 50–98 fields), and a bulk read whenever paging cannot reach every
            record (past 100,000; v2/v2.1 past 2,000 with ``cvid`` or ``sort_by``);
            ``"pages"`` never exports (raises
            :class:`~crmframe.errors.PaginationLimitError` instead); ``"bulk"`` always
            exports (sorted locally when ``sort_by`` is given).
            Subform and line-item fields (list-of-dict cells) cannot be exported: Zoho's
            bulk read leaves them out. The bulk path fills them from the subform module's
            listing (``GET /<subform module>``, rows of every parent; UNCONFIRMED against
            Zoho, emulated by the sandbox): one call per 200 subform rows plus the subform
            module's field metadata, so both paths still give the same frame
            (:mod:`crmframe.facade.subformrows`). Where that listing is refused they are
            left out (``attrs["left_out"]``, a logged warning).
        keep_system_keys : bool
            Keep ``$``-prefixed keys (``$approved``...). Default False.
        dtype_backend : {"numpy_nullable", "pyarrow"}
            pandas' convention. The default gives ``string``, ``Int64``, ``Float64``,
            ``boolean``, ``datetime64[s, UTC]`` and lists as Python objects;
            ``"pyarrow"`` gives ``pd.ArrowDtype`` columns (``string[pyarrow]``,
            ``int64[pyarrow]``, ``timestamp[s, tz=UTC][pyarrow]``, lists as Arrow lists
            where Arrow holds them exactly), wrapping the parsed pages without a copy.
            Read with the default to edit and push: ``diff`` does not compare Arrow
            timestamp columns yet.

        Returns
        -------
        pandas.DataFrame
            Index ``id`` (``string``); dtypes from the field metadata; lookups as
            ``Field.id``/``Field.name``. ``attrs``: ``module``, ``info``, ``pages``,
            ``method``. An empty module gives zero rows with every column typed.

        Examples
        --------
        >>> leads = crm.read_records("Leads", ["Last_Name", "Email"], limit=500)  # doctest: +SKIP
        """
        if method not in ("auto", "pages", "bulk"):
            raise InputError(f"method must be 'auto', 'pages' or 'bulk', got {method!r}")
        if dtype_backend not in BACKENDS:
            raise InputError(
                f"dtype_backend must be one of {', '.join(map(repr, BACKENDS))}, "
                f"got {dtype_backend!r}"
            )
        started = time.time()
        if limit is not None and (not isinstance(limit, int) or limit < 0):
            raise InputError(f"limit must be a non-negative integer, got {limit!r}")
        id_list = None if ids is None else _id_list(ids)
        names = self._field_names(module, fields)
        meta = self.read_fields(module)
        total: int | None = None
        if id_list is not None:
            total = len(id_list) if limit is None else min(limit, len(id_list))
        elif method == "auto" and modified_since is None:
            total = self.count_records(module, cvid=cvid)
            if total is not None and limit is not None:
                total = min(total, limit)
        # v2/v2.1 page numbers stop at 2,000, and id slices cannot keep a view or a sort.
        unsliceable = self.version != "v8" and (bool(cvid) or sort_by not in (None, "id"))
        too_many = total is not None and (
            total > BULK_THRESHOLD or (unsliceable and total > PAGE_NUMBER_LIMIT)
            or _bulk_is_cheaper(total, len(names), self.version, read_all=fields is None)
        )
        use_bulk = id_list is None and (method == "bulk" or (method == "auto" and too_many))
        read = _Read(module, names, meta, all_fields=fields is None, cvid=cvid, ids=id_list,
                     modified_since=modified_since, sort_by=sort_by, sort_order=sort_order,
                     limit=limit, progress=progress, total=total,
                     keep_system_keys=keep_system_keys, dtype_backend=dtype_backend)
        if use_bulk:
            return self._stamp_read(self._read_bulk(read), started)

        try:
            frames = self._read_pages(read)
        except PaginationLimitError as exc:
            if method != "auto" or id_list is not None:
                raise
            # Paging cannot reach every record (v2/v2.1 past 2,000 with cvid or sort_by, or
            # past Zoho's 100,000 page-token ceiling): export instead of stopping short.
            log.info("%s: %s; reading with a bulk-read job instead", module, exc.message)
            return self._stamp_read(self._read_bulk(read), started)
        frame = _merge_on_id(frames)
        frame.attrs["method"] = "pages"
        return self._stamp_read(frame, started)

    def _stamp_read(self, frame: pd.DataFrame, started: float) -> pd.DataFrame:
        """``attrs["read_at"]``: when the read began, on Zoho's clock (UTC ISO text).

        A push checks for records changed since then (``If-Modified-Since``); Zoho's clock
        comes from its ``Date`` headers (:meth:`ZohoClient.server_time`), a second earlier
        for the header's whole-second rounding.
        """
        at = self.client.server_time(started) - 1.0
        frame.attrs["read_at"] = (
            datetime.fromtimestamp(int(at), tz=timezone.utc).isoformat()
        )
        return frame

    def _read_pages(self, read: _Read) -> list[pd.DataFrame]:
        module, names, meta, progress, total = (
            read.module, read.names, read.meta, read.progress, read.total)
        # v2/v2.1 list every field without a 'fields' parameter; v3+ insist on ≤50 names.
        all_in_one = read.all_fields and self.version != "v8"
        chunks = [[]] if all_in_one else _chunks(names, MAX_FIELDS_PER_CALL - 1)

        def bar_for(position: int) -> _Progress:
            # Each pass reads every record again (other fields): one bar per pass, each
            # counting records, so 3,000 leads read in two passes never show 6,000.
            if len(chunks) == 1:
                return _Progress(progress, total, module)
            first = position * (MAX_FIELDS_PER_CALL - 1) + 1
            last = first + len(chunks[position]) - 1
            return _Progress(progress, total,
                             f"{module} (fields {first}\u2013{last} of {len(names)})")

        bar = bar_for(0)

        def fetch(chunk: list[str]) -> _Prefetch:
            return _Prefetch(iter_record_pages(
                self.client, module, fields=None if all_in_one else ["id", *chunk],
                cvid=read.cvid, ids=read.ids, sort_by=read.sort_by, sort_order=read.sort_order,
                modified_since=read.modified_since, limit=read.limit,
                # bytes: the builder parses each page once, straight into columns, while
                # the prefetcher downloads the next (Arrow's parser releases the GIL)
                raw=True,
            ))

        frames = []
        pages = fetch(chunks[0])
        try:
            for position, chunk in enumerate(chunks):
                columns = names if all_in_one else chunk
                builder = partial(RecordsBuilder, meta, columns=columns,
                                  keep_system_keys=read.keep_system_keys, module=module,
                                  dtype_backend=read.dtype_backend)
                current, parts = builder(), []
                for page in pages:
                    bar.update(current.add(page))
                    if current.python_rows >= TYPE_EVERY:
                        # Decoded pages hold Python values: type this batch now, while
                        # the prefetcher downloads the next pages. (Pages read into
                        # Arrow columns are typed once at the end: no batches to stack.)
                        parts.append(current.to_frame(release=True))
                        current = builder()
                if position + 1 < len(chunks):
                    # The next pass downloads while this one's last columns are typed.
                    pages = fetch(chunks[position + 1])
                    bar.close()
                    bar = bar_for(position + 1)
                if current.rows or not parts:
                    parts.append(current.to_frame(release=True))
                frames.append(_concat_batches(parts, columns))
        finally:
            pages.close()
            bar.close()
        return frames

    def _read_bulk(self, read: _Read) -> pd.DataFrame:
        module, meta, limit, sort_by = read.module, read.meta, read.limit, read.sort_by
        criteria = None
        if read.modified_since is not None:
            criteria = {"field": {"api_name": "Modified_Time"}, "comparator": "greater_equal",
                        "value": format_modified_since(read.modified_since)}
        # Zoho's bulk read exports no subform field: filled from the subform module below
        subforms = subform_fields(meta, read.names)
        wanted = [n for n in read.names if n not in subforms]
        names = LookupNames(self.client, module, meta, wanted)
        builder = RecordsBuilder(meta, columns=wanted,
                                 keep_system_keys=read.keep_system_keys, module=module,
                                 dtype_backend=read.dtype_backend)
        bar = _Progress(read.progress, read.total, f"{module} (bulk)")
        jobs = 0
        try:
            for piece in iter_bulk_read(self.client, module, fields=names.export_fields(),
                                        cvid=read.cvid, criteria=criteria,
                                        sleep=self.bulk_sleep):
                jobs += 1
                # Line by line out of the zip: the slice's CSV text is never whole in memory.
                for batch in iter_csv_batches(piece.lines(), meta, renames=names.renames):
                    bar.update(builder.add(batch))
                if limit is not None and not sort_by and builder.rows >= limit:
                    break
        finally:
            bar.close()
        frame = names.fill(builder.to_frame(release=True))
        left_out: list[str] = []
        subform_calls = 0
        if subforms:
            frame, left_out, subform_calls = fill_subforms(
                self.client, self.read_fields, frame, meta, subforms)
            if left_out:
                log.warning("%s: a bulk read leaves out the subform field(s) %s", module,
                            ", ".join(left_out))
            frame = frame[in_field_order(list(frame.columns), read.names)]
        frame = builder.in_backend(frame)  # the filled columns, typed like the rest
        # An export cannot sort: sort here like a page read (Zoho's default: id, descending).
        ascending = (read.sort_order or "desc").lower() == "asc"
        if not sort_by or sort_by == "id":
            frame = frame.sort_index(ascending=ascending, kind="stable")
        elif sort_by in frame.columns:
            frame = frame.sort_values(sort_by, ascending=ascending, kind="stable")
        if limit is not None and len(frame) > limit:
            frame = frame.iloc[:limit]
        frame.attrs["method"] = "bulk"
        if left_out:
            frame.attrs["left_out"] = left_out
        frame.attrs["bulk_jobs"] = jobs
        frame.attrs["lookup_calls"] = names.calls
        if subforms:
            frame.attrs["subform_calls"] = subform_calls
        return frame

    # -- queries ------------------------------------------------------------------------

    def _builder_for_query(self, module: str | None, columns: list[str] | None) -> RecordsBuilder:
        meta = None
        if module is not None:
            try:
                meta = self.read_fields(module)
            except ZohoAPIError:
                meta = None  # typing falls back to inference; the query itself decides
        return RecordsBuilder(meta, columns=columns or [], module=module)

    def coql(self, query: str, *, progress: bool | None = None) -> pd.DataFrame:
        """Run a COQL ``select`` and return every row as a typed frame (indexed by ``id``).

        Pages with ``limit offset, count`` up to the version's reach (2,000 rows a call and
        100,000 in all on v8; 200 and 10,000 on v2/v2.1). A ``LIMIT`` in the query caps
        the total. Columns are typed from the module's field metadata. Zoho's COQL gives
        lookups as ids only, so a selected lookup ``X`` yields ``X.id`` (select
        ``X.Field`` for more).

        Examples
        --------
        >>> crm.coql("select Last_Name, Email from Leads where Lead_Status = 'Contacted'")  # doctest: +SKIP
        """  # noqa: E501
        select = _SELECT_RE.match(query) if isinstance(query, str) else None
        if select is None:
            raise InputError("coql() takes a 'select ... from Module where ...' query")
        module_match = _FROM_RE.search(query)
        module = module_match.group(1) if module_match else None
        selected = [c.strip().split()[0] for c in select.group(1).split(",") if c.strip()]
        columns = [c for c in selected if c != "id"]
        builder = self._builder_for_query(module, columns)
        bar = _Progress(progress, None, "COQL")
        try:
            for page in iter_coql_pages(self.client, query):
                bar.update(builder.add(page))
        finally:
            bar.close()
        frame = builder.to_frame(release=True)
        # COQL returns lookups as {"id"} only: an all-null "X.name" would claim "no name".
        empty_names = [c for c in frame.columns if c.endswith(".name")
                       and c.rsplit(".", 1)[0] in columns and frame[c].isna().all()]
        return frame.drop(columns=empty_names) if empty_names else frame

    def search(
        self,
        module: str,
        criteria: str,
        fields: Iterable[str] | None = None,
        *,
        progress: bool | None = None,
    ) -> pd.DataFrame:
        """Records matching Zoho search ``criteria`` (``(Last_Name:equals:Smith)``), typed.

        Zoho returns at most 2,000 records to a search; past that this raises
        :class:`~crmframe.errors.PaginationLimitError` (use :meth:`coql`).

        Examples
        --------
        >>> crm.search("Leads", "(Lead_Status:equals:Contacted)")  # doctest: +SKIP
        """
        names = None if fields is None else self._field_names(module, fields)
        builder = self._builder_for_query(module, names)
        bar = _Progress(progress, None, f"{module} search")
        try:
            pages = iter_search_pages(self.client, module, criteria,
                                      fields=None if names is None else ["id", *names])
            for page in pages:
                bar.update(builder.add(page))
        finally:
            bar.close()
        return builder.to_frame(release=True)


def subform_fields(meta: pd.DataFrame, names: Sequence[str]) -> list[str]:
    """The subform (and line-item) fields among ``names``, which a bulk read cannot export."""
    if "kind" not in meta.columns:
        return []
    kinds = meta["kind"].to_dict()
    return [n for n in names if kinds.get(n) == "subform"]


def _bulk_is_cheaper(rows: int, fields: int, version: str, *, read_all: bool) -> bool:
    # v2/v2.1 list every field in one pass only when no field list is sent.
    passes_version = version if read_all else "v8"
    credits = estimate_credits(rows, fields, passes_version)
    return credits["bulk"] < credits["pages"]


def _concat_batches(parts: list[pd.DataFrame], requested: list[str]) -> pd.DataFrame:
    """Stack frames typed batch by batch into the frame one builder would have made.

    Dtypes come from the metadata, so batches agree; a column a batch never saw (a lookup's
    ``email`` part, say) is filled with nulls and cast back to the dtype the others have,
    and columns are ordered as :class:`RecordsBuilder` orders them (requested fields with
    their parts first, then the rest as first seen).
    """
    if len(parts) == 1:
        return parts[0]
    union: dict[str, list[Any]] = {}
    for part in parts:
        for column, dtype in part.dtypes.items():
            union.setdefault(str(column), []).append(dtype)
    first = [c for name in requested for c in union if c == name or c.startswith(name + ".")]
    order = list(dict.fromkeys([*first, *union]))
    def filled(part: pd.DataFrame) -> pd.DataFrame:
        # A column the batch never saw, as typed nulls of the others' dtype: an untyped
        # all-NA column would decide the stacked dtype differently on pandas 2.2 and 3.
        out: pd.DataFrame = part.reindex(columns=order)
        for column in order:
            if column not in part.columns:
                out[column] = pd.Series(pd.NA, index=out.index).astype(union[column][0])
        return out

    stacked: pd.DataFrame = pd.concat([filled(p) for p in parts], axis=0)
    for column in order:
        dtypes = union[column]
        # Inferred columns may differ between batches: leave those to pandas' own rules.
        if all(d == dtypes[0] for d in dtypes) and stacked[column].dtype != dtypes[0]:
            stacked[column] = stacked[column].astype(dtypes[0])
    attrs = dict(parts[-1].attrs)
    attrs["pages"] = sum(int(p.attrs.get("pages", 0)) for p in parts)
    stacked.attrs = attrs
    return stacked


def _merge_on_id(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """Join the frames of field chunks on ``id``, in the order of the first pass."""
    first = frames[0]
    if len(frames) == 1:
        return first
    attrs = dict(first.attrs)
    # Column by column into one frame: each pass's arrays are taken as they are (no copy
    # of the first pass, nor of a later one whose records came in the same order).
    columns: dict[Any, Any] = {name: first[name].array for name in first.columns}
    for other in frames[1:]:
        if other.index.has_duplicates:
            other = other[~other.index.duplicated()]
        if not other.index.equals(first.index):
            other = other.reindex(first.index)
        for name in other.columns:
            if name not in columns:
                columns[name] = other[name].array
    merged: pd.DataFrame = pd.DataFrame(columns, index=first.index, copy=False)
    attrs["pages"] = sum(int(f.attrs.get("pages", 0)) for f in frames)
    merged.attrs = attrs
    return merged

