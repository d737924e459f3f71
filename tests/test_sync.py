"""End-to-end syncs through the CLI against a real local blog server."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from ownfeed.archive import Archive
from ownfeed.cli import cli
from ownfeed.demo.images import png
from ownfeed.lock import ArchiveLock
from tests.httpserver import Reply, Request, TestServer

DATA = Path(__file__).parent / "data"
POST_PATH = "/2009/11/12/social-media-ohne-vertrauen-ist-wie-sex-ohne-liebe/"


class Blog:
    """The PHP-warnings WordPress feed and its comment feed, served with validators."""

    def __init__(self, server: TestServer) -> None:
        self.server = server
        self.feed = (
            (DATA / "wordpress-rss2-php-warnings.xml")
            .read_text(encoding="utf-8")
            .replace("https://www.waide.de", server.base_url)
            .replace("https://tracker.invalid", server.base_url)
            .replace("<slash:comments>0</slash:comments>", "<slash:comments>3</slash:comments>")
        )
        self.comments = (DATA / "wordpress-comments-feed.xml").read_text(encoding="utf-8")
        self.page_status = 200
        server.route("/feed/", self._validated(lambda: self.feed, "text/html; charset=UTF-8"))
        server.route(
            POST_PATH + "feed/", self._validated(lambda: self.comments, "application/rss+xml")
        )
        server.route(POST_PATH, lambda _r: Reply("<html>post</html>", status=self.page_status))
        server.route(
            "/wp-content/uploads/2009/11/trust.jpg",
            Reply(png(8, 8, (200, 10, 10)), content_type="image/png"),
        )

    def _validated(self, body, content_type):
        def handler(request: Request) -> Reply:
            text = body()
            etag = f'"{abs(hash(text))}"'
            if request.headers.get("if-none-match") == etag:
                return Reply(b"", status=304, headers={"ETag": etag})
            return Reply(text, content_type=content_type, headers={"ETag": etag})

        return handler


@pytest.fixture
def blog(server):
    return Blog(server)


def make_config(tmp_path: Path, server: TestServer, extra: str = "", timeout: float = 5) -> Path:
    path = tmp_path / "ownfeed.toml"
    path.write_text(
        f"""timeout = {timeout}
[[sources]]
name = "blog"
type = "feed"
url = "{server.url("/feed/")}"
comments = true
{extra}""",
        encoding="utf-8",
    )
    return path


def run(config: Path, *args: str):
    return CliRunner().invoke(cli, ["-c", str(config), *args], catch_exceptions=False)


def archive_rows(config: Path, sql: str, params=()):
    with Archive(config.parent / "archive.db") as archive:
        return [dict(r) for r in archive.query(sql, params)]


def test_blog_with_php_warnings_comments_and_pingbacks(tmp_path, server, blog):
    config = make_config(tmp_path, server)
    result = run(config, "sync")
    assert result.exit_code == 0, result.output
    posts = archive_rows(config, "SELECT * FROM posts ORDER BY published_at")
    own = [p for p in posts if p["is_own"]]
    comments = [p for p in posts if not p["is_own"]]
    assert len(own) == 1 and own[0]["title"].startswith("Social Media ohne Vertrauen")
    assert len(comments) == 3
    assert {c["thread_root"] for c in comments} == {own[0]["id"]}
    assert {c["in_reply_to"] for c in comments} == {own[0]["id"]}
    assert "pingback" in {c["kind"] for c in comments}
    assert all(c["title"] is None for c in comments)  # "Von: …" is not a title
    media = archive_rows(config, "SELECT * FROM media WHERE post_id = ?", (own[0]["id"],))
    assert len(media) == 1  # the tracker pixel inside <script> is no image
    assert media[0]["alt"] == "Social Media ohne Vertrauen"
    assert (tmp_path / "media" / media[0]["local_path"]).read_bytes()[:4] == b"\x89PNG"
    assert media[0]["local_path"].split("/")[-1].startswith(media[0]["sha256"])


def test_failed_media_download_is_recorded_and_retried(tmp_path, server, blog):
    image = "/wp-content/uploads/2009/11/trust.jpg"
    server.route(image, Reply("gone", status=404))
    config = make_config(tmp_path, server)
    assert run(config, "sync").exit_code == 0  # a media failure never fails the source
    media = archive_rows(config, "SELECT * FROM media")[0]
    assert media["local_path"] is None and "404" in media["error"]
    server.route(image, Reply(png(8, 8, (1, 2, 3)), content_type="image/png"))
    assert run(config, "sync").exit_code == 0
    media = archive_rows(config, "SELECT * FROM media")[0]
    assert media["local_path"] and media["error"] is None


def test_unchanged_resync_is_conditional_adds_nothing_and_is_quiet(tmp_path, server, blog):
    config = make_config(tmp_path, server)
    assert run(config, "sync", "--quiet").exit_code == 0
    before = archive_rows(config, "SELECT count(*) AS n FROM post_versions")[0]["n"]
    server.requests.clear()
    result = run(config, "sync", "--quiet")
    assert result.exit_code == 0
    assert result.output == ""
    feed_requests = server.requests_to("/feed/")
    assert len(feed_requests) == 1 and "if-none-match" in feed_requests[0].headers
    assert archive_rows(config, "SELECT count(*) AS n FROM post_versions")[0]["n"] == before
    runs = archive_rows(config, "SELECT * FROM source_runs ORDER BY run_id DESC LIMIT 1")
    assert runs[0]["new"] == 0 and runs[0]["updated"] == 0


def test_edited_post_keeps_its_first_version(tmp_path, server, blog):
    config = make_config(tmp_path, server)
    run(config, "sync")
    blog.feed = blog.feed.replace("Diesen Satz habe ich gestern", "Diesen Satz habe ich neulich")
    assert run(config, "sync").exit_code == 0
    post = archive_rows(config, "SELECT * FROM posts WHERE is_own = 1")[0]
    assert post["versions"] == 2
    versions = archive_rows(
        config,
        "SELECT * FROM post_versions WHERE post_id = ? ORDER BY version",
        (post["id"],),
    )
    assert "gestern" in versions[0]["content_html"]
    assert "neulich" in versions[1]["content_html"]


def test_verify_marks_a_410_post_gone_and_keeps_it(tmp_path, server, blog):
    config = make_config(tmp_path, server)
    run(config, "sync")
    blog.page_status = 410
    assert run(config, "sync", "--verify").exit_code == 0
    post = archive_rows(config, "SELECT * FROM posts WHERE is_own = 1")[0]
    assert post["gone_at"] is not None and "410" in post["gone_reason"]
    assert post["content_html"]
    blog.page_status = 200
    run(config, "sync", "--verify")
    assert archive_rows(config, "SELECT gone_at FROM posts WHERE is_own = 1")[0]["gone_at"] is None


def test_verify_ignores_other_errors(tmp_path, server, blog):
    config = make_config(tmp_path, server)
    run(config, "sync")
    blog.page_status = 403
    run(config, "sync", "--verify")
    assert archive_rows(config, "SELECT gone_at FROM posts WHERE is_own = 1")[0]["gone_at"] is None


def test_broken_sources_fail_alone_with_one_line(tmp_path, server, blog):
    server.route("/500", Reply("boom", status=500))
    server.route(
        "/page",
        Reply(
            "<html><head><title>x</title></head><body>hi</body></html>", content_type="text/html"
        ),
    )
    server.route("/hang", Reply("late", delay=3))
    extra = "".join(
        f'\n[[sources]]\nname = "{name}"\ntype = "feed"\nurl = "{server.url(path)}"\n'
        for name, path in (("five-hundred", "/500"), ("no-feed", "/page"), ("silent", "/hang"))
    )
    config = make_config(tmp_path, server, extra, timeout=0.5)
    started = time.monotonic()
    result = CliRunner().invoke(cli, ["-c", str(config), "sync", "--quiet"])
    assert time.monotonic() - started < 15
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    lines = result.output.strip().splitlines()
    assert sorted(line.split(":")[0] for line in lines) == ["five-hundred", "no-feed", "silent"]
    assert "500" in next(line for line in lines if line.startswith("five-hundred"))
    assert "feed" in next(line for line in lines if line.startswith("no-feed"))
    assert "timed out" in next(line for line in lines if line.startswith("silent"))
    sources = {r["name"]: r for r in archive_rows(config, "SELECT * FROM sources")}
    assert sources["blog"]["last_error"] is None and sources["blog"]["failures"] == 0
    for name in ("five-hundred", "no-feed", "silent"):
        assert sources[name]["failures"] == 1 and "\n" not in sources[name]["last_error"]
    assert archive_rows(config, "SELECT count(*) AS n FROM posts")[0]["n"] == 4
    status = json.loads(run(config, "status", "--json").output)
    failing = {s["name"] for s in status["sources"] if s["failures"]}
    assert failing == {"five-hundred", "no-feed", "silent"}
    assert status["runs"][0]["status"] == "partial"


def test_json_summary(tmp_path, server, blog):
    config = make_config(tmp_path, server)
    data = json.loads(run(config, "sync", "--json").output)
    assert data["status"] == "ok"
    assert data["sources"][0]["source"] == "blog" and data["sources"][0]["new"] == 4


def test_second_sync_exits_75_while_one_holds_the_lock(tmp_path, server, blog):
    config = make_config(tmp_path, server)
    with ArchiveLock(tmp_path / "archive.db"):
        result = CliRunner().invoke(cli, ["-c", str(config), "sync"])
    assert result.exit_code == 75
    assert "another sync is running" in result.output
    assert run(config, "sync").exit_code == 0


def test_sigkill_midway_leaves_a_sound_archive(tmp_path, server, blog):
    slow_calls = []

    def slow(request: Request) -> Reply:
        slow_calls.append(request)
        if len(slow_calls) == 1:
            time.sleep(30)
        return Reply(
            (DATA / "feed" / "wordpress-rss2.xml").read_bytes(), content_type="application/rss+xml"
        )

    server.route("/slow", slow)
    extra = f'\n[[sources]]\nname = "slow"\ntype = "feed"\nurl = "{server.url("/slow")}"\n'
    config = make_config(tmp_path, server, extra, timeout=60)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent)}
    process = subprocess.Popen(
        [sys.executable, "-m", "ownfeed", "-c", str(config), "sync", "--quiet"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    database = tmp_path / "archive.db"
    deadline = time.monotonic() + 20
    committed = 0
    while time.monotonic() < deadline and committed == 0:
        time.sleep(0.1)
        if database.exists():
            try:
                with sqlite3.connect(database) as conn:
                    committed = conn.execute("SELECT count(*) FROM posts").fetchone()[0]
            except sqlite3.Error:
                committed = 0
    assert committed == 4, "the blog should be committed while the slow source is in flight"
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=10)
    with Archive(database) as archive:
        assert archive.integrity_ok()
        assert archive.one("SELECT count(*) FROM posts WHERE source = 'blog'")[0] == 4
    result = run(config, "sync")  # the stale lock of the killed process is taken over
    assert result.exit_code == 0, result.output
    with Archive(database) as archive:
        assert archive.one("SELECT count(*) FROM posts WHERE source = 'slow'")[0] > 0
