"""The page prefetcher: order kept, errors raised in the consumer, early close stops it."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest

from crmframe.errors import ServerError
from crmframe.facade.reading import _Prefetch


def pages(n: int, fail_at: int | None = None) -> Iterator[dict]:
    for i in range(n):
        if i == fail_at:
            raise ServerError("INTERNAL_ERROR", "boom", http_status=500)
        yield {"data": [{"id": str(i)}]}


def test_pages_come_in_order() -> None:
    got = [p["data"][0]["id"] for p in _Prefetch(pages(50))]
    assert got == [str(i) for i in range(50)]


def test_errors_are_raised_in_the_consumer_after_earlier_pages() -> None:
    stream = iter(_Prefetch(pages(10, fail_at=4)))
    seen = [next(stream) for _ in range(4)]
    assert [p["data"][0]["id"] for p in seen] == ["0", "1", "2", "3"]
    with pytest.raises(ServerError, match="boom"):
        next(stream)


def test_close_stops_the_producer_and_closes_its_generator() -> None:
    closed = threading.Event()

    def endless() -> Iterator[dict]:
        try:
            while True:
                yield {"data": []}
        finally:
            closed.set()

    prefetch = _Prefetch(endless())
    first = next(iter(prefetch))
    prefetch.close()
    assert first == {"data": []}
    assert closed.is_set()
    assert not prefetch._thread.is_alive()
