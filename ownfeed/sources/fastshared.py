"""What the lxml fast paths (`fastfeed` for RSS 2.0, `fastatom` for Atom) share: element
names and attributes as feedparser's strict parser reports them, and feedparser's repairs."""

from __future__ import annotations

import re
from typing import Any

from feedparser.api import StrictFeedParser
from feedparser.html import _cp1252
from feedparser.mixin import _FeedParserMixin
from feedparser.util import FeedParserDict

XML_BASE = "{http://www.w3.org/XML/1998/namespace}base"
XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
# Namespaces feedparser knows, by lower-cased URI, as the prefix it files elements under.
NAMESPACES = {
    "http://purl.org/rss/1.0/modules/content/": "content",
    "http://purl.org/dc/elements/1.1/": "dc",
    "http://search.yahoo.com/mrss": "media",
    "http://search.yahoo.com/mrss/": "media",
    "http://purl.org/rss/1.0/modules/slash/": "slash",
    "http://purl.org/rss/1.0/modules/syndication/": "sy",
    "http://wellformedweb.org/commentapi/": "wfw",
    "http://www.w3.org/2005/atom": "atom",
    "http://purl.org/rss/1.0/": "",  # RSS 1.0's own elements: no prefix
}
_C1 = re.compile("[\x80-\x9f]")


class Decline(Exception):
    """The document uses something the fast path does not reproduce exactly."""


def repaired(text: str) -> str:
    """feedparser's last steps for every value of a UTF-8 document: undo UTF-8 read as
    Latin-1, then map the C1 controls to the cp1252 characters they usually meant."""
    if text.isascii():
        return text
    try:
        text = text.encode("iso-8859-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return text.translate(_cp1252) if _C1.search(text) else text
    return text.translate(_cp1252) if _C1.search(text) else text


def attributes(element: Any, allowed: tuple[str, ...] = ()) -> dict[str, str]:
    """Attributes as feedparser's strict parser hands them on: names lower-cased, `rel` and
    `type` values too. Namespaced ones decline unless `allowed` (then they are left out, the
    caller handles them); so do `base` and `lang`, which feedparser reads as xml:base/lang."""
    attrs: dict[str, str] = {}
    for name, value in element.attrib.items():
        if name in allowed:
            continue
        key = name.lower()
        if name.startswith("{") or key in ("base", "lang"):
            raise Decline
        attrs[key] = value.lower() if key in ("rel", "type") else value
    return attrs


def name_of(element: Any) -> str:
    """`prefix:local` the way feedparser names it (local lower-cased; no prefix for RSS)."""
    tag = element.tag
    if not isinstance(tag, str):
        raise Decline
    if tag[0] != "{":
        return tag.lower()
    uri, _, local = tag[1:].partition("}")
    prefix = NAMESPACES.get(uri.lower())
    if prefix is None:
        raise Decline
    return f"{prefix}:{local.lower()}" if prefix else local.lower()


def element_text(element: Any) -> str:
    """The character data of an element without children, stripped as feedparser strips it."""
    if len(element):
        raise Decline
    return (element.text or "").strip()


def add_tag(tags: list[Any], term: str | None, scheme: str | None, label: str | None) -> None:
    """feedparser's `_add_tag`: nothing when all three are empty, no duplicates."""
    if not term and not scheme and not label:
        return
    value = FeedParserDict(term=term, scheme=scheme, label=label)
    if value not in tags:
        tags.append(value)


# Root namespaces that make feedparser call the document RSS 1.0 or 0.90 whatever it is.
_VERSION_URIS = frozenset({"http://purl.org/rss/1.0/", "http://my.netscape.com/rdf/simple/0.9/"})
# Element names feedparser treats specially: a handler, a key alias, URI or HTML rewriting.
_SPECIAL = (
    frozenset(FeedParserDict.keymap)
    | _FeedParserMixin.can_be_relative_uri
    | _FeedParserMixin.can_contain_relative_uris
)


def plain_namespaces(root: Any) -> bool:
    """False when a namespace on the root element would change feedparser's version."""
    return not any(str(uri).lower() in _VERSION_URIS for uri in root.nsmap.values())


def unknown_key(element: Any, data: bytes) -> str | None:
    """The key feedparser files an element of a namespace it does not know under (its local
    name, when the namespace is only ever a default one), or None for other elements.

    feedparser names such an element after the first prefix ever declared for its namespace
    anywhere before it, so a namespace that is also declared with a prefix declines; so do
    names feedparser has a handler or an alias for.
    """
    tag = element.tag
    if not isinstance(tag, str) or tag[0] != "{":
        return None
    uri, _, local = tag[1:].partition("}")
    if uri.lower() in NAMESPACES:
        return None
    if any(c in uri for c in "&<\"'") or "backend.userland.com/rss" in uri.lower():
        raise Decline
    if re.search(rb"xmlns:[^\s=]+\s*=\s*[\"']" + re.escape(uri.encode()) + rb"[\"']", data):
        raise Decline
    key = local.lower()
    if (
        key in _SPECIAL
        or hasattr(StrictFeedParser, f"_start_{key}")
        or hasattr(StrictFeedParser, f"_end_{key}")
    ):
        raise Decline
    return key


def unknown_element(context: Any, key: str, element: Any) -> None:
    """feedparser's default for an element it has no handler for: its attributes as a dict
    when it has any (the text is dropped), else its text."""
    attrs = attributes(element)
    if len(element):
        raise Decline
    if attrs:
        context[key] = attrs
    else:
        context[key] = repaired(element_text(element))
