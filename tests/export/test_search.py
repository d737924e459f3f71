"""The search index's delta: what an incremental export writes, read the way search.js does.

Why in Python: the Node and browser tests run search.js, but only where those are
installed; this reads the written files with the same lookup (words -> shards, base
minus `stale` plus delta, a row from an e-chunk when meta lists the document, else from
its base d-chunk), so the file structure is checked everywhere.
"""

from __future__ import annotations

import dataclasses
import json
import os
from bisect import bisect_left
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from ownfeed.archive import store_posts
from ownfeed.export import build_site, search
from ownfeed.export.writer import SiteWriter
from ownfeed.models import Post
from tests.export import (
    BLOG,
    MASTO,
    T0,
    US_BLOG,
    Sample,
    add_late_reply,
    build_archive,
    decode_numbers,
    pid,
    search_data,
)

GONE = pid("web", BLOG + "/2024/gone")
EDITED = pid("web", BLOG + "/2024/edited")
P1 = pid("web", BLOG + "/2024/vertrauen")
WELCOME = pid("mastodon", MASTO + "/@novosyx/1/reply")  # a fan's reply to our toot
TRUST = pid("mastodon", MASTO + "/@novosyx/2/reply")  # a fan's reply to our blog's copy
REWRITE = Post(
    platform="web",
    native_id=BLOG + "/2024/gone",
    url=BLOG + "/2024/gone",
    title="A post rewritten",
    content_html="<p>Back again, reworded entirely.</p>",
    author=US_BLOG,
    published_at=T0 - timedelta(days=70),
)


@pytest.fixture
def fresh(tmp_path: Path) -> Sample:
    return build_archive(tmp_path)


def client_search(root: Path, query: str) -> list[list[str]]:
    """The rows search.js would show for `query`, most recently archived first."""
    meta = search_data(root, "index")
    stale, rows = set(decode_numbers(meta["stale"])), decode_numbers(meta["rows"])
    result: set[int] | None = None
    for word in search.words(query):
        shard = search.shard_of(word, meta["shards"])
        found = {
            doc
            for term, posted in search_data(root, f"t{shard}").items()
            if term.startswith(word)
            for doc in decode_numbers(posted)
            if doc not in stale
        }
        if shard in meta["delta"]:
            for term, posted in search_data(root, f"u{shard}").items():
                if term.startswith(word):
                    found.update(decode_numbers(posted))
        result = found if result is None else result & found
    shown = []
    for doc in sorted(result or (), reverse=True):
        at = bisect_left(rows, doc)
        if at < len(rows) and rows[at] == doc:
            row = search_data(root, f"e{at // meta['chunk']}")[at % meta["chunk"]]
        elif doc in stale:
            continue
        else:
            row = search_data(root, f"d{doc // meta['chunk']}")[doc % meta["chunk"]]
        if row:
            shown.append(row)
    return shown


def _hrefs(root: Path, query: str) -> list[str]:
    return [row[0] for row in client_search(root, query)]


def _chunks(root: Path, prefix: str) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in (root / "search").glob(f"{prefix}*.js")}


def _number(root: Path, post: str) -> int:
    state = json.loads((root / search.STATE).read_text(encoding="utf-8"))
    return state["ids"].split("\n").index(post)


def test_an_edit_leaves_the_base_chunks_and_goes_to_a_delta_chunk(fresh: Sample) -> None:
    output = fresh.root / "site"
    config = fresh.config(output)
    build_site(fresh.archive, config, fresh.media_dir)
    base = _chunks(output, "d")
    assert base and not _chunks(output, "e")
    assert _hrefs(output, "still here") == [f"posts/{GONE}.html"]
    with fresh.archive.transaction():
        store_posts(fresh.archive, [REWRITE], "blog", now=T0 + timedelta(days=6))
    build_site(fresh.archive, config, fresh.media_dir)
    assert _chunks(output, "d") == base  # byte for byte: the base is kept
    meta = search_data(output, "index")
    number = _number(output, GONE)
    assert decode_numbers(meta["rows"]) == [number]
    assert number in decode_numbers(meta["stale"])
    (row,) = search_data(output, "e0")
    assert row[:2] == [f"posts/{GONE}.html", "A post rewritten"]
    assert "reworded" in row[3]
    assert client_search(output, "reworded") == [row]  # found through the delta
    assert _hrefs(output, "still here") == []  # the old words and row are stale
    assert _hrefs(output, "prices") == [f"posts/{EDITED}.html"]  # the base still answers

    build_site(fresh.archive, config, fresh.media_dir, full=True)
    assert not _chunks(output, "e") and not _chunks(output, "u")  # folded into the base
    assert search_data(output, "index")["rows"] == ""
    assert client_search(output, "reworded") == [row]


def _execute(fresh: Sample, statement: str, *params: object) -> None:
    with fresh.archive.transaction():
        fresh.archive.conn.execute(statement, params)


def test_a_moved_reply_shows_its_new_link_and_a_gone_one_none(fresh: Sample) -> None:
    output = fresh.root / "site"
    config = fresh.config(output)
    build_site(fresh.archive, config, fresh.media_dir)
    old = f"posts/{pid('mastodon', MASTO + '/@novosyx/1')}.html#p-{WELCOME}"
    assert _hrefs(output, "welcome") == [old]
    assert _hrefs(output, "great article") == [
        f"posts/{pid('mastodon', MASTO + '/@novosyx/2')}.html#p-{TRUST}"
    ]
    root = pid("mastodon", MASTO + "/@novosyx/1")
    _execute(fresh, "UPDATE posts SET thread_root = ? WHERE thread_root = ?", P1, root)
    _execute(
        fresh,
        "UPDATE posts SET thread_root = 'nowhere', in_reply_to = 'nowhere' WHERE id = ?",
        TRUST,
    )
    base = _chunks(output, "d")
    build_site(fresh.archive, config, fresh.media_dir)
    assert _chunks(output, "d") == base
    assert _hrefs(output, "welcome") == [f"posts/{P1}.html#p-{WELCOME}"]
    assert _hrefs(output, "great article") == []  # no page shows it any more
    assert _number(output, TRUST) in decode_numbers(search_data(output, "index")["stale"])


def test_unchanged_delta_chunks_stay_in_place(
    fresh: Sample, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(search, "DOCS_PER_CHUNK", 2)
    output = fresh.root / "site"
    config = fresh.config(output)
    build_site(fresh.archive, config, fresh.media_dir)
    edits = [
        REWRITE,
        Post(
            platform="web",
            native_id=BLOG + "/2024/edited",
            url=BLOG + "/2024/edited",
            title="Our new pricing",
            content_html="<p>Prices go down by 3 %.</p>",
            author=US_BLOG,
            published_at=T0 - timedelta(days=40),
        ),
    ]
    with fresh.archive.transaction():
        store_posts(fresh.archive, edits, "blog", now=T0 + timedelta(days=6))
    build_site(fresh.archive, config, fresh.media_dir)
    assert set(_chunks(output, "e")) == {"e0.js"}
    first = os.stat(output / "search" / "e0.js")
    with fresh.archive.transaction():
        add_late_reply(fresh.archive, "<p>Latecomer says hello</p>")
    build_site(fresh.archive, config, fresh.media_dir)
    assert set(_chunks(output, "e")) == {"e0.js", "e1.js"}
    again = os.stat(output / "search" / "e0.js")
    assert (again.st_ino, again.st_mtime_ns) == (first.st_ino, first.st_mtime_ns)
    assert len(client_search(output, "latecomer")) == 1
    assert len(client_search(output, "reworded")) == 1
    assert _hrefs(output, "prices down") == [f"posts/{EDITED}.html"]


def _load(root: Path, state: search.State) -> search.State | None:
    """`state` written and read back the way an export does it."""
    (root / search.STATE).write_text(state.dump(), encoding="utf-8")
    writer = SiteWriter(root)
    writer.old[search.STATE] = "state"
    writer.abort()
    return search.State.load(writer)


def test_the_state_round_trips_as_lines(tmp_path: Path) -> None:
    state = search.State(64, {"a": 0, "b-1": 1, "c_2": 2}, {"a": "d0", "c_2": "d2"}, 3)
    data = json.loads(state.dump())
    assert data["ids"] == "a\nb-1\nc_2\n" and data["digests"] == "d0\n\nd2\n"
    assert _load(tmp_path, state) == state
    assert _load(tmp_path, search.State(16)) == search.State(16)


def test_a_loaded_state_dumps_as_made_anew(tmp_path: Path) -> None:
    """`dump` of a loaded state appends the documents numbered since to the loaded lines
    (no line made again): the same text as a state made from scratch; with none numbered,
    the file is kept."""
    state = search.State(64, {"a": 0, "b-1": 1, "c_2": 2}, {"a": "d0", "c_2": "d2"}, 3)
    loaded = _load(tmp_path, state)
    assert loaded is not None and loaded.unchanged() and loaded.dump() == state.dump()
    for doc in ["new", "b-1", "other"]:
        assert loaded.number(doc) == state.number(doc)
    assert not loaded.unchanged() and loaded.dump() == state.dump()
    assert json.loads(loaded.dump())["ids"] == "a\nb-1\nc_2\nnew\nother\n"
    odd = _load(tmp_path, state)
    assert odd is not None
    odd.number("with\nnewline")
    assert odd.dump() == dataclasses.replace(odd, loaded=None).dump()
    assert "numbers" in json.loads(odd.dump())


@pytest.mark.parametrize(
    "state",
    [
        search.State(16, {"b": 1, "a": 0}, {"a": "x", "b": "y"}, 2),  # not in number order
        search.State(16, {"a": 0, "b": 2}, {"a": "x"}, 3),  # a gap
        search.State(16, {"a": 0, "b": 1}, {"a": "", "b": "y"}, 2),  # an empty digest
        search.State(16, {"a": 0, "b": 1}, {"a": "x\ny"}, 2),  # a newline
        search.State(16, {"a": 0}, {"a": "x", "gone": "y"}, 1),  # indexed, not numbered
    ],
)
def test_a_state_the_lines_do_not_fit_round_trips_as_objects(
    tmp_path: Path, state: search.State
) -> None:
    assert "numbers" in json.loads(state.dump())
    assert _load(tmp_path, state) == state


def _old_layout(path: Path) -> None:
    """The state as format 3 wrote it before it had a layout: two objects."""
    data = json.loads(path.read_text(encoding="utf-8"))
    ids, digests = data["ids"].split("\n")[:-1], data["digests"].split("\n")[:-1]
    numbers = {pid: n for n, pid in enumerate(ids)}
    indexed = {pid: digest for pid, digest in zip(ids, digests, strict=True) if digest}
    old = {"format": search.FORMAT, "shards": data["shards"], "numbers": numbers}
    path.write_text(json.dumps({**old, "indexed": indexed}), encoding="utf-8")


def _truncated(path: Path) -> None:
    path.write_bytes(path.read_bytes()[:-20])


def _a_line_short(path: Path) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    data["digests"] = data["digests"].split("\n", 1)[1]
    path.write_text(json.dumps(data), encoding="utf-8")


def _unterminated(path: Path) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    data["ids"] = data["ids"][:-1]
    path.write_text(json.dumps(data), encoding="utf-8")


@pytest.mark.parametrize("damage", [_old_layout, _truncated, _a_line_short, _unterminated])
def test_an_old_or_damaged_state_means_a_full_build(fresh: Sample, damage: Any) -> None:
    output = fresh.root / "site"
    config = fresh.config(output)
    build_site(fresh.archive, config, fresh.media_dir)
    damage(output / search.STATE)
    with fresh.archive.transaction():
        store_posts(fresh.archive, [REWRITE], "blog", now=T0 + timedelta(days=6))
    build_site(fresh.archive, config, fresh.media_dir)
    assert not _chunks(output, "e") and search_data(output, "index")["rows"] == ""  # no delta
    assert _hrefs(output, "reworded") == [f"posts/{GONE}.html"]
    assert _hrefs(output, "still here") == []
    assert json.loads((output / search.STATE).read_text(encoding="utf-8"))["layout"] == 2
