"""CPU-bound work (feed parsing) off the event loop and across cores.

Parsing, not the network, is the wall of a large sync: feedparser is pure Python and holds
the GIL, so threads keep the loop responsive but add no throughput. A sync with many
sources therefore parses in a few worker processes (one per core); a small sync parses in a
thread, which costs no process start-up. Sources never see the pool: they get an `Offload`
callable in their context.

The workers are plain `python -m ownfeed.cpuworker` children fed pickled calls over their pipes,
not a `multiprocessing` pool: no fork of a process with threads and an open database, and
no re-import of the caller's `__main__` (which would run an unguarded script's top level
again in every worker).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import pickle
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, ParamSpec, Protocol, TypeVar

from ownfeed.cpuworker import HEADER, READY
from ownfeed.errors import ParseError

P = ParamSpec("P")
T = TypeVar("T")

MAX_WORKERS = 8
START_TIMEOUT = 60.0


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


class _WorkerDied(Exception):
    """The worker process went away in the middle of a call."""


class _WorkerStart(Exception):
    """A worker process could not be started (no processes here, broken environment)."""


class _Worker:
    """One child process: requests and answers are length-prefixed pickles on its pipes."""

    def __init__(self, process: asyncio.subprocess.Process) -> None:
        self.process = process

    @classmethod
    async def start(cls) -> _Worker:
        paths = [str(Path(__file__).resolve().parent.parent), *(p for p in sys.path if p)]
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(dict.fromkeys(paths))}
        try:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "ownfeed.cpuworker",
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.DEVNULL,
                env=env,
            )
        except (OSError, RuntimeError, NotImplementedError) as error:
            raise _WorkerStart(str(error)) from None
        worker = cls(process)
        try:
            assert process.stdout is not None
            line = await asyncio.wait_for(process.stdout.readline(), START_TIMEOUT)
        except (TimeoutError, OSError):
            line = b""
        if line != READY:
            await worker.kill()
            raise _WorkerStart("worker did not start")
        return worker

    async def call(self, payload: bytes) -> Any:
        stdin, stdout = self.process.stdin, self.process.stdout
        assert stdin is not None and stdout is not None
        try:
            stdin.write(HEADER.pack(len(payload)) + payload)
            await stdin.drain()
            (size,) = HEADER.unpack(await stdout.readexactly(HEADER.size))
            answer = await stdout.readexactly(size)
        except (OSError, asyncio.IncompleteReadError):
            raise _WorkerDied from None
        return pickle.loads(answer)

    async def stop(self) -> None:
        """Ask politely (end of input), then insist."""
        if self.process.returncode is None and self.process.stdin is not None:
            self.process.stdin.close()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.process.wait(), 5)
        await self.kill()

    async def kill(self) -> None:
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.kill()
            await self.process.wait()


class CpuPool:
    """Worker processes for parsing, started on first use; a thread when processes are off.

    A worker that dies during a call (killed, out of memory) is replaced and the call tried
    once more; a second death fails that call with a ParseError, never the whole sync. When
    no worker can be started at all (a sandbox without processes), calls run in a thread.
    """

    def __init__(self, workers: int | None = None, *, processes: bool = True) -> None:
        self.workers = max(1, min(workers or usable_cpus(), MAX_WORKERS))
        self.processes = processes
        self._idle: asyncio.Queue[_Worker] | None = None
        self._all: set[_Worker] = set()
        self._starting = 0

    async def _acquire(self) -> _Worker:
        if self._idle is None:
            self._idle = asyncio.Queue()
        if self._idle.empty() and len(self._all) + self._starting < self.workers:
            self._starting += 1
            try:
                worker = await _Worker.start()
            finally:
                self._starting -= 1
            self._all.add(worker)
            return worker
        return await self._idle.get()

    async def _discard(self, worker: _Worker) -> None:
        self._all.discard(worker)
        await worker.kill()

    async def run(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """`fn(*args, **kwargs)` in a worker; `fn` and its arguments must be picklable."""
        if not self.processes:
            return await in_thread(fn, *args, **kwargs)
        payload = pickle.dumps((fn, args, kwargs), protocol=pickle.HIGHEST_PROTOCOL)
        for attempt in range(2):
            try:
                worker = await self._acquire()
            except _WorkerStart:
                self.processes = False  # nothing to parse in but this process
                return await in_thread(fn, *args, **kwargs)
            try:
                kind, value = await worker.call(payload)
            except _WorkerDied:
                await self._discard(worker)
                if attempt:
                    raise ParseError("the parser process died (out of memory?)") from None
                continue
            except BaseException:
                # cancelled mid-call: its answer would be read by the next caller
                await asyncio.shield(self._discard(worker))
                raise
            assert self._idle is not None
            self._idle.put_nowait(worker)
            if kind == "ok":
                return value
            if kind == "source":
                error_type, message, status = value
                raise error_type(message, status=status)
            raise value
        raise AssertionError("unreachable")  # pragma: no cover

    async def aclose(self) -> None:
        """Stop every worker (idle by then: a sync awaits all its parses)."""
        workers, self._all = list(self._all), set()
        await asyncio.gather(*(worker.stop() for worker in workers), return_exceptions=True)


if __name__ == "__main__":  # the old entry point still works; workers use cpuworker
    from ownfeed.cpuworker import main

    main()
