"""Shared by the property tests: structural JSON mutations, arbitrary JSON, and the checks
that what a parser produced is a well-formed post the archive can store."""

from __future__ import annotations

import copy
import json
import math
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from hypothesis import strategies as st

from ownfeed.archive import Archive, store_posts
from ownfeed.archive.runs import ensure_source, record_success, start_run
from ownfeed.errors import SourceError
from ownfeed.models import Author, Media, Post, SourceResult

INT64 = 2**63
POST_KINDS = {"post", "reply", "repost", "pingback"}
MEDIA_KINDS = {"image", "video", "audio", "file"}

#: strings that upset parsers: empty, lone surrogates, control characters, odd URLs, dates
#: out of range, huge and right-to-left text
SPECIAL_STRINGS: tuple[str, ...] = (
    "",
    " ",
    "0",
    "-1",
    "null",
    "\ud800",
    "a\udfffb",
    "\x00",
    "\u202e\u200b",
    "javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "http://",
    "https://[::1",
    "http://a b/c",
    "//evil.example/x",
    "ftp://x.example/",
    "at://did:plc:x/app.bsky.feed.post/",
    "at://",
    "did:plc:",
    "<script>alert(1)</script>",
    "0001-01-01T00:00:00+14:00",
    "9999-12-31T23:59:59-14:00",
    "1970-01-01T00:00:00Z",
    "2024-02-30T25:61:61Z",
    "x" * 20_000,
    "ü🙂" * 3_000,
)
SPECIAL_NUMBERS: tuple[Any, ...] = (
    0,
    -1,
    True,
    False,
    2**63,
    -(2**63) - 1,
    10**30,
    1e300,
    -1e300,
    math.inf,
    -math.inf,
    math.nan,
    0.5,
)

scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=30)
    | st.sampled_from(SPECIAL_STRINGS)
    | st.sampled_from(SPECIAL_NUMBERS)
)


def json_values(keys: Sequence[str] = (), max_leaves: int = 20) -> st.SearchStrategy[Any]:
    """Any JSON value; objects use the `keys` a platform's documents have (so values land
    where a mapper reads them) as well as random ones."""
    key = st.sampled_from(list(keys)) | st.text(max_size=8) if keys else st.text(max_size=8)
    return st.recursive(
        scalars,
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(key, inner, max_size=8),
        max_leaves=max_leaves,
    )


def keys_of(*documents: Any) -> list[str]:
    """Every object key used anywhere in the documents, sorted."""
    found: set[str] = set()

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            found.update(value)
            for item in value.values():
                walk(item)
        elif isinstance(value, list):
            for item in value:
                walk(item)

    for document in documents:
        walk(document)
    return sorted(found)


# --- structural mutations -------------------------------------------------------------------

ACTIONS = ("drop", "replace", "swap", "swap", "nest", "huge", "empty", "dup")


@dataclass(frozen=True)
class Mutation:
    """One change to a JSON document: `action` at the `at`-th node (modulo the node count)."""

    at: int
    action: str
    value: Any = None


def mutations(keys: Sequence[str] = (), max_size: int = 6) -> st.SearchStrategy[list[Mutation]]:
    one = st.builds(
        Mutation,
        st.integers(0, 10_000),
        st.sampled_from(ACTIONS),
        json_values(keys, max_leaves=6),
    )
    return st.lists(one, min_size=1, max_size=max_size)


def _slots(holder: list[Any]) -> list[tuple[Any, Any]]:
    """(container, key) of every node, in document order; the root is `holder[0]`."""
    found: list[tuple[Any, Any]] = []
    stack: list[tuple[Any, Any]] = [(holder, 0)]
    while stack:
        parent, key = stack.pop()
        found.append((parent, key))
        value = parent[key]
        if isinstance(value, dict):
            stack.extend((value, k) for k in reversed(list(value)))
        elif isinstance(value, list):
            stack.extend((value, i) for i in reversed(range(len(value))))
    return found


def _swapped(value: Any) -> Any:
    """The same content as another JSON type: str -> int -> str, list <-> dict, None -> {}."""
    if isinstance(value, bool):
        return "true" if value else []
    if isinstance(value, int | float):
        return str(value) if not isinstance(value, float) or math.isfinite(value) else None
    if isinstance(value, str):
        return len(value) if len(value) % 3 else ([value] if len(value) % 2 else None)
    if value is None:
        return {}
    if isinstance(value, list):
        return {str(i): v for i, v in enumerate(value)}
    return list(value.values())


def _empty(value: Any) -> Any:
    return {dict: {}, list: [], str: "", bool: False, int: 0, float: 0.0}.get(type(value))


def _nested(value: Any, depth: int) -> Any:
    for level in range(depth):
        value = [value] if level % 2 else {"a": value}
    return value


def _huge(value: Any) -> str:
    text = value if isinstance(value, str) and value else "https://x.example/ü🙂"
    return (text * (30_000 // len(text) + 1))[:30_000]


def mutate(document: Any, changes: Iterable[Mutation], nest_depth: int = 40) -> Any:
    """A deep copy of `document` with the changes applied one after the other."""
    holder = [copy.deepcopy(document)]
    for change in changes:
        slots = _slots(holder)
        parent, key = slots[change.at % len(slots)]
        value = parent[key]
        if change.action == "drop" and parent is not holder:
            del parent[key]
        elif change.action == "swap":
            parent[key] = _swapped(value)
        elif change.action == "nest":
            parent[key] = _nested(value, nest_depth)
        elif change.action == "huge":
            parent[key] = _huge(value)
        elif change.action == "empty":
            parent[key] = _empty(value)
        elif change.action == "dup" and isinstance(parent, list) and parent is not holder:
            parent.insert(key, copy.deepcopy(value))
        else:
            parent[key] = copy.deepcopy(change.value)
    return holder[0]


def mutate_bytes(data: bytes, changes: Iterable[tuple[int, str, bytes]]) -> bytes:
    """Byte-level damage (for XML, CAR and other non-JSON bodies): flip, cut, insert, dup."""
    out = bytearray(data)
    for at, action, extra in changes:
        if not out:
            break
        at %= len(out)
        if action == "flip":
            out[at] = (out[at] + 1 + (extra[0] if extra else 0)) % 256
        elif action == "cut":
            del out[at : at + 1 + len(extra) * 20]
        elif action == "insert":
            out[at:at] = extra
        elif action == "dup":
            out[at:at] = out[at : at + 1 + len(extra) * 40]
        else:
            del out[at:]
    return bytes(out)


byte_changes = st.lists(
    st.tuples(
        st.integers(0, 10**6),
        st.sampled_from(["flip", "cut", "insert", "dup", "truncate"]),
        st.binary(max_size=24),
    ),
    min_size=1,
    max_size=5,
)


def with_surrogates(value: Any) -> Any:
    """Every text of a document with a lone surrogate appended, as JSON may escape one
    (`"\\ud800"`); ids, times and URLs (digits, `/` or `:`) are left alone."""
    if isinstance(value, str):
        plain = not value.isdigit() and "/" not in value and ":" not in value
        return value + "\ud800" if plain else value
    if isinstance(value, list):
        return [with_surrogates(item) for item in value]
    if isinstance(value, dict):
        return {k: with_surrogates(v) for k, v in value.items()}
    return value


def dumps(value: Any) -> bytes:
    """JSON as a hostile server may send it: NaN and lone surrogates kept (as escapes)."""
    return json.dumps(value, allow_nan=True).encode()


# --- checks ---------------------------------------------------------------------------------


def clean_error(error: SourceError) -> None:
    """A clean error: one line, something to read."""
    message = str(error)
    assert message.strip(), f"{type(error).__name__} without a message"
    assert "\n" not in message and "\r" not in message, repr(message)


def _text(value: Any, what: str) -> None:
    assert value is None or isinstance(value, str), f"{what}: {type(value).__name__}"


def _count(value: Any, what: str) -> None:
    if value is None:
        return
    assert isinstance(value, int) and not isinstance(value, bool), f"{what}: {value!r}"
    assert -INT64 <= value < INT64, f"{what} out of range: {value}"


def _when(value: Any, what: str) -> None:
    if value is None:
        return
    assert isinstance(value, datetime), f"{what}: {type(value).__name__}"
    assert value.tzinfo is not None, f"{what} is naive"


def check_author(author: Any) -> None:
    if author is None:
        return
    assert isinstance(author, Author)
    for name in ("platform", "handle", "name", "url", "avatar_url"):
        _text(getattr(author, name), f"author.{name}")
    author.id  # noqa: B018 - must hash


def check_media(media: Any) -> None:
    assert isinstance(media, Media)
    assert isinstance(media.url, str) and media.url, f"media url {media.url!r}"
    assert media.kind in MEDIA_KINDS, media.kind
    _text(media.mime, "media.mime")
    _text(media.alt, "media.alt")
    _count(media.width, "media.width")
    _count(media.height, "media.height")


def check_post(post: Any) -> None:
    """A post with the field types the archive relies on."""
    assert isinstance(post, Post), type(post)
    assert isinstance(post.platform, str) and post.platform
    assert isinstance(post.native_id, str) and post.native_id, f"native_id {post.native_id!r}"
    assert post.kind in POST_KINDS, post.kind
    assert isinstance(post.is_own, bool), f"is_own {post.is_own!r}"
    for name in (
        "url",
        "title",
        "content_html",
        "content_text",
        "language",
        "in_reply_to",
        "in_reply_to_url",
        "repost_of",
        "thread_root",
    ):
        _text(getattr(post, name), name)
    _when(post.published_at, "published_at")
    _when(post.updated_at, "updated_at")
    assert isinstance(post.tags, tuple) and all(isinstance(t, str) for t in post.tags), post.tags
    assert isinstance(post.media, tuple)
    for media in post.media:
        check_media(media)
    check_author(post.author)
    for name in ("reply_count", "like_count", "repost_count"):
        _count(getattr(post, name), name)
    post.hash  # noqa: B018 - hashing must work on whatever was parsed
    post.text  # noqa: B018


class _Rollback(Exception):
    pass


_ARCHIVE: Archive | None = None


def archive() -> Archive:
    """One in-memory archive for the whole test run (every write is rolled back)."""
    global _ARCHIVE
    if _ARCHIVE is None:
        _ARCHIVE = Archive(":memory:")
    return _ARCHIVE


def check_posts(posts: Iterable[Any], *, store: bool = True) -> list[Post]:
    """Every post well-formed, and the lot storable in an archive (then rolled back)."""
    found = list(posts)
    for post in found:
        check_post(post)
    if store and found:
        db = archive()
        try:
            with db.transaction():
                store_posts(db, found, "fuzz")
                raise _Rollback
        except _Rollback:
            pass
    return found


def check_result(result: Any) -> None:
    """A source run's result: posts well-formed, warnings one line each, and the whole of
    it recorded the way a sync records it (posts, gone marks, state, title) in a fresh
    archive."""
    assert isinstance(result, SourceResult), type(result)
    check_posts(result.posts, store=False)
    for warning in result.warnings:
        assert isinstance(warning, str) and "\n" not in warning, repr(warning)
    _text(result.title, "title")
    _text(result.home_url, "home_url")
    with Archive(":memory:") as db:
        ensure_source(db, "fuzz", "fuzz", None)
        record_success(db, start_run(db), "fuzz", result, 0.1)


def walk(value: Any) -> Iterator[Any]:
    """Every node of a JSON value."""
    yield value
    if isinstance(value, dict):
        for item in value.values():
            yield from walk(item)
    elif isinstance(value, list):
        for item in value:
            yield from walk(item)
