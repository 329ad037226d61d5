"""``read_records``' progress bar counts records, not records times passes.

A read of every Leads field on v8 takes two passes (at most 50 fields a call); each pass
gets a bar of its own whose total and final count are the number of records.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

import crmframe
from crmframe.facade.reading import MAX_FIELDS_PER_CALL

pytestmark = pytest.mark.sandbox

RECORDS = 450


@pytest.fixture(scope="module")
def crm() -> Iterator[Any]:
    with crmframe.sandbox.start(records=RECORDS, seed=3) as server, \
            crmframe.connect(**server.credentials) as connection:
        yield connection


def final_counts(err: str) -> dict[str, str]:
    """The last state of each bar tqdm drew: ``{description: "n/total"}``."""
    last: dict[str, str] = {}
    for frame in re.split(r"[\r\n]+", err):
        found = re.match(r"\s*(.+?): .*?\|?\s*(\d[\d,]*/\d[\d,]*)", frame)
        if found:
            last[found.group(1)] = found.group(2)
    return last


def test_all_fields_in_two_passes_count_each_record_once(
    crm: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    fields = [str(n) for n in crm.read_fields("Leads").index if n != "id"]
    assert len(fields) > MAX_FIELDS_PER_CALL  # else this test does not test two passes
    capsys.readouterr()
    frame = crm.read_records("Leads", progress=True)
    err = capsys.readouterr().err
    assert len(frame) == RECORDS
    # A bar total of twice the records would mean the passes were counted together; match
    # "n/900" only, since tqdm's rate ("900.1it/s") may contain the digits by chance.
    assert not re.search(rf"\d/{2 * RECORDS}\b", err)
    per_pass = MAX_FIELDS_PER_CALL - 1
    passes = -(-len(fields) // per_pass)
    expected = {}
    for position in range(passes):
        first = position * per_pass + 1
        last = min(first + per_pass - 1, len(fields))
        expected[f"Leads (fields {first}\u2013{last} of {len(fields)})"] = f"{RECORDS}/{RECORDS}"
    assert final_counts(err) == expected


def test_one_pass_keeps_the_module_name(crm: Any, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    crm.read_records("Leads", ["Last_Name", "Email"], progress=True)
    assert final_counts(capsys.readouterr().err) == {"Leads": f"{RECORDS}/{RECORDS}"}
