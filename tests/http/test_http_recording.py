"""Cassettes are scrubbed: no Authorization header, no token or secret in bodies or URLs."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from crmframe.http.auth import RefreshTokenAuth
from crmframe.http.client import ZohoClient
from crmframe.http.recording import recording, scrub_body, vcr_config

ACCESS = "1000.6f3c2a9d8b7e.5a4b3c2d1e0f"
REFRESH = "1000.aaaabbbbcccc.ddddeeeeffff"
SECRET = "c0ffee-secret-of-the-client"


class TinyZoho(BaseHTTPRequestHandler):
    def log_message(self, *args: object) -> None:  # keep test output quiet
        pass

    def _send(self, body: dict) -> None:
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Set-Cookie", "session=abc")
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        self._send({"access_token": ACCESS, "refresh_token": REFRESH, "expires_in": 3600,
                    "api_domain": "http://127.0.0.1"})

    def do_GET(self) -> None:
        ok = self.headers.get("Authorization") in (f"Zoho-oauthtoken {ACCESS}",
                                                   "Zoho-oauthtoken scrubbed")
        self._send({"data": [{"id": "4876876000000624001", "ok": ok}],
                    "info": {"more_records": False}})


@pytest.fixture
def tiny() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), TinyZoho)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()
    thread.join()


def read(base: str) -> dict:
    auth = RefreshTokenAuth("1000.CLIENTID", SECRET, REFRESH, base)
    with ZohoClient(base, auth) as client:
        return client.request("GET", "Leads", params={"fields": "id"}).body


def test_recorded_cassette_is_scrubbed_and_replays_elsewhere(tiny: str, tmp_path: Path) -> None:
    cassette = tmp_path / "flow.yaml"
    with recording(cassette):
        recorded = read(tiny)
    assert recorded["data"][0]["ok"] is True
    text = cassette.read_text()
    for secret in (ACCESS, REFRESH, SECRET, "1000.CLIENTID", "Zoho-oauthtoken", "session=abc"):
        assert secret not in text
    assert '"access_token": "scrubbed"' in text
    # Another host and port, nothing listening: the cassette answers.
    with recording(cassette, mode="none") as tape:
        replayed = read("http://127.0.0.1:9")
    assert replayed == recorded
    assert tape.play_count == 2


def test_scrub_body_masks_nested_and_stray_tokens() -> None:
    body = json.dumps({"refresh_token": REFRESH, "nested": [{"access_token": ACCESS}],
                       "note": f"token {ACCESS} leaked", "n": 1})
    cleaned = json.loads(scrub_body(body.encode()))
    assert cleaned == {"refresh_token": "scrubbed", "nested": [{"access_token": "scrubbed"}],
                       "note": "token *** leaked", "n": 1}
    assert scrub_body(b"PK\x03\x04zipbytes") == b"PK\x03\x04zipbytes"
    assert scrub_body(b"") == b""


def test_config_matches_without_host_and_port() -> None:
    config = vcr_config()
    assert "host" not in config["match_on"]
    assert "port" not in config["match_on"]
    assert config["decode_compressed_response"] is True
    assert "authorization" in config["filter_headers"]
