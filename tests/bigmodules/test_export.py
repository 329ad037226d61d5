"""crm.export: a 12,000-record module as a Parquet dataset read by pandas, DuckDB, Polars."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import polars as pl
import pytest
from bighelpers import connection, like_an_export

import crmframe
from crmframe.facade.crm import CRM

RECORDS = 12_000


@pytest.fixture(scope="module")
def big_server() -> Iterator[Any]:
    from crmframe.sandbox import start

    with start(records=RECORDS, seed=5, job_speed=1e7, job_delay=0) as running:
        yield running


@pytest.fixture(scope="module")
def exported(big_server: Any, tmp_path_factory: pytest.TempPathFactory
             ) -> tuple[Path, crmframe.ExportResult, pd.DataFrame]:
    path = tmp_path_factory.mktemp("export") / "leads"
    with connection(big_server) as crm:
        big_server.clear_requests()
        result = crm.export("Leads", path, rows_per_file=5_000)
        log = big_server.requests
        frame = like_an_export(crm.read_records("Leads", method="pages"))
    assert sum(1 for m, p, _ in log if (m, p) == ("POST", "/crm/bulk/v8/read")) == 1
    return path, result, frame


def test_auto_exports_by_bulk_and_reports_calls_and_credits(
    exported: tuple[Path, crmframe.ExportResult, pd.DataFrame]
) -> None:
    path, result, _ = exported
    assert result.method == "bulk"  # 12,000 records of 90 fields: 120 credits by pages
    assert result.rows == RECORDS
    assert result.files == 3
    assert not result.resumed
    assert result.calls <= 12
    assert result.credits == result.calls + 49
    names = sorted(p.name for p in path.iterdir())
    assert names == ["_crmframe.json", "part-00000.parquet", "part-00001.parquet",
                     "part-00002.parquet"]


def test_pandas_reads_the_dataset_with_the_read_records_dtypes(
    exported: tuple[Path, crmframe.ExportResult, pd.DataFrame]
) -> None:
    path, _, frame = exported
    back = pd.read_parquet(path)
    assert len(back) == RECORDS
    assert back.index.name == "id"
    assert back.index.is_unique
    assert set(back.index) == set(frame.index)
    assert list(back.columns) == list(frame.columns)
    expected = frame.dtypes.astype(str).to_dict()
    got = back.dtypes.astype(str).to_dict()
    for column, dtype in expected.items():
        # Parquet stores datetimes in milliseconds at the finest second (no 's' unit).
        assert got[column] == dtype.replace("[s", "[ms"), column
    assert str(back["Created_Time"].dtype) == "datetime64[ms, UTC]"
    assert back.loc[frame.index[0], "Email"] == frame["Email"].iloc[0]
    # 19-digit ids stay exact strings.
    assert all(len(i) == 19 for i in back.index[:50])


def test_read_dataset_gives_back_the_frame_exactly(
    exported: tuple[Path, crmframe.ExportResult, pd.DataFrame]
) -> None:
    path, _, frame = exported
    again = crmframe.read_dataset(path)
    assert again.dtypes.astype(str).to_dict() == frame.dtypes.astype(str).to_dict()
    assert len(crmframe.diff(frame, again).changes) == 0
    pd.testing.assert_frame_equal(again, frame)


def test_duckdb_and_polars_read_it_as_it_is(
    exported: tuple[Path, crmframe.ExportResult, pd.DataFrame]
) -> None:
    path, _, frame = exported
    glob = f"{path}/**/*.parquet"
    [(count, distinct)] = duckdb.sql(
        f"select count(*), count(distinct id) from read_parquet('{glob}')").fetchall()
    assert count == distinct == RECORDS
    described = duckdb.sql(f"describe select * from read_parquet('{glob}')").fetchall()
    types = {row[0]: row[1] for row in described}
    assert types["id"] == "VARCHAR"
    assert types["No_of_Employees"] == "BIGINT"
    assert types["Created_Time"] == "TIMESTAMP WITH TIME ZONE"
    assert types["Email_Opt_Out"] == "BOOLEAN"
    assert types["Languages_Known"] == "VARCHAR[]"
    by_status = dict(duckdb.sql(
        f"select Lead_Status, count(*) from read_parquet('{glob}') group by 1").fetchall())
    expected = frame["Lead_Status"].value_counts(dropna=False)
    assert by_status.get("Contacted") == int(expected.get("Contacted", 0))
    polars = pl.read_parquet(glob)
    assert polars.height == RECORDS
    assert polars.schema["id"] == pl.String


def test_export_refuses_other_directories_and_finished_datasets(
    exported: tuple[Path, crmframe.ExportResult, pd.DataFrame], big_server: Any,
    tmp_path: Path,
) -> None:
    path, _, _ = exported
    with connection(big_server) as crm:
        with pytest.raises(crmframe.InputError, match=r"crm\.sync"):
            crm.export("Leads", path)
        (tmp_path / "notes.txt").write_text("mine")
        with pytest.raises(crmframe.InputError, match="not empty"):
            crm.export("Leads", tmp_path)
        with pytest.raises(crmframe.InputError, match="bulk-read criteria"):
            crm.export("Leads", tmp_path / "x", method="pages",
                       criteria={"field": {"api_name": "City"}, "comparator": "equal",
                                 "value": "Paris"})
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_export_by_pages_with_criteria_less_fields_and_an_empty_module(
    crm: CRM, small_server: Any, tmp_path: Path
) -> None:
    paged = crm.export("Leads", tmp_path / "few", fields=["Last_Name", "Owner", "Tag"],
                       method="pages")
    assert paged.method == "pages"
    assert paged.rows == 3000
    frame = crm.read_records("Leads", ["Last_Name", "Owner", "Tag"], method="pages")
    pd.testing.assert_frame_equal(crmframe.read_dataset(tmp_path / "few"), frame)
    paris = crm.export("Leads", tmp_path / "paris", fields=["Last_Name", "City"],
                       criteria={"field": {"api_name": "City"}, "comparator": "equal",
                                 "value": "Paris"})
    assert paris.method == "bulk"
    back = pd.read_parquet(tmp_path / "paris")
    assert len(back) == int((crm.read_records("Leads", ["City"])["City"] == "Paris").sum())
    assert set(back["City"]) == {"Paris"}
    with pytest.raises(crmframe.InputError, match="criteria"):
        crm.sync("Leads", tmp_path / "paris")
    with pytest.raises(crmframe.InputError, match="not Deals"):
        crm.sync("Deals", tmp_path / "paris")
    none = crm.export("Leads", tmp_path / "none", fields=["Last_Name"], criteria={
        "field": {"api_name": "City"}, "comparator": "equal", "value": "Atlantis"})
    assert none.rows == 0
    empty = pd.read_parquet(tmp_path / "none")
    assert len(empty) == 0
    assert str(empty["Last_Name"].dtype) == "string"
