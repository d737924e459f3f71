"""Fixtures the importer tests share."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ownfeed.archive import Archive


@pytest.fixture
def archive(tmp_path: Path) -> Iterator[Archive]:
    """A fresh archive in the test's folder, closed after the test."""
    with Archive(tmp_path / "archive.db") as db:
        yield db
