"""Property tests for the importers: a damaged export gives posts or one clean ParseError.

Every kind's real fixture export is damaged: a JSON (or `window.YTD... = `) member
structurally mutated (keys dropped, types swapped, deep nesting, huge and odd strings,
missing ids), a member's bytes damaged or the member dropped, the zip itself damaged;
the WordPress WXR and the Bluesky CAR get their bytes damaged. `run_import` must then
either import (posts the archive stores, well-formed when the importer is asked directly)
or raise a one-line `ParseError` and leave the archive exactly as it was.
"""

from __future__ import annotations

import io
import json
import sqlite3
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ownfeed.archive import Archive
from ownfeed.errors import ParseError
from ownfeed.importers import IMPORTERS, run_import
from ownfeed.importers.batch import ImportOptions
from ownfeed.importers.bundle import open_bundle
from ownfeed.media import MediaStore
from tests.hostile.jsonfuzz import (
    Mutation,
    byte_changes,
    check_post,
    clean_error,
    dumps,
    keys_of,
    mutate,
    mutate_bytes,
    mutations,
    with_surrogates,
)
from tests.importers import EXPORTS

TABLES = ("posts", "post_versions", "post_tags", "media", "sources", "authors", "post_links")
IMPORT_SETTINGS = settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


def _members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as archive:
        return {info.filename: archive.read(info) for info in archive.infolist()}


def _split_js(data: bytes) -> tuple[bytes, Any] | None:
    """(`window.YTD.x.part0 = ` prefix, JSON) of a Twitter `.js` member, or of plain JSON."""
    prefix, _, rest = data.partition(b"=") if data.startswith(b"window.") else (b"", b"", data)
    try:
        return (prefix + b"= " if prefix else b""), json.loads(rest)
    except ValueError:
        return None


def _zip(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return out.getvalue()


@dataclass(frozen=True)
class Export:
    """A damaged export: its file name and bytes, and what was done (for the report)."""

    name: str
    data: bytes
    how: str


@st.composite
def damaged(draw: st.DrawFn, kind: str) -> Export:
    path = EXPORTS[kind]
    if path.suffix != ".zip":
        changes = draw(byte_changes)
        return Export(path.name, mutate_bytes(path.read_bytes(), changes), f"bytes {changes}")
    members = _members(path)
    texts = sorted(n for n in members if n.endswith((".js", ".json", ".csv")))
    how = draw(st.sampled_from(["json", "json", "json", "bytes", "drop", "zip", "surrogates"]))
    name = draw(st.sampled_from(texts))
    if how == "zip":
        changes = draw(byte_changes)
        return Export(path.name, mutate_bytes(path.read_bytes(), changes), f"zip bytes {changes}")
    if how == "drop":
        del members[name]
        return Export(path.name, _zip(members), f"without {name}")
    split = _split_js(members[name]) if how in ("json", "surrogates") else None
    if split is None:
        changes = draw(byte_changes)
        members[name] = mutate_bytes(members[name], changes)
        return Export(path.name, _zip(members), f"{name} bytes {changes}")
    prefix, document = split
    if how == "surrogates":
        members[name] = prefix + dumps(with_surrogates(document))
        return Export(path.name, _zip(members), f"{name} with lone surrogates")
    changes_ = draw(mutations(keys_of(document)))
    members[name] = prefix + dumps(mutate(document, changes_))
    return Export(path.name, _zip(members), f"{name} mutated {changes_}")


def _snapshot(db: Archive) -> dict[str, list[tuple[Any, ...]]]:
    return {
        table: sorted(tuple(row) for row in db.query(f"SELECT * FROM {table}")) for table in TABLES
    }


@pytest.fixture(scope="module")
def baselines(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, sqlite3.Connection]]:
    """For each kind, an archive holding that kind's clean import (to copy per example)."""
    root = tmp_path_factory.mktemp("baselines")
    found: dict[str, sqlite3.Connection] = {}
    for kind, path in EXPORTS.items():
        db = Archive(root / f"{kind}.db")
        run_import(
            db, kind, path, source=None, source_type=None, media_store=MediaStore(root / "media")
        )
        found[kind] = db.conn
    yield found
    for conn in found.values():
        conn.close()


def _copy(conn: sqlite3.Connection) -> Archive:
    db = Archive(":memory:")
    conn.backup(db.conn)
    return db


def check_import(kind: str, export: Export, baseline: sqlite3.Connection) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder, export.name)
        path.write_bytes(export.data)
        with _copy(baseline) as db:
            before = _snapshot(db)
            try:
                report = run_import(
                    db,
                    kind,
                    path,
                    source=None,
                    source_type=None,
                    media_store=MediaStore(Path(folder, "media")),
                )
            except ParseError as error:
                clean_error(error)
                assert _snapshot(db) == before, "a failed import changed the archive"
                return
            assert db.conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert report.posts >= 0 and all("\n" not in w for w in report.warnings)
        with open_bundle(path) as bundle:
            batch = IMPORTERS[kind].parse(bundle, ImportOptions())
        for post in batch.posts:
            check_post(post)
        for versions in batch.history.values():
            for version in versions:
                check_post(version)


@pytest.mark.parametrize("kind", sorted(EXPORTS))
@IMPORT_SETTINGS
@given(data=st.data())
def test_damaged_export_imports_or_fails_cleanly(
    kind: str, baselines: dict[str, sqlite3.Connection], data: st.DataObject
) -> None:
    export = data.draw(damaged(kind), label="export")
    check_import(kind, export, baselines[kind])


@pytest.mark.parametrize("kind", sorted(EXPORTS))
@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.binary(max_size=600))
def test_arbitrary_bytes_import_or_fail_cleanly(
    kind: str, baselines: dict[str, sqlite3.Connection], data: bytes
) -> None:
    check_import(kind, Export(EXPORTS[kind].name, data, "arbitrary"), baselines[kind])


def test_damage_reaches_the_importer() -> None:
    """The JSON member damage really lands in the zip (guards the properties above)."""
    members = _members(EXPORTS["twitter"])
    split = _split_js(members["data/tweets.js"])
    assert split is not None and split[0].startswith(b"window.YTD.tweets.part0")
    document = mutate(split[1], [Mutation(0, "replace", {"x": 1})])
    assert _split_js(split[0] + dumps(document)) == (split[0], {"x": 1})


JSON_MEMBERS = [
    ("twitter", "data/tweets.js"),
    ("twitter", "data/account.js"),
    ("mastodon", "outbox.json"),
    ("facebook", "your_facebook_activity/posts/your_posts__check_ins__photos_and_videos_1.json"),
    ("instagram", "your_instagram_activity/media/posts_1.json"),
]


@pytest.mark.parametrize(("kind", "member"), JSON_MEMBERS)
def test_lone_surrogates_are_replaced_not_fatal(
    kind: str, member: str, baselines: dict[str, sqlite3.Connection], tmp_path: Path
) -> None:
    """JSON may escape a lone surrogate; it cannot be stored as UTF-8, so it becomes U+FFFD
    and the export imports (it used to fail the import, or crash it with UnicodeEncodeError)."""
    members = _members(EXPORTS[kind])
    split = _split_js(members[member])
    assert split is not None
    members[member] = split[0] + dumps(with_surrogates(split[1]))
    path = tmp_path / EXPORTS[kind].name
    path.write_bytes(_zip(members))
    with Archive(tmp_path / "a.db") as db:
        report = run_import(
            db, kind, path, source=None, source_type=None, media_store=MediaStore(tmp_path / "m")
        )
        assert report.posts > 0 or kind == "mastodon"  # its "Create" types changed too
        texts = [row[0] for row in db.query("SELECT content_text FROM posts") if row[0]]
    if member != "data/account.js" and kind != "mastodon":
        assert any("\ufffd" in text for text in texts), texts[:3]
