import json
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ownfeed.archive import Archive, store_posts
from ownfeed.archive.store import _GROWING, _growing_values, _visible, mark_gone, media_id
from ownfeed.models import Author, Gone, Media, Post, SourceResult, html_to_text, post_id


@pytest.fixture
def archive(tmp_path):
    with Archive(tmp_path / "a.db") as instance:
        yield instance


def put(archive, *posts, source="blog", now=None):
    with archive.transaction():
        return store_posts(archive, list(posts), source, now)


def row(archive, native_id, platform="web"):
    return archive.one(
        "SELECT * FROM posts WHERE platform = ? AND native_id = ?", (platform, native_id)
    )


def blog_post(**changes):
    values = dict(
        platform="web",
        native_id="https://b/?p=1",
        url="https://b/one/",
        title="One",
        content_html="<p>First text</p>",
        author=Author("web", name="Björn"),
        published_at=datetime(2025, 1, 1, tzinfo=UTC),
        tags=("News",),
    )
    values.update(changes)
    return Post(**values)


def test_schema_version_and_wal(archive, tmp_path):
    version = archive.one("PRAGMA user_version")[0]
    assert version == archive.schema_version >= 1  # one per migration
    assert archive.one("PRAGMA journal_mode")[0] == "wal"
    again = Archive(tmp_path / "a.db")  # migrations are idempotent
    assert again.schema_version == version
    again.close()


def test_new_post_has_version_one(archive):
    counts = put(archive, blog_post())
    assert (counts.new, counts.updated, counts.unchanged) == (1, 0, 0)
    stored = row(archive, "https://b/?p=1")
    assert stored["id"] == post_id("web", "https://b/?p=1")
    assert stored["versions"] == 1
    assert stored["thread_root"] == stored["id"]
    assert stored["content_text"] == "First text"
    versions = archive.query("SELECT * FROM post_versions WHERE post_id = ?", (stored["id"],))
    assert [v["version"] for v in versions] == [1]


def test_unchanged_resync_only_moves_last_seen(archive):
    put(archive, blog_post(), now=datetime(2025, 1, 2, tzinfo=UTC))
    counts = put(archive, blog_post(), now=datetime(2025, 1, 3, tzinfo=UTC))
    assert (counts.new, counts.updated, counts.unchanged) == (0, 0, 1)
    stored = row(archive, "https://b/?p=1")
    assert stored["versions"] == 1
    assert stored["first_seen_at"].startswith("2025-01-02")
    assert stored["last_seen_at"].startswith("2025-01-03")


def test_edit_adds_a_version_and_keeps_the_first(archive):
    put(archive, blog_post())
    counts = put(archive, blog_post(content_html="<p>Second text</p>"))
    assert counts.updated == 1
    stored = row(archive, "https://b/?p=1")
    assert stored["versions"] == 2
    assert stored["content_text"] == "Second text"
    versions = archive.query(
        "SELECT version, content_html FROM post_versions WHERE post_id = ? ORDER BY version",
        (stored["id"],),
    )
    assert [(v["version"], v["content_html"]) for v in versions] == [
        (1, "<p>First text</p>"),
        (2, "<p>Second text</p>"),
    ]


def test_markup_only_change_updates_html_without_a_version(archive):
    put(archive, blog_post())
    put(archive, blog_post(content_html="<div>First   text</div>"))
    stored = row(archive, "https://b/?p=1")
    assert stored["versions"] == 1
    assert stored["content_html"] == "<div>First   text</div>"


def test_knowledge_only_grows(archive):
    parent = blog_post()
    reply = Post(
        "web",
        "https://b/?p=1#comment-5",
        kind="reply",
        is_own=False,
        content_html="<p>Nice</p>",
        in_reply_to="https://b/?p=1",
        thread_root="https://b/?p=1",
        tags=("a",),
        media=(Media("https://b/x.png"),),
    )
    put(archive, parent, reply)
    # a later delivery that knows less: no parent, no root, other tags, no media
    put(
        archive,
        Post(
            "web", "https://b/?p=1#comment-5", is_own=False, content_html="<p>Nice</p>", tags=("b",)
        ),
    )
    stored = row(archive, "https://b/?p=1#comment-5")
    assert stored["in_reply_to"] == post_id("web", "https://b/?p=1")
    assert stored["thread_root"] == post_id("web", "https://b/?p=1")
    assert stored["kind"] == "reply"
    tags = {
        r["tag"]
        for r in archive.query("SELECT tag FROM post_tags WHERE post_id = ?", (stored["id"],))
    }
    assert tags == {"a", "b"}
    assert archive.one("SELECT count(*) FROM media WHERE post_id = ?", (stored["id"],))[0] == 1


def test_reply_archived_before_its_parent_is_linked_later(archive):
    reply = Post(
        "web",
        "c1",
        kind="reply",
        is_own=False,
        content_html="x",
        in_reply_to="p1",
        thread_root="p1",
    )
    put(archive, reply)
    assert row(archive, "c1")["in_reply_to"] is None
    put(archive, Post("web", "p1", content_html="parent"))
    assert row(archive, "c1")["in_reply_to"] == post_id("web", "p1")


def test_post_stored_once_whoever_delivers_it(archive):
    put(archive, blog_post(), source="blog")
    put(archive, blog_post(), source="wordpress-import")
    assert archive.one("SELECT count(*) FROM posts")[0] == 1
    assert row(archive, "https://b/?p=1")["source"] == "blog"


def test_gone_is_marked_kept_and_cleared_when_seen_again(archive):
    put(archive, blog_post())
    with archive.transaction():
        assert (
            mark_gone(archive, SourceResult(gone=[Gone("web", "https://b/?p=1", "HTTP 410")])) == 1
        )
    stored = row(archive, "https://b/?p=1")
    assert stored["gone_at"] and stored["gone_reason"] == "HTTP 410"
    put(archive, blog_post())
    assert row(archive, "https://b/?p=1")["gone_at"] is None


def test_fts_follows_inserts_and_edits(archive):
    put(archive, blog_post(content_html="<p>Vertrauen ist gut</p>"))
    search = "SELECT count(*) FROM posts_fts WHERE posts_fts MATCH ?"
    assert archive.one(search, ("Vertrauen",))[0] == 1
    put(archive, blog_post(content_html="<p>Kontrolle ist besser</p>"))
    assert archive.one(search, ("Vertrauen",))[0] == 0
    assert archive.one(search, ("Kontrolle",))[0] == 1


def test_author_names_keep_umlauts(archive):
    put(archive, blog_post())
    assert archive.one("SELECT name FROM authors")[0] == "Björn"


def test_failed_batch_writes_nothing(archive):
    with pytest.raises(RuntimeError), archive.transaction():
        store_posts(archive, [blog_post()], "blog")
        raise RuntimeError("crash in the middle")
    assert archive.one("SELECT count(*) FROM posts")[0] == 0


def test_import_provenance_survives_a_later_sync(archive):
    provenance = {"kind": "twitter", "file": "x.zip", "entry": "data/tweets.js", "at": "2025-01-01"}
    put(archive, blog_post(raw={"import": provenance, "tweet": {"id": "1"}}))
    put(archive, blog_post(raw={"api": "fresh"}))
    raw = json.loads(row(archive, "https://b/?p=1")["raw"])
    assert raw == {"api": "fresh", "import": provenance}


_FILE = "media_attachments/files/109/215/001/original/a1b2c3.jpg"


def toot(*media):
    return Post(
        platform="mastodon",
        native_id="https://social.example/users/co/statuses/1",
        content_html="<p>Katze</p>",
        media=media,
    )


def media_rows(archive):
    return archive.query("SELECT * FROM media ORDER BY url")


def test_a_file_imported_before_the_first_sync_keeps_one_media_row(archive):
    # the import guessed the instance's own host; the API names the separate media host
    put(archive, toot(Media(f"https://social.example/system/{_FILE}")), source="import")
    archive.conn.execute("UPDATE media SET local_path = 'media/ab.jpg', sha256 = 'ab'")
    upstream = Media(f"https://files.social.example/{_FILE}", alt="Eine Katze", width=640)
    second = Media(
        "https://files.social.example/media_attachments/files/109/215/002/original/d.png"
    )
    put(archive, toot(upstream, second), source="mastodon")
    put(archive, toot(upstream, second), source="mastodon")  # and again: still no new row
    rows = media_rows(archive)
    assert [row["url"] for row in rows] == [second.url, f"https://social.example/system/{_FILE}"]
    kept = rows[1]
    assert (kept["local_path"], kept["sha256"]) == ("media/ab.jpg", "ab")
    assert (kept["alt"], kept["width"]) == ("Eine Katze", 640)


def test_other_files_and_renditions_keep_their_own_media_rows(archive):
    put(archive, toot(Media(f"https://social.example/system/{_FILE}")))
    other_post = Post(
        platform="mastodon",
        native_id="https://social.example/users/co/statuses/2",
        content_html="<p>Hund</p>",
        media=(Media(f"https://files.social.example/{_FILE}"),),
    )
    small = Media(f"https://social.example/system/{_FILE}?w=300")
    short = Media("https://cdn.example/original/a1b2c3.jpg")  # too little of the path in common
    put(archive, other_post, toot(small, short))
    assert len(media_rows(archive)) == 4


def test_an_archive_that_already_has_both_rows_keeps_updating_each(archive):
    guess, upstream = (
        f"https://social.example/system/{_FILE}",
        f"https://files.social.example/{_FILE}",
    )
    put(archive, toot(Media(guess)))
    archive.conn.execute(  # a second row made before the fix
        "INSERT INTO media (id, post_id, url) SELECT ?, post_id, ? FROM media",
        (media_id(toot().id, upstream), upstream),
    )
    put(archive, toot(Media(guess, alt="erste"), Media(upstream, alt="zweite")))
    assert [row["alt"] for row in media_rows(archive)] == ["zweite", "erste"]


@pytest.mark.parametrize(
    "text",
    [
        None,
        "",
        "  Plain\ttitle \n with   gaps ",
        "Tabs\u00a0and\u2003unicode\u3000spaces\x1c\x1f",
        "Fish &amp; chips",
        "a < b",
        "<p>Mark<br>up</p>",
        "\u200b zero width is no space",
    ],
)
def test_plain_text_fast_path_matches_html_to_text(text):
    assert _visible(text) == html_to_text(text)


def test_an_author_object_given_again_after_another_with_its_id_wins_again(archive):
    """Authors are merged like one upsert per post, also when one object is queued twice."""
    first = Author("web", handle="b", name="Björn", url="https://b/")
    second = Author("web", handle="b", name="Bjoern", avatar_url="https://b/a.png")
    put(
        archive,
        blog_post(native_id="1", author=first),
        blog_post(native_id="2", author=second),
        blog_post(native_id="3", author=first),
        blog_post(native_id="4", author=first),
    )
    author = archive.one("SELECT handle, name, url, avatar_url FROM authors")
    assert tuple(author) == ("b", "Björn", "https://b/", "https://b/a.png")
    put(archive, blog_post(native_id="5", author=second), blog_post(native_id="6", author=second))
    author = archive.one("SELECT handle, name, url, avatar_url FROM authors")
    assert tuple(author) == ("b", "Bjoern", "https://b/", "https://b/a.png")


_SOMETIMES = st.one_of(st.none(), st.just(1))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(_SOMETIMES, _SOMETIMES, _SOMETIMES, _SOMETIMES), min_size=1, max_size=6))
def test_columns_no_new_row_has_are_left_out_and_stored_as_null(tmp_path_factory, shapes):
    """A multi-row INSERT leaves out the columns all its rows lack; each row stores exactly
    the values it has."""
    given = [
        Post(
            "web",
            f"https://b/?p={number}",
            url=f"https://b/{number}/" if url else None,
            title="T" if title else None,
            content_html="<p>x</p>",
            language="de" if language else None,
            reply_count=number if replies else None,
            raw={"n": number},
        )
        for number, (url, title, language, replies) in enumerate(shapes)
    ]
    with Archive(tmp_path_factory.mktemp("a") / "a.db") as archive:
        put(archive, *given)
        for post in given:
            stored = row(archive, post.native_id)
            expected = _growing_values(post, None)
            assert tuple(stored[column] for column in _GROWING) == expected
            assert stored["content_text"] == "x"
            assert stored["versions"] == 1 and stored["kind"] == "post" and stored["is_own"] == 1
        found = archive.query("SELECT rowid FROM posts_fts WHERE posts_fts MATCH 't'")
        assert len(found) == sum(1 for post in given if post.title)
