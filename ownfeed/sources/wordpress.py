"""WordPress sites: the whole history through the REST API, the paged feed when it is closed.

Native ids are the ones the feed source and the WXR importer give: the post guid
(`guid.rendered`, e.g. `https://site/?p=37`) and `<post guid>#comment-<id>`, so a site
synced via REST, via its feed or imported from an export lands in the same rows.

REST: posts and pages (`per_page=100`, `X-WP-TotalPages`), later syncs only what changed
(`modified_after`, `modified_gmt` as the edit signal); every approved comment through the
site-wide `/wp/v2/comments` listing (threads from `parent`), re-reading the refresh window
so edits and deletions of recent comments are seen. When the API answers 401/403/404 or
`rest_disabled`, `wordpress_feed.FeedWalk` reads `/feed/?paged=N` and Atom comment feeds.
"""

from __future__ import annotations

import asyncio
import copy
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from html.parser import HTMLParser
from typing import Any, ClassVar
from urllib.parse import urlencode

from ownfeed.errors import FetchError, SourceError
from ownfeed.http import Response
from ownfeed.models import (
    Author,
    Gone,
    KnownPost,
    Media,
    Post,
    PostKind,
    SourceResult,
    html_to_text,
    parse_iso,
    to_utc,
    utcnow,
)
from ownfeed.sources.apiutil import (
    Skipped,
    absolute,
    as_count,
    as_text,
    json_list,
    json_object,
    link_header,
    mapper,
)
from ownfeed.sources.base import Source, SourceContext
from ownfeed.sources.feedparse import images_in_html
from ownfeed.sources.registry import SOURCE_KEYS, Keys
from ownfeed.sources.wordpress_feed import FeedWalk

PLATFORM = "web"
PER_PAGE = 100
API_REL = "https://api.w.org/"
CLOSED = (401, 403, 404, 410)
#: how often a site whose REST API was closed is asked again (one request)
REPROBE_DAYS = 7
# WordPress compares `after`/`modified_after` with local times: query a day wider.
_TZ_MARGIN = timedelta(days=1)
_EMBED = "author,wp:featuredmedia,wp:term"
_RAW_DROP = ("_links", "_embedded", "content", "excerpt", "yoast_head", "yoast_head_json")


class RestClosed(Exception):
    """The REST API refused us (closed, disabled, not there): use the feed instead."""


@dataclass(frozen=True)
class PostRef:
    """What a comment needs of its post: the guid (ids) and the permalink (URLs)."""

    guid: str
    link: str | None


def rest_url(root: str, route: str, params: Mapping[str, Any] | None = None) -> str:
    """`root` + route, for both root shapes: `/wp-json/` and `/?rest_route=/`."""
    query = {k: v for k, v in (params or {}).items() if v is not None}
    if "rest_route=" in root:
        base = root.split("?", 1)[0]
        return base + "?" + urlencode({"rest_route": "/" + route.strip("/"), **query})
    url = root.rstrip("/") + "/" + route.strip("/")
    return url + ("?" + urlencode(query) if query else "")


def _rest_error_code(response: Response) -> str | None:
    try:
        data = response.json()
    except SourceError:
        return None
    return str(data.get("code")) if isinstance(data, dict) and data.get("code") else None


def _gmt(value: Any) -> datetime | None:
    """`date_gmt` values carry no zone: they are UTC."""
    if not isinstance(value, str) or not value:
        return None
    try:
        return to_utc(datetime.fromisoformat(value.rstrip("Z")))
    except ValueError:
        return None


def _rendered(item: Mapping[str, Any], key: str) -> str | None:
    value = item.get(key)
    if isinstance(value, Mapping):
        value = value.get("rendered")
    return value.strip() or None if isinstance(value, str) else None


def _embedded(item: Mapping[str, Any], key: str) -> list[Any]:
    embedded = item.get("_embedded")
    found = embedded.get(key) if isinstance(embedded, dict) else None
    return found if isinstance(found, list) else []


def _post_author(item: Mapping[str, Any]) -> Author | None:
    """By name only, as the feed (dc:creator) and the WXR importer give it: same author id."""
    for author in _embedded(item, "author"):
        if isinstance(author, dict) and author.get("name"):
            return Author(PLATFORM, name=str(author["name"]))
    return None


def _terms(item: Mapping[str, Any]) -> tuple[str, ...]:
    names: list[str] = []
    for group in _embedded(item, "wp:term"):
        for term in group if isinstance(group, list) else ():
            name = html_to_text(term.get("name")) if isinstance(term, dict) else ""
            if name and name not in names:
                names.append(name)
    return tuple(names)


def _media(item: Mapping[str, Any], content: str | None, link: str) -> tuple[Media, ...]:
    found: list[Media] = []
    for media in _embedded(item, "wp:featuredmedia"):
        url = absolute(link, media.get("source_url")) if isinstance(media, dict) else None
        if url:
            details = media.get("media_details") or {}
            found.append(
                Media(
                    url=url,
                    kind="image" if media.get("media_type", "image") == "image" else "file",
                    mime=media.get("mime_type") or None,
                    alt=media.get("alt_text") or None,
                    width=details.get("width") if isinstance(details, dict) else None,
                    height=details.get("height") if isinstance(details, dict) else None,
                )
            )
    found += images_in_html(content, link)
    unique: dict[str, Media] = {}
    for media in found:
        unique.setdefault(media.url, media)
    return tuple(unique.values())


def _raw(item: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k not in _RAW_DROP}


@mapper("WordPress post")
def map_post(item: Mapping[str, Any]) -> Post | None:
    """A REST post or page as ours; None for password-protected ones (no content to keep)."""
    guid = _rendered(item, "guid") or item.get("link")
    content = item.get("content") or {}
    if not isinstance(guid, str) or (isinstance(content, dict) and content.get("protected")):
        return None
    link = str(item.get("link") or guid)
    content_html = _rendered(item, "content")
    return Post(
        platform=PLATFORM,
        native_id=guid,
        kind="post",
        is_own=True,
        url=link,
        title=html_to_text(_rendered(item, "title")) or None,
        content_html=content_html,
        author=_post_author(item),
        published_at=_gmt(item.get("date_gmt")),
        updated_at=_gmt(item.get("modified_gmt")),
        tags=_terms(item),
        media=_media(item, content_html, link),
        raw=_raw(item),
    )


@mapper("WordPress comment")
def map_comment(item: Mapping[str, Any], post: PostRef, parent: int) -> Post:
    """A REST comment as a reply by someone else; `parent` 0 hangs it under the post."""
    cid = item.get("id")
    name = str(item.get("author_name") or "").strip() or None
    url = absolute(post.link or "", item.get("author_url"))
    avatars = item.get("author_avatar_urls") or {}
    avatar = avatars.get("96") if isinstance(avatars, dict) else None
    kind: PostKind = "pingback" if item.get("type") in ("pingback", "trackback") else "reply"
    parent_url = None
    if post.link:
        parent_url = f"{post.link}#comment-{parent}" if parent else post.link
    return Post(
        platform=PLATFORM,
        native_id=f"{post.guid}#comment-{cid}",
        kind=kind,
        is_own=False,
        url=item.get("link") or (f"{post.link}#comment-{cid}" if post.link else None),
        content_html=_rendered(item, "content"),
        author=Author(PLATFORM, name=name, url=url, avatar_url=avatar) if name or url else None,
        published_at=_gmt(item.get("date_gmt")),
        in_reply_to=f"{post.guid}#comment-{parent}" if parent else post.guid,
        in_reply_to_url=parent_url,
        thread_root=post.guid,
        raw={k: v for k, v in _raw(item).items() if k != "author_avatar_urls"},
    )


class _ApiLinkParser(HTMLParser):
    """`<link rel="https://api.w.org/" href>` in a page's head."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.href: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k.lower(): (v or "").strip() for k, v in attrs}
        if tag == "link" and self.href is None and API_REL in values.get("rel", "").split():
            self.href = values.get("href") or None


def advertised_api(response: Response) -> str | None:
    """The REST root a WordPress page advertises (Link header, else `<link>`), if any."""
    found = link_header(response, API_REL)
    if found or not response.body:
        return found
    parser = _ApiLinkParser()
    parser.feed(response.text()[:200_000])
    parser.close()
    return absolute(response.url, parser.href)


def _local(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S")


class WordPressSource(Source):
    """A WordPress site by its root URL."""

    type = "wordpress"
    platform = PLATFORM
    keys: ClassVar[Keys] = SOURCE_KEYS["wordpress"]

    @property
    def url(self) -> str:
        return str(self.config.option("url")).strip()

    @property
    def site(self) -> str:
        """The site root with a trailing slash (URLs below it are joined to it)."""
        url = self.url if "://" in self.url else "https://" + self.url
        return url if url.endswith("/") else url + "/"

    # --- REST root -----------------------------------------------------------------------

    async def _probe(self, ctx: SourceContext, root: str, result: SourceResult) -> bool:
        """True when `root` is a REST index that serves `wp/v2`."""
        response = await ctx.http.get(root, accept=(*CLOSED, 400, 500))
        if response.status != 200:
            return False
        try:
            index = json_object(response, "REST index")
        except SourceError:
            return False
        namespaces = index.get("namespaces")
        if not isinstance(namespaces, list) or "wp/v2" not in namespaces:
            return False
        result.title = html_to_text(as_text(index.get("name"))) or None
        result.home_url = absolute(root, index.get("home")) or self.site
        return True

    async def _rest_root(
        self, ctx: SourceContext, state: dict[str, Any], result: SourceResult
    ) -> str | None:
        """The REST root to use, None for the feed; probes only when not known yet."""
        if state.get("mode") == "rest" and state.get("api") and not ctx.full:
            return str(state["api"])
        probed = _gmt(state.get("probed_at"))
        recent = probed is not None and ctx.now - probed < timedelta(days=REPROBE_DAYS)
        if state.get("mode") == "feed" and recent and not ctx.full:
            return None
        state["probed_at"] = _local(ctx.now)
        candidates = [str(self.config.option("api") or self.site + "wp-json/")]
        if await self._probe(ctx, candidates[0], result):
            return candidates[0]
        if not self.config.option("api"):
            try:
                page = await ctx.http.get(self.site, accept=(*CLOSED, 400, 500))
            except FetchError:
                return None
            advertised = advertised_api(page)
            if (
                advertised
                and advertised not in candidates
                and await self._probe(ctx, advertised, result)
            ):
                return advertised
        return None

    # --- REST listings -------------------------------------------------------------------

    async def _page(
        self, ctx: SourceContext, url: str, what: str
    ) -> tuple[list[dict[str, Any]], int]:
        response = await ctx.http.get(url, accept=(*CLOSED, 400))
        if response.status == 400 and _rest_error_code(response) == "rest_post_invalid_page_number":
            return [], 0
        if response.status in CLOSED or response.status == 400:
            code = _rest_error_code(response) or f"HTTP {response.status}"
            raise RestClosed(f"{what}: {code}")
        items = json_list(response, what)
        pages = response.headers.get("x-wp-totalpages", "")
        return items, int(pages) if pages.strip().isdigit() else (1 if len(items) < PER_PAGE else 0)

    async def _listing(
        self, ctx: SourceContext, root: str, route: str, params: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """Every page of a collection: page 1 tells the total, the rest are read at once."""
        params = {**params, "per_page": PER_PAGE}
        first, total = await self._page(ctx, rest_url(root, route, {**params, "page": 1}), route)
        if total == 0 and len(first) >= PER_PAGE:  # no X-WP-TotalPages: walk until short
            items, number = list(first), 1
            while True:
                number += 1
                more, _ = await self._page(
                    ctx, rest_url(root, route, {**params, "page": number}), route
                )
                items += more
                if len(more) < PER_PAGE:
                    return items
        done = 1

        async def one(number: int) -> list[dict[str, Any]]:
            nonlocal done
            found, _ = await self._page(
                ctx, rest_url(root, route, {**params, "page": number}), route
            )
            done += 1
            ctx.progress(done, total)
            return found

        rest = await asyncio.gather(*(one(n) for n in range(2, total + 1)))
        return first + [item for page in rest for item in page]

    async def _posts(
        self, ctx: SourceContext, root: str, route: str, state: dict[str, Any]
    ) -> list[dict[str, Any]]:
        """Posts (or pages) changed since the last sync, oldest change first."""
        marks = state.setdefault("modified_after", {})
        params: dict[str, Any] = {"orderby": "modified", "order": "asc", "_embed": _EMBED}
        if marks.get(route) and not ctx.full:
            params["modified_after"] = marks[route]
        items = await self._listing(ctx, root, route, params)
        stamps = [str(i["modified"]) for i in items if isinstance(i.get("modified"), str)]
        if stamps:
            marks[route] = max([*stamps, str(marks.get(route) or "")])
        return items

    async def _resolve_posts(
        self, ctx: SourceContext, root: str, ids: set[str], refs: dict[str, list[Any]]
    ) -> None:
        """Guid and link of posts that comments point at but this sync did not list."""
        for route in ("wp/v2/posts", "wp/v2/pages"):
            wanted = sorted((i for i in ids - set(refs) if i.isascii() and i.isdigit()), key=int)
            for start in range(0, len(wanted), PER_PAGE):
                chunk = wanted[start : start + PER_PAGE]
                params = {
                    "include": ",".join(chunk),
                    "per_page": PER_PAGE,
                    "_fields": "id,guid,link",
                }
                try:
                    found, _ = await self._page(ctx, rest_url(root, route, params), route)
                except RestClosed:
                    break
                for item in found:
                    guid = _rendered(item, "guid") or item.get("link")
                    if guid:
                        refs[str(item.get("id"))] = [guid, item.get("link")]

    def _comment_floor(self, ctx: SourceContext, state: dict[str, Any]) -> str | None:
        """Read comments from the newest one seen (or the refresh window, if older)."""
        newest = state.get("comments_newest")
        if ctx.full or not newest:
            return None
        window = ctx.now - timedelta(days=self.config.refresh_days)
        stamp = _gmt(str(newest))
        floor = min(stamp, window) if stamp else window
        return _local(floor - _TZ_MARGIN)

    async def _comments(
        self,
        ctx: SourceContext,
        root: str,
        state: dict[str, Any],
        result: SourceResult,
    ) -> None:
        """Approved comments since the floor, threaded; recent ones missing are gone."""
        floor = self._comment_floor(ctx, state)
        params = {"orderby": "date_gmt", "order": "asc", "after": floor}
        try:
            items = await self._listing(ctx, root, "wp/v2/comments", params)
        except (SourceError, RestClosed) as error:
            result.warnings.append(f"comments: {error}")
            return
        refs: dict[str, list[Any]] = state.setdefault("posts", {})
        missing = {str(c.get("post")) for c in items if str(c.get("post")) not in refs}
        if missing:
            await self._resolve_posts(ctx, root, missing, refs)
        listed = {str(c.get("id")) for c in items}
        skipped = 0
        malformed = Skipped()
        for item in items:
            ref = refs.get(str(item.get("post")))
            if not ref:
                skipped += 1
                continue
            post = PostRef(str(ref[0]), as_text(ref[1]))
            parent = as_count(item.get("parent")) or 0
            parent_native = f"{post.guid}#comment-{parent}"
            if parent and str(parent) not in listed and parent_native not in ctx.known:
                parent = 0  # its parent is not public: hang it under the post, as WordPress does
            if comment := malformed(partial(map_comment, item, post, parent)):
                result.posts.append(comment)
        malformed.report(result)
        if skipped:
            result.warnings.append(f"{skipped} comment(s) on posts the REST API does not list")
        dates = [str(c["date_gmt"]) for c in items if c.get("date_gmt")]
        if dates:
            state["comments_newest"] = max([*dates, str(state.get("comments_newest") or "")])
        if floor is not None:
            result.gone += self._vanished_comments(ctx, floor, {p.native_id for p in result.posts})

    def _vanished_comments(self, ctx: SourceContext, floor: str, listed: set[str]) -> list[Gone]:
        """Known comments surely inside the listed range that the listing no longer has."""
        start = (_gmt(floor) or utcnow()) + 2 * _TZ_MARGIN
        gone: list[Gone] = []
        for native_id, known in ctx.known.items():
            if "#comment-" not in native_id or native_id in listed or known.gone_at:
                continue
            published = parse_iso(known.published_at)
            if published and published >= start:
                gone.append(Gone(PLATFORM, native_id, "no longer listed (deleted or unapproved)"))
        return gone

    async def _fetch_rest(
        self, ctx: SourceContext, root: str, state: dict[str, Any], result: SourceResult
    ) -> None:
        routes = ["wp/v2/posts"] + (["wp/v2/pages"] if self.config.option("pages", True) else [])
        refs: dict[str, list[Any]] = state.setdefault("posts", {})
        malformed = Skipped()
        for route in routes:
            for item in await self._posts(ctx, root, route, state):
                post = malformed(partial(map_post, item))
                if post is not None:
                    result.posts.append(post)
                    refs[str(item.get("id"))] = [post.native_id, post.url]
        malformed.report(result)
        if self.config.comments:
            await self._comments(ctx, root, state, result)

    # --- the source ----------------------------------------------------------------------

    async def fetch(self, ctx: SourceContext) -> SourceResult:
        """REST when it answers, else the paged feed and Atom comment feeds."""
        state = copy.deepcopy(dict(ctx.state or {}))
        result = SourceResult(state=state, home_url=self.site)
        root = await self._rest_root(ctx, state, result)
        if root is not None:
            try:
                await self._fetch_rest(ctx, root, state, result)
            except RestClosed:
                root = None
                result.posts, result.gone = [], []
            else:
                state.update(mode="rest", api=root)
                result.http_status = 200
                result.title = result.title or state.get("title")
                if result.title:
                    state["title"] = result.title
                return result
        state.update(mode="feed")
        state.pop("api", None)
        await self._walk(ctx).fetch(state.setdefault("feed", {}), result)
        return result

    def _walk(self, ctx: SourceContext) -> FeedWalk:
        return FeedWalk(self.config, self.site, ctx)

    # --- verify --------------------------------------------------------------------------

    async def _live_ids(self, ctx: SourceContext, root: str) -> set[str] | None:
        """Every native id the REST API lists now (posts, pages, comments); None on failure."""
        live: set[str] = set()
        refs: dict[str, str] = {}
        try:
            for route in ("wp/v2/posts", "wp/v2/pages"):
                for item in await self._listing(ctx, root, route, {"_fields": "id,guid,link"}):
                    guid = _rendered(item, "guid") or item.get("link")
                    if isinstance(guid, str):
                        live.add(guid)
                        refs[str(item.get("id"))] = guid
            if self.config.comments:
                params = {"_fields": "id,post"}
                for item in await self._listing(ctx, root, "wp/v2/comments", params):
                    guid = refs.get(str(item.get("post")))
                    if guid:
                        live.add(f"{guid}#comment-{item.get('id')}")
        except (SourceError, RestClosed):
            return None
        return live

    async def verify(self, ctx: SourceContext, posts: list[KnownPost]) -> SourceResult:
        """REST: one sweep of ids, anything archived but no longer listed is gone.
        Feed: the post pages (404/410 = gone; their comments go with them)."""
        root = ctx.state.get("api") if ctx.state.get("mode") == "rest" else None
        live = await self._live_ids(ctx, str(root)) if root else None
        if live is None:
            return await self._walk(ctx).verify(posts)
        result = SourceResult(state=dict(ctx.state))
        for post in posts:
            if post.native_id in live:
                result.seen_again.append((PLATFORM, post.native_id))
            elif "#comment-" not in post.native_id or self.config.comments:
                result.gone.append(
                    Gone(PLATFORM, post.native_id, "no longer listed by the REST API")
                )
        return result
