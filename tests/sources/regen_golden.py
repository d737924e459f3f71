"""Rewrite tests/data/feed/*.expected.json from the current parser (review the diff!).

Usage: .venv/bin/python -m tests.sources.regen_golden [NAME...]
"""

from __future__ import annotations

import sys

from tests.sources.test_feedparse import CASES, dumps, render


def main(names: list[str]) -> None:
    for case in CASES:
        if names and case.name not in names:
            continue
        case.expected_path.write_text(dumps(render(case)), encoding="utf-8")
        print(f"wrote {case.expected_path}")


if __name__ == "__main__":
    main(sys.argv[1:])
