"""The X/Twitter archive: the only way left to get a Twitter history back (the API is paid).

Reads `data/tweets.js` (or `tweets-partN.js`, or the older `tweet.js`), the account from
`account.js`/`manifest.js`, deleted tweets (imported, then marked gone) and the media files in
`tweets_media/`. An edited tweet is one post keyed by the chain's oldest id; each edit is a
version of it.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from ownfeed.importers.batch import (
    ImportBatch,
    ImportOptions,
    LocalFile,
    PackedRaw,
    RawPacker,
    count,
    guess_mime,
    media_kind,
    provenance,
    text,
    thread_roots,
)
from ownfeed.importers.bundle import Bundle
from ownfeed.importers.ytd import iter_items, read_js
from ownfeed.models import Author, Media, Post, PostKind, parse_iso

PLATFORM = "twitter"
_TWEETS = re.compile(r"^tweets?(?:-part\d+)?\.js$")
_DELETED = re.compile(r"^deleted-tweets?(?:-part\d+)?\.js$")
_MEDIA_DIRS = ("tweets_media", "tweet_media", "deleted_tweets_media")
_URL = re.compile(r"https?://[^\s<>\"]+")
_DIGITS = re.compile(r"^[0-9]{1,25}$")
_MONTHS = {
    m: n
    for n, m in enumerate(
        ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"], 1
    )
}
_TWITTER_DATE = re.compile(
    r"^[A-Z][a-z]{2} ([A-Z][a-z]{2}) (\d\d) (\d\d):(\d\d):(\d\d) \+0000 (\d{4})$"
)


@dataclass(frozen=True, slots=True)
class _Tweet:
    """What the import needs of one tweet; its object tree is dropped once this is made
    (the raw JSON is kept compressed, a small part of the tree's size)."""

    id: str
    created: datetime
    edit_ids: tuple[str, ...]
    replied: str | None
    replied_user: str | None
    text: str
    html: str
    tags: tuple[str, ...]
    media: tuple[tuple[Media, str], ...]  # (media row, file name in the archive)
    likes: int | None
    reposts: int | None
    language: str | None
    raw: PackedRaw
    deleted: bool
    deleted_at: datetime | None


@dataclass(frozen=True)
class _Account:
    username: str | None
    name: str | None


def parse(bundle: Bundle, options: ImportOptions) -> ImportBatch:
    """Our tweets (and what the export says was deleted) from an X/Twitter archive."""
    data_dir, tweet_files, deleted_files = _locate(bundle)
    account = _account(bundle, data_dir, options)
    packer = RawPacker()
    tweets = [
        t for member in tweet_files for t in _read_tweets(bundle, member, False, packer, options)
    ]
    live = {t.id for t in tweets}
    for member in deleted_files:
        found = _read_tweets(bundle, member, True, packer, options)
        tweets += [t for t in found if t.id not in live]
    batch = ImportBatch(platform=PLATFORM, account=account.username)
    chains, alias = _chains(tweets)
    roots = _thread_roots(chains, alias)
    author = _author(account)
    media_files = _media_index(bundle, data_dir)
    for key, versions in chains.items():
        root = roots.get(key)
        posts = [_post(t, key, versions[0], account, author, alias, root) for t in versions]
        newest = posts[-1]
        pid = newest.id
        batch.posts.append(newest)
        if len(posts) > 1:
            batch.history[pid] = posts[:-1]
        if all(t.deleted for t in versions):
            batch.gone[key] = versions[-1].deleted_at
        if newest.media:
            batch.files += _local_files(pid, versions, media_files)
    return batch


# --------------------------------------------------------------------------- files


def _locate(bundle: Bundle) -> tuple[str, list[str], list[str]]:
    """The archive's data folder and its tweet files (a wrapper folder around it is fine)."""
    candidates = [n for n in bundle.names() if _TWEETS.match(PurePosixPath(n).name)]
    if not candidates:
        raise bundle.fail(
            bundle.label, "no data/tweets.js, tweets-part1.js or tweet.js found: not an X archive"
        )
    in_data = [n for n in candidates if PurePosixPath(n).parent.name == "data"]
    first = min(in_data or candidates, key=lambda n: (n.count("/"), n))
    data_dir = str(PurePosixPath(first).parent)
    prefix = "" if data_dir == "." else data_dir + "/"

    def here(pattern: re.Pattern[str]) -> list[str]:
        found = []
        for name in bundle.names():
            rest = name[len(prefix) :] if name.startswith(prefix) else ""
            if rest and "/" not in rest and pattern.match(rest):
                found.append(name)
        return sorted(found, key=_part_order)

    return prefix, here(_TWEETS), here(_DELETED)


def _part_order(name: str) -> tuple[int, str]:
    match = re.search(r"-part(\d+)\.js$", name)
    return (int(match.group(1)) if match else 0, name)


def _read_tweets(
    bundle: Bundle, member: str, deleted: bool, packer: RawPacker, options: ImportOptions
) -> list[_Tweet]:
    origin = provenance(bundle, member, PLATFORM)
    found: list[_Tweet] = []
    for index, item in iter_items(bundle, member):
        found.append(_tweet(bundle, member, index, item, origin, deleted, packer))
        options.tick()
    return found


def _tweet(
    bundle: Bundle,
    member: str,
    index: int,
    item: Any,
    origin: dict[str, str],
    deleted: bool,
    packer: RawPacker,
) -> _Tweet:
    """One array element as a tweet; ParseError naming the file and entry when it is none."""
    data = item.get("tweet", item) if isinstance(item, dict) else None
    if not isinstance(data, dict):
        raise bundle.fail(member, f"entry {index}: not a tweet object")
    tid = text(data.get("id_str")) or text(data.get("id"))
    if tid is None or not _DIGITS.match(tid):
        raise bundle.fail(member, f"entry {index}: no tweet id")
    if not isinstance(data.get("full_text", data.get("text", "")), str):
        raise bundle.fail(member, f"entry {index} (tweet {tid}): full_text is not text")
    created = _date(data.get("created_at"))
    if created is None:
        raise bundle.fail(member, f"entry {index} (tweet {tid}): bad created_at")
    plain, markup = _content(data)
    language = text(data.get("lang"))
    return _Tweet(
        id=tid,
        created=created,
        edit_ids=_edit_ids(tid, data),
        replied=text(data.get("in_reply_to_status_id_str"))
        or text(data.get("in_reply_to_status_id")),
        replied_user=text(data.get("in_reply_to_screen_name")),
        text=plain,
        html=markup,
        tags=_hashtags(data),
        media=tuple(_media(data)),
        likes=count(data.get("favorite_count")),
        reposts=count(data.get("retweet_count")),
        language=None if language in (None, "und") else language,
        raw=packer.pack(origin, {"tweet": data}),
        deleted=deleted,
        deleted_at=_date(data.get("deleted_at")) if deleted else None,
    )


def _account(bundle: Bundle, prefix: str, options: ImportOptions) -> _Account:
    """account.js, else manifest.js, else the configured account (a handle)."""
    member = prefix + "account.js"
    if member in bundle.names():
        items = read_js(bundle, member)
        first = items[0] if isinstance(items, list) and items else None
        info = first.get("account") if isinstance(first, dict) else None
        if isinstance(info, dict) and text(info.get("username")):
            return _Account(text(info.get("username")), text(info.get("accountDisplayName")))
    member = prefix + "manifest.js"
    if member in bundle.names():
        manifest = read_js(bundle, member)
        user = manifest.get("userInfo") if isinstance(manifest, dict) else None
        if isinstance(user, dict) and text(user.get("userName")):
            return _Account(text(user.get("userName")), text(user.get("displayName")))
    handle = (options.account or "").strip().lstrip("@") or None
    return _Account(handle if handle and "/" not in handle else None, None)


def _media_index(bundle: Bundle, prefix: str) -> dict[str, str]:
    """File name -> member for every file in the archive's media folders."""
    index: dict[str, str] = {}
    for name in bundle.names():
        rest = name[len(prefix) :] if name.startswith(prefix) else None
        if rest and "/" in rest and rest.split("/", 1)[0] in _MEDIA_DIRS:
            index.setdefault(PurePosixPath(rest).name, name)
    return index


# --------------------------------------------------------------------------- edit chains


def _chains(tweets: list[_Tweet]) -> tuple[dict[str, list[_Tweet]], dict[str, str]]:
    """Versions of each tweet (oldest first) keyed by the chain's oldest id; id -> that key."""
    alias: dict[str, str] = {}
    chains: dict[str, list[_Tweet]] = {}
    for tweet in tweets:
        ids = tweet.edit_ids
        key = ids[0] if len(ids) == 1 else min(ids, key=int)
        for other in ids:
            alias.setdefault(other, key)
    for tweet in tweets:
        key = alias[tweet.id]
        while alias.get(key, key) != key:
            key = alias[key]
        chains.setdefault(key, []).append(tweet)
    for key, versions in chains.items():
        versions.sort(key=lambda t: int(t.id))
        for tweet in versions:
            alias[tweet.id] = key
    return chains, alias


def _edit_ids(tid: str, data: dict[str, Any]) -> tuple[str, ...]:
    """Every id of the tweet's edit chain that the tweet names, its own first."""
    info = data.get("edit_info")
    ids = [tid]
    if not isinstance(info, dict):
        return tuple(ids)
    initial, edit = info.get("initial"), info.get("edit")
    listed: Any = None
    if isinstance(initial, dict):
        listed = initial.get("editTweetIds")
    if isinstance(edit, dict):
        first = text(edit.get("initialTweetId"))
        if first and _DIGITS.match(first):
            ids.append(first)
        control = edit.get("editControlInitial")
        if isinstance(control, dict):
            listed = control.get("editTweetIds")
    if isinstance(listed, list):
        ids += [i for i in (text(v) for v in listed) if i and _DIGITS.match(i)]
    return tuple(dict.fromkeys(ids))


def _thread_roots(chains: dict[str, list[_Tweet]], alias: dict[str, str]) -> dict[str, str]:
    parents: dict[str, str | None] = {}
    for key, versions in chains.items():
        replied = versions[-1].replied
        parents[key] = alias.get(replied, replied) if replied else None
    return thread_roots(parents)


# --------------------------------------------------------------------------- posts


def _post(
    tweet: _Tweet,
    key: str,
    first: _Tweet,
    account: _Account,
    author: Author | None,
    alias: dict[str, str],
    root: str | None,
) -> Post:
    replied = tweet.replied
    kind: PostKind = "post"
    if tweet.text.startswith("RT @"):
        kind = "repost"
    elif replied:
        kind = "reply"
    parent_url = None
    if replied:
        parent_url = f"https://twitter.com/{tweet.replied_user or 'i/web'}/status/{replied}"
    return Post(
        platform=PLATFORM,
        native_id=key,
        kind=kind,
        is_own=True,
        url=_status_url(account.username, key),
        content_html=tweet.html,
        content_text=tweet.text,
        language=tweet.language,
        author=author,
        published_at=first.created,
        updated_at=tweet.created if tweet is not first else None,
        in_reply_to=alias.get(replied, replied) if replied else None,
        in_reply_to_url=parent_url,
        thread_root=root,
        tags=tweet.tags,
        media=tuple(media for media, _ in tweet.media),
        like_count=tweet.likes,
        repost_count=tweet.reposts,
        raw=tweet.raw,
    )


def _status_url(username: str | None, tid: str) -> str:
    return f"https://twitter.com/{username or 'i/web'}/status/{tid}"


def _author(account: _Account) -> Author | None:
    if not account.username:
        return None
    return Author(
        platform=PLATFORM,
        handle=account.username,
        name=account.name,
        url=f"https://twitter.com/{account.username}",
    )


def _entities(data: dict[str, Any], key: str) -> list[dict[str, Any]]:
    entities = data.get("entities")
    items = entities.get(key) if isinstance(entities, dict) else None
    return [item for item in items or () if isinstance(item, dict)]


def _content(data: dict[str, Any]) -> tuple[str, str]:
    """Text with t.co links expanded (media links dropped: the media is attached) and HTML."""
    body = str(data.get("full_text", data.get("text", "")) or "")
    for item in _entities(data, "urls"):
        short, expanded = text(item.get("url")), text(item.get("expanded_url"))
        if short and expanded:
            body = body.replace(short, expanded)
    for item in _media_entities(data):
        short = text(item.get("url"))
        if short:
            body = body.replace(short, "")
    plain = html.unescape(body).strip()
    return plain, _to_html(plain)


def _to_html(plain: str) -> str:
    parts: list[str] = []
    position = 0
    for match in _URL.finditer(plain):
        parts.append(html.escape(plain[position : match.start()]))
        url = html.escape(match.group(0))
        parts.append(f'<a href="{url}">{url}</a>')
        position = match.end()
    parts.append(html.escape(plain[position:]))
    return "<p>" + "".join(parts).replace("\n", "<br>\n") + "</p>"


def _hashtags(data: dict[str, Any]) -> tuple[str, ...]:
    tags: list[str] = []
    for item in _entities(data, "hashtags"):
        tag = text(item.get("text"))
        if tag and tag not in tags:
            tags.append(tag)
    return tuple(tags)


def _media_entities(data: dict[str, Any]) -> list[dict[str, Any]]:
    extended = data.get("extended_entities")
    items = extended.get("media") if isinstance(extended, dict) else None
    found = [item for item in items or () if isinstance(item, dict)]
    return found or _entities(data, "media")


def _media(data: dict[str, Any]) -> list[tuple[Media, str]]:
    """Each attachment as (media row, the file name the archive gives it)."""
    found: list[tuple[Media, str]] = []
    seen: set[str] = set()
    for item in _media_entities(data):
        kind = text(item.get("type")) or "photo"
        url = _best_video(item) if kind in ("video", "animated_gif") else None
        url = url or text(item.get("media_url_https")) or text(item.get("media_url"))
        if not url or url in seen:
            continue
        seen.add(url)
        basename = PurePosixPath(urlsplit(url).path).name
        mime = guess_mime(basename)
        found.append(
            (
                Media(
                    url=url,
                    kind="image" if kind == "photo" else media_kind(mime),
                    mime=mime,
                    alt=text(item.get("ext_alt_text")),
                ),
                basename,
            )
        )
    return found


def _best_video(item: dict[str, Any]) -> str | None:
    info = item.get("video_info")
    variants = info.get("variants") if isinstance(info, dict) else None
    best: tuple[int, str] | None = None
    for variant in variants or ():
        if not isinstance(variant, dict) or variant.get("content_type") != "video/mp4":
            continue
        url = text(variant.get("url"))
        rate = count(variant.get("bitrate")) or 0
        if url and (best is None or rate > best[0]):
            best = (rate, url)
    return best[1] if best else None


def _local_files(pid: str, versions: list[_Tweet], index: dict[str, str]) -> list[LocalFile]:
    """The archive's copy of each attachment: `<tweet id>-<file name>` in tweets_media/."""
    files: list[LocalFile] = []
    for media, basename in versions[-1].media:
        member = None
        for tweet in reversed(versions):
            member = index.get(f"{tweet.id}-{basename}")
            if member:
                break
        if member is None and media.kind == "video":
            stems = [n for n in index if n.startswith(f"{versions[-1].id}-")]
            videos = [n for n in stems if (guess_mime(n) or "").startswith("video/")]
            member = index[videos[0]] if len(videos) == 1 else None
        if member:
            files.append(LocalFile(pid, media.url, member, media.mime or guess_mime(member)))
    return files


def _date(value: Any) -> datetime | None:
    """Twitter's `Tue Apr 08 17:27:14 +0000 2025` (always UTC), or ISO 8601."""
    raw = text(value)
    if raw is None:
        return None
    match = _TWITTER_DATE.match(raw)
    if match is None or match.group(1) not in _MONTHS:
        return parse_iso(raw)
    month, day, hour, minute, second, year = match.groups()
    try:
        return datetime(
            int(year), _MONTHS[month], int(day), int(hour), int(minute), int(second), tzinfo=UTC
        )
    except ValueError:
        return None
