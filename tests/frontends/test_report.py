"""crmframe.report and the Report builder: tables for people, figures from one source."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest

import crmframe
from crmframe.errors import InputError
from crmframe.facade.write.result import PushResult
from crmframe.reports import Report, format_table


def _result() -> PushResult:
    n = 1500
    return PushResult(pd.DataFrame({
        "id": [f"41508680000002{i:05d}" for i in range(n)], "route": "put", "call": 0,
        "fields": [["Phone"]] * n,
        "status": ["success"] * (n - 3) + ["error", "skipped", "skipped"],
        "code": ["SUCCESS"] * (n - 3) + ["RECORD_LOCKED", "CONFLICT", "VALIDATION"],
        "message": [""] * (n - 3) + ["locked <b>now</b>", "changed in Zoho", "bad value"],
    }), calls=17, reads=2, credits=150.0)


def test_report_of_a_push_takes_every_figure_from_the_result(tmp_path: Path) -> None:
    result = _result()
    page = crmframe.report(result, tmp_path / "push.html", title="Phones")
    assert (tmp_path / "push.html").read_text(encoding="utf-8") == page
    figures = dict(re.findall(r"data-label='([^']*)' data-value='([^']*)'", page))
    assert figures == {"records": "1500", "records written": "1497", "records failed": "3",
                       "write calls": "15", "read calls": "2", "credits": "150.0"}
    assert "1,497 records" in page  # the summary table, with its separator and unit
    assert "<caption>records by status and code</caption>" in page
    assert "locked &lt;b&gt;now&lt;/b&gt;" in page  # Zoho's text is data, not markup
    assert "<b>now</b>" not in page


def test_report_counts_failed_inserts_that_have_no_id() -> None:
    # Zoho refused two of four new records: they have no id, and the headline said
    # "records failed 0" ("records 2") while its own table listed both.
    result = PushResult(pd.DataFrame({
        "id": [None, "4876876000000100136", "4876876000000100137", None],
        "route": "insert", "call": 0, "fields": [["Mobile"]] * 4,
        "code": ["DUPLICATE_DATA", "SUCCESS", "SUCCESS", "DUPLICATE_DATA"],
        "status": ["error", "success", "success", "error"],
        "message": ["duplicate data", "record added", "record added", "duplicate data"],
    }), calls=1, credits=1.0)
    figures = dict(re.findall(r"data-label='([^']*)' data-value='([^']*)'",
                              crmframe.report(result)))
    assert (figures["records"], figures["records written"], figures["records failed"]) == (
        "4", "2", "2")


def test_tables_are_formatted_for_people() -> None:
    frame = pd.DataFrame({"step": ["read", "bulk write"],
                          "calls": pd.array([31, None], dtype="Int64"),
                          "credits": [1234.0, 0.5]}).set_index("step")
    table = format_table(frame, "by step", units={"credits": "credits"}, index=True)
    assert "<caption>by step</caption>" in table
    assert "1,234 credits" in table
    assert "0.50 credits" in table
    assert "–" in table  # a missing count is a dash, not <NA>
    assert "<NA>" not in table
    head = table.split("<thead>")[1].split("</thead>")[0]
    assert head.count("<tr>") == 1  # the index is a column, not a second header row
    assert re.search(r'class="[^"]*num[^"]*"[^>]*>1,234 credits', table)
    assert re.search(r'class="[^"]*text[^"]*"[^>]*>bulk write', table)


def test_missing_times_are_blank_like_other_missing_text() -> None:
    # a job not observed yet: its time is NaT, which the table printed as "NaT"
    frame = pd.DataFrame({"job": ["a", "b"],
                          "observed": pd.to_datetime(["2026-12-05 03:00", None], utc=True)})
    cells = re.findall(r"<td[^>]*>(.*?)</td>", format_table(frame, "jobs"))
    assert cells == ["a", "2026-12-05 03:00:00+00:00", "b", ""]


def test_a_table_with_a_name_twice_is_an_input_error() -> None:
    # counts by a column kept as both index and column: pandas' "cannot insert
    # Lead_Status, already exists" (ValueError), or Styler's AttributeError for two columns
    # of one name, reached the analyst untyped
    counts = pd.DataFrame({"Lead_Status": [2, 1]},
                          index=pd.Index(["Contacted", "Lost Lead"], name="Lead_Status"))
    with pytest.raises(InputError, match=r"'Lead_Status' twice.*rename"):
        format_table(counts, "by status", index=True)
    with pytest.raises(InputError, match="'a' twice"):
        Report("t").table(pd.DataFrame([[1, 2]], columns=["a", "a"]), "twice")


def test_report_builder_keeps_its_figures(tmp_path: Path) -> None:
    page = Report("Title", "sub")
    page.figures({"calls": 1204, "credits": 72.5}, units={"credits": "credits"})
    page.table(None, "nothing")
    path = page.write(tmp_path / "r.html")
    text = path.read_text(encoding="utf-8")
    assert page.values == {"calls": 1204, "credits": 72.5}
    assert "1,204" in text
    assert "72.50 credits" in text
    assert "nothing: none." in text
