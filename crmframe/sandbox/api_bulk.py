"""Bulk endpoints: file upload, bulk-write jobs, bulk-read jobs and their result zips."""

from __future__ import annotations

import csv
import io
import zipfile
from typing import TYPE_CHECKING, Any

from werkzeug.wrappers import Request, Response

from crmframe.sandbox.api_meta import find_module
from crmframe.sandbox.api_records import _DUPLICATE_CHECK, _body, _view_cond
from crmframe.sandbox.clock import format_datetime
from crmframe.sandbox.criteria import Cond, CriteriaError, all_of, any_of, condition
from crmframe.sandbox.envelopes import ApiError
from crmframe.sandbox.jobs import API_USER, BulkReadJob, BulkWriteJob, Mapping
from crmframe.sandbox.responses import json_response, zip_response
from crmframe.sandbox.schema import ORG, USER_OFFSET_MINUTES, Module

if TYPE_CHECKING:
    from crmframe.sandbox.app import Sandbox, Version

__all__ = ["read_create", "read_job", "read_result", "upload", "write_create", "write_job",
           "write_result"]

MAX_UPLOAD = 25 * 1024 * 1024
MAX_ROWS = 25_000
MAX_COLUMNS = 200


def _not_found(version: Version) -> ApiError:
    # v2's sample (seed 000) answers 400; the v7 docs list 404.
    return ApiError(404 if version.modern else 400, "RESOURCE_NOT_FOUND",
                    "The requested resource doesn't exist.")


def _module_spec(sb: Sandbox, version: Version, spec: Any, path: str) -> tuple[Module, bool]:
    """The module of a bulk request: a string on v2, ``{"api_name"}`` on v2.1 and later.

    v2.1 takes both; returns the module and whether to echo it as an object.
    """
    if isinstance(spec, str):
        if version.modern:
            raise ApiError(400, "INVALID_DATA", "invalid data",
                           {"expected_data_type": "jsonobject", "api_name": "module",
                            "json_path": path})
        name, as_object = spec, False
    elif isinstance(spec, dict) and isinstance(spec.get("api_name"), str):
        if version.name == "v2":
            raise ApiError(400, "INVALID_DATA", "invalid data",
                           {"expected_data_type": "string", "api_name": "module"})
        name, as_object = str(spec["api_name"]), True
    else:
        raise ApiError(400, "MANDATORY_NOT_FOUND", "required field not found",
                       {"api_name": "module", "json_path": path})
    mod = find_module(sb, name)
    if mod is None:
        raise ApiError(400, "MODULE_NOT_AVAILABLE", "the module is not available for bulk",
                       {"api_name": "module", "json_path": path})
    return mod, as_object


# ---------------------------------------------------------------------- upload
def upload(sb: Sandbox, request: Request, version: Version) -> Response:
    """``POST /crm/{ver}/upload``: a zip holding one CSV, for bulk write."""
    if (request.headers.get("feature") or "").lower() != "bulk-write":
        raise ApiError(400, "MANDATORY_NOT_FOUND", "required header not found",
                       {"header_name": "feature"})
    if request.headers.get("X-CRM-ORG") != ORG["zgid"]:
        raise ApiError(400, "INVALID_DATA", "invalid data", {"header_name": "X-CRM-ORG"})
    if request.content_length is not None and request.content_length > MAX_UPLOAD + 65536:
        raise ApiError(413, "FILE_TOO_LARGE", "The file size exceeds the limit of 25 MB.")
    storage = request.files.get("file")
    if storage is None:
        raise ApiError(400, "MANDATORY_NOT_FOUND", "required field not found",
                       {"param_name": "file"})
    data = storage.read()
    storage.close()
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            names = [n for n in zf.namelist() if not n.endswith("/")]
            csvs = [n for n in names if n.lower().endswith(".csv")]
            if len(csvs) != 1:
                raise zipfile.BadZipFile("expected one CSV")
            content = zf.read(csvs[0])
    except (zipfile.BadZipFile, OSError):
        raise ApiError(400, "INVALID_FILE_FORMAT",
                       "The file you uploaded is not in the zip format.") from None
    file_id = sb.jobs.new_id()
    sb.uploads[file_id] = (csvs[0].rsplit("/", 1)[-1], content)
    return json_response({
        "status": "success", "code": "FILE_UPLOAD_SUCCESS", "message": "file uploaded.",
        "details": {"file_id": file_id,
                    "created_time": format_datetime(sb.clock.now(), USER_OFFSET_MINUTES)},
    })


def _read_csv(content: bytes) -> tuple[list[str], list[list[str]]]:
    text = content.decode("utf-8-sig")
    first = text.split("\n", 1)[0]
    delimiter = max(",;:|", key=first.count)
    rows = list(csv.reader(io.StringIO(text), delimiter=delimiter))
    rows = [r for r in rows if r]
    if not rows:
        raise ApiError(400, "INVALID_FILE_FORMAT", "The CSV file is empty.")
    return rows[0], rows[1:]


# ---------------------------------------------------------------------- bulk write
def _mappings(mod: Module, resource: dict[str, Any], header: list[str],
              operation: str, find_by: str | None) -> list[Mapping]:
    raw = resource.get("field_mappings")
    out: list[Mapping] = []
    if raw is None:
        for i, col in enumerate(header):
            name, _, sub = col.partition(".")
            out.append(Mapping(name, i, None, "id" if sub == "id" else None, None, col))
    elif isinstance(raw, list):
        for j, m in enumerate(raw):
            if not isinstance(m, dict) or not isinstance(m.get("api_name"), str):
                raise ApiError(400, "INVALID_DATA", "invalid data",
                               {"api_name": "field_mappings",
                                "json_path": f"$.resource[0].field_mappings[{j}]"})
            index = m.get("index")
            default = m.get("default_value")
            if (index is None and default is None) or (
                    index is not None and (not isinstance(index, int) or index < 0
                                           or index >= len(header))):
                raise ApiError(400, "INVALID_DATA", "invalid data",
                               {"api_name": "index",
                                "json_path": f"$.resource[0].field_mappings[{j}].index"})
            idx = int(index) if index is not None else len(header) + j
            out.append(Mapping(m["api_name"], idx, m.get("format"), m.get("find_by"), default,
                               header[idx] if idx < len(header) else m["api_name"]))
    else:
        raise ApiError(400, "INVALID_DATA", "invalid data",
                       {"expected_data_type": "jsonarray", "api_name": "field_mappings"})
    if len(out) > MAX_COLUMNS:
        raise ApiError(400, "HEADER_LIMIT_EXCEEDED", "more than 200 fields mapped",
                       {"limit": MAX_COLUMNS})
    for m in out:
        if m.api_name == "id" and find_by == "id":
            continue
        if m.api_name not in mod.by_name or m.api_name in mod.read_only:
            raise ApiError(400, "INVALID_FIELD", "the field is not available for bulk write",
                           {"api_name": m.api_name})
    if operation in ("insert", "upsert"):
        mapped = {m.api_name for m in out}
        for name in mod.mandatory:
            if name not in mapped:
                raise ApiError(400, "MANDATORY_FIELDS_NOT_MAPPED",
                               "mandatory fields are not mapped", {"api_name": name})
    return out


def write_create(sb: Sandbox, request: Request, version: Version) -> Response:
    """``POST /crm/bulk/{ver}/write``."""
    body = _body(request)
    operation = body.get("operation")
    if operation not in ("insert", "update", "upsert"):
        raise ApiError(400, "INVALID_DATA", "invalid data",
                       {"api_name": "operation", "json_path": "$.operation"})
    callback = body.get("callback")
    if callback is not None and (not isinstance(callback, dict)
                                 or not str(callback.get("url", "")).startswith(("http://",
                                                                                 "https://"))):
        raise ApiError(400, "INVALID_CALLBACK_URL", "Invalid callback URL provided")
    resources = body.get("resource")
    if not isinstance(resources, list) or not resources or not isinstance(resources[0], dict):
        raise ApiError(400, "MANDATORY_NOT_FOUND", "required field not found",
                       {"api_name": "resource", "json_path": "$.resource"})
    resource: dict[str, Any] = resources[0]
    mod, as_object = _module_spec(sb, version, resource.get("module"), "$.resource[0].module")
    file_id = resource.get("file_id")
    upload_ = sb.uploads.get(str(file_id))
    if upload_ is None:
        raise ApiError(400, "INVALID_FILE_ID", "the file id given seems to be invalid",
                       {"api_name": "file_id", "json_path": "$.resource[0].file_id"})
    find_by = resource.get("find_by")
    if operation in ("update", "upsert") and not find_by:
        raise ApiError(400, "MANDATORY_NOT_FOUND", "required field not found",
                       {"api_name": "find_by", "json_path": "$.resource[0].find_by"})
    # Zoho allows id, the system duplicate-check fields (Email of Leads...) and fields
    # marked unique (zoho-api-part2.md §3.1).
    if find_by is not None and find_by != "id" and find_by not in mod.unique and (
            find_by not in _DUPLICATE_CHECK.get(mod.api_name, ())):
        raise ApiError(400, "INVALID_DATA", "find_by must be id or a unique field",
                       {"api_name": "find_by", "json_path": "$.resource[0].find_by"})
    file_name, content = upload_
    header, rows = _read_csv(content)
    if len(rows) > MAX_ROWS:
        raise ApiError(400, "LIMIT_EXCEEDED", "a CSV holds at most 25000 rows",
                       {"limit": MAX_ROWS})
    mappings = _mappings(mod, resource, header, str(operation), find_by)
    names = [m.api_name for m in mappings]
    if find_by == "id" and "id" not in names:
        raise ApiError(400, "MANDATORY_NOT_FOUND", "required field not found",
                       {"api_name": "id", "json_path": "$.resource[0].field_mappings"})
    job = BulkWriteJob(
        id=sb.jobs.new_id(), version=version.name, module=mod, operation=str(operation),
        find_by=find_by, mappings=mappings, header=header, rows=rows, file_name=file_name,
        created=sb.clock.now(), ignore_empty=bool(body.get("ignore_empty", False)),
        callback=callback, character_encoding=str(body.get("character_encoding") or "UTF-8"),
        module_as_object=as_object, base_url=request.host_url.rstrip("/"))
    sb.jobs.add_write(job)
    return json_response({"status": "success", "code": "SUCCESS", "message": "success",
                          "details": {"id": job.id, "created_by": dict(API_USER)}}, 201)


def write_job(sb: Sandbox, request: Request, version: Version, job_id: str) -> Response:
    """``GET /crm/bulk/{ver}/write/{job_id}``."""
    with sb.jobs.lock:
        job = sb.jobs.writes.get(job_id)
        if job is None:
            raise _not_found(version)
        body = job.details(sb.clock.now(), sb.jobs.delay, request.host_url.rstrip("/"))
    return json_response(body)


def write_result(sb: Sandbox, request: Request, version: Version, job_id: str) -> Response:
    """``GET /crm/bulk/{ver}/write/{job_id}/result``: the result zip once completed."""
    with sb.jobs.lock:
        job = sb.jobs.writes.get(job_id)
        if job is None or job.processed < job.total:
            raise _not_found(version)
        data = job.result_zip()
    return zip_response(data, f"{job_id}.zip")


# ---------------------------------------------------------------------- bulk read
def _read_criteria(mod: Module, spec: Any) -> Cond:
    if not isinstance(spec, dict):
        raise CriteriaError("criteria must be an object")
    if "group" in spec:
        group = spec.get("group")
        if not isinstance(group, list) or not group:
            raise CriteriaError("group must be a non-empty array")
        parts = [_read_criteria(mod, g) for g in group]
        op = str(spec.get("group_operator", "and")).lower()
        if op not in ("and", "or"):
            raise CriteriaError("group_operator must be and/or")
        return all_of(parts) if op == "and" else any_of(parts)
    field = spec.get("field")
    name = field.get("api_name") if isinstance(field, dict) else spec.get("api_name")
    if not isinstance(name, str):
        raise CriteriaError("criteria needs field.api_name")
    return condition(mod, name, str(spec.get("comparator", "equal")), spec.get("value"))


def _echo_criteria(mod: Module, spec: Any) -> Any:
    """Criteria as the job status echoes them: each field with its id (v7 sample)."""
    if isinstance(spec, dict) and isinstance(spec.get("group"), list):
        return {"group": [_echo_criteria(mod, g) for g in spec["group"]],
                "group_operator": spec.get("group_operator", "and")}
    if isinstance(spec, dict):
        field = spec.get("field")
        name = field.get("api_name") if isinstance(field, dict) else None
        meta = mod.by_name.get(str(name))
        return {"field": {"id": meta["id"] if meta else None, "api_name": name},
                "comparator": spec.get("comparator"), "value": spec.get("value")}
    return spec


def read_create(sb: Sandbox, request: Request, version: Version) -> Response:
    """``POST /crm/bulk/{ver}/read``."""
    body = _body(request)
    query = body.get("query")
    if not isinstance(query, dict):
        raise ApiError(400, "MANDATORY_NOT_FOUND", "required field not found",
                       {"api_name": "query", "json_path": "$.query"})
    mod, as_object = _module_spec(sb, version, query.get("module"), "$.query.module")
    file_type = body.get("file_type", "csv")
    if file_type != "csv":
        raise ApiError(400, "INVALID_DATA", "invalid data",
                       {"api_name": "file_type", "json_path": "$.file_type"})
    fields = query.get("fields")
    if fields is None:
        fields = [n for n in mod.names if n != "id"]
    if not isinstance(fields, list) or not all(isinstance(f, str) for f in fields):
        raise ApiError(400, "INVALID_DATA", "invalid data",
                       {"expected_data_type": "jsonarray", "api_name": "fields",
                        "json_path": "$.query.fields"})
    for name in fields:
        head = name.partition(".")[0]
        if head != "id" and head not in mod.by_name:
            raise ApiError(400, "INVALID_DATA", "invalid data",
                           {"api_name": name, "json_path": "$.query.fields"})
    conds: list[Cond] = []
    try:
        if query.get("criteria") is not None:
            conds.append(_read_criteria(mod, query["criteria"]))
    except CriteriaError as exc:
        raise ApiError(400, "INVALID_DATA", "invalid data",
                       {"api_name": exc.api_name or "criteria",
                        "json_path": "$.query.criteria"}) from None
    cvid = query.get("cvid")
    if cvid is not None:
        view_def = mod.view(str(cvid))
        if view_def is None:
            raise ApiError(400, "INVALID_DATA", "invalid data",
                           {"api_name": "cvid", "json_path": "$.query.cvid"})
        vc = _view_cond(mod, view_def.criteria)
        if vc is not None:
            conds.append(vc)
    page = query.get("page", 1)
    if not isinstance(page, int) or page < 1:
        raise ApiError(400, "INVALID_DATA", "invalid data",
                       {"api_name": "page", "json_path": "$.query.page"})
    cond = all_of(conds) if conds else None
    records = sb.store.records(mod.api_name)
    expected = len([r for r in records if cond is None or cond(r.values)])
    echo: dict[str, Any] = {
        "module": {"id": mod.id, "api_name": mod.api_name} if as_object else mod.api_name,
        "page": page,
    }
    for key in ("fields", "criteria", "cvid"):
        if query.get(key) is not None:
            echo[key] = _echo_criteria(mod, query[key]) if key == "criteria" else query[key]
    callback = body.get("callback")
    if callback is not None and (not isinstance(callback, dict)
                                 or not str(callback.get("url", "")).startswith(("http://",
                                                                                 "https://"))):
        raise ApiError(400, "INVALID_CALLBACK_URL", "Invalid callback URL provided")
    job = BulkReadJob(sb.jobs.new_id(), version.name, mod, list(fields), cond, echo, page,
                      sb.clock.now(), expected, callback=callback)
    sb.jobs.add_read(job)
    return json_response({"data": [{
        "status": "success", "code": "ADDED_SUCCESSFULLY", "message": "Added successfully.",
        "details": {"id": job.id, "operation": "read", "state": "ADDED",
                    "created_by": dict(API_USER),
                    "created_time": format_datetime(job.created, USER_OFFSET_MINUTES)},
    }], "info": {}}, 201)


def read_job(sb: Sandbox, request: Request, version: Version, job_id: str) -> Response:
    """``GET /crm/bulk/{ver}/read/{job_id}``."""
    with sb.jobs.lock:
        job = sb.jobs.reads.get(job_id)
        if job is None:
            raise _not_found(version)
        state = job.state(sb.clock.now(), sb.jobs.delay, sb.jobs.speed)
        if state == "COMPLETED" and job.result is None:
            sb.jobs.complete_read(job)
        item = job.item(state)
    return json_response({"data": [item]})


def read_result(sb: Sandbox, request: Request, version: Version, job_id: str) -> Response:
    """``GET /crm/bulk/{ver}/read/{job_id}/result``: the CSV zip once completed."""
    with sb.jobs.lock:
        job = sb.jobs.reads.get(job_id)
        if job is None or job.result is None:
            raise _not_found(version)
        data = job.result
    return zip_response(data, f"{job_id}.zip")
