"""Feed history on the first sync: RFC 5005 paged and archived feeds, JSON Feed `next_url`."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from ownfeed.http import HttpClient
from ownfeed.models import SourceResult
from ownfeed.sources.base import SourceConfig, SourceContext
from ownfeed.sources.feed import FeedSource
from tests.httpserver import Reply, Request, TestServer

ATOM = "application/atom+xml"
RSS = "application/rss+xml"


def fetch(url: str, state: dict[str, Any] | None = None, **options: Any) -> SourceResult:
    config = SourceConfig(name="blog", type="feed", comments=False, options={"url": url, **options})

    async def run() -> SourceResult:
        async with HttpClient(timeout=5, retries=1) as http:
            return await FeedSource(config).fetch(SourceContext(http=http, state=state or {}))

    return asyncio.run(run())


def archive_doc(ids: list[int], prev: str | None, current: bool = False) -> str:
    """An RFC 5005 section 4 document: the subscription feed or one archive document."""
    entries = "".join(
        f"<entry><id>urn:post:{i}</id><title>Post {i}</title>"
        f"<updated>2020-01-{i:02d}T00:00:00Z</updated><content>Text {i}</content></entry>"
        for i in ids
    )
    marker = "" if current else "<fh:archive/>"
    link = f'<link rel="prev-archive" href="{prev}"/>' if prev else ""
    return (
        '<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom" '
        'xmlns:fh="http://purl.org/syndication/history/1.0">'
        f"<title>Archived</title><id>urn:feed</id><updated>2020-02-01T00:00:00Z</updated>"
        f"{marker}{link}{entries}</feed>"
    )


def conditional(body: str, content_type: str) -> Any:
    def handler(request: Request) -> Reply:
        if request.headers.get("if-none-match") == '"v1"':
            return Reply(b"", 304, {"ETag": '"v1"'})
        return Reply(body, headers={"ETag": '"v1"'}, content_type=content_type)

    return handler


def test_archived_feed_is_walked_through_prev_archive_once(server: TestServer) -> None:
    server.route("/feed.atom", conditional(archive_doc([9, 8], "/archive/3", True), ATOM))
    server.route("/archive/3", Reply(archive_doc([7, 6, 5], "/archive/2"), content_type=ATOM))
    server.route("/archive/2", Reply(archive_doc([4, 3], "1"), content_type=ATOM))
    server.route("/archive/1", Reply(archive_doc([2, 1], None), content_type=ATOM))
    first = fetch(server.url("/feed.atom"))
    assert [p.native_id for p in first.posts] == [f"urn:post:{i}" for i in range(9, 0, -1)]
    assert first.state["backfilled"] is True and first.warnings == []
    server.requests.clear()
    second = fetch(server.url("/feed.atom"), state=first.state)
    assert second.posts == [] and second.http_status == 304
    assert [r.path for r in server.requests] == ["/feed.atom"]  # unchanged re-sync: 1 request


def test_rss_with_atom_next_links_is_paged(server: TestServer) -> None:
    def page(number: int) -> str:
        nxt = f'<atom:link rel="next" href="{server.url(f"/rss?page={number + 1}")}"/>'
        return (
            '<?xml version="1.0"?><rss version="2.0" xmlns:atom="http://www.w3.org/2005/Atom">'
            f"<channel><title>Paged</title><link>{server.base_url}</link>"
            f"{nxt if number < 3 else ''}<item>"
            f'<guid isPermaLink="false">urn:g{number}</guid><title>{number}</title>'
            "</item></channel></rss>"
        )

    for number in (1, 2, 3):
        server.route(f"/rss?page={number}", Reply(page(number), content_type=RSS))
    server.route("/rss", Reply(page(1), content_type=RSS))
    result = fetch(server.url("/rss"))
    assert [p.native_id for p in result.posts] == ["urn:g1", "urn:g2", "urn:g3"]


def test_json_feed_next_url_is_followed_by_default(server: TestServer) -> None:
    def page(number: int) -> str:
        doc: dict[str, Any] = {
            "version": "https://jsonfeed.org/version/1.1",
            "title": "JSON",
            "items": [
                {"id": number * 10 + k, "content_text": f"item {number}.{k}"} for k in (1, 2)
            ],
        }
        if number < 3:
            doc["next_url"] = server.url(f"/feed-{number + 1}.json")
        return json.dumps(doc)

    server.route("/feed.json", Reply(page(1), content_type="application/feed+json"))
    for number in (2, 3):
        server.route(f"/feed-{number}.json", Reply(page(number), content_type="application/json"))
    result = fetch(server.url("/feed.json"))
    assert [p.native_id for p in result.posts] == ["11", "12", "21", "22", "31", "32"]


def test_history_walk_is_bounded_by_max_pages(server: TestServer) -> None:
    server.route("/feed.atom", Reply(archive_doc([5], "/a/4", True), content_type=ATOM))
    for number in (4, 3, 2, 1):
        prev = f"/a/{number - 1}" if number > 1 else None
        server.route(f"/a/{number}", Reply(archive_doc([number], prev), content_type=ATOM))
    result = fetch(server.url("/feed.atom"), max_pages=3)
    assert [p.native_id for p in result.posts] == ["urn:post:5", "urn:post:4", "urn:post:3"]
    assert server.requests_to("/a/2") == []


def test_a_failing_older_page_is_a_warning_and_retried(server: TestServer) -> None:
    server.route("/feed.atom", Reply(archive_doc([3], "/a/2", True), content_type=ATOM))
    server.route("/a/2", Reply("boom", status=500))
    first = fetch(server.url("/feed.atom"))
    assert [p.native_id for p in first.posts] == ["urn:post:3"]
    assert first.warnings and "older page" in first.warnings[0]
    assert not first.state.get("backfilled")
    server.route("/a/2", Reply(archive_doc([2], None), content_type=ATOM))
    second = fetch(server.url("/feed.atom"), state=first.state)
    assert [p.native_id for p in second.posts] == ["urn:post:3", "urn:post:2"]
