"""Sorted, filtered views of a module, record projection, and page tokens.

A view (one sort order, one custom view, one ``If-Modified-Since``) is computed once per
module version and cached, so paging through it costs only the page itself. Page tokens
are keyset cursors: they remember the sort key of the last record served, so a page
never repeats or skips a record that did not move.
"""

from __future__ import annotations

import bisect
import json
import secrets
import threading
from collections import OrderedDict
from dataclasses import dataclass
from operator import itemgetter
from typing import Any

from crmframe.sandbox.criteria import Cond
from crmframe.sandbox.store import Record, Store, encode_record

__all__ = ["PageToken", "TokenBook", "View", "Views", "full_text", "page_text", "project",
           "system_keys"]


def _sortable(value: Any) -> tuple[int, Any]:
    if value is None:
        return (0, 0)
    if isinstance(value, bool):
        return (1, int(value))
    if isinstance(value, (int, float)):
        return (1, value)
    if isinstance(value, dict):
        return (2, str(value.get("name") or value.get("id") or ""))
    return (2, str(value).casefold())


#: A sort key: the id itself when sorting by id (ids have one length, so text order is
#: number order), else ``(value, id)``.
SortKey = Any


def sort_key(rec: Record, sort_by: str) -> SortKey:
    """The key a record sorts by (ties broken by id)."""
    if sort_by == "id":
        return rec.id
    if sort_by == "Modified_Time":
        return (rec.modified, rec.id)
    if sort_by == "Created_Time":
        return (rec.created, rec.id)
    return (_sortable(rec.values.get(sort_by)), rec.id)


@dataclass(frozen=True)
class View:
    """Records in ascending sort order with their keys (for bisecting)."""

    records: list[Record]
    keys: list[SortKey]

    def page(self, offset: int, size: int, descending: bool) -> list[Record]:
        """``size`` records after skipping ``offset`` in the requested direction."""
        n = len(self.records)
        if descending:
            end = max(0, n - offset)
            return self.records[max(0, end - size):end][::-1]
        return self.records[offset:offset + size]

    def after(self, key: SortKey, size: int, descending: bool) -> list[Record]:
        """``size`` records that come after ``key`` in the requested direction."""
        if descending:
            end = bisect.bisect_left(self.keys, key)
            return self.records[max(0, end - size):end][::-1]
        start = bisect.bisect_right(self.keys, key)
        return self.records[start:start + size]

    def remaining_after(self, key: SortKey, descending: bool) -> int:
        """How many records come after ``key``."""
        if descending:
            return bisect.bisect_left(self.keys, key)
        return len(self.keys) - bisect.bisect_right(self.keys, key)


class Views:
    """A small cache of views, invalidated by the module's version."""

    def __len__(self) -> int:
        with self._lock:
            return len(self._cache)

    def __init__(self, store: Store, size: int = 32) -> None:
        self._store = store
        self._cache: OrderedDict[tuple[Any, ...], View] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def get(
        self,
        module: str,
        sort_by: str,
        *,
        filter_key: Any = None,
        cond: Cond | None = None,
        since: float | None = None,
    ) -> View:
        """The view of ``module`` sorted by ``sort_by``, filtered by ``cond`` and ``since``.

        ``filter_key`` names ``cond`` in the cache (``None`` = no condition).
        """
        version = self._store.version(module)
        key = (module, version, sort_by, filter_key, since)
        with self._lock:
            view = self._cache.get(key)
            if view is not None:
                self._cache.move_to_end(key)
                return view
            # Views of an older version can never be asked for again; each holds a list
            # as long as the module, so they go now rather than when 32 newer ones came.
            for stale in [k for k in self._cache if k[0] == module and k[1] != version]:
                del self._cache[stale]
        if sort_by == "id" and since is None and cond is None:
            # the common case, kept cheap: ids are already in order in the store
            with self._store.lock:
                records = self._store.records(module)
                keys: list[SortKey] = self._store.ids(module)
            return self._remember(key, View(records, keys))
        records = self._store.records(module)
        if since is not None:
            # Zoho filters If-Modified-Since inclusively (airbyte adds a second to cope).
            records = [r for r in records if r.modified >= since]
        if cond is not None:
            records = [r for r in records if cond(r.values)]
        if sort_by != "id":
            records.sort(key=lambda r: sort_key(r, sort_by))
        return self._remember(key, View(records, [sort_key(r, sort_by) for r in records]))

    def _remember(self, key: tuple[Any, ...], view: View) -> View:
        with self._lock:
            self._cache[key] = view
            while len(self._cache) > self._size:
                self._cache.popitem(last=False)
        return view


def system_keys(rec: Record, module: str) -> dict[str, Any]:
    """The ``$``-keys Zoho adds to a full record."""
    keys: dict[str, Any] = {
        "$currency_symbol": "$",
        "$field_states": None,
        "$state": "save",
        "$process_flow": False,
        "$locked_for_me": rec.locked,
        "$approved": rec.approved,
        "$approval": {"delegate": False, "approve": False, "reject": False, "resubmit": False},
        "$editable": not rec.locked,
        "$review_process": {"approve": False, "reject": False, "resubmit": False},
        "$in_merge": False,
        "$approval_state": "approved" if rec.approved else "approval_process_pending",
    }
    if module == "Leads":
        keys["$converted"] = False
    return keys


_SYSTEM_TEXT: dict[tuple[str, bool, bool], str] = {}


def full_text(rec: Record, module: str) -> str:
    """The JSON text of a full record with its ``$``-keys, spliced from the stored body."""
    body = rec.cache.get("body")
    if body is None:
        # memoised: records are immutable, an update makes a new Record
        body = rec.cache["body"] = encode_record(rec.values)
    key = (module, rec.locked, rec.approved)
    tail = _SYSTEM_TEXT.get(key)
    if tail is None:
        tail = json.dumps(system_keys(rec, module), ensure_ascii=False, separators=(",", ":"))
        tail = _SYSTEM_TEXT.setdefault(key, "," + tail[1:])
    return body[:-1] + tail if body != "{}" else "{" + tail[1:]


def page_text(records: list[Record], fields: list[str] | None, module: str,
              info: dict[str, Any]) -> bytes:
    """A whole ``{"data": [...], "info": {...}}`` page, encoded."""
    info_text = json.dumps(info, separators=(",", ":"))
    if fields is None:
        items = ",".join(full_text(r, module) for r in records)
        return ('{"data":[' + items + '],"info":' + info_text + "}").encode("utf-8")
    if not fields:
        data: list[dict[str, Any]] = [{"id": r.id} for r in records]
    else:
        getter = itemgetter(*fields)
        data = []
        single = len(fields) == 1
        for r in records:
            out: dict[str, Any] = {"id": r.id}
            try:
                got = getter(r.values)
            except KeyError:
                out.update((f, r.values.get(f)) for f in fields)
            else:
                out.update(zip(fields, (got,) if single else got, strict=True))
            data.append(out)
    return json.dumps({"data": data, "info": info}, ensure_ascii=False,
                      separators=(",", ":")).encode("utf-8")


def project(rec: Record, fields: list[str] | None, module: str) -> dict[str, Any]:
    """A record as a GET returns it: the chosen fields plus ``id``, or everything."""
    values = rec.values
    if fields is None:
        out = dict(values)
        out.update(system_keys(rec, module))
        return out
    out = {"id": rec.id}
    for f in fields:
        out[f] = values.get(f)
    return out


@dataclass(frozen=True)
class PageToken:
    """What an opaque ``page_token`` stands for.

    ``previous`` is the text of the token whose page issued this one (``None`` for the
    first), so the book can forget a chain's old links once the client has moved on.
    """

    bound: tuple[Any, ...]
    last_key: SortKey
    served: int
    expires: float
    previous: str | None = None


class TokenBook:
    """Issued page tokens (server-side, so they stay opaque and unforgeable).

    A long-running server must not keep every token it ever issued (a 100,000-record
    read issues 500 per field pass; kept for their 24-hour life they made every later
    garbage collection slower), so the book holds few:

    * when a token is used, the token *before* it in the same chain is forgotten: the
      client has the newer one, and retrying the one just used still works;
    * expired tokens are dropped as new ones are issued (they are issued in expiry
      order, so they leave from the front);
    * beyond ``capacity`` the oldest are forgotten (a client holding one gets
      ``INVALID_DATA``, as with a token Zoho no longer knows).
    """

    def __init__(self, capacity: int = 50_000) -> None:
        self._tokens: OrderedDict[str, PageToken] = OrderedDict()
        self._capacity = capacity
        self._lock = threading.Lock()

    def __len__(self) -> int:
        with self._lock:
            return len(self._tokens)

    def issue(self, token: PageToken, now: float) -> str:
        """Store ``token`` and return its text; drop tokens expired at ``now``."""
        text = secrets.token_hex(24)
        with self._lock:
            tokens = self._tokens
            while tokens:
                oldest = next(iter(tokens.values()))
                if oldest.expires > now:
                    break
                tokens.popitem(last=False)
            tokens[text] = token
            while len(tokens) > self._capacity:
                tokens.popitem(last=False)
        return text

    def find(self, text: str) -> PageToken | None:
        """The token with this text, or ``None``."""
        with self._lock:
            return self._tokens.get(text)

    def used(self, token: PageToken) -> None:
        """``token`` was presented: forget the one before it in its chain."""
        if token.previous is not None:
            with self._lock:
                self._tokens.pop(token.previous, None)
