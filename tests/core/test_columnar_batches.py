"""``RecordsBuilder.add_pages`` (pages parsed several to a ``read_json`` call) gives exactly
what a loop of ``add`` gives: the same frame, the same counts, and a bad page raising the
same error with the pages before it added."""

from __future__ import annotations

import json
from typing import Any

import pandas as pd
import pytest

import crmframe.core.records as records_module
from crmframe.core.records import RecordsBuilder
from crmframe.errors import EnvelopeError, ZohoAPIError
from tests.core.test_columnar import META, pages, record


def one_by_one(items: list[Any], **kwargs: Any) -> tuple[RecordsBuilder, int]:
    builder = RecordsBuilder(META, **kwargs)
    return builder, sum(builder.add(item) for item in items)


def batched(items: list[Any], batch: int = 4, **kwargs: Any) -> tuple[RecordsBuilder, int]:
    builder = RecordsBuilder(META, **kwargs)
    return builder, builder.add_pages(items, batch=batch)


def assert_same(items: list[Any], **kwargs: Any) -> pd.DataFrame:
    loop, loop_count = one_by_one(items, **kwargs)
    expected = loop.to_frame()
    for batch in (1, 2, 3, 4, 8):
        builder, count = batched(items, batch, **kwargs)
        frame = builder.to_frame()
        pd.testing.assert_frame_equal(frame, expected)
        assert list(frame.columns) == list(expected.columns)
        assert frame.attrs == expected.attrs
        assert (count, builder.rows, builder.python_rows) == (
            loop_count, loop.rows, loop.python_rows)
    return expected


@pytest.fixture
def batches_taken(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many pages each accepted batch held (the fast path was really taken)."""
    taken: list[int] = []
    real = records_module.parse_pages

    def counting(datas: Any, schema: Any) -> Any:
        parsed = real(datas, schema)
        if parsed is not None:
            taken.append(len(parsed))
        return parsed

    monkeypatch.setattr(records_module, "parse_pages", counting)
    return taken


@pytest.mark.parametrize("backend", ["numpy_nullable", "pyarrow"])
@pytest.mark.parametrize("columns", [None, ["Last_Name", "Owner", "Born", "Tag"]])
def test_plain_pages_are_batched_and_give_the_loops_frame(
    backend: str, columns: list[str] | None, batches_taken: list[int]
) -> None:
    # every page carries every inferred key with a value (Languages, Tag, $approved...)
    recs = [record(i) for i in range(60)]
    for r in recs:
        r["Languages"], r["Tag"] = ["English"], [{"name": "VIP", "id": "1"}]
    frame = assert_same(pages(recs, size=5), dtype_backend=backend, columns=columns)
    assert len(frame) == 60
    if columns is None:
        assert batches_taken
        assert max(batches_taken) > 1
    else:  # unrequested date fields are inferred: a page alone reads them as timestamps
        assert batches_taken == []


def test_an_inferred_key_missing_from_one_page_is_read_page_by_page(
    batches_taken: list[int],
) -> None:
    recs = [record(i) for i in range(30)]
    for r in recs[:10]:
        del r["Unknown"]            # absent from the first pages: it must come in later
    for r in recs[10:20]:
        r["Extra"] = "x"            # only in the middle pages
    assert_same(pages(recs, size=5))
    assert not batches_taken or all(n > 1 for n in batches_taken)


@pytest.mark.parametrize("value", [
    "2024-01-31",                   # a page of these alone reads as timestamps
    1.5,                            # a page of whole numbers alone reads as integers
    None,                           # a page of nulls alone reads as nulls
])
def test_an_inferred_column_a_page_alone_could_type_otherwise_is_not_batched(
    value: Any, batches_taken: list[int]
) -> None:
    recs = [record(i) for i in range(20)]
    for r in recs[5:10]:
        r["Unknown"] = value
    for r in recs[:5]:
        r["Unknown"] = "text" if isinstance(value, str) else 3
    raw = pages(recs, size=5)
    assert_same(raw)
    batches_taken.clear()
    RecordsBuilder(META).add_pages(raw, batch=4)  # one batch: the four pages together
    assert batches_taken == []


def test_list_values_of_other_shapes_and_empty_lists_per_page() -> None:
    recs = [record(i) for i in range(24)]
    for r in recs[:6]:
        r["Tag"] = []               # a page of empty lists alone: list<null>
    recs[13]["Tag"] = [{"name": "x"}, {"id": "2"}]
    recs[20]["Languages"] = ["2024-02-01"]
    assert_same(pages(recs, size=6))


def test_a_bad_page_raises_as_in_the_loop_with_the_pages_before_added() -> None:
    good = pages([record(i) for i in range(12)], size=3)
    error = json.dumps({"data": [{"code": "INVALID_MODULE", "status": "error",
                                  "message": "bad", "details": {}}]}).encode()
    for bad, kind in [(error, ZohoAPIError), (b'{"data": 5}', EnvelopeError),
                      (b'{"data": [1]}', EnvelopeError), (b'{"data": [{"id": "1"', Exception)]:
        items = [*good[:2], bad, *good[2:]]
        loop = RecordsBuilder(META)

        def add_each(builder: RecordsBuilder = loop, todo: list[Any] = items) -> None:
            for item in todo:
                builder.add(item)

        with pytest.raises(kind) as from_loop:
            add_each()
        builder = RecordsBuilder(META)
        with pytest.raises(kind) as from_batch:
            builder.add_pages(items, batch=4)
        assert type(from_batch.value) is type(from_loop.value)
        assert str(from_batch.value) == str(from_loop.value)
        assert builder.rows == loop.rows == 6
        pd.testing.assert_frame_equal(builder.to_frame(), loop.to_frame())


def test_dicts_text_and_empty_pages_between_bytes() -> None:
    raw = pages([record(i) for i in range(21)], size=3)
    items: list[Any] = [raw[0], json.loads(raw[1]), raw[2].decode(), raw[3],
                        b'{"data": [], "info": {"more_records": false}}', *raw[4:]]
    assert_same(items)
    assert_same(items, dtype_backend="pyarrow")
