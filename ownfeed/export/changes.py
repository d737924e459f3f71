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
from dataclasses import dataclass

from ownfeed.export.model import Listing, SiteModel
from ownfeed.export.writer import SiteWriter, fingerprint

NAME = ".ownfeed-changes"
FORMAT = 1


@dataclass(frozen=True)
class Changed:
    """Our posts whose page or list entry may differ from the last export's."""

    posts: set[str]
    lists_kept: bool  # every list holds the same posts in the same order as last time


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
        sorted(model.own_ids.difference(model.by_id)),
    )


@dataclass
class Snapshot:
    salt: str
    links: str
    lists: str
    digest: dict[str, str]
    members: dict[str, list[str]]
    tags: dict[str, list[str]]

    @classmethod
    def of(cls, model: SiteModel, salt: str, lists: str) -> Snapshot:
        return cls(salt, _links_print(model), lists, model.digest, model.members, model.tags)

    def dump(self) -> bytes:
        return marshal.dumps(
            (FORMAT, self.salt, self.links, self.lists, self.digest, self.members, self.tags)
        )

    @classmethod
    def load(cls, writer: SiteWriter) -> Snapshot | None:
        """The last export's snapshot, if it is in place and readable."""
        if writer.full or NAME not in writer.old or NAME not in writer.existing:
            return None
        try:
            data = marshal.loads((writer.output / NAME).read_bytes())
        except (OSError, EOFError, ValueError, TypeError):
            return None
        if not isinstance(data, tuple) or len(data) != 7 or data[0] != FORMAT:
            return None
        _, salt, links, lists, digest, members, tags = data
        if not all(isinstance(x, str) for x in (salt, links, lists)):
            return None
        if not all(isinstance(x, dict) for x in (digest, members, tags)):
            return None
        return cls(salt, links, lists, digest, members, tags)

    def compare(self, model: SiteModel, salt: str, lists: str) -> Changed | None:
        """Our posts whose page inputs or list entry may have changed; None: unknown."""
        if salt != self.salt or _links_print(model) != self.links:
            return None
        old_digest, digest = self.digest, model.digest
        posts = {pid for pid, value in digest.items() if old_digest.get(pid) != value}
        posts.update(old_digest.keys() - digest.keys())
        old_members = self.members
        roots = {root for root, ids in model.members.items() if old_members.get(root) != ids}
        roots.update(old_members.keys() - model.members.keys())
        root_of: dict[str, str] = {}
        if posts or roots:  # a changed post changes its thread's digest and its pages' inputs
            root_of = {pid: root for root, ids in model.members.items() for pid in ids}
            roots.update(root_of[pid] for pid in posts if pid in root_of)
        # Our posts shown by a changed thread, and those showing a changed post
        # (copies' threads, mentions, originals, shared posts).
        by_id = model.by_id
        changed = {pid for root in roots for pid in model.members.get(root, ()) if pid in by_id}
        changed.update(pid for pid in posts if pid in by_id)
        old_tags, tags = self.tags, model.tags
        changed.update(
            pid for pid in tags.keys() | old_tags.keys() if old_tags.get(pid) != tags.get(pid)
        )
        for original, copies in model.copies_of.items():
            if any(
                model.thread_root(copy) in roots or root_of.get(copy) in roots or copy in posts
                for copy in copies
            ):
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
        return Changed(changed & by_id.keys(), lists == self.lists)


def write(writer: SiteWriter, model: SiteModel, salt: str, lists: str) -> None:
    """Stage this export's snapshot (compared by bytes: kept when nothing changed)."""
    writer.put(NAME, Snapshot.of(model, salt, lists).dump())
