"""closest/did_you_mean: the suggestions every 'unknown name' message shares."""

from __future__ import annotations

import pytest

from crmframe.core.names import closest, did_you_mean

MODULES = ["Leads", "Contacts", "Accounts", "Deals", "Tasks", "Campaigns", "Vendors"]
FIELDS = ["Lead_Status", "Lead_Source", "Last_Name", "First_Name", "Phone", "Mobile"]


@pytest.mark.parametrize(
    ("typed", "candidates", "expected"),
    [
        ("Leds", MODULES, ["Leads"]),
        ("leads", MODULES, ["Leads"]),
        ("Contact", MODULES, ["Contacts"]),
        ("lead status", FIELDS, ["Lead_Status"]),
        ("LEAD-SOURCE", FIELDS, ["Lead_Source"]),
        ("Lead_Stats", FIELDS, ["Lead_Status"]),
        ("Xyzzy", MODULES, []),
    ],
)
def test_closest(typed: str, candidates: list[str], expected: list[str]) -> None:
    assert closest(typed, candidates)[: len(expected) or None] == expected


def test_the_name_itself_is_no_suggestion() -> None:
    assert "Leads" not in closest("Leads", MODULES)


def test_did_you_mean_text() -> None:
    assert did_you_mean("Leds", MODULES) == "did you mean 'Leads'?"
    assert did_you_mean("Nothing like it", MODULES) == ""
    two = did_you_mean("Lead_Sour", ["Lead_Source", "Lead_Sources"])
    assert two == "did you mean 'Lead_Source' or 'Lead_Sources'?"


def test_closest_takes_any_iterable_and_skips_none() -> None:
    assert closest("Phon", iter([None, "Phone", 3])) == ["Phone"]
