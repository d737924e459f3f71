"""List entries rendered by earlier exports, kept in one state file of the site.

Why: a list page shows 20 entries, and when one of them changes the page is made again.
Rendering the 19 others through Jinja was most of a small re-export (a 1 % change of a
100,000-post archive touches ~3,900 list pages, ~77,000 entries). Each entry's HTML is
stored with a key made of everything it shows (the salt: format, templates, site
settings; the post's change digest and reply count), so an entry is rendered once per
change of its post and read back otherwise.

`.ownfeed-entries` holds the fragments (each its key, then its HTML), then an index (the
salt, then one tab-separated line per post: id, offset, length, CRC of the fragment, CRC
of its key; our post ids are safe file names), then a fixed-size trailer. The key's CRC
lets `has()` answer without reading the fragment (a hint: `get()` checks the key itself).
It is staged and put in place with the rest of the export, so a failed export keeps the
old one. A missing, damaged, old-format or other-salt file only means that entries are
rendered again.
Fragments are read one by one (`pread`), never mapped or loaded whole, and the index holds
one integer per post: memory stays flat.
"""

from __future__ import annotations

import marshal
import os
import shutil
import struct
import zlib
from collections.abc import Iterable

from ownfeed.export.writer import SiteWriter, fingerprint

NAME = ".ownfeed-entries"
FORMAT = 2
ROOT = "../"  # every list page but the index's first sits one folder down
_MAGIC = b"OFENTRY1"
_TRAILER = struct.Struct("<8sQQ")  # magic, index offset, index length
_SLACK = 4 << 20  # bytes of replaced fragments tolerated before the file is compacted
_KEY = 24  # characters of a key (a fingerprint), in front of each fragment
_ADDED = NAME + ".added"  # staged only, never put in place


def _pack(offset: int, length: int, crc: int, key_crc: int) -> int:
    return (key_crc << 128) | (offset << 64) | (length << 32) | crc


def _unpack(value: int) -> tuple[int, int, int]:
    """Offset, length and CRC of a fragment."""
    return (value >> 64) & 0xFFFFFFFFFFFFFFFF, (value >> 32) & 0xFFFFFFFF, value & 0xFFFFFFFF


def _key_crc(value: int) -> int:
    return value >> 128


class EntryStore:
    """Stored entries of the last export (read only) and those added by this one."""

    def __init__(self, writer: SiteWriter, salt: str) -> None:
        self.writer = writer
        self.salt = fingerprint("entries", FORMAT, salt, ROOT)
        self._old: dict[str, int] = {}  # post id -> packed location of its fragment
        self._new: dict[str, int] = {}
        self._old_fd: int | None = None
        self._old_end = 0  # where the old file's fragments end (its index starts)
        self._out: int | None = None  # the staged file being written
        self._out_end = 0
        self._helper = False
        self._load()

    # -- reading ----------------------------------------------------------------------

    def _load(self) -> None:
        if NAME not in self.writer.old or NAME not in self.writer.existing:
            return
        try:
            fd = os.open(self.writer.output / NAME, os.O_RDONLY)
        except OSError:
            return
        try:
            size = os.fstat(fd).st_size
            if size < _TRAILER.size:
                raise ValueError("too short")
            magic, start, length = _TRAILER.unpack(
                os.pread(fd, _TRAILER.size, size - _TRAILER.size)
            )
            if magic != _MAGIC or start + length + _TRAILER.size != size:
                raise ValueError("no trailer")
            lines = os.pread(fd, length, start).decode("utf-8", "surrogatepass").split("\n")
            if lines[0] != self.salt:
                raise ValueError("other templates or settings")
            old: dict[str, int] = {}
            for line in lines[1:]:
                pid, offset, size_, crc, key_crc = line.split("\t")
                if int(offset) + int(size_) > start or int(size_) < _KEY:
                    raise ValueError("fragment beyond the data")
                old[pid] = _pack(int(offset), int(size_), int(crc), int(key_crc) & 0xFFFFFFFF)
        except (OSError, ValueError, struct.error):
            os.close(fd)
            return
        self._old, self._old_fd, self._old_end = old, fd, start

    def key(self, token: str) -> str:
        return fingerprint(self.salt, token)

    def has(self, post_id: str, key: str) -> bool:
        """Whether an entry for this key is stored, from the index alone (no read).

        A hint: a damaged fragment (or a CRC collision) is found by `get()`, which then
        returns None and the entry is rendered where it is needed.
        """
        found = self._new.get(post_id)
        if found is None:
            found = self._old.get(post_id)
        return found is not None and _key_crc(found) == zlib.crc32(key.encode("ascii"))

    def get(self, post_id: str, key: str) -> str | None:
        """The stored entry of a post for this key; None when there is none (or damaged)."""
        found = self._new.get(post_id)
        fd = self._out
        if found is None:
            found, fd = self._old.get(post_id), self._old_fd
        if found is None or fd is None:
            return None
        data = self._read(fd, found)
        if data is None or data[:_KEY] != key.encode("ascii"):
            return None
        return data[_KEY:].decode("utf-8", "surrogatepass")

    @staticmethod
    def _read(fd: int, packed: int) -> bytes | None:
        offset, length, crc = _unpack(packed)
        try:
            data = os.pread(fd, length, offset)
        except OSError:
            return None
        if len(data) != length or zlib.crc32(data) != crc:
            return None
        return data

    # -- writing ----------------------------------------------------------------------

    def for_helper(self) -> None:
        """In a forked page helper: read the old file and the entries added so far (the
        staged file) on descriptors of its own, add nothing (the main process owns the new
        file)."""
        self._helper = True
        if self._old_fd is not None:
            try:
                self._old_fd = os.open(self.writer.output / NAME, os.O_RDONLY)
            except OSError:
                self._old_fd, self._old = None, {}
        if self._out is not None:
            try:
                self._out = os.open(self.writer.staging_path(NAME), os.O_RDONLY)
            except OSError:
                self._out, self._new = None, {}

    def added(self) -> str | None:
        """A staged file telling where the entries added so far are, for `take_added` in
        helpers (a file: a message that large could block the pipe to a busy helper)."""
        if not self._new:
            return None
        path = self.writer.staging_path(_ADDED)
        with open(path, "wb") as handle:
            marshal.dump(self._new, handle)
        return path

    def take_added(self, path: str) -> None:
        """In a helper: read the entries the main process added after the fork."""
        try:
            with open(path, "rb") as handle:
                added = marshal.load(handle)
            if not isinstance(added, dict):
                return  # they are rendered where needed instead
            if self._out is None:
                self._out = os.open(self.writer.staging_path(NAME), os.O_RDONLY)
        except (OSError, ValueError, EOFError, TypeError):
            return
        self._new = added

    def add(self, post_id: str, key: str, html: str) -> None:
        if self._helper:
            return
        if self._out is None:
            self._open_out()
        assert self._out is not None
        data = key.encode("ascii") + html.encode("utf-8", "surrogatepass")
        if len(key) != _KEY:
            raise ValueError("an entry key is a fingerprint")
        offset = self._out_end
        _write_all(self._out, data)
        self._out_end += len(data)
        self._new[post_id] = _pack(
            offset, len(data), zlib.crc32(data), zlib.crc32(key.encode("ascii"))
        )

    def _open_out(self) -> None:
        """Start the new file as a copy of the old one's fragments (a kernel copy), so
        entries kept from the last export stay where the old index says they are."""
        path = self.writer.staging_path(NAME)
        if self._old_fd is not None:
            shutil.copyfile(self.writer.output / NAME, path)  # in the kernel (sendfile)
            self._out_end = os.path.getsize(path)
        self._out = os.open(path, os.O_RDWR | os.O_CREAT | os.O_APPEND, 0o666)

    def finish(self, post_ids: Iterable[str]) -> None:
        """Stage the file with the entries of these posts (our posts now), or keep the
        old one when nothing was added."""
        if self._helper:
            return
        live: dict[str, int] = {}
        for pid in post_ids:
            found = self._new.get(pid) or self._old.get(pid)
            if found is not None:
                live[pid] = found
        used = sum(_unpack(value)[1] for value in live.values())
        if self._out is None and len(live) == len(self._old) and self.writer.keep([NAME]):
            self.close()
            return
        if self._out is None:
            self._open_out()
        assert self._out is not None
        if self._out_end > 2 * used + _SLACK:
            live = self._compact(live)
        lines = [self.salt]
        for pid, value in live.items():
            offset, length, crc = _unpack(value)
            lines.append(f"{pid}\t{offset}\t{length}\t{crc}\t{_key_crc(value)}")
        encoded = "\n".join(lines).encode("utf-8", "surrogatepass")
        _write_all(self._out, encoded)
        _write_all(self._out, _TRAILER.pack(_MAGIC, self._out_end, len(encoded)))
        self.close()
        self.writer.adopt(NAME)

    def _compact(self, live: dict[str, int]) -> dict[str, int]:
        """Rewrite the staged file with only the live fragments."""
        assert self._out is not None
        path = self.writer.staging_path(NAME)
        temporary = path + ".compact"
        out = os.open(temporary, os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND, 0o666)
        kept: dict[str, int] = {}
        end = 0
        try:
            for pid, value in live.items():
                data = self._read(self._out, value)  # the staged file has every live one
                if data is None:
                    continue
                _write_all(out, data)
                kept[pid] = _pack(end, len(data), zlib.crc32(data), _key_crc(value))
                end += len(data)
        except BaseException:
            os.close(out)
            raise
        os.close(self._out)
        os.replace(temporary, path)
        self._out, self._out_end = out, end
        return kept

    def close(self) -> None:
        for fd in (self._old_fd, self._out):
            if fd is not None:
                os.close(fd)
        self._old_fd = self._out = None
        self._old, self._new = {}, {}


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
