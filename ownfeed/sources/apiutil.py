"""Small helpers the API sources share: JSON shapes, Link headers, secrets, text to HTML,
when to read replies and when to stop paging, a run's batch of posts (`Batch`), reads that
share one rate budget (`BudgetedReads`), and untrusted JSON into well-formed posts.

Kept here so each platform module holds only what is specific to its platform.
"""

from __future__ import annotations

import asyncio
import dataclasses
import functools
import html
import os
import re
from collections.abc import Awaitable, Callable, Collection, Mapping
from datetime import datetime, timedelta
from typing import Any, ParamSpec, TypeVar
from urllib.parse import urljoin, urlsplit

from ownfeed.errors import ParseError, SourceError
from ownfeed.http import Response
from ownfeed.models import Author, Gone, KnownPost, Media, Post, SourceResult
from ownfeed.sources.base import SourceContext

P = ParamSpec("P")
T = TypeVar("T")

_LINK_RE = re.compile(r"<([^>]*)>\s*;\s*([^,<]*)")
_REL_RE = re.compile(r'rel\s*=\s*"?([^";]+)"?', re.IGNORECASE)
_URL_RE = re.compile(r"\bhttps?://[^\s<>\"']+[^\s<>\"'.,;:!?)\]]")
_PARAGRAPH_RE = re.compile(r"\n\s*\n")


def json_object(response: Response, what: str) -> dict[str, Any]:
    """The body as a JSON object; a ParseError naming `what` otherwise."""
    data = response.json()
    if not isinstance(data, dict):
        raise ParseError(f"{what}: expected a JSON object, got {type(data).__name__}")
    return data


def json_list(response: Response, what: str) -> list[dict[str, Any]]:
    """The body as a JSON list of objects (other items dropped); ParseError otherwise."""
    data = response.json()
    if not isinstance(data, list):
        raise ParseError(f"{what}: expected a JSON list, got {type(data).__name__}")
    return [item for item in data if isinstance(item, dict)]


def link_header(response: Response, rel: str) -> str | None:
    """The URL of a `Link: <url>; rel="..."` entry (RFC 8288), resolved against the response."""
    for url, params in _LINK_RE.findall(response.headers.get("link", "")):
        match = _REL_RE.search(params)
        if match and rel in match.group(1).split():
            return absolute(response.url, url.strip())
    return None


def absolute(base: str, url: str | None) -> str | None:
    """An http(s) URL resolved against `base`; None for anything else."""
    if not url or not isinstance(url, str):
        return None
    joined = urljoin(base, url.strip())
    parts = urlsplit(joined)
    return joined if parts.scheme in ("http", "https") and parts.netloc else None


def base_url(value: Any, default: str, key: str) -> str:
    """A configured base URL (http allowed, for tests and self-hosted servers), no trailing /."""
    text = str(value or default).strip().rstrip("/")
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise SourceError(f"{key} {value!r} must be an http(s) URL")
    return text


def env_secret(name: Any, key: str) -> str | None:
    """The secret in the environment variable that `key` names; None when no key is set."""
    if not name:
        return None
    value = os.environ.get(str(name), "").strip()
    if not value:
        raise SourceError(f"environment variable {name} ({key}) is not set")
    return value


def text_to_html(text: str | None) -> str | None:
    """Plain text as HTML: escaped, paragraphs on blank lines, <br> on newlines, bare URLs
    linked. For platforms that give descriptions or Markdown as text, not HTML."""
    if not isinstance(text, str) or not text.strip():
        return None
    paragraphs = []
    for chunk in _PARAGRAPH_RE.split(text.replace("\r\n", "\n").strip()):
        escaped = html.escape(chunk.strip(), quote=False)
        linked = _URL_RE.sub(lambda m: f'<a href="{m.group(0)}">{m.group(0)}</a>', escaped)
        paragraphs.append("<p>" + linked.replace("\n", "<br>") + "</p>")
    return "".join(paragraphs)


def needs_replies(
    ctx: SourceContext,
    native_id: str,
    *,
    count: int | None,
    published: datetime | str | None,
    refresh_days: int,
    pending: Collection[str] = (),
) -> bool:
    """Whether to read a post's replies this sync: the rule every source here shares.

    Never when the platform says there are none; else when the post is new, its reply count
    changed, an earlier read failed, --full, or it is young enough to be re-read.
    """
    if count == 0:
        return False
    known: KnownPost | None = ctx.known.get(native_id)
    if ctx.full or known is None or native_id in pending:
        return True
    if count is not None and count != known.reply_count:
        return True
    return ctx.in_refresh_window(published, refresh_days)


def can_stop_paging(
    ctx: SourceContext, oldest: str | None, published: datetime | None, refresh_days: int
) -> bool:
    """Whether a newest-first walk may stop after a page whose oldest item is `oldest`: never
    with --full; else when that item is archived already and older than the refresh window
    (an item without a date counts as old), since everything older then is too."""
    if ctx.full:
        return False
    since = ctx.now - timedelta(days=refresh_days)
    return oldest in ctx.known and (published is None or published < since)


def placeholder(post: Post, *keep: str) -> Post:
    """What to archive of a post deleted upstream before the archive ever had it: its place in
    the thread, so the replies below it keep theirs, plus the fields named in `keep`."""
    return Post(
        platform=post.platform,
        native_id=post.native_id,
        kind=post.kind,
        is_own=post.is_own,
        url=post.url,
        published_at=post.published_at,
        in_reply_to=post.in_reply_to,
        thread_root=post.thread_root,
        **{name: getattr(post, name) for name in keep},
    )


# --- untrusted JSON into well-formed posts ----------------------------------------------------

_INT64 = 2**63
_TEXT_FIELDS = (
    "url",
    "title",
    "content_html",
    "content_text",
    "language",
    "in_reply_to",
    "in_reply_to_url",
    "repost_of",
    "thread_root",
)
#: what a mapping function raises on a shape it did not expect (a missing key, a list where
#: an object belongs, a number out of range, nesting deeper than Python goes)
MALFORMED = (
    AttributeError,
    KeyError,
    TypeError,
    ValueError,
    IndexError,
    OverflowError,
    RecursionError,
)


def as_text(value: Any) -> str | None:
    """A JSON value that must be a string: the string, else None."""
    return value if isinstance(value, str) and value else None


def as_count(value: Any) -> int | None:
    """A JSON value that must be a count: an integer SQLite can hold, else None."""
    if isinstance(value, bool) or not isinstance(value, int):
        return None
    return value if -_INT64 <= value < _INT64 else None


def _author(author: Any) -> Author | None:
    if not isinstance(author, Author):
        return None
    return Author(
        author.platform,
        handle=as_text(author.handle),
        name=as_text(author.name),
        url=as_text(author.url),
        avatar_url=as_text(author.avatar_url),
    )


def _media(media: Any) -> Media | None:
    if not isinstance(media, Media) or not as_text(media.url):
        return None
    return Media(
        media.url,
        media.kind,
        mime=as_text(media.mime),
        alt=as_text(media.alt),
        width=as_count(media.width),
        height=as_count(media.height),
    )


def well_formed(post: Post) -> Post:
    """The post with every field of the type the archive stores: a native id as text (an
    item without one is a ParseError), text fields that are not strings, counts that are
    not 64-bit integers and media without a URL dropped."""
    native_id = post.native_id
    if isinstance(native_id, int) and not isinstance(native_id, bool):
        native_id = str(native_id)
    if not isinstance(native_id, str) or not native_id:
        raise ParseError(f"{post.platform} item without a usable id ({type(native_id).__name__})")
    texts: dict[str, Any] = {name: as_text(getattr(post, name)) for name in _TEXT_FIELDS}
    return dataclasses.replace(
        post,
        native_id=native_id,
        is_own=bool(post.is_own),
        **texts,
        author=_author(post.author),
        published_at=post.published_at if isinstance(post.published_at, datetime) else None,
        updated_at=post.updated_at if isinstance(post.updated_at, datetime) else None,
        tags=tuple(t for t in post.tags if isinstance(t, str) and t),
        media=tuple(m for item in post.media if (m := _media(item)) is not None),
        reply_count=as_count(post.reply_count),
        like_count=as_count(post.like_count),
        repost_count=as_count(post.repost_count),
    )


def _checked(value: T) -> T:
    if isinstance(value, Post):
        return well_formed(value)  # type: ignore[return-value]
    if isinstance(value, list):
        return [_checked(item) for item in value]  # type: ignore[return-value]
    return value


def mapper(what: str) -> Callable[[Callable[P, T]], Callable[P, T]]:
    """A mapping function from untrusted JSON: the posts it returns are `well_formed`, and a
    shape it did not expect is a one-line ParseError naming `what`, never another error."""

    def wrap(function: Callable[P, T]) -> Callable[P, T]:
        @functools.wraps(function)
        def guarded(*args: P.args, **kwargs: P.kwargs) -> T:
            try:
                return _checked(function(*args, **kwargs))
            except ParseError:
                raise
            except MALFORMED as error:
                cause = " ".join(str(error).split())[:200]
                raise ParseError(f"malformed {what} ({type(error).__name__}: {cause})") from None

        return guarded

    return wrap


class Skipped:
    """Malformed items a run skipped: each is left out, and the run says so in one warning."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def __call__(self, make: Callable[[], T]) -> T | None:
        """`make()`, or None (remembered) when it raises a ParseError."""
        try:
            return make()
        except ParseError as error:
            self.errors.append(str(error))
            return None

    def report(self, result: SourceResult) -> None:
        """One warning for all skipped items (how many, and the first reason)."""
        if self.errors:
            result.warnings.append(
                f"{len(self.errors)} malformed item(s) skipped, e.g. {self.errors[0]}"
            )


@dataclasses.dataclass
class Batch:
    """Posts and gone markers of one run, by native id, for platforms that show a deleted item
    in place (Lemmy, Reddit): a deleted item is a gone marker and never overwrites what the
    archive has; one the archive never had is kept as a `placeholder`."""

    known: Mapping[str, KnownPost]
    #: fields a placeholder keeps besides its place in the thread
    placeholder_keeps: tuple[str, ...] = ()
    posts: dict[str, Post] = dataclasses.field(default_factory=dict)
    gone: dict[str, Gone] = dataclasses.field(default_factory=dict)
    skipped: Skipped = dataclasses.field(default_factory=Skipped)

    def add(self, post: Post, gone_reason: str | None) -> None:
        """Add a post the platform shows, or one it shows as deleted (`gone_reason`)."""
        native_id = post.native_id
        if gone_reason is None:
            self.posts[native_id] = post
            return
        self.gone[native_id] = Gone(post.platform, native_id, gone_reason)
        if native_id not in self.known and native_id not in self.posts:
            self.posts[native_id] = placeholder(post, *self.placeholder_keeps)

    def report(self, result: SourceResult) -> None:
        """Hand the posts, the gone markers and a warning about skipped items to `result`."""
        result.posts = list(self.posts.values())
        result.gone = list(self.gone.values())
        self.skipped.report(result)


def _rate_limited(error: SourceError) -> bool:
    return error.status == 429


class BudgetedReads:
    """Concurrent reads of one run (threads, verify checks) that share the platform's rate
    budget: at most `concurrency` at once, and once one fails with an error that `stops` the
    run (a 429 by default: the budget is spent), every read not started yet raises that error
    without asking, so the run ends now and keeps what it has read."""

    def __init__(
        self, concurrency: int, stops: Callable[[SourceError], bool] = _rate_limited
    ) -> None:
        self._gate = asyncio.Semaphore(concurrency)
        self._stops = stops
        #: the error that stopped the reads, if one did
        self.stopped: SourceError | None = None

    async def __call__(self, read: Callable[[], Awaitable[T]]) -> T:
        """`read()` when the budget allows; its SourceError, or the one that stopped the reads."""
        async with self._gate:
            if self.stopped is not None:
                raise self.stopped
            try:
                return await read()
            except SourceError as error:
                if self.stopped is None and self._stops(error):
                    self.stopped = error
                raise

    def warn_left(self, result: SourceResult, left: int) -> None:
        """After the reads: one warning naming how many threads wait for the next sync."""
        if self.stopped is not None:
            result.warnings.append(f"{left} thread(s) left for the next sync: {self.stopped}")
