"""What a fetched document is (feed or HTML page) and which feeds an HTML page advertises.

Pure functions, no network: `ownfeed add` and the feed source both decide with them whether
to parse a body as a feed or to follow one of the page's `<link rel="alternate">` feeds.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

#: link types that are feeds whatever their href (PLATFORMS.md 1.1)
FEED_TYPES = frozenset(
    {
        "application/rss+xml",
        "application/atom+xml",
        "application/feed+json",
        "application/rdf+xml",
        "application/x-rss+xml",
        "application/x-atom+xml",
    }
)
_XML_TYPES = frozenset({"application/xml", "text/xml", "application/rss+xml"}) | FEED_TYPES
_JSON_FEED_VERSION = "https://jsonfeed.org/version/"
_SNIFF_BYTES = 65536

# The first thing a feed document may start with; everything before it is garbage
# (PHP warnings, blank lines) that makes the strict XML parser give up (PLATFORMS.md 1.3).
_XML_START = re.compile(rb"<\?xml|<!DOCTYPE\s+(?:rss|feed|rdf)|<(?:rss|feed|rdf:RDF)\b", re.I)
_FEED_ROOT = re.compile(rb"<(?:rss|feed|rdf:RDF)[\s>]", re.I)
_HTML_ROOT = re.compile(rb"<(?:html|head|body)[\s>]|<!DOCTYPE\s+html", re.I)
_UTF8_BOM = b"\xef\xbb\xbf"


def media_type(content_type: str | None) -> str:
    """`text/html; charset=UTF-8` -> `text/html`."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def strip_leading_garbage(body: bytes) -> bytes:
    """Drop a UTF-8 BOM and anything before the XML declaration or the feed's root element.

    Without this, feedparser falls back to its lenient parser (bozo) on real WordPress feeds
    that PHP prefixed with warnings; with it they parse strictly.
    """
    if body.startswith(_UTF8_BOM):
        body = body[len(_UTF8_BOM) :]
    match = _XML_START.search(body, 0, _SNIFF_BYTES)
    if match and match.start() > 0:
        return body[match.start() :]
    return body


def _is_json_feed(body: bytes) -> bool:
    """A JSON object whose `version` is a JSON Feed version URL."""
    try:
        document = json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError):
        return False
    return isinstance(document, dict) and str(document.get("version", "")).startswith(
        _JSON_FEED_VERSION
    )


def looks_like_feed(body: bytes, content_type: str | None) -> bool:
    """True when a response is a feed: by its declared type, else by sniffing the body.

    Sniffing matters because a PHP warning can make WordPress send its feed as text/html.
    """
    declared = media_type(content_type)
    if declared in FEED_TYPES:
        return True
    head = body[:_SNIFF_BYTES].removeprefix(_UTF8_BOM)
    if head.lstrip().startswith(b"{"):
        return _is_json_feed(body.lstrip(_UTF8_BOM))
    root = _FEED_ROOT.search(head)
    if root is None:
        return False
    html = _HTML_ROOT.search(head)
    return html is None or root.start() < html.start()


def looks_like_html(body: bytes, content_type: str | None) -> bool:
    """True for a web page (declared HTML that is not a feed, or sniffed `<html>`)."""
    if looks_like_feed(body, content_type):
        return False
    if media_type(content_type) in ("text/html", "application/xhtml+xml"):
        return True
    return _HTML_ROOT.search(body[:_SNIFF_BYTES]) is not None


def is_xml_type(content_type: str | None) -> bool:
    """Whether a declared type lets feedparser parse the document strictly as XML."""
    declared = media_type(content_type)
    return declared in _XML_TYPES or declared.endswith("+xml")


class _FeedLinkParser(HTMLParser):
    """Collects `<base href>` and `<link rel="alternate">` feed links in document order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.base: str | None = None
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name.lower(): (value or "").strip() for name, value in attrs}
        if tag == "base" and self.base is None and values.get("href"):
            self.base = values["href"]
        elif tag == "link" and _is_feed_link(values):
            self.links.append(values["href"])


def _is_feed_link(attrs: dict[str, str]) -> bool:
    """rel=alternate with a feed type; application/json only for a `/feed.json` (not REST)."""
    rels = attrs.get("rel", "").lower().split()
    href = attrs.get("href", "")
    if "alternate" not in rels or not href or "/wp-json/" in href:
        return False
    link_type = attrs.get("type", "").split(";", 1)[0].strip().lower()
    if link_type in FEED_TYPES:
        return True
    return link_type == "application/json" and urlsplit(href).path.endswith("/feed.json")


def find_feed_links(html: str, base_url: str) -> list[str]:
    """Absolute URLs of the feeds a page advertises, in document order, without duplicates."""
    parser = _FeedLinkParser()
    parser.feed(html)
    parser.close()
    base = urljoin(base_url, parser.base) if parser.base else base_url
    found: list[str] = []
    for href in parser.links:
        url = urljoin(base, href)
        if url not in found and urlsplit(url).scheme in ("http", "https"):
            found.append(url)
    return found


def pick_feed(links: list[str]) -> str | None:
    """The page's main feed: the first one that is not a comments feed, else the first."""
    for url in links:
        if not _is_comments_feed(url):
            return url
    return links[0] if links else None


def _is_comments_feed(url: str) -> bool:
    parts = urlsplit(url)
    return "comments" in parts.path.lower().split("/") or "comments" in parts.query.lower()
