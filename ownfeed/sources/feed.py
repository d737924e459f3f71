"""The `feed` source: RSS/Atom/JSON Feed posts and, with `comments`, their comment feeds.

The feed request is the primary one (its failure fails the source); comment feeds and
older pages are secondary (a failure is a warning, retried next sync). The first sync
follows a feed's older pages (RFC 5005 `next`/`prev-archive`, JSON Feed `next_url`), so a
feed that offers its history gives all of it, not just the newest window.
"""

from __future__ import annotations

import asyncio
import copy
import hashlib
from collections.abc import Iterable
from typing import Any, ClassVar

from ownfeed.discover import find_feed_links, looks_like_feed, looks_like_html, pick_feed
from ownfeed.errors import FetchError, ParseError, SourceError
from ownfeed.http import Response
from ownfeed.models import Post, SourceResult, iso
from ownfeed.sources.base import Source, SourceContext
from ownfeed.sources.feedparse import FeedEntry, ParsedFeed, parse_comments, parse_feed
from ownfeed.sources.registry import SOURCE_KEYS, Keys

ACCEPT = (
    "application/atom+xml, application/rss+xml, application/feed+json, "
    "application/rdf+xml;q=0.9, application/xml;q=0.9, text/xml;q=0.9, "
    "application/json;q=0.8, text/html;q=0.5, */*;q=0.1"
)
DEFAULT_MAX_PAGES = 100


class FeedSource(Source):
    """A blog or site feed; `url` may be the feed or a page that advertises it."""

    type = "feed"
    platform = "web"
    keys: ClassVar[Keys] = SOURCE_KEYS["feed"]

    @property
    def url(self) -> str:
        return str(self.config.option("url"))

    async def fetch(self, ctx: SourceContext) -> SourceResult:
        """New and recent entries, plus the comments of those that need a look."""
        state = _fresh_state(ctx.state)
        result = SourceResult(state=state)
        feed_url, response = await self._fetch_primary(ctx, state)
        result.http_status = response.status
        unchanged = _same_body(ctx, state, feed_url, response)
        if response.not_modified or (unchanged and not self._backfill_due(ctx, state)):
            # A body byte-identical to the last parsed one is a 304 in all but name
            # (servers without validators): no parse, no rewrite of unchanged posts.
            if not response.not_modified:
                _remember(state, feed_url, response)
            await self._refresh_known_comments(ctx, state, result)
            return result
        parsed = await _parse(ctx, response)
        _remember(state, feed_url, response)
        result.title, result.home_url = parsed.title, parsed.home_url
        entries = list(parsed.entries)
        entries += await self._backfill(ctx, state, parsed, feed_url, result)
        entries = _unique_entries(entries)
        result.posts.extend(entry.post for entry in entries)
        _keep_validators(state, {feed_url, self.url}, entries)
        state["comment_feeds"] = _comment_feed_index(entries)
        if self.config.comments:
            wanted = [e for e in entries if e.comments_url and self._wants_comments(ctx, state, e)]
            await self._fetch_all_comments(ctx, state, wanted, result)
        return result

    # ----------------------------------------------------------------------- the feed

    async def _fetch_primary(
        self, ctx: SourceContext, state: dict[str, Any]
    ) -> tuple[str, Response]:
        """GET the feed: the remembered discovered one, else the URL, following one HTML hop."""
        remembered = state.get("feed_url") if state.get("page_url") == self.url else None
        if remembered and not ctx.full:
            try:
                return remembered, await _get(ctx, state, remembered)
            except FetchError as error:
                if error.status not in (404, 410):
                    raise
        _forget_discovery(state)
        response = await _get(ctx, state, self.url)
        if response.not_modified or not _is_html_page(response):
            return self.url, response
        feed_url = self._discover(response)
        state["feed_url"], state["page_url"] = feed_url, self.url
        return feed_url, await _get(ctx, state, feed_url)

    def _discover(self, page: Response) -> str:
        """The feed an HTML page advertises; ParseError when it advertises none."""
        feed_url = pick_feed(find_feed_links(page.text(), page.url))
        if feed_url is None:
            raise ParseError(f"no feed found at {self.url}: HTML page without a feed link")
        return feed_url

    async def _backfill(
        self,
        ctx: SourceContext,
        state: dict[str, Any],
        first: ParsedFeed,
        feed_url: str,
        result: SourceResult,
    ) -> list[FeedEntry]:
        """Walk older pages (RFC 5005 `next`/`prev-archive`, JSON Feed `next_url`) on the first
        sync and on --full; `backfill = false` turns it off, `max_pages` bounds it."""
        if not self._backfill_due(ctx, state):
            return []
        max_pages = int(self.config.option("max_pages", DEFAULT_MAX_PAGES))
        seen, page = {feed_url}, first
        entries: list[FeedEntry] = []
        while page.next_url and page.next_url not in seen and len(seen) < max_pages:
            seen.add(page.next_url)
            try:
                page = await _parse(
                    ctx, await ctx.http.get(page.next_url, headers={"Accept": ACCEPT})
                )
            except SourceError as error:
                result.warnings.append(f"older page {page.next_url}: {error}")
                return entries
            entries += page.entries
        state["backfilled"] = True
        return entries

    def _backfill_due(self, ctx: SourceContext, state: dict[str, Any]) -> bool:
        return bool(self.config.option("backfill", True)) and (
            not state.get("backfilled") or ctx.full
        )

    # ----------------------------------------------------------------------- comments

    def _wants_comments(self, ctx: SourceContext, state: dict[str, Any], entry: FeedEntry) -> bool:
        """Read a comment feed only when it can hold something new.

        New post, changed comment count, a failed read last time, --full, or a post young
        enough to be re-read; never when the feed says there are no comments.
        """
        post = entry.post
        if post.reply_count == 0:
            return False
        known = ctx.known.get(post.native_id)
        if ctx.full or known is None or post.native_id in state["comments_pending"]:
            return True
        if post.reply_count is not None and post.reply_count != known.reply_count:
            return True
        return ctx.in_refresh_window(post.published_at, self.config.refresh_days)

    async def _refresh_known_comments(
        self, ctx: SourceContext, state: dict[str, Any], result: SourceResult
    ) -> None:
        """Feed unchanged (304): still re-read comment feeds of recent posts and failed ones.

        A new comment does not change a WordPress posts feed, so a 304 says nothing about them.
        """
        if not self.config.comments:
            return
        wanted = [
            FeedEntry(Post(platform=self.platform, native_id=native_id), info["url"])
            for native_id, info in state["comment_feeds"].items()
            if native_id in state["comments_pending"]
            or ctx.in_refresh_window(info.get("published"), self.config.refresh_days)
        ]
        await self._fetch_all_comments(ctx, state, wanted, result)

    async def _fetch_all_comments(
        self,
        ctx: SourceContext,
        state: dict[str, Any],
        entries: list[FeedEntry],
        result: SourceResult,
    ) -> None:
        """Comment feeds concurrently (the HTTP client caps requests in flight)."""
        total, done = len(entries), 0
        pending: set[str] = set(state["comments_pending"])

        async def one(entry: FeedEntry) -> list[Post]:
            nonlocal done
            native_id = entry.post.native_id
            try:
                comments = await _fetch_comments(ctx, state, entry)
            except SourceError as error:
                result.warnings.append(f"comments {entry.comments_url}: {error}")
                pending.add(native_id)
                comments = []
            else:
                pending.discard(native_id)
            done += 1
            ctx.progress(done, total)
            return comments

        for comments in await asyncio.gather(*(one(entry) for entry in entries)):
            result.posts.extend(comments)
        state["comments_pending"] = sorted(pending & set(state["comment_feeds"]))


# --------------------------------------------------------------------------- helpers


async def _get(ctx: SourceContext, state: dict[str, Any], url: str) -> Response:
    """Conditional GET with the validators saved for `url` (none with --full)."""
    validators = None if ctx.full else state["validators"].get(url)
    return await ctx.http.get(url, headers={"Accept": ACCEPT}, validators=validators)


async def _fetch_comments(
    ctx: SourceContext, state: dict[str, Any], entry: FeedEntry
) -> list[Post]:
    """One post's comment feed; validators are saved only once it parsed."""
    assert entry.comments_url is not None
    response = await _get(ctx, state, entry.comments_url)
    if response.not_modified:
        return []
    if _same_body(ctx, state, entry.comments_url, response):
        _remember(state, entry.comments_url, response)
        return []
    comments = await ctx.offload(
        parse_comments,
        response.body,
        url=response.url,
        content_type=response.headers.get("content-type", ""),
        post_native_id=entry.post.native_id,
    )
    _remember(state, entry.comments_url, response)
    return comments


async def _parse(ctx: SourceContext, response: Response) -> ParsedFeed:
    """Parse off the event loop (the sync's worker processes): parsing is the CPU wall."""
    return await ctx.offload(
        parse_feed,
        response.body,
        url=response.url,
        content_type=response.headers.get("content-type", ""),
    )


def _digest(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()[:32]


def _same_body(ctx: SourceContext, state: dict[str, Any], url: str, response: Response) -> bool:
    """True when `url` answered exactly what was parsed last time and the caller (the sync
    engine) asked to skip such bodies; never with --full."""
    if not ctx.skip_unchanged_bodies or ctx.full or response.not_modified:
        return False
    known = state["bodies"].get(url)
    return known is not None and known == _digest(response.body)


def _is_html_page(response: Response) -> bool:
    content_type = response.headers.get("content-type", "")
    return not looks_like_feed(response.body, content_type) and looks_like_html(
        response.body, content_type
    )


def _fresh_state(state: dict[str, Any]) -> dict[str, Any]:
    """A full copy of the saved state with every key this source uses present."""
    fresh = copy.deepcopy(dict(state or {}))
    for key in ("validators", "comment_feeds", "bodies"):
        if not isinstance(fresh.get(key), dict):
            fresh[key] = {}
    if not isinstance(fresh.get("comments_pending"), list):
        fresh["comments_pending"] = []
    return fresh


def _forget_discovery(state: dict[str, Any]) -> None:
    state.pop("feed_url", None)
    state.pop("page_url", None)


def _remember(state: dict[str, Any], url: str, response: Response) -> None:
    """Save (or drop) the validators for the next conditional GET of `url`, and the hash of
    the body that parsed, so an identical body is not parsed again."""
    if response.validators:
        state["validators"][url] = response.validators
    else:
        state["validators"].pop(url, None)
    state["bodies"][url] = _digest(response.body)


def _keep_validators(state: dict[str, Any], feeds: set[str], entries: Iterable[FeedEntry]) -> None:
    """Drop validators of comment feeds whose posts left the feed: state must not grow forever."""
    keep = feeds | {entry.comments_url for entry in entries if entry.comments_url}
    state["validators"] = {url: v for url, v in state["validators"].items() if url in keep}
    state["bodies"] = {url: v for url, v in state["bodies"].items() if url in keep}


def _comment_feed_index(entries: Iterable[FeedEntry]) -> dict[str, dict[str, Any]]:
    """native id -> comment feed and date, so a 304 sync can still refresh recent threads."""
    return {
        entry.post.native_id: {"url": entry.comments_url, "published": iso(entry.post.published_at)}
        for entry in entries
        if entry.comments_url
    }


def _unique_entries(entries: Iterable[FeedEntry]) -> list[FeedEntry]:
    seen: set[str] = set()
    unique: list[FeedEntry] = []
    for entry in entries:
        if entry.post.native_id not in seen:
            seen.add(entry.post.native_id)
            unique.append(entry)
    return unique
