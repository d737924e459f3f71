"""The model cache (modelcache.py): after every kind of change, the model patched from
the last export's cache equals a fresh load, dict order included; what the cache cannot
account for means a fresh load."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ownfeed.archive import site
from ownfeed.archive.db import Archive
from ownfeed.export import build_site, modelcache
from ownfeed.export.model import SiteModel
from ownfeed.export.writer import SiteWriter
from tests.export import Sample, build_archive
from tests.export.test_changes import KINDS
from tests.export.test_incremental import P1, TOOT
from tests.export.test_model import _fields


@pytest.fixture
def fresh(tmp_path: Path) -> Sample:
    return build_archive(tmp_path)


@pytest.fixture
def fresh_loads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many models were loaded fresh instead of patched from the cache."""
    calls: list[int] = []
    original = modelcache._fresh

    def counting(*args: Any) -> tuple[SiteModel, modelcache.Facts]:
        calls.append(1)
        return original(*args)

    monkeypatch.setattr(modelcache, "_fresh", counting)
    return calls


def _sql(statement: str, *params: object) -> Callable[[Archive], None]:
    return lambda archive: archive.conn.execute(statement, params).close()


def _make_own(archive: Archive) -> None:
    """Someone else's reply becomes ours: its tags and summary join the model."""
    archive.conn.execute(
        "UPDATE posts SET is_own = 1, last_seen_at = '2031-01-01T00:00:00+00:00' "
        "WHERE id = (SELECT id FROM posts WHERE is_own = 0 ORDER BY id LIMIT 1)"
    )


PATCHED = {
    **KINDS,
    "made ours": _make_own,
    "title only, seen again": _sql(
        "UPDATE posts SET title = 'New title', last_seen_at = '2031-01-02T00:00:00+00:00' "
        "WHERE id = ?",
        P1,
    ),
    "new media": _sql(
        "INSERT INTO media (id, post_id, url, kind) VALUES ('m-new', ?, "
        "'https://masto.example/new.png', 'image')",
        P1,
    ),
}

FRESH = {
    "post deleted": _sql("DELETE FROM posts WHERE id = ?", TOOT),
    "tag removed": _sql("DELETE FROM post_tags WHERE rowid = (SELECT min(rowid) FROM post_tags)"),
    "everything seen again": _sql("UPDATE posts SET last_seen_at = '2032-01-01T00:00:00+00:00'"),
}


def _exported(sample: Sample) -> Path:
    output = sample.root / "site"
    build_site(sample.archive, sample.config(output), sample.media_dir)
    assert (output / modelcache.NAME).is_file()
    return output


def _cached_model(sample: Sample, output: Path) -> tuple[SiteModel, modelcache.Facts]:
    """The model as the next export makes it: from the cache of the last one."""
    writer = SiteWriter(output)
    try:
        return modelcache.load(sample.archive, writer, None, site.bucket_prints(sample.archive))
    finally:
        writer.abort()


def _same(patched: SiteModel, loaded: SiteModel) -> None:
    """Equal, in the order a fresh load has (digests, parents and our ids are only ever
    looked up: their order does not matter)."""
    mine, theirs = _fields(patched), _fields(loaded)
    for name in ("digest", "parent"):
        assert dict(mine.pop(name)) == dict(theirs.pop(name)), name
    assert set(mine.pop("own_ids")) == set(theirs.pop("own_ids"))
    assert mine == theirs


@pytest.mark.parametrize("name", sorted(PATCHED))
def test_after_each_kind_of_change_the_patched_model_equals_a_fresh_load(
    fresh: Sample, fresh_loads: list[int], name: str
) -> None:
    output = _exported(fresh)
    with fresh.archive.transaction():
        PATCHED[name](fresh.archive)
    del fresh_loads[:]
    patched, _facts = _cached_model(fresh, output)
    assert not fresh_loads, "patched, not loaded"
    _same(patched, SiteModel.load(fresh.archive))


@pytest.mark.parametrize("name", sorted(FRESH))
def test_what_the_cache_cannot_account_for_means_a_fresh_load(
    fresh: Sample, fresh_loads: list[int], name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(modelcache, "_FEW", 0)  # the sample's few buckets count as many
    output = _exported(fresh)
    with fresh.archive.transaction():
        FRESH[name](fresh.archive)
    del fresh_loads[:]
    model, _facts = _cached_model(fresh, output)
    assert fresh_loads == [1]
    _same(model, SiteModel.load(fresh.archive))


def test_a_pingback_linked_or_unlinked_leaves_and_rejoins_the_reply_tree(
    fresh: Sample, fresh_loads: list[int]
) -> None:
    """Only the link changes, no post row: the cache still reads the thread again."""
    with fresh.archive.transaction():
        _sql("UPDATE posts SET kind = 'pingback' WHERE in_reply_to = ?", TOOT)(fresh.archive)
    output = _exported(fresh)
    link = "INSERT INTO post_links (post_id, linked_id, relation, how) "
    link += "SELECT ?, id, 'mention', 'x' FROM posts WHERE kind = 'pingback'"
    unlink = "DELETE FROM post_links WHERE relation = 'mention'"
    for statement, params in ((link, (TOOT,)), (unlink, ())):
        with fresh.archive.transaction():
            _sql(statement, *params)(fresh.archive)
        del fresh_loads[:]
        patched, _facts = _cached_model(fresh, output)
        loaded = SiteModel.load(fresh.archive)
        assert bool(loaded.hidden) == (statement == link)
        assert not fresh_loads
        _same(patched, loaded)
        build_site(fresh.archive, fresh.config(output), fresh.media_dir)


def test_successive_changes_keep_the_cache_right(fresh: Sample, fresh_loads: list[int]) -> None:
    """Each export saves the patched model: errors would pile up over exports."""
    output = _exported(fresh)
    for name in ("new reply", "edited", "made ours", "tag added", "new post of ours"):
        with fresh.archive.transaction():
            PATCHED[name](fresh.archive)
        build_site(fresh.archive, fresh.config(output), fresh.media_dir)
        patched, _facts = _cached_model(fresh, output)
        _same(patched, SiteModel.load(fresh.archive))
    assert fresh_loads == [1]  # the first export only


def test_nothing_changed_keeps_the_cache_in_place(fresh: Sample) -> None:
    output = _exported(fresh)
    before = (output / modelcache.NAME).stat()
    (output / "posts" / f"{TOOT}.html").unlink()  # the model is made, nothing changed
    build_site(fresh.archive, fresh.config(output), fresh.media_dir)
    after = (output / modelcache.NAME).stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    _same(_cached_model(fresh, output)[0], SiteModel.load(fresh.archive))


@pytest.mark.parametrize(
    "damage", ["garbage", "cut short", "other format", "wrong shape", "missing"]
)
def test_a_damaged_cache_means_a_fresh_load(
    fresh: Sample, fresh_loads: list[int], damage: str
) -> None:
    output = _exported(fresh)
    cache = output / modelcache.NAME
    data = cache.read_bytes()
    if damage == "garbage":
        cache.write_bytes(b"\x00" * 8 + b"not marshal" * 50)
    elif damage == "cut short":
        cache.write_bytes(data[: len(data) // 2])
    elif damage == "wrong shape":  # records as written, but a part of another type
        records = list(modelcache._records(data))
        records[0] = (*records[0][:4], ["not", "a", "dict"], *records[0][5:])
        with cache.open("wb") as file:
            for record in records:
                modelcache._record(file, record)
    elif damage == "other format":
        monkeypatch = pytest.MonkeyPatch()
        monkeypatch.setattr(modelcache, "FORMAT", modelcache.FORMAT + 1)
    else:
        cache.unlink()
    with fresh.archive.transaction():
        KINDS["edited"](fresh.archive)
    del fresh_loads[:]
    try:
        model, _facts = _cached_model(fresh, output)
    finally:
        if damage == "other format":
            monkeypatch.undo()
    assert fresh_loads == [1]
    _same(model, SiteModel.load(fresh.archive))


def test_a_full_export_does_not_read_the_cache(fresh: Sample, fresh_loads: list[int]) -> None:
    output = _exported(fresh)
    del fresh_loads[:]
    build_site(fresh.archive, fresh.config(output), fresh.media_dir, full=True)
    assert fresh_loads == [1]
