"""Post pages (and, without the entry store, the index's list pages) rendered by forked
helper processes.

Why: rendering and writing one page per post is half of a large export and pure Python, so
one process cannot go faster than one core. Forked helpers inherit the loaded site model
(no second load, no pickling); each opens its own archive connection (SQLite connections
never cross a fork). Tasks are handed out one by one through a shared counter, so the main
process, once its own lists are done, takes tasks too, and nobody waits on a fixed share.
Helpers stage files like the main process and send back what they staged; a helper that
fails or dies fails the export (nothing is put in place). Helpers are done before the
search index is built, so the memory peaks of both never add up. Where fork is not
available (not Linux/BSD) everything runs in the main process.
"""

from __future__ import annotations

import contextlib
import gc
import os
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from ownfeed.errors import OwnfeedError

if TYPE_CHECKING:
    from multiprocessing.connection import Connection

R = TypeVar("R")

MAX_HELPERS = 4  # each holds its own copy of what it touches of the model
MIN_CHUNKS = 40  # less work than this (a 1 % re-export of 100k posts): fork costs more


def helper_count() -> int:
    """Helpers besides the main process: one per further usable core, at most MAX_HELPERS."""
    import multiprocessing  # here: an export that forks no helper does without it

    if "fork" not in multiprocessing.get_all_start_methods():
        return 0
    try:
        cores = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cores = os.cpu_count() or 1
    return max(0, min(MAX_HELPERS, cores - 1))


class Chunks:
    """Chunk numbers 0..count-1, each handed to exactly one process (first come)."""

    def __init__(self, count: int, context: Any) -> None:
        self.count = count
        self._next = context.Value("l", 0)

    def take(self) -> int | None:
        with self._next.get_lock():
            number = int(self._next.value)
            if number >= self.count:
                return None
            self._next.value = number + 1
        return number


class _Gate:
    """Tasks from `first` on wait for a message from the main process (sent once, when
    what they need is ready); `apply` takes it in the helper."""

    def __init__(self, first: int, apply: Callable[[Any], None], pipe: Connection) -> None:
        self.first = first
        self.apply = apply
        self.pipe = pipe
        self.open = False

    def wait(self, number: int) -> None:
        if not self.open and number >= self.first:
            self.apply(self.pipe.recv())
            self.open = True


def _helper(
    setup: Callable[[], None],
    render: Callable[[int], None],
    report: Callable[[], Any],
    chunks: Chunks,
    gate: _Gate,
    pipe: Connection,
) -> None:
    """A helper's life: set up, render chunks until none are left, send what it staged."""
    try:
        setup()
        while (number := chunks.take()) is not None:
            gate.wait(number)
            render(number)
        pipe.send((True, report()))
    except OwnfeedError as error:  # a user's mistake (a theme's template): said as it is
        pipe.send((False, error))
    except BaseException:
        import traceback

        pipe.send((False, traceback.format_exc()))
    finally:
        pipe.close()


class Helpers(Generic[R]):
    """Forked helpers rendering chunks; `finish()` joins in and collects their results."""

    def __init__(
        self,
        count: int,
        helpers: int,
        setup: Callable[[], None],
        render: Callable[[int], None],
        report: Callable[[], R],
        gate_from: int | None = None,
        gate: Callable[[Any], None] = lambda message: None,
    ) -> None:
        """`gate_from`: helpers wait for `open_gate(message)` before that task, and hand the
        message to `gate` (None: no task waits)."""
        self.render = render
        self.processes: list[tuple[Any, Connection]] = []
        self.gates: list[Connection] = []
        first = count if gate_from is None else gate_from
        import multiprocessing

        context = multiprocessing.get_context("fork")
        self.chunks = Chunks(count, context)
        if helpers:
            # Objects alive now (the model) are left out of garbage collection in every
            # process (until the caller unfreezes them, after the export): a collection
            # writes to each object it visits, which would give both processes their own
            # copy of the whole heap.
            gc.collect()
            gc.freeze()
        try:
            for _ in range(helpers):
                receive, send = context.Pipe(duplex=False)
                gate_in, gate_out = context.Pipe(duplex=False)
                process = context.Process(
                    target=_helper,
                    args=(setup, render, report, self.chunks, _Gate(first, gate, gate_in), send),
                    daemon=True,
                )
                process.start()
                send.close()
                gate_in.close()
                self.processes.append((process, receive))
                self.gates.append(gate_out)
        except BaseException:
            self.stop()
            raise

    def open_gate(self, message: object) -> None:
        """Let the helpers on to the tasks that wait for `message` (see `gate_from`)."""
        for pipe in self.gates:
            with contextlib.suppress(OSError):  # a helper that died: finish() reports it
                pipe.send(message)
            pipe.close()
        self.gates = []

    def finish(self, rendered: Callable[[int], None] = lambda taken: None) -> list[R]:
        """Render what is left here, then wait for every helper; their reports.
        `rendered(taken)` after each task done here: how many were taken by then (for a
        progress bar; tasks are handed out in order)."""
        while (number := self.chunks.take()) is not None:
            self.render(number)
            rendered(number + 1)
        reports: list[R] = []
        failure: object = None
        for process, pipe in self.processes:
            try:
                ok, value = pipe.recv()
            except EOFError:
                ok, value = False, f"a page helper process died (exit code {process.exitcode})"
            process.join()
            if ok:
                reports.append(value)
            elif failure is None:
                failure = value
        self.processes = []
        if isinstance(failure, OwnfeedError):
            raise failure
        if failure is not None:
            raise RuntimeError(f"rendering post pages failed in a helper process:\n{failure}")
        return reports

    def stop(self) -> None:
        """Stop helpers still running (after a failure elsewhere)."""
        for gate in self.gates:
            gate.close()
        self.gates = []
        for process, pipe in self.processes:
            with contextlib.suppress(OSError, ValueError):
                process.kill()
                process.join()
            pipe.close()
        self.processes = []
