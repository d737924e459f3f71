"""`ownfeed import` from the command line: summary, idempotence, broken files, exit codes."""

from __future__ import annotations

import shutil
from pathlib import Path

from click.testing import CliRunner

from ownfeed.archive import Archive
from ownfeed.cli import cli

DATA = Path(__file__).parent / "data" / "import"


def config_in(tmp_path: Path) -> Path:
    path = tmp_path / "ownfeed.toml"
    path.write_text('archive = "archive.db"\n', encoding="utf-8")
    return path


def count(tmp_path: Path) -> int:
    with Archive(tmp_path / "archive.db") as archive:
        return archive.one("SELECT count(*) FROM posts")[0]


def test_import_twice_is_a_no_op(tmp_path):
    config = config_in(tmp_path)
    first = CliRunner().invoke(
        cli, ["-c", str(config), "import", "twitter", str(DATA / "twitter.zip")]
    )
    assert first.exit_code == 0, first.output
    assert "new" in first.output
    posts = count(tmp_path)
    assert posts > 0
    second = CliRunner().invoke(
        cli, ["-c", str(config), "import", "twitter", str(DATA / "twitter.zip")]
    )
    assert second.exit_code == 0 and " 0 new" in second.output
    assert count(tmp_path) == posts
    with Archive(tmp_path / "archive.db") as archive:
        source = archive.one("SELECT type FROM sources WHERE name = 'twitter-import'")
        assert source["type"] == "import"


def test_broken_archive_exits_1_and_writes_nothing(tmp_path):
    config = config_in(tmp_path)
    CliRunner().invoke(cli, ["-c", str(config), "import", "wordpress", str(DATA / "wordpress.xml")])
    before = count(tmp_path)
    broken = tmp_path / "broken.zip"
    data = (DATA / "twitter.zip").read_bytes()
    broken.write_bytes(data[: len(data) // 2])
    result = CliRunner().invoke(cli, ["-c", str(config), "import", "twitter", str(broken)])
    assert result.exit_code == 1
    assert result.output.startswith("Error: twitter import of")
    assert len(result.output.strip().splitlines()) == 1
    assert count(tmp_path) == before


def test_unknown_kind_and_unknown_source_are_usage_errors(tmp_path):
    config = config_in(tmp_path)
    shutil.copy(DATA / "wordpress.xml", tmp_path / "wp.xml")
    kind = CliRunner().invoke(
        cli, ["-c", str(config), "import", "myspace", str(tmp_path / "wp.xml")]
    )
    assert kind.exit_code == 2 and "unknown import kind" in kind.output
    source = CliRunner().invoke(
        cli,
        ["-c", str(config), "import", "wordpress", str(tmp_path / "wp.xml"), "--source", "nope"],
    )
    assert source.exit_code == 2 and "no source named 'nope'" in source.output
