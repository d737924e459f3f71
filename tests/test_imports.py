"""What a start-up imports: an export (issue #4, timed as a whole process) must not load the
sync's HTTP client, asyncio, rich or sqlite-utils. Each check runs a fresh interpreter, so a
module imported by another test cannot hide an eager import (or fake one)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from ownfeed.archive import Archive

#: Loaded by a sync, `add` or the terminal output; never needed to export.
SYNC_ONLY = ("httpx", "httpcore", "asyncio", "rich", "ownfeed.http", "ownfeed.netpolicy")
SQLITE_UTILS = "sqlite_utils"

CONFIG = """\
archive = "archive.db"

[export]
output = "site"

[[sources]]
name = "blog"
type = "feed"
url = "https://example.com/feed.xml"

[[sources]]
name = "social"
type = "mastodon"
account = "@us@example.social"

[[sources]]
name = "sky"
type = "bluesky"
account = "us.example.com"
"""


def loaded_after(code: str, cwd: Path | None = None) -> set[str]:
    """The modules a fresh interpreter holds after running `code`."""
    script = f"{code}\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))"
    result = subprocess.run(
        [sys.executable, "-c", script],
        cwd=cwd,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return set(json.loads(result.stdout.strip().splitlines()[-1]))


def assert_absent(loaded: set[str], names: tuple[str, ...]) -> None:
    present = sorted(name for name in names if name in loaded)
    assert not present, f"imported eagerly: {present}"


def test_the_export_path_imports_nothing_of_the_sync():
    loaded = loaded_after(
        "from ownfeed.export import build_site\n"
        "from ownfeed.archive import Archive\n"
        "from ownfeed.config import ExportConfig, load_config\n"
        "import ownfeed.cli"
    )
    assert_absent(loaded, (*SYNC_ONLY, SQLITE_UTILS))
    assert not any(
        name.startswith("ownfeed.sources.")
        for name in loaded
        - {
            "ownfeed.sources.base",
            "ownfeed.sources.registry",
        }
    )


def test_a_config_with_sources_loads_without_their_modules(tmp_path):
    (tmp_path / "ownfeed.toml").write_text(CONFIG, encoding="utf-8")
    loaded = loaded_after(
        "from ownfeed.config import load_config\n"
        "config = load_config('ownfeed.toml')\n"
        "assert [s.type for s in config.sources] == ['feed', 'mastodon', 'bluesky']",
        cwd=tmp_path,
    )
    assert_absent(loaded, (*SYNC_ONLY, "ownfeed.sources.feed", "ownfeed.sources.mastodon"))


def test_a_real_export_loads_no_sync_module_nor_sqlite_utils(tmp_path):
    (tmp_path / "ownfeed.toml").write_text(CONFIG, encoding="utf-8")
    Archive(tmp_path / "archive.db").close()  # created (and migrated) by sqlite-utils here
    loaded = loaded_after(
        "import sys\n"
        "from ownfeed.cli import cli\n"
        "try:\n"
        "    cli(['-c', 'ownfeed.toml', 'export'], prog_name='ownfeed')\n"
        "except SystemExit as end:\n"
        "    assert not end.code, end.code",
        cwd=tmp_path,
    )
    assert (tmp_path / "site" / "search.html").is_file()
    # jinja2 too: without a theme every page is rendered in Python; and multiprocessing:
    # an export this small forks no page helper
    assert_absent(loaded, (*SYNC_ONLY, SQLITE_UTILS, "jinja2", "multiprocessing"))
