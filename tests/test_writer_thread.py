"""The archive writer thread: order, failures, cancellation, and what the sync sees after it."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
import time
from functools import partial
from pathlib import Path
from typing import Any

import pytest

import ownfeed.sync as sync_module
from ownfeed.archive import Archive
from ownfeed.archive.runs import SourceRun
from ownfeed.config import Config, load_config
from ownfeed.sync import sync_archive
from ownfeed.writer_thread import ArchiveWriter
from tests.httpserver import Reply, Request, TestServer
from tests.test_cpu import rss

WRITER = "ownfeed-archive-writer"


def writer_threads() -> list[threading.Thread]:
    return [thread for thread in threading.enumerate() if thread.name == WRITER]


def counts(archive: Archive) -> dict[str, int]:
    rows = archive.query("SELECT source, count(*) FROM posts GROUP BY source")
    return {row[0]: row[1] for row in rows}


def test_jobs_run_in_order_on_their_own_thread_and_connection(tmp_path: Path) -> None:
    seen: list[tuple[int, str, bool]] = []

    def job(n: int, archive: Archive, *, main: Archive) -> int:
        if n == 0:
            time.sleep(0.05)  # a slow first job must not be overtaken
        with archive.transaction():
            archive.conn.execute(
                "INSERT INTO sync_runs (started_at, version) VALUES (?, ?)", (f"t{n}", "test")
            )
        seen.append((n, threading.current_thread().name, archive.conn is main.conn))
        return n * n

    async def main(archive: Archive) -> list[int]:
        writer = ArchiveWriter(archive)
        await writer.start()
        assert writer.threaded
        futures = [writer.submit(partial(job, n, main=archive)) for n in range(20)]
        await writer.aclose()
        return [future.result() for future in futures]

    with Archive(tmp_path / "a.db") as archive:
        assert asyncio.run(main(archive)) == [n * n for n in range(20)]
        stamps = [row[0] for row in archive.conn.execute("SELECT started_at FROM sync_runs")]
    assert [n for n, _, _ in seen] == list(range(20))
    assert {(name, same) for _, name, same in seen} == {(WRITER, False)}
    assert stamps == [f"t{n}" for n in range(20)]
    assert writer_threads() == []


def test_a_failing_job_fails_its_future_only_and_rolls_back(tmp_path: Path) -> None:
    def insert(archive: Archive, stamp: str, fail: bool) -> str:
        with archive.transaction():
            archive.conn.execute(
                "INSERT INTO sync_runs (started_at, version) VALUES (?, 'test')", (stamp,)
            )
            if fail:
                raise sqlite3.OperationalError("disk I/O error")
        return stamp

    async def main(archive: Archive) -> list[Any]:
        writer = ArchiveWriter(archive)
        await writer.start()
        futures = [writer.submit(partial(insert, stamp=f"t{n}", fail=n == 1)) for n in range(3)]
        await writer.aclose()
        return [f.exception() or f.result() for f in futures]

    with Archive(tmp_path / "a.db") as archive:
        outcomes = asyncio.run(main(archive))
        stamps = [row[0] for row in archive.conn.execute("SELECT started_at FROM sync_runs")]
    assert outcomes[0] == "t0" and outcomes[2] == "t2"
    assert isinstance(outcomes[1], sqlite3.OperationalError)
    assert stamps == ["t0", "t2"]


def test_an_in_memory_archive_is_written_inline() -> None:
    async def main(archive: Archive) -> tuple[bool, bool, str]:
        writer = ArchiveWriter(archive)
        await writer.start()
        future = writer.submit(lambda a: (a is archive, threading.current_thread().name))
        await writer.aclose()
        same, name = future.result()
        return writer.threaded, same, name

    with Archive(":memory:") as archive:
        assert asyncio.run(main(archive)) == (False, True, "MainThread")


def test_cancelled_while_writing_commits_the_queue_and_ends_the_thread(tmp_path: Path) -> None:
    started = threading.Event()

    def slow(archive: Archive, n: int) -> None:
        with archive.transaction():
            archive.conn.execute(
                "INSERT INTO sync_runs (started_at, version) VALUES (?, 'test')", (f"t{n}",)
            )
            started.set()
            time.sleep(0.1)

    async def main(archive: Archive) -> None:
        writer = ArchiveWriter(archive)
        try:
            await writer.start()
            for n in range(3):
                writer.submit(partial(slow, n=n))
            await asyncio.sleep(3600)
        finally:
            await writer.aclose()

    async def cancel_soon(archive: Archive) -> None:
        task = asyncio.create_task(main(archive))
        await asyncio.to_thread(started.wait, 5)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    with Archive(tmp_path / "a.db") as archive:
        asyncio.run(cancel_soon(archive))
        assert writer_threads() == []
        count = archive.one("SELECT count(*) FROM sync_runs")
        assert count is not None and count[0] == 3
        archive.conn.execute("BEGIN IMMEDIATE")  # nobody holds the write lock
        archive.conn.execute("ROLLBACK")
        assert archive.integrity_ok()


# -- through the sync engine ---------------------------------------------------------------


def feeds_config(tmp_path: Path, server: TestServer, count: int) -> Config:
    for n in range(count):
        body = rss(5, f"f{n}")
        server.route(f"/f{n}.xml", Reply(body, content_type="application/rss+xml"))
    sources = "".join(
        f'[[sources]]\nname = "f{n}"\ntype = "feed"\nurl = "{server.url(f"/f{n}.xml")}"\n'
        "comments = false\nmedia = false\n"
        for n in range(count)
    )
    path = tmp_path / "ownfeed.toml"
    path.write_text(f'archive = "a.db"\n{sources}', encoding="utf-8")
    return load_config(path)


class Finished:
    def __init__(self) -> None:
        self.runs: list[SourceRun] = []

    def started(self, name: str) -> None:
        return None

    def advanced(self, name: str, done: int, total: int | None) -> None:
        return None

    def finished(self, run: SourceRun) -> None:
        self.runs.append(run)


def test_a_failing_write_fails_that_source_alone_and_linking_sees_every_post(
    tmp_path: Path, server: TestServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = feeds_config(tmp_path, server, 6)
    real_record = sync_module.record_success
    linked: list[tuple[int, int]] = []

    def record_success(archive: Archive, run_id: int, name: str, *args: Any) -> SourceRun:
        if name == "f2":  # fails mid-transaction: its posts must roll back
            with archive.transaction():
                archive.conn.execute("INSERT INTO sources (name, type) VALUES ('x', 'feed')")
                raise sqlite3.OperationalError("database or disk is full")
        return real_record(archive, run_id, name, *args)

    async def link_after_sync(archive: Archive, *args: Any) -> None:
        posts = archive.one("SELECT count(*) FROM posts")
        assert posts is not None
        linked.append((posts[0], len(writer_threads())))

    monkeypatch.setattr(sync_module, "record_success", record_success)
    monkeypatch.setattr(sync_module, "link_after_sync", link_after_sync)
    progress = Finished()
    with Archive(config.archive) as archive:
        report = asyncio.run(sync_archive(config, archive, progress=progress))
        rows = archive.query("SELECT source, status, error FROM source_runs ORDER BY rowid")
        per_source = counts(archive)
        stray = archive.one("SELECT count(*) FROM sources WHERE name = 'x'")
    assert report.status == "partial"
    assert [run.source for run in report.runs] == [row["source"] for row in rows]
    assert progress.runs == report.runs  # progress heard of each write in write order
    failed = [(row["source"], row["error"]) for row in rows if row["status"] == "failed"]
    assert failed == [("f2", "internal error: OperationalError: database or disk is full")]
    assert per_source == {f"f{n}": 5 for n in range(6) if n != 2}
    assert stray is not None and stray[0] == 0
    assert linked == [(25, 0)]  # every committed post, and the writer already gone


def test_cancelled_sync_leaves_a_consistent_archive_and_no_thread(
    tmp_path: Path, server: TestServer
) -> None:
    config = feeds_config(tmp_path, server, 6)
    release = threading.Event()

    def stuck(_request: Request) -> Reply:
        release.wait(10)
        return Reply(rss(5, "slow"), content_type="application/rss+xml")

    server.route("/f5.xml", stuck)
    progress = Finished()

    async def main(archive: Archive) -> None:
        task = asyncio.create_task(sync_archive(config, archive, progress=progress))
        for _ in range(500):
            if len(progress.runs) >= 5:
                break
            await asyncio.sleep(0.01)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    try:
        with Archive(config.archive) as archive:
            asyncio.run(main(archive))
            assert writer_threads() == []
            ok = {row[0] for row in archive.query("SELECT source FROM source_runs")}
            per_source = counts(archive)
            archive.conn.execute("BEGIN IMMEDIATE")
            archive.conn.execute("ROLLBACK")
            assert archive.integrity_ok()
    finally:
        release.set()
    assert ok == {f"f{n}" for n in range(5)}
    assert per_source == {name: 5 for name in ok}  # each source all or nothing
