"""Hostile requests: each is refused at once and the server keeps answering.

Every attack here once pinned a CPU, grew memory without bound or answered 500 (issue
12). Loops are bounded by count; socket timeouts are only a guard against a hang.
"""

from __future__ import annotations

import io
import json
import socket
import zipfile
from urllib.parse import urlsplit

import pytest

from crmframe.sandbox import SandboxServer
from crmframe.sandbox.api_upload import MAX_PENDING_UPLOADS, MAX_UPLOAD
from crmframe.sandbox.handler import MAX_BODY

from .helpers import Api

GUARD = 30.0  # seconds a socket may wait before the test fails instead of hanging


def _raw(server: SandboxServer, request: bytes) -> tuple[bytes, bool]:
    """Send raw bytes; the answer, and whether the server then closed the connection."""
    parts = urlsplit(server.url)
    with socket.create_connection((parts.hostname, parts.port), timeout=GUARD) as sock:
        sock.sendall(request)
        sock.shutdown(socket.SHUT_WR)  # the client sent all it will: a short body ends here
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
        head, _, body = answer.partition(b"\r\n\r\n")
        length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                       if line.lower().startswith(b"content-length:")), 0)
        while len(body) < length:
            chunk = sock.recv(65536)
            if not chunk:
                break
            body += chunk
        closed = sock.recv(1) == b""
    return head + b"\r\n\r\n" + body, closed


def _still_answers(api: Api) -> None:
    assert api.get("org").status_code == 200


@pytest.mark.parametrize("with_token", [False, True])
def test_a_huge_chunk_size_is_refused_and_the_connection_closed(server: SandboxServer, api: Api,
                                                               with_token: bool) -> None:
    auth = f"Authorization: Zoho-oauthtoken {api.token}\r\n" if with_token else ""
    request = (f"PUT /crm/v8/Leads HTTP/1.1\r\nHost: x\r\n{auth}"
               "Transfer-Encoding: chunked\r\n\r\nFFFFFFFFFFFFFFFF\r\nabc").encode()
    answer, closed = _raw(server, request)
    assert answer.startswith(b"HTTP/1.1 400")
    assert json.loads(answer.split(b"\r\n\r\n", 1)[1])["code"] == "INVALID_DATA"
    assert closed
    _still_answers(api)


def test_malformed_and_truncated_chunks_are_refused(server: SandboxServer, api: Api) -> None:
    for body in (b"zz\r\nabc\r\n0\r\n\r\n", b"5\r\nab", b"3\r\nabcX0\r\n\r\n",
                 b"1" * 5000 + b"\r\n"):
        request = (b"POST /crm/v8/coql HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                   b"Authorization: Zoho-oauthtoken " + api.token.encode() + b"\r\n\r\n" + body)
        answer, closed = _raw(server, request)
        assert answer.startswith(b"HTTP/1.1 400"), body[:20]
        assert closed
    _still_answers(api)


def test_a_well_formed_chunked_body_is_still_taken(server: SandboxServer, api: Api) -> None:
    payload = json.dumps({"select_query": "select Last_Name from Leads where id is not null "
                                          "limit 2"}).encode()
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(payload[i:i + 7]), payload[i:i + 7])
                      for i in range(0, len(payload), 7))
    request = (b"POST /crm/v8/coql HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
               b"Content-Type: application/json\r\nAuthorization: Zoho-oauthtoken "
               + api.token.encode() + b"\r\n\r\n" + chunks + b"0\r\n\r\n")
    answer, closed = _raw(server, request)
    assert answer.startswith(b"HTTP/1.1 200")
    assert len(json.loads(answer.split(b"\r\n\r\n", 1)[1])["data"]) == 2
    assert b"Connection: close" not in answer
    assert closed  # only because this client half-closed after its request


def test_a_declared_length_over_the_limit_is_refused_unread(server: SandboxServer,
                                                           api: Api) -> None:
    request = (f"PUT /crm/v8/Leads HTTP/1.1\r\nHost: x\r\nContent-Length: {MAX_BODY + 1}\r\n"
               f"Authorization: Zoho-oauthtoken {api.token}\r\n\r\n{{").encode()
    answer, closed = _raw(server, request)
    assert answer.startswith(b"HTTP/1.1 400")
    assert closed
    _still_answers(api)


def _upload(api: Api, data: bytes) -> dict[str, object]:
    org = api.get("org").json()["org"][0]
    r = api.post("upload", files={"file": ("bomb.zip", data, "application/zip")},
                 headers={"feature": "bulk-write", "X-CRM-ORG": org["zgid"]})
    return {"http": r.status_code, **r.json()}


def test_a_zip_bomb_is_refused_by_its_decompressed_size(server: SandboxServer, api: Api) -> None:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("big.csv", b"Last_Name\n" + b"a\n" * (MAX_UPLOAD // 2 + 1))
    assert len(out.getvalue()) < MAX_UPLOAD // 100  # small on the wire
    answer = _upload(api, out.getvalue())
    assert (answer["http"], answer["code"]) == (413, "FILE_TOO_LARGE")
    assert not server.app.uploads
    _still_answers(api)


def _small_zip() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as zf:
        zf.writestr("leads.csv", "Last_Name,Company\nZip,Co\n")
    return out.getvalue()


def test_uploads_are_freed_by_their_job_and_bounded_when_unused(server: SandboxServer,
                                                                api: Api) -> None:
    file_id = _upload(api, _small_zip())["details"]["file_id"]  # type: ignore[index]
    assert file_id in server.app.uploads
    r = api.post("write", bulk=True, json={"operation": "insert", "resource": [{
        "type": "data", "module": {"api_name": "Leads"}, "file_id": file_id}]})
    assert r.status_code == 201
    assert file_id not in server.app.uploads
    for _ in range(MAX_PENDING_UPLOADS + 5):
        _upload(api, _small_zip())
    assert len(server.app.uploads) == MAX_PENDING_UPLOADS


def test_coql_like_with_many_wildcards_answers(server: SandboxServer, api: Api) -> None:
    # a backtracking regex took minutes of CPU from 16 % on; each 4 more cost 6x
    pattern = "%a" * 24 + "%zq"
    r = api.post("coql", json={"select_query": f"select Last_Name from Leads where "
                                               f"Last_Name like '{pattern}' limit 5"})
    assert r.status_code == 204
    r = api.post("coql", json={"select_query": "select Last_Name from Leads where "
                                               "Last_Name like '%a%' limit 5"})
    assert r.status_code == 200
    assert all("a" in row["Last_Name"].lower() for row in r.json()["data"])


def test_deep_nesting_answers_400_not_500(server: SandboxServer, api: Api) -> None:
    depth = 20_000
    r = api.post("coql", json={"select_query": "select Last_Name from Leads where "
                                               + "(" * depth + "id is not null" + ")" * depth})
    assert (r.status_code, r.json()["code"]) == (400, "INVALID_QUERY")
    shallower = 3000  # URL-encoded brackets: 20,000 would pass the 64 KiB request line
    r = api.get("Leads/search", params={"criteria": "(" * shallower + "City:equals:Paris"
                                                    + ")" * shallower})
    assert (r.status_code, r.json()["code"]) == (400, "INVALID_QUERY")
    r = api.session.put(api.url("Leads"), data="[" * depth + "]" * depth,
                        headers={"Content-Type": "application/json"}, timeout=GUARD)
    assert (r.status_code, r.json()["code"]) == (400, "INVALID_DATA")
    group: dict[str, object] = {"field": {"api_name": "City"}, "comparator": "equal",
                                "value": "Paris"}
    for _ in range(400):
        group = {"group_operator": "and", "group": [group]}
    r = api.post("read", bulk=True, json={"query": {"module": {"api_name": "Leads"},
                                                    "criteria": group}})
    assert r.status_code in (201, 400)
    if r.status_code == 400:
        assert r.json()["code"] == "INVALID_DATA"
    _still_answers(api)
