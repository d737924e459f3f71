"""Opening the archive: connection settings, and migrations applied to older archives."""

import sqlite3
from datetime import UTC, datetime

from sqlite_utils import Database

from ownfeed.archive import Archive, store_posts
from ownfeed.archive.db import CHECKPOINT_PAGES, WRITE_CACHE_KIB
from ownfeed.archive.schema import migrations
from ownfeed.archive.store import mark_gone
from ownfeed.models import Gone, Post, SourceResult

T0 = datetime(2025, 1, 1, tzinfo=UTC)


def fts_in_step(archive: Archive) -> None:
    """FTS5's own check of an external-content index against `posts` (raises if out of step)
    and one query per stored word."""
    archive.conn.execute("INSERT INTO posts_fts (posts_fts, rank) VALUES ('integrity-check', 1)")
    for row in archive.query("SELECT rowid, title, content_text FROM posts"):
        for word in f"{row['title'] or ''} {row['content_text'] or ''}".split():
            hits = archive.query("SELECT rowid FROM posts_fts WHERE posts_fts MATCH ?", (word,))
            assert row["rowid"] in {hit[0] for hit in hits}, word


def post(native: str, text: str, title: str | None = None) -> Post:
    return Post(platform="web", native_id=native, title=title, content_html=f"<p>{text}</p>")


def test_writers_get_a_larger_cache_and_fewer_checkpoints(tmp_path):
    with Archive(tmp_path / "a.db") as archive:
        assert archive.one("PRAGMA wal_autocheckpoint")[0] == CHECKPOINT_PAGES
        default = archive.one("PRAGMA cache_size")[0]
        assert default != -WRITE_CACHE_KIB
        with archive.transaction():
            pass
        assert archive.one("PRAGMA cache_size")[0] == -WRITE_CACHE_KIB


def test_migration_upgrades_an_archive_of_the_first_schema(tmp_path):
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path, isolation_level=None)
    migrations.apply(Database(conn), stop_before="m003_fts_fewer_merges")
    conn.execute(
        """INSERT INTO posts (id, platform, native_id, title, content_text, first_seen_at,
           last_seen_at) VALUES ('p1', 'web', 'n1', 'Alte Zeiten', 'vor dem Umbau', 'x', 'x')"""
    )
    conn.close()
    with Archive(path) as archive:
        assert archive.schema_version == len(migrations.applied(archive.db)) == 4
        config = archive.one("SELECT v FROM posts_fts_config WHERE k = 'automerge'")
        assert config is not None and config[0] == 16
        fts_in_step(archive)
        assert archive.one("SELECT rowid FROM posts_fts WHERE posts_fts MATCH 'Umbau'")


def test_fts_stays_in_step_with_every_kind_of_write(tmp_path):
    with Archive(tmp_path / "a.db") as archive:
        with archive.transaction():
            store_posts(
                archive, [post(f"n{n}", f"erste Fassung {n}", "Titel") for n in range(9)], "s"
            )
        fts_in_step(archive)
        with archive.transaction():  # edits, a title removed, new posts, an unchanged one
            store_posts(
                archive,
                [
                    post("n1", "zweite Fassung"),
                    post("n2", "erste Fassung 2", "Neu"),
                    post("n9", "neu"),
                ],
                "s",
                T0,
            )
        fts_in_step(archive)
        assert not archive.query(
            "SELECT rowid FROM posts_fts WHERE posts_fts MATCH '\"erste Fassung 1\"'"
        )
        with archive.transaction():
            mark_gone(archive, SourceResult(gone=[Gone("web", "n3", "HTTP 410")]))
        fts_in_step(archive)
        with archive.transaction():
            archive.conn.execute("DELETE FROM posts WHERE native_id = 'n4'")
        fts_in_step(archive)
        assert archive.one("SELECT count(*) FROM posts_fts WHERE posts_fts MATCH 'Fassung'")[0] == 8


def test_linking_reads_only_posts_seen_since_its_last_run_through_an_index(tmp_path):
    with Archive(tmp_path / "a.db") as archive:
        plan = archive.query(
            "EXPLAIN QUERY PLAN SELECT id FROM posts WHERE rowid > ? OR last_seen_at > ?",
            (10, "2026-01-01"),
        )
        details = " ".join(str(row[3]) for row in plan)
        assert "posts_last_seen" in details
        assert "SCAN posts" not in details
