"""GitHub releases of a repository, or of every repository of a user or organisation.

Without a token each sync reads the repository's `releases.atom` (conditional GET, no API
quota) and the first sync walks the REST API once for the whole history (unauthenticated:
60 requests an hour, plenty for that). With `token_env` the REST API is used throughout
(5,000 an hour; ETags make an unchanged page a free 304). Native ids are the release pages
(`https://github.com/<o>/<r>/releases/tag/<tag>`), which the feed and the API both give.
With a token, the comments of a release's discussion are archived as its replies
(`github_discussions`).
"""

from __future__ import annotations

import asyncio
import copy
import math
import re
from collections.abc import Mapping
from functools import partial
from typing import Any, ClassVar
from urllib.parse import quote, unquote, urlsplit

from ownfeed.errors import ParseError, SourceError
from ownfeed.http import Response
from ownfeed.models import Author, Gone, KnownPost, Post, SourceResult, parse_iso
from ownfeed.sources.apiutil import (
    BudgetedReads,
    Skipped,
    base_url,
    env_secret,
    json_list,
    link_header,
    mapper,
    needs_replies,
)
from ownfeed.sources.base import Source, SourceContext
from ownfeed.sources.feedparse import entry_date, parse_document
from ownfeed.sources.github_discussions import Discussion, read_discussion
from ownfeed.sources.ratelimit import DEFAULT_MAX_WAIT, RateLimiter, remaining, seconds_until_reset
from ownfeed.sources.registry import SOURCE_KEYS, Keys

PLATFORM = "github"
WEB = "https://github.com"
API = "https://api.github.com"
PER_PAGE = 100
MAX_REPOS = 50
_NAME = r"[A-Za-z0-9_.-]+"
_TARGET_RE = re.compile(rf"^(?:https?://[^/]+/)?({_NAME})(?:/({_NAME}))?/?$")
_RELEASE_RE = re.compile(rf"^https?://[^/]+/({_NAME})/({_NAME})/releases/tag/(.+)$")
_HTML = "application/vnd.github.html+json"


def parse_target(url: str) -> tuple[str, str | None]:
    """`github.com/user`, `github.com/o/r`, `o/r` or `user` -> (owner, repo or None)."""
    text = url.strip().removesuffix(".git")
    if text.lower().startswith(("github.com/", "www.github.com/")):
        text = "https://" + text
    match = _TARGET_RE.match(text.split("?", 1)[0].split("#", 1)[0])
    if not match or match.group(1) in ("orgs", "users"):
        raise SourceError(f"url {url!r} must be a GitHub user or repository (github.com/o/r)")
    return match.group(1), match.group(2)


@mapper("GitHub releases.atom entry")
def map_atom_entry(entry: Any, repo: str, known: bool) -> Post | None:
    """A releases.atom entry. The feed has no publish date: a new release gets its
    `updated` time, a known one keeps the date the API gave."""
    link = entry.get("link")
    if not isinstance(link, str) or "/releases/tag/" not in link:
        return None
    updated = entry_date(entry, "updated")
    content = entry.get("content") or [{}]
    author = entry.get("author")
    thumbnails = entry.get("media_thumbnail") or [{}]
    return Post(
        platform=PLATFORM,
        native_id=link,
        url=link,
        title=entry.get("title") or None,
        content_html=content[0].get("value") or None,
        author=Author(PLATFORM, handle=author, name=author, avatar_url=thumbnails[0].get("url"))
        if author
        else None,
        published_at=None if known else updated,
        updated_at=updated,
        tags=(repo,),
        raw={"id": entry.get("id"), "repo": repo},
    )


@mapper("GitHub release")
def map_release(item: Mapping[str, Any], repo: str) -> Post | None:
    """A REST release (rendered with the `html` media type); drafts are skipped."""
    link = item.get("html_url")
    if not isinstance(link, str) or item.get("draft"):
        return None
    author = item.get("author") or {}
    login = author.get("login") if isinstance(author, dict) else None
    reactions = item.get("reactions") or {}
    return Post(
        platform=PLATFORM,
        native_id=link,
        url=link,
        title=item.get("name") or item.get("tag_name") or None,
        content_html=item.get("body_html") or None,
        content_text=None if item.get("body_html") else item.get("body") or None,
        author=Author(
            PLATFORM,
            handle=login,
            name=login,
            url=author.get("html_url"),
            avatar_url=author.get("avatar_url"),
        )
        if login
        else None,
        published_at=parse_iso(item.get("published_at") or item.get("created_at")),
        tags=(repo,),
        like_count=reactions.get("total_count") if isinstance(reactions, dict) else None,
        raw={
            **{
                k: item.get(k)
                for k in ("id", "tag_name", "prerelease", "created_at", "discussion_url")
            },
            "repo": repo,
            "assets": [
                {k: a.get(k) for k in ("name", "browser_download_url", "content_type", "size")}
                for a in item.get("assets") or ()
                if isinstance(a, dict)
            ],
        },
    )


class _Api:
    """The REST API: token to its own host only, ETags, GitHub's 403 rate-limit answer."""

    def __init__(self, limiter: RateLimiter, base: str, token: str | None) -> None:
        self.limiter = limiter
        self.base = base
        self.token = token

    async def get(
        self, url: str, etags: dict[str, str] | None = None, accept: tuple[int, ...] = ()
    ) -> Response:
        headers = {"Accept": _HTML, "X-GitHub-Api-Version": "2022-11-28"}
        if self.token and urlsplit(url).netloc == urlsplit(self.base).netloc:
            headers["Authorization"] = f"Bearer {self.token}"
        if etags and etags.get(url):
            headers["If-None-Match"] = etags[url]
        response = await self.limiter.get(url, headers=headers, accept=(403, 404, *accept))
        if response.status == 403:
            raise self._forbidden(response)
        if response.status == 404 and 404 not in accept:
            raise SourceError(f"GitHub API: {urlsplit(url).path} not found (HTTP 404)", status=404)
        if etags is not None and response.headers.get("etag"):
            etags[url] = response.headers["etag"]
        return response

    async def graphql(self, query: str, variables: Mapping[str, Any]) -> Mapping[str, Any]:
        """The `data` of a GraphQL answer; its first error as a SourceError when there is
        no data. Needs the token (GitHub answers GraphQL only to authenticated requests)."""
        headers = {"Accept": "application/json", "Authorization": f"Bearer {self.token}"}
        payload = {"query": query, "variables": dict(variables)}
        response = await self.limiter.post_json(
            f"{self.base}/graphql", payload, headers=headers, accept=(401, 403)
        )
        if response.status == 403:
            raise self._forbidden(response)
        if response.status == 401:
            raise SourceError("GitHub GraphQL API: the token was refused (HTTP 401)", status=401)
        answer = response.json()
        data = answer.get("data") if isinstance(answer, dict) else None
        errors = answer.get("errors") if isinstance(answer, dict) else None
        if isinstance(data, dict):
            return data
        first = errors[0] if isinstance(errors, list) and errors else {}
        message = first.get("message") if isinstance(first, dict) else None
        said = " ".join(str(message or "no data").split())[:200]
        raise SourceError(f"GitHub GraphQL API: {said}")

    def _forbidden(self, response: Response) -> SourceError:
        if remaining(response.headers) == 0:
            wait = seconds_until_reset(response.headers)
            later = f"; it resets in {math.ceil(wait)} s" if wait is not None else ""
            hint = "" if self.token else " (set token_env for 5,000 requests an hour)"
            return SourceError(f"GitHub API rate limit used up{later}{hint}", status=403)
        return SourceError("GitHub API refused the request (HTTP 403)", status=403)


class GitHubSource(Source):
    """Releases of `github.com/<owner>/<repo>`, or of each repository of `github.com/<owner>`."""

    type = "github"
    platform = PLATFORM
    keys: ClassVar[Keys] = SOURCE_KEYS["github"]
    #: seconds a sync may sleep for a rate limit to reset (tests lower it)
    max_rate_wait: float = DEFAULT_MAX_WAIT

    def _api(self, ctx: SourceContext) -> _Api:
        token = env_secret(self.config.option("token_env"), "token_env")
        base = base_url(self.config.option("api_base"), API, "api_base")
        return _Api(RateLimiter(ctx.http, max_wait=self.max_rate_wait), base, token)

    @property
    def web(self) -> str:
        return base_url(self.config.option("web_base"), WEB, "web_base")

    # --- repositories --------------------------------------------------------------------

    async def _repos(self, api: _Api, owner: str, state: dict[str, Any]) -> list[str]:
        """The owner's own (not forked, not archived) repositories, most recently pushed
        first; the list is remembered, so an unchanged list costs a 304."""
        url = f"{api.base}/users/{quote(owner)}/repos?per_page={PER_PAGE}&type=owner&sort=pushed"
        response = await api.get(url, state.setdefault("etags", {}), accept=(404,))
        if response.status == 404:
            raise SourceError(f"GitHub user {owner} not found (HTTP 404)", status=404)
        if not response.not_modified:
            items = json_list(response, "repositories")
            state["repos"] = [
                str(i["full_name"])
                for i in items
                if i.get("full_name") and not i.get("fork") and not i.get("archived")
            ]
        limit = int(self.config.option("max_repos", MAX_REPOS))
        return [str(r) for r in state.get("repos") or ()][:limit]

    # --- releases ------------------------------------------------------------------------

    async def _atom(
        self, ctx: SourceContext, repo: str, state: dict[str, Any], primary: bool
    ) -> list[Post]:
        """A repository's releases.atom (conditional GET); [] when unchanged."""
        url = f"{self.web}/{repo}/releases.atom"
        validators = state.setdefault("validators", {})
        response = await ctx.http.get(
            url, validators=None if ctx.full else validators.get(url), accept=(404,)
        )
        if response.status == 404:
            if primary:
                raise SourceError(f"GitHub repository {repo} not found (HTTP 404)", status=404)
            return []
        if response.not_modified:
            return []
        try:
            parsed = parse_document(
                response.body, url=url, content_type=response.headers.get("content-type", "")
            )
        except ParseError as error:
            raise ParseError(f"{repo}/releases.atom: {error}") from None
        if not parsed.get("version"):
            raise ParseError(f"{repo}/releases.atom is not a feed")
        validators[url] = response.validators
        skip = Skipped()
        posts = [
            skip(partial(map_atom_entry, e, repo, str(e.get("link")) in ctx.known))
            for e in parsed.entries
        ]
        self._malformed += skip.errors
        return [p for p in posts if p is not None]

    async def _api_releases(
        self, ctx: SourceContext, api: _Api, repo: str, state: dict[str, Any], everything: bool
    ) -> list[Post]:
        """Releases from the API, newest first: every page, or until known ones."""
        url: str | None = f"{api.base}/repos/{repo}/releases?per_page={PER_PAGE}"
        etags = state.setdefault("etags", {})
        posts: list[Post] = []
        while url:
            response = await api.get(url, etags if url.endswith(f"={PER_PAGE}") else None)
            if response.not_modified:
                return posts
            skip = Skipped()
            items = json_list(response, "releases")
            page = [p for i in items if (p := skip(partial(map_release, i, repo)))]
            self._malformed += skip.errors
            posts += page
            fresh = any(p.native_id not in ctx.known for p in page)
            recent = any(
                ctx.in_refresh_window(p.published_at, self.config.refresh_days) for p in page
            )
            if not (everything or fresh or recent):
                break
            url = link_header(response, "next")
        return posts

    async def _repo(
        self,
        ctx: SourceContext,
        api: _Api,
        repo: str,
        state: dict[str, Any],
        result: SourceResult,
        primary: bool,
    ) -> list[Post]:
        history = state.setdefault("history", {})
        if api.token:
            everything = ctx.full or not history.get(repo)
            posts = await self._api_releases(ctx, api, repo, state, everything)
            history[repo] = True
            return posts
        posts = await self._atom(ctx, repo, state, primary)
        if ctx.full or not history.get(repo):
            try:
                older = await self._api_releases(ctx, api, repo, state, True)
            except SourceError as error:
                result.warnings.append(f"release history of {repo}: {error}")
                return posts
            from_api = {p.native_id for p in older}  # the API knows publish dates: it wins
            posts = [*older, *(p for p in posts if p.native_id not in from_api)]
        history[repo] = True
        return posts

    # --- the source ----------------------------------------------------------------------

    async def fetch(self, ctx: SourceContext) -> SourceResult:
        state = copy.deepcopy(dict(ctx.state or {}))
        self._malformed: list[str] = []
        owner, repo = parse_target(str(self.config.option("url")))
        result = SourceResult(state=state)
        api = self._api(ctx)
        if repo:
            repos = [f"{owner}/{repo}"]
            result.title, result.home_url = (
                f"{owner}/{repo} releases",
                f"{WEB}/{owner}/{repo}/releases",
            )
        else:
            repos = await self._repos(api, owner, state)
            result.title, result.home_url = f"{owner} releases", f"{WEB}/{owner}"
        gate = asyncio.Semaphore(4)

        async def one(name: str) -> list[Post]:
            async with gate:
                if repo:
                    return await self._repo(ctx, api, name, state, result, True)
                try:
                    return await self._repo(ctx, api, name, state, result, False)
                except SourceError as error:
                    result.warnings.append(f"releases of {name}: {error}")
                    return []

        for posts in await asyncio.gather(*(one(name) for name in repos)):
            result.posts += posts
        if api.token and self.config.replies:
            await self._discussions(ctx, api, owner, state, result)
        skipped = Skipped()
        skipped.errors = self._malformed
        skipped.report(result)
        result.http_status = 200
        return result

    # --- replies: release discussions ------------------------------------------------------

    async def _discussions(
        self,
        ctx: SourceContext,
        api: _Api,
        owner: str,
        state: dict[str, Any],
        result: SourceResult,
    ) -> None:
        """Read the discussions of new and recent releases (and of those whose read failed
        last time); the releases' discussion URLs are remembered, so a release the API did
        not send again (an unchanged page) still has its discussion re-read while young."""
        known: dict[str, str] = state.setdefault("discussions", {})
        published = {p.native_id: p.published_at for p in result.posts}
        for post in result.posts:
            url = (post.raw or {}).get("discussion_url")
            if isinstance(url, str) and url:
                known[post.native_id] = url
        pending = set(state.get("pending_discussions") or ())
        wanted = []
        for release, url in known.items():
            archived = ctx.known.get(release)
            when = published.get(release) or (archived.published_at if archived else None)
            if needs_replies(
                ctx,
                release,
                count=None,
                published=when,
                refresh_days=self.config.refresh_days,
                pending=pending,
            ):
                wanted.append((release, url))
        reads = BudgetedReads(4, stops=lambda error: error.status in (401, 403, 429))
        failed: list[str] = []
        unread = 0

        async def one(release: str, url: str) -> None:
            nonlocal unread
            try:
                found: Discussion = await reads(
                    partial(read_discussion, api.graphql, release, url, owner)
                )
            except (SourceError, ParseError) as error:
                failed.append(release)
                if reads.stopped is None or error is not reads.stopped:
                    result.warnings.append(f"discussion of {release}: {error}")
                return
            result.posts += found.posts
            unread += found.unread_replies

        await asyncio.gather(*(one(release, url) for release, url in wanted))
        if reads.stopped is not None:
            result.warnings.append(
                f"{len(failed)} discussion(s) left for the next sync: {reads.stopped}"
            )
        if unread:
            result.warnings.append(f"{unread} discussion replies beyond the first 50 not read")
        state["pending_discussions"] = sorted(failed)

    async def verify(self, ctx: SourceContext, posts: list[KnownPost]) -> SourceResult:
        """Each release by tag through the API: 404 is gone."""
        api = self._api(ctx)
        result = SourceResult(state=dict(ctx.state or {}))
        for post in posts:
            match = _RELEASE_RE.match(post.native_id)
            if not match:
                continue
            owner, name, tag = match.groups()
            url = f"{api.base}/repos/{owner}/{name}/releases/tags/{quote(unquote(tag), safe='')}"
            try:
                response = await api.get(url, accept=(404,))
            except SourceError as error:
                result.warnings.append(f"verify: {error}")
                if error.status == 403:
                    break
                continue
            if response.status == 404:
                result.gone.append(Gone(PLATFORM, post.native_id, "release deleted"))
            else:
                result.seen_again.append((PLATFORM, post.native_id))
        return result
