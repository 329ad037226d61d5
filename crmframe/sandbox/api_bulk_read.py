"""Bulk read: ``POST /crm/bulk/{ver}/read``, job status and the CSV zip."""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Request, Response

from crmframe.sandbox.clock import format_datetime
from crmframe.sandbox.criteria import CriteriaError
from crmframe.sandbox.envelopes import ApiError
from crmframe.sandbox.jobs import API_USER, BulkReadJob, read_condition
from crmframe.sandbox.params import bulk_module, callback_param, job_not_found, json_body
from crmframe.sandbox.responses import json_response, zip_response
from crmframe.sandbox.schema import USER_OFFSET_MINUTES, USER_PARTS, Module
from crmframe.sandbox.state import State, Version

__all__ = ["read_create", "read_job", "read_result"]


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


def _exportable(sb: State, mod: Module, name: str) -> bool:
    """A field of ``mod``, or ``Lookup.Field`` naming a field of the lookup's module."""
    head, dot, tail = name.partition(".")
    if head not in mod.by_name or head in mod.subforms:  # rows are read from the subform
        return False
    if not dot:
        return True
    target = mod.lookups.get(head)
    if target is None:  # not a lookup (Layout and its name are served as stored)
        return tail in ("id", "name") and head == "Layout"
    if target == "users":
        return tail in USER_PARTS
    other = sb.modules.get(target)
    return other is not None and (tail == "id" or tail in other.by_name)


def read_create(sb: State, request: Request, version: Version) -> Response:
    """``POST /crm/bulk/{ver}/read``."""
    body = json_body(request)
    query = body.get("query")
    if not isinstance(query, dict):
        raise ApiError(400, "MANDATORY_NOT_FOUND", "required field not found",
                       {"api_name": "query", "json_path": "$.query"})
    mod, as_object = bulk_module(sb, version, query.get("module"), "$.query.module")
    file_type = body.get("file_type", "csv")
    if file_type != "csv":
        raise ApiError(400, "INVALID_DATA", "invalid data",
                       {"api_name": "file_type", "json_path": "$.file_type"})
    fields = query.get("fields")
    if fields is None:
        fields = [n for n in mod.names if n != "id" and n not in mod.subforms]
    if not isinstance(fields, list) or not all(isinstance(f, str) for f in fields):
        raise ApiError(400, "INVALID_DATA", "invalid data",
                       {"expected_data_type": "jsonarray", "api_name": "fields",
                        "json_path": "$.query.fields"})
    for name in fields:
        if name != "id" and not _exportable(sb, mod, name):
            raise ApiError(400, "INVALID_DATA", "invalid data",
                           {"api_name": name, "json_path": "$.query.fields"})
    cvid = query.get("cvid")
    if cvid is not None and mod.view(str(cvid)) is None:
        raise ApiError(400, "INVALID_DATA", "invalid data",
                       {"api_name": "cvid", "json_path": "$.query.cvid"})
    try:
        cond = read_condition(mod, query.get("criteria"), None if cvid is None else str(cvid))
    except CriteriaError as exc:
        raise ApiError(400, "INVALID_DATA", "invalid data",
                       {"api_name": exc.api_name or "criteria",
                        "json_path": "$.query.criteria"}) from None
    page = query.get("page", 1)
    if not isinstance(page, int) or page < 1:
        raise ApiError(400, "INVALID_DATA", "invalid data",
                       {"api_name": "page", "json_path": "$.query.page"})
    records = sb.store.records(mod.api_name)
    expected = len([r for r in records if cond is None or cond(r.values)])
    echo: dict[str, Any] = {
        "module": {"id": mod.id, "api_name": mod.api_name} if as_object else mod.api_name,
        "page": page,
    }
    for key in ("fields", "criteria", "cvid"):
        if query.get(key) is not None:
            echo[key] = _echo_criteria(mod, query[key]) if key == "criteria" else query[key]
    callback = callback_param(body)
    job = BulkReadJob(sb.jobs.new_id(), version.name, mod, list(fields), cond, echo, page,
                      sb.clock.now(), expected, callback=callback,
                      criteria=query.get("criteria"), cvid=None if cvid is None else str(cvid))
    sb.jobs.add_read(job)
    return json_response({"data": [{
        "status": "success", "code": "ADDED_SUCCESSFULLY", "message": "Added successfully.",
        "details": {"id": job.id, "operation": "read", "state": "ADDED",
                    "created_by": dict(API_USER),
                    "created_time": format_datetime(job.created, USER_OFFSET_MINUTES)},
    }], "info": {}}, 201)


def read_job(sb: State, request: Request, version: Version, job_id: str) -> Response:
    """``GET /crm/bulk/{ver}/read/{job_id}``."""
    with sb.jobs.lock:
        job = sb.jobs.read_job(job_id)
        if job is None:
            raise job_not_found(version)
        state = job.state(sb.clock.now(), sb.jobs.delay, sb.jobs.speed)
        if state == "COMPLETED" and not job.done:
            sb.jobs.complete_read(job)
        item = job.item(state)
    return json_response({"data": [item]})


def read_result(sb: State, request: Request, version: Version, job_id: str) -> Response:
    """``GET /crm/bulk/{ver}/read/{job_id}/result``: the CSV zip once completed."""
    with sb.jobs.lock:
        job = sb.jobs.read_job(job_id)
    data = None if job is None else sb.jobs.read_result(job)
    if data is None:
        raise job_not_found(version)
    return zip_response(data, f"{job_id}.zip", "application/x-download")
