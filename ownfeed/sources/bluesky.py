"""Bluesky accounts through an AppView's public XRPC API: posts, reposts, quotes, threads.

The author feed is read newest first until an item that is archived already and older
than the refresh window, so an unchanged account costs one request. Records carry their
parent and root as at:// URIs, so every post links into its thread on its own. Threads
(`getPostThread`) are read for new posts, posts whose `replyCount` changed, and recent
posts with replies; a thread that fails is retried next sync.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from html import escape
from typing import Any, ClassVar, TypeGuard
from urllib.parse import urlencode, urlsplit

from ownfeed.errors import SourceError
from ownfeed.http import Response
from ownfeed.models import Author, Gone, KnownPost, Media, Post, PostKind, SourceResult, parse_iso
from ownfeed.sources.apiutil import BudgetedReads, Skipped, as_text, base_url, mapper
from ownfeed.sources.base import Source, SourceContext
from ownfeed.sources.ratelimit import DEFAULT_MAX_WAIT, RateLimiter
from ownfeed.sources.registry import SOURCE_KEYS, Keys
from ownfeed.sources.richtext import facet_tags, profile_url, render

PLATFORM = "bluesky"
DEFAULT_APPVIEW = "https://public.api.bsky.app"
PAGE_SIZE = 100  # getAuthorFeed's maximum
GET_POSTS_BATCH = 25  # getPosts' maximum
THREAD_DEPTH = 1000  # "as deep as you serve"; the AppView clamps it
THREAD_CONCURRENCY = 4
POST_COLLECTION = "app.bsky.feed.post"

_HANDLE_RE = re.compile(
    r"^(?=.{1,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?$"
)
_DID_RE = re.compile(r"^did:[a-z]+:[A-Za-z0-9._:%-]+$")
_AT_URI_RE = re.compile(r"^at://([^/]+)/([^/]+)/([^/?#]+)$")


def parse_actor(account: str) -> str:
    """A handle (lower-cased, without '@') or a DID; SourceError for anything else."""
    value = account.strip()
    if _DID_RE.match(value):
        return value
    handle = value.removeprefix("@").lower()
    if _HANDLE_RE.match(handle):
        return handle
    raise SourceError(f"account {account!r} must be a Bluesky handle or a did:")


def split_at_uri(uri: str) -> tuple[str, str, str] | None:
    """(authority, collection, rkey) of an at:// record URI."""
    match = _AT_URI_RE.match(uri)
    return (match.group(1), match.group(2), match.group(3)) if match else None


def web_url(uri: str) -> str | None:
    """The bsky.app page of a post; by DID, which survives handle changes."""
    parts = split_at_uri(uri)
    if not parts or parts[1] != POST_COLLECTION:
        return None
    return f"{profile_url(parts[0])}/post/{parts[2]}"


def _type(value: Mapping[str, Any]) -> str:
    return str(value.get("$type") or "")


def is_post_uri(uri: str) -> bool:
    parts = split_at_uri(uri)
    return parts is not None and parts[1] == POST_COLLECTION


def _repost_id(subject: str, reason: Mapping[str, Any]) -> str:
    """The repost record's URI; older AppViews omit it, then one is made from the subject."""
    if reason.get("uri"):
        return str(reason["uri"])
    return f"{subject}#repost-by-{(reason.get('by') or {}).get('did', '')}"


def _is_repost(item: Mapping[str, Any]) -> bool:
    reason = item.get("reason")
    return isinstance(reason, dict) and "reasonRepost" in _type(reason)


def _is_post_view(value: Any) -> TypeGuard[dict[str, Any]]:
    """A postView (not a notFoundPost/blockedPost): it has a URI, a record and an author."""
    return (
        isinstance(value, dict)
        and isinstance(value.get("uri"), str)
        and bool(value["uri"])
        and isinstance(value.get("record"), dict)
        and isinstance(value.get("author"), dict)
    )


def _mime(url: str) -> str | None:
    """The CDN names the format after '@' (`…/bafk…@jpeg`)."""
    suffix = url.rsplit("@", 1)[1].lower() if "@" in urlsplit(url).path else ""
    return {"jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp"}.get(suffix)


def _size(view: Mapping[str, Any]) -> tuple[int | None, int | None]:
    ratio = view.get("aspectRatio")
    if isinstance(ratio, dict):
        return ratio.get("width"), ratio.get("height")
    return None, None


@dataclass
class _Embed:
    """What an embed view shows: files, a link card, a quoted record."""

    media: list[Media]
    card: dict[str, Any] | None = None
    quoted: dict[str, Any] | None = None


def _images(view: Mapping[str, Any]) -> list[Media]:
    found = []
    for image in view.get("images") or ():
        if isinstance(image, dict) and image.get("fullsize"):
            width, height = _size(image)
            url = str(image["fullsize"])
            found.append(Media(url, "image", _mime(url), image.get("alt") or None, width, height))
    return found


def _video(view: Mapping[str, Any]) -> list[Media]:
    if not view.get("playlist"):
        return []
    width, height = _size(view)
    mime = "application/vnd.apple.mpegurl"
    return [Media(str(view["playlist"]), "video", mime, view.get("alt") or None, width, height)]


def _external(view: Mapping[str, Any]) -> _Embed:
    card = view.get("external")
    if not isinstance(card, dict) or not card.get("uri"):
        return _Embed([])
    thumb = card.get("thumb")
    media = [Media(str(thumb), "image", _mime(str(thumb)), card.get("title") or None)]
    return _Embed(media if thumb else [], card=card)


def read_embed(view: Any) -> _Embed:
    """Unpack an embed view (images, video, external card, quote, quote with media)."""
    if not isinstance(view, dict):
        return _Embed([])
    kind = _type(view)
    if kind.startswith("app.bsky.embed.images"):
        return _Embed(_images(view))
    if kind.startswith("app.bsky.embed.video"):
        return _Embed(_video(view))
    if kind.startswith("app.bsky.embed.external"):
        return _external(view)
    if kind.startswith("app.bsky.embed.recordWithMedia"):
        inner = read_embed(view.get("media"))
        record = (view.get("record") or {}).get("record")
        inner.quoted = record if isinstance(record, dict) and "value" in record else None
        return inner
    if kind.startswith("app.bsky.embed.record"):
        record = view.get("record")
        quoted = record if isinstance(record, dict) and "value" in record else None
        return _Embed([], quoted=quoted)
    return _Embed([])


def _as_post_view(record: Mapping[str, Any]) -> dict[str, Any]:
    """An embedded viewRecord in the shape of a postView, so one mapping serves both."""
    embeds = record.get("embeds") or []
    return {
        **record,
        "record": record.get("value") or {},
        "embed": embeds[0] if embeds else None,
    }


def _card_html(card: Mapping[str, Any]) -> str:
    title = escape(str(card.get("title") or card["uri"]), quote=False)
    text = escape(str(card.get("description") or ""), quote=False)
    link = f'<a href="{escape(str(card["uri"]))}">{title}</a>'
    return f'<p class="card">{link}{" — " + text if text else ""}</p>'


def _quote_html(quoted: Mapping[str, Any]) -> str:
    url = web_url(str(quoted.get("uri") or ""))
    return f'<p class="quote"><a href="{escape(url)}">{escape(url)}</a></p>' if url else ""


@dataclass
class _Mapper:
    """Post views to Posts for one account (whose DID makes a post "ours")."""

    own_did: str | None

    def author(self, profile: Mapping[str, Any]) -> Author:
        handle = profile.get("handle") or None
        return Author(
            PLATFORM,
            handle=handle,
            name=profile.get("displayName") or None,
            url=profile_url(str(handle or profile.get("did") or "")),
            avatar_url=profile.get("avatar") or None,
        )

    @mapper("Bluesky post")
    def post(self, view: Mapping[str, Any]) -> Post:
        """One postView: text with facets as HTML, card, quote link, media, relations."""
        record = view.get("record") or {}
        parent, root = reply_ref(record)
        embed = read_embed(view.get("embed"))
        markup = render(record.get("text"), record.get("facets"))
        markup += _card_html(embed.card) if embed.card else ""
        markup += _quote_html(embed.quoted) if embed.quoted else ""
        kind: PostKind = "reply" if parent else "post"
        profile = view.get("author") or {}
        tags = [*(record.get("tags") or ()), *facet_tags(record.get("facets"))]
        return Post(
            platform=PLATFORM,
            native_id=str(view["uri"]),
            kind=kind,
            is_own=bool(self.own_did) and profile.get("did") == self.own_did,
            url=web_url(str(view["uri"])),
            content_html=markup or None,
            language=(record.get("langs") or [None])[0],
            author=self.author(profile),
            published_at=parse_iso(record.get("createdAt")) or parse_iso(view.get("indexedAt")),
            in_reply_to=parent,
            thread_root=root,
            tags=tuple(dict.fromkeys(t for t in tags if isinstance(t, str) and t)),
            media=tuple(embed.media),
            reply_count=view.get("replyCount"),
            like_count=view.get("likeCount"),
            repost_count=view.get("repostCount"),
            raw=dict(view),
        )

    @mapper("Bluesky post")
    def with_context(self, view: Mapping[str, Any]) -> list[Post]:
        """A post and the post it quotes (context, one level deep)."""
        posts = [self.post(view)]
        quoted = read_embed(view.get("embed")).quoted
        if quoted and quoted.get("uri") and quoted.get("author"):
            posts.append(self.post(_as_post_view(quoted)))
        return posts

    @mapper("Bluesky repost")
    def repost(self, view: Mapping[str, Any], reason: Mapping[str, Any]) -> Post:
        """Our repost: its own record URI, pointing at the reposted post (kept as context)."""
        by = reason.get("by") or {}
        subject = str(view["uri"])
        return Post(
            platform=PLATFORM,
            native_id=_repost_id(subject, reason),
            kind="repost",
            is_own=bool(self.own_did) and by.get("did") == self.own_did,
            url=web_url(subject),
            author=self.author(by),
            published_at=parse_iso(reason.get("indexedAt")),
            repost_of=subject,
            raw=dict(reason),
        )


def _item_key(item: Mapping[str, Any]) -> tuple[str, str | None]:
    """(native id, sort time) of a feed item: a repost sorts by when we reposted."""
    post = item.get("post") or {}
    if _is_repost(item):
        reason = item["reason"]
        return _repost_id(str(post.get("uri")), reason), reason.get("indexedAt")
    return str(post.get("uri")), post.get("indexedAt")


def _feed_page(data: Any) -> tuple[list[dict[str, Any]], str | None]:
    """The items of a getAuthorFeed answer that hold a readable post, and the cursor."""
    if not isinstance(data, dict):
        return [], None
    feed = data.get("feed")
    items = [i for i in feed if isinstance(i, dict)] if isinstance(feed, list) else []
    cursor = data.get("cursor")
    return [i for i in items if _is_post_view(i.get("post"))], str(cursor) if cursor else None


def reply_ref(record: Mapping[str, Any]) -> tuple[str | None, str | None]:
    """(parent, root) URIs of a post record's reply reference; (None, None) for a top post."""
    reply = record.get("reply")
    if not isinstance(reply, dict):
        return None, None
    parent, root = reply.get("parent"), reply.get("root")
    return (
        parent.get("uri") if isinstance(parent, dict) else None,
        root.get("uri") if isinstance(root, dict) else None,
    )


def _parents_missing(item: Mapping[str, Any]) -> bool:
    """True for a reply whose feed item lacks posts between its parent and the root
    (the feed shows only parent and root)."""
    parent, root = reply_ref(item["post"].get("record") or {})
    if not parent or parent == root:
        return False
    reply = item.get("reply")
    shown = reply.get("parent") if isinstance(reply, dict) else None
    if not _is_post_view(shown):
        return True
    return reply_ref(shown.get("record") or {})[0] != root


def _author_did(view: Mapping[str, Any]) -> str | None:
    return (view.get("author") or {}).get("did")


def _thread_views(thread: Any) -> Iterator[dict[str, Any]]:
    """Every readable post of a getPostThread answer: the anchor, its parents, all replies.
    notFoundPost and blockedPost nodes are skipped (their children are unreachable)."""
    if not isinstance(thread, dict):
        return
    parent = thread.get("parent")
    while isinstance(parent, dict):
        if _is_post_view(parent.get("post")):
            yield parent["post"]
        parent = parent.get("parent")
    stack = [thread]
    while stack:
        node = stack.pop()
        if _is_post_view(node.get("post")):
            yield node["post"]
            stack.extend(r for r in node.get("replies") or () if isinstance(r, dict))


class _Xrpc:
    """XRPC GETs against the AppView, with rate limits and XRPC error bodies."""

    def __init__(self, limiter: RateLimiter, base: str) -> None:
        self.limiter = limiter
        self.base = base

    def url(self, method: str, params: Iterable[tuple[str, str]]) -> str:
        return f"{self.base}/xrpc/{method}?{urlencode(list(params))}"

    async def get(self, method: str, params: Iterable[tuple[str, str]]) -> Response:
        return await self.limiter.get(self.url(method, params), accept=(400, 401, 403, 404))

    @staticmethod
    def error(response: Response) -> tuple[str, str]:
        """(error name, message) of an XRPC error body, tolerating non-JSON bodies."""
        try:
            body = response.json()
        except SourceError:
            body = None
        if not isinstance(body, dict):
            return "", ""
        return str(body.get("error") or ""), " ".join(str(body.get("message") or "").split())

    def auth_error(self, status: int) -> SourceError:
        return SourceError(f"AppView requires authentication (HTTP {status})", status=status)


def _not_found(response: Response) -> bool:
    name, message = _Xrpc.error(response)
    return (
        response.status == 404
        or name in ("NotFound", "ActorNotFound")
        or ("not found" in message.lower())
    )


class BlueskySource(Source):
    """A Bluesky account, read from a public AppView."""

    type = "bluesky"
    platform = PLATFORM
    keys: ClassVar[Keys] = SOURCE_KEYS["bluesky"]
    #: seconds a sync may sleep for a rate limit to reset (tests lower it)
    max_rate_wait: float = DEFAULT_MAX_WAIT

    @property
    def actor(self) -> str:
        return parse_actor(str(self.config.option("account", "")))

    def appview(self) -> str:
        """The AppView's base URL: `appview` from the config, else the public one."""
        return base_url(self.config.option("appview"), DEFAULT_APPVIEW, "appview")

    def _xrpc(self, ctx: SourceContext) -> _Xrpc:
        return _Xrpc(RateLimiter(ctx.http, max_wait=self.max_rate_wait), self.appview())

    # --- account -------------------------------------------------------------------------

    async def _resolve(self, xrpc: _Xrpc) -> str:
        """The account's DID via app.bsky.actor.getProfile."""
        response = await xrpc.get("app.bsky.actor.getProfile", [("actor", self.actor)])
        if response.status in (401, 403):
            raise xrpc.auth_error(response.status)
        if response.status != 200:
            if _not_found(response):
                raise SourceError(f"account {self.actor} not found")
            name, message = xrpc.error(response)
            raise SourceError(
                f"profile of {self.actor}: HTTP {response.status} {name} {message}".strip()
            )
        profile = response.json()
        if not isinstance(profile, dict) or not _DID_RE.match(str(profile.get("did") or "")):
            raise SourceError(f"profile of {self.actor}: no DID in the answer")
        return str(profile["did"])

    async def _did(self, xrpc: _Xrpc, state: dict[str, Any], fresh: bool = False) -> str:
        """A DID needs no lookup; a handle's DID is remembered in state."""
        if self.actor.startswith("did:"):
            return self.actor
        key = f"{self.actor} {xrpc.base}"
        if not fresh and state.get("actor_key") == key and state.get("did"):
            return str(state["did"])
        did = await self._resolve(xrpc)
        state.update(actor_key=key, did=did)
        return did

    # --- feed ----------------------------------------------------------------------------

    def _reached_known(self, feed: list[dict[str, Any]], ctx: SourceContext) -> bool:
        """True once an item is archived already and older than the refresh window."""
        if ctx.full:
            return False
        since = ctx.now - timedelta(days=self.config.refresh_days)
        for item in feed:
            native, sort_time = _item_key(item)
            when = parse_iso(sort_time)
            if native in ctx.known and (when is None or when < since):
                return True
        return False

    async def _feed_page(self, xrpc: _Xrpc, did: str, cursor: str | None) -> Response:
        params = [("actor", did), ("filter", "posts_with_replies"), ("limit", str(PAGE_SIZE))]
        if cursor:
            params.append(("cursor", cursor))
        return await xrpc.get("app.bsky.feed.getAuthorFeed", params)

    async def _feed(self, xrpc: _Xrpc, did: str, ctx: SourceContext) -> list[dict[str, Any]] | None:
        """Feed items, newest first, as far back as this sync needs; None if not found."""
        items: list[dict[str, Any]] = []
        cursor: str | None = None
        seen: set[str] = set()
        while True:
            response = await self._feed_page(xrpc, did, cursor)
            if response.status in (401, 403):
                raise xrpc.auth_error(response.status)
            if response.status != 200:
                if _not_found(response):
                    return None
                name, message = xrpc.error(response)
                raise SourceError(
                    f"feed of {self.actor}: {name or response.status} {message}".strip()
                )
            page, cursor = _feed_page(response.json())
            items.extend(page)
            if not page or not cursor or cursor in seen or self._reached_known(page, ctx):
                return items  # the last page, or a server repeating itself
            seen.add(cursor)

    # --- threads -------------------------------------------------------------------------

    def _needs_thread(self, item: Mapping[str, Any], ctx: SourceContext) -> bool:
        """New, changed reply count, or recent with replies; also a new reply whose parents
        the feed item does not show up to the root."""
        view = item["post"]
        record = view.get("record") or {}
        count = (view.get("replyCount") or 0) if self.config.replies else 0
        if count == 0 and not _parents_missing(item):
            return False
        known = ctx.known.get(str(view["uri"]))
        if ctx.full or known is None:
            return True
        if count and known.reply_count != view.get("replyCount"):
            return True
        return bool(count) and ctx.in_refresh_window(
            record.get("createdAt"), self.config.refresh_days
        )

    async def _thread(self, xrpc: _Xrpc, uri: str) -> list[dict[str, Any]] | None:
        """The posts of a thread; None when the anchor is gone."""
        depth = str(THREAD_DEPTH) if self.config.replies else "0"
        params = [("uri", uri), ("depth", depth), ("parentHeight", str(THREAD_DEPTH))]
        response = await xrpc.get("app.bsky.feed.getPostThread", params)
        if response.status != 200:
            if _not_found(response):
                return None
            name, message = xrpc.error(response)
            raise SourceError(
                f"HTTP {response.status} {name} {message}".strip(), status=response.status
            )
        data = response.json()
        return list(_thread_views(data.get("thread") if isinstance(data, dict) else None))

    async def _threads(
        self, xrpc: _Xrpc, uris: list[str], ctx: SourceContext, result: SourceResult
    ) -> tuple[list[dict[str, Any]], list[str]]:
        """Read threads; failures are warnings, retried next sync (after a 429: all of them)."""
        views: list[dict[str, Any]] = []
        failed: list[str] = []
        reads = BudgetedReads(THREAD_CONCURRENCY)
        done = 0

        async def one(uri: str) -> None:
            nonlocal done
            try:
                found = await reads(partial(self._thread, xrpc, uri))
            except SourceError as error:
                failed.append(uri)
                if error.status != 429:
                    result.warnings.append(f"thread {web_url(uri) or uri}: {error}")
                return
            if found is None:
                result.warnings.append(f"thread {web_url(uri) or uri}: post not found")
            else:
                views.extend(found)
            done += 1
            ctx.progress(done, len(uris))

        await asyncio.gather(*(one(uri) for uri in uris))
        reads.warn_left(result, len(failed))
        return views, failed

    # --- the source ----------------------------------------------------------------------

    def _collect(
        self,
        mapper: _Mapper,
        items: list[dict[str, Any]],
        threads: list[dict[str, Any]],
        skipped: Skipped | None = None,
    ) -> list[Post]:
        """Feed items (with reposted, quoted and replied-to posts as context), then threads.
        Malformed posts are left out (counted in `skipped`)."""
        skip = skipped or Skipped()
        posts: dict[str, Post] = {}
        for item in items:
            view = item["post"]
            if _is_repost(item):
                repost = skip(partial(mapper.repost, view, item["reason"]))
                if repost is not None:
                    posts[repost.native_id] = repost
            reply = item.get("reply")
            reply = reply if isinstance(reply, dict) else {}
            for context in (reply.get("root"), reply.get("parent")):
                if _is_post_view(context):
                    posts.update(
                        (p.native_id, p) for p in skip(partial(mapper.with_context, context)) or ()
                    )
            posts.update((p.native_id, p) for p in skip(partial(mapper.with_context, view)) or ())
        for view in threads:
            posts.update((p.native_id, p) for p in skip(partial(mapper.with_context, view)) or ())
        return list(posts.values())

    async def _items(
        self, xrpc: _Xrpc, ctx: SourceContext, state: dict[str, Any]
    ) -> tuple[str, list[dict[str, Any]]]:
        """Our DID and feed; a remembered DID that no longer answers is looked up again."""
        did = await self._did(xrpc, state)
        items = await self._feed(xrpc, did, ctx)
        if items is None and not self.actor.startswith("did:"):
            did = await self._did(xrpc, state, fresh=True)
            items = await self._feed(xrpc, did, ctx)
        if items is None:
            raise SourceError(f"account {self.actor} not found")
        return did, items

    async def fetch(self, ctx: SourceContext) -> SourceResult:
        """Our feed since the last sync and the refresh window, with the threads it needs."""
        xrpc = self._xrpc(ctx)
        result = SourceResult(state=dict(ctx.state))
        did, items = await self._items(xrpc, ctx, result.state)
        own = [i for i in items if not _is_repost(i) and _author_did(i["post"]) == did]
        wanted = [str(i["post"]["uri"]) for i in own if self._needs_thread(i, ctx)]
        pending = ctx.state.get("pending_threads")
        if isinstance(pending, list):
            wanted.extend(str(uri) for uri in pending if str(uri) not in wanted)
        threads, failed = await self._threads(xrpc, wanted, ctx, result)
        skipped = Skipped()
        result.posts = self._collect(_Mapper(did), items, threads, skipped)
        skipped.report(result)
        result.state.pop("pending_threads", None)
        if failed:
            result.state["pending_threads"] = failed
        self._describe(result, [i["post"] for i in own])
        return result

    def _describe(self, result: SourceResult, own: list[dict[str, Any]]) -> None:
        for view in own:
            profile = view["author"]
            result.title = as_text(profile.get("displayName")) or as_text(profile.get("handle"))
            result.home_url = profile_url(str(profile.get("handle") or profile.get("did")))
            return

    # --- verify --------------------------------------------------------------------------

    async def _verify_batch(
        self, xrpc: _Xrpc, mapper: _Mapper, uris: list[str], result: SourceResult
    ) -> None:
        """One getPosts call; a rate limit is raised (verifying stops), else a warning."""
        try:
            response = await xrpc.get("app.bsky.feed.getPosts", [("uris", u) for u in uris])
            if response.status != 200:
                name, message = xrpc.error(response)
                raise SourceError(f"HTTP {response.status} {name} {message}".strip())
            data = response.json()
        except SourceError as error:
            if error.status == 429:
                raise
            result.warnings.append(f"verify {len(uris)} post(s): {error}")
            return
        views = data.get("posts") if isinstance(data, dict) else None
        found = {str(v["uri"]): v for v in views or () if _is_post_view(v)}
        for uri in uris:
            if uri in found:
                result.posts.append(mapper.post(found[uri]))
                result.seen_again.append((PLATFORM, uri))
            else:
                result.gone.append(Gone(PLATFORM, uri, "not returned by app.bsky.feed.getPosts"))

    async def verify(self, ctx: SourceContext, posts: list[KnownPost]) -> SourceResult:
        """getPosts in batches of 25: a post the AppView no longer returns is gone.

        Repost records are not posts and cannot be asked for; they are left alone. A rate
        limit ends the check with one warning; what was checked until then still counts.
        """
        xrpc = self._xrpc(ctx)
        result = SourceResult(state=dict(ctx.state))
        did = ctx.state.get("did") or (self.actor if self.actor.startswith("did:") else None)
        mapper = _Mapper(str(did) if did else None)
        uris = [p.native_id for p in posts if is_post_uri(p.native_id)]
        for start in range(0, len(uris), GET_POSTS_BATCH):
            try:
                await self._verify_batch(
                    xrpc, mapper, uris[start : start + GET_POSTS_BATCH], result
                )
            except SourceError as error:
                left = len(uris) - start
                result.warnings.append(f"verify stopped, {left} post(s) left unchecked: {error}")
                break
            ctx.progress(min(start + GET_POSTS_BATCH, len(uris)), len(uris))
        return result
