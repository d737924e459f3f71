"""Feed autodiscovery from HTML pages and telling feeds from pages."""

from __future__ import annotations

from pathlib import Path

import pytest

from ownfeed.discover import (
    find_feed_links,
    looks_like_feed,
    looks_like_html,
    pick_feed,
    strip_leading_garbage,
)

DATA = Path(__file__).parent / "data"

WORDPRESS_HEAD = """<!DOCTYPE html>
<html lang="de-DE"><head>
<meta charset="UTF-8">
<link rel="alternate" type="application/rss+xml" title="Blog &raquo; Feed" href="/feed/" />
<link rel="alternate" type="application/rss+xml" title="Blog &raquo; Kommentar-Feed"
      href="https://blog.example/comments/feed/" />
<link rel="alternate" type="application/json" href="https://blog.example/wp-json/wp/v2/pages/2" />
<link rel="alternate" type="application/json+oembed" href="https://blog.example/wp-json/oembed" />
<link rel="https://api.w.org/" href="https://blog.example/wp-json/" />
<link rel="stylesheet" type="text/css" href="/style.css" />
</head><body><a href="/feed/">Feed</a></body></html>"""


def test_wordpress_page_gives_posts_and_comments_feed_not_rest() -> None:
    assert find_feed_links(WORDPRESS_HEAD, "https://blog.example/about/") == [
        "https://blog.example/feed/",
        "https://blog.example/comments/feed/",
    ]


def test_all_feed_types_relative_hrefs_and_duplicates() -> None:
    html = """<head>
    <LINK REL="Alternate" TYPE="application/atom+xml" HREF="atom.xml">
    <link rel="alternate" type="application/feed+json" href="../feed.json">
    <link rel="alternate home" type="application/rss+xml; charset=utf-8" href="/rss">
    <link rel="alternate" type="application/json" href="/blog/feed.json">
    <link rel="alternate" type="application/json" href="/api/posts.json">
    <link rel="alternate" type="application/atom+xml" href="atom.xml">
    <link rel="alternate" type="text/html" href="/de/">
    <link rel="alternate" type="application/rss+xml">
    <link rel="alternate" type="application/rss+xml" href="javascript:alert(1)">
    </head>"""
    assert find_feed_links(html, "https://example.com/blog/post/") == [
        "https://example.com/blog/post/atom.xml",
        "https://example.com/blog/feed.json",
        "https://example.com/rss",
    ]


def test_base_href_is_respected() -> None:
    html = """<html><head><base href="https://cdn.example.org/site/">
    <link rel="alternate" type="application/rss+xml" href="feed.xml"></head></html>"""
    assert find_feed_links(html, "https://example.com/page") == [
        "https://cdn.example.org/site/feed.xml"
    ]


def test_relative_base_href_is_resolved_against_the_page() -> None:
    html = """<base href="/root/"><link rel="alternate" type="application/atom+xml" href="a">"""
    assert find_feed_links(html, "https://example.com/x/y") == ["https://example.com/root/a"]


def test_page_without_feed_links() -> None:
    assert find_feed_links("<html><head><title>x</title></head></html>", "https://e.com/") == []


def test_pick_feed_prefers_the_posts_feed() -> None:
    comments_first = ["https://b.example/comments/feed/", "https://b.example/feed/"]
    assert pick_feed(comments_first) == "https://b.example/feed/"
    assert pick_feed(["https://b.example/?feed=comments-rss2"]) == (
        "https://b.example/?feed=comments-rss2"
    )
    assert pick_feed([]) is None


def test_php_warnings_feed_served_as_html_is_a_feed() -> None:
    body = (DATA / "wordpress-rss2-php-warnings.xml").read_bytes()
    assert looks_like_feed(body, "text/html; charset=UTF-8")
    assert not looks_like_html(body, "text/html; charset=UTF-8")


@pytest.mark.parametrize(
    ("body", "content_type", "feed"),
    [
        (b"anything", "application/rss+xml", True),
        (b"anything", "application/atom+xml; charset=utf-8", True),
        (b"<?xml version='1.0'?><rss version='2.0'></rss>", "text/xml", True),
        (b"\xef\xbb\xbf\n<feed xmlns='http://www.w3.org/2005/Atom'>", "text/plain", True),
        (b"<rdf:RDF xmlns:rdf='x'>", "application/xml", True),
        (b'{"version": "https://jsonfeed.org/version/1.1", "items": []}', "application/json", True),
        (b'{"version": "1.0", "items": []}', "application/json", False),
        (b"<!DOCTYPE html><html><body><pre>&lt;rss&gt;</pre></body></html>", "text/html", False),
        (b"<html><body><feed >not really</feed></body></html>", "text/html", False),
        (b"<?xml version='1.0'?><svg></svg>", "image/svg+xml", False),
        (b"", "text/html", False),
    ],
)
def test_looks_like_feed(body: bytes, content_type: str, feed: bool) -> None:
    assert looks_like_feed(body, content_type) is feed


def test_looks_like_html() -> None:
    assert looks_like_html(b"<!doctype html><title>x</title>", "text/plain")
    assert looks_like_html(b"whatever", "text/html")
    assert not looks_like_html(b"plain text", "text/plain")


@pytest.mark.parametrize(
    "prefix",
    [
        b"",
        b"\xef\xbb\xbf",
        b"\n\n  ",
        b"\xef\xbb\xbf\n",
        b"<br />\n<b>Warning</b>: something on line <b>8</b><br />\n",
        b"\nDeprecated: Function create_function() is deprecated\n",
    ],
)
def test_strip_leading_garbage(prefix: bytes) -> None:
    document = b'<?xml version="1.0"?><rss version="2.0"><channel/></rss>'
    assert strip_leading_garbage(prefix + document) == document


def test_strip_leading_garbage_keeps_a_doctype_and_root_without_declaration() -> None:
    document = b'<!DOCTYPE rss PUBLIC "-//Netscape" "x.dtd"><rss version="0.91"></rss>'
    assert strip_leading_garbage(b"\n" + document) == document
    assert strip_leading_garbage(b"junk<feed xmlns='a'/>") == b"<feed xmlns='a'/>"
