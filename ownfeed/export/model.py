"""What the site is made of, loaded once per export: lists, threads, change markers.

Why one model: every list, feed and page fingerprint is derived from the same few scans
(own posts, change markers of all posts, media, tags, copies), so deciding what to
re-render costs a handful of queries, however large the archive.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import os
import threading
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Generic, TypeVar

from ownfeed.archive import site
from ownfeed.archive.db import Archive
from ownfeed.archive.site import MediaItem, SitePost, SourceInfo
from ownfeed.export import urls
from ownfeed.export.sanitize import media_key, safe_post

T = TypeVar("T")


@dataclass(frozen=True)
class Listing:
    """One paginated list: the index, a source, a tag or a month."""

    kind: str  # "index" | "source" | "tag" | "month"
    key: str  # slug (source, tag), yyyy-mm (month), "" (index)
    name: str  # what readers see
    posts: list[SitePost]

    def page_path(self, page: int) -> str:
        if self.kind == "index":
            return urls.index_page(page)
        if self.kind == "source":
            return urls.source_page(self.key, page)
        if self.kind == "tag":
            return urls.tag_page(self.key, page)
        return urls.month_page(self.key, page)


@dataclass
class SiteModel:
    posts: list[SitePost]  # our own posts, newest first
    by_id: dict[str, SitePost]
    digest: dict[str, str]  # every post: digest of its change marker and its media
    members: dict[str, list[str]]  # thread root -> post ids, oldest first
    parent: dict[str, str]  # post id -> parent id within its thread
    own_ids: set[str]
    media: dict[str, list[MediaItem]]
    media_files: dict[str, str]  # media_key(url) -> site file name (files we ship)
    tags: dict[str, list[str]]
    copies_of: dict[str, list[str]]
    original_of: dict[str, str]
    sources: dict[str, SourceInfo]
    mentions_of: dict[str, list[str]] = field(default_factory=dict)  # "mentioned by"
    hidden: set[str] = field(default_factory=set)  # pingbacks shown as mentions, not replies
    source_slugs: dict[str, str] = field(default_factory=dict)
    tag_slugs: dict[str, str] = field(default_factory=dict)
    _thread_digest: dict[str, str] = field(default_factory=dict)
    _subtree: dict[str, int] = field(default_factory=dict)

    @classmethod
    def load(cls, archive: Archive, local_files: set[str] | None = None) -> SiteModel:
        """Read the archive; `local_files` are the media files the site can ship."""
        # The two large scans sort inside SQLite, each started in a thread, while this
        # one reads the small tables.
        marks = _Scan(archive, site.mark_rows)
        mine = _Scan(archive, functools.partial(site.each_own_post, excerpt=0))
        try:
            return cls._load(archive, local_files, mine, marks)
        finally:
            mine.close()
            marks.close()

    @classmethod
    def _load(
        cls,
        archive: Archive,
        local_files: set[str] | None,
        mine: Iterable[SitePost],
        marks: Iterable[site.MarkRow],
    ) -> SiteModel:
        tables = Tables.read(archive)
        all_tags = site.tags(archive, own_only=False)
        # lists fetch excerpts as they need them; odd ids would make odd file names
        posts = [post for post in mine if urls.SAFE_ID.match(post.id)]
        digest: dict[str, str] = {}
        members: dict[str, list[str]] = defaultdict(list)
        reply_to: dict[str, str] = {}
        own: set[str] = set()
        # One string object per post id, shared by every dict below and the posts: a large
        # archive otherwise holds each id three or four times.
        ids: dict[str, str] = {post.id: post.id for post in posts}
        share = ids.setdefault
        blake2b = hashlib.blake2b
        media_sig = tables.media_sig
        for mark_id, root, in_reply_to, is_own, _date, sig in marks:
            pid = share(mark_id, mark_id)
            raw = sig + "\x1e" + media_sig.get(pid, "")
            digest[pid] = blake2b(raw.encode(), digest_size=8).hexdigest()
            members[share(root, root)].append(pid)
            if in_reply_to:
                reply_to[pid] = share(in_reply_to, in_reply_to)
            if is_own:
                own.add(pid)
        del ids, share  # the bound method holds the dict too
        parent = _parents(members, reply_to)
        return tables.model(
            posts, digest, dict(members), parent, own, _own_tags(all_tags, own), local_files
        )

    # -- threads ------------------------------------------------------------------------

    def thread_root(self, post_id: str) -> str:
        post = self.by_id.get(post_id)
        return post.thread_root if post else post_id

    def thread_digest(self, root: str) -> str:
        """One digest for a whole thread: any new, edited or gone reply changes it."""
        if root not in self._thread_digest:
            joined = ",".join(f"{pid}:{self.digest[pid]}" for pid in self.members.get(root, []))
            self._thread_digest[root] = hashlib.blake2b(joined.encode(), digest_size=8).hexdigest()
        return self._thread_digest[root]

    def conversation_page(self, root: str) -> str | None:
        """The own post whose page shows a whole thread: its root if ours, else our first."""
        ids = self.members.get(root, [])
        if root in self.own_ids and root in self.by_id:
            return root
        return next((pid for pid in ids if pid in self.by_id), None)

    def replies(self, post_id: str) -> int:
        """Archived replies below a post, plus those below its copies on other platforms."""
        total = self.descendants(post_id)
        for copy in self.copies_of.get(post_id, []):
            total += self.descendants(copy)
        return total

    def descendants(self, post_id: str) -> int:
        if not self._subtree:
            self._subtree = _subtree_sizes(self.parent)
        return self._subtree.get(post_id, 0)

    # -- lists --------------------------------------------------------------------------

    def listings(self) -> list[Listing]:
        """The index, then one list per source, tag and month, each newest first."""
        by_source: dict[str, list[SitePost]] = defaultdict(list)
        by_tag: dict[str, list[SitePost]] = defaultdict(list)
        tag_names: dict[str, str] = {}
        by_month: dict[str, list[SitePost]] = defaultdict(list)
        # Written out for speed (every post of every export that changed): each source's
        # and month's list looked up once per source and per `yyyy-mm` prefix of a date.
        of_source = {
            source: by_source[self.source_slugs[source or "unknown"]]
            for source in {post.source for post in self.posts}
        }
        of_month: dict[str, list[SitePost]] = {}
        tags_of, tag_slugs = self.tags.get, self.tag_slugs
        for post in self.posts:
            of_source[post.source].append(post)
            date = post.date
            month = of_month.get(date[:7])
            if month is None:
                month = of_month[date[:7]] = by_month[urls.month_of(date)]
            month.append(post)
            tags = tags_of(post.id)
            if tags:
                for tag in tags:
                    key = tag_slugs[tag]
                    tag_names.setdefault(key, tag)
                    tagged = by_tag[key]
                    if not tagged or tagged[-1] is not post:  # `C++` and `c`: one page
                        tagged.append(post)
        source_names = {slug_: name for name, slug_ in self.source_slugs.items()}
        result = [Listing("index", "", "", self.posts)]
        for key, posts in sorted(by_source.items()):
            info = self.sources.get(source_names[key])
            title = info.title if info and info.title else source_names[key]
            result.append(Listing("source", key, title, posts))
        for key, posts in sorted(by_tag.items()):
            result.append(Listing("tag", key, tag_names[key], posts))
        for key, posts in sorted(by_month.items(), reverse=True):
            result.append(Listing("month", key, key, posts))
        return result

    def shown(self, post: SitePost) -> SitePost:
        """The post as lists show it, upstream URLs checked. Not cached: lists render each
        post's entry once per pass anyway, and a cache would hold every post once more."""
        return safe_post(post)

    def tag_links(self, post_id: str) -> list[tuple[str, str]]:
        """(tag, page path) of a post's tags, one per page (`C++` and `c` share one)."""
        links: dict[str, str] = {}
        for tag in self.tags.get(post_id, []):
            links.setdefault(urls.tag_page(self.tag_slugs[tag]), tag)
        return [(tag, path) for path, tag in links.items()]


@dataclass
class Tables:
    """The small tables a model is made of, read whole on every load (~30 ms): media,
    copies, mentions and sources."""

    media: dict[str, list[MediaItem]]
    media_sig: dict[str, str]  # a post's media, joined: part of its digest
    copies_of: dict[str, list[str]]
    original_of: dict[str, str]
    mentions_of: dict[str, list[str]]
    hidden: set[str]
    sources: dict[str, SourceInfo]

    @classmethod
    def read(cls, archive: Archive) -> Tables:
        media = site.media(archive)
        media_sig = media_signatures(media)
        copies_of: dict[str, list[str]] = defaultdict(list)
        original_of: dict[str, str] = {}
        for original, copy in site.copies(archive):
            if copy in original_of:
                continue  # one original per copy; a copy never has two pages to link to
            copies_of[original].append(copy)
            original_of[copy] = original
        mentions_of: dict[str, list[str]] = defaultdict(list)
        hidden: set[str] = set()
        for original, mention, kind in site.mentions(archive):
            mentions_of[original].append(mention)
            if kind == "pingback":
                hidden.add(mention)
        return cls(
            media,
            media_sig,
            dict(copies_of),
            original_of,
            dict(mentions_of),
            hidden,
            site.sources(archive),
        )

    def digest(self, post_id: str, sig: str) -> str:
        """A post's digest: its change marker (`site.mark_rows`) and its media."""
        raw = sig + "\x1e" + self.media_sig.get(post_id, "")
        return hashlib.blake2b(raw.encode(), digest_size=8).hexdigest()

    def model(
        self,
        posts: list[SitePost],
        digest: dict[str, str],
        members: dict[str, list[str]],
        parent: dict[str, str],
        own: set[str],
        tags: dict[str, list[str]],
        local_files: set[str] | None,
    ) -> SiteModel:
        """The model of these posts and threads (`parent` before pingbacks are hidden)."""
        for pid in self.hidden:  # out of the reply tree (and its counts); still in its thread
            parent.pop(pid, None)
        media_files = {
            media_key(item.url): name
            for items in self.media.values()
            for item in items
            if (name := item.file) and (local_files is None or name in local_files)
        }
        model = SiteModel(
            posts=posts,
            by_id={p.id: p for p in posts},
            digest=digest,
            members=members,
            parent=parent,
            own_ids=own,
            media=self.media,
            media_files=media_files,
            tags=tags,
            copies_of=self.copies_of,
            original_of=self.original_of,
            sources=self.sources,
            mentions_of=self.mentions_of,
            hidden=self.hidden,
        )
        model.source_slugs = urls.unique_slugs(sorted({p.source or "unknown" for p in posts}))
        model.tag_slugs = urls.unique_slugs(sorted({t for ts in tags.values() for t in ts}))
        return model


class _Scan(Generic[T]):
    """One of the two scans over every post, started in a thread on a connection of its
    own (`site.Reader`) and read by the caller.

    Why: SQLite scans and sorts every post for them (~0.15 and ~0.45 s at 100,000 posts)
    inside the query's first step, without holding the GIL, so the two sorts overlap each
    other and the caller's reads of the small tables. Only the start runs in the thread:
    a thread handing rows over would take the GIL back for every row. Both connections
    read the same rows as long as nobody writes: an export takes no lock, and its page
    helpers read on connections of their own too. An archive that is no file (in
    memory), or a thread that could not start the scan, is read on the caller's
    connection.
    """

    def __init__(self, archive: Archive, start: Callable[[Archive | site.Reader], Iterator[T]]):
        self._archive = archive
        self._start = start
        self._reader: site.Reader | None = None
        self._rows: Iterator[T] | None = None
        self._thread: threading.Thread | None = None
        path = str(archive.path)
        if path != ":memory:" and os.path.isfile(path):
            self._thread = threading.Thread(
                target=self._run, args=(path,), name="model-scan", daemon=True
            )
            self._thread.start()

    def _run(self, path: str) -> None:
        with contextlib.suppress(Exception):  # then the caller's connection reads
            self._reader = site.Reader(path)
            self._rows = self._start(self._reader)

    def __iter__(self) -> Iterator[T]:
        self._wait()
        rows, self._rows = self._rows, None
        return rows if rows is not None else self._start(self._archive)

    def _wait(self) -> None:
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def close(self) -> None:
        """Let go of the connection once read, or once the load failed."""
        self._wait()
        self._rows = None
        if self._reader is not None:
            self._reader.close()
            self._reader = None


def media_signatures(media: dict[str, list[MediaItem]]) -> dict[str, str]:
    """Each post's media, joined: part of its digest."""
    return {
        pid: "|".join(
            f"{m.id},{m.url},{m.file},{m.alt},{m.kind},{m.mime},{m.width},{m.height}" for m in items
        )
        for pid, items in media.items()
    }


class InThread(Generic[T]):
    """A read of the archive run in a thread on a connection of its own (`site.Reader`):
    SQLite reads without the GIL while the caller does other work. An archive that is no
    file (in memory), or a thread that failed, is read on the caller's connection."""

    def __init__(self, archive: Archive, read: Callable[[Archive | site.Reader], T]) -> None:
        self._archive = archive
        self._read = read
        self._value: T | None = None
        self._done = False
        self._thread: threading.Thread | None = None
        path = str(archive.path)
        if path != ":memory:" and os.path.isfile(path):
            self._thread = threading.Thread(target=self._run, args=(path,), daemon=True)
            self._thread.start()

    def _run(self, path: str) -> None:
        with contextlib.suppress(Exception):
            reader = site.Reader(path)
            try:
                self._value = self._read(reader)
                self._done = True
            finally:
                reader.close()

    def result(self) -> T:
        self.close()
        if not self._done:
            self._value = self._read(self._archive)
            self._done = True
        return self._value  # type: ignore[return-value]

    def ready(self) -> bool:
        """Whether `result()` returns without waiting for the thread."""
        return self._thread is None or not self._thread.is_alive()

    def close(self) -> None:
        if self._thread is not None:
            self._thread.join()
            self._thread = None


def _own_tags(tags: dict[str, list[str]], own: set[str]) -> dict[str, list[str]]:
    """Tags of our posts: filtered here, as joining posts in SQL reads every post row."""
    return {pid: found for pid, found in tags.items() if pid in own}


def _parents(members: dict[str, list[str]], reply_to: dict[str, str]) -> dict[str, str]:
    """Each post's parent inside its thread; unknown parents (or cycles) mean the root."""
    parent: dict[str, str] = {}
    for root, ids in members.items():
        if len(ids) == 1:
            continue  # alone in its thread: nothing to hang below (most threads)
        inside = set(ids)
        has_root = root in inside
        for pid in ids:
            if pid == root:
                continue
            target = reply_to.get(pid)
            if target is not None and target in inside and target != pid:
                parent[pid] = target
            elif has_root:
                parent[pid] = root
        for pid in ids:  # break cycles: a post may not be its own ancestor
            seen = {pid}
            node = parent.get(pid)
            while node is not None and node not in seen:
                seen.add(node)
                node = parent.get(node)
            if node is not None:
                if has_root:
                    parent[pid] = root
                else:
                    parent.pop(pid, None)
    return parent


def _subtree_sizes(parent: dict[str, str]) -> dict[str, int]:
    """Number of descendants of every post that has any."""
    sizes: dict[str, int] = defaultdict(int)
    for pid in parent:
        node = parent.get(pid)
        steps = 0
        while node is not None and steps <= len(parent):
            sizes[node] += 1
            node = parent.get(node)
            steps += 1
    return dict(sizes)
