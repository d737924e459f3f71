"""What `ownfeed add` appends: detect the source type of a URL or handle."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from ownfeed.discover import find_feed_links, looks_like_feed, looks_like_html, pick_feed
from ownfeed.errors import ConfigError, SourceError
from ownfeed.http import HttpClient
from ownfeed.sources.registry import SOURCE_TYPES

_NAME_JUNK = re.compile(r"[^a-z0-9]+")


def name_from(text: str) -> str:
    """A source name from a host or handle: lower-case letters, digits and '-'."""
    host = urlsplit(text).hostname or text
    host = host.removeprefix("www.")
    name = _NAME_JUNK.sub("-", host.lower()).strip("-")
    return name[:40].strip("-") or "source"


def _handle_entry(target: str) -> dict[str, Any] | None:
    """Mastodon/Bluesky handles and profile URLs, when that detection is available."""
    try:
        from ownfeed.detect import detect_handle
    except ImportError:
        return None
    return detect_handle(target)


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
    if "://" not in target:
        if type_ is None and "." not in target:
            raise ConfigError(f"{target!r} is neither a URL nor a known handle form")
        target = "https://" + target
    if type_ not in (None, "feed"):
        return {"name": name_from(target), "type": type_, "url": target}
    async with HttpClient(timeout=timeout) as http:
        try:
            response = await http.get(target)
        except SourceError as error:
            raise ConfigError(f"cannot add {target}: {error}") from error
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
