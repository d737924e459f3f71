import re
from datetime import UTC, datetime, timedelta, timezone

from hypothesis import given
from hypothesis import strategies as st

from ownfeed.models import Post, content_hash, html_to_text, iso, parse_iso, post_id


def test_post_id_is_short_stable_and_depends_on_platform():
    assert post_id("web", "https://a/?p=1") == post_id("web", "https://a/?p=1")
    assert len(post_id("web", "x")) == 16
    assert post_id("web", "x") != post_id("mastodon", "x")


def test_html_to_text_collapses_whitespace_and_keeps_inline_words_together():
    text = html_to_text(
        "<p>über <b>Vertrauen</b>,\n  Technik</p><p>zwei<br>drei</p><script>x()</script>"
    )
    assert text == "über Vertrauen, Technik zwei drei"


def test_content_hash_ignores_markup_but_not_words():
    assert content_hash("T", "<p>Hello  world</p>") == content_hash("T", "<div>Hello world</div>")
    assert content_hash("T", "<p>Hello world</p>") != content_hash("T", "<p>Hello there</p>")
    assert content_hash("T", "x") != content_hash("U", "x")


def test_times_are_utc_iso():
    local = datetime(2009, 11, 12, 22, 0, 45, tzinfo=timezone(timedelta(hours=1)))
    assert iso(local) == "2009-11-12T21:00:45+00:00"
    assert parse_iso("2009-11-12T21:00:45Z") == datetime(2009, 11, 12, 21, 0, 45, tzinfo=UTC)
    assert parse_iso("not a date") is None


def test_post_text_falls_back_to_html():
    assert Post("web", "1", content_html="<p>a <i>b</i></p>").text == "a b"
    assert Post("web", "1", content_html="<p>x</p>", content_text="given").text == "given"


_SPACES_AND_MARKUP = list(" \t\n\r\x0b\x0c\x1c\x1f\x85\xa0\u2003\u3000ab<>&;")


@given(st.text(alphabet=st.sampled_from(_SPACES_AND_MARKUP)))
def test_html_to_text_collapses_every_unicode_space_like_a_regex(text: str) -> None:
    """Whitespace collapsing counts exactly what re's \\s counts, non-breaking spaces included."""
    collapsed = html_to_text(f"<p>{text}</p>")
    assert collapsed == collapsed.strip()
    assert not re.search(r"\s\s", collapsed)
    assert not re.search(r"[^\S ]", collapsed)
