"""SiteModel.load: the two scans over every post, started in threads on connections of
their own, give the same model as reads on the caller's connection, and neither thread
nor connection outlives the load."""

from __future__ import annotations

import dataclasses
import hashlib
import sqlite3
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any, ClassVar

import pytest

from ownfeed.archive import Archive, site, store_posts
from ownfeed.archive.site import SitePost
from ownfeed.export.model import SiteModel
from ownfeed.models import Author, Media, Post
from tests.export import T0, build_archive

US = Author("mastodon", handle="@us@masto.example", name="Us")
THEM = Author("mastodon", handle="@them@masto.example", name="Them")


def _generated(root: Path, count: int = 600) -> Archive:
    """Threads of own and others' posts, replies to missing posts, media and tags."""
    archive = Archive(root / "generated.db")
    posts = []
    for n in range(count):
        root_n = n - n % 7  # threads of seven posts
        parent = None if n == root_n else str(n - 1 if n % 3 else root_n)
        if n % 50 == 13:
            parent = f"missing-{n}"  # a reply whose parent is not archived
        posts.append(
            Post(
                platform="mastodon",
                native_id=str(n),
                kind="post" if parent is None else "reply",
                is_own=n % 4 != 1,
                url=f"https://masto.example/{n}",
                title=None if n % 5 else f"Title {n}",
                content_html=f"<p>Post {n} ü</p>" if n % 6 else None,
                content_text=f"Post {n}" if n % 6 == 0 else None,
                language="de" if n % 2 else None,
                author=US if n % 4 != 1 else THEM,
                published_at=None if n % 11 == 0 else T0 + timedelta(minutes=n % 97),
                in_reply_to=parent,
                thread_root=None if parent is None else str(root_n),
                tags=("tag", f"t{n % 9}") if n % 3 == 0 else (),
                media=(Media(f"https://masto.example/m/{n}.png", alt="a"),) if n % 8 == 0 else (),
            )
        )
    with archive.transaction():
        store_posts(archive, posts, "mastodon", now=T0)
    return archive


def _fields(model: SiteModel) -> dict[str, Any]:
    """Everything a model holds, with dict and list order, as plain values."""
    values = {}
    for item in dataclasses.fields(model):
        value = getattr(model, item.name)
        if isinstance(value, dict):
            value = [(key, _plain(entry)) for key, entry in value.items()]
        values[item.name] = _plain(value)
    return values


def _plain(value: Any) -> Any:
    if isinstance(value, list):
        return [_plain(entry) for entry in value]
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return (type(value).__name__, dataclasses.astuple(value))
    if isinstance(value, tuple) and hasattr(value, "_fields"):  # SitePost
        return (type(value).__name__, tuple(value))
    return value


def _in_memory(archive: Archive) -> Archive:
    """The same archive as an in-memory one: read on the caller's connection only."""
    copy = Archive(":memory:")
    archive.conn.backup(copy.conn)
    return copy


def _reference_digests(archive: Archive) -> dict[str, str]:
    """Each post's digest as the model defines it: change marker and media signature."""
    media = site.media(archive)
    digests = {}
    for mark in site.post_marks(archive):
        items = media.get(mark.id, [])
        media_sig = "|".join(
            f"{m.id},{m.url},{m.file},{m.alt},{m.kind},{m.mime},{m.width},{m.height}" for m in items
        )
        raw = f"{mark.sig}\x1e{media_sig}"
        digests[mark.id] = hashlib.blake2b(raw.encode(), digest_size=8).hexdigest()
    return digests


def _threads_left() -> list[str]:
    return [t.name for t in threading.enumerate() if t.name == "model-scan"]


class _Readers(site.Reader):
    """site.Reader that remembers its connections, to see they were used and closed."""

    opened: ClassVar[list[sqlite3.Connection]] = []

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.opened.append(self.conn)


def _closed(conn: sqlite3.Connection) -> bool:
    try:
        conn.execute("SELECT 1")
    except sqlite3.ProgrammingError:
        return True
    return False


@pytest.fixture
def readers(monkeypatch: pytest.MonkeyPatch) -> list[sqlite3.Connection]:
    monkeypatch.setattr(_Readers, "opened", [])
    monkeypatch.setattr(site, "Reader", _Readers)
    return _Readers.opened


def test_scans_started_in_threads_give_the_serial_model(
    tmp_path: Path, readers: list[sqlite3.Connection]
) -> None:
    archive = _generated(tmp_path)
    ahead = SiteModel.load(archive, {"x.png"})
    assert len(readers) == 2 and all(_closed(conn) for conn in readers)
    serial = SiteModel.load(_in_memory(archive), {"x.png"})
    assert len(readers) == 2  # an archive in memory has no second connection
    assert _fields(ahead) == _fields(serial)
    assert ahead.digest == _reference_digests(archive)
    assert len(ahead.posts) == site.count_own(archive) > 400
    assert [mark.id for mark in site.post_marks(archive)] == [
        pid for ids in ahead.members.values() for pid in ids
    ]
    assert not _threads_left()


def test_scans_on_the_sample_archive(tmp_path: Path, readers: list[sqlite3.Connection]) -> None:
    sample = build_archive(tmp_path)
    ahead = SiteModel.load(sample.archive)
    assert len(readers) == 2
    assert _fields(ahead) == _fields(SiteModel.load(_in_memory(sample.archive)))
    assert ahead.digest == _reference_digests(sample.archive)
    assert ahead.hidden or ahead.copies_of  # the sample's links made it in


def test_posts_are_built_like_their_constructor(tmp_path: Path) -> None:
    """`_post` makes the tuple itself: the same values, and every field set."""
    archive = _generated(tmp_path, 80)
    posts = site.own_posts(archive, excerpt=20) + list(
        site.posts_by_id(archive, [p.id for p in site.own_posts(archive)]).values()
    )
    assert [p.id for p in site.each_own_post(archive, excerpt=20)] == [
        p.id for p in posts[: len(posts) // 2]
    ]
    for post in posts:
        again = SitePost(*post)
        assert post == again and hash(post) == hash(again)
        assert isinstance(post.is_own, bool)
    with pytest.raises(ValueError):  # a column too many is no silently dropped field
        site._post(("x",) * (len(SitePost._fields) + 1))


def test_a_thread_that_cannot_open_the_archive_leaves_it_to_the_caller(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    archive = _generated(tmp_path, 60)
    expected = _fields(SiteModel.load(archive))

    def refuse(path: str) -> site.Reader:
        raise sqlite3.OperationalError(f"unable to open database file {path}")

    monkeypatch.setattr(site, "Reader", refuse)
    assert _fields(SiteModel.load(archive)) == expected
    assert not _threads_left()


def test_an_error_while_reading_is_raised_and_the_connections_closed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, readers: list[sqlite3.Connection]
) -> None:
    archive = _generated(tmp_path, 60)
    real = site.mark_rows

    def breaks(own: site.Reader) -> Any:
        for n, row in enumerate(real(own)):
            if n == 12:
                raise sqlite3.OperationalError("disk I/O error")
            yield row

    monkeypatch.setattr(site, "mark_rows", breaks)
    with pytest.raises(sqlite3.OperationalError):
        SiteModel.load(archive)
    assert len(readers) == 2 and all(_closed(conn) for conn in readers)
    assert not _threads_left()


def test_a_load_that_fails_closes_the_connections(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, readers: list[sqlite3.Connection]
) -> None:
    archive = _generated(tmp_path)

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("media table gone")

    monkeypatch.setattr(site, "media", broken)
    with pytest.raises(RuntimeError):
        SiteModel.load(archive)
    assert len(readers) == 2 and all(_closed(conn) for conn in readers)
    assert not _threads_left()
