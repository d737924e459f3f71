"""Any fediverse actor (PeerTube, Pixelfed, GoToSocial, Misskey-compatible, Mastodon, ...)
through plain ActivityPub: WebFinger -> actor -> outbox pages -> replies collections.

`Create` brings our notes, articles and videos; `Announce` a repost (the boosted object is
fetched once, as context). Replies come from each object's `replies` (or PeerTube's
`comments`) collection, following `next` pages (Mastodon lists other accounts' replies on
`only_other_accounts=true` pages) and dereferencing replies given as URIs. Servers in
"secure mode" (authorized fetch) answer unsigned requests with 401; ownfeed has no actor
key to sign with, so that is one clear error naming the alternatives.
"""

from __future__ import annotations

import asyncio
import copy
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import Any, ClassVar
from urllib.parse import quote, urlsplit

from ownfeed.errors import ParseError, SourceError
from ownfeed.http import Response
from ownfeed.models import Author, Gone, KnownPost, Media, MediaKind, Post, SourceResult, parse_iso
from ownfeed.sources.apiutil import (
    Skipped,
    as_text,
    base_url,
    can_stop_paging,
    json_object,
    mapper,
    needs_replies,
    text_to_html,
)
from ownfeed.sources.base import Source, SourceContext
from ownfeed.sources.ratelimit import DEFAULT_MAX_WAIT, RateLimiter
from ownfeed.sources.registry import SOURCE_KEYS, Keys

PLATFORM = "activitypub"
ACCEPT = (
    'application/activity+json, application/ld+json; profile="https://www.w3.org/ns/'
    'activitystreams";q=0.9, application/json;q=0.5'
)
_AP_TYPES = ("application/activity+json", "application/ld+json", "application/json")
OBJECT_TYPES = frozenset(
    {"Note", "Article", "Page", "Video", "Image", "Audio", "Event", "Question", "Document"}
)
_TITLED = frozenset({"Article", "Page", "Video", "Event", "Image", "Audio"})
DEFAULT_MAX_PAGES = 1000
REPLY_DEPTH = 6  # levels of replies-of-replies followed below one of our posts
REPLY_CAP = 300  # reply objects read per thread and sync
CONCURRENCY = 4
ANNOUNCE_LOOKUPS = 50  # boosted objects fetched per sync, at most
_ACCOUNT_RE = re.compile(r"^@?([^@\s/]+)@([A-Za-z0-9.-]+(?::\d+)?)$")
_MEDIA_KINDS: dict[str, MediaKind] = {"image": "image", "video": "video", "audio": "audio"}


class SignedFetchRequired(SourceError):
    """The server wants HTTP Signatures on every GET (authorized fetch, secure mode)."""


def _id(value: Any) -> str | None:
    """The id of an object given inline or as a URI."""
    if isinstance(value, str):
        return value or None
    if isinstance(value, Mapping) and isinstance(value.get("id"), str):
        return str(value["id"])
    return None


def _first_url(value: Any, prefer: str = "text/html") -> str | None:
    """`url` as a string, a Link, or a list of them: the `prefer` type first."""
    items = value if isinstance(value, list) else [value]
    links: list[tuple[str, str]] = []
    for item in items:
        if isinstance(item, str):
            links.append((item, ""))
        elif isinstance(item, Mapping):
            href = item.get("href") or item.get("url")
            if isinstance(href, str):
                links.append((href, str(item.get("mediaType") or "")))
    for href, media_type in links:
        if media_type == prefer:
            return href
    return links[0][0] if links else None


def _is_object(value: Any) -> bool:
    """An object of a kind we archive, with an id."""
    kind = value.get("type") if isinstance(value, Mapping) else None
    return isinstance(kind, str) and kind in OBJECT_TYPES and _id(value) is not None


def _items(page: Mapping[str, Any]) -> list[Any]:
    """A collection page's items (`orderedItems` or `items`), [] when not a list."""
    items = page.get("orderedItems") or page.get("items")
    return items if isinstance(items, list) else []


def _names(values: Any) -> list[Any]:
    return values if isinstance(values, list) else [values] if values else []


def _count(collection: Any) -> int | None:
    if isinstance(collection, Mapping) and isinstance(collection.get("totalItems"), int):
        return int(collection["totalItems"])
    return None


def _media(obj: Mapping[str, Any]) -> tuple[Media, ...]:
    """Attachments with alt text; for videos the largest thumbnail (`icon`), not the file."""
    found: list[Media] = []
    for item in _names(obj.get("attachment")):
        if not isinstance(item, Mapping):
            continue
        url = _first_url(item.get("url") or item.get("href"))
        if not url:
            continue
        mime = str(item.get("mediaType") or "") or None
        kind = _MEDIA_KINDS.get((mime or "").split("/")[0], "file")
        found.append(
            Media(
                url,
                kind,
                mime=mime,
                alt=item.get("name") or None,
                width=item.get("width") if isinstance(item.get("width"), int) else None,
                height=item.get("height") if isinstance(item.get("height"), int) else None,
            )
        )
    icons = [i for i in _names(obj.get("icon")) if isinstance(i, Mapping) and i.get("url")]
    if icons and obj.get("type") in ("Video", "Audio"):
        best = max(icons, key=lambda i: i.get("width") or 0)
        found.append(
            Media(
                str(_first_url(best.get("url"))),
                "image",
                mime=best.get("mediaType") or None,
                width=best.get("width"),
                height=best.get("height"),
            )
        )
    return tuple(found)


def _content(obj: Mapping[str, Any]) -> tuple[str | None, str | None, str | None]:
    """(html, text, language): `content` or the first `contentMap` entry; Markdown
    (PeerTube descriptions) is shown as escaped text."""
    content = obj.get("content")
    language = None
    content_map = obj.get("contentMap")
    if isinstance(content_map, Mapping) and content_map:
        language, first = next(iter(content_map.items()))
        content = content if isinstance(content, str) else first
    if not isinstance(content, str) or not content.strip():
        return None, None, language
    if obj.get("mediaType") == "text/markdown":
        return text_to_html(content), content, language
    return content, None, language


@dataclass
class _Mapper:
    """Objects to posts for one actor."""

    actor: str
    handle: str
    name: str | None
    profile: str | None

    def author(self, attributed: Any) -> Author | None:
        people = [a for a in _names(attributed) if _id(a)]
        person = next(
            (a for a in people if isinstance(a, Mapping) and a.get("type") == "Person"),
            people[0] if people else None,
        )
        actor = _id(person)
        if actor is None:
            return None
        if actor == self.actor or self.actor in {_id(a) for a in people}:
            return Author(PLATFORM, handle=self.handle, name=self.name, url=self.profile)
        name = person.get("name") if isinstance(person, Mapping) else None
        return Author(PLATFORM, url=actor, name=name or None)

    def is_own(self, obj: Mapping[str, Any]) -> bool:
        return self.actor in {_id(a) for a in _names(obj.get("attributedTo"))}

    @mapper("ActivityPub object")
    def post(self, obj: Mapping[str, Any], root: str | None = None) -> Post:
        html, text, language = _content(obj)
        kind_name = str(obj.get("type"))
        title = obj.get("name") if kind_name in _TITLED else obj.get("summary")
        parent = _id(obj.get("inReplyTo"))
        return Post(
            platform=PLATFORM,
            native_id=str(obj["id"]),
            kind="reply" if parent else "post",
            is_own=self.is_own(obj),
            url=_first_url(obj.get("url")) or str(obj["id"]),
            title=title if isinstance(title, str) and title.strip() else None,
            content_html=html,
            content_text=text,
            language=language,
            author=self.author(obj.get("attributedTo")),
            published_at=parse_iso(obj.get("published")),
            updated_at=parse_iso(obj.get("updated")),
            in_reply_to=parent,
            thread_root=root,
            tags=tuple(
                str(t["name"]).lstrip("#")
                for t in _names(obj.get("tag"))
                if isinstance(t, Mapping) and t.get("type") == "Hashtag" and t.get("name")
            ),
            media=_media(obj),
            reply_count=_count(obj.get("replies")),
            like_count=_count(obj.get("likes")),
            repost_count=_count(obj.get("shares")),
            raw={k: v for k, v in obj.items() if k != "@context"},
        )


@dataclass
class _Found:
    """What one sync collected: posts by id, reposts, and where replies could not be read."""

    posts: dict[str, Post] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)
    skipped: Skipped = field(default_factory=Skipped)

    def add(self, post: Post) -> None:
        known = self.posts.get(post.native_id)
        if known is None or (post.thread_root and not known.thread_root):
            self.posts[post.native_id] = post


class _Fetcher:
    """ActivityPub GETs: the right Accept header, JSON objects, 401 as signed-fetch."""

    def __init__(self, limiter: RateLimiter) -> None:
        self.limiter = limiter

    async def get(self, url: str, what: str) -> dict[str, Any] | None:
        """The object at `url`; None when it is gone (404/410)."""
        response = await self.limiter.get(
            url, headers={"Accept": ACCEPT}, accept=(401, 403, 404, 410)
        )
        if response.status in (404, 410):
            return None
        if response.status in (401, 403):
            raise SignedFetchRequired(
                f"{urlsplit(url).netloc} requires signed requests for {what} "
                f"(HTTP {response.status}, authorized fetch / secure mode); ownfeed cannot sign "
                'them: use its API (type = "mastodon") or its RSS feed instead',
                status=response.status,
            )
        return _object(response, what)

    async def deref(self, value: Any, what: str) -> dict[str, Any] | None:
        """An inline object as is, a URI fetched."""
        if isinstance(value, Mapping):
            return dict(value)
        if isinstance(value, str) and value.startswith(("http://", "https://")):
            return await self.get(value, what)
        return None


def _object(response: Response, what: str) -> dict[str, Any]:
    if response.content_type not in _AP_TYPES:
        raise ParseError(
            f"{what}: not ActivityPub JSON ({response.content_type or 'no content type'})"
        )
    return json_object(response, what)


def parse_account(account: str) -> tuple[str, str] | None:
    """`@user@host` -> (user, host); None for an actor URL."""
    match = _ACCOUNT_RE.match(account.strip())
    return (match.group(1), match.group(2).lower()) if match else None


class ActivityPubSource(Source):
    """A fediverse actor by `@user@host` handle or actor URL."""

    type = "activitypub"
    platform = PLATFORM
    keys: ClassVar[Keys] = SOURCE_KEYS["activitypub"]
    #: seconds a sync may sleep for a rate limit to reset (tests lower it)
    max_rate_wait: float = DEFAULT_MAX_WAIT

    # --- actor ---------------------------------------------------------------------------

    async def _actor_url(self, fetch: _Fetcher, state: dict[str, Any]) -> str:
        """The actor URI: given, remembered, or from WebFinger."""
        account = str(self.config.option("account", "")).strip()
        handle = parse_account(account)
        if handle is None:
            if account.startswith(("http://", "https://")):
                return account
            raise SourceError(f"account {account!r} must be @user@host or an actor URL")
        if state.get("actor_for") == account and state.get("actor"):
            return str(state["actor"])
        user, host = handle
        base = base_url(self.config.option("instance"), f"https://{host}", "instance")
        url = f"{base}/.well-known/webfinger?resource={quote(f'acct:{user}@{host}', safe=':@')}"
        response = await fetch.limiter.get(url, accept=(400, 404, 410))
        if response.status != 200:
            raise SourceError(
                f"account @{user}@{host} not found (WebFinger HTTP {response.status})"
            )
        links = json_object(response, "WebFinger").get("links")
        for link in links if isinstance(links, list) else ():
            if (
                isinstance(link, Mapping)
                and link.get("rel") == "self"
                and str(link.get("type", "")).split(";")[0].strip() in _AP_TYPES
                and isinstance(link.get("href"), str)
            ):
                state.update(actor_for=account, actor=link["href"])
                return str(link["href"])
        raise SourceError(f"account @{user}@{host}: WebFinger names no ActivityPub actor")

    async def _read_actor(self, fetch: _Fetcher, actor_url: str, state: dict[str, Any]) -> None:
        """The actor's outbox, name and profile page, remembered until the outbox moves."""
        actor = await fetch.get(actor_url, "the actor")
        if actor is None:
            state.pop("actor", None)
            raise SourceError(f"actor {actor_url} not found (HTTP 404)", status=404)
        outbox = _id(actor.get("outbox"))
        if not outbox:
            raise SourceError(f"actor {actor_url} has no outbox")
        state.update(
            outbox_of=actor_url,
            outbox=outbox,
            handle=self._handle(actor),
            title=as_text(actor.get("name")) or as_text(actor.get("preferredUsername")),
            home=_first_url(actor.get("url")) or actor_url,
        )

    def _handle(self, actor: Mapping[str, Any]) -> str:
        handle = parse_account(str(self.config.option("account", "")))
        if handle:
            return f"@{handle[0]}@{handle[1]}"
        return f"@{actor.get('preferredUsername')}@{urlsplit(str(actor.get('id'))).netloc}"

    # --- outbox --------------------------------------------------------------------------

    def _stop(self, ctx: SourceContext, page: list[Any]) -> bool:
        """True after an empty page, or one whose oldest activity ends the walk."""
        if not page:
            return True
        oldest = page[-1] if isinstance(page[-1], Mapping) else {}
        object_id = _id(oldest.get("object")) if oldest.get("type") == "Create" else _id(oldest)
        published = parse_iso(oldest.get("published"))
        return can_stop_paging(ctx, object_id, published, self.config.refresh_days)

    async def _outbox(
        self, ctx: SourceContext, fetch: _Fetcher, outbox_url: str
    ) -> list[dict[str, Any]]:
        """Activities newest first, as far back as this sync needs (`first`, then `next`)."""
        outbox = await fetch.get(outbox_url, "the outbox")
        if outbox is None:
            raise SourceError("outbox not found (HTTP 404)", status=404)
        activities: list[dict[str, Any]] = []
        page: dict[str, Any] | None = outbox
        if not _items(outbox):
            page = await fetch.deref(outbox.get("first"), "the outbox")
        seen: set[str] = {outbox_url}
        max_pages = int(self.config.option("max_pages", DEFAULT_MAX_PAGES))
        while page is not None:
            items = [i for i in _items(page) if isinstance(i, Mapping)]
            activities += [dict(i) for i in items]
            ctx.progress(len(activities), _count(outbox))
            following = _id(page.get("next"))
            if (
                not following
                or following in seen
                or len(seen) >= max_pages
                or self._stop(ctx, items)
            ):
                break
            seen.add(following)
            page = await fetch.deref(page.get("next"), "the outbox")
        return activities

    async def _objects(
        self,
        ctx: SourceContext,
        fetch: _Fetcher,
        activities: list[dict[str, Any]],
        mapper: _Mapper,
        found: _Found,
    ) -> list[Post]:
        """Our objects from Create (and Update), reposts from Announce; returns our objects."""
        own: list[Post] = []
        lookups = 0
        skip = found.skipped
        for activity in activities:
            kind = activity.get("type")
            if kind in ("Create", "Update"):
                obj = activity.get("object")
                if isinstance(obj, str) and obj not in ctx.known:
                    obj = await self._safe_deref(fetch, obj, found)
                if isinstance(obj, Mapping) and _is_object(obj):
                    post = skip(partial(mapper.post, obj))
                    if post is not None:
                        found.add(post)
                        own.append(post)
            elif kind == "Announce" and _id(activity) and _id(activity.get("object")):
                target = _id(activity.get("object"))
                found.add(
                    Post(
                        platform=PLATFORM,
                        native_id=str(activity["id"]),
                        kind="repost",
                        is_own=True,
                        url=str(activity["id"]),
                        author=mapper.author(activity.get("actor")),
                        published_at=parse_iso(activity.get("published")),
                        repost_of=target,
                        raw={k: v for k, v in activity.items() if k != "@context"},
                    )
                )
                if target not in ctx.known and lookups < ANNOUNCE_LOOKUPS:
                    lookups += 1
                    boosted = await self._safe_deref(fetch, activity.get("object"), found)
                    post = (
                        skip(partial(mapper.post, boosted))
                        if boosted and _is_object(boosted)
                        else None
                    )
                    if post is not None:
                        found.add(post)
        return own

    @staticmethod
    async def _safe_deref(fetch: _Fetcher, value: Any, found: _Found) -> dict[str, Any] | None:
        try:
            return await fetch.deref(value, "an object")
        except SourceError as error:
            found.failures.append(str(error))
            return None

    # --- replies -------------------------------------------------------------------------

    async def _collection_items(self, fetch: _Fetcher, collection: Any, found: _Found) -> list[Any]:
        """Every item of a (paged) collection: inline objects and URIs."""
        items: list[Any] = []
        try:
            current = await fetch.deref(collection, "a replies collection")
            if current is None:
                return items
            page: dict[str, Any] | None = current
            if not _items(current) and current.get("first"):
                page = await fetch.deref(current.get("first"), "a replies page")
            seen: set[str] = set()
            while page is not None and len(items) < REPLY_CAP:
                items += _items(page)
                following = _id(page.get("next"))
                if not following or following in seen:
                    break
                seen.add(following)
                page = await fetch.deref(page.get("next"), "a replies page")
        except SourceError as error:
            found.failures.append(str(error))
        return items

    async def _replies(self, fetch: _Fetcher, post: Post, mapper: _Mapper, found: _Found) -> None:
        """Replies below one of our objects, level by level, each linked to its root."""
        root = post.thread_root or post.native_id
        level: list[Mapping[str, Any]] = [post.raw or {}]
        seen = {post.native_id}
        for _depth in range(REPLY_DEPTH):
            following: list[Mapping[str, Any]] = []
            for obj in level:
                collection = obj.get("replies") or obj.get("comments")
                if not collection:
                    continue
                for item in await self._collection_items(fetch, collection, found):
                    reply_id = _id(item)
                    if not reply_id or reply_id in seen or len(seen) > REPLY_CAP:
                        continue
                    seen.add(reply_id)
                    reply = await self._safe_deref(fetch, item, found)
                    if reply and _is_object(reply):
                        if (mapped := found.skipped(partial(mapper.post, reply, root))) is None:
                            continue
                        found.add(mapped)
                        following.append(reply)
            if not following:
                return
            level = following

    async def _threads(
        self,
        ctx: SourceContext,
        fetch: _Fetcher,
        own: list[Post],
        mapper: _Mapper,
        found: _Found,
        state: dict[str, Any],
    ) -> None:
        pending = set(state.get("pending") or ())
        wanted = [
            p
            for p in own
            if needs_replies(
                ctx,
                p.native_id,
                count=p.reply_count,
                published=p.published_at,
                refresh_days=self.config.refresh_days,
                pending=pending,
            )
        ]
        gate = asyncio.Semaphore(CONCURRENCY)
        failed: set[str] = set()

        async def one(post: Post) -> None:
            async with gate:
                before = len(found.failures)
                await self._replies(fetch, post, mapper, found)
                if len(found.failures) > before:
                    failed.add(post.native_id)

        await asyncio.gather(*(one(p) for p in wanted))
        state["pending"] = sorted(failed)

    # --- the source ----------------------------------------------------------------------

    async def fetch(self, ctx: SourceContext) -> SourceResult:
        state = copy.deepcopy(dict(ctx.state or {}))
        result = SourceResult(state=state)
        fetch = _Fetcher(RateLimiter(ctx.http, max_wait=self.max_rate_wait))
        actor_url = await self._actor_url(fetch, state)
        if ctx.full or state.get("outbox_of") != actor_url:
            await self._read_actor(fetch, actor_url, state)
        result.http_status = 200
        result.title, result.home_url = state.get("title"), state.get("home")
        mapper = _Mapper(actor_url, str(state["handle"]), result.title, result.home_url)
        try:
            activities = await self._outbox(ctx, fetch, str(state["outbox"]))
        except SourceError as error:
            if error.status != 404:
                raise
            await self._read_actor(fetch, actor_url, state)  # the outbox moved
            activities = await self._outbox(ctx, fetch, str(state["outbox"]))
        found = _Found()
        own = await self._objects(ctx, fetch, activities, mapper, found)
        if self.config.replies:
            await self._threads(ctx, fetch, own, mapper, found, state)
        if found.failures:
            result.warnings.append(
                f"{len(found.failures)} object(s) or replies could not be read, e.g. "
                f"{found.failures[0]}"
            )
        result.posts = list(found.posts.values())
        found.skipped.report(result)
        return result

    async def verify(self, ctx: SourceContext, posts: list[KnownPost]) -> SourceResult:
        """GET each object: 404/410 or a Tombstone is gone; others may bring an edit."""
        fetch = _Fetcher(RateLimiter(ctx.http, max_wait=self.max_rate_wait))
        result = SourceResult(state=dict(ctx.state or {}))
        actor = str(ctx.state.get("outbox_of") or "")
        handle = str(ctx.state.get("handle") or "")
        mapper = _Mapper(actor, handle, None, None) if actor and handle else None
        gate = asyncio.Semaphore(CONCURRENCY)
        refused: list[str] = []

        async def one(post: KnownPost) -> None:
            async with gate:
                try:
                    obj = await fetch.get(post.native_id, "an object")
                except SourceError as error:
                    refused.append(str(error))
                    return
                if obj is None or obj.get("type") == "Tombstone":
                    result.gone.append(Gone(PLATFORM, post.native_id, "deleted upstream"))
                    return
                result.seen_again.append((PLATFORM, post.native_id))
                edited = None
                if mapper and _is_object(obj) and _id(obj) == post.native_id:
                    edited = Skipped()(partial(mapper.post, obj))
                if edited is not None:
                    result.posts.append(edited)

        await asyncio.gather(*(one(p) for p in posts if p.native_id.startswith("http")))
        if refused:
            result.warnings.append(
                f"verify: {len(refused)} object(s) not readable, e.g. {refused[0]}"
            )
        return result
