"""Feeds out and the sitemap: they parse, carry our posts newest first, link absolutely."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import feedparser
import pytest

from ownfeed.archive import site as queries
from ownfeed.export import build_site, urls
from ownfeed.export.feeds import SITEMAP, FeedSite, sitemaps
from tests.export import BASE_URL, BLOG, MASTO, Sample, build_archive, pid

P1 = pid("web", BLOG + "/2024/vertrauen")
BOOST = pid("mastodon", MASTO + "/@novosyx/4")


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Sample, Path]:
    sample = build_archive(tmp_path_factory.mktemp("feeds"))
    output = sample.root / "site"
    build_site(sample.archive, sample.config(output), sample.media_dir)
    return sample, output


def own_ids(sample: Sample) -> list[str]:
    return [post.id for post in queries.own_posts(sample.archive)]


@pytest.mark.parametrize("name", ["feed.xml", "rss.xml"])
def test_xml_feeds_parse_cleanly(exported: tuple[Sample, Path], name: str) -> None:
    sample, output = exported
    parsed: Any = feedparser.parse((output / name).read_bytes())
    assert parsed.bozo == 0, parsed.get("bozo_exception")
    assert parsed.version == ("atom10" if name == "feed.xml" else "rss20")
    links = [entry.link for entry in parsed.entries]
    assert links == [f"{BASE_URL}posts/{post_id}.html" for post_id in own_ids(sample)]
    first = next(e for e in parsed.entries if e.link.endswith(f"{P1}.html"))
    assert first.title == "Vertrauen ist gut"
    content = first.content[0].value if name == "feed.xml" else first.description
    assert "Über Vertrauen" in content
    assert f'src="{BASE_URL}media/' in content  # the local copy, absolute for feed readers
    assert "<script" not in content
    tags = {t.term for t in first.tags}
    assert tags == {"Über uns", "Product News", "product-news"}


def test_atom_feed_metadata(exported: tuple[Sample, Path]) -> None:
    _, output = exported
    parsed: Any = feedparser.parse((output / "feed.xml").read_bytes())
    assert parsed.feed.title == "Novosyx — everything we published"
    assert parsed.feed.id == BASE_URL
    assert any(
        link.rel == "self" and link.href == BASE_URL + "feed.xml" for link in parsed.feed.links
    )
    assert all(entry.id.startswith(BASE_URL) for entry in parsed.entries)
    assert all(entry.get("updated") for entry in parsed.entries)


def test_json_feed(exported: tuple[Sample, Path]) -> None:
    sample, output = exported
    feed = json.loads((output / "feed.json").read_text(encoding="utf-8"))
    assert feed["version"] == "https://jsonfeed.org/version/1.1"
    assert feed["feed_url"] == BASE_URL + "feed.json"
    assert [item["url"] for item in feed["items"]] == [
        f"{BASE_URL}posts/{post_id}.html" for post_id in own_ids(sample)
    ]
    for item in feed["items"]:
        assert item["id"] and item["content_html"] is not None
    blog = next(item for item in feed["items"] if item["url"].endswith(f"{P1}.html"))
    assert blog["external_url"] == BLOG + "/2024/vertrauen"
    assert blog["date_published"] == "2024-03-01T09:00:00+00:00"
    assert blog["authors"] == [{"name": "Novosyx", "url": BLOG + "/"}]


def test_sitemap_lists_absolute_urls_of_real_pages(exported: tuple[Sample, Path]) -> None:
    sample, output = exported
    tree = ET.parse(output / "sitemap.xml")
    locs = [el.text or "" for el in tree.iter(f"{{{SITEMAP}}}loc")]
    assert locs and all(loc.startswith(BASE_URL) for loc in locs)
    assert BASE_URL + "index.html" in locs
    assert BASE_URL + "tags/%C3%BCber-uns.html" in locs
    for post_id in own_ids(sample):
        assert f"{BASE_URL}posts/{post_id}.html" in locs
    for loc in locs:
        assert (output / unquote(loc[len(BASE_URL) :])).is_file(), loc


def test_a_boost_carries_what_it_shared(exported: tuple[Sample, Path]) -> None:
    _, output = exported
    feed = json.loads((output / "feed.json").read_text(encoding="utf-8"))
    boost = next(i for i in feed["items"] if i["url"].endswith(f"{BOOST}.html"))
    assert boost["title"] == "Shared a post on Mastodon"
    assert "We just shipped version 2!" in boost["content_html"]
    assert "Shared a post by Fan" in boost["content_html"]


def test_feed_items_limit(tmp_path: Path) -> None:
    sample = build_archive(tmp_path)
    output = tmp_path / "site"
    build_site(sample.archive, sample.config(output, feed_items=2), sample.media_dir)
    parsed: Any = feedparser.parse((output / "rss.xml").read_bytes())
    assert [e.link for e in parsed.entries] == [
        f"{BASE_URL}posts/{post_id}.html" for post_id in own_ids(sample)[:2]
    ]
    assert len(json.loads((output / "feed.json").read_text())["items"]) == 2


def test_feeds_without_base_url_still_parse(tmp_path: Path) -> None:
    sample = build_archive(tmp_path)
    output = tmp_path / "site"
    build_site(sample.archive, sample.config(output), sample.media_dir, base_url="")
    for name in ("feed.xml", "rss.xml"):
        parsed: Any = feedparser.parse((output / name).read_bytes())
        assert parsed.bozo == 0 and len(parsed.entries) == 8
    assert json.loads((output / "feed.json").read_text())["items"]
    assert not (output / "sitemap.xml").exists()


def test_control_characters_do_not_break_the_xml(tmp_path: Path) -> None:
    sample = build_archive(tmp_path)
    with sample.archive.transaction():
        sample.archive.conn.execute(
            "UPDATE posts SET title = ?, content_html = ? WHERE id = ?",
            ("Bell\x07 title", "<p>form\x0cfeed \x00 nul</p>", P1),
        )
    output = tmp_path / "site"
    build_site(sample.archive, sample.config(output), sample.media_dir)
    for name in ("feed.xml", "rss.xml"):
        parsed: Any = feedparser.parse((output / name).read_bytes())
        assert parsed.bozo == 0, (name, parsed.get("bozo_exception"))


def test_large_sitemaps_are_split() -> None:
    pages = [(f"posts/{n:06d}.html", None) for n in range(50_001)]
    files = sitemaps(BASE_URL, pages)
    assert set(files) == {"sitemap.xml", "sitemap-1.xml", "sitemap-2.xml"}
    index = ET.fromstring(files["sitemap.xml"])
    assert index.tag == f"{{{SITEMAP}}}sitemapindex"
    assert [el.text for el in index.iter(f"{{{SITEMAP}}}loc")] == [
        BASE_URL + "sitemap-1.xml",
        BASE_URL + "sitemap-2.xml",
    ]
    assert FeedSite("t", "", "en", BASE_URL).base_url == BASE_URL


def _sitemaps_through_elementtree(
    base_url: str, pages: list[tuple[str, str | None]]
) -> dict[str, bytes]:
    """The sitemaps as ElementTree writes them: what `sitemaps` must produce byte for byte."""
    from ownfeed.export import feeds

    def xml(root: ET.Element) -> bytes:
        ET.indent(root, space=" ")
        return ET.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"

    def sub(parent: ET.Element, tag: str, text: str) -> ET.Element:
        element = ET.SubElement(parent, tag)
        element.text = feeds._text(text)
        return element

    entries = sorted(pages)
    limit = feeds.SITEMAP_LIMIT
    chunks = [entries[i : i + limit] for i in range(0, len(entries), limit)]
    names = (
        ["sitemap.xml"]
        if len(chunks) <= 1
        else [f"sitemap-{n}.xml" for n in range(1, 1 + len(chunks))]
    )
    files: dict[str, bytes] = {}
    for name, chunk in zip(names, chunks or [[]], strict=False):
        root = ET.Element("urlset", {"xmlns": SITEMAP})
        for path, lastmod in chunk:
            url = ET.SubElement(root, "url")
            sub(url, "loc", base_url + urls.href(path))
            if lastmod:
                sub(url, "lastmod", lastmod[:10])
        files[name] = xml(root)
    if len(chunks) > 1:
        index = ET.Element("sitemapindex", {"xmlns": SITEMAP})
        for name in names:
            sub(ET.SubElement(index, "sitemap"), "loc", base_url + name)
        files["sitemap.xml"] = xml(index)
    return files


@pytest.mark.parametrize("count", [0, 1, 7, 12])
def test_sitemaps_are_the_bytes_elementtree_writes(
    count: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    from ownfeed.export import feeds

    monkeypatch.setattr(feeds, "SITEMAP_LIMIT", 5)  # split at 5 URLs: index files too
    odd = ["a&b<c>d", "ü ñ/é", "x\x07y", "\"quoted\" 'single'", "tab\tnew\nline", "zero\x00nul"]
    pages = [
        (f"posts/{odd[n % len(odd)]}-{n}.html", None if n % 3 else f"2024-0{1 + n % 9}-05T10:00")
        for n in range(count)
    ]
    plain = [(f"posts/p{n}.html", None if n % 3 else f"2024-0{1 + n % 9}-05") for n in range(count)]
    for base in (BASE_URL, "https://ex.example/a&b<c>d/"):
        assert sitemaps(base, pages) == _sitemaps_through_elementtree(base, pages)
        assert sitemaps(base, plain) == _sitemaps_through_elementtree(base, plain)  # quick way


def test_rss_dates_are_what_email_utils_writes() -> None:
    """feeds.py formats RFC 822 dates itself rather than import email.utils."""
    import random
    from datetime import UTC, datetime, timedelta
    from email.utils import format_datetime

    from ownfeed.export.feeds import _rfc822

    rng = random.Random(4)
    start = datetime(1, 1, 1, tzinfo=UTC)
    moments = [start, datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)]
    moments += [start + timedelta(seconds=rng.randrange(315_537_897_599)) for _ in range(2000)]
    for moment in moments:
        expected = format_datetime(moment, usegmt=True)
        assert _rfc822(moment.isoformat()) == expected
        assert _rfc822(moment.replace(tzinfo=None).isoformat()) == expected  # naive: UTC
    assert _rfc822("2024-03-06T01:30:00+02:00") == "Tue, 05 Mar 2024 23:30:00 GMT"
    assert _rfc822("2024-03-05T14:02:09.5Z") == "Tue, 05 Mar 2024 14:02:09 GMT"
    assert _rfc822("not a date") is None
