"""The list entry store (`.ownfeed-entries`): entries of the last export, read back.

Why these tests: a stored entry goes into list pages as it is, so a store that is
missing, damaged, of another format or made with other templates or settings must never
put a wrong entry on a page: the site must always equal a fresh export of the archive.
"""

from __future__ import annotations

import os
import shutil
import struct
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ownfeed.export import build_site, entries
from ownfeed.export.lists import ListWriter
from ownfeed.export.writer import SiteWriter, fingerprint
from tests.export import Sample, add_late_reply, build_archive
from tests.export.test_incremental import TOOT


@pytest.fixture
def fresh(tmp_path: Path) -> Sample:
    return build_archive(tmp_path)


def _site(root: Path) -> dict[str, bytes]:
    """Every page, feed and asset (state files and the segmented search index left out)."""
    return {
        path.relative_to(root).as_posix(): path.read_bytes()
        for path in root.rglob("*")
        if path.is_file()
        and not path.name.startswith(".ownfeed")
        and path.relative_to(root).parts[0] != "search"
    }


def _fresh_export(sample: Sample, **changes: object) -> dict[str, bytes]:
    output = sample.root / "fresh"
    shutil.rmtree(output, ignore_errors=True)
    build_site(sample.archive, sample.config(output, **changes), sample.media_dir)
    return _site(output)


def _rewrite(find: bytes, replace: bytes) -> Callable[[Path], None]:
    def damage(path: Path) -> None:
        data = path.read_bytes()
        assert find in data
        path.write_bytes(data.replace(find, replace))

    return damage


DAMAGE: dict[str, Callable[[Path], None]] = {
    "fragment bytes": _rewrite(b"h-entry", b"h-ENTRY"),  # same length: only a CRC sees it
    "truncated": lambda path: path.write_bytes(path.read_bytes()[: path.stat().st_size // 2]),
    "garbage": lambda path: path.write_bytes(b"not an entry store"),
    "empty": lambda path: path.write_bytes(b""),
    "missing": lambda path: path.unlink(),
    "older format": _rewrite(entries._MAGIC, b"OFENTRY1"),
    "index ids damaged": lambda path: _flip(path, ids=True),
    "index numbers damaged": lambda path: _flip(path, ids=False),
}


def _flip(path: Path, *, ids: bool) -> None:
    """Change one byte of the index: in a post id, or in the numbers (the last row's)."""
    data = bytearray(path.read_bytes())
    start, ids_size = entries._TRAILER.unpack(data[-entries._TRAILER.size :])[1:3]
    data[start + ids_size - 2 if ids else -entries._TRAILER.size - 5] ^= 0x20
    path.write_bytes(bytes(data))


def test_entries_are_stored_and_reused(fresh: Sample) -> None:
    output = fresh.root / "site"
    build_site(fresh.archive, fresh.config(output), fresh.media_dir)
    store = output / entries.NAME
    assert store.is_file() and b"h-entry" in store.read_bytes()
    with fresh.archive.transaction():
        add_late_reply(fresh.archive)  # one more reply: that post's entry changes, no other
    build_site(fresh.archive, fresh.config(output), fresh.media_dir)
    assert _site(output) == _fresh_export(fresh)


@pytest.mark.parametrize("name", sorted(DAMAGE))
def test_a_damaged_store_never_reaches_a_page(fresh: Sample, name: str) -> None:
    output = fresh.root / "site"
    build_site(fresh.archive, fresh.config(output), fresh.media_dir)
    DAMAGE[name](output / entries.NAME)
    with fresh.archive.transaction():
        add_late_reply(fresh.archive)
    build_site(fresh.archive, fresh.config(output), fresh.media_dir)
    assert _site(output) == _fresh_export(fresh)
    build_site(fresh.archive, fresh.config(output, title="Again"), fresh.media_dir)
    assert _site(output) == _fresh_export(fresh, title="Again")  # and the new store is sound


def test_entries_of_other_settings_are_not_used(fresh: Sample) -> None:
    output = fresh.root / "site"
    build_site(fresh.archive, fresh.config(output, language="de"), fresh.media_dir)
    with fresh.archive.transaction():
        add_late_reply(fresh.archive)
    build_site(fresh.archive, fresh.config(output, language="fr"), fresh.media_dir)
    assert _site(output) == _fresh_export(fresh, language="fr")


def test_a_theme_entry_template_is_used_for_every_entry(fresh: Sample) -> None:
    output = fresh.root / "site"
    build_site(fresh.archive, fresh.config(output), fresh.media_dir)
    theme = fresh.root / "theme"
    theme.mkdir()
    (theme / "list_item.html").write_text(
        '<div class="themed">{% include "default/list_item.html" %}</div>', encoding="utf-8"
    )
    with fresh.archive.transaction():
        add_late_reply(fresh.archive)
    build_site(fresh.archive, fresh.config(output, theme=theme), fresh.media_dir)
    pages = _site(output)
    assert pages == _fresh_export(fresh, theme=theme)
    assert b'class="themed"' in pages["sources/mastodon.html"]


def test_a_theme_list_page_gets_whole_entries_and_no_store(fresh: Sample) -> None:
    theme = fresh.root / "theme"
    theme.mkdir()
    (theme / "list.html").write_text(
        "{% for item in items %}{{ item.post.id }} {{ item.replies }}\n{% endfor %}",
        encoding="utf-8",
    )
    output = fresh.root / "site"
    build_site(fresh.archive, fresh.config(output, theme=theme), fresh.media_dir)
    assert not (output / entries.NAME).exists()
    assert _site(output) == _fresh_export(fresh, theme=theme)


BASES = {  # (_DELTA, _SLACK): how the store splits its fragments between its two files
    "one file": (entries._DELTA, entries._SLACK),
    "a base kept": (0, entries._SLACK),  # the first export's file becomes the base
    "a new base each time": (0, -(1 << 30)),  # live fragments copied to a new base
}


@pytest.fixture(params=sorted(BASES))
def bases(monkeypatch: pytest.MonkeyPatch, request: pytest.FixtureRequest) -> str:
    delta, slack = BASES[request.param]
    monkeypatch.setattr(entries, "_DELTA", delta)
    monkeypatch.setattr(entries, "_SLACK", slack)
    return str(request.param)


def test_a_rebased_store_keeps_every_live_entry(fresh: Sample, bases: str) -> None:
    output = fresh.root / "site"
    build_site(fresh.archive, fresh.config(output), fresh.media_dir)
    assert (output / entries.BASE).exists() == (bases != "one file")
    with fresh.archive.transaction():
        add_late_reply(fresh.archive)
    build_site(fresh.archive, fresh.config(output), fresh.media_dir)
    assert _site(output) == _fresh_export(fresh)
    build_site(fresh.archive, fresh.config(output, title="Other"), fresh.media_dir)
    assert _site(output) == _fresh_export(fresh, title="Other")


@pytest.mark.parametrize("name", ["fragment bytes", "truncated", "garbage", "missing"])
def test_a_damaged_base_never_reaches_a_page(
    fresh: Sample, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    monkeypatch.setattr(entries, "_DELTA", 0)
    output = fresh.root / "site"
    build_site(fresh.archive, fresh.config(output), fresh.media_dir)
    DAMAGE[name](output / entries.BASE)
    with fresh.archive.transaction():
        add_late_reply(fresh.archive)
    build_site(fresh.archive, fresh.config(output), fresh.media_dir)
    assert _site(output) == _fresh_export(fresh)


@pytest.mark.parametrize("answer", [True, False])
def test_a_wrong_hint_of_the_index_never_reaches_a_page(
    fresh: Sample, monkeypatch: pytest.MonkeyPatch, answer: bool
) -> None:
    """`has()` answers from the index (a key CRC): claiming an entry that is not there, or
    denying one that is, costs renders, never a wrong page."""
    output = fresh.root / "site"
    build_site(fresh.archive, fresh.config(output), fresh.media_dir)
    monkeypatch.setattr(entries.EntryStore, "has", lambda self, post_id, key: answer)
    with fresh.archive.transaction():
        add_late_reply(fresh.archive)
    build_site(fresh.archive, fresh.config(output), fresh.media_dir)
    monkeypatch.undo()
    assert _site(output) == _fresh_export(fresh)
    build_site(fresh.archive, fresh.config(output, title="Again"), fresh.media_dir)
    assert _site(output) == _fresh_export(fresh, title="Again")


def test_only_changed_entries_are_rendered(fresh: Sample, monkeypatch: pytest.MonkeyPatch) -> None:
    output = fresh.root / "site"
    build_site(fresh.archive, fresh.config(output), fresh.media_dir)
    added: list[str] = []
    add = entries.EntryStore.add

    def counting(self: entries.EntryStore, post_id: str, key: str, html: str) -> None:
        added.append(post_id)
        add(self, post_id, key, html)

    monkeypatch.setattr(entries.EntryStore, "add", counting)
    with fresh.archive.transaction():
        add_late_reply(fresh.archive)
    build_site(fresh.archive, fresh.config(output), fresh.media_dir)
    assert len(added) == len(set(added)) == 1  # the post that got a reply, once
    assert _site(output) == _fresh_export(fresh)


def _swapped_pages(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Paths of the list pages `ListWriter` writes by swapping entries (`_spliced`)."""
    swapped: list[str] = []
    splice = ListWriter._spliced

    def counting(self: ListWriter, *args: Any) -> tuple[str, str] | None:
        found = splice(self, *args)
        if found is not None:
            swapped.append(found[0])
        return found

    monkeypatch.setattr(ListWriter, "_spliced", counting)
    return swapped


def test_pages_of_a_small_change_swap_the_changed_entries(
    fresh: Sample, monkeypatch: pytest.MonkeyPatch
) -> None:
    output = fresh.root / "site"
    build_site(fresh.archive, fresh.config(output), fresh.media_dir)
    swapped = _swapped_pages(monkeypatch)
    with fresh.archive.transaction():
        add_late_reply(fresh.archive)
    build_site(fresh.archive, fresh.config(output), fresh.media_dir)
    assert "sources/mastodon.html" in swapped
    assert _site(output) == _fresh_export(fresh)


PAGE_DAMAGE: dict[str, Callable[[bytes], bytes]] = {
    "entry changed": lambda page: page.replace(f"posts/{TOOT}.html".encode(), b"posts/x.html"),
    "entry twice": lambda page: page + page,
    "not UTF-8": lambda page: page + b"\xff",
    "missing": lambda page: b"",
}


@pytest.mark.parametrize("name", sorted(PAGE_DAMAGE))
def test_a_page_without_its_old_entry_is_rendered(
    fresh: Sample, monkeypatch: pytest.MonkeyPatch, name: str
) -> None:
    """Entries are swapped only where the last export's entry is found exactly once."""
    output = fresh.root / "site"
    build_site(fresh.archive, fresh.config(output), fresh.media_dir)
    page = output / "sources" / "mastodon.html"
    damaged = PAGE_DAMAGE[name](page.read_bytes())
    if damaged:
        page.write_bytes(damaged)
    else:
        page.unlink()
    swapped = _swapped_pages(monkeypatch)
    with fresh.archive.transaction():
        add_late_reply(fresh.archive)
    build_site(fresh.archive, fresh.config(output), fresh.media_dir)
    assert "sources/mastodon.html" not in swapped
    assert _site(output) == _fresh_export(fresh)


# -- the store alone ---------------------------------------------------------------------


def _export(root: Path, posts: list[str], add: dict[str, str]) -> entries.EntryStore:
    """One export of the store alone: these entries added, the rest kept, committed."""
    writer = SiteWriter(root)
    store = entries.EntryStore(writer, "salt")
    for pid, html in add.items():
        store.add(pid, store.key(html), html)
    store.finish(posts)
    writer.commit()
    return entries.EntryStore(SiteWriter(root), "salt")  # the next export's view


def _stored(store: entries.EntryStore, posts: list[str], htmls: list[str]) -> list[str | None]:
    keys = [store.key(html) for html in htmls]
    one_by_one = [store.get(pid, key) for pid, key in zip(posts, keys, strict=True)]
    assert store.get_page(posts, keys) == one_by_one  # a page's entries in one call
    return [
        found if store.has(pid, key) else None
        for pid, key, found in zip(posts, keys, one_by_one, strict=True)
    ]


def test_a_key_is_the_fingerprint_of_salt_and_token(tmp_path: Path) -> None:
    """`key()` hashes the salt once; the keys are those of `fingerprint` (stores stay
    readable across versions)."""
    store = entries.EntryStore(SiteWriter(tmp_path), "salt")
    for token in ["p1:abc:0", "", "ü\x1f\ud800", "x" * 300]:
        assert store.key(token) == fingerprint(store.salt, token)
    store.close()


def test_a_page_read_checks_each_entry(tmp_path: Path, bases: str) -> None:
    """`get_page` gives what `get` gives for each entry: stored, added since, missing, of
    another key, damaged."""
    posts = ["a", "b", "c", "d"]
    _export(tmp_path, posts, {p: f"<li>{p}</li>" for p in posts}).close()
    for path in (tmp_path / entries.NAME, tmp_path / entries.BASE):  # wherever it is
        if path.exists() and b"<li>d</li>" in path.read_bytes():
            _rewrite(b"<li>d</li>", b"<li>D</li>")(path)
    writer = SiteWriter(tmp_path)
    store = entries.EntryStore(writer, "salt")
    store.add("b", store.key("<li>B</li>"), "<li>B</li>")
    ids = ["a", "b", "c", "d", "e"]
    htmls = ["<li>a</li>", "<li>B</li>", "<li>other</li>", "<li>d</li>", "<li>e</li>"]
    found = store.get_page(ids, [store.key(html) for html in htmls])
    assert found == ["<li>a</li>", "<li>B</li>", None, None, None]
    assert found == [store.get(pid, store.key(h)) for pid, h in zip(ids, htmls, strict=True)]
    store.close()
    writer.abort()


def test_the_store_keeps_entries_and_takes_changed_ones(tmp_path: Path, bases: str) -> None:
    posts = [f"p{n}" for n in range(50)]
    store = _export(tmp_path, posts, {pid: f"<li>{pid} ü</li>" for pid in posts})
    assert _stored(store, posts, [f"<li>{pid} ü</li>" for pid in posts]) == [
        f"<li>{pid} ü</li>" for pid in posts
    ]
    store.close()
    # a changed entry, a new post first, a post gone: the rows are picked one by one
    posts = ["new", *posts[:10], *posts[11:]]
    store = _export(tmp_path, posts, {"p3": "<li>changed</li>", "new": "<li>new</li>"})
    htmls = ["<li>new</li>", *(f"<li>{pid} ü</li>" for pid in posts[1:])]
    htmls[posts.index("p3")] = "<li>changed</li>"
    assert _stored(store, posts, htmls) == htmls
    assert store.get("p10", store.key("<li>p10 ü</li>")) is None
    assert store.get("p3", store.key("<li>p3 ü</li>")) is None  # the old key is gone
    store.close()


def test_a_failed_export_keeps_the_old_store(tmp_path: Path, bases: str) -> None:
    posts = ["a", "b"]
    _export(tmp_path, posts, {"a": "<li>a</li>", "b": "<li>b</li>"}).close()
    writer = SiteWriter(tmp_path)
    store = entries.EntryStore(writer, "salt")
    store.add("a", store.key("<li>A</li>"), "<li>A</li>")
    store.finish(posts)
    writer.abort()  # the export failed after the store was staged
    store = entries.EntryStore(SiteWriter(tmp_path), "salt")
    assert _stored(store, posts, ["<li>a</li>", "<li>b</li>"]) == ["<li>a</li>", "<li>b</li>"]
    store.close()


def test_an_older_format_means_entries_are_rendered_again(tmp_path: Path) -> None:
    """A format-2 file (a tab-separated line per post) is not read: no entry comes back."""
    _export(tmp_path, ["a"], {"a": "<li>a</li>"}).close()
    key = fingerprint(fingerprint("entries", 2, "salt", entries.ROOT), "<li>a</li>")
    data = (key + "<li>a</li>").encode()
    salt = fingerprint("entries", 2, "salt", entries.ROOT)
    index = f"{salt}\na\t0\t{len(data)}\t{zlib.crc32(data)}\t{zlib.crc32(key.encode())}"
    old = data + index.encode() + struct.pack("<8sQQ", b"OFENTRY1", len(data), len(index))
    (tmp_path / entries.NAME).write_bytes(old)
    store = entries.EntryStore(SiteWriter(tmp_path), "salt")
    assert not store.has("a", store.key("<li>a</li>"))
    assert store.get("a", store.key("<li>a</li>")) is None
    store.close()


def test_helpers_read_entries_the_main_process_added(tmp_path: Path, bases: str) -> None:
    """A forked helper reads old entries, and those added before and after the fork."""
    _export(tmp_path, ["a", "b", "c"], {p: f"<li>{p}</li>" for p in "abc"}).close()
    writer = SiteWriter(tmp_path)
    store = entries.EntryStore(writer, "salt")
    store.add("b", store.key("<li>B</li>"), "<li>B</li>")
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the helper
        try:
            os.close(write)
            store.for_helper()
            store.take_added(os.read(read, 4096).decode())
            store.add("a", store.key("<li>X</li>"), "<li>X</li>")  # helpers add nothing
            found = _stored(store, ["a", "b", "c"], ["<li>a</li>", "<li>B</li>", "<li>C</li>"])
            os._exit(0 if found == ["<li>a</li>", "<li>B</li>", "<li>C</li>"] else 1)
        finally:
            os._exit(2)
    os.close(read)
    store.add("c", store.key("<li>C</li>"), "<li>C</li>")  # after the fork
    added = store.added()
    assert added is not None
    os.write(write, added.encode())
    os.close(write)
    assert os.waitpid(pid, 0)[1] == 0
    store.finish(["a", "b", "c"])
    writer.commit()
    store = entries.EntryStore(SiteWriter(tmp_path), "salt")
    assert _stored(store, ["a", "b", "c"], ["<li>a</li>", "<li>B</li>", "<li>C</li>"]) == [
        "<li>a</li>",
        "<li>B</li>",
        "<li>C</li>",
    ]
    store.close()


def test_an_index_uses_only_its_own_base(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """A commit cut short between the two files (a new base, the old index) loses the
    entries, never mixes them up."""
    monkeypatch.setattr(entries, "_DELTA", 0)
    _export(tmp_path, ["a"], {"a": "<li>a</li>"}).close()
    old_index = (tmp_path / entries.NAME).read_bytes()
    monkeypatch.setattr(entries, "_SLACK", -(1 << 30))  # a new base
    store = _export(tmp_path, ["a"], {"a": "<li>b</li>"})
    assert store.get("a", store.key("<li>b</li>")) == "<li>b</li>"
    store.close()
    (tmp_path / entries.NAME).write_bytes(old_index)
    store = entries.EntryStore(SiteWriter(tmp_path), "salt")
    assert not store.has("a", store.key("<li>a</li>"))
    assert store.get("a", store.key("<li>a</li>")) is None
    store.close()


def test_a_small_change_copies_no_base(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The base stays in place (the same file) while the entries added since are few."""
    monkeypatch.setattr(entries, "_DELTA", 1000)
    posts = [f"p{n}" for n in range(100)]
    _export(tmp_path, posts, {pid: f"<li>{pid}</li>" for pid in posts}).close()
    base = (tmp_path / entries.BASE).stat()
    store = _export(tmp_path, posts, {"p1": "<li>new</li>"})
    assert (tmp_path / entries.BASE).stat().st_ino == base.st_ino
    htmls = [f"<li>{pid}</li>" for pid in posts]
    htmls[1] = "<li>new</li>"
    assert _stored(store, posts, htmls) == htmls
    store.close()
