"""Writing source results into the archive: merge, version, never lose what was known."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from functools import lru_cache
from itertools import chain
from operator import itemgetter
from typing import Any
from urllib.parse import urlsplit

from ownfeed.archive.db import Archive
from ownfeed.models import (
    Author,
    Media,
    Post,
    SourceResult,
    html_to_text,
    iso,
    post_id,
    short_hash,
    utcnow,
    visible_hash,
)

_CHUNK = 500

# Columns a later delivery may fill in but never blank out ("knowledge only grows").
_GROWING = (
    "url",
    "title",
    "language",
    "author_id",
    "published_at",
    "updated_at",
    "in_reply_to_url",
    "in_reply_to_native",
    "repost_of_native",
    "reply_count",
    "like_count",
    "repost_count",
    "raw",
)


@dataclass
class WriteCounts:
    """What one batch did to the archive."""

    new: int = 0
    updated: int = 0
    unchanged: int = 0
    gone: int = 0


def media_id(post_id_: str, url: str) -> str:
    return short_hash("media", post_id_, url)


def _chunks(items: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def _existing(conn: sqlite3.Connection, ids: Sequence[str]) -> dict[str, sqlite3.Row]:
    found: dict[str, sqlite3.Row] = {}
    for chunk in _chunks(ids):
        marks = ",".join("?" * len(chunk))
        for row in conn.execute(f"SELECT * FROM posts WHERE id IN ({marks})", list(chunk)):
            found[row["id"]] = row
    return found


def _present(conn: sqlite3.Connection, ids: Iterable[str]) -> set[str]:
    wanted = sorted(set(ids))
    found: set[str] = set()
    for chunk in _chunks(wanted):
        marks = ",".join("?" * len(chunk))
        rows = conn.execute(f"SELECT id FROM posts WHERE id IN ({marks})", list(chunk))
        found.update(row[0] for row in rows)
    return found


# json.dumps with options builds an encoder per call; one shared encoder writes the same text
_JSON = json.JSONEncoder(ensure_ascii=False, sort_keys=True, default=str)


def _raw_json(raw: Any) -> str | None:
    if raw is None:
        return None
    if isinstance(raw, str):
        return raw
    return _JSON.encode(raw)


# Every column of a new post row, in INSERT order.
_POST_COLUMNS = (
    "id",
    "platform",
    "native_id",
    "source",
    "kind",
    "is_own",
    "content_html",
    "content_text",
    "first_seen_at",
    "last_seen_at",
    "thread_root",
    "content_hash",
    "versions",
    *_GROWING,
)
#: New posts per INSERT statement. Many rows per statement, not executemany: FTS5 flushes
#: its pending index data at every statement's savepoint, so one row per statement (as the
#: insert trigger sees it) makes a tiny index segment per post, about 4x slower.
_POSTS_PER_INSERT = 500
_UPSERT_AUTHOR = """INSERT INTO authors (id, platform, handle, name, url, avatar_url)
    VALUES (?, ?, ?, ?, ?, ?)
    ON CONFLICT (id) DO UPDATE SET
      handle = coalesce(excluded.handle, handle),
      name = coalesce(excluded.name, name),
      url = coalesce(excluded.url, url),
      avatar_url = coalesce(excluded.avatar_url, avatar_url)
    WHERE coalesce(excluded.handle, handle) IS NOT handle
       OR coalesce(excluded.name, name) IS NOT name
       OR coalesce(excluded.url, url) IS NOT url
       OR coalesce(excluded.avatar_url, avatar_url) IS NOT avatar_url"""
_UPSERT_MEDIA = """INSERT INTO media (id, post_id, url, kind, mime, alt, width, height)
    VALUES (?, ?, ?, ?, ?, ?, ?, ?)
    ON CONFLICT (id) DO UPDATE SET
      alt = coalesce(excluded.alt, alt),
      mime = coalesce(mime, excluded.mime),
      width = coalesce(excluded.width, width),
      height = coalesce(excluded.height, height)
    WHERE coalesce(excluded.alt, alt) IS NOT alt
       OR coalesce(mime, excluded.mime) IS NOT mime
       OR coalesce(excluded.width, width) IS NOT width
       OR coalesce(excluded.height, height) IS NOT height"""
_INSERT_VERSION = """INSERT OR IGNORE INTO post_versions
    (post_id, version, captured_at, title, content_html, content_hash)
    VALUES (?, ?, ?, ?, ?, ?)"""


class _Batch:
    """The rows one `store_posts` call writes, collected first and sent with executemany.

    Collecting keeps the statement count per batch constant (not per post), which is what
    makes a 15,000-post first sync cheap; the order of rows within each statement is the
    order of the posts, so upserts merge exactly as one statement per post would.
    """

    def __init__(self) -> None:
        self.authors: dict[str, tuple[Any, ...]] = {}
        self.inserts: list[tuple[Any, ...]] = []
        self.updates: dict[tuple[str, ...], list[dict[str, Any]]] = {}
        self.versions: list[tuple[Any, ...]] = []
        self.tags: list[tuple[str, str]] = []
        self.media: list[tuple[Any, ...]] = []
        self._author_ids: dict[Author, str] = {}
        # the Author object queued last for each id, and by identity (a source hands the
        # same object to many posts; the posts keep it alive while the batch lives)
        self._last: dict[str, Author] = {}
        self._seen: dict[int, tuple[Author, str]] = {}

    def author(self, author: Author) -> str:
        """Queue an author upsert; the same id twice is merged the way two upserts would be
        (coalesce: the last non-NULL value of each column wins)."""
        seen = self._seen.get(id(author))
        if seen is not None and seen[0] is author and self._last[seen[1]] is author:
            return seen[1]  # the last one merged into its row: merging again changes nothing
        key = self._author_ids.get(author)
        if key is None:
            key = self._author_ids[author] = author.id
        row: tuple[Any, ...] = (
            key,
            author.platform,
            author.handle,
            author.name,
            author.url,
            author.avatar_url,
        )
        earlier = self.authors.get(key)
        if earlier is not None and earlier != row:
            row = tuple(
                new if new is not None else old for new, old in zip(row, earlier, strict=True)
            )
        self.authors[key] = row
        self._last[key] = author
        self._seen[id(author)] = (author, key)
        return key

    def write(self, conn: sqlite3.Connection) -> None:
        conn.executemany(_UPSERT_AUTHOR, self.authors.values())
        _insert_rows(conn, self.inserts)
        for columns, rows in self.updates.items():
            assignments = ", ".join(f"{name} = :{name}" for name in columns)
            conn.executemany(f"UPDATE posts SET {assignments} WHERE id = :id", rows)
        conn.executemany(_INSERT_VERSION, self.versions)
        conn.executemany("INSERT OR IGNORE INTO post_tags (post_id, tag) VALUES (?, ?)", self.tags)
        conn.executemany(_UPSERT_MEDIA, self.media)


#: Columns a multi-row INSERT leaves out when every one of its rows has None there (the
#: `_GROWING` ones: no DEFAULT, so the stored row is the same). Python's sqlite3 adapts each
#: None parameter through two failed attribute lookups, about 3,300 instructions apiece.
_FIRST_OMITTABLE = len(_POST_COLUMNS) - len(_GROWING)


def _kept_columns(chunk: Sequence[tuple[Any, ...]]) -> tuple[int, ...]:
    """Indexes of the `_POST_COLUMNS` some row of `chunk` has a value for (and all others
    before the `_GROWING` ones)."""
    first = chunk[0]
    keep = list(range(_FIRST_OMITTABLE))
    for index in range(_FIRST_OMITTABLE, len(_POST_COLUMNS)):
        if first[index] is not None:
            keep.append(index)
            continue
        column = list(map(itemgetter(index), chunk))
        if column.count(None) != len(column):
            keep.append(index)
    return tuple(keep)


@lru_cache(maxsize=64)
def _insert_sql(columns: tuple[int, ...], rows: int) -> str:
    names = ", ".join(_POST_COLUMNS[index] for index in columns)
    row = f"({', '.join('?' * len(columns))})"
    return f"INSERT INTO posts ({names}) VALUES " + ", ".join([row] * rows)


def _insert_rows(conn: sqlite3.Connection, rows: Sequence[tuple[Any, ...]]) -> None:
    """New posts, many rows per statement (within SQLite's limit on bound variables)."""
    limit = conn.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    per = max(1, min(_POSTS_PER_INSERT, limit // len(_POST_COLUMNS)))
    for start in range(0, len(rows), per):
        chunk = rows[start : start + per]
        columns = _kept_columns(chunk)
        if len(columns) == len(_POST_COLUMNS):
            values = list(chain.from_iterable(chunk))
        else:
            values = list(chain.from_iterable(map(itemgetter(*columns), chunk)))
        conn.execute(_insert_sql(columns, len(chunk)), values)


def _add_media(batch: _Batch, pid: str, items: Iterable[Media]) -> None:
    batch.media.extend(
        (
            media_id(pid, item.url),
            pid,
            item.url,
            item.kind,
            item.mime,
            item.alt,
            item.width,
            item.height,
        )
        for item in items
    )


#: Trailing URL path segments two media URLs of one post must share (file name included)
#: to name one file: an export's rewritten URL (`<guessed host>/system/media_attachments/
#: files/109/…/original/x.jpg`) against the API's (`<media host>/media_attachments/…`).
_SAME_FILE_SEGMENTS = 4


def _same_file(known: str, url: str) -> bool:
    """Two URLs of one post's media naming one file on different hosts or under different
    prefixes: the same query and at least `_SAME_FILE_SEGMENTS` equal trailing path
    segments. Renditions (`?w=300`) and short paths stay apart."""
    if known == url:
        return False
    a, b = urlsplit(known), urlsplit(url)
    if a.query != b.query:
        return False
    tail_a, tail_b = a.path.split("/"), b.path.split("/")
    if len(tail_a) <= _SAME_FILE_SEGMENTS or len(tail_b) <= _SAME_FILE_SEGMENTS:
        return False  # the leading "" of an absolute path is no segment
    return bool(tail_a[-1]) and tail_a[-_SAME_FILE_SEGMENTS:] == tail_b[-_SAME_FILE_SEGMENTS:]


def _merge_known_media(conn: sqlite3.Connection, batch: _Batch, archived: set[str]) -> None:
    """A file an archived post already has a media row for, under another URL (an import
    done before the first sync guessed the host), updates that row instead of adding one.

    The row that came first stays, with its id, URL and local copy. Only posts that were
    archived before this batch are looked up, so new posts cost nothing here.
    """
    wanted = sorted({item[1] for item in batch.media if item[1] in archived})
    if not wanted:
        return
    known: dict[str, list[tuple[str, str]]] = {}
    for chunk in _chunks(wanted):
        marks = ",".join("?" * len(chunk))
        for row in conn.execute(
            f"SELECT id, post_id, url FROM media WHERE post_id IN ({marks})", list(chunk)
        ):
            known.setdefault(row[1], []).append((row[0], row[2]))
    taken = {item[0] for item in batch.media}  # rows this delivery names by their own URL
    archived_ids = {mid for rows in known.values() for mid, _ in rows}
    for index, item in enumerate(batch.media):
        if item[0] in archived_ids:
            continue  # its own row exists: updated as always
        for mid, url in known.get(item[1], ()):
            if mid not in taken and _same_file(url, item[2]):
                batch.media[index] = (mid, item[1], url, *item[3:])
                taken.add(mid)
                break


def _add_tags(batch: _Batch, pid: str, tags: Iterable[str]) -> None:
    batch.tags.extend((pid, tag.strip()) for tag in tags if tag and tag.strip())


def _growing_values(post: Post, author: str | None) -> tuple[Any, ...]:
    """The `_GROWING` columns of a post, in that order."""
    return (
        post.url,
        post.title,
        post.language,
        author,
        iso(post.published_at),
        iso(post.updated_at),
        post.in_reply_to_url,
        post.in_reply_to,
        post.repost_of,
        post.reply_count,
        post.like_count,
        post.repost_count,
        _raw_json(post.raw),
    )


def _row_values(post: Post, author: str | None) -> dict[str, Any]:
    return dict(zip(_GROWING, _growing_values(post, author), strict=True))


def _keep_provenance(old_raw: str | None, new_raw: Any, new_json: str) -> str:
    """A sync's raw JSON replaces an import's, but the import's provenance stays with it."""
    if not old_raw or '"import": {' not in old_raw[:200] or not isinstance(new_raw, dict):
        return new_json
    if "import" in new_raw:
        return new_json
    try:
        provenance = json.loads(old_raw).get("import")
    except (ValueError, AttributeError):
        return new_json
    return _raw_json({**new_raw, "import": provenance}) or new_json


def _visible(markup: str | None) -> str:
    """`html_to_text`, without its four regular expressions for text with no markup or
    entities (titles, plain-text posts): only its whitespace collapsing applies, which
    `str.split` does alike (both split at exactly the characters `str.isspace` accepts)."""
    if markup and "<" not in markup and "&" not in markup:
        return " ".join(markup.split())
    return html_to_text(markup)


def _text_and_hash(post: Post) -> tuple[str, str]:
    """`post.text` and `post.hash` with the content converted to text once, not twice."""
    visible = _visible(post.content_html or post.content_text)
    text = post.content_text if post.content_text is not None else visible
    return text, visible_hash(_visible(post.title), visible)


def _insert_post(
    batch: _Batch, pid: str, post: Post, source: str, now: str, author: str | None
) -> None:
    text, digest = _text_and_hash(post)
    root = post_id(post.platform, post.thread_root) if post.thread_root else pid
    batch.inserts.append(
        (
            pid,
            post.platform,
            post.native_id,
            source,
            post.kind,
            int(post.is_own),
            post.content_html,
            text,
            now,
            now,
            root,
            digest,
            1,
            *_growing_values(post, author),
        )
    )
    batch.versions.append((pid, 1, now, post.title, post.content_html, digest))


def _update_post(batch: _Batch, row: sqlite3.Row, post: Post, now: str, author: str | None) -> bool:
    """Merge a new delivery into an archived post; True when something a reader sees changed."""
    pid = row["id"]
    changes: dict[str, Any] = {}
    for column, value in _row_values(post, author).items():
        if value is not None and value != row[column]:
            changes[column] = value
    if "raw" in changes:
        changes["raw"] = _keep_provenance(row["raw"], post.raw, changes["raw"])
    if post.thread_root and row["thread_root"] == pid and post.thread_root != post.native_id:
        changes["thread_root"] = post_id(post.platform, post.thread_root)
    if post.is_own and not row["is_own"]:
        changes["is_own"] = 1
    if post.kind != row["kind"] and row["kind"] == "post" and post.kind != "post":
        changes["kind"] = post.kind
    has_content = bool(post.content_html or post.content_text)
    text, digest = _text_and_hash(post)
    new_version = has_content and digest != row["content_hash"]
    if has_content and (new_version or post.content_html != row["content_html"]):
        changes["content_html"] = post.content_html
        changes["content_text"] = text
    if new_version:
        if post.title is None and row["title"] is not None:
            changes["title"] = None  # the new version has no title; the old one stays in versions
        changes["content_hash"] = digest
        changes["versions"] = row["versions"] + 1
        batch.versions.append(
            (pid, row["versions"] + 1, now, post.title, post.content_html, digest)
        )
    changes["last_seen_at"] = now
    if row["gone_at"] is not None:
        changes["gone_at"] = None
        changes["gone_reason"] = None
    # Rows that change the same columns share one executemany; an unchanged re-read only
    # moves last_seen_at and leaves the FTS triggers (UPDATE OF title, content_text) alone.
    batch.updates.setdefault(tuple(changes), []).append({**changes, "id": pid})
    meaningful = set(changes) - {"last_seen_at", "raw", "reply_count", "like_count"}
    meaningful -= {"repost_count", "updated_at"}
    return bool(new_version or meaningful)


def _waiting_children(
    conn: sqlite3.Connection, platform: str, natives: Sequence[str]
) -> list[tuple[str, str]]:
    """(child id, parent native id) of archived replies still waiting for one of `natives`."""
    found: list[tuple[str, str]] = []
    for chunk in _chunks(natives):
        marks = ",".join("?" * len(chunk))
        rows = conn.execute(
            f"""SELECT id, in_reply_to_native FROM posts
                WHERE platform = ? AND in_reply_to_native IN ({marks})
                  AND in_reply_to IS NULL AND in_reply_to_native IS NOT NULL""",
            [platform, *chunk],
        )
        found.extend((row[0], row[1]) for row in rows)
    return found


def _link_relations(conn: sqlite3.Connection, by_id: dict[str, Post]) -> None:
    """Point replies and reposts at their parents once both are archived, in either order."""
    wanted: set[str] = set()
    posts = by_id.values()
    for post in posts:
        if post.in_reply_to:
            wanted.add(post_id(post.platform, post.in_reply_to))
        if post.repost_of:
            wanted.add(post_id(post.platform, post.repost_of))
    present = _present(conn, wanted) if wanted else set()
    parents: list[tuple[str, str]] = []
    targets: list[tuple[str, str]] = []
    for pid, post in by_id.items():
        if post.in_reply_to:
            parent = post_id(post.platform, post.in_reply_to)
            if parent in present:
                parents.append((parent, pid))
        if post.repost_of:
            target = post_id(post.platform, post.repost_of)
            if target in present:
                targets.append((target, pid))
    conn.executemany(
        "UPDATE posts SET in_reply_to = ? WHERE id = ? AND in_reply_to IS NULL", parents
    )
    conn.executemany("UPDATE posts SET repost_of = ? WHERE id = ? AND repost_of IS NULL", targets)
    # children archived earlier that waited for one of these posts: found in one query per
    # chunk through the partial index posts_waiting_parent, updated only where they exist
    by_platform: dict[str, dict[str, str]] = {}
    for pid, post in by_id.items():
        by_platform.setdefault(post.platform, {})[post.native_id] = pid
    waiting: list[tuple[str, str]] = []
    for platform, natives in by_platform.items():
        for child, native in _waiting_children(conn, platform, sorted(natives)):
            waiting.append((natives[native], child))
    conn.executemany(
        "UPDATE posts SET in_reply_to = ? WHERE id = ? AND in_reply_to IS NULL", waiting
    )


def store_posts(
    archive: Archive, posts: Sequence[Post], source: str, now: datetime | None = None
) -> WriteCounts:
    """Merge posts into the archive (call inside a transaction). Duplicates: the last wins.

    One lookup of the existing rows per 500 posts, then one executemany per kind of row:
    no statement runs per post.
    """
    stamp = iso(now or utcnow()) or ""
    conn = archive.conn
    by_id = {p.id: p for p in posts}  # each id computed once: it is a sha256
    existing = _existing(conn, list(by_id))
    counts = WriteCounts()
    batch = _Batch()
    for pid, post in by_id.items():
        author = batch.author(post.author) if post.author else None
        row = existing.get(pid)
        if row is None:
            _insert_post(batch, pid, post, source, stamp, author)
            counts.new += 1
        elif _update_post(batch, row, post, stamp, author):
            counts.updated += 1
        else:
            counts.unchanged += 1
        if post.tags:
            _add_tags(batch, pid, post.tags)
        if post.media:
            _add_media(batch, pid, post.media)
    _merge_known_media(conn, batch, set(existing))
    batch.write(conn)
    _link_relations(conn, by_id)
    return counts


def mark_gone(archive: Archive, result: SourceResult, now: datetime | None = None) -> int:
    """Mark posts gone upstream (kept, never deleted); clear the mark for posts seen again."""
    stamp = iso(now or utcnow())
    conn = archive.conn
    gone = 0
    for item in result.gone:
        cursor = conn.execute(
            """UPDATE posts SET gone_at = ?, gone_reason = ?
               WHERE platform = ? AND native_id = ? AND gone_at IS NULL""",
            (stamp, item.reason, item.platform, item.native_id),
        )
        gone += cursor.rowcount
    for platform, native_id in result.seen_again:
        conn.execute(
            """UPDATE posts SET gone_at = NULL, gone_reason = NULL, last_seen_at = ?
               WHERE platform = ? AND native_id = ?""",
            (stamp, platform, native_id),
        )
    return gone
