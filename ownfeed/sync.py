"""The sync engine: sources fetched concurrently, one writer, a run record, per-source isolation."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from typing import Protocol

from ownfeed.archive import Archive
from ownfeed.archive.runs import (
    KnownPosts,
    SourceRun,
    ensure_source,
    finish_run,
    known_posts,
    record_failure,
    record_success,
    source_state,
    start_run,
)
from ownfeed.config import Config
from ownfeed.cpu import CpuPool, usable_cpus
from ownfeed.errors import ConfigError, SourceError
from ownfeed.gcpause import fewer_collections
from ownfeed.http import HttpClient
from ownfeed.linking import link_after_sync
from ownfeed.media import MediaStore, download_media
from ownfeed.models import SourceResult, utcnow
from ownfeed.netpolicy import url_is_private
from ownfeed.sources.base import Source, SourceConfig, SourceContext
from ownfeed.sources.registry import source_class
from ownfeed.writer_thread import ArchiveWriter

#: From this many sources on, feeds are parsed in worker processes (one per core); below it
#: a thread is cheaper than starting processes.
PROCESS_POOL_MIN_SOURCES = 4
WAL_CHECKPOINT_PAGES = 10_000


class Progress(Protocol):
    """Where the engine reports progress; the CLI renders it, tests may record it."""

    def started(self, name: str) -> None: ...
    def advanced(self, name: str, done: int, total: int | None) -> None: ...
    def finished(self, run: SourceRun) -> None: ...


class _NoProgress:
    def started(self, name: str) -> None:
        return None

    def advanced(self, name: str, done: int, total: int | None) -> None:
        return None

    def finished(self, run: SourceRun) -> None:
        return None


@dataclass(frozen=True)
class SyncOptions:
    names: Sequence[str] = ()
    full: bool = False
    verify: bool = False
    media: bool = True


@dataclass
class SyncReport:
    run_id: int
    status: str
    runs: list[SourceRun] = field(default_factory=list)
    media_stored: int = 0
    media_failed: int = 0
    seconds: float = 0.0

    @property
    def failed(self) -> list[SourceRun]:
        return [run for run in self.runs if run.status == "failed"]

    @property
    def exit_code(self) -> int:
        return 1 if self.failed else 0


def select_sources(config: Config, names: Sequence[str]) -> list[SourceConfig]:
    """The enabled sources, or exactly the named ones (unknown names are config errors)."""
    if names:
        return [config.source(name) for name in dict.fromkeys(names)]
    return [source for source in config.sources if source.enabled]


def _one_line(error: BaseException) -> str:
    text = " ".join(str(error).split()) or type(error).__name__
    return (
        text
        if isinstance(error, SourceError)
        else f"internal error: {type(error).__name__}: {text}"
    )


def _instantiate(entries: Sequence[SourceConfig]) -> list[Source]:
    sources: list[Source] = []
    for entry in entries:
        try:
            sources.append(source_class(entry.type)(entry))
        except (KeyError, ImportError) as error:
            message = f"source {entry.name!r}: cannot load type {entry.type!r}: {error}"
            raise ConfigError(message) from error
    return sources


async def _configured_private(source: Source) -> bool:
    """Private addresses are allowed for a source only when its configured URLs are private."""
    urls = [
        value
        for value in source.config.options.values()
        if isinstance(value, str) and value.startswith(("http://", "https://"))
    ]
    if not urls and "@" in source.locator:
        urls = ["http://" + source.locator.rsplit("@", 1)[-1]]
    for url in urls:
        if await url_is_private(url):
            return True
    return False


async def _run_source(
    source: Source, ctx: SourceContext, options: SyncOptions, archive: Archive
) -> SourceResult:
    result = await source.fetch(ctx)
    if options.verify:
        known = list(known_posts(archive, source.name, source.platform).values())
        checked = await source.verify(ctx, known)
        result.posts.extend(checked.posts)
        result.gone.extend(checked.gone)
        result.seen_again.extend(checked.seen_again)
        result.warnings.extend(checked.warnings)
    return result


def _record(
    run_id: int,
    name: str,
    outcome: SourceResult | BaseException,
    seconds: float,
    archive: Archive,
) -> SourceRun:
    """A writer job: one source's outcome in one transaction. A batch that cannot be written
    (rolled back) is recorded as that source's failure, so the other sources still land."""
    if isinstance(outcome, SourceResult):
        try:
            return record_success(archive, run_id, name, outcome, seconds)
        except Exception as error:
            outcome = error
    status = outcome.status if isinstance(outcome, SourceError) else None
    return record_failure(archive, run_id, name, _one_line(outcome), status, seconds)


def _report_progress(progress: Progress, write: asyncio.Future[SourceRun]) -> None:
    if not write.cancelled() and write.exception() is None:
        progress.finished(write.result())


async def sync_archive(
    config: Config,
    archive: Archive,
    options: SyncOptions | None = None,
    progress: Progress | None = None,
    http: HttpClient | None = None,
) -> SyncReport:
    """Sync the selected sources into the archive. Per-source failures are recorded, not raised."""
    with fewer_collections():
        return await _sync_archive(config, archive, options, progress, http)


async def _sync_archive(
    config: Config,
    archive: Archive,
    options: SyncOptions | None,
    progress: Progress | None,
    http: HttpClient | None,
) -> SyncReport:
    options = options or SyncOptions()
    progress = progress or _NoProgress()
    sources = _instantiate(select_sources(config, options.names))
    started = time.monotonic()
    # Checkpoint the WAL every ~40 MB instead of every 4 MB: a first sync writes tens of MB
    # in one transaction per source, and each checkpoint syncs the database file to disk.
    archive.conn.execute(f"PRAGMA wal_autocheckpoint = {WAL_CHECKPOINT_PAGES}")
    run_id = start_run(archive)
    report = SyncReport(run_id=run_id, status="ok")
    client = http or HttpClient(timeout=config.timeout, concurrency=config.concurrency)
    # Workers start on the first parse: an unchanged re-sync (all 304) starts none.
    cpu = CpuPool(processes=len(sources) >= PROCESS_POOL_MIN_SOURCES and usable_cpus() > 1)
    writer = ArchiveWriter(archive)
    try:
        with archive.transaction():
            for source in sources:
                ensure_source(archive, source.name, source.config.type, source.locator)
        now = utcnow()

        policies = {
            source.name: client.scoped(allow_private=await _configured_private(source))
            for source in sources
        }

        async def fetch(source: Source) -> tuple[Source, SourceResult | BaseException, float]:
            progress.started(source.name)
            ctx = SourceContext(
                http=policies[source.name],
                state={} if options.full else source_state(archive, source.name),
                known=KnownPosts(archive, source.name, source.platform),
                full=options.full,
                now=now,
                progress=lambda done, total: progress.advanced(source.name, done, total),
                offload=cpu.run,
                skip_unchanged_bodies=True,
            )
            begin = time.monotonic()
            try:
                outcome: SourceResult | BaseException = await _run_source(
                    source, ctx, options, archive
                )
            except asyncio.CancelledError:
                raise
            except Exception as error:  # a source's failure is a value, never a crash
                outcome = error
            return source, outcome, time.monotonic() - begin

        # Each source's write runs on the writer's thread, in completion order, while the
        # loop goes on fetching; the loop learns each outcome (progress) as it commits.
        writes: list[tuple[Source, asyncio.Future[SourceRun]]] = []
        await writer.start()
        for next_done in asyncio.as_completed([fetch(s) for s in sources]):
            source, outcome, seconds = await next_done
            write = writer.submit(partial(_record, run_id, source.name, outcome, seconds))
            write.add_done_callback(partial(_report_progress, progress))
            writes.append((source, write))
        await writer.aclose()  # linking and media read every committed post
        report.runs = [write.result() for _, write in writes]
        succeeded = [s.name for s, w in writes if s.config.media and w.result().status == "ok"]
        await link_after_sync(archive, config.links, client)  # copies: every source is in
        if options.media and succeeded:
            store = MediaStore(config.media_dir)
            downloads = await asyncio.gather(
                *(download_media(archive, policies[name], store, [name]) for name in succeeded)
            )
            report.media_stored = sum(stored for stored, _ in downloads)
            report.media_failed = sum(failed for _, failed in downloads)
    finally:
        await writer.aclose()  # queued writes commit; no transaction is left half-done
        await cpu.aclose()
        if http is None:
            await client.aclose()
    failed = len(report.failed)
    report.status = "ok" if not failed else ("failed" if failed == len(report.runs) else "partial")
    finish_run(archive, run_id, report.status)
    report.seconds = time.monotonic() - started
    return report
