"""Planning an import against what the archive already holds: what to write, in what order.

Read-only: every write goes through `ownfeed.archive`. An edited post's earlier versions are
written first, one batch per version, skipping those the archive has seen; deleted posts the
archive already marks gone are left alone; stored media files are not copied again; the
time a post was first imported is looked up so that it is kept, never rewritten.
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from urllib.parse import urlsplit

from ownfeed.archive import Archive
from ownfeed.archive.store import media_id
from ownfeed.importers.batch import ImportBatch, LocalFile, MediaBase
from ownfeed.models import Media, Post

_CHUNK = 500
_PACKED_AT = '{"import": {"at": "'  # how a PackedRaw's JSON begins (keys sorted, `at` first)


@dataclass
class Plan:
    """What to write: post batches in version order, deletions, and files to copy."""

    levels: list[list[Post]] = field(default_factory=list)
    gone: list[tuple[str, datetime | None]] = field(default_factory=list)
    files: list[tuple[str, LocalFile]] = field(default_factory=list)  # (media id, file)
    skipped: int = 0
    imported_at: dict[str, str] = field(default_factory=dict)  # post id -> first import time

    @property
    def total(self) -> int:
        """Posts (and earlier versions) to write."""
        return sum(len(level) for level in self.levels)


def make_plan(archive: Archive, batch: ImportBatch) -> Plan:
    """Decide what is new against what the archive already holds (read-only)."""
    posts, files = batch.posts, batch.files
    if batch.media_base is not None:
        posts, files = _rebase_media(archive, batch.media_base, posts, files)
    posts, files = _reuse_media_urls(archive, posts, files)
    ids = [post.id for post in posts]
    deleted = {pid for pid, post in zip(ids, posts, strict=True) if post.native_id in batch.gone}
    gone_at = _gone_state(archive, sorted(deleted))
    known = _known_hashes(archive, list(batch.history))
    plan = Plan(levels=[[]])
    written: set[str] = set()
    for pid, post in zip(ids, posts, strict=True):
        if pid in deleted and gone_at.get(pid) is not None:
            plan.skipped += 1  # already archived and marked gone: nothing to learn
            continue
        written.add(pid)
        earlier = batch.history.get(pid)
        if earlier is None:
            plan.levels[0].append(post)
        else:
            hashes = known.get(pid, set())
            sends = [v for v in earlier if v.hash not in hashes] + [post]
            for depth, version in enumerate(sends):
                if len(plan.levels) <= depth:
                    plan.levels.append([])
                plan.levels[depth].append(version)
        if pid in deleted:
            plan.gone.append((post.native_id, batch.gone[post.native_id]))
    plan.imported_at = _imported_at(archive, sorted(written))
    stored = _stored_media(archive, sorted({f.post_id for f in files}))
    queued: set[str] = set()
    for file in files:
        mid = media_id(file.post_id, file.url)
        if file.post_id in written and mid not in stored and mid not in queued:
            queued.add(mid)
            plan.files.append((mid, file))
    return plan


def _rebase_media(
    archive: Archive, base: MediaBase, posts: list[Post], files: list[LocalFile]
) -> tuple[list[Post], list[LocalFile]]:
    """Media URLs on the base the API gives, when the archive already knows it."""
    found = _media_base(archive, base)
    if found is None or found == base.guess:
        return posts, files

    def moved(url: str) -> str:
        return found + url[len(base.guess) :] if url.startswith(base.guess) else url

    files = [replace(f, url=moved(f.url)) for f in files]
    renamed: dict[tuple[str, str], str] = {}
    for post in posts:
        for item in post.media:
            if item.url.startswith(base.guess):
                renamed[(post.id, item.url)] = moved(item.url)
    return [_rename_media(p, renamed) for p in posts], files


def _reuse_media_urls(
    archive: Archive, posts: list[Post], files: list[LocalFile]
) -> tuple[list[Post], list[LocalFile]]:
    """An export that rewrote media URLs to archive paths: when the post already has a row
    for the same path under its upstream URL, use that row instead of making a second one."""
    suffixed = [f for f in files if f.same_as_suffix]
    if not suffixed:
        return posts, files
    urls = _media_urls(archive, sorted({f.post_id for f in suffixed}))
    renamed: dict[tuple[str, str], str] = {}
    for file in suffixed:
        for url in urls.get(file.post_id, ()):
            if url != file.url and urlsplit(url).path.endswith(str(file.same_as_suffix)):
                renamed[(file.post_id, file.url)] = url
                break
    if not renamed:
        return posts, files
    files = [replace(f, url=renamed.get((f.post_id, f.url), f.url)) for f in files]
    posts = [_rename_media(p, renamed) for p in posts]
    return posts, files


def _rename_media(post: Post, renamed: dict[tuple[str, str], str]) -> Post:
    if not any((post.id, m.url) in renamed for m in post.media):
        return post
    media: list[Media] = [replace(m, url=renamed.get((post.id, m.url), m.url)) for m in post.media]
    return replace(post, media=tuple(media))


# --------------------------------------------------------------------------- archive reads
# Read-only look-ups the planner needs; every write goes through ownfeed.archive.


def _chunks(ids: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(ids), _CHUNK):
        yield ids[start : start + _CHUNK]


def _rows(archive: Archive, sql: str, ids: Sequence[str]) -> Iterable[sqlite3.Row]:
    for chunk in _chunks(ids):
        marks = ",".join("?" * len(chunk))
        yield from archive.query(sql.format(marks=marks), list(chunk))


def _gone_state(archive: Archive, ids: Sequence[str]) -> dict[str, str | None]:
    sql = "SELECT id, gone_at FROM posts WHERE id IN ({marks})"
    return {row[0]: row[1] for row in _rows(archive, sql, ids)}


def _known_hashes(archive: Archive, ids: Sequence[str]) -> dict[str, set[str]]:
    sql = "SELECT post_id, content_hash FROM post_versions WHERE post_id IN ({marks})"
    known: dict[str, set[str]] = defaultdict(set)
    for post, digest in _rows(archive, sql, ids):
        known[post].add(digest)
    return known


def _imported_at(archive: Archive, ids: Sequence[str]) -> dict[str, str]:
    """`raw.import.at` of archived posts: the time of their first import, to be kept.

    Raw JSON that `PackedRaw` wrote starts with the time: read from there without parsing
    the whole document (a re-import of 100,000 tweets would parse 100 MB of JSON twice).
    """
    start = len(_PACKED_AT) + 1
    head = _PACKED_AT.replace("{", "{{")  # the query is formatted once more, with {marks}
    sql = f"""SELECT id, CASE
               WHEN substr(raw, 1, {start - 1}) = '{head}'
                 THEN substr(raw, {start}, instr(substr(raw, {start}, 64), '"') - 1)
               WHEN instr(raw, '"import"') AND json_valid(raw)
                 THEN json_extract(raw, '$.import.at') END
             FROM posts WHERE id IN ({{marks}})"""
    return {row[0]: row[1] for row in _rows(archive, sql, ids) if isinstance(row[1], str)}


def _media_base(archive: Archive, base: MediaBase) -> str | None:
    """The upstream media base of the account's files, from a URL the API gave for one."""
    row = archive.one(
        """SELECT media.url FROM posts JOIN media ON media.post_id = posts.id
           WHERE posts.platform = ? AND posts.native_id >= ? AND posts.native_id < ?
             AND instr(media.url, ?) > 0 AND substr(media.url, 1, ?) != ?
           ORDER BY posts.published_at DESC LIMIT 1""",
        (
            base.platform,
            base.posts_prefix,
            base.posts_prefix + "\U0010ffff",
            base.marker,
            len(base.guess),
            base.guess,
        ),
    )
    if row is None:
        return None
    url = str(row[0])
    return url[: url.index(base.marker)]


def _stored_media(archive: Archive, post_ids: Sequence[str]) -> set[str]:
    sql = "SELECT id FROM media WHERE local_path IS NOT NULL AND post_id IN ({marks})"
    return {row[0] for row in _rows(archive, sql, post_ids)}


def _media_urls(archive: Archive, post_ids: Sequence[str]) -> dict[str, list[str]]:
    sql = "SELECT post_id, url FROM media WHERE post_id IN ({marks})"
    urls: dict[str, list[str]] = defaultdict(list)
    for post, url in _rows(archive, sql, post_ids):
        urls[post].append(url)
    return urls
