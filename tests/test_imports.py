"""What a start-up imports: an export (issue #4, timed as a whole process) must not load the
sync's HTTP client, asyncio, rich or sqlite-utils. Each check runs a fresh interpreter, so a
module imported by another test cannot hide an eager import (or fake one)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from ownfeed.archive import Archive
from ownfeed.export import pages

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


def test_the_source_keys_table_is_what_each_class_takes():
    from ownfeed.sources.registry import SOURCE_KEYS, SOURCE_TYPES, source_class

    assert set(SOURCE_KEYS) == set(SOURCE_TYPES)
    for type_name in SOURCE_TYPES:
        assert source_class(type_name).keys is SOURCE_KEYS[type_name], type_name


SITES = [
    pages.Site("Us", "", "en", ""),
    pages.Site("<Us> & 'them' \"quoted\"", "About <us> & 'them'", 'de"x', "https://us.example/"),
    pages.Site("Ünïcode — ok", "{{ not a template }}", "fr", "https://us.example/sub/"),
]


@pytest.mark.parametrize("site", SITES)
def test_python_search_page_equals_the_template(site: pages.Site) -> None:
    """search.html is rendered in Python (so an export needs no jinja2): the same bytes."""
    jinja, python = pages.Templates(python=False), pages.Templates()
    assert python.python_search and not jinja.python_search
    for root in ("", "../", "<r>/"):
        for canonical in (None, "", "https://us.example/search.html?a=1&b=2"):
            context = {"site": site, "root": root, "canonical": canonical}
            assert python.render("search.html", **context) == jinja.render("search.html", **context)


@pytest.mark.parametrize("name", ["search.html", "base.html"])
def test_a_theme_changing_the_search_page_gets_jinja(tmp_path: Path, name: str) -> None:
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / name).write_text("themed {{ site.title }}\n", encoding="utf-8")
    templates = pages.Templates(tmp_path)
    assert not templates.python_search
    html = templates.render("search.html", site=SITES[0], root="", canonical=None)
    assert html == "themed Us\n"


def test_rss_dates_are_what_email_utils_writes() -> None:
    """feeds.py formats RFC 822 dates itself rather than import email.utils."""
    import random
    from datetime import UTC, datetime, timedelta
    from email.utils import format_datetime

    from ownfeed.export.feeds import _rfc822

    rng = random.Random(4)
    start = datetime(1, 1, 1, tzinfo=UTC)
    moments = [start, datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)]
    moments += [start + timedelta(seconds=rng.randrange(315_537_897_599)) for _ in range(2000)]
    for moment in moments:
        expected = format_datetime(moment, usegmt=True)
        assert _rfc822(moment.isoformat()) == expected
        assert _rfc822(moment.replace(tzinfo=None).isoformat()) == expected  # naive: UTC
    assert _rfc822("2024-03-06T01:30:00+02:00") == "Tue, 05 Mar 2024 23:30:00 GMT"
    assert _rfc822("2024-03-05T14:02:09.5Z") == "Tue, 05 Mar 2024 14:02:09 GMT"
    assert _rfc822("not a date") is None
