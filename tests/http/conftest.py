from __future__ import annotations

import pytest
from httpfakes import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()
