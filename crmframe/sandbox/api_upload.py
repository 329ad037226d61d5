"""``POST /crm/{ver}/upload``: the zip a bulk-write job reads."""

from __future__ import annotations

import io
import zipfile

from werkzeug.wrappers import Request, Response

from crmframe.sandbox.clock import format_datetime
from crmframe.sandbox.envelopes import ApiError
from crmframe.sandbox.responses import json_response
from crmframe.sandbox.schema import ORG, USER_OFFSET_MINUTES
from crmframe.sandbox.state import State, Version

__all__ = ["MAX_PENDING_UPLOADS", "MAX_UPLOAD", "upload"]

MAX_UPLOAD = 25 * 1024 * 1024
#: Uploads kept waiting for a job (on disk); a job frees its upload when it finishes.
MAX_PENDING_UPLOADS = 20


def _too_large() -> ApiError:
    return ApiError(413, "FILE_TOO_LARGE", "The file size exceeds the limit of 25 MB.")


def upload(sb: State, request: Request, version: Version) -> Response:
    """``POST /crm/{ver}/upload``: a zip holding one CSV, for bulk write."""
    if (request.headers.get("feature") or "").lower() != "bulk-write":
        raise ApiError(400, "MANDATORY_NOT_FOUND", "required header not found",
                       {"header_name": "feature"})
    if request.headers.get("X-CRM-ORG") != ORG["zgid"]:
        raise ApiError(400, "INVALID_DATA", "invalid data", {"header_name": "X-CRM-ORG"})
    if request.content_length is not None and request.content_length > MAX_UPLOAD + 65536:
        raise _too_large()
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
            # Zoho's 25 MB applies to the CSV too: a few MB of zip can hold gigabytes
            if zf.getinfo(csvs[0]).file_size > MAX_UPLOAD:
                raise _too_large()
            with zf.open(csvs[0]) as member:
                content = member.read(MAX_UPLOAD + 1)  # the header may lie about the size
            if len(content) > MAX_UPLOAD:
                raise _too_large()
    except (zipfile.BadZipFile, OSError):
        raise ApiError(400, "INVALID_FILE_FORMAT",
                       "The file you uploaded is not in the zip format.") from None
    # on disk until a job takes it; an upload no job ever used must not stay forever
    file_id = sb.jobs.add_upload(csvs[0].rsplit("/", 1)[-1], content, keep=MAX_PENDING_UPLOADS)
    return json_response({
        "status": "success", "code": "FILE_UPLOAD_SUCCESS", "message": "file uploaded.",
        "details": {"file_id": file_id,
                    "created_time": format_datetime(sb.clock.now(), USER_OFFSET_MINUTES)},
    })
