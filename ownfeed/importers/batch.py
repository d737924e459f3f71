"""What every importer hands back: posts, their earlier versions, deletions and local files.

Importers only parse; `run_import` decides what is new and writes it in one transaction.
"""

from __future__ import annotations

import functools
import json
import mimetypes
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, ClassVar

from ownfeed import jsontext
from ownfeed.importers.bundle import Bundle, one_line
from ownfeed.models import MediaKind, Post


def _nothing() -> None:
    return None


@dataclass(frozen=True)
class ImportOptions:
    """What the caller knows beyond the archive file: the configured account, if any.

    `tick` is called once per entry parsed, so that a long parse can show progress.
    """

    account: str | None = None
    tick: Callable[[], None] = _nothing


@dataclass(frozen=True)
class LocalFile:
    """A media file shipped inside the export, to be copied into the media store.

    `url` is the media row's URL (as in `Post.media`); `same_as_suffix`, when set, lets an
    existing row of the post whose URL path ends with it stand for the same file (an export
    that rewrote the upstream URL to an archive path).
    """

    post_id: str
    url: str
    member: str
    mime: str | None = None
    same_as_suffix: str | None = None


@dataclass(frozen=True)
class MediaBase:
    """Where an export's media files live upstream, when the export dropped the host.

    The importer names each file `guess` + its path; the planner replaces `guess` with
    the base that URLs already archived from the API use (the part of a media URL of the
    account's posts, `native_id` starting with `posts_prefix`, before `marker`), so an
    import and a sync give a file the same URL: one media row, whichever comes first.
    """

    platform: str
    posts_prefix: str
    marker: str
    guess: str


@dataclass
class ImportBatch:
    """One parsed export. `posts` hold each post's newest state; `history` the earlier
    versions (oldest first) of posts that were edited, keyed by post id."""

    platform: str
    posts: list[Post] = field(default_factory=list)
    history: dict[str, list[Post]] = field(default_factory=dict)
    gone: dict[str, datetime | None] = field(default_factory=dict)  # native id -> deleted at
    files: list[LocalFile] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    account: str | None = None
    media_base: MediaBase | None = None


_BLOCK_BYTES = 256 * 1024


class _Block:
    """Raw JSON texts of consecutive posts, compressed together once the block is full.

    Compressing each post on its own costs a zlib set-up per post (most of the time, for
    a text of a kilobyte) and compresses worse; a block of 256 KiB does neither.
    """

    __slots__ = ("data", "ends", "parts", "size")
    _last: ClassVar[tuple[_Block, bytes] | None] = None  # the block most recently unpacked

    def __init__(self) -> None:
        self.parts: list[bytes] | None = []
        self.ends: list[int] = []
        self.size = 0
        self.data = b""

    def add(self, text: bytes) -> int:
        assert self.parts is not None
        self.parts.append(text)
        self.size += len(text)
        self.ends.append(self.size)
        return len(self.ends) - 1

    def seal(self) -> None:
        if self.parts is not None:
            self.data = zlib.compress(b"".join(self.parts), 1)
            self.parts = None

    def text(self, index: int) -> bytes:
        self.seal()  # the packer starts a new block if it had more to add
        if _Block._last is not None and _Block._last[0] is self:
            plain = _Block._last[1]
        else:
            plain = zlib.decompress(self.data)
            _Block._last = (self, plain)
        start = self.ends[index - 1] if index else 0
        return plain[start : self.ends[index]]


class RawPacker:
    """Packs the raw JSON of many posts into compressed blocks (see `PackedRaw`)."""

    def __init__(self) -> None:
        self._block = _Block()

    def pack(self, origin: dict[str, str], raw: dict[str, Any]) -> PackedRaw:
        """`raw` (without its `import` key) kept compressed, with `origin` beside it."""
        dumped = json.dumps(raw, ensure_ascii=False, sort_keys=True, default=str)
        block = self._block
        if block.parts is None:  # sealed early (read before the parse ended)
            block = self._block = _Block()
        packed = PackedRaw(origin, block, block.add(dumped.encode("utf-8")))
        if block.size >= _BLOCK_BYTES:
            block.seal()
            self._block = _Block()
        return packed


class PackedRaw:
    """A post's raw JSON, compressed until it is written: a big export holds hundreds of
    megabytes of it, and `run_import` unpacks it one chunk of posts at a time."""

    __slots__ = ("block", "index", "origin")

    def __init__(self, origin: dict[str, str], block: _Block, index: int) -> None:
        self.origin, self.block, self.index = origin, block, index

    def unpack(self, imported_at: str | None = None) -> str:
        """The raw JSON text, `import` first (with the first import's time, when given)."""
        head = _head(tuple(self.origin.items()), imported_at)
        body = self.block.text(self.index).decode("utf-8")
        rest = body[1:].lstrip()
        return f'{{"import": {head}' + (", " + rest if rest != "}" else "}")


@functools.lru_cache(maxsize=64)
def _head(origin: tuple[tuple[str, str], ...], imported_at: str | None) -> str:
    """The `import` object as JSON (the same few for every post of an export)."""
    found = dict(origin, at=imported_at) if imported_at else dict(origin)
    return json.dumps(found, ensure_ascii=False, sort_keys=True)


def provenance(bundle: Bundle, member: str, kind: str) -> dict[str, str]:
    """Where a post came from, kept in its `raw` as `import`.

    The time (`at`) is added when the post is written, and only the first import's time
    is ever written: `run_import` keeps the one already archived, so a re-import of the
    same export writes the same raw JSON and stays a no-op.
    """
    return {"kind": kind, "file": bundle.label, "entry": member}


def stamp_raw(raw: Any, imported_at: str) -> Any:
    """`raw` with `import.at` set (a copy: the `import` dict may be shared by many posts)."""
    if isinstance(raw, PackedRaw):
        return raw.unpack(imported_at)
    if isinstance(raw, dict) and isinstance(raw.get("import"), dict):
        return {**raw, "import": {**raw["import"], "at": imported_at}}
    return raw


def load_json(bundle: Bundle, member: str, data: bytes | None = None) -> Any:
    """A JSON member; ParseError naming the member, line and column when it is broken."""
    raw = bundle.read(member) if data is None else data
    try:
        return jsontext.loads(raw.decode("utf-8-sig"))
    except UnicodeDecodeError as error:
        raise bundle.fail(member, f"not UTF-8 ({error.reason} at byte {error.start})") from None
    except json.JSONDecodeError as error:
        cause = f"invalid JSON at line {error.lineno} column {error.colno}: {error.msg}"
        raise bundle.fail(member, cause) from None


def thread_roots(parents: Mapping[str, str | None]) -> dict[str, str]:
    """The top post of each self-thread, for our posts keyed by native id -> parent native id.

    A thread that leaves our own posts (a reply to somebody else) gets no root here: a later
    sync that sees the whole conversation can still set it (a wrong root would stick).
    """
    roots: dict[str, str] = {}
    for key in parents:
        node: str | None = key
        seen = {key}
        while node is not None and parents.get(node) is not None:
            up = parents[node]
            if up is None or up not in parents or up in seen:
                node = None
            else:
                seen.add(up)
                node = up
        if node is not None and node != key:
            roots[key] = node
    return roots


def media_kind(mime: str | None) -> MediaKind:
    major = (mime or "").split("/")[0]
    if major in ("image", "video", "audio"):
        return major  # type: ignore[return-value]
    return "file"


def guess_mime(name: str) -> str | None:
    return mimetypes.guess_type(name, strict=False)[0]


def text(value: Any) -> str | None:
    """A non-empty stripped string, else None (export fields are often empty or missing)."""
    if isinstance(value, str):
        value = value.strip()
        return value or None
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    return None


def count(value: Any) -> int | None:
    """Counters arrive as numbers or as strings of digits."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value.strip())
    return None


__all__ = [
    "ImportBatch",
    "ImportOptions",
    "LocalFile",
    "MediaBase",
    "PackedRaw",
    "RawPacker",
    "count",
    "guess_mime",
    "load_json",
    "media_kind",
    "one_line",
    "provenance",
    "stamp_raw",
    "text",
    "thread_roots",
]
