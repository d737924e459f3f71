"""Feed documents -> posts. Pure parsing, no network, so it can be golden-tested.

RSS 0.9x/1.0/2.0 and Atom go through feedparser (after stripping garbage before the XML);
JSON Feed 1.0/1.1 is read with `json`, because released feedparser cannot parse it.
"""

from __future__ import annotations

import hashlib
import html
import io
import json
import re
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin, urlsplit

from ownfeed.discover import (
    is_xml_type,
    looks_like_html,
    media_type,
    strip_leading_garbage,
)
from ownfeed.errors import ParseError
from ownfeed.models import Author, Media, MediaKind, Post, PostKind, html_to_text, parse_iso

PLATFORM = "web"
THREAD_NS = "http://purl.org/syndication/thread/1.0"
_JSON_TYPES = ("application/feed+json", "application/json")
_COMMENT_FEED_TYPES = ("application/atom+xml", "application/rss+xml")
# Keys of a feedparser entry that are derived, huge or not JSON-able: left out of `raw`.
_RAW_SKIP = ("content", "guidislink")
_RAW_SKIP_SUFFIXES = ("_parsed", "_detail")

# Titles that platforms generate for comments: "By: X", "Von: X", "Comment on P by X", ...
_GENERATED_TITLE = re.compile(
    r"^(?:by|von|par|door|por|da|di|de|av|af|od|przez|от|от кого)\s*:\s"
    r"|^(?:comment on|kommentar zu|kommentare zu|commentaire sur|reactie op|comentario en"
    r"|comentário sobre|commento a|komentarz do)\s",
    re.IGNORECASE,
)
# Feeds never need their own entities; a DTD that declares them is a billion-laughs attempt.
_ENTITY_DECLARATION = re.compile(rb"<!ENTITY", re.IGNORECASE)
_ROOT_ELEMENT = re.compile(rb"<(?:rss|feed|rdf:RDF)[\s>/]", re.IGNORECASE)
# A start tag with double-quoted attributes, an end tag, or a `<` that html.parser takes as text.
_PLAIN_TAG = re.compile(
    r'<(?:([a-zA-Z][-a-zA-Z0-9:_.]*)((?:\s+[a-zA-Z_:][-a-zA-Z0-9_:.]*\s*=\s*"[^"<>]*")*)\s*/?>'
    r"|/[a-zA-Z][-a-zA-Z0-9:_.]*\s*>|(?![a-zA-Z/!?]))"
)
_PLAIN_ATTR = re.compile(r'([a-zA-Z_:][-a-zA-Z0-9_:.]*)\s*=\s*"([^"<>]*)"')
_PINGBACK_TITLE = re.compile(r"^(?:pingback|trackback)\s*:", re.IGNORECASE)
# WordPress shows a pingback's excerpt wrapped in "[…] … […]".
_PINGBACK_EXCERPT = re.compile(r"^\[(?:…|\.\.\.)\].*\[(?:…|\.\.\.)\]$", re.DOTALL)


@dataclass(frozen=True)
class FeedEntry:
    """One entry of a feed as a post, with where its comments can be read."""

    post: Post
    comments_url: str | None = None


@dataclass(frozen=True)
class ParsedFeed:
    """A parsed feed document: its metadata, entries and the link to its next (older) page."""

    version: str
    title: str | None = None
    home_url: str | None = None
    language: str | None = None
    entries: tuple[FeedEntry, ...] = ()
    next_url: str | None = None
    #: why the strict XML parse failed, when the lenient parser had to step in (bozo)
    bozo: str | None = None

    @property
    def posts(self) -> list[Post]:
        return [entry.post for entry in self.entries]


# --------------------------------------------------------------------------- entry points


def parse_feed(body: bytes, *, url: str, content_type: str, fast: bool = True) -> ParsedFeed:
    """Parse any supported feed; ParseError (one line) when the document is no feed at all.

    `fast=False` always uses feedparser (the differential tests compare both paths).
    """
    if _is_json(body, content_type):
        return _parse_json_feed(body, url=url)
    parsed = parse_document(body, url=url, content_type=content_type, fast=fast)
    return _to_parsed_feed(parsed, url)


def parse_comments(
    body: bytes, *, url: str, content_type: str, post_native_id: str, fast: bool = True
) -> list[Post]:
    """Parse a post's comment feed into replies/pingbacks linked to the post.

    RSS comment items carry no parent pointer, so their parent is the post itself; Atom's
    `thr:in-reply-to` (any prefix) names the post or another comment as the parent.
    """
    if _is_json(body, content_type):
        raise ParseError("not a comment feed: JSON Feed has no comments")
    parsed = parse_document(body, url=url, content_type=content_type)
    language = _text(parsed.feed.get("language"))
    thread_prefixes = _thread_prefixes(parsed)
    comments: list[Post] = []
    for entry in parsed.entries:
        base = _entry_post(entry, url=url, feed_language=language, thread=thread_prefixes)
        comments.append(_as_comment(base, entry, post_native_id, thread_prefixes))
    return comments


# --------------------------------------------------------------------------- feedparser


def _is_json(body: bytes, content_type: str) -> bool:
    return (
        media_type(content_type) in _JSON_TYPES or body.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"{"
    )


def parse_document(body: bytes, *, url: str, content_type: str, fast: bool = True) -> Any:
    """feedparser's result for an RSS/Atom/RDF body, with the checks every caller needs:
    no HTML page, no garbage before the XML, no entity declarations (billion laughs), no
    crash on hostile bytes; ParseError (one line) when nothing feed-like came out.

    Plain RSS 2.0 is read by the fast path (`fastfeed`), which gives the same result or
    declines; everything else, and everything with `fast=False`, goes to feedparser."""
    if looks_like_html(body, content_type):
        raise ParseError("not a feed (HTML page)")
    data = strip_leading_garbage(body)
    if _ENTITY_DECLARATION.search(data, 0, _prolog_end(data)):
        raise ParseError("not a feed: XML entity declarations are refused (entity bomb?)")
    parser_type = _parser_content_type(content_type)
    if fast:
        # Imported here: lxml costs every CLI start ~20 ms, and most never parse (all 304).
        from ownfeed.sources.fastfeed import parse_fast

        if (found := parse_fast(data, url=url, content_type=parser_type)) is not None:
            return found
    import feedparser  # like lxml above: an unchanged sync parses nothing (~17 ms saved)

    headers = {"content-type": parser_type, "content-location": url}
    try:
        parsed = feedparser.parse(io.BytesIO(data), response_headers=headers, sanitize_html=False)
    except Exception as error:  # feedparser's own bugs on hostile bytes must not crash a sync
        raise ParseError(f"not a feed: parser failed ({_first_line(error)})") from None
    if not parsed.get("version") and not parsed.entries:
        raise ParseError(f"not a feed: {_bozo_reason(parsed)}")
    return parsed


def _prolog_end(data: bytes) -> int:
    """Where the root element starts: declarations before it are the DTD's internal subset."""
    root = _ROOT_ELEMENT.search(data)
    return root.start() if root else len(data)


def _parser_content_type(content_type: str) -> str:
    """A type that lets feedparser parse strictly: a feed sent as text/html or text/plain is XML.

    The charset parameter is kept, it is the server's word on the encoding.
    """
    if is_xml_type(content_type):
        return content_type
    _, _, params = content_type.partition(";")
    return "application/xml" + (f";{params}" if params.strip() else "")


def _bozo_reason(parsed: Any) -> str:
    error = parsed.get("bozo_exception")
    if error is None:
        return "no RSS, Atom or RDF root element"
    reason = " ".join(str(error).split())
    return reason[:200] or type(error).__name__


def _to_parsed_feed(parsed: Any, url: str) -> ParsedFeed:
    feed = parsed.feed
    language = _text(feed.get("language"))
    thread = _thread_prefixes(parsed)
    entries = tuple(
        FeedEntry(
            post=_entry_post(entry, url=url, feed_language=language, thread=thread, feed=feed),
            comments_url=_comments_url(entry),
        )
        for entry in parsed.entries
    )
    return ParsedFeed(
        version=str(parsed.get("version") or "unknown"),
        title=_plain_title(feed),
        home_url=_http_url(feed.get("link")),
        language=language,
        entries=tuple(_unique(entries)),
        next_url=_older_page(feed.get("links", ()), url),
        bozo=_bozo_reason(parsed) if parsed.get("bozo") else None,
    )


def _unique(entries: Iterable[FeedEntry]) -> Iterator[FeedEntry]:
    """A feed listing one guid twice gives one post (the first, i.e. the newest copy)."""
    seen: set[str] = set()
    for entry in entries:
        if entry.post.native_id not in seen:
            seen.add(entry.post.native_id)
            yield entry


def _thread_prefixes(parsed: Any) -> tuple[str, ...]:
    """The prefixes under which feedparser stores Atom threading elements in this document."""
    declared = parsed.get("namespaces", {}) or {}
    prefixes = [p for p, uri in declared.items() if p and str(uri).rstrip("/") == THREAD_NS]
    return (*prefixes, "thr")


def _entry_post(
    entry: Any,
    *,
    url: str,
    feed_language: str | None,
    thread: tuple[str, ...],
    feed: Any = None,
) -> Post:
    """One feedparser entry as a post of ours (comments are adjusted by the caller)."""
    content_html, content_text = _best_content(entry)
    link = _entry_link(entry)
    published, updated = _entry_dates(entry)
    title = _plain_title(entry)
    native_id = _native_id(entry, link, title, content_html or content_text)
    return Post(
        platform=PLATFORM,
        native_id=native_id,
        url=link,
        title=title,
        content_html=content_html,
        content_text=content_text,
        language=_entry_language(entry) or feed_language,
        author=_entry_author(entry) or (_entry_author(feed) if feed is not None else None),
        published_at=published,
        updated_at=updated,
        tags=_entry_tags(entry),
        media=_entry_media(entry, content_html, link or url),
        reply_count=_reply_count(entry, thread),
        raw=_raw(entry),
    )


def _best_content(entry: Any) -> tuple[str | None, str | None]:
    """content:encoded > Atom content > summary; HTML kept as received, text derived.

    A text/plain `content` is what feedparser makes of `<media:description>`, so an HTML
    summary wins over it.
    """
    contents = [c for c in entry.get("content", ()) if _text(c.get("value"))]
    for item in contents:
        if _is_html_type(item.get("type")):
            return item["value"], html_to_text(item["value"])
    summary = entry.get("summary_detail") or {}
    if _text(summary.get("value")) and _is_html_type(summary.get("type")):
        return summary["value"], html_to_text(summary["value"])
    for item in (*contents, summary):
        text = _text(item.get("value"))
        if text:
            return None, text
    return None, None


def _plain_title(element: Any) -> str | None:
    """Titles are text: an Atom `type="html"`/`xhtml"` title loses its markup."""
    title = _text(element.get("title"))
    detail = element.get("title_detail") or {}
    if title and str(detail.get("type", "text/plain")).lower() != "text/plain":
        return html_to_text(title) or None
    return title


def _is_html_type(value: Any) -> bool:
    return str(value or "text/html").lower() in ("text/html", "application/xhtml+xml", "html")


def _entry_link(entry: Any) -> str | None:
    """The entry's web page: an alternate link, else a guid that is a permalink URL."""
    for link in entry.get("links", ()):
        if link.get("rel", "alternate") == "alternate" and _http_url(link.get("href")):
            return _http_url(link.get("href"))
    if entry.get("guidislink") and _http_url(entry.get("id")):
        return _http_url(entry.get("link"))
    return None


def _native_id(entry: Any, link: str | None, title: str | None, content: str | None) -> str:
    """guid/id, else the link, else a hash of what the entry says (stable across fetches)."""
    guid = _text(entry.get("id"))
    if guid:
        return guid
    if link:
        return link
    digest = hashlib.sha256(f"{title or ''}\0{content or ''}".encode()).hexdigest()
    return f"sha256:{digest[:32]}"


def _entry_dates(entry: Any) -> tuple[datetime | None, datetime | None]:
    """Published and updated in UTC. `'updated' in entry`, because `entry.get('updated')`
    silently answers the published date for RSS 2.0. RSS 1.0 only has dc:date (-> updated)."""
    published = entry_date(entry, "published")
    updated = entry_date(entry, "updated") if "updated" in entry else None
    return published or updated, updated


def entry_date(entry: Any, key: str) -> datetime | None:
    """`published` or `updated` of a feedparser entry, or None when the entry lacks it.

    Reads with `dict.get`: feedparser's own lookup of a missing `updated_parsed` quietly
    answers `published_parsed` (with a DeprecationWarning), which would invent an edit.
    """
    if key not in entry:
        return None
    parsed = dict.get(entry, f"{key}_parsed")
    if isinstance(parsed, time.struct_time):
        return datetime(*parsed[:6], tzinfo=UTC)
    return _parse_date(_text(dict.get(entry, key)))


def _parse_date(value: str | None) -> datetime | None:
    """RFC 3339 or RFC 822, whatever feedparser could not read itself."""
    if not value:
        return None
    found = parse_iso(value)
    if found is not None:
        return found
    try:
        stamp = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return stamp.astimezone(UTC) if stamp.tzinfo else stamp.replace(tzinfo=UTC)


def _entry_language(entry: Any) -> str | None:
    for key in ("content", "summary_detail", "title_detail"):
        value = entry.get(key)
        detail = value[0] if isinstance(value, list) and value else value
        if isinstance(detail, Mapping) and _text(detail.get("language")):
            return _text(detail.get("language"))
    return _text(entry.get("language"))


def _entry_author(entry: Any) -> Author | None:
    detail = entry.get("author_detail") or {}
    name = _text(detail.get("name")) or _text(entry.get("author"))
    url = _http_url(detail.get("href"))
    if not name and not url:
        return None
    return Author(platform=PLATFORM, name=name, url=url)


def _entry_tags(entry: Any) -> tuple[str, ...]:
    tags: list[str] = []
    for tag in entry.get("tags", ()):
        term = _text(tag.get("label")) or _text(tag.get("term"))
        if term and term not in tags:
            tags.append(term)
    return tuple(tags)


def _reply_count(entry: Any, thread: tuple[str, ...]) -> int | None:
    """slash:comments (RSS), thr:total (Atom), else the thr:count of a replies link."""
    candidates = [entry.get("slash_comments")]
    candidates += [entry.get(f"{prefix}_total") for prefix in thread]
    candidates += [
        link.get("count") for link in entry.get("links", ()) if link.get("rel") == "replies"
    ]
    for value in candidates:
        number = _int(value)
        if number is not None:
            return number
    return None


def _comments_url(entry: Any) -> str | None:
    """The entry's comment feed: Atom `rel="replies"` with a feed type, else wfw:commentRss."""
    for link in entry.get("links", ()):
        if link.get("rel") == "replies" and media_type(link.get("type")) in _COMMENT_FEED_TYPES:
            found = _http_url(link.get("href"))
            if found:
                return found
    return _http_url(entry.get("wfw_commentrss"))


def _older_page(links: Iterable[Any], base: str) -> str | None:
    """The next (older) document: RFC 5005 paged `next`, else archived `prev-archive`.

    Feed-level links are not resolved by feedparser, so relative ones are resolved here.
    """
    links = list(links)
    for rel in ("next", "prev-archive"):
        for link in links:
            if link.get("rel") == rel and (found := _absolute(base, link.get("href"))):
                return found
    return None


def _link_with_rel(links: Iterable[Any], rel: str) -> str | None:
    for link in links:
        if link.get("rel") == rel and _http_url(link.get("href")):
            return _http_url(link.get("href"))
    return None


def _raw(entry: Mapping[str, Any]) -> dict[str, Any]:
    """A small JSON-able copy of the entry: no parsed times, no *_detail, no content copy."""
    raw: dict[str, Any] = {}
    for key, value in entry.items():
        if key in _RAW_SKIP or key.endswith(_RAW_SKIP_SUFFIXES):
            continue
        plain = _jsonable(value)
        if plain not in (None, "", [], {}):
            raw[key] = plain
    return raw


def _jsonable(value: Any) -> Any:
    if isinstance(value, str | int | float | bool) or value is None:
        return value
    if isinstance(value, Mapping):
        items = {str(k): _jsonable(v) for k, v in value.items() if not str(k).endswith("_parsed")}
        return {k: v for k, v in items.items() if v is not None}
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    return None


# --------------------------------------------------------------------------- media


class _ImageParser(HTMLParser):
    """`<img src alt width height>` outside scripts (html.parser never sees tags in <script>)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.images: list[dict[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "img":
            self.images.append({k.lower(): (v or "").strip() for k, v in attrs})


def images_in_html(markup: str | None, base_url: str) -> list[Media]:
    """Images embedded in a post's HTML, with absolute URLs and their alt text."""
    if not markup:
        return []
    images = _images_in_plain_markup(markup)
    if images is None:
        parser = _ImageParser()
        parser.feed(markup)
        parser.close()
        images = parser.images
    found: list[Media] = []
    for attrs in images:
        src = _absolute(base_url, attrs.get("src"))
        if src:
            found.append(
                Media(
                    url=src,
                    kind="image",
                    alt=attrs.get("alt") or None,
                    width=_int(attrs.get("width")),
                    height=_int(attrs.get("height")),
                )
            )
    return found


def _images_in_plain_markup(markup: str) -> list[dict[str, str]] | None:
    """`_ImageParser`'s findings by a regex scan, for markup where every `<` opens a plain tag
    with double-quoted attributes (as feedparser writes HTML) or is text; None otherwise
    (scripts, comments, declarations, odd tags), and html.parser reads it."""
    lowered = markup.lower()
    if "<!" in markup or "<?" in markup or "<script" in lowered or "<style" in lowered:
        return None
    images: list[dict[str, str]] = []
    position = markup.find("<")
    while position != -1:
        tag = _PLAIN_TAG.match(markup, position)
        if tag is None:
            return None
        if tag.group(1) and tag.group(1).lower() == "img":
            images.append(
                {k.lower(): html.unescape(v).strip() for k, v in _PLAIN_ATTR.findall(tag.group(2))}
            )
        position = markup.find("<", max(tag.end(), position + 1))
    return images


def _entry_media(entry: Any, content_html: str | None, base_url: str) -> tuple[Media, ...]:
    """Enclosures, Media RSS content and thumbnails, then images in the content; one per URL."""
    found: list[Media] = []
    for enclosure in entry.get("enclosures", ()):
        url = _absolute(base_url, enclosure.get("href"))
        if url:
            mime = _text(enclosure.get("type"))
            found.append(Media(url=url, kind=_media_kind(mime), mime=mime))
    for item in entry.get("media_content", ()):
        url = _absolute(base_url, item.get("url"))
        if url:
            mime = _text(item.get("type"))
            kind = _media_kind(mime, _text(item.get("medium")))
            found.append(_sized(Media(url=url, kind=kind, mime=mime), item))
    for item in entry.get("media_thumbnail", ()):
        url = _absolute(base_url, item.get("url"))
        if url:
            found.append(_sized(Media(url=url, kind="image"), item))
    found += images_in_html(content_html, base_url)
    return tuple(_unique_media(found))


def _sized(media: Media, attrs: Mapping[str, Any]) -> Media:
    return Media(
        url=media.url,
        kind=media.kind,
        mime=media.mime,
        alt=media.alt,
        width=_int(attrs.get("width")),
        height=_int(attrs.get("height")),
    )


def _unique_media(items: Iterable[Media]) -> Iterator[Media]:
    seen: set[str] = set()
    for item in items:
        if item.url not in seen:
            seen.add(item.url)
            yield item


def _media_kind(mime: str | None, medium: str | None = None) -> MediaKind:
    major = (medium or (mime or "").split("/", 1)[0]).lower()
    if major in ("image", "video", "audio"):
        return major  # type: ignore[return-value]
    return "file"


# --------------------------------------------------------------------------- comments


def _as_comment(base: Post, entry: Any, post_native_id: str, thread: tuple[str, ...]) -> Post:
    """A comment-feed entry as somebody else's reply (or pingback) in the post's thread."""
    parent, parent_url = _in_reply_to(entry, thread)
    author_name = base.author.name if base.author else None
    return Post(
        platform=base.platform,
        native_id=base.native_id,
        kind=_comment_kind(entry, base),
        is_own=False,
        url=base.url,
        title=None if _generated_title(base.title, author_name, base.text) else base.title,
        content_html=base.content_html,
        content_text=base.content_text,
        language=base.language,
        author=base.author,
        published_at=base.published_at,
        updated_at=base.updated_at,
        in_reply_to=parent or post_native_id,
        in_reply_to_url=parent_url,
        thread_root=post_native_id,
        tags=base.tags,
        media=base.media,
        raw=base.raw,
    )


def _in_reply_to(entry: Any, thread: tuple[str, ...]) -> tuple[str | None, str | None]:
    """Atom threading's parent: (ref, href). feedparser names the key after the prefix."""
    keys = [f"{prefix}_in-reply-to" for prefix in thread]
    keys += [key for key in entry if str(key).endswith("in-reply-to") and key not in keys]
    for key in keys:
        value = entry.get(key)
        if isinstance(value, Mapping) and _text(value.get("ref")):
            return _text(value.get("ref")), _http_url(value.get("href"))
    return None, None


def _comment_kind(entry: Any, comment: Post) -> PostKind:
    """Pingbacks and trackbacks, by WordPress's comment type or by how they look."""
    declared = (_text(entry.get("wp_comment_type")) or "").lower()
    if declared in ("pingback", "trackback"):
        return "pingback"
    if comment.title and _PINGBACK_TITLE.match(comment.title):
        return "pingback"
    return "pingback" if _PINGBACK_EXCERPT.match(comment.text) else "reply"


def _generated_title(title: str | None, author: str | None, text: str) -> bool:
    """A comment title made up by the platform: "By: X", "Comment on P by X", an excerpt."""
    if not title:
        return True
    if _GENERATED_TITLE.match(title) or (author and title.endswith(author)):
        return True
    stem = title.rstrip(".… ")
    return len(stem) >= 8 and text.startswith(stem)


# --------------------------------------------------------------------------- JSON Feed


def _parse_json_feed(body: bytes, *, url: str) -> ParsedFeed:
    """JSON Feed 1.0/1.1 (jsonfeed.org): items without an id are discarded, as the spec says."""
    try:
        document = json.loads(body.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError) as error:
        raise ParseError(f"not a feed: invalid JSON ({_first_line(error)})") from None
    if not isinstance(document, dict) or not str(document.get("version", "")).startswith(
        "https://jsonfeed.org/version/"
    ):
        raise ParseError("not a feed: JSON without a JSON Feed version")
    home = _absolute(url, document.get("home_page_url"))
    language = _text(document.get("language"))
    feed_author = _json_author(document)
    items = document.get("items")
    entries = [
        FeedEntry(post=post)
        for item in (items if isinstance(items, list) else [])
        if (post := _json_item(item, url=url, language=language, author=feed_author))
    ]
    next_url = _absolute(url, document.get("next_url"))
    return ParsedFeed(
        version="json" + str(document["version"]).rsplit("/", 1)[-1].replace(".", ""),
        title=_text(document.get("title")),
        home_url=home,
        language=language,
        entries=tuple(_unique(entries)),
        next_url=next_url if next_url != url else None,
    )


def _json_id(value: Any) -> str | None:
    """Item ids are strings; numbers are coerced (JSON Feed 1.1), anything else discarded."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return str(int(value)) if float(value).is_integer() else str(value)
    return _text(value)


def _json_item(item: Any, *, url: str, language: str | None, author: Author | None) -> Post | None:
    if not isinstance(item, dict):
        return None
    native_id = _json_id(item.get("id"))
    if native_id is None:
        return None
    link = _absolute(url, item.get("url"))
    content_html = _text(item.get("content_html"))
    content_text = _text(item.get("content_text"))
    if content_text is None and content_html is not None:
        content_text = html_to_text(content_html)
    tags = item.get("tags")
    return Post(
        platform=PLATFORM,
        native_id=native_id,
        url=link,
        title=_text(item.get("title")),
        content_html=content_html,
        content_text=content_text,
        language=_text(item.get("language")) or language,
        author=_json_author(item) or author,
        published_at=parse_iso(_text(item.get("date_published"))),
        updated_at=parse_iso(_text(item.get("date_modified"))),
        tags=tuple(dict.fromkeys(t.strip() for t in tags if isinstance(t, str) and t.strip()))
        if isinstance(tags, list)
        else (),
        media=_json_media(item, content_html, link or url),
        raw=item,
    )


def _json_author(obj: Mapping[str, Any]) -> Author | None:
    """`authors[0]` (1.1), else the deprecated `author` (1.0)."""
    authors = obj.get("authors")
    candidate = authors[0] if isinstance(authors, list) and authors else obj.get("author")
    if not isinstance(candidate, dict):
        return None
    name = _text(candidate.get("name"))
    url = _http_url(candidate.get("url"))
    if not name and not url:
        return None
    return Author(
        platform=PLATFORM, name=name, url=url, avatar_url=_http_url(candidate.get("avatar"))
    )


def _json_media(item: Mapping[str, Any], content_html: str | None, base: str) -> tuple[Media, ...]:
    found: list[Media] = []
    for key in ("image", "banner_image"):
        url = _absolute(base, item.get(key))
        if url:
            found.append(Media(url=url, kind="image"))
    attachments = item.get("attachments")
    for attachment in attachments if isinstance(attachments, list) else []:
        if not isinstance(attachment, dict):
            continue
        url = _absolute(base, attachment.get("url"))
        if url:
            mime = _text(attachment.get("mime_type"))
            title = _text(attachment.get("title"))
            found.append(Media(url=url, kind=_media_kind(mime), mime=mime, alt=title))
    found += images_in_html(content_html, base)
    return tuple(_unique_media(found))


# --------------------------------------------------------------------------- small helpers


def _text(value: Any) -> str | None:
    """A stripped non-empty string, or None."""
    if not isinstance(value, str):
        return None
    value = value.strip()
    return value or None


def _http_url(value: Any) -> str | None:
    """Only absolute http(s) URLs are URLs here (feedparser turns id-only links into `urn:`)."""
    text = _text(value)
    if not text:
        return None
    parts = urlsplit(text)
    return text if parts.scheme in ("http", "https") and parts.netloc else None


def _absolute(base: str, value: Any) -> str | None:
    """A possibly relative reference made absolute; None when there is none (not the base)."""
    text = _text(value)
    return _http_url(urljoin(base, text)) if text else None


def _int(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    text = _text(value)
    return int(text) if text and text.isdigit() else None


def _first_line(error: Exception) -> str:
    return " ".join(str(error).split())[:200] or type(error).__name__


__all__ = [
    "FeedEntry",
    "ParsedFeed",
    "images_in_html",
    "parse_comments",
    "parse_document",
    "parse_feed",
]
