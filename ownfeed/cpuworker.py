"""The parse worker's side of `ownfeed.cpu`: `python -m ownfeed.cpuworker`.

Kept apart from the pool so a worker imports no asyncio, HTTP client or archive code: a
worker starts for every core on every large sync, and its import time is CPU the sync
pays. The wire format (length-prefixed pickles) is defined here and used by both sides.
"""

from __future__ import annotations

import pickle
import struct
import sys
from collections.abc import Callable
from typing import IO, Any

from ownfeed.errors import SourceError

#: Modules a worker imports before it says it is ready.
PRELOAD = ("ownfeed.sources.feedparse", "ownfeed.sources.fastfeed")
HEADER = struct.Struct("!Q")
READY = b"ownfeed-cpu-ready\n"


def call(fn: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any]) -> bytes:
    """The pickled outcome of one call. A SourceError travels as its parts (so its
    `status` survives), any other exception as itself, or as its text if it cannot."""
    try:
        outcome: tuple[str, Any] = ("ok", fn(*args, **kwargs))
    except SourceError as error:
        outcome = ("source", (type(error), str(error), error.status))
    except Exception as error:
        outcome = ("error", error)
    try:
        return pickle.dumps(outcome, protocol=pickle.HIGHEST_PROTOCOL)
    except Exception as error:
        failed = RuntimeError(f"{type(error).__name__}: {error}")
        return pickle.dumps(("error", failed), protocol=pickle.HIGHEST_PROTOCOL)


def serve(requests: IO[bytes], answers: IO[bytes]) -> None:
    """One pickled call in, one pickled answer out, until end of input."""
    while True:
        header = requests.read(HEADER.size)
        if len(header) < HEADER.size:
            return
        (size,) = HEADER.unpack(header)
        fn, args, kwargs = pickle.loads(requests.read(size))
        answer = call(fn, args, kwargs)
        answers.write(HEADER.pack(len(answer)) + answer)
        answers.flush()


def main() -> None:
    """Worker entry point: preload the parser, keep stdout for answers only."""
    import importlib

    answers = sys.stdout.buffer
    sys.stdout = sys.stderr  # a stray print must not corrupt the answer stream
    for module in PRELOAD:
        importlib.import_module(module)
    answers.write(READY)
    answers.flush()
    serve(sys.stdin.buffer, answers)


if __name__ == "__main__":
    main()
