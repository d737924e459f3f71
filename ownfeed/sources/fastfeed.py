"""A fast path for plain RSS 2.0: lxml builds the very result feedparser would, or declines.

feedparser is pure Python and was two thirds of a sync's CPU. Most feeds are well-formed
UTF-8 RSS 2.0 from a blog engine using a handful of elements, so for those the document is
read with lxml and turned into feedparser's own result objects (`FeedParserDict`), key for
key, with feedparser's own helpers for the fiddly parts (date formats, URI joining, the
relative-URI rewrite of HTML, the cp1252 and double-encoding repairs). The mapping to posts
in `feedparse` then runs unchanged, so both paths give the same posts.

Anything outside the small, known subset (other formats, other encodings, a DTD, xml:base
or xml:lang, unknown or repeated elements, markup inside a text element, attributes that
feedparser would read) makes `parse_fast` return None and the caller uses feedparser: the
fast path never guesses. tests/sources/test_fastfeed.py compares both paths.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from typing import Any

from feedparser.datetimes import _parse_date
from feedparser.mixin import _FeedParserMixin
from feedparser.urls import _urljoin, make_safe_absolute_uri
from feedparser.util import FeedParserDict
from lxml import etree

from ownfeed.sources.fastatom import parse_atom
from ownfeed.sources.fastshared import (
    Decline,
    add_tag,
    attributes,
    element_text,
    name_of,
    plain_namespaces,
    repaired,
    unknown_element,
    unknown_key,
)
from ownfeed.sources.htmluris import resolve_relative_uris

# Channel children that cannot change what the posts or the feed's title/link/language are.
_CHANNEL_IGNORED = frozenset(
    {
        "description", "lastbuilddate", "pubdate", "generator", "docs", "ttl", "copyright",
        "category", "sy:updateperiod", "sy:updatefrequency", "sy:updatebase", "webmaster",
        "cloud", "rating", "dc:date", "dc:rights", "dc:publisher",
    }
)  # fmt: skip
_ATOM_FEED = "{http://www.w3.org/2005/Atom}feed"
_RDF_NS = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
_RDF = f"{{{_RDF_NS}}}RDF"
_RDF_ABOUT = f"{{{_RDF_NS}}}about"
_RDF_RESOURCE = f"{{{_RDF_NS}}}resource"
_RDF_LIST = frozenset(f"{{{_RDF_NS}}}{name}" for name in ("Seq", "Bag", "li"))
_RSS10 = "http://purl.org/rss/1.0/"
_ATOM = "http://www.w3.org/2005/atom"
_NETSCAPE = "http://my.netscape.com/rdf/simple/0.9/"
_RDF_START = re.compile(rb"<(?:[\w.-]+:)?RDF[\s>/]")
_XMLNS = re.compile(rb"""\sxmlns(:[\w.-]+)?\s*=\s*["']([^"']*)["']""")
# feedparser's pattern for an email address inside an author string (`_sync_author_detail`).
_EMAIL = re.compile(
    r"(([a-zA-Z0-9\_\-\.\+]+)@((\[[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.)|(([a-zA-Z0-9\-]+\.)+))"
    r"([a-zA-Z]{2,4}|[0-9]{1,3})(\]?))(\?subject=\S+)?"
)
_IMAGE_CHILDREN = frozenset({"url", "title", "link", "width", "height", "description"})
# Item children that may appear more than once.
_REPEATABLE = frozenset({"category", "enclosure", "media:content", "media:thumbnail"})
_XML_DECLARATION = re.compile(rb"^<\?xml[^>]*?>")
_DECLARED_ENCODING = re.compile(rb"""encoding\s*=\s*["']([^"']*)["']""")
_UTF8 = ("utf-8", "utf8")
_XML_MEDIA_TYPES = (
    "application/xml",
    "application/rss+xml",
    "application/atom+xml",
    "application/rdf+xml",
)
_QUERY_ENTITY = re.compile("&([A-Za-z0-9_]+);")
_PARSERS = threading.local()  # an lxml parser must not be shared between threads


def _parser() -> Any:
    parser = getattr(_PARSERS, "parser", None)
    if parser is None:
        parser = _PARSERS.parser = etree.XMLParser(
            resolve_entities=False,
            no_network=True,
            load_dtd=False,
            huge_tree=False,
            strip_cdata=True,
            remove_comments=True,
            remove_pis=True,
        )
    return parser


def parse_fast(data: bytes, *, url: str, content_type: str) -> Any:
    """feedparser's result for `data` (already stripped of leading garbage), or None.

    `content_type` is the one feedparser would be given (see feedparse._parser_content_type).
    """
    if not _plain_utf8(data, content_type):
        return None
    try:
        root = etree.fromstring(data, _parser())
    except (etree.XMLSyntaxError, ValueError):
        return None
    if root.getroottree().docinfo.doctype:
        return None
    if root.tag != _RDF and not plain_namespaces(root):
        return None
    try:
        if root.tag == _ATOM_FEED:
            return parse_atom(root, url)
        return _Rss20(url, data).document(root)
    except Decline:
        return None


def _plain_utf8(data: bytes, content_type: str) -> bool:
    """UTF-8 for certain: by the server's word (or an XML type without charset, which feedparser
    reads as the document says) and by the XML declaration (absent, or UTF-8)."""
    media, _, params = content_type.partition(";")
    charset = None
    for param in params.split(";"):
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset":
            charset = value.strip().strip("\"'").lower()
    media = media.strip().lower()
    if charset is not None and charset not in _UTF8:
        return False
    if media not in _XML_MEDIA_TYPES and not (media == "text/xml" and charset in _UTF8):
        return False
    if not data.startswith((b"<?xml", b"<rss", b"<feed", b"<rdf:RDF")):
        return False
    declaration = _XML_DECLARATION.match(data)
    if declaration:
        declared = _DECLARED_ENCODING.search(declaration.group())
        if declared and declared.group(1).decode("ascii", "replace").lower() not in _UTF8:
            return False
    return True


class _Rss20:
    """One document's walk. `base` is feedparser's base URI: the URL, joined with itself."""

    def __init__(self, url: str, data: bytes) -> None:
        self.data = data
        base = make_safe_absolute_uri(url, url) or url
        self.base = make_safe_absolute_uri(base, base) or base

    def document(self, root: Any) -> Any:
        if root.tag == _RDF:
            return self.rdf(root)
        if name_of(root) != "rss" or not attributes(root).get("version", "").startswith("2."):
            raise Decline
        channels = list(root)
        if len(channels) != 1 or name_of(channels[0]) != "channel":
            raise Decline
        feed = FeedParserDict()
        entries = self.channel(feed, channels[0])
        return _result(feed, entries, "rss20")

    def rdf(self, root: Any) -> Any:
        """RSS 1.0: the channel, then the items beside it under `rdf:RDF`."""
        if _first_versioned_namespace(self.data) != _RSS10:
            raise Decline  # feedparser takes its version from the first one declared
        attributes(root)
        feed = FeedParserDict()
        entries: list[Any] = []
        channels = 0
        for child in root:
            name = name_of(child)
            if name == "channel":
                channels += 1
                entries += self.channel(feed, child)
            elif name == "item":
                entries.append(self.entry(child))
            elif name == "image":
                self.channel_element(feed, name, child)
            else:
                raise Decline
        if channels != 1:
            raise Decline
        return _result(feed, entries, "rss10")

    def channel(self, feed: Any, channel: Any) -> list[Any]:
        attributes(channel, allowed=(_RDF_ABOUT,))
        entries: list[Any] = []
        seen: set[str] = set()
        for child in channel:
            if unknown_key(child, data=self.data) is not None:
                unknown_element(FeedParserDict(), "ignored", child)  # checks it, no effect
                continue
            name = name_of(child)
            if name == "item":
                entries.append(self.entry(child))
                continue
            if name in seen and name not in ("atom:link", "category"):
                raise Decline
            seen.add(name)
            self.channel_element(feed, name, child)
        return entries

    # ------------------------------------------------------------------ feed level

    def channel_element(self, feed: Any, name: str, element: Any) -> None:
        if name == "image":
            if attributes(element, allowed=(_RDF_ABOUT, _RDF_RESOURCE)) or any(
                name_of(child) not in _IMAGE_CHILDREN or len(child) for child in element
            ):
                raise Decline
            return
        if name == "items":  # RSS 1.0's table of contents: rdf:Seq of rdf:li, no effect
            if attributes(element) or any(
                child.tag not in _RDF_LIST or attributes(child, allowed=(_RDF_RESOURCE,))
                for child in element.iter()
                if child is not element
            ):
                raise Decline
            return
        attrs = attributes(element)
        if name in _CHANNEL_IGNORED:
            element_text(element)
            return
        if name == "atom:link":
            self.atom_link(feed, attrs)
            return
        if attrs:
            raise Decline
        if name == "title":
            self.title(feed, element_text(element))
        elif name == "link":
            value = element_text(element)
            if value:
                value = _urljoin(self.base, value)
            value = _QUERY_ENTITY.sub(r"&\g<1>", repaired(value))
            feed["link"] = value
            feed.setdefault("links", []).append(
                FeedParserDict(rel="alternate", type="text/html", href=value)
            )
        elif name in ("language", "dc:language"):
            feed["language"] = repaired(element_text(element))
        else:
            raise Decline

    def atom_link(self, feed: Any, attrs: dict[str, str]) -> None:
        """An atom:link in the channel (self, next, hub...), as feedparser's `_start_link`."""
        attrs.setdefault("rel", "alternate")
        attrs.setdefault("type", "application/atom+xml" if attrs["rel"] == "self" else "text/html")
        attrs = _FeedParserMixin._enforce_href(attrs)
        if "href" not in attrs:
            raise Decline  # feedparser would read its text as the link
        attrs["href"] = _urljoin(self.base, attrs["href"])
        feed.setdefault("links", []).append(FeedParserDict(attrs))
        if attrs["rel"] == "alternate" and attrs["type"] in _FeedParserMixin.html_types:
            feed["link"] = attrs["href"]

    # ------------------------------------------------------------------ items

    def entry(self, item: Any) -> Any:
        if attributes(item, allowed=(_RDF_ABOUT,)):
            raise Decline
        entry = FeedParserDict()
        about = item.get(_RDF_ABOUT)
        if about:
            entry["id"] = about  # as given: feedparser neither joins nor repairs it
        seen: set[str] = set()
        for child in item:
            key = unknown_key(child, data=self.data)
            if key is not None:
                if key in seen:
                    raise Decline
                seen.add(key)
                unknown_element(entry, key, child)
                continue
            name = name_of(child)
            if name in seen and name not in _REPEATABLE:
                raise Decline
            seen.add(name)
            handler = _ITEM_HANDLERS.get(name)
            if handler is None:
                raise Decline
            handler(self, entry, child)
        return entry

    def title(self, context: Any, value: str) -> None:
        """RSS titles are text, unless they look like HTML (feedparser's guess)."""
        kind = "text/plain"
        if _FeedParserMixin.looks_like_html(value):
            kind = "text/html"
            value = resolve_relative_uris(value, self.base)
        value = repaired(value)
        context["title"] = value
        context["title_detail"] = FeedParserDict(
            type=kind, language=None, base=self.base, value=value
        )

    def entry_link(self, context: Any, value: str) -> None:
        if value:
            value = _urljoin(self.base, value)
        value = repaired(value)
        value = _QUERY_ENTITY.sub(r"&\g<1>", value.replace("&amp;", "&"))
        context["link"] = value
        if value:
            context["links"][-1]["href"] = value

    def item_title(self, entry: Any, element: Any) -> None:
        if attributes(element):
            raise Decline
        self.title(entry, element_text(element))

    def item_link(self, entry: Any, element: Any) -> None:
        if attributes(element):
            raise Decline
        entry.setdefault("links", []).append(FeedParserDict(rel="alternate", type="text/html"))
        self.entry_link(entry, element_text(element))

    def guid(self, entry: Any, element: Any) -> None:
        attrs = attributes(element)
        if set(attrs) - {"ispermalink"}:
            raise Decline
        is_link = attrs.get("ispermalink", "true") == "true"
        value = element_text(element)
        if value and is_link:
            value = _urljoin(self.base, value)
        value = repaired(value)
        entry["id"] = value
        entry.setdefault("guidislink", is_link and "link" not in entry)
        if is_link:
            entry.setdefault("link", value)

    def published(self, entry: Any, element: Any) -> None:
        if attributes(element):
            raise Decline
        value = repaired(element_text(element))
        entry["published"] = value
        entry["published_parsed"] = _parse_date(value)

    def updated(self, entry: Any, element: Any) -> None:
        """dc:date, which feedparser files as `updated`."""
        if attributes(element):
            raise Decline
        value = repaired(element_text(element))
        entry["updated"] = value
        entry["updated_parsed"] = _parse_date(value)

    def creator(self, entry: Any, element: Any) -> None:
        """dc:creator or author, as feedparser's `_start_author`, `_end_author` and
        `_sync_author_detail`: an email address in the text becomes the detail's email."""
        if attributes(element) or "authors" in entry:
            raise Decline  # a second author: feedparser's bookkeeping is not reproduced
        value = repaired(element_text(element))
        detail = FeedParserDict()
        entry["authors"] = [detail]
        entry["author"] = value
        if not value:
            return
        name, email = value, None
        found = _EMAIL.search(value)
        if found:
            email = found.group(0)
            name = value.replace(email, "").replace("()", "").replace("<>", "")
            name = name.replace("&lt;&gt;", "").strip()
            if name and name[0] == "(":
                name = name[1:]
            if name and name[-1] == ")":
                name = name[:-1]
            name = name.strip()
        entry.setdefault("author_detail", detail)
        if name:
            detail["name"] = name
        if email:
            detail["email"] = email

    def category(self, entry: Any, element: Any) -> None:
        """`_start_category`/`_end_category`: a domain is the scheme, the text the term."""
        attrs = attributes(element)
        if set(attrs) - {"domain"}:
            raise Decline
        tags = entry.setdefault("tags", [])
        if attrs.get("domain"):
            add_tag(tags, None, attrs["domain"], None)
        value = repaired(element_text(element))
        if not value:
            return
        if tags and not tags[-1]["term"]:
            tags[-1]["term"] = value
        else:
            add_tag(tags, value, None, None)

    def description(self, entry: Any, element: Any) -> None:
        if attributes(element):
            raise Decline
        value = repaired(resolve_relative_uris(element_text(element), self.base))
        entry["summary"] = value
        entry["summary_detail"] = FeedParserDict(
            type="text/html", language=None, base=self.base, value=value
        )

    def encoded(self, entry: Any, element: Any) -> None:
        """content:encoded; feedparser also copies it to `summary` when there is none yet."""
        if attributes(element):
            raise Decline
        value = repaired(resolve_relative_uris(element_text(element), self.base))
        content = FeedParserDict(type="text/html", language=None, base=self.base, value=value)
        entry.setdefault("content", []).append(content)
        entry.setdefault("summary", value)

    def enclosure(self, entry: Any, element: Any) -> None:
        attrs = attributes(element)
        if len(element) or set(attrs) - {"url", "length", "type"}:
            raise Decline
        attrs = _FeedParserMixin._enforce_href(attrs)
        attrs["rel"] = "enclosure"
        entry.setdefault("links", []).append(FeedParserDict(attrs))

    def media_content(self, entry: Any, element: Any) -> None:
        if len(element):
            raise Decline
        entry.setdefault("media_content", []).append(attributes(element))

    def media_thumbnail(self, entry: Any, element: Any) -> None:
        attrs = attributes(element)
        if element_text(element):
            raise Decline  # a thumbnail URL given as text: feedparser's `url` element
        entry.setdefault("media_thumbnail", []).append(attrs)
        entry["url"] = ""


def _first_versioned_namespace(data: bytes) -> str | None:
    """The first namespace on the `rdf:RDF` start tag that sets feedparser's version."""
    start = _RDF_START.search(data)
    if start is None:
        return None
    tag = data[start.start() : data.find(b">", start.start())]
    for prefix, uri in _XMLNS.findall(tag):
        lowered = uri.decode("utf-8", "replace").lower()
        if lowered in (_RSS10, _ATOM) or (not prefix and lowered == _NETSCAPE):
            return lowered
    return None


def _result(feed: Any, entries: list[Any], version: str) -> Any:
    return FeedParserDict(
        feed=feed, entries=entries, version=version, namespaces={}, bozo=False, encoding="utf-8"
    )


def _plain(key: str, resolve: bool = False) -> Callable[[_Rss20, Any, Any], None]:
    """An element feedparser has no handler for: its text under `key`, joined to the base
    URI when feedparser treats it as a link."""

    def handle(walk: _Rss20, entry: Any, element: Any) -> None:
        if attributes(element):
            raise Decline
        value = element_text(element)
        if resolve and value:
            value = _urljoin(walk.base, value)
        entry[key] = repaired(value)

    return handle


_ITEM_HANDLERS: dict[str, Callable[[_Rss20, Any, Any], None]] = {
    "title": _Rss20.item_title,
    "link": _Rss20.item_link,
    "guid": _Rss20.guid,
    "pubdate": _Rss20.published,
    "dc:creator": _Rss20.creator,
    "dc:date": _Rss20.updated,
    "dc:subject": _Rss20.category,
    "author": _Rss20.creator,
    "category": _Rss20.category,
    "description": _Rss20.description,
    "content:encoded": _Rss20.encoded,
    "enclosure": _Rss20.enclosure,
    "media:content": _Rss20.media_content,
    "media:thumbnail": _Rss20.media_thumbnail,
    "comments": _plain("comments", resolve=True),
    "wfw:commentrss": _plain("wfw_commentrss", resolve=True),
    "slash:comments": _plain("slash_comments"),
}

__all__ = ["parse_fast"]
