"""List entries rendered by earlier exports, kept in one state file of the site.

Why: a list page shows 20 entries, and when one of them changes the page is made again.
Rendering the 19 others through Jinja was most of a small re-export (a 1 % change of a
100,000-post archive touches ~3,900 list pages, ~77,000 entries). Each entry's HTML is
stored with a key made of everything it shows (the salt: format, templates, site
settings; the post's change digest and reply count), so an entry is rendered once per
change of its post and read back otherwise.

`.ownfeed-entries` holds the fragments (each its key, then its HTML), then an index, then
a fixed-size trailer (where the index starts, its CRC). The index is the salt and the post
ids as lines (our post ids are safe file names), then four columns of numbers, a row per
post: offset, length, CRC of the fragment, CRC of its key. Why columns: they are read and
written whole (`array`), not parsed and formatted per post (~0.15 s each way at 75,000
posts). The key's CRC lets `has()` answer without reading the fragment (a hint: `get()`
checks the key itself).
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
import sys
import zlib
from array import array
from collections.abc import Iterable
from operator import itemgetter

from ownfeed.export.writer import SiteWriter, fingerprint

NAME = ".ownfeed-entries"
FORMAT = 3  # 3: the index as a string of ids and arrays of numbers; 2: a line per post
ROOT = "../"  # every list page but the index's first sits one folder down
_MAGIC = b"OFENTRY3"
_TRAILER = struct.Struct("<8sQQQI")  # magic, index offset, ids' bytes, posts, index CRC
_SLACK = 4 << 20  # bytes of replaced fragments tolerated before the file is compacted
_KEY = 24  # characters of a key (a fingerprint), in front of each fragment
_ADDED = NAME + ".added"  # staged only, never put in place
_COLUMNS = ("Q", "I", "I", "I")  # offset, length, CRC of the fragment, CRC of its key


def _pack(offset: int, length: int, crc: int, key_crc: int) -> int:
    return (key_crc << 128) | (offset << 64) | (length << 32) | crc


def _unpack(value: int) -> tuple[int, int, int, int]:
    """Offset, length, CRC and key CRC of a fragment."""
    return (
        (value >> 64) & 0xFFFFFFFFFFFFFFFF,
        (value >> 32) & 0xFFFFFFFF,
        value & 0xFFFFFFFF,
        value >> 128,
    )


def _columns() -> list[array[int]]:
    return [array(code) for code in _COLUMNS]


def _encode(columns: list[array[int]]) -> bytes:
    """The columns' bytes, little-endian on every machine (a site folder may move)."""
    if sys.byteorder == "little":
        return b"".join(column.tobytes() for column in columns)
    swapped = [array(column.typecode, column) for column in columns]
    for column in swapped:
        column.byteswap()
    return b"".join(column.tobytes() for column in swapped)


def _decode(data: bytes, count: int) -> list[array[int]]:
    """The columns of `count` posts from `_encode`'s bytes; ValueError when they differ."""
    columns = _columns()
    at = 0
    for column in columns:
        end = at + column.itemsize * count
        column.frombytes(data[at:end])
        if len(column) != count:
            raise ValueError("index numbers cut short")
        if sys.byteorder != "little":
            column.byteswap()
        at = end
    if at != len(data):
        raise ValueError("index numbers of another size")
    return columns


class EntryStore:
    """Stored entries of the last export (read only) and those added by this one."""

    def __init__(self, writer: SiteWriter, salt: str) -> None:
        self.writer = writer
        self.salt = fingerprint("entries", FORMAT, salt, ROOT)
        # The old index as read: post id -> row of the columns (offset, length, CRC, key
        # CRC). Why columns: parsing a line per post and a big int each was ~0.15 s.
        self._old: dict[str, int] = {}
        self._old_ids: list[str] = []
        self._old_columns = _columns()
        self._new: dict[str, int] = {}  # post id -> `_pack`ed location in the staged file
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
            magic, start, ids_size, count, crc = _TRAILER.unpack(
                os.pread(fd, _TRAILER.size, size - _TRAILER.size)
            )
            length = size - _TRAILER.size - start
            if magic != _MAGIC or not 0 <= length < 1 << 32 or ids_size > length:
                raise ValueError("no trailer")
            index = os.pread(fd, length, start)
            if len(index) != length or zlib.crc32(index) != crc:
                raise ValueError("index damaged")
            ids = index[:ids_size].decode("utf-8", "surrogatepass").split("\n")
            if ids[0] != self.salt:
                raise ValueError("other templates or settings")
            del ids[0]
            columns = _decode(index[ids_size:], count)
            old = dict(zip(ids, range(len(ids)), strict=False))  # lengths checked below
            if len(ids) != count or len(old) != count:
                raise ValueError("index ids and numbers differ")
        except (OSError, ValueError, struct.error):
            os.close(fd)
            return
        self._old, self._old_ids, self._old_columns = old, ids, columns
        self._old_fd, self._old_end = fd, start

    def _where(self, post_id: str) -> tuple[int, int, int, int] | None:
        """Offset, length, CRC and key CRC of a post's fragment, in the staged file when
        this export added it (`_new`), else in the old file."""
        found = self._new.get(post_id)
        if found is not None:
            return _unpack(found)
        row = self._old.get(post_id)
        if row is None:
            return None
        offsets, lengths, crcs, key_crcs = self._old_columns
        return offsets[row], lengths[row], crcs[row], key_crcs[row]

    def key(self, token: str) -> str:
        return fingerprint(self.salt, token)

    def has(self, post_id: str, key: str) -> bool:
        """Whether an entry for this key is stored, from the index alone (no read).

        A hint: a damaged fragment (or a CRC collision) is found by `get()`, which then
        returns None and the entry is rendered where it is needed.
        """
        found = self._where(post_id)
        return found is not None and found[3] == zlib.crc32(key.encode("ascii"))

    def get(self, post_id: str, key: str) -> str | None:
        """The stored entry of a post for this key; None when there is none (or damaged)."""
        packed = self._new.get(post_id)
        if packed is not None:
            fd = self._out
            offset, length, crc, _ = _unpack(packed)
        else:
            row = self._old.get(post_id)
            if row is None:
                return None
            fd = self._old_fd
            offsets, lengths, crcs, _ = self._old_columns
            offset, length, crc = offsets[row], lengths[row], crcs[row]
        if fd is None:
            return None
        data = self._read(fd, offset, length, crc)
        if data is None or data[:_KEY] != key.encode("ascii"):
            return None
        return data[_KEY:].decode("utf-8", "surrogatepass")

    @staticmethod
    def _read(fd: int, offset: int, length: int, crc: int) -> bytes | None:
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
                self._old_fd, self._old, self._old_ids = None, {}, []
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
        old one when nothing was added.

        The index is built column by column (`itemgetter` over rows): formatting a line
        per post was ~0.15 s at 75,000 posts.
        """
        if self._helper:
            return
        ids, columns = self._live(post_ids)
        if self._out is None and len(ids) == len(self._old) and self.writer.keep([NAME]):
            self.close()
            return
        if self._out is None:
            self._open_out()
        assert self._out is not None
        if self._out_end > 2 * sum(columns[1]) + _SLACK:
            ids, columns = self._compact(ids, columns)
        text = "\n".join([self.salt, *ids]).encode("utf-8", "surrogatepass")
        index = text + _encode(columns)
        _write_all(self._out, index)
        trailer = (_MAGIC, self._out_end, len(text), len(ids), zlib.crc32(index))
        _write_all(self._out, _TRAILER.pack(*trailer))
        self.close()
        self.writer.adopt(NAME)

    def _live(self, post_ids: Iterable[str]) -> tuple[list[str], list[array[int]]]:
        """The ids of these posts that have a stored entry, and its columns (offsets in
        the staged file, which starts as a copy of the old one).

        Why two ways: when the posts are those of the old index in its order (a small
        change), its columns are copied whole and the added entries' rows set (~5 ms at
        75,000 posts); else the rows are picked one by one (~50 ms).
        """
        old, new = self._old, self._new
        if all(pid in old for pid in new):
            ids = list(filter(old.__contains__, post_ids))
            if ids == self._old_ids:
                columns = [array(column.typecode, column) for column in self._old_columns]
                for pid, value in new.items():
                    row = old[pid]
                    for column, number in zip(columns, _unpack(value), strict=True):
                        column[row] = number
                return ids, columns
            post_ids = ids
        rows = dict(old)
        columns = [array(column.typecode, column) for column in self._old_columns]
        for row, (pid, value) in enumerate(new.items(), len(self._old_ids)):
            rows[pid] = row
            for column, number in zip(columns, _unpack(value), strict=True):
                column.append(number)
        ids = list(filter(rows.__contains__, post_ids))
        picked = list(map(rows.__getitem__, ids))
        if len(picked) < 2:  # itemgetter of one row gives a number, not a tuple
            return ids, [array(c.typecode, [c[row] for row in picked]) for c in columns]
        pick = itemgetter(*picked)
        return ids, [array(column.typecode, pick(column)) for column in columns]

    def _compact(
        self, ids: list[str], columns: list[array[int]]
    ) -> tuple[list[str], list[array[int]]]:
        """Rewrite the staged file with only the live fragments."""
        assert self._out is not None
        path = self.writer.staging_path(NAME)
        temporary = path + ".compact"
        out = os.open(temporary, os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND, 0o666)
        kept_ids: list[str] = []
        kept = _columns()
        end = 0
        try:
            for pid, offset, length, crc, key_crc in zip(ids, *columns, strict=True):
                data = self._read(self._out, offset, length, crc)
                if data is None:  # the staged file has every live one, unless damaged
                    continue
                _write_all(out, data)
                kept_ids.append(pid)
                for column, number in zip(kept, (end, length, crc, key_crc), strict=True):
                    column.append(number)
                end += len(data)
        except BaseException:
            os.close(out)
            raise
        os.close(self._out)
        os.replace(temporary, path)
        self._out, self._out_end = out, end
        return kept_ids, kept

    def close(self) -> None:
        for fd in (self._old_fd, self._out):
            if fd is not None:
                os.close(fd)
        self._old_fd = self._out = None
        self._old, self._old_ids, self._old_columns, self._new = {}, [], _columns(), {}


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
