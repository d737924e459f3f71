"""The Mastodon export ("Request your archive"): outbox.json, actor.json, media_attachments/.

Posts keep the API source's native id (the status URI), so an import and a sync of the same
account make one row per toot. Only public and unlisted posts are taken: the archive is for
publishing, and followers-only or direct posts are not public.

Media: the export names each file by its path alone (`media_attachments/files/…`, the host
and `/system/` dropped), while the API gives its full URL on the instance's media host
(often another host, e.g. `files.<instance>` or a CDN). To give a file the URL a sync will
give it (one media row, whichever comes first), the importer derives that host from the
export where it can: the icon of a custom emoji (in a toot's or the actor's `tag`) lives
on the same media base, `<base>custom_emojis/…`. Otherwise it guesses `https://<instance>
/system/` (right for instances that store files locally) and the planner replaces the guess
with the base that URLs already archived from the API use (`MediaBase`).
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from ownfeed.importers.batch import (
    ImportBatch,
    ImportOptions,
    LocalFile,
    MediaBase,
    count,
    guess_mime,
    load_json,
    media_kind,
    provenance,
    text,
    thread_roots,
)
from ownfeed.importers.bundle import Bundle, FileBundle, find
from ownfeed.models import Author, Media, Post, PostKind, parse_iso, post_id

PLATFORM = "mastodon"
_PUBLIC = {"https://www.w3.org/ns/activitystreams#Public", "as:Public", "Public"}
_EMOJI_BASE = re.compile(r"^(https?://[^?#]*?/)(?:cache/)?custom_emojis/")
_MEDIA_MARKER = "media_attachments/"


def parse(bundle: Bundle, options: ImportOptions) -> ImportBatch:
    """Our public and unlisted statuses, with their media, from a Mastodon archive."""
    outbox = find(bundle, "outbox.json")
    if outbox is None:
        single = isinstance(bundle, FileBundle)
        hint = " (unpack a .tar.gz export and import its folder)" if single else ""
        raise bundle.fail(bundle.label, f"no outbox.json found: not a Mastodon export{hint}")
    folder = str(PurePosixPath(outbox).parent)
    prefix = "" if folder == "." else folder + "/"
    document = load_json(bundle, outbox)
    items = document.get("orderedItems") if isinstance(document, dict) else None
    if not isinstance(items, list):
        raise bundle.fail(outbox, "expected an OrderedCollection with orderedItems")
    actor = _actor(bundle, prefix)
    author = _author(actor, items, options)
    batch = ImportBatch(platform=PLATFORM, account=author.handle if author else None)
    base = _media_base(actor, items)
    batch.media_base = base
    members = set(bundle.names())
    skipped = 0
    posts: list[Post] = []
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise bundle.fail(outbox, f"item {index}: not an activity object")
        kind = item.get("type")
        if kind not in ("Create", "Announce"):
            continue
        if not _is_public(item):
            skipped += 1
            continue
        raw = {"import": provenance(bundle, outbox, PLATFORM), "activity": item}
        options.tick()
        if kind == "Announce":
            posts.append(_boost(bundle, outbox, index, item, author, raw))
            continue
        note = item.get("object")
        if not isinstance(note, dict) or not text(note.get("id")):
            raise bundle.fail(outbox, f"item {index}: Create without an object id")
        post, files, missing = _note(note, author, raw, prefix, members, base.guess)
        posts.append(post)
        batch.files += files
        if missing:
            batch.warnings.append(f"{outbox}: item {index}: {missing} attachment(s) not in export")
    if skipped:
        batch.warnings.append(f"skipped {skipped} followers-only or direct posts")
    roots = thread_roots({p.native_id: p.in_reply_to for p in posts if p.kind != "repost"})
    batch.posts = [_with_root(p, roots.get(p.native_id)) for p in posts]
    return batch


def _is_public(item: dict[str, Any]) -> bool:
    note = item.get("object")
    targets: list[Any] = []
    for holder in (item, note if isinstance(note, dict) else {}):
        for key in ("to", "cc"):
            value = holder.get(key)
            targets += value if isinstance(value, list) else [value]
    return any(target in _PUBLIC for target in targets if isinstance(target, str))


def _actor(bundle: Bundle, prefix: str) -> dict[str, Any]:
    actor: Any = None
    if prefix + "actor.json" in bundle.names():
        actor = load_json(bundle, prefix + "actor.json")
    return actor if isinstance(actor, dict) else {}


def _actor_id(actor: dict[str, Any], items: list[Any]) -> str | None:
    return text(actor.get("id")) or next(
        (text(i.get("actor")) for i in items if isinstance(i, dict) and text(i.get("actor"))), None
    )


def _media_base(actor: dict[str, Any], items: list[Any]) -> MediaBase:
    """Where the account's files live upstream: from a custom emoji's icon if the export has
    one, else the guess `https://<instance>/system/` (see the module's docstring)."""
    actor_id = _actor_id(actor, items) or ""
    host = urlsplit(actor_id).hostname or "localhost"
    found = None
    holders: list[Any] = [actor]
    holders += [i.get("object") for i in items if isinstance(i, dict)]
    for holder in holders:
        tags = holder.get("tag") if isinstance(holder, dict) else None
        for tag in tags if isinstance(tags, list) else ():
            icon = tag.get("icon") if isinstance(tag, dict) and tag.get("type") == "Emoji" else None
            match = (
                _EMOJI_BASE.match(text(icon.get("url")) or "") if isinstance(icon, dict) else None
            )
            if match and urlsplit(match.group(1)).hostname:
                found = match.group(1)
                break
        if found:
            break
    statuses = actor_id.rstrip("/") + "/statuses/" if actor_id else f"https://{host}/"
    return MediaBase(PLATFORM, statuses, _MEDIA_MARKER, found or f"https://{host}/system/")


def _author(actor: dict[str, Any], items: list[Any], options: ImportOptions) -> Author | None:
    """The account, keyed like the API source: `@user@host` (the configured handle wins,
    since the handle's domain may differ from the server's)."""
    actor_id = _actor_id(actor, items)
    username = text(actor.get("preferredUsername"))
    host = urlsplit(actor_id).hostname if actor_id else None
    if username is None and actor_id:
        username = PurePosixPath(urlsplit(actor_id).path).name or None
    handle = f"@{username}@{host}" if username and host else None
    configured = (options.account or "").strip().lstrip("@")
    if configured.count("@") == 1:
        user, host = configured.split("@")
        handle = f"@{user}@{host.lower()}"  # as the API source spells it
    if handle is None:
        return None
    url = text(actor.get("url"))
    user, host = handle[1:].split("@", 1)
    return Author(
        platform=PLATFORM,
        handle=handle,
        name=text(actor.get("name")) or username,
        url=url if url and url.startswith("http") else f"https://{host}/@{user}",
    )


def _note(
    note: dict[str, Any],
    author: Author | None,
    raw: dict[str, Any],
    prefix: str,
    members: set[str],
    media_base: str,
) -> tuple[Post, list[LocalFile], int]:
    native_id = str(text(note.get("id")))
    parent = text(note.get("inReplyTo"))
    content_map = note.get("contentMap")
    language = next(iter(content_map), None) if isinstance(content_map, dict) else None
    media, files, missing = _attachments(note, native_id, prefix, members, media_base)
    url = note.get("url")
    kind: PostKind = "reply" if parent else "post"
    post = Post(
        platform=PLATFORM,
        native_id=native_id,
        kind=kind,
        is_own=True,
        url=url if isinstance(url, str) and url.startswith("http") else native_id,
        title=text(note.get("summary")),
        content_html=text(note.get("content")),
        language=language if isinstance(language, str) else None,
        author=author,
        published_at=parse_iso(text(note.get("published"))),
        updated_at=parse_iso(text(note.get("updated"))),
        in_reply_to=parent,
        in_reply_to_url=parent if parent and parent.startswith("http") else None,
        tags=_hashtags(note),
        media=tuple(media),
        reply_count=_total(note.get("replies")),
        like_count=_total(note.get("likes")),
        repost_count=_total(note.get("shares")),
        raw=raw,
    )
    return post, files, missing


def _boost(
    bundle: Bundle,
    outbox: str,
    index: int,
    item: dict[str, Any],
    author: Author | None,
    raw: dict[str, Any],
) -> Post:
    """A boost: its own activity URI (the API's reblog `uri`), pointing at the boosted post."""
    native_id = text(item.get("id"))
    target = item.get("object")
    target_id = text(target.get("id")) if isinstance(target, dict) else text(target)
    if not native_id or not target_id:
        raise bundle.fail(outbox, f"item {index}: Announce without id or object")
    return Post(
        platform=PLATFORM,
        native_id=native_id,
        kind="repost",
        is_own=True,
        author=author,
        published_at=parse_iso(text(item.get("published"))),
        repost_of=target_id,
        raw=raw,
    )


def _attachments(
    note: dict[str, Any], native_id: str, prefix: str, members: set[str], media_base: str
) -> tuple[list[Media], list[LocalFile], int]:
    """Attachment URLs in an export are archive paths (`media_attachments/files/…`).

    The upstream URL is gone from the export; the row gets `media_base` + the path (see
    `_media_base`), and an archived row of the same post whose URL ends with the same path
    is reused.
    """
    media: list[Media] = []
    files: list[LocalFile] = []
    missing = 0
    pid = post_id(PLATFORM, native_id)
    attachments = note.get("attachment")
    for item in attachments if isinstance(attachments, list) else ():
        if not isinstance(item, dict):
            continue
        location = text(item.get("url"))
        if not location:
            continue
        mime = text(item.get("mediaType")) or guess_mime(location)
        width, height = count(item.get("width")), count(item.get("height"))
        alt = text(item.get("name"))
        if location.startswith(("http://", "https://")):
            media.append(Media(location, media_kind(mime), mime, alt, width, height))
            continue
        relative = location.lstrip("/")
        if prefix + relative not in members and _MEDIA_MARKER in relative:
            relative = relative[relative.index(_MEDIA_MARKER) :]  # S3 path-style: bucket first
        member = prefix + relative
        if member not in members:
            missing += 1  # not shipped in this export; no upstream URL to fetch it from
            continue
        url = media_base + relative
        media.append(Media(url, media_kind(mime), mime, alt, width, height))
        files.append(LocalFile(pid, url, member, mime, same_as_suffix="/" + relative))
    return media, files, missing


def _hashtags(note: dict[str, Any]) -> tuple[str, ...]:
    tags: list[str] = []
    found = note.get("tag")
    for item in found if isinstance(found, list) else ():
        if isinstance(item, dict) and item.get("type") == "Hashtag":
            name = (text(item.get("name")) or "").lstrip("#")
            if name and name not in tags:
                tags.append(name)
    return tuple(tags)


def _total(collection: Any) -> int | None:
    return count(collection.get("totalItems")) if isinstance(collection, dict) else None


def _with_root(post: Post, root: str | None) -> Post:
    return post if root is None else replace(post, thread_root=root)
