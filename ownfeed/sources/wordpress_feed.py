"""A WordPress site with its REST API closed: the paged feed and per-post Atom comment feeds.

`/feed/?paged=N` walks the whole history (WordPress answers 404 past the last page); each
post's `<permalink>/feed/atom/` carries `thr:in-reply-to`, so threads survive with the same
ids the REST API and the WXR importer give. WordPress limits every comment feed to the
newest `posts_per_rss` comments and does not page them (WP_Query `comment_feed_limits`):
posts with more comments than their feed shows are named in one warning.
"""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from ownfeed.errors import FetchError, SourceError
from ownfeed.http import Response
from ownfeed.models import Gone, KnownPost, Post, SourceResult, iso
from ownfeed.sources.apiutil import needs_replies
from ownfeed.sources.base import SourceConfig, SourceContext
from ownfeed.sources.feedparse import FeedEntry, ParsedFeed, parse_comments, parse_feed

PLATFORM = "web"
ACCEPT = "application/rss+xml, application/atom+xml;q=0.9, application/xml;q=0.8, */*;q=0.1"
DEFAULT_MAX_PAGES = 5000


def page_url(feed_url: str, number: int) -> str:
    """Page `number` of a WordPress feed (`?paged=N`, pretty permalinks or not)."""
    if number <= 1:
        return feed_url
    return f"{feed_url}{'&' if '?' in feed_url else '?'}paged={number}"


def atom_comments_url(comments_url: str, permalink: str | None) -> str:
    """The Atom flavour of a post's comment feed: it is the one with `thr:in-reply-to`."""
    parts = urlsplit(comments_url)
    if parts.path.endswith("/feed/atom/") or "feed=atom" in parts.query:
        return comments_url
    if parts.path.endswith("/feed/"):
        return urlunsplit(parts._replace(path=parts.path + "atom/"))
    if "feed=rss2" in parts.query or "feed=rss" in parts.query:
        query = parts.query.replace("feed=rss2", "feed=atom").replace("feed=rss", "feed=atom")
        return urlunsplit(parts._replace(query=query))
    if permalink and not urlsplit(permalink).query:
        return permalink.rstrip("/") + "/feed/atom/"
    return comments_url


def rss_comments_url(atom_url: str) -> str:
    """The RSS twin of an Atom comment feed URL."""
    parts = urlsplit(atom_url)
    if parts.path.endswith("/feed/atom/"):
        return urlunsplit(parts._replace(path=parts.path.removesuffix("atom/")))
    return urlunsplit(parts._replace(query=parts.query.replace("feed=atom", "feed=rss2")))


def _parse(response: Response) -> ParsedFeed:
    return parse_feed(
        response.body, url=response.url, content_type=response.headers.get("content-type", "")
    )


class FeedWalk:
    """One sync (or verify) of a site through its feeds; state lives in `state["feed"]`."""

    def __init__(self, config: SourceConfig, site: str, ctx: SourceContext) -> None:
        self.config = config
        self.site = site
        self.ctx = ctx
        self.max_pages = int(config.option("max_pages", DEFAULT_MAX_PAGES))

    async def _get(self, state: dict[str, Any], url: str, accept: tuple[int, ...] = ()) -> Response:
        validators = None if self.ctx.full else state.setdefault("validators", {}).get(url)
        return await self.ctx.http.get(
            url, headers={"Accept": ACCEPT}, validators=validators, accept=accept
        )

    @staticmethod
    def _remember(state: dict[str, Any], url: str, response: Response) -> None:
        if response.validators:
            state.setdefault("validators", {})[url] = response.validators
        else:
            state.setdefault("validators", {}).pop(url, None)

    # --- posts ---------------------------------------------------------------------------

    async def _first_page(self, state: dict[str, Any]) -> tuple[str, Response]:
        """The posts feed: the one found before, else `/feed/`, else `/?feed=rss2`."""
        known = state.get("url")
        candidates = [known] if isinstance(known, str) else []
        candidates += [u for u in (self.site + "feed/", self.site + "?feed=rss2") if u != known]
        for url in candidates:
            response = await self._get(state, url, accept=(404, 410))
            if response.status not in (404, 410):
                state["url"] = url
                return url, response
        raise SourceError(f"REST API closed and no feed at {self.site}feed/ (HTTP 404)", status=404)

    def _worth_next(self, entries: list[FeedEntry]) -> bool:
        """Read one more page while this one still had new or recent posts."""
        for entry in entries:
            if entry.post.native_id not in self.ctx.known:
                return True
        oldest = entries[-1].post.published_at if entries else None
        return self.ctx.in_refresh_window(oldest, self.config.refresh_days)

    async def _older_pages(
        self, state: dict[str, Any], feed_url: str, first: list[FeedEntry], result: SourceResult
    ) -> list[FeedEntry]:
        """Page 2.. : all of them on the first sync (until 404), else while they bring news."""
        backfill = self.ctx.full or not state.get("backfilled")
        number = int(state.get("resume", 2)) if backfill else 2
        seen = {entry.post.native_id for entry in first}
        entries: list[FeedEntry] = []
        page = first
        while number <= self.max_pages and (backfill or self._worth_next(page)):
            url = page_url(feed_url, number)
            try:
                response = await self.ctx.http.get(
                    url, headers={"Accept": ACCEPT}, accept=(404, 410)
                )
                page = [] if response.status in (404, 410) else list(_parse(response).entries)
            except SourceError as error:
                result.warnings.append(f"older posts {url}: {error}")
                if backfill:
                    state["resume"] = max(2, number - 1)  # pages shift as posts are added
                return entries
            fresh = [entry for entry in page if entry.post.native_id not in seen]
            if not fresh:
                break  # past the end (404), or a site that ignores `paged`
            seen.update(entry.post.native_id for entry in fresh)
            entries += fresh
            self.ctx.progress(number, None)
            number += 1
        if backfill:
            state["backfilled"] = True
            state.pop("resume", None)
        return entries

    # --- comments ------------------------------------------------------------------------

    async def _comments(self, state: dict[str, Any], post: Post, url: str) -> list[Post] | None:
        """One post's Atom comment feed (the RSS one if a site has no Atom: comments without
        threads beat none); None when unchanged (304)."""
        response = await self._get(state, url, accept=(404,))
        if response.status == 404 and (fallback := rss_comments_url(url)) != url:
            url = fallback
            response = await self._get(state, url)
        elif response.status == 404:
            raise SourceError("comment feed not found (HTTP 404)", status=404)
        if response.not_modified:
            return None
        comments = parse_comments(
            response.body,
            url=response.url,
            content_type=response.headers.get("content-type", ""),
            post_native_id=post.native_id,
        )
        self._remember(state, url, response)
        return comments

    def _targets(
        self, state: dict[str, Any], entries: list[FeedEntry]
    ) -> dict[str, tuple[Post, str]]:
        """Comment feeds to read: by the shared rule, plus recent and failed ones of a 304."""
        pending = set(state.get("pending") or ())
        targets: dict[str, tuple[Post, str]] = {}
        for entry in entries:
            post = entry.post
            if entry.comments_url and needs_replies(
                self.ctx,
                post.native_id,
                count=post.reply_count,
                published=post.published_at,
                refresh_days=self.config.refresh_days,
                pending=pending,
            ):
                targets[post.native_id] = (post, atom_comments_url(entry.comments_url, post.url))
        for native_id, info in (state.get("recent") or {}).items():
            recent = self.ctx.in_refresh_window(info.get("published"), self.config.refresh_days)
            if native_id not in targets and (recent or native_id in pending):
                targets[native_id] = (Post(PLATFORM, native_id), str(info["url"]))
        return targets

    def _index(self, state: dict[str, Any], entries: list[FeedEntry], failed: set[str]) -> None:
        """Keep the comment feeds of recent and failed posts, for syncs that get a 304."""
        recent = {
            key: info
            for key, info in (state.get("recent") or {}).items()
            if key in failed
            or self.ctx.in_refresh_window(info.get("published"), self.config.refresh_days)
        }
        for entry in entries:
            post = entry.post
            wanted = post.native_id in failed or self.ctx.in_refresh_window(
                post.published_at, self.config.refresh_days
            )
            if entry.comments_url and wanted:
                url = atom_comments_url(entry.comments_url, post.url)
                recent[post.native_id] = {"url": url, "published": iso(post.published_at)}
        state["recent"] = recent
        state["pending"] = sorted(failed)
        keep = {info["url"] for info in recent.values()} | {state.get("url")}
        state["validators"] = {
            url: v for url, v in (state.get("validators") or {}).items() if url in keep
        }

    async def _all_comments(
        self, state: dict[str, Any], entries: list[FeedEntry], result: SourceResult
    ) -> set[str]:
        targets = self._targets(state, entries)
        failed: set[str] = set()
        short: list[str] = []
        done = 0

        async def one(native_id: str, post: Post, url: str) -> list[Post]:
            nonlocal done
            try:
                comments = await self._comments(state, post, url)
            except SourceError as error:
                result.warnings.append(f"comments {url}: {error}")
                failed.add(native_id)
                comments = None
            done += 1
            self.ctx.progress(done, len(targets))
            if comments is not None and post.reply_count and len(comments) < post.reply_count:
                short.append(post.url or native_id)
            return comments or []

        found = await asyncio.gather(*(one(k, p, u) for k, (p, u) in targets.items()))
        for comments in found:
            result.posts.extend(comments)
        if short:
            result.warnings.append(
                f"{len(short)} post(s) have more comments than their comment feed shows "
                f"(WordPress feeds list the newest only; open the REST API or import a WXR "
                f"export for the rest), e.g. {short[0]}"
            )
        return failed

    # --- the walk ------------------------------------------------------------------------

    async def fetch(self, state: dict[str, Any], result: SourceResult) -> None:
        """Posts from the paged feed, comments from the Atom comment feeds."""
        if self.ctx.full:
            state.clear()
        feed_url, response = await self._first_page(state)
        result.http_status = response.status
        entries: list[FeedEntry] = []
        if not response.not_modified:
            parsed = _parse(response)
            self._remember(state, feed_url, response)
            result.title = parsed.title or result.title
            result.home_url = parsed.home_url or result.home_url
            entries = list(parsed.entries)
            entries += await self._older_pages(state, feed_url, entries, result)
        elif not state.get("backfilled"):
            entries = await self._older_pages(state, feed_url, [], result)
        result.posts.extend(entry.post for entry in entries)
        failed: set[str] = set()
        if self.config.comments:
            failed = await self._all_comments(state, entries, result)
        self._index(state, entries, failed)

    async def verify(self, posts: list[KnownPost]) -> SourceResult:
        """GET each post page: 404/410 marks it and its comments gone. A comment alone cannot
        be checked through feeds (they list the newest only), so nothing is said of it."""
        result = SourceResult()
        own = [p for p in posts if "#comment-" not in p.native_id and p.url]
        gone: set[str] = set()
        for done, post in enumerate(own, 1):
            self.ctx.progress(done, len(own))
            try:
                response = await self.ctx.http.get(str(post.url), accept=(404, 410))
            except FetchError as error:
                result.warnings.append(f"verify {post.url}: {error}")
                continue
            if response.status in (404, 410):
                gone.add(post.native_id)
                result.gone.append(Gone(PLATFORM, post.native_id, f"HTTP {response.status}"))
            else:
                result.seen_again.append((PLATFORM, post.native_id))
        for post in posts:
            if post.native_id.split("#comment-", 1)[0] in gone and "#comment-" in post.native_id:
                result.gone.append(Gone(PLATFORM, post.native_id, "its post is gone"))
        return result
