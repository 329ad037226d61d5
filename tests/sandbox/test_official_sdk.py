"""Zoho's official Python SDK (``zohocrmsdk8-0`` 7.0.0) runs against the sandbox unchanged.

The SDK is a client nobody here wrote: it fetches field metadata before record calls,
sends ids as JSON numbers, picks its parser from the answer's ``Content-Type`` and takes
uploads at Zoho's content host. Every test below is one SDK operation, called the way
Zoho's own samples call it, with no patch to the SDK; each asserts what the sandbox
answered (status, the SDK's wrapper class, the values).

Where the SDK and Zoho's documentation disagree the sandbox follows the docs, and the
test says so: the SDK sends record ids as JSON numbers (``Record.set_id`` takes an int)
where every Zoho example shows strings, so the sandbox takes both
(``test_update_records_with_numeric_ids_and_a_per_record_error``); the SDK's
``StreamWrapper(file_path=)`` never closes its file, so the upload passes a stream.

The SDK keeps its configuration in class attributes (``Initializer.initializer``), so
one module-scoped fixture initialises it once, in a temporary directory (token store,
field-metadata cache), and puts the previous state back afterwards.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from zohocrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken
from zohocrmsdk.src.com.zoho.api.authenticator.store.file_store import FileStore
from zohocrmsdk.src.com.zoho.crm.api import HeaderMap, ParameterMap
from zohocrmsdk.src.com.zoho.crm.api import bulk_read as br
from zohocrmsdk.src.com.zoho.crm.api import bulk_write as bw
from zohocrmsdk.src.com.zoho.crm.api import record as rec
from zohocrmsdk.src.com.zoho.crm.api.coql import BodyWrapper as CoqlBody
from zohocrmsdk.src.com.zoho.crm.api.coql import CoqlOperations
from zohocrmsdk.src.com.zoho.crm.api.custom_views import CustomViewsOperations, GetCustomViewsParam
from zohocrmsdk.src.com.zoho.crm.api.dc.data_center import DataCenter
from zohocrmsdk.src.com.zoho.crm.api.fields import FieldsOperations, GetFieldsParam
from zohocrmsdk.src.com.zoho.crm.api.initializer import Initializer
from zohocrmsdk.src.com.zoho.crm.api.modules import MinifiedModule, ModulesOperations
from zohocrmsdk.src.com.zoho.crm.api.org import OrgOperations
from zohocrmsdk.src.com.zoho.crm.api.sdk_config import SDKConfig
from zohocrmsdk.src.com.zoho.crm.api.users import UsersOperations
from zohocrmsdk.src.com.zoho.crm.api.util import Choice, StreamWrapper

from crmframe.sandbox import ManualClock, SandboxServer, start

#: More Leads than the 2,000 that page numbers reach, so page tokens are needed.
RECORDS = 2300


@pytest.fixture(scope="module")
def clock() -> ManualClock:
    return ManualClock(1_767_000_000.0)


@pytest.fixture(scope="module")
def server(clock: ManualClock) -> Iterator[SandboxServer]:
    with start(records=RECORDS, clock=clock) as srv:
        yield srv


@pytest.fixture(scope="module", autouse=True)
def sdk(server: SandboxServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[None]:
    """The SDK initialised against the sandbox, exactly as a user would against Zoho."""
    home = tmp_path_factory.mktemp("zoho-sdk")
    creds = server.credentials
    environment = DataCenter.Environment(server.url, server.url + "/oauth/v2/token",
                                         server.url)
    token = OAuthToken(client_id=creds["client_id"], client_secret=creds["client_secret"],
                       refresh_token=creds["refresh_token"])
    before = Initializer.initializer
    Initializer.initialize(environment=environment, token=token,
                           store=FileStore(str(home / "tokens.csv")),
                           sdk_config=SDKConfig(auto_refresh_fields=False,
                                                pick_list_validation=False),
                           resource_path=str(home))
    try:
        yield
    finally:
        Initializer.initializer = before


def _ok(response: Any, status: int = 200) -> Any:
    assert response is not None
    assert response.get_status_code() == status, response.get_object()
    return response.get_object()


def _downloaded(result: Any) -> bytes:
    """The bytes of a download: the SDK hands back the HTTP response as a stream."""
    wrapper = result.get_file()
    assert wrapper.get_name().endswith(".zip")
    return b"".join(wrapper.get_stream().iter_content(65536))


def _plain_ids(server: SandboxServer, n: int, skip: int = 0) -> list[str]:
    flagged = server.flagged("Leads")
    return [i for i in server.ids("Leads") if i not in flagged][skip:skip + n]


# ---------------------------------------------------------------------- reading
def test_get_records_with_page_tokens_past_2000(server: SandboxServer) -> None:
    ops = rec.RecordOperations("Leads")
    seen: list[int] = []
    token: str | None = None
    while True:
        params = ParameterMap()
        params.add(rec.GetRecordsParam.fields, "Last_Name,Email,Company")
        params.add(rec.GetRecordsParam.per_page, 200)
        if token is not None:
            params.add(rec.GetRecordsParam.page_token, token)
        body = _ok(ops.get_records(params))
        assert isinstance(body, rec.ResponseWrapper)
        seen.extend(r.get_id() for r in body.get_data())
        token = body.get_info().get_next_page_token()
        if not body.get_info().get_more_records():
            break
    assert len(seen) == RECORDS == len(set(seen))
    assert {str(i) for i in seen} == set(server.ids("Leads"))


def test_get_record(server: SandboxServer) -> None:
    rid = server.ids("Leads")[0]
    body = _ok(rec.RecordOperations("Leads").get_record(int(rid)))
    record = body.get_data()[0]
    assert str(record.get_id()) == rid
    assert record.get_key_value("Last_Name") == server.get_record("Leads", rid)["Last_Name"]


def test_unknown_id_answers_no_content() -> None:
    response = rec.RecordOperations("Leads").get_record(4876876000099999999)
    assert response.get_status_code() == 204
    assert response.get_object() is None


def test_fields() -> None:
    params = ParameterMap()
    params.add(GetFieldsParam.module, "Leads")
    fields = _ok(FieldsOperations().get_fields(params)).get_fields()
    by_name = {f.get_api_name(): f for f in fields}
    # 84 fields, then the subform Lead_Contacts (added last)
    assert len(by_name) == 85
    assert list(by_name)[-1] == "Lead_Contacts"
    assert by_name["Lead_Contacts"].get_data_type() == "subform"
    assert by_name["Last_Name"].get_system_mandatory() is True
    assert by_name["Lead_Status"].get_data_type() == "picklist"
    assert by_name["Referred_Account"].get_lookup().get_module().get_api_name() == "Accounts"


def test_modules() -> None:
    modules = _ok(ModulesOperations().get_modules()).get_modules()
    names = {m.get_api_name() for m in modules}
    assert {"Leads", "Contacts", "Accounts", "Deals"} <= names
    assert all(m.get_api_supported() for m in modules)


def test_custom_views_and_one_view() -> None:
    params = ParameterMap()
    params.add(GetCustomViewsParam.module, "Leads")
    ops = CustomViewsOperations()
    views = _ok(ops.get_custom_views(params)).get_custom_views()
    paris = next(v for v in views if v.get_name() == "Leads in Paris")
    one = _ok(ops.get_custom_view(int(paris.get_id()), params)).get_custom_views()[0]
    criteria = one.get_criteria()
    assert criteria.get_field().get_api_name() == "City"
    assert criteria.get_value() == "Paris"


def test_users() -> None:
    users = _ok(UsersOperations().get_users()).get_users()
    assert len(users) == 4
    assert all("@" in u.get_email() for u in users)


def test_org() -> None:
    org = _ok(OrgOperations().get_organization()).get_org()[0]
    assert org.get_company_name() == "crmframe Sandbox Inc."


# ---------------------------------------------------------------------- writing
def test_create_records_with_a_per_record_error(server: SandboxServer) -> None:
    good = rec.Record()
    good.add_key_value("Last_Name", "Ferreira")
    good.add_key_value("Company", "SDK Ltd")
    bad = rec.Record()
    bad.add_key_value("Company", "No Last Name Inc")
    body = rec.BodyWrapper()
    body.set_data([good, bad])
    answers = _ok(rec.RecordOperations("Leads").create_records(body), 207).get_data()
    assert isinstance(answers[0], rec.SuccessResponse)
    assert answers[0].get_code().get_value() == "SUCCESS"
    new_id = str(answers[0].get_details()["id"])
    assert server.get_record("Leads", new_id)["Last_Name"] == "Ferreira"
    assert isinstance(answers[1], rec.APIException)
    assert answers[1].get_code().get_value() == "MANDATORY_NOT_FOUND"
    assert answers[1].get_details()["api_name"] == "Last_Name"


def test_update_records_with_numeric_ids_and_a_per_record_error(server: SandboxServer) -> None:
    rid = _plain_ids(server, 1, skip=3)[0]
    known = rec.Record()
    known.set_id(int(rid))  # the SDK only takes ints: the body carries a JSON number
    known.add_key_value("City", "Lyon")
    unknown = rec.Record()
    unknown.set_id(123)
    unknown.add_key_value("City", "Lyon")
    body = rec.BodyWrapper()
    body.set_data([known, unknown])
    answers = _ok(rec.RecordOperations("Leads").update_records(body), 207).get_data()
    assert answers[0].get_code().get_value() == "SUCCESS"
    assert server.get_record("Leads", rid)["City"] == "Lyon"
    assert answers[1].get_code().get_value() == "INVALID_DATA"


def test_mass_update_by_ids(server: SandboxServer) -> None:
    ids = _plain_ids(server, 2, skip=10)
    change = rec.Record()
    change.add_key_value("City", "Nice")
    body = rec.MassUpdateBodyWrapper()
    body.set_data([change])
    # The SDK types ``ids`` as List[str]; Zoho's docs show strings too (v8 example).
    body.set_ids(ids)
    answers = _ok(rec.RecordOperations("Leads").mass_update_records(body)).get_data()
    assert [a.get_code().get_value() for a in answers] == ["SUCCESS", "SUCCESS"]
    assert {server.get_record("Leads", i)["City"] for i in ids} == {"Nice"}


def test_mass_update_by_view_and_its_status(server: SandboxServer, clock: ManualClock) -> None:
    params = ParameterMap()
    params.add(GetCustomViewsParam.module, "Leads")
    views = _ok(CustomViewsOperations().get_custom_views(params)).get_custom_views()
    hot = next(v for v in views if v.get_name() == "Hot Leads")
    change = rec.Record()
    change.add_key_value("Segment", Choice("Enterprise"))  # the SDK sends picklists as Choice
    body = rec.MassUpdateBodyWrapper()
    body.set_data([change])
    body.set_cvid(str(hot.get_id()))
    scheduled = _ok(rec.RecordOperations("Leads").mass_update_records(body), 202).get_data()[0]
    job_id = str(scheduled.get_details()["job_id"])
    states = []
    for _ in range(20):
        status = ParameterMap()
        status.add(rec.GetMassUpdateStatusParam.job_id, job_id)
        item = _ok(rec.RecordOperations("Leads").get_mass_update_status(status)).get_data()[0]
        states.append(item.get_status().get_value())
        if states[-1] == "COMPLETED":
            break
        clock.advance(1.0)
    assert states[0] == "SCHEDULED"
    assert states[-1] == "COMPLETED"
    assert item.get_updated_count() + item.get_failed_count() == item.get_total_count() > 0
    hot_ids = [r for r in server.ids("Leads")
               if server.get_record("Leads", r)["Rating"] == "Active"
               and r not in server.flagged("Leads")]
    assert {server.get_record("Leads", r)["Segment"] for r in hot_ids} == {"Enterprise"}


# ---------------------------------------------------------------------- bulk write
def _bulk_zip(tmp: Path, rows: list[list[str]]) -> Path:
    out = io.StringIO()
    csv.writer(out).writerows([["Last_Name", "Company", "Email"], *rows])
    path = tmp / "leads.zip"
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("leads.csv", out.getvalue())
    return path


def test_bulk_write_end_to_end(server: SandboxServer, clock: ManualClock,
                               tmp_path: Path) -> None:
    ops = bw.BulkWriteOperations()
    # 1. upload: Zoho's content host, which the SDK maps to Environment.file_upload_url
    org = _ok(OrgOperations().get_organization()).get_org()[0]
    headers = HeaderMap()
    headers.add(bw.UploadFileHeader.feature, "bulk-write")
    headers.add(bw.UploadFileHeader.x_crm_org, str(org.get_zgid()))
    path = _bulk_zip(tmp_path, [
        ["Okafor", "Bulk One", "okafor@bulk.test"], ["Lindqvist", "Bulk Two", "lq@bulk.test"],
        ["", "No Name", "nobody@bulk.test"]])
    # StreamWrapper(file_path=) leaves its file open; a stream we close ourselves does not
    with path.open("rb") as stream:
        upload = bw.FileBodyWrapper()
        upload.set_file(StreamWrapper(name=path.name, stream=stream))
        uploaded = _ok(ops.upload_file(upload, headers))
    file_id = str(uploaded.get_details()["file_id"])
    # 2. the job
    module = MinifiedModule()
    module.set_api_name("Leads")
    mappings = []
    for index, name in enumerate(["Last_Name", "Company", "Email"]):
        mapping = bw.FieldMapping()
        mapping.set_api_name(name)
        mapping.set_index(index)
        mappings.append(mapping)
    resource = bw.Resource()
    resource.set_type(Choice("data"))
    resource.set_module(module)
    resource.set_file_id(file_id)
    resource.set_field_mappings(mappings)
    request = bw.RequestWrapper()
    request.set_operation(Choice("insert"))
    request.set_resource([resource])
    created = _ok(ops.create_bulk_write_job(request), 201)
    job_id = str(created.get_details()["id"])
    # 3. its details until completed
    clock.advance(30)
    details = _ok(ops.get_bulk_write_job_details(job_id))
    assert details.get_status() == "COMPLETED"
    counts = details.get_resource()[0].get_file()
    assert (counts.get_added_count(), counts.get_skipped_count(),
            counts.get_total_count()) == (2, 1, 3)
    # 4. the result zip from its absolute download_url
    result = _ok(ops.download_bulk_write_result(details.get_result().get_download_url()))
    data = _downloaded(result)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        rows = list(csv.DictReader(io.StringIO(zf.read(zf.namelist()[0]).decode())))
    assert [r["STATUS"] for r in rows] == ["added", "added", "skipped"]
    assert rows[2]["ERRORS"].startswith("MANDATORY_NOT_FOUND")
    added = [r["RECORD_ID"] for r in rows if r["RECORD_ID"]]
    assert {server.get_record("Leads", i)["Last_Name"] for i in added} == {"Okafor",
                                                                           "Lindqvist"}


# ---------------------------------------------------------------------- bulk read
def test_bulk_read_end_to_end(server: SandboxServer, clock: ManualClock) -> None:
    ops = br.BulkReadOperations()
    module = MinifiedModule()
    module.set_api_name("Leads")
    query = br.Query()
    query.set_module(module)
    query.set_fields(["Last_Name", "City"])
    request = br.BodyWrapper()
    request.set_query(query)
    request.set_file_type("csv")
    created = _ok(ops.create_bulk_read_job(request), 201).get_data()[0]
    job_id = int(created.get_details()["id"])
    clock.advance(60)
    job = _ok(ops.get_bulk_read_job_details(job_id)).get_data()[0]
    assert job.get_state().get_value() == "COMPLETED"
    assert job.get_result().get_count() == len(server.ids("Leads"))
    result = _ok(ops.download_result(job_id))
    data = _downloaded(result)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        rows = list(csv.DictReader(io.StringIO(zf.read(zf.namelist()[0]).decode())))
    assert len(rows) == len(server.ids("Leads"))
    assert set(rows[0]) == {"id", "Last_Name", "City"}


# ---------------------------------------------------------------------- queries
def test_coql(server: SandboxServer) -> None:
    body = CoqlBody()
    body.set_select_query("select Last_Name, City from Leads where City = 'Paris' "
                          "order by id limit 5")
    data = _ok(CoqlOperations().get_records(body)).get_data()
    assert 0 < len(data) <= 5
    assert {r.get_key_value("City") for r in data} == {"Paris"}


def test_search(server: SandboxServer) -> None:
    params = ParameterMap()
    params.add(rec.SearchRecordsParam.criteria, "(City:equals:Paris)")
    data = _ok(rec.RecordOperations("Leads").search_records(params)).get_data()
    assert data
    assert {r.get_key_value("City") for r in data} == {"Paris"}


def test_search_with_no_result() -> None:
    params = ParameterMap()
    params.add(rec.SearchRecordsParam.criteria, "(City:equals:Atlantis-sous-Mer)")
    response = rec.RecordOperations("Leads").search_records(params)
    assert response.get_status_code() == 204
    assert response.get_object() is None


def test_record_count(server: SandboxServer) -> None:
    count = _ok(rec.RecordOperations("Leads").record_count()).get_count()
    assert count == server.app.store.count("Leads")


# ---------------------------------------------------------------------- more of the CRM
def _ref(rid: str) -> rec.Record:
    """A lookup value as the SDK writes one: a Record carrying only its id."""
    ref = rec.Record()
    ref.set_id(int(rid))
    return ref


def _record(**values: Any) -> rec.Record:
    """A Record with these keys (``id`` through ``set_id``, as the SDK wants it)."""
    record = rec.Record()
    for key, value in values.items():
        if key == "id":
            record.set_id(value)
        else:
            record.add_key_value(key, value)
    return record


def _write(module: str, records: list[rec.Record], status: int, *,
           update: bool = False) -> list[Any]:
    """Create (or update) records with the SDK; its per-record answers."""
    body = rec.BodyWrapper()
    body.set_data(records)
    ops = rec.RecordOperations(module)
    answer = ops.update_records(body) if update else ops.create_records(body)
    data: list[Any] = _ok(answer, status).get_data()
    return data


def test_custom_module_record_with_subform_rows(server: SandboxServer) -> None:
    account = server.ids("Accounts")[0]
    project = _record(Name="SDK rollout", Account=_ref(account), Status=Choice("Active"),
                      Milestones=[_record(Milestone=name, Hours=8.0)
                                  for name in ("Kick-off", "Go-live")])
    answer = _write("Projects", [project], 201)[0]
    assert answer.get_code().get_value() == "SUCCESS"
    rid = str(answer.get_details()["id"])
    got = _ok(rec.RecordOperations("Projects").get_record(int(rid))).get_data()[0]
    assert got.get_key_value("Account").get_id() == int(account)
    read_rows = got.get_key_value("Milestones")
    assert [r.get_key_value("Milestone") for r in read_rows] == ["Kick-off", "Go-live"]
    assert {str(r.get_key_value("Parent_Id").get_id()) for r in read_rows} == {rid}
    # update: keep the first row by id (changed), add one, leave the second out (deleted)
    change = _record(id=int(rid), Milestones=[_record(id=read_rows[0].get_id(), Hours=12.5),
                                              _record(Milestone="Review")])
    answer = _write("Projects", [change], 200, update=True)[0]
    assert answer.get_code().get_value() == "SUCCESS"
    stored = server.get_record("Projects", rid)["Milestones"]
    assert [(r["Milestone"], r["Hours"]) for r in stored] == [("Kick-off", 12.5),
                                                              ("Review", None)]
    assert stored[0]["id"] == str(read_rows[0].get_id())


def test_lead_with_subform_rows(server: SandboxServer) -> None:
    flagged = set(server.flagged("Leads"))
    rid = next(i for i in server.ids("Leads")
               if i not in flagged and server.get_record("Leads", i)["Lead_Contacts"])
    stored = server.get_record("Leads", rid)["Lead_Contacts"]
    got = _ok(rec.RecordOperations("Leads").get_record(int(rid))).get_data()[0]
    rows = got.get_key_value("Lead_Contacts")
    assert [str(r.get_id()) for r in rows] == [r["id"] for r in stored]
    assert [r.get_key_value("Contact_Name") for r in rows] == [r["Contact_Name"]
                                                              for r in stored]
    assert {str(r.get_key_value("Parent_Id").get_id()) for r in rows} == {rid}
    # update: every row re-sent by id (kept), one added without an id
    change = _record(id=int(rid), Lead_Contacts=[
        *[_record(id=r.get_id()) for r in rows],
        _record(Contact_Name="SDK Contact", Primary=False)])
    answer = _write("Leads", [change], 200, update=True)[0]
    assert answer.get_code().get_value() == "SUCCESS"
    after = server.get_record("Leads", rid)["Lead_Contacts"]
    assert after[:-1] == stored
    assert (after[-1]["Contact_Name"], after[-1]["Parent_Id"]["id"]) == ("SDK Contact", rid)
    assert after[-1]["id"] not in {r["id"] for r in stored}


def test_quote_with_line_items(server: SandboxServer) -> None:
    products = server.ids("Products")[:2]
    items = []
    # the SDK types a line item's Discount as text (an amount, or a percentage) and its
    # product as a LineItemProduct (its json_details.json)
    for product, quantity, discount in zip(products, (2.0, 5.0), ("1.00", "10%"),
                                           strict=True):
        product_ref = rec.LineItemProduct()
        product_ref.set_id(int(product))
        items.append(_record(Product_Name=product_ref, Quantity=quantity, List_Price=10.0,
                             Discount=discount))
    answer = _write("Quotes", [_record(Subject="SDK quote", Quoted_Items=items)], 201)[0]
    rid = str(answer.get_details()["id"])
    got = _ok(rec.RecordOperations("Quotes").get_record(int(rid))).get_data()[0]
    lines = got.get_key_value("Quoted_Items")
    assert [line.get_key_value("Total") for line in lines] == [19.0, 45.0]
    assert [str(line.get_key_value("Product_Name").get_id()) for line in lines] == products
    assert got.get_key_value("Sub_Total") == 64.0
    # no line items: Zoho requires them in an inventory module
    refused = _write("Quotes", [_record(Subject="No lines")], 400)[0]
    assert refused.get_code().get_value() == "MANDATORY_NOT_FOUND"


def test_subform_module_fields() -> None:
    params = ParameterMap()
    params.add(GetFieldsParam.module, "Quoted_Items")
    fields = {f.get_api_name(): f for f in _ok(FieldsOperations().get_fields(params))
              .get_fields()}
    assert fields["Product_Name"].get_lookup().get_module().get_api_name() == "Products"
    assert fields["Total"].get_read_only() is True
