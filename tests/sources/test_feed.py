"""FeedSource against a real local HTTP server: feeds, discovery, comments, conditional GET."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest

from ownfeed.errors import FetchError, ParseError
from ownfeed.http import HttpClient
from ownfeed.models import KnownPost, SourceResult, post_id
from ownfeed.sources.base import SourceConfig, SourceContext
from ownfeed.sources.feed import FeedSource
from ownfeed.sources.registry import source_class
from tests.httpserver import Reply, Request, TestServer

DATA = Path(__file__).parent.parent / "data"
RSS = "application/rss+xml; charset=UTF-8"
ATOM = "application/atom+xml; charset=UTF-8"
OLD = datetime(2020, 5, 4, 10, 0, tzinfo=UTC)
POST_A = "https://breakpoint.example/?p=1684"  # the shared RSS comment feed's post
POST_B = "https://novosyx.example/?p=101"  # tests/data/feed/wordpress-comments.atom's post


def make_source(url: str, *, comments: bool = True, **options: Any) -> FeedSource:
    config = SourceConfig(
        name="blog", type="feed", comments=comments, options={"url": url, **options}
    )
    return FeedSource(config)


def fetch(
    source: FeedSource,
    *,
    state: dict[str, Any] | None = None,
    known: Mapping[str, KnownPost] | None = None,
    full: bool = False,
    progress: list[tuple[int, int | None]] | None = None,
) -> SourceResult:
    """One run of the source with a fresh HTTP client (no retries: tests want errors fast)."""

    async def run() -> SourceResult:
        async with HttpClient(timeout=5, retries=1) as http:
            ctx = SourceContext(http=http, state=state or {}, known=known or {}, full=full)
            if progress is not None:
                ctx.progress = lambda done, total: progress.append((done, total))
            return await source.fetch(ctx)

    return asyncio.run(run())


def rss_item(guid: str, title: str, published: datetime, comments: str | None, count: int) -> str:
    thread = ""
    if comments is not None:
        thread = (
            f"<wfw:commentRss>{comments}</wfw:commentRss><slash:comments>{count}</slash:comments>"
        )
    return f"""<item><title>{title}</title><link>{guid}</link>
      <guid isPermaLink="false">{guid}</guid><pubDate>{format_datetime(published)}</pubDate>
      <description>Text of {title}</description>{thread}</item>"""


def rss(*items: str) -> str:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:wfw="http://wellformedweb.org/CommentAPI/"
     xmlns:slash="http://purl.org/rss/1.0/modules/slash/"><channel>
<title>Novosyx Blog</title><link>https://novosyx.example/</link>
{"".join(items)}</channel></rss>"""


def known(native_id: str, reply_count: int | None, published: datetime = OLD) -> KnownPost:
    return KnownPost(
        id=post_id("web", native_id),
        native_id=native_id,
        url=None,
        reply_count=reply_count,
        published_at=published.isoformat(),
    )


def blog(server: TestServer, *, count_a: int = 3, published: datetime = OLD) -> None:
    """A blog feed with two posts whose comment feeds are RSS (no threading) and Atom."""
    server.route(
        "/feed/",
        Reply(
            rss(
                rss_item(
                    POST_A, "Hundertachtundsechzig", published, server.url("/a/feed/"), count_a
                ),
                rss_item(POST_B, "Hello", published, server.url("/b/feed/atom/"), 4),
            ),
            content_type=RSS,
        ),
    )
    server.serve_file("/a/feed/", DATA / "wordpress-comments-feed.xml", RSS)
    server.serve_file("/b/feed/atom/", DATA / "feed" / "wordpress-comments.atom", ATOM)


def conditional(body: str | bytes, content_type: str, etag: str = '"v1"') -> Any:
    """A handler that answers 304 when the client sends the right validators."""
    modified = "Tue, 05 Mar 2024 10:00:00 GMT"

    def handler(request: Request) -> Reply:
        if request.headers.get("if-none-match") == etag:
            return Reply(status=304, content_type=None, headers={"ETag": etag})
        return Reply(
            body, content_type=content_type, headers={"ETag": etag, "Last-Modified": modified}
        )

    return handler


# --------------------------------------------------------------------------- the feed


def test_registry_knows_the_feed_source() -> None:
    assert source_class("feed") is FeedSource


def test_php_warnings_feed_served_as_html_gives_all_posts(server: TestServer) -> None:
    server.serve_file(
        "/feed/", DATA / "wordpress-rss2-php-warnings.xml", "text/html; charset=UTF-8"
    )
    result = fetch(make_source(server.url("/feed/")))
    assert [post.native_id for post in result.posts] == ["https://www.waide.de/?p=37"]
    assert result.title == "trust – Björn Waide"
    assert result.home_url == "https://www.waide.de"
    assert result.http_status == 200
    assert result.warnings == []  # slash:comments is 0: its comment feed is not even asked


def test_json_feed(server: TestServer) -> None:
    server.serve_file("/feed.json", DATA / "feed" / "jsonfeed11.json", "application/feed+json")
    result = fetch(make_source(server.url("/feed.json")))
    assert [post.native_id for post in result.posts] == [
        "https://novosyx.example/2024/05/json/",
        "4711",
    ]
    assert result.title == "Novosyx JSON"
    assert all(post.is_own and post.kind == "post" for post in result.posts)


@pytest.mark.parametrize("status", [404, 500])
def test_a_failed_feed_request_fails_the_source(server: TestServer, status: int) -> None:
    server.route("/feed/", Reply("no", status=status))
    with pytest.raises(FetchError) as caught:
        fetch(make_source(server.url("/feed/")))
    assert caught.value.status == status


def test_garbage_is_a_parse_error(server: TestServer) -> None:
    server.route("/feed/", Reply("this is not a feed", content_type="text/plain"))
    with pytest.raises(ParseError, match="not a feed"):
        fetch(make_source(server.url("/feed/")))


# --------------------------------------------------------------------------- conditional GET


def test_second_fetch_is_conditional_and_304_yields_no_posts(server: TestServer) -> None:
    blog(server)
    server.route("/feed/", conditional(rss(rss_item(POST_A, "A", OLD, None, 0)), RSS))
    source = make_source(server.url("/feed/"))
    first = fetch(source)
    assert len(first.posts) == 1
    assert first.state["validators"][server.url("/feed/")] == {
        "etag": '"v1"',
        "last_modified": "Tue, 05 Mar 2024 10:00:00 GMT",
    }
    second = fetch(source, state=first.state, known={POST_A: known(POST_A, None)})
    sent = server.requests_to("/feed/")[-1].headers
    assert sent["if-none-match"] == '"v1"'
    assert sent["if-modified-since"] == "Tue, 05 Mar 2024 10:00:00 GMT"
    assert second.http_status == 304
    assert second.posts == []
    assert second.state["validators"] == first.state["validators"]


def test_full_ignores_validators(server: TestServer) -> None:
    server.route("/feed/", conditional(rss(rss_item(POST_A, "A", OLD, None, 0)), RSS))
    source = make_source(server.url("/feed/"))
    first = fetch(source)
    again = fetch(source, state=first.state, full=True)
    assert "if-none-match" not in server.requests_to("/feed/")[-1].headers
    assert len(again.posts) == 1


def test_feed_304_still_rereads_recent_comment_feeds(server: TestServer) -> None:
    """A new comment leaves a WordPress posts feed unchanged: 304 must not hide it."""
    recent = datetime.now(UTC) - timedelta(days=1)
    body = rss(rss_item(POST_A, "A", recent, server.url("/a/feed/"), 3))
    server.route("/feed/", conditional(body, RSS))
    comments = (DATA / "wordpress-comments-feed.xml").read_bytes()
    server.route("/a/feed/", conditional(comments, RSS, etag='"c1"'))
    source = make_source(server.url("/feed/"))
    first = fetch(source)
    assert len(first.posts) == 4
    second = fetch(source, state=first.state, known={POST_A: known(POST_A, 3, recent)})
    assert second.http_status == 304
    assert len(server.requests_to("/a/feed/")) == 2
    assert server.requests_to("/a/feed/")[-1].headers["if-none-match"] == '"c1"'
    assert second.posts == []


# --------------------------------------------------------------------------- discovery


HTML_PAGE = """<!DOCTYPE html><html><head><title>Novosyx</title>
<link rel="alternate" type="application/rss+xml" title="Comments" href="/comments/feed/">
<link rel="alternate" type="application/rss+xml" title="Feed" href="/feed/">
</head><body><h1>Novosyx</h1></body></html>"""


def test_html_page_is_followed_to_its_feed_once(server: TestServer) -> None:
    blog(server)
    server.route("/", Reply(HTML_PAGE, content_type="text/html; charset=utf-8"))
    source = make_source(server.url("/"), comments=False)
    first = fetch(source)
    assert [post.native_id for post in first.posts] == [POST_A, POST_B]
    assert first.state["feed_url"] == server.url("/feed/")
    assert server.requests_to("/comments/feed/") == []
    fetch(source, state=first.state)
    assert len(server.requests_to("/")) == 1  # the next sync goes straight to the feed
    assert len(server.requests_to("/feed/")) == 2


def test_remembered_feed_that_disappears_is_rediscovered(server: TestServer) -> None:
    blog(server)
    server.route("/", Reply(HTML_PAGE, content_type="text/html"))
    source = make_source(server.url("/"), comments=False)
    state = {"feed_url": server.url("/old-feed/"), "page_url": server.url("/"), "validators": {}}
    result = fetch(source, state=state)
    assert len(result.posts) == 2
    assert result.state["feed_url"] == server.url("/feed/")


def test_html_without_feed_link_is_a_parse_error(server: TestServer) -> None:
    server.route("/", Reply("<html><head><title>x</title></head></html>", content_type="text/html"))
    url = server.url("/")
    with pytest.raises(ParseError) as caught:
        fetch(make_source(url))
    assert str(caught.value) == f"no feed found at {url}: HTML page without a feed link"


# --------------------------------------------------------------------------- comments


def test_comments_and_pingbacks_are_linked_to_their_posts(server: TestServer) -> None:
    blog(server)
    progress: list[tuple[int, int | None]] = []
    result = fetch(make_source(server.url("/feed/")), progress=progress)
    posts = {post.native_id: post for post in result.posts}
    assert posts[POST_A].is_own and posts[POST_A].reply_count == 3
    comments = [post for post in result.posts if not post.is_own]
    assert len(comments) == 7
    for comment in comments:
        assert comment.thread_root in (POST_A, POST_B)
        assert comment.kind in ("reply", "pingback")
    rss_comments = [c for c in comments if c.thread_root == POST_A]
    assert {c.in_reply_to for c in rss_comments} == {POST_A}
    assert [c.kind for c in rss_comments] == ["reply", "pingback", "pingback"]
    assert posts[f"{POST_B}#comment-8"].in_reply_to == f"{POST_B}#comment-7"
    assert all(c.title is None for c in rss_comments)
    assert sorted(progress) == [(1, 2), (2, 2)]
    assert result.warnings == []


def test_comments_off_reads_no_comment_feed(server: TestServer) -> None:
    blog(server)
    result = fetch(make_source(server.url("/feed/"), comments=False))
    assert len(result.posts) == 2
    assert server.requests_to("/a/feed/") == [] and server.requests_to("/b/feed/atom/") == []


def test_a_failing_comment_feed_is_a_warning_and_retried(server: TestServer) -> None:
    blog(server)
    server.route("/a/feed/", Reply("boom", status=500))
    source = make_source(server.url("/feed/"))
    result = fetch(source)
    assert len(result.posts) == 2 + 4  # both posts, and the comments that could be read
    assert len(result.warnings) == 1
    assert server.url("/a/feed/") in result.warnings[0]
    assert "500" in result.warnings[0]
    assert "\n" not in result.warnings[0]
    # Next sync: the count did not change, but the failed feed is read again.
    server.serve_file("/a/feed/", DATA / "wordpress-comments-feed.xml", RSS)
    archive = {POST_A: known(POST_A, 3), POST_B: known(POST_B, 4)}
    again = fetch(source, state=result.state, known=archive)
    assert len(server.requests_to("/a/feed/")) == 2
    assert len(server.requests_to("/b/feed/atom/")) == 1
    assert again.warnings == [] and again.state["comments_pending"] == []


def test_comment_feed_is_refetched_only_when_the_count_changes(server: TestServer) -> None:
    blog(server, count_a=3)
    source = make_source(server.url("/feed/"))
    first = fetch(source)
    assert len(server.requests_to("/a/feed/")) == 1
    archive = {POST_A: known(POST_A, 3), POST_B: known(POST_B, 4)}
    same = fetch(source, state=first.state, known=archive)
    assert len(server.requests_to("/a/feed/")) == 1
    assert [post.native_id for post in same.posts] == [POST_A, POST_B]
    blog(server, count_a=4)
    changed = fetch(source, state=first.state, known=archive)
    assert len(server.requests_to("/a/feed/")) == 2
    assert len(server.requests_to("/b/feed/atom/")) == 1
    assert len(changed.posts) == 2 + 3
    fetch(source, state=first.state, known=archive, full=True)
    assert len(server.requests_to("/b/feed/atom/")) == 2


def test_comment_feeds_of_recent_posts_are_reread(server: TestServer) -> None:
    recent = datetime.now(UTC) - timedelta(days=2)
    blog(server, published=recent)
    source = make_source(server.url("/feed/"))
    archive = {POST_A: known(POST_A, 3, recent), POST_B: known(POST_B, 4, recent)}
    fetch(source, known=archive)
    assert len(server.requests_to("/a/feed/")) == 1
    assert len(server.requests_to("/b/feed/atom/")) == 1


def test_state_keeps_only_validators_of_listed_feeds(server: TestServer) -> None:
    blog(server)
    stale = {"validators": {"http://gone.example/feed/": {"etag": '"x"'}}}
    server.route("/a/feed/", conditional((DATA / "wordpress-comments-feed.xml").read_bytes(), RSS))
    result = fetch(make_source(server.url("/feed/")), state=stale)
    assert set(result.state["validators"]) == {server.url("/a/feed/")}
    assert set(result.state["comment_feeds"]) == {POST_A, POST_B}


# --------------------------------------------------------------------------- backfill


def atom_page(base: str, ids: list[str], next_path: str | None) -> str:
    entries = "".join(
        f"<entry><id>{i}</id><title>{i}</title><updated>2024-01-01T00:00:00Z</updated></entry>"
        for i in ids
    )
    nxt = f'<link rel="next" href="{base}{next_path}"/>' if next_path else ""
    return f"""<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom">
    <title>Paged</title><id>urn:paged</id><updated>2024-01-01T00:00:00Z</updated>
    {nxt}{entries}</feed>"""


def test_backfill_walks_next_links_once(server: TestServer) -> None:
    base = server.base_url
    server.route("/feed.atom", Reply(atom_page(base, ["urn:1", "urn:2"], "/p2"), content_type=ATOM))
    server.route("/p2", Reply(atom_page(base, ["urn:2", "urn:3"], "/p3"), content_type=ATOM))
    server.route("/p3", Reply(atom_page(base, ["urn:4"], "/p2"), content_type=ATOM))
    source = make_source(server.url("/feed.atom"), backfill=True)
    first = fetch(source)
    assert [post.native_id for post in first.posts] == ["urn:1", "urn:2", "urn:3", "urn:4"]
    assert first.state["backfilled"] is True
    second = fetch(source, state=first.state)
    assert [post.native_id for post in second.posts] == ["urn:1", "urn:2"]
    assert len(server.requests_to("/p2")) == 1


def test_backfill_stops_at_max_pages(server: TestServer) -> None:
    base = server.base_url
    server.route("/feed.atom", Reply(atom_page(base, ["urn:1"], "/p2"), content_type=ATOM))
    server.route("/p2", Reply(atom_page(base, ["urn:2"], "/p3"), content_type=ATOM))
    server.route("/p3", Reply(atom_page(base, ["urn:3"], None), content_type=ATOM))
    result = fetch(make_source(server.url("/feed.atom"), backfill=True, max_pages=2))
    assert [post.native_id for post in result.posts] == ["urn:1", "urn:2"]
    assert server.requests_to("/p3") == []


def test_without_backfill_next_links_are_ignored(server: TestServer) -> None:
    base = server.base_url
    server.route("/feed.atom", Reply(atom_page(base, ["urn:1"], "/p2"), content_type=ATOM))
    result = fetch(make_source(server.url("/feed.atom"), backfill=False))
    assert [post.native_id for post in result.posts] == ["urn:1"]
    assert server.requests_to("/p2") == []
