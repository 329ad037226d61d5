"""One frame whichever path: a bulk read gives the frame a page read gives."""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

import crmframe
from crmframe.facade.crm import CRM
from crmframe.facade.reading import estimate_credits


@pytest.mark.parametrize("module", ["Leads", "Deals", "Contacts"])
def test_bulk_and_page_reads_diff_to_zero_changes_with_equal_dtypes(
    crm: CRM, small_server: Any, module: str
) -> None:
    paged = crm.read_records(module, method="pages")
    small_server.clear_requests()
    bulk = crm.read_records(module, method="bulk")
    assert paged.attrs["method"] == "pages"
    assert bulk.attrs["method"] == "bulk"
    assert list(bulk.columns) == list(paged.columns)
    assert bulk.dtypes.astype(str).to_dict() == paged.dtypes.astype(str).to_dict()
    assert bulk.index.equals(paged.index)  # same order too: id, descending
    changes = crmframe.diff(paged, bulk)
    assert len(changes.changes) == 0
    assert not len(changes.added_rows)
    assert not len(changes.removed_ids)
    pd.testing.assert_frame_equal(bulk, paged)
    # The names a bulk CSV lacks came back: owners, layouts, lookups by dotted fields.
    assert bulk["Owner.name"].notna().all()
    assert bulk["Layout.name"].notna().all()
    # Filling them was cheap: the users once, one call for the layout (and tags).
    log = small_server.requests
    assert sum(1 for m, p, _ in log if p.endswith("/users")) == 1
    assert sum(1 for m, p, _ in log if m == "GET" and p == f"/crm/v8/{module}") <= 1
    assert bulk.attrs["lookup_calls"] <= 2


def test_tags_have_one_shape(crm: CRM) -> None:
    paged = crm.read_records("Leads", ["Last_Name", "Tag"], method="pages")
    bulk = crm.read_records("Leads", ["Last_Name", "Tag"], method="bulk")
    tagged = paged[paged["Tag"].map(len) > 0]
    assert len(tagged) > 0
    first = tagged["Tag"].iloc[0][0]
    assert set(first) == {"name", "id"}
    assert first["id"]
    assert bulk.loc[tagged.index, "Tag"].tolist() == tagged["Tag"].tolist()


def test_dotted_lookup_names_come_from_the_export(crm: CRM, small_server: Any) -> None:
    small_server.clear_requests()
    bulk = crm.read_records("Leads", ["Last_Name", "Referred_Account"], method="bulk")
    # No lookup call at all: the export carried Referred_Account.Account_Name.
    assert bulk.attrs["lookup_calls"] == 0
    named = bulk[bulk["Referred_Account.id"].notna()]
    assert len(named) > 0
    assert named["Referred_Account.name"].notna().all()
    accounts = crm.read_records("Accounts", ["Account_Name"], method="pages")
    expected = accounts["Account_Name"].reindex(named["Referred_Account.id"]).tolist()
    assert named["Referred_Account.name"].tolist() == expected


def test_auto_takes_the_cheaper_path_by_credits() -> None:
    # 100,000 rows of ≤49 fields: pages 500, COQL 150, bulk 58 (part 2 §5).
    assert estimate_credits(100_000, 20) == {"pages": 500, "coql": 150, "bulk": 58}
    small = estimate_credits(2_000, 90)
    assert small["pages"] < small["bulk"]
    big = estimate_credits(12_000, 90)
    assert big["bulk"] < big["pages"]


def test_auto_reads_a_small_module_by_pages_and_a_big_one_by_bulk(crm: CRM) -> None:
    assert crm.read_records("Leads", ["Last_Name"]).attrs["method"] == "pages"
    # 3,000 records of every field (two passes of 49): 30 credits by pages, 58 by bulk.
    assert crm.read_records("Leads").attrs["method"] == "pages"


def test_the_sandbox_exports_dotted_fields_zoho_can_export_and_refuses_others(
    crm: CRM,
) -> None:
    from crmframe.errors import InvalidRequestError
    from crmframe.http.bulk import bulk_query, create_bulk_read

    for good in (["Owner.email"], ["Referred_Account.Account_Name"], ["Layout.name"]):
        assert create_bulk_read(crm.client, bulk_query("Leads", "v8", fields=["id", *good]))
    for bad in (["Owner.salary"], ["Referred_Account.No_Such_Field"], ["City.name"]):
        with pytest.raises(InvalidRequestError):
            create_bulk_read(crm.client, bulk_query("Leads", "v8", fields=["id", *bad]))


@pytest.mark.parametrize("module", ["Leads", "Contacts"])
def test_bulk_and_page_reads_are_one_frame_with_the_pyarrow_backend_too(
    crm: CRM, module: str
) -> None:
    # The names, tags and subform rows a bulk read fills in after the export are typed
    # like the builder's own columns: before, they stayed numpy-nullable strings/objects.
    paged = crm.read_records(module, method="pages", dtype_backend="pyarrow")
    bulk = crm.read_records(module, method="bulk", dtype_backend="pyarrow")
    assert bulk.dtypes.astype(str).to_dict() == paged.dtypes.astype(str).to_dict()
    assert isinstance(bulk["Owner.name"].dtype, pd.ArrowDtype)
    pd.testing.assert_frame_equal(bulk, paged)
