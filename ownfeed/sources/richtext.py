"""Bluesky rich text: `text` plus facets (UTF-8 byte ranges) rendered to safe HTML.

Facets address bytes, not characters, so umlauts and emoji before a link shift every
character offset; the text is sliced as UTF-8 bytes. Broken facets (overlapping, out of
range, splitting a character, unknown feature, non-http link) are rendered as plain text
rather than dropped, so no text is ever lost.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

BSKY_WEB = "https://bsky.app"

_MENTION = "app.bsky.richtext.facet#mention"
_LINK = "app.bsky.richtext.facet#link"
_TAG = "app.bsky.richtext.facet#tag"
_PARAGRAPH_RE = re.compile(r"\n{2,}")


@dataclass(frozen=True)
class _Span:
    """A valid facet: a byte range and where it links to."""

    start: int
    end: int
    href: str
    css: str


def profile_url(actor: str) -> str:
    """The bsky.app page of a handle or DID."""
    return f"{BSKY_WEB}/profile/{quote(actor, safe=':.')}"


def tag_url(tag: str) -> str:
    return f"{BSKY_WEB}/hashtag/{quote(tag, safe='')}"


def _is_boundary(data: bytes, index: int) -> bool:
    """True when `index` does not cut a UTF-8 sequence (continuation bytes are 10xxxxxx)."""
    return index == len(data) or (data[index] & 0xC0) != 0x80


def _feature_link(feature: Mapping[str, Any]) -> tuple[str, str] | None:
    """(href, css class) for one facet feature, None when unknown or unsafe."""
    kind = feature.get("$type")
    if kind == _LINK:
        uri = feature.get("uri")
        if isinstance(uri, str) and uri.lower().startswith(("https://", "http://")):
            return uri, "link"
    elif kind == _MENTION:
        did = feature.get("did")
        if isinstance(did, str) and did.startswith("did:"):
            return profile_url(did), "mention"
    elif kind == _TAG:
        tag = feature.get("tag")
        if isinstance(tag, str) and tag.strip():
            return tag_url(tag.strip()), "tag"
    return None


def _span(facet: Any, data: bytes) -> _Span | None:
    """A facet checked against the text; None when it cannot be rendered as a link."""
    if not isinstance(facet, Mapping):
        return None
    index = facet.get("index")
    if not isinstance(index, Mapping):
        return None
    start, end = index.get("byteStart"), index.get("byteEnd")
    if not isinstance(start, int) or not isinstance(end, int) or isinstance(start, bool):
        return None
    if not 0 <= start < end <= len(data):
        return None
    if not (_is_boundary(data, start) and _is_boundary(data, end)):
        return None
    for feature in facet.get("features") or ():
        if isinstance(feature, Mapping) and (link := _feature_link(feature)):
            return _Span(start, end, link[0], link[1])
    return None


def _spans(data: bytes, facets: Iterable[Any]) -> list[_Span]:
    """Valid facets in text order; a facet overlapping an earlier one is skipped."""
    found = sorted(
        (span for facet in facets if (span := _span(facet, data))), key=lambda s: s.start
    )
    chosen: list[_Span] = []
    for span in found:
        if not chosen or span.start >= chosen[-1].end:
            chosen.append(span)
    return chosen


def _text(data: bytes) -> str:
    return html.escape(data.decode("utf-8", errors="replace"), quote=False)


def _inline(text: str, facets: Iterable[Any] | None) -> str:
    """Escaped text with facets as links; newlines left in place for paragraphing."""
    data = text.encode("utf-8")
    parts: list[str] = []
    position = 0
    for span in _spans(data, facets or ()):
        parts.append(_text(data[position : span.start]))
        label = _text(data[span.start : span.end]).replace("\n", " ")
        href = html.escape(span.href, quote=True)
        parts.append(f'<a href="{href}" class="{span.css}">{label}</a>')
        position = span.end
    parts.append(_text(data[position:]))
    return "".join(parts)


def render(text: str | None, facets: Iterable[Any] | None = None) -> str:
    """HTML for a post's text: paragraphs on blank lines, `<br>` on single newlines."""
    if not text:
        return ""
    body = _inline(text.replace("\r\n", "\n"), facets)
    paragraphs = [p.strip("\n") for p in _PARAGRAPH_RE.split(body)]
    return "".join(f"<p>{p.replace(chr(10), '<br>')}</p>" for p in paragraphs if p.strip())


def facet_tags(facets: Iterable[Any] | None) -> list[str]:
    """The hashtags a post's facets carry (without '#'), in order, without duplicates."""
    tags: list[str] = []
    for facet in facets or ():
        if not isinstance(facet, Mapping):
            continue
        for feature in facet.get("features") or ():
            if not isinstance(feature, Mapping) or feature.get("$type") != _TAG:
                continue
            tag = feature.get("tag")
            if isinstance(tag, str) and tag.strip() and tag.strip() not in tags:
                tags.append(tag.strip())
    return tags
