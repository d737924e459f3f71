"""The client-side search index: word shards and document chunks as small script files.

Why script files and not JSON: a `<script src>` loads on any static host and, unlike
fetch(), mostly also from `file://`. Why shards: a query loads only the shards of its words
(by their first two letters) and the titles of the posts it shows, not the whole index.

Why two segments: tokenizing every post again for one edit would make a small re-export
as slow as a full one. The base segment (`search/t<N>.js` word shards, `search/d<N>.js`
document chunks: row n of chunk N is document N * DOCS_PER_CHUNK + n) indexes every post
as it was at the last full build. The delta segment indexes what is new or changed since:
`search/u<N>.js` (only shards with words) and `search/e<K>.js`, the rows of the delta's
documents in number order. `index.js` lists those numbers (`rows`), so a document's row is
at its position in that list when it is there, else in the base chunk; and `stale` lists
the base documents to ignore (changed or gone). Why delta chunks: patching the base chunks
touched nearly all of them for a 1 % edit (read, decode, write ~200 files of 100,000
posts); now an incremental export keeps every base file and writes a few small ones.
When the delta grows past a tenth of the index (or on `--full`), the base is rebuilt and
the delta files disappear. `.ownfeed-search.json` remembers what the base holds.
Documents are numbered in archive order, so new posts append; results are listed most
recently archived first.
"""

from __future__ import annotations

import hashlib
import json
import operator
import re
import unicodedata
import zlib
from array import array
from collections.abc import Iterable
from dataclasses import dataclass, field
from functools import cache
from itertools import accumulate, chain, compress, islice
from typing import NamedTuple

from ownfeed.archive import site
from ownfeed.archive.db import Archive
from ownfeed.export import urls
from ownfeed.export.changes import Changed
from ownfeed.export.model import SiteModel
from ownfeed.export.views import platform_name
from ownfeed.export.writer import SiteWriter, fingerprint, join_lines, split_lines

FORMAT = 3
DOCS_PER_CHUNK = 500
MIN_WORD, MAX_WORD = 2, 32
INDEX = "search/index.js"
STATE = ".ownfeed-search.json"
STATE_LAYOUT = 2  # the state file's own version (FORMAT is also the index's, for search.js)
_WORD_RE = re.compile(r"[^\W_]+")


@cache
def _marks() -> dict[int, None]:
    """Combining marks (BMP), removed when folding accents away."""
    return {cp: None for cp in range(0x300, 0x10000) if unicodedata.category(chr(cp))[0] == "M"}


@cache
def _fold(word: str) -> str:
    return unicodedata.normalize("NFKD", word).translate(_marks())[:MAX_WORD]


def words(text: str) -> set[str]:
    """The distinct search words of a text, folded like search.js does it."""
    if text.isascii():
        found = set(_WORD_RE.findall(text.lower()))
        return {w if len(w) <= MAX_WORD else w[:MAX_WORD] for w in found if len(w) >= MIN_WORD}
    found = set(_WORD_RE.findall(unicodedata.normalize("NFC", text).lower()))
    return {f for f in map(_fold, found) if len(f) >= MIN_WORD}


def shard_count(docs: int) -> int:
    """Few shards for small sites, more for large ones; changes rarely (keeps files stable)."""
    shards = 16
    while docs > shards * 500 and shards < 1024:
        shards *= 4
    return shards


def shard_of(word: str, shards: int) -> int:
    return (ord(word[0]) * 31 + ord(word[1])) % shards


def encode(postings: Iterable[int]) -> str:
    """Ascending doc numbers as decimal deltas joined by commas (compact, easy to decode)."""
    numbers = list(postings)
    return ",".join(map(str, map(operator.sub, numbers, chain((0,), numbers))))


class Doc(NamedTuple):
    """A tuple: an export makes one per searchable post (~100,000), and a frozen
    dataclass took three times as long to make."""

    href: str  # relative to the site root, where search.html is
    digest: str  # changes when what the index holds of the post may have changed


def documents(model: SiteModel, roots: Iterable[str] | None = None) -> dict[str, Doc]:
    """Every post a page shows in full: ours, and the replies in their conversations.

    The href's CRC is part of the digest: a post that moves to another page is indexed
    again. Written out for speed: this runs for every post of every export that changed.
    `roots`: only the documents of these threads.
    """
    docs: dict[str, Doc] = {}
    by_id, digests, crc32 = model.by_id, model.digest, zlib.crc32
    threads: Iterable[tuple[str, list[str]]] = model.members.items()
    if roots is not None:  # only these threads
        threads = [(root, model.members[root]) for root in roots if root in model.members]
    for root, ids in threads:
        page = model.conversation_page(root)
        shared = f"{urls.post_page(page)}#p-" if page is not None else None
        for pid in ids:
            if pid in by_id:
                href = urls.post_page(pid)
            elif shared is not None:
                href = shared + pid
            else:
                continue
            docs[pid] = Doc(href, f"{digests.get(pid, '')}{crc32(href.encode()):08x}")
    return docs


@dataclass
class State:
    """What the base segment holds: document numbers, and each base document's digest."""

    shards: int
    numbers: dict[str, int] = field(default_factory=dict)
    indexed: dict[str, str] = field(default_factory=dict)
    count: int = 0  # the next free document number
    # As loaded (`load`): the file's two strings of lines, how many ids and digests.
    loaded: tuple[str, str, int, int] | None = field(default=None, compare=False, repr=False)

    def number(self, pid: str) -> int:
        found = self.numbers.get(pid)
        if found is None:
            found = self.numbers[pid] = self.count
            self.count += 1
        return found

    @property
    def base_chunks(self) -> int:
        """The base's document chunks: a full build numbers every document it indexes."""
        return (len(self.indexed) + DOCS_PER_CHUNK - 1) // DOCS_PER_CHUNK

    def dump(self) -> str:
        """The ids in number order and their digests ("" when not in the base) as two
        strings of lines: ~5x faster to write and read than two JSON objects of 100,000
        keys each. Objects only when that does not fit (never seen: numbers are given out
        in order, and digests are neither empty nor hold a newline)."""
        data: dict[str, object] = {"format": FORMAT, "layout": STATE_LAYOUT}
        data["shards"] = self.shards
        appended = self._appended()
        if appended is not None:
            data.update(ids=appended[0], digests=appended[1])
            return json.dumps(data, separators=(",", ":")) + "\n"
        ids = list(self.numbers)
        digests = list(map(self.indexed.get, ids, [""] * len(ids)))
        lines, values = join_lines(ids), join_lines(digests)
        if (
            lines is not None
            and values is not None
            and list(self.numbers.values()) == list(range(len(ids)))
            and len(ids) - digests.count("") == len(self.indexed)
        ):
            data.update(ids=lines, digests=values)
        else:
            data.update(numbers=self.numbers, indexed=self.indexed)
        return json.dumps(data, separators=(",", ":")) + "\n"

    def unchanged(self) -> bool:
        """Whether the state is the one loaded (an incremental export numbered no new
        document): then its file stays as it is."""
        loaded = self.loaded
        return loaded is not None and self.count == loaded[2] and self._appended() is not None

    def _appended(self) -> tuple[str, str] | None:
        """`dump`'s two strings of lines for a loaded state that only numbered new
        documents since (an incremental export): the loaded ones with the new ids and
        empty digests after them, instead of every line made again. None otherwise."""
        if self.loaded is None:
            return None
        ids, digests, count, indexed = self.loaded
        if len(self.numbers) != self.count or self.count < count or len(self.indexed) != indexed:
            return None  # numbered other than one by one (`number`), or a base changed
        added = list(islice(self.numbers, count, None))  # numbers count, count + 1, ...
        lines = join_lines(added)
        return None if lines is None else (ids + lines, digests + "\n" * len(added))

    @classmethod
    def load(cls, writer: SiteWriter) -> State | None:
        """None (a full build) when the state is missing, of another layout, or damaged."""
        if STATE not in writer.old:
            return None
        try:
            data = json.loads((writer.output / STATE).read_bytes())
            if data.get("format") != FORMAT or data.get("layout") != STATE_LAYOUT:
                return None
            if "ids" in data:
                ids, digests = split_lines(data["ids"]), split_lines(data["digests"])
                numbers = dict(zip(ids, range(len(ids)), strict=True))
                if len(numbers) != len(ids) or len(digests) != len(ids):
                    return None
                indexed = dict(compress(zip(ids, digests, strict=True), digests))  # C loops
                loaded = (data["ids"], data["digests"], len(ids), len(indexed))
                return cls(int(data["shards"]), numbers, indexed, len(ids), loaded)
            numbers = {str(k): int(v) for k, v in data["numbers"].items()}
            indexed = {str(k): str(v) for k, v in data["indexed"].items()}
            count = max(numbers.values(), default=-1) + 1
            return cls(int(data["shards"]), numbers, indexed, count)
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return None


class SearchIndex:
    """Builds the files of one export's search index."""

    def __init__(
        self, writer: SiteWriter, archive: Archive, docs: dict[str, Doc], print_: str
    ) -> None:
        self.writer = writer
        self.archive = archive
        self.docs = docs
        self.print_ = print_

    def full(self) -> None:
        """Index every document; one pass over the texts, chunks written as they fill."""
        state = State(shard_count(len(self.docs)))
        postings: dict[str, array[int]] = {}
        chunk: list[list[str]] = []
        for row in site.search_texts(self.archive, self.docs.keys()):
            number = state.number(row[0])
            _add(postings, words(f"{row[1]} {row[2]}"), number)
            chunk.append(self._row(*row))
            if len(chunk) == DOCS_PER_CHUNK:
                self._write_chunk(f"d{number // DOCS_PER_CHUNK}", chunk)
                chunk = []
        if chunk:
            self._write_chunk(f"d{state.count // DOCS_PER_CHUNK}", chunk)
        state.indexed = {pid: self.docs[pid].digest for pid in state.numbers}
        self._segment("t", state.shards, postings)
        self._finish(state, delta=[], stale=[], rows=[])

    def incremental(self, state: State) -> bool:
        """Only a delta on top of the kept base; False when a full build is due instead
        (the delta past a tenth, or a base file missing).

        `changed` holds new documents too, and moved ones (the href is in the digest).
        """
        docs = self.docs
        changed = [pid for pid, doc in docs.items() if state.indexed.get(pid) != doc.digest]
        if len(changed) > max(200, len(docs) // 10):
            return False
        gone = [pid for pid in state.numbers if pid not in docs]
        stale = sorted(state.numbers[pid] for pid in [*changed, *gone] if pid in state.indexed)
        return self.apply(state, changed, stale)

    def apply(self, state: State, changed: list[str], stale: list[int]) -> bool:
        """Write the delta of `changed` (documents that differ from the base, `self.docs`
        holding them) hiding the base's `stale` numbers; False when a base file is missing.
        """
        base = [f"search/t{n}.js" for n in range(state.shards)]
        base += [f"search/d{c}.js" for c in range(state.base_chunks)]
        if not self.writer.keep(base):
            return False
        postings, rows = self._delta(state, changed)
        delta = self._segment("u", state.shards, postings, sparse=True)
        numbers = sorted(rows)
        for start in range(0, len(numbers), DOCS_PER_CHUNK):
            part = numbers[start : start + DOCS_PER_CHUNK]
            self._write_chunk(f"e{start // DOCS_PER_CHUNK}", [rows[n] for n in part])
        self._finish(state, delta=delta, stale=stale, rows=numbers)
        return True

    def _delta(
        self, state: State, ids: Iterable[str]
    ) -> tuple[dict[str, array[int]], dict[int, list[str]]]:
        """Postings (word -> ascending doc numbers) and result rows of `ids`, in one read
        of their texts; numbers new documents in archive order."""
        postings: dict[str, array[int]] = {}
        rows: dict[int, list[str]] = {}
        found = [(state.number(row[0]), row) for row in site.search_texts(self.archive, set(ids))]
        for number, row in sorted(found, key=lambda item: item[0]):
            _add(postings, words(f"{row[1]} {row[2]}"), number)
            rows[number] = self._row(*row)
        return postings, rows

    def _row(self, pid: str, title: str, text: str, platform: str, date: str) -> list[str]:
        """What a result shows: link, title, day, excerpt, platform."""
        shown = title or _shorten(text[:160], 80) or "(no text)"
        excerpt = _shorten(text[:400], 200)
        return [self.docs[pid].href, shown, date[:10], excerpt, platform_name(platform)]

    def _write_chunk(self, name: str, items: list[list[str]]) -> None:
        """A chunk unchanged since the last export stays in place (put compares bytes)."""
        self.writer.put_text(f"search/{name}.js", _call("docs", name, items))

    def _segment(
        self, prefix: str, shards: int, postings: dict[str, array[int]], *, sparse: bool = False
    ) -> list[int]:
        """Write a segment's shards (`sparse`: only those with words); their numbers."""
        by_shard: list[dict[str, str]] = [{} for _ in range(shards)]
        for word in sorted(postings):
            by_shard[shard_of(word, shards)][word] = encode(postings[word])
        written = []
        for number, terms in enumerate(by_shard):
            if sparse and not terms:
                continue
            name = f"{prefix}{number}"
            self.writer.put_text(f"search/{name}.js", _call("shard", name, terms))
            written.append(number)
        return written

    def _finish(self, state: State, *, delta: list[int], stale: list[int], rows: list[int]) -> None:
        """`delta`: u-shards written; `stale`: base docs to ignore; `rows`: docs in e-chunks."""
        meta = {
            "version": FORMAT,
            "docs": state.count,
            "chunk": DOCS_PER_CHUNK,
            "shards": state.shards,
            "delta": delta,
            "stale": encode(stale),
            "rows": encode(rows),
        }
        self.writer.put_text(INDEX, _call("meta", "index", meta), self.print_)
        if not (state.unchanged() and self.writer.keep([STATE])):
            self.writer.put_text(STATE, state.dump())


def write_search(
    writer: SiteWriter,
    archive: Archive,
    model: SiteModel,
    salt: str,
    changed: Changed | None = None,
) -> None:
    """Write `search/…` unless no searchable post changed since the last export.

    `changed` (changes.py): the posts and threads that changed since the last export,
    when our posts are the same; then only their threads' documents are made (`update`).
    """
    if changed is not None and changed.lists_kept and update(writer, archive, model, changed):
        return
    docs = documents(model)
    # In the model's thread order, which follows from the archive alone: one join and one
    # hash call instead of a sort and a call per document.
    joined = "".join([f"{pid}:{doc.digest}\n" for pid, doc in docs.items()])
    digest = hashlib.blake2b(joined.encode(), digest_size=12).hexdigest()
    print_ = fingerprint(salt, "search", FORMAT, len(docs), digest)
    if writer.old.get(INDEX) == print_ and writer.keep_prefix("search/", STATE):
        return
    index = SearchIndex(writer, archive, docs, print_)
    state = State.load(writer)
    if state is not None and index.incremental(state):
        return
    del state  # its dicts and loaded lines: a full build numbers every document anew
    index.full()


def _add(postings: dict[str, array[int]], found: set[str], number: int) -> None:
    """Add a document to the postings of its words (numbers arrive in ascending order)."""
    for word in found:
        bucket = postings.get(word)
        if bucket is None:
            postings[word] = bucket = array("I")
        bucket.append(number)


def _shorten(text: str, limit: int) -> str:
    text = " ".join(text.split())
    if len(text) <= limit:
        return text
    return text[: limit - 1].rsplit(" ", 1)[0] + "…"


def _call(function: str, *args: object) -> str:
    """A script that hands its data to search.js; JSON escapes `<`, so no `</script>`."""
    body = ", ".join(
        json.dumps(arg, ensure_ascii=False, separators=(",", ":")).replace("<", "\\u003c")
        for arg in args
    )
    return f"ownfeedSearch.{function}({body});\n"


def update(writer: SiteWriter, archive: Archive, model: SiteModel, changed: Changed) -> bool:
    """The incremental update, from what changed since the last export instead of every
    document: False when it cannot be done that way (then `write_search` goes on).

    Why: making and comparing ~100,000 documents to find the few that changed was most
    of a small export's search update. A document outside the changed threads is the one
    the last export had (same post, same digest, same page: our posts are the same), so
    whether it differs from the base, or is hidden from it, is what the last export's
    index said (its `rows` and `stale`); only the changed threads' documents are made.
    """
    old_print = writer.old.get(INDEX)
    meta = _meta(writer)
    state = State.load(writer) if old_print is not None and meta is not None else None
    if state is None or meta is None or old_print is None:
        return False
    if not changed.touched:  # no post changed: tags or the like, not searched
        return writer.keep_prefix("search/", STATE)
    try:
        by_number = dict(zip(state.numbers.values(), state.numbers, strict=True))
        last_rows = {by_number[n] for n in _decode(meta["rows"])}
        last_stale = set(_decode(meta["stale"]))
    except (KeyError, TypeError, ValueError):
        return False
    affected = {pid for root in changed.roots for pid in model.members.get(root, ())}
    affected |= changed.touched
    carried = last_rows - affected  # still differ from the base, as last time
    roots = set(changed.roots)
    if carried:
        root_of = {pid: root for root, ids in model.members.items() for pid in ids}
        roots.update(root_of[pid] for pid in carried if pid in root_of)
    docs = documents(model, roots)
    if not carried <= docs.keys():
        return False  # a document the last export had is gone: not what this expects
    fresh = [pid for pid in affected if pid in docs and state.indexed.get(pid) != docs[pid].digest]
    todo = sorted(carried) + sorted(fresh)
    if len(todo) > max(200, len(state.indexed) // 10):
        return False
    numbers = state.numbers
    stale = last_stale - {numbers[pid] for pid in affected if pid in numbers}
    stale.update(
        numbers[pid]
        for pid in affected
        if pid in state.indexed and (pid not in docs or state.indexed[pid] != docs[pid].digest)
    )
    inputs = sorted(f"{pid}:{docs[pid].digest if pid in docs else ''}" for pid in affected)
    print_ = fingerprint(old_print, "update", *inputs)
    return SearchIndex(writer, archive, docs, print_).apply(state, todo, sorted(stale))


def _meta(writer: SiteWriter) -> dict[str, object] | None:
    """The index's meta data as the last export wrote it (search/index.js), or None."""
    prefix, suffix = 'ownfeedSearch.meta("index", ', ");\n"
    try:
        text = (writer.output / INDEX).read_text(encoding="utf-8")
    except (OSError, ValueError):
        return None
    if not (text.startswith(prefix) and text.endswith(suffix)):
        return None
    try:
        meta = json.loads(text[len(prefix) : -len(suffix)])
    except ValueError:
        return None
    return meta if isinstance(meta, dict) and meta.get("version") == FORMAT else None


def _decode(text: object) -> list[int]:
    """The numbers `encode` wrote (gaps between ascending numbers)."""
    if not isinstance(text, str):
        raise TypeError("not an encoded list")
    return list(accumulate(map(int, text.split(",")))) if text else []
