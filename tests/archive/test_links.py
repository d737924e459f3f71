"""post_links in the archive: detection in both arrival orders, corrections, merged threads."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from ownfeed.archive import Archive, queries, store_posts
from ownfeed.archive.links import (
    LinkError,
    LinkReport,
    link_manually,
    link_posts,
    save_redirects,
    unlink,
    unresolved_links,
)
from ownfeed.models import Author, Post, post_id

T0 = datetime(2025, 4, 2, 14, 30, tzinfo=UTC)
BLOG = "https://blog.novosyx.example"
MASTO = "https://social.novosyx.example"
BSKY = "https://bsky.app/profile/novosyx.bsky.social/post"
US_WEB = Author("web", name="Novosyx")
US_MASTO = Author("mastodon", handle="@novosyx@social.novosyx.example", name="Novosyx")
US_BSKY = Author("bluesky", handle="novosyx.bsky.social", name="Novosyx")
ANA = Author("mastodon", handle="@ana@social.novosyx.example", name="Ana")
ZOE = Author("bluesky", handle="zoe.bsky.social", name="Zoë")


@pytest.fixture
def archive(tmp_path: Path) -> Iterator[Archive]:
    with Archive(tmp_path / "archive.db") as instance:
        yield instance


def put(archive: Archive, *posts: Post, source: str = "blog", hours: float = 0) -> None:
    with archive.transaction():
        store_posts(archive, list(posts), source, now=T0 + timedelta(days=30, hours=hours))


def link(archive: Archive, **options: Any) -> LinkReport:
    with archive.transaction():
        return link_posts(archive, **options)


def rows(archive: Archive) -> set[tuple[str, str, str, str]]:
    return {
        (r["post_id"], r["linked_id"], r["relation"], r["how"])
        for r in archive.query("SELECT * FROM post_links")
    }


def blog(slug: str = "vertrauen", html: str = "<p>Vertrauen ist alles.</p>", **kw: Any) -> Post:
    values: dict[str, Any] = dict(
        platform="web",
        native_id=f"{BLOG}/?p={slug}",
        url=f"{BLOG}/2025/{slug}/",
        title=slug.title(),
        content_html=html,
        author=US_WEB,
        published_at=T0,
    )
    values.update(kw)
    return Post(**values)


def toot(n: int, html: str, **kw: Any) -> Post:
    values: dict[str, Any] = dict(
        platform="mastodon",
        native_id=f"{MASTO}/users/novosyx/statuses/{n}",
        url=f"{MASTO}/@novosyx/{n}",
        content_html=html,
        author=US_MASTO,
        published_at=T0 + timedelta(minutes=30 + n),
    )
    values.update(kw)
    return Post(**values)


def skeet(rkey: str, text: str, raw: Any = None, **kw: Any) -> Post:
    values: dict[str, Any] = dict(
        platform="bluesky",
        native_id=f"at://did:plc:novosyx/app.bsky.feed.post/{rkey}",
        url=f"{BSKY}/{rkey}",
        content_html=f"<p>{text}</p>",
        author=US_BSKY,
        published_at=T0 + timedelta(minutes=35),
        raw=raw,
    )
    values.update(kw)
    return Post(**values)


def ident(post: Post) -> str:
    return post_id(post.platform, post.native_id)


LINKING = f'<p>Neu im Blog: <a href="{BLOG}/2025/vertrauen/?utm_source=mastodon">lesen</a></p>'


def card(url: str) -> dict[str, Any]:
    return {"embed": {"$type": "app.bsky.embed.external#view", "external": {"uri": url}}}


def test_copies_by_link_and_card_and_no_row_for_unrelated_links(archive: Archive) -> None:
    original = blog()
    announce = toot(1, LINKING)
    carded = skeet(
        "a", "Vertrauen ist alles: unser neuer Blogartikel.", card(f"{BLOG}/2025/vertrauen")
    )
    unrelated = toot(2, '<p>Lest das: <a href="https://news.example/vertrauen/">hier</a></p>')
    homepage = toot(3, f'<p>Unser Blog: <a href="{BLOG}/">{BLOG}</a></p>')
    put(archive, original)
    put(archive, announce, unrelated, homepage, source="mastodon")
    put(archive, carded, source="bluesky")
    report = link(archive)
    assert report.added == 2 and report.scanned == 5
    assert rows(archive) == {
        (ident(original), ident(announce), "copy", "link"),
        (ident(original), ident(carded), "copy", "card"),
    }


def test_a_copy_archived_before_its_original_is_linked_when_it_arrives(archive: Archive) -> None:
    announce = toot(1, LINKING)
    put(archive, toot(2, "<p>Älter</p>"), source="mastodon", hours=-1)
    put(archive, announce, source="mastodon")
    assert link(archive).added == 0
    put(archive, blog(), hours=1)
    report = link(archive)
    assert report.scanned == 1  # only what changed since the last run
    assert rows(archive) == {(ident(blog()), ident(announce), "copy", "link")}
    again = link(archive)
    assert again.added == again.removed == 0


def test_mentions_by_others_pingbacks_and_our_own_replies(archive: Archive) -> None:
    original = blog()
    other = toot(
        9,
        f'<p>Guter Text: <a href="{BLOG}/2025/vertrauen/">{BLOG}</a></p>',
        native_id=f"{MASTO}/users/ana/statuses/9",
        url=f"{MASTO}/@ana/9",
        author=ANA,
        is_own=False,
    )
    pingback = Post(
        platform="web",
        native_id=f"{BLOG}/?p=vertrauen#comment-7",
        kind="pingback",
        is_own=False,
        url="https://breakpoint.example/fuenf-thesen/#comment-7",
        content_html="<p>[…] Novosyx schreibt, Vertrauen sei alles. […]</p>",
        in_reply_to=f"{BLOG}/?p=vertrauen",
        thread_root=f"{BLOG}/?p=vertrauen",
        published_at=T0 + timedelta(days=1),
    )
    put(archive, pingback)  # before its post: linked once the post arrives
    link(archive)
    put(archive, original, hours=1)
    put(archive, other, source="mastodon", hours=1)
    link(archive)
    assert rows(archive) == {
        (ident(original), ident(other), "mention", "link"),
        (ident(original), ident(pingback), "mention", "link"),
    }
    post = queries.find_post(archive, ident(original))
    assert post is not None
    assert [m["id"] for m in queries.mentions_of(archive, post["id"])] == [
        ident(other),
        ident(pingback),
    ]
    assert ident(pingback) not in {item["id"] for item in queries.thread(archive, post)}


def test_a_blog_post_linking_a_toot_mentions_it_and_is_no_copy(archive: Archive) -> None:
    announce = toot(1, "<p>Wir sind jetzt im Fediverse!</p>")
    article = blog(html=f'<p>Wie <a href="{MASTO}/@novosyx/1">angekündigt</a>: mehr.</p>')
    put(archive, announce, source="mastodon")
    put(archive, article)
    link(archive)
    assert rows(archive) == {(ident(announce), ident(article), "mention", "link")}


def test_syndication_links_name_the_copies_in_either_order(archive: Archive) -> None:
    syndicated = blog(
        html=f'<p>Text</p><a class="u-syndication" href="{MASTO}/@novosyx/5">Mastodon</a>'
    )
    put(archive, syndicated)
    link(archive)
    copy = toot(5, "<p>Ein Text ohne Link.</p>")
    put(archive, copy, source="mastodon", hours=1)
    link(archive)
    assert rows(archive) == {(ident(syndicated), ident(copy), "copy", "syndication")}


def test_a_copy_of_a_copy_joins_the_first_original(archive: Archive) -> None:
    original = blog()
    announce = toot(1, LINKING)
    relayed = skeet("b", "Siehe Mastodon", card(f"{MASTO}/@novosyx/1"))
    put(archive, announce, source="mastodon")
    put(archive, relayed, source="bluesky")
    link(archive)
    assert rows(archive) == {(ident(announce), ident(relayed), "copy", "card")}
    put(archive, original, hours=1)  # the blog post arrives: the toot's copy moves to it
    link(archive)
    assert rows(archive) == {
        (ident(original), ident(announce), "copy", "link"),
        (ident(original), ident(relayed), "copy", "card"),
    }


def test_near_identical_texts_are_copies_with_threshold_and_window(archive: Archive) -> None:
    text = "Novosyx 2.0 ist da: Export, Suche und ein dunkler Modus."
    first = toot(1, f"<p>{text}</p>")
    second = skeet("c", text + " 🚀")
    far = skeet("d", text, published_at=T0 + timedelta(days=5))
    put(archive, first, source="mastodon")
    put(archive, second, far, source="bluesky")
    link(archive, text_window_hours=0)
    assert rows(archive) == set()
    link(archive, full=True)
    assert rows(archive) == {(ident(first), ident(second), "copy", "text")}


def test_text_threshold_from_config(archive: Archive) -> None:
    first = toot(1, "<p>Wir sind auf der Messe in Köln, Halle 7. Kommt vorbei!</p>")
    second = skeet("e", "Wir sind auf der Messe in Köln, Halle 8. Kommt alle vorbei!")
    put(archive, first, source="mastodon")
    put(archive, second, source="bluesky")
    link(archive, text_threshold=0.99)
    assert rows(archive) == set()
    link(archive, full=True, text_threshold=0.8)
    assert rows(archive) == {(ident(first), ident(second), "copy", "text")}


def test_ambiguous_addresses_link_nothing(archive: Archive) -> None:
    one = blog("a", url=f"{BLOG}/")
    two = blog("b", url=f"{BLOG}/")  # a broken feed: every item links the home page
    put(archive, one, two)
    put(archive, toot(1, f'<p><a href="{BLOG}/">Blog</a></p>'), source="mastodon")
    link(archive)
    assert rows(archive) == set()


def test_a_link_edited_away_removes_the_detected_copy(archive: Archive) -> None:
    original = blog()
    put(archive, original, toot(1, LINKING))
    link(archive)
    assert len(rows(archive)) == 1
    put(archive, toot(1, "<p>Neu im Blog, ohne Link.</p>"), source="mastodon", hours=2)
    report = link(archive)
    assert report.removed == 1 and rows(archive) == set()


def test_manual_link_and_unlink_survive_detection(archive: Archive) -> None:
    original = blog()
    announce = toot(1, LINKING)
    loose = skeet("f", "Ein Post ganz ohne Link.")
    put(archive, original)
    put(archive, announce, source="mastodon")
    put(archive, loose, source="bluesky")
    link(archive)
    with archive.transaction():
        assert unlink(archive, ident(original), ident(announce)) == 1
        link_manually(archive, ident(original), ident(loose))
    link(archive, full=True)
    put(archive, announce, source="mastodon", hours=3)  # re-synced: detection runs again
    link(archive)
    assert rows(archive) == {(ident(original), ident(loose), "copy", "manual")}
    row = archive.one("SELECT * FROM post_link_overrides")
    assert (row["post_id"], row["linked_id"], row["action"]) == (
        ident(original),
        ident(announce),
        "unlink",
    )
    with archive.transaction():  # linking again by hand lifts the override
        link_manually(archive, ident(original), ident(announce))
    assert archive.one("SELECT count(*) FROM post_link_overrides")[0] == 0
    assert (ident(original), ident(announce), "copy", "manual") in rows(archive)


def test_manual_copy_is_never_moved_by_stronger_evidence(archive: Archive) -> None:
    other = blog("andere")
    announce = toot(1, LINKING)
    put(archive, other, announce)
    with archive.transaction():
        link_manually(archive, ident(other), ident(announce))
    put(archive, blog(), hours=1)
    link(archive)
    assert rows(archive) == {(ident(other), ident(announce), "copy", "manual")}


def test_manual_link_checks(archive: Archive) -> None:
    original = blog()
    announce = toot(1, LINKING)
    theirs = toot(2, "<p>Nicht unser</p>", author=ANA, is_own=False)
    loose = skeet("g", "Noch ein Post.")
    put(archive, original, announce, theirs, loose)
    link(archive)
    with archive.transaction(), pytest.raises(LinkError, match="not one of our posts"):
        link_manually(archive, ident(theirs), ident(original))
    with archive.transaction(), pytest.raises(LinkError, match="mention"):
        link_manually(archive, ident(original), ident(theirs))
    with archive.transaction(), pytest.raises(LinkError, match="is a copy of"):
        link_manually(archive, ident(announce), ident(loose))
    with archive.transaction(), pytest.raises(LinkError, match="itself"):
        link_manually(archive, ident(original), ident(original))
    with archive.transaction(), pytest.raises(LinkError, match="no post"):
        unlink(archive, ident(original), "0000000000000000")
    with archive.transaction():
        link_manually(archive, ident(original), ident(theirs), "mention")
    assert (ident(original), ident(theirs), "mention", "manual") in rows(archive)


def test_swapping_original_and_copy_by_hand(archive: Archive) -> None:
    original = blog()
    announce = toot(1, LINKING)
    put(archive, original, announce)
    link(archive)
    with archive.transaction():
        link_manually(archive, ident(announce), ident(original))
    assert rows(archive) == {(ident(announce), ident(original), "copy", "manual")}
    link(archive, full=True)  # the toot's link does not turn it back
    assert rows(archive) == {(ident(announce), ident(original), "copy", "manual")}


def test_short_links_followed_by_the_sync_link_the_post(archive: Archive) -> None:
    original = blog()
    short = toot(1, '<p>Neu: <a href="https://bit.ly/3xyz">bit.ly/3xyz</a></p>')
    put(archive, original)
    put(archive, short, source="mastodon")
    link(archive)
    assert rows(archive) == set()
    assert unresolved_links(archive, {"bit.ly"}, 10) == ["https://bit.ly/3xyz"]
    with archive.transaction():
        posts = save_redirects(archive, {"https://bit.ly/3xyz": f"{BLOG}/2025/vertrauen/"})
        assert posts == [ident(short)]
        link_posts(archive, only=posts)
    assert rows(archive) == {(ident(original), ident(short), "copy", "link")}
    assert unresolved_links(archive, {"bit.ly"}, 10) == []
    with archive.transaction():  # a failed lookup is not asked again this week
        save_redirects(archive, {"https://bit.ly/other": None}, {"https://bit.ly/other": "404"})
    assert unresolved_links(archive, {"bit.ly"}, 10) == []


def _thread_replies(archive: Archive) -> tuple[Post, Post, Post, list[Post]]:
    original = blog()
    announce = toot(1, LINKING)
    carded = skeet("a", "Vertrauen ist alles.", card(f"{BLOG}/2025/vertrauen/"))
    comment = Post(
        platform="web",
        native_id=f"{BLOG}/?p=vertrauen#comment-1",
        kind="reply",
        is_own=False,
        content_html="<p>Sehr wahr.</p>",
        in_reply_to=original.native_id,
        thread_root=original.native_id,
        published_at=T0 + timedelta(hours=2),
    )
    on_toot = toot(
        20,
        "<p>Danke für den Artikel!</p>",
        native_id=f"{MASTO}/users/ana/statuses/20",
        url=f"{MASTO}/@ana/20",
        kind="reply",
        is_own=False,
        author=ANA,
        in_reply_to=announce.native_id,
        thread_root=announce.native_id,
        published_at=T0 + timedelta(hours=1),
    )
    on_skeet = skeet(
        "z",
        "Großartig geschrieben!",
        kind="reply",
        is_own=False,
        author=ZOE,
        native_id="at://did:plc:zoe/app.bsky.feed.post/z",
        url="https://bsky.app/profile/zoe.bsky.social/post/z",
        in_reply_to=carded.native_id,
        thread_root=carded.native_id,
        published_at=T0 + timedelta(hours=3),
    )
    answer = skeet(
        "y",
        "Danke, Zoë!",
        kind="reply",
        in_reply_to=on_skeet.native_id,
        thread_root=carded.native_id,
        published_at=T0 + timedelta(hours=4),
    )
    put(archive, original, comment)
    put(archive, announce, on_toot, source="mastodon")
    put(archive, carded, on_skeet, answer, source="bluesky")
    link(archive)
    return original, announce, carded, [on_toot, comment, on_skeet, answer]


def test_merged_thread_orders_by_time_and_nests(archive: Archive) -> None:
    original, announce, carded, replies = _thread_replies(archive)
    on_toot, comment, on_skeet, answer = replies
    for start in (original, announce, carded, answer):
        post = queries.find_post(archive, ident(start))
        assert post is not None
        items = queries.thread(archive, post)
        assert [(i["id"], i["depth"], i["platform"]) for i in items] == [
            (ident(original), 0, "web"),
            (ident(on_toot), 1, "mastodon"),
            (ident(comment), 1, "web"),
            (ident(on_skeet), 1, "bluesky"),
            (ident(answer), 2, "bluesky"),
        ]
        assert [i["via"] for i in items] == [
            None,
            ident(announce),
            None,
            ident(carded),
            ident(carded),
        ]
    copies = queries.copies_of(archive, ident(announce))
    assert {c["id"] for c in copies} == {ident(announce), ident(carded)}
    first = queries.original_of(archive, ident(carded))
    assert first is not None and first["id"] == ident(original)
    assert queries.original_of(archive, ident(original)) is None
