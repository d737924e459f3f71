import html
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


def _iso_by_conversion(value: datetime) -> str:
    """What `iso` computed before its fast path for UTC datetimes without microseconds."""
    return value.astimezone(UTC).replace(microsecond=0).isoformat()


@given(
    st.datetimes(
        timezones=st.sampled_from([UTC, timezone(timedelta(0)), timezone(timedelta(hours=-5))])
    )
)
def test_iso_fast_path_writes_what_the_conversion_writes(value: datetime) -> None:
    assert iso(value) == _iso_by_conversion(value)
    assert iso(value.replace(microsecond=0)) == _iso_by_conversion(value)
    assert iso(value.replace(tzinfo=None)) == _iso_by_conversion(value.replace(tzinfo=UTC))


_SCRIPTISH = ["<script>", "</script>", "<SCRIPT a=1>", "</Script >", "<style>", "</STYLE>", "<p>"]


@given(st.lists(st.sampled_from([*_SCRIPTISH, "x", " ", "<", "s", "S", "&amp;", "<b>"])))
def test_html_to_text_drops_scripts_and_styles_whatever_their_case(parts: list[str]) -> None:
    """The script/style pass is skipped only where it cannot match (no "<s" or "<S")."""
    markup = "".join(parts)
    drop = re.compile(r"<(script|style)\b.*?</\1\s*>", re.IGNORECASE | re.DOTALL)
    block = re.compile(
        r"</?(?:br|p|div|li|ul|ol|h[1-6]|blockquote|pre|tr|td|th|table|hr|figure|img)\b[^>]*>",
        re.IGNORECASE,
    )
    text = re.sub(r"<[^>]*>", "", block.sub(" ", drop.sub(" ", markup)))
    expected = " ".join(html.unescape(text).split()) if markup else ""
    assert html_to_text(markup) == expected
    assert html_to_text("a<SCRIPT>x()</script>b") == "a b"
