"""One sync per archive: an exclusive lock file beside it, released by the OS if we die."""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from types import TracebackType

from ownfeed.errors import LockedError


class ArchiveLock:
    """`flock` on `<archive>.lock`. A killed holder frees it at once, so a stale file is harmless.

    The file keeps the holder's pid only as information for the person reading the error.
    """

    def __init__(self, archive_path: Path) -> None:
        self.path = archive_path.with_name(archive_path.name + ".lock")
        self._fd: int | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 64).decode("ascii", "replace").strip() or "another process"
            os.close(fd)
            raise LockedError(
                f"another sync is running on {self.path.with_suffix('')} (pid {holder})"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode("ascii"))
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None

    def __enter__(self) -> ArchiveLock:
        self.acquire()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()
