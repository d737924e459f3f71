"""Small helpers the API sources share: JSON shapes, Link headers, secrets, text to HTML.

Kept here so each platform module holds only what is specific to its platform.
"""

from __future__ import annotations

import html
import os
import re
from collections.abc import Collection
from datetime import datetime
from typing import Any
from urllib.parse import urljoin, urlsplit

from ownfeed.errors import ParseError, SourceError
from ownfeed.http import Response
from ownfeed.models import KnownPost
from ownfeed.sources.base import SourceContext

_LINK_RE = re.compile(r"<([^>]*)>\s*;\s*([^,<]*)")
_REL_RE = re.compile(r'rel\s*=\s*"?([^";]+)"?', re.IGNORECASE)
_URL_RE = re.compile(r"\bhttps?://[^\s<>\"']+[^\s<>\"'.,;:!?)\]]")
_PARAGRAPH_RE = re.compile(r"\n\s*\n")


def json_object(response: Response, what: str) -> dict[str, Any]:
    """The body as a JSON object; a ParseError naming `what` otherwise."""
    data = response.json()
    if not isinstance(data, dict):
        raise ParseError(f"{what}: expected a JSON object, got {type(data).__name__}")
    return data


def json_list(response: Response, what: str) -> list[dict[str, Any]]:
    """The body as a JSON list of objects (other items dropped); ParseError otherwise."""
    data = response.json()
    if not isinstance(data, list):
        raise ParseError(f"{what}: expected a JSON list, got {type(data).__name__}")
    return [item for item in data if isinstance(item, dict)]


def link_header(response: Response, rel: str) -> str | None:
    """The URL of a `Link: <url>; rel="..."` entry (RFC 8288), resolved against the response."""
    for url, params in _LINK_RE.findall(response.headers.get("link", "")):
        match = _REL_RE.search(params)
        if match and rel in match.group(1).split():
            return absolute(response.url, url.strip())
    return None


def absolute(base: str, url: str | None) -> str | None:
    """An http(s) URL resolved against `base`; None for anything else."""
    if not url or not isinstance(url, str):
        return None
    joined = urljoin(base, url.strip())
    parts = urlsplit(joined)
    return joined if parts.scheme in ("http", "https") and parts.netloc else None


def base_url(value: Any, default: str, key: str) -> str:
    """A configured base URL (http allowed, for tests and self-hosted servers), no trailing /."""
    text = str(value or default).strip().rstrip("/")
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise SourceError(f"{key} {value!r} must be an http(s) URL")
    return text


def env_secret(name: Any, key: str) -> str | None:
    """The secret in the environment variable that `key` names; None when no key is set."""
    if not name:
        return None
    value = os.environ.get(str(name), "").strip()
    if not value:
        raise SourceError(f"environment variable {name} ({key}) is not set")
    return value


def text_to_html(text: str | None) -> str | None:
    """Plain text as HTML: escaped, paragraphs on blank lines, <br> on newlines, bare URLs
    linked. For platforms that give descriptions or Markdown as text, not HTML."""
    if not text or not text.strip():
        return None
    paragraphs = []
    for chunk in _PARAGRAPH_RE.split(text.replace("\r\n", "\n").strip()):
        escaped = html.escape(chunk.strip(), quote=False)
        linked = _URL_RE.sub(lambda m: f'<a href="{m.group(0)}">{m.group(0)}</a>', escaped)
        paragraphs.append("<p>" + linked.replace("\n", "<br>") + "</p>")
    return "".join(paragraphs)


def needs_replies(
    ctx: SourceContext,
    native_id: str,
    *,
    count: int | None,
    published: datetime | str | None,
    refresh_days: int,
    pending: Collection[str] = (),
) -> bool:
    """Whether to read a post's replies this sync: the rule every source here shares.

    Never when the platform says there are none; else when the post is new, its reply count
    changed, an earlier read failed, --full, or it is young enough to be re-read.
    """
    if count == 0:
        return False
    known: KnownPost | None = ctx.known.get(native_id)
    if ctx.full or known is None or native_id in pending:
        return True
    if count is not None and count != known.reply_count:
        return True
    return ctx.in_refresh_window(published, refresh_days)
