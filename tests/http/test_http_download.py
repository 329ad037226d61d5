"""``ZohoClient.download`` and file-backed bulk slices: a result file streamed to disk,
a connection dropped half way downloaded again, never a mix of two attempts."""

from __future__ import annotations

import io
import tempfile
import zipfile
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict
from urllib3.exceptions import ProtocolError

from crmframe.errors import NotFoundError, TransportError
from crmframe.http.auth import StaticToken
from crmframe.http.bulk import BulkSlice, download_bulk_read_to
from crmframe.http.client import ZohoClient


class _Body:
    """A response body that sends ``data`` in 7-byte chunks and breaks off after
    ``cut`` bytes when ``cut`` is set (what urllib3 raises on a short read)."""

    def __init__(self, data: bytes, cut: int | None) -> None:
        self.data, self.cut = data, cut

    def stream(self, amt: int, decode_content: bool = True) -> Iterator[bytes]:
        for start in range(0, len(self.data), 7):
            if self.cut is not None and start >= self.cut:
                raise ProtocolError("Connection broken: IncompleteRead")
            yield self.data[start:start + 7]

    def close(self) -> None:
        pass

    def release_conn(self) -> None:
        pass


class _Files(BaseAdapter):
    """Answers every GET with ``data``; the first ``breaks`` answers break off."""

    def __init__(self, data: bytes, breaks: int, status: int = 200) -> None:
        super().__init__()
        self.data, self.breaks, self.status, self.calls = data, breaks, status, 0

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        self.calls += 1
        response = requests.Response()
        response.status_code = self.status
        response.headers = CaseInsensitiveDict({"Content-Type": "application/zip"})
        cut = len(self.data) // 2 if self.calls <= self.breaks else None
        response.raw = _Body(self.data, cut)
        response.url = request.url or ""
        response.request = request
        return response

    def close(self) -> None:
        pass


def _client(adapter: BaseAdapter) -> ZohoClient:
    session = requests.Session()
    session.mount("https://", adapter)
    return ZohoClient("https://www.zohoapis.com", StaticToken("t"), session=session)


def _zip(text: str) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("7.csv", text)
    return out.getvalue()


JOB = {"id": "7", "result": {"download_url": "/crm/bulk/v8/read/7/result"}}
CSV = "id,Last_Name\n" + "".join(f"{4150868000000002000 + n},Name {n}\n" for n in range(300))


def test_a_download_broken_off_half_way_is_downloaded_again_from_the_start() -> None:
    adapter = _Files(_zip(CSV), breaks=2)
    with tempfile.TemporaryFile() as sink:
        size = download_bulk_read_to(_client(adapter), JOB, sink)
        assert adapter.calls == 3
        assert size == len(adapter.data)
        sink.seek(0)
        assert sink.read() == adapter.data  # the broken attempts' bytes are gone
        lines = list(BulkSlice("7", sink, {}).lines())
    assert "".join(lines) == CSV


def test_a_download_that_keeps_breaking_off_raises_a_transport_error() -> None:
    adapter = _Files(_zip(CSV), breaks=99)
    client = _client(adapter)
    with tempfile.TemporaryFile() as sink, pytest.raises(TransportError, match="broke off"):
        download_bulk_read_to(client, JOB, sink)
    assert adapter.calls == client.retry.max_attempts


def test_an_error_answer_raises_before_anything_is_kept() -> None:
    adapter = _Files(b'{"code": "RESOURCE_NOT_FOUND", "message": "gone", "status": "error"}',
                     breaks=0, status=404)
    with tempfile.TemporaryFile() as sink, pytest.raises(NotFoundError):
        download_bulk_read_to(_client(adapter), JOB, sink)


def test_a_file_slice_reads_a_bare_csv_and_stays_open() -> None:
    with tempfile.TemporaryFile() as sink:
        raw = b"\xef\xbb\xbf" + CSV.encode()
        sink.write(raw)
        piece = BulkSlice("7", sink, {})
        assert "".join(piece.lines()) == CSV  # the BOM dropped
        assert piece.csv == raw  # the file is still open after streaming it
