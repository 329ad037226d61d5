"""Bulk-write CSV+zip building and result parsing, without a server."""

from __future__ import annotations

import csv
import io
import zipfile

import pandas as pd
import pytest

from crmframe.core.bulkwrite import (
    DATE_FORMAT,
    DATETIME_FORMAT,
    build_bulk_write,
    parse_bulk_result,
)
from crmframe.core.fieldtypes import Kind
from crmframe.errors import EnvelopeError, InputError, ValidationError

KINDS = {
    "Owner": Kind.LOOKUP, "Date_3": Kind.DATE, "Follow_Up": Kind.DATETIME,
    "Languages": Kind.LIST, "Email_Opt_Out": Kind.BOOLEAN, "Annual_Revenue": Kind.FLOAT,
    "No_of_Employees": Kind.INTEGER, "City": Kind.TEXT,
}
R1, R2 = "3652397000009851001", "3652397000009851002"


def test_csv_header_values_and_mappings() -> None:
    records = {
        R1: {"Owner": "4150868000000225099", "Date_3": pd.Timestamp("2025-01-31"),
             "Follow_Up": pd.Timestamp("2025-01-31 09:30:15", tz="Asia/Kolkata"),
             "Languages": ["English", "French"], "Email_Opt_Out": True},
        R2: {"Annual_Revenue": 1234.5, "No_of_Employees": 12, "City": 'Pune, "West"'},
    }
    f = build_bulk_write(records, KINDS, "Leads")
    rows = list(csv.reader(io.StringIO(f.csv_bytes.decode("utf-8"))))
    assert rows[0] == ["id", "Owner.id", "Date_3", "Follow_Up", "Languages", "Email_Opt_Out",
                       "Annual_Revenue", "No_of_Employees", "City"]
    assert rows[1] == [R1, "4150868000000225099", "2025-01-31", "2025-01-31T04:00:15+00:00",
                       "English;French", "true", "", "", ""]
    assert rows[2] == [R2, "", "", "", "", "", "1234.5", "12", 'Pune, "West"']
    with zipfile.ZipFile(io.BytesIO(f.zip_bytes)) as archive:
        assert archive.namelist() == ["Leads.csv"]
        assert archive.read("Leads.csv") == f.csv_bytes
    by_name = {m["api_name"]: m for m in f.field_mappings}
    assert by_name["id"] == {"api_name": "id", "index": 0}
    assert by_name["Owner"] == {"api_name": "Owner", "index": 1, "find_by": "id"}
    assert by_name["Date_3"]["format"] == DATE_FORMAT == "yyyy-MM-dd"
    assert by_name["Follow_Up"]["format"] == DATETIME_FORMAT
    assert "format" not in by_name["City"]
    assert [m["index"] for m in f.field_mappings] == list(range(9))
    assert f.ids == [R1, R2]


def test_job_body_by_version() -> None:
    f = build_bulk_write({R1: {"City": "Pune"}}, KINDS, "Leads")
    v2 = f.job_body("111", version="v2")
    v8 = f.job_body("111")
    assert v2["resource"][0]["module"] == "Leads"
    assert v8["resource"][0]["module"] == {"api_name": "Leads"}
    assert v8["operation"] == "update"
    assert v8["ignore_empty"] is True
    assert v8["resource"][0]["find_by"] == "id"
    assert v8["resource"][0]["file_id"] == "111"
    assert v8["resource"][0]["field_mappings"] == f.field_mappings


def test_clears_limits_and_bad_values_are_refused() -> None:
    with pytest.raises(InputError, match="cleared"):
        build_bulk_write({R1: {"City": None}}, KINDS, "Leads")
    with pytest.raises(ValidationError):
        build_bulk_write({R1: {"No_of_Employees": "ten"}}, KINDS, "Leads")
    too_many = {str(i): {"City": "x"} for i in range(25_001)}
    with pytest.raises(InputError, match="25000"):
        build_bulk_write(too_many, KINDS, "Leads")
    wide = {R1: {f"F{i}": "x" for i in range(200)}}
    with pytest.raises(InputError, match="200 columns"):
        build_bulk_write(wide, {}, "Leads")


RESULT = (
    "id,City,Email,STATUS,RECORD_ID,ERRORS\n"
    f"{R1},Pune,a@b.example,updated,{R1},\n"
    f"{R2},,bad,skipped,,INVALID_DATA-Email:MANDATORY_NOT_FOUND-Last_Name\n"
    "3652397000009851003,Agra,,unprocessed,,CANNOT_PROCESS\n"
)


def test_parse_result_csv_and_zip() -> None:
    df = parse_bulk_result(RESULT)
    assert list(df.columns[:7]) == ["position", "id", "status", "record_id", "code", "column",
                                    "errors"]
    assert df["status"].tolist() == ["updated", "skipped", "unprocessed"]
    assert df.loc[1, "errors"] == [("INVALID_DATA", "Email"), ("MANDATORY_NOT_FOUND", "Last_Name")]
    assert df.loc[2, "errors"] == [("CANNOT_PROCESS", None)]
    assert df.loc[0, "errors"] == []
    assert df.loc[1, "code"] == "INVALID_DATA"
    assert df.loc[1, "column"] == "Email"
    assert pd.isna(df.loc[0, "code"])
    assert df["City"].tolist()[:1] == ["Pune"]
    zipped = io.BytesIO()
    with zipfile.ZipFile(zipped, "w") as archive:
        archive.writestr("result.csv", "\ufeff" + RESULT)
    from_zip = parse_bulk_result(zipped.getvalue(), ids=["a", "b", "c"])
    assert from_zip["id"].tolist() == ["a", "b", "c"]
    assert from_zip["status"].tolist() == df["status"].tolist()


def test_parse_result_errors() -> None:
    with pytest.raises(EnvelopeError):
        parse_bulk_result("id,City\n1,x\n")
    with pytest.raises(EnvelopeError):
        parse_bulk_result(b"PK\x03\x04 not really a zip")
    with pytest.raises(EnvelopeError):
        parse_bulk_result(RESULT, ids=["only one"])


def test_round_trip_ids_through_build_and_parse() -> None:
    records = {str(3652397000009851001 + i): {"City": f"c{i}"} for i in range(5)}
    f = build_bulk_write(records, KINDS, "Leads")
    lines = f.csv_bytes.decode().splitlines()
    result = "\n".join([lines[0] + ",STATUS,RECORD_ID,ERRORS"]
                       + [line + f",updated,{line.split(',')[0]}," for line in lines[1:]])
    df = parse_bulk_result(result.encode(), ids=f.ids)
    assert df["record_id"].tolist() == f.ids
    assert (df["status"] == "updated").all()
