"""The fast path for plain Atom 1.0: lxml builds the very result feedparser would, or declines.

Same contract as `fastfeed` (which calls this for `<feed>` documents): feedparser's own
result objects, key for key, or None. Covered: text and HTML titles, summaries and content,
links, ids, dates, categories, authors (name, uri, email), media:thumbnail, xml:base on any
element and xml:lang on the root. Anything else (XHTML content, `src` content, threading,
contributors, sources, unknown elements or attributes...) declines.
"""

from __future__ import annotations

from typing import Any

from feedparser.datetimes import _parse_date
from feedparser.mixin import _FeedParserMixin
from feedparser.urls import _urljoin, make_safe_absolute_uri
from feedparser.util import FeedParserDict

from ownfeed.sources.fastshared import (
    XML_BASE,
    XML_LANG,
    Decline,
    add_tag,
    attributes,
    element_text,
    name_of,
    repaired,
)
from ownfeed.sources.htmluris import resolve_relative_uris

_TEXT_TYPES = {"text": "text/plain", "html": "text/html", "text/plain": "text/plain"}
_TEXT_TYPES["text/html"] = "text/html"
# Feed children that cannot change the posts or the feed's title, link and language.
_FEED_IGNORED = frozenset(
    {"atom:subtitle", "atom:updated", "atom:generator", "atom:icon", "atom:logo",
     "atom:rights", "atom:category"}
)  # fmt: skip
_REPEATABLE = frozenset({"atom:link", "atom:category", "media:thumbnail"})
_AUTHOR_PARTS = {"atom:name": "name", "atom:uri": "href", "atom:email": "email"}


def parse_atom(root: Any, url: str) -> Any:
    """feedparser's result for an Atom `<feed>` root element; Decline when not covered."""
    return _Atom(url).document(root)


class _Atom:
    def __init__(self, url: str) -> None:
        base = make_safe_absolute_uri(url, url) or url
        self.root_base = make_safe_absolute_uri(base, base) or base
        self.lang: str | None = None

    def base(self, element: Any, parent: str) -> str:
        """feedparser's base URI inside `element`: its xml:base joined to the parent's."""
        declared = element.get(XML_BASE)
        if declared is None:
            return parent
        return make_safe_absolute_uri(parent, declared) or parent

    def document(self, root: Any) -> Any:
        if name_of(root) != "atom:feed":
            raise Decline
        attrs = attributes(root, allowed=(XML_BASE, XML_LANG))
        if attrs:
            raise Decline
        feed = FeedParserDict()
        lang = root.get(XML_LANG)
        if lang:
            self.lang = lang.replace("_", "-")
            feed["language"] = self.lang
        base = self.base(root, self.root_base)
        entries: list[Any] = []
        seen: set[str] = set()
        for child in root:
            name = name_of(child)
            if name == "atom:entry":
                entries.append(self.entry(child, base))
                continue
            if name in seen and name not in _REPEATABLE:
                raise Decline
            seen.add(name)
            self.feed_element(feed, name, child, base)
        return FeedParserDict(
            feed=feed, entries=entries, version="atom10", namespaces={}, bozo=False
        )

    def feed_element(self, feed: Any, name: str, element: Any, parent: str) -> None:
        base = self.base(element, parent)
        if name in _FEED_IGNORED:
            attributes(element, allowed=(XML_BASE,))
            element_text(element)
        elif name == "atom:title":
            self.text_construct(feed, "title", element, base)
        elif name == "atom:link":
            self.link(feed, element, base)
        elif name == "atom:id":
            self.identifier(feed, element, base)
        elif name == "atom:author":
            self.author(feed, element, base)
        else:
            raise Decline

    def entry(self, item: Any, parent: str) -> Any:
        attributes(item, allowed=(XML_BASE,))
        base = self.base(item, parent)
        entry = FeedParserDict()
        seen: set[str] = set()
        for child in item:
            name = name_of(child)
            if name in seen and name not in _REPEATABLE:
                raise Decline
            seen.add(name)
            here = self.base(child, base)
            if name == "atom:title":
                self.text_construct(entry, "title", child, here)
            elif name == "atom:summary":
                self.summary(entry, child, here)
            elif name == "atom:content":
                self.content(entry, child, here)
            elif name == "atom:link":
                self.link(entry, child, here)
            elif name == "atom:id":
                self.identifier(entry, child, here)
            elif name in ("atom:published", "atom:updated"):
                self.date(entry, name[5:], child)
            elif name == "atom:author":
                self.author(entry, child, here)
            elif name == "atom:category":
                self.category(entry, child)
            elif name == "media:thumbnail":
                self.thumbnail(entry, child)
            else:
                raise Decline
        return entry

    # ------------------------------------------------------------------ text constructs

    def content_type(self, element: Any) -> str:
        attrs = attributes(element, allowed=(XML_BASE,))
        if set(attrs) - {"type"}:
            raise Decline  # src, mode, ...
        kind = _TEXT_TYPES.get(attrs.get("type", "text"))
        if kind is None:
            raise Decline  # xhtml, or a media type feedparser may read as base64
        return kind

    def value(self, element: Any, kind: str, base: str) -> str:
        text = element_text(element)
        if kind == "text/html":
            text = resolve_relative_uris(text, base)
        return repaired(text)

    def detail(self, kind: str, base: str, value: str) -> Any:
        return FeedParserDict(type=kind, language=self.lang, base=base, value=value)

    def text_construct(self, context: Any, key: str, element: Any, base: str) -> None:
        kind = self.content_type(element)
        value = self.value(element, kind, base)
        context[key] = value
        context[f"{key}_detail"] = self.detail(kind, base, value)

    def summary(self, entry: Any, element: Any, base: str) -> None:
        """feedparser files a summary that follows a copied summary without content as content;
        such documents are declined, so this is always the summary itself."""
        if "summary" in entry and "content" not in entry:
            raise Decline
        self.text_construct(entry, "summary", element, base)

    def content(self, entry: Any, element: Any, base: str) -> None:
        kind = self.content_type(element)
        value = self.value(element, kind, base)
        entry.setdefault("content", []).append(self.detail(kind, base, value))
        entry.setdefault("summary", value)

    # ------------------------------------------------------------------ the rest

    def link(self, context: Any, element: Any, base: str) -> None:
        """`_start_link`: defaults for rel and type, href joined to the base URI."""
        attrs = attributes(element, allowed=(XML_BASE,))
        element_text(element)
        attrs.setdefault("rel", "alternate")
        attrs.setdefault("type", "application/atom+xml" if attrs["rel"] == "self" else "text/html")
        attrs = _FeedParserMixin._enforce_href(attrs)
        if "href" not in attrs:
            raise Decline  # feedparser would read the element's text as the link
        attrs["href"] = _urljoin(base, attrs["href"])
        context.setdefault("links", []).append(FeedParserDict(attrs))
        if attrs["rel"] == "alternate" and attrs["type"] in _FeedParserMixin.html_types:
            context["link"] = attrs["href"]

    def identifier(self, context: Any, element: Any, base: str) -> None:
        """`_start_id` is `_start_guid`: an Atom id is taken as a permalink until a link."""
        attributes(element, allowed=(XML_BASE,))
        value = element_text(element)
        if value:
            value = _urljoin(base, value)
        value = repaired(value)
        context["id"] = value
        context.setdefault("guidislink", "link" not in context)
        context.setdefault("link", value)

    def date(self, entry: Any, key: str, element: Any) -> None:
        attributes(element, allowed=(XML_BASE,))
        value = repaired(element_text(element))
        entry[key] = value
        entry[f"{key}_parsed"] = _parse_date(value)

    def category(self, entry: Any, element: Any) -> None:
        attrs = attributes(element, allowed=(XML_BASE,))
        if set(attrs) - {"term", "scheme", "label"} or element_text(element):
            raise Decline
        tags = entry.setdefault("tags", [])
        add_tag(tags, attrs.get("term"), attrs.get("scheme"), attrs.get("label"))

    def thumbnail(self, entry: Any, element: Any) -> None:
        attrs = attributes(element)
        if element_text(element):
            raise Decline
        entry.setdefault("media_thumbnail", []).append(attrs)
        entry["url"] = ""

    def author(self, context: Any, element: Any, base: str) -> None:
        """`_start_author`, `_save_author` per part and `_end_author`, in feedparser's order."""
        attributes(element, allowed=(XML_BASE,))
        if "authors" in context or "author" in context:
            raise Decline  # a second author: feedparser's bookkeeping is not reproduced
        context["authors"] = [FeedParserDict()]
        seen: set[str] = set()
        for child in element:
            part = _AUTHOR_PARTS.get(name_of(child))
            if part is None or part in seen:
                raise Decline
            seen.add(part)
            attributes(child, allowed=(XML_BASE,))
            if child.tail and child.tail.strip():
                raise Decline  # text beside the parts: feedparser's `author` value
            value = element_text(child)
            if part == "href":  # `uri` is a text element of its own, stored as `href`
                if value:
                    value = _urljoin(self.base(child, base), value)
                value = repaired(value)
                context["href"] = value
            context.setdefault("author_detail", FeedParserDict())[part] = value
            _sync_author(context)
            context["authors"][-1][part] = value
        if element.text and element.text.strip():
            raise Decline
        context["author"] = ""
        _sync_author(context)


def _sync_author(context: Any) -> None:
    """feedparser's `_sync_author_detail` for the one author: `author` from its parts."""
    detail = context["authors"][-1]
    if not detail:
        return  # feedparser would parse an email out of an earlier `author`; there is none
    name, email = detail.get("name"), detail.get("email")
    if name and email:
        context["author"] = f"{name} ({email})"
    elif name:
        context["author"] = name
    elif email:
        context["author"] = email


__all__ = ["parse_atom"]
