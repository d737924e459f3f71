"""Feeds out (Atom 1.0, RSS 2.0, JSON Feed 1.1) and the sitemap.

Feeds carry our own posts, newest first, with full sanitized content. Their links are
absolute under `base_url`; without one they are relative to the feed's own address (the
site root), which feed readers resolve too. Output depends only on the archive, never on
the clock, so an unchanged archive gives byte-identical feeds (and no rewrite).
"""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass

from ownfeed.archive.site import SitePost
from ownfeed.export import urls
from ownfeed.export.views import platform_name
from ownfeed.models import parse_iso

ATOM = "http://www.w3.org/2005/Atom"
SITEMAP = "http://www.sitemaps.org/schemas/sitemap/0.9"
JSON_FEED = "https://jsonfeed.org/version/1.1"
SITEMAP_LIMIT = 50_000  # URLs per sitemap file (sitemaps.org)
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_NEEDS_CARE = re.compile("[&<>\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


@dataclass(frozen=True)
class FeedItem:
    post: SitePost  # with checked URLs (sanitize.safe_post)
    html: str  # sanitized, links absolute under base_url (or relative to the root)
    tags: list[str]
    syndication: tuple[str, ...] = ()  # upstream URLs of its copies on other platforms


#: Documents the JSON Feed extension `_syndication` (copies of an item elsewhere).
SYNDICATION_ABOUT = "https://indieweb.org/u-syndication"


@dataclass(frozen=True)
class FeedSite:
    title: str
    description: str
    language: str
    base_url: str  # "" or ending in "/"


def _text(value: str | None) -> str:
    """Text XML 1.0 can carry: control characters and lone surrogates dropped."""
    return _XML_INVALID.sub("", value or "")


def _title(post: SitePost) -> str:
    if post.title:
        return _text(post.title)
    words = " ".join(post.excerpt.split())
    if len(words) > 80:
        words = words[:79].rsplit(" ", 1)[0] + "…"
    kind = "Shared a post" if post.kind == "repost" else "Post"
    return _text(words) or f"{kind} on {platform_name(post.platform)}"


def _updated(post: SitePost) -> str:
    return post.updated_at or post.published_at or post.date


def _id(site: FeedSite, post: SitePost) -> str:
    return site.base_url + urls.post_page(post.id) if site.base_url else f"urn:ownfeed:{post.id}"


def _sub(parent: ET.Element, tag: str, text: str | None = None, **attrs: str) -> ET.Element:
    element = ET.SubElement(parent, tag, attrs)
    if text is not None:
        element.text = _text(text)
    return element


def _xml(root: ET.Element) -> bytes:
    ET.indent(root, space=" ")
    return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"


def atom(site: FeedSite, items: list[FeedItem]) -> bytes:
    a = f"{{{ATOM}}}"
    root = ET.Element(f"{a}feed", {"{http://www.w3.org/XML/1998/namespace}lang": site.language})
    _sub(root, f"{a}title", site.title)
    if site.description:
        _sub(root, f"{a}subtitle", site.description)
    _sub(root, f"{a}id", site.base_url or "urn:ownfeed:feed")
    newest = max((_updated(i.post) for i in items), default="1970-01-01T00:00:00+00:00")
    _sub(root, f"{a}updated", newest)
    if site.base_url:
        _sub(
            root,
            f"{a}link",
            rel="self",
            type="application/atom+xml",
            href=site.base_url + "feed.xml",
        )
    _sub(root, f"{a}link", rel="alternate", type="text/html", href=site.base_url + "index.html")
    author = _sub(root, f"{a}author")
    _sub(author, f"{a}name", site.title)
    _sub(root, f"{a}generator", "ownfeed")
    for item in items:
        post = item.post
        entry = _sub(root, f"{a}entry")
        _sub(entry, f"{a}title", _title(post), type="text")
        _sub(entry, f"{a}id", _id(site, post))
        page = site.base_url + urls.post_page(post.id)
        _sub(entry, f"{a}link", rel="alternate", type="text/html", href=page)
        if post.url:
            _sub(entry, f"{a}link", rel="via", href=_text(post.url))
        for url in item.syndication:
            _sub(entry, f"{a}link", rel="syndication", href=_text(url))
        if post.published_at:
            _sub(entry, f"{a}published", post.published_at)
        _sub(entry, f"{a}updated", _updated(post))
        if post.author_name or post.author_handle:
            person = _sub(entry, f"{a}author")
            _sub(person, f"{a}name", post.author_name or post.author_handle)
            if post.author_url:
                _sub(person, f"{a}uri", post.author_url)
        for tag in item.tags:
            _sub(entry, f"{a}category", term=_text(tag))
        _sub(entry, f"{a}content", item.html, type="html")
    ET.register_namespace("", ATOM)
    return _xml(root)


_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _rfc822(value: str) -> str | None:
    """`Tue, 05 Mar 2024 14:02:09 GMT`: what email.utils.format_datetime(usegmt=True) writes
    (English names whatever the locale), without importing email.utils (a few ms of every
    export's start-up)."""
    moment = parse_iso(value)  # aware, in UTC
    if moment is None:
        return None
    return (
        f"{_DAYS[moment.weekday()]}, {moment.day:02d} {_MONTHS[moment.month - 1]} "
        f"{moment.year:04d} {moment.hour:02d}:{moment.minute:02d}:{moment.second:02d} GMT"
    )


def rss(site: FeedSite, items: list[FeedItem]) -> bytes:
    root = ET.Element("rss", {"version": "2.0"})
    channel = _sub(root, "channel")
    _sub(channel, "title", site.title)
    _sub(channel, "link", site.base_url + "index.html")
    _sub(channel, "description", site.description or site.title)
    _sub(channel, "language", site.language)
    _sub(channel, "generator", "ownfeed")
    if site.base_url:
        href = site.base_url + "rss.xml"
        _sub(channel, f"{{{ATOM}}}link", rel="self", type="application/rss+xml", href=href)
    if items:
        newest = _rfc822(max(_updated(i.post) for i in items))
        if newest:
            _sub(channel, "lastBuildDate", newest)
    for item in items:
        post = item.post
        entry = _sub(channel, "item")
        _sub(entry, "title", _title(post))
        _sub(entry, "link", site.base_url + urls.post_page(post.id))
        _sub(entry, "guid", _id(site, post), isPermaLink="true" if site.base_url else "false")
        date = _rfc822(post.published_at or post.date)
        if date:
            _sub(entry, "pubDate", date)
        for tag in item.tags:
            _sub(entry, "category", tag)
        _sub(entry, "description", item.html)
    ET.register_namespace("atom", ATOM)
    return _xml(root)


def json_feed(site: FeedSite, items: list[FeedItem]) -> bytes:
    feed: dict[str, object] = {"version": JSON_FEED, "title": site.title}
    if site.base_url:
        feed["home_page_url"] = site.base_url + "index.html"
        feed["feed_url"] = site.base_url + "feed.json"
    if site.description:
        feed["description"] = site.description
    feed["language"] = site.language
    feed["authors"] = [{"name": site.title}]
    entries = []
    for item in items:
        post = item.post
        entry: dict[str, object] = {
            "id": _id(site, post),
            "url": site.base_url + urls.post_page(post.id),
            "title": _title(post),
            "content_html": item.html,
        }
        if post.url:
            entry["external_url"] = post.url
        if post.published_at:
            entry["date_published"] = post.published_at
        if post.updated_at:
            entry["date_modified"] = post.updated_at
        if item.tags:
            entry["tags"] = item.tags
        if item.syndication:
            entry["_syndication"] = {"about": SYNDICATION_ABOUT, "urls": list(item.syndication)}
        if post.author_name or post.author_handle:
            author: dict[str, str] = {"name": post.author_name or post.author_handle or ""}
            if post.author_url:
                author["url"] = post.author_url
            entry["authors"] = [author]
        if post.language:
            entry["language"] = post.language
        entries.append(entry)
    feed["items"] = entries
    return (json.dumps(feed, ensure_ascii=False, indent=1) + "\n").encode("utf-8")


def sitemaps(base_url: str, pages: Iterable[tuple[str, str | None]]) -> dict[str, bytes]:
    """`sitemap.xml` (and `sitemap-N.xml` past 50,000 URLs) for (path, lastmod) pairs.

    Written as text, not through ElementTree: a large site lists ~100,000 pages, and the
    bytes are those ElementTree writes (tested against it).
    """
    entries = sorted(pages)
    chunks = [entries[i : i + SITEMAP_LIMIT] for i in range(0, len(entries), SITEMAP_LIMIT)]
    files: dict[str, bytes] = {}
    names = (
        ["sitemap.xml"]
        if len(chunks) <= 1
        else [f"sitemap-{n}.xml" for n in range(1, 1 + len(chunks))]
    )
    for name, chunk in zip(names, chunks or [[]], strict=False):
        files[name] = _document("urlset", _url_nodes(base_url, chunk))
    if len(chunks) > 1:
        files["sitemap.xml"] = _document(
            "sitemapindex", [_node("sitemap", [_leaf("loc", base_url + name)]) for name in names]
        )
    return files


def _url_nodes(base_url: str, chunk: list[tuple[str, str | None]]) -> list[str]:
    """A sitemap's `<url>` nodes, as `_node` and `_leaf` write them.

    Why two ways: a large site lists ~100,000 pages, and its paths and dates seldom hold
    anything to escape or drop; one check of all their text picks the quick way (one
    f-string per page) or the careful one (`_leaf` per value).
    """
    href = urls.href
    locs = [base_url + href(path) for path, _lastmod in chunk]
    mods = [lastmod[:10] if lastmod else "" for _path, lastmod in chunk]
    if _NEEDS_CARE.search("".join(locs)) or _NEEDS_CARE.search("".join(mods)):
        return [
            _node("url", [_leaf("loc", loc), *([_leaf("lastmod", mod)] if mod else [])])
            for loc, mod in zip(locs, mods, strict=True)
        ]
    return [
        f" <url>\n  <loc>{loc}</loc>\n  <lastmod>{mod}</lastmod>\n </url>\n"
        if mod
        else f" <url>\n  <loc>{loc}</loc>\n </url>\n"
        for loc, mod in zip(locs, mods, strict=True)
    ]


def _leaf(tag: str, text: str) -> str:
    """`  <tag>text</tag>` as ElementTree writes it at depth two (indented by one space)."""
    text = _text(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return f"  <{tag}>{text}</{tag}>\n" if text else f"  <{tag} />\n"


def _node(tag: str, leaves: list[str]) -> str:
    return f" <{tag}>\n{''.join(leaves)} </{tag}>\n"


def _document(tag: str, nodes: list[str]) -> bytes:
    head = f"<?xml version='1.0' encoding='utf-8'?>\n<{tag} xmlns=\"{SITEMAP}\""
    if not nodes:
        return f"{head} />\n".encode()
    return f"{head}>\n{''.join(nodes)}</{tag}>\n".encode()
