"""#4's check after landing, end to end through the CLI and the sample servers.

A blog with comments, a Mastodon and a Bluesky account are synced over HTTP; upstream, a
post is then edited on each of the three and deleted on Mastodon and Bluesky (the sample
blog's permalinks sit on its public domain, which a verify cannot reach offline). After
a second sync the export is walked: every relative link resolves to a file, no page loads
anything from another host, no script but our own survives, every page has the CSP, each
of our posts has a page, threads, earlier versions and gone posts show, the three feeds
parse with entries, the sitemap lists absolute URLs under base_url, and an export with
nothing new rewrites at most a couple of files.
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import feedparser
import pytest

from ownfeed.export.pages import CSP
from tests.company import World, sample_company

BASE_URL = "https://novosyx.example/archive/"  # what write_demo_config sets


@dataclass
class Page:
    path: str
    text: str
    tags: list[tuple[str, dict[str, str]]] = field(default_factory=list)


class _Tags(HTMLParser):
    def __init__(self, page: Page) -> None:
        super().__init__(convert_charrefs=True)
        self.page = page

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.page.tags.append((tag, {name: value or "" for name, value in attrs}))


def pages(site: Path) -> Iterator[Page]:
    for path in sorted(site.rglob("*.html")):
        page = Page(path.relative_to(site).as_posix(), path.read_text(encoding="utf-8"))
        parser = _Tags(page)
        parser.feed(page.text)
        parser.close()
        yield page


def mtimes(site: Path) -> dict[str, int]:
    return {p.relative_to(site).as_posix(): p.stat().st_mtime_ns for p in site.rglob("*")}


@pytest.fixture(scope="module")
def company(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """Synced, changed upstream, synced again and exported."""
    with sample_company(tmp_path_factory.mktemp("company")) as world:
        world.ownfeed("sync", "--quiet")
        world.ownfeed("export")
        world.mastodon.change_world()  # a toot deleted, one edited, a new post and reply
        world.bluesky.change_world()  # the same on Bluesky
        world.blog.posts[0].html += "<p>Nachtrag: jetzt auch mit Archiv.</p>"
        world.ownfeed("sync", "--quiet")  # as cron runs it: edits and new replies
        world.ownfeed("sync", "--quiet", "--verify", "mastodon", "bluesky")  # deletions
        world.ownfeed("export")
        yield world


def test_the_changes_upstream_reached_the_archive(company: World) -> None:
    gone = company.query("SELECT platform FROM posts WHERE gone_at IS NOT NULL AND is_own = 1")
    assert {row["platform"] for row in gone} == {"mastodon", "bluesky"}
    edited = company.query("SELECT platform FROM posts WHERE versions > 1 AND is_own = 1")
    assert {row["platform"] for row in edited} == {"web", "mastodon", "bluesky"}


def test_every_relative_link_resolves_to_a_file(company: World) -> None:
    site = company.site.resolve()
    checked = 0
    for page in pages(site):
        for tag, attrs in page.tags:
            for name in ("href", "src"):
                value = attrs.get(name)
                if value is None or urlsplit(value).scheme or value.startswith(("//", "#")):
                    continue
                path = urlsplit(value).path
                assert path and not path.endswith("/"), f"{page.path}: <{tag} {name}={value!r}>"
                target = ((site / page.path).parent / unquote(path)).resolve()
                assert target.is_file() and target.is_relative_to(site), f"{page.path}: {value}"
                checked += 1
    assert checked > 200


def test_nothing_loads_from_another_host_and_only_our_script_runs(company: World) -> None:
    for page in pages(company.site):
        for tag, attrs in page.tags:
            for name in ("src", "srcset", "poster", "data"):
                value = attrs.get(name)
                if value is not None:
                    assert not urlsplit(value).scheme and not value.startswith("//"), page.path
            if tag == "link" and {"stylesheet", "icon", "preload"} & set(attrs["rel"].split()):
                assert not urlsplit(attrs["href"]).scheme, page.path
            if tag == "script":
                assert attrs.get("src") == "assets/search.js", page.path
            assert not any(name.startswith("on") for name in attrs), f"{page.path}: <{tag}>"
            assert tag not in ("iframe", "object", "embed", "base"), page.path


def test_every_page_has_the_csp(company: World) -> None:
    for page in pages(company.site):
        policies = [
            attrs["content"]
            for tag, attrs in page.tags
            if tag == "meta" and attrs.get("http-equiv", "").lower() == "content-security-policy"
        ]
        assert policies == [CSP], page.path


def test_each_of_our_posts_has_a_page_with_its_thread_versions_and_gone_marker(
    company: World,
) -> None:
    own = company.query("SELECT id, versions, gone_at FROM posts WHERE is_own = 1")
    assert {row["id"] for row in own} == {p.stem for p in (company.site / "posts").glob("*.html")}
    for row in own:
        text = (company.site / "posts" / f"{row['id']}.html").read_text(encoding="utf-8")
        assert ("Earlier versions" in text) is (int(str(row["versions"])) > 1), row["id"]
        assert ("Gone upstream" in text) is (row["gone_at"] is not None), row["id"]
    replied = company.query(
        "SELECT DISTINCT thread_root AS root FROM posts WHERE is_own = 0 AND thread_root IN"
        " (SELECT id FROM posts WHERE is_own = 1)"
    )
    platforms = set()
    for row in replied:
        text = (company.site / "posts" / f"{row['root']}.html").read_text(encoding="utf-8")
        replies = company.query(
            "SELECT id, platform FROM posts WHERE id != thread_root AND kind != 'pingback'"
            f" AND thread_root = '{row['root']}'"
        )
        for reply in replies:
            assert f'id="p-{reply["id"]}"' in text, (row["root"], reply["id"])
            platforms.add(reply["platform"])
    assert platforms == {"web", "mastodon", "bluesky"}


def test_the_three_feeds_parse_with_entries_and_the_sitemap_is_absolute(
    company: World,
) -> None:
    for name in ("feed.xml", "rss.xml"):
        parsed = feedparser.parse((company.site / name).read_bytes())
        assert parsed.bozo == 0 and parsed.entries, name
    feed = json.loads((company.site / "feed.json").read_text(encoding="utf-8"))
    assert feed["version"] == "https://jsonfeed.org/version/1.1" and feed["items"]
    namespace = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
    urls = [
        loc.text or "" for loc in ET.parse(company.site / "sitemap.xml").iter(f"{namespace}loc")
    ]
    assert urls and all(url.startswith(BASE_URL) for url in urls)
    assert f"{BASE_URL}index.html" in urls


def test_an_export_with_nothing_new_rewrites_at_most_a_couple_of_files(company: World) -> None:
    before = mtimes(company.site)
    result = company.ownfeed("export", "--json")
    assert json.loads(result.stdout)["files_written"] <= 2
    after = mtimes(company.site)
    assert set(after) == set(before)
    assert sum(after[path] != before[path] for path in after) <= 2
