"""Suite-wide fixtures: tests are hermetic (no Zoho credentials leak in from the environment)."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _clean_zoho_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ZOHO_CLIENT_ID", "ZOHO_CLIENT_SECRET", "ZOHO_REFRESH_TOKEN",
                 "ZOHO_DATA_CENTER", "ZOHO_API_VERSION", "ZOHO_ACCESS_TOKEN", "ZOHO_API_DOMAIN"):
        monkeypatch.delenv(name, raising=False)
