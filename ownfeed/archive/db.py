"""Opening the archive: one SQLite file, WAL, migrated on open.

Writes insert into several indexes keyed by hashes (post ids), so a batch of new posts
dirties pages all over them: a write transaction gets a larger page cache (`WRITE_CACHE`)
and the WAL is checkpointed every `CHECKPOINT_PAGES` pages, not the default 1,000 (which
copied back and synced nearly every page after every 1,000-post batch).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ownfeed.archive.schema import migrate
from ownfeed.errors import ArchiveError

if TYPE_CHECKING:  # made on first use (see `Archive.db`): an export needs no sqlite-utils
    from sqlite_utils import Database

#: Page cache of a connection once it writes (negative: KiB). Readers keep SQLite's 2 MiB.
WRITE_CACHE_KIB = 128 * 1024
#: WAL pages between automatic checkpoints (about 40 MB); the file is cut back to
#: `WAL_LIMIT` bytes after each.
CHECKPOINT_PAGES = 10_000
WAL_LIMIT = 64 * 1024 * 1024


class Archive:
    """The archive database. The only object in ownfeed that runs SQL."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(str(self.path), timeout=30, isolation_level=None)
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            conn.execute("PRAGMA foreign_keys = OFF")
            conn.execute(f"PRAGMA wal_autocheckpoint = {CHECKPOINT_PAGES}")
            conn.execute(f"PRAGMA journal_size_limit = {WAL_LIMIT}")
            # sqlite-utils' Database sets this on the connection it wraps; set here so that
            # triggers behave the same whether or not one is ever made
            conn.execute("PRAGMA recursive_triggers = ON")
            self.schema_version = migrate(conn)
        except (sqlite3.Error, OSError) as error:
            raise ArchiveError(f"cannot open archive {self.path}: {error}") from error
        self.conn: sqlite3.Connection = conn
        self._db: Database | None = None
        self._write_cache = False

    @property
    def db(self) -> Database:
        """The connection as a sqlite-utils `Database`, made on first use: importing
        sqlite-utils costs ~90 ms, and reading an archive whose schema is current needs none."""
        if self._db is None:
            from sqlite_utils import Database  # see above: only the callers that want it pay

            self._db = Database(self.conn)
        return self._db

    def close(self) -> None:
        self.conn.close()

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One atomic write: everything inside commits together or not at all."""
        if not self._write_cache:
            self.conn.execute(f"PRAGMA cache_size = -{WRITE_CACHE_KIB}")
            self._write_cache = True
        self.conn.execute("BEGIN IMMEDIATE")
        try:
            yield self.conn
        except BaseException:
            self.conn.execute("ROLLBACK")
            raise
        else:
            self.conn.execute("COMMIT")

    def query(self, sql: str, params: Any = ()) -> list[sqlite3.Row]:
        return list(self.conn.execute(sql, params))

    def one(self, sql: str, params: Any = ()) -> sqlite3.Row | None:
        return self.conn.execute(sql, params).fetchone()

    def integrity_ok(self) -> bool:
        row = self.one("PRAGMA integrity_check")
        return bool(row and row[0] == "ok")
