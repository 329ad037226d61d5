"""``format_datetime`` (memoised per day for seeding speed) against ``datetime``."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, timezone

from crmframe.sandbox.clock import format_datetime, parse_datetime


def _reference(epoch: float, offset_minutes: int) -> str:
    tz = timezone(timedelta(minutes=offset_minutes))
    return datetime.fromtimestamp(int(epoch), tz).isoformat()


def test_format_datetime_matches_datetime_across_days_and_offsets() -> None:
    rng = random.Random(7)
    offsets = [330, -420, 0, 60, -300, 540, 120, -180, -570, 45, 765, -720]
    epochs = [0.0, 86_399.0, 86_400.0, -1.0, 951_782_400.0, 4_107_542_399.0]
    epochs += [rng.uniform(-2e9, 5e9) for _ in range(5000)]
    for epoch in epochs:
        for offset in offsets:
            text = format_datetime(epoch, offset)
            assert text == _reference(epoch, offset), (epoch, offset)
            assert parse_datetime(text) == float(int(epoch))
