"""Property tests for the API sources: mutated or arbitrary JSON gives posts or a clean error.

Two levels. The mapping functions (JSON -> Post) get the real fixtures under `tests/data/`
structurally mutated (keys dropped, types swapped, deep nesting, huge and odd strings,
wrong URLs, missing ids) and arbitrary JSON objects built from the keys the platform uses.
Then each platform's whole `Source.fetch` runs against a real local HTTP server that serves
its scripted upstream with some answers mutated. Either way the outcome is posts the
archive can store (recorded as a sync records them) or a `SourceError` with a one-line
message, never another exception.
"""

from __future__ import annotations

import asyncio
import io
import json
import re
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import feedparser
import httpx
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from ownfeed.errors import SourceError
from ownfeed.http import HttpClient, Response
from ownfeed.models import Post, SourceResult
from ownfeed.sources import (
    activitypub,
    bluesky,
    github,
    github_discussions,
    lemmy,
    mastodon,
    ratelimit,
    reddit,
    wordpress,
    youtube,
)
from ownfeed.sources.base import Source, SourceConfig, SourceContext
from ownfeed.sources.wordpress_feed import atom_comments_url, page_url, rss_comments_url
from tests.hostile.jsonfuzz import (
    Mutation,
    byte_changes,
    check_posts,
    check_result,
    clean_error,
    dumps,
    json_values,
    keys_of,
    mutate,
    mutate_bytes,
    mutations,
)
from tests.httpserver import Reply, Request, TestServer
from tests.sources import test_activitypub as ap_site
from tests.sources import test_bluesky as bsky_site
from tests.sources import test_github as gh_site
from tests.sources import test_lemmy as lemmy_site
from tests.sources import test_mastodon as masto_site
from tests.sources import test_reddit as reddit_site
from tests.sources import test_youtube as yt_site
from tests.sources.wp_site import WpSite

DATA = Path(__file__).parent.parent / "data"
MAPPER_SETTINGS = settings(
    max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
FETCH_SETTINGS = settings(
    max_examples=8,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def load(kind: str, name: str) -> Any:
    return json.loads((DATA / kind / name).read_text(encoding="utf-8"))


def response(document: Any, url: str = "https://x.example/api") -> Response:
    """A JSON answer as the sources' own helpers read it."""
    headers = httpx.Headers({"content-type": "application/json"})
    return Response(url, 200, headers, dumps(document))


def as_received(document: Any) -> Any:
    """The document as a source gets it: through `Response.json` (which repairs lone
    surrogates)."""
    return response(document).json()


def outcome(run: Callable[[], Iterable[Post | None]]) -> list[Post]:
    """Posts (checked and stored), or [] after a clean SourceError; anything else fails."""
    try:
        produced = list(run())
    except SourceError as error:
        clean_error(error)
        return []
    return check_posts(p for p in produced if p is not None)


# --- the mappers, with the inputs their callers give them -------------------------------------

MASTO = mastodon._Mapper("109300000000000001", "@novosyx@social.example", "social.example")


def _masto_source() -> mastodon.MastodonSource:
    config = SourceConfig(
        "m", "mastodon", options={"account": "@novosyx@social.example"}, refresh_days=14
    )
    return mastodon.MastodonSource(config)


def mastodon_status(document: Any) -> Iterable[Post]:
    return [MASTO.post(document, {"110000000000000040": "https://x.example/s/40"}, "r")]


def mastodon_timeline(document: Any) -> Iterable[Post]:
    """A timeline page and a context, through the source's own filters and collector."""
    statuses = mastodon._json_list(response(document.get("statuses")), "statuses")
    context = mastodon._json_object(response(document.get("context")), "context")
    thread = mastodon._Thread(
        [s for s in context.get("ancestors") or () if isinstance(s, dict) and "uri" in s],
        [s for s in context.get("descendants") or () if isinstance(s, dict) and "uri" in s],
    )
    source = _masto_source()
    threads = {str(s.get("uri")): thread for s in statuses[:1]}
    pending = [(str(s.get("id")), str(s.get("uri"))) for s in statuses[:1]]
    return source._collect(MASTO, statuses, threads, pending)


BSKY = bluesky._Mapper(bsky_site.DID)


def _bsky_source() -> bluesky.BlueskySource:
    config = SourceConfig("b", "bluesky", options={"account": "novosyx.bsky.social"})
    return bluesky.BlueskySource(config)


def bluesky_view(document: Any) -> Iterable[Post]:
    return BSKY.with_context(document)


def bluesky_feed(document: Any) -> Iterable[Post]:
    items, _cursor = bluesky._feed_page(document)
    return _bsky_source()._collect(BSKY, items, [])


def bluesky_thread(document: Any) -> Iterable[Post]:
    thread = document.get("thread") if isinstance(document, dict) else None
    return _bsky_source()._collect(BSKY, [], list(bluesky._thread_views(thread)))


WP_REF = wordpress.PostRef("https://blog.example/?p=100", "https://blog.example/2024/01/post/")


def wordpress_post(document: Any) -> Iterable[Post | None]:
    return [wordpress.map_post(document)]


def wordpress_comment(document: Any) -> Iterable[Post]:
    return [wordpress.map_comment(document, WP_REF, 0), wordpress.map_comment(document, WP_REF, 7)]


REDDIT = reddit._Mapper("novosyx")


def reddit_listing(document: Any) -> Iterable[Post]:
    """A listing, a thread ([post, comments]) or a morechildren answer, as the source walks
    them."""
    batch = reddit._Batch({})
    source = reddit.RedditSource(SourceConfig("r", "reddit", options={"account": "u/novosyx"}))
    for listing in document if isinstance(document, list) else [document]:
        stubs: list[dict[str, Any]] = []
        source._walk(listing, batch, REDDIT, stubs)
    return batch.posts.values()


LEMMY = lemmy._Mapper("https://lemmy.example/u/novosyx")


def lemmy_post(document: Any) -> Iterable[Post]:
    batch = lemmy._Batch({})
    post = LEMMY.post(document)
    batch.add(post, document.get("post") or {})
    return batch.posts.values()


def lemmy_comment(document: Any) -> Iterable[Post]:
    batch = lemmy._Batch({})
    post = LEMMY.comment(document, None)
    batch.add(post, document.get("comment") or {})
    return batch.posts.values()


AP = activitypub._Mapper(
    "https://social.example/users/novosyx",
    "@novosyx@social.example",
    "Novosyx",
    "https://social.example/@novosyx",
)


def activitypub_object(document: Any) -> Iterable[Post]:
    """An object as the source maps it: only typed objects with an id."""
    if not activitypub._is_object(document):
        return []
    return [AP.post(document), AP.post(document, "https://social.example/root")]


CHANNEL = yt_site.CHANNEL


def youtube_playlist_item(document: Any) -> Iterable[Post | None]:
    return [youtube.map_playlist_item(document, CHANNEL)]


def youtube_comment_thread(document: Any) -> Iterable[Post | None]:
    """A commentThreads item: its top comment and its embedded replies."""
    snippet = youtube._dict(document.get("snippet"))
    top = youtube._dict(snippet.get("topLevelComment"))
    total = youtube._int(snippet.get("totalReplyCount")) or 0
    replies = youtube._dict(document.get("replies")).get("comments")
    replies = replies if isinstance(replies, list) else []
    posts = [youtube.map_comment(top, "vidNEW00001", CHANNEL, total)]
    posts += [
        youtube.map_comment(r, "vidNEW00001", CHANNEL) for r in replies if isinstance(r, dict)
    ]
    return posts


def youtube_statistics(document: Any) -> Iterable[Post]:
    video = Post("youtube", "vidNEW00001", raw={"video_id": "vidNEW00001"})
    stats = document.get("statistics")
    return [youtube._with_stats(video, stats if isinstance(stats, dict) else None)]


def youtube_feed_entry(document: Any) -> Iterable[Post | None]:
    return [youtube.map_feed_entry(feedparser.FeedParserDict(document), CHANNEL)]


def github_release(document: Any) -> Iterable[Post | None]:
    return [github.map_release(document, "novosyx/novosyx")]


def github_atom_entry(document: Any) -> Iterable[Post | None]:
    entry = feedparser.FeedParserDict(document)
    return [
        github.map_atom_entry(entry, "novosyx/novosyx", False),
        github.map_atom_entry(entry, "novosyx/novosyx", True),
    ]


def github_discussion_comment(document: Any) -> Iterable[Post | None]:
    release = "https://github.com/novosyx/novosyx/releases/tag/v4.0.0"
    return [github_discussions.map_comment(document, release, release, "novosyx")]


def _items(*documents: Any, key: str = "items") -> list[Any]:
    return [item for document in documents for item in document.get(key) or ()]


def _wordpress_samples() -> tuple[list[Any], list[Any]]:
    class _Offline:
        base_url = "https://blog.example"

        def route(self, path: str, reply: Any) -> None:
            return None

    site = WpSite(_Offline(), posts=4)  # type: ignore[arg-type]
    return [site.rest_post(p) for p in site.posts], [site.rest_comment(c) for c in site.comments()]


def _feed_entries(path: Path) -> list[dict[str, Any]]:
    """A feed's entries as feedparser gives them, as plain JSON (times dropped)."""
    parsed = feedparser.parse(io.BytesIO(path.read_bytes()), sanitize_html=False)
    return [json.loads(json.dumps(dict(e), default=lambda _v: None)) for e in parsed.entries]


@dataclass(frozen=True)
class Mapper:
    """A mapping function and real documents of the shape it takes."""

    name: str
    run: Callable[[Any], Iterable[Post | None]]
    samples: list[Any]

    @property
    def keys(self) -> list[str]:
        return keys_of(*self.samples)


def _mappers() -> list[Mapper]:
    masto_statuses = [
        *load("mastodon", "statuses-1.json"),
        *load("mastodon", "statuses-2.json"),
        *load("mastodon", "statuses-3.json"),
        load("mastodon", "status-S3.json"),
        load("mastodon", "status-S4-edited.json"),
    ]
    contexts = [load("mastodon", f"context-{n}.json") for n in ("A2", "S2", "S4", "S5")]
    timelines = [{"statuses": load("mastodon", "statuses-1.json"), "context": c} for c in contexts]
    bsky_feeds = [load("bluesky", "feed-1.json"), load("bluesky", "feed-2.json")]
    bsky_threads = [load("bluesky", f"thread-{n}.json") for n in ("F3", "F3B", "F5")]
    bsky_views = [i["post"] for i in _items(*bsky_feeds, key="feed")]
    bsky_views += load("bluesky", "posts-verify.json")["posts"]
    wp_posts, wp_comments = _wordpress_samples()
    reddit_docs = [
        load("reddit", name)
        for name in (
            "submitted-1.json",
            "submitted-2.json",
            "comments-1.json",
            "thread-s3.json",
            "thread-s5.json",
            "info.json",
        )
    ]
    lemmy_user = load("lemmy", "user.json")
    lemmy_comments = [*lemmy_user["comments"], *load("lemmy", "comment-list-11.json")["comments"]]
    lemmy_comments.append(load("lemmy", "comment-50.json")["comment_view"])
    ap_objects = [
        load("activitypub", name)
        for name in (
            "status-107.json",
            "status-aenne-901.json",
            "status-lena-900.json",
            "peertube-video.json",
            "peertube-comment-41.json",
            "peertube-comment-42.json",
        )
    ]
    ap_objects += [
        i["object"]
        for i in _items(load("activitypub", "outbox-page-1.json"), key="orderedItems")
        if isinstance(i.get("object"), dict)
    ]
    yt_threads = _items(
        load("youtube", "commentThreads-vidNEW00001.json"),
        load("youtube", "commentThreads-vidMID00002.json"),
    )
    yt_playlist = _items(
        load("youtube", "playlistItems-1.json"), load("youtube", "playlistItems-2.json")
    )
    return [
        Mapper("mastodon status", mastodon_status, masto_statuses),
        Mapper("mastodon timeline and thread", mastodon_timeline, timelines),
        Mapper("bluesky post view", bluesky_view, bsky_views),
        Mapper("bluesky feed page", bluesky_feed, bsky_feeds),
        Mapper("bluesky thread", bluesky_thread, bsky_threads),
        Mapper("wordpress post", wordpress_post, wp_posts),
        Mapper("wordpress comment", wordpress_comment, wp_comments),
        Mapper("reddit listing", reddit_listing, reddit_docs),
        Mapper("lemmy post", lemmy_post, list(lemmy_user["posts"])),
        Mapper("lemmy comment", lemmy_comment, lemmy_comments),
        Mapper("activitypub object", activitypub_object, ap_objects),
        Mapper("youtube playlist item", youtube_playlist_item, yt_playlist),
        Mapper("youtube comment thread", youtube_comment_thread, yt_threads),
        Mapper(
            "youtube statistics",
            youtube_statistics,
            _items(load("youtube", "videos-statistics.json")),
        ),
        Mapper(
            "youtube feed entry", youtube_feed_entry, _feed_entries(DATA / "youtube" / "videos.xml")
        ),
        Mapper(
            "github release",
            github_release,
            [*load("github", "releases-1.json"), *load("github", "releases-2.json")],
        ),
        Mapper(
            "github atom entry", github_atom_entry, _feed_entries(DATA / "github" / "releases.atom")
        ),
        Mapper(
            "github discussion comment",
            github_discussion_comment,
            [
                gh_site.comment(1, "alice", "<p>Hi</p>"),
                gh_site.comment(2, "novosyx", "<p>Yes</p>", lastEditedAt="2024-03-03T00:00:00Z"),
            ],
        ),
    ]


MAPPERS = {mapper.name: mapper for mapper in _mappers()}


@st.composite
def mutated_sample(draw: st.DrawFn, mapper: Mapper) -> Any:
    sample = draw(st.sampled_from(mapper.samples))
    return mutate(sample, draw(mutations(mapper.keys)))


@pytest.mark.parametrize("name", sorted(MAPPERS))
@MAPPER_SETTINGS
@given(data=st.data())
def test_mapper_on_mutated_fixtures(name: str, data: st.DataObject) -> None:
    mapper = MAPPERS[name]
    document = as_received(data.draw(mutated_sample(mapper), label="document"))
    assume(isinstance(document, dict))  # callers pass JSON objects only
    outcome(lambda: mapper.run(document))


@pytest.mark.parametrize("name", sorted(MAPPERS))
@MAPPER_SETTINGS
@given(data=st.data())
def test_mapper_on_arbitrary_objects(name: str, data: st.DataObject) -> None:
    mapper = MAPPERS[name]
    keys = mapper.keys
    document = data.draw(
        st.dictionaries(st.sampled_from(keys), json_values(keys), max_size=12), label="document"
    )
    outcome(lambda: mapper.run(as_received(document)))


@MAPPER_SETTINGS
@given(st.text(max_size=80) | st.sampled_from(["https://b.example/p/?feed=rss", "x?feed=atom"]))
def test_wordpress_feed_urls_on_arbitrary_text(url: str) -> None:
    for value in (atom_comments_url(url, url), atom_comments_url(url, None), rss_comments_url(url)):
        assert isinstance(value, str)
    assert page_url(url, 3).startswith(url)


@MAPPER_SETTINGS
@given(byte_changes)
def test_feed_entry_mappers_on_damaged_feeds(changes: list[tuple[int, str, bytes]]) -> None:
    """YouTube's and GitHub's Atom feeds, damaged, through feedparser and their mappers."""
    for path, mapped in (
        (DATA / "youtube" / "videos.xml", lambda e: youtube.map_feed_entry(e, CHANNEL)),
        (DATA / "github" / "releases.atom", lambda e: github.map_atom_entry(e, "o/r", False)),
    ):
        body = mutate_bytes(path.read_bytes(), changes)
        try:  # as the sources call it: feedparser's own errors are a ParseError there
            parsed = feedparser.parse(io.BytesIO(body), sanitize_html=False)
        except UnicodeDecodeError:
            continue
        outcome(lambda entries=parsed.entries, m=mapped: [m(e) for e in entries])


# --- whole sources against a real server answering with mutated documents --------------------


@dataclass(frozen=True)
class Damage:
    """What a hostile upstream does: which routes answer damaged, and how."""

    targets: list[int]
    changes: list[Mutation]
    bytes_changes: list[tuple[int, str, bytes]]
    trick: str | None


damages = st.builds(
    Damage,
    st.lists(st.integers(0, 1000), min_size=1, max_size=3),
    mutations(max_size=4),
    byte_changes,
    st.sampled_from([None, None, None, "replace", "bigint", "truncate", "not-json", "surrogate"]),
)
_DIGITS_RE = re.compile(rb"(?<=[:\[,])\s*\d+")


def _damaged(reply: Reply, damage: Damage) -> Reply:
    body = reply.body.encode() if isinstance(reply.body, str) else reply.body
    if reply.status == 304 or not body:
        return reply
    try:
        document = json.loads(body)
    except ValueError:
        document = None
        body = mutate_bytes(body, damage.bytes_changes)
    else:
        document = mutate(document, damage.changes, nest_depth=120)
        body = dumps(document)
    seed = zlib.crc32(body)
    if damage.trick == "replace":
        body = dumps(damage.changes[0].value)
    elif damage.trick == "bigint":
        body = (
            _DIGITS_RE.sub(b"9" * 5000, body, count=1) if _DIGITS_RE.search(body) else b"1" * 5000
        )
    elif damage.trick == "truncate":
        body = body[: seed % max(1, len(body))]
    elif damage.trick == "not-json":
        body = b"<html><body>maintenance</body></html>"
    elif damage.trick == "surrogate":
        body = body.replace(b'"', b'"\\ud800', 1) if b'"' in body else b'"\\udfff"'
    return Reply(body, reply.status, dict(reply.headers), content_type=reply.content_type)


def damage_routes(server: TestServer, damage: Damage) -> None:
    """Wrap the chosen routes of a scripted upstream so their answers arrive damaged."""
    paths = sorted(server.routes)
    for path in {paths[t % len(paths)] for t in damage.targets}:
        handler = server.routes[path]
        server.routes[path] = lambda request, h=handler: _damaged(h(request), damage)


def run_fetch(source: Source, state: dict[str, Any] | None = None) -> SourceResult | None:
    """One fetch: a SourceResult (checked as a sync records it) or None after a clean error."""

    async def go() -> SourceResult:
        async with HttpClient(retries=1, backoff=0.0, timeout=10, concurrency=4) as http:
            ctx = SourceContext(http, dict(state or {}), {}, now=masto_site.LATER)
            return await source.fetch(ctx)

    try:
        result = asyncio.run(go())
    except SourceError as error:
        clean_error(error)
        return None
    check_result(result)
    return result


@pytest.fixture
def upstream(server: TestServer, monkeypatch: pytest.MonkeyPatch) -> Iterator[TestServer]:
    """The local server, its routes cleared before each example; no rate-limit sleeps."""

    async def no_pause(seconds: float) -> None:
        return None

    monkeypatch.setattr(ratelimit, "pause", no_pause)
    monkeypatch.setenv("YT_KEY", "test-key")
    monkeypatch.setenv("GH_TOKEN", "test-token")
    yield server


def _fresh(server: TestServer) -> TestServer:
    server.routes.clear()
    server.requests.clear()
    return server


def _config(kind: str, **options: Any) -> SourceConfig:
    return SourceConfig(name=kind, type=kind, options=options)


SITES: dict[str, Callable[[TestServer], Source]] = {}


def site(name: str) -> Callable[[Callable[[TestServer], Source]], Callable[[TestServer], Source]]:
    def register(make: Callable[[TestServer], Source]) -> Callable[[TestServer], Source]:
        SITES[name] = make
        return make

    return register


@site("mastodon")
def _mastodon(server: TestServer) -> Source:
    masto_site.Instance(server)
    return masto_site.make_source(server)


@site("bluesky")
def _bluesky(server: TestServer) -> Source:
    bsky_site.AppView(server)
    return bsky_site.make_source(server)


@site("wordpress")
def _wordpress(server: TestServer) -> Source:
    WpSite(server, posts=6, per_rss=4)
    return wordpress.WordPressSource(_config("wordpress", url=server.url("/")))


@site("wordpress-feed")
def _wordpress_feed(server: TestServer) -> Source:
    WpSite(server, posts=6, per_rss=4).rest = "404"
    return wordpress.WordPressSource(_config("wordpress", url=server.url("/")))


@site("reddit")
def _reddit(server: TestServer) -> Source:
    reddit_site.Reddit(server)
    return reddit.RedditSource(_config("reddit", account="u/novosyx", api_base=server.base_url))


@site("lemmy")
def _lemmy(server: TestServer) -> Source:
    lemmy_site.Instance(server)
    options = {"account": "novosyx@lemmy.example", "instance": server.base_url}
    return lemmy.LemmySource(_config("lemmy", **options))


@site("activitypub")
def _activitypub(server: TestServer) -> Source:
    ap_site.Fediverse(server)
    options = {"account": "@novosyx@social.example", "instance": server.base_url}
    return activitypub.ActivityPubSource(_config("activitypub", **options))


@site("youtube")
def _youtube(server: TestServer) -> Source:
    yt_site.YouTube(server)
    options = {
        "url": "https://www.youtube.com/@novosyx",
        "web_base": server.base_url,
        "api_base": server.url("/youtube/v3"),
        "api_key_env": "YT_KEY",
    }
    return youtube.YouTubeSource(_config("youtube", **options))


@site("github")
def _github(server: TestServer) -> Source:
    gh_site.GitHub(server)
    options = {
        "url": "https://github.com/novosyx/novosyx",
        "web_base": server.base_url,
        "api_base": server.url("/api"),
    }
    return github.GitHubSource(_config("github", **options))


@site("github-user")
def _github_user(server: TestServer) -> Source:
    gh_site.GitHub(server)
    options = {
        "url": "https://github.com/novosyx",
        "web_base": server.base_url,
        "api_base": server.url("/api"),
        "token_env": "GH_TOKEN",
    }
    return github.GitHubSource(_config("github", **options))


@pytest.mark.parametrize("name", sorted(SITES))
def test_every_site_syncs_cleanly_when_nothing_is_damaged(name: str, upstream: TestServer) -> None:
    """The scripted upstreams work undamaged: the damage is what the properties test."""
    result = run_fetch(SITES[name](_fresh(upstream)))
    assert result is not None and result.posts


@pytest.mark.parametrize("name", sorted(SITES))
@FETCH_SETTINGS
@given(damage=damages)
def test_fetch_against_damaged_upstream(name: str, upstream: TestServer, damage: Damage) -> None:
    source = SITES[name](_fresh(upstream))
    damage_routes(upstream, damage)
    run_fetch(source)


def test_damage_reaches_the_source(upstream: TestServer) -> None:
    """The damage helpers really change what is served (guards the properties above)."""
    reply = Reply(json.dumps({"a": [1, 2]}), content_type="application/json")
    damage = Damage([0], [Mutation(0, "replace", "x")], [(0, "truncate", b"")], "bigint")
    assert _damaged(reply, damage).body == b"1" * 5000
    damage = Damage([0], [Mutation(1, "drop")], [(0, "truncate", b"")], None)
    assert json.loads(_damaged(reply, damage).body) == {}
    server = _fresh(upstream)
    server.route("/", reply)
    damage_routes(server, damage)
    assert json.loads(server.routes["/"](Request("GET", "/", {})).body) == {}


def test_a_server_repeating_its_cursor_ends_the_listing(upstream: TestServer) -> None:
    """Damage that made a cursor repeat used to loop forever: the same page, asked again."""
    server = _fresh(upstream)
    reddit_site.Reddit(server)
    page = reddit_site.load("submitted-1.json")
    page["data"]["after"] = "same"
    server.route(
        "/user/novosyx/submitted.json", Reply(json.dumps(page), content_type="application/json")
    )
    source = reddit.RedditSource(_config("reddit", account="u/novosyx", api_base=server.base_url))
    result = run_fetch(source)
    assert result is not None and result.posts
    assert len(server.requests_to("/user/novosyx/submitted.json")) == 2


def test_a_malformed_item_is_skipped_with_a_warning(upstream: TestServer) -> None:
    """One status whose fields have the wrong types costs that status, not the source."""
    server = _fresh(upstream)
    instance = masto_site.Instance(server)
    bad = instance.pages[0][0]
    bad["account"] = ["not", "an", "account"]
    bad["content"] = {"html": "<p>not text</p>"}  # dropped: content must be a string
    result = run_fetch(masto_site.make_source(server))
    assert result is not None and result.posts
    assert bad["uri"] not in {p.native_id for p in result.posts}
    assert any("1 malformed item(s) skipped" in w for w in result.warnings), result.warnings


def test_a_feed_feedparser_chokes_on_is_a_clean_error(upstream: TestServer) -> None:
    """One flipped byte made feedparser raise UnicodeDecodeError out of the GitHub source."""
    server = _fresh(upstream)
    source = _github(server)
    body = mutate_bytes((DATA / "github" / "releases.atom").read_bytes(), [(1631, "flip", b"*")])
    with pytest.raises(UnicodeDecodeError):
        feedparser.parse(io.BytesIO(body), sanitize_html=False)
    server.route("/novosyx/novosyx/releases.atom", Reply(body, content_type="application/atom+xml"))
    assert run_fetch(source) is None  # a one-line SourceError, checked by run_fetch
