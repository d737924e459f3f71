"""Run records and what a source is told about its archived posts."""

from __future__ import annotations

from ownfeed.archive import Archive
from ownfeed.archive.runs import KnownPosts, known_posts


def _archive_with_one_post(archive: Archive) -> None:
    archive.conn.execute(
        """INSERT INTO posts (id, platform, native_id, source, title, content_text,
           first_seen_at, last_seen_at, reply_count)
           VALUES ('p1', 'web', 'n1', 'blog', 'Titel', 'Text', 'x', 'x', 2)"""
    )


def test_known_posts_are_read_only_when_the_source_asks_and_then_once(tmp_path):
    with Archive(tmp_path / "a.db") as archive:
        _archive_with_one_post(archive)
        reads: list[str] = []
        archive.conn.set_trace_callback(
            lambda sql: reads.append(sql) if "FROM posts" in sql else None
        )
        known = KnownPosts(archive, "blog", "web")
        assert reads == []  # a feed that answers 304 never pays for the read
        assert "n1" in known
        assert known["n1"].reply_count == 2
        assert known.get("n2") is None
        assert list(known) == ["n1"] and len(known) == 1
        assert len(reads) == 1
        archive.conn.set_trace_callback(None)
        assert dict(known) == known_posts(archive, "blog", "web")


def test_known_posts_of_another_source_or_platform_are_not_ours(tmp_path):
    with Archive(tmp_path / "a.db") as archive:
        _archive_with_one_post(archive)
        assert len(KnownPosts(archive, "other", "web")) == 0
        assert "n1" not in KnownPosts(archive, "blog", "mastodon")
