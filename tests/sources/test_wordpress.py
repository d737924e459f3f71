"""WordPressSource against a local WordPress site: REST, and the same site with REST closed."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from ownfeed.archive import Archive
from ownfeed.models import post_id, utcnow
from ownfeed.sources.registry import source_class
from ownfeed.sources.wordpress import WordPressSource, rest_url
from ownfeed.sources.wordpress_feed import atom_comments_url, page_url
from ownfeed.sync import SyncReport
from tests.httpserver import Reply, TestServer
from tests.sources.harness import ARCHIVE_FILE, query_rows, sync_entry
from tests.sources.wp_site import WpSite


def sync(
    tmp_path: Path, server: TestServer, *, full: bool = False, verify: bool = False, **options: Any
) -> SyncReport:
    """One `ownfeed sync` of the site into tmp_path/archive.db."""
    entry = {"name": "blog", "type": "wordpress", "url": server.url("/"), **options}
    return sync_entry(tmp_path, entry, full=full, verify=verify)


def snapshot(tmp_path: Path) -> set[tuple[Any, ...]]:
    """What must be equal whichever channel delivered the site: ids, threads, text."""
    found = query_rows(
        tmp_path,
        """SELECT p.native_id, p.kind, p.is_own, parent.native_id AS parent,
                  root.native_id AS root, p.content_text, p.title, p.url, p.published_at
           FROM posts p LEFT JOIN posts parent ON parent.id = p.in_reply_to
           LEFT JOIN posts root ON root.id = p.thread_root""",
    )
    return {tuple(row.values()) for row in found}


def paths(server: TestServer) -> list[str]:
    return [r.path for r in server.requests]


def test_registry_and_url_helpers() -> None:
    assert source_class("wordpress") is WordPressSource
    assert rest_url("https://s/wp-json/", "wp/v2/posts", {"page": 2}) == (
        "https://s/wp-json/wp/v2/posts?page=2"
    )
    assert rest_url("https://s/?rest_route=/", "wp/v2/posts", {"page": 2}) == (
        "https://s/?rest_route=%2Fwp%2Fv2%2Fposts&page=2"
    )
    assert page_url("https://s/feed/", 3) == "https://s/feed/?paged=3"
    assert page_url("https://s/?feed=rss2", 3) == "https://s/?feed=rss2&paged=3"
    assert atom_comments_url("https://s/a/feed/", None) == "https://s/a/feed/atom/"
    assert atom_comments_url("https://s/?p=3&feed=rss2", None) == "https://s/?p=3&feed=atom"


def test_rest_first_sync_gets_every_post_page_and_threaded_comment(
    server: TestServer, tmp_path: Path
) -> None:
    site = WpSite(server)
    report = sync(tmp_path, server)
    assert report.status == "ok", report.runs[0].error
    own = query_rows(tmp_path, "SELECT native_id, title FROM posts WHERE is_own = 1")
    assert len(own) == 252  # 250 posts and 2 pages
    assert {r["native_id"] for r in own} == {site.guid(p) for p in site.posts}
    assert "Post 1: Novosyx’s news & notes" in {r["title"] for r in own}
    comments = query_rows(tmp_path, "SELECT * FROM posts WHERE is_own = 0")
    assert len(comments) == len(site.comments())
    for post, comment in site.comments():
        row = next(
            r for r in comments if r["native_id"] == f"{site.guid(post)}#comment-{comment.id}"
        )
        parent = (
            f"{site.guid(post)}#comment-{comment.parent}" if comment.parent else site.guid(post)
        )
        assert row["in_reply_to"] == post_id("web", parent)
        assert row["thread_root"] == post_id("web", site.guid(post))
        assert row["url"] == f"{site.link(post)}#comment-{comment.id}"
        assert row["title"] is None
    # the REST index, 3 pages of posts, 1 of pages, 7 of comments: nothing else
    assert len(server.requests) == 1 + 3 + 1 + 7, paths(server)
    source = query_rows(tmp_path, "SELECT title, home_url FROM sources")[0]
    assert source["title"] == "Novosyx Blog"


@pytest.mark.parametrize("closed", ["401", "403", "404"])
def test_rest_closed_gives_the_same_rows_through_the_feed(
    server: TestServer, tmp_path: Path, closed: str
) -> None:
    site = WpSite(server)
    (tmp_path / "rest").mkdir()
    (tmp_path / "feed").mkdir()
    assert sync(tmp_path / "rest", server).status == "ok"
    site.rest = closed
    server.requests.clear()
    report = sync(tmp_path / "feed", server)
    assert report.status == "ok", report.runs[0].error
    assert report.runs[0].error is None  # no warnings: every comment feed held all
    via_rest, via_feed = snapshot(tmp_path / "rest"), snapshot(tmp_path / "feed")
    pages = {site.guid(p) for p in site.posts if p.kind == "page"}
    assert via_feed == {row for row in via_rest if row[0] not in pages}
    assert len([r for r in via_feed if r[2] == 1]) == 250
    assert len([r for r in via_feed if r[2] == 0]) == len(site.comments())
    feed_pages = [p for p in paths(server) if p.startswith("/feed/")]
    assert len(feed_pages) == 14  # 13 pages of 20, then the 404 that ends the walk


def test_plain_permalinks_use_the_advertised_rest_route(server: TestServer, tmp_path: Path) -> None:
    site = WpSite(server, posts=30)
    site.pretty = False
    report = sync(tmp_path, server)
    assert report.status == "ok", report.runs[0].error
    assert any("rest_route=%2Fwp%2Fv2%2Fposts" in p for p in paths(server))
    assert not any(p.startswith("/feed/") for p in paths(server))
    assert len(query_rows(tmp_path, "SELECT id FROM posts WHERE is_own = 1")) == 32


def test_unchanged_resync_costs_three_requests_via_rest(server: TestServer, tmp_path: Path) -> None:
    WpSite(server)
    sync(tmp_path, server)
    server.requests.clear()
    report = sync(tmp_path, server)
    assert report.runs[0].counts.new == 0
    assert report.runs[0].counts.updated == 0
    assert sorted(p.split("?")[0] for p in paths(server)) == [
        "/wp-json/wp/v2/comments",
        "/wp-json/wp/v2/pages",
        "/wp-json/wp/v2/posts",
    ]
    assert all("modified_after=" in p for p in paths(server) if "/comments" not in p)
    assert all("after=" in p for p in paths(server))


def test_unchanged_resync_costs_one_request_via_feed(server: TestServer, tmp_path: Path) -> None:
    site = WpSite(server)
    site.rest = "403"
    sync(tmp_path, server)
    server.requests.clear()
    report = sync(tmp_path, server)
    assert report.runs[0].counts.new == 0 and report.runs[0].counts.updated == 0
    assert paths(server) == ["/feed/"]  # answered 304; REST is asked again after 7 days
    assert report.runs[0].http_status == 304


def test_rest_edit_makes_a_version_and_new_comments_land(
    server: TestServer, tmp_path: Path
) -> None:
    site = WpSite(server, posts=20)
    sync(tmp_path, server)
    post = site.posts[4]
    post.text = "<p>Corrected body.</p>"
    post.modified = utcnow() - timedelta(hours=1)
    reply_to = post.comments[0]
    site.add_comment(
        post, "Late Reader", reply_to.id, "A late answer", utcnow() - timedelta(hours=2)
    )
    server.requests.clear()
    report = sync(tmp_path, server)
    assert report.runs[0].counts.new == 1
    assert report.runs[0].counts.updated == 1
    row = query_rows(
        tmp_path, "SELECT versions, content_text FROM posts WHERE native_id = ?", site.guid(post)
    )[0]
    assert row == {"versions": 2, "content_text": "Corrected body."}
    late = query_rows(
        tmp_path, "SELECT in_reply_to FROM posts WHERE content_text = 'A late answer'"
    )[0]
    assert late["in_reply_to"] == post_id("web", f"{site.guid(post)}#comment-{reply_to.id}")


def test_rest_recent_comment_deleted_is_marked_gone(server: TestServer, tmp_path: Path) -> None:
    site = WpSite(server, posts=10)
    post = site.add_post("Fresh", "<p>Fresh post</p>", utcnow() - timedelta(days=2))
    first = site.add_comment(post, "Spammer", 0, "Buy now", utcnow() - timedelta(days=1))
    site.add_comment(post, "Reader", 0, "Nice", utcnow() - timedelta(hours=20))
    sync(tmp_path, server)
    first.approved = False
    report = sync(tmp_path, server)
    assert report.runs[0].counts.gone == 1
    gone = query_rows(tmp_path, "SELECT content_text FROM posts WHERE gone_at IS NOT NULL")
    assert gone == [{"content_text": "Buy now"}]  # kept, only marked


def test_verify_sweep_marks_trashed_posts_and_their_comments_gone(
    server: TestServer, tmp_path: Path
) -> None:
    site = WpSite(server, posts=12)
    sync(tmp_path, server)
    site.posts[4].status = "trash"  # post 5: five comments
    server.requests.clear()
    report = sync(tmp_path, server, verify=True)
    assert report.runs[0].counts.gone == 1 + 5
    assert len(server.requests) == 3 + 3  # the sync, then one sweep of posts, pages, comments


def test_feed_mode_picks_up_new_posts_and_their_comments(
    server: TestServer, tmp_path: Path
) -> None:
    site = WpSite(server, posts=45)
    site.rest = "404"
    sync(tmp_path, server)
    post = site.add_post("Brand new", "<p>New!</p>", utcnow() - timedelta(hours=3))
    site.add_comment(post, "First", 0, "First!", utcnow() - timedelta(hours=2))
    server.requests.clear()
    report = sync(tmp_path, server)
    assert report.runs[0].counts.new == 2
    assert paths(server) == ["/feed/", "/feed/?paged=2", urlpath(site, post) + "feed/atom/"]
    # the next sync re-reads that recent comment feed, conditionally
    server.requests.clear()
    sync(tmp_path, server)
    assert paths(server) == ["/feed/", urlpath(site, post) + "feed/atom/"]
    assert server.requests[-1].headers.get("if-none-match")


def urlpath(site: WpSite, post: Any) -> str:
    return site.link(post).removeprefix(site.base)


def test_feed_mode_warns_when_a_comment_feed_holds_only_the_newest(
    server: TestServer, tmp_path: Path
) -> None:
    site = WpSite(server, posts=5, per_rss=10)
    for number in range(10):
        site.add_comment(site.posts[0], f"Extra {number}", 0, f"Extra comment {number}")
    site.rest = "401"
    report = sync(tmp_path, server)
    assert report.status == "ok"
    assert "1 post(s) have more comments than their comment feed shows" in report.runs[0].error


def test_feed_mode_verify_marks_deleted_posts_and_their_comments(
    server: TestServer, tmp_path: Path
) -> None:
    site = WpSite(server, posts=6)
    site.rest = "403"
    sync(tmp_path, server)
    site.posts[4].status = "trash"
    report = sync(tmp_path, server, verify=True)
    assert report.runs[0].counts.gone == 1 + 5


def test_server_error_fails_the_source_with_one_line(server: TestServer, tmp_path: Path) -> None:
    report = sync(tmp_path, server, api=server.url("/wp-json/"))
    assert report.status == "failed"
    assert (
        report.runs[0].error
        == "REST API closed and no feed at " + server.url("/") + "feed/ (HTTP 404)"
    )


def test_full_resync_rereads_everything_and_changes_nothing(
    server: TestServer, tmp_path: Path
) -> None:
    WpSite(server, posts=30)
    sync(tmp_path, server)
    report = sync(tmp_path, server, full=True)
    assert report.runs[0].counts.new == 0 and report.runs[0].counts.updated == 0
    assert report.runs[0].counts.unchanged > 30


def test_feed_mode_falls_back_to_rss_comment_feeds(server: TestServer, tmp_path: Path) -> None:
    """A site without Atom comment feeds: the RSS ones give the comments, unthreaded."""
    site = WpSite(server, posts=8)
    site.rest = "404"
    post = site.posts[4]  # five comments, two of them replies
    path = urlpath(site, post)
    server.route(path + "feed/atom/", lambda r: Reply("no", 404, content_type="text/html"))
    rss = (
        '<?xml version="1.0"?><rss version="2.0"><channel><title>Comments</title>'
        + "".join(
            f"<item><title>By: {c.author}</title><link>{site.link(post)}#comment-{c.id}</link>"
            f'<guid isPermaLink="false">{site.guid(post)}#comment-{c.id}</guid>'
            f"<description>{c.text}</description></item>"
            for c in post.comments
        )
        + "</channel></rss>"
    )
    server.route(path + "feed/", Reply(rss, content_type="application/rss+xml"))
    report = sync(tmp_path, server)
    assert report.status == "ok" and report.runs[0].error is None
    found = query_rows(
        tmp_path,
        "SELECT in_reply_to FROM posts WHERE native_id LIKE ?",
        f"{site.guid(post)}#comment-%",
    )
    assert len(found) == 5
    assert {r["in_reply_to"] for r in found} == {post_id("web", site.guid(post))}


def test_rest_and_the_wxr_export_give_the_same_rows(server: TestServer, tmp_path: Path) -> None:
    """The importer and this source agree on ids, threads, authors and text."""
    from ownfeed.importers import run_import
    from ownfeed.media import MediaStore

    site = WpSite(server, posts=12)
    (tmp_path / "rest").mkdir()
    (tmp_path / "wxr").mkdir()
    assert sync(tmp_path / "rest", server).status == "ok"
    export = tmp_path / "novosyx.WordPress.2024-03-12.xml"
    export.write_text(site.wxr(), encoding="utf-8")
    with Archive(tmp_path / "wxr" / ARCHIVE_FILE) as archive:
        run_import(
            archive,
            "wordpress",
            export,
            source=None,
            source_type=None,
            media_store=MediaStore(tmp_path / "media"),
        )
    assert snapshot(tmp_path / "wxr") == snapshot(tmp_path / "rest")
    authors = "SELECT DISTINCT author_id FROM posts ORDER BY 1"
    assert query_rows(tmp_path / "wxr", authors) == query_rows(tmp_path / "rest", authors)
