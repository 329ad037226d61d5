"""The Examples sections of the core modules run as written."""

from __future__ import annotations

import doctest
from types import ModuleType

import pytest

from crmframe import samples
from crmframe.core import codecs, mappings, records, results


@pytest.mark.parametrize("module", [codecs, records, results, mappings, samples],
                         ids=lambda m: m.__name__)
def test_examples(module: ModuleType) -> None:
    failed, attempted = doctest.testmod(module, optionflags=doctest.ELLIPSIS)
    assert attempted > 0
    assert failed == 0
