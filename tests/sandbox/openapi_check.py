"""Checking answers against Zoho's OpenAPI v8 files (``openapi_v8/``) with openapi-core.

``openapi_v8/`` holds ``zoho/crm-oas`` @ 45dff2cc9c69403c85b8a3642e7056528dc668d5,
``v8.0/<name>.json``, unchanged except that the references between files
(``https://raw.githubusercontent.com/.../v8.0/<file>.json#...``) point at the local copy
(``<file>.json#...``) so no check touches the network.

The spec is imperfect even for Zoho's own bodies. Instead of loosening the check, each
known defect is a :class:`Defect`: a narrow correction of the spec, and a body Zoho
published that the uncorrected spec rejects the same way (``test_openapi.py`` shows both).
"""

from __future__ import annotations

import copy
import functools
import json
import re
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import requests
from openapi_core import OpenAPI
from openapi_core.datatypes import RequestParameters
from werkzeug.datastructures import Headers, ImmutableMultiDict

SPECS = Path(__file__).parent / "openapi_v8"
#: Where the spec files say the API lives; requests are matched as if sent there.
ZOHO_HOST = "https://zohoapis.com"
#: Uploads go to Zoho's content host (bulk_write.json's servers for /upload).
CONTENT_HOST = "https://content.zohoapis.com"

Spec = dict[str, Any]


def _walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def _oneof_as_anyof(name: str, spec: Spec) -> None:
    for node in _walk(spec):
        if "oneOf" in node:
            node["anyOf"] = node.pop("oneOf")


#: Statuses Zoho answers (zoho-crm-oas-v8-examples.json: 201/202/204/207/400/401/403/
#: 404/412/500) that operations leave out; 204/304 carry no body.
_ADDED_STATUSES = ("200", "201", "202", "204", "207", "304", "400", "401", "403", "404", "412",
                   "500")
_ERROR = {"$ref": "common.json#/components/schemas/API_Exception"}


def _missing_statuses(name: str, spec: Spec) -> None:
    for item in spec.get("paths", {}).values():
        for method, op in item.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            responses = op.setdefault("responses", {})
            documented = next((r for code, r in sorted(responses.items())
                               if code.startswith("2") and "content" in r), None)
            schemas: list[Any] = [_ERROR, {"type": "object", "properties": {
                "data": {"type": "array", "items": _ERROR}}}]
            if documented is not None:
                media = next(iter(documented["content"].values()))
                schemas.insert(0, copy.deepcopy(media.get("schema", {})))
            for status in _ADDED_STATUSES:
                if status in responses:
                    continue
                if status in ("204", "304"):
                    responses[status] = {"description": "no content"}
                else:
                    responses[status] = {"description": "added: see Defect missing_statuses",
                                         "content": {"application/json": {
                                             "schema": {"anyOf": copy.deepcopy(schemas)}}}}


def _error_in_data(name: str, spec: Spec) -> None:
    for item in spec.get("paths", {}).values():
        for op in item.values():
            answer = op.get("responses", {}).get("400") if isinstance(op, dict) else None
            ref = answer.get("$ref", "") if answer else ""
            if ref.startswith("#/components/responses/"):
                answer = spec["components"]["responses"][ref.rsplit("/", 1)[1]]
            if not answer or "content" not in answer or answer.get("x-in-data"):
                continue
            answer["x-in-data"] = True  # a shared response is corrected once
            for media in answer["content"].values():
                schema = media.get("schema")
                if schema is not None:
                    media["schema"] = {"anyOf": [schema, {
                        "type": "object", "required": ["data"],
                        "properties": {"data": {"type": "array", "items": schema}}}]}


def _upload_success(name: str, spec: Spec) -> None:
    if name != "bulk_write":
        return
    details = spec["components"]["schemas"]["Success_Response"]["properties"]["details"]
    details["properties"]["file_id"] = {"type": "string"}
    details.pop("required", None)
    details["anyOf"] = [{"required": ["id", "created_by"]},  # a job created
                        {"required": ["file_id", "created_time"]}]  # a file uploaded


@dataclass(frozen=True)
class Defect:
    """A known error of the spec: how it shows, its correction, and a Zoho body it rejects."""

    name: str
    why: str
    fix: Callable[[str, Spec], None]
    #: (spec file, method, path as sent, status, Zoho's published body, where it comes from)
    zoho: tuple[str, str, str, int, Any, str]
    #: what the uncorrected spec says about that body (a regex over the error text)
    shows: str


def _v8_example(operation: str, name: str) -> tuple[int, Any]:
    data = json.loads((Path(__file__).parent / "fixtures" / "zoho_samples.json").read_text(
        encoding="utf-8"))
    for item in data["v8"][operation]["responses"]:
        if item["name"] == name:
            return int(item["http_status"]), item["body"]
    raise KeyError((operation, name))


def defects() -> list[Defect]:
    """The spec defects the check corrects, in the order they are applied."""
    success = _v8_example("updateRecords", "Success")
    mixed = _v8_example("updateRecords", "MixedResults")
    mandatory = _v8_example("massUpdateRecords", "MandatoryFieldMissing")
    samples = json.loads((Path(__file__).parent / "fixtures" / "zoho_v7_upload.json").read_text(
        encoding="utf-8"))
    return [
        Defect("oneof_overlaps",
               "answers are oneOf alternatives that do not exclude each other (no required "
               "keys), so a valid body matches several and fails oneOf: read as anyOf",
               _oneof_as_anyof,
               ("record", "put", "/crm/v8/Leads", success[0], success[1],
                "zoho-crm-oas-v8-examples.json updateRecords/Success"),
               r"is valid under each of"),
        Defect("missing_statuses",
               "record.json documents only 200 for each operation (other files omit some "
               "statuses) while Zoho answers 201/202/204/207/304/400/401/403/404/412/500: "
               "a missing status takes the operation's 2xx schema or an error envelope",
               _missing_statuses,
               ("record", "put", "/crm/v8/Leads", mixed[0], mixed[1],
                "zoho-crm-oas-v8-examples.json updateRecords/MixedResults (207)"),
               r"Unknown response http status: 207"),
        Defect("error_in_data",
               "mass_update.json's 400 is a top-level error while Zoho's v8 write examples "
               "wrap their errors in data[]: a 400 may be either",
               _error_in_data,
               ("mass_update", "post", "/crm/v8/Leads/actions/mass_update", mandatory[0],
                mandatory[1], "zoho-crm-oas-v8-examples.json massUpdateRecords/"
                "MandatoryFieldMissing"),
               r"^: 'code' is a required property"),
        Defect("upload_success",
               "bulk_write.json's Success_Response serves the upload (file_id, "
               "created_time) and the job creation (id, created_by) but requires the job's "
               "keys, and types file_id as an integer where Zoho sends a 19-digit string",
               _upload_success,
               ("bulk_write", "post", "/crm/v8/upload", 200, samples["upload"],
                "v7 docs bulk-write/upload-file.html sample response"),
               r"file_id: '111111000001492610' is not of type 'integer'|"
               r"details: 'created_by' is a required property"),
    ]


@functools.cache
def _spec_dir(corrected: tuple[str, ...]) -> Path:
    """The spec files with the named corrections applied, written once per run."""
    out = Path(tempfile.mkdtemp(prefix="crmframe-oas-"))
    fixes = [d.fix for d in defects() if d.name in corrected]
    for path in SPECS.glob("*.json"):
        spec = json.loads(path.read_text(encoding="utf-8"))
        for fix in fixes:
            fix(path.stem, spec)
        (out / path.name).write_text(json.dumps(spec), encoding="utf-8")
    return out


@functools.cache
def spec(name: str, corrected: tuple[str, ...]) -> OpenAPI:
    """One spec file (its references resolved locally) with the named corrections."""
    return OpenAPI.from_file_path(str(_spec_dir(corrected) / f"{name}.json"))


ALL = tuple(d.name for d in defects())


@dataclass
class SpecRequest:
    """An openapi-core request made from a sent ``requests`` request, as if to Zoho."""

    method: str
    path: str
    parameters: RequestParameters
    content_type: str
    body: bytes | None
    host_url: str = ZOHO_HOST


@dataclass
class SpecResponse:
    """An openapi-core response made from a ``requests`` response."""

    status_code: int
    headers: Headers
    content_type: str
    data: bytes | None


def as_spec(answer: requests.Response, path: str | None = None) -> tuple[SpecRequest,
                                                                         SpecResponse]:
    """The request/response pair of one answer (``path``: the path to match instead of
    the one sent, e.g. for a bulk-write download URL)."""
    sent = answer.request
    url = urlsplit(str(sent.url))
    body = sent.body if isinstance(sent.body, bytes) else (
        sent.body.encode() if isinstance(sent.body, str) else None)
    request = SpecRequest(
        host_url=CONTENT_HOST if url.path.endswith("/upload") else ZOHO_HOST,
        method=str(sent.method).lower(), path=path or url.path,
        parameters=RequestParameters(query=ImmutableMultiDict(parse_qsl(url.query)),
                                     header=Headers(dict(sent.headers)),
                                     cookie=ImmutableMultiDict(), path={}),
        content_type=str(sent.headers.get("Content-Type", "")).lower(), body=body)
    response = SpecResponse(
        status_code=answer.status_code, headers=Headers(dict(answer.headers)),
        content_type=str(answer.headers.get("Content-Type", "")).lower(),
        data=answer.content or None)
    return request, response


def errors(name: str, answer: requests.Response, *, path: str | None = None,
           corrected: tuple[str, ...] = ALL, every: bool = False) -> list[str]:
    """What the spec file ``name`` finds wrong with one answer (empty: valid);
    ``every``: each reason, else the most specific ones."""
    request, response = as_spec(answer, path)
    if "json" not in response.content_type and response.data:
        return _download_errors(name, request, response, corrected)
    try:
        spec(name, corrected).validate_response(request, response)
    except Exception as exc:  # openapi-core wraps the schema errors in one exception
        schema_errors = list(getattr(exc.__cause__, "schema_errors", None) or [])
        if not schema_errors:
            return [f"{type(exc).__name__}: {str(exc)[:300]}"]
        if every:
            return [f"{'/'.join(str(p) for p in leaf.absolute_path)}: {leaf.message}"
                    for e in schema_errors for leaf in _leaves(e)]
        return [_deepest(e) for e in schema_errors]
    return []


def _download_errors(name: str, request: SpecRequest, response: SpecResponse,
                     corrected: tuple[str, ...]) -> list[str]:
    """A file download: its status and media type as the spec documents them (openapi-core
    cannot read a zip as the spec's ``string``/``binary``)."""
    paths = json.loads((_spec_dir(corrected) / f"{name}.json").read_text(encoding="utf-8"))
    op = paths["paths"][template(name, request.method, request.path)][request.method]
    documented = op["responses"].get(str(response.status_code))
    if documented is None:
        return [f"ResponseNotFound: {response.status_code}"]
    media = set(documented.get("content", {}))
    if response.content_type.split(";")[0] not in media:
        return [f"media type {response.content_type} not in {sorted(media)}"]
    return []


def published(method: str, path: str, status: int, body: Any) -> requests.Response:
    """A published body dressed as an answer to ``method path``, to check like the rest."""
    fake = requests.Response()
    fake.status_code = status
    fake._content = json.dumps(body).encode()
    fake.headers["Content-Type"] = "application/json;charset=utf-8"
    host = CONTENT_HOST if path.endswith("/upload") else ZOHO_HOST
    fake.request = requests.Request(method.upper(), host + path).prepare()
    return fake


def _short(message: str) -> str:
    return message if len(message) <= 300 else f"{message[:100]} … {message[-200:]}"


def _leaves(error: Any) -> list[Any]:
    if not error.context:
        return [error]
    return [leaf for sub in error.context for leaf in _leaves(sub)]


def _deepest(error: Any) -> str:
    """The most specific reasons of a schema error (anyOf/oneOf nest theirs): the leaves
    reaching deepest into the body, i.e. of the alternative that matched best."""
    leaves = _leaves(error)
    depth = max(len(leaf.absolute_path) for leaf in leaves)
    best = sorted({f"{'/'.join(str(p) for p in leaf.absolute_path)}: {leaf.message[:200]}"
                   for leaf in leaves if len(leaf.absolute_path) == depth})
    return " | ".join(best[:4])


def template(name: str, method: str, path: str) -> str:
    """The spec path a sent path matches (the most literal one)."""
    paths = json.loads((SPECS / f"{name}.json").read_text(encoding="utf-8"))["paths"]
    found = []
    for pattern, item in paths.items():
        if method.lower() not in item:
            continue
        regex = "^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(pattern)) + "$"
        if re.match(regex, path):
            found.append((pattern.count("{"), pattern))
    if not found:
        raise KeyError(f"{name}: no path for {method} {path}")
    return min(found)[1]
