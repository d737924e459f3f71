"""The fast paths of link detection give exactly what the full ways give, or decline.

`plain_html_links` (a regex scan) must equal html.parser's reading wherever it answers,
and `normalize_url`'s plain-URL shortcut must equal the urllib way; both are run against
generated input built from the pieces where the two readings could part.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import urlsplit

from hypothesis import example, given, settings
from hypothesis import strategies as st

from ownfeed.links import (
    _parsed_normal,
    has_other_platform_near,
    html_links,
    normalize_url,
    parsed_html_links,
    plain_html_links,
    url_host,
)

# Pieces of markup: tags and attributes both plain and odd (whitespace html.parser treats
# differently in tag names and values, quotes, `=` runs, slashes, comments, raw text).
MARKUP_PARTS = st.sampled_from(
    [
        "<a",
        "<A",
        "<link",
        "<LINK",
        "<p",
        "<img",
        "<br",
        "<script",
        "<Style",
        "<title",
        "</a",
        "</p",
        "</ a",
        "</script",
        "<",
        ">",
        "/>",
        "/",
        " / ",
        " ",
        "\t",
        "\n",
        "\f",
        "\x0b",
        "\xa0",
        "\u2003",
        "\x00",
        " href",
        " HREF",
        " class",
        " rel",
        " data-x",
        " a:b",
        " _x",
        "=",
        "==",
        " = ",
        '"',
        "'",
        "`",
        '"https://blog.example/p/1/"',
        "'https://blog.example/p/2'",
        '"u-syndication h-entry"',
        "'syndication'",
        "Syndication",
        "https://x.example/a?b=c&amp;d=e",
        "x/",
        "/y",
        "&amp;",
        "&#x3c;",
        "&lt",
        "&",
        "text ",
        "Käse ",
        "<!--",
        "-->",
        "<!DOCTYPE html>",
        "<?php ?>",
        "<![CDATA[",
        "]]>",
    ]
)
MARKUP = st.lists(MARKUP_PARTS, max_size=16).map("".join)


@st.composite
def plain_markup(draw: st.DrawFn) -> str:
    """Markup of well-formed tags (which the fast path should read, not decline)."""
    parts: list[str] = []
    for _ in range(draw(st.integers(0, 6))):
        tag = draw(st.sampled_from(["a", "A", "link", "p", "img", "em", "br"]))
        attrs = ""
        for _ in range(draw(st.integers(0, 3))):
            name = draw(st.sampled_from(["href", "Href", "class", "rel", "alt", "data-id"]))
            value = draw(
                st.sampled_from(
                    [
                        "",
                        '="https://b.example/p/1/"',
                        "='/relative?x=1&amp;y=2'",
                        "=https://b.example/q?z=1",
                        '="u-syndication"',
                        " = 'syndication me'",
                        "=syndication",
                        '="&#104;ttps://c.example/"',
                        '=""',
                        '="a > b"',
                    ]
                )
            )
            attrs += draw(st.sampled_from([" ", "\n", "  \t"])) + name + value
        close = draw(st.sampled_from([">", "/>", " >", " />"]))
        text = draw(st.sampled_from(["", "text", " &amp; more ", "Käse"]))
        end = draw(st.sampled_from(["", f"</{tag}>", f"</{tag} >"]))
        parts.append(f"<{tag}{attrs}{close}{text}{end}")
    return "".join(parts)


def _pick(draw: st.DrawFn, plain: list[str], odd: list[str]) -> str:
    """Mostly a plain spelling, one time in 25 an odd one."""
    return draw(st.sampled_from(odd if draw(st.integers(0, 24)) == 0 else plain))


@st.composite
def near_plain_markup(draw: st.DrawFn) -> str:
    """Tags with links whose separators, names, values and ends are drawn from plain and
    odd spellings: the fast path must read the plain ones and decline the rest."""
    parts: list[str] = []
    for _ in range(draw(st.integers(1, 5))):
        tag = _pick(draw, ["a", "A", "link", "p"], ["a-b", "script", "title", "a\x0b"])
        attrs = ""
        for _ in range(draw(st.integers(0, 3))):
            sep = _pick(draw, [" ", "\n", "\t", "\f"], ["\x0b", "\xa0", "/", ""])
            name = _pick(draw, ["href", "HREF", "rel", "class"], ['h"ref', "-x", "é"])
            eq = _pick(draw, ["=", " = ", ""], ["==", "=\xa0", "\xa0="])
            value = _pick(
                draw,
                [
                    '"https://b.example/p/1/"',
                    "'syndication'",
                    "u-syndication",
                    "x/",
                    "a=b",
                    "'a>b'",
                    '"&amp;&#x3c;"',
                    "''",
                ],
                ['a"b', "a`b", "a<b", "", "\x0bx", "=x", "x\xa0"],
            )
            attrs += sep + name + eq + value
        close = _pick(draw, [">", "/>", " >", " />"], [" / >", "/ >", "\xa0>", ""])
        text = _pick(draw, ["", "t", "&amp;", "</a>", "</a >"], [" < ", "&", "<!-- c -->", "</ a>"])
        parts.append(f"<{tag}{attrs}{close}{text}")
    return "".join(parts)


@settings(max_examples=1500)
@given(MARKUP | near_plain_markup())
@example('<a href="x"/ >')
@example("<a href=x/>")
@example("<a\x0bhref=x>")
@example("<a href=x\xa0>")
@example("<script><a href=x></script>")
def test_plain_html_links_equal_html_parser_or_decline(markup: str) -> None:
    plain = plain_html_links(markup)
    if plain is not None:
        assert plain == parsed_html_links(markup)


@settings(max_examples=400)
@given(plain_markup())
def test_plain_html_links_read_well_formed_markup(markup: str) -> None:
    assert plain_html_links(markup) == parsed_html_links(markup)


def test_plain_html_links_decline_what_they_cannot_be_sure_of() -> None:
    assert plain_html_links("<!-- <a href=x> -->") is None
    assert plain_html_links("<script>'<a href=x>'</script>") is None
    assert plain_html_links("a < b <a href=x>") is None
    assert plain_html_links('<a href="x"/ >') is None
    assert plain_html_links('<img alt="<a href=x>">') is None
    assert plain_html_links("<SCRIPT/><a href=x>") is None
    assert plain_html_links("<scripts><a href=x>") == [("x", False)]
    assert html_links("<!-- <a href=x> -->") == []  # html.parser answers instead
    assert html_links('<p><a class="u-syndication" href="https://m.example/1">') == [
        ("https://m.example/1", True)
    ]


URL_PARTS = st.sampled_from(
    [
        "http",
        "https",
        "HTTP",
        "ftp",
        "://",
        ":",
        "//",
        "/",
        "blog.example",
        "Blog.Example",
        "a-b.example.",
        "..",
        ".",
        "[::1]",
        ":443",
        ":80",
        ":8080",
        ":0080",
        "user@",
        "p/1",
        "/p/1/",
        "//",
        "?",
        "p=1",
        "&",
        "=",
        "utm_source=x",
        "UTM_x=1",
        "%75tm_a=1",
        "a%20b",
        "+",
        ";",
        "#frag",
        " ",
        "\t",
        "\\",
        "~",
        "ä",
        "xn--bcher-kva",
        "@",
    ]
)
URLS = st.lists(URL_PARTS, max_size=10).map("".join)


@settings(max_examples=1500)
@given(URLS, st.sampled_from([None, "https://base.example/dir/page"]))
@example("https://blog.example/?p=1", None)
@example("https://blog.example/a/?%75tm_source=x", None)
@example("https://Blog.Example//", None)
@example("https://blog.example/a b", None)
def test_plain_urls_normalise_as_urllib_does(url: str, base: str | None) -> None:
    text = url.strip()
    if text and len(text) <= 2048:
        assert normalize_url(url, base) == _parsed_normal(text, base)
    try:
        host = (urlsplit(url).hostname or "").lower()
    except ValueError:
        host = ""
    assert url_host(url) == host


def test_posts_near_another_platform() -> None:
    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    window = timedelta(hours=2)
    posts = [
        ("web", t0),
        ("mastodon", t0 + timedelta(hours=2)),  # at the edge: near
        ("web", t0 + timedelta(hours=5)),
        ("bluesky", t0 + timedelta(hours=9)),
    ]
    assert has_other_platform_near(posts, window) == [True, True, False, False]
    assert has_other_platform_near([("web", t0), ("web", t0)], window) == [False, False]
