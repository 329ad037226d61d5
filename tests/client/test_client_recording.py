"""crmframe.recording: a report records once against the API and replays offline, scrubbed."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from clienthelpers import no_wait_retry
from vcr.errors import CannotOverwriteExistingCassetteException

from crmframe.facade.crm import connect
from crmframe.http.recording import recording

OFFLINE = {"client_id": "someone-else", "client_secret": "another-secret",
           "refresh_token": "another-refresh", "accounts_url": "http://127.0.0.1:9",
           "api_domain": "http://127.0.0.1:9"}


def report(crm) -> pd.DataFrame:  # the notebook's API calls
    return crm.read_records("Leads", ["Last_Name", "No_of_Employees", "Owner"], limit=450)


@pytest.mark.sandbox
def test_record_once_then_replay_offline(tmp_path: Path) -> None:
    from crmframe.sandbox import start

    cassette = tmp_path / "report.yaml"
    with start(records=600, seed=2) as server:
        credentials = dict(server.credentials)
        with recording(cassette) as tape, connect(**credentials, retry=no_wait_retry()) as crm:
            first = report(crm)
        assert len(tape) >= 4  # token, fields, count, pages
    text = cassette.read_text()
    assert credentials["client_secret"] not in text
    assert credentials["refresh_token"] not in text
    assert "Zoho-oauthtoken" not in text

    # The server is gone and the credentials differ: everything comes from the cassette.
    with recording(cassette) as tape, connect(**OFFLINE, retry=no_wait_retry()) as crm:
        again = report(crm)
        assert tape.play_count == len(tape)
    pd.testing.assert_frame_equal(again, first)
    assert len(first) == 450

    with recording(cassette, mode="none"), connect(**OFFLINE) as crm, pytest.raises(
        CannotOverwriteExistingCassetteException
    ):
        crm.read_records("Contacts", ["Last_Name"])
