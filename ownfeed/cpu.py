"""CPU-bound work (feed parsing) off the event loop and across cores.

Parsing, not the network, is the wall of a large sync: feedparser is pure Python and holds
the GIL, so threads would keep the loop responsive but add no throughput. A sync with many
sources therefore parses in a small process pool (one worker per core); a small sync parses
in a thread, which costs no process start-up. Sources never see the pool: they get an
`Offload` callable in their context.
"""

from __future__ import annotations

import asyncio
import functools
import multiprocessing
import os
from collections.abc import Awaitable, Callable
from concurrent.futures import Executor, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, ParamSpec, Protocol, TypeVar

from ownfeed.errors import ParseError, SourceError

P = ParamSpec("P")
T = TypeVar("T")

#: Modules the fork server imports once, so every worker starts with them loaded.
PRELOAD = ("ownfeed.sources.feedparse",)
MAX_WORKERS = 8


class Offload(Protocol):
    """Run `fn(*args, **kwargs)` somewhere that does not block the event loop."""

    def __call__(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Awaitable[T]:
        """Await the result; exceptions are raised as if `fn` had been called here."""
        ...


async def in_thread(fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
    """The default offload: a worker thread (off the loop, same process)."""
    return await asyncio.to_thread(fn, *args, **kwargs)


def usable_cpus() -> int:
    """Cores this process may run on (affinity and cgroup-pinned containers included)."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # pragma: no cover - not Linux
        return os.cpu_count() or 1


def _call(fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
    """Runs in a worker: a SourceError comes back as a value, so its `status` survives."""
    try:
        return True, fn(*args, **kwargs)
    except SourceError as error:
        return False, (type(error), str(error), error.status)


def _ready() -> int:
    return os.getpid()


class CpuPool:
    """Worker processes for parsing, started lazily; a thread when processes are not wanted.

    A worker that dies (killed, out of memory) breaks the pool: it is replaced once and the
    call retried; a second death fails that call with a ParseError, never the whole sync.
    """

    def __init__(self, workers: int | None = None, *, processes: bool = True) -> None:
        self.workers = max(1, min(workers or usable_cpus(), MAX_WORKERS))
        self.processes = processes
        self._pool: Executor | None = None

    def _executor(self) -> Executor:
        if self._pool is None:
            # forkserver: workers fork from a clean single-threaded server that has the
            # parser imported, never from this process (threads, open database, big heap).
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(list(PRELOAD))
            self._pool = ProcessPoolExecutor(self.workers, mp_context=context)
        return self._pool

    async def start(self) -> None:
        """Start the workers now (while the first requests are in flight), not at first use.

        Where processes cannot be started (a sandbox, no /dev/shm), parsing falls back to
        a thread: slower, never a failed sync.
        """
        if not self.processes:
            return
        loop = asyncio.get_running_loop()
        try:
            pool = await asyncio.to_thread(self._executor)
            await asyncio.gather(*(loop.run_in_executor(pool, _ready) for _ in range(self.workers)))
        except (OSError, RuntimeError, BrokenProcessPool):
            self.processes = False
            await self.aclose()

    async def run(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """`fn(*args, **kwargs)` in a worker; `fn` and its arguments must be picklable."""
        if not self.processes:
            return await in_thread(fn, *args, **kwargs)
        loop = asyncio.get_running_loop()
        call = functools.partial(_call, fn, args, kwargs)
        for attempt in range(2):
            try:
                pool = self._executor()
            except (OSError, RuntimeError):
                self.processes = False
                return await in_thread(fn, *args, **kwargs)
            try:
                ok, value = await loop.run_in_executor(pool, call)
            except BrokenProcessPool:
                if self._pool is pool:  # the first caller to notice replaces it
                    self._pool = None
                    pool.shutdown(wait=False, cancel_futures=True)
                if attempt:
                    raise ParseError("the parser process died (out of memory?)") from None
                continue
            if ok:
                return value
            kind, message, status = value
            raise kind(message, status=status)
        raise AssertionError("unreachable")  # pragma: no cover

    def close(self) -> None:
        """Stop the workers (idle by then: every sync awaits its parses)."""
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    async def aclose(self) -> None:
        if self._pool is not None:
            await asyncio.to_thread(self.close)
