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


def test_concat_batches_fills_parts_a_batch_never_saw() -> None:
    from crmframe.core.records import RecordsBuilder, records_to_frame
    from crmframe.facade.reading import _concat_batches

    fields = {"fields": [
        {"api_name": "Owner", "data_type": "ownerlookup", "json_type": "jsonobject"},
        {"api_name": "Done", "data_type": "boolean", "json_type": "boolean"},
        {"api_name": "Seen", "data_type": "datetime", "json_type": "string"},
    ]}
    first = [{"id": "1", "Owner": {"id": "9", "name": "A"}, "Done": True,
              "Seen": "2024-01-01T00:00:00+00:00"}]
    second = [{"id": "2", "Owner": {"id": "8", "name": "B", "email": "b@x.io"}, "Done": None,
               "Seen": None, "Extra": "x"}]
    parts = []
    for batch in (first, second):
        builder = RecordsBuilder(fields, columns=["Owner", "Done", "Seen"])
        builder.add({"data": batch})
        parts.append(builder.to_frame())
    stacked = _concat_batches(parts, ["Owner", "Done", "Seen"])
    whole = records_to_frame({"data": first + second}, fields, columns=["Owner", "Done", "Seen"])
    assert list(stacked.columns) == list(whole.columns)
    assert stacked.dtypes.astype(str).to_dict() == whole.dtypes.astype(str).to_dict()
    assert stacked["Owner.email"].isna().tolist() == [True, False]
