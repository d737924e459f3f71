"""Export the sample archive and walk the site like a browser and a link checker would."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

import pytest

from ownfeed.archive import site as queries
from ownfeed.archive import store_posts
from ownfeed.errors import ConfigError, ThemeError
from ownfeed.export import build_site
from ownfeed.export.pages import CSP, Templates
from ownfeed.export.search import shard_of, words
from ownfeed.export.urls import slug, unique_slugs
from ownfeed.export.writer import MANIFEST
from ownfeed.models import Post
from tests.export import (
    BLOG,
    FAN,
    MASTO,
    T0,
    US_BLOG,
    Sample,
    build_archive,
    pid,
)

P1 = pid("web", BLOG + "/2024/vertrauen")
C1, C2, C3, C4 = (pid("web", f"{BLOG}/2024/vertrauen#comment-{n}") for n in (1, 2, 3, 4))
EDITED = pid("web", BLOG + "/2024/edited")
GONE = pid("web", BLOG + "/2024/gone")
TOOT = pid("mastodon", MASTO + "/@novosyx/1")
COPY = pid("mastodon", MASTO + "/@novosyx/2")
OUR_REPLY = pid("mastodon", MASTO + "/@novosyx/3")
CONTEXT = pid("mastodon", "https://other.example/@someone/9")
BOOST = pid("mastodon", MASTO + "/@novosyx/4")
SHIPPED = pid("mastodon", "https://other.example/@fan/8")


@dataclass
class Page:
    path: str
    text: str
    tags: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    nesting: dict[str, list[str]] = field(default_factory=dict)  # article id -> ancestors


class _Parser(HTMLParser):
    def __init__(self, page: Page) -> None:
        super().__init__(convert_charrefs=True)
        self.page = page
        self.articles: list[str | None] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        self.page.tags.append((tag, values))
        if tag == "article":
            ident = values.get("id")
            if ident:
                self.page.nesting[ident] = [a for a in self.articles if a]
            self.articles.append(ident)

    def handle_endtag(self, tag: str) -> None:
        if tag == "article" and self.articles:
            self.articles.pop()


def parse(root: Path, path: Path) -> Page:
    page = Page(path.relative_to(root).as_posix(), path.read_text(encoding="utf-8"))
    parser = _Parser(page)
    parser.feed(page.text)
    parser.close()
    return page


def html_pages(root: Path) -> Iterator[Page]:
    for path in sorted(root.rglob("*.html")):
        yield parse(root, path)


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> tuple[Sample, Path]:
    sample = build_archive(tmp_path_factory.mktemp("export"))
    output = sample.root / "site"
    report = build_site(sample.archive, sample.config(output), sample.media_dir)
    assert report.pages_written > 0
    return sample, output


@pytest.fixture
def fresh(tmp_path: Path) -> Sample:
    return build_archive(tmp_path)


def page(output: Path, path: str) -> Page:
    return parse(output, output / path)


def files(output: Path) -> dict[str, int]:
    """Every file of the site with its modification time (ns)."""
    return {
        p.relative_to(output).as_posix(): p.stat().st_mtime_ns
        for p in output.rglob("*")
        if p.is_file()
    }


# -- the walk ---------------------------------------------------------------------------


LOADING = {("img", "src"), ("script", "src"), ("video", "src"), ("audio", "src")}
LOADING |= {("source", "src"), ("iframe", "src"), ("embed", "src"), ("object", "data")}


def test_every_relative_link_resolves_to_a_file(exported: tuple[Sample, Path]) -> None:
    _, output = exported
    checked = 0
    for current in html_pages(output):
        folder = (output / current.path).parent
        for tag, attrs in current.tags:
            for name in ("href", "src"):
                value = attrs.get(name)
                if value is None or tag in ("data",):
                    continue
                parts = urlsplit(value)
                if parts.scheme or value.startswith(("//", "#")):
                    continue
                assert value, f"{current.path}: empty {name} on <{tag}>"
                assert not parts.path.endswith("/"), f"{current.path}: folder link {value}"
                target = (folder / unquote(parts.path)).resolve()
                assert target.is_file(), f"{current.path}: {value} does not exist"
                assert target.is_relative_to(output.resolve())
                checked += 1
    assert checked > 100


def test_no_page_loads_anything_from_another_host(exported: tuple[Sample, Path]) -> None:
    _, output = exported
    for current in html_pages(output):
        for tag, attrs in current.tags:
            for name in ("src", "data", "srcset", "poster"):
                if (tag, name) in LOADING or name in ("srcset", "poster"):
                    value = attrs.get(name)
                    if value is not None:
                        assert not urlsplit(value).scheme, f"{current.path}: <{tag} {name}={value}>"
                        assert not value.startswith("//"), f"{current.path}: {value}"
            loads = {"stylesheet", "icon", "preload", "modulepreload", "manifest"}
            if tag == "link" and loads & set(attrs.get("rel", "").split()):
                assert not urlsplit(attrs["href"]).scheme, current.path
            assert not any(name.startswith("on") for name in attrs), f"{current.path}: {tag}"
            assert "style" not in attrs, f"{current.path}: style attribute on <{tag}>"
            for name in ("href", "src", "action"):
                value = attrs.get(name, "").strip().lower()
                assert not value.startswith(("javascript:", "data:", "vbscript:")), current.path


def test_only_our_own_scripts_and_no_inline_script(exported: tuple[Sample, Path]) -> None:
    _, output = exported
    pages_with_script = []
    for current in html_pages(output):
        assert current.text.lower().count("<script") == sum(
            1 for tag, _ in current.tags if tag == "script"
        )
        for tag, attrs in current.tags:
            if tag == "script":
                assert attrs.get("src") == "assets/search.js", current.path
                pages_with_script.append(current.path)
            assert tag not in ("iframe", "form", "base", "object", "embed", "svg", "style") or (
                tag == "form" and current.path == "search.html"
            ), f"{current.path}: <{tag}>"
    assert pages_with_script == ["search.html"]
    assert "evil.example/frame" not in (output / "posts" / f"{P1}.html").read_text()


def test_every_page_has_the_csp(exported: tuple[Sample, Path]) -> None:
    _, output = exported
    for current in html_pages(output):
        metas = [
            attrs
            for tag, attrs in current.tags
            if tag == "meta" and attrs.get("http-equiv", "").lower() == "content-security-policy"
        ]
        assert len(metas) == 1, current.path
        policy = metas[0]["content"]
        assert policy == CSP
        assert "default-src 'self'" in policy and "img-src 'self'" in policy
        assert "http" not in policy and "*" not in policy and "unsafe" not in policy


def test_each_own_post_has_a_page_and_others_do_not(exported: tuple[Sample, Path]) -> None:
    sample, output = exported
    own = {row[0] for row in sample.archive.query("SELECT id FROM posts WHERE is_own = 1")}
    pages = {p.stem for p in (output / "posts").glob("*.html")}
    assert own == pages
    assert {C1, C3, CONTEXT}.isdisjoint(pages)


def test_layout_files(exported: tuple[Sample, Path]) -> None:
    _, output = exported
    for path in [
        "index.html",
        "page/2.html",
        "page/3.html",
        "sources/blog.html",
        "sources/blog-2.html",
        "sources/mastodon.html",
        "tags/über-uns.html",
        "tags/product-news.html",
        "tags/pricing.html",
        "archive/2024-03.html",
        "archive/2024-03-2.html",
        "archive/2024-01.html",
        "feed.xml",
        "rss.xml",
        "feed.json",
        "sitemap.xml",
        "search.html",
        "search/index.js",
        "assets/style.css",
        "assets/search.js",
    ]:
        assert (output / path).is_file(), path
    assert not (output / "page" / "1.html").exists()
    assert not (output / "page" / "4.html").exists()
    index = page(output, "index.html")
    hrefs = [attrs.get("href") for tag, attrs in index.tags if tag == "a"]
    assert "tags/%C3%BCber-uns.html" in hrefs
    assert "page/2.html" in hrefs


# -- what a post page shows --------------------------------------------------------------


def test_thread_is_nested_and_marks_whose_reply(exported: tuple[Sample, Path]) -> None:
    _, output = exported
    post = page(output, f"posts/{P1}.html")
    assert post.nesting[f"p-{C1}"] == [f"p-{P1}"]
    assert post.nesting[f"p-{C2}"] == [f"p-{P1}", f"p-{C1}"]
    assert post.nesting[f"p-{C3}"] == [f"p-{P1}", f"p-{C1}", f"p-{C2}"]
    assert post.nesting[f"p-{C4}"] == [f"p-{P1}"]  # no known parent: below the root
    classes = {attrs.get("id"): attrs.get("class", "") for tag, attrs in post.tags}
    assert "other" in classes[f"p-{C1}"].split()
    assert "own" in classes[f"p-{C2}"].split()
    assert "h-entry" in classes[f"p-{P1}"].split()
    assert "by someone else" in post.text and "ours" in post.text
    assert "Replies (5)" in post.text  # four comments and the reply to the Mastodon copy


def test_replies_to_copies_and_syndication_links(exported: tuple[Sample, Path]) -> None:
    _, output = exported
    post = page(output, f"posts/{P1}.html")
    syndication = [a for t, a in post.tags if "u-syndication" in a.get("class", "").split()]
    assert [a["href"] for a in syndication] == [MASTO + "/@novosyx/2"]
    assert "Replies on Mastodon" in post.text
    assert "Great article about trust!" in post.text
    copy = page(output, f"posts/{COPY}.html")
    assert any(a.get("href") == f"../posts/{P1}.html" for t, a in copy.tags if t == "a")
    assert "A copy of" in copy.text


def test_microformats(exported: tuple[Sample, Path]) -> None:
    _, output = exported
    post = page(output, f"posts/{P1}.html")
    classes = [c for _, attrs in post.tags for c in attrs.get("class", "").split()]
    for name in ("h-entry", "p-name", "e-content", "dt-published", "u-url", "p-author", "h-card"):
        assert name in classes, name
    assert "u-in-reply-to" in classes  # on the nested replies
    index = page(output, "index.html")
    index_classes = [c for _, attrs in index.tags for c in attrs.get("class", "").split()]
    assert "h-feed" in index_classes and index_classes.count("h-entry") == 3


def test_versions_gone_marker_and_original_url(exported: tuple[Sample, Path]) -> None:
    _, output = exported
    edited = page(output, f"posts/{EDITED}.html")
    assert "Earlier versions" in edited.text
    assert "Prices go up by 5 %" in edited.text and "Prices go up by 7 %" in edited.text
    gone = page(output, f"posts/{GONE}.html")
    assert "Gone upstream" in gone.text and "2024-03-05" in gone.text
    assert "Still here in the archive." in gone.text
    assert f'href="{BLOG}/2024/gone"' in gone.text


def test_media_local_copy_and_remote_link(exported: tuple[Sample, Path]) -> None:
    sample, output = exported
    post = page(output, f"posts/{P1}.html")
    images = [a["src"] for t, a in post.tags if t == "img"]
    assert len(images) == 1 and images[0].startswith("../media/") and images[0].endswith(".png")
    served = output / "posts" / images[0]
    assert served.read_bytes() == next(sample.media_dir.rglob("*.png")).read_bytes()
    assert "https://cdn.tracker.example/pixel.png" in post.text  # a link, not an image
    toot = page(output, f"posts/{TOOT}.html")
    assert not [t for t, _ in toot.tags if t == "img"]
    assert "Image (not archived): Our office" in toot.text


def test_reply_to_someone_else_shows_the_conversation(exported: tuple[Sample, Path]) -> None:
    _, output = exported
    reply = page(output, f"posts/{OUR_REPLY}.html")
    assert "Does anyone know a good archive tool?" in reply.text
    assert f"p-{CONTEXT}" in reply.nesting
    assert reply.nesting[f"p-{OUR_REPLY}"][-1] == f"p-{CONTEXT}"


def test_a_boost_shows_what_it_shared(exported: tuple[Sample, Path]) -> None:
    _, output = exported
    boost = page(output, f"posts/{BOOST}.html")
    assert "Shared a post by" in boost.text
    assert "We just shipped version 2!" in boost.text
    assert any("u-repost-of" in a.get("class", "").split() for _, a in boost.tags)
    assert not (output / "posts" / f"{SHIPPED}.html").exists()  # context: no page of its own
    index = page(output, "index.html").text
    assert "Shared post on Mastodon" in index


def test_xss_in_author_names_and_urls(exported: tuple[Sample, Path]) -> None:
    _, output = exported
    post = page(output, f"posts/{P1}.html")
    assert "Mallory &lt;script&gt;" in post.text
    assert "javascript:" not in post.text


def test_lists_show_only_own_posts_newest_first(exported: tuple[Sample, Path]) -> None:
    sample, output = exported
    own = queries.own_posts(sample.archive)
    linked: list[str] = []
    for path in ("index.html", "page/2.html", "page/3.html"):
        current = page(output, path)
        for _, attrs in current.tags:
            href = attrs.get("href", "")
            if "u-url" in attrs.get("class", "").split() and "posts/" in href:
                linked.append(Path(href).stem)
    assert linked == [p.id for p in own]
    blog = page(output, "sources/blog.html").text + page(output, "sources/blog-2.html").text
    assert "Vertrauen ist gut" in blog and "Hallo Fediverse" not in blog
    tag = page(output, "tags/über-uns.html").text
    assert "Vertrauen ist gut" in tag and "Hallo Fediverse" in tag


def test_search_index_finds_words(exported: tuple[Sample, Path]) -> None:
    _, output = exported
    meta = (output / "search" / "index.js").read_text()
    assert meta.startswith("ownfeedSearch.meta(")
    shards = 16
    word = "vertrauen"
    shard = (output / "search" / f"t{shard_of(word, shards)}.js").read_text()
    assert f'"{word}":' in shard
    docs = (output / "search" / "d0.js").read_text()
    assert f"posts/{P1}.html" in docs
    assert f"posts/{P1}.html#p-{C1}" in docs  # replies by others are searchable too
    assert words("Über Fußnote café") == {"uber", "fußnote", "cafe"}
    search = page(output, "search.html")
    assert "cannot run" in search.text or "needs JavaScript" in search.text


# -- incremental, atomic, themes ---------------------------------------------------------


def test_second_export_writes_nothing(fresh: Sample) -> None:
    output = fresh.root / "site"
    config = fresh.config(output)
    first = build_site(fresh.archive, config, fresh.media_dir)
    before = files(output)
    second = build_site(fresh.archive, config, fresh.media_dir)
    assert second.files_written == 0
    assert second.pages_unchanged == first.pages_written + first.media_copied
    assert files(output) == before


def test_a_new_reply_touches_only_affected_pages(fresh: Sample) -> None:
    output = fresh.root / "site"
    config = fresh.config(output)
    build_site(fresh.archive, config, fresh.media_dir)
    before = files(output)
    reply = Post(
        platform="mastodon",
        native_id=MASTO + "/@novosyx/1/reply2",
        kind="reply",
        is_own=False,
        url="https://other.example/@fan/7",
        content_html="<p>Schön, dass ihr da seid!</p>",
        author=FAN,
        published_at=T0 + timedelta(days=1, hours=2),
        in_reply_to=MASTO + "/@novosyx/1",
        thread_root=MASTO + "/@novosyx/1",
    )
    with fresh.archive.transaction():
        store_posts(fresh.archive, [reply], "mastodon", now=T0 + timedelta(days=5))
    report = build_site(fresh.archive, config, fresh.media_dir)
    after = files(output)
    changed = {path for path in after if before.get(path) != after[path]}
    assert f"posts/{TOOT}.html" in changed
    assert f"posts/{P1}.html" not in changed
    assert not [path for path in changed if path.startswith("search/t")]  # base index kept
    assert len(changed) <= 16, sorted(changed)  # pages, lists, feeds, search, 6 state files
    assert report.files_written == len(changed - {MANIFEST})
    assert "Schön, dass ihr da seid!" in (output / f"posts/{TOOT}.html").read_text()


def test_an_edit_updates_the_page_and_its_lists(fresh: Sample) -> None:
    output = fresh.root / "site"
    config = fresh.config(output)
    build_site(fresh.archive, config, fresh.media_dir)
    before = files(output)
    edit = Post(
        platform="web",
        native_id=BLOG + "/2024/gone",
        url=BLOG + "/2024/gone",
        title="A post the platform removed",
        content_html="<p>Back again, rewritten.</p>",
        author=US_BLOG,
        published_at=T0 - timedelta(days=70),
    )
    with fresh.archive.transaction():
        store_posts(fresh.archive, [edit], "blog", now=T0 + timedelta(days=6))
    build_site(fresh.archive, config, fresh.media_dir)
    text = (output / f"posts/{GONE}.html").read_text()
    assert "Back again, rewritten." in text and "Gone upstream" not in text
    assert "Earlier versions" in text
    changed = {p for p, t in files(output).items() if before.get(p) != t}
    assert f"posts/{P1}.html" not in changed


def test_full_rewrites_everything(fresh: Sample) -> None:
    output = fresh.root / "site"
    config = fresh.config(output)
    first = build_site(fresh.archive, config, fresh.media_dir)
    again = build_site(fresh.archive, config, fresh.media_dir, full=True)
    assert again.pages_written == first.pages_written
    assert again.media_copied == 1


def test_files_we_did_not_write_are_never_deleted(fresh: Sample) -> None:
    output = fresh.root / "site"
    output.mkdir()
    (output / "CNAME").write_text("novosyx.example\n")
    (output / "tags").mkdir()
    (output / "tags" / "handmade.html").write_text("<p>mine</p>")
    config = fresh.config(output)
    build_site(fresh.archive, config, fresh.media_dir)
    with fresh.archive.transaction():
        fresh.archive.conn.execute("DELETE FROM post_tags WHERE tag = 'Pricing'")
    report = build_site(fresh.archive, config, fresh.media_dir)
    assert not (output / "tags" / "pricing.html").exists()  # ours, no longer produced
    assert report.files_removed == 1
    assert (output / "CNAME").read_text() == "novosyx.example\n"
    assert (output / "tags" / "handmade.html").exists()


def test_a_failed_export_leaves_the_site_as_it_was(
    fresh: Sample, monkeypatch: pytest.MonkeyPatch
) -> None:
    output = fresh.root / "site"
    config = fresh.config(output)
    build_site(fresh.archive, config, fresh.media_dir)
    before = {p: (output / p).read_bytes() for p in files(output)}
    with fresh.archive.transaction():
        fresh.archive.conn.execute("UPDATE posts SET title = 'Changed title' WHERE id = ?", (P1,))
    calls = {"n": 0}
    original = Templates.render

    def failing(self: Templates, name: str, **context: object) -> str:
        calls["n"] += 1
        if name == "list.html":
            raise RuntimeError("disk on fire")
        return original(self, name, **context)

    monkeypatch.setattr(Templates, "render", failing)
    with pytest.raises(RuntimeError):
        build_site(fresh.archive, config, fresh.media_dir, full=True)
    assert calls["n"] > 1  # post pages were rendered (and staged) before the failure
    after = {p: (output / p).read_bytes() for p in files(output)}
    assert after == before
    assert not [p for p in os.listdir(output) if p.startswith(".ownfeed-staging")]


def test_a_broken_theme_is_one_error_and_the_site_stays(fresh: Sample) -> None:
    output = fresh.root / "site"
    build_site(fresh.archive, fresh.config(output), fresh.media_dir)
    before = {p: (output / p).read_bytes() for p in files(output)}
    theme = fresh.root / "broken-theme"
    theme.mkdir()
    (theme / "post.html").write_text(
        '{% extends "default/post.html" %}\n{% block main %}{{ view.nothing.here }}{% endblock %}\n'
    )
    with pytest.raises(ThemeError, match=r"broken-theme/post.html:2: .*'nothing'"):
        build_site(fresh.archive, fresh.config(output, theme=theme), fresh.media_dir)
    assert {p: (output / p).read_bytes() for p in files(output)} == before
    assert not [p for p in os.listdir(output) if p.startswith(".ownfeed-staging")]


def test_progress_names_each_phase_and_counts_the_pages_up(fresh: Sample) -> None:
    output = fresh.root / "site"
    calls: list[tuple[str, int, int]] = []

    def progress(phase: str, done: int, total: int) -> None:
        calls.append((phase, done, total))

    build_site(fresh.archive, fresh.config(output), fresh.media_dir, progress=progress)
    phases = list(dict.fromkeys(phase for phase, _, _ in calls))
    assert phases == [
        "reading the archive",
        "rendering pages",
        "search index and feeds",
        "putting files in place",
    ]
    counted = [(done, total) for phase, done, total in calls if phase == "rendering pages"]
    assert counted[0][0] == 0 and counted[-1][0] == counted[-1][1] > 0
    assert [done for done, _ in counted] == sorted(done for done, _ in counted)
    calls.clear()
    build_site(fresh.archive, fresh.config(output), fresh.media_dir, progress=progress)
    assert calls == []  # nothing new: the site is kept as it is, at once


def test_a_theme_that_is_no_folder_stages_nothing(fresh: Sample) -> None:
    output = fresh.root / "site"
    build_site(fresh.archive, fresh.config(output), fresh.media_dir)
    before = {p: (output / p).read_bytes() for p in files(output)}
    missing = fresh.root / "no-such-theme"
    with pytest.raises(ConfigError, match="no-such-theme is not a folder"):
        build_site(fresh.archive, fresh.config(output, theme=missing), fresh.media_dir)
    assert {p: (output / p).read_bytes() for p in files(output)} == before
    assert not [p for p in os.listdir(output) if p.startswith(".ownfeed-staging")]


def test_export_without_base_url_and_to_another_folder(fresh: Sample) -> None:
    output = fresh.root / "elsewhere"
    report = build_site(
        fresh.archive, fresh.config(base_url=""), fresh.media_dir, output=output, base_url=""
    )
    assert (output / "index.html").is_file()
    assert not (output / "sitemap.xml").exists()
    assert 'rel="canonical"' not in (output / "index.html").read_text()
    assert report.warnings


def test_theme_overrides_and_extends_the_default(fresh: Sample) -> None:
    theme = fresh.root / "theme"
    (theme / "static").mkdir(parents=True)
    (theme / "base.html").write_text(
        '{% extends "default/base.html" %}\n'
        "{% block footer %}<p>Theme footer</p>{{ super() }}{% endblock %}\n"
    )
    (theme / "static" / "style.css").write_text("body { color: green; }\n")
    (theme / "static" / "extra.css").write_text("p { margin: 0; }\n")
    output = fresh.root / "site"
    build_site(fresh.archive, fresh.config(output, theme=theme), fresh.media_dir)
    index = (output / "index.html").read_text()
    assert "<p>Theme footer</p>" in index and "made with ownfeed" in index
    assert (output / f"posts/{P1}.html").read_text().count("Theme footer") == 1
    assert (output / "assets" / "style.css").read_text() == "body { color: green; }\n"
    assert (output / "assets" / "extra.css").is_file()
    assert (output / "assets" / "search.js").is_file()


# -- queries and names -------------------------------------------------------------------


def test_site_queries(fresh: Sample) -> None:
    archive = fresh.archive
    assert [p.id for p in queries.own_posts(archive, source="blog")] == [C2, P1, EDITED, GONE]
    assert [p.id for p in queries.own_posts(archive, tag="Über uns")] == [TOOT, P1]
    assert [p.id for p in queries.own_posts(archive, month="2024-01")] == [EDITED]
    assert [p.id for p in queries.own_posts(archive, limit=2, offset=1)] == [
        x.id for x in queries.own_posts(archive)[1:3]
    ]
    assert queries.count_own(archive) == 8
    depths = {post.id: depth for post, depth in queries.post_thread(archive, C3)}
    assert depths == {P1: 0, C1: 1, C2: 2, C3: 3, C4: 1}
    thread = dict((p.id, p) for p, _ in queries.post_thread(archive, P1))
    assert thread[C1].is_own is False and thread[C2].is_own is True
    assert [v.version for v in queries.versions(archive, [EDITED, P1])[EDITED]] == [1]
    media = queries.media(archive, [P1])[P1]
    assert [m.file is not None for m in media] == [True, False]
    assert queries.copies(archive) == [(P1, COPY)]
    assert queries.tags(archive)[P1] == ["Product News", "product-news", "Über uns"]
    marks = {m.id: m for m in queries.post_marks(archive)}
    assert marks[C3].thread_root == P1 and marks[C3].in_reply_to == C2
    assert not marks[C1].is_own
    assert queries.sources(archive)["blog"].title == "Novosyx Blog"


def test_slugs() -> None:
    assert slug("Über uns") == "über-uns"
    assert slug("Product  News!") == "product-news"
    assert slug("C++") == "c"
    assert slug("#").startswith("x-")
    assert len(slug("a" * 300)) < 100
    assert slug("Cafe\u0301") == slug("Café")  # decomposed and composed: one tag page
    names = unique_slugs(["foo", "Foo 2", "bar-2"])
    assert names["foo"] == "foo" and names["bar-2"] == "bar-2"
    assert names["Foo 2"] != "foo-2"  # would be page 2 of "foo"


# -- the search script, run in Node with a minimal DOM (skipped without Node) --------------

NODE_HARNESS = r"""
const fs = require("fs"), path = require("path"), vm = require("vm");
const [site, query, protocol] = process.argv.slice(1);
const elements = {};
function el(key) {
  if (!elements[key]) {
    elements[key] = { textContent: "", hidden: false, value: "", children: [],
      appendChild(child) { this.children.push(child); },
      addEventListener(type, fn) { this["on" + type] = fn; } };
  }
  return elements[key];
}
global.window = global;
window.location = { protocol: protocol, search: "?q=" + encodeURIComponent(query) };
window.history = null;
global.document = {
  querySelector: el, getElementById: el,
  createElement: () => ({ children: [], appendChild(c) { this.children.push(c); } }),
  head: { appendChild(script) {
    setTimeout(() => {
      const file = path.join(site, script.src);
      if (protocol === "file:" || !fs.existsSync(file)) { script.onerror(); return; }
      vm.runInThisContext(fs.readFileSync(file, "utf8"));
    }, 0);
  } },
};
vm.runInThisContext(fs.readFileSync(path.join(site, "assets/search.js"), "utf8"));
setTimeout(() => {
  const results = el("search-results").children.map((li) => li.children[0].href);
  console.log(JSON.stringify({ status: el("search-status").textContent, results }));
}, 300);
"""


def run_search(output: Path, query: str, protocol: str = "http:") -> dict[str, object]:
    import json
    import shutil
    import subprocess

    node = shutil.which("node") or shutil.which("nodejs")
    if node is None:
        pytest.skip("Node.js is not installed")
    done = subprocess.run(
        [node, "-e", NODE_HARNESS, str(output), query, protocol],
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    result: dict[str, object] = json.loads(done.stdout)
    return result


def test_search_script_finds_posts(exported: tuple[Sample, Path]) -> None:
    _, output = exported
    found = run_search(output, "Vertrauen")
    assert f"posts/{P1}.html" in found["results"]  # type: ignore[operator]
    assert "found" in str(found["status"])
    assert run_search(output, "uber")["results"]  # "Über", accents folded
    both = run_search(output, "gern gesch")["results"]  # all words, as prefixes
    assert both == [f"posts/{C2}.html"]
    assert run_search(output, "zzzunknown")["results"] == []
    assert "file" in str(run_search(output, "vertrauen", "file:")["status"])


def test_search_after_incremental_exports(fresh: Sample) -> None:
    output = fresh.root / "site"
    config = fresh.config(output)
    build_site(fresh.archive, config, fresh.media_dir)
    assert run_search(output, "still here")["results"] == [f"posts/{GONE}.html"]
    edit = Post(
        platform="web",
        native_id=BLOG + "/2024/gone",
        url=BLOG + "/2024/gone",
        title="A post the platform removed",
        content_html="<p>Back again, rewritten.</p>",
        author=US_BLOG,
        published_at=T0 - timedelta(days=70),
    )
    with fresh.archive.transaction():
        store_posts(fresh.archive, [edit], "blog", now=T0 + timedelta(days=6))
    build_site(fresh.archive, config, fresh.media_dir)
    assert (output / "search" / "t0.js").exists()
    assert run_search(output, "still here")["results"] == []  # the base entry is stale
    assert run_search(output, "rewritten")["results"] == [f"posts/{GONE}.html"]
    assert run_search(output, "platform removed")["results"] == [f"posts/{GONE}.html"]
    build_site(fresh.archive, config, fresh.media_dir, full=True)
    assert run_search(output, "rewritten")["results"] == [f"posts/{GONE}.html"]
    assert not list((output / "search").glob("u*.js"))  # a full build folds the delta in


def test_hostile_archive_values_stay_inside_the_site(fresh: Sample) -> None:
    archive = fresh.archive
    with archive.transaction():
        archive.conn.execute(
            "UPDATE media SET sha256 = '../../../escaped', local_path = '../../../etc/passwd'"
            " WHERE local_path IS NULL"
        )
        archive.conn.execute("UPDATE posts SET published_at = '../../../x' WHERE id = ?", (EDITED,))
        archive.conn.execute("UPDATE posts SET url = 'javascript:alert(1)' WHERE id = ?", (TOOT,))
        archive.conn.execute("INSERT INTO post_tags VALUES (?, '../../evil')", (P1,))
    output = fresh.root / "site"
    report = build_site(archive, fresh.config(output), fresh.media_dir)
    assert report.pages_written
    inside = output.resolve()
    strays = [p for p in fresh.root.rglob("*") if "escaped" in p.name or p.name == "x.html"]
    assert not strays, strays
    for path in output.rglob("*"):
        assert path.resolve().is_relative_to(inside)
    assert (output / "archive" / "undated.html").is_file()
    assert (output / "tags" / "evil.html").is_file()
    for name in ("feed.xml", "rss.xml", "feed.json", f"posts/{TOOT}.html", "index.html"):
        assert "javascript:" not in (output / name).read_text(encoding="utf-8"), name
