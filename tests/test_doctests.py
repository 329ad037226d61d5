"""Every example in crmframe's docstrings runs and gives what it shows.

Modules are discovered (any module whose source contains ``>>>``), so a new module's
examples are tested without anyone adding it to a list.
"""

from __future__ import annotations

import doctest
import importlib
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "crmframe"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = sorted(
    module_name(path)
    for path in PACKAGE.rglob("*.py")
    if path.name != "__main__.py" and ">>>" in path.read_text(encoding="utf-8")
)

# Modules whose documentation promises examples: each must keep at least one.
WITH_EXAMPLES = {
    "crmframe.core.bulkcsv", "crmframe.core.codecs", "crmframe.core.mappings",
    "crmframe.core.records", "crmframe.core.results", "crmframe.samples",
    "crmframe.demo", "crmframe.facade.crm", "crmframe.facade.jobs", "crmframe.http.auth",
    "crmframe.http.bulk", "crmframe.http.client", "crmframe.http.datacenters",
    "crmframe.http.paging", "crmframe.http.recording", "crmframe.http.redact",
    "crmframe.http.retry", "crmframe.plots", "crmframe.polling", "crmframe.widgets",
}


def test_discovery_finds_the_documented_modules() -> None:
    assert set(MODULES) >= WITH_EXAMPLES


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS)
    assert result.failed == 0, f"{result.failed} example(s) failed in {name}"
    if name in WITH_EXAMPLES:
        assert result.attempted > 0, f"{name} has no examples"
