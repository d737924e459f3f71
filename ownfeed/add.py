"""What `ownfeed add` appends: detect the source type of a URL or handle.

First offline, by shape: Mastodon/Bluesky handles and profile URLs (`ownfeed.detect`),
YouTube channels, Reddit users and GitHub users or repositories. Then with a request or
two: fediverse profile URLs (`/u/name`, `/a/name`, `/accounts/name`) and `user@host`
are asked for their server software (NodeInfo: Lemmy, or any other ActivityPub server),
and a web page is a WordPress site when it links its REST API (`rel="https://api.w.org/"`,
header or `<link>`) or names WordPress as its generator; anything else is a feed, found by
autodiscovery.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin, urlsplit

from ownfeed.discover import find_feed_links, looks_like_feed, looks_like_html, pick_feed
from ownfeed.errors import ConfigError, SourceError
from ownfeed.http import HttpClient, Response
from ownfeed.sources.registry import SOURCE_TYPES

_NAME_JUNK = re.compile(r"[^a-z0-9]+")
_YOUTUBE_HOSTS = frozenset({"youtube.com", "www.youtube.com", "m.youtube.com"})
_REDDIT_HOSTS = frozenset({"reddit.com", "www.reddit.com", "old.reddit.com", "new.reddit.com"})
_GITHUB_HOSTS = frozenset({"github.com", "www.github.com"})
_CHANNEL_ID = re.compile(r"UC[0-9A-Za-z_-]{22}")
_YOUTUBE_PATH = re.compile(r"^/(@[\w.-]+|channel/UC[0-9A-Za-z_-]{22}|c/[\w.-]+|user/[\w.-]+)")
_REDDIT_PATH = re.compile(r"^/(?:u|user)/([A-Za-z0-9_-]{3,20})(?:/|$)")
_GITHUB_PATH = re.compile(r"^/([A-Za-z0-9-]+)(?:/([A-Za-z0-9_.-]+))?(?:/|$)")
_GITHUB_RESERVED = frozenset(
    {"orgs", "settings", "marketplace", "explore", "topics", "features", "sponsors", "login"}
)
_FEDI_PATH = re.compile(r"^/(?:u|a|accounts|users)/([A-Za-z0-9_.-]+)/?$")
_AT_HANDLE = re.compile(r"^@?([A-Za-z0-9_.-]+)@([A-Za-z0-9.-]+\.[A-Za-z]{2,}(?::\d+)?)$")
_WP_API = "https://api.w.org/"
_WP_GENERATOR = re.compile(r"^WordPress\b", re.IGNORECASE)
#: NodeInfo software names served by the Lemmy source; other servers use ActivityPub.
_LEMMY = frozenset({"lemmy"})
_NOT_AP = frozenset({"mastodon"})  # `ownfeed.detect` already claims those profiles


def name_from(text: str) -> str:
    """A source name from a host or handle: lower-case letters, digits and '-'."""
    host = urlsplit(text).hostname or text
    host = host.removeprefix("www.")
    name = _NAME_JUNK.sub("-", host.lower()).strip("-")
    return name[:40].strip("-") or "source"


def _slug(platform: str, who: str) -> str:
    slug = _NAME_JUNK.sub("-", who.lower()).strip("-")[:30].strip("-")
    return f"{platform}-{slug}" if slug else platform


def _handle_entry(target: str) -> dict[str, Any] | None:
    """Mastodon/Bluesky handles and profile URLs, when that detection is available."""
    try:
        from ownfeed.detect import detect_handle
    except ImportError:
        return None
    return detect_handle(target)


# --------------------------------------------------------------------------- offline shapes


def platform_entry(target: str) -> dict[str, Any] | None:
    """YouTube, Reddit and GitHub URLs by their shape, without any request."""
    parts = urlsplit(target if "://" in target else "https://" + target)
    host, path = (parts.hostname or "").lower(), parts.path
    if host in _YOUTUBE_HOSTS:
        channel = _CHANNEL_ID.search(parts.query) if path == "/feeds/videos.xml" else None
        if channel:
            path = f"/channel/{channel.group(0)}"
        match = _YOUTUBE_PATH.match(path)
        if match:
            who = match.group(1).split("/")[-1].lstrip("@")
            url = f"https://www.youtube.com/{match.group(1)}"
            return {"name": _slug("youtube", who), "type": "youtube", "url": url}
    if host in _REDDIT_HOSTS and (match := _REDDIT_PATH.match(path)):
        user = match.group(1)
        return {"name": _slug("reddit", user), "type": "reddit", "account": f"u/{user}"}
    if host in _GITHUB_HOSTS and (match := _GITHUB_PATH.match(path)):
        owner, repo = match.groups()
        if owner.lower() in _GITHUB_RESERVED:
            return None
        repo = repo.removesuffix(".atom").removesuffix(".git") if repo else None
        who = f"{owner}/{repo}" if repo else owner
        return {
            "name": _slug("github", repo or owner),
            "type": "github",
            "url": f"https://github.com/{who}",
        }
    return None


# --------------------------------------------------------------------------- fediverse


async def _software(http: HttpClient, base: str) -> str | None:
    """The server software a host names in NodeInfo (`lemmy`, `peertube`, ...), if any."""
    try:
        index = (await http.get(base + "/.well-known/nodeinfo", accept=(404,))).json()
        links = index.get("links") if isinstance(index, dict) else None
        href = next(
            (link["href"] for link in links or () if isinstance(link, dict) and link.get("href")),
            None,
        )
        if not isinstance(href, str):
            return None
        info = (await http.get(urljoin(base + "/", href))).json()
    except SourceError:
        return None
    software = info.get("software") if isinstance(info, dict) else None
    name = software.get("name") if isinstance(software, dict) else None
    return str(name).lower() if isinstance(name, str) else None


def _fedi_entry(software: str, user: str, netloc: str, scheme: str) -> dict[str, Any] | None:
    if software in _LEMMY:
        entry = {"name": _slug("lemmy", user), "type": "lemmy", "account": f"{user}@{netloc}"}
    elif software in _NOT_AP:
        return None
    else:
        entry = {
            "name": _slug(software, user),
            "type": "activitypub",
            "account": f"@{user}@{netloc}",
        }
    if scheme == "http":
        entry["instance"] = f"http://{netloc}"
    return entry


async def fediverse_entry(http: HttpClient, target: str) -> dict[str, Any] | None:
    """`user@host` or a profile URL (`/u/`, `/a/`, `/accounts/`, `/users/`) on a server whose
    NodeInfo says Lemmy (-> lemmy) or another fediverse software (-> activitypub)."""
    handle = _AT_HANDLE.match(target) if "://" not in target else None
    if handle:
        user, netloc, scheme = handle.group(1), handle.group(2), "https"
    else:
        parts = urlsplit(target)
        match = _FEDI_PATH.match(parts.path)
        if parts.scheme not in ("http", "https") or not match:
            return None
        user, netloc, scheme = match.group(1), parts.netloc.rpartition("@")[2], parts.scheme
    software = await _software(http, f"{scheme}://{netloc}")
    return _fedi_entry(software, user, netloc, scheme) if software else None


# --------------------------------------------------------------------------- WordPress


class _WordPressParser(HTMLParser):
    """`<link rel="https://api.w.org/">` and `<meta name="generator" content="WordPress …">`."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.api: str | None = None
        self.generator = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k.lower(): (v or "").strip() for k, v in attrs}
        if tag == "link" and _WP_API in values.get("rel", "").split() and self.api is None:
            self.api = values.get("href") or None
        elif tag == "meta" and values.get("name", "").lower() == "generator":
            self.generator = self.generator or bool(_WP_GENERATOR.match(values.get("content", "")))


def wordpress_site(response: Response) -> str | None:
    """The site root of a WordPress page, or None when the page is not WordPress."""
    from ownfeed.sources.wordpress import advertised_api

    api = advertised_api(response)
    if api is not None:
        if api.endswith("/wp-json/"):
            return api.removesuffix("wp-json/")
        return api.split("?", 1)[0]  # `/?rest_route=/` without pretty permalinks
    if not looks_like_html(response.body, response.content_type):
        return None
    parser = _WordPressParser()
    parser.feed(response.text()[:200_000])
    parser.close()
    if not parser.generator:
        return None
    parts = urlsplit(response.url)
    return f"{parts.scheme}://{parts.netloc}/"


# --------------------------------------------------------------------------- entry point


def _explicit(target: str, type_: str) -> dict[str, Any]:
    """An entry for `--type`: the right key for the type, the value as given."""
    offline = platform_entry(target)
    if offline is not None and offline["type"] == type_:
        return offline
    key = "account" if type_ in ("reddit", "lemmy", "activitypub", "mastodon", "bluesky") else "url"
    value = target if key == "account" or "://" in target else "https://" + target
    return {
        "name": name_from(value) if key == "url" else _slug(type_, target),
        "type": type_,
        key: value,
    }


async def detect_source(
    target: str, *, type_: str | None = None, timeout: float = 30.0
) -> dict[str, Any]:
    """A `[[sources]]` entry (without a final name) for a URL or handle; raises when unsure."""
    target = target.strip()
    if type_ is not None and type_ not in SOURCE_TYPES:
        raise ConfigError(f"unknown source type {type_!r} (known: {', '.join(SOURCE_TYPES)})")
    handle = _handle_entry(target)
    if handle is not None and (type_ is None or handle.get("type") == type_):
        return handle
    offline = platform_entry(target)
    if offline is not None and type_ in (None, offline["type"]):
        return offline
    if type_ not in (None, "feed", "wordpress"):
        if type_ in ("lemmy", "activitypub"):
            async with HttpClient(timeout=timeout) as http:
                found = await fediverse_entry(http, target)
            if found is not None and found["type"] == type_:
                return found
        return _explicit(target, type_)
    async with HttpClient(timeout=timeout) as http:
        if type_ is None and (found := await fediverse_entry(http, target)):
            return found
        if "://" not in target:
            if type_ is None and "." not in target:
                raise ConfigError(f"{target!r} is neither a URL nor a known handle form")
            target = "https://" + target
        try:
            response = await http.get(target)
        except SourceError as error:
            raise ConfigError(f"cannot add {target}: {error}") from error
        site = wordpress_site(response) if type_ in (None, "wordpress") else None
        if site is not None:
            return {"name": name_from(site), "type": "wordpress", "url": site}
        if type_ == "wordpress":
            return {"name": name_from(target), "type": "wordpress", "url": target}
        if looks_like_feed(response.body, response.content_type):
            return {"name": name_from(target), "type": "feed", "url": response.url}
        if looks_like_html(response.body, response.content_type):
            feed = pick_feed(find_feed_links(response.text(), response.url))
            if feed:
                return {"name": name_from(target), "type": "feed", "url": feed}
            raise ConfigError(f"no feed found at {target}: the page advertises none")
    raise ConfigError(
        f"cannot tell what {target} is ({response.content_type or 'no content type'}); pass --type"
    )
