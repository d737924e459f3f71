"""Bluesky facets to HTML: UTF-8 byte offsets, escaping, broken facets kept as text."""

from __future__ import annotations

import html
import re
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from ownfeed.models import html_to_text
from ownfeed.sources.richtext import facet_tags, render

MENTION = "app.bsky.richtext.facet#mention"
LINK = "app.bsky.richtext.facet#link"
TAG = "app.bsky.richtext.facet#tag"


def facet(start: int, end: int, **feature: Any) -> dict[str, Any]:
    return {
        "$type": "app.bsky.richtext.facet",
        "index": {"byteStart": start, "byteEnd": end},
        "features": [feature],
    }


def test_offsets_are_utf8_bytes_not_characters() -> None:
    # "Grüße" is 7 bytes, the emoji 4: "#Köln" spans bytes 13..19 but characters 8..13
    text = "Grüße 🎉 #Köln"
    out = render(text, [facet(13, 19, **{"$type": TAG, "tag": "Köln"})])
    assert out == (
        '<p>Grüße 🎉 <a href="https://bsky.app/hashtag/K%C3%B6ln" class="tag">#Köln</a></p>'
    )


def test_mention_and_link_after_multibyte_text() -> None:
    text = "Danke @änne.example für https://novosyx.example/ü"
    # "Danke " 6 bytes; "@änne.example" 14 bytes; " für " 6 bytes; the URL 26 bytes
    facets = [
        facet(6, 20, **{"$type": MENTION, "did": "did:plc:aenne"}),
        facet(26, 52, **{"$type": LINK, "uri": "https://novosyx.example/%C3%BC"}),
    ]
    out = render(text, facets)
    assert (
        '<a href="https://bsky.app/profile/did:plc:aenne" class="mention">@änne.example</a>' in out
    )
    assert (
        '<a href="https://novosyx.example/%C3%BC" class="link">https://novosyx.example/ü</a>' in out
    )
    assert html_to_text(out) == text


def test_text_and_attributes_are_escaped() -> None:
    text = '<script>alert(1)</script> & "quotes"'
    uri = 'https://example.com/?a=1&b="x"'
    out = render(text, [facet(0, 8, **{"$type": LINK, "uri": uri})])
    assert "<script>" not in out
    assert 'href="https://example.com/?a=1&amp;b=&quot;x&quot;"' in out
    assert "&amp; &quot;quotes&quot;" not in out  # quotes in text need no escaping
    assert '&amp; "quotes"' in out


def test_unsafe_and_broken_facets_leave_plain_text() -> None:
    text = "Grüße an alle"
    broken = [
        facet(0, 5, **{"$type": LINK, "uri": "javascript:alert(1)"}),  # unsafe scheme
        facet(3, 6, **{"$type": TAG, "tag": "x"}),  # starts inside "ü"
        facet(8, 99, **{"$type": TAG, "tag": "x"}),  # past the end
        facet(9, 9, **{"$type": TAG, "tag": "x"}),  # empty
        facet(0, 4, **{"$type": "app.bsky.richtext.facet#unknown"}),
        {"index": {"byteStart": "0", "byteEnd": 2}, "features": []},
        "not a facet",
    ]
    assert render(text, broken) == "<p>Grüße an alle</p>"


def test_overlapping_facets_keep_the_first() -> None:
    text = "#eins zwei"
    facets = [
        facet(0, 5, **{"$type": TAG, "tag": "eins"}),
        facet(3, 10, **{"$type": LINK, "uri": "https://example.com/"}),
    ]
    out = render(text, facets)
    assert out.count("<a ") == 1 and 'class="tag">#eins</a>' in out


def test_newlines_become_paragraphs_and_breaks() -> None:
    assert render("Eins\nzwei\n\nDrei") == "<p>Eins<br>zwei</p><p>Drei</p>"
    assert render("") == "" and render(None) == ""


def test_facet_tags_are_collected_once() -> None:
    facets = [
        facet(0, 5, **{"$type": TAG, "tag": "Köln"}),
        facet(6, 10, **{"$type": TAG, "tag": "Köln"}),
        facet(11, 14, **{"$type": MENTION, "did": "did:plc:x"}),
    ]
    assert facet_tags(facets) == ["Köln"]
    assert facet_tags(None) == []


@given(
    st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=40),
    st.lists(st.tuples(st.integers(-2, 60), st.integers(-2, 60)), max_size=5),
)
def test_rendering_never_loses_or_invents_text(text: str, ranges: list[tuple[int, int]]) -> None:
    facets = [facet(a, b, **{"$type": LINK, "uri": "https://example.com/"}) for a, b in ranges]
    out = render(text, facets)
    expected = re.sub(r"\s+", " ", text).strip()
    assert html_to_text(out) == expected
    assert "<" not in html.unescape(re.sub(r"<[^>]*>", "", out)) or "<" in text
