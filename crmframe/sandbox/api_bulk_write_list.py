"""EMULATED, UNCONFIRMED: ``GET /crm/bulk/{ver}/write``, a list of bulk-write jobs.

Zoho documents no way to list bulk-write jobs, nor to find one by the ``file_id`` it was
made from. crmframe uses such a listing when a server offers one, to find a job whose
creation went unanswered (:mod:`crmframe.facade.write.orphans`) instead of reading its
records back until they stop moving. The sandbox offers it only when started with
``job_listing=True``; otherwise the path answers as Zoho's does to any unsupported method
(400 ``INVALID_REQUEST_METHOD``), so crmframe's fallback is what runs by default.

Each item is the job's details (as ``GET /write/{id}`` answers them) with the uploaded
``file_id`` added to ``resource[0]``; newest first.
"""

from __future__ import annotations

from werkzeug.wrappers import Request, Response

from crmframe.sandbox.envelopes import ApiError
from crmframe.sandbox.responses import json_response
from crmframe.sandbox.state import State, Version

__all__ = ["write_list"]


def write_list(sb: State, request: Request, version: Version) -> Response:
    """``GET /crm/bulk/{ver}/write`` (emulated; see the module docstring)."""
    if not sb.job_listing:
        raise ApiError(400, "INVALID_REQUEST_METHOD",
                       "The http request method type is not a valid one")
    base = request.host_url.rstrip("/")
    data = []
    with sb.jobs.lock:
        jobs = sorted(sb.jobs.writes.values(), key=lambda j: j.created, reverse=True)
        for job in jobs:
            details = job.details(sb.clock.now(), sb.jobs.delay, base)
            for resource in details.get("resource") or []:
                resource["file_id"] = job.file_id
            data.append(details)
    return json_response({"data": data, "info": {"count": len(data), "emulated": True}})
