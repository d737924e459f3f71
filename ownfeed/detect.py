"""Recognise Mastodon and Bluesky accounts in what a user types after `ownfeed add`.

Offline and conservative: a string is claimed only when its shape is unambiguous, so a
blog URL or a bare domain still goes to feed discovery. `https://host/@user` is Mastodon
unless the host is a known non-fediverse site that uses the same URL shape (YouTube,
Medium, ...); `user@host` without the leading '@' is left alone, as it may be an e-mail.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote, urlsplit

# Sites whose profile URLs look like `/@user` but are not Mastodon-API servers.
_NOT_FEDIVERSE = frozenset(
    {"medium.com", "youtube.com", "tiktok.com", "threads.net", "threads.com", "substack.com"}
)
_BSKY_WEB_HOSTS = frozenset({"bsky.app", "www.bsky.app", "staging.bsky.app"})
# Handle hosting domains of Bluesky, recognised even without a leading '@'.
_BSKY_HANDLE_SUFFIXES = (".bsky.social",)

_USER = r"[A-Za-z0-9_][A-Za-z0-9_.-]*"
_HOST = (
    r"(?:(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,}"  # a domain
    r"|localhost|\d{1,3}(?:\.\d{1,3}){3})"  # or a local server
    r"(?::\d+)?"
)
_FEDI_HANDLE_RE = re.compile(rf"^(?:@|acct:)({_USER})@({_HOST})$")
_FEDI_PATH_RE = re.compile(rf"^/@({_USER})(?:@({_HOST}))?(?:/.*)?$")
_BSKY_HANDLE_RE = re.compile(
    r"^(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?$"
)
_DID_RE = re.compile(r"^did:(?:plc|web):[A-Za-z0-9._:%-]+$")
_BSKY_PROFILE_RE = re.compile(r"^/profile/([^/]+)(?:/.*)?$")
_SLUG_JUNK_RE = re.compile(r"[^a-z0-9]+")


def _name(platform: str, who: str) -> str:
    """A config name such as `mastodon-novosyx`: unique per account, [a-z0-9-] only."""
    slug = _SLUG_JUNK_RE.sub("-", who.lower()).strip("-")[:30].strip("-")
    return f"{platform}-{slug}" if slug else platform


def _mastodon(user: str, host: str, instance: str | None = None) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "name": _name("mastodon", user),
        "type": "mastodon",
        "account": f"@{user}@{host.lower()}",
    }
    if instance:
        entry["instance"] = instance
    return entry


def _bluesky(actor: str) -> dict[str, Any]:
    # a DID's last part is opaque: a dozen characters of it are unique enough for a name
    who = actor.rsplit(":", 1)[-1][:12] if actor.startswith("did:") else actor.split(".", 1)[0]
    return {"name": _name("bluesky", who), "type": "bluesky", "account": actor}


def _bluesky_actor(text: str) -> str | None:
    """A DID, or a handle (lower-cased) when it has a domain shape."""
    if _DID_RE.match(text):
        return text
    handle = text.lower()
    return handle if _BSKY_HANDLE_RE.match(handle) else None


def _from_url(text: str) -> dict[str, Any] | None:
    try:
        parts = urlsplit(text)
        host = parts.hostname or ""
        netloc = parts.netloc.rpartition("@")[2]
    except ValueError:
        return None
    if parts.scheme not in ("http", "https") or not host:
        return None
    path = unquote(parts.path)
    if host in _BSKY_WEB_HOSTS:
        match = _BSKY_PROFILE_RE.match(path)
        actor = _bluesky_actor(match.group(1)) if match else None
        return _bluesky(actor) if actor else None
    if host.removeprefix("www.").removeprefix("m.") in _NOT_FEDIVERSE:
        return None
    match = _FEDI_PATH_RE.match(path)
    if not match:
        return None
    user, remote = match.group(1), match.group(2)
    if remote:  # a remote profile as another instance shows it: the account lives there
        return _mastodon(user, remote)
    instance = f"http://{netloc}" if parts.scheme == "http" else None
    return _mastodon(user, netloc, instance)


def detect_handle(text: str) -> dict[str, Any] | None:
    """A `[[sources]]` entry for a Mastodon or Bluesky account, or None if it is neither.

    Mastodon: `@user@host`, `acct:user@host`, `https://host/@user` (http:// keeps the
    instance). Bluesky: `@handle.domain`, `*.bsky.social`, `did:plc:…`/`did:web:…`,
    `https://bsky.app/profile/<handle or DID>`.
    """
    value = text.strip()
    if not value:
        return None
    if "://" in value:
        return _from_url(value)
    match = _FEDI_HANDLE_RE.match(value)
    if match:
        return _mastodon(match.group(1), match.group(2))
    if _DID_RE.match(value):
        return _bluesky(value)
    if value.startswith("@") and value.count("@") == 1:
        actor = _bluesky_actor(value[1:])
        return _bluesky(actor) if actor else None
    if value.lower().endswith(_BSKY_HANDLE_SUFFIXES) and "@" not in value:
        actor = _bluesky_actor(value)
        return _bluesky(actor) if actor else None
    return None
