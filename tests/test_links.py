"""Pure link detection: URL normalisation, what a post points at, near-identical text."""

from __future__ import annotations

import asyncio
import json
import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ownfeed.archive import Archive, store_posts
from ownfeed.archive.runs import ensure_source
from ownfeed.config import LinksConfig, parse_config
from ownfeed.errors import ConfigError
from ownfeed.http import HttpClient
from ownfeed.linking import link_after_sync
from ownfeed.links import (
    FoundUrl,
    TextPost,
    comparable_text,
    extract_urls,
    normalize_url,
    own_addresses,
    similarity,
    text_links,
    text_matches,
    url_key,
)
from ownfeed.models import Post
from tests.httpserver import Reply, TestServer

BLOG = "https://blog.novosyx.example/2025/vertrauen-ist-alles/"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (BLOG, "https://blog.novosyx.example/2025/vertrauen-ist-alles"),
        ("HTTPS://Blog.Novosyx.EXAMPLE/2025/x/", "https://blog.novosyx.example/2025/x"),
        ("https://blog.novosyx.example:443/a", "https://blog.novosyx.example/a"),
        ("http://blog.novosyx.example:80/a", "http://blog.novosyx.example/a"),
        ("http://127.0.0.1:8080/a/", "http://127.0.0.1:8080/a"),
        ("https://blog.novosyx.example", "https://blog.novosyx.example/"),
        ("https://blog.novosyx.example/", "https://blog.novosyx.example/"),
        ("https://b.example/a/#comments", "https://b.example/a"),
        (
            "https://b.example/a/?utm_source=mastodon&utm_medium=social&id=3",
            "https://b.example/a?id=3",
        ),
        ("https://b.example/a?utm_campaign=x", "https://b.example/a"),
        ("https://b.example/a?p=1&q=2", "https://b.example/a?p=1&q=2"),
        ("https://b.example/Case/Sensitive", "https://b.example/Case/Sensitive"),
        ("mailto:hello@novosyx.example", None),
        ("javascript:alert(1)", None),
        ("ftp://b.example/x", None),
        ("https://", None),
        ("", None),
        (None, None),
        ("https://b.example:99999/x", None),
    ],
)
def test_normalize_url(url: str | None, expected: str | None) -> None:
    assert normalize_url(url) == expected


def test_relative_links_resolve_against_the_post() -> None:
    assert normalize_url("/2025/other/", base=BLOG) == "https://blog.novosyx.example/2025/other"
    assert normalize_url("../x", base=BLOG) == "https://blog.novosyx.example/2025/x"
    assert normalize_url("/x") is None  # no base: no address


def test_url_key_ignores_the_scheme_only() -> None:
    assert url_key("http://B.example/a/") == url_key("https://b.example/a?utm_source=x")
    assert url_key("https://b.example/a") != url_key("https://b.example/b")
    assert url_key("https://b.example/a") != url_key("https://c.example/a")
    assert url_key("not a url") is None


def test_own_addresses_take_url_and_url_like_native_ids() -> None:
    assert own_addresses(BLOG, "https://blog.novosyx.example/?p=2") == [
        "https://blog.novosyx.example/2025/vertrauen-ist-alles",
        "https://blog.novosyx.example/?p=2",
    ]
    assert own_addresses("https://bsky.app/profile/x/post/1", "at://did:plc:x/post/1") == [
        "https://bsky.app/profile/x/post/1"
    ]
    assert own_addresses(None, "tag:blog,2025:1") == []


def test_links_in_mastodon_html_and_its_card() -> None:
    html = (
        '<p>Neu im Blog: <a href="https://blog.novosyx.example/2025/vertrauen-ist-alles/'
        '?utm_source=mastodon" rel="nofollow noopener" target="_blank">'
        '<span class="invisible">https://</span>blog.novosyx.example/2025/vertrauen…</a> '
        '<a href="https://social.example/tags/vertrauen" class="mention hashtag">#vertrauen</a>'
        "</p>"
    )
    raw = json.dumps({"card": {"url": "https://blog.novosyx.example/2025/card-only/"}})
    found = extract_urls("mastodon", html, None, raw)
    assert found == [
        FoundUrl("https://blog.novosyx.example/2025/vertrauen-ist-alles", "link"),
        FoundUrl("https://social.example/tags/vertrauen", "link"),
        FoundUrl("https://blog.novosyx.example/2025/card-only", "card"),
    ]


def test_the_strongest_evidence_wins_for_one_address() -> None:
    html = f'<p><a href="{BLOG}">Vertrauen ist alles</a></p>'
    raw = {"card": {"url": BLOG}}
    assert extract_urls("mastodon", html, None, raw) == [
        FoundUrl("https://blog.novosyx.example/2025/vertrauen-ist-alles", "card")
    ]


def test_bluesky_facets_and_external_embeds_as_view_and_as_record() -> None:
    link = {"$type": "app.bsky.richtext.facet#link", "uri": "https://b.example/facet/"}
    mention = {"$type": "app.bsky.richtext.facet#mention", "did": "did:plc:x"}
    view = {
        "uri": "at://did:plc:x/app.bsky.feed.post/1",
        "record": {
            "text": "Neu",
            "facets": [{"index": {"byteStart": 0, "byteEnd": 3}, "features": [link, mention]}],
            "embed": {
                "$type": "app.bsky.embed.external",
                "external": {"uri": "https://b.example/record-embed/"},
            },
        },
        "embed": {
            "$type": "app.bsky.embed.external#view",
            "external": {"uri": "https://b.example/view-embed/", "title": "T"},
        },
    }
    found = {item.url: item.how for item in extract_urls("bluesky", None, "Neu", view)}
    assert found == {
        "https://b.example/facet": "facet",
        "https://b.example/record-embed": "card",
        "https://b.example/view-embed": "card",
    }
    record = {"text": "Neu", "facets": view["record"]["facets"]}  # an imported repository
    assert extract_urls("bluesky", None, "Neu", record) == [
        FoundUrl("https://b.example/facet", "facet")
    ]


def test_syndication_links_of_a_blog_post() -> None:
    html = (
        "<p>Text</p>"
        '<a class="u-syndication" href="https://social.example/@us/1">Mastodon</a>'
        '<a rel="syndication nofollow" href="https://bsky.app/profile/us/post/2">Bluesky</a>'
        '<a href="https://elsewhere.example/">a plain link</a>'
    )
    found = extract_urls("web", html, None, {"meta": {"mf2_syndication": ["https://x.example/3"]}})
    assert found == [
        FoundUrl("https://social.example/@us/1", "syndication"),
        FoundUrl("https://bsky.app/profile/us/post/2", "syndication"),
        FoundUrl("https://elsewhere.example/", "link"),
        FoundUrl("https://x.example/3", "syndication"),
    ]


def test_plain_text_urls_count_only_without_html() -> None:
    text = "Neues Video (https://b.example/v/1), und mehr: https://b.example/v/2."
    assert text_links(text) == ["https://b.example/v/1", "https://b.example/v/2"]
    assert [f.url for f in extract_urls("youtube", None, text)] == [
        "https://b.example/v/1",
        "https://b.example/v/2",
    ]
    assert extract_urls("web", "<p>no links</p>", text) == []


def test_redirects_lead_short_links_to_their_target() -> None:
    html = '<a href="https://bit.ly/abc">kurz</a>'
    redirects = {"https://bit.ly/abc": BLOG + "?utm_source=bitly"}
    assert extract_urls("mastodon", html, redirects=redirects) == [
        FoundUrl("https://blog.novosyx.example/2025/vertrauen-ist-alles", "link")
    ]


def test_broken_input_finds_nothing_and_never_raises() -> None:
    assert extract_urls("mastodon", "<a href='", None, "{not json") == []
    assert (
        extract_urls("bluesky", None, None, {"record": {"facets": [None, {"features": 3}]}}) == []
    )
    assert extract_urls("web", '<a href="javascript:x()">x</a><a>no href</a>') == []


def test_comparable_text_drops_links_case_and_punctuation() -> None:
    mastodon = "Neu im Blog: Vertrauen ist alles! https://blog.novosyx.example/2025/vertrauen…"
    bluesky = "Neu im Blog – Vertrauen ist alles. blog.novosyx.example/2025/vertr..."
    assert comparable_text(mastodon) == "neu im blog vertrauen ist alles"
    assert comparable_text(bluesky) == "neu im blog vertrauen ist alles"
    assert comparable_text(None) == ""


def test_similarity() -> None:
    assert similarity("abc def", "abc def") == 1.0
    assert similarity("", "abc") == 0.0
    a = comparable_text("Novosyx 2.0 ist da: Export, Suche und ein dunkler Modus.")
    b = comparable_text("Novosyx 2.0 ist da: Export, Suche und ein dunkler Modus!")
    c = comparable_text("Novosyx 2.0 ist da: Export, Suche, Archiv.")
    assert similarity(a, b) == 1.0
    assert similarity(a, c) < 0.9
    assert similarity(a, "x" * 5, threshold=0.9) == 0.0  # cut early by length


T0 = datetime(2025, 4, 2, 15, 0, tzinfo=UTC)


def _post(pid: str, platform: str, hours: float, text: str) -> TextPost:
    return TextPost(pid, platform, T0 + timedelta(hours=hours), comparable_text(text))


def test_text_matches_pair_copies_across_platforms_within_the_window() -> None:
    text = "Novosyx 2.0 ist da: Export, Suche und ein dunkler Modus."
    posts = [
        _post("toot", "mastodon", 0, text),
        _post("skeet", "bluesky", 0.1, text + " 🚀"),
        _post("later", "bluesky", 72, text),  # outside 48 hours
        _post("other", "bluesky", 0.2, "Etwas ganz anderes, das wir heute sagen wollen."),
        _post("same", "mastodon", 0.3, text),  # same platform: never a copy
    ]
    matches = text_matches(
        posts, {"toot", "skeet", "later", "other", "same"}, threshold=0.9, window=timedelta(48)
    )
    pairs = {(m.original, m.copy) for m in matches}
    assert ("toot", "skeet") in pairs
    assert not any("other" in pair for pair in pairs)
    assert ("toot", "same") not in pairs and ("same", "toot") not in pairs
    narrow = text_matches(posts, {"later"}, threshold=0.9, window=timedelta(hours=48))
    assert narrow == []


def test_text_matches_only_for_changed_posts_and_long_enough_texts() -> None:
    posts = [_post("a", "mastodon", 0, "Danke!"), _post("b", "bluesky", 0, "Danke!")]
    assert text_matches(posts, {"a", "b"}, threshold=0.9, window=timedelta(hours=1)) == []
    text = "Wir sind auf der Messe in Köln, Halle 7. Kommt vorbei!"
    posts = [_post("a", "mastodon", 0, text), _post("b", "bluesky", 1, text)]
    assert text_matches(posts, set(), threshold=0.9, window=timedelta(hours=2)) == []
    (match,) = text_matches(posts, {"b"}, threshold=0.9, window=timedelta(hours=2))
    assert (match.original, match.copy, match.score) == ("a", "b", 1.0)


def test_text_matches_prefer_the_blog_on_a_tie_and_the_best_match() -> None:
    text = "Unser Archiv ist jetzt öffentlich. Vertrauen braucht Nachweise."
    posts = [
        _post("toot", "mastodon", 0, text),
        _post("blog", "web", 0, text),
        _post("skeet-a", "bluesky", 1, text + " Jetzt lesen"),
        _post("skeet-b", "bluesky", 1, text),
    ]
    matches = text_matches(posts, {p.id for p in posts}, threshold=0.8, window=timedelta(hours=2))
    pairs = {(m.original, m.copy) for m in matches}
    assert ("blog", "toot") in pairs
    # per copy one original per platform; a toot is never a copy of a later skeet
    assert all(m.copy != "blog" for m in matches)
    assert ("skeet-a", "skeet-b") not in pairs


def _config(text: str) -> LinksConfig:
    path = Path("/tmp/ownfeed.toml")
    return parse_config(tomllib.loads(text), path, text).links


def test_links_config_defaults_and_values() -> None:
    assert _config("") == LinksConfig(0.9, 48.0, True, ())
    links = _config(
        "[links]\ntext_threshold = 0.85\ntext_window_hours = 6\nfollow_redirects = false\n"
        'shorteners = ["Go.Novosyx.example"]\n'
    )
    assert links == LinksConfig(0.85, 6.0, False, ("go.novosyx.example",))


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("text_threshold = 1.5", "'text_threshold' must be above 0 and at most 1"),
        ("text_threshold = 0", "'text_threshold' must be above 0 and at most 1"),
        ("text_window_hours = -1", "'text_window_hours' must be >= 0"),
        ('shorteners = ["not a host/"]', "'shorteners' must list host names"),
        ("threshold = 0.9", "unknown key 'threshold' in [links]"),
        ('follow_redirects = "yes"', "'follow_redirects' must be true or false"),
    ],
)
def test_links_config_errors_name_the_line(body: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        _config(f"archive = 'a.db'\n\n[links]\n{body}\n")
    assert message in str(caught.value)
    assert "/tmp/ownfeed.toml:4:" in str(caught.value)


def test_the_sync_step_follows_short_links_once(tmp_path: Path, server: TestServer) -> None:
    blog_url = server.url("/2025/vertrauen/")
    server.route("/s/abc", Reply(status=301, headers={"Location": "/2025/vertrauen/?utm_x=1"}))
    server.route("/s/dead", Reply("gone", status=404))
    server.route("/2025/vertrauen/", Reply("<p>Vertrauen</p>", content_type="text/html"))
    server.route("/2025/vertrauen/?utm_x=1", Reply("<p>Vertrauen</p>", content_type="text/html"))
    original = Post("web", "https://blog.example/?p=2", url=blog_url, content_html="<p>V</p>")
    short = Post(
        "mastodon",
        "https://social.example/users/us/statuses/1",
        url="https://social.example/@us/1",
        content_html=(
            f'<p><a href="{server.url("/s/abc")}">kurz</a> '
            f'<a href="{server.url("/s/dead")}">tot</a></p>'
        ),
    )
    config = LinksConfig()
    with Archive(tmp_path / "a.db") as archive:
        with archive.transaction():
            ensure_source(archive, "blog", "feed", server.url("/feed/"))
            store_posts(archive, [original], "blog")
            store_posts(archive, [short], "mastodon")

        async def run() -> None:
            async with HttpClient(timeout=5) as http:
                await link_after_sync(archive, config, http)
                await link_after_sync(archive, config, http)  # nothing asked twice

        asyncio.run(run())
        rows = archive.query("SELECT post_id, linked_id, relation, how FROM post_links")
        assert [tuple(r) for r in rows] == [(original.id, short.id, "copy", "link")]
        redirects = {r["url"]: r["target"] for r in archive.query("SELECT * FROM link_redirects")}
    assert redirects == {
        normalize_url(server.url("/s/abc")): normalize_url(blog_url),
        normalize_url(server.url("/s/dead")): None,
    }
    assert len(server.requests_to("/s/abc")) == 1 and len(server.requests_to("/s/dead")) == 1
