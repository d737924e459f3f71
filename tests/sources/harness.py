"""Run a source against the test server and read back what it archived.

Every source test needs the same few steps, and each file used to write its own copy: one run
of a source with a fresh HTTP client, a sync into a real archive that carries state and known
posts from run to run the way the sync engine does, a whole `ownfeed sync` of one config
entry, queries on the archive that sync wrote, and JSON answers for the scripted servers.
Kept here, a test file only scripts its platform.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ownfeed.archive import Archive, WriteCounts, mark_gone, store_posts
from ownfeed.archive.runs import known_posts
from ownfeed.config import parse_config
from ownfeed.demo.web import DemoRequest, DemoResponse
from ownfeed.demo.web import Handler as DemoHandler
from ownfeed.http import HttpClient
from ownfeed.models import Author, KnownPost, Post, SourceResult
from ownfeed.sources.base import Source, SourceContext
from ownfeed.sync import SyncOptions, SyncReport, sync_archive
from tests.httpserver import Handler, Reply, Request

#: the clock of a run unless a test sets one: after every fixture post's refresh window
LATER = datetime(2025, 6, 1, tzinfo=UTC)
#: the archive file `sync_entry` writes in its folder and the readers below open
ARCHIVE_FILE = "archive.db"


def run_source(
    source: Source,
    *,
    state: dict[str, Any] | None = None,
    known: Mapping[str, KnownPost] | None = None,
    now: datetime = LATER,
    full: bool = False,
    verify: list[KnownPost] | None = None,
) -> SourceResult:
    """One fetch (or, given `verify`, one verify) with a fresh client that does not retry."""

    async def go() -> SourceResult:
        async with HttpClient(retries=1, backoff=0.01) as http:
            ctx = SourceContext(http, dict(state or {}), known or {}, full=full, now=now)
            if verify is not None:
                return await source.verify(ctx, verify)
            return await source.fetch(ctx)

    return asyncio.run(go())


class Archived:
    """A source synced into a real archive, carrying state and known posts like the engine."""

    def __init__(self, path: Path, source: Source) -> None:
        self.archive = Archive(path / ARCHIVE_FILE)
        self.source = source
        self.state: dict[str, Any] = {}

    def known(self) -> dict[str, KnownPost]:
        """The source's archived posts by native id, as the sync engine hands them over."""
        return known_posts(self.archive, self.source.name, self.source.platform)

    def sync(self, **kwargs: Any) -> tuple[SourceResult, WriteCounts]:
        """Fetch (keywords as for `run_source`), store, mark gone; keep the new state."""
        result = run_source(self.source, state=self.state, known=self.known(), **kwargs)
        counts = self._store(result)
        self.state = result.state
        return result, counts

    def verify(self, *native_ids: str) -> SourceResult:
        """Re-check the named archived posts (all of them when none is named), store, mark gone."""
        posts = [p for n, p in self.known().items() if not native_ids or n in native_ids]
        result = run_source(self.source, state=self.state, verify=posts)
        self._store(result)
        return result

    def _store(self, result: SourceResult) -> WriteCounts:
        with self.archive.transaction():
            counts = store_posts(self.archive, result.posts, self.source.name)
            mark_gone(self.archive, result)
        return counts

    def row(self, native_id: str) -> Any:
        return self.one("SELECT * FROM posts WHERE native_id = ?", (native_id,))

    def one(self, sql: str, params: tuple[Any, ...] = ()) -> Any:
        """The first row of a query that must find one."""
        row = self.archive.one(sql, params)
        assert row is not None, sql
        return row


def as_json(data: Any, status: int = 200, **headers: str) -> Reply:
    """A JSON answer for a scripted API route."""
    return Reply(json.dumps(data), status, headers, content_type="application/json")


def by_id(result: SourceResult) -> dict[str, Post]:
    return {post.native_id: post for post in result.posts}


def author_of(post: Post) -> Author:
    """The author a test expects the post to have."""
    assert post.author is not None
    return post.author


def known(native_id: str) -> KnownPost:
    """An archived post known only by its native id: what a verify needs to ask about it."""
    return KnownPost(id="x", native_id=native_id, url=None, reply_count=None, published_at=None)


def first_then(first: Reply, handler: Handler) -> Handler:
    """A route that answers `first` once, then hands every request to `handler`."""
    served: list[bool] = []

    def answer(request: Request) -> Reply:
        if not served:
            served.append(True)
            return first
        return handler(request)

    return answer


def counted(routes: Mapping[str, DemoHandler], log: list[str]) -> dict[str, DemoHandler]:
    """Demo routes that note each request's path, to count what a sync costs."""

    def wrap(handler: DemoHandler) -> DemoHandler:
        def answer(request: DemoRequest) -> DemoResponse:
            log.append(request.path)
            return handler(request)

        return answer

    return {path: wrap(handler) for path, handler in routes.items()}


def sync_entry(
    folder: Path, entry: dict[str, Any], *, full: bool = False, verify: bool = False
) -> SyncReport:
    """One `ownfeed sync` of a single config entry into folder/archive.db, media left out."""
    config = parse_config(
        {"archive": str(folder / ARCHIVE_FILE), "sources": [entry]}, folder / "ownfeed.toml"
    )
    with Archive(config.archive) as archive:
        options = SyncOptions(full=full, verify=verify, media=False)
        return asyncio.run(sync_archive(config, archive, options))


def query_rows(folder: Path, sql: str, *args: Any) -> list[dict[str, Any]]:
    """The rows of a query on the archive `sync_entry` wrote in `folder`."""
    with Archive(folder / ARCHIVE_FILE) as archive:
        return [dict(row) for row in archive.query(sql, args)]


def rows_by_native_id(
    folder: Path, sql: str = "SELECT * FROM posts", *args: Any
) -> dict[str, dict[str, Any]]:
    """`query_rows` keyed by the column `native_id` (all posts unless a query is given)."""
    return {row["native_id"]: row for row in query_rows(folder, sql, *args)}
