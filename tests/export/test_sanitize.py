"""Untrusted HTML: nothing executable, nothing loaded from another host survives."""

from __future__ import annotations

import re
from urllib.parse import urlsplit

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ownfeed.export.sanitize import Sanitizer, media_key, safe_url
from tests.export import XSS

LOCAL = {media_key("https://blog.example/img/team.png"): "abc123.png"}


@pytest.fixture
def sanitizer() -> Sanitizer:
    return Sanitizer(LOCAL)


def clean(sanitizer: Sanitizer, markup: str, **options: object) -> str:
    values: dict[str, object] = {
        "base": "https://blog.example/2024/post/",
        "media_root": "../media/",
    }
    values.update(options)
    return sanitizer.clean(markup, **values).html  # type: ignore[arg-type]


FORBIDDEN = [
    "<script",
    "onerror",
    "onclick",
    "javascript",
    "vbscript",
    "data:",
    "<iframe",
    "<form",
    "<input",
    "<meta",
    "<base",
    "<style",
    "style=",
    "<svg",
    "srcset",
    "<object",
    "<video",
    "<link",
    'name="',
    "url(",
]


@pytest.mark.parametrize("needle", FORBIDDEN)
def test_xss_sample_leaves_nothing_dangerous(sanitizer: Sanitizer, needle: str) -> None:
    assert needle not in clean(sanitizer, XSS).lower()


@pytest.mark.parametrize(
    "href",
    [
        "javascript:alert(1)",
        "JaVaScRiPt:alert(1)",
        " javascript:alert(1)",
        "jav&#x09;ascript:alert(1)",
        "jav&#9;ascript:alert(1)",
        "java\nscript:alert(1)",
        "java\rscript:alert(1)",
        "&#106;avascript:alert(1)",
        "&#x6A;avascript:alert(1)",
        "javascript&colon;alert(1)",
        "\x01javascript:alert(1)",
        "data:text/html,<script>alert(1)</script>",
        "DATA:text/html;base64,PHNjcmlwdD4=",
        "vbscript:msgbox(1)",
        "file:///etc/passwd",
    ],
)
def test_hidden_schemes_are_dropped(sanitizer: Sanitizer, href: str) -> None:
    out = clean(sanitizer, f'<a href="{href}">x</a><img src="{href}" alt="i">')
    assert "href=" not in out.replace('rel="', "")
    assert "<img" not in out
    assert "script" not in out.lower() and "data:" not in out.lower()


def test_downloaded_image_points_at_local_copy(sanitizer: Sanitizer) -> None:
    out = clean(sanitizer, '<p><img src="/img/team.png" alt="Team" width="40" height="x"></p>')
    assert out == '<p><img src="../media/abc123.png" alt="Team" width="40" loading="lazy"></p>'


def test_local_image_found_by_absolute_url_with_other_case_host(sanitizer: Sanitizer) -> None:
    out = clean(sanitizer, '<img src="HTTPS://Blog.Example/img/team.png#x">', media_root="media/")
    assert 'src="media/abc123.png"' in out


def test_image_not_downloaded_becomes_a_link(sanitizer: Sanitizer) -> None:
    cleaned = sanitizer.clean('<img src="https://cdn.example/p.png" alt="Pixel">', base=None)
    assert "<img" not in cleaned.html
    assert 'href="https://cdn.example/p.png"' in cleaned.html
    assert "Pixel" in cleaned.html
    assert media_key("https://cdn.example/p.png") in cleaned.inline_media


def test_image_inside_a_link_becomes_text_not_a_nested_link(sanitizer: Sanitizer) -> None:
    out = clean(sanitizer, '<a href="https://x.example/"><img src="https://cdn.example/p.png"></a>')
    assert out.count("<a ") == 1
    assert "<img" not in out


def test_protocol_relative_image_is_not_loaded(sanitizer: Sanitizer) -> None:
    out = clean(sanitizer, '<img src="//evil.example/x.png">')
    assert "<img" not in out
    assert 'href="https://evil.example/x.png"' in out


def test_relative_links_resolve_against_the_post(sanitizer: Sanitizer) -> None:
    out = clean(sanitizer, '<a href="../about">a</a> <a href="/team">t</a>')
    assert 'href="https://blog.example/2024/about"' in out
    assert 'href="https://blog.example/team"' in out


def test_relative_links_without_base_are_dropped(sanitizer: Sanitizer) -> None:
    out = sanitizer.clean('<a href="/team">t</a>', base=None).html
    assert "href" not in out


def test_ids_are_prefixed_and_fragments_follow(sanitizer: Sanitizer) -> None:
    out = clean(sanitizer, '<a href="#fn1">1</a><p id="fn1">note</p><p id="main">x</p>')
    assert 'href="#x-fn1"' in out and 'id="x-fn1"' in out
    assert 'id="main"' not in out


def test_rel_for_third_party_and_own_content(sanitizer: Sanitizer) -> None:
    theirs = clean(sanitizer, '<a href="https://x.example/">x</a>')
    ours = clean(sanitizer, '<a href="https://x.example/">x</a>', third_party=False)
    assert 'rel="nofollow noopener ugc"' in theirs
    assert 'rel="noopener"' in ours


def test_classes_cannot_fake_microformats(sanitizer: Sanitizer) -> None:
    out = clean(sanitizer, '<div class="h-entry"><span class="p-name">x</span></div>')
    assert "class" not in out


def test_prose_survives(sanitizer: Sanitizer) -> None:
    markup = "<h2>Ü</h2><p><strong>a</strong> <em>b</em> <code>c</code></p><ul><li>d</li></ul>"
    assert clean(sanitizer, markup) == markup


def test_empty_content(sanitizer: Sanitizer) -> None:
    assert sanitizer.clean(None).html == ""
    assert sanitizer.clean("").inline_media == frozenset()


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://example.org/a?b=1", "https://example.org/a?b=1"),
        (" http://example.org/ ", "http://example.org/"),
        ("javascript:alert(1)", None),
        ("java\tscript:alert(1)", None),
        ("data:text/html,x", None),
        ("//evil.example/x", None),
        ("/relative", None),
        ("https://exa mple.org/", None),
        (None, None),
    ],
)
def test_safe_url(url: str | None, expected: str | None) -> None:
    assert safe_url(url) == expected


def _safe_url_by_regex(url: str) -> str | None:
    """safe_url before its fast path for plain web URLs (the reference)."""
    value = url.strip()
    if re.match(r"https?://[^\x00-\x20\x7f]+\Z", value, re.IGNORECASE):
        return value
    try:
        scheme = urlsplit(re.sub(r"[\x00-\x20\x7f]+", "", value)).scheme.lower()
    except ValueError:
        return None
    if scheme not in ("http", "https") or re.search(r"[\x00-\x20\x7f]", value):
        return None
    return value


@settings(max_examples=3000)
@given(
    st.sampled_from(["", "https://", "http://", "HTTPS://", " https://", "javascript:"]),
    st.text(alphabet=st.sampled_from(["a", "/", ":", " ", "\t", "\x00", "\x7f", "\x85", "[", "é"])),
)
def test_safe_url_fast_path_agrees(prefix: str, rest: str) -> None:
    assert safe_url(prefix + rest) == (_safe_url_by_regex(prefix + rest) or None)


PIECES = st.sampled_from(
    [
        "<script>",
        "</script>",
        "<img src=x onerror=alert(1)>",
        "<a href='javascript:alert(1)'>",
        "<svg onload=alert(1)>",
        "jav&#x09;ascript:",
        "<",
        ">",
        '"',
        "'",
        "=",
        "<!--",
        "-->",
        "<style>",
        "<iframe src=//e.example>",
        "text",
        "&lt;",
        "<p>",
        "</a>",
        " on",
        "error=",
    ]
)


@settings(max_examples=300, deadline=None)
@given(st.lists(PIECES, max_size=25).map("".join))
def test_random_markup_never_yields_script_or_handlers(markup: str) -> None:
    out = Sanitizer().clean(markup, base="https://blog.example/").html
    tags = re.findall(r"<[^>]*>", out)
    assert "<script" not in out.lower()
    assert not any(re.search(r"\son\w+\s*=", tag, re.IGNORECASE) for tag in tags)
    assert not any("javascript:" in tag.lower() for tag in tags)
    assert "<img" not in out  # no image is local here, so none may load
