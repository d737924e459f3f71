"""The WordPress export (WXR): posts, pages, the comment tree, and a merge with the feed."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from ownfeed.archive import Archive, store_posts
from ownfeed.importers.wordpress import autop
from ownfeed.sources.feedparse import parse_comments, parse_feed
from tests.importers import DATA, do_import, import_error, pairs, post, snapshot

WXR = DATA / "wordpress.xml"
SITE = "https://blog.novosyx.example"
HELLO = f"{SITE}/?p=37"


def test_published_posts_and_pages_with_approved_comments(archive: Archive, tmp_path: Path) -> None:
    report = do_import(archive, "wordpress", WXR, tmp_path / "media")
    assert (report.new, report.updated, report.unchanged) == (9, 0, 0)
    assert report.warnings == ["wordpress.xml: skipped 2 unpublished or protected posts"]
    own = pairs(archive, "SELECT native_id, title FROM posts WHERE is_own = 1")
    assert own == {
        HELLO: "Hello & welcome",
        f"{SITE}/?p=38": "Block editor post",
        f"{SITE}/?page_id=2": "About",
    }
    comments = {r[0] for r in archive.query("SELECT native_id FROM posts WHERE is_own = 0")}
    assert comments == {
        f"{HELLO}#comment-{n}" for n in (5, 6, 8, 9, 10, 12)
    }  # not 7 (held), 11 (spam)


def test_post_fields(archive: Archive, tmp_path: Path) -> None:
    do_import(archive, "wordpress", WXR, tmp_path / "media")
    hello = post(archive, "web", HELLO)
    assert hello["url"] == f"{SITE}/hello-world/"
    assert hello["content_html"] == (
        "<p>Welcome to our new blog.</p>\n"
        "<p>We write about <em>small teams</em>.<br />\nEvery week.</p>"
    )
    assert (hello["published_at"], hello["language"], hello["reply_count"]) == (
        "2020-01-01T10:00:00+00:00",
        "en-US",
        6,
    )
    tags = {
        r[0] for r in archive.query("SELECT tag FROM post_tags WHERE post_id = ?", (hello["id"],))
    }
    assert tags == {"News", "Launch"}  # the post format is no tag
    author = archive.one("SELECT name FROM authors WHERE id = ?", (hello["author_id"],))
    assert author is not None and author[0] == "Jane Doe"  # display name, as the feed says
    blocks = post(archive, "web", f"{SITE}/?p=38")
    assert blocks["content_text"] == "Written with blocks."


def test_comment_tree_nests_by_comment_parent(archive: Archive, tmp_path: Path) -> None:
    do_import(archive, "wordpress", WXR, tmp_path / "media")
    hello = post(archive, "web", HELLO)
    rows = {n: post(archive, "web", f"{HELLO}#comment-{n}") for n in (5, 6, 8, 9, 10, 12)}
    assert rows[5]["in_reply_to"] == hello["id"]
    assert rows[6]["in_reply_to"] == rows[5]["id"]
    assert rows[12]["in_reply_to"] == rows[6]["id"]
    assert rows[8]["in_reply_to"] == hello["id"]  # its parent is held for moderation
    assert {r["thread_root"] for r in rows.values()} == {hello["id"]}
    assert {n for n, r in rows.items() if r["kind"] == "pingback"} == {9, 10}
    assert {r["is_own"] for r in rows.values()} == {0}
    assert rows[12]["url"] == f"{SITE}/hello-world/#comment-12"
    assert rows[12]["in_reply_to_url"] == f"{SITE}/hello-world/#comment-6"
    assert rows[5]["content_html"] == "<p>Congratulations!<br />\nLooking forward to it.</p>"
    assert rows[9]["content_text"] == "[…] Novosyx said hello […]"
    assert "mail.example" not in rows[5]["raw"] and "192.0.2" not in rows[5]["raw"]


def test_attachments_are_media_left_for_the_next_sync(archive: Archive, tmp_path: Path) -> None:
    report = do_import(archive, "wordpress", WXR, tmp_path / "media")
    assert report.media_copied == 0
    rows = archive.query("SELECT post_id, url, local_path, kind FROM media ORDER BY post_id")
    image = f"{SITE}/wp-content/uploads/2020/01/team.jpg"
    assert {r["post_id"] for r in rows} == {
        post(archive, "web", HELLO)["id"],  # attached to it
        post(archive, "web", f"{SITE}/?p=38")["id"],  # its featured image
    }
    assert {(r["url"], r["local_path"], r["kind"]) for r in rows} == {(image, None, "image")}


def test_reimport_changes_nothing(archive: Archive, tmp_path: Path) -> None:
    do_import(archive, "wordpress", WXR, tmp_path / "media")
    before = snapshot(archive, ignore=("last_seen_at",))
    report = do_import(archive, "wordpress", WXR, tmp_path / "media")
    assert (report.new, report.updated, report.unchanged) == (0, 0, 9)
    assert snapshot(archive, ignore=("last_seen_at",)) == before


POSTS_FEED = f"""<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"
  xmlns:content="http://purl.org/rss/1.0/modules/content/"
  xmlns:wfw="http://wellformedweb.org/CommentAPI/"
  xmlns:dc="http://purl.org/dc/elements/1.1/"
  xmlns:slash="http://purl.org/rss/1.0/modules/slash/">
<channel>
  <title>Novosyx Blog</title><link>{SITE}</link><description>Software for small teams</description>
  <language>en-US</language>
  <item>
    <title>Hello &#038; welcome</title>
    <link>{SITE}/hello-world/</link>
    <comments>{SITE}/hello-world/#comments</comments>
    <dc:creator><![CDATA[Jane Doe]]></dc:creator>
    <pubDate>Wed, 01 Jan 2020 10:00:00 +0000</pubDate>
    <category><![CDATA[News]]></category>
    <category><![CDATA[Launch]]></category>
    <guid isPermaLink="false">{HELLO}</guid>
    <description><![CDATA[Welcome to our new blog. We write about small teams.]]></description>
    <content:encoded><![CDATA[<p>Welcome to our new blog.</p>
<p>We write about <em>small teams</em>.<br />
Every week.</p>
]]></content:encoded>
    <wfw:commentRss>{SITE}/hello-world/feed/</wfw:commentRss>
    <slash:comments>6</slash:comments>
  </item>
</channel></rss>"""


def _link(guid: str) -> str:
    """WordPress's thr:in-reply-to href: the parent comment's link, or the post's."""
    _, _, comment = guid.partition("#")
    return f"{SITE}/hello-world/" + (f"#{comment}" if comment else "")


def _comment_entry(number: int, author: str, uri: str, html: str, when: str, parent: str) -> str:
    return f"""<entry>
    <title type="html"><![CDATA[By: {author}]]></title>
    <link rel="alternate" href="{SITE}/hello-world/#comment-{number}" type="text/html" />
    <author><name>{author}</name><uri>{uri}</uri></author>
    <id>{HELLO}#comment-{number}</id>
    <updated>{when}</updated><published>{when}</published>
    <content type="html"><![CDATA[{html}]]></content>
    <thr:in-reply-to ref="{parent}" href="{_link(parent)}" type="text/html" />
  </entry>"""


BOB, DAY2, DAY3 = "https://bob.example", "2020-01-02T10:00:00Z", "2020-01-03T11:00:00Z"
CONGRATS = "<p>Congratulations!<br />\nLooking forward to it.</p>"
COMMENTS_FEED = f"""<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="en-US"
  xmlns:thr="http://purl.org/syndication/thread/1.0">
  <title type="text">Comments on: Hello &#038; welcome</title>
  <id>{SITE}/hello-world/feed/atom/</id><updated>2020-01-03T11:00:00Z</updated>
  {_comment_entry(12, "Bob Reader", BOB, "<p>You are welcome!</p>", DAY3, HELLO + "#comment-6")}
  {_comment_entry(6, "Jane Doe", SITE, "<p>Thank you, Bob.</p>", DAY2, HELLO + "#comment-5")}
  {_comment_entry(5, "Bob Reader", "https://bob.example", CONGRATS, "2020-01-02T09:00:00Z", HELLO)}
</feed>"""


def test_feed_and_export_of_the_same_blog_merge_into_one_row_each(
    archive: Archive, tmp_path: Path
) -> None:
    feed = parse_feed(POSTS_FEED.encode(), url=f"{SITE}/feed/", content_type="application/rss+xml")
    comments = parse_comments(
        COMMENTS_FEED.encode(),
        url=f"{SITE}/hello-world/feed/atom/",
        content_type="application/atom+xml",
        post_native_id=HELLO,
    )
    with archive.transaction():
        store_posts(archive, [*feed.posts, *comments], "blog")
    authors = {r[0] for r in archive.query("SELECT id FROM authors")}
    report = do_import(
        archive, "wordpress", WXR, tmp_path / "media", source="blog", source_type="feed"
    )
    # post 38, the page, comments 8, 9 and 10 are new; the feed had the rest, just the same
    assert (report.new, report.updated, report.unchanged) == (5, 0, 4)
    assert archive.one("SELECT count(*) FROM posts")[0] == 9  # type: ignore[index]
    assert archive.one("SELECT max(versions) FROM posts")[0] == 1  # type: ignore[index]
    hello = post(archive, "web", HELLO)
    assert (hello["source"], hello["title"]) == ("blog", "Hello & welcome")
    added = archive.query(
        f"SELECT name FROM authors WHERE id NOT IN ({','.join('?' * len(authors))})",
        sorted(authors),
    )
    assert {r[0] for r in added} == {"Carol", "Partner Blog", "Old Blog"}
    row = archive.one("SELECT type FROM sources WHERE name = 'blog'")
    assert row is not None and row[0] == "feed"


def test_an_export_inside_a_zip(archive: Archive, tmp_path: Path) -> None:
    bundle = tmp_path / "export.zip"
    with zipfile.ZipFile(bundle, "w") as archive_zip:
        archive_zip.write(WXR, "novosyx.WordPress.2024-01-01.xml")
    assert do_import(archive, "wordpress", bundle, tmp_path / "media").new == 9


BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE rss [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
]>
<rss><channel><title>&lol2;</title></channel></rss>"""


@pytest.mark.parametrize(
    ("document", "expected"),
    [
        (BOMB, "refusing XML with a DTD"),
        (
            b'<?xml version="1.0"?><!DOCTYPE rss SYSTEM "file:///etc/passwd"><rss/>',
            "refusing XML with a DTD",
        ),
        (WXR.read_bytes()[:5000], "invalid XML"),
        (b"", "invalid XML"),
        (b"<rss><channel><title>A plain feed</title></channel></rss>", "not a WordPress export"),
    ],
)
def test_unsafe_or_broken_xml_is_refused(
    archive: Archive, tmp_path: Path, document: bytes, expected: str
) -> None:
    path = tmp_path / "export.xml"
    path.write_bytes(document)
    message = import_error(archive, "wordpress", path, tmp_path)
    assert message.startswith("export.xml: ")
    assert expected in message


def test_autop_restores_paragraphs_like_wordpress() -> None:
    assert autop("One\ntwo\n\nThree") == "<p>One<br />\ntwo</p>\n<p>Three</p>"
    assert autop("<p>Already</p>") == "<p>Already</p>"
    assert autop("Intro\n\n<ul><li>a</li></ul>") == "<p>Intro</p>\n<ul><li>a</li></ul>"
    assert autop("  ") is None
