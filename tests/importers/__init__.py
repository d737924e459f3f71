"""Importer tests: shared helpers for building archives and comparing archive contents."""

from __future__ import annotations

import zipfile
from pathlib import Path
from typing import Any

import pytest

from ownfeed.archive import Archive
from ownfeed.errors import ParseError
from ownfeed.importers import ImportReport, run_import
from ownfeed.media import MediaStore

DATA = Path(__file__).parents[1] / "data" / "import"
TABLES = ("posts", "post_versions", "post_tags", "media", "sources", "authors")
#: one sample export for each importer kind
EXPORTS = {
    "twitter": DATA / "twitter.zip",
    "mastodon": DATA / "mastodon.zip",
    "wordpress": DATA / "wordpress.xml",
    "bluesky": DATA / "bluesky.car",
    "facebook": DATA / "facebook.zip",
    "instagram": DATA / "instagram.zip",
    "linkedin": DATA / "linkedin.zip",
}


def do_import(
    archive: Archive,
    kind: str,
    path: Path,
    media_root: Path,
    *,
    source: str | None = None,
    source_type: str | None = None,
) -> ImportReport:
    return run_import(
        archive,
        kind,
        path,
        source=source,
        source_type=source_type,
        media_store=MediaStore(media_root),
    )


def import_error(
    archive: Archive, kind: str, path: Path, tmp_path: Path, *, over: tuple[str, Path] | None = None
) -> str:
    """The message of the ParseError an import of `path` fails with, checked to be one line
    and to leave the archive as it was (holding the export `over` names, if any)."""
    if over is not None:
        do_import(archive, *over, tmp_path / "media")
    before = snapshot(archive)
    with pytest.raises(ParseError) as error:
        do_import(archive, kind, path, tmp_path / "media")
    assert snapshot(archive) == before
    message = str(error.value)
    assert "\n" not in message
    return message


def snapshot(archive: Archive, *, ignore: tuple[str, ...] = ()) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of the tables an import writes, for before/after comparisons."""
    found: dict[str, list[tuple[Any, ...]]] = {}
    for table in TABLES:
        rows = archive.query(f"SELECT * FROM {table}")
        found[table] = sorted(
            tuple(v for k, v in zip(row.keys(), tuple(row), strict=True) if k not in ignore)
            for row in rows
        )
    return found


def rebuild_zip(source: Path, target: Path, changes: dict[str, bytes | None] | None = None) -> Path:
    """A copy of a zip with members replaced (bytes), removed (None) or added."""
    changes = dict(changes or {})
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for info in old.infolist():
            if info.filename in changes:
                data = changes.pop(info.filename)
                if data is not None:
                    new.writestr(info.filename, data)
            else:
                new.writestr(info, old.read(info))
        for name, data in changes.items():
            if data is not None:
                new.writestr(name, data)
    return target


def zip_members(path: Path) -> dict[str, bytes]:
    """Every member of a zip by name, to build a variant of an export from."""
    with zipfile.ZipFile(path) as bundle:
        return {name: bundle.read(name) for name in bundle.namelist()}


def write_zip(path: Path, members: dict[str, bytes]) -> Path:
    """A zip of exactly these members (an export in another layout, say)."""
    with zipfile.ZipFile(path, "w") as bundle:
        for name, data in members.items():
            bundle.writestr(name, data)
    return path


def post(archive: Archive, platform: str, native_id: str) -> dict[str, Any]:
    row = archive.one(
        "SELECT * FROM posts WHERE platform = ? AND native_id = ?", (platform, native_id)
    )
    assert row is not None, f"no post {platform} {native_id}"
    return dict(row)


def pairs(archive: Archive, sql: str) -> dict[Any, Any]:
    """A two-column query as a dict."""
    return {row[0]: row[1] for row in archive.query(sql)}
