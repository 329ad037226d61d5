"""``POST /oauth/v2/token``: Zoho's accounts server, refresh-token grant only."""

from __future__ import annotations

from werkzeug.wrappers import Request, Response

from crmframe.sandbox.responses import json_response
from crmframe.sandbox.state import State, Version

__all__ = ["token"]


def token(sb: State, request: Request, version: Version) -> Response:
    """A new access token; errors answer HTTP 200 ``{"error": ...}`` like Zoho's."""
    form = {**request.args.to_dict(), **request.form.to_dict()}
    return json_response(sb.oauth.grant(form, request.host_url.rstrip("/")), 200)
