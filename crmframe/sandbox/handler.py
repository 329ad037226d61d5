"""An HTTP/1.1 keep-alive request handler for werkzeug's threaded server.

werkzeug's development handler always answers ``Connection: close`` (its ``run_wsgi``
drains the socket after each answer, which would swallow a keep-alive client's next
request), so every call of a client would pay a new TCP connection, unlike against Zoho.
This handler answers in HTTP/1.1 and keeps the connection open:

* the request body is read through a stream limited to ``Content-Length`` and whatever
  the application left unread is drained before the answer, so the next request on the
  connection starts where it should;
* every answer carries ``Content-Length`` (204 and 304 carry no body and no length), so
  the client knows where the answer ends without a close;
* an application that wants the connection dropped (a fault) sets
  :data:`DROP_KEY` in the environ; nothing is written and the connection is closed;
* the server keeps track of open connections so :meth:`close_connections` can end idle
  keep-alive connections at shutdown instead of waiting for clients to hang up.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import socket
import threading
from collections.abc import Iterable
from typing import Any

from werkzeug.serving import WSGIRequestHandler
from werkzeug.wsgi import LimitedStream

__all__ = ["DROP_KEY", "MAX_BODY", "BadBody", "ConnectionBook", "KeepAliveHandler", "read_chunked"]

log = logging.getLogger("crmframe.sandbox")

#: Environ key an application sets to have its connection closed without an answer.
DROP_KEY = "crmframe.sandbox.drop"

#: Seconds an idle keep-alive connection is kept; a client that forgets its session must
#: not pin a server thread forever.
IDLE_TIMEOUT = 120.0

_NO_BODY = frozenset({204, 304})

#: The largest request body taken: Zoho's 25 MB upload plus room for the multipart
#: envelope. Larger (or a malformed chunked body) → 400 and the connection is closed.
MAX_BODY = 26 * 1024 * 1024
_MAX_LINE = 1024


class BadBody(Exception):
    """A chunked body that is malformed, truncated or over the limit."""


def read_chunked(rfile: Any, limit: int) -> bytes:
    """The body of a ``Transfer-Encoding: chunked`` request, at most ``limit`` bytes.

    Each size line is read to at most 1 KiB and must be hex digits (extensions after
    ``;`` ignored); a size past what the limit leaves, a short read (the client went
    away) or a missing CRLF raise :class:`BadBody` at once, so a hostile size neither
    allocates nor loops.
    """
    out = bytearray()
    while True:
        line = rfile.readline(_MAX_LINE)
        if not line.endswith(b"\n"):
            raise BadBody("chunk size line missing or too long")
        text = line.split(b";", 1)[0].strip()
        if not text or len(text) > 16 or any(c not in b"0123456789abcdefABCDEF" for c in text):
            raise BadBody("chunk size is not hexadecimal")
        size = int(text, 16)
        if size == 0:
            break
        if len(out) + size > limit:
            raise BadBody(f"request body over {limit} bytes")
        while size:
            piece = rfile.read(min(size, 65536))
            if not piece:
                raise BadBody("body ended inside a chunk")
            out += piece
            size -= len(piece)
        if rfile.readline(_MAX_LINE) not in (b"\r\n", b"\n"):
            raise BadBody("chunk not followed by CRLF")
    for _ in range(64):  # trailer fields, then the empty line
        line = rfile.readline(_MAX_LINE)
        if line in (b"\r\n", b"\n"):
            return bytes(out)
        if not line.endswith(b"\n"):
            raise BadBody("trailer missing or too long")
    raise BadBody("too many trailer fields")


class ConnectionBook:
    """The open connections of one server (and how many were ever accepted)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._open: dict[socket.socket, threading.Thread] = {}
        self.accepted = 0

    def add(self, conn: socket.socket) -> None:
        """Count a new connection in."""
        with self._lock:
            self._open[conn] = threading.current_thread()
            self.accepted += 1

    def remove(self, conn: socket.socket) -> None:
        """Count a finished connection out."""
        with self._lock:
            self._open.pop(conn, None)

    @property
    def open(self) -> int:
        """Connections currently open."""
        with self._lock:
            return len(self._open)

    def close_all(self, timeout: float = 5.0) -> None:
        """Shut every open connection and wait (at most ``timeout`` s each) for its thread.

        Shutting the socket wakes a handler blocked reading the next request line, so an
        idle keep-alive connection ends at once.
        """
        with self._lock:
            items = list(self._open.items())
        for conn, _ in items:
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)
        current = threading.current_thread()
        for _, thread in items:
            if thread is not current:
                thread.join(timeout)


class KeepAliveHandler(WSGIRequestHandler):
    """HTTP/1.1 with persistent connections; no access log (the app keeps its own)."""

    protocol_version = "HTTP/1.1"
    timeout = IDLE_TIMEOUT

    def setup(self) -> None:
        super().setup()
        # An answer goes out in one write (see _answer), but a kept-alive connection
        # must never wait for Nagle + the client's delayed ACK (40 ms per call).
        with contextlib.suppress(OSError):
            self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        book = getattr(self.server, "connections", None)
        if isinstance(book, ConnectionBook):
            book.add(self.connection)

    def finish(self) -> None:
        try:
            super().finish()
        finally:
            book = getattr(self.server, "connections", None)
            if isinstance(book, ConnectionBook):
                book.remove(self.connection)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass

    def send_response(self, code: int, message: str | None = None) -> None:
        # Without the stdlib's Date: the application sets it from the sandbox's clock (a
        # client reads the server's time from it, as from Zoho's); _answer adds the wall
        # clock's only when the application gave none.
        self.log_request(code)
        self.send_response_only(code, message)
        self.send_header("Server", self.version_string())

    def log(self, type: str, message: str, *args: Any) -> None:
        log.debug("werkzeug %s: " + message, type, *args)

    def run_wsgi(self) -> None:
        """Answer one request and leave the connection ready for the next one."""
        if self.headers.get("Expect", "").lower().strip(" \t") == "100-continue":
            self.wfile.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        self.environ = environ = self.make_environ()
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            # werkzeug's dechunker trusts the client's chunk sizes (one 16-hex-digit size
            # grew memory without bound, or spun on a vanished client): read it ourselves,
            # bounded, before the application runs
            try:
                data = read_chunked(self.rfile, MAX_BODY)
            except BadBody as exc:
                self._refuse(str(exc))
                return
            body_in: Any = io.BytesIO(data)
            environ["wsgi.input"] = body_in
            environ["CONTENT_LENGTH"] = str(len(data))
            environ.pop("HTTP_TRANSFER_ENCODING", None)
            environ["wsgi.input_terminated"] = True
        else:
            try:
                length = max(0, int(environ.get("CONTENT_LENGTH") or 0))
            except ValueError:
                length = 0
            if length > MAX_BODY:
                self._refuse(f"request body over {MAX_BODY} bytes")
                return
            body_in = LimitedStream(self.rfile, length)  # type: ignore[arg-type]
            environ["wsgi.input"] = body_in
            environ["wsgi.input_terminated"] = True
        started: list[Any] = []

        def start_response(status: str, headers: list[tuple[str, str]],
                           exc_info: Any = None) -> Any:
            started[:] = [status, headers]
            return lambda data: None  # the body comes back as the iterable only

        try:
            app_iter: Iterable[bytes] = self.server.app(environ, start_response)
            try:
                body = b"".join(app_iter)
            finally:
                close = getattr(app_iter, "close", None)
                if close is not None:
                    close()
            if environ.get(DROP_KEY):
                self.close_connection = True
                return
            # What the application left unread would be parsed as the next request.
            while body_in.read(65536):
                pass
            self._answer(started[0], started[1], body)
        except (ConnectionError, TimeoutError) as exc:
            self.close_connection = True
            self.connection_dropped(exc, environ)
        except Exception:
            log.exception("sandbox request failed on %s %s", self.command, self.path)
            self.close_connection = True
            with contextlib.suppress(OSError):
                self._answer("500 INTERNAL SERVER ERROR",
                             [("Content-Type", "text/plain; charset=utf-8")],
                             b"Internal Server Error")

    def _refuse(self, why: str) -> None:
        """400 and close, the body left unread: nothing on this connection can be trusted."""
        log.debug("sandbox refused a request body: %s", why)
        self.close_connection = True
        body = json.dumps({"code": "INVALID_DATA", "details": {"reason": why},
                           "message": "the request body is malformed or too large",
                           "status": "error"}).encode()
        with contextlib.suppress(OSError):
            self._answer("400 BAD REQUEST",
                         [("Content-Type", "application/json;charset=utf-8")], body)

    def _answer(self, status: str, headers: list[tuple[str, str]], body: bytes) -> None:
        code_text, _, reason = status.partition(" ")
        code = int(code_text)
        self.send_response(code, reason)
        no_body = code in _NO_BODY or code < 200
        if not any(key.lower() == "date" for key, _ in headers):
            self.send_header("Date", self.date_time_string())
        for key, value in headers:
            lower = key.lower()
            if lower in ("content-length", "transfer-encoding", "connection"):
                continue  # set below, from the body actually sent
            if no_body and lower == "content-type":
                continue  # Zoho sends none with a 204/304
            self.send_header(key, value)
        if no_body:
            body = b""
        else:
            self.send_header("Content-Length", str(len(body)))
        if self.close_connection:
            self.send_header("Connection", "close")
        elif self.request_version == "HTTP/1.0":
            # an HTTP/1.0 client asked for keep-alive: it needs to hear it was granted
            self.send_header("Connection", "keep-alive")
        # Headers and body in one write: two small writes on a kept-alive connection
        # meet Nagle's algorithm and the client's delayed ACK.
        self._headers_buffer.append(b"\r\n")
        if body and self.command != "HEAD":
            self._headers_buffer.append(body)
        self.flush_headers()
