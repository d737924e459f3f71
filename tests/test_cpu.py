"""Parsing off the event loop: the worker pool, its failure modes, and what a sync gets from it."""

from __future__ import annotations

import asyncio
import os
import sqlite3
from pathlib import Path

import pytest

from ownfeed.archive import Archive
from ownfeed.config import load_config
from ownfeed.cpu import CpuPool
from ownfeed.errors import FetchError, ParseError
from ownfeed.sync import PROCESS_POOL_MIN_SOURCES, sync_archive
from tests.httpserver import Reply, TestServer


def square(value: int) -> tuple[int, int]:
    return value * value, os.getpid()


def refuse(status: int) -> None:
    raise FetchError("refused", status=status)


def die() -> None:
    os._exit(3)


def run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(coro)


@pytest.mark.parametrize("processes", [True, False])
def test_results_and_source_errors_come_back(processes: bool) -> None:
    async def main() -> tuple[list[tuple[int, int]], FetchError]:
        pool = CpuPool(2, processes=processes)
        try:
            results = await asyncio.gather(*(pool.run(square, n) for n in range(6)))
            with pytest.raises(FetchError) as caught:
                await pool.run(refuse, 429)
            return list(results), caught.value
        finally:
            await pool.aclose()

    results, error = run(main())
    assert [value for value, _ in results] == [0, 1, 4, 9, 16, 25]
    pids = {pid for _, pid in results}
    assert (os.getpid() in pids) is not processes  # processes really are other processes
    assert error.status == 429 and str(error) == "refused"


def test_a_dying_worker_fails_one_call_not_the_pool() -> None:
    async def main() -> int:
        pool = CpuPool(1)
        try:
            with pytest.raises(ParseError, match="parser process died"):
                await pool.run(die)
            value, _ = await pool.run(square, 7)  # a fresh pool took over
            return value
        finally:
            await pool.aclose()

    assert run(main()) == 49


def rss(items: int, tag: str) -> str:
    entries = "".join(
        f"<item><title>{tag} {n}</title><guid>urn:{tag}:{n}</guid>"
        f"<description>Text {n} of {tag}</description></item>"
        for n in range(items)
    )
    channel = f"<channel><title>{tag}</title>{entries}</channel>"
    return f'<?xml version="1.0"?><rss version="2.0">{channel}</rss>'


def test_sync_parses_in_workers_and_skips_identical_bodies(
    tmp_path: Path, server: TestServer
) -> None:
    """Many sources: parsed in the pool. No validators, same bytes: no parse, no rewrite."""
    count = PROCESS_POOL_MIN_SOURCES + 1
    bodies = {n: rss(3, f"f{n}") for n in range(count)}
    for n in range(count):
        server.route(
            f"/f{n}.xml",
            lambda _r, n=n: Reply(bodies[n], content_type="application/rss+xml"),
        )
    sources = "".join(
        f'[[sources]]\nname = "f{n}"\ntype = "feed"\nurl = "{server.url(f"/f{n}.xml")}"\n'
        "comments = false\n"
        for n in range(count)
    )
    config_path = tmp_path / "ownfeed.toml"
    config_path.write_text(f'archive = "a.db"\n{sources}', encoding="utf-8")
    config = load_config(config_path)

    def sync() -> list[tuple[str, int, int, int]]:
        with Archive(config.archive) as archive:
            report = run(sync_archive(config, archive))
        assert report.status == "ok", [run.error for run in report.runs]
        return sorted(
            (r.source, r.counts.new, r.counts.updated, r.counts.unchanged) for r in report.runs
        )

    assert sync() == [(f"f{n}", 3, 0, 0) for n in range(count)]
    with sqlite3.connect(config.archive) as conn:
        seen = dict(conn.execute("SELECT native_id, last_seen_at FROM posts"))
    # identical bytes: treated like a 304, nothing parsed or rewritten
    assert sync() == [(f"f{n}", 0, 0, 0) for n in range(count)]
    bodies[0] = rss(4, "f0")
    assert sync()[0] == ("f0", 1, 0, 3)
    with sqlite3.connect(config.archive) as conn:
        assert conn.execute("SELECT count(*) FROM posts").fetchone()[0] == 3 * count + 1
        again = dict(conn.execute("SELECT native_id, last_seen_at FROM posts"))
    assert all(again[key] == value for key, value in seen.items() if ":f0:" not in key)
