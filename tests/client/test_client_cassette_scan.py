"""Committed cassettes hold no secret: no token, no Authorization header, no credentials."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

CASSETTES = Path(__file__).resolve().parents[2] / "cassettes"
TOKEN_RE = re.compile(r"1000\.[0-9a-fA-F]{8,}")
# key=value in form bodies and query strings, "key": "value" in JSON (escaped or not)
PAIR_RE = r'{key}(?:\\?")?\s*[:=]\s*(?:\\?")?([^"&,\\\s}}]+)'


def cassettes() -> list[Path]:
    return sorted(CASSETTES.rglob("*.yaml"))


def test_the_flows_have_cassettes() -> None:
    names = {p.stem for p in cassettes()}
    assert {"test_token_refresh", "test_paging_past_2000_with_page_tokens",
            "test_more_than_50_fields_are_merged", "test_204_gives_an_empty_typed_frame",
            "test_429_then_success", "test_invalid_token_then_refresh"} <= names


@pytest.mark.parametrize("path", cassettes(), ids=lambda p: p.name)
def test_no_cassette_contains_a_token(path: Path) -> None:
    text = path.read_text(encoding="utf-8")
    assert not TOKEN_RE.search(text)
    assert "Zoho-oauthtoken" not in text
    assert not re.search(r"(?im)^\s*authorization:", text)
    for key in ("access_token", "refresh_token", "client_secret", "client_id"):
        for value in re.findall(PAIR_RE.format(key=key), text):
            assert value == "scrubbed", f"{key}={value!r} in {path.name}"


def test_the_scan_finds_a_planted_token() -> None:
    # Assembled at run time so that no token-shaped literal sits in the repository itself.
    fake = ".".join(["1000", "0123abcd4567ef", "89ab"])
    planted = 'body: {"access_token": "' + fake + '"}'
    assert TOKEN_RE.search(planted)
    assert re.findall(PAIR_RE.format(key="access_token"), planted) == [fake]
    assert re.findall(PAIR_RE.format(key="refresh_token"), "refresh_token=abc&x=1") == ["abc"]
