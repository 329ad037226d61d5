"""The WSGI application: routing, authentication, faults, request log, dispatch.

The app owns routing: :data:`ROUTES` maps each path to a handler per method. Handlers
live in the ``api_*`` modules, one module per group of endpoints; they depend only on the
helpers below them (``state``, ``params``, ``responses``, ``envelopes`` and the data
modules), never on this module or on each other. A new endpoint is a new handler and one
line here.

Order of checks for each request: concurrency limit (429) → route (404
``INVALID_URL_PATTERN`` / 400 ``INVALID_REQUEST_METHOD``) → version → token (401) → job
advancement → injected rate limit (429) → credits (429) → injected failure (500) or
dropped connection → latency → handler. Faults are decided before the handler runs, so
they never half-apply a write.
"""

from __future__ import annotations

import contextlib
import email.utils
import logging
import re
import socket
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

from werkzeug.exceptions import HTTPException, MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from crmframe.sandbox import (
    api_bulk_read,
    api_bulk_write,
    api_bulk_write_list,
    api_coql,
    api_delete,
    api_deleted,
    api_layouts,
    api_mass_update,
    api_meta,
    api_oauth,
    api_records,
    api_search,
    api_upload,
)
from crmframe.sandbox.clock import Clock, format_datetime
from crmframe.sandbox.envelopes import ApiError, error_body
from crmframe.sandbox.faults import Faults, credit_cost
from crmframe.sandbox.handler import DROP_KEY
from crmframe.sandbox.oauth import OAuth
from crmframe.sandbox.permissions import authorize
from crmframe.sandbox.responses import json_response
from crmframe.sandbox.schema import USER_OFFSET_MINUTES, Module
from crmframe.sandbox.state import VERSIONS, State, Version
from crmframe.sandbox.store import Store

__all__ = ["ROUTES", "VERSIONS", "Route", "Sandbox", "Version"]

log = logging.getLogger("crmframe.sandbox")

#: ``handler(state, request, version, **path_args) -> Response``.
Handler = Callable[..., Response]


class Route:
    """A path, its endpoint name (credits are counted by it) and a handler per method."""

    __slots__ = ("endpoint", "handlers", "path")

    def __init__(self, path: str, endpoint: str, handlers: dict[str, Handler]) -> None:
        self.path = path
        self.endpoint = endpoint
        self.handlers = handlers


#: Every path the sandbox answers. Order matters only where werkzeug could match two rules.
ROUTES: list[Route] = [
    Route("/oauth/v2/token", "token", {"POST": api_oauth.token}),
    Route("/crm/<ver>/org", "org", {"GET": api_meta.org}),
    Route("/crm/<ver>/users", "users", {"GET": api_meta.users}),
    Route("/crm/<ver>/users/actions/count", "users_count", {"GET": api_meta.users_count}),
    Route("/crm/<ver>/users/<user_id>", "user", {"GET": api_meta.user}),
    Route("/crm/<ver>/settings/modules", "modules", {"GET": api_meta.modules}),
    Route("/crm/<ver>/settings/modules/<api_name>", "module", {"GET": api_meta.module}),
    Route("/crm/<ver>/settings/layouts", "layouts", {"GET": api_layouts.layouts}),
    Route("/crm/<ver>/settings/layouts/<layout_id>", "layout", {"GET": api_layouts.layout}),
    Route("/crm/<ver>/settings/fields", "fields", {"GET": api_meta.fields}),
    Route("/crm/<ver>/settings/custom_views", "custom_views", {"GET": api_meta.custom_views}),
    Route("/crm/<ver>/settings/custom_views/<cvid>", "custom_view",
          {"GET": api_meta.custom_view}),
    Route("/crm/<ver>/coql", "coql", {"POST": api_coql.coql}),
    Route("/crm/<ver>/upload", "upload", {"POST": api_upload.upload}),
    Route("/crm/<ver>/<module>", "records",
          {"GET": api_records.list_records, "POST": api_records.insert,
           "PUT": api_records.update, "DELETE": api_delete.delete_many}),
    Route("/crm/<ver>/<module>/upsert", "upsert", {"POST": api_records.upsert}),
    Route("/crm/<ver>/<module>/search", "search", {"GET": api_search.search}),
    Route("/crm/<ver>/<module>/deleted", "deleted", {"GET": api_deleted.deleted}),
    Route("/crm/<ver>/<module>/actions/count", "count", {"GET": api_records.count}),
    Route("/crm/<ver>/<module>/actions/mass_update", "mass_update",
          {"GET": api_mass_update.mass_status, "POST": api_mass_update.mass_update}),
    Route("/crm/<ver>/<module>/<rid>", "record",
          {"GET": api_records.get_record, "PUT": api_records.update_one,
           "DELETE": api_delete.delete_one}),
    Route("/crm/bulk/<ver>/write", "bulk_write_create", {"POST": api_bulk_write.write_create}),
    Route("/crm/bulk/<ver>/write", "bulk_write_list", {"GET": api_bulk_write_list.write_list}),
    Route("/crm/bulk/<ver>/write/<job_id>", "bulk_write_job", {"GET": api_bulk_write.write_job}),
    Route("/crm/bulk/<ver>/write/<job_id>/result", "bulk_write_result",
          {"GET": api_bulk_write.write_result}),
    Route("/crm/bulk/<ver>/read", "bulk_read_create", {"POST": api_bulk_read.read_create}),
    Route("/crm/bulk/<ver>/read/<job_id>", "bulk_read_job", {"GET": api_bulk_read.read_job}),
    Route("/crm/bulk/<ver>/read/<job_id>/result", "bulk_read_result",
          {"GET": api_bulk_read.read_result}),
]

#: The version handed to the OAuth handler (its URL has none).
_OAUTH = Version("oauth", True)

_LIMIT_RE = re.compile(r"\blimit\s+(\d+)(?:\s*,\s*(\d+))?", re.IGNORECASE)


class _Dropped(Response):
    """Marker: the connection was shut without an answer."""


class _Lost(_Dropped):
    """Marker: the handler ran (its write committed), then the connection was shut."""


#: Methods whose answer the ``lost_answer_rate`` fault may lose after the handler ran.
_WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class Sandbox(State):
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
        super().__init__(modules=modules, store=store, clock=clock, oauth=oauth, faults=faults,
                         job_speed=job_speed, job_delay=job_delay,
                         page_token_ttl=page_token_ttl)
        self.routes = {route.endpoint: route for route in ROUTES}
        self.url_map = Map([Rule(r.path, endpoint=r.endpoint, methods=list(r.handlers))
                            for r in ROUTES], strict_slashes=False, merge_slashes=False)
        # bounded: a server left running must not keep one entry per call forever
        self._log: deque[tuple[str, str, int]] = deque(maxlen=request_log_size)
        self._log_lock = threading.Lock()

    # ------------------------------------------------------------------ request log
    def requests(self) -> list[tuple[str, str, int]]:
        """``(method, path, status)`` of the latest requests, oldest first (0 = dropped
        before the handler ran; negative = the handler ran and answered ``-status``, and the
        answer was lost)."""
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
        # Zoho's Date header is its own clock: the one its Modified_Time values are read on.
        response.headers["Date"] = email.utils.formatdate(self.clock.now(), usegmt=True)
        dropped = isinstance(response, _Dropped)
        status = response.status_code
        self._record(request.method, request.path,
                     -status if isinstance(response, _Lost) else 0 if dropped else status)
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
        handlers = self.routes[endpoint].handlers
        # werkzeug lets HEAD through wherever GET is allowed
        handler = handlers.get(request.method) or handlers["GET"]
        try:
            if endpoint == "token":
                # the accounts server: no API version, no access token; only faults apply
                return self._fault() or handler(self, request, _OAUTH)
            version = VERSIONS.get(str(args.pop("ver", "")))  # type: ignore[attr-defined]
            if version is None:
                return self._url_pattern()
            grant = self.oauth.grant_of(request.headers.get("Authorization"))
            expires = grant.expires
            authorize(grant, endpoint, request, args)
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
            response = handler(self, request, version, **args)
            if request.method in _WRITES and self.faults.answer_lost():
                # The write committed; its answer never arrives (see faults.py).
                return _Lost(b"", status=response.status_code)
            response.headers["X-ACCESSTOKEN-RESET"] = format_datetime(expires,
                                                                       USER_OFFSET_MINUTES)
            remaining = self.faults.remaining()
            if remaining is not None:
                response.headers["X-API-CREDITS-REMAINING"] = str(remaining)
            return response
        except ApiError as exc:
            return json_response(exc.body(), exc.status, exc.headers)
        except RecursionError:
            # brackets nested deeper than any parser here goes (COQL, criteria, JSON)
            query = endpoint in ("coql", "search")
            return json_response(error_body(
                "INVALID_QUERY" if query else "INVALID_DATA",
                "invalid query formed" if query else "invalid data",
                {"reason": "nested too deeply"}), 400)
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

    @staticmethod
    def _cost(request: Request, endpoint: str) -> int:
        if endpoint in ("records", "record", "upsert") and request.method in ("POST", "PUT"):
            body = request.get_json(silent=True, force=True)
            data = body.get("data") if isinstance(body, dict) else None
            return credit_cost(request.method, "records", len(data) if isinstance(data, list)
                               else 1)
        if endpoint == "mass_update" and request.method == "POST":
            body = request.get_json(silent=True, force=True)
            ids = body.get("ids") if isinstance(body, dict) else None
            return credit_cost("POST", "mass_update", len(ids) if isinstance(ids, list) else 0)
        if endpoint == "coql":
            body = request.get_json(silent=True, force=True)
            query = body.get("select_query") if isinstance(body, dict) else None
            m = _LIMIT_RE.search(query) if isinstance(query, str) else None
            limit = int(m.group(2) or m.group(1)) if m else 200
            return credit_cost("POST", "coql", limit=limit)
        return credit_cost(request.method, endpoint)
