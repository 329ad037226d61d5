"""Bulk read: create an export job, poll it, download the zipped CSV.

A bulk read exports up to 200,000 records per job; ``more_records`` in the result means
another job for the next slice (``page: 2``... on v2/v2.1, ``page_token`` on newer
versions). The status is read straight from the job envelope here: the HTTP layer does not
use :mod:`crmframe.core.jobs` (which imports pandas).

Examples
--------
>>> bulk_query("Leads", "v2", fields=["id", "Last_Name"])
{'module': 'Leads', 'fields': ['id', 'Last_Name'], 'page': 1}
>>> bulk_query("Leads", "v8")["module"]
{'api_name': 'Leads'}
"""

from __future__ import annotations

import io
import logging
import time
import zipfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, BinaryIO

from crmframe.errors import EnvelopeError, JobFailed, JobTimeout
from crmframe.http.client import ZohoClient

__all__ = [
    "BulkSlice",
    "bulk_query",
    "create_bulk_read",
    "download_bulk_read",
    "download_bulk_read_to",
    "iter_bulk_read",
    "next_start",
    "read_bulk_state",
    "unzip_csv",
    "wait_bulk_read",
]

log = logging.getLogger("crmframe.http")

_DONE = "COMPLETED"
_FAILED = frozenset({"FAILED", "FAILURE"})


@dataclass(frozen=True)
class BulkSlice:
    """One finished bulk-read job: its result file as downloaded and Zoho's ``result``.

    ``payload`` is the zip (or the bare CSV some servers send), as bytes or as a binary
    file (:func:`download_bulk_read_to`); :attr:`csv` unzips it whole, :meth:`lines`
    streams the CSV's lines out of the zip so that a 200,000-row slice never needs its
    uncompressed text in memory at once.
    """

    job_id: str
    payload: bytes | BinaryIO
    result: Mapping[str, Any]

    @property
    def csv(self) -> bytes:
        """The whole CSV (unzipped)."""
        if isinstance(self.payload, bytes):
            return unzip_csv(self.payload)
        self.payload.seek(0)
        return unzip_csv(self.payload.read())

    def lines(self) -> Iterator[str]:
        """The CSV's lines as text, decompressed as they are read."""
        if isinstance(self.payload, bytes):
            source: BinaryIO = io.BytesIO(self.payload)
        else:
            source = self.payload
            source.seek(0)
        zipped = source.read(2) == b"PK"
        source.seek(0)
        if not zipped:
            text = io.TextIOWrapper(source, encoding="utf-8-sig", newline="")
            try:
                yield from text
            finally:
                text.detach()  # the caller's file stays open (closing the wrapper would close it)
            return
        with zipfile.ZipFile(source) as archive:
            names = [n for n in archive.namelist() if n.lower().endswith(".csv")]
            if not names:
                raise EnvelopeError("bulk read result: the zip holds no CSV file")
            with archive.open(names[0]) as raw:
                yield from io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")

    @property
    def more_records(self) -> bool:
        """True when Zoho has more records than this job exported."""
        return bool(self.result.get("more_records"))


def bulk_query(
    module: str,
    version: str,
    *,
    fields: Sequence[str] | None = None,
    cvid: str | None = None,
    criteria: Mapping[str, Any] | None = None,
    page: int | None = 1,
    page_token: str | None = None,
) -> dict[str, Any]:
    """The ``query`` object of a bulk-read job (``module`` a string on v2, an object later)."""
    query: dict[str, Any] = {"module": module if version == "v2" else {"api_name": module}}
    if fields:
        query["fields"] = list(fields)
    if cvid:
        query["cvid"] = str(cvid)
    if criteria:
        query["criteria"] = dict(criteria)
    if page_token:
        query["page_token"] = page_token
    elif page is not None:
        query["page"] = page
    return query


def _first_item(body: Mapping[str, Any] | None, what: str) -> Mapping[str, Any]:
    data = (body or {}).get("data")
    if not isinstance(data, list) or not data or not isinstance(data[0], Mapping):
        raise EnvelopeError(f"{what}: expected a 'data' list with one object")
    return data[0]


def create_bulk_read(client: ZohoClient, query: Mapping[str, Any]) -> str:
    """Create a CSV bulk-read job and return its id."""
    reply = client.request(
        "POST", "read", bulk=True, json={"query": dict(query), "file_type": "csv"},
        idempotent=True,  # a duplicate export job is harmless; a lost one is not
    )
    item = _first_item(reply.body, "bulk read create")
    details = item.get("details")
    job_id = details.get("id") if isinstance(details, Mapping) else None
    if job_id is None:
        raise EnvelopeError("bulk read create: no job id in 'details'")
    return str(job_id)


def read_bulk_state(client: ZohoClient, job_id: str) -> Mapping[str, Any]:
    """The job object of ``GET /crm/bulk/{ver}/read/{job_id}`` (``state``, ``result``...)."""
    reply = client.request("GET", f"read/{job_id}", bulk=True)
    return _first_item(reply.body, "bulk read status")


def wait_bulk_read(
    client: ZohoClient,
    job_id: str,
    *,
    interval: float = 2.0,
    max_interval: float = 30.0,
    timeout: float = 3600.0,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> Mapping[str, Any]:
    """Poll until the job is COMPLETED and return its job object.

    The interval grows by half each poll up to ``max_interval`` (Zoho counts each poll
    against the API credits).

    Raises
    ------
    JobFailed
        The job ended FAILED.
    JobTimeout
        It was still running after ``timeout`` seconds.
    """
    started = clock()
    wait = interval
    while True:
        job = read_bulk_state(client, job_id)
        state = str(job.get("state", "")).strip().upper()
        if state == _DONE:
            return job
        if state in _FAILED:
            raise JobFailed(f"bulk read job {job_id} failed (state {state})", status=dict(job))
        if clock() - started + wait > timeout:
            raise JobTimeout(
                f"bulk read job {job_id} still {state or 'unknown'} after {timeout:.0f}s",
                status=dict(job),
            )
        log.debug("bulk read %s: %s; next poll in %.1fs", job_id, state, wait)
        sleep(wait)
        wait = min(max_interval, wait * 1.5)


def unzip_csv(payload: bytes) -> bytes:
    """The CSV inside a bulk-read zip (or the payload itself when it is not a zip)."""
    if not payload.startswith(b"PK"):
        return payload
    with zipfile.ZipFile(io.BytesIO(payload)) as archive:
        names = [n for n in archive.namelist() if n.lower().endswith(".csv")]
        if not names:
            raise EnvelopeError("bulk read result: the zip holds no CSV file")
        return archive.read(names[0])


def download_bulk_read(client: ZohoClient, job: Mapping[str, Any], *,
                       unzip: bool = True) -> bytes:
    """Download a completed job's result: the CSV bytes, or the zip with ``unzip=False``."""
    result = job.get("result")
    url = result.get("download_url") if isinstance(result, Mapping) else None
    if not url:
        url = client.url(f"read/{job.get('id')}/result", bulk=True)
    payload = client.get_bytes(str(url))
    return unzip_csv(payload) if unzip else payload


def download_bulk_read_to(client: ZohoClient, job: Mapping[str, Any], sink: BinaryIO) -> int:
    """Download a completed job's result (the zip) into the binary file ``sink``, chunk by
    chunk; returns its size. A 200,000-row slice is some 45 MB zipped: an export keeps it
    on disk, not in memory."""
    result = job.get("result")
    url = result.get("download_url") if isinstance(result, Mapping) else None
    if not url:
        url = client.url(f"read/{job.get('id')}/result", bulk=True)
    return client.download(str(url), sink)


def iter_bulk_read(
    client: ZohoClient,
    module: str,
    *,
    fields: Sequence[str] | None = None,
    cvid: str | None = None,
    criteria: Mapping[str, Any] | None = None,
    sleep: Callable[[float], None] = time.sleep,
    interval: float = 2.0,
    timeout: float = 3600.0,
    start: tuple[int, str | None] = (1, None),
) -> Iterator[BulkSlice]:
    """Run as many bulk-read jobs as it takes to export every record, one slice each.

    ``start`` = ``(page, page_token)`` of the first job (an export resuming after its
    last complete slice); :func:`next_start` gives it for the slice after one.
    """
    page, token = start
    while True:
        query = bulk_query(
            module, client.version, fields=fields, cvid=cvid, criteria=criteria,
            page=page, page_token=token,  # the token, once Zoho gives one, wins
        )
        job_id = create_bulk_read(client, query)
        job = wait_bulk_read(client, job_id, interval=interval, timeout=timeout, sleep=sleep)
        result = job.get("result")
        result = result if isinstance(result, Mapping) else {}
        piece = BulkSlice(job_id, download_bulk_read(client, job, unzip=False), result)
        yield piece
        if not piece.more_records:
            return
        page, token = next_start(piece, page)


def next_start(piece: BulkSlice, page: int) -> tuple[int, str | None]:
    """``(page, page_token)`` of the job after ``piece`` (which was job ``page``)."""
    next_token = piece.result.get("next_page_token")
    if isinstance(next_token, str) and next_token:
        return page + 1, next_token
    return page + 1, None
