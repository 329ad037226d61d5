"""records_to_frame / RecordsBuilder: record envelopes to typed frames indexed by id."""

from __future__ import annotations

import gc
import json
from typing import Any

import pandas as pd
import pytest

from crmframe.core.metadata import fields_to_frame
from crmframe.core.records import RecordsBuilder, records_to_frame
from crmframe.errors import (
    EnvelopeError,
    InputError,
    InvalidModuleError,
    InvalidRequestError,
    NotFoundError,
)

from .zoho_fixtures import body

LEADS_FIELDS = {
    "fields": [
        {"api_name": "id", "data_type": "bigint", "json_type": "string"},
        {"api_name": "Owner", "data_type": "ownerlookup", "json_type": "jsonobject"},
        {"api_name": "Last_Name", "data_type": "text", "json_type": "string"},
        {"api_name": "Lead_Status", "data_type": "picklist", "json_type": "string"},
        {"api_name": "No_of_Employees", "data_type": "integer", "json_type": "integer"},
        {"api_name": "Annual_Revenue", "data_type": "currency", "json_type": "double"},
        {"api_name": "Email_Opt_Out", "data_type": "boolean", "json_type": "boolean"},
        {"api_name": "Date_of_Birth", "data_type": "date", "json_type": "string"},
        {"api_name": "Created_Time", "data_type": "datetime", "json_type": "string"},
        {"api_name": "Visitor_Score", "data_type": "bigint", "json_type": "string"},
        {"api_name": "Languages", "data_type": "multiselectpicklist", "json_type": "jsonarray"},
        {"api_name": "Account", "data_type": "lookup", "json_type": "jsonobject"},
        {"api_name": "Projects", "data_type": "subform", "json_type": "jsonarray"},
    ]
}

RECORDS = {
    "data": [
        {
            "id": "4150868000000002175",
            "Owner": {"name": "Patricia Boyle", "id": "4150868000000225013",
                      "email": "p.boyle@example.com"},
            "Last_Name": "Boyle",
            "Lead_Status": "Contacted",
            "No_of_Employees": 12,
            "Annual_Revenue": 1000,
            "Email_Opt_Out": False,
            "Date_of_Birth": "1990-02-28",
            "Created_Time": "2021-05-11T18:22:29+05:30",
            "Visitor_Score": "9007199254740993",
            "Languages": ["English", "Spanish"],
            "Account": {"name": "Zylker", "id": "4150868000000624046"},
            "Projects": [{"Name": "CRM", "id": "4150868000000900001"}],
            "$approved": True,
        },
        {
            "Owner": None,
            "Last_Name": "Daly",
            "Lead_Status": None,
            "No_of_Employees": None,
            "Annual_Revenue": 2.5,
            "Email_Opt_Out": None,
            "Date_of_Birth": None,
            "Created_Time": "2021-05-11T05:52:29-07:00",
            "Visitor_Score": None,
            "Languages": [],
            "Account": None,
            "Projects": None,
            "$approved": False,
        },
    ],
    "info": {"per_page": 200, "count": 2, "page": 1, "more_records": False},
}


def test_nineteen_digit_ids_survive_with_a_missing_id() -> None:
    df = records_to_frame(RECORDS)
    assert df.index.name == "id"
    assert str(df.index.dtype) == "string"
    assert df.index[0] == "4150868000000002175"
    assert df.index.isna().tolist() == [False, True]


def test_ids_from_text_survive_json_parsing() -> None:
    text = '{"data": [{"id": "4150868000000002175"}, {"id": "4150868000000002176"}]}'
    df = records_to_frame(text.encode())
    assert df.index.tolist() == ["4150868000000002175", "4150868000000002176"]


def test_dtypes_follow_metadata() -> None:
    df = records_to_frame(RECORDS, LEADS_FIELDS, module="Leads")
    dtypes = df.dtypes.astype(str).to_dict()
    assert dtypes == {
        "Owner.id": "string", "Owner.name": "string", "Owner.email": "string",
        "Last_Name": "string", "Lead_Status": "string", "No_of_Employees": "Int64",
        "Annual_Revenue": "Float64", "Email_Opt_Out": "boolean", "Date_of_Birth": "datetime64[s]",
        "Created_Time": "datetime64[s, UTC]", "Visitor_Score": "string", "Languages": "object",
        "Account.id": "string", "Account.name": "string", "Projects": "object",
    }
    first, second = df.iloc[0], df.iloc[1]
    assert first["Owner.email"] == "p.boyle@example.com"
    assert first["Annual_Revenue"] == 1000.0
    assert first["Visitor_Score"] == "9007199254740993"  # a bigint never goes through a float
    assert first["Date_of_Birth"] == pd.Timestamp("1990-02-28")
    assert df["Created_Time"].tolist() == [pd.Timestamp("2021-05-11 12:52:29", tz="UTC")] * 2
    assert first["Languages"] == ["English", "Spanish"]
    assert second["Languages"] == []
    assert first["Projects"] == [{"Name": "CRM", "id": "4150868000000900001"}]
    # a null lookup gives nulls in each part
    assert second[["Owner.id", "Owner.name", "Owner.email", "Account.id"]].isna().all()
    assert df.attrs["module"] == "Leads"
    assert df.attrs["info"]["more_records"] is False


def test_metadata_in_every_form_gives_the_same_frame() -> None:
    expected = records_to_frame(RECORDS, LEADS_FIELDS)
    for form in (LEADS_FIELDS["fields"], json.dumps(LEADS_FIELDS), fields_to_frame(LEADS_FIELDS)):
        pd.testing.assert_frame_equal(records_to_frame(RECORDS, form), expected)


def test_inferred_dtypes_without_metadata() -> None:
    df = records_to_frame(RECORDS)
    dtypes = df.dtypes.astype(str).to_dict()
    assert dtypes["No_of_Employees"] == "Int64"
    assert dtypes["Annual_Revenue"] == "Float64"  # ints mixed with floats
    assert dtypes["Email_Opt_Out"] == "boolean"
    assert dtypes["Date_of_Birth"] == "datetime64[s]"
    assert dtypes["Created_Time"] == "datetime64[s, UTC]"
    assert dtypes["Visitor_Score"] == "string"  # numeric strings stay strings
    assert dtypes["Languages"] == "object"
    assert dtypes["Owner.id"] == "string"
    assert list(df.columns[:3]) == ["Owner.id", "Owner.name", "Owner.email"]


def test_mixed_types_become_object_without_loss() -> None:
    env = {"data": [{"id": "1", "x": 1}, {"id": "2", "x": "one"}, {"id": "3", "x": True},
                    {"id": "4", "x": 2**80}, {"id": "5", "x": None}]}
    df = records_to_frame(env)
    assert df["x"].dtype == object
    assert df["x"].tolist() == [1, "one", True, 2**80, None]
    assert records_to_frame({"data": [{"n": 2**80}]})["n"].tolist() == [2**80]


def test_system_keys_dropped_by_default_and_kept_on_request() -> None:
    assert "$approved" not in records_to_frame(RECORDS).columns
    kept = records_to_frame(RECORDS, keep_system_keys=True)
    assert kept["$approved"].tolist() == [True, False]
    assert str(kept["$approved"].dtype) == "boolean"


def test_requested_fields_no_record_carries_still_appear() -> None:
    env = {"data": [{"id": "1", "Last_Name": "Boyle"}]}
    df = records_to_frame(env, LEADS_FIELDS)
    assert df["Owner.id"].isna().all()
    assert str(df["Owner.id"].dtype) == "string"
    assert str(df["Account.name"].dtype) == "string"
    assert str(df["Created_Time"].dtype) == "datetime64[s, UTC]"
    assert str(df["No_of_Employees"].dtype) == "Int64"
    assert "id" not in df.columns
    only = records_to_frame(env, LEADS_FIELDS, columns=["Created_Time", "Owner", "Last_Name"])
    assert list(only.columns) == ["Created_Time", "Owner.id", "Owner.name", "Last_Name"]


def test_empty_answers_are_zero_rows() -> None:
    class Response:
        status_code = 204
        content = b""

    for empty in (Response(), {}, {"data": [], "info": {"more_records": False}}):
        df = records_to_frame(empty, LEADS_FIELDS)
        assert len(df) == 0
        assert str(df.index.dtype) == "string"
        assert str(df["Created_Time"].dtype) == "datetime64[s, UTC]"
    assert records_to_frame(body("amp__calls")).attrs["info"] == {"more_records": False, "page": 1}


def test_builder_pages_equal_one_shot() -> None:
    pages = [
        {"data": RECORDS["data"][:1], "info": {"page": 1, "more_records": True}},
        json.dumps({"data": RECORDS["data"][1:], "info": {"page": 2, "more_records": False}}),
    ]
    builder = RecordsBuilder(LEADS_FIELDS, module="Leads")
    assert [builder.add(p) for p in pages] == [1, 1]
    assert builder.rows == 2
    paged = builder.to_frame()
    whole = records_to_frame(RECORDS, LEADS_FIELDS, module="Leads")
    pd.testing.assert_frame_equal(paged, whole, check_flags=False)
    assert paged.attrs["info"] == {"page": 2, "more_records": False}
    assert paged.attrs["pages"] == 2


def test_builder_keys_first_seen_on_a_later_page() -> None:
    builder = RecordsBuilder()
    builder.add({"data": [{"id": "1", "a": 1}]})
    builder.add([{"id": "2", "b": "x"}])
    df = builder.to_frame()
    assert df["a"].tolist() == [1, pd.NA]
    assert df["b"].tolist() == [pd.NA, "x"]


def test_error_item_in_data_raises_the_typed_error() -> None:
    with pytest.raises(InvalidModuleError) as info:
        records_to_frame(body("v8_updateRecords_response__invalidmodule"))
    assert info.value.code == "INVALID_MODULE"
    assert info.value.details == {"resource_path_index": 0}


def test_success_item_in_data_is_not_a_record() -> None:
    with pytest.raises(EnvelopeError, match="results_to_frame"):
        records_to_frame(body("seed003_update_leads__success_response"))


@pytest.mark.parametrize(
    ("envelope", "error", "match"),
    [
        ({"fields": []}, EnvelopeError, "no 'data'"),
        ({"data": {"id": "1"}}, EnvelopeError, "'data' is dict"),
        ({"data": ["x"]}, EnvelopeError, "data item 0 is str"),
        ({"data": [], "info": []}, EnvelopeError, "'info' is list"),
        ({"data": [{"id": 1.5}]}, EnvelopeError, "record 0: id 1.5 is float"),
        ("[1, 2]", EnvelopeError, "top level"),
        (b"\xff\xfe", EnvelopeError, "JSON"),
        (42, EnvelopeError, "int"),
        (body("v8_getRecords_response__invalidcvid"), InvalidRequestError, "cvid"),
        (body("seed000_bulk_write_job__resource_not_found"), NotFoundError, "RESOURCE_NOT_FOUND"),
    ],
)
def test_bad_input_raises_crmframe_errors(
    envelope: Any, error: type[Exception], match: str
) -> None:
    with pytest.raises(error, match=match):
        records_to_frame(envelope)


def test_bad_arguments() -> None:
    with pytest.raises(InputError, match="columns"):
        records_to_frame(RECORDS, columns="Last_Name")
    with pytest.raises(InputError, match="module"):
        records_to_frame(RECORDS, module=3)  # type: ignore[arg-type]


def test_v8_get_records_owner_parts() -> None:
    df = records_to_frame(body("v8_getRecords_response__leads"), module="Leads")
    row = df.loc["4150868000000002175"]
    assert row["Owner.id"] == "4150868000000225013"
    assert row["Owner.name"] == "Patricia Boyle"
    assert row["Owner.email"] == "patricia.boyle@example.com"
    assert df.attrs["info"]["next_page_token"] == "c8582xx9e7c7"


def test_v7_leads_with_field_metadata() -> None:
    fields = body("v7_fields__sample_response")
    df = records_to_frame(body("v7_search_records_161__sample_response"), fields)
    assert str(df["Created_Time"].dtype) == "datetime64[s, UTC]"
    assert str(df["No_of_Employees"].dtype) == "Int64"
    assert str(df["Annual_Revenue"].dtype) == "Float64"
    assert str(df["Visitor_Score"].dtype) == "string"
    assert str(df["Layout.id"].dtype) == "string"
    assert df["Tag"].dtype == object
    # the frame has a column for every field of the metadata but id, flattened for lookups
    assert "Converted_Account.name" in df.columns
    assert "id" not in df.columns


def test_coql_partial_lookups_and_dotted_names() -> None:
    df = records_to_frame(body("v7_records_through_a_coql_query_381__sample_response_3"))
    assert "Account_Name.Parent_Account.Account_Name" in df.columns
    assert df["Account_Name.Parent_Account.Account_Name"].tolist()[0] == "Zylker"


def test_a_real_requests_response() -> None:
    import requests

    response = requests.Response()
    response.status_code = 200
    response._content = json.dumps(RECORDS).encode()
    df = records_to_frame(response, LEADS_FIELDS)
    assert df.index[0] == "4150868000000002175"
    empty = requests.Response()
    empty.status_code = 304
    empty._content = b""
    assert len(records_to_frame(empty)) == 0


def test_a_refused_page_leaves_the_builder_as_it_was() -> None:
    builder = RecordsBuilder()
    builder.add({"data": [{"id": "1", "a": 1}], "info": {"page": 1}})
    with pytest.raises(EnvelopeError):
        builder.add({"data": [{"id": "2", "b": 2}, {"id": [], "a": 3}], "info": {"page": 2}})
    df = builder.to_frame()
    assert df.index.tolist() == ["1"]
    assert list(df.columns) == ["a"]
    assert df.attrs["info"] == {"page": 1}
    assert df.attrs["pages"] == 1


def test_nan_like_strings_stay_text() -> None:
    env = {"data": [{"id": "1", "Name": "NaN"}, {"id": "2", "Name": "None"},
                    {"id": "3", "Name": "null"}, {"id": "4", "Name": None}]}
    for fields in (None, {"fields": [{"api_name": "Name", "data_type": "text"}]}):
        column = records_to_frame(env, fields)["Name"]
        assert str(column.dtype) == "string"
        assert column.tolist()[:3] == ["NaN", "None", "null"]
        assert column.isna().tolist() == [False, False, False, True]


def test_lookup_values_that_are_not_objects_keep_the_column_whole() -> None:
    env = {"data": [{"id": "1", "Owner": {"id": "7", "name": "A"}}, {"id": "2", "Owner": "7"}]}
    df = records_to_frame(env, LEADS_FIELDS, columns=["Owner"])
    assert df["Owner"].tolist() == [{"id": "7", "name": "A"}, "7"]


@pytest.mark.parametrize("enabled", [True, False])
def test_builder_leaves_the_garbage_collector_as_it_found_it(enabled: bool) -> None:
    was = gc.isenabled()
    try:
        if not enabled:
            gc.disable()
        builder = RecordsBuilder()
        builder.add({"data": [{"id": "1", "City": "Pune"}]})
        assert gc.isenabled() is enabled
        with pytest.raises(EnvelopeError):
            builder.add({"info": {}})  # refused page: the pause still ends
        assert gc.isenabled() is enabled
        builder.to_frame()
        assert gc.isenabled() is enabled
    finally:
        if was:
            gc.enable()
        else:
            gc.disable()
