"""Bulk write: ``POST /crm/bulk/{ver}/write``, job details and the result zip."""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Request, Response

from crmframe.sandbox.envelopes import ApiError
from crmframe.sandbox.jobs import API_USER, BulkWriteJob, Mapping, read_csv
from crmframe.sandbox.params import (
    DUPLICATE_CHECK,
    bulk_module,
    callback_param,
    job_not_found,
    json_body,
)
from crmframe.sandbox.responses import json_response, zip_response
from crmframe.sandbox.schema import Module
from crmframe.sandbox.state import State, Version

__all__ = ["write_create", "write_job", "write_result"]

MAX_ROWS = 25_000
MAX_COLUMNS = 200


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


def write_create(sb: State, request: Request, version: Version) -> Response:
    """``POST /crm/bulk/{ver}/write``."""
    body = json_body(request)
    operation = body.get("operation")
    if operation not in ("insert", "update", "upsert"):
        raise ApiError(400, "INVALID_DATA", "invalid data",
                       {"api_name": "operation", "json_path": "$.operation"})
    callback = callback_param(body)
    resources = body.get("resource")
    if not isinstance(resources, list) or not resources or not isinstance(resources[0], dict):
        raise ApiError(400, "MANDATORY_NOT_FOUND", "required field not found",
                       {"api_name": "resource", "json_path": "$.resource"})
    resource: dict[str, Any] = resources[0]
    mod, as_object = bulk_module(sb, version, resource.get("module"), "$.resource[0].module")
    file_id = str(resource.get("file_id"))
    upload_ = sb.jobs.upload(file_id)
    if upload_ is None:
        raise _invalid_file_id()
    find_by = resource.get("find_by")
    if operation in ("update", "upsert") and not find_by:
        raise ApiError(400, "MANDATORY_NOT_FOUND", "required field not found",
                       {"api_name": "find_by", "json_path": "$.resource[0].find_by"})
    # Zoho allows id, the system duplicate-check fields (Email of Leads...) and fields
    # marked unique (zoho-api-part2.md §3.1).
    if find_by is not None and find_by != "id" and find_by not in mod.unique and (
            find_by not in DUPLICATE_CHECK.get(mod.api_name, ())):
        raise ApiError(400, "INVALID_DATA", "find_by must be id or a unique field",
                       {"api_name": "find_by", "json_path": "$.resource[0].find_by"})
    file_name, content = upload_
    try:
        header, rows = read_csv(content)
    except ValueError as exc:
        raise ApiError(400, "INVALID_FILE_FORMAT", str(exc)) from None
    del content  # the rows are what the job keeps while it runs
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
        module_as_object=as_object, base_url=request.host_url.rstrip("/"), file_id=file_id)
    if not sb.jobs.add_write(job, file_id):  # another job took the upload meanwhile
        raise _invalid_file_id()
    return json_response({"status": "success", "code": "SUCCESS", "message": "success",
                          "details": {"id": job.id, "created_by": dict(API_USER)}}, 201)


def write_job(sb: State, request: Request, version: Version, job_id: str) -> Response:
    """``GET /crm/bulk/{ver}/write/{job_id}``."""
    with sb.jobs.lock:
        job = sb.jobs.write_job(job_id)
        if job is None:
            raise job_not_found(version)
        body = job.details(sb.clock.now(), sb.jobs.delay, request.host_url.rstrip("/"))
    return json_response(body)


def write_result(sb: State, request: Request, version: Version, job_id: str) -> Response:
    """``GET /crm/bulk/{ver}/write/{job_id}/result``: the result zip once completed."""
    with sb.jobs.lock:
        job = sb.jobs.write_job(job_id)
    data = None if job is None else sb.jobs.write_result(job)
    if data is None:
        raise job_not_found(version)
    return zip_response(data, f"{job_id}.zip")


def _invalid_file_id() -> ApiError:
    return ApiError(400, "INVALID_FILE_ID", "the file id given seems to be invalid",
                    {"api_name": "file_id", "json_path": "$.resource[0].file_id"})
