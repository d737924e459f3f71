"""The command line: help, init, add, sources, search, show, status, errors without tracebacks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from ownfeed.archive import Archive
from ownfeed.cli import cli
from tests.httpserver import Reply

DATA = Path(__file__).parent / "data"


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args))


@pytest.fixture
def initialised(tmp_path):
    result = invoke("init", str(tmp_path))
    assert result.exit_code == 0, result.output
    return tmp_path / "ownfeed.toml"


def test_help_lists_every_command():
    result = invoke("--help")
    assert result.exit_code == 0
    for command in (
        "init",
        "add",
        "sources",
        "sync",
        "import",
        "status",
        "search",
        "show",
        "export",
        "demo",
    ):
        assert command in result.output


def test_init_writes_config_and_archive(tmp_path, initialised):
    assert (tmp_path / "archive.db").exists()
    assert "[export]" in initialised.read_text()
    again = invoke("init", str(tmp_path))
    assert again.exit_code == 2 and "exists already" in again.output


def test_add_feed_url_and_html_page(server, initialised):
    server.route(
        "/feed/",
        Reply(
            (DATA / "feed" / "wordpress-rss2.xml").read_bytes(), content_type="application/rss+xml"
        ),
    )
    server.route(
        "/",
        Reply(
            '<html><head><link rel="alternate" type="application/atom+xml" '
            'href="/feed/"></head></html>',
            content_type="text/html",
        ),
    )
    first = invoke("-c", str(initialised), "add", server.url("/"), "--name", "blog")
    assert first.exit_code == 0, first.output
    second = invoke("-c", str(initialised), "add", server.url("/feed/"))
    assert second.exit_code == 0, second.output
    listing = json.loads(invoke("-c", str(initialised), "sources", "--json").output)
    assert [s["name"] for s in listing] == ["blog", "127-0-0-1"]
    assert all(s["locator"] == server.url("/feed/") for s in listing)
    assert "# Add sources with" in initialised.read_text()  # comments kept


def test_add_page_without_feed_is_a_clear_error(server, initialised):
    server.route("/", Reply("<html><head></head><body>hi</body></html>", content_type="text/html"))
    result = invoke("-c", str(initialised), "add", server.url("/"))
    assert result.exit_code == 2
    assert "no feed found" in result.output and "Traceback" not in result.output


def test_bad_config_is_one_line_and_exit_2(tmp_path):
    path = tmp_path / "ownfeed.toml"
    path.write_text("nonsense = 1\n")
    result = invoke("-c", str(path), "sync")
    assert result.exit_code == 2
    assert result.output.strip() == (
        f"Error: {path}:1: unknown key 'nonsense' in the config (known keys: archive, "
        "concurrency, export, links, media_dir, sources, timeout)"
    )


def test_unknown_source_name_is_a_usage_error(initialised):
    result = invoke("-c", str(initialised), "sync", "nope")
    assert result.exit_code == 2 and "no source named 'nope'" in result.output


def test_search_show_and_status_after_sync(server, tmp_path):
    server.route(
        "/feed/",
        Reply(
            (DATA / "feed" / "wordpress-rss2.xml").read_bytes(), content_type="application/rss+xml"
        ),
    )
    config = tmp_path / "ownfeed.toml"
    config.write_text(
        f'[[sources]]\nname = "blog"\ntype = "feed"\nurl = "{server.url("/feed/")}"\n'
        "comments = false\n"
    )
    assert invoke("-c", str(config), "sync", "--no-media").exit_code == 0
    with_json = json.loads(invoke("-c", str(config), "status", "--json").output)
    assert with_json["totals"]["posts"] > 0

    with Archive(tmp_path / "archive.db") as archive:
        row = archive.one("SELECT id, title FROM posts WHERE title IS NOT NULL LIMIT 1")
        title_word = row["title"].split()[0]
        post_id = row["id"]
    hits = json.loads(invoke("-c", str(config), "search", title_word, "--json").output)
    assert post_id in {h["id"] for h in hits}
    shown = json.loads(invoke("-c", str(config), "show", post_id[:8], "--json").output)
    assert set(shown) >= {"post", "thread", "versions", "media", "copies"}
    assert shown["post"]["id"] == post_id and shown["thread"][0]["depth"] == 0
    text = invoke("-c", str(config), "show", post_id)
    assert text.exit_code == 0 and row["title"][:20] in text.output
    missing = invoke("-c", str(config), "show", "doesnotexist")
    assert missing.exit_code == 1 and "no post" in missing.output


def test_search_with_fts_syntax_characters_does_not_crash(initialised):
    result = invoke("-c", str(initialised), "search", 'AND "OR (* -', "--json")
    assert result.exit_code == 0
    assert json.loads(result.output) == []


def test_export_short_output_option_and_warnings_on_stderr(tmp_path, initialised):
    site = tmp_path / "site"
    result = invoke("-c", str(initialised), "export", "-o", str(site), "--base-url", "")
    assert result.exit_code == 0, result.output
    assert (site / "index.html").is_file()
    assert f"Exported to {site}:" in result.stdout
    assert "warning: no base_url: sitemap.xml skipped" in result.stderr
    assert "warning" not in result.stdout


def test_export_to_a_folder_it_cannot_make_is_one_line(tmp_path, initialised):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    result = invoke("-c", str(initialised), "export", "--output", str(blocker / "site"))
    assert result.exit_code == 1
    assert result.stderr.startswith(f"Error: export to {blocker / 'site'} failed")
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.output and blocker.read_text() == "not a folder"


@pytest.mark.parametrize("value", ["javascript:alert(1)", "example.com/archive/"])
def test_export_refuses_a_base_url_that_is_no_web_address(tmp_path, initialised, value):
    site = tmp_path / "site"
    result = invoke("-c", str(initialised), "export", "-o", str(site), "--base-url", value)
    assert result.exit_code == 2
    assert "Invalid value for '--base-url': must be an absolute http(s) URL" in result.stderr
    assert not site.exists()


def test_init_into_a_folder_it_cannot_make_is_one_line(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    result = invoke("init", str(blocker / "sub"))
    assert result.exit_code == 1
    assert (
        result.stderr.strip()
        == f"Error: cannot write {blocker / 'sub' / 'ownfeed.toml'}: Not a directory"
    )


def test_export_quiet_prints_nothing_and_json_reports(tmp_path, initialised):
    site = tmp_path / "site"
    quiet = invoke("-c", str(initialised), "export", "-q", "-o", str(site), "--base-url", "")
    assert quiet.exit_code == 0 and quiet.output == ""
    assert (site / "index.html").is_file()
    result = invoke("-c", str(initialised), "export", "--json", "-o", str(site), "--base-url", "")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["output"] == str(site) and report["posts"] == 0
    assert report["files_written"] == 0 and report["unchanged"] > 0
    assert report["warnings"] == ["no base_url: sitemap.xml skipped, feed links relative"]


def test_export_while_another_export_writes_the_folder_exits_75(tmp_path, initialised):
    from ownfeed.export.writer import SiteLock

    site = tmp_path / "site"
    with SiteLock(site):
        result = invoke("-c", str(initialised), "export", "-o", str(site))
        assert result.exit_code == 75
        assert result.stderr.strip() == (
            f"Error: another export is writing {site}; run this one when it is done"
        )
        assert list(site.iterdir()) == []
    again = invoke("-c", str(initialised), "export", "-o", str(site))
    assert again.exit_code == 0, again.output
