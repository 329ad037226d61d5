"""What changed in a module since a cursor: modified records and deletions.

Modified records (zoho-api-part2.md §2), oldest change first:

* ``GET /{module}`` with ``If-Modified-Since: <cursor>`` sorted by ``Modified_Time``
  ascending, with page tokens — Zoho's cheapest answer to "nothing changed" is one
  ``304``;
* past the 100,000 records page tokens reach — or when a record changed while the pages
  were read, which can make offset pages skip an unchanged record —, **COQL keyset paging** on
  ``(Modified_Time, id)``:
  ``select id from M where Modified_Time >= 't' and (Modified_Time > 't' or id > last)
  order by Modified_Time asc, id asc limit 2000`` names the next ids, fetched with
  ``GET /{module}?ids=`` so each record has its page shape (lookup names included).
  Keyset paging on a unique pair never repeats nor skips a record that did not move.

Deletions: ``GET /{module}/deleted?type=all`` with ``If-Modified-Since``
(§1.4; 2 credits a call, 200 a page).

Examples
--------
>>> keyset_query("Leads", "2024-05-01T10:00:00+00:00", "4150868000000002175")
"select id, Modified_Time from Leads where Modified_Time >= '2024-05-01T10:00:00+00:00' \
and (Modified_Time > '2024-05-01T10:00:00+00:00' or id > '4150868000000002175') \
order by Modified_Time asc, id asc limit 2000"
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime, timedelta, timezone
from email.utils import parsedate_to_datetime
from typing import Any

from crmframe.errors import PaginationLimitError
from crmframe.http.client import ZohoClient
from crmframe.http.paging import format_modified_since, iter_record_pages

__all__ = [
    "cursor_from",
    "iter_changed_pages",
    "iter_deleted",
    "keyset_query",
    "server_time",
    "since_of",
]

log = logging.getLogger("crmframe.http")

_KEYSET_ROWS = 2000
_EPOCH = "1970-01-01T00:00:00+00:00"


def server_time(headers: Mapping[str, str] | None) -> str | None:
    """The server's clock from a reply's ``Date`` header (ISO 8601, UTC), if it sent one."""
    text = (headers or {}).get("Date")
    if not text:
        return None
    try:
        return parsedate_to_datetime(text).astimezone(timezone.utc).isoformat()
    except (TypeError, ValueError):
        return None


def _parse(text: str) -> datetime:
    value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=timezone.utc)


def cursor_from(newest: str, ids: list[str], read_at: str | None) -> dict[str, Any]:
    """A sync cursor: the newest ``Modified_Time`` seen, the ids at it, and whether its
    second had passed on the server before the read began (``settled``).

    Examples
    --------
    >>> cursor_from("2024-05-01T10:00:00+05:30", ["1"], "2024-05-01T04:30:05+00:00")
    {'time': '2024-05-01T10:00:00+05:30', 'ids': ['1'], 'settled': True}
    """
    settled = read_at is not None and _parse(newest) + timedelta(seconds=1) <= _parse(read_at)
    return {"time": newest, "ids": list(ids), "settled": bool(settled)}


def since_of(cursor: Mapping[str, Any] | None) -> str | None:
    """The ``If-Modified-Since`` for a cursor.

    Zoho's filter is inclusive. When the cursor's second had passed before the read that
    set it, every change in that second was read: ask from the next second (an unchanged
    module then answers 304). Otherwise ask from the cursor itself, and the records
    already stored at it are skipped by id.

    Examples
    --------
    >>> since_of({"time": "2024-05-01T10:00:00+05:30", "ids": [], "settled": True})
    '2024-05-01T10:00:01+05:30'
    >>> since_of({"time": "2024-05-01T10:00:00+05:30", "ids": [], "settled": False})
    '2024-05-01T10:00:00+05:30'
    """
    if not cursor or not cursor.get("time"):
        return None
    text = str(cursor["time"])
    if cursor.get("settled"):
        return format_modified_since(_parse(text) + timedelta(seconds=1))
    return format_modified_since(text)


def keyset_query(module: str, since: str, after_id: str | None) -> str:
    """The COQL of one keyset step: ids changed at/after ``since``, past ``after_id``."""
    where = f"Modified_Time >= '{since}'"
    if after_id is not None:
        where += f" and (Modified_Time > '{since}' or id > '{after_id}')"
    return (f"select id, Modified_Time from {module} where {where} "
            f"order by Modified_Time asc, id asc limit {_KEYSET_ROWS}")


def iter_changed_pages(
    client: ZohoClient,
    module: str,
    *,
    fields: Sequence[str],
    since: str | None,
) -> Iterator[dict[str, Any]]:
    """Envelopes of the records modified at or after ``since`` (all records if None),
    oldest change first; ``fields`` should hold ``Modified_Time``.

    Yields nothing (after one call answered 304) when nothing changed. A record may come
    twice (the newer one last): pages go by position in ``Modified_Time`` order, so a
    record changed while they are read moves to the end and every later one moves up one
    — the one crossing a page boundary would never be served, and the cursor would pass
    it for good. A listing of several pages that served a record changed after it began is
    therefore read again from ``since`` by keyset, which skips no record that did not move.
    """
    last: tuple[str, str | None] | None = None
    wanted = list(dict.fromkeys(["id", "Modified_Time", *fields]))
    started = client.server_time() - 1.0  # Zoho's clock, less the header's rounding
    pages = 0
    moved = False
    try:
        for body in iter_record_pages(client, module, fields=wanted, sort_by="Modified_Time",
                                      sort_order="asc", modified_since=since):
            rows = body.get("data") or []
            pages += 1
            moved = moved or any(_changed_after(row, started) for row in rows)
            if rows:
                tail = rows[-1]
                last = (str(tail.get("Modified_Time")), str(tail.get("id")))
            yield body
        if not (moved and pages > 1):
            return
        log.info("%s: records changed while the listing paged; reading the changes again "
                 "by COQL keyset paging", module)
        last = (since or _EPOCH, None)
    except PaginationLimitError:
        if last is None:
            raise
        log.info("%s: more changes than page tokens reach; going on with COQL keyset paging",
                 module)
    yield from _keyset(client, module, wanted, last)


def _changed_after(row: Any, started: float) -> bool:
    stamp = row.get("Modified_Time") if isinstance(row, Mapping) else None
    try:
        return bool(stamp) and _parse(str(stamp)).timestamp() >= started
    except ValueError:
        return True  # unreadable: assume the worst, read again


def _keyset(client: ZohoClient, module: str, fields: list[str],
            last: tuple[str, str | None]) -> Iterator[dict[str, Any]]:
    since, after = format_modified_since(last[0]), last[1]
    while True:
        reply = client.request("POST", "coql", json={"select_query": keyset_query(
            module, since, after)}, idempotent=True)
        rows = [r for r in (reply.body or {}).get("data") or [] if isinstance(r, Mapping)]
        if not rows:
            return
        ids = [str(r["id"]) for r in rows if r.get("id")]
        yield from iter_record_pages(client, module, fields=fields, ids=ids)
        since = format_modified_since(str(rows[-1].get("Modified_Time")))
        after = str(rows[-1].get("id"))
        info = (reply.body or {}).get("info")
        if not (isinstance(info, Mapping) and info.get("more_records")):
            return


def iter_deleted(
    client: ZohoClient,
    module: str,
    *,
    since: str | None,
    per_page: int = 200,
) -> Iterator[dict[str, Any]]:
    """Deleted-record entries (``id``, ``deleted_time``...) since ``since``, page by page."""
    headers = {"If-Modified-Since": format_modified_since(since)} if since else None
    page = 1
    while True:
        reply = client.request("GET", f"{module}/deleted",
                               params={"type": "all", "page": page, "per_page": per_page},
                               headers=headers)
        body = reply.body
        if not body:
            return
        rows = body.get("data") or []
        for row in rows:
            if isinstance(row, Mapping) and row.get("id") is not None:
                yield dict(row)
        info = body.get("info")
        if not rows or not (isinstance(info, Mapping) and info.get("more_records")):
            return
        page += 1
