"""The last export's model, kept in the site and patched with what changed since.

Why: `SiteModel.load` reads every post (~1.4 s at 100,000 posts, most of it making a
Python object per row), although after a small change only a few hundred posts moved.
The cache (`.ownfeed-model`, marshal, staged and committed with the site) holds the
model's parts and a print of each post's change columns at its rowid. The next export
compares the prints of buckets of 8 rowids (`site.bucket_prints`, which the change
marker reads in a thread anyway), re-reads the posts of the buckets whose print moved,
and reads again only the threads of the posts whose own print moved (plus posts whose
media, author or tags changed). The small tables (media, links, sources) are read whole
every time.

A patched model equals a fresh load, dict order included
(tests/export/test_modelcache.py). Whatever the cache cannot account for means a fresh
load: a post that left its bucket (deleted, or moved by a VACUUM), tags that were
removed, more than a fifth of the buckets changed, or a cache of another format.
"""

from __future__ import annotations

import marshal
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass
from operator import itemgetter
from typing import Any, BinaryIO, TypeVar

from ownfeed.archive import site
from ownfeed.archive.db import Archive
from ownfeed.archive.site import SitePost
from ownfeed.export import urls
from ownfeed.export.model import InThread, SiteModel, Tables, _parents, media_signatures
from ownfeed.export.writer import SiteWriter

NAME = ".ownfeed-model"
FORMAT = 1
_SIZE = site.PRINT_SIZE
_POSTS_CHUNK = 5000  # posts per marshal record: a full export never holds them all twice
_MOST = 0.2  # more changed buckets than this share (and than _FEW): a fresh load is quicker
_FEW = 100
_post_order = itemgetter(11, 0)  # SitePost (date, id): lists are newest first
_new_post = tuple.__new__

T = TypeVar("T")


@dataclass
class Facts:
    """What the cache keeps beside the model, to find what changed next time."""

    rows: bytearray  # each post's change print (`site.print_of`), at its rowid
    buckets: bytes  # `site.bucket_prints`
    tags: tuple[int, int]  # `site.tag_state`
    authors: dict[str, str]  # `site.author_prints`
    media: dict[str, str]  # a post's media, joined (`model.media_signatures`)
    hidden: list[str]  # pingbacks: out of the reply tree
    same: bool = False  # patched, and nothing had changed: the cache in place stays


class Early:
    """The cache, read before it is known to be needed (see `read_early`)."""

    def __init__(self, writer: SiteWriter) -> None:
        self.cached = None if writer.full else _read(writer)


def read_early(writer: SiteWriter) -> Early:
    """Read the cache now: the export calls this while it waits for the change marker,
    which decides whether a model is needed at all (~0.25 s of otherwise idle waiting)."""
    return Early(writer)


def load(
    archive: Archive,
    writer: SiteWriter,
    local_files: set[str] | None,
    buckets: bytes,
    early: Early | None = None,
) -> tuple[SiteModel, Facts]:
    """The model, patched from the cache when the site has one that fits, else loaded;
    `buckets`: the archive's `site.bucket_prints` (the change marker has them)."""
    cached = (early or Early(writer)).cached
    if cached is not None:
        patched = _patch(archive, cached, buckets, local_files)
        if patched is not None:
            return patched
    return _fresh(archive, local_files)


def save(writer: SiteWriter, model: SiteModel, facts: Facts) -> None:
    """Stage the cache of this export's model, record by record (see `_records`)."""
    if facts.same and writer.keep([NAME]):
        return
    head = (
        FORMAT,
        bytes(facts.rows),
        facts.buckets,
        facts.tags,
        facts.authors,
        facts.media,
        facts.hidden,
        len(model.posts),
    )
    with open(writer.staging_path(NAME), "wb") as file:
        _record(file, head)
        for start in range(0, len(model.posts), _POSTS_CHUNK):  # tuples: marshal's own type
            _record(file, [tuple(post) for post in model.posts[start : start + _POSTS_CHUNK]])
        _record(file, (model.digest, model.members, model.parent, list(model.own_ids)))
        _record(file, model.tags)
    writer.adopt(NAME)


def _record(file: BinaryIO, value: Any) -> None:
    data = marshal.dumps(value)
    file.write(len(data).to_bytes(8, "little"))
    file.write(data)


def _records(data: bytes) -> Iterator[Any]:
    """The values `_record` wrote, each marshalled on its own with its length first.

    Why lengths: `marshal.load` from a file reads it in tiny pieces (~6x slower than
    `marshal.loads` of the whole cache); `loads` reads one value from a buffer.
    """
    view = memoryview(data)
    at = 0
    while at < len(view):
        size = int.from_bytes(view[at : at + 8], "little")
        at += 8
        if size <= 0 or at + size > len(view):
            raise ValueError("a damaged record")
        yield marshal.loads(view[at : at + size])
        at += size


# -- fresh load ---------------------------------------------------------------------------


def _fresh(archive: Archive, local_files: set[str] | None) -> tuple[SiteModel, Facts]:
    prints = InThread(archive, _all_prints)
    try:
        model = SiteModel.load(archive, local_files)
        rows, buckets = prints.result()
    finally:
        prints.close()
    facts = Facts(
        rows,
        buckets,
        site.tag_state(archive),
        site.author_prints(archive),
        media_signatures(model.media),
        sorted(model.hidden),
    )
    return model, facts


def _all_prints(reader: Archive | site.Reader) -> tuple[bytearray, bytes]:
    """Each post's change print at its rowid, and the buckets' prints: one read of the
    buckets' texts (`site.bucket_texts`), split into their rows here.

    A value holding the rows' separator only splits a row in two: its print is wrong,
    and the post is read again, needlessly, when its bucket next moves.
    """
    print_of = site.print_of
    rows = bytearray()
    buckets = bytearray()
    for text in site.bucket_texts(reader):
        buckets += print_of(text)
        for row in text.split("\x1e") if text else ():
            rowid, colon, _rest = row.partition(":")
            if colon and rowid.isdigit():
                _put(rows, int(rowid), print_of(row))
    return rows, bytes(buckets)


def _put(prints: bytearray, index: int, value: bytes) -> None:
    """Set the print at `index`, growing the array with empty prints."""
    end = (index + 1) * _SIZE
    if len(prints) < end:
        prints.extend(bytes(end - len(prints)))
    prints[end - _SIZE : end] = value


def _at(prints: bytes | bytearray, index: int) -> bytes:
    value = prints[index * _SIZE : (index + 1) * _SIZE]
    return bytes(value) if len(value) == _SIZE else bytes(_SIZE)


# -- the cache ----------------------------------------------------------------------------


@dataclass
class _Cached:
    facts: Facts
    posts: list[tuple[Any, ...]]
    digest: dict[str, str]
    members: dict[str, list[str]]
    parent: dict[str, str]
    own: set[str]
    tags: dict[str, list[str]]


def _read(writer: SiteWriter) -> _Cached | None:
    """The cache of the last export, if it is in place, whole and of this format."""
    if NAME not in writer.old or NAME not in writer.existing:
        return None
    try:
        records = _records((writer.output / NAME).read_bytes())
        head = next(records)
        if not isinstance(head, tuple) or len(head) != 8 or head[0] != FORMAT:
            return None
        _, rows, buckets, tags, authors, media, hidden, count = head
        posts: list[tuple[Any, ...]] = []
        while len(posts) < count:
            posts.extend(next(records))
        digest, members, parent, own = next(records)
        own_tags = next(records)
        shapes = (
            (rows, bytes),
            (buckets, bytes),
            (tags, tuple),
            (authors, dict),
            (media, dict),
            (hidden, list),
            (digest, dict),
            (members, dict),
            (parent, dict),
            (own, list),
            (own_tags, dict),
        )
        if not all(isinstance(value, kind) for value, kind in shapes) or len(tags) != 2:
            return None
        if len(posts) != count or any(len(post) != len(SitePost._fields) for post in posts[:1]):
            return None
        facts = Facts(bytearray(rows), buckets, tuple(tags), authors, media, hidden)
        return _Cached(facts, posts, digest, members, parent, set(own), own_tags)
    except (OSError, EOFError, ValueError, TypeError, StopIteration):
        return None


# -- patching -----------------------------------------------------------------------------


def _patch(
    archive: Archive, cached: _Cached, buckets: bytes, local_files: set[str] | None
) -> tuple[SiteModel, Facts] | None:
    """The cached model with every post that changed read again; None: load it fresh."""
    tables = Tables.read(archive)
    facts = cached.facts
    authors = site.author_prints(archive)
    media = media_signatures(tables.media)
    tag_state = site.tag_state(archive)
    count = max(len(buckets), len(facts.buckets)) // _SIZE
    moved = [n for n in range(count) if _at(buckets, n) != _at(facts.buckets, n)]
    if len(moved) > max(_FEW, _MOST * count):
        return None
    rows = facts.rows
    changed: set[str] = set()
    new_root: dict[str, str] = {}
    found: set[int] = set()
    for rowid, pid, root, text in site.row_changes(archive, moved):
        found.add(rowid)
        value = site.print_of(text)
        if _at(rows, rowid) != value:
            changed.add(pid)
            new_root[pid] = root
            _put(rows, rowid, value)
    size = 1 << site.BUCKET_BITS
    for n in moved:  # a row that left its bucket: deleted, or moved by a VACUUM
        for rowid in range(n * size, (n + 1) * size):
            if rowid not in found and _at(rows, rowid) != bytes(_SIZE):
                return None
    old_media = facts.media
    changed.update(
        pid for pid in media.keys() | old_media.keys() if media.get(pid) != old_media.get(pid)
    )
    renamed = [aid for aid, value in facts.authors.items() if authors.get(aid) != value]
    if renamed:  # their posts show the author: rare, a scan of every post
        changed.update(site.post_ids_by_author(archive, renamed))
    retag = set(changed)
    if tag_state != facts.tags:
        added = site.tags_after(archive, facts.tags[1])
        if tag_state[0] != facts.tags[0] + len(added):
            return None  # tags were removed: not what a sync does
        retag.update(pid for pid, _tag in added)
    hidden = set(facts.hidden) ^ tables.hidden
    model = _patched_model(archive, cached, tables, changed | hidden, new_root, retag, local_files)
    same = not (moved or changed or hidden or retag) and authors == facts.authors
    new_facts = Facts(rows, buckets, tag_state, authors, media, sorted(tables.hidden), same)
    return model, new_facts


def _patched_model(
    archive: Archive,
    cached: _Cached,
    tables: Tables,
    changed: set[str],
    new_root: dict[str, str],
    retag: set[str],
    local_files: set[str] | None,
) -> SiteModel:
    """Read again the threads of the changed posts (old threads and new) and our changed
    posts' summaries and tags; keep everything else; keep the order a fresh load has."""
    members, digest, parent, own = cached.members, cached.digest, cached.parent, cached.own
    roots = set(new_root.values())
    for root, ids in members.items():
        if root in changed or not changed.isdisjoint(ids):
            roots.add(root)
    new_members: dict[str, list[str]] = defaultdict(list)
    reply_to: dict[str, str] = {}
    for root in roots:
        for pid in members.pop(root, ()):
            digest.pop(pid, None)
            parent.pop(pid, None)
            own.discard(pid)
    for pid, root, in_reply_to, is_own, _date, sig in site.thread_mark_rows(archive, roots):
        digest[pid] = tables.digest(pid, sig)
        new_members[root].append(pid)
        if in_reply_to:
            reply_to[pid] = in_reply_to
        if is_own:
            own.add(pid)
    parent.update(_parents(new_members, reply_to))
    added = not members.keys() >= new_members.keys()
    members.update(new_members)
    if added:  # a new thread: threads are in the order of their roots, as SQL sorts them
        members = dict(sorted(members.items()))
    rows = cached.posts  # posts made in place: each row goes as its post comes (memory)
    cached.posts = []
    for index, row in enumerate(rows):
        rows[index] = _new_post(SitePost, row)
    posts: list[SitePost] = rows  # type: ignore[assignment]  # every row is a post now
    if changed:
        posts = [post for post in posts if post.id not in changed]
    fresh = [post for post in site.summaries_by_id(archive, changed) if urls.SAFE_ID.match(post.id)]
    if fresh:
        posts.extend(fresh)
        posts.sort(key=_post_order, reverse=True)
    tags = cached.tags
    retagged = site.tags_of(archive, retag)
    new_key = False
    for pid in retag:
        if pid in own and pid in retagged:
            new_key = new_key or pid not in tags
            tags[pid] = retagged[pid]
        else:
            tags.pop(pid, None)
    if new_key:  # posts are in the order of their ids, as SQL sorts them
        tags = dict(sorted(tags.items()))
    return tables.model(posts, digest, members, parent, own, tags, local_files)
