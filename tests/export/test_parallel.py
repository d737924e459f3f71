"""Forked page helpers: a user's mistake raised in a helper reaches the export as itself."""

from __future__ import annotations

import gc
import os
import time

import pytest

from ownfeed.errors import ThemeError
from ownfeed.export import parallel

pytestmark = pytest.mark.skipif(parallel.helper_count() == 0, reason="needs fork and a second core")


@pytest.mark.parametrize(
    "raised, expected, said",
    [
        (ThemeError("theme template base.html:2: broken"), ThemeError, r"^theme template base"),
        (ValueError("a bug of ours"), RuntimeError, r"(?s)failed in a helper.*ValueError"),
    ],
    ids=["user-mistake-as-itself", "bug-with-its-trace"],
)
def test_a_helper_failure_reaches_the_export(
    raised: Exception, expected: type[Exception], said: str
) -> None:
    parent = os.getpid()

    def render(number: int) -> None:
        if os.getpid() != parent:
            raise raised
        time.sleep(0.2)  # the main process is slow: the helper takes chunks too

    try:
        helpers = parallel.Helpers(8, 1, lambda: None, render, lambda: "report")
        with pytest.raises(expected, match=said):
            helpers.finish()
    finally:
        gc.unfreeze()


def test_finish_reports_the_tasks_taken_as_it_renders() -> None:
    taken: list[int] = []
    try:
        helpers = parallel.Helpers(12, 1, lambda: None, lambda number: time.sleep(0.02), list)
        helpers.finish(taken.append)
    finally:
        gc.unfreeze()
    assert taken and taken == sorted(taken) and taken[0] >= 1 and taken[-1] <= 12
