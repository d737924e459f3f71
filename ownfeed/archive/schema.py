"""The archive schema, created and upgraded by append-only sqlite-utils migrations.

Never edit a migration that has shipped: add a new one at the end. `PRAGMA user_version`
mirrors the number of applied migrations so other tools can tell the schema version.

sqlite-utils (~90 ms of imports) loads only when a migration is pending: opening an archive
that is current (every export, status, search) checks sqlite-utils' own record of applied
migrations with plain sqlite3 (`_current_version`). `migrations`, the sqlite-utils
`Migrations` set, is built on first use (PEP 562).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from sqlite_utils import Database
    from sqlite_utils.migrations import Migrations

    migrations: Migrations

#: The name of our set in sqlite-utils' table of applied migrations.
MIGRATION_SET = "ownfeed"
#: That table (`sqlite_utils.migrations.Migrations.migrations_table`).
_MIGRATIONS_TABLE = "_sqlite_migrations"

Migration = Callable[["Database"], None]

#: Every migration in order; each is named after its function, as sqlite-utils names them.
_STEPS: list[Migration] = []
_built: Migrations | None = None


def _migration(fn: Migration) -> Migration:
    _STEPS.append(fn)
    return fn


def _migrations() -> Migrations:
    """The sqlite-utils migration set of `_STEPS` (imports sqlite-utils)."""
    global _built
    if _built is None:
        from sqlite_utils.migrations import Migrations  # only when a migration may run

        built = Migrations(MIGRATION_SET)
        for step in _STEPS:
            built()(step)
        _built = built
    return _built


def __getattr__(name: str) -> Any:
    if name == "migrations":
        return _migrations()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


@_migration
def m001_initial(db: Database) -> None:
    """Every table of DESIGN.md's archive schema, with the FTS index and its triggers."""
    _run_all(
        db,
        """
        CREATE TABLE sources (
            name TEXT PRIMARY KEY,
            type TEXT NOT NULL,
            locator TEXT,
            title TEXT,
            home_url TEXT,
            state TEXT NOT NULL DEFAULT '{}',
            last_sync_at TEXT,
            last_success_at TEXT,
            last_error TEXT,
            failures INTEGER NOT NULL DEFAULT 0
        );
        CREATE TABLE authors (
            id TEXT PRIMARY KEY,
            platform TEXT NOT NULL,
            handle TEXT,
            name TEXT,
            url TEXT,
            avatar_url TEXT
        );
        CREATE TABLE posts (
            id TEXT PRIMARY KEY,
            platform TEXT NOT NULL,
            native_id TEXT NOT NULL,
            source TEXT,
            kind TEXT NOT NULL DEFAULT 'post',
            is_own INTEGER NOT NULL DEFAULT 1,
            url TEXT,
            title TEXT,
            content_html TEXT,
            content_text TEXT,
            language TEXT,
            author_id TEXT,
            published_at TEXT,
            updated_at TEXT,
            first_seen_at TEXT NOT NULL,
            last_seen_at TEXT NOT NULL,
            in_reply_to TEXT,
            in_reply_to_url TEXT,
            repost_of TEXT,
            thread_root TEXT,
            gone_at TEXT,
            gone_reason TEXT,
            content_hash TEXT,
            versions INTEGER NOT NULL DEFAULT 1,
            reply_count INTEGER,
            like_count INTEGER,
            repost_count INTEGER,
            raw TEXT,
            in_reply_to_native TEXT,
            repost_of_native TEXT
        );
        CREATE UNIQUE INDEX posts_platform_native ON posts (platform, native_id);
        CREATE INDEX posts_source_published ON posts (source, published_at);
        CREATE INDEX posts_published ON posts (published_at);
        CREATE INDEX posts_thread_root ON posts (thread_root);
        CREATE INDEX posts_in_reply_to ON posts (in_reply_to);
        CREATE INDEX posts_waiting_parent ON posts (platform, in_reply_to_native)
            WHERE in_reply_to IS NULL AND in_reply_to_native IS NOT NULL;
        CREATE TABLE post_versions (
            post_id TEXT NOT NULL,
            version INTEGER NOT NULL,
            captured_at TEXT NOT NULL,
            title TEXT,
            content_html TEXT,
            content_hash TEXT,
            PRIMARY KEY (post_id, version)
        );
        CREATE TABLE post_tags (
            post_id TEXT NOT NULL,
            tag TEXT NOT NULL,
            PRIMARY KEY (post_id, tag)
        );
        CREATE INDEX post_tags_tag ON post_tags (tag);
        CREATE TABLE post_links (
            post_id TEXT NOT NULL,
            linked_id TEXT NOT NULL,
            relation TEXT NOT NULL,
            how TEXT NOT NULL,
            PRIMARY KEY (post_id, linked_id)
        );
        CREATE INDEX post_links_linked ON post_links (linked_id);
        CREATE TABLE media (
            id TEXT PRIMARY KEY,
            post_id TEXT NOT NULL,
            url TEXT NOT NULL,
            kind TEXT,
            mime TEXT,
            alt TEXT,
            width INTEGER,
            height INTEGER,
            sha256 TEXT,
            size INTEGER,
            local_path TEXT,
            fetched_at TEXT,
            error TEXT
        );
        CREATE INDEX media_post ON media (post_id);
        CREATE INDEX media_sha256 ON media (sha256);
        CREATE TABLE sync_runs (
            id INTEGER PRIMARY KEY,
            started_at TEXT NOT NULL,
            finished_at TEXT,
            status TEXT,
            version TEXT
        );
        CREATE TABLE source_runs (
            run_id INTEGER NOT NULL,
            source TEXT NOT NULL,
            status TEXT NOT NULL,
            http_status INTEGER,
            new INTEGER NOT NULL DEFAULT 0,
            updated INTEGER NOT NULL DEFAULT 0,
            unchanged INTEGER NOT NULL DEFAULT 0,
            gone INTEGER NOT NULL DEFAULT 0,
            error TEXT,
            seconds REAL
        );
        CREATE INDEX source_runs_source ON source_runs (source, run_id);
        CREATE VIRTUAL TABLE posts_fts USING fts5 (
            title, content_text, content='posts', content_rowid='rowid',
            tokenize='unicode61 remove_diacritics 2'
        );
        CREATE TRIGGER posts_fts_ai AFTER INSERT ON posts BEGIN
            INSERT INTO posts_fts (rowid, title, content_text)
            VALUES (new.rowid, new.title, new.content_text);
        END;
        CREATE TRIGGER posts_fts_ad AFTER DELETE ON posts BEGIN
            INSERT INTO posts_fts (posts_fts, rowid, title, content_text)
            VALUES ('delete', old.rowid, old.title, old.content_text);
        END;
        CREATE TRIGGER posts_fts_au AFTER UPDATE OF title, content_text ON posts BEGIN
            INSERT INTO posts_fts (posts_fts, rowid, title, content_text)
            VALUES ('delete', old.rowid, old.title, old.content_text);
            INSERT INTO posts_fts (rowid, title, content_text)
            VALUES (new.rowid, new.title, new.content_text);
        END;
        """,
    )


@_migration
def m002_post_link_detection(db: Database) -> None:
    """What linking copies and mentions needs beside `post_links` (see archive/links.py).

    `post_urls`: the addresses each post is reached at (`how = 'self'`, our original posts
    only) and points at (`link`, `card`, `facet`, `syndication`), normalised, so a post
    that arrives after the ones linking to it is matched by one indexed lookup.
    `post_link_overrides`: pairs a person unlinked (`ownfeed unlink`); detection never
    links them again. `link_redirects`: short links the sync followed, and where to.
    `link_state`: how far the last linking run got (rowid and last_seen_at).
    """
    _run_all(
        db,
        """
        CREATE TABLE post_urls (
            post_id TEXT NOT NULL,
            key TEXT NOT NULL,
            url TEXT NOT NULL,
            host TEXT NOT NULL,
            how TEXT NOT NULL,
            PRIMARY KEY (post_id, key)
        );
        CREATE INDEX post_urls_key ON post_urls (key, how);
        CREATE INDEX post_urls_host ON post_urls (host) WHERE how != 'self';
        CREATE TABLE post_link_overrides (
            post_id TEXT NOT NULL,
            linked_id TEXT NOT NULL,
            action TEXT NOT NULL DEFAULT 'unlink',
            created_at TEXT NOT NULL,
            PRIMARY KEY (post_id, linked_id)
        );
        CREATE TABLE link_redirects (
            url TEXT PRIMARY KEY,
            target TEXT,
            checked_at TEXT NOT NULL,
            error TEXT
        );
        CREATE TABLE link_state (
            name TEXT PRIMARY KEY,
            value TEXT
        );
        CREATE INDEX post_links_relation ON post_links (post_id, relation);
        """,
    )


@_migration
def m003_fts_fewer_merges(db: Database) -> None:
    """FTS5 merges index segments once 16 share a level, not 4 (its `automerge` setting,
    stored with the index: no rebuild). Writing merges each token about half as often:
    indexing 100,000 posts took about 30 % less CPU; queries read a few more segments."""
    db.execute("INSERT INTO posts_fts (posts_fts, rank) VALUES ('automerge', 16)")


@_migration
def m004_posts_last_seen_index(db: Database) -> None:
    """Linking after each sync reads the posts added or seen again since its last run
    (`rowid > ? OR last_seen_at > ?`); without this index that was a scan of every post,
    paid by every sync, an unchanged one too (11 ms of CPU at 15,000 posts, so an estimated
    0.7 s at a million)."""
    db.execute("CREATE INDEX posts_last_seen ON posts (last_seen_at)")


def _run_all(db: Database, script: str) -> None:
    """Run statements one by one: executescript() would commit the migration's transaction."""
    statement = ""
    for line in script.splitlines(keepends=True):
        statement += line
        if sqlite3.complete_statement(statement):
            db.execute(statement)
            statement = ""


def _current_version(conn: sqlite3.Connection) -> int | None:
    """The schema version when `Migrations.apply` would do nothing, else None (read only).

    Nothing to do means: sqlite-utils' table exists with its `id` key (else apply rebuilds
    it) and records every migration of `_STEPS` as applied to our set.
    """
    table = _MIGRATIONS_TABLE
    found = conn.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
    ).fetchone()
    if found is None:
        return None
    columns = conn.execute(f"PRAGMA table_info({table})").fetchall()
    keys = [column[1] for column in sorted(columns, key=lambda column: column[5]) if column[5]]
    if keys != ["id"]:
        return None
    applied = [
        row[0]
        for row in conn.execute(
            f"SELECT name FROM {table} WHERE migration_set = ? ORDER BY rowid", (MIGRATION_SET,)
        )
    ]
    if not {step.__name__ for step in _STEPS} <= set(applied):
        return None
    return len(applied)


def migrate(db: Database | sqlite3.Connection) -> int:
    """Apply pending migrations; set and return the schema version (user_version)."""
    conn = db if isinstance(db, sqlite3.Connection) else db.conn
    version = _current_version(conn)
    if version is None:
        from sqlite_utils import Database  # a migration is pending: only then load sqlite-utils

        database = Database(conn) if isinstance(db, sqlite3.Connection) else db
        steps = _migrations()
        steps.apply(database)
        version = len(steps.applied(database))
    if conn.execute("PRAGMA user_version").fetchone()[0] != version:
        conn.execute(f"PRAGMA user_version = {version}")
    return version
