"""Reddit users: their submissions and comments, and the replies to their submissions.

Public `.json` listings (`/user/<name>/submitted.json`, `/comments.json`, `after` paging,
newest first): a sync stops at the first page that reaches posts archived before and older
than the refresh window, so an unchanged account costs one request per listing. Thread
`.json` gives the replies (with `more` stubs filled from `/api/morechildren`). Requests
carry a descriptive User-Agent (Reddit throttles generic ones) and go through the
`X-Ratelimit-*` budget. `[deleted]`/`[removed]` marks a post gone and never overwrites
the content archived before.
"""

from __future__ import annotations

import asyncio
import html
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from typing import Any, ClassVar
from urllib.parse import quote, urlencode

from ownfeed import __version__
from ownfeed.errors import SourceError
from ownfeed.models import Author, Gone, KnownPost, Media, Post, SourceResult
from ownfeed.sources.apiutil import (
    Batch,
    BudgetedReads,
    base_url,
    can_stop_paging,
    mapper,
    needs_replies,
)
from ownfeed.sources.base import Source, SourceContext
from ownfeed.sources.ratelimit import DEFAULT_MAX_WAIT, RateLimiter
from ownfeed.sources.registry import SOURCE_KEYS, Keys

PLATFORM = "reddit"
WEB = "https://www.reddit.com"
PAGE_SIZE = 100
MORE_CALLS = 20  # /api/morechildren calls per thread and sync, at most
THREAD_CONCURRENCY = 2
_GONE_TEXTS = {"[deleted]": "deleted", "[removed]": "removed"}
_USER_RE = re.compile(
    r"^(?:https?://[^/]+)?/?(?:u|user)/([A-Za-z0-9_-]{3,20})/?|^([A-Za-z0-9_-]{3,20})$"
)
_RAW_KEYS = (
    "id",
    "name",
    "subreddit",
    "permalink",
    "url",
    "domain",
    "score",
    "num_comments",
    "edited",
    "over_18",
    "is_self",
    "link_flair_text",
    "author",
    "link_id",
    "parent_id",
    "link_title",
    "removed_by_category",
)


def parse_user(account: str) -> str:
    """`u/name`, `/user/name`, a profile URL or the bare name -> `name`."""
    match = _USER_RE.match(account.strip())
    if not match:
        raise SourceError(f"account {account!r} must look like u/name")
    return match.group(1) or match.group(2)


def _stamp(value: Any) -> datetime | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and value > 0:
        try:
            return datetime.fromtimestamp(value, UTC)
        except (OverflowError, OSError, ValueError):  # beyond the year 9999
            return None
    return None


def _dig(value: Any, *keys: str) -> Any:
    """`value[k1][k2]...` where each level is an object; None where one is not."""
    for key in keys:
        value = value.get(key) if isinstance(value, dict) else None
    return value


def _html(value: Any) -> str | None:
    """Reddit's `*_html` fields; without `raw_json=1` they arrive entity-escaped."""
    if not isinstance(value, str) or not value.strip():
        return None
    return html.unescape(value) if value.lstrip().startswith("&lt;") else value


def gone_reason(data: Mapping[str, Any]) -> str | None:
    """`deleted`/`removed` when Reddit shows a placeholder instead of the text."""
    text = data.get("body") if "body" in data else data.get("selftext")
    if isinstance(text, str) and text.strip() in _GONE_TEXTS:
        return _GONE_TEXTS[text.strip()]
    if data.get("removed_by_category"):
        return "removed"
    if "body" not in data and data.get("author") == "[deleted]":
        return "deleted"
    return None


def _media(data: Mapping[str, Any]) -> tuple[Media, ...]:
    found: list[Media] = []
    for image in (data.get("preview") or {}).get("images") or ():
        source = image.get("source") or {}
        if source.get("url"):
            found.append(
                Media(
                    html.unescape(source["url"]),
                    "image",
                    width=source.get("width"),
                    height=source.get("height"),
                )
            )
    for item in (data.get("media_metadata") or {}).values():
        best = item.get("s") if isinstance(item, dict) else None
        if isinstance(best, dict) and best.get("u"):
            found.append(
                Media(html.unescape(best["u"]), "image", width=best.get("x"), height=best.get("y"))
            )
    unique: dict[str, Media] = {}
    for media in found:
        unique.setdefault(media.url, media)
    return tuple(unique.values())


@dataclass
class _Mapper:
    """Things (t1/t3) to posts for one user."""

    user: str

    def author(self, name: Any) -> Author | None:
        if not isinstance(name, str) or not name or name == "[deleted]":
            return None
        return Author(PLATFORM, handle=f"u/{name}", name=name, url=f"{WEB}/user/{name}")

    def _common(self, data: Mapping[str, Any]) -> dict[str, Any]:
        permalink = data.get("permalink")
        return {
            "platform": PLATFORM,
            "native_id": str(data["name"]),
            "is_own": str(data.get("author", "")).lower() == self.user.lower(),
            "url": f"{WEB}{permalink}" if isinstance(permalink, str) else None,
            "author": self.author(data.get("author")),
            "published_at": _stamp(data.get("created_utc")),
            "updated_at": _stamp(data.get("edited")),
            "like_count": data.get("score") if isinstance(data.get("score"), int) else None,
            "raw": {k: data[k] for k in _RAW_KEYS if k in data},
        }

    @mapper("Reddit submission")
    def submission(self, data: Mapping[str, Any]) -> Post:
        body = _html(data.get("selftext_html"))
        link = data.get("url_overridden_by_dest") or (
            None if data.get("is_self") else data.get("url")
        )
        if isinstance(link, str) and link.startswith(("http://", "https://")):
            anchor = html.escape(link, quote=True)
            body = f'<p><a href="{anchor}">{html.escape(link)}</a></p>' + (body or "")
        subreddit = data.get("subreddit_name_prefixed")
        return Post(
            **self._common(data),
            kind="post",
            title=html.unescape(str(data.get("title") or "")) or None,
            content_html=body,
            tags=(subreddit,) if isinstance(subreddit, str) else (),
            media=_media(data),
            reply_count=data.get("num_comments")
            if isinstance(data.get("num_comments"), int)
            else None,
        )

    @mapper("Reddit comment")
    def comment(self, data: Mapping[str, Any]) -> Post:
        return Post(
            **self._common(data),
            kind="reply",
            content_html=_html(data.get("body_html")),
            content_text=data.get("body") if isinstance(data.get("body"), str) else None,
            in_reply_to=data.get("parent_id") or None,
            thread_root=data.get("link_id") or None,
        )

    def thing(self, kind: str, data: Mapping[str, Any]) -> Post:
        return self.submission(data) if kind == "t3" else self.comment(data)


@dataclass
class _Batch(Batch):
    """The run's posts and gone markers; a deleted submission's placeholder keeps its title."""

    placeholder_keeps: tuple[str, ...] = ("title", "raw")

    def add_thing(self, mapper: _Mapper, kind: str, data: Mapping[str, Any]) -> None:
        """Add a thing (`t1` comment, `t3` submission); a malformed one is skipped (counted)."""
        if not data.get("name"):
            return
        post = self.skipped(partial(mapper.thing, kind, data))
        if post is not None:
            self.add(post, gone_reason(data))


class _Api:
    """GETs to Reddit with our User-Agent, through the rate-limit budget; clear errors."""

    def __init__(self, limiter: RateLimiter, base: str, agent: str, user: str) -> None:
        self.limiter = limiter
        self.base = base
        self.headers = {"User-Agent": agent, "Accept": "application/json"}
        self.user = user

    async def get(self, path: str, params: Mapping[str, Any], what: str) -> Any:
        query = urlencode({**params, "raw_json": 1})
        response = await self.limiter.get(
            f"{self.base}{path}?{query}", headers=self.headers, accept=(403, 404)
        )
        if response.status == 404:
            raise SourceError(f"{what}: not found (HTTP 404)", status=404)
        if response.status == 403:
            raise SourceError(
                f"{what}: Reddit refused access (HTTP 403): the account is suspended or "
                "private, or Reddit blocks unauthenticated requests from this network",
                status=403,
            )
        return response.json()


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _children(listing: Any) -> list[tuple[str, dict[str, Any]]]:
    if not isinstance(listing, dict) or not isinstance(listing.get("data"), dict):
        return []
    things = _list(listing["data"].get("children"))
    return [
        (str(t.get("kind")), t["data"])
        for t in things
        if isinstance(t, dict) and isinstance(t.get("data"), dict)
    ]


class RedditSource(Source):
    """A Reddit user's public submissions and comments."""

    type = "reddit"
    platform = PLATFORM
    keys: ClassVar[Keys] = SOURCE_KEYS["reddit"]
    #: seconds a sync may sleep for a rate limit to reset (tests lower it)
    max_rate_wait: float = DEFAULT_MAX_WAIT

    @property
    def user(self) -> str:
        return parse_user(str(self.config.option("account", "")))

    def _api(self, ctx: SourceContext) -> _Api:
        agent = self.config.option("user_agent") or (
            f"python:ownfeed:{__version__} (archiving u/{self.user}; "
            "+https://github.com/ownfeed/ownfeed)"
        )
        base = base_url(self.config.option("api_base"), WEB, "api_base")
        return _Api(RateLimiter(ctx.http, max_wait=self.max_rate_wait), base, str(agent), self.user)

    # --- listings ------------------------------------------------------------------------

    def _stop(self, ctx: SourceContext, page: list[tuple[str, dict[str, Any]]]) -> bool:
        """True after an empty page, or one whose oldest thing ends the walk (`can_stop_paging`)."""
        if not page:
            return True
        oldest = page[-1][1]
        created = _stamp(oldest.get("created_utc"))
        return can_stop_paging(ctx, str(oldest.get("name")), created, self.config.refresh_days)

    async def _listing(
        self, ctx: SourceContext, api: _Api, what: str
    ) -> list[tuple[str, dict[str, Any]]]:
        path = f"/user/{quote(api.user)}/{what}.json"
        things: list[tuple[str, dict[str, Any]]] = []
        after: str | None = None
        seen: set[str] = set()
        while True:
            params = {"limit": PAGE_SIZE, "sort": "new", **({"after": after} if after else {})}
            try:
                data = await api.get(path, params, f"u/{api.user} {what}")
            except SourceError as error:
                if error.status == 404:
                    raise SourceError(
                        f"Reddit user u/{api.user} not found (HTTP 404)", status=404
                    ) from None
                raise
            page = [(k, d) for k, d in _children(data) if k in ("t1", "t3")]
            things += page
            after = _dig(data, "data", "after")
            ctx.progress(len(things), None)
            if not isinstance(after, str) or not after or after in seen or self._stop(ctx, page):
                return things  # the last page, or a server repeating itself
            seen.add(after)

    # --- threads -------------------------------------------------------------------------

    async def _more(
        self, api: _Api, link_id: str, stubs: list[dict[str, Any]], batch: _Batch, mapper: _Mapper
    ) -> int:
        """Fill `more` stubs through /api/morechildren (100 ids a call); returns calls made."""
        ids = [str(c) for stub in stubs for c in _list(stub.get("children")) if c]
        calls = 0
        while ids and calls < MORE_CALLS:
            chunk, ids = ids[:100], ids[100:]
            params = {"api_type": "json", "link_id": link_id, "children": ",".join(chunk)}
            data = await api.get("/api/morechildren.json", params, f"replies of {link_id}")
            calls += 1
            for thing in _list(_dig(data, "json", "data", "things")):
                kind, item = _dig(thing, "kind"), _dig(thing, "data")
                if kind == "t1" and isinstance(item, dict):
                    batch.add_thing(mapper, "t1", item)
                elif kind == "more":
                    ids += [str(c) for c in _list(_dig(item, "children")) if c]
        return calls

    def _walk(
        self, listing: Any, batch: _Batch, mapper: _Mapper, stubs: list[dict[str, Any]]
    ) -> None:
        for kind, data in _children(listing):
            if kind == "more":
                stubs.append(data)
                continue
            batch.add_thing(mapper, kind, data)
            if isinstance(data.get("replies"), dict):
                self._walk(data["replies"], batch, mapper, stubs)

    async def _thread(
        self, api: _Api, submission: Mapping[str, Any], batch: _Batch, mapper: _Mapper
    ) -> None:
        permalink = str(submission.get("permalink") or "").rstrip("/")
        if not permalink.startswith("/") or permalink.startswith("//"):
            # upstream's text goes after our base URL: it must stay a path on that host
            raise SourceError(f"thread: not a Reddit permalink: {permalink[:80]!r}")
        path = quote(permalink, safe="/%-._~")  # no `?` or `#` of its own
        data = await api.get(f"{path}.json", {"limit": 500, "sort": "old"}, "thread")
        if not isinstance(data, list) or len(data) < 2:
            raise SourceError("thread: expected [post, comments] listings")
        stubs: list[dict[str, Any]] = []
        self._walk(data[1], batch, mapper, stubs)
        if stubs:
            await self._more(api, str(submission["name"]), stubs, batch, mapper)

    async def _threads(
        self,
        ctx: SourceContext,
        api: _Api,
        submissions: list[dict[str, Any]],
        batch: _Batch,
        mapper: _Mapper,
        result: SourceResult,
    ) -> None:
        pending = dict(ctx.state.get("pending") or {})
        wanted = {
            str(s["name"]): s
            for s in submissions
            if needs_replies(
                ctx,
                str(s["name"]),
                count=s.get("num_comments"),
                published=_stamp(s.get("created_utc")),
                refresh_days=self.config.refresh_days,
                pending=pending,
            )
        }
        for name, permalink in pending.items():
            wanted.setdefault(name, {"name": name, "permalink": permalink})
        failed: dict[str, str] = {}
        reads = BudgetedReads(THREAD_CONCURRENCY)

        async def one(name: str, submission: dict[str, Any]) -> None:
            try:
                await reads(partial(self._thread, api, submission, batch, mapper))
            except SourceError as error:
                if error.status not in (404, 429):
                    result.warnings.append(f"thread {name}: {error}")
                if error.status != 404:
                    failed[name] = str(submission.get("permalink"))

        await asyncio.gather(*(one(name, s) for name, s in wanted.items()))
        reads.warn_left(result, len(failed))
        result.state["pending"] = failed

    # --- the source ----------------------------------------------------------------------

    async def fetch(self, ctx: SourceContext) -> SourceResult:
        api = self._api(ctx)
        mapper = _Mapper(api.user)
        result = SourceResult(state=dict(ctx.state or {}), home_url=f"{WEB}/user/{api.user}")
        result.title = f"u/{api.user}"
        submitted = await self._listing(ctx, api, "submitted")
        comments = await self._listing(ctx, api, "comments")
        result.http_status = 200
        batch = _Batch(ctx.known)
        for kind, data in [*submitted, *comments]:
            batch.add_thing(mapper, kind, data)
        if self.config.replies:
            own = [d for k, d in submitted if k == "t3" and d.get("permalink") and d.get("name")]
            await self._threads(ctx, api, own, batch, mapper, result)
        batch.report(result)
        return result

    async def verify(self, ctx: SourceContext, posts: list[KnownPost]) -> SourceResult:
        """`/api/info.json` for 100 things a call: missing or `[deleted]`/`[removed]` is gone;
        the others may bring edits."""
        api = self._api(ctx)
        mapper = _Mapper(api.user)
        result = SourceResult(state=dict(ctx.state or {}))
        batch = _Batch(ctx.known)
        names = [p.native_id for p in posts if p.native_id.startswith(("t1_", "t3_"))]
        for start in range(0, len(names), 100):
            chunk = names[start : start + 100]
            try:
                data = await api.get("/api/info.json", {"id": ",".join(chunk)}, "verify")
            except SourceError as error:
                result.warnings.append(f"verify: {error}")
                continue
            found = {str(d.get("name")): (k, d) for k, d in _children(data)}
            for name in chunk:
                if name not in found:
                    result.gone.append(Gone(PLATFORM, name, "not found"))
                    continue
                kind, item = found[name]
                batch.add_thing(mapper, kind, item)
                if name not in batch.gone:
                    result.seen_again.append((PLATFORM, name))
        result.posts = list(batch.posts.values())
        result.gone += list(batch.gone.values())
        return result
