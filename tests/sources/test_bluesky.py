"""The Bluesky source against a real local server answering with app.bsky XRPC shapes."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from ownfeed.demo import mastodon as mastodon_demo
from ownfeed.demo.blog import Blog
from ownfeed.demo.bluesky import BlueskySample
from ownfeed.demo.bluesky import routes as bluesky_demo_routes
from ownfeed.demo.bluesky import source_entries as demo_entries
from ownfeed.demo.web import DemoWeb
from ownfeed.errors import SourceError
from ownfeed.http import HttpClient
from ownfeed.sources.base import SourceConfig
from ownfeed.sources.bluesky import BlueskySource, parse_actor, web_url
from tests.httpserver import Reply, Request, TestServer
from tests.sources.harness import (
    Archived,
    as_json,
    author_of,
    by_id,
    counted,
    first_then,
    known,
    run_source,
)

DATA = Path(__file__).parent.parent / "data" / "bluesky"
DID = "did:plc:nvsx4k2m7q3bz5wjtye6hd2a"
PROFILE = "/xrpc/app.bsky.actor.getProfile"
FEED = "/xrpc/app.bsky.feed.getAuthorFeed"
THREAD = "/xrpc/app.bsky.feed.getPostThread"
GET_POSTS = "/xrpc/app.bsky.feed.getPosts"


def at(who: str, rkey: str) -> str:
    dids = {
        "novosyx": DID,
        "aenne": "did:plc:aenne7u3xq2lk5vbw4mfoc6r",
        "juergen": "did:plc:juergn5ktm2ax7ybq3wc4dz6",
        "lena": "did:plc:lenag2qk7m4zx5ypw3bv6tc7",
    }
    return f"at://{dids[who]}/app.bsky.feed.post/{rkey}"


F1, F2, F3 = (
    at("novosyx", "3kj2aaaaaaa2a"),
    at("novosyx", "3kk4bbbbbbb2b"),
    at("novosyx", "3kl6ccccccc2c"),
)
A1, F3B, B1 = (
    at("aenne", "3kl6ddddddd2d"),
    at("novosyx", "3kl6eeeeeee2e"),
    at("juergen", "3kl6fffffff2f"),
)
A0, F4 = at("aenne", "3km2ggggggg2g"), at("novosyx", "3km2hhhhhhh2h")
J0, J1, J2 = (
    at("juergen", "3kmaiiiiiii2i"),
    at("lena", "3kmajjjjjjj2j"),
    at("juergen", "3kmakkkkkkk2k"),
)
F5, L1 = at("novosyx", "3kmallllllll2"), at("lena", "3kmcmmmmmmm2m")
REPOST = f"at://{DID}/app.bsky.feed.repost/3kmcnnnnnnn2n"
JUST_AFTER = datetime(2024, 3, 13, tzinfo=UTC)


def load(name: str) -> Any:
    return json.loads((DATA / name).read_text(encoding="utf-8"))


def query(request: Request) -> dict[str, list[str]]:
    return parse_qs(urlsplit(request.path).query)


class AppView:
    """A scripted AppView: profile, two feed pages, three threads, getPosts."""

    def __init__(self, server: TestServer) -> None:
        self.server = server
        self.pages = [load("feed-1.json"), load("feed-2.json")]
        self.threads = {
            F3: load("thread-F3.json"),
            F3B: load("thread-F3B.json"),
            F5: load("thread-F5.json"),
        }
        server.route(PROFILE, as_json(load("profile.json")))
        server.route(FEED, self.feed)
        server.route(THREAD, self.thread)

    def feed(self, request: Request) -> Reply:
        params = query(request)
        assert params["actor"] == [DID] and params["filter"] == ["posts_with_replies"]
        cursor = params.get("cursor", [None])[0]
        return as_json(self.pages[1] if cursor else self.pages[0])

    def thread(self, request: Request) -> Reply:
        uri = query(request)["uri"][0]
        if uri not in self.threads:
            return as_json(load("post-not-found.json"), 400)
        return as_json(self.threads[uri])

    def count(self) -> int:
        return len(self.server.requests)


def make_source(server: TestServer, **options: Any) -> BlueskySource:
    config = SourceConfig(
        name="bluesky",
        type="bluesky",
        replies=options.pop("replies", True),
        refresh_days=options.pop("refresh_days", 14),
        options={"account": "novosyx.bsky.social", "appview": server.base_url, **options},
    )
    return BlueskySource(config)


# --- first sync ---------------------------------------------------------------------------


def test_first_sync_pages_the_feed_and_reads_the_threads_it_needs(server: TestServer) -> None:
    appview = AppView(server)
    result = run_source(make_source(server))
    feeds = server.requests_to(FEED)
    assert len(feeds) == 2 and query(feeds[1])["cursor"] == ["2024-03-01T09:00:00.123Z"]
    threads = {query(r)["uri"][0] for r in server.requests_to(THREAD)}
    # F3 and F3B have replies; F5's parent J2 is not the root, so J1 must be fetched
    assert threads == {F3, F3B, F5}
    assert appview.count() == 1 + 2 + 3
    own = {p.native_id for p in result.posts if p.is_own}
    assert own == {F1, F2, F3, F3B, F4, F5, REPOST}
    assert {p.native_id for p in result.posts if not p.is_own} == {A0, A1, B1, J0, J1, J2, L1}
    assert result.state["did"] == DID
    assert result.title == "Novosyx GmbH"
    assert result.home_url == "https://bsky.app/profile/novosyx.bsky.social"
    assert result.warnings == []


def test_threads_several_levels_deep(server: TestServer) -> None:
    AppView(server)
    posts = by_id(run_source(make_source(server)))
    assert posts[A1].in_reply_to == F3 and posts[F3B].in_reply_to == A1
    assert posts[B1].in_reply_to == F3B and not posts[B1].is_own
    assert {posts[n].thread_root for n in (A1, F3B, B1)} == {F3}
    assert posts[F3B].kind == "reply" and posts[F3].kind == "post"
    assert author_of(posts[B1]).name == "Jürgen Weiß"


def test_parents_of_our_reply_up_to_the_root_are_context(server: TestServer) -> None:
    AppView(server)
    posts = by_id(run_source(make_source(server)))
    assert posts[F5].in_reply_to == J2 and posts[F5].thread_root == J0
    assert posts[J2].in_reply_to == J1 and posts[J1].in_reply_to == J0
    assert not any(posts[n].is_own for n in (J0, J1, J2))


def test_repost_and_quote_keep_the_other_post_as_context(server: TestServer) -> None:
    AppView(server)
    posts = by_id(run_source(make_source(server)))
    repost = posts[REPOST]
    assert repost.kind == "repost" and repost.is_own and repost.repost_of == L1
    assert repost.published_at == datetime(2024, 3, 12, 8, tzinfo=UTC)
    assert not posts[L1].is_own and author_of(posts[L1]).name == "Lena Größe"
    quote = posts[F4]
    assert f'href="{web_url(A0)}"' in (quote.content_html or "")
    assert not posts[A0].is_own and "archiviert" in (posts[A0].content_html or "")


def test_post_fields_facets_images_and_cards(server: TestServer) -> None:
    AppView(server)
    posts = by_id(run_source(make_source(server)))
    f4 = posts[F4]
    html = f4.content_html or ""
    assert '<a href="https://bsky.app/profile/did:plc:aenne7u3xq2lk5vbw4mfoc6r"' in html
    assert 'class="mention">@aenne.bsky.social</a>' in html
    assert '<a href="https://novosyx.example/blog" class="link">novosyx.example/blog</a>' in html
    assert 'class="tag">#Archiv</a>' in html and f4.tags == ("Archiv",)
    assert f4.url == "https://bsky.app/profile/did:plc:nvsx4k2m7q3bz5wjtye6hd2a/post/3km2hhhhhhh2h"
    assert f4.language == "de"
    assert f4.author is not None and f4.author.handle == "novosyx.bsky.social"
    f3 = posts[F3]
    assert [(m.alt, m.kind, m.mime, m.width, m.height) for m in f3.media] == [
        ("Regale voller Kartons", "image", "image/jpeg", 2000, 1500),
        ("Die Halle von außen", "image", "image/jpeg", 1500, 2000),
    ]
    assert "feed_fullsize" in f3.media[0].url
    assert (f3.reply_count, f3.like_count, f3.repost_count) == (1, 40, 5)
    assert f3.published_at == datetime(2024, 2, 20, 12, tzinfo=UTC)
    f2 = posts[F2]
    assert 'href="https://novosyx.example/blog/archivieren"' in (f2.content_html or "")
    assert "Datenhoheit &amp; eigene Archive" in (f2.content_html or "")
    assert [m.alt for m in f2.media] == ["Warum wir alles selbst archivieren"]
    assert f2.raw["cid"] == "bafyreic3kk4bbbbbbb2b"


def test_not_found_and_blocked_nodes_are_skipped(server: TestServer) -> None:
    AppView(server)
    ids = set(by_id(run_source(make_source(server))))
    assert not any("3kl6zzzzzzz2z" in n or "3kl6yyyyyyy2y" in n for n in ids)


# --- incremental --------------------------------------------------------------------------


def test_unchanged_resync_costs_one_request_and_adds_nothing(
    server: TestServer, tmp_path: Path
) -> None:
    appview = AppView(server)
    archive = Archived(tmp_path, make_source(server))
    archive.sync()
    before = appview.count()
    _, counts = archive.sync()
    assert appview.count() - before == 1
    assert urlsplit(server.requests[-1].path).path == FEED
    assert (counts.new, counts.updated) == (0, 0)


def test_refresh_window_rereads_recent_posts_and_their_threads(
    server: TestServer, tmp_path: Path
) -> None:
    appview = AppView(server)
    archive = Archived(tmp_path, make_source(server, refresh_days=30))
    archive.sync()
    before = appview.count()
    _, counts = archive.sync(now=JUST_AFTER)
    requests = server.requests[before:]
    # both feed pages (page 1 is all inside the window), the threads of F3 and F3B
    # (recent, with replies); F4 and F5 have no replies
    assert [urlsplit(r.path).path for r in requests] == [FEED, FEED, THREAD, THREAD]
    assert {query(r)["uri"][0] for r in requests[2:]} == {F3, F3B}
    assert (counts.new, counts.updated) == (0, 0)


def test_new_reply_to_a_recent_post_arrives(server: TestServer, tmp_path: Path) -> None:
    appview = AppView(server)
    archive = Archived(tmp_path, make_source(server))
    archive.sync()
    late = json.loads(json.dumps(appview.threads[F3B]["thread"]["replies"][0]))
    late["post"]["uri"] = at("aenne", "3kmzzzzzzzz2z")
    late["post"]["author"] = appview.threads[F3B]["thread"]["parent"]["post"]["author"]
    appview.threads[F3B]["thread"]["replies"].append(late)
    appview.pages[0]["feed"][3]["post"]["replyCount"] = 2
    before = appview.count()
    result, counts = archive.sync()
    assert appview.count() - before == 2  # page 1, and F3B's thread (its count changed)
    assert counts.new == 1
    assert by_id(result)[late["post"]["uri"]].in_reply_to == F3B


def test_edited_record_gets_a_second_version(server: TestServer, tmp_path: Path) -> None:
    appview = AppView(server)
    archive = Archived(tmp_path, make_source(server))
    archive.sync()
    appview.pages[0]["feed"][2]["post"]["record"]["text"] = "Grüße aus Köln: neu formuliert."
    appview.pages[0]["feed"][2]["post"]["record"].pop("facets")
    archive.sync(now=JUST_AFTER)
    assert archive.row(F4)["versions"] == 2


def test_failed_thread_is_a_warning_and_is_retried(server: TestServer, tmp_path: Path) -> None:
    appview = AppView(server)
    server.route(THREAD, Reply("upstream down", 502))
    archive = Archived(tmp_path, make_source(server))
    result, _ = archive.sync()
    assert len(result.warnings) == 3 and all("HTTP 502" in w for w in result.warnings)
    assert set(archive.state["pending_threads"]) == {F3, F3B, F5}
    server.route(THREAD, appview.thread)
    before = appview.count()
    result, _ = archive.sync()
    assert appview.count() - before == 1 + 3
    assert {A1, B1, J1} <= set(by_id(result)) and "pending_threads" not in archive.state


# --- account and errors ---------------------------------------------------------------------


def test_account_not_found_is_one_clear_line(server: TestServer) -> None:
    server.route(PROFILE, as_json(load("profile-not-found.json"), 400))
    with pytest.raises(SourceError) as info:
        run_source(make_source(server, account="nobody.bsky.social"))
    assert str(info.value) == "account nobody.bsky.social not found"


def test_appview_requiring_authentication_is_one_clear_line(server: TestServer) -> None:
    server.route(PROFILE, as_json(load("auth-required.json"), 401))
    with pytest.raises(SourceError) as info:
        run_source(make_source(server))
    assert str(info.value) == "AppView requires authentication (HTTP 401)"


def test_a_did_needs_no_profile_lookup(server: TestServer) -> None:
    appview = AppView(server)
    run_source(make_source(server, account=DID))
    assert server.requests_to(PROFILE) == [] and appview.count() == 2 + 3


def test_remembered_did_skips_the_lookup_and_is_renewed_when_stale(server: TestServer) -> None:
    appview = AppView(server)
    state = {"actor_key": f"novosyx.bsky.social {server.base_url}", "did": "did:plc:old"}

    def feed(request: Request) -> Reply:
        if query(request)["actor"] == ["did:plc:old"]:
            return as_json(load("profile-not-found.json"), 400)
        return appview.feed(request)

    server.route(FEED, feed)
    result = run_source(make_source(server), state=state)
    assert result.state["did"] == DID and len(server.requests_to(PROFILE)) == 1
    fresh = run_source(make_source(server), state=result.state)
    assert len(server.requests_to(PROFILE)) == 1 and F1 in by_id(fresh)


def test_429_waits_for_the_epoch_reset(server: TestServer, pauses: list[float]) -> None:
    appview = AppView(server)
    now = int(datetime.now(UTC).timestamp())
    limited = as_json(
        {"error": "RateLimitExceeded", "message": "Rate Limit Exceeded"},
        429,
        **{
            "RateLimit-Limit": "3000",
            "RateLimit-Remaining": "0",
            "RateLimit-Reset": str(now + 20),
            "RateLimit-Policy": "3000;w=300",
        },
    )
    server.route(FEED, first_then(limited, appview.feed))
    result = run_source(make_source(server))
    assert len(pauses) == 1 and 18 <= pauses[0] <= 21
    assert F1 in by_id(result)


def test_429_with_distant_reset_fails_the_source(server: TestServer, pauses: list[float]) -> None:
    AppView(server)
    reset = str(int(datetime.now(UTC).timestamp()) + 900)
    server.route(FEED, as_json({}, 429, **{"RateLimit-Remaining": "0", "RateLimit-Reset": reset}))
    with pytest.raises(SourceError) as info:
        run_source(make_source(server))
    found = re.search(r"HTTP 429\).*resets in (\d+) s", str(info.value))
    assert found and 880 <= int(found.group(1)) <= 900
    assert pauses == []


# --- verify -----------------------------------------------------------------------------------


def test_verify_asks_in_batches_of_25_and_marks_missing_posts_gone(server: TestServer) -> None:
    answer = load("posts-verify.json")
    server.route(GET_POSTS, as_json(answer))
    extra = [at("novosyx", f"3kxx{n:09d}") for n in range(30)]
    posts = [known(F1), known(F2), known(F3), known(REPOST), *map(known, extra)]
    result = run_source(make_source(server), state={"did": DID}, verify=posts)
    batches = [query(r)["uris"] for r in server.requests_to(GET_POSTS)]
    assert [len(b) for b in batches] == [25, 8]  # the repost record is not a post
    gone = {g.native_id for g in result.gone}
    assert gone == {F1, *extra}
    assert {n for _, n in result.seen_again} == {F2, F3}
    assert "wirklich" in (by_id(result)[F2].content_html or "")
    assert by_id(result)[F2].is_own


def test_verify_then_store_gives_gone_and_a_new_version(server: TestServer, tmp_path: Path) -> None:
    AppView(server)
    archive = Archived(tmp_path, make_source(server))
    archive.sync()
    server.route(GET_POSTS, as_json(load("posts-verify.json")))
    archive.verify(F1, F2)
    assert archive.row(F1)["gone_at"] is not None
    assert archive.row(F2)["versions"] == 2 and archive.row(F2)["gone_at"] is None


def test_verify_failure_is_a_warning(server: TestServer) -> None:
    server.route(GET_POSTS, Reply("nope", 502))
    result = run_source(make_source(server), verify=[known(F1)])
    assert result.gone == [] and len(result.warnings) == 1 and "502" in result.warnings[0]


def test_verify_stops_with_one_warning_when_rate_limited(
    server: TestServer, pauses: list[float]
) -> None:
    reset = str(int(datetime.now(UTC).timestamp()) + 900)
    server.route(
        GET_POSTS, as_json({}, 429, **{"RateLimit-Remaining": "0", "RateLimit-Reset": reset})
    )
    posts = [known(at("novosyx", f"3kxx{n:09d}")) for n in range(30)]
    result = run_source(make_source(server), verify=posts)
    assert result.gone == [] and len(server.requests_to(GET_POSTS)) == 1
    [warning] = result.warnings
    assert warning.startswith("verify stopped, 30 post(s) left unchecked: rate limited")


# --- helpers ----------------------------------------------------------------------------------


def test_parse_actor() -> None:
    assert parse_actor("@Novosyx.bsky.social") == "novosyx.bsky.social"
    assert parse_actor(DID) == DID
    with pytest.raises(SourceError, match="handle or a did"):
        parse_actor("https://bsky.app/profile/x")


# --- the demo AppView, end to end --------------------------------------------------------------


def demo_source(base_url: str) -> BlueskySource:
    [entry] = demo_entries(base_url)
    options = {k: entry[k] for k in ("account", "appview")}
    return BlueskySource(SourceConfig("bluesky", "bluesky", options=options))


def test_demo_appview_is_archived_and_follows_the_world(tmp_path: Path) -> None:
    sample = BlueskySample()
    log: list[str] = []
    with DemoWeb() as web:
        web.mount(counted(sample.routes(), log))
        source = demo_source(web.base_url)
        archive = Archived(tmp_path, source)
        result, _ = archive.sync()
        assert result.warnings == []
        own = archive.archive.query("SELECT * FROM posts WHERE is_own = 1")
        assert len(own) == 7  # 4 posts, 2 replies, 1 repost
        zoe = archive.one(
            "SELECT p.* FROM posts p JOIN authors a ON a.id = p.author_id WHERE a.name = 'Zoë Weiß'"
            " AND p.content_text LIKE 'Großartig%'"
        )
        assert 'class="mention">@novosyx.bsky.social</a>' in zoe["content_html"]
        deepest = archive.one(
            "SELECT p.* FROM posts p JOIN authors a ON a.id = p.author_id"
            " WHERE a.name = 'Jörg Müller' AND p.in_reply_to IS NOT NULL"
        )
        root = archive.one("SELECT * FROM posts WHERE id = ?", (deepest["thread_root"],))
        assert root["is_own"] and "Vertrauen ist alles" in root["content_html"]
        quoted = archive.one("SELECT * FROM posts WHERE content_text LIKE 'Wer archiviert%'")
        assert quoted is not None and not quoted["is_own"]
        assert archive.one("SELECT count(*) FROM media")[0] == 2  # image and card thumb

        before = len(log)
        _, counts = archive.sync()
        assert len(log) - before == 1 and (counts.new, counts.updated) == (0, 0)

        sample.change_world()
        _, counts = archive.sync()
        assert counts.new == 2
        archive.verify()
        gone = archive.archive.query("SELECT content_text FROM posts WHERE gone_at IS NOT NULL")
        assert [r["content_text"] for r in gone] == [
            "Hallo Bluesky! Novosyx ist jetzt auch hier – mehr über uns im Blog."
        ]
        edited = archive.one("SELECT * FROM posts WHERE content_text LIKE 'Novosyx 2.0%'")
        assert edited["versions"] == 2


def test_blog_and_both_social_samples_share_one_demo_server(tmp_path: Path) -> None:
    with DemoWeb() as web:
        web.mount(Blog().routes())
        web.mount(mastodon_demo.routes())
        web.mount(bluesky_demo_routes())

        async def fetch_all() -> list[int]:
            async with HttpClient(retries=1) as http:
                urls = [
                    f"{web.base_url}/feed/",
                    f"{web.base_url}/api/v1/accounts/lookup?acct=novosyx",
                    f"{web.base_url}/xrpc/app.bsky.actor.getProfile?actor=novosyx.bsky.social",
                ]
                return [(await http.get(url)).status for url in urls]

        assert asyncio.run(fetch_all()) == [200, 200, 200]
        posts = run_source(demo_source(web.base_url)).posts
        assert any(p.is_own for p in posts)
