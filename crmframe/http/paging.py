"""Walking Zoho's paged endpoints: records, COQL and search, one envelope per page.

Records (``GET /{module}``), 200 a page:

* **v8**: ``page`` 1..10, then ``page_token`` from the last page's
  ``info.next_page_token`` (Zoho refuses ``page`` past record 2,000 with
  ``DISCRETE_PAGINATION_LIMIT_EXCEEDED``; tokens go on to 100,000).
* **v2 / v2.1** have no page tokens. The first 2,000 records are read by page sorted on
  ``id``; the rest is read in **id slices**: a COQL query
  ``select id from M where id < 'last' order by id desc limit 200`` names the next 200
  records, which are then fetched with ``GET /{module}?ids=...`` (so each record has
  exactly the shape a page would have given it, lookups' names included). Slicing on the
  unique id never repeats nor skips a record, whatever the page size.

Generators yield envelopes and hold only one page at a time.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

from crmframe.core.envelope import load_envelope, peek_info
from crmframe.errors import ConfigurationError, PaginationLimitError
from crmframe.http.client import Reply, ZohoClient
from crmframe.http.redact import shown

__all__ = [
    "COQL_LIMITS",
    "IDS_PER_CALL",
    "PAGE_NUMBER_LIMIT",
    "format_modified_since",
    "iter_coql_pages",
    "iter_record_pages",
    "iter_search_pages",
    "split_coql_limit",
]

log = logging.getLogger("crmframe.http")

#: Records Zoho serves by page number before it insists on ``page_token``.
PAGE_NUMBER_LIMIT = 2000
#: Ids per ``GET /{module}?ids=`` call.
IDS_PER_CALL = 100
#: COQL rows per call and rows reachable through LIMIT/OFFSET, per version (zoho-api.md §7).
COQL_LIMITS: dict[str, tuple[int, int]] = {
    "v2": (200, 10_000),
    "v2.1": (200, 10_000),
    "v8": (2000, 100_000),
}

_LIMIT_RE = re.compile(
    r"\s+limit\s+(\d+)(?:\s*,\s*(\d+)|\s+offset\s+(\d+))?\s*;?\s*$", re.IGNORECASE
)


def format_modified_since(value: datetime | str) -> str:
    """``If-Modified-Since`` in Zoho's form ``yyyy-MM-ddTHH:mm:ss±HH:mm`` (naive = UTC).

    Examples
    --------
    >>> format_modified_since(datetime(2024, 5, 1, 8, 30))
    '2024-05-01T08:30:00+00:00'
    >>> format_modified_since("2024-05-01T10:30:00+02:00")
    '2024-05-01T10:30:00+02:00'
    """
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            raise ConfigurationError(
                f"modified_since must be a datetime or an ISO 8601 text such as "
                f"'2024-05-01T10:00:00+00:00', got {shown(value)}"
            ) from None
    if not isinstance(value, datetime):
        raise ConfigurationError(
            f"modified_since must be a datetime or ISO string, got {type(value).__name__}"
        )
    if value.tzinfo is None:
        value = value.replace(tzinfo=timezone.utc)
    return value.replace(microsecond=0).isoformat()


def _trim(body: dict[str, Any], remaining: int | None) -> tuple[dict[str, Any], int]:
    data = body.get("data")
    rows = data if isinstance(data, list) else []
    if remaining is not None and len(rows) > remaining:
        rows = rows[:remaining]
        body = {**body, "data": rows}
    return body, len(rows)


def _more(body: Mapping[str, Any]) -> bool:
    info = body.get("info")
    return bool(info.get("more_records")) if isinstance(info, Mapping) else False


def iter_record_pages(
    client: ZohoClient,
    module: str,
    *,
    fields: Sequence[str] | None = None,
    cvid: str | None = None,
    ids: Sequence[str] | None = None,
    sort_by: str | None = None,
    sort_order: str | None = None,
    modified_since: datetime | str | None = None,
    per_page: int = 200,
    limit: int | None = None,
    page_token: str | None = None,
    raw: bool = False,
) -> Iterator[Any]:
    """Every page of ``module``'s records (``GET /{module}``), one envelope at a time.

    Parameters
    ----------
    client : ZohoClient
    module : str
        Module API name.
    fields : sequence of str, optional
        API names to return (v8 requires them when listing; at most 50).
    cvid, sort_by, sort_order, modified_since
        Zoho's ``cvid``, ``sort_by``, ``sort_order`` and ``If-Modified-Since``.
    ids : sequence of str, optional
        Fetch exactly these records (100 per call).
    per_page : int
        Records per page, at most 200.
    limit : int, optional
        Stop after this many records.
    page_token : str, optional
        Start at this page token (a listing resumed from ``info.next_page_token``).
    raw : bool
        Yield each page's JSON **bytes**, undecoded, for the core's record builder to parse
        once (only its small ``info`` is read here). Pages whose ``info`` cannot be read
        apart, and reads with ``ids`` or a ``limit``, yield decoded envelopes as usual.

    Yields
    ------
    dict or bytes
        Envelopes ``{"data": [...], "info": {...}}``; nothing for a 204/304.

    Raises
    ------
    PaginationLimitError
        On v2/v2.1 past 2,000 records when the order (``cvid``, ``sort_by`` other than
        ``id``) cannot be kept by id slices: use ``method="bulk"`` then.
    """
    if not 1 <= per_page <= 200:
        raise ConfigurationError(f"per_page must be between 1 and 200, got {per_page}")
    if limit is not None and limit <= 0:
        return
    if limit is not None and ids is None:
        per_page = min(per_page, limit)  # a small limit needs one small page, not 200 rows
    params: dict[str, Any] = {"per_page": per_page}
    if fields:
        params["fields"] = ",".join(fields)
    if cvid:
        params["cvid"] = str(cvid)
    headers: dict[str, str] = {}
    if modified_since is not None:
        headers["If-Modified-Since"] = format_modified_since(modified_since)
    if ids is not None:
        yield from _by_ids(client, module, [str(i) for i in ids], params, headers, limit)
        return
    sliceable = client.version != "v8" and not cvid and sort_by in (None, "id")
    if sliceable:
        # Sorted on id so that id slices can take over where page numbers stop.
        sort_by = "id"
        sort_order = sort_order or "desc"
    if sort_by:
        params["sort_by"] = sort_by
    if sort_order:
        params["sort_order"] = sort_order
    remaining = limit
    page = 1
    token: str | None = page_token
    last_id: str | None = None
    last_raw: bytes | None = None
    while True:
        query = dict(params)
        if token is not None:
            query["page_token"] = token
        else:
            query["page"] = page
        if raw and remaining is None:
            _, content = client.request_raw("GET", module, params=query, headers=headers)
            if not content or content.isspace():  # no stripped copy of a large page
                return
            info = peek_info(content)
            count = info.get("count") if info is not None else None
            if info is not None and type(count) is int and count >= 0:
                if count:
                    yield content
                    last_raw = content
                if not info.get("more_records") or not count:
                    return
                reply_body: dict[str, Any] = {"info": info}
                next_step = _next(client, module, reply_body, token, page, per_page, sliceable)
                if next_step == "page":
                    page += 1
                    continue
                if next_step != "slices":
                    token = next_step
                    continue
                assert last_raw is not None
                last_id = _last_id(last_raw)
                yield from _id_slices(
                    client, module, params, headers, last_id, sort_order or "desc",
                    modified_since, remaining,
                )
                return
            loaded = load_envelope(content)
            if loaded.body is None:
                return
            reply = Reply(200, loaded.body)
        else:
            reply = client.request("GET", module, params=query, headers=headers)
        if reply.body is None:
            return
        body, count = _trim(reply.body, remaining)
        if count:
            yield body
            last_id = str(body["data"][-1].get("id"))
            last_raw = None
        if remaining is not None:
            remaining -= count
            if remaining <= 0:
                return
        if not _more(reply.body) or not count:
            return
        next_step = _next(client, module, reply.body, token, page, per_page, sliceable)
        if next_step == "page":
            page += 1
            continue
        if next_step != "slices":
            token = next_step
            continue
        if last_id is None and last_raw is not None:
            last_id = _last_id(last_raw)
        assert last_id is not None
        yield from _id_slices(
            client, module, params, headers, last_id, sort_order or "desc", modified_since,
            remaining,
        )
        return


def _next(
    client: ZohoClient,
    module: str,
    body: Mapping[str, Any],
    token: str | None,
    page: int,
    per_page: int,
    sliceable: bool,
) -> str:
    """After a page with more records: ``"page"`` (the next page number), ``"slices"``
    (id slices from here on) or the next page token."""
    info = body.get("info") or {}
    if token is None and page * per_page < PAGE_NUMBER_LIMIT:
        return "page"
    next_token = info.get("next_page_token") if isinstance(info, Mapping) else None
    if isinstance(next_token, str) and next_token:
        return next_token
    if client.version == "v8":
        raise PaginationLimitError(
            "PAGINATION_LIMIT_EXCEEDED",
            f"{module}: Zoho gave no next_page_token after {page} page(s); "
            "read the rest with method='bulk'",
        )
    if not sliceable:
        raise PaginationLimitError(
            "DISCRETE_PAGINATION_LIMIT_EXCEEDED",
            f"{module}: {client.version} serves only the first {PAGE_NUMBER_LIMIT} records "
            "by page, and with cvid or sort_by the rest cannot be sliced by id; "
            "use method='bulk' (or drop cvid/sort_by)",
        )
    return "slices"


def _last_id(content: bytes) -> str:
    # Only when page numbers run out on v2/v2.1: the one page decoded twice.
    body = load_envelope(content).body or {}
    data = body.get("data") or [{}]
    return str(data[-1].get("id"))


def _by_ids(
    client: ZohoClient,
    module: str,
    ids: list[str],
    params: Mapping[str, Any],
    headers: Mapping[str, str],
    limit: int | None,
) -> Iterator[dict[str, Any]]:
    if limit is not None:
        ids = ids[:limit]
    base = {k: v for k, v in params.items() if k not in ("per_page", "page", "cvid")}
    for start in range(0, len(ids), IDS_PER_CALL):
        chunk = ids[start : start + IDS_PER_CALL]
        reply = client.request("GET", module, params={**base, "ids": ",".join(chunk)},
                               headers=headers)
        if reply.body is None:
            continue
        rows = reply.body.get("data")
        if not isinstance(rows, list) or not rows:
            continue
        # Zoho does not promise the order of ?ids=; keep the order that was asked for.
        position = {rid: n for n, rid in enumerate(chunk)}
        rows = sorted(rows, key=lambda r: position.get(str(r.get("id")), len(position)))
        yield {**reply.body, "data": rows}


def _id_slices(
    client: ZohoClient,
    module: str,
    params: Mapping[str, Any],
    headers: Mapping[str, str],
    last_id: str,
    order: str,
    modified_since: datetime | str | None,
    remaining: int | None,
) -> Iterator[dict[str, Any]]:
    per_call = COQL_LIMITS.get(client.version, (200, 10_000))[0]
    comparator = "<" if order.lower() == "desc" else ">"
    since = ""
    if modified_since is not None:
        since = f" and Modified_Time >= '{format_modified_since(modified_since)}'"
    log.info("%s: past %d records on %s; continuing by id slices", module, PAGE_NUMBER_LIMIT,
             client.version)
    while remaining is None or remaining > 0:
        count = per_call if remaining is None else min(per_call, remaining)
        select = (
            f"select id from {module} where (id {comparator} '{last_id}'{since}) "
            f"order by id {order.lower()} limit 0, {count}"
        )
        reply = client.request("POST", "coql", json={"select_query": select}, idempotent=True)
        rows = (reply.body or {}).get("data") or []
        slice_ids = [str(r["id"]) for r in rows if isinstance(r, Mapping) and r.get("id")]
        if not slice_ids:
            return
        for body in _by_ids(client, module, slice_ids, params, headers, None):
            body, got = _trim(body, remaining)
            yield body
            if remaining is not None:
                remaining -= got
        last_id = slice_ids[-1]
        if reply.body is None or not _more(reply.body):
            return


def split_coql_limit(query: str) -> tuple[str, int, int | None]:
    """``(query without LIMIT, offset, row cap)`` from a COQL query.

    Examples
    --------
    >>> split_coql_limit("select id from Leads where id is not null limit 10, 50")
    ('select id from Leads where id is not null', 10, 50)
    >>> split_coql_limit("select id from Leads where id is not null")
    ('select id from Leads where id is not null', 0, None)
    """
    match = _LIMIT_RE.search(query)
    if not match:
        return query.strip().rstrip(";").strip(), 0, None
    first, second, offset = match.group(1), match.group(2), match.group(3)
    stripped = query[: match.start()].strip()
    if second is not None:  # "limit offset, count"
        return stripped, int(first), int(second)
    return stripped, int(offset or 0), int(first)


def iter_coql_pages(client: ZohoClient, query: str) -> Iterator[dict[str, Any]]:
    """Every page of a COQL query, paging with ``limit offset, count`` up to the version's cap.

    A ``LIMIT`` in ``query`` is honoured as the total wanted.

    Raises
    ------
    PaginationLimitError
        When more rows match than LIMIT/OFFSET can reach on this version
        (10,000 on v2/v2.1, 100,000 on v8); narrow the WHERE clause.
    """
    per_call, ceiling = COQL_LIMITS.get(client.version, (200, 10_000))
    base, offset, wanted = split_coql_limit(query)
    remaining = wanted
    while remaining is None or remaining > 0:
        count = per_call if remaining is None else min(per_call, remaining)
        if offset >= ceiling:
            raise PaginationLimitError(
                "LIMIT_EXCEEDED",
                f"COQL on {client.version} reaches at most {ceiling} rows by LIMIT/OFFSET and "
                "more match; narrow the WHERE clause (e.g. on id or Modified_Time)",
            )
        count = min(count, ceiling - offset)
        select = f"{base} limit {offset}, {count}"
        reply = client.request("POST", "coql", json={"select_query": select}, idempotent=True)
        if reply.body is None:
            return
        body, got = _trim(reply.body, remaining)
        if got:
            yield body
        offset += got
        if remaining is not None:
            remaining -= got
        if not _more(reply.body) or not got:
            return


def iter_search_pages(
    client: ZohoClient,
    module: str,
    criteria: str,
    *,
    fields: Sequence[str] | None = None,
    per_page: int = 200,
) -> Iterator[dict[str, Any]]:
    """Every page of ``GET /{module}/search?criteria=...`` (Zoho caps a search at 2,000).

    Raises
    ------
    PaginationLimitError
        When the search matches more than Zoho will return; use :func:`iter_coql_pages`.
    """
    text = criteria.strip()
    if not text.startswith("("):
        text = f"({text})"
    params: dict[str, Any] = {"criteria": text, "per_page": per_page}
    if fields:
        params["fields"] = ",".join(fields)
    page = 1
    while True:
        reply = client.request("GET", f"{module}/search", params={**params, "page": page})
        if reply.body is None:
            return
        body, got = _trim(reply.body, None)
        if got:
            yield body
        if not _more(reply.body) or not got:
            return
        if page * per_page >= PAGE_NUMBER_LIMIT:
            raise PaginationLimitError(
                "LIMIT_REACHED",
                f"search on {module} matches more than {PAGE_NUMBER_LIMIT} records, Zoho's "
                "cap for search; use coql() or read_records()",
            )
        page += 1
