"""Lemmy users (`user@instance`): their posts and comments, and the comment trees under
their posts, through the instance's v3 API.

Native ids are ActivityPub ids (`ap_id`), the same URL every instance and an ActivityPub
client see. Lemmy gives Markdown, kept as `content_text` and shown as escaped paragraphs.
A comment's parent comes from its `path` (`0.<ancestor ids>.<id>`); for our own comments
on other threads the parent is looked up once, when the comment is new. `deleted` and
`removed` mark posts gone without overwriting what was archived.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any, ClassVar
from urllib.parse import urlencode, urlsplit

from ownfeed.errors import ParseError, SourceError
from ownfeed.models import Author, Gone, KnownPost, Media, Post, SourceResult, parse_iso
from ownfeed.sources.apiutil import (
    Batch,
    BudgetedReads,
    as_count,
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

PLATFORM = "lemmy"
PAGE_SIZE = 50  # the API's maximum
THREAD_CONCURRENCY = 4
PARENT_LOOKUPS = 50  # parents of our new comments looked up per sync, at most
_ACCOUNT_RE = re.compile(
    r"^@?([A-Za-z0-9_]+)@([A-Za-z0-9.-]+(?::\d+)?)$"
    r"|^https?://([A-Za-z0-9.-]+(?::\d+)?)/u/([A-Za-z0-9_]+)/?$"
)
_LOCAL_ID_RE = re.compile(r"^https?://[^/]+/(post|comment)/(\d+)$")


def parse_account(account: str) -> tuple[str, str]:
    """`user@instance`, `@user@instance` or `https://instance/u/user` -> (user, instance)."""
    match = _ACCOUNT_RE.match(account.strip())
    if not match:
        raise SourceError(f"account {account!r} must look like user@instance")
    if match.group(1):
        return match.group(1), match.group(2).lower()
    return match.group(4), match.group(3).lower()


def parent_local_id(path: str | None) -> int | None:
    """The parent comment's local id from a `path`; None for a top-level comment."""
    parts = [p for p in str(path or "").split(".") if p.isascii() and p.isdigit() and len(p) < 19]
    return int(parts[-2]) if len(parts) >= 3 else None


def _gone_reason(item: Mapping[str, Any]) -> str | None:
    if item.get("removed"):
        return "removed"
    if item.get("deleted"):
        return "deleted"
    return None


@dataclass
class _Mapper:
    """Post and comment views to posts, for one person (their `actor_id`)."""

    own_actor: str

    def author(self, person: Any) -> Author | None:
        if not isinstance(person, dict) or not person.get("actor_id"):
            return None
        actor = str(person["actor_id"])
        host = urlsplit(actor).netloc
        return Author(
            PLATFORM,
            handle=f"@{person.get('name')}@{host}",
            name=person.get("display_name") or person.get("name") or None,
            url=actor,
            avatar_url=person.get("avatar") or None,
        )

    @mapper("Lemmy post")
    def post(self, view: Mapping[str, Any], creator: Any = None) -> Post:
        post = view.get("post") or {}
        counts = view.get("counts") or {}
        community = view.get("community") or {}
        body = text_to_html(post.get("body"))
        link = post.get("url")
        if isinstance(link, str) and link.startswith(("http://", "https://")):
            anchor = f'<p><a href="{_attr(link)}">{_text(link)}</a></p>'
            body = anchor + (body or "")
        media: list[Media] = []
        for url in (post.get("thumbnail_url"),):
            if isinstance(url, str) and url.startswith(("http://", "https://")):
                media.append(Media(url, "image", alt=post.get("alt_text") or None))
        person = creator if creator is not None else view.get("creator")
        tag = _community_tag(community)
        return Post(
            platform=PLATFORM,
            native_id=str(post["ap_id"]),
            kind="post",
            is_own=_actor(person) == self.own_actor,
            url=str(post["ap_id"]),
            title=post.get("name") or None,
            content_html=body,
            content_text=post.get("body") or None,
            author=self.author(person),
            published_at=parse_iso(post.get("published")),
            updated_at=parse_iso(post.get("updated")),
            tags=(tag,) if tag else (),
            media=tuple(media),
            reply_count=counts.get("comments"),
            like_count=counts.get("score"),
            raw={"post": post, "community": community.get("actor_id"), "counts": counts},
        )

    @mapper("Lemmy comment")
    def comment(self, view: Mapping[str, Any], parent: str | None) -> Post:
        """`parent` is the parent comment's ap_id; a top-level comment hangs under the post, a
        reply whose parent was not looked up keeps what the archive knows."""
        comment = view.get("comment") or {}
        post = view.get("post") or {}
        if parent is None and parent_local_id(comment.get("path")) is None:
            parent = post.get("ap_id")
        return Post(
            platform=PLATFORM,
            native_id=str(comment["ap_id"]),
            kind="reply",
            is_own=_actor(view.get("creator")) == self.own_actor,
            url=str(comment["ap_id"]),
            content_html=text_to_html(comment.get("content")),
            content_text=comment.get("content") or None,
            author=self.author(view.get("creator")),
            published_at=parse_iso(comment.get("published")),
            updated_at=parse_iso(comment.get("updated")),
            in_reply_to=parent,
            thread_root=post.get("ap_id"),
            reply_count=(view.get("counts") or {}).get("child_count"),
            like_count=(view.get("counts") or {}).get("score"),
            raw={"comment": comment, "post_id": post.get("id")},
        )


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _views(value: Any, key: str) -> list[dict[str, Any]]:
    """The views of a list whose `key` object has an `ap_id` (others are left out)."""
    if not isinstance(value, list):
        return []
    return [
        view
        for view in value
        if isinstance(view, dict)
        and isinstance(view.get(key), dict)
        and isinstance(view[key].get("ap_id"), str)
        and view[key]["ap_id"]
    ]


def _actor(person: Any) -> str | None:
    return str(person.get("actor_id")) if isinstance(person, dict) else None


def _community_tag(community: Mapping[str, Any]) -> str | None:
    name, actor = community.get("name"), community.get("actor_id")
    if not name or not isinstance(actor, str):
        return None
    return f"!{name}@{urlsplit(actor).netloc}"


def _attr(value: str) -> str:
    return value.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")


def _text(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


class _Batch(Batch):
    """The run's posts and gone markers; a view without text never replaces one with it."""

    def add_mapped(self, make: Callable[[], Post], item: Mapping[str, Any]) -> None:
        """Add what `make` maps from `item`; a malformed view is skipped (and counted)."""
        post = self.skipped(make)
        if post is None:
            return
        reason = _gone_reason(item)
        if reason is None and post.native_id in self.posts and not post.content_html:
            return
        self.add(post, reason)


class _Api:
    """The instance's /api/v3 through the rate-limit budget, with Lemmy's error codes."""

    def __init__(self, limiter: RateLimiter, base: str) -> None:
        self.limiter = limiter
        self.base = base

    async def get(self, path: str, **params: Any) -> dict[str, Any]:
        url = f"{self.base}/api/v3/{path}?{urlencode(params)}"
        response = await self.limiter.get(url, accept=(400, 401, 403, 404))
        if response.status >= 400:
            try:
                code = str(json_object(response, path).get("error") or "")
            except ParseError:
                code = ""
            raise SourceError(
                f"Lemmy API {path}: {code or 'error'} (HTTP {response.status})",
                status=404 if "couldnt_find" in code else response.status,
            )
        return json_object(response, path)


class LemmySource(Source):
    """A Lemmy account on its home instance."""

    type = "lemmy"
    platform = PLATFORM
    keys: ClassVar[Keys] = SOURCE_KEYS["lemmy"]
    #: seconds a sync may sleep for a rate limit to reset (tests lower it)
    max_rate_wait: float = DEFAULT_MAX_WAIT

    def _api(self, ctx: SourceContext) -> tuple[_Api, str]:
        user, host = parse_account(str(self.config.option("account", "")))
        base = base_url(self.config.option("instance"), f"https://{host}", "instance")
        return _Api(RateLimiter(ctx.http, max_wait=self.max_rate_wait), base), user

    # --- the user's posts and comments ---------------------------------------------------

    def _stop(self, ctx: SourceContext, views: list[dict[str, Any]], key: str) -> bool:
        """True after an empty page, or one whose oldest item ends the walk (`can_stop_paging`)."""
        if not views:
            return True
        item = views[-1].get(key) or {}
        oldest, published = str(item.get("ap_id")), parse_iso(item.get("published"))
        return can_stop_paging(ctx, oldest, published, self.config.refresh_days)

    async def _profile(
        self, ctx: SourceContext, api: _Api, user: str
    ) -> tuple[dict[str, Any], list[dict[str, Any]], list[dict[str, Any]]]:
        """Person, posts and comments, newest first, as far back as this sync needs."""
        posts: list[dict[str, Any]] = []
        comments: list[dict[str, Any]] = []
        person: dict[str, Any] = {}
        page, posts_done, comments_done = 1, False, False
        while not (posts_done and comments_done):
            try:
                data = await api.get("user", username=user, sort="New", page=page, limit=PAGE_SIZE)
            except SourceError as error:
                if error.status == 404:
                    host = urlsplit(api.base).netloc
                    raise SourceError(f"Lemmy user {user}@{host} not found", status=404) from None
                raise
            person = _dict(_dict(data.get("person_view")).get("person")) or person
            page_posts = _views(data.get("posts"), "post")
            page_comments = _views(data.get("comments"), "comment")
            if not posts_done:
                posts += page_posts
                posts_done = self._stop(ctx, page_posts, "post") or len(page_posts) < PAGE_SIZE
            if not comments_done:
                comments += page_comments
                comments_done = (
                    self._stop(ctx, page_comments, "comment") or len(page_comments) < PAGE_SIZE
                )
            ctx.progress(len(posts) + len(comments), None)
            page += 1
        if not person.get("actor_id"):
            raise ParseError("Lemmy API user: no person in the answer")
        return person, posts, comments

    # --- comment trees -------------------------------------------------------------------

    async def _tree(self, api: _Api, post_id: int) -> list[dict[str, Any]]:
        """Every comment under one post, oldest first (pages of 50)."""
        views: list[dict[str, Any]] = []
        page = 1
        while True:
            data = await api.get(
                "comment/list", post_id=post_id, sort="Old", type_="All", limit=PAGE_SIZE, page=page
            )
            found = _views(data.get("comments"), "comment")
            views += found
            if len(found) < PAGE_SIZE:
                return views
            page += 1

    def _add_tree(self, views: list[dict[str, Any]], mapper: _Mapper, batch: _Batch) -> None:
        ap_ids = {as_count(v["comment"].get("id")): str(v["comment"]["ap_id"]) for v in views}
        for view in views:
            parent = parent_local_id(view["comment"].get("path"))
            parent_ap = ap_ids.get(parent) if parent is not None else None
            batch.add_mapped(partial(mapper.comment, view, parent_ap), view["comment"])

    async def _trees(
        self,
        ctx: SourceContext,
        api: _Api,
        posts: list[dict[str, Any]],
        mapper: _Mapper,
        batch: _Batch,
        result: SourceResult,
    ) -> None:
        pending = dict(ctx.state.get("pending") or {})
        wanted: dict[str, int] = {}
        for view in posts:
            post, counts = view["post"], _dict(view.get("counts"))
            if as_count(post.get("id")) is not None and needs_replies(
                ctx,
                str(post["ap_id"]),
                count=counts.get("comments"),
                published=post.get("published"),
                refresh_days=self.config.refresh_days,
                pending=pending,
            ):
                wanted[str(post["ap_id"])] = int(post["id"])
        for ap_id, local in pending.items():
            wanted.setdefault(ap_id, int(local))
        failed: dict[str, int] = {}
        reads = BudgetedReads(THREAD_CONCURRENCY)

        async def one(ap_id: str, local: int) -> None:
            try:
                self._add_tree(await reads(partial(self._tree, api, local)), mapper, batch)
            except SourceError as error:
                if error.status != 404:
                    if error.status != 429:
                        result.warnings.append(f"comments of {ap_id}: {error}")
                    failed[ap_id] = local

        await asyncio.gather(*(one(ap_id, local) for ap_id, local in wanted.items()))
        reads.warn_left(result, len(failed))
        result.state["pending"] = failed

    async def _own_comments(
        self,
        ctx: SourceContext,
        api: _Api,
        comments: list[dict[str, Any]],
        mapper: _Mapper,
        batch: _Batch,
        result: SourceResult,
    ) -> None:
        """Our comments, with the post they are under and, for new replies, their parent."""
        lookups = 0
        for view in comments:
            comment = view["comment"]
            parent = parent_local_id(comment.get("path"))
            parent_ap: str | None = None
            new = str(comment["ap_id"]) not in ctx.known
            if parent is not None and new and lookups < PARENT_LOOKUPS:
                lookups += 1
                try:
                    data = await api.get("comment", id=parent)
                except SourceError as error:
                    result.warnings.append(f"parent of {comment['ap_id']}: {error}")
                    if error.status == 429:  # the budget is spent: no more lookups this sync
                        lookups = PARENT_LOOKUPS
                else:
                    found = _views([data.get("comment_view")], "comment")
                    if found:
                        parent_view = found[0]
                        parent_ap = str(parent_view["comment"]["ap_id"])
                        batch.add_mapped(
                            partial(mapper.comment, parent_view, None), parent_view["comment"]
                        )
            context = _dict(view.get("post"))
            ap_id = str(context.get("ap_id") or "")
            if new and ap_id and ap_id not in batch.posts and ap_id not in ctx.known:
                # the post we commented on, as context (its author is not in the view)
                context_view = {"post": context, "community": view.get("community")}
                batch.add_mapped(partial(mapper.post, context_view, {}), context)
            batch.add_mapped(partial(mapper.comment, view, parent_ap), comment)

    # --- the source ----------------------------------------------------------------------

    async def fetch(self, ctx: SourceContext) -> SourceResult:
        api, user = self._api(ctx)
        result = SourceResult(state=dict(ctx.state or {}))
        person, posts, comments = await self._profile(ctx, api, user)
        result.http_status = 200
        mapper = _Mapper(str(person["actor_id"]))
        result.title = as_text(person.get("display_name")) or as_text(person.get("name"))
        result.home_url = str(person["actor_id"])
        batch = _Batch(ctx.known)
        for view in posts:
            batch.add_mapped(partial(mapper.post, view), view["post"])
        await self._own_comments(ctx, api, comments, mapper, batch, result)
        if self.config.replies:
            await self._trees(ctx, api, posts, mapper, batch, result)
        batch.report(result)
        return result

    async def verify(self, ctx: SourceContext, posts: list[KnownPost]) -> SourceResult:
        """Posts and comments of the home instance by local id: 404, `deleted` or `removed`
        is gone. Items that live on other instances are left alone."""
        api, _ = self._api(ctx)
        _, home = parse_account(str(self.config.option("account", "")))
        hosts = {home, urlsplit(api.base).netloc.lower()}
        result = SourceResult(state=dict(ctx.state or {}))
        local_items = [
            (post, match)
            for post in posts
            if (match := _LOCAL_ID_RE.match(post.native_id))
            and urlsplit(post.native_id).netloc.lower() in hosts
        ]
        for number, (post, match) in enumerate(local_items):
            kind, local = match.groups()
            try:
                data = await api.get(kind, id=int(local))
            except SourceError as error:
                if error.status in (404, 410):
                    result.gone.append(Gone(PLATFORM, post.native_id, "not found"))
                elif error.status == 429:  # the budget is spent: the rest waits for next time
                    left = len(local_items) - number
                    result.warnings.append(
                        f"verify stopped, {left} post(s) left unchecked: {error}"
                    )
                    break
                else:
                    result.warnings.append(f"verify {post.native_id}: {error}")
                continue
            item = (data.get(f"{kind}_view") or {}).get(kind) or {}
            reason = _gone_reason(item)
            if reason:
                result.gone.append(Gone(PLATFORM, post.native_id, reason))
            else:
                result.seen_again.append((PLATFORM, post.native_id))
        return result
