"""Helpers for the core tests: the Zoho sample envelopes copied into ``tests/fixtures/zoho``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "zoho"


def fixture_names() -> list[str]:
    """Every fixture file name (without ``.json``), sorted."""
    return sorted(p.stem for p in FIXTURES.glob("*.json"))


def load_fixture(name: str) -> dict[str, Any]:
    """One fixture: ``{"source", "name", "http_status", "functions", "error_code", "body"}``."""
    with (FIXTURES / f"{name}.json").open(encoding="utf-8") as handle:
        fixture: dict[str, Any] = json.load(handle)
    return fixture


def body(name: str) -> Any:
    """The envelope of one fixture."""
    return load_fixture(name)["body"]
