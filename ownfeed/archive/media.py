"""Media rows: which files still need downloading, and what became of each attempt."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ownfeed.archive.db import Archive
from ownfeed.models import iso, utcnow


@dataclass(frozen=True)
class PendingMedia:
    """A media row not yet stored locally."""

    id: str
    post_id: str
    url: str
    mime: str | None


def pending_media(
    archive: Archive, sources: Iterable[str], limit: int = 5000
) -> list[PendingMedia]:
    """Media of the given sources' posts without a local copy (failed ones are retried)."""
    names = sorted(set(sources))
    if not names:
        return []
    marks = ",".join("?" * len(names))
    rows = archive.query(
        f"""SELECT media.id, media.post_id, media.url, media.mime FROM media
            JOIN posts ON posts.id = media.post_id
            WHERE media.local_path IS NULL AND posts.source IN ({marks})
            ORDER BY media.fetched_at IS NOT NULL, posts.published_at DESC
            LIMIT ?""",
        (*names, limit),
    )
    return [PendingMedia(r["id"], r["post_id"], r["url"], r["mime"]) for r in rows]


def record_media_stored(
    archive: Archive, media_id: str, sha256: str, size: int, local_path: str, mime: str | None
) -> None:
    archive.conn.execute(
        """UPDATE media SET sha256 = ?, size = ?, local_path = ?, mime = coalesce(?, mime),
             fetched_at = ?, error = NULL WHERE id = ?""",
        (sha256, size, local_path, mime, iso(utcnow()), media_id),
    )


def record_media_error(archive: Archive, media_id: str, error: str) -> None:
    archive.conn.execute(
        "UPDATE media SET error = ?, fetched_at = ? WHERE id = ?",
        (error, iso(utcnow()), media_id),
    )
