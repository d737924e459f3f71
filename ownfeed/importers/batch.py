"""What every importer hands back: posts, their earlier versions, deletions and local files.

Importers only parse; `run_import` decides what is new and writes it in one transaction.
"""

from __future__ import annotations

import json
import mimetypes
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ownfeed.importers.bundle import Bundle, one_line
from ownfeed.models import MediaKind, Post


@dataclass(frozen=True)
class ImportOptions:
    """What the caller knows beyond the archive file: the configured account, if any."""

    account: str | None = None


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


class PackedRaw:
    """A post's raw JSON, compressed until it is written: a big export holds hundreds of
    megabytes of it, and `run_import` unpacks it one chunk of posts at a time."""

    __slots__ = ("data",)

    def __init__(self, raw: Any) -> None:
        dumped = json.dumps(raw, ensure_ascii=False, sort_keys=True, default=str)
        self.data = zlib.compress(dumped.encode("utf-8"), 1)

    def unpack(self) -> str:
        return zlib.decompress(self.data).decode("utf-8")


def provenance(bundle: Bundle, member: str, kind: str) -> dict[str, str]:
    """Where a post came from, kept in its `raw` (no time: a re-import must not change it)."""
    return {"kind": kind, "file": bundle.label, "entry": member}


def load_json(bundle: Bundle, member: str, data: bytes | None = None) -> Any:
    """A JSON member; ParseError naming the member, line and column when it is broken."""
    raw = bundle.read(member) if data is None else data
    try:
        return json.loads(raw.decode("utf-8-sig"))
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
    "PackedRaw",
    "count",
    "guess_mime",
    "load_json",
    "media_kind",
    "one_line",
    "provenance",
    "text",
    "thread_roots",
]
