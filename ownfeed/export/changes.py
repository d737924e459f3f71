"""Which of our posts may look different since the last export, from a snapshot of its model.

Why: after a small change (1 % of a 100,000-post archive) an export would otherwise
fingerprint every post page and every list page to find the few that changed, most of a
second spent on pages that are kept. The snapshot holds what those fingerprints are made
of: each post's change digest, each thread's members, our posts' tags, and one digest of
everything that links posts to each other or to lists. Comparing it with the model gives
the changed posts and threads; only pages that show one of them are fingerprinted, the
others are kept with the fingerprint the manifest has for them.

A missing, damaged or old snapshot, other settings (the export's `salt`), or any change in
how posts link to each other or how lists are made up means `None`: every page is checked,
as before. The snapshot is staged with the export, so it always describes the site in place.
"""

from __future__ import annotations

import hashlib
import marshal
from dataclasses import dataclass, field

from ownfeed.export.model import Listing, SiteModel
from ownfeed.export.writer import SiteWriter, fingerprint

NAME = ".ownfeed-changes"
FORMAT = 3


@dataclass(frozen=True)
class Changed:
    """Our posts whose page or list entry may differ from the last export's."""

    posts: set[str]
    lists_kept: bool  # every list holds the same posts in the same order as last time
    touched: set[str] = field(default_factory=set)  # every post whose line changed
    roots: set[str] = field(default_factory=set)  # their threads, old and new


def lists_print(listings: list[Listing], ids: list[list[str]]) -> str:
    """One digest of which posts every list holds, in order (`ids`: each list's post ids):
    equal means every list page shows the same posts at the same places, so page counts
    and the index's summary are the same too."""
    digest = hashlib.blake2b(digest_size=16)
    for listing, posts in zip(listings, ids, strict=True):
        joined = "\x1f".join(posts)
        digest.update(f"{listing.kind}\x1e{listing.key}\x1e{listing.name}\x1e{joined}\x1d".encode())
    return digest.hexdigest()


def _links_print(model: SiteModel) -> str:
    """Everything besides digests, members, tags and lists that a page's fingerprint reads."""
    return fingerprint(
        FORMAT,
        sorted(model.copies_of.items()),
        sorted(model.original_of.items()),
        sorted(model.mentions_of.items()),
        sorted(model.hidden),
        sorted(model.source_slugs.items()),
        sorted(model.tag_slugs.items()),
        # our posts without a page (odd ids): usually none, and then the sets are equal
        sorted(model.own_ids.difference(model.by_id))
        if len(model.own_ids) != len(model.by_id)
        else [],
    )


def _lines(model: SiteModel) -> tuple[str, str] | None:
    """Posts and tags as two strings of lines: `post, its thread, its digest` for every
    post (thread by thread) and `post, its tags` for ours; None when an id or a tag holds
    a separator.

    Why strings: two strings compare in one call when nothing changed, split in one call
    when something did, and the difference of their lines' sets names what changed, old
    thread and new; comparing dicts key by key costs ~0.3 s at 100,000 posts (every
    lookup a cache miss). A post's order in its thread follows its date and id, which its
    digest covers.
    """
    digest = model.digest
    posts = "\n".join(
        [f"{pid}\t{root}\t{digest[pid]}" for root, ids in model.members.items() for pid in ids]
    )
    tags = "\n".join([f"{pid}\t{chr(31).join(found)}" for pid, found in model.tags.items()])
    clean = (
        posts.count("\n") == max(0, len(digest) - 1)
        and posts.count("\t") == 2 * len(digest)
        and tags.count("\n") == max(0, len(model.tags) - 1)
        and tags.count("\t") == len(model.tags)
    )
    return (posts, tags) if clean else None


def _differ(old: str, new: str) -> list[list[str]]:
    """The lines (split at tabs) found in only one of two strings of lines."""
    if old == new:
        return []
    lines = set(old.split("\n"))
    lines.symmetric_difference_update(new.split("\n"))
    return [line.split("\t") for line in lines]


@dataclass
class Snapshot:
    salt: str
    links: str
    lists: str
    lines: tuple[str, str]  # posts with their threads and digests; tags (see _lines)

    @classmethod
    def of(cls, model: SiteModel, salt: str, lists: str) -> Snapshot | None:
        lines = _lines(model)
        return cls(salt, _links_print(model), lists, lines) if lines is not None else None

    def dump(self) -> bytes:
        return marshal.dumps((FORMAT, self.salt, self.links, self.lists, *self.lines))

    @classmethod
    def load(cls, writer: SiteWriter) -> Snapshot | None:
        """The last export's snapshot, if it is in place and readable."""
        if writer.full or NAME not in writer.old or NAME not in writer.existing:
            return None
        try:
            data = marshal.loads((writer.output / NAME).read_bytes())
        except (OSError, EOFError, ValueError, TypeError):
            return None
        if not isinstance(data, tuple) or len(data) != 6 or data[0] != FORMAT:
            return None
        if not all(isinstance(part, str) for part in data[1:]):
            return None
        _, salt, links, lists, posts, tags = data
        return cls(salt, links, lists, (posts, tags))

    def compare(self, model: SiteModel, snapshot: Snapshot | None) -> Changed | None:
        """Our posts whose page inputs or list entry may have changed since this snapshot
        was taken, `snapshot` being the model's now; None: unknown."""
        if snapshot is None or snapshot.salt != self.salt or snapshot.links != self.links:
            return None
        posts: set[str] = set()
        roots: set[str] = set()  # threads whose posts, or their digests or order, changed
        for fields in _differ(self.lines[0], snapshot.lines[0]):
            if len(fields) != 3:  # not a line _lines() makes: a damaged snapshot
                return None
            posts.add(fields[0])
            roots.add(fields[1])
        # Our posts shown by a changed thread, and those showing a changed post
        # (copies' threads, mentions, originals, shared posts).
        by_id = model.by_id
        changed = {pid for root in roots for pid in model.members.get(root, ()) if pid in by_id}
        changed.update(pid for pid in posts if pid in by_id)
        changed.update(line[0] for line in _differ(self.lines[1], snapshot.lines[1]))
        for original, copies in model.copies_of.items():
            if any(model.thread_root(copy) in roots or copy in posts for copy in copies):
                changed.add(original)
        for target, mentions in model.mentions_of.items():
            if any(mention in posts for mention in mentions):
                changed.add(target)
                changed.add(model.original_of.get(target, target))
        for copy, original in model.original_of.items():
            if original in posts:
                changed.add(copy)
        if posts:
            changed.update(
                post.id for post in model.posts if post.repost_of and post.repost_of in posts
            )
        return Changed(changed & by_id.keys(), snapshot.lists == self.lists, posts, roots)


def write(writer: SiteWriter, snapshot: Snapshot | None) -> None:
    """Stage this export's snapshot (compared by bytes: kept when nothing changed); an
    archive whose ids do not fit the snapshot's lines gets none."""
    if snapshot is not None:
        writer.put(NAME, snapshot.dump())
