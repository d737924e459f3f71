"""List entries rendered by earlier exports, kept in state files of the site.

Why: a list page shows 20 entries, and when one of them changes the page is made again.
Rendering the 19 others through Jinja was most of a small re-export (a 1 % change of a
100,000-post archive touches ~3,900 list pages, ~77,000 entries). Each entry's HTML is
stored with a key made of everything it shows (the salt: format, templates, site
settings; the post's change digest and reply count), so an entry is rendered once per
change of its post and read back otherwise.

`.ownfeed-entries` holds a header (its id), the fragments (each its key, then its HTML)
added since the base was made, then an index, then a fixed-size trailer (where the index
starts, its CRC, the id of its base). The index is the salt and the post ids as lines (our
post ids are safe file names), then four columns of numbers, a row per post: offset (its
top bit: in the base), length, CRC of the fragment, CRC of its key. Why columns: they are
read and written whole (`array`), not parsed and formatted per post (~0.15 s each way at
75,000 posts). The key's CRC lets `has()` answer without reading the fragment (a hint:
`get()` checks the key itself).
`.ownfeed-entries.base` holds most fragments (~100 MB at 100,000 posts) and is kept as it
is while the entries added since stay small: a small change copies only those to the new
`.ownfeed-entries`, not the whole store. A new base is made when they grow (or the base
holds mostly replaced fragments); an index only uses the base with its id.
Both are staged and put in place with the rest of the export, so a failed export keeps the
old ones. A missing, damaged, old-format or other-salt file only means that entries are
rendered again.
Fragments are read one by one (`pread`), never mapped or loaded whole, and the index is
four numbers per post in arrays: memory stays flat.
"""

from __future__ import annotations

import hashlib
import marshal
import os
import struct
import sys
import zlib
from array import array
from collections.abc import Iterable
from itertools import compress
from operator import itemgetter

from ownfeed.export.writer import SiteWriter, fingerprint

NAME = ".ownfeed-entries"
BASE = NAME + ".base"  # a former NAME whose fragments the index of NAME may point into
FORMAT = 4  # 4: fragments in two files; 3: one file; 2: a line per post in the index
ROOT = "../"  # every list page but the index's first sits one folder down
_MAGIC = b"OFENTRY4"
_HEADER = struct.Struct("<8sQ")  # magic, the file's id (random): a base is known by it
_TRAILER = struct.Struct("<8sQQQIQ")  # magic, index offset, ids' bytes, posts, CRC, base id
_IN_BASE = 1 << 63  # an offset with this bit: the fragment is in BASE
_SLACK = 4 << 20  # bytes of replaced fragments tolerated before a base is rewritten
_DELTA = 8 << 20  # NAME's fragments beyond this (or 1/8 of the base's): a new base
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
        # `fingerprint(self.salt, token)` with the salt hashed once: a copy of this hash
        # per key (~60,000 keys after a 1 % change of 100,000 posts).
        self._key_hash = hashlib.blake2b(f"{self.salt}\x1f".encode(), digest_size=12)
        # The old index as read: post id -> row of the columns (offset, length, CRC, key
        # CRC). Why columns: parsing a line per post and a big int each was ~0.15 s.
        self._old: dict[str, int] = {}  # in the index's order (rows 0, 1, ...)
        self._old_columns = _columns()
        self._new: dict[str, int] = {}  # post id -> `_pack`ed location in the staged file
        self._old_fd: int | None = None
        self._old_end = 0  # where the old file's fragments end (its index starts)
        self._base_fd: int | None = None
        self._base_id = 0  # that of the base the old index points into; 0: none
        self._out: int | None = None  # the staged file being written
        self._out_id = 0
        self._out_end = 0
        self._helper = False
        self._load()

    # -- reading ----------------------------------------------------------------------

    def _load(self) -> None:
        fd = self._open_old(NAME)
        if fd is None:
            return
        base: int | None = None
        try:
            size = os.fstat(fd).st_size
            if size < _HEADER.size + _TRAILER.size:
                raise ValueError("too short")
            if _HEADER.unpack(os.pread(fd, _HEADER.size, 0))[0] != _MAGIC:
                raise ValueError("no header")
            magic, start, ids_size, count, crc, base_id = _TRAILER.unpack(
                os.pread(fd, _TRAILER.size, size - _TRAILER.size)
            )
            length = size - _TRAILER.size - start
            if magic != _MAGIC or start < _HEADER.size or not 0 <= ids_size <= length < 1 << 32:
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
            if base_id:
                base = self._open_old(BASE)
                header = _HEADER.pack(_MAGIC, base_id)
                if base is None or os.pread(base, _HEADER.size, 0) != header:
                    raise ValueError("not the base of this index")  # e.g. a commit cut short
        except (OSError, ValueError, struct.error):
            for opened in (fd, base):
                if opened is not None:
                    os.close(opened)
            return
        self._old, self._old_columns = old, columns
        self._old_fd, self._old_end = fd, start
        self._base_fd, self._base_id = base, base_id

    def _open_old(self, name: str) -> int | None:
        if name not in self.writer.old or name not in self.writer.existing:
            return None
        try:
            return os.open(self.writer.output / name, os.O_RDONLY)
        except OSError:
            return None

    @property
    def loaded(self) -> bool:
        """Whether the last export's entries were read (else every entry is missing)."""
        return bool(self._old)

    def key(self, token: str) -> str:
        """`fingerprint(self.salt, token)`: the entry's key."""
        hashed = self._key_hash.copy()
        hashed.update(f"{token}\x1f".encode("utf-8", "surrogatepass"))
        return hashed.hexdigest()

    def has(self, post_id: str, key: str) -> bool:
        """Whether an entry for this key is stored, from the index alone (no read).

        A hint: a damaged fragment (or a CRC collision) is found by `get()`, which then
        returns None and the entry is rendered where it is needed.
        """
        packed = self._new.get(post_id)
        if packed is not None:
            key_crc = _unpack(packed)[3]
        else:
            row = self._old.get(post_id)
            if row is None:
                return False
            key_crc = self._old_columns[3][row]
        return key_crc == zlib.crc32(key.encode("ascii"))

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
            offsets, lengths, crcs, _ = self._old_columns
            offset, length, crc = offsets[row], lengths[row], crcs[row]
            fd = self._old_fd
            if offset & _IN_BASE:
                fd, offset = self._base_fd, offset ^ _IN_BASE
        if fd is None:
            return None
        data = _read(fd, offset, length, crc)
        if data is None or data[:_KEY] != key.encode("ascii"):
            return None
        return data[_KEY:].decode("utf-8", "surrogatepass")

    def get_page(self, post_ids: list[str], keys: list[str]) -> list[str | None]:
        """`get` for the entries of one list page (~77,000 after a 1 % change): the same
        checks in one loop, the columns and descriptors looked up once."""
        new, old = self._new, self._old
        offsets, lengths, crcs, _ = self._old_columns
        files = (self._old_fd, self._base_fd)
        pread, crc32 = os.pread, zlib.crc32
        found: list[str | None] = []
        for post_id, key in zip(post_ids, keys, strict=True):
            row = old.get(post_id)
            if row is None or post_id in new:
                found.append(self.get(post_id, key))
                continue
            offset, length = offsets[row], lengths[row]
            fd = files[offset >> 63]  # the top bit: in the base
            try:
                data = pread(fd, length, offset & ~_IN_BASE) if fd is not None else b""
            except OSError:
                data = b""
            if len(data) != length or crc32(data) != crcs[row] or data[:_KEY] != key.encode():
                found.append(None)
            else:
                found.append(data[_KEY:].decode("utf-8", "surrogatepass"))
        return found

    def last(self, post_id: str) -> str | None:
        """A post's entry as the last export stored it, whatever its key (its CRC checked);
        None when there is none."""
        row = self._old.get(post_id)
        if row is None:
            return None
        offsets, lengths, crcs, _ = self._old_columns
        offset = offsets[row]
        fd = (self._old_fd, self._base_fd)[offset >> 63]  # the top bit: in the base
        data = None if fd is None else _read(fd, offset & ~_IN_BASE, lengths[row], crcs[row])
        return None if data is None else data[_KEY:].decode("utf-8", "surrogatepass")

    # -- writing ----------------------------------------------------------------------

    def for_helper(self) -> None:
        """In a forked page helper: read the old files and the entries added so far (the
        staged file) on descriptors of their own, add nothing (the main process owns the
        new file)."""
        self._helper = True
        try:
            if self._old_fd is not None:
                self._old_fd = os.open(self.writer.output / NAME, os.O_RDONLY)
            if self._base_fd is not None:
                self._base_fd = os.open(self.writer.output / BASE, os.O_RDONLY)
        except OSError:
            self._old_fd = self._base_fd = None
            self._old = {}
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

    def _open_out(self, *, keep: bool = True) -> None:
        """Start the staged NAME with the old one's fragments (`keep`), so the old index's
        offsets hold in it. Those are few (at most ~`_DELTA` bytes): the bulk sits in the
        base, which stays in place (copying it was ~0.1 s and ~100 MB of disk writes)."""
        out = os.open(self.writer.staging_path(NAME), _WRITE | os.O_TRUNC, 0o666)
        self._out, self._out_id = out, _new_id()
        _write_all(out, _HEADER.pack(_MAGIC, self._out_id))
        self._out_end = _HEADER.size
        if keep and self._old_fd is not None:
            self._out_end += _copy(self._old_fd, _HEADER.size, self._old_end, out)

    def finish(self, post_ids: Iterable[str]) -> None:
        """Stage NAME with the entries of these posts (our posts now), and a new base when
        due, or keep the old files when nothing was added.

        The index is built column by column (`itemgetter` over rows): formatting a line
        per post was ~0.15 s at 75,000 posts.
        """
        if self._helper:
            return
        ids, columns = self._live(post_ids)
        files = [NAME] if self._base_fd is None else [NAME, BASE]
        if self._out is None and len(ids) == len(self._old) and self.writer.keep(files):
            self.close()
            return
        if self._out is None:
            self._open_out()
        assert self._out is not None
        base_id = self._base_id
        if self._rebase_due(columns) or (base_id and not self.writer.keep([BASE])):
            ids, columns, base_id = self._rebase(ids, columns)
        text = "\n".join([self.salt, *ids]).encode("utf-8", "surrogatepass")
        index = text + _encode(columns)
        _write_all(self._out, index)
        trailer = (_MAGIC, self._out_end, len(text), len(ids), zlib.crc32(index), base_id)
        _write_all(self._out, _TRAILER.pack(*trailer))
        self.close()
        self.writer.adopt(NAME)

    def _live(self, post_ids: Iterable[str]) -> tuple[list[str], list[array[int]]]:
        """The ids of these posts that have a stored entry, and its columns (offsets in
        the base, or in the staged NAME, which starts with the old one's fragments).

        Why two ways: when the posts are those of the old index in its order (a small
        change), its columns are copied whole and the added entries' rows set (~5 ms at
        75,000 posts); else the rows are picked one by one (~50 ms).
        """
        old, new = self._old, self._new
        if all(pid in old for pid in new):
            ids = list(filter(old.__contains__, post_ids))
            if ids == list(old):
                columns = [array(column.typecode, column) for column in self._old_columns]
                for pid, value in new.items():
                    row = old[pid]
                    for column, number in zip(columns, _unpack(value), strict=True):
                        column[row] = number
                return ids, columns
            post_ids = ids
        rows = dict(old)
        columns = [array(column.typecode, column) for column in self._old_columns]
        for row, (pid, value) in enumerate(new.items(), len(old)):
            rows[pid] = row
            for column, number in zip(columns, _unpack(value), strict=True):
                column.append(number)
        ids = list(filter(rows.__contains__, post_ids))
        picked = list(map(rows.__getitem__, ids))
        if len(picked) < 2:  # itemgetter of one row gives a number, not a tuple
            return ids, [array(c.typecode, [c[row] for row in picked]) for c in columns]
        pick = itemgetter(*picked)
        return ids, [array(column.typecode, pick(column)) for column in columns]

    def _rebase_due(self, columns: list[array[int]]) -> bool:
        """Whether NAME's own fragments grew past `_DELTA` (and an eighth of the base), or
        the base holds more replaced fragments than live ones (and `_SLACK`)."""
        delta = self._out_end - _HEADER.size
        if self._base_fd is None:
            return delta > _DELTA
        size = os.fstat(self._base_fd).st_size
        in_base = (offset & _IN_BASE for offset in columns[0])
        live = sum(compress(columns[1], in_base))
        return delta > max(_DELTA, size // 8) or size > 2 * live + _SLACK

    def _rebase(
        self, ids: list[str], columns: list[array[int]]
    ) -> tuple[list[str], list[array[int]], int]:
        """Stage a new base with every live fragment, and NAME anew for the index alone;
        the rows and id of the new base.

        The staged NAME itself becomes the base when it holds every live fragment with
        little waste (a first export: no copy), else the live fragments are copied."""
        assert self._out is not None
        target = self.writer.staging_path(BASE)
        offsets, lengths, crcs, key_crcs = columns
        if not any(offset & _IN_BASE for offset in offsets) and (
            self._out_end <= 2 * sum(lengths) + _SLACK + _HEADER.size
        ):
            os.close(self._out)
            self._out = None
            os.replace(self.writer.staging_path(NAME), target)
            base_id = self._out_id
            kept = [array("Q", [offset | _IN_BASE for offset in offsets]), lengths, crcs]
            self._open_out(keep=False)
            self.writer.adopt(BASE)
            return ids, [*kept, key_crcs], base_id
        base_id = _new_id()
        moved = self._copy_live(target, base_id, columns[0], columns[1])
        os.close(self._out)
        self._out = None
        self._open_out(keep=False)
        self.writer.adopt(BASE)
        return ids, [moved, lengths, crcs, key_crcs], base_id

    def _copy_live(
        self, target: str, base_id: int, offsets: array[int], lengths: array[int]
    ) -> array[int]:
        """Write a base at `target` with the fragments at these offsets (in the old base
        or the staged NAME); their offsets in it.

        Why by runs: the fragments are taken in file order and neighbours copied in one
        call (in the kernel), ~0.1 s for ~50 MB instead of ~0.6-0.9 s one by one. CRCs
        are not checked here: `get()` checks each fragment it reads.
        """
        files = (self._out, self._base_fd)
        moved = array("Q", offsets)
        out = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
        try:
            _write_all(out, _HEADER.pack(_MAGIC, base_id))
            end = _HEADER.size
            run = (0, 0, 0)  # file (1: the base), start, end of the fragments to copy
            for row in sorted(range(len(offsets)), key=offsets.__getitem__):
                offset = offsets[row]
                where = (offset >> 63, offset & ~_IN_BASE)
                if where != run[:2] and (where[0], run[2]) != (run[0], where[1]):
                    end += _copy_run(files[run[0]], run[1], run[2], out)
                    run = (where[0], where[1], where[1])
                moved[row] = (end + where[1] - run[1]) | _IN_BASE
                run = (run[0], run[1], max(run[2], where[1] + lengths[row]))
            _copy_run(files[run[0]], run[1], run[2], out)
        finally:
            os.close(out)
        return moved

    def close(self) -> None:
        for fd in (self._old_fd, self._base_fd, self._out):
            if fd is not None:
                os.close(fd)
        self._old_fd = self._base_fd = self._out = None
        self._old, self._old_columns, self._new = {}, _columns(), {}


_WRITE = os.O_RDWR | os.O_CREAT | os.O_APPEND


def _new_id() -> int:
    """A file's id for `_HEADER` (never 0: that means no base)."""
    return int.from_bytes(os.urandom(8), "little") | 1


def _read(fd: int, offset: int, length: int, crc: int) -> bytes | None:
    try:
        data = os.pread(fd, length, offset)
    except OSError:
        return None
    if len(data) != length or zlib.crc32(data) != crc:
        return None
    return data


def _copy_run(source: int | None, start: int, end: int, target: int) -> int:
    """Copy bytes start..end of a file to `target` (at its position), zeros where the
    source is short or missing (its fragments then fail their CRC); the length copied."""
    copied = 0
    if source is not None:
        while start + copied < end:
            try:
                done = os.copy_file_range(source, target, end - start - copied, start + copied)
            except OSError:  # not on this file system: read and write
                done = _copy(source, start + copied, end, target)
            if not done:
                break
            copied += done
    if copied < end - start:
        _write_all(target, bytes(end - start - copied))
    return end - start


def _copy(source: int, start: int, end: int, target: int) -> int:
    """Copy bytes start..end of one file to the end of another, in 1 MiB reads; the
    number copied (fewer when the source is shorter)."""
    copied = 0
    while start + copied < end:
        data = os.pread(source, min(1 << 20, end - start - copied), start + copied)
        if not data:
            break
        _write_all(target, data)
        copied += len(data)
    return copied


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]
