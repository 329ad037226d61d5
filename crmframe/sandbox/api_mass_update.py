"""Mass update: ``POST /{module}/actions/mass_update`` by ids (at once) or by custom view
(a job), and ``GET`` of a job's status."""

from __future__ import annotations

from typing import Any

from werkzeug.wrappers import Request, Response

from crmframe.sandbox.envelopes import ApiError
from crmframe.sandbox.jobs import MassUpdateJob
from crmframe.sandbox.params import json_body, path_module, view_cond
from crmframe.sandbox.responses import json_response
from crmframe.sandbox.state import State, Version
from crmframe.sandbox.validation import Problem, check_value
from crmframe.sandbox.writes import write_status

__all__ = ["mass_status", "mass_update"]

MAX_MASS_IDS = 500
MAX_MASS_CVID = 50_000


def _mass_error(version: Version, code: str, message: str,
                details: dict[str, Any] | None = None) -> ApiError:
    # v2 answers these inside data[] with HTTP 200 (seed 004), v8 with 400.
    return ApiError(400 if version.modern else 200, code, message, details, wrap=True)


def mass_update(sb: State, request: Request, version: Version, module: str) -> Response:
    """``POST|GET /crm/{ver}/{module}/actions/mass_update``."""
    mod = path_module(sb, version, module)
    body = json_body(request)
    data = body.get("data")
    if not isinstance(data, list) or not data or not isinstance(data[0], dict) or not data[0]:
        raise _mass_error(version, "INVALID_DATA", "No field found")
    changes_in: dict[str, Any] = data[0]
    if len(changes_in) > mod.max_mass_fields:
        raise _mass_error(version, "INVALID_DATA", "Max field limit exceeded",
                          {"limit": mod.max_mass_fields})
    changes: dict[str, Any] = {}
    for name, value in changes_in.items():
        if name not in mod.mass:
            raise _mass_error(version, "INVALID_DATA",
                              "This field cannot be updated in the Mass Update",
                              {"api_name": name})
        checked = check_value(mod, name, value, "$.data[0]." + name if version.modern else None,
                              sb.writer.resolve)
        if isinstance(checked, Problem):
            raise ApiError(400 if version.modern else 200, checked.code, checked.message,
                           checked.details, wrap=True)
        changes[name] = checked
    over_write = bool(body.get("over_write", False))
    ids = body.get("ids")
    cvid = body.get("cvid")
    if ids is None and cvid is None:
        raise _mass_error(version, "MANDATORY_NOT_FOUND", "required field not found")
    if ids is not None:
        if not isinstance(ids, list) or not ids:
            raise _mass_error(version, "INVALID_DATA", "invalid data",
                              {"expected_data_type": "jsonarray", "api_name": "ids"})
        if len(ids) > MAX_MASS_IDS:
            raise _mass_error(version, "LIMIT_EXCEEDED", "Record count exceeded",
                              {"limit": MAX_MASS_IDS, "api_name": "ids"})
        results = sb.writer.mass_apply(mod.api_name, ids, changes, over_write=over_write,
                                       modern=version.modern)
        return json_response({"data": results},
                             write_status(results, modern=version.modern, mass=True))
    view_def = mod.view(str(cvid))
    if view_def is None:
        raise _mass_error(version, "INVALID_DATA", "invalid data", {"api_name": "cvid"})
    if sb.jobs.running_on(mod.api_name, view_def.id):
        raise ApiError(202, "ALREADY_SCHEDULED",
                       "Already a Mass Action scheduler is running for the given cvid",
                       {"cvid": view_def.id}, wrap=True)
    view = sb.views.get(mod.api_name, "id", filter_key=view_def.id,
                        cond=view_cond(mod, view_def.criteria))
    if len(view.records) > MAX_MASS_CVID:
        raise _mass_error(version, "LIMIT_EXCEEDED", "Record count exceeded",
                          {"limit": MAX_MASS_CVID})
    job = MassUpdateJob(sb.jobs.new_id(), mod.api_name, view_def.id,
                        [r.id for r in view.records], changes, over_write, sb.clock.now())
    sb.jobs.add_mass(job)
    return json_response({"data": [{
        "code": "SUCCESS", "details": {"job_id": job.id},
        "message": "mass update scheduled successfully", "status": "success"}]}, 202)


def mass_status(sb: State, request: Request, version: Version, module: str) -> Response:
    """``GET /crm/{ver}/{module}/actions/mass_update?job_id=``."""
    mod = path_module(sb, version, module)
    job_id = request.args.get("job_id")
    if not job_id:
        raise ApiError(400, "MANDATORY_NOT_FOUND", "mandatory param missing",
                       {"param_name": "job_id"})
    if not job_id.isdigit():
        raise ApiError(400, "INVALID_DATA", "The jobid given seems to be invalid",
                       {"param_name": "job_id"})
    with sb.jobs.lock:
        job = sb.jobs.mass_job(job_id)
        if job is None or job.module != mod.api_name:
            raise ApiError(404, "NOT_FOUND", "Empty response")
        item = job.status(sb.clock.now(), sb.jobs.delay)
    return json_response({"data": [item]})
