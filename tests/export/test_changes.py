"""The snapshot of the last export's model (changes.py): only pages that show a changed post
are fingerprinted again, and the site equals a fresh export after every kind of change."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from ownfeed.archive import store_posts
from ownfeed.archive.db import Archive
from ownfeed.export import build_site, changes, views
from ownfeed.export.writer import SiteWriter
from ownfeed.models import Post
from tests.export import FAN, MASTO, T0, US_MASTO, Sample, build_archive, search_rows
from tests.export.test_incremental import CHANGES, P1, TOOT


@pytest.fixture
def fresh(tmp_path: Path) -> Sample:
    return build_archive(tmp_path)


@pytest.fixture
def fingerprinted(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The posts whose page fingerprint an export computed."""
    seen: list[str] = []
    original = views.page_inputs

    def counting(model: Any, post_id: str) -> tuple[str, ...]:
        seen.append(post_id)
        return original(model, post_id)

    monkeypatch.setattr(views, "page_inputs", counting)
    return seen


def _site(root: Path) -> dict[str, bytes]:
    """Every page, feed and asset: not the hidden state files, nor the search index (an
    update adds delta files where a fresh export has one base; test_search compares them
    by the rows they give)."""
    found = {p.relative_to(root).as_posix(): p for p in root.rglob("*") if p.is_file()}
    return {
        path: file.read_bytes()
        for path, file in found.items()
        if not file.name.startswith(".") and not path.startswith("search/")
    }


def _prints(root: Path) -> dict[str, str]:
    """The input fingerprint the manifest has for each page."""
    writer = SiteWriter(root)
    writer.abort()
    return {path: print_ for path, print_ in writer.old.items() if path.endswith(".html")}


def _toot(archive: Archive, path: str, days: int, text: str, **fields: Any) -> None:
    """A Mastodon post archived `days` after the sample's start."""
    when = T0 + timedelta(days=days)
    post = Post(
        platform="mastodon",
        native_id=MASTO + path,
        content_html=f"<p>{text}</p>",
        published_at=when,
        **fields,
    )
    store_posts(archive, [post], "mastodon", now=when)


def _new_toot(archive: Archive) -> None:
    """One more post of ours: every list's positions move."""
    _toot(archive, "/@novosyx/99", 20, "Brand new", kind="post", is_own=True, author=US_MASTO)


def _edit(archive: Archive) -> None:
    archive.conn.execute(
        "UPDATE posts SET content_text = 'Rewritten', content_html = '<p>Rewritten</p>', "
        "content_hash = 'x', last_seen_at = '2030-01-01T00:00:00+00:00' WHERE id = ?",
        (TOOT,),
    )


def _edit_blog_post(archive: Archive) -> None:
    """Another post's text: later changes elsewhere must keep its old words hidden."""
    archive.conn.execute(
        "UPDATE posts SET content_text = 'Vertrauen neu geschrieben', "
        "content_html = '<p>Vertrauen neu geschrieben</p>', content_hash = 'y', "
        "last_seen_at = '2030-01-02T00:00:00+00:00' WHERE id = ?",
        (P1,),
    )


def _known_tag(archive: Archive) -> None:
    """A tag another post has already: no new tag page, the lists' tokens change."""
    archive.conn.execute(
        "INSERT INTO post_tags (post_id, tag) SELECT ?, tag FROM post_tags "
        "WHERE post_id != ? AND post_id IN (SELECT id FROM posts WHERE is_own = 1) "
        "ORDER BY tag LIMIT 1",
        (TOOT, TOOT),
    )


def _reply_to_copy(archive: Archive) -> None:
    """A reply below our Mastodon copy of the blog post: the blog post's page and list
    entry show it (one conversation, one reply count)."""
    copy = MASTO + "/@novosyx/2"
    _toot(
        archive,
        "/@novosyx/2/late",
        9,
        "Late reply to the copy",
        kind="reply",
        is_own=False,
        author=FAN,
        in_reply_to=copy,
        thread_root=copy,
    )


KINDS = {
    **CHANGES,
    "edited": _edit,
    "new post of ours": _new_toot,
    "known tag": _known_tag,
    "reply to a copy": _reply_to_copy,
    "blog post edited": _edit_blog_post,
}


@pytest.fixture(params=[0, 1], ids=["alone", "with-a-helper"])
def helpers(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> int:
    """Exports alone, or with a forked helper taking chunks of two posts and list pages
    one by one (the entries and keys made while planning are inherited)."""
    from ownfeed.export import build, parallel

    monkeypatch.setattr(build, "CHUNK", 2)
    monkeypatch.setattr(build, "LIST_PAGES_PER_TASK", 1)
    monkeypatch.setattr(parallel, "MIN_CHUNKS", 1)
    monkeypatch.setattr(parallel, "helper_count", lambda: int(request.param))
    return int(request.param)


@pytest.mark.parametrize("name", sorted(KINDS))
def test_after_each_kind_of_change_the_site_equals_a_fresh_export(
    fresh: Sample, name: str, helpers: int
) -> None:
    output = fresh.root / "site"
    build_site(fresh.archive, fresh.config(output), fresh.media_dir)
    assert (output / changes.NAME).is_file()
    with fresh.archive.transaction():
        KINDS[name](fresh.archive)
    build_site(fresh.archive, fresh.config(output), fresh.media_dir)
    again = fresh.root / "again"
    build_site(fresh.archive, fresh.config(again), fresh.media_dir)
    assert _site(output) == _site(again), name
    assert _prints(output) == _prints(again), name
    assert search_rows(output) == search_rows(again), name


@pytest.mark.parametrize("first", ["edited", "new reply", "reply to a copy"])
def test_search_after_successive_changes_equals_a_fresh_export(fresh: Sample, first: str) -> None:
    """The second update carries the first one's delta rows along (documents it does not
    make again) and adds its own."""
    output = fresh.root / "site"
    build_site(fresh.archive, fresh.config(output), fresh.media_dir)
    words = _words(output)  # the texts before the edits too: hidden from results now
    for name in (first, "blog post edited", "new reply", "edited", "gone upstream"):
        with fresh.archive.transaction():
            KINDS[name](fresh.archive)
        build_site(fresh.archive, fresh.config(output), fresh.media_dir)
        again = fresh.root / f"again-{name}"
        build_site(fresh.archive, fresh.config(again), fresh.media_dir)
        assert search_rows(output) == search_rows(again), name
        assert _site(output) == _site(again), name
        words |= _words(again)
        for word in sorted(words):
            assert _found(output, word) == _found(again, word), (name, word)


def _words(root: Path) -> set[str]:
    """Words of every result row's title and excerpt (what a reader may search for)."""
    from ownfeed.export import search

    found: set[str] = set()
    for row in search_rows(root):
        _link, title, _day, excerpt, _platform = json.loads(row)
        found |= search.words(f"{title} {excerpt}")
    return found


def _found(root: Path, word: str) -> list[str]:
    """What search.js shows for a word (document numbers differ between exports)."""
    from tests.export.test_search import client_search

    return sorted(json.dumps(row) for row in client_search(root, word))


def test_the_search_update_makes_only_the_changed_threads_documents(
    fresh: Sample, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ownfeed.export import search

    made: list[int] = []
    original = search.documents

    def counting(model: Any, roots: Any = None) -> Any:
        docs = original(model, roots)
        made.append(len(docs))
        return docs

    monkeypatch.setattr(search, "documents", counting)
    output = fresh.root / "site"
    build_site(fresh.archive, fresh.config(output), fresh.media_dir)
    everything = made[-1]
    with fresh.archive.transaction():
        _edit(fresh.archive)
    build_site(fresh.archive, fresh.config(output), fresh.media_dir)
    assert made[-1] < everything
    assert any("Rewritten" in row for row in search_rows(output))


def test_only_pages_showing_a_changed_post_are_fingerprinted(
    fresh: Sample, fingerprinted: list[str]
) -> None:
    output = fresh.root / "site"
    build_site(fresh.archive, fresh.config(output), fresh.media_dir)
    everything = set(fingerprinted)
    fingerprinted.clear()
    with fresh.archive.transaction():
        _edit(fresh.archive)
    build_site(fresh.archive, fresh.config(output), fresh.media_dir)
    assert TOOT in fingerprinted
    assert len(everything) > 3 and set(fingerprinted) < everything


def test_a_missing_page_is_written_again_though_its_post_did_not_change(
    fresh: Sample,
) -> None:
    output = fresh.root / "site"
    build_site(fresh.archive, fresh.config(output), fresh.media_dir)
    with fresh.archive.transaction():
        _edit(fresh.archive)
    pages = sorted((output / "posts").glob("*.html"))
    victim = next(page for page in pages if TOOT not in page.name)
    victim.unlink()
    listed = sorted((output / "page").glob("*.html"))
    listed[-1].unlink()
    build_site(fresh.archive, fresh.config(output), fresh.media_dir)
    assert victim.is_file() and listed[-1].is_file()


@pytest.mark.parametrize("damage", ["missing", "garbage", "other format"])
def test_a_damaged_snapshot_means_every_page_is_checked(
    fresh: Sample, fingerprinted: list[str], damage: str
) -> None:
    output = fresh.root / "site"
    build_site(fresh.archive, fresh.config(output), fresh.media_dir)
    everything = set(fingerprinted)
    fingerprinted.clear()
    snapshot = output / changes.NAME
    if damage == "missing":
        snapshot.unlink()
    elif damage == "garbage":
        snapshot.write_bytes(b"\x00not marshal")
    else:
        import marshal

        snapshot.write_bytes(marshal.dumps((changes.FORMAT + 1, "x")))
    with fresh.archive.transaction():
        _edit(fresh.archive)
    build_site(fresh.archive, fresh.config(output), fresh.media_dir)
    assert set(fingerprinted) == everything
    again = fresh.root / "again"
    build_site(fresh.archive, fresh.config(again), fresh.media_dir)
    assert _site(output) == _site(again)
