"""Recording API traffic to vcrpy cassettes that are safe to commit, and replaying it.

One configuration serves the test suite (pytest-recording reads it through a
``vcr_config`` fixture) and notebook authors (:func:`recording`):

* the ``Authorization`` header is dropped, and token-endpoint parameters
  (``client_id``, ``client_secret``, ``refresh_token``, ``access_token``, ``code``) are
  replaced by ``scrubbed`` in query strings and form bodies;
* token-endpoint answers have ``access_token``/``refresh_token`` replaced by
  ``scrubbed``, and any Zoho-looking token left in a JSON body is masked;
* requests match on method, path, query and body, **not** on scheme, host or port, so a
  cassette recorded against a sandbox on a random port (or against Zoho) replays anywhere.

Examples
--------
>>> config = vcr_config()
>>> config["match_on"]
('method', 'path', 'query', 'body')
>>> scrub_body(b'{"access_token": "1000.a1.b2", "expires_in": 3600}')
b'{"access_token": "scrubbed", "expires_in": 3600}'
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from crmframe.http.redact import redact

__all__ = ["PLACEHOLDER", "recording", "scrub_body", "vcr_config"]

#: What secrets become in a cassette (the client accepts it as a token on replay).
PLACEHOLDER = "scrubbed"

_SECRET_PARAMS = ("client_id", "client_secret", "refresh_token", "access_token", "code")
_SECRET_KEYS = frozenset({"access_token", "refresh_token", "client_secret", "id_token"})
_DROPPED_RESPONSE_HEADERS = frozenset({"set-cookie"})


def _scrub_json(obj: Any) -> Any:
    if isinstance(obj, dict):
        return {
            k: (PLACEHOLDER if k in _SECRET_KEYS and isinstance(v, str) else _scrub_json(v))
            for k, v in obj.items()
        }
    if isinstance(obj, list):
        return [_scrub_json(v) for v in obj]
    if isinstance(obj, str):
        return redact(obj)
    return obj


def scrub_body(raw: bytes | str | None) -> bytes | str | None:
    """A JSON body with token fields set to ``scrubbed`` and stray tokens masked.

    Bodies that are not JSON (zip files, CSV) are returned unchanged.
    """
    if not raw:
        return raw
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return raw
    if not isinstance(data, (dict, list)):
        return raw
    text = json.dumps(_scrub_json(data), ensure_ascii=False)
    return text.encode("utf-8") if isinstance(raw, bytes) else text


def _before_record_response(response: dict[str, Any]) -> dict[str, Any]:
    body = response.get("body") or {}
    if "string" in body:
        body["string"] = scrub_body(body["string"])
    headers = response.get("headers") or {}
    for name in list(headers):
        if name.lower() in _DROPPED_RESPONSE_HEADERS:
            del headers[name]
    return response


def vcr_config() -> dict[str, Any]:
    """Keyword arguments for ``vcr.VCR`` (and pytest-recording's ``vcr_config`` fixture)."""
    scrubbed = [(name, PLACEHOLDER) for name in _SECRET_PARAMS]
    return {
        "filter_headers": ["authorization", "cookie"],
        "filter_query_parameters": scrubbed,
        "filter_post_data_parameters": scrubbed,
        "before_record_response": _before_record_response,
        "match_on": ("method", "path", "query", "body"),
        "decode_compressed_response": True,
    }


@contextmanager
def recording(path: str | Path, mode: str = "once") -> Iterator[Any]:
    """Record the API calls made inside the block to ``path``, or replay them if recorded.

    Wrap a report's calls in it: the first run talks to Zoho and writes a scrubbed
    cassette; later runs replay it offline and get the same frames.

    Parameters
    ----------
    path : str or Path
        The cassette file (YAML), e.g. ``"cassettes/q3-report.yaml"``.
    mode : str
        vcrpy record mode: ``"once"`` (default: record if the file is missing, else
        replay only), ``"none"`` (replay only), ``"new_episodes"`` or ``"all"``.

    Yields
    ------
    vcr.cassette.Cassette
        The cassette (``len(cassette)`` recorded interactions, ``cassette.play_count``).

    Examples
    --------
    >>> import crmframe                                   # doctest: +SKIP
    >>> with crmframe.recording("cassettes/report.yaml"):  # doctest: +SKIP
    ...     leads = crm.read_records("Leads")
    """
    import vcr  # recording only: keeps vcrpy's patching out of plain imports

    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    recorder = vcr.VCR(**vcr_config())
    with recorder.use_cassette(str(target), record_mode=mode) as cassette:
        yield cassette
