"""OPML subscription lists: read a feed reader's export, write ours.

Reading refuses any DTD (`<!DOCTYPE>`, `<!ENTITY>`) before parsing, so entity expansion
("billion laughs") and external entities cannot happen; outlines nest (folders) and only
those with an http(s) `xmlUrl` count. Writing gives one outline per source with a feed a
reader can follow: the feed itself, or the platform's own feed for the account.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlsplit

from ownfeed.errors import ConfigError, ParseError
from ownfeed.safexml import UnsafeXML, parse_untrusted
from ownfeed.sources.base import SourceConfig

MAX_BYTES = 10 * 1024 * 1024
_CHANNEL_ID = re.compile(r"UC[0-9A-Za-z_-]{22}")


@dataclass(frozen=True)
class Subscription:
    """One feed of an OPML file."""

    url: str
    title: str | None = None
    html_url: str | None = None


def _http(value: str | None) -> str | None:
    text = (value or "").strip()
    parts = urlsplit(text)
    return text if parts.scheme in ("http", "https") and parts.netloc else None


def parse_opml(data: bytes) -> list[Subscription]:
    """Every feed in an OPML document, in order, each URL once."""
    if len(data) > MAX_BYTES:
        raise ParseError(f"OPML file larger than {MAX_BYTES} bytes")
    try:
        root = parse_untrusted(data)
    except UnsafeXML as error:
        raise ParseError(str(error).replace("XML", "OPML", 1)) from None
    if root.tag.lower() != "opml" or root.find("body") is None:
        raise ParseError("not an OPML document (no <opml><body>)")
    found: dict[str, Subscription] = {}
    for outline in root.iter("outline"):
        url = _http(outline.get("xmlUrl") or outline.get("xmlurl"))
        if url and url not in found:
            title = (outline.get("title") or outline.get("text") or "").strip() or None
            found[url] = Subscription(url, title, _http(outline.get("htmlUrl")))
    return list(found.values())


def feed_of(source: SourceConfig) -> tuple[str, str | None] | None:
    """(feed URL, web page) a feed reader can follow for a source; None when it has none."""
    option = source.option
    kind = source.type
    if kind == "feed":
        return str(option("url")), None
    if kind == "wordpress":
        site = str(option("url")).rstrip("/") + "/"
        return site + "feed/", site
    if kind == "youtube":
        channel = _CHANNEL_ID.search(str(option("url")))
        if channel:
            page = f"https://www.youtube.com/channel/{channel.group(0)}"
            return f"https://www.youtube.com/feeds/videos.xml?channel_id={channel.group(0)}", page
        return None
    if kind == "github":
        path = urlsplit(str(option("url"))).path.strip("/") or str(option("url")).strip("/")
        page = f"https://github.com/{path}"
        return (f"{page}/releases.atom" if "/" in path else f"{page}.atom"), page
    account = str(option("account") or "")
    if kind == "mastodon" and account.count("@") == 2:
        user, host = account.lstrip("@").split("@")
        return f"https://{host}/@{user}.rss", f"https://{host}/@{user}"
    if kind == "bluesky" and account:
        page = f"https://bsky.app/profile/{quote(account, safe=':.')}"
        return f"{page}/rss", page
    if kind == "reddit" and account:
        user = account.rstrip("/").split("/")[-1]
        page = f"https://www.reddit.com/user/{user}"
        return f"{page}/submitted.rss", page
    if kind == "lemmy" and "@" in account:
        user, host = account.lstrip("@").split("@", 1)
        return f"https://{host}/feeds/u/{user}.xml", f"https://{host}/u/{user}"
    return None


def write_opml(sources: Iterable[SourceConfig], title: str = "ownfeed sources") -> str:
    """An OPML 2.0 document with one outline per source that has a followable feed."""
    root = ET.Element("opml", version="2.0")
    head = ET.SubElement(root, "head")
    ET.SubElement(head, "title").text = title
    ET.SubElement(head, "dateCreated").text = format_datetime(datetime.now(UTC), usegmt=True)
    ET.SubElement(head, "docs").text = "https://opml.org/spec2.opml"
    body = ET.SubElement(root, "body")
    for source in sources:
        feed = feed_of(source)
        if feed is None:
            continue
        attrs = {"type": "rss", "text": source.name, "title": source.name, "xmlUrl": feed[0]}
        if feed[1]:
            attrs["htmlUrl"] = feed[1]
        ET.SubElement(body, "outline", attrs)
    ET.indent(root)
    return '<?xml version="1.0" encoding="UTF-8"?>\n' + ET.tostring(root, encoding="unicode") + "\n"


def _normal(url: str) -> str:
    parts = urlsplit(url.strip())
    path = parts.path.rstrip("/") or "/"
    query = f"?{parts.query}" if parts.query else ""
    return f"{parts.scheme.lower()}://{parts.netloc.lower()}{path}{query}"


def _name(title: str | None, url: str) -> str:
    slug = re.sub(r"[^a-z0-9]+", "-", (title or "").lower()).strip("-")[:40].strip("-")
    if not slug:
        host = (urlsplit(url).hostname or "").removeprefix("www.")
        slug = re.sub(r"[^a-z0-9]+", "-", host.lower()).strip("-")[:40].strip("-")
    return slug or "feed"


def plan_import(
    subscriptions: Iterable[Subscription], configured: Iterable[SourceConfig]
) -> tuple[list[dict[str, Any]], int]:
    """`[[sources]]` entries for the feeds not configured yet (by URL), with unique names;
    and how many were skipped as duplicates."""
    sources = list(configured)
    taken = {source.name for source in sources}
    have = {_normal(str(s.option("url"))) for s in sources if s.option("url")}
    have |= {_normal(feed[0]) for s in sources if (feed := feed_of(s))}
    entries: list[dict[str, Any]] = []
    skipped = 0
    for item in subscriptions:
        key = _normal(item.url)
        if key in have:
            skipped += 1
            continue
        have.add(key)
        base = _name(item.title, item.url)
        name, counter = base, 2
        while name in taken:
            name, counter = f"{base}-{counter}", counter + 1
        taken.add(name)
        entries.append({"name": name, "type": "feed", "url": item.url})
    return entries, skipped


def read_opml(path: Path) -> list[Subscription]:
    """`parse_opml` of a file; an unreadable or invalid file is a ConfigError naming it."""
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ConfigError(f"cannot read {path}: {error.strerror or error}") from None
    try:
        return parse_opml(data)
    except ParseError as error:
        raise ConfigError(f"{path}: {error}") from None
