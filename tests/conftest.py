"""Suite-wide fixtures: tests are hermetic (no Zoho credentials leak in from the environment)."""

from __future__ import annotations

import os

import pytest
from hypothesis import settings

# On CI the property-based tests replay the same examples every run (a seed per test), so a
# submission is judged on what was tested before it; locally they explore new examples.
settings.register_profile("ci", derandomize=True, database=None)
if os.environ.get("CI"):
    settings.load_profile("ci")


@pytest.fixture(autouse=True)
def _clean_zoho_environ(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("ZOHO_CLIENT_ID", "ZOHO_CLIENT_SECRET", "ZOHO_REFRESH_TOKEN",
                 "ZOHO_DATA_CENTER", "ZOHO_API_VERSION", "ZOHO_ACCESS_TOKEN", "ZOHO_API_DOMAIN"):
        monkeypatch.delenv(name, raising=False)
