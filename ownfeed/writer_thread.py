"""Archive writes on one thread with its own connection, so they overlap with fetching.

Storing a source (SQLite + FTS5, ~10 ms per 50-entry feed) on the event loop stops every
HTTP request and parse result for that long. The writer runs those jobs one at a time, in
the order they were submitted, on a dedicated thread that opens its own connection to the
same file (a sqlite3 connection never crosses threads; WAL lets the loop's connection keep
reading committed data meanwhile). SQLite releases the GIL while it steps a statement, so
its work overlaps with the loop's.

An archive that cannot be opened twice (in memory) gets the jobs run inline instead.
`aclose` drains the queue and closes the connection; it is safe to await after an error or
a cancellation, and the queue's end marker is queued before any await, so even an
interrupted close leaves a thread that finishes its committed-or-rolled-back work and exits.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
from collections.abc import Callable
from typing import Any, TypeVar

from ownfeed.archive import Archive

T = TypeVar("T")

#: A job: runs with the writer's archive, returns its result to the awaiting loop.
Job = Callable[[Archive], T]


def is_file_archive(archive: Archive) -> bool:
    """True when the archive lives in a file another connection can open."""
    row = archive.one("PRAGMA database_list")
    return bool(row is not None and row["file"])


class ArchiveWriter:
    """Serialized archive writes off the loop. Use `start`, `submit`, then `aclose`."""

    def __init__(self, archive: Archive, *, threaded: bool | None = None) -> None:
        self._main = archive
        self.threaded = is_file_archive(archive) if threaded is None else threaded
        self._jobs: queue.SimpleQueue[tuple[Job[Any], asyncio.Future[Any]] | None] = (
            queue.SimpleQueue()
        )
        self._thread: threading.Thread | None = None
        self._closed = False

    async def start(self) -> None:
        """Open the writer's connection on its thread (inline mode: nothing to do).

        An archive that cannot be opened a second time falls back to inline writes."""
        if not self.threaded:
            return
        loop = asyncio.get_running_loop()
        opened: asyncio.Future[None] = loop.create_future()
        self._thread = threading.Thread(
            target=self._serve, args=(loop, opened), name="ownfeed-archive-writer"
        )
        self._thread.start()
        try:
            await asyncio.shield(opened)
        except asyncio.CancelledError:
            await asyncio.shield(self.aclose())
            raise
        except Exception:
            self._thread.join()
            self._thread = None
            self.threaded = False

    def submit(self, job: Job[T]) -> asyncio.Future[T]:
        """Queue `job`; the future gets its result or exception. Jobs run in submission order."""
        if self._closed:
            raise RuntimeError("the archive writer is closed")
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        if self._thread is None:
            try:
                future.set_result(job(self._main))
            except Exception as error:
                future.set_exception(error)
            return future
        self._jobs.put((job, future))
        return future

    async def aclose(self) -> None:
        """Run every queued job, close the writer's connection and end its thread."""
        self._closed = True
        thread, self._thread = self._thread, None
        if thread is None:
            return
        self._jobs.put(None)  # before any await: the thread ends even if we are interrupted
        await asyncio.shield(asyncio.to_thread(thread.join))

    def _serve(self, loop: asyncio.AbstractEventLoop, opened: asyncio.Future[None]) -> None:
        try:
            archive = Archive(self._main.path)
        except BaseException as error:
            _settle(loop, opened, None, error)
            return
        _settle(loop, opened, None, None)
        try:
            while (item := self._jobs.get()) is not None:
                job, future = item
                try:
                    result = job(archive)
                except BaseException as error:  # the job's transaction has rolled back
                    _settle(loop, future, None, error)
                else:
                    _settle(loop, future, result, None)
        finally:
            archive.close()


def _settle(
    loop: asyncio.AbstractEventLoop,
    future: asyncio.Future[Any],
    result: Any,
    error: BaseException | None,
) -> None:
    """Hand a job's outcome to the loop (ignored when the loop or the waiter is gone)."""

    def settle() -> None:
        if future.done():
            return
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(result)

    with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits for this any more
        loop.call_soon_threadsafe(settle)
