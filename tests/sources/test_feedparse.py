"""Golden tests of the feed parser: input documents in tests/data/feed, expected posts as JSON.

Regenerate the expected files after a deliberate change with
`.venv/bin/python -m tests.sources.regen_golden` and review the diff.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ownfeed.errors import ParseError
from ownfeed.sources.feedparse import (
    ParsedFeed,
    _ImageParser,
    _images_in_plain_markup,
    parse_comments,
    parse_feed,
)
from ownfeed.sources.htmluris import resolve_relative_uris
from tests.sources.test_htmluris import PIECES as HTML_PIECES

DATA = Path(__file__).parent.parent / "data"
FEED_DATA = DATA / "feed"


@dataclasses.dataclass(frozen=True)
class Case:
    """One golden case: a document, how it was served, and what it is (feed or comments)."""

    name: str
    path: Path
    url: str
    content_type: str
    post_native_id: str | None = None  # set for comment feeds

    @property
    def expected_path(self) -> Path:
        return FEED_DATA / f"{self.name}.expected.json"


CASES = [
    Case(
        "wordpress-rss2-php-warnings",
        DATA / "wordpress-rss2-php-warnings.xml",
        "https://www.waide.de/tag/trust/feed/",
        "text/html; charset=UTF-8",  # PHP's header() failed after the warnings
    ),
    Case(
        "wordpress-comments-feed",
        DATA / "wordpress-comments-feed.xml",
        "https://breakpoint.example/2014/03/06/hundertachtundsechzig/feed/",
        "application/rss+xml; charset=UTF-8",
        post_native_id="https://breakpoint.example/?p=1684",
    ),
    Case(
        "wordpress-rss2",
        FEED_DATA / "wordpress-rss2.xml",
        "https://novosyx.example/feed/",
        "application/rss+xml; charset=UTF-8",
    ),
    Case(
        "wordpress-comments",
        FEED_DATA / "wordpress-comments.atom",
        "https://novosyx.example/2024/03/hello/feed/atom/",
        "application/atom+xml; charset=UTF-8",
        post_native_id="https://novosyx.example/?p=101",
    ),
    Case(
        "atom-blog",
        FEED_DATA / "atom-blog.atom",
        "https://novosyx.example/de/feed.atom",
        "application/atom+xml",
    ),
    Case("rss10", FEED_DATA / "rss10.rdf", "https://novosyx.example/feed/rdf/", "text/xml"),
    Case(
        "rss091-bom",
        FEED_DATA / "rss091-bom.xml",
        "http://old.novosyx.example/rss.xml",
        "text/plain",
    ),
    Case(
        "jsonfeed11",
        FEED_DATA / "jsonfeed11.json",
        "https://novosyx.example/feed.json",
        "application/feed+json",
    ),
    Case(
        "jsonfeed10",
        FEED_DATA / "jsonfeed10.json",
        "https://novosyx.example/feed.json",
        "application/json",
    ),
]


def _plain(value: Any) -> Any:
    """Datetimes as ISO strings, tuples as lists: the JSON form of a post."""
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


def render(case: Case) -> dict[str, Any]:
    """What the parser makes of a case, in a stable JSON-able form."""
    body = case.path.read_bytes()
    if case.post_native_id is not None:
        comments = parse_comments(
            body, url=case.url, content_type=case.content_type, post_native_id=case.post_native_id
        )
        return {"comments": [_plain(dataclasses.asdict(post)) for post in comments]}
    parsed: ParsedFeed = parse_feed(body, url=case.url, content_type=case.content_type)
    feed = {
        "version": parsed.version,
        "title": parsed.title,
        "home_url": parsed.home_url,
        "language": parsed.language,
        "next_url": parsed.next_url,
        "bozo": parsed.bozo,
    }
    entries = [
        {"comments_url": entry.comments_url, "post": _plain(dataclasses.asdict(entry.post))}
        for entry in parsed.entries
    ]
    return {"feed": feed, "entries": entries}


def dumps(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, ensure_ascii=False, sort_keys=True) + "\n"


@pytest.mark.parametrize("case", CASES, ids=[case.name for case in CASES])
def test_golden(case: Case) -> None:
    assert case.expected_path.exists(), f"run python -m tests.sources.regen_golden ({case.name})"
    expected = json.loads(case.expected_path.read_text(encoding="utf-8"))
    # Through JSON, so the comparison also proves `raw` is JSON-able.
    assert json.loads(dumps(render(case))) == expected


# ----------------------------------------------------------------- behaviour, spelled out


def _feed(name: str) -> ParsedFeed:
    case = next(case for case in CASES if case.name == name)
    return parse_feed(case.path.read_bytes(), url=case.url, content_type=case.content_type)


def test_php_warnings_before_the_xml_still_give_the_post() -> None:
    parsed = _feed("wordpress-rss2-php-warnings")
    assert parsed.bozo is None  # parsed strictly once the garbage is gone, despite text/html
    assert [post.native_id for post in parsed.posts] == ["https://www.waide.de/?p=37"]
    assert parsed.title == "trust – Björn Waide"


def test_script_contents_are_no_images() -> None:
    post = _feed("wordpress-rss2-php-warnings").posts[0]
    assert [media.url for media in post.media] == [
        "https://www.waide.de/wp-content/uploads/2009/11/trust.jpg"
    ]
    assert post.media[0].alt == "Social Media ohne Vertrauen"


def test_rss2_has_no_updated_date_even_though_feedparser_pretends() -> None:
    post = _feed("wordpress-rss2").posts[0]
    assert post.published_at is not None
    assert post.updated_at is None


def test_native_id_falls_back_to_link_then_to_a_stable_hash() -> None:
    first, second = _feed("wordpress-rss2").posts[1:3], _feed("wordpress-rss2").posts[1:3]
    assert first[0].native_id == "https://novosyx.example/2024/02/fair/"
    assert first[1].native_id.startswith("sha256:")
    assert first[1].native_id == second[1].native_id


def test_duplicate_guids_give_one_post() -> None:
    ids = [post.native_id for post in _feed("wordpress-rss2").posts]
    assert ids.count("https://novosyx.example/?p=101") == 1


def test_comment_feed_urls_and_counts() -> None:
    parsed = _feed("wordpress-rss2")
    assert parsed.entries[0].comments_url == "https://novosyx.example/2024/03/hello/feed/"
    assert parsed.entries[0].post.reply_count == 3
    atom = _feed("atom-blog")
    assert atom.entries[0].comments_url == "https://novosyx.example/de/2024/04/vertrauen/feed/atom/"
    assert atom.entries[0].post.reply_count == 2


def test_atom_relative_links_are_resolved_and_next_page_found() -> None:
    parsed = _feed("atom-blog")
    assert parsed.posts[0].url == "https://novosyx.example/de/2024/04/vertrauen/"
    assert parsed.next_url == "https://novosyx.example/de/feed.atom?page=2"
    assert parsed.posts[2].url is None  # an id-only entry has no page


def test_rss10_dc_date_is_the_published_date() -> None:
    post = _feed("rss10").posts[0]
    assert post.published_at == datetime.fromisoformat("2024-01-10T08:00:00+00:00")
    assert post.author is not None and post.author.name == "Chloé Martin"


def test_json_feed_discards_items_without_id_and_coerces_numbers() -> None:
    assert [post.native_id for post in _feed("jsonfeed11").posts] == [
        "https://novosyx.example/2024/05/json/",
        "4711",
    ]
    assert [post.native_id for post in _feed("jsonfeed10").posts] == ["1", "2"]


def test_atom_threading_links_replies_to_their_parent() -> None:
    case = next(case for case in CASES if case.name == "wordpress-comments")
    comments = parse_comments(
        case.path.read_bytes(),
        url=case.url,
        content_type=case.content_type,
        post_native_id="https://novosyx.example/?p=101",
    )
    by_id = {c.native_id.rsplit("-", 1)[-1]: c for c in comments}
    assert by_id["7"].in_reply_to == "https://novosyx.example/?p=101"
    assert by_id["8"].in_reply_to == "https://novosyx.example/?p=101#comment-7"
    assert {c.thread_root for c in comments} == {"https://novosyx.example/?p=101"}
    assert [by_id[n].kind for n in ["7", "8", "9", "10"]] == [
        "reply",
        "reply",
        "pingback",
        "pingback",
    ]
    assert by_id["7"].title is None and by_id["8"].title is None
    assert by_id["10"].title == "A real title on a comment"
    assert not any(c.is_own for c in comments)


@pytest.mark.parametrize(
    ("body", "content_type", "message"),
    [
        (b"<!DOCTYPE html><html><head></head><body>Hi</body></html>", "text/html", "HTML page"),
        (b"just some text", "text/plain", "not a feed: "),
        (b'{"hello": "world"}', "application/json", "JSON without a JSON Feed version"),
        (b"{broken", "application/feed+json", "invalid JSON"),
        (b"", "application/rss+xml", "not a feed"),
    ],
)
def test_no_feed_is_a_one_line_parse_error(body: bytes, content_type: str, message: str) -> None:
    with pytest.raises(ParseError) as caught:
        parse_feed(body, url="https://novosyx.example/x", content_type=content_type)
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


def test_entity_declarations_are_refused() -> None:
    body = b"""<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;&a;">]>
    <rss version="2.0"><channel><title>&b;</title><item><guid>x</guid></item></channel></rss>"""
    with pytest.raises(ParseError, match="entity declarations are refused"):
        parse_feed(body, url="https://e.example/feed", content_type="application/rss+xml")


@pytest.mark.parametrize("encoding", [b"\x80TF-8", b"\x00TF-8"])
def test_a_broken_encoding_declaration_is_no_crash(encoding: bytes) -> None:
    body = b'<?xml version="1.0" encoding="' + encoding + b'"?><rss version="2.0"><channel>'
    body += b"<title>T</title><item><guid isPermaLink='false'>x</guid></item></channel></rss>"
    try:
        parsed = parse_feed(body, url="https://e.example/feed", content_type="application/rss+xml")
    except ParseError as error:
        assert "\n" not in str(error)
    else:
        assert [post.native_id for post in parsed.posts] == ["x"]


def test_a_bozo_feed_with_entries_is_a_success() -> None:
    # `&nbsp;` is no XML entity: the strict parser fails, the lenient one still finds the item.
    body = b"<rss version='2.0'><channel><title>T</title><item><title>A &nbsp; B</title>"
    body += b"<guid isPermaLink='false'>x1</guid></item></channel></rss>"
    parsed = parse_feed(body, url="https://e.example/feed", content_type="application/rss+xml")
    assert [post.native_id for post in parsed.posts] == ["x1"]
    assert parsed.bozo is not None and "undefined entity" in parsed.bozo


def _comment_feed(title: str, author: str, text: str) -> bytes:
    return f"""<?xml version="1.0"?><rss version="2.0" xmlns:dc="http://purl.org/dc/elements/1.1/">
    <channel><title>c</title><item><title>{title}</title><dc:creator>{author}</dc:creator>
    <guid isPermaLink="false">p#c1</guid><description>{text}</description></item>
    </channel></rss>""".encode()


@pytest.mark.parametrize(
    ("title", "kept"),
    [
        ("Von: Marie", False),
        ("By: Marie", False),
        ("Kommentar zu Hallo Welt von Marie", False),
        ("Réponse de Marie", False),  # no known prefix, but it names the author at the end
        ("I fully agree with this...", False),  # an excerpt of the comment
        ("Pingback: Some blog", True),
        ("Good point", True),
    ],
)
def test_generated_comment_titles_are_dropped(title: str, kept: bool) -> None:
    body = _comment_feed(title, "Marie", "I fully agree with this post, thanks.")
    [comment] = parse_comments(
        body, url="https://e.example/c", content_type="text/xml", post_native_id="p"
    )
    assert comment.title == (title if kept else None)
    assert comment.in_reply_to == "p" and comment.thread_root == "p"


@settings(max_examples=2000, deadline=None)
@given(st.lists(st.sampled_from(HTML_PIECES), max_size=12).map("".join), st.booleans())
def test_image_scan_agrees_with_html_parser(markup: str, resolved: bool) -> None:
    """The regex scan for images in plain markup finds what html.parser finds, or declines."""
    if resolved:  # as feedparser stores it, which is what the scan mostly sees
        markup = resolve_relative_uris(markup, "https://blog.example/")
    parser = _ImageParser()
    parser.feed(markup)
    parser.close()
    found = _images_in_plain_markup(markup)
    assert found is None or found == parser.images


def test_image_scan_reads_feedparser_output_itself() -> None:
    markup = resolve_relative_uris(
        '<p><img src="a.jpg" alt="x &amp; y" width="640"><IMG SRC="b.png"/></p>',
        "https://b.example/",
    )
    assert _images_in_plain_markup(markup) == [
        {"alt": "x & y", "src": "https://b.example/a.jpg", "width": "640"},
        {"src": "https://b.example/b.png"},
    ]
