"""Shared fixtures: a real local HTTP server and the test data folder."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.httpserver import TestServer

DATA = Path(__file__).parent / "data"


@pytest.fixture
def server() -> Iterator[TestServer]:
    """A real HTTP server on 127.0.0.1, stopped after the test."""
    instance = TestServer().start()
    try:
        yield instance
    finally:
        instance.stop()


@pytest.fixture
def data_dir() -> Path:
    return DATA
