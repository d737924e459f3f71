"""Acceptance: one story, one thread.

The sample company's blog post "Vertrauen ist alles" is announced on Mastodon (a toot that
links to it) and on Bluesky (a skeet with its link card); it has comments on the blog and
replies on both platforms. Synced from the local sample servers and exported, the blog
post's page shows all of them in one thread with their platforms, the toot's and skeet's
pages point to it, and `ownfeed show --json` returns the same thread. A post with an
unrelated link is not merged; `ownfeed link` / `unlink` hold across syncs.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from ownfeed.archive import Archive, store_posts
from ownfeed.cli import cli
from ownfeed.demo import mastodon
from ownfeed.demo.blog import GUID_BASE
from ownfeed.demo.bluesky import OWN
from ownfeed.models import Post, post_id
from tests.company import World, sample_company

BLOG_POST = post_id("web", f"{GUID_BASE}/?p=2")
TOOT = post_id("mastodon", f"https://{mastodon.DOMAIN}/users/novosyx/statuses/113000000000000020")
SKEET = post_id("bluesky", f"at://{OWN.did}/app.bsky.feed.post/3llbbbbbbbb2b")
HELLO_SKEET = post_id("bluesky", f"at://{OWN.did}/app.bsky.feed.post/3lfaaaaaaaa2a")
MASTODON_ZIP = Path(__file__).parent / "data" / "import" / "mastodon.zip"
PLATFORMS = {"web": "Web", "mastodon": "Mastodon", "bluesky": "Bluesky"}


def zip_member(path: Path, name: str) -> bytes:
    with zipfile.ZipFile(path) as bundle:
        return bundle.read(name)


def rebuild_zip(source: Path, target: Path, changes: dict[str, bytes]) -> Path:
    """A copy of a zip with some members replaced."""
    with zipfile.ZipFile(source) as old, zipfile.ZipFile(target, "w") as new:
        for info in old.infolist():
            new.writestr(info, changes.get(info.filename, old.read(info)))
    return target


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    with sample_company(tmp_path) as company:
        yield company


@dataclass
class Article:
    ident: str
    ancestors: list[str]
    platform: str = ""
    links: list[str] = field(default_factory=list)  # u-url hrefs of its own meta line


class _Page(HTMLParser):
    """Articles (id, ancestors, platform label, upstream links) and every link of a page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.articles: dict[str, Article] = {}
        self.order: list[str] = []
        self.stack: list[Article | None] = []
        self.hrefs: list[tuple[str, str]] = []  # (class, href)
        self.in_platform: Article | None = None
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        classes = values.get("class", "").split()
        current = next((a for a in reversed(self.stack) if a is not None), None)
        if tag == "article":
            ident = values.get("id", "").removeprefix("p-")
            article = None
            if ident:
                article = Article(ident, [a.ident for a in self.stack if a is not None])
                self.articles[ident] = article
                self.order.append(ident)
            self.stack.append(article)
        elif tag == "a":
            self.hrefs.append((values.get("class", ""), values.get("href", "")))
            if current is not None and "u-url" in classes:
                current.links.append(values.get("href", ""))
        elif tag == "span" and "platform" in classes and current is not None:
            self.in_platform = current

    def handle_endtag(self, tag: str) -> None:
        if tag == "article" and self.stack:
            self.stack.pop()
        if tag == "span":
            self.in_platform = None

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self.in_platform is not None and not self.in_platform.platform:
            self.in_platform.platform = data.strip()


def page(world: World, ident: str) -> _Page:
    parser = _Page()
    parser.feed((world.site / "posts" / f"{ident}.html").read_text(encoding="utf-8"))
    parser.close()
    return parser


def conversation(world: World) -> dict[str, dict[str, Any]]:
    """Every reply in the threads of the blog post, the toot and the skeet (no pingbacks)."""
    with world.archive() as archive:
        rows = archive.query(
            """SELECT id, platform, url, kind, published_at, in_reply_to FROM posts
               WHERE thread_root IN (?, ?, ?) AND id NOT IN (?, ?, ?)""",
            (BLOG_POST, TOOT, SKEET) * 2,
        )
    return {row["id"]: dict(row) for row in rows if row["kind"] != "pingback"}


def test_the_blog_post_page_shows_one_thread_across_platforms(world: World) -> None:
    world.sync_and_export()
    world.mastodon.change_world()  # late replies on both platforms, on the same day
    world.bluesky.change_world()
    world.sync_and_export()
    replies = conversation(world)
    assert {r["platform"] for r in replies.values()} == {"web", "mastodon", "bluesky"}
    assert len(replies) == 7
    shown = page(world, BLOG_POST)
    for ident, reply in replies.items():
        article = shown.articles[ident]
        assert article.ancestors[0] == BLOG_POST  # inside the post's conversation
        assert article.platform == PLATFORMS[reply["platform"]]
        assert reply["url"] in article.links  # marked with its upstream link
    # nested where they nest: Jörg answers our answer to Zoë, on Bluesky
    for ident, reply in replies.items():
        parent = reply["in_reply_to"]
        if parent in replies:
            assert shown.articles[ident].ancestors[-1] == parent
    assert max(len(shown.articles[i].ancestors) for i in replies) == 3
    # ordered by time across platforms
    top = [
        i
        for i in shown.order
        if i in replies and replies[i]["in_reply_to"] in (BLOG_POST, TOOT, SKEET)
    ]
    assert top == sorted(top, key=lambda i: (replies[i]["published_at"], i))
    assert len(top) == 5
    # its copies as u-syndication links
    with world.archive() as archive:
        urls = {
            row["id"]: row["url"]
            for row in archive.query("SELECT id, url FROM posts WHERE id IN (?, ?)", (TOOT, SKEET))
        }
    syndication = {href for cls, href in shown.hrefs if "u-syndication" in cls.split()}
    assert syndication == set(urls.values())
    # the pingback is listed as a mention, not as a reply
    text = " ".join(shown.text)
    assert "Mentioned by" in text and "breakpoint" in text
    with world.archive() as archive:
        pingback = archive.one("SELECT id FROM posts WHERE kind = 'pingback'")
    assert pingback is not None and pingback["id"] not in shown.articles
    # feeds carry the copies too
    atom = ET.parse(world.site / "feed.xml").getroot()
    ns = {"a": "http://www.w3.org/2005/Atom"}
    entry = next(
        e
        for e in atom.findall("a:entry", ns)
        if e.findtext("a:title", namespaces=ns) == "Vertrauen ist alles"
    )
    links = {x.get("href") for x in entry.findall("a:link", ns) if x.get("rel") == "syndication"}
    assert links == set(urls.values())
    items = json.loads((world.site / "feed.json").read_text(encoding="utf-8"))["items"]
    item = next(i for i in items if i["title"] == "Vertrauen ist alles")
    assert set(item["_syndication"]["urls"]) == set(urls.values())
    # the lists count the replies on every platform
    index = (world.site / "index.html").read_text(encoding="utf-8")
    assert "7 replies" in index


def test_the_copies_pages_point_to_the_original(world: World) -> None:
    world.sync_and_export()
    for copy in (TOOT, SKEET):
        shown = page(world, copy)
        assert ("", f"../posts/{BLOG_POST}.html") in shown.hrefs or any(
            href == f"../posts/{BLOG_POST}.html" for _, href in shown.hrefs
        )
    hello = page(world, HELLO_SKEET)  # links the blog's home page: no original
    assert not any(href.endswith(f"{BLOG_POST}.html") for _, href in hello.hrefs)


def test_show_json_returns_the_same_merged_thread(world: World) -> None:
    world.sync_and_export()
    replies = conversation(world)
    on_page = {i for i in page(world, BLOG_POST).articles if i in replies}
    for ident in (BLOG_POST, TOOT[:8], SKEET):
        shown = world.show(ident)
        thread = shown["thread"]
        assert thread[0]["id"] == BLOG_POST and thread[0]["depth"] == 0
        assert {item["id"] for item in thread[1:]} == set(replies) == on_page
        assert all(item["platform"] == replies[item["id"]]["platform"] for item in thread[1:])
        assert {c["id"] for c in shown["copies"]} == {TOOT, SKEET}
        assert [m["kind"] for m in shown["mentioned_by"]] == ["pingback"]
    assert world.show(TOOT)["original"]["id"] == BLOG_POST
    text = world.ownfeed("show", BLOG_POST).output
    assert "Mastodon" in text or "mastodon" in text
    assert "Mentioned by (1)" in text


def test_unrelated_links_are_not_merged(world: World) -> None:
    world.sync_and_export()
    with world.archive() as archive:
        linked = {r[0] for r in archive.query("SELECT linked_id FROM post_links")}
        hello = archive.one("SELECT content_html FROM posts WHERE id = ?", (HELLO_SKEET,))
    assert hello is not None and "href=" in hello["content_html"]  # it does carry a link
    assert HELLO_SKEET not in linked
    assert {item["id"] for item in world.show(HELLO_SKEET)["thread"]} == {HELLO_SKEET}
    assert world.show(HELLO_SKEET)["copies"] == []


def test_link_and_unlink_hold_across_syncs(world: World) -> None:
    world.sync_and_export()
    result = world.ownfeed("unlink", BLOG_POST, SKEET[:10])
    assert "Unlinked" in result.output
    world.mastodon.change_world()
    world.bluesky.change_world()
    world.sync_and_export()
    shown = world.show(BLOG_POST)
    assert {c["id"] for c in shown["copies"]} == {TOOT}
    platforms = {item["platform"] for item in shown["thread"]}
    assert platforms == {"web", "mastodon"}
    late = [i for i in shown["thread"] if "Spät, aber" in (i["content_text"] or "")]
    assert [i["platform"] for i in late] == ["mastodon"]  # a new reply to the toot, merged
    assert not any(f"p-{SKEET}" in a for a in page(world, BLOG_POST).articles)

    skeet_url = world.show(SKEET)["post"]["url"]
    world.ownfeed("link", BLOG_POST, skeet_url)
    world.sync_and_export()
    with world.archive() as archive:
        row = archive.one(
            "SELECT relation, how FROM post_links WHERE post_id = ? AND linked_id = ?",
            (BLOG_POST, SKEET),
        )
    assert row is not None and (row["relation"], row["how"]) == ("copy", "manual")
    shown = world.show(SKEET)
    assert {item["platform"] for item in shown["thread"]} == {"web", "mastodon", "bluesky"}
    assert any(
        "Spät, aber" in (i["content_text"] or "") and i["platform"] == "bluesky"
        for i in shown["thread"]
    )


def test_link_errors_are_one_line(world: World) -> None:
    world.sync_and_export()
    result = CliRunner().invoke(cli, ["-c", str(world.config), "link", BLOG_POST, "nope"])
    assert result.exit_code == 1 and "no post 'nope'" in result.output
    result = CliRunner().invoke(cli, ["-c", str(world.config), "link", TOOT, HELLO_SKEET])
    assert result.exit_code == 1 and "is a copy of" in result.output


def test_an_import_links_its_posts_too(tmp_path: Path) -> None:
    """`ownfeed import` ends with linking: an exported toot that announces our blog post."""
    config = tmp_path / "ownfeed.toml"
    config.write_text('archive = "archive.db"\n', encoding="utf-8")
    blog_url = "https://blog.novosyx.example/2025/office/"
    original = Post(
        "web", "https://blog.novosyx.example/?p=9", url=blog_url, content_html="<p>Büro</p>"
    )
    with Archive(tmp_path / "archive.db") as archive, archive.transaction():
        store_posts(archive, [original], "blog")
    outbox = json.loads(zip_member(MASTODON_ZIP, "outbox.json"))
    first = next(i for i in outbox["orderedItems"] if i["type"] == "Create")
    first["object"]["content"] = f'<p>Our new office is open! <a href="{blog_url}">Read</a></p>'
    export = rebuild_zip(
        MASTODON_ZIP, tmp_path / "export.zip", {"outbox.json": json.dumps(outbox).encode()}
    )
    result = CliRunner().invoke(cli, ["-c", str(config), "import", "mastodon", str(export)])
    assert result.exit_code == 0, result.output
    with Archive(tmp_path / "archive.db") as archive:
        rows = archive.query("SELECT post_id, relation, how FROM post_links")
    assert [tuple(r) for r in rows] == [(original.id, "copy", "link")]
