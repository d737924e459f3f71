"""The client-side search index: word shards and document chunks as small script files.

Why script files and not JSON: a `<script src>` loads on any static host and, unlike
fetch(), mostly also from `file://`. Why shards: a query loads only the shards of its words
(by their first two letters) and the titles of the posts it shows, not the whole index.
Documents are numbered in archive order, so new posts append and leave most files as they
were; results are listed most recently archived first.
"""

from __future__ import annotations

import hashlib
import json
import re
import unicodedata
from array import array
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache

from ownfeed.archive import site
from ownfeed.archive.db import Archive
from ownfeed.export import urls
from ownfeed.export.model import SiteModel
from ownfeed.export.views import platform_name
from ownfeed.export.writer import SiteWriter, fingerprint

DOCS_PER_CHUNK = 500
MIN_WORD, MAX_WORD = 2, 32
_WORD_RE = re.compile(r"[^\W_]+")
_B36 = "0123456789abcdefghijklmnopqrstuvwxyz"


@cache
def _marks() -> dict[int, None]:
    """Combining marks (BMP), removed when folding accents away."""
    return {cp: None for cp in range(0x300, 0x10000) if unicodedata.category(chr(cp))[0] == "M"}


@cache
def _fold(word: str) -> str:
    if word.isascii():
        return word[:MAX_WORD]
    return unicodedata.normalize("NFKD", word).translate(_marks())[:MAX_WORD]


def words(text: str) -> set[str]:
    """The distinct search words of a text, folded like search.js does it."""
    if not text.isascii():
        text = unicodedata.normalize("NFC", text)
    found = set()
    for word in _WORD_RE.findall(text.lower()):
        folded = _fold(word)
        if len(folded) >= MIN_WORD:
            found.add(folded)
    return found


def shard_count(docs: int) -> int:
    """Few shards for small sites, more for large ones; changes rarely (keeps files stable)."""
    shards = 16
    while docs > shards * 500 and shards < 1024:
        shards *= 4
    return shards


def shard_of(word: str, shards: int) -> int:
    return (ord(word[0]) * 31 + ord(word[1])) % shards


def _base36(number: int) -> str:
    if number == 0:
        return "0"
    digits = []
    while number:
        number, rest = divmod(number, 36)
        digits.append(_B36[rest])
    return "".join(reversed(digits))


def encode(postings: Iterable[int]) -> str:
    """Ascending doc numbers as base-36 deltas joined by dots (compact, easy to decode)."""
    parts = []
    last = 0
    for index, doc in enumerate(postings):
        parts.append(_base36(doc if index == 0 else doc - last))
        last = doc
    return ".".join(parts)


@dataclass(frozen=True)
class Doc:
    id: str
    href: str  # relative to the site root, where search.html is
    date: str


def documents(model: SiteModel) -> dict[str, Doc]:
    """Every post a page shows in full: ours, and the replies in their conversations."""
    docs: dict[str, Doc] = {}
    for root, ids in model.members.items():
        page = model.conversation_page(root)
        for pid in ids:
            if pid in model.by_id:
                href = urls.post_page(pid)
            elif page is not None:
                href = f"{urls.post_page(page)}#p-{pid}"
            else:
                continue
            docs[pid] = Doc(pid, href, model.dates.get(pid, "")[:10])
    return docs


def write_search(writer: SiteWriter, archive: Archive, model: SiteModel, salt: str) -> None:
    """Write `search/…` unless no searchable post changed since the last export.

    Documents are numbered in archive order (rowid), so a new post is appended: only the
    last document chunk and the word shards of its words change.
    """
    docs = documents(model)
    digest = hashlib.blake2b(digest_size=12)
    for pid in sorted(docs):
        digest.update(f"{pid}:{docs[pid].href}:{model.digest.get(pid, '')}\n".encode())
    print_ = fingerprint(salt, "search", len(docs), digest.hexdigest())
    if writer.old.get("search/index.js") == print_ and writer.keep_prefix("search/"):
        return
    postings: dict[str, array[int]] = {}
    rows: list[list[str]] = []
    for pid, title, text, platform in site.search_texts(archive, docs):
        at = len(rows)
        doc = docs[pid]
        shown = title or _shorten(text, 80) or "(no text)"
        rows.append([doc.href, shown, doc.date, _shorten(text, 200), platform_name(platform)])
        for word in words(title + " " + text):
            bucket = postings.get(word)
            if bucket is None:
                postings[word] = bucket = array("I")
            bucket.append(at)
    shards = shard_count(len(rows))
    by_shard: list[dict[str, str]] = [{} for _ in range(shards)]
    for word in sorted(postings):
        by_shard[shard_of(word, shards)][word] = encode(postings[word])
    meta = {"version": 1, "docs": len(rows), "chunk": DOCS_PER_CHUNK, "shards": shards}
    writer.put_text("search/index.js", _call("meta", meta), print_)
    for number, terms in enumerate(by_shard):
        writer.put_text(f"search/t{number}.js", _call("shard", number, terms))
    for start in range(0, len(rows), DOCS_PER_CHUNK):
        chunk = rows[start : start + DOCS_PER_CHUNK]
        number = start // DOCS_PER_CHUNK
        writer.put_text(f"search/d{number}.js", _call("docs", number, chunk))


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
