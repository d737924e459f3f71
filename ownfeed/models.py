"""The data that flows from sources into the archive: frozen, typed, UTC."""

from __future__ import annotations

import hashlib
import html
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

PostKind = Literal["post", "reply", "repost", "pingback"]
MediaKind = Literal["image", "video", "audio", "file"]

_TAG_RE = re.compile(r"<[^>]*>")
_BLOCK_RE = re.compile(
    r"</?(?:br|p|div|li|ul|ol|h[1-6]|blockquote|pre|tr|td|th|table|hr|figure|img)\b[^>]*>",
    re.IGNORECASE,
)
_DROP_RE = re.compile(r"<(script|style)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)


def utcnow() -> datetime:
    """Now, in UTC, to the second (archive times are ISO 8601 with +00:00)."""
    return datetime.now(UTC).replace(microsecond=0)


def to_utc(value: datetime | None) -> datetime | None:
    """Normalise any datetime to aware UTC; naive ones are taken as UTC."""
    if value is None:
        return None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def iso(value: datetime | None) -> str | None:
    """The archive's time format: ISO 8601 in UTC, seconds precision."""
    if type(value) is datetime and value.tzinfo is UTC and not value.microsecond:
        return value.isoformat()  # already what the conversion below makes (the usual case)
    value = to_utc(value)
    return value.replace(microsecond=0).isoformat() if value else None


def parse_iso(value: str | None) -> datetime | None:
    """Parse ISO 8601 / RFC 3339 (also with a trailing Z); None when absent or invalid (also
    when not a string at all: values come from untrusted JSON)."""
    if not value or not isinstance(value, str):
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    try:
        return to_utc(datetime.fromisoformat(text))
    except (ValueError, OverflowError):  # OverflowError: year 1 or 9999 moved out of range
        return None


def short_hash(*parts: str, length: int = 16) -> str:
    """A short stable hex id from its parts (sha256, NUL-separated)."""
    digest = hashlib.sha256("\0".join(parts).encode("utf-8")).hexdigest()
    return digest[:length]


def post_id(platform: str, native_id: str) -> str:
    """The archive id of a post: stable for (platform, native_id), whoever delivers it."""
    return short_hash(platform, native_id)


def author_id(platform: str, key: str) -> str:
    """The archive id of an author, from its platform and its handle or URL."""
    return short_hash("author", platform, key)


def html_to_text(markup: str | None) -> str:
    """Visible text of an HTML fragment, whitespace collapsed (for search and version hashing)."""
    if not markup:
        return ""
    # _DROP_RE can only match where "<s" or "<S" occurs: most markup is scanned once less
    text = _DROP_RE.sub(" ", markup) if "<s" in markup or "<S" in markup else markup
    text = _BLOCK_RE.sub(" ", text)
    text = _TAG_RE.sub("", text)
    # split() and re's \s agree on every code point; split/join is about 3x faster here.
    return " ".join(html.unescape(text).split())


def content_hash(title: str | None, content_html: str | None) -> str:
    """Hash of what a reader sees: collapsed visible title and content, not the markup."""
    return visible_hash(html_to_text(title), html_to_text(content_html))


def visible_hash(title_text: str, content_text: str) -> str:
    """`content_hash` from texts already made visible by `html_to_text` (the archive writer
    has the content's text at hand and saves converting it twice)."""
    return hashlib.sha256((title_text + "\n" + content_text).encode("utf-8")).hexdigest()[:32]


@dataclass(frozen=True)
class Author:
    """Who wrote a post; `key` (handle, else URL, else name) makes its id."""

    platform: str
    handle: str | None = None
    name: str | None = None
    url: str | None = None
    avatar_url: str | None = None

    @property
    def id(self) -> str:
        return author_id(self.platform, self.handle or self.url or self.name or "")


@dataclass(frozen=True)
class Media:
    """A file attached to or embedded in a post; downloaded later by the media store."""

    url: str
    kind: MediaKind = "image"
    mime: str | None = None
    alt: str | None = None
    width: int | None = None
    height: int | None = None


@dataclass(frozen=True)
class Post:
    """One post, reply, repost or pingback as a source sees it.

    Relations are given as native ids of the same platform; the archive turns them into
    post ids (and links them once the other post is archived too).
    """

    platform: str
    native_id: str
    kind: PostKind = "post"
    is_own: bool = True
    url: str | None = None
    title: str | None = None
    content_html: str | None = None
    content_text: str | None = None
    language: str | None = None
    author: Author | None = None
    published_at: datetime | None = None
    updated_at: datetime | None = None
    in_reply_to: str | None = None
    in_reply_to_url: str | None = None
    repost_of: str | None = None
    thread_root: str | None = None
    tags: tuple[str, ...] = ()
    media: tuple[Media, ...] = ()
    reply_count: int | None = None
    like_count: int | None = None
    repost_count: int | None = None
    raw: Any = None

    @property
    def id(self) -> str:
        return post_id(self.platform, self.native_id)

    @property
    def text(self) -> str:
        """Plain text: the given one, else derived from the HTML."""
        return (
            self.content_text if self.content_text is not None else html_to_text(self.content_html)
        )

    @property
    def hash(self) -> str:
        return content_hash(self.title, self.content_html or self.content_text)


@dataclass(frozen=True)
class Gone:
    """A post found missing upstream (404/410, or absent where it must be listed)."""

    platform: str
    native_id: str
    reason: str


@dataclass(frozen=True)
class KnownPost:
    """What the archive already knows of a post, handed to a source so it can skip work."""

    id: str
    native_id: str
    url: str | None
    reply_count: int | None
    published_at: str | None
    gone_at: str | None = None


@dataclass
class SourceResult:
    """Everything one source run produced: posts, new state, warnings; never raised."""

    posts: list[Post] = field(default_factory=list)
    state: dict[str, Any] = field(default_factory=dict)
    gone: list[Gone] = field(default_factory=list)
    seen_again: list[tuple[str, str]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    title: str | None = None
    home_url: str | None = None
    http_status: int | None = None
