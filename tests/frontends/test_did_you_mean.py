"""A mistyped module name gets the closest module API names of the org."""

from __future__ import annotations

import pytest

import crmframe
from crmframe.errors import InvalidModuleError

pytestmark = pytest.mark.sandbox


def test_invalid_module_suggests_the_closest_module() -> None:
    with crmframe.sandbox.start(records=20) as server, \
            crmframe.connect(**server.credentials) as crm:
        with pytest.raises(InvalidModuleError, match=r"did you mean 'Leads'\?") as caught:
            crm.read_records("Leds", progress=False)
        assert caught.value.code == "INVALID_MODULE"
        assert caught.value.http_status == 400
        with pytest.raises(InvalidModuleError, match=r"crm\.read_modules\(\) lists"):
            crm.read_fields("Qwertyuiop")
