"""Zoho-like Leads field metadata and typed frames "as read", for the write-back tests."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

LEAD_STATUSES = [
    "-None-", "Attempted to Contact", "Contact in Future", "Contacted", "Junk Lead",
    "Lost Lead", "Not Contacted", "Pre-Qualified", "Not Qualified",
]
LANGUAGES = ["English", "Spanish", "French", "German"]


def _pick(values: list[str]) -> list[dict[str, Any]]:
    return [{"display_value": v, "actual_value": v} for v in values]


LEADS_FIELDS: list[dict[str, Any]] = [
    {"api_name": "Owner", "data_type": "ownerlookup", "json_type": "jsonobject",
     "mass_update": True, "lookup": {"module": {"api_name": "users"}}},
    {"api_name": "Last_Name", "data_type": "text", "json_type": "string", "length": 80,
     "system_mandatory": True, "mass_update": True},
    {"api_name": "Email", "data_type": "email", "json_type": "string", "length": 100,
     "mass_update": True},
    {"api_name": "Lead_Status", "data_type": "picklist", "json_type": "string",
     "mass_update": True, "pick_list_values": _pick(LEAD_STATUSES)},
    {"api_name": "No_of_Employees", "data_type": "integer", "json_type": "integer",
     "length": 9, "mass_update": True},
    {"api_name": "Annual_Revenue", "data_type": "currency", "json_type": "double",
     "length": 16, "decimal_place": 2, "mass_update": True},
    {"api_name": "Email_Opt_Out", "data_type": "boolean", "json_type": "boolean",
     "mass_update": True},
    {"api_name": "Mobile", "data_type": "phone", "json_type": "string", "length": 30,
     "unique": {"casesensitive": False}, "mass_update": False},
    {"api_name": "City", "data_type": "text", "json_type": "string", "length": 100,
     "mass_update": True},
    {"api_name": "Description", "data_type": "textarea", "json_type": "string",
     "length": 32000, "mass_update": True},
    {"api_name": "Date_3", "data_type": "date", "json_type": "string", "mass_update": True},
    # Zoho's own sample marks these writable: they are not (zoho-api.md §2)
    {"api_name": "Created_Time", "data_type": "datetime", "json_type": "string",
     "read_only": False, "field_read_only": False},
    {"api_name": "Modified_By", "data_type": "ownerlookup", "json_type": "jsonobject",
     "read_only": False},
    {"api_name": "Lead_Score_F", "data_type": "formula", "json_type": "double",
     "formula": {"return_type": "decimal"}},
    {"api_name": "Lead_No", "data_type": "autonumber", "json_type": "string"},
    {"api_name": "Languages", "data_type": "multiselectpicklist", "json_type": "jsonarray",
     "mass_update": True, "pick_list_values": _pick(LANGUAGES)},
    {"api_name": "Follow_Up", "data_type": "datetime", "json_type": "string",
     "mass_update": True},
]

FIRST_ID = 3652397000009851001


def lead_ids(n: int, start: int = 0) -> list[str]:
    return [str(FIRST_ID + start + i) for i in range(n)]


def leads_frame(n: int = 6, seed: int = 0) -> pd.DataFrame:
    """A typed Leads frame as ``records_to_frame`` gives it (dtypes per architecture.md)."""
    rng = np.random.default_rng(seed)
    idx = pd.Index(lead_ids(n), dtype="string", name="id")
    owners = ["4150868000000225013", "4150868000000225014"]
    frame = pd.DataFrame(
        {
            "Owner.id": pd.array([owners[i % 2] for i in range(n)], dtype="string"),
            "Owner.name": pd.array([["Ann Lee", "Bo Chen"][i % 2] for i in range(n)],
                                   dtype="string"),
            "Owner.email": pd.array([["ann@x.example", "bo@x.example"][i % 2]
                                     for i in range(n)], dtype="string"),
            "Last_Name": pd.array([f"Name {i}" for i in range(n)], dtype="string"),
            "Email": pd.array([f"p{i}@corp.example" if i % 3 else None for i in range(n)],
                              dtype="string"),
            "Lead_Status": pd.array([LEAD_STATUSES[1 + i % 8] for i in range(n)],
                                    dtype="string"),
            "No_of_Employees": pd.array([int(v) for v in rng.integers(1, 5000, n)],
                                        dtype="Int64"),
            "Annual_Revenue": pd.array([round(float(v), 2) for v in rng.random(n) * 1e6],
                                       dtype="Float64"),
            "Email_Opt_Out": pd.array([bool(i % 2) for i in range(n)], dtype="boolean"),
            "Date_3": pd.Series(pd.to_datetime([f"2024-03-{1 + i % 28:02d}" for i in range(n)]),
                                index=idx).astype("datetime64[s]").array,
            "Created_Time": pd.Series(pd.to_datetime(
                [f"2024-01-{1 + i % 28:02d}T10:00:00Z" for i in range(n)]), index=idx
            ).astype("datetime64[s, UTC]").array,
            "Languages": pd.Series([["English"] if i % 2 else ["English", "Spanish"]
                                    for i in range(n)], dtype=object).array,
        },
        index=idx,
    )
    frame.attrs["module"] = "Leads"
    return frame
