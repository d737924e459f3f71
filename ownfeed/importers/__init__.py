"""`ownfeed import KIND PATH`: a platform's own data export, merged into the archive.

The whole export is parsed before anything is written, then written in one transaction: a
broken export raises ParseError (one line: the file, the entry, the cause) and changes
nothing. Re-importing the same export changes nothing either: earlier versions already
known are not replayed, deleted posts already marked gone are left alone, media files
already stored are not copied again, and the time of a post's first import is kept.

Every post's `raw` records its provenance as `import`: `kind` (the importer), `file` (the
export's name), `entry` (the file inside it) and `at` (when it was first imported).
"""

from __future__ import annotations

import gc
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import ModuleType

from ownfeed.archive import Archive, WriteCounts, mark_gone, store_posts
from ownfeed.archive.media import record_media_stored
from ownfeed.archive.runs import ensure_source
from ownfeed.errors import ArchiveError, ConfigError, ParseError
from ownfeed.importers import (
    bluesky,
    facebook,
    instagram,
    linkedin,
    mastodon,
    twitter,
    wordpress,
)
from ownfeed.importers.batch import ImportBatch, ImportOptions, LocalFile, stamp_raw
from ownfeed.importers.bundle import Bundle, one_line, open_bundle
from ownfeed.importers.plan import make_plan
from ownfeed.media import MediaStore, StoredFile
from ownfeed.models import Gone, Post, SourceResult, iso, utcnow

#: kind -> module with `parse(bundle, options) -> ImportBatch`
IMPORTERS: dict[str, ModuleType] = {
    "twitter": twitter,
    "mastodon": mastodon,
    "wordpress": wordpress,
    "bluesky": bluesky,
    "facebook": facebook,
    "instagram": instagram,
    "linkedin": linkedin,
}
_WRITE_CHUNK = 2000
_PARSE_STEP = 1000  # entries parsed between two progress calls

#: `progress(done, total)`: while parsing, entries read so far and None; while writing,
#: posts written and the number to write.
Progress = Callable[[int, int | None], None]


@dataclass
class ImportReport:
    """What an import did, for the CLI's summary line."""

    source: str
    new: int = 0
    updated: int = 0
    unchanged: int = 0
    gone: int = 0
    versions: int = 0  # earlier versions added to edited posts
    media_copied: int = 0
    warnings: list[str] = field(default_factory=list)

    @property
    def posts(self) -> int:
        return self.new + self.updated + self.unchanged

    @property
    def summary(self) -> str:
        """The summary line: `12 new, 1 updated, 30 unchanged, 2 gone; 3 media files copied`."""
        line = f"{self.new} new, {self.updated} updated, {self.unchanged} unchanged, "
        line += f"{self.gone} gone"
        if self.versions:
            line += f", {self.versions} earlier version(s)"
        if self.media_copied:
            line += f"; {self.media_copied} media file(s) copied"
        return line

    def __str__(self) -> str:
        """The summary line, then one line per warning."""
        return self.summary + "".join(f"\nwarning: {w}" for w in self.warnings)


def run_import(
    archive: Archive,
    kind: str,
    path: Path,
    *,
    source: str | None,
    source_type: str | None,
    media_store: MediaStore,
    account: str | None = None,
    progress: Progress | None = None,
) -> ImportReport:
    """Import one export into the archive, attributed to `source` or to `<kind>-import`.

    `account` is the configured source's account or URL (its locator), when known: it names
    the account where an export does not (a Bluesky repository has a DID, no handle).
    Without it, the locator of the source's archive row is used. `progress`, when given,
    is called as entries are parsed and as posts are written (see `Progress`).
    """
    module = IMPORTERS.get(kind)
    if module is None:
        raise ConfigError(f"unknown import kind {kind!r} (known: {', '.join(sorted(IMPORTERS))})")
    path = Path(path)
    name = source or f"{kind}-import"
    if account is None and source:
        account = _locator(archive, source)
    report_progress = progress or _no_progress
    options = ImportOptions(account=account, tick=_ticker(report_progress))
    with _collector_paused():
        with open_bundle(path) as bundle:
            batch = _parse(module, bundle, options)
            plan = make_plan(archive, batch)
            stored = _copy_media(bundle, media_store, plan.files)
        now = utcnow()
        report = ImportReport(source=name, warnings=list(batch.warnings))
        written = _Written(report_progress, plan.total)
        with archive.transaction():
            if source:
                ensure_source(archive, name, source_type or _source_type(archive, name), None)
            else:
                ensure_source(archive, name, "import", batch.account or path.name)
            first_import = dict(plan.imported_at)
            for depth, level in enumerate(plan.levels):
                counts = _store(archive, level, name, now, first_import, written)
                if depth == 0:
                    report.new, report.updated = counts.new, counts.updated
                    report.unchanged = counts.unchanged + plan.skipped
                else:
                    report.versions += len(level)
            report.gone = _mark_gone(archive, batch.platform, plan.gone, now)
            for mid, file, mime in stored:
                record_media_stored(archive, mid, file.sha256, file.size, file.local_path, mime)
    report.media_copied = len(stored)
    return report


def _no_progress(done: int, total: int | None) -> None:
    return None


def _ticker(progress: Progress) -> Callable[[], None]:
    """The importers' per-entry tick, passed on every `_PARSE_STEP` entries."""
    parsed = 0

    def tick() -> None:
        nonlocal parsed
        parsed += 1
        if parsed % _PARSE_STEP == 0:
            progress(parsed, None)

    return tick


class _Written:
    """Posts written so far, reported after every chunk."""

    def __init__(self, progress: Progress, total: int) -> None:
        self.progress, self.total, self.done = progress, total, 0
        progress(0, total)

    def add(self, count: int) -> None:
        self.done += count
        self.progress(self.done, self.total)


@contextmanager
def _collector_paused() -> Iterator[None]:
    """No cyclic garbage collection while a big export is parsed and written.

    Parsing allocates hundreds of thousands of containers that all stay alive; each
    automatic collection walks all of them again (half the parse time of 100,000 tweets).
    Nothing here makes reference cycles, so plain reference counting frees what it can.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _store(
    archive: Archive,
    posts: list[Post],
    source: str,
    now: datetime,
    first_import: dict[str, str],
    written: _Written,
) -> WriteCounts:
    """Write posts a chunk at a time, so that only one chunk's raw JSON is unpacked at once.

    Each post's `raw.import.at` is the time of its first import: kept from the archive,
    else now, and then remembered for the later levels (earlier versions come first).
    Relations between posts of different chunks are linked all the same: the archive links
    a reply to its parent whichever of the two arrives first.
    """
    total = WriteCounts()
    stamp = iso(now) or ""
    for start in range(0, len(posts), _WRITE_CHUNK):
        chunk = [
            _stamped(post, first_import.setdefault(post.id, stamp))
            for post in posts[start : start + _WRITE_CHUNK]
        ]
        counts = store_posts(archive, chunk, source, now)
        total.new += counts.new
        total.updated += counts.updated
        total.unchanged += counts.unchanged
        written.add(len(chunk))
    return total


def _stamped(post: Post, imported_at: str) -> Post:
    """The post with its raw JSON unpacked and its provenance stamped with the time.

    A shallow copy with one field changed: `dataclasses.replace` would run `__init__` again,
    a tenth of the write time for 100,000 posts.
    """
    raw = stamp_raw(post.raw, imported_at)
    if raw is post.raw:
        return post
    copy = object.__new__(Post)
    copy.__dict__.update(post.__dict__, raw=raw)
    return copy


def _parse(module: ModuleType, bundle: Bundle, options: ImportOptions) -> ImportBatch:
    """Run an importer; a shape it did not expect is still a one-line ParseError."""
    try:
        batch: ImportBatch = module.parse(bundle, options)
    except ParseError:
        raise
    except (KeyError, TypeError, ValueError, AttributeError, IndexError, RecursionError) as error:
        cause = f"unexpected content ({type(error).__name__}: {one_line(error)})"
        raise ParseError(f"{bundle.label}: {cause}") from None
    return batch


def _copy_media(
    bundle: Bundle, store: MediaStore, files: Sequence[tuple[str, LocalFile]]
) -> list[tuple[str, StoredFile, str | None]]:
    """Copy the export's files into the media store (named by sha256, never by the export).

    Done before the transaction: a failure leaves at most unreferenced files, no rows.
    """
    stored: list[tuple[str, StoredFile, str | None]] = []
    for mid, file in files:
        data = bundle.read(file.member)
        try:
            stored.append((mid, store.store(data, file.mime, file.url), file.mime))
        except OSError as error:
            raise ArchiveError(f"cannot write to the media folder: {one_line(error)}") from None
    return stored


def _mark_gone(
    archive: Archive, platform: str, gone: list[tuple[str, datetime | None]], now: datetime
) -> int:
    """Deleted posts, stamped with their deletion time where the export tells it."""
    by_time: dict[datetime, list[Gone]] = defaultdict(list)
    for native_id, when in gone:
        by_time[when or now].append(Gone(platform, native_id, "deleted (data export)"))
    return sum(
        mark_gone(archive, SourceResult(gone=items), when) for when, items in by_time.items()
    )


def _locator(archive: Archive, name: str) -> str | None:
    row = archive.one("SELECT locator FROM sources WHERE name = ?", (name,))
    return str(row[0]) if row is not None and row[0] else None


def _source_type(archive: Archive, name: str) -> str:
    row = archive.one("SELECT type FROM sources WHERE name = ?", (name,))
    return str(row[0]) if row is not None and row[0] else "import"


__all__ = ["IMPORTERS", "ImportReport", "Progress", "run_import"]
