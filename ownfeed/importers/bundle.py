"""Reading export archives (zip, folder or single file) without ever trusting their names.

Members are read into memory by name from an index built up front; nothing is extracted,
so a hostile member name (`../x`, `/etc/x`, `C:\\x`) or a symlink can never reach a path
outside the archive. Such names make the whole archive invalid rather than being skipped:
an export from the platform never contains them.
"""

from __future__ import annotations

import io
import os
import stat
import zipfile
from abc import ABC, abstractmethod
from pathlib import Path, PurePosixPath
from types import TracebackType
from typing import IO, cast

from ownfeed.errors import ParseError

MAX_MEMBER_BYTES = 512 * 1024 * 1024
_ZIP_MAGIC = b"PK\x03\x04"


def one_line(text: object) -> str:
    """Error causes are shown on one line: collapse newlines and runs of spaces."""
    return " ".join(str(text).split())


def safe_name(name: str) -> str | None:
    """The member name as a relative POSIX path, or None when it could escape the archive."""
    if not name or "\\" in name or "\0" in name or name.startswith("/"):
        return None
    parts = [part for part in name.split("/") if part not in ("", ".")]
    if not parts or ".." in parts or (len(parts[0]) >= 2 and parts[0][1] == ":"):
        return None
    return "/".join(parts)


class Bundle(ABC):
    """An export: a set of named members, each readable as bytes."""

    def __init__(self, path: Path, label: str | None = None) -> None:
        self.path = path
        self.label = label or path.name or str(path)

    @abstractmethod
    def names(self) -> list[str]:
        """Every member (files only), as safe relative POSIX paths."""

    @abstractmethod
    def read(self, name: str) -> bytes:
        """One member's bytes; ParseError when it cannot be read."""

    def open(self, name: str) -> IO[bytes]:
        """One member as a stream, for files too large to hold (read errors: ParseError)."""
        return io.BytesIO(self.read(name))

    def close(self) -> None:
        return None

    def where(self, name: str) -> str:
        """How errors name a member: `archive.zip:data/tweets.js`."""
        return f"{self.label}:{name}" if name != self.label else self.label

    def fail(self, name: str, cause: object) -> ParseError:
        return ParseError(f"{self.where(name)}: {one_line(cause)}")

    def __enter__(self) -> Bundle:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class ZipBundle(Bundle):
    def __init__(self, path: Path) -> None:
        super().__init__(path)
        try:
            self._zip = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError, ValueError) as error:
            raise ParseError(
                f"{self.label}: not a readable zip archive ({one_line(error)})"
            ) from None
        self._index: dict[str, zipfile.ZipInfo] = {}
        try:
            for info in self._zip.infolist():
                self._add(info)
        except ParseError:
            self._zip.close()
            raise

    def _add(self, info: zipfile.ZipInfo) -> None:
        name = safe_name(info.filename)
        if name is None:
            raise ParseError(f"{self.label}: unsafe entry name {info.filename!r}")
        mode = info.external_attr >> 16
        if stat.S_ISLNK(mode):
            raise ParseError(f"{self.label}: entry {info.filename!r} is a symlink")
        if info.is_dir():
            return
        if name in self._index:
            raise ParseError(f"{self.label}: entry {info.filename!r} appears twice")
        self._index[name] = info

    def names(self) -> list[str]:
        return list(self._index)

    def read(self, name: str) -> bytes:
        info = self._index.get(name)
        if info is None:
            raise self.fail(name, "missing")
        if info.file_size > MAX_MEMBER_BYTES:
            raise self.fail(name, f"too large ({info.file_size} bytes)")
        try:
            return self._zip.read(info)
        except Exception as error:  # BadZipFile, bad CRC, zlib.error, encrypted, truncated
            raise self.fail(name, f"cannot be read ({error})") from None

    def open(self, name: str) -> IO[bytes]:
        info = self._index.get(name)
        if info is None:
            raise self.fail(name, "missing")
        return cast(IO[bytes], _Guarded(self, name, self._zip.open(info)))

    def close(self) -> None:
        self._zip.close()


class FolderBundle(Bundle):
    """An unpacked export. Symlinks anywhere inside are refused, not followed."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self._root = path.resolve()
        self._index: dict[str, Path] = {}
        for folder, dirs, files in os.walk(self._root, followlinks=False):
            for entry in (*dirs, *files):
                full = Path(folder, entry)
                if full.is_symlink():
                    relative = full.relative_to(self._root).as_posix()
                    raise ParseError(f"{self.label}: {relative!r} is a symlink")
            for entry in files:
                full = Path(folder, entry)
                relative = full.relative_to(self._root).as_posix()
                if full.is_file():
                    self._index[relative] = full

    def names(self) -> list[str]:
        return list(self._index)

    def read(self, name: str) -> bytes:
        full = self._index.get(name)
        if full is None:
            raise self.fail(name, "missing")
        return _read_file(full, self, name)

    def open(self, name: str) -> IO[bytes]:
        full = self._index.get(name)
        if full is None:
            raise self.fail(name, "missing")
        try:
            fd = os.open(full, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        except OSError as error:
            raise self.fail(name, f"cannot be read ({error.strerror or error})") from None
        return cast(IO[bytes], _Guarded(self, name, os.fdopen(fd, "rb")))


class FileBundle(Bundle):
    """A single exported file (a WXR document, a CAR repository) as a one-member bundle."""

    def names(self) -> list[str]:
        return [self.label]

    def read(self, name: str) -> bytes:
        if name != self.label:
            raise self.fail(name, "missing")
        return _read_file(self.path, self, name)


class _Guarded(io.RawIOBase):
    """A member stream whose read errors (bad CRC, truncated data) are ParseErrors."""

    def __init__(self, bundle: Bundle, name: str, stream: IO[bytes]) -> None:
        super().__init__()
        self._bundle, self._name, self._stream = bundle, name, stream

    def readable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        try:
            return self._stream.read(size)
        except Exception as error:  # BadZipFile, zlib.error, OSError, EOFError
            raise self._bundle.fail(self._name, f"cannot be read ({error})") from None

    def close(self) -> None:
        self._stream.close()
        super().close()


def _read_file(path: Path, bundle: Bundle, name: str) -> bytes:
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0)
    try:
        fd = os.open(path, flags)
        with os.fdopen(fd, "rb") as handle:
            if os.fstat(handle.fileno()).st_size > MAX_MEMBER_BYTES:
                raise bundle.fail(name, "too large")
            return handle.read()
    except OSError as error:
        raise bundle.fail(name, f"cannot be read ({error.strerror or error})") from None


def open_bundle(path: Path) -> Bundle:
    """A folder, a zip (by its magic bytes or .zip name, so a truncated zip says so) or a file."""
    if path.is_dir():  # the folder the user named may be a link; links inside it may not
        return FolderBundle(path)
    if not path.is_file():
        raise ParseError(f"{path}: no such file or folder")
    try:
        with path.open("rb") as handle:
            magic = handle.read(4)
    except OSError as error:
        raise ParseError(f"{path}: cannot be read ({error.strerror or error})") from None
    if magic == _ZIP_MAGIC or path.suffix.lower() == ".zip":
        return ZipBundle(path)
    return FileBundle(
        path.resolve(), path.name
    )  # the user named this file: following a link is fine


def find(bundle: Bundle, basename: str) -> str | None:
    """The shallowest member with this file name (exports are often wrapped in a folder)."""
    found = [n for n in bundle.names() if PurePosixPath(n).name == basename]
    return min(found, key=lambda n: (n.count("/"), n)) if found else None
