"""The WSGI application: routing, authentication, faults, request log, dispatch.

Order of checks for each request: concurrency limit (429) → route (404
``INVALID_URL_PATTERN`` / 400 ``INVALID_REQUEST_METHOD``) → version → token (401) → job
advancement → injected rate limit (429) → credits (429) → injected failure (500) or
dropped connection → latency → handler. Faults are decided before the handler runs, so
they never half-apply a write.
"""

from __future__ import annotations

import contextlib
import logging
import re
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from crmframe.sandbox import api_bulk, api_deleted, api_meta, api_records
from crmframe.sandbox.clock import Clock, format_datetime
from crmframe.sandbox.envelopes import ApiError, error_body
from crmframe.sandbox.faults import Faults, credit_cost
from crmframe.sandbox.handler import DROP_KEY
from crmframe.sandbox.jobs import Jobs
from crmframe.sandbox.listing import TokenBook, Views
from crmframe.sandbox.oauth import OAuth
from crmframe.sandbox.responses import json_response
from crmframe.sandbox.schema import USER_OFFSET_MINUTES, Module
from crmframe.sandbox.store import Store
from crmframe.sandbox.writes import Writer

__all__ = ["VERSIONS", "Sandbox", "Version"]

log = logging.getLogger("crmframe.sandbox")


@dataclass(frozen=True)
class Version:
    """An API version: ``name`` as in the URL; ``modern`` for v3 and later."""

    name: str
    modern: bool

    @property
    def max_coql_rows(self) -> int:
        """Rows per COQL call."""
        return 2000 if self.modern else 200


VERSIONS: dict[str, Version] = {
    "v2": Version("v2", False),
    "v2.1": Version("v2.1", False),
    **{f"v{n}": Version(f"v{n}", True) for n in range(3, 9)},
}

Handler = Callable[..., Response]

_RULES: list[tuple[str, str, list[str]]] = [
    ("/oauth/v2/token", "token", ["POST"]),
    ("/crm/<ver>/org", "org", ["GET"]),
    ("/crm/<ver>/users", "users", ["GET"]),
    ("/crm/<ver>/settings/modules", "modules", ["GET"]),
    ("/crm/<ver>/settings/fields", "fields", ["GET"]),
    ("/crm/<ver>/settings/custom_views", "custom_views", ["GET"]),
    ("/crm/<ver>/settings/custom_views/<cvid>", "custom_view", ["GET"]),
    ("/crm/<ver>/coql", "coql", ["POST"]),
    ("/crm/<ver>/upload", "upload", ["POST"]),
    ("/crm/<ver>/<module>", "records", ["GET", "POST", "PUT", "DELETE"]),
    ("/crm/<ver>/<module>/upsert", "upsert", ["POST"]),
    ("/crm/<ver>/<module>/search", "search", ["GET"]),
    ("/crm/<ver>/<module>/deleted", "deleted", ["GET"]),
    ("/crm/<ver>/<module>/actions/count", "count", ["GET"]),
    ("/crm/<ver>/<module>/actions/mass_update", "mass_update", ["GET", "POST"]),
    ("/crm/<ver>/<module>/<rid>", "record", ["GET", "PUT", "DELETE"]),
    ("/crm/bulk/<ver>/write", "bulk_write_create", ["POST"]),
    ("/crm/bulk/<ver>/write/<job_id>", "bulk_write_job", ["GET"]),
    ("/crm/bulk/<ver>/write/<job_id>/result", "bulk_write_result", ["GET"]),
    ("/crm/bulk/<ver>/read", "bulk_read_create", ["POST"]),
    ("/crm/bulk/<ver>/read/<job_id>", "bulk_read_job", ["GET"]),
    ("/crm/bulk/<ver>/read/<job_id>/result", "bulk_read_result", ["GET"]),
]

HANDLERS: dict[str, Handler] = {
    "org": api_meta.org,
    "users": api_meta.users,
    "modules": api_meta.modules,
    "fields": api_meta.fields,
    "custom_views": api_meta.custom_views,
    "custom_view": api_meta.custom_view,
    "coql": api_records.coql,
    "records": api_records.records,
    "record": api_records.record,
    "upsert": api_records.upsert,
    "search": api_records.search,
    "deleted": api_deleted.deleted,
    "count": api_records.count,
    "mass_update": api_records.mass_update,
    "upload": api_bulk.upload,
    "bulk_write_create": api_bulk.write_create,
    "bulk_write_job": api_bulk.write_job,
    "bulk_write_result": api_bulk.write_result,
    "bulk_read_create": api_bulk.read_create,
    "bulk_read_job": api_bulk.read_job,
    "bulk_read_result": api_bulk.read_result,
}

_LIMIT_RE = re.compile(r"\blimit\s+(\d+)(?:\s*,\s*(\d+))?", re.IGNORECASE)


class _Dropped(Response):
    """Marker: the connection was shut without an answer."""


class Sandbox:
    """All state of one sandbox server, and its WSGI entry point."""

    def __init__(
        self,
        *,
        modules: dict[str, Module],
        store: Store,
        clock: Clock,
        oauth: OAuth,
        faults: Faults,
        job_speed: float,
        job_delay: float,
        page_token_ttl: float,
        request_log_size: int = 100_000,
    ) -> None:
        self.modules = modules
        self.store = store
        self.clock = clock
        self.oauth = oauth
        self.faults = faults
        self.views = Views(store)
        self.tokens = TokenBook()
        self.page_token_ttl = page_token_ttl
        self.writer = Writer(store, modules, clock)
        self.jobs = Jobs(store, self.writer, clock, speed=job_speed, delay=job_delay)
        self.uploads: dict[str, tuple[str, bytes]] = {}
        self.url_map = Map([Rule(path, endpoint=ep, methods=m) for path, ep, m in _RULES],
                           strict_slashes=False, merge_slashes=False)
        # bounded: a server left running must not keep one entry per call forever
        self._log: deque[tuple[str, str, int]] = deque(maxlen=request_log_size)
        self._log_lock = threading.Lock()

    # ------------------------------------------------------------------ request log
    def requests(self) -> list[tuple[str, str, int]]:
        """``(method, path, status)`` of the latest requests, oldest first (0 = dropped)."""
        with self._log_lock:
            return list(self._log)

    def clear_requests(self) -> None:
        """Forget the request log."""
        with self._log_lock:
            self._log.clear()

    def _record(self, method: str, path: str, status: int) -> None:
        with self._log_lock:
            self._log.append((method, path, status))

    # ------------------------------------------------------------------ WSGI
    def __call__(self, environ: dict[str, Any],
                 start_response: Callable[..., Any]) -> Iterable[bytes]:
        request = Request(environ)
        if not self.faults.enter():
            response = self._too_many("concurrency")
        else:
            try:
                response = self.handle(request)
            finally:
                self.faults.leave()
        # Logged before the answer leaves, so a client never sees an unlogged answer.
        dropped = isinstance(response, _Dropped)
        self._record(request.method, request.path, 0 if dropped else response.status_code)
        if dropped:
            environ[DROP_KEY] = True  # KeepAliveHandler then writes nothing and closes
            sock = environ.get("werkzeug.socket")
            if sock is not None:
                with contextlib.suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
        return response(environ, start_response)

    def _too_many(self, why: str) -> Response:
        message = {
            "concurrency": "You have reached the maximum number of concurrent API calls "
                           "allowed",
            "credits": "You have exceeded the maximum number of API credits allowed in 24 "
                       "hours",
            "rate": "You have made too many requests continuously. Please try again after "
                    "some time.",
        }[why]
        return json_response(error_body("TOO_MANY_REQUESTS", message), 429,
                             headers={"Retry-After": "1"})

    def handle(self, request: Request) -> Response:
        """Route and answer one request."""
        try:
            adapter = self.url_map.bind_to_environ(request.environ)
            endpoint, args = adapter.match()
        except MethodNotAllowed:
            # One top-level shape on every version (seeds 000/003/004): v8's OpenAPI example
            # wraps it in data[], but a whole-request error must stop a client's batch.
            return json_response(error_body("INVALID_REQUEST_METHOD",
                                            "The http request method type is not a valid one"),
                                 400)
        except (NotFound, HTTPException):
            return self._url_pattern()
        try:
            if endpoint == "token":
                return self._token(request)
            version = VERSIONS.get(str(args.pop("ver", "")))  # type: ignore[attr-defined]
            if version is None:
                return self._url_pattern()
            expires = self.oauth.check(request.headers.get("Authorization"))
            self.jobs.advance()
            if self.faults.rate_limited():
                return self._too_many("rate")  # before the credits: a 429 costs nothing
            if not self.faults.spend(self._cost(request, endpoint)):
                return self._too_many("credits")
            faulted = self._fault()
            if faulted is not None:
                return faulted
            if self.faults.latency:
                time.sleep(self.faults.latency)
            response = HANDLERS[endpoint](self, request, version, **args)
            response.headers["X-ACCESSTOKEN-RESET"] = format_datetime(expires,
                                                                       USER_OFFSET_MINUTES)
            remaining = self.faults.remaining()
            if remaining is not None:
                response.headers["X-API-CREDITS-REMAINING"] = str(remaining)
            return response
        except ApiError as exc:
            return json_response(exc.body(), exc.status, exc.headers)
        except Exception:
            log.exception("sandbox handler failed on %s %s", request.method, request.path)
            return self._internal_error()

    @staticmethod
    def _url_pattern() -> Response:
        return json_response(error_body(
            "INVALID_URL_PATTERN", "Please check if the URL trying to access is a correct one"),
            404)

    @staticmethod
    def _internal_error() -> Response:
        return json_response(error_body("INTERNAL_ERROR", "Internal Server Error"), 500)

    def _fault(self) -> Response | None:
        """The injected failure or dropped connection for this request, if any."""
        action = self.faults.decide().action
        if action == "drop":
            # The socket is shut in __call__, once the drop is logged.
            return _Dropped(b"", status=500)
        if action == "fail":
            return self._internal_error()
        return None

    def _token(self, request: Request) -> Response:
        faulted = self._fault()
        if faulted is not None:
            return faulted
        form = {**request.args.to_dict(), **request.form.to_dict()}
        return json_response(self.oauth.grant(form, request.host_url.rstrip("/")), 200)

    @staticmethod
    def _cost(request: Request, endpoint: str) -> int:
        if endpoint in ("records", "record", "upsert") and request.method in ("POST", "PUT"):
            body = request.get_json(silent=True, force=True)
            data = body.get("data") if isinstance(body, dict) else None
            return credit_cost(request.method, "records", len(data) if isinstance(data, list)
                               else 1)
        if endpoint == "coql":
            body = request.get_json(silent=True, force=True)
            query = body.get("select_query") if isinstance(body, dict) else None
            m = _LIMIT_RE.search(query) if isinstance(query, str) else None
            limit = int(m.group(2) or m.group(1)) if m else 200
            return credit_cost("POST", "coql", limit=limit)
        return credit_cost(request.method, endpoint)
