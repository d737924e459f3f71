"""Writing source results into the archive: merge, version, never lose what was known."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ownfeed.archive.db import Archive
from ownfeed.models import Author, Media, Post, SourceResult, iso, post_id, short_hash, utcnow

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


def _raw_json(raw: Any) -> str | None:
    if raw is None:
        return None
    if isinstance(raw, str):
        return raw
    return json.dumps(raw, ensure_ascii=False, sort_keys=True, default=str)


def _write_author(conn: sqlite3.Connection, author: Author) -> str:
    conn.execute(
        """INSERT INTO authors (id, platform, handle, name, url, avatar_url)
           VALUES (?, ?, ?, ?, ?, ?)
           ON CONFLICT (id) DO UPDATE SET
             handle = coalesce(excluded.handle, handle),
             name = coalesce(excluded.name, name),
             url = coalesce(excluded.url, url),
             avatar_url = coalesce(excluded.avatar_url, avatar_url)""",
        (author.id, author.platform, author.handle, author.name, author.url, author.avatar_url),
    )
    return author.id


def _write_media(conn: sqlite3.Connection, pid: str, items: Iterable[Media]) -> None:
    for item in items:
        conn.execute(
            """INSERT INTO media (id, post_id, url, kind, mime, alt, width, height)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?)
               ON CONFLICT (id) DO UPDATE SET
                 alt = coalesce(excluded.alt, alt),
                 mime = coalesce(mime, excluded.mime),
                 width = coalesce(excluded.width, width),
                 height = coalesce(excluded.height, height)""",
            (
                media_id(pid, item.url),
                pid,
                item.url,
                item.kind,
                item.mime,
                item.alt,
                item.width,
                item.height,
            ),
        )


def _write_tags(conn: sqlite3.Connection, pid: str, tags: Iterable[str]) -> None:
    conn.executemany(
        "INSERT OR IGNORE INTO post_tags (post_id, tag) VALUES (?, ?)",
        [(pid, tag.strip()) for tag in tags if tag and tag.strip()],
    )


def _add_version(
    conn: sqlite3.Connection, pid: str, version: int, now: str, post: Post, digest: str
) -> None:
    conn.execute(
        """INSERT OR IGNORE INTO post_versions
           (post_id, version, captured_at, title, content_html, content_hash)
           VALUES (?, ?, ?, ?, ?, ?)""",
        (pid, version, now, post.title, post.content_html, digest),
    )


def _row_values(post: Post, author: str | None) -> dict[str, Any]:
    return {
        "url": post.url,
        "title": post.title,
        "language": post.language,
        "author_id": author,
        "published_at": iso(post.published_at),
        "updated_at": iso(post.updated_at),
        "in_reply_to_url": post.in_reply_to_url,
        "in_reply_to_native": post.in_reply_to,
        "repost_of_native": post.repost_of,
        "reply_count": post.reply_count,
        "like_count": post.like_count,
        "repost_count": post.repost_count,
        "raw": _raw_json(post.raw),
    }


def _insert_post(
    conn: sqlite3.Connection, post: Post, source: str, now: str, author: str | None
) -> None:
    pid = post.id
    digest = post.hash
    root = post_id(post.platform, post.thread_root) if post.thread_root else pid
    values = {
        **_row_values(post, author),
        "id": pid,
        "platform": post.platform,
        "native_id": post.native_id,
        "source": source,
        "kind": post.kind,
        "is_own": int(post.is_own),
        "content_html": post.content_html,
        "content_text": post.text,
        "first_seen_at": now,
        "last_seen_at": now,
        "thread_root": root,
        "content_hash": digest,
        "versions": 1,
    }
    columns = ", ".join(values)
    marks = ", ".join(f":{name}" for name in values)
    conn.execute(f"INSERT INTO posts ({columns}) VALUES ({marks})", values)
    _add_version(conn, pid, 1, now, post, digest)


def _update_post(
    conn: sqlite3.Connection, row: sqlite3.Row, post: Post, now: str, author: str | None
) -> bool:
    """Merge a new delivery into an archived post; True when something a reader sees changed."""
    pid = row["id"]
    changes: dict[str, Any] = {}
    for column, value in _row_values(post, author).items():
        if value is not None and value != row[column]:
            changes[column] = value
    if post.thread_root and row["thread_root"] == pid and post.thread_root != post.native_id:
        changes["thread_root"] = post_id(post.platform, post.thread_root)
    if post.is_own and not row["is_own"]:
        changes["is_own"] = 1
    if post.kind != row["kind"] and row["kind"] == "post" and post.kind != "post":
        changes["kind"] = post.kind
    has_content = bool(post.content_html or post.content_text)
    digest = post.hash
    new_version = has_content and digest != row["content_hash"]
    if has_content and (new_version or post.content_html != row["content_html"]):
        changes["content_html"] = post.content_html
        changes["content_text"] = post.text
    if new_version:
        if post.title is None and row["title"] is not None:
            changes["title"] = None  # the new version has no title; the old one stays in versions
        changes["content_hash"] = digest
        changes["versions"] = row["versions"] + 1
        _add_version(conn, pid, row["versions"] + 1, now, post, digest)
    changes["last_seen_at"] = now
    if row["gone_at"] is not None:
        changes["gone_at"] = None
        changes["gone_reason"] = None
    columns = ", ".join(f"{name} = :{name}" for name in changes)
    conn.execute(f"UPDATE posts SET {columns} WHERE id = :id", {**changes, "id": pid})
    meaningful = set(changes) - {"last_seen_at", "raw", "reply_count", "like_count"}
    meaningful -= {"repost_count", "updated_at"}
    return bool(new_version or meaningful)


def _link_relations(conn: sqlite3.Connection, posts: Sequence[Post]) -> None:
    """Point replies and reposts at their parents once both are archived, in either order."""
    by_id = {p.id: p for p in posts}
    wanted: set[str] = set()
    for post in posts:
        if post.in_reply_to:
            wanted.add(post_id(post.platform, post.in_reply_to))
        if post.repost_of:
            wanted.add(post_id(post.platform, post.repost_of))
    present = _present(conn, wanted)
    for post in posts:
        if post.in_reply_to:
            parent = post_id(post.platform, post.in_reply_to)
            if parent in present:
                conn.execute(
                    "UPDATE posts SET in_reply_to = ? WHERE id = ? AND in_reply_to IS NULL",
                    (parent, post.id),
                )
        if post.repost_of:
            target = post_id(post.platform, post.repost_of)
            if target in present:
                conn.execute(
                    "UPDATE posts SET repost_of = ? WHERE id = ? AND repost_of IS NULL",
                    (target, post.id),
                )
    # children archived earlier that waited for one of these posts
    for pid, post in by_id.items():
        conn.execute(
            """UPDATE posts SET in_reply_to = ?
               WHERE platform = ? AND in_reply_to_native = ? AND in_reply_to IS NULL""",
            (pid, post.platform, post.native_id),
        )


def store_posts(
    archive: Archive, posts: Sequence[Post], source: str, now: datetime | None = None
) -> WriteCounts:
    """Merge posts into the archive (call inside a transaction). Duplicates: the last wins."""
    stamp = iso(now or utcnow()) or ""
    conn = archive.conn
    unique = list({p.id: p for p in posts}.values())
    existing = _existing(conn, [p.id for p in unique])
    counts = WriteCounts()
    for post in unique:
        author = _write_author(conn, post.author) if post.author else None
        row = existing.get(post.id)
        if row is None:
            _insert_post(conn, post, source, stamp, author)
            counts.new += 1
        elif _update_post(conn, row, post, stamp, author):
            counts.updated += 1
        else:
            counts.unchanged += 1
        _write_tags(conn, post.id, post.tags)
        _write_media(conn, post.id, post.media)
    _link_relations(conn, unique)
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
