"""Bulk-read CSV gives the same typed columns as the JSON pages of the same records."""

from __future__ import annotations

import csv
import io

import pandas as pd

from crmframe.core.bulkcsv import csv_to_frame
from crmframe.core.records import records_to_frame

FIELDS = {"fields": [
    {"api_name": "id", "data_type": "bigint", "json_type": "string"},
    {"api_name": "Last_Name", "data_type": "text", "json_type": "string"},
    {"api_name": "No_of_Employees", "data_type": "integer", "json_type": "integer"},
    {"api_name": "Annual_Revenue", "data_type": "currency", "json_type": "double"},
    {"api_name": "Email_Opt_Out", "data_type": "boolean", "json_type": "boolean"},
    {"api_name": "Birth_Date", "data_type": "date", "json_type": "string"},
    {"api_name": "Created_Time", "data_type": "datetime", "json_type": "string"},
    {"api_name": "Owner", "data_type": "ownerlookup", "json_type": "jsonobject"},
    {"api_name": "Languages", "data_type": "multiselectpicklist", "json_type": "jsonarray"},
    {"api_name": "Big_Number", "data_type": "bigint", "json_type": "string"},
]}

RECORDS = [
    {"id": "4876876000000624001", "Last_Name": "Boyle, \"Pat\"", "No_of_Employees": 12,
     "Annual_Revenue": 250000.5, "Email_Opt_Out": True, "Birth_Date": "1990-02-28",
     "Created_Time": "2024-05-11T18:22:29+05:30",
     "Owner": {"id": "4876876000000225013", "name": "Patricia Boyle"},
     "Languages": ["English", "Spanish"], "Big_Number": "9007199254740993"},
    {"id": "4876876000000624002", "Last_Name": "Ng\nline two", "No_of_Employees": None,
     "Annual_Revenue": None, "Email_Opt_Out": False, "Birth_Date": None,
     "Created_Time": "2024-05-11T00:00:00-07:00", "Owner": None, "Languages": [],
     "Big_Number": None},
]


def as_csv(records: list[dict]) -> bytes:
    names = [f["api_name"] for f in FIELDS["fields"]]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(names)
    for r in records:
        row = []
        for n in names:
            v = r.get(n)
            if v is None:
                row.append("")
            elif isinstance(v, bool):
                row.append("true" if v else "false")
            elif isinstance(v, dict):
                row.append(v["id"])
            elif isinstance(v, list):
                row.append(";".join(v))
            else:
                row.append(str(v))
        writer.writerow(row)
    return out.getvalue().encode()


def test_bulk_csv_matches_json_pages_on_shared_columns() -> None:
    paged = records_to_frame({"data": RECORDS}, FIELDS)
    bulk = csv_to_frame(as_csv(RECORDS), FIELDS)
    assert "Owner.name" in paged.columns
    assert "Owner.name" not in bulk.columns  # a bulk export has lookup ids only
    shared = [c for c in paged.columns if c in bulk.columns and c != "Languages"]
    assert len(shared) == 8
    pd.testing.assert_frame_equal(bulk[shared], paged[shared])
    assert bulk.loc["4876876000000624001", "Languages"] == ["English", "Spanish"]
    assert bulk.loc["4876876000000624002", "Languages"] == []
    assert bulk.index.dtype == "string"
    assert bulk.loc["4876876000000624001", "Big_Number"] == "9007199254740993"


def test_empty_csv_gives_typed_empty_frame() -> None:
    header_only = as_csv([])
    frame = csv_to_frame(header_only, FIELDS, columns=["Last_Name", "No_of_Employees"])
    assert len(frame) == 0
    assert str(frame["No_of_Employees"].dtype) == "Int64"
    assert str(frame["Last_Name"].dtype) == "string"
