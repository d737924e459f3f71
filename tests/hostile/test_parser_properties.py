"""Property tests: arbitrary or mutated input gives posts or a clean error, never a crash."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ownfeed.errors import SourceError
from ownfeed.models import Post
from ownfeed.sources.feedparse import parse_comments, parse_feed

DATA = Path(__file__).parent.parent / "data"
SAMPLES = [
    (path.read_bytes(), ctype)
    for path, ctype in [
        (DATA / "feed" / "wordpress-rss2.xml", "application/rss+xml"),
        (DATA / "feed" / "atom-blog.atom", "application/atom+xml"),
        (DATA / "feed" / "rss10.rdf", "application/rdf+xml"),
        (DATA / "feed" / "jsonfeed11.json", "application/feed+json"),
        (DATA / "wordpress-comments-feed.xml", "application/rss+xml"),
        (DATA / "feed" / "wordpress-comments.atom", "application/atom+xml"),
    ]
]
CONTENT_TYPES = st.sampled_from(
    ["application/rss+xml", "application/atom+xml", "application/feed+json", "text/html", ""]
)
PROPERTY_SETTINGS = settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)


@st.composite
def mutated(draw: st.DrawFn) -> tuple[bytes, str]:
    """A real feed with a few bytes flipped, cut, inserted or a slice duplicated."""
    body, ctype = draw(st.sampled_from(SAMPLES))
    data = bytearray(body)
    for _ in range(draw(st.integers(1, 6))):
        if not data:
            break
        at = draw(st.integers(0, len(data) - 1))
        action = draw(st.sampled_from(["flip", "cut", "insert", "dup", "truncate"]))
        if action == "flip":
            data[at] = draw(st.integers(0, 255))
        elif action == "cut":
            del data[at : at + draw(st.integers(1, 200))]
        elif action == "insert":
            data[at:at] = draw(st.binary(max_size=40))
        elif action == "dup":
            data[at:at] = data[at : at + draw(st.integers(1, 300))]
        else:
            del data[at:]
    return bytes(data), draw(st.sampled_from([ctype, "text/html", "application/json"]))


def check_posts(posts: list[Post]) -> None:
    for post in posts:
        assert isinstance(post, Post)
        assert post.native_id
        post.hash  # noqa: B018 - hashing must work on whatever was parsed


@PROPERTY_SETTINGS
@given(st.binary(max_size=2000), CONTENT_TYPES)
def test_feed_parser_on_arbitrary_bytes(body: bytes, content_type: str) -> None:
    try:
        parsed = parse_feed(body, url="https://x.example/feed", content_type=content_type)
    except SourceError as error:
        assert "\n" not in str(error)
        return
    check_posts(parsed.posts)


@PROPERTY_SETTINGS
@given(mutated())
def test_feed_parser_on_mutated_feeds(sample: tuple[bytes, str]) -> None:
    body, content_type = sample
    try:
        parsed = parse_feed(body, url="https://x.example/feed", content_type=content_type)
    except SourceError as error:
        assert "\n" not in str(error)
        return
    check_posts(parsed.posts)


@PROPERTY_SETTINGS
@given(mutated())
def test_comment_parser_on_mutated_feeds(sample: tuple[bytes, str]) -> None:
    body, content_type = sample
    try:
        comments = parse_comments(
            body, url="https://x.example/c", content_type=content_type, post_native_id="p1"
        )
    except SourceError as error:
        assert "\n" not in str(error)
        return
    check_posts(comments)
    assert all(c.thread_root == "p1" and not c.is_own for c in comments)


@PROPERTY_SETTINGS
@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
        lambda inner: (
            st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=6)
        ),
        max_leaves=30,
    )
)
def test_json_feed_parser_on_arbitrary_json(value: object) -> None:
    import json

    document = {"version": "https://jsonfeed.org/version/1.1", "title": "t", "items": [value]}
    for body in (json.dumps(value).encode(), json.dumps(document).encode()):
        try:
            parsed = parse_feed(
                body, url="https://x.example/feed.json", content_type="application/feed+json"
            )
        except SourceError as error:
            assert "\n" not in str(error)
            continue
        check_posts(parsed.posts)
