"""Post and list pages rendered in Python (pypages.py) equal the Jinja templates byte for
byte.

Random views reach every branch of post.html, list.html, base.html and macros.html
(context, repost, gone, each media kind, copies, original, versions, nested and current
replies, mentions, pagination, overview) with hostile strings in every field; a template
edit without the same edit in pypages.py fails here.
"""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from markupsafe import Markup, escape

from ownfeed.archive.site import SitePost
from ownfeed.export import build_site, pages
from ownfeed.export.pypages import esc
from ownfeed.export.views import CopyView, Entry, MediaView, PostView, VersionView
from tests.export import Sample, build_archive

NASTY = ['<script>alert("x")</script>', "Tom & Jerry's", '"quoted"', "Ünïcödé ✓", "a\nb"]


def _text(rng: random.Random, maybe_none: bool = True) -> str | None:
    roll = rng.random()
    if maybe_none and roll < 0.3:
        return None
    if roll < 0.45:
        return ""
    return rng.choice(NASTY) + str(rng.randint(0, 99))


def _post(rng: random.Random, n: int) -> SitePost:
    gone = rng.random() < 0.2
    return SitePost(
        id=f"p{n}-{rng.choice(NASTY)}",
        platform=rng.choice(["web", "mastodon", "bluesky", "lemmy", "odd<platform>"]),
        source=_text(rng),
        kind=rng.choice(["post", "reply", "repost"]),
        is_own=rng.random() < 0.5,
        url=rng.choice([None, "https://example.com/a?b=1&c='2'", 'https://x.example/"q"']),
        title=_text(rng),
        content_html=None,
        content_text=None,
        excerpt="",
        language=None,
        date=rng.choice(["2024-03-05T14:02:00+00:00", "2024-03-05", "x<y"]),
        published_at=None,
        updated_at=None,
        gone_at=rng.choice(["2024-04-01T00:00:00+00:00", "garbage&"]) if gone else None,
        gone_reason=_text(rng) if gone else None,
        versions=rng.choice([1, 1, 2, 5]),
        thread_root="root",
        in_reply_to=None,
        in_reply_to_url=None,
        repost_of=None,
        author_name=_text(rng),
        author_handle=_text(rng),
        author_url=rng.choice([None, "https://people.example/<me>"]),
    )


def _media(rng: random.Random) -> MediaView:
    return MediaView(
        kind=rng.choice(["image", "video", "audio", "file", "gif<x>"]),
        alt=_text(rng, maybe_none=False) or "",
        src=rng.choice([None, "../media/abc.png", '../media/"x".png']),
        url=rng.choice([None, "https://cdn.example/a.png?x=1&y=2"]),
        mime=None,
        width=rng.choice([None, 0, 640]),
        height=rng.choice([None, 480]),
    )


def _entry(rng: random.Random, counter: list[int], depth: int = 0) -> Entry:
    counter[0] += 1
    entry = Entry(
        post=_post(rng, counter[0]),
        html=Markup(rng.choice(["", "<p>Hi &amp; bye</p>", "<p>x</p><ul><li>y</li></ul>"])),
        media=[_media(rng) for _ in range(rng.choice([0, 0, 1, 3]))],
        href=rng.choice([None, "../posts/a.html", "../posts/<b>.html"]),
        reply_to_url=rng.choice([None, "https://up.example/1?a=1&b=2"]),
        current=rng.random() < 0.15,
    )
    if depth < 4 and rng.random() < 0.4:
        entry.children = [_entry(rng, counter, depth + 1) for _ in range(rng.randint(1, 3))]
    return entry


def _view(rng: random.Random) -> PostView:
    counter = [0]

    def entries(most: int) -> list[Entry]:
        return [_entry(rng, counter) for _ in range(rng.choice([0, 0, 1, most]))]

    return PostView(
        entry=_entry(rng, counter, depth=9),
        context=entries(3),
        replies=entries(4),
        whole_conversation=rng.random() < 0.3,
        conversation_href=rng.choice([None, "../posts/c&d.html"]),
        copies=[CopyView(_entry(rng, counter, 9), []) for _ in range(rng.choice([0, 1, 3]))],
        original=_entry(rng, counter, 9) if rng.random() < 0.3 else None,
        repost=_entry(rng, counter, 9) if rng.random() < 0.3 else None,
        versions=[
            VersionView(
                rng.randint(1, 9),
                rng.choice(["2024-01-01T10:00:00+00:00", "2023-02-03T04:05:06Z", ""]),
                _text(rng),
                Markup(rng.choice(["<p>old</p>", ""])),
            )
            for _ in range(rng.choice([0, 0, 2]))
        ],
        tags=[(t, f"../tags/{t}.html") for t in rng.sample(NASTY, rng.choice([0, 1, 3]))],
        reply_count=rng.randint(0, 30),
        source_name=_text(rng, maybe_none=False) or "src",
        source_href="../sources/a&b.html",
        month=rng.choice(["2024-03", "undated"]),
        month_href="../archive/2024-03.html",
        mentions=entries(2),
        platform_counts=[(n, rng.randint(1, 9)) for n in rng.sample(NASTY, rng.choice([0, 2]))],
    )


def _sites(rng: random.Random) -> pages.Site:
    return pages.Site(
        title=rng.choice(NASTY),
        description=rng.choice(["", "About <us> & 'them'"]),
        language=rng.choice(["en", 'de"x']),
        base_url="https://us.example/",
    )


@pytest.mark.parametrize("seed", range(40))
def test_python_post_page_equals_the_templates(seed: int) -> None:
    rng = random.Random(seed)
    jinja = pages.Templates(python=False)
    python = pages.Templates()
    assert python.python_post and not jinja.python_post
    for _ in range(25):
        context = {
            "site": _sites(rng),
            "root": rng.choice(["../", "", "<r>/"]),
            "path": "posts/x.html",
            "canonical": rng.choice([None, "", "https://us.example/posts/x.html?a=1&b=2"]),
            "view": _view(rng),
            "label": rng.choice(["Post on Web, 2024-03-05", "<b>label</b>"]),
        }
        assert python.render("post.html", **context) == jinja.render("post.html", **context)


class _Item:
    def __init__(self, html: str) -> None:
        self.html = html


def _rows(rng: random.Random) -> list[tuple[str, str, int]]:
    names = rng.sample(NASTY, rng.randint(0, 3))
    return [(name, f"../x/{name}.html", rng.randint(0, 999)) for name in names]


@pytest.mark.parametrize("seed", range(20))
def test_python_list_page_equals_the_templates(seed: int) -> None:
    rng = random.Random(seed)
    jinja = pages.Templates(python=False)
    python = pages.Templates()
    assert python.python_list and not jinja.python_list
    for _ in range(25):
        count = rng.choice([1, 2, 7])
        number = rng.randint(1, count)
        overview = None
        if rng.random() < 0.5:
            overview = {"sources": _rows(rng), "months": _rows(rng), "tags": _rows(rng)}
        context = {
            "site": _sites(rng),
            "root": rng.choice(["../", ""]),
            "path": "tags/x.html",
            "canonical": rng.choice([None, "https://us.example/tags/x.html?a=1&b=2"]),
            "heading": rng.choice(["", "Tagged <b>x</b> & 'y'", "Posts"]),
            "intro": rng.choice(["", "Intro & <i>more</i>"]),
            "items": [
                _Item(rng.choice([Markup("<article>a &amp; b</article>"), "<raw & str>"]))
                for _ in range(rng.choice([0, 1, 5]))
            ],
            "pages": pages.Pages(
                number,
                count,
                "newer<&>.html" if number > 1 else None,
                "older.html" if number < count and rng.random() < 0.9 else None,
            ),
            "listing": None,
            "overview": overview,
        }
        assert python.render("list.html", **context) == jinja.render("list.html", **context)


@pytest.mark.parametrize("name", sorted({*pages.POST_TEMPLATES, *pages.LIST_TEMPLATES}))
def test_a_theme_changing_a_page_template_gets_jinja(tmp_path: Path, name: str) -> None:
    (tmp_path / name).write_text("{# mine #}\n", encoding="utf-8")
    templates = pages.Templates(tmp_path)
    assert templates.python_post is (name not in pages.POST_TEMPLATES)
    assert templates.python_list is (name not in pages.LIST_TEMPLATES)
    (tmp_path / name).unlink()
    (tmp_path / "search.html").write_text("{# mine #}\n", encoding="utf-8")
    assert pages.Templates(tmp_path).python_post
    assert pages.Templates(tmp_path).python_list


def test_the_sample_site_is_the_same_through_jinja(tmp_path: Path) -> None:
    """A theme with copies of post.html and list.html renders every page through Jinja
    (and list entries without the entry store): the same bytes."""
    sample: Sample = build_archive(tmp_path)
    theme = tmp_path / "theme"
    theme.mkdir()
    for name in ("post.html", "list.html"):
        default = Path(pages.__file__).parent / "templates" / name
        (theme / name).write_bytes(default.read_bytes())
    fast, slow = tmp_path / "fast", tmp_path / "slow"
    build_site(sample.archive, sample.config(fast), sample.media_dir)
    build_site(sample.archive, sample.config(slow, theme=theme), sample.media_dir)
    site = sorted(path.relative_to(fast).as_posix() for path in fast.rglob("*.html"))
    assert site == sorted(path.relative_to(slow).as_posix() for path in slow.rglob("*.html"))
    assert len([path for path in site if path.startswith("posts/")]) > 5
    for name in site:
        assert (fast / name).read_bytes() == (slow / name).read_bytes(), name


@given(st.text())
def test_escape_equals_markupsafe(text: str) -> None:
    assert esc(text) == str(escape(text))
    assert esc(Markup(text)) == text


# list_item.html as a template, before its entry became the Python helper list_entry: the
# helper must write exactly this.
LIST_ITEM = (Path(__file__).parent / "list_item_reference.html").read_text(encoding="utf-8")


class _ListItem:
    def __init__(self, rng: random.Random, n: int) -> None:
        self.post = _post(rng, n)
        self.href = rng.choice(["../posts/a.html", "posts/<b>&.html"])
        self.replies = rng.choice([0, 1, 2, 17])
        self.text = rng.choice(["", "Some words & <more>"])
        self.platform = rng.choice(["Web", "Odd <platform>"])
        self.label = rng.choice(["Post on Web, 2024-03-05", "<label>"])
        self.excerpt = self.text + " …"


def test_list_entry_equals_the_old_list_item_template() -> None:
    rng = random.Random(7)
    templates = pages.Templates()
    reference = templates.env.from_string(LIST_ITEM)
    item_template = templates.env.get_template("list_item.html")
    for n in range(500):
        item = _ListItem(rng, n)
        expected = reference.render(item=item, root="../")
        assert item_template.render(item=item, root="../") == expected
        assert templates.list_item(item, "../") == expected
    theme = pages.Templates(python=False)
    assert theme.list_item(item, "../") == expected


def test_template_globals_are_one_plain_dict() -> None:
    """Copied into each render's context: a dict is copied in C, a ChainMap in Python."""
    templates = pages.Templates()
    template = templates.env.from_string("{{ x }}-{{ list_entry is defined }}", globals={"x": 1})
    assert type(template.globals) is dict
    assert template.render() == "1-True"
    assert "x" not in templates.env.globals
    assert type(templates.env.get_template("list_item.html").globals) is dict


# -- search.html (rendered in pages.py, so an export needs no jinja2) ---------------------

SEARCH_SITES = [
    pages.Site("Us", "", "en", ""),
    pages.Site("<Us> & 'them' \"quoted\"", "About <us> & 'them'", 'de"x', "https://us.example/"),
    pages.Site("Ünïcode — ok", "{{ not a template }}", "fr", "https://us.example/sub/"),
]


@pytest.mark.parametrize("site", SEARCH_SITES)
def test_python_search_page_equals_the_template(site: pages.Site) -> None:
    """search.html is rendered in Python (so an export needs no jinja2): the same bytes."""
    jinja, python = pages.Templates(python=False), pages.Templates()
    assert python.python_search and not jinja.python_search
    for root in ("", "../", "<r>/"):
        for canonical in (None, "", "https://us.example/search.html?a=1&b=2"):
            context = {"site": site, "root": root, "canonical": canonical}
            assert python.render("search.html", **context) == jinja.render("search.html", **context)


@pytest.mark.parametrize("name", ["search.html", "base.html"])
def test_a_theme_changing_the_search_page_gets_jinja(tmp_path: Path, name: str) -> None:
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / name).write_text("themed {{ site.title }}\n", encoding="utf-8")
    templates = pages.Templates(tmp_path)
    assert not templates.python_search
    html = templates.render("search.html", site=SEARCH_SITES[0], root="", canonical=None)
    assert html == "themed Us\n"
