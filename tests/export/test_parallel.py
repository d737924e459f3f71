"""Forked page helpers: a user's mistake raised in a helper reaches the export as itself."""

from __future__ import annotations

import gc
import os
import time

import pytest

from ownfeed.errors import ThemeError
from ownfeed.export import parallel

pytestmark = pytest.mark.skipif(parallel.helper_count() == 0, reason="needs fork and a second core")


def test_a_theme_error_in_a_helper_is_raised_as_it_is() -> None:
    parent = os.getpid()

    def render(number: int) -> None:
        if os.getpid() != parent:
            raise ThemeError(f"theme template base.html:2: broken in chunk {number}")
        time.sleep(0.2)  # the main process is slow: the helper takes chunks too

    try:
        helpers = parallel.Helpers(8, 1, lambda: None, render, lambda: "report")
        with pytest.raises(ThemeError, match=r"^theme template base.html:2: broken in chunk \d$"):
            helpers.finish()
    finally:
        gc.unfreeze()


def test_any_other_helper_failure_is_a_runtime_error_with_its_trace() -> None:
    parent = os.getpid()

    def render(number: int) -> None:
        if os.getpid() != parent:
            raise ValueError("a bug of ours")
        time.sleep(0.2)

    try:
        helpers = parallel.Helpers(8, 1, lambda: None, render, lambda: "report")
        with pytest.raises(RuntimeError, match=r"(?s)failed in a helper process.*ValueError"):
            helpers.finish()
    finally:
        gc.unfreeze()
