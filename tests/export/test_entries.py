"""The list entry store (`.ownfeed-entries`): entries of the last export, read back.

Why these tests: a stored entry goes into list pages as it is, so a store that is
missing, damaged, of another format or made with other templates or settings must never
put a wrong entry on a page: the site must always equal a fresh export of the archive.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from ownfeed.export import build_site, entries
from tests.export import Sample, add_late_reply, build_archive


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
    "older format": _rewrite(b"OFENTRY1", b"OFENTRY0"),
    "index damaged": _rewrite(b"\t", b" "),
}


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


def test_a_compacted_store_keeps_every_live_entry(
    fresh: Sample, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(entries, "_SLACK", -(1 << 30))  # compact on every export
    output = fresh.root / "site"
    build_site(fresh.archive, fresh.config(output), fresh.media_dir)
    with fresh.archive.transaction():
        add_late_reply(fresh.archive)
    build_site(fresh.archive, fresh.config(output), fresh.media_dir)
    before = (output / entries.NAME).stat().st_size
    build_site(fresh.archive, fresh.config(output, title="Other"), fresh.media_dir)
    assert _site(output) == _fresh_export(fresh, title="Other")
    assert (output / entries.NAME).stat().st_size <= before * 2


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
