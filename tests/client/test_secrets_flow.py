"""A realistic run, scanned for the live secrets: nothing may hold a token, the refresh
token or the client secret — not a log line of any logger at DEBUG, not a message, repr,
cassette, journal or result.

The flow: connect with a refresh token to a sandbox (random credentials), read, push with a
journal, record a cassette during which the tokens are revoked (a refresh is recorded),
provoke errors (a refused refresh token, a misplaced secret, an unknown module, a token
rejected after refreshes), with every logger of every library at DEBUG.
"""

from __future__ import annotations

import io
import logging
from pathlib import Path

import pandas as pd
import pytest

import crmframe
from crmframe.errors import CrmframeError


def _every_logger_at_debug() -> tuple[logging.Handler, io.StringIO, dict[str, int]]:
    import requests  # noqa: F401 - their loggers exist before levels are set
    import urllib3  # noqa: F401
    import vcr  # noqa: F401
    import werkzeug  # noqa: F401

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setLevel(logging.DEBUG)
    handler.setFormatter(logging.Formatter("%(name)s %(levelname)s %(message)s"))
    levels = {"": logging.root.level}
    logging.root.addHandler(handler)
    logging.root.setLevel(logging.DEBUG)
    for name, logger in list(logging.root.manager.loggerDict.items()):
        if isinstance(logger, logging.Logger):
            levels[name] = logger.level
            logger.setLevel(logging.DEBUG)
    return handler, stream, levels


def test_a_full_run_leaks_no_secret_anywhere(tmp_path: Path) -> None:
    from crmframe.sandbox import start

    handler, stream, levels = _every_logger_at_debug()
    seen: list[str] = []  # every text a user could see, besides the logs
    issued: list[str] = []
    try:
        with start(records=300) as server:
            mint = server.oauth.mint

            def minting(ttl: float | None = None) -> str:
                token = mint(ttl)
                issued.append(token)
                return token

            server.oauth.mint = minting  # type: ignore[method-assign]
            creds = server.credentials
            crm = crmframe.connect(**creds)
            try:
                leads = crm.read_records("Leads", ["Last_Name", "City", "Modified_Time"],
                                         progress=False)
                edited = leads.copy()
                edited.loc[edited.index[:30], "City"] = "Scanned"
                journal = tmp_path / "push.jsonl"
                result = crm.push(edited, leads, journal=journal, progress=False)
                seen += [repr(result), result._repr_html_(), result.results.to_csv(),
                         repr(crm), repr(crm.client), repr(crm.client.auth)]
                cassette = tmp_path / "run.yaml"
                with crmframe.recording(cassette):
                    server.revoke_tokens()  # the next call is refused: a refresh is recorded
                    crm.read_records("Leads", ["City"], ids=list(leads.index[:5]),
                                     progress=False)
                assert crm.client.auth.refresh_count >= 2
                for attempt in (
                    lambda: crm.read_records("NoSuchModule", progress=False),
                    lambda: crmframe.connect(**{**creds, "refresh_token": creds["client_secret"]})
                    .read_records("Leads", progress=False),
                    lambda: crmframe.connect(access_token=creds["refresh_token"],
                                             api_domain=creds["client_secret"]),
                    lambda: crmframe.connect(access_token=issued[0], data_center=issued[0]),
                    lambda: crmframe.connect(access_token=issued[0], api_domain=server.url)
                    .read_records("Leads", progress=False),
                ):
                    with pytest.raises(CrmframeError) as caught:
                        attempt()
                    seen += [str(caught.value), repr(caught.value),
                             repr(getattr(caught.value, "envelope", None))]
            finally:
                crm.close()
            files = [cassette.read_text(encoding="utf-8"), journal.read_text(encoding="utf-8")]
    finally:
        logging.root.removeHandler(handler)
        for name, level in levels.items():
            logging.getLogger(name or None).setLevel(level)
    logs = stream.getvalue()
    for library in ("vcr.cassette", "urllib3", "crmframe.http"):  # all were on
        assert library in logs
    assert len(issued) >= 2  # the first token and the one refreshed while recording
    secrets = [creds["client_secret"], creds["refresh_token"], *issued]
    for where, text in [("logs", logs), ("cassette", files[0]), ("journal", files[1]),
                        *(("seen", t) for t in seen)]:
        for secret in secrets:
            assert secret not in text, f"a secret in the {where}"
    assert isinstance(leads, pd.DataFrame)
