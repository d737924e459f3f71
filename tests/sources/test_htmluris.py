"""The fast relative-URI rewrite must equal feedparser's, string for string."""

from __future__ import annotations

import pytest
from feedparser.urls import resolve_relative_uris as feedparser_resolve
from hypothesis import given, settings
from hypothesis import strategies as st

from ownfeed.sources import htmluris
from ownfeed.sources.htmluris import resolve_relative_uris

BASE = "https://blog.example/2024/03/post/"
PIECES = [
    "<p>", "</p>", "<P CLASS='x'>", "text ", "Grüße ", "\n", "  ", ">", "5 < 6", "<", "&",
    '<a href="/rel/path?a=1&amp;b=2">', '<a href="other.html" rel="NoFollow">', "</a>",
    '<a href="https://abs.example/x">', '<a HREF=" spaced.html ">', '<a href="javascript:x()">',
    '<img src="img/a.jpg" alt="A" width="640" height="480">', '<IMG SRC="/b.png" ALT="B"/>',
    '<img src="c.gif" />', '<img alt="" src="d.gif" alt="dup">', "<br>", "<br/>", "<BR/>",
    "<br />", "<p/>", "<hr>", "</br>", "</img>", "&amp;", "&nbsp;", "&#8230;", "&#150;",
    "&#X2026;", "&#x96;", "&#39;", "&#34;", "&bogus;", "&bogus", "&T&C", "&#12", "&#x;",
    "<!-- comment -->", "<!---->", "<!-- a -- b -->", "<!--x--->", "<!DOCTYPE html>",
    "<![CDATA[x]]>", "<!foo>", "<?php x ?>", "<script>if (a<b) x('<img src=\"t.gif\">')</script>",
    "<b>", "</b>", "</ b>", "</p >", "<>", "</>", "<a href='single.html'>",
    '<a title="x > y">', '<a title="a&#34;b">', "<div class=x>", "<input disabled>",
    '<blockquote cite="q.html">', '<iframe src="v.html"></iframe>', "<o:p></o:p>",
    '<a href="x"title="y">', '<a href="&#106;s">', '<a href="a&b">', '<a href="a&amp">',
    '<source src="v.mp4" type="Video/MP4">', '<video poster="p.jpg" src="v.webm">',
    "<td>", "\u00e9\u0093", "<a\nhref=\"nl.html\"\n>", "<img src=x.png>", "<a href=\"",
]  # fmt: skip


def both(markup: str, base: str = BASE) -> tuple[str, str]:
    theirs = feedparser_resolve(markup, base, "utf-8", "text/html")
    return resolve_relative_uris(markup, base), theirs


@settings(max_examples=3000, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=15).map("".join))
def test_same_as_feedparser(markup: str) -> None:
    ours, theirs = both(markup)
    assert ours == theirs


@settings(max_examples=1000, deadline=None)
@given(st.text(alphabet="<>&#;/=\"' abpimgsrchef1x!-?\n", max_size=40))
def test_same_as_feedparser_on_noise(markup: str) -> None:
    ours, theirs = both(markup)
    assert ours == theirs


@pytest.mark.parametrize(
    "markup",
    [
        '<p>Read <a href="/p/1/">more</a> &amp; <em>x</em></p><p><img src="i.jpg" alt="a b" '
        'width="640" height="480"></p>',
        "plain text",
        "",
    ],
)
def test_ordinary_markup_is_rewritten_without_feedparser(
    markup: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    expected = feedparser_resolve(markup, BASE, "utf-8", "text/html")

    def refuse(*_: object) -> str:
        raise AssertionError("fell back to feedparser")

    monkeypatch.setattr(htmluris, "_feedparser_resolve", refuse)
    assert resolve_relative_uris(markup, BASE) == expected
