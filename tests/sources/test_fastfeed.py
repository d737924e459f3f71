"""The lxml fast path against feedparser: the same posts, or a decline, for every document.

The golden fixtures, the shared fixtures, the benchmark's feeds and generated RSS 2.0
documents with tricky content all go through `parse_feed`/`parse_comments` twice, once with
the fast path and once with feedparser alone, and the results must be equal.
"""

from __future__ import annotations

import sys
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from ownfeed.discover import strip_leading_garbage
from ownfeed.errors import ParseError
from ownfeed.sources.fastfeed import parse_fast
from ownfeed.sources.feedparse import (
    _parser_content_type,
    parse_comments,
    parse_document,
    parse_feed,
)
from tests.sources.test_feedparse import CASES, Case

SHARED = Path("/work/shared/fixtures")
ROOT = Path(__file__).parent.parent.parent
URL = "https://blog.example/news/feed/"
RSS_NS = (
    ' xmlns:content="http://purl.org/rss/1.0/modules/content/"'
    ' xmlns:dc="http://purl.org/dc/elements/1.1/"'
    ' xmlns:atom="http://www.w3.org/2005/Atom"'
    ' xmlns:wfw="http://wellformedweb.org/CommentAPI/"'
    ' xmlns:slash="http://purl.org/rss/1.0/modules/slash/"'
    ' xmlns:media="http://search.yahoo.com/mrss/"'
    ' xmlns:sy="http://purl.org/rss/1.0/modules/syndication/"'
)


def took_fast(body: bytes, url: str, content_type: str) -> bool:
    data = strip_leading_garbage(body)
    return parse_fast(data, url=url, content_type=_parser_content_type(content_type)) is not None


def same(body: bytes, url: str, content_type: str) -> bool:
    """Both paths agree (posts, feed metadata, or the same ParseError); True if fast ran."""
    results = []
    for fast in (True, False):
        try:
            results.append(parse_feed(body, url=url, content_type=content_type, fast=fast))
        except Exception as error:
            results.append(repr(error))
    assert results[0] == results[1]
    comments = []
    for fast in (True, False):
        try:
            comments.append(
                parse_comments(
                    body, url=url, content_type=content_type, post_native_id="p", fast=fast
                )
            )
        except Exception as error:
            comments.append(repr(error))
    assert comments[0] == comments[1]
    same_document(body, url, content_type)
    return took_fast(body, url, content_type)


FEED_KEYS = ("title", "title_detail", "link", "links", "language", "author", "author_detail")


def same_document(body: bytes, url: str, content_type: str) -> None:
    """feedparser's result itself, as the GitHub and YouTube sources read it: every entry
    key for key, and the feed keys that matter."""
    documents = []
    for fast in (True, False):
        try:
            documents.append(parse_document(body, url=url, content_type=content_type, fast=fast))
        except ParseError as error:
            documents.append(str(error))
    fast_doc, slow_doc = documents
    if isinstance(fast_doc, str) or isinstance(slow_doc, str):
        assert fast_doc == slow_doc
        return
    assert fast_doc.entries == slow_doc.entries
    for key in FEED_KEYS:
        assert dict.get(fast_doc.feed, key) == dict.get(slow_doc.feed, key), key
    assert fast_doc.version == slow_doc.version


@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_golden_fixtures_agree(case: Case) -> None:
    same(case.path.read_bytes(), case.url, case.content_type)


def test_wordpress_fixtures_take_the_fast_path() -> None:
    wordpress = [case for case in CASES if case.name.startswith("wordpress-rss2")]
    assert wordpress
    for case in wordpress:
        assert same(case.path.read_bytes(), case.url, case.content_type), case.name


@pytest.mark.skipif(not SHARED.is_dir(), reason="no shared fixtures on this machine")
@pytest.mark.parametrize("content_type", ["application/rss+xml; charset=UTF-8", "text/html"])
def test_shared_fixtures_agree(content_type: str) -> None:
    for path in sorted(SHARED.iterdir()):
        if path.is_file():
            same(path.read_bytes(), f"https://shared.example/{path.name}", content_type)


def test_benchmark_feeds_agree_and_take_the_fast_path() -> None:
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        from sync_speed import render_feed
    finally:
        sys.path.pop(0)
    for index in range(3):
        body = render_feed(index, 20, index, "http://127.0.0.1:8000")
        assert same(body, f"http://127.0.0.1:8000/feed/{index}.xml", "application/rss+xml")


# --------------------------------------------------------------------------- generated


TEXTS = st.sampled_from(
    [
        "",
        "  plain words  ",
        "Grüße aus Köln – “quoted” …",
        "Ã©tÃ© mojibake",
        "c1 \x80 and \x93 controls",
        "a & b < c > d",
        "Tom &amp; Jerry",
        "&#8230; &nbsp; &copy; &bogus;",
        "<b>bold</b> &amp; <i>it</i>",
        "<p>para</p>",
        "x</p>",
        "emoji 🎉 and 中文",
        "\n\t ",
        "name@example.com (Name)",
    ]
)
AUTHORS = st.sampled_from(
    [
        "jane@example.com (Jane Doe)",
        "Jane Doe <jane@example.com>",
        "jane@example.com",
        "(Jane) x@y.org",
        "a@b",
        "x@[1.2.3.4]",
        "<> j@x.de",
        "mail me: jo+feeds@sub.example.co.uk?subject=Hi there",
        "Grüße@example.com",
        "Plain Name",
    ]
)
HTML_PARTS = st.sampled_from(
    [
        "<p>",
        "</p>",
        "text ",
        "Grüße ",
        '<a href="/rel/path?a=1&amp;b=2">',
        '<a href="other.html">',
        "</a>",
        '<a href="https://abs.example/x">',
        '<img src="img/a.jpg" alt="A" width="640" height="480">',
        '<IMG SRC="/b.png" ALT="B"/>',
        '<img src="c.gif" />',
        "<br>",
        "<br/>",
        "<br />",
        "&amp;",
        "&nbsp;",
        "&#8230;",
        "&#150;",
        "&#x2026;",
        "&#39;",
        "&#34;",
        "&bogus;",
        " & ",
        "<!-- comment -->",
        "<script>document.write('<img src=\"t.gif\">')</script>",
        "<b>",
        "</b>",
        "</i>",
        "<a href='single.html'>",
        '<a href="javascript:alert(1)">',
        '<a title="x > y">',
        "<div class=x>",
        "</div>",
        "<![CDATA[inner]]>",
        "<?php echo 1; ?>",
        "<!DOCTYPE html>",
        '<blockquote cite="q.html">',
        "</blockquote>",
        '<iframe src="v.html"></iframe>',
        "< notatag",
        "5 < 6",
        "\u00e9\u0093",
    ]
)
HTML = st.lists(HTML_PARTS, max_size=12).map("".join)
DATES = st.sampled_from(
    [
        "Tue, 05 Mar 2024 10:00:00 +0100",
        "Tue, 05 Mar 2024 10:00:00 GMT",
        "05 Mar 2024 10:00 EST",
        "2024-03-05T10:00:00Z",
        "2024-03-05",
        "Dienstag, 5. März 2024",
        "",
        "garbage",
    ]
)
URLS = st.sampled_from(
    [
        "https://blog.example/2024/03/hello/",
        "/2024/03/rel/",
        "rel-post.html",
        "https://blog.example/?p=1&amp;q=2",
        "https://blog.example/?p=1&q;=2",
        "",
        "  https://blog.example/spaced/  ",
        "javascript:alert(1)",
        "urn:uuid:1234",
    ]
)


def text_element(tag: str, value: str, cdata: bool) -> str:
    if cdata and "]]>" not in value:
        return f"<{tag}><![CDATA[{value}]]></{tag}>"
    return f"<{tag}>{escape(value)}</{tag}>"


@st.composite
def items(draw: st.DrawFn) -> str:
    """An RSS item: a random selection of elements, in random order, some repeated."""
    cdata = draw(st.booleans())
    parts = []
    if draw(st.booleans()):
        parts.append(text_element("title", draw(TEXTS | HTML), cdata))
    if draw(st.booleans()):
        parts.append(text_element("link", draw(URLS), False))
    if draw(st.booleans()):
        permalink = draw(st.sampled_from(["", ' isPermaLink="false"', ' isPermaLink="true"']))
        parts.append(f"<guid{permalink}>{escape(draw(URLS))}</guid>")
    if draw(st.booleans()):
        parts.append(text_element("pubDate", draw(DATES), False))
    if draw(st.booleans()):
        parts.append(text_element("dc:creator", draw(TEXTS | AUTHORS), cdata))
    if draw(st.integers(0, 3)) == 0:
        parts.append(text_element("author", draw(AUTHORS), cdata))
    for _ in range(draw(st.integers(0, 3))):
        domain = draw(st.sampled_from(["", ' domain="https://blog.example/tags"']))
        parts.append(f"<category{domain}>{escape(draw(TEXTS))}</category>")
    if draw(st.booleans()):
        parts.append(text_element("description", draw(HTML | TEXTS), cdata))
    if draw(st.booleans()):
        parts.append(text_element("content:encoded", draw(HTML), cdata))
    if draw(st.booleans()):
        parts.append(text_element("comments", draw(URLS), False))
    if draw(st.booleans()):
        parts.append(text_element("wfw:commentRss", draw(URLS), False))
    if draw(st.booleans()):
        parts.append(text_element("slash:comments", draw(st.sampled_from(["3", "0", "x"])), False))
    if draw(st.booleans()):
        url = quoteattr(draw(URLS))
        mime = draw(st.sampled_from(["audio/mpeg", "Video/MP4", "image/jpeg"]))
        parts.append(f'<enclosure url={url} length="12" type="{mime}"/>')
    if draw(st.booleans()):
        parts.append(f'<media:content url={quoteattr(draw(URLS))} medium="image" width="10"/>')
    if draw(st.booleans()):
        parts.append(f"<media:thumbnail url={quoteattr(draw(URLS))}/>")
    odd = draw(
        st.sampled_from(
            [
                '<title xml:lang="de">Hallo</title>',
                "<author>jane@example.com (Jane)</author>",
                "<source url='https://x.example/'>X</source>",
                "<foo:bar xmlns:foo='https://foo.example/'>x</foo:bar>",
                "<description>one</description>",
                '<link xml:base="https://other.example/">rel</link>',
                "<description><p>unescaped</p></description>",
                "<!-- a comment -->",
            ]
        )
    )
    if draw(st.booleans()):  # elements of namespaces feedparser does not know
        parts.append(
            draw(
                st.sampled_from(
                    [
                        '<post-id xmlns="com-wordpress:feed-additions:1">123</post-id>',
                        '<post-id xmlns="com-wordpress:feed-additions:1"> Ã© \x93 </post-id>',
                        '<extra xmlns="urn:x:extra" Kind="A" type="B"/>',
                        '<extra xmlns="urn:x:extra" kind="a">dropped text</extra>',
                        '<title xmlns="urn:x:other">not the title</title>',
                        '<docs xmlns="urn:x:other">rel/</docs>',
                        '<p:thing xmlns:p="com-wordpress:feed-additions:1">x</p:thing>',
                    ]
                )
            )
        )
    if draw(st.integers(0, 7)) == 0:  # now and then something the fast path must decline
        parts.append(odd)
    order = draw(st.permutations(parts))
    return "<item>" + "\n".join(order) + "</item>"


@st.composite
def documents(draw: st.DrawFn) -> bytes:
    declaration = draw(
        st.sampled_from(
            [
                '<?xml version="1.0" encoding="UTF-8"?>\n',
                "<?xml version='1.0' encoding='utf-8'?>",
                '<?xml version="1.0"?>\n',
                "",
                '<?xml version="1.0" encoding="ISO-8859-1"?>\n',
            ]
        )
    )
    channel = [text_element("title", draw(TEXTS | HTML), draw(st.booleans()))]
    if draw(st.booleans()):
        channel.append(text_element("link", draw(URLS), False))
    if draw(st.booleans()):
        channel.append(text_element("language", draw(st.sampled_from(["en-US", "de", ""])), False))
    if draw(st.booleans()):
        rel = draw(st.sampled_from(["self", "next", "prev-archive", "alternate", "hub"]))
        channel.append(f'<atom:link href={quoteattr(draw(URLS))} rel="{rel}"/>')
    channel.append(
        draw(
            st.sampled_from(
                [
                    "",
                    "<description>About</description><lastBuildDate>x</lastBuildDate>",
                    "<image><url>/i.png</url><title>T</title><link>/</link></image>",
                    "<managingEditor>ed@example.com (Ed)</managingEditor>",
                    "<sy:updatePeriod>hourly</sy:updatePeriod>",
                    '<site xmlns="com-wordpress:feed-additions:1">42</site>',
                    '<link xmlns="urn:x:other">https://not.example/</link>',
                ]
            )
        )
    )
    channel += draw(st.lists(items(), max_size=4))
    version = draw(st.sampled_from(["2.0", "2.0", "0.92"]))
    extra_ns = draw(
        st.sampled_from(["", "", ' xmlns:rss1="http://purl.org/rss/1.0/"', ' xmlns:u="urn:x:u"'])
    )
    text = (
        f'{declaration}<rss version="{version}"{RSS_NS}{extra_ns}><channel>'
        + "\n".join(channel)
        + "</channel></rss>\n"
    )
    return text.encode("utf-8")


CONTENT_TYPES = st.sampled_from(
    [
        "application/rss+xml; charset=UTF-8",
        "application/rss+xml",
        "text/xml",
        "text/xml; charset=utf-8",
        "text/html; charset=UTF-8",
        "application/xml; charset=iso-8859-1",
    ]
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=documents(), content_type=CONTENT_TYPES)
@example(
    body=(
        f'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"{RSS_NS}><channel>'
        "<title>T</title><item><title>Ã© x</title><guid>a</guid>"
        "<description><![CDATA[<img src='a.png'>]]></description></item></channel></rss>"
    ).encode(),
    content_type="application/rss+xml",
)
def test_generated_rss_agrees(body: bytes, content_type: str) -> None:
    same(body, URL, content_type)


def test_plain_generated_feeds_mostly_take_the_fast_path() -> None:
    """The fast path must not silently decline everything (the test above would still pass)."""
    body = (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<rss version="2.0"{RSS_NS}><channel>'
        "<title>Blog</title><link>https://blog.example/</link><language>de</language>"
        '<atom:link href="https://blog.example/feed/?paged=2" rel="next"/>'
        "<item><title>Grüße &amp; mehr</title><link>/2024/03/hello/</link>"
        "<pubDate>Tue, 05 Mar 2024 10:00:00 +0100</pubDate>"
        "<dc:creator><![CDATA[Jane Doe]]></dc:creator>"
        '<category domain="x">News</category><category>Product</category>'
        '<guid isPermaLink="false">https://blog.example/?p=1</guid>'
        "<description><![CDATA[Short &#8230;]]></description>"
        '<content:encoded><![CDATA[<p>Long <a href="/more">more</a></p>]]></content:encoded>'
        "<wfw:commentRss>/2024/03/hello/feed/</wfw:commentRss>"
        "<slash:comments>2</slash:comments>"
        '<enclosure url="https://blog.example/a.mp3" length="1" type="audio/mpeg"/>'
        "</item></channel></rss>"
    ).encode()
    assert same(body, URL, "application/rss+xml; charset=UTF-8")
    parsed = parse_feed(body, url=URL, content_type="application/rss+xml")
    post = parsed.entries[0].post
    assert post.url == "https://blog.example/2024/03/hello/"
    assert post.content_html == '<p>Long <a href="https://blog.example/more">more</a></p>'
    assert parsed.next_url == "https://blog.example/feed/?paged=2"
    assert parsed.entries[0].comments_url == "https://blog.example/2024/03/hello/feed/"


@pytest.mark.parametrize(
    "body",
    [
        b'<?xml version="1.0" encoding="ISO-8859-1"?><rss version="2.0"><channel></channel></rss>',
        b'<!DOCTYPE rss><rss version="2.0"><channel></channel></rss>',
        b'<rss version="2.0"><channel><item><title xml:lang="de">x</title></item></channel></rss>',
        b'<rss version="2.0"><channel><item><x>1</x></item></channel></rss>',
        b'<rss version="2.0"><channel><item><title>a</title><title>b</title></item>'
        b"</channel></rss>",
        b'<rss version="2.0"><channel><item><title>a &nbsp;</title></item></channel></rss>',
        b'<feed xmlns="http://www.w3.org/2005/Atom"><entry><content type="xhtml">'
        b'<div xmlns="http://www.w3.org/1999/xhtml">x</div></content></entry></feed>',
        b'<feed xmlns="http://purl.org/atom/ns#"><title>Atom 0.3</title></feed>',
    ],
)
def test_what_the_fast_path_declines(body: bytes) -> None:
    assert not took_fast(body, URL, "application/rss+xml")
    same(body, URL, "application/rss+xml")


# --------------------------------------------------------------------------- Atom


ATOM_TYPES = st.sampled_from(["", ' type="text"', ' type="html"', ' type="HTML"', ' type="xhtml"'])
BASES = st.sampled_from(["", ' xml:base="https://other.example/dir/"', ' xml:base="sub/"'])


@st.composite
def atom_text(draw: st.DrawFn, tag: str) -> str:
    kind = draw(ATOM_TYPES)
    base = draw(BASES) if draw(st.integers(0, 3)) == 0 else ""
    value = draw(HTML if "html" in kind.lower() else TEXTS | HTML)
    if "xhtml" in kind:
        return f'<{tag}{kind}{base}><div xmlns="http://www.w3.org/1999/xhtml">x</div></{tag}>'
    return f"<{tag}{kind}{base}>{escape(value)}</{tag}>"


@st.composite
def atom_author(draw: st.DrawFn) -> str:
    parts = []
    if draw(st.booleans()):
        parts.append(f"<name>{escape(draw(TEXTS))}</name>")
    if draw(st.booleans()):
        parts.append(f"<uri>{escape(draw(URLS))}</uri>")
    if draw(st.booleans()):
        parts.append(f"<email>{draw(st.sampled_from(['a@b.example', '', 'x']))}</email>")
    return "<author>" + "".join(draw(st.permutations(parts))) + "</author>"


@st.composite
def atom_link(draw: st.DrawFn) -> str:
    rel = draw(st.sampled_from(["", ' rel="alternate"', ' rel="self"', ' rel="Enclosure"',
                                ' rel="next"', ' rel="replies"']))  # fmt: skip
    kind = draw(st.sampled_from(["", ' type="text/html"', ' type="audio/mpeg"',
                                 ' type="application/atom+xml"']))  # fmt: skip
    return f"<link{rel}{kind} href={quoteattr(draw(URLS))}/>"


@st.composite
def atom_entries(draw: st.DrawFn) -> str:
    parts = []
    if draw(st.booleans()):
        parts.append(draw(atom_text("title")))
    for _ in range(draw(st.integers(0, 2))):
        parts.append(draw(atom_link()))
    if draw(st.booleans()):
        parts.append(f"<id>{escape(draw(URLS))}</id>")
    for tag in ("published", "updated"):
        if draw(st.booleans()):
            parts.append(f"<{tag}>{escape(draw(DATES))}</{tag}>")
    if draw(st.booleans()):
        parts.append(draw(atom_author()))
    if draw(st.booleans()):
        parts.append(draw(atom_text("summary")))
    if draw(st.booleans()):
        parts.append(draw(atom_text("content")))
    for _ in range(draw(st.integers(0, 2))):
        term = draw(st.sampled_from(['term="News"', 'term="x" scheme="s"', 'label="L"', ""]))
        parts.append(f"<category {term}/>")
    if draw(st.booleans()):
        parts.append(f"<media:thumbnail url={quoteattr(draw(URLS))} width='30'/>")
    if draw(st.integers(0, 7)) == 0:
        parts.append(
            draw(
                st.sampled_from(
                    [
                        "<contributor><name>C</name></contributor>",
                        '<content src="https://x.example/"/>',
                        "<thr:in-reply-to xmlns:thr='http://purl.org/syndication/thread/1.0' "
                        "ref='p'/>",
                        "<summary>second</summary>",
                        "<author><name>Second</name></author>",
                        "<source><title>S</title></source>",
                    ]
                )
            )
        )
    base = draw(BASES) if draw(st.integers(0, 3)) == 0 else ""
    return f"<entry{base}>" + "\n".join(draw(st.permutations(parts))) + "</entry>"


@st.composite
def atom_documents(draw: st.DrawFn) -> bytes:
    lang = draw(st.sampled_from(["", ' xml:lang="en-US"', ' xml:lang="de_DE"', ' xml:lang=""']))
    base = draw(BASES)
    head = [draw(atom_text("title")), f"<id>{escape(draw(URLS))}</id>"]
    for _ in range(draw(st.integers(0, 2))):
        head.append(draw(atom_link()))
    if draw(st.booleans()):
        head.append(draw(atom_author()))
    head.append(
        draw(st.sampled_from(["", "<updated>2024-03-05T10:00:00Z</updated>",
                              '<generator uri="https://g.example/">G</generator>',
                              "<subtitle type='html'>&lt;b&gt;x&lt;/b&gt;</subtitle>"]))
    )  # fmt: skip
    body = "\n".join([*draw(st.permutations(head)), *draw(st.lists(atom_entries(), max_size=3))])
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        f'<feed xmlns="http://www.w3.org/2005/Atom" xmlns:media="http://search.yahoo.com/mrss/"'
        f"{lang}{base}>{body}</feed>"
    ).encode()


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=atom_documents(), content_type=CONTENT_TYPES)
def test_generated_atom_agrees(body: bytes, content_type: str) -> None:
    same(body, URL, content_type)


def test_plain_atom_takes_the_fast_path() -> None:
    body = (
        b'<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom" '
        b'xml:lang="de">'
        b'<title>Blog</title><id>tag:blog.example,2024:feed</id><link href="/"/>'
        b'<entry xml:base="/2024/"><title type="html">Gr&#xfc;&#xdf;e &amp;amp; mehr</title>'
        b'<link href="hello/"/><id>tag:blog.example,2024:1</id>'
        b"<published>2024-03-05T10:00:00+01:00</published>"
        b"<author><name>Jane</name><uri>/jane</uri></author>"
        b'<category term="News"/>'
        b'<content type="html">&lt;p&gt;&lt;a href="more"&gt;more&lt;/a&gt;&lt;/p&gt;</content>'
        b"</entry></feed>"
    )
    assert same(body, URL, "application/atom+xml")
    post = parse_feed(body, url=URL, content_type="application/atom+xml").entries[0].post
    assert post.url == "https://blog.example/2024/hello/"
    assert post.content_html == '<p><a href="https://blog.example/2024/more">more</a></p>'
    assert post.language == "de" and post.author is not None and post.author.name == "Jane"


@pytest.mark.parametrize(
    "path",
    [
        *sorted((ROOT / "tests" / "data" / "github").glob("*.atom")),
        ROOT / "tests" / "data" / "youtube" / "videos.xml",
    ],
    ids=lambda path: path.name,
)
def test_github_and_youtube_feeds_agree(path: Path) -> None:
    same(
        path.read_bytes(),
        "https://github.com/novosyx/novosyx/releases.atom",
        "application/atom+xml",
    )


def test_threads_parse_side_by_side() -> None:
    """Small syncs parse in threads: each gets its own lxml parser, results stay right."""
    from concurrent.futures import ThreadPoolExecutor

    case = next(case for case in CASES if case.name == "wordpress-rss2")
    body = case.path.read_bytes()
    expected = parse_feed(body, url=case.url, content_type=case.content_type, fast=False)
    with ThreadPoolExecutor(4) as pool:
        results = list(
            pool.map(
                lambda _: parse_feed(body, url=case.url, content_type=case.content_type),
                range(40),
            )
        )
    assert all(result == expected for result in results)


# --------------------------------------------------------------------------- RSS 1.0


@st.composite
def rdf_documents(draw: st.DrawFn) -> bytes:
    """RSS 1.0: the RSS 2.0 item contents (feedparser reads them alike) under rdf:about."""
    channel = [
        text_element("title", draw(TEXTS | HTML), draw(st.booleans())),
        text_element("link", draw(URLS), False),
        "<description>About</description>",
        draw(st.sampled_from(["", "<dc:language>fr</dc:language>", "<dc:date>2024</dc:date>"])),
        draw(
            st.sampled_from(
                [
                    "",
                    '<image rdf:resource="https://blog.example/i.png"/>',
                    '<items><rdf:Seq><rdf:li rdf:resource="https://blog.example/1"/></rdf:Seq>'
                    "</items>",
                    "<textinput>x</textinput>",
                ]
            )
        ),
    ]
    items = []
    for _ in range(draw(st.integers(0, 3))):
        inner = draw(items_strategy)[len("<item>") : -len("</item>")]
        extra = draw(
            st.sampled_from(
                [
                    "",
                    "<dc:date>2024-01-10T09:00:00+01:00</dc:date>",
                    "<dc:subject>Café</dc:subject>",
                ]
            )
        )
        about = draw(st.sampled_from(["", ' rdf:about="https://blog.example/a"', ' rdf:about=""']))
        items.append(f"<item{about}>{inner}{extra}</item>")
    image = draw(
        st.sampled_from(["", '<image rdf:about="x"><title>T</title><url>/i.png</url></image>'])
    )
    extra_ns = draw(st.sampled_from(["", ' xmlns:atom2="http://www.w3.org/2005/Atom"']))
    atom_first = draw(st.booleans())  # feedparser's version: the first declared wins
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"'
        f'{extra_ns if atom_first else ""} xmlns="http://purl.org/rss/1.0/"{RSS_NS}'
        f"{'' if atom_first else extra_ns}>"
        f'<channel rdf:about="https://blog.example/">{"".join(channel)}</channel>'
        f"{image}{''.join(items)}</rdf:RDF>"
    ).encode()


items_strategy = items()


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(body=rdf_documents(), content_type=CONTENT_TYPES)
def test_generated_rss10_agrees(body: bytes, content_type: str) -> None:
    same(body, URL, content_type)


def test_plain_rss10_takes_the_fast_path() -> None:
    case = next(case for case in CASES if case.name == "rss10")
    body = case.path.read_bytes().replace(b"ISO-8859-1", b"UTF-8").decode("latin-1").encode()
    assert same(body, case.url, "application/rdf+xml")
    parsed = parse_feed(body, url=case.url, content_type="application/rdf+xml")
    assert parsed.version == "rss10" and parsed.language == "fr"
    assert parsed.entries[0].post.tags == ("Café",)
