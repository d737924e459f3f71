"""Fixtures the source tests share."""

from __future__ import annotations

import pytest

from ownfeed.sources import ratelimit


@pytest.fixture
def pauses(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The seconds each rate-limit pause would have waited; the pauses themselves are skipped."""
    waited: list[float] = []

    async def record(seconds: float) -> None:
        waited.append(seconds)

    monkeypatch.setattr(ratelimit, "pause", record)
    return waited
