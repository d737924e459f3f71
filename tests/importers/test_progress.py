"""Progress while importing: run_import's callback, the CLI's bar on a terminal, the summary."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import click.testing
import pytest
from click.testing import CliRunner

from ownfeed.archive import Archive
from ownfeed.cli import cli
from ownfeed.importers import run_import
from ownfeed.media import MediaStore
from tests.importers import DATA

ROOT = Path(__file__).parents[2]


def _generated(tmp_path: Path, tweets: int) -> Path:
    """An archive from the import benchmark's generator (so the benchmark stays runnable)."""
    spec = importlib.util.spec_from_file_location(
        "import_speed", ROOT / "benchmarks/import_speed.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["import_speed"] = module
    try:
        spec.loader.exec_module(module)
        path = tmp_path / "generated.zip"
        made = module.generate(path, tweets, 50)
    finally:
        del sys.modules["import_speed"]
    assert (made.tweets, made.chains, made.media) == (tweets, tweets // 500, tweets // 50)
    return path


def test_progress_counts_entries_read_then_posts_written(archive: Archive, tmp_path: Path) -> None:
    path = _generated(tmp_path, 2600)
    calls: list[tuple[int, int | None]] = []
    report = run_import(
        archive,
        "twitter",
        path,
        source=None,
        source_type=None,
        media_store=MediaStore(tmp_path / "media"),
        progress=lambda done, total: calls.append((done, total)),
    )
    reading = [done for done, total in calls if total is None]
    writing = [(done, total) for done, total in calls if total is not None]
    assert reading == [1000, 2000]  # every 1000 entries of tweets.js and deleted-tweets.js
    total = report.posts + report.versions
    assert writing[0] == (0, total) and writing[-1] == (total, total)
    assert [done for done, _ in writing] == sorted(done for done, _ in writing)
    assert calls.index(writing[0]) > calls.index((2000, None))  # parsed before written
    # the generated archive: every tweet, edits as versions, deletions marked gone
    assert (report.new, report.versions, report.gone, report.media_copied) == (2602, 5, 2, 52)


def test_no_callback_is_fine(archive: Archive, tmp_path: Path) -> None:
    report = run_import(
        archive,
        "mastodon",
        DATA / "mastodon.zip",
        source=None,
        source_type=None,
        media_store=MediaStore(tmp_path / "media"),
    )
    assert report.new == 5


def _config(tmp_path: Path) -> Path:
    path = tmp_path / "ownfeed.toml"
    path.write_text('archive = "archive.db"\n', encoding="utf-8")
    return path


def test_the_cli_shows_a_bar_on_a_terminal(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(click.testing._NamedTextIOWrapper, "isatty", lambda self: True)
    result = CliRunner().invoke(
        cli, ["-c", str(_config(tmp_path)), "import", "facebook", str(DATA / "facebook.zip")]
    )
    assert result.exit_code == 0, result.output
    assert "writing posts" in result.stderr
    assert "7/7" in result.stderr
    assert result.stdout.strip() == (
        f"Imported {DATA / 'facebook.zip'}: 7 new, 0 updated, 0 unchanged, 0 gone; "
        "1 media file(s) copied"
    )
    assert result.stderr.count("warning: skipped 1 entries without text") == 1


def test_no_bar_when_not_on_a_terminal(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        cli, ["-c", str(_config(tmp_path)), "import", "linkedin", str(DATA / "linkedin.zip")]
    )
    assert result.exit_code == 0, result.output
    assert "writing posts" not in result.output
    assert result.stdout == (
        f"Imported {DATA / 'linkedin.zip'}: 4 new, 0 updated, 0 unchanged, 0 gone\n"
    )
    assert result.stderr == "warning: skipped 1 posts visible to connections only\n"


def test_a_broken_export_stops_the_bar_and_exits_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(click.testing._NamedTextIOWrapper, "isatty", lambda self: True)
    broken = tmp_path / "broken.zip"
    broken.write_bytes(b"PK\x03\x04 not really")
    result = CliRunner().invoke(
        cli, ["-c", str(_config(tmp_path)), "import", "instagram", str(broken)]
    )
    assert result.exit_code == 1
    assert "Error: instagram import of" in result.stderr
    assert "not a readable zip archive" in result.stderr
