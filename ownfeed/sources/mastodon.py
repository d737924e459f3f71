"""Mastodon accounts through the REST API: our statuses and the conversations around them.

One sync reads the account's statuses newest first and stops at the first page that
reaches both the newest status archived before and the end of the refresh window, so an
unchanged account costs one timeline request. Threads (`/context`) are read for new
statuses, for statuses whose `replies_count` changed, and for statuses in the refresh
window that have replies (a reply deep in a thread does not change our post's count).
Content warnings become the post's `title`; the whole status JSON is kept in `raw`.
"""

from __future__ import annotations

import asyncio
import mimetypes
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from functools import partial
from typing import Any, ClassVar
from urllib.parse import quote, urlsplit

from ownfeed.errors import SourceError
from ownfeed.http import Response
from ownfeed.models import (
    Author,
    Gone,
    KnownPost,
    Media,
    MediaKind,
    Post,
    PostKind,
    SourceResult,
    parse_iso,
)
from ownfeed.sources.apiutil import (
    BudgetedReads,
    Skipped,
    as_text,
    base_url,
    env_secret,
    json_list,
    link_header,
    mapper,
)
from ownfeed.sources.base import Source, SourceContext
from ownfeed.sources.ratelimit import DEFAULT_MAX_WAIT, RateLimiter
from ownfeed.sources.registry import SOURCE_KEYS, Keys

PLATFORM = "mastodon"
PAGE_SIZE = 40  # the API's maximum for account statuses
THREAD_CONCURRENCY = 4  # threads read at once per source: polite to a 300 req / 5 min budget
ANONYMOUS_DESCENDANTS = 60  # what an instance shows of a thread without a token

_ACCOUNT_RE = re.compile(r"^@?([A-Za-z0-9_][A-Za-z0-9_.-]*)@([A-Za-z0-9.-]+(?::\d+)?)$")
_STATUS_URI_RE = re.compile(r"^(https?://[^/]+)/users/[^/]+/statuses/([^/?#]+)(?:/activity)?$")
_MEDIA_KINDS: dict[str, MediaKind] = {
    "image": "image",
    "gifv": "video",
    "video": "video",
    "audio": "audio",
}


def parse_account(account: str) -> tuple[str, str]:
    """`@user@host` -> (user, host); a SourceError names the expected shape otherwise."""
    match = _ACCOUNT_RE.match(account.strip())
    if not match:
        raise SourceError(f"account {account!r} must look like @user@host")
    return match.group(1), match.group(2).lower()


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return (parts.scheme.lower(), parts.netloc.lower())


def _id_key(status_id: str) -> tuple[int, str]:
    """Order ids: numeric snowflakes by value, ULIDs (same length) by text."""
    return (len(status_id), status_id)


def _usable(item: Any) -> bool:
    """A status with the id and URI everything else hangs on (others are left out)."""
    return (
        isinstance(item, dict)
        and isinstance(item.get("uri"), str)
        and bool(item["uri"])
        and isinstance(item.get("id"), str | int)
        and not isinstance(item["id"], bool)
    )


def _json_list(response: Response, what: str) -> list[dict[str, Any]]:
    """The statuses of a JSON list that have what everything else hangs on (`_usable`)."""
    return [item for item in json_list(response, what) if _usable(item)]


def _json_object(response: Response, what: str) -> dict[str, Any]:
    data = response.json()
    if not isinstance(data, dict):
        raise SourceError(f"{what}: expected a JSON object, got {type(data).__name__}")
    return data


def _mime(url: str) -> str | None:
    return mimetypes.guess_type(urlsplit(url).path)[0]


def _media(attachments: Iterable[Any]) -> tuple[Media, ...]:
    """Attachments with their alt text (`description`) and original size."""
    found: list[Media] = []
    for item in attachments:
        if not isinstance(item, dict) or not item.get("url"):
            continue
        meta = item.get("meta")
        original = (meta.get("original") if isinstance(meta, dict) else None) or {}
        found.append(
            Media(
                url=item["url"],
                kind=_MEDIA_KINDS.get(item.get("type") or "", "file"),
                mime=_mime(item["url"]),
                alt=item.get("description") or None,
                width=original.get("width") if isinstance(original, dict) else None,
                height=original.get("height") if isinstance(original, dict) else None,
            )
        )
    return tuple(found)


@dataclass
class _Thread:
    """A status's `/context`: everything above and below it."""

    ancestors: list[dict[str, Any]]
    descendants: list[dict[str, Any]]


@dataclass
class _Mapper:
    """Turns statuses into Posts for one account: knows who "we" are and the local domain."""

    own_id: str | None
    own_handle: str
    local_domain: str

    def author(self, account: Mapping[str, Any]) -> Author:
        acct = str(account.get("acct") or account.get("username") or "")
        handle = f"@{acct}" if "@" in acct else f"@{acct}@{self.local_domain}"
        if self.own_id is not None and account.get("id") == self.own_id:
            handle = self.own_handle
        return Author(
            PLATFORM,
            handle=handle,
            name=account.get("display_name") or account.get("username") or None,
            url=account.get("url") or None,
            avatar_url=account.get("avatar") or None,
        )

    def is_own(self, status: Mapping[str, Any]) -> bool:
        account = status.get("account") or {}
        if self.own_id is not None:
            return bool(account.get("id") == self.own_id)
        return self.author(account).handle == self.own_handle

    @mapper("Mastodon status")
    def post(
        self,
        status: Mapping[str, Any],
        parents: Mapping[str, str] | None = None,
        root: str | None = None,
    ) -> Post:
        """One status; `parents` maps local ids to URIs so `in_reply_to` can be a URI."""
        reblog = status.get("reblog")
        kind: PostKind = "repost" if reblog else "reply" if status.get("in_reply_to_id") else "post"
        parent_id = status.get("in_reply_to_id")
        in_reply_to = (parents or {}).get(str(parent_id)) if parent_id else None
        return Post(
            platform=PLATFORM,
            native_id=status["uri"],
            kind=kind,
            is_own=self.is_own(status),
            url=status.get("url") or (reblog or {}).get("url") or status["uri"],
            title=(status.get("spoiler_text") or None) if not reblog else None,
            content_html=(status.get("content") or None) if not reblog else None,
            language=status.get("language") or None,
            author=self.author(status.get("account") or {}),
            published_at=parse_iso(status.get("created_at")),
            updated_at=parse_iso(status.get("edited_at")),
            in_reply_to=in_reply_to,
            repost_of=reblog.get("uri") if isinstance(reblog, dict) else None,
            thread_root=root,
            tags=tuple(
                t["name"] for t in status.get("tags") or () if isinstance(t, dict) and t.get("name")
            ),
            media=_media(status.get("media_attachments") or ()),
            reply_count=status.get("replies_count"),
            like_count=status.get("favourites_count"),
            repost_count=status.get("reblogs_count"),
            raw=dict(status),
        )


@dataclass
class _Posts:
    """Posts by native id: a delivery that knows the parent beats one that does not."""

    items: dict[str, Post] = field(default_factory=dict)
    skipped: Skipped = field(default_factory=Skipped)

    def map(self, make: Callable[[], Post]) -> None:
        """Add what `make` maps; a malformed status is skipped (and counted)."""
        post = self.skipped(make)
        if post is not None:
            self.add(post)

    def add(self, post: Post) -> None:
        known = self.items.get(post.native_id)
        if known is not None and known.in_reply_to and not post.in_reply_to:
            return
        self.items[post.native_id] = post

    def values(self) -> list[Post]:
        return list(self.items.values())


class _Api:
    """The instance's REST API: base URL, token (if any), rate limits, error wording."""

    def __init__(self, limiter: RateLimiter, base: str, token: str | None) -> None:
        self.limiter = limiter
        self.base = base
        self.token = token
        self._token_origin = _origin(base)

    def url(self, path: str) -> str:
        return self.base + path

    def headers_for(self, url: str) -> dict[str, str]:
        """The token goes to the configured instance only, never to other hosts."""
        if self.token and _origin(url) == self._token_origin:
            return {"Authorization": f"Bearer {self.token}"}
        return {}

    async def get(self, url: str, accept: Iterable[int] = ()) -> Response:
        return await self.limiter.get(url, headers=self.headers_for(url), accept=accept)

    async def get_found(self, url: str) -> Response | None:
        """GET a resource of our account: None when the instance says it is not there
        (404/410); a refusal (401/403) is the clear error `auth_error` words."""
        response = await self.get(url, accept=(401, 403, 404, 410))
        if response.status in (401, 403):
            raise self.auth_error(response.status)
        return None if response.status in (404, 410) else response

    def auth_error(self, status: int) -> SourceError:
        hint = "the token was refused" if self.token else "set token_env to use an access token"
        return SourceError(
            f"instance requires authentication (HTTP {status}); {hint}", status=status
        )


class MastodonSource(Source):
    """A Mastodon (or Mastodon-API compatible) account on its home instance."""

    type = "mastodon"
    platform = PLATFORM
    keys: ClassVar[Keys] = SOURCE_KEYS["mastodon"]
    #: seconds a sync may sleep for a rate limit to reset (tests lower it)
    max_rate_wait: float = DEFAULT_MAX_WAIT

    # --- configuration -------------------------------------------------------------------

    @property
    def handle(self) -> str:
        user, host = parse_account(str(self.config.option("account", "")))
        return f"@{user}@{host}"

    def instance(self) -> str:
        """The API base URL: `instance` from the config, else https:// the handle's host."""
        configured = self.config.option("instance")
        if configured:
            return base_url(configured, "", "instance")
        return f"https://{parse_account(str(self.config.option('account', '')))[1]}"

    def token(self) -> str | None:
        """The access token from the environment variable `token_env` names, read now."""
        return env_secret(self.config.option("token_env"), "token_env")

    def _api(self, ctx: SourceContext) -> _Api:
        limiter = RateLimiter(ctx.http, max_wait=self.max_rate_wait)
        return _Api(limiter, self.instance(), self.token())

    def _mapper(self, own_id: str | None) -> _Mapper:
        return _Mapper(own_id, self.handle, self.handle.rsplit("@", 1)[1])

    # --- account -------------------------------------------------------------------------

    def _lookup_acct(self, api: _Api) -> str:
        """`user` on the handle's own instance, `user@host` anywhere else."""
        user, host = parse_account(self.handle)
        return user if urlsplit(api.base).netloc.lower() == host else f"{user}@{host}"

    async def _lookup(self, api: _Api) -> dict[str, Any] | None:
        """`/api/v1/accounts/lookup`; None when the instance does not know the account."""
        url = api.url(f"/api/v1/accounts/lookup?acct={quote(self._lookup_acct(api), safe='@:')}")
        response = await api.get_found(url)
        if response is None:
            return None
        account = _json_object(response, "account lookup")
        return account if account.get("id") else None

    async def _webfinger_instance(self, api: _Api) -> str | None:
        """Where WebFinger on the handle's domain says the account lives, if elsewhere."""
        user, host = parse_account(self.handle)
        scheme = urlsplit(api.base).scheme if urlsplit(api.base).netloc == host else "https"
        url = f"{scheme}://{host}/.well-known/webfinger?resource=acct:{user}@{host}"
        response = await api.get(url, accept=(400, 404, 410))
        if response.status != 200:
            return None
        links = _json_object(response, "webfinger").get("links")
        for link in links if isinstance(links, list) else ():
            if isinstance(link, dict) and link.get("rel") == "self" and link.get("href"):
                parts = urlsplit(str(link["href"]))
                base = f"{parts.scheme}://{parts.netloc}"
                if parts.scheme in ("http", "https") and base != api.base:
                    return base
        return None

    async def _resolve(self, api: _Api) -> dict[str, Any]:
        """The account on its instance, falling back to WebFinger for a delegated domain."""
        account = await self._lookup(api)
        if account is None:
            elsewhere = await self._webfinger_instance(api)
            if elsewhere:
                api.base = elsewhere
                account = await self._lookup(api)
        if account is None:
            raise SourceError(f"account {self.handle} not found")
        return account

    def _state_key(self, api: _Api) -> str:
        return f"{self.handle} {api.base}"

    async def _account_id(self, api: _Api, state: dict[str, Any], fresh: bool = False) -> str:
        """The account's id, remembered in state so a quiet re-sync skips the lookup."""
        key = self._state_key(api)
        cached = state.get("account_id")
        if not fresh and state.get("account_key") == key and isinstance(cached, str) and cached:
            api.base = str(state.get("api_base") or api.base)
            return cached
        account = await self._resolve(api)
        state.update(account_key=key, account_id=str(account["id"]), api_base=api.base)
        return str(account["id"])

    # --- timeline ------------------------------------------------------------------------

    def _stop_reached(self, page: list[dict[str, Any]], stop_id: str, since: Any) -> bool:
        """True when the page's oldest status is archived already and outside the window."""
        oldest = page[-1]
        created = parse_iso(oldest.get("created_at"))
        old_enough = created is None or created < since
        return _id_key(str(oldest.get("id"))) <= _id_key(stop_id) and old_enough

    async def _timeline_pages(
        self, api: _Api, account_id: str, ctx: SourceContext
    ) -> list[dict[str, Any]] | None:
        """Our statuses, newest first, as far back as this sync needs; None on 404."""
        stop_id = None if ctx.full else ctx.state.get("newest_id")
        since = ctx.now - timedelta(days=self.config.refresh_days)
        url: str | None = api.url(f"/api/v1/accounts/{account_id}/statuses?limit={PAGE_SIZE}")
        statuses: list[dict[str, Any]] = []
        while url:
            response = await api.get_found(url)
            if response is None:
                return None
            page = _json_list(response, "account statuses")
            statuses.extend(page)
            if not page or (stop_id and self._stop_reached(page, str(stop_id), since)):
                break
            url = link_header(response, "next")  # older statuses
            if url is None and len(page) >= PAGE_SIZE:
                url = api.url(
                    f"/api/v1/accounts/{account_id}/statuses?limit={PAGE_SIZE}"
                    f"&max_id={quote(str(page[-1]['id']))}"
                )
        return statuses

    # --- threads -------------------------------------------------------------------------

    def _needs_thread(self, status: dict[str, Any], ctx: SourceContext) -> bool:
        """New, changed reply count, or recent with replies; replies need their parents."""
        if status.get("reblog"):
            return False
        count = status.get("replies_count") or 0
        is_reply = bool(status.get("in_reply_to_id"))
        if not self.config.replies:
            count = 0
        if count == 0 and not is_reply:
            return False
        known = ctx.known.get(status["uri"])
        if ctx.full or known is None:
            return True
        if count and known.reply_count != status.get("replies_count"):
            return True
        return bool(count) and ctx.in_refresh_window(
            status.get("created_at"), self.config.refresh_days
        )

    async def _thread(self, api: _Api, local_id: str) -> _Thread:
        url = api.url(f"/api/v1/statuses/{quote(local_id)}/context")
        data = _json_object(await api.get(url), "status context")
        ancestors, descendants = data.get("ancestors"), data.get("descendants")
        return _Thread(
            [s for s in ancestors if _usable(s)] if isinstance(ancestors, list) else [],
            [s for s in descendants if _usable(s)] if isinstance(descendants, list) else [],
        )

    def _thread_targets(
        self, statuses: list[dict[str, Any]], ctx: SourceContext
    ) -> list[tuple[str, str]]:
        """(local id, URI) of the threads to read: those that need it, and those an earlier
        sync could not read (kept in state, as their statuses may be off the pages read)."""
        targets = {str(s["id"]): str(s["uri"]) for s in statuses if self._needs_thread(s, ctx)}
        pending = ctx.state.get("pending_threads")
        if isinstance(pending, dict):
            for local_id, uri in pending.items():
                targets.setdefault(str(local_id), str(uri))
        return list(targets.items())

    async def _threads(
        self, api: _Api, targets: list[tuple[str, str]], ctx: SourceContext, result: SourceResult
    ) -> tuple[dict[str, _Thread], dict[str, str]]:
        """Read threads; a failure is a warning and is retried next sync, never fatal.

        After a 429 the remaining threads are left for the next sync at once: the budget
        is spent, and the posts already fetched should still be archived now.
        """
        threads: dict[str, _Thread] = {}
        failed: dict[str, str] = {}
        reads = BudgetedReads(THREAD_CONCURRENCY)

        async def one(local_id: str, uri: str) -> None:
            try:
                threads[uri] = await reads(partial(self._thread, api, local_id))
            except SourceError as error:
                if error.status != 429:
                    result.warnings.append(f"thread {uri}: {error}")
                if error.status not in (404, 410):  # gone: --verify will say so
                    failed[local_id] = uri
            ctx.progress(len(threads) + len(failed), len(targets))

        await asyncio.gather(*(one(local_id, uri) for local_id, uri in targets))
        reads.warn_left(result, len(failed))
        self._warn_truncated(api, threads, result)
        return threads, failed

    def _warn_truncated(
        self, api: _Api, threads: Mapping[str, _Thread], result: SourceResult
    ) -> None:
        if api.token:
            return
        cut = [uri for uri, t in threads.items() if len(t.descendants) >= ANONYMOUS_DESCENDANTS]
        if cut:
            result.warnings.append(
                f"{len(cut)} thread(s) may be cut at {ANONYMOUS_DESCENDANTS} replies "
                "without a token (set token_env)"
            )

    # --- mapping -------------------------------------------------------------------------

    def _with_thread(
        self,
        mapper: _Mapper,
        anchor: tuple[str, str],
        thread: _Thread,
        posts: _Posts,
        status: dict[str, Any] | None = None,
    ) -> None:
        """A thread's ancestors (context), the status itself if given, and its replies,
        linked by URI; `anchor` is the (local id, URI) the thread was read for."""
        everyone = [*thread.ancestors, *thread.descendants]
        parents = {str(s["id"]): str(s["uri"]) for s in everyone if s.get("id")}
        parents[anchor[0]] = anchor[1]
        root = str(thread.ancestors[0]["uri"]) if thread.ancestors else anchor[1]
        for item in thread.ancestors:
            posts.map(partial(mapper.post, item, parents, root))
        if status is not None:
            posts.map(partial(mapper.post, status, parents, root))
        for item in thread.descendants if self.config.replies else ():
            posts.map(partial(mapper.post, item, parents, root))

    def _collect(
        self,
        mapper: _Mapper,
        statuses: list[dict[str, Any]],
        threads: Mapping[str, _Thread],
        pending: Iterable[tuple[str, str]],
        skipped: Skipped | None = None,
    ) -> list[Post]:
        """Every status read, with its thread where one was read, boosted statuses as
        context, and the threads retried for statuses not on the pages read. Malformed
        statuses are left out (counted in `skipped`)."""
        posts = _Posts(skipped=skipped or Skipped())
        for status in statuses:
            anchor = (str(status["id"]), str(status["uri"]))
            thread = threads.get(anchor[1])
            if thread is not None:
                self._with_thread(mapper, anchor, thread, posts, status)
            else:
                posts.map(partial(mapper.post, status))
            reblog = status.get("reblog")
            if isinstance(reblog, dict) and reblog.get("uri"):
                posts.map(partial(mapper.post, reblog))
        listed = {str(s["uri"]) for s in statuses}
        for local_id, uri in pending:
            if uri in threads and uri not in listed:
                self._with_thread(mapper, (local_id, uri), threads[uri], posts)
        return posts.values()

    # --- the source ----------------------------------------------------------------------

    async def _statuses(
        self, api: _Api, ctx: SourceContext, state: dict[str, Any]
    ) -> tuple[str, list[dict[str, Any]]]:
        """Account id and timeline; a stale cached id is looked up again once."""
        account_id = await self._account_id(api, state)
        statuses = await self._timeline_pages(api, account_id, ctx)
        if statuses is None:
            api.base = self.instance()
            account_id = await self._account_id(api, state, fresh=True)
            statuses = await self._timeline_pages(api, account_id, ctx)
        if statuses is None:
            raise SourceError(f"account {self.handle} not found")
        return account_id, statuses

    async def fetch(self, ctx: SourceContext) -> SourceResult:
        """Our statuses since the last sync and the refresh window, with their threads."""
        api = self._api(ctx)
        result = SourceResult(state=dict(ctx.state))
        account_id, statuses = await self._statuses(api, ctx, result.state)
        targets = self._thread_targets(statuses, ctx)
        threads, failed = await self._threads(api, targets, ctx, result)
        mapper = self._mapper(account_id)
        skipped = Skipped()
        result.posts = self._collect(mapper, statuses, threads, targets, skipped)
        skipped.report(result)
        result.state.pop("pending_threads", None)
        if failed:
            result.state["pending_threads"] = failed
        self._describe(result, statuses, account_id)
        ids = [str(s["id"]) for s in statuses if s.get("id")]
        if ids:
            newest = max([*ids, str(ctx.state.get("newest_id") or "")], key=_id_key)
            result.state["newest_id"] = newest
        return result

    def _describe(self, result: SourceResult, statuses: list[dict[str, Any]], own_id: str) -> None:
        """Title and home page of the source, from our own account as the statuses show it."""
        for status in statuses:
            account = status.get("account")
            if isinstance(account, dict) and account.get("id") == own_id:
                result.title = as_text(account.get("display_name")) or as_text(
                    account.get("username")
                )
                result.home_url = as_text(account.get("url"))
                return

    # --- verify --------------------------------------------------------------------------

    def _status_url(self, api: _Api, native_id: str) -> str | None:
        """The API URL of a status from its URI (Mastodon and GoToSocial URI shape)."""
        match = _STATUS_URI_RE.match(native_id)
        if not match:
            return None
        origin, local_id = match.groups()
        host = urlsplit(origin).netloc.lower()
        ours = host in (parse_account(self.handle)[1], urlsplit(api.base).netloc.lower())
        base = api.base if ours else origin
        return f"{base}/api/v1/statuses/{quote(local_id)}"

    async def _verify_one(
        self, api: _Api, mapper: _Mapper, post: KnownPost, result: SourceResult
    ) -> None:
        """One status: gone, seen again (with its current content), or a warning.
        Raises SourceError only when verifying should stop (rate limit, our instance
        refusing anonymous access)."""
        url = self._status_url(api, post.native_id)
        if url is None:
            return  # not a URI we can map to an API call: nothing to say either way
        shown = post.url or post.native_id
        try:
            response = await api.get(url, accept=(401, 403, 404, 410))
            if response.status in (401, 403) and url.startswith(api.base):
                raise api.auth_error(response.status)
            status = _json_object(response, "status") if response.status == 200 else {}
        except SourceError as error:
            if error.status in (401, 403, 429):
                raise
            result.warnings.append(f"verify {shown}: {error}")
            return
        if response.status in (404, 410):
            result.gone.append(Gone(PLATFORM, post.native_id, f"HTTP {response.status}"))
        elif response.status in (401, 403):
            result.warnings.append(f"verify {shown}: HTTP {response.status}")
        else:
            if status.get("uri") == post.native_id:
                result.posts.append(mapper.post(status))
            result.seen_again.append((PLATFORM, post.native_id))

    async def verify(self, ctx: SourceContext, posts: list[KnownPost]) -> SourceResult:
        """GET each status: 404/410 marks it gone, 200 may bring a new version (an edit).

        A rate limit or an instance refusing anonymous reads ends the check with one
        warning; what was checked until then still counts.
        """
        api = self._api(ctx)
        api.base = str(ctx.state.get("api_base") or api.base)
        mapper = self._mapper(ctx.state.get("account_id"))
        result = SourceResult(state=dict(ctx.state))
        reads = BudgetedReads(THREAD_CONCURRENCY, stops=lambda _error: True)
        done = 0

        async def one(post: KnownPost) -> None:
            nonlocal done
            try:
                await reads(partial(self._verify_one, api, mapper, post, result))
            except SourceError:
                return  # _verify_one raises only what ends the check
            done += 1
            ctx.progress(done, len(posts))

        await asyncio.gather(*(one(post) for post in posts))
        if reads.stopped is not None:
            left = len(posts) - done
            result.warnings.append(
                f"verify stopped, {left} post(s) left unchecked: {reads.stopped}"
            )
        return result
