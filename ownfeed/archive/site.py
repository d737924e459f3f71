"""Read-only queries for the static-site export.

The export never writes SQL itself (the archive package is the only place that knows it).
Every function here reads in batches: one query per list, or one per chunk of ids, never
one per post, so an export of a large archive stays a handful of queries per page chunk.
"""

from __future__ import annotations

import hashlib
import mimetypes
import posixpath
import re
import sqlite3
import sys
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple, TypeVar

from ownfeed.archive.db import Archive

_CHUNK = 400
_K = TypeVar("_K", str, int)
_EXT_RE = re.compile(r"^[a-z0-9]{1,10}$")
_SHA256_RE = re.compile(r"[0-9a-fA-F]{64}\Z")

# The date a post is listed under: when it was published, else when we first saw it.
_DATE = "coalesce(p.published_at, p.first_seen_at)"

_POST_COLUMNS = f"""
    p.id, p.platform, p.source, p.kind, p.is_own, p.url, p.title, {{content}} AS content_html,
    {{text}} AS content_text, substr(coalesce(p.content_text, ''), 1, {{excerpt}}) AS excerpt,
    p.language,
    {_DATE} AS date, p.published_at, p.updated_at, p.gone_at, p.gone_reason, p.versions,
    coalesce(p.thread_root, p.id) AS thread_root, p.in_reply_to, p.in_reply_to_url,
    p.repost_of, a.name AS author_name, a.handle AS author_handle, a.url AS author_url
"""
_FROM = "FROM posts p LEFT JOIN authors a ON a.id = p.author_id"


class SitePost(NamedTuple):
    """One post as a page shows it; `content_html` is None in list summaries (not loaded).

    `content_text` is only loaded with the content, and only when there is no HTML
    (text-only platforms): then it is what the page shows.

    A named tuple, not a dataclass: an export makes one per post of the archive, and a
    tuple is made in one step from its values (a row, or the model cache's tuple), where a
    frozen dataclass sets 24 slots one by one (~5 µs a post).
    """

    id: str
    platform: str
    source: str | None
    kind: str
    is_own: bool
    url: str | None
    title: str | None
    content_html: str | None
    content_text: str | None
    excerpt: str
    language: str | None
    date: str
    published_at: str | None
    updated_at: str | None
    gone_at: str | None
    gone_reason: str | None
    versions: int
    thread_root: str
    in_reply_to: str | None
    in_reply_to_url: str | None
    repost_of: str | None
    author_name: str | None
    author_handle: str | None
    author_url: str | None


class PostMark(NamedTuple):
    """What decides whether a post's pages must be rendered again: its change marker.

    `sig` joins every column a page shows (content hash, title, versions, gone state,
    relations, author) and when it was last delivered, so an unchanged `sig` means an
    unchanged page input.
    """

    id: str
    thread_root: str
    in_reply_to: str | None
    is_own: bool
    date: str
    sig: str


@dataclass(frozen=True, slots=True)
class Version:
    """An earlier content of a post (post_versions), oldest first."""

    post_id: str
    version: int
    captured_at: str
    title: str | None
    content_html: str | None


@dataclass(frozen=True, slots=True)
class MediaItem:
    """A media row; `file` is the site file name (`<sha256>.<ext>`) when it was downloaded."""

    id: str
    post_id: str
    url: str
    kind: str | None
    mime: str | None
    alt: str | None
    width: int | None
    height: int | None
    sha256: str | None
    local_path: str | None
    file: str | None = field(init=False, compare=False)  # the site file name, if downloaded

    def __post_init__(self) -> None:
        # Made once: a model reads it for every item two or three times.
        object.__setattr__(self, "file", _file_name(self.sha256, self.local_path, self.mime))


def _file_name(sha256: str | None, local_path: str | None, mime: str | None) -> str | None:
    if not (sha256 and local_path and _SHA256_RE.match(sha256)):
        return None  # a value that is no hex digest never becomes a file name
    return f"{sha256.lower()}.{media_extension(local_path, mime)}"


@dataclass(frozen=True, slots=True)
class SourceInfo:
    name: str
    type: str
    title: str | None
    home_url: str | None


def media_extension(local_path: str, mime: str | None) -> str:
    """The extension of a stored media file: from its name, else its MIME type, else bin."""
    name = posixpath.basename(posixpath.normpath(local_path))  # as PurePosixPath's name
    dot = name.rfind(".")  # its suffix, without making a path object (15,000 per export)
    suffix = name[dot + 1 :].lower() if 0 < dot < len(name) - 1 else ""
    if _EXT_RE.match(suffix):
        return suffix
    guessed = mimetypes.guess_extension(mime or "") or ""
    guessed = guessed.lstrip(".").lower()
    return guessed if _EXT_RE.match(guessed) else "bin"


def _chunks(ids: Sequence[_K]) -> Iterator[Sequence[_K]]:
    for start in range(0, len(ids), _CHUNK):
        yield ids[start : start + _CHUNK]


def _marks(count: int) -> str:
    return ",".join("?" * count)


def _rows(archive: Archive | Reader, sql: str, params: Sequence[Any] = ()) -> sqlite3.Cursor:
    """Plain tuples instead of `sqlite3.Row`s, for the scans over every post."""
    cursor = archive.conn.cursor()
    cursor.row_factory = None
    return cursor.execute(sql, params)


class Reader:
    """A connection of its own for one scan over every post (`mark_rows`, `each_own_post`).

    Why: SQLite runs such a scan, and its sort, inside the query's first step without
    holding the GIL, so a thread can start it while the caller does other work; the
    caller then reads the rows itself (a thread handing them over would take the GIL
    back for every row). So the connection is not bound to the thread that opened it:
    one thread at a time, never two at once. A scan reads each page once, so the page
    cache is small. It reads what is committed: nobody writes during an export.
    """

    CACHE_KIB = 512

    def __init__(self, path: str) -> None:
        self.conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        try:
            self.conn.execute(f"PRAGMA cache_size = -{self.CACHE_KIB}")
        except BaseException:
            self.conn.close()
            raise

    def close(self) -> None:
        self.conn.close()


_new_post = tuple.__new__
_POST_FIELDS = len(SitePost._fields)


def _post(row: sqlite3.Row | tuple[Any, ...]) -> SitePost:
    """Positional and with shared strings on purpose: this runs for every post of an export,
    and a large export keeps every summary in memory."""
    values = list(row)
    for index in (1, 2, 3, 10, 21, 22, 23):  # platform, source, kind, language, author
        value = values[index]
        if value is not None:
            values[index] = sys.intern(value)
    if values[11] == values[12]:
        values[12] = values[11]  # date is published_at: one string, not two
    if values[17] == values[0]:
        values[17] = values[0]  # a thread's root: thread_root is its own id
    values[4] = bool(values[4])
    if len(values) != _POST_FIELDS:
        raise ValueError(f"a post has {_POST_FIELDS} fields, not {len(values)}")
    return _new_post(SitePost, values)


def _select(content: bool, excerpt: int) -> str:
    text = "CASE WHEN coalesce(p.content_html, '') = '' THEN p.content_text END"
    columns = _POST_COLUMNS.format(
        content="p.content_html" if content else "NULL",
        text=text if content else "NULL",
        excerpt=int(excerpt),
    )
    return f"SELECT {columns} {_FROM}"


def own_posts(
    archive: Archive,
    *,
    source: str | None = None,
    tag: str | None = None,
    month: str | None = None,
    limit: int | None = None,
    offset: int = 0,
    content: bool = False,
    excerpt: int = 300,
) -> list[SitePost]:
    """Our own posts, newest first, optionally of one source, tag or month (`yyyy-mm`).

    The export reads them all at once (`limit=None`) and pages in memory: OFFSET paging
    per page would make a large export quadratic.
    """
    where = ["p.is_own = 1"]
    params: list[Any] = []
    if source is not None:
        where.append("p.source = ?")
        params.append(source)
    if tag is not None:
        where.append("p.id IN (SELECT post_id FROM post_tags WHERE tag = ?)")
        params.append(tag)
    if month is not None:
        where.append(f"substr({_DATE}, 1, 7) = ?")
        params.append(month)
    sql = f"{_select(content, excerpt)} WHERE {' AND '.join(where)} ORDER BY date DESC, p.id DESC"
    if limit is not None:
        sql += " LIMIT ? OFFSET ?"
        params += [limit, offset]
    return [_post(row) for row in _rows(archive, sql, params)]


def each_own_post(archive: Archive | Reader, *, excerpt: int = 300) -> Iterator[SitePost]:
    """`own_posts(archive, excerpt=excerpt)`, made as they are read. The query runs on the
    call (its scan and sort are the first step): the model load starts it in a thread."""
    sql = f"{_select(False, excerpt)} WHERE p.is_own = 1 ORDER BY date DESC, p.id DESC"
    return map(_post, _rows(archive, sql))


def excerpts(archive: Archive, ids: Iterable[str], chars: int = 300) -> dict[str, str]:
    """The start of each post's text, for lists (summaries are loaded without it)."""
    wanted = sorted(set(ids))
    found: dict[str, str] = {}
    for chunk in _chunks(wanted):
        sql = f"""SELECT id, substr(coalesce(content_text, ''), 1, {int(chars)}) FROM posts
                  WHERE id IN ({_marks(len(chunk))})"""
        found.update(archive.conn.execute(sql, list(chunk)).fetchall())
    return found


def count_own(archive: Archive) -> int:
    row = archive.one("SELECT count(*) FROM posts WHERE is_own = 1")
    return int(row[0]) if row else 0


def posts_by_id(archive: Archive, ids: Iterable[str], *, excerpt: int = 300) -> dict[str, SitePost]:
    """Full posts (with content) by id, for reposted posts and originals of copies."""
    wanted = sorted(set(ids))
    found: dict[str, SitePost] = {}
    for chunk in _chunks(wanted):
        sql = f"{_select(True, excerpt)} WHERE p.id IN ({_marks(len(chunk))})"
        for row in archive.conn.execute(sql, list(chunk)):
            found[row["id"]] = _post(row)
    return found


def threads(
    archive: Archive, roots: Iterable[str], *, excerpt: int = 300
) -> dict[str, list[SitePost]]:
    """Every post of the given threads (same thread_root), oldest first, with content."""
    wanted = sorted(set(roots))
    found: dict[str, list[SitePost]] = {root: [] for root in wanted}
    select = _select(True, excerpt)
    for chunk in _chunks(wanted):
        marks = _marks(len(chunk))
        sql = (
            f"SELECT * FROM ({select} WHERE p.thread_root IN ({marks}) UNION ALL "
            f"{select} WHERE p.thread_root IS NULL AND p.id IN ({marks})) ORDER BY date, id"
        )
        for row in archive.conn.execute(sql, [*chunk, *chunk]):
            post = _post(row)
            found.setdefault(post.thread_root, []).append(post)
    return found


def post_thread(archive: Archive, post_id: str) -> list[tuple[SitePost, int]]:
    """One post's whole thread with each post's depth below the root (from in_reply_to).

    Replies whose parent is not archived hang directly below the root.
    """
    row = archive.one("SELECT coalesce(thread_root, id) FROM posts WHERE id = ?", (post_id,))
    if row is None:
        return []
    posts = threads(archive, [row[0]]).get(row[0], [])
    by_id = {p.id: p for p in posts}
    depths: dict[str, int] = {}

    def depth(post: SitePost, guard: int = 0) -> int:
        if post.id in depths:
            return depths[post.id]
        parent = by_id.get(post.in_reply_to or "")
        if post.id == post.thread_root or guard > len(posts):
            value = 0
        elif parent is None or parent.id == post.id:
            value = 1
        else:
            value = depth(parent, guard + 1) + 1
        depths[post.id] = value
        return value

    return [(p, depth(p)) for p in posts]


_MARKS_SQL = f"""
    SELECT p.id, coalesce(p.thread_root, p.id), p.in_reply_to, p.is_own, {_DATE},
      p.platform || '|' || p.kind || '|' || coalesce(p.source, '') || '|' ||
      coalesce(p.url, '') || '|' || coalesce(p.title, '') || '|' ||
      coalesce(p.content_hash, '') || '|' || p.last_seen_at || '|' || p.versions || '|' ||
      coalesce(p.gone_at, '') || '|' || coalesce(p.gone_reason, '') ||
      '|' || coalesce(p.published_at, '') || '|' || coalesce(p.updated_at, '') || '|' ||
      coalesce(p.in_reply_to, '') || '|' || coalesce(p.in_reply_to_url, '') || '|' ||
      coalesce(p.repost_of, '') || '|' || coalesce(p.language, '') || '|' ||
      coalesce(a.name, '') || '|' || coalesce(a.handle, '') || '|' || coalesce(a.url, '')
    {_FROM} ORDER BY 2, 5, 1
"""


_MARKS_SELECT = _MARKS_SQL.split(f"{_FROM} ORDER BY")[0].replace("{", "{{").replace("}", "}}")
_THREAD_MARKS_SQL = (  # two index lookups, as in `threads`
    f"{_MARKS_SELECT} {_FROM} WHERE p.thread_root IN ({{marks}}) UNION ALL "
    f"{_MARKS_SELECT} {_FROM} WHERE p.thread_root IS NULL AND p.id IN ({{marks}})"
)

#: `bucket_prints` reads posts in buckets of this many bits of rowid (8 rowids).
BUCKET_BITS = 3
_POST_CHANGE = """last_seen_at || coalesce(gone_at, '') || coalesce(content_hash, '') ||
    versions || is_own || kind || coalesce(in_reply_to, '') || coalesce(thread_root, '') ||
    coalesce(repost_of, '') || coalesce(author_id, '') || coalesce(source, '')"""
_ROW_CHANGE = f"rowid || ':' || id || ':' || {_POST_CHANGE}"
_BUCKET_TEXT = f"""(SELECT group_concat({_ROW_CHANGE}, char(30)) FROM posts
    WHERE rowid BETWEEN n << {BUCKET_BITS} AND ((n + 1) << {BUCKET_BITS}) - 1)"""
_BUCKETS = f"""WITH RECURSIVE bucket(n) AS (
      SELECT 0 UNION ALL SELECT n + 1 FROM bucket
      WHERE n < (SELECT max(rowid) FROM posts) >> {BUCKET_BITS}
    )"""
_BUCKETS_SQL = f"{_BUCKETS} SELECT {_BUCKET_TEXT} FROM bucket"
# all buckets in one row, in bucket order (the aggregate reads the CTE's rows as made)
_BUCKETS_JOINED_SQL = (
    f"{_BUCKETS} SELECT count(*), group_concat(coalesce({_BUCKET_TEXT}, ''), char(29)) FROM bucket"
)
_ROW_CHANGES_SQL = f"SELECT rowid, id, coalesce(thread_root, id), {_ROW_CHANGE} FROM posts"


#: A `post_marks` row as `mark_rows` reads it: id, root, in_reply_to, is_own, date, sig.
MarkRow = tuple[str, str, str | None, int, str, str]


def mark_rows(archive: Archive | Reader) -> Iterator[MarkRow]:
    """The rows of `post_marks` as plain tuples (`is_own` an int), in the same order. The
    query runs on the call (its scan and sort are the first step), as for `each_own_post`.

    Why: the model load reads one per post and keeps none of them; a named tuple per row
    costs more than the loop that reads it.
    """
    return _rows(archive, _MARKS_SQL)


def post_marks(archive: Archive) -> Iterator[PostMark]:
    """The change marker of every post, for incremental export (one scan, no content),
    thread by thread, oldest first within a thread.

    `last_seen_at` moves whenever a sync or import delivers the post again, so markup-only
    updates (same visible text, no new version) are caught too; at worst a page is
    rendered again and found byte-identical.
    """
    for pid, root, parent, own, date, sig in mark_rows(archive):
        yield PostMark(pid, root, parent, bool(own), date, sig)


def versions(archive: Archive, post_ids: Iterable[str]) -> dict[str, list[Version]]:
    """Earlier versions (all but the current one) of the given posts, oldest first."""
    wanted = sorted(set(post_ids))
    found: dict[str, list[Version]] = {}
    for chunk in _chunks(wanted):
        sql = f"""
            SELECT v.post_id, v.version, v.captured_at, v.title, v.content_html
            FROM post_versions v JOIN posts p ON p.id = v.post_id
            WHERE v.post_id IN ({_marks(len(chunk))}) AND v.version < p.versions
            ORDER BY v.post_id, v.version
        """
        for row in archive.conn.execute(sql, list(chunk)):
            found.setdefault(row[0], []).append(Version(*row))
    return found


def media(archive: Archive, post_ids: Iterable[str] | None = None) -> dict[str, list[MediaItem]]:
    """Media rows by post (all of them when `post_ids` is None), in a stable order."""
    sql = """
        SELECT id, post_id, url, kind, mime, alt, width, height, sha256, local_path
        FROM media {where} ORDER BY post_id, rowid
    """
    rows: list[sqlite3.Row] = []
    if post_ids is None:
        rows = archive.query(sql.format(where=""))
    else:
        wanted = sorted(set(post_ids))
        for chunk in _chunks(wanted):
            where = f"WHERE post_id IN ({_marks(len(chunk))})"
            rows += archive.query(sql.format(where=where), list(chunk))
    found: dict[str, list[MediaItem]] = {}
    for row in rows:
        found.setdefault(row["post_id"], []).append(MediaItem(*row))
    return found


def downloaded_media(archive: Archive) -> list[MediaItem]:
    """Media with a local copy (sha256 and local_path set): the files the site ships."""
    rows = archive.query(
        """SELECT id, post_id, url, kind, mime, alt, width, height, sha256, local_path
           FROM media WHERE sha256 IS NOT NULL AND local_path IS NOT NULL
           ORDER BY sha256, rowid"""
    )
    return [MediaItem(*row) for row in rows]


def summaries_by_id(archive: Archive | Reader, ids: Iterable[str]) -> list[SitePost]:
    """Our posts among `ids` as `each_own_post(excerpt=0)` makes them, in no set order."""
    wanted = sorted(set(ids))
    found: list[SitePost] = []
    for chunk in _chunks(wanted):
        sql = f"{_select(False, 0)} WHERE p.is_own = 1 AND p.id IN ({_marks(len(chunk))})"
        found.extend(map(_post, _rows(archive, sql, chunk)))
    return found


def thread_mark_rows(archive: Archive | Reader, roots: Iterable[str]) -> list[MarkRow]:
    """`mark_rows` of the given threads' posts only, in the same order."""
    wanted = sorted(set(roots))
    found: list[MarkRow] = []
    for chunk in _chunks(wanted):
        marks = _marks(len(chunk))
        found.extend(_rows(archive, _THREAD_MARKS_SQL.format(marks=marks), [*chunk, *chunk]))
    found.sort(key=lambda row: (row[1], row[4], row[0]))
    return found


def row_changes(
    archive: Archive | Reader, buckets: Iterable[int]
) -> Iterator[tuple[int, str, str, str]]:
    """(rowid, id, thread root, change text) of the posts in the given buckets of rowids,
    in rowid order; the change texts of a bucket, joined by `\\x1e`, are what
    `bucket_prints` hashes."""
    size = 1 << BUCKET_BITS
    rowids = [rowid for n in sorted(set(buckets)) for rowid in range(n * size, (n + 1) * size)]
    for chunk in _chunks(rowids):  # a lookup per rowid: ranges joined by OR scan the table
        sql = f"{_ROW_CHANGES_SQL} WHERE rowid IN ({_marks(len(chunk))}) ORDER BY rowid"
        yield from _rows(archive, sql, chunk)


def post_ids_by_author(archive: Archive | Reader, author_ids: Iterable[str]) -> list[str]:
    wanted = sorted(set(author_ids))
    found: list[str] = []
    for chunk in _chunks(wanted):
        sql = f"SELECT id FROM posts WHERE author_id IN ({_marks(len(chunk))})"
        found.extend(pid for (pid,) in _rows(archive, sql, chunk))
    return found


def author_prints(archive: Archive | Reader) -> dict[str, str]:
    """Each author's shown fields, joined: a post shows its author's name, handle and URL."""
    sql = """SELECT id, coalesce(name, '') || '|' || coalesce(handle, '') || '|' ||
             coalesce(url, '') FROM authors"""
    return dict(_rows(archive, sql))


def bucket_texts(archive: Archive | Reader) -> Iterator[str]:
    """The change texts of each bucket of 2**BUCKET_BITS rowids of posts, joined by
    `\\x1e` ("" for an empty bucket), bucket after bucket.

    The columns are what the change marker (`change_state`) trusts to see every write
    of a post, and it trusts them per bucket too. Each bucket is a rowid range, read in
    rowid order, so its text does not depend on a sort of equal keys. SQLite does the
    reading (~0.25 s at 100,000 posts, without the GIL) and hands over one row: a thread
    reading a row per bucket took the GIL back 12,500 times from a busy main thread
    (~0.9 s instead of ~0.3 s). A value holding the row's separator means a row per bucket.
    """
    count, joined = _rows(archive, _BUCKETS_JOINED_SQL).fetchone()
    joined = joined or ""
    if joined.count("\x1d") + 1 != count:
        yield from (text or "" for (text,) in _rows(archive, _BUCKETS_SQL))
        return
    start = 0
    while (end := joined.find("\x1d", start)) >= 0:  # one slice at a time: the pieces of
        yield joined[start:end]  # a split list stay behind in the heap (~20 MB at peak)
        start = end + 1
    yield joined[start:]


def bucket_prints(archive: Archive | Reader) -> bytes:
    """An 8-byte print (`print_of`) of each bucket's text (`bucket_texts`): the model
    cache re-reads only the posts of buckets whose print moved."""
    return b"".join(map(print_of, bucket_texts(archive)))


PRINT_SIZE = 8
_EMPTY_PRINT = bytes(PRINT_SIZE)


def print_of(text: str | None) -> bytes:
    """The print of a change text, or of a bucket's joined texts (zeros for none)."""
    if not text:
        return _EMPTY_PRINT
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=PRINT_SIZE).digest()


def tag_state(archive: Archive | Reader) -> tuple[int, int]:
    """(rows, largest rowid) of post_tags: tags are only ever added (`INSERT OR IGNORE`)."""
    row = _rows(archive, "SELECT count(*), coalesce(max(rowid), 0) FROM post_tags").fetchone()
    return int(row[0]), int(row[1])


def tags_after(archive: Archive | Reader, rowid: int) -> list[tuple[str, str]]:
    """(post id, tag) of the tag rows added after `rowid`."""
    return list(_rows(archive, "SELECT post_id, tag FROM post_tags WHERE rowid > ?", (rowid,)))


def tags_of(archive: Archive | Reader, ids: Iterable[str]) -> dict[str, list[str]]:
    """Tags of the given posts, sorted, as `tags(own_only=False)` has them."""
    found: dict[str, list[str]] = {}
    for chunk in _chunks(sorted(set(ids))):
        sql = f"SELECT post_id, tag FROM post_tags WHERE post_id IN ({_marks(len(chunk))})"
        for post_id, tag in _rows(archive, sql, chunk):
            found.setdefault(post_id, []).append(sys.intern(tag))
    for found_tags in found.values():
        found_tags.sort()
    return found


def tags(archive: Archive, *, own_only: bool = True) -> dict[str, list[str]]:
    """Tags by post id (of our own posts unless `own_only` is False), sorted."""
    join = "JOIN posts p ON p.id = t.post_id AND p.is_own = 1" if own_only else ""
    rows = _rows(archive, f"SELECT t.post_id, t.tag FROM post_tags t {join} ORDER BY 1, 2")
    found: dict[str, list[str]] = {}
    for post_id, tag in rows:  # plain tuples: a row per tag of every post
        found.setdefault(post_id, []).append(sys.intern(tag))
    return found


def copies(archive: Archive) -> list[tuple[str, str]]:
    """(original, copy) pairs from post_links with relation 'copy' (may be empty)."""
    rows = archive.query(
        """SELECT l.post_id, l.linked_id FROM post_links l
           JOIN posts c ON c.id = l.linked_id JOIN posts o ON o.id = l.post_id
           WHERE l.relation = 'copy' AND l.post_id != l.linked_id ORDER BY 1, 2"""
    )
    return [(row[0], row[1]) for row in rows]


def mentions(archive: Archive) -> list[tuple[str, str, str]]:
    """(post, mentioning post, its kind) from post_links with relation 'mention', oldest
    mention first: pingbacks and others' posts that link to ours."""
    rows = archive.query(
        """SELECT l.post_id, l.linked_id, m.kind FROM post_links l
           JOIN posts m ON m.id = l.linked_id JOIN posts o ON o.id = l.post_id
           WHERE l.relation = 'mention' AND l.post_id != l.linked_id
           ORDER BY l.post_id, coalesce(m.published_at, m.first_seen_at), m.id"""
    )
    return [(row[0], row[1], row[2]) for row in rows]


def sources(archive: Archive) -> dict[str, SourceInfo]:
    rows = archive.query("SELECT name, type, title, home_url FROM sources ORDER BY name")
    return {row[0]: SourceInfo(*row) for row in rows}


def search_texts(
    archive: Archive, ids: Collection[str], *, chars: int | None = None
) -> Iterator[tuple[str, str, str, str, str]]:
    """(id, title, text, platform, date) of the given posts in archive order (rowid).

    `chars` cuts the text (titles and excerpts need no more). Many ids: one scan in storage
    order; a few: looked up by id, then put in the same order.
    """
    text = (
        "coalesce(content_text, '')"
        if chars is None
        else f"substr(coalesce(content_text, ''), 1, {int(chars)})"
    )
    columns = f"rowid, id, coalesce(title, ''), {text}, platform, {_DATE.replace('p.', '')}"
    if len(ids) > 2000:
        for row in archive.conn.execute(f"SELECT {columns} FROM posts ORDER BY rowid"):
            if row[1] in ids:
                yield row[1], row[2], row[3], row[4], row[5]
        return
    found: list[sqlite3.Row] = []
    for chunk in _chunks(sorted(ids)):
        sql = f"SELECT {columns} FROM posts WHERE id IN ({_marks(len(chunk))})"
        found += archive.conn.execute(sql, list(chunk)).fetchall()
    for row in sorted(found, key=lambda r: int(r[0])):
        yield row[1], row[2], row[3], row[4], row[5]


# What the export's "nothing changed" check reads: every column of every table a page,
# list, feed or search entry is made from, concatenated per table in one scan each; the
# posts' columns in buckets (`bucket_prints`), which the model cache reads too.
_CHANGE_PARTS = (
    "SELECT count(*), max(rowid) FROM posts",
    """SELECT count(*), group_concat(id || coalesce(name, '') || coalesce(handle, '') ||
         coalesce(url, ''), '') FROM authors""",
    """SELECT count(*), max(rowid), group_concat(id || coalesce(sha256, '') ||
         coalesce(local_path, '') || coalesce(mime, '') || coalesce(alt, ''), '') FROM media""",
    "SELECT count(*), max(rowid) FROM post_tags",
    "SELECT count(*), max(rowid) FROM post_versions",
    "SELECT count(*), group_concat(post_id || linked_id || relation, '') FROM post_links",
    """SELECT group_concat(name || type || coalesce(title, '') || coalesce(home_url, ''), '')
       FROM sources""",
)


class ChangeState(NamedTuple):
    marker: str  # `change_marker`
    buckets: bytes  # `bucket_prints`, which the marker covers


def change_state(archive: Archive | Reader) -> ChangeState:
    """The change marker, and the prints of the posts' buckets it is made of.

    Why one: both read every post's change columns (~0.4 s at 100,000 posts, in SQLite),
    and an export that found the marker moved reads the buckets that moved next.
    """
    buckets = bucket_prints(archive)
    digest = hashlib.blake2b(buckets, digest_size=16)
    for sql in _CHANGE_PARTS:
        for value in archive.conn.execute(sql).fetchone() or ():
            digest.update(f"{value}\x1f".encode("utf-8", "surrogatepass"))
    return ChangeState(digest.hexdigest(), buckets)


def change_marker(archive: Archive | Reader) -> str:
    """A digest that changes whenever anything the export shows may have changed.

    Why: an export with nothing new should not load and fingerprint every post. This is a
    handful of scans without Python objects per row (~0.4 s for 100,000 posts). Every
    write path moves one of its inputs: new rows change counts and rowids, a delivery
    moves `last_seen_at`, a gone mark sets `gone_at`, links and tags are rows of their own.
    """
    return change_state(archive).marker
