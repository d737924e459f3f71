"""Incremental exports: the "nothing changed" shortcut, and what must defeat it.

Why these tests: an export with nothing new skips loading the archive when its change
marker (`site.change_marker`) is that of the last export. A change the marker misses
would leave a stale site, so every kind of archive write is tried here.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from ownfeed.archive import mark_gone
from ownfeed.archive.db import Archive
from ownfeed.export import build_site, entries, modelcache
from ownfeed.export.model import SiteModel
from ownfeed.models import Gone, SourceResult
from tests.export import (
    BLOG,
    MASTO,
    T0,
    Sample,
    add_late_reply,
    build_archive,
    pid,
    search_rows,
)

TOOT = pid("mastodon", MASTO + "/@novosyx/1")
P1 = pid("web", BLOG + "/2024/vertrauen")


@pytest.fixture
def fresh(tmp_path: Path) -> Sample:
    return build_archive(tmp_path)


@pytest.fixture
def loads(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[int]]:
    """How many exports made the archive's site model (the slow path), from the model
    cache or from the archive."""
    calls: list[int] = []
    original = modelcache.load

    def counting(*args: Any) -> tuple[SiteModel, modelcache.Facts]:
        calls.append(1)
        return original(*args)

    monkeypatch.setattr(modelcache, "load", counting)
    yield calls


def test_nothing_new_skips_loading_the_archive(fresh: Sample, loads: list[int]) -> None:
    output = fresh.root / "site"
    first = build_site(fresh.archive, fresh.config(output), fresh.media_dir)
    second = build_site(fresh.archive, fresh.config(output), fresh.media_dir)
    assert len(loads) == 1
    assert second.files_written == 0 and second.posts == first.posts
    assert second.pages_unchanged == first.pages_written + first.media_copied


def test_a_deleted_file_is_written_again(fresh: Sample, loads: list[int]) -> None:
    output = fresh.root / "site"
    build_site(fresh.archive, fresh.config(output), fresh.media_dir)
    (output / "posts" / f"{TOOT}.html").unlink()
    report = build_site(fresh.archive, fresh.config(output), fresh.media_dir)
    assert len(loads) == 2 and report.files_written == 1
    assert (output / "posts" / f"{TOOT}.html").is_file()


def _sql(statement: str, *params: object) -> Callable[[Archive], None]:
    def change(archive: Archive) -> None:
        archive.conn.execute(statement, params)

    return change


CHANGES: dict[str, Callable[[Archive], None]] = {
    "new reply": add_late_reply,
    "gone upstream": lambda archive: mark_gone(
        archive,
        SourceResult(gone=[Gone("mastodon", MASTO + "/@novosyx/1", "404")]),
        now=T0 + timedelta(days=9),
    ),
    "author renamed": _sql("UPDATE authors SET name = 'Novosyx GmbH' WHERE name = 'Novosyx'"),
    "tag added": _sql("INSERT INTO post_tags (post_id, tag) VALUES (?, 'Neu')", TOOT),
    "copy linked": _sql(
        "INSERT INTO post_links (post_id, linked_id, relation, how) VALUES (?, ?, 'copy', 'x')",
        P1,
        TOOT,
    ),
    "media downloaded": _sql("UPDATE media SET alt = 'Our office, 2024' WHERE post_id = ?", TOOT),
    "source renamed": _sql("UPDATE sources SET title = 'Our Blog' WHERE name = 'blog'"),
    "thread moved": _sql("UPDATE posts SET thread_root = ? WHERE thread_root = ?", P1, TOOT),
}


@pytest.mark.parametrize("name", sorted(CHANGES))
def test_every_kind_of_change_is_noticed(fresh: Sample, loads: list[int], name: str) -> None:
    output = fresh.root / "site"
    build_site(fresh.archive, fresh.config(output), fresh.media_dir)
    with fresh.archive.transaction():
        CHANGES[name](fresh.archive)
    report = build_site(fresh.archive, fresh.config(output), fresh.media_dir)
    assert len(loads) == 2, f"{name}: the export did not look at the archive again"
    assert report.files_written >= 1


def test_config_and_theme_changes_are_noticed(fresh: Sample, loads: list[int]) -> None:
    output = fresh.root / "site"
    build_site(fresh.archive, fresh.config(output), fresh.media_dir)
    retitled = build_site(fresh.archive, fresh.config(output, title="Renamed"), fresh.media_dir)
    assert retitled.files_written > 10
    theme = fresh.root / "theme"
    theme.mkdir()
    (theme / "list_item.html").write_text(
        '{% extends "default/list_item.html" %}', encoding="utf-8"
    )
    config = fresh.config(output, title="Renamed", theme=theme)
    build_site(fresh.archive, config, fresh.media_dir)
    assert len(loads) == 3


# -- post pages in forked helpers --------------------------------------------------------


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def _site(root: Path) -> dict[str, bytes]:
    """What readers get: the entry store is a cache whose layout follows render order."""
    return {
        path: data for path, data in _tree(root).items() if path not in (entries.NAME, entries.BASE)
    }


@pytest.fixture(params=[True, False], ids=["prepared-alongside", "prepared-first"])
def helpers(
    monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest
) -> Callable[[int], None]:
    """Make even the sample archive render in forked helpers: chunks of two posts, list
    pages one by one (their entries come from the store the main process writes, while the
    helpers render post pages or before they start)."""
    from ownfeed.export import build, parallel

    monkeypatch.setattr(build, "CHUNK", 2)
    monkeypatch.setattr(build, "LIST_PAGES_PER_TASK", 1)
    monkeypatch.setattr(build, "PREPARE_ALONGSIDE", 1000 if request.param else 0)
    monkeypatch.setattr(parallel, "MIN_CHUNKS", 1)

    def use(count: int) -> None:
        monkeypatch.setattr(parallel, "helper_count", lambda: count)

    return use


def test_helpers_write_the_same_site(fresh: Sample, helpers: Callable[[int], None]) -> None:
    helpers(0)
    alone = fresh.root / "alone"
    build_site(fresh.archive, fresh.config(alone), fresh.media_dir)
    helpers(2)
    shared = fresh.root / "shared"
    report = build_site(fresh.archive, fresh.config(shared), fresh.media_dir)
    assert _site(shared) == _site(alone)
    assert report.files_written == len(_tree(alone)) - 1  # all but the manifest
    with fresh.archive.transaction():
        add_late_reply(fresh.archive)
    build_site(fresh.archive, fresh.config(shared), fresh.media_dir)
    helpers(0)
    build_site(fresh.archive, fresh.config(alone), fresh.media_dir)
    assert _site(shared) == _site(alone)


def test_helpers_take_list_entries_from_the_store(
    fresh: Sample, helpers: Callable[[int], None], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The main process stores every entry a stale page needs while the helpers render
    post pages; helpers then read them (none renders one itself)."""
    import os

    from ownfeed.export import lists

    helpers(2)
    main = os.getpid()
    render = lists.ListWriter._render

    def checked(self: lists.ListWriter, post: Any, root: str, wanted: Any) -> Any:
        if os.getpid() != main and root == entries.ROOT:
            raise AssertionError(f"a helper rendered the entry of {post.id}")
        return render(self, post, root, wanted)

    monkeypatch.setattr(lists.ListWriter, "_render", checked)
    output, alone = fresh.root / "site", fresh.root / "alone"
    for changed in (False, True):
        if changed:
            with fresh.archive.transaction():
                add_late_reply(fresh.archive)
        helpers(2)
        build_site(fresh.archive, fresh.config(output), fresh.media_dir)
        helpers(0)
        build_site(fresh.archive, fresh.config(alone), fresh.media_dir)
        assert _site(output) == _site(alone)


def test_a_failing_helper_fails_the_export(
    fresh: Sample, helpers: Callable[[int], None], monkeypatch: pytest.MonkeyPatch
) -> None:
    import os

    from ownfeed.export import build

    helpers(2)
    output = fresh.root / "site"
    build_site(fresh.archive, fresh.config(output), fresh.media_dir)
    before = _tree(output)
    main = os.getpid()
    setup = build._PostPages.setup

    # Every helper dies as it starts (killed, out of memory). Dying in `render` instead was
    # flaky: the main process may take every task before a helper has set up.
    def broken(self: build._PostPages) -> None:
        if os.getpid() != main:
            os._exit(3)
        setup(self)

    monkeypatch.setattr(build._PostPages, "setup", broken)
    with fresh.archive.transaction():
        add_late_reply(fresh.archive)
    with pytest.raises(RuntimeError, match="helper process died"):
        build_site(fresh.archive, fresh.config(output, title="Renamed"), fresh.media_dir)
    assert _tree(output) == before
    assert not [p for p in output.iterdir() if p.name.startswith(".ownfeed-staging")]


# -- the search index's document chunks ---------------------------------------------------


_EDIT = _sql(
    "UPDATE posts SET content_text = 'Rewritten words', content_hash = 'x', "
    "last_seen_at = '2030-01-01T00:00:00+00:00' WHERE id = ?",
    TOOT,
)


@pytest.mark.parametrize("damaged", [False, True])
def test_search_rows_after_changes_equal_a_fresh_export(fresh: Sample, damaged: bool) -> None:
    output = fresh.root / "site"
    build_site(fresh.archive, fresh.config(output), fresh.media_dir)
    if damaged:  # a base chunk gone missing: the index is built again
        (output / "search" / "d0.js").unlink()
    with fresh.archive.transaction():
        _EDIT(fresh.archive)
        add_late_reply(fresh.archive)
    build_site(fresh.archive, fresh.config(output), fresh.media_dir)
    rows = search_rows(output)
    assert any("Rewritten words" in row for row in rows)
    build_site(fresh.archive, fresh.config(fresh.root / "fresh"), fresh.media_dir)
    assert rows == search_rows(fresh.root / "fresh")
