"""The examples in the client's docstrings run and give what they show."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = [
    "crmframe.http.datacenters",
    "crmframe.http.redact",
    "crmframe.http.retry",
    "crmframe.http.auth",
    "crmframe.http.client",
    "crmframe.http.paging",
    "crmframe.http.bulk",
    "crmframe.http.recording",
    "crmframe.facade.crm",
    "crmframe.core.bulkcsv",
]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS, report=True)
    assert result.attempted > 0, f"{name} has no examples"
    assert result.failed == 0, f"{result.failed} example(s) failed in {name}"
