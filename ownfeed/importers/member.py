"""What the member data exports (Facebook, Instagram, LinkedIn) have in common.

None of the three is documented by its platform and each changes its layout every year or
two, so every importer names the layouts it knows (`Layout`) and, when none is there, says
exactly what it expected and what it found instead. None gives ids to posts or comments
(LinkedIn gives its shares a URN): `native_ids` makes stable ones from the time of posting.
"""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import PurePosixPath
from typing import Any, TypeVar
from urllib.parse import quote

from ownfeed.errors import ParseError
from ownfeed.importers.batch import (
    ImportBatch,
    LocalFile,
    guess_mime,
    load_json,
    media_kind,
    provenance,
)
from ownfeed.importers.bundle import Bundle
from ownfeed.models import Author, Media, MediaKind, Post, post_id

_URL = re.compile(r"https?://[^\s<>\"']+")
_URL_TRAILER = ".,;:!?)]}'\""
_HASHTAG = re.compile(r"(?<![\w&#/])#(\w+)")
_PARAGRAPHS = re.compile(r"\n[ \t]*\n")
# 1995-01-01 .. 2100-01-01: a timestamp outside is a broken one, not an old post.
_EARLIEST, _LATEST = 788_918_400, 4_102_444_800


# --------------------------------------------------------------------------- mojibake


def repair_text(value: str) -> str:
    """Undo Meta's mis-encoding: UTF-8 bytes written out one `\\u00XX` per byte.

    Re-encoding as latin-1 and decoding as UTF-8 gives the text back; where that round
    trip fails (a real `ä`, an emoji, plain ASCII) the text was not mis-encoded and is kept.
    """
    if value.isascii():
        return value
    try:
        return value.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return value


def repaired(value: Any) -> Any:
    """A decoded JSON value with every string (keys too) repaired."""
    if isinstance(value, str):
        return repair_text(value)
    if isinstance(value, list):
        return [repaired(item) for item in value]
    if isinstance(value, dict):
        return {repair_text(key): repaired(item) for key, item in value.items()}
    return value


def load_meta_json(bundle: Bundle, member: str) -> Any:
    """A JSON member of a Facebook or Instagram export, its text repaired."""
    return repaired(load_json(bundle, member))


# --------------------------------------------------------------------------- layouts


@dataclass(frozen=True)
class Layout:
    """A file's path relative to the export's root (`{n}` for a part number), and which
    exports use it (for the message when none is found)."""

    path: str
    exports: str

    @property
    def example(self) -> str:
        return self.path.replace("{n}", "1")

    def pattern(self) -> re.Pattern[str]:
        escaped = re.escape(self.path).replace(re.escape("{n}"), r"(\d+)")
        return re.compile(rf"(?:^|/){escaped}$")


def find_files(bundle: Bundle, layouts: Sequence[Layout]) -> list[str]:
    """Members in any of these layouts (the export may sit in a folder), parts in order."""
    found: dict[str, tuple[int, int, str]] = {}
    names = bundle.names()
    for rank, layout in enumerate(layouts):
        pattern = layout.pattern()
        for name in names:
            match = pattern.search(name)
            if match and name not in found:
                part = int(match.group(1)) if match.groups() else 0
                found[name] = (rank, part, name)
    return sorted(found, key=lambda name: found[name])


def expected(groups: Iterable[tuple[str, Sequence[Layout]]]) -> str:
    """`posts in posts/your_posts_1.json (before 2024) or …; comments in …`."""
    parts = []
    for what, layouts in groups:
        options = " or ".join(f"{layout.example} ({layout.exports})" for layout in layouts)
        parts.append(f"{what} in {options}")
    return "; ".join(parts)


def not_an_export(
    bundle: Bundle, name: str, groups: Sequence[tuple[str, Sequence[Layout]]]
) -> ParseError:
    """The one-line error for an export in no layout we know: what was expected, and what
    was found (an HTML export, which has the same paths in .html, is named as such)."""
    as_html = [
        Layout(layout.path.removesuffix(".json") + ".html", layout.exports)
        for _, layouts in groups
        for layout in layouts
        if layout.path.endswith(".json")
    ]
    twins = find_files(bundle, as_html)
    article = "an" if name[:1] in "AEIOU" else "a"
    cause = f"not {article} {name} export in a known layout: expected {expected(groups)}"
    if twins:
        cause += f"; found {twins[0]}, the HTML export: request the JSON format instead"
    else:
        cause += f"; found {found_summary(bundle)}"
    return bundle.fail(bundle.label, cause)


def found_summary(bundle: Bundle, limit: int = 6) -> str:
    """A short list of what an export holds, shallowest entries first."""
    names = sorted(bundle.names(), key=lambda n: (n.count("/"), n))
    if not names:
        return "nothing (an empty archive)"
    shown = ", ".join(names[:limit])
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return f"{len(names)} file(s): {shown}{more}"


def shape(value: Any) -> str:
    """What a JSON value is, for error messages: `an object with keys a, b`."""
    if isinstance(value, dict):
        keys = ", ".join(list(value)[:5]) + (", …" if len(value) > 5 else "")
        return f"an object with keys {keys}" if value else "an empty object"
    if isinstance(value, list):
        return f"a list of {len(value)}" if value else "an empty list"
    if isinstance(value, str):
        return "a string"
    if value is None:
        return "null"
    return f"a {type(value).__name__}"


def object_list(holder: Any, key: str) -> list[dict[str, Any]]:
    """The objects in the JSON list under `key` (other items dropped; none without a list):
    the exports nest their lists in objects that may lack them or hold odd items."""
    found = holder.get(key) if isinstance(holder, dict) else None
    return [item for item in found if isinstance(item, dict)] if isinstance(found, list) else []


# --------------------------------------------------------------------------- values


def timestamp(value: Any) -> datetime | None:
    """Unix seconds (a number or a string of digits) as UTC, None when absent or absurd."""
    if isinstance(value, bool):
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, int | float) and _EARLIEST <= value < _LATEST:
        return datetime.fromtimestamp(int(value), UTC)
    return None


def digest(*parts: str, length: int = 10) -> str:
    """A short, stable hash of text: the part of a native id made from content."""
    return hashlib.sha256("\0".join(parts).encode("utf-8")).hexdigest()[:length]


def native_ids(entries: Sequence[tuple[str, str]]) -> list[str]:
    """Stable ids for entries without one: `(time key, content)` -> `<time key>`.

    The time of posting never changes, so an edited post keeps its id between two exports
    and its edit becomes a new version. Entries that share a time key within one export
    (two comments in one second) are told apart by a hash of their content:
    `<time key>-<hash>`; an edit of one of those makes a new row.
    """
    seen: dict[str, int] = {}
    for key, _ in entries:
        seen[key] = seen.get(key, 0) + 1
    return [key if seen[key] == 1 else f"{key}-{digest(content)}" for key, content in entries]


# --------------------------------------------------------------------------- text


def _linked(text: str) -> str:
    parts: list[str] = []
    position = 0
    for match in _URL.finditer(text):
        url = match.group(0).rstrip(_URL_TRAILER)
        end = match.start() + len(url)
        parts.append(html.escape(text[position : match.start()]))
        safe = html.escape(url)
        parts.append(f'<a href="{safe}">{safe}</a>')
        position = end
    parts.append(html.escape(text[position:]))
    return "".join(parts)


def plain_html(text: str | None, link: str | None = None) -> str | None:
    """Plain text as HTML: paragraphs at blank lines, line breaks, links; `link` (a shared
    URL the text does not contain) as a paragraph of its own."""
    paragraphs = [p.strip() for p in _PARAGRAPHS.split((text or "").replace("\r\n", "\n"))]
    body = [f"<p>{_linked(p).replace(chr(10), '<br>' + chr(10))}</p>" for p in paragraphs if p]
    if link and link not in (text or ""):
        body.append(f"<p>{_linked(link)}</p>")
    return "\n".join(body) or None


def with_link(text: str, link: str | None) -> str:
    """The plain text, with a shared link it does not mention as a paragraph of its own."""
    if not link or link in text:
        return text
    return f"{text}\n\n{link}" if text else link


def hashtags(text: str | None) -> tuple[str, ...]:
    """`#tags` in a text (no tag of digits only: `#1` is a number)."""
    found = [tag for tag in _HASHTAG.findall(text or "") if not tag.isdigit()]
    return tuple(dict.fromkeys(found))


# --------------------------------------------------------------------------- media files


class ExportFiles:
    """Media files inside an export, found by the relative path its JSON gives (`uri`)."""

    def __init__(self, bundle: Bundle, platform: str) -> None:
        self.platform = platform
        self.names = set(bundle.names())
        self.by_name: dict[str, list[str]] = {}
        for name in sorted(self.names, key=lambda n: (n.count("/"), n)):
            self.by_name.setdefault(PurePosixPath(name).name, []).append(name)

    def member(self, uri: str) -> str | None:
        """The member for a path relative to the export root (which may sit in a folder)."""
        relative = uri.lstrip("/")
        if relative in self.names:
            return relative
        for name in self.by_name.get(PurePosixPath(relative).name, ()):
            if name.endswith("/" + relative):
                return name
        return None

    def url(self, uri: str) -> str:
        """The media row's URL: the export has none upstream, so it is named by its file
        name (layout-independent: a newer export's other folders give the same row)."""
        return f"{self.platform}-export:{quote(PurePosixPath(uri).name)}"

    def for_post(self, native_id: str) -> Attachments:
        """An empty list of one post's attachments, to `add` its files to."""
        return Attachments(self, post_id(self.platform, native_id))

    def attach(
        self, pid: str, uri: str, kind: MediaKind | None = None, alt: str | None = None
    ) -> tuple[Media | None, LocalFile | None]:
        """A media row and the file to copy for one `uri`; (None, None) when missing."""
        if uri.startswith(("http://", "https://")):
            mime = guess_mime(PurePosixPath(uri.split("?")[0]).name)
            return Media(uri, kind or media_kind(mime), mime, alt), None
        member = self.member(uri)
        if member is None:
            return None, None
        url = self.url(uri)
        mime = guess_mime(member)
        media = Media(url, kind or media_kind(mime), mime, alt)
        return media, LocalFile(pid, url, member, mime)


@dataclass
class Attachments:
    """One post's media rows, the export files to copy for them, and how many files its
    JSON names that the export lacks (counted for one warning, the post kept)."""

    files: ExportFiles
    pid: str
    media: list[Media] = field(default_factory=list)
    local: list[LocalFile] = field(default_factory=list)
    missing: int = 0

    def add(self, uri: str, kind: MediaKind | None = None) -> None:
        """Attach the file at `uri` (relative to the export, or a URL); count it if missing."""
        row, file = self.files.attach(self.pid, uri, kind)
        self.missing += row is None
        self.media += [row] if row else []
        self.local += [file] if file else []


@dataclass
class MemberEntry:
    """One post or comment as read from a member data export, before its id is known."""

    kind: str  # "post", "comment", or a kind of post of its own ("story"); the id's prefix
    member: str  # the export file it was read from
    published: datetime
    body: str
    data: dict[str, Any]  # the entry as the export gives it, kept as provenance


EntryT = TypeVar("EntryT", bound=MemberEntry)
#: (bundle, entry, native id, author, files) -> the post (None: nothing to show), its media
PostMaker = Callable[
    [Bundle, EntryT, str, Author | None, ExportFiles], tuple[Post | None, Attachments]
]


def member_post(
    bundle: Bundle,
    entry: MemberEntry,
    native_id: str,
    author: Author | None,
    attachments: Attachments,
    *,
    link: str | None = None,
    **fields: Any,
) -> Post:
    """Our post or comment from a member export, built the same way for every platform: its
    text as plain HTML (with a shared `link` the text lacks), hashtags, each medium once,
    the entry and where it came from kept in `raw`; `fields` adds what a platform has more."""
    platform = attachments.files.platform
    return Post(
        platform=platform,
        native_id=native_id,
        kind="reply" if entry.kind == "comment" else "post",
        is_own=True,
        content_html=plain_html(entry.body, link),
        content_text=with_link(entry.body, link),
        author=author,
        published_at=entry.published,
        tags=hashtags(entry.body),
        media=tuple(dict.fromkeys(attachments.media)),
        raw={"import": provenance(bundle, entry.member, platform), entry.kind: entry.data},
        **fields,
    )


def add_entries(
    batch: ImportBatch,
    bundle: Bundle,
    entries: Sequence[EntryT],
    make_post: PostMaker[EntryT],
    author: Author | None,
    *,
    empty: str,
    missing_files: str,
) -> ImportBatch:
    """Give entries their stable ids, turn them into posts, and count what had to be left out."""
    files = ExportFiles(bundle, batch.platform)
    keys = [(f"{e.kind}/{int(e.published.timestamp())}", e.body) for e in entries]
    missing = skipped = 0
    for entry, native_id in zip(entries, native_ids(keys), strict=True):
        post, attached = make_post(bundle, entry, native_id, author, files)
        missing += attached.missing
        if post is None:
            skipped += 1
            continue
        batch.posts.append(post)
        batch.files += attached.local
    if skipped:
        batch.warnings.append(f"skipped {skipped} {empty}")
    if missing:
        batch.warnings.append(f"{missing} {missing_files} not in this export")
    return batch
