"""Incremental, all-or-nothing writing of the site folder.

Why: a re-export with nothing new must touch (close to) no files, so a copy to the web host
stays cheap, and a failed export must never leave a half-written site. So every file is
first staged in a hidden folder inside the output; only when everything rendered are the
staged files moved into place (`os.replace`, atomic per file) and the manifest written.
The manifest (`.ownfeed-export.json`) records each file we wrote with the fingerprint of
its inputs: a file whose inputs did not change is not even rendered again, and only files
listed there are ever deleted: files we did not write are never touched.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import os
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from ownfeed.errors import LockedError

MANIFEST = ".ownfeed-export.json"
STAGING_PREFIX = ".ownfeed-staging-"
_FORMAT = 2  # 2: paths and prints as two strings of lines; 1 (still read): a JSON object


def fingerprint(*parts: object) -> str:
    """A short stable digest of a page's inputs (each part followed by a separator).

    One join and one hash call: this runs for every page and list entry of an export.
    """
    joined = "\x1f".join(map(str, parts)) + "\x1f" if parts else ""
    return hashlib.blake2b(joined.encode("utf-8", "surrogatepass"), digest_size=12).hexdigest()


@dataclass
class WriteCounts:
    written: int = 0
    unchanged: int = 0
    media_copied: int = 0
    removed: int = 0


HelperRecord = tuple[dict[str, str], list[str], WriteCounts]  # what a page helper staged


_NO_LOCKS = {errno.ENOLCK, errno.EOPNOTSUPP, errno.ENOTSUP, errno.ENOSYS}


class SiteLock:
    """One export at a time per site folder: `flock` on the folder itself (no lock file
    to publish), released by the OS if the export dies.

    Why: an export removes staging folders it finds as left by a crash; one running beside
    it would lose its staged files, and the two manifests would overwrite each other.
    Forked page helpers share the lock and never release it: only the `with` does.
    """

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._fd: int | None = None

    def __enter__(self) -> SiteLock:
        self.folder.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.folder, os.O_RDONLY | os.O_DIRECTORY)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise LockedError(
                f"another export is writing {self.folder}; run this one when it is done"
            ) from None
        except OSError as error:
            os.close(fd)
            if error.errno not in _NO_LOCKS:
                raise
            return self  # a file system without locks (some network mounts): export anyway
        self._fd = fd
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        trace: TracebackType | None,
    ) -> None:
        if self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None


class SiteWriter:
    """Collects the files of one export; `commit()` puts them in place, `abort()` drops them."""

    def __init__(self, output: Path, *, full: bool = False) -> None:
        self.output = output
        self.full = full
        self.counts = WriteCounts()
        output.mkdir(parents=True, exist_ok=True)
        for stale in output.glob(STAGING_PREFIX + "*"):  # left by an export that crashed
            shutil.rmtree(stale, ignore_errors=True)
        # One walk instead of a stat per file. Each path's one string object: the manifests
        # old and new use it too (a large site has ~100,000 paths, ~9 MB per copy).
        self.existing = _files(str(output))
        manifest, marker = self._load_manifest()
        self.old = {} if full else manifest
        self.old_marker = None if full else marker  # the archive's change marker back then
        self.old_paths = set(manifest)
        self.new: dict[str, str] = {}
        self._staged: list[str] = []
        self.staging = output / f"{STAGING_PREFIX}{os.getpid()}"
        self.staging.mkdir()
        self._root = str(output) + os.sep
        self._stage_root = str(self.staging) + os.sep
        self._dirs: set[str] = set()

    def _load_manifest(self) -> tuple[dict[str, str], str | None]:
        """The last export's files and marker; none when the manifest is missing or damaged."""
        self._manifest_read = False
        try:
            data = json.loads((self.output / MANIFEST).read_bytes())
            if not isinstance(data, dict) or data.get("format") not in (1, _FORMAT):
                return {}, None
            files, clean = _unpack(data, self.existing)
        except (OSError, ValueError, TypeError):
            return {}, None
        self._manifest_read = clean and data["format"] == _FORMAT  # else rewritten in commit
        marker = data.get("marker")
        return files, marker if isinstance(marker, str) else None

    def keep_all(self, marker: str) -> bool:
        """Keep the whole last export when it was made from the same inputs (`marker`)
        and every file of it is still in place."""
        return self.old_marker == marker and self.keep(list(self.old))

    def fresh(self, path: str, print_: str) -> bool:
        """True (and kept as is) when the file exists with the same input fingerprint."""
        previous = self.old.get(path)
        same = self.existing.get(path)
        if previous != print_ or same is None:
            return False
        self.new[same] = previous  # strings kept anyway, instead of the caller's copies
        self.counts.unchanged += 1
        return True

    def keep(self, paths: list[str]) -> bool:
        """Keep these files of the last export as they are, if they all still exist."""
        if not all(path in self.old and path in self.existing for path in paths):
            return False
        for path in paths:
            if path not in self.new:
                self.new[path] = self.old[path]
                self.counts.unchanged += 1
        return True

    def keep_each(self, paths: Iterable[str]) -> list[str]:
        """Keep each of these files of the last export that is still in place; the paths
        that could not be kept (one call for the ~75,000 pages of a small change)."""
        old, existing, new = self.old, self.existing, self.new
        missing: list[str] = []
        kept = 0
        for path in paths:
            previous = old.get(path)
            if previous is None or path not in existing:
                missing.append(path)
            elif path not in new:
                new[path] = previous
                kept += 1
        self.counts.unchanged += kept
        return missing

    def keep_prefix(self, prefix: str, *extra: str) -> bool:
        """Keep every file of the last export under `prefix` (and `extra`), if all exist."""
        return self.keep([path for path in self.old if path.startswith(prefix)] + list(extra))

    def put(self, path: str, data: bytes, print_: str | None = None) -> None:
        """Stage a file unless the same bytes are in place already (or `full` is set)."""
        self.new[path] = print_ or fingerprint(hashlib.sha256(data).hexdigest())
        if not self.full and path in self.existing and _same_bytes(self._root + path, data):
            self.counts.unchanged += 1
            return
        _write(self._stage(path), data)
        self._staged.append(path)
        self.counts.written += 1

    def put_text(self, path: str, text: str, print_: str | None = None) -> None:
        self.put(path, text.encode("utf-8"), print_)

    def put_file(self, path: str, source: Path, print_: str) -> bool:
        """Stage a hard link to (or a copy of) an existing file, e.g. a media file."""
        if self.fresh(path, print_):
            return True
        if not source.is_file():
            return False
        self.new[path] = print_
        target = self.output / path
        if not self.full and path in self.existing and _same_file(target, source):
            self.counts.unchanged += 1
            return True
        staged = self._stage(path)
        try:
            os.link(source, staged)
        except OSError:
            shutil.copyfile(source, staged)
        self._staged.append(path)
        self.counts.media_copied += 1
        return True

    def staging_path(self, path: str) -> str:
        """Where a file the caller writes itself is staged (see `adopt`)."""
        return self._stage(path)

    def adopt(self, path: str, print_: str = "state") -> None:
        """Take a file the caller wrote at `staging_path(path)` into this export."""
        self.new[path] = print_
        if path not in self._staged:
            self._staged.append(path)
            self.counts.written += 1

    def forget_for_helper(self) -> None:
        """In a forked helper: start a fresh record of what this process stages."""
        self.new = {}
        self._staged = []
        self.counts = WriteCounts()

    def helper_record(self) -> HelperRecord:
        """What a helper staged, for `merge()` in the main process."""
        return self.new, self._staged, self.counts

    def merge(self, record: HelperRecord) -> None:
        """Take over the files a helper process staged (and kept) as if put here."""
        new, staged, counts = record
        self.new.update(new)
        self._staged.extend(staged)
        self._dirs.update(os.path.dirname(path) for path in staged)
        self.counts.written += counts.written
        self.counts.unchanged += counts.unchanged
        self.counts.media_copied += counts.media_copied

    def _stage(self, path: str) -> str:
        folder = os.path.dirname(path)
        if folder not in self._dirs:
            os.makedirs(self._stage_root + folder, exist_ok=True)
            self._dirs.add(folder)
        return self._stage_root + path

    def commit(self, marker: str | None = None) -> WriteCounts:
        """Move staged files into place, remove our files that are gone, save the manifest.

        A staged folder the site does not have yet (all of `posts/` on a first export) is
        moved in whole: one rename instead of one per file.
        """
        moved = self._move_new_folders()
        made: set[str] = set()
        for path in self._staged:
            folder = os.path.dirname(path)
            if folder in moved:
                continue
            if folder not in made:
                os.makedirs(self._root + folder, exist_ok=True)
                made.add(folder)
            os.replace(self._stage_root + path, self._root + path)
        for path in sorted(self.old_paths - set(self.new)):
            target = self.output / path
            if _inside(self.output, target) and target.is_file():
                target.unlink()
                self.counts.removed += 1
        if self.new == self.old and marker == self.old_marker and self._manifest_read:
            self.abort()  # the manifest on disk says exactly this already
            return self.counts
        data = self._manifest_bytes(marker)
        if not _same_bytes(self.output / MANIFEST, data):
            temporary = self.staging / MANIFEST
            temporary.write_bytes(data)
            os.replace(temporary, self.output / MANIFEST)
        self.abort()
        return self.counts

    def _manifest_bytes(self, marker: str | None) -> bytes:
        """The manifest of this export (the same bytes for the same files and site)."""
        manifest: dict[str, object] = {"format": _FORMAT}
        if marker is not None:
            manifest["marker"] = marker
        paths = self._manifest_order()
        manifest.update(_pack(paths, list(map(self.new.__getitem__, paths))))
        # compact: `indent` would make json use its pure-Python encoder
        return json.dumps(manifest, separators=(",", ":")).encode("utf-8")

    def _manifest_order(self) -> list[str]:
        """The files of this export in the order the next walk will likely find them: this
        walk's order, then the files it did not find, sorted (sorted by path if those two
        parts do not make up every file).

        Why: the next export looks every path of the manifest up in its walk's dict, and
        in the walk's order that is ~2x faster than in sorted order (fewer cache misses,
        ~40 ms at 100,000 files); so is fetching the prints here (~15 ms).
        """
        new, existing = self.new, self.existing
        found = [path for path in existing if path in new]
        added = sorted({path for path in self._staged if path in new and path not in existing})
        if len(found) + len(added) != len(new):
            return sorted(new)
        return found + added

    def _move_new_folders(self) -> set[str]:
        """Rename staged folders missing from the site into place; every folder moved."""
        moved: set[str] = set()
        for folder in sorted(self._dirs, key=lambda name: (name.count("/"), name)):
            parent = os.path.dirname(folder)
            if not folder or parent in moved:
                if folder:
                    moved.add(folder)  # inside a folder moved whole already
                continue
            if os.path.lexists(self._root + folder):
                continue
            if parent:
                os.makedirs(self._root + parent, exist_ok=True)
            os.rename(self._stage_root + folder, self._root + folder)
            moved.add(folder)
        return moved

    def abort(self) -> None:
        """Drop everything staged; the site in place stays as it was."""
        shutil.rmtree(self.staging, ignore_errors=True)


def join_lines(items: list[str]) -> str | None:
    """`items` each ended by a newline, or None when one holds a newline itself.

    Why: json reads and writes one long string ~5x faster than an object or list of
    100,000 strings, and `split_lines` takes it apart in one call.
    """
    text = "\n".join(items) + "\n" if items else ""
    return text if text.count("\n") == len(items) else None


def split_lines(text: object) -> list[str]:
    """The items of a `join_lines` text; ValueError when it is not one."""
    if not isinstance(text, str) or text[-1:] not in ("", "\n"):
        raise ValueError("not a string of lines")
    items = text.split("\n")
    items.pop()
    return items


def _pack(paths: list[str], prints: list[str]) -> dict[str, object]:
    """The manifest's files: two strings of lines, or an object when a line would break."""
    lines, values = join_lines(paths), join_lines(prints)
    if lines is None or values is None:
        return {"files": dict(zip(paths, prints, strict=True))}
    return {"paths": lines, "prints": values}


def _unpack(data: dict[str, object], existing: dict[str, str]) -> tuple[dict[str, str], bool]:
    """A manifest's files, with the string objects of `existing` for paths found there,
    and whether all were read as written (`_pack`, or format 1's object); ValueError when
    damaged."""
    share = existing.get
    files = data.get("files")
    if isinstance(files, dict):
        clean = all(isinstance(v, str) for v in files.values())
        return {share(k) or str(k): str(v) for k, v in files.items()}, clean
    paths, prints = split_lines(data.get("paths")), split_lines(data.get("prints"))
    if len(paths) != len(prints):
        raise ValueError("paths and prints differ in number")
    # `get(path, path)`: one string per path in memory (~7.5 MB at 100,000 paths); these
    # lookups are most of the load's time, less in the walk's order (`_manifest_order`)
    return dict(zip(map(share, paths, paths), prints, strict=True)), True


def _files(root: str) -> dict[str, str]:
    """Relative path (with `/`) of every file below `root`, staging folders skipped; each
    maps to itself (see `SiteWriter.existing`).

    In directory order, which the manifest keeps (`SiteWriter._manifest_order`): sorting
    the names first made this ~60 ms slower at 100,000 files (names read out of order).
    """
    found: dict[str, str] = {}
    prefix = len(root) + 1
    for folder, dirs, names in os.walk(root):
        dirs[:] = [d for d in dirs if not d.startswith(STAGING_PREFIX)]
        base = folder[prefix:].replace(os.sep, "/")
        for name in names:
            path = f"{base}/{name}" if base else name
            found[path] = path
    return found


def _write(path: str, data: bytes) -> None:
    """A new file with these bytes; plain system calls (a site has ~100,000 files)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)


def _same_bytes(target: str | Path, data: bytes) -> bool:
    try:
        if os.stat(target).st_size != len(data):
            return False
        with open(target, "rb") as current:
            return current.read() == data
    except OSError:
        return False


def _same_file(target: Path, source: Path) -> bool:
    with contextlib.suppress(OSError):
        if os.path.samefile(target, source):
            return True
        return target.stat().st_size == source.stat().st_size
    return False


def _inside(root: Path, path: Path) -> bool:
    try:
        path.resolve().relative_to(root.resolve())
    except ValueError:
        return False
    return True
