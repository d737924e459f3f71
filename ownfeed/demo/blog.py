"""The sample company's WordPress-like blog: an RSS feed, comment feeds, post pages, images."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime
from html import escape

from ownfeed.demo.images import png
from ownfeed.demo.web import DemoRequest, DemoResponse, Handler

SITE_TITLE = "Novosyx Blog"
GUID_BASE = "https://blog.novosyx.example"


@dataclass(frozen=True)
class Comment:
    id: int
    author: str
    when: datetime
    html: str
    parent: int = 0
    type: str = "comment"  # or "pingback"


@dataclass
class BlogPost:
    id: int
    slug: str
    title: str
    when: datetime
    html: str
    tags: tuple[str, ...] = ()
    image: str | None = None
    comments: list[Comment] = field(default_factory=list)
    gone: bool = False


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def sample_posts() -> list[BlogPost]:
    """Five posts over a year, with comment threads, a pingback and pictures."""
    return [
        BlogPost(
            1,
            "hello-world",
            "Hallo Welt: Novosyx bloggt jetzt",
            _at("2025-01-15T09:00:00"),
            "<p>Ab heute schreiben wir hier über <strong>Vertrauen</strong>, Technik und "
            "alles, was wir bauen.</p>",
            ("News", "Über uns"),
            comments=[
                Comment(101, "Jörg Müller", _at("2025-01-15T10:12:00"), "<p>Willkommen!</p>"),
                Comment(
                    102,
                    "Novosyx",
                    _at("2025-01-15T11:30:00"),
                    "<p>Danke, Jörg! Schön, dass du mitliest.</p>",
                    parent=101,
                ),
                Comment(
                    103,
                    "Zoë Weiß",
                    _at("2025-01-16T08:05:00"),
                    "<p>Das freut mich auch. Bin gespannt.</p>",
                    parent=102,
                ),
            ],
        ),
        BlogPost(
            2,
            "vertrauen-ist-alles",
            "Vertrauen ist alles",
            _at("2025-04-02T14:30:00"),
            "<p>Social Media ohne Vertrauen ist wie ein Haus ohne Fundament.</p>"
            '<p><img src="/images/fundament.png" alt="Ein Fundament aus Beton" '
            'width="48" height="32" /></p>',
            ("Vertrauen", "Social Media"),
            image="fundament",
            comments=[
                Comment(201, "Ana Sousa", _at("2025-04-02T16:00:00"), "<p>Sehr wahr. Danke!</p>"),
                Comment(
                    202,
                    "Fünf Thesen | breakpoint",
                    _at("2025-04-03T07:31:00"),
                    "<p>[&#8230;] Novosyx schreibt, Vertrauen sei alles. [&#8230;]</p>",
                    type="pingback",
                ),
            ],
        ),
        BlogPost(
            3,
            "release-2-0",
            "Novosyx 2.0 ist da",
            _at("2025-09-10T08:00:00"),
            "<p>Version 2.0 bringt Export, Suche und einen dunklen Modus.</p>"
            '<p><img src="/images/release.png" alt="Screenshot der Version 2.0" /></p>',
            ("Release",),
            image="release",
            comments=[
                Comment(301, "Max Mustermann", _at("2025-09-10T09:00:00"), "<p>Endlich!</p>"),
            ],
        ),
        BlogPost(
            4,
            "eigener-grund",
            "Baue nie auf fremdem Grund",
            _at("2025-11-01T12:00:00"),
            "<p>Warum wir jeden Post, jede Antwort und jeden Kommentar selbst archivieren.</p>",
            ("Vertrauen", "Archiv"),
        ),
        BlogPost(
            5,
            "rueckblick",
            "Ein Jahr Novosyx-Blog",
            _at("2026-01-15T09:00:00"),
            "<p>Ein Jahr, fünf Beiträge, viele Gespräche. Danke an alle, die mitreden.</p>",
            ("News",),
        ),
    ]


class Blog:
    """Serves the blog; `posts` can be changed by tests to simulate edits and deletions."""

    def __init__(self, posts: list[BlogPost] | None = None) -> None:
        self.posts = posts if posts is not None else sample_posts()
        self.base = ""

    def guid(self, post: BlogPost) -> str:
        """WordPress-style guids on a fixed domain: a rerun on another port is the same post."""
        return f"{GUID_BASE}/?p={post.id}"

    def link(self, post: BlogPost) -> str:
        """The permalink, on the blog's public domain (stable whatever port the demo uses)."""
        return f"{GUID_BASE}/{post.slug}/"

    def local(self, post: BlogPost) -> str:
        """Where this server serves the post (its comment feeds hang below it)."""
        return f"{self.base}/{post.slug}/"

    def routes(self) -> dict[str, Handler]:
        return {"/": self.handle}

    def _visible(self) -> list[BlogPost]:
        return sorted((p for p in self.posts if not p.gone), key=lambda p: p.when, reverse=True)

    def handle(self, request: DemoRequest) -> DemoResponse:
        self.base = request.base_url
        path = request.path
        if path == "/":
            return self._home()
        if path == "/feed/":
            return self._conditional(request, self._feed(), "application/rss+xml; charset=UTF-8")
        if path.startswith("/images/") and path.endswith(".png"):
            return self._image(path[len("/images/") : -len(".png")])
        for post in self.posts:
            if path == f"/{post.slug}/":
                return self._page(post)
            if path == f"/{post.slug}/feed/atom/":
                if post.gone:
                    break
                body = self._comment_feed(post)
                return self._conditional(request, body, "application/atom+xml; charset=UTF-8")
        return DemoResponse("<h1>Not found</h1>", 404)

    def _conditional(self, request: DemoRequest, body: str, content_type: str) -> DemoResponse:
        etag = '"' + hashlib.sha256(body.encode("utf-8")).hexdigest()[:20] + '"'
        if request.headers.get("if-none-match") == etag:
            return DemoResponse(b"", 304, content_type, {"ETag": etag})
        return DemoResponse(body, 200, content_type, {"ETag": etag})

    def _home(self) -> DemoResponse:
        items = "".join(
            f'<li><a href="{escape(self.link(p))}">{escape(p.title)}</a></li>'
            for p in self._visible()
        )
        return DemoResponse(
            "<!doctype html><html><head><title>Novosyx Blog</title>"
            '<link rel="alternate" type="application/rss+xml" title="Feed" href="/feed/">'
            '<link rel="alternate" type="application/rss+xml" title="Comments" '
            'href="/comments/feed/">'
            f"</head><body><h1>{SITE_TITLE}</h1><ul>{items}</ul></body></html>"
        )

    def _page(self, post: BlogPost) -> DemoResponse:
        if post.gone:
            return DemoResponse("<h1>Gone</h1>", 410)
        return DemoResponse(
            f"<!doctype html><html><head><title>{escape(post.title)}</title></head>"
            f"<body><article><h1>{escape(post.title)}</h1>{post.html}</article></body></html>"
        )

    def _image(self, name: str) -> DemoResponse:
        colours = {"fundament": (120, 120, 130), "release": (30, 110, 200)}
        if name not in colours:
            return DemoResponse("no such image", 404)
        return DemoResponse(png(48, 32, colours[name]), 200, "image/png")

    def _approved(self, post: BlogPost) -> list[Comment]:
        return sorted(post.comments, key=lambda c: c.when)

    def _feed(self) -> str:
        items = []
        for post in self._visible():
            categories = "".join(f"<category><![CDATA[{t}]]></category>" for t in post.tags)
            comments = self._approved(post)
            items.append(
                f"""<item>
<title>{escape(post.title)}</title>
<link>{escape(self.link(post))}</link>
<comments>{escape(self.link(post))}#comments</comments>
<dc:creator><![CDATA[Novosyx]]></dc:creator>
<pubDate>{format_datetime(post.when, usegmt=True)}</pubDate>
{categories}
<guid isPermaLink="false">{escape(self.guid(post))}</guid>
<description><![CDATA[{post.html[:80]}]]></description>
<content:encoded><![CDATA[{self._absolute(post.html)}]]></content:encoded>
<wfw:commentRss>{escape(self.local(post))}feed/atom/</wfw:commentRss>
<slash:comments>{len(comments)}</slash:comments>
</item>"""
            )
        return f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"
 xmlns:wfw="http://wellformedweb.org/CommentAPI/" xmlns:dc="http://purl.org/dc/elements/1.1/"
 xmlns:slash="http://purl.org/rss/1.0/modules/slash/">
<channel>
<title>{SITE_TITLE}</title>
<link>{self.base}/</link>
<description>Vertrauen, Technik und was wir bauen.</description>
<language>de-DE</language>
{"".join(items)}
</channel>
</rss>"""

    def _absolute(self, html: str) -> str:
        return html.replace('src="/images/', f'src="{self.base}/images/')

    def _last_change(self, post: BlogPost) -> str:
        latest = max([post.when, *(c.when for c in post.comments)])
        return latest.isoformat().replace("+00:00", "Z")

    def _comment_feed(self, post: BlogPost) -> str:
        entries = []
        for comment in self._approved(post):
            parent_ref = (
                f"{self.guid(post)}#comment-{comment.parent}" if comment.parent else self.guid(post)
            )
            parent_href = (
                f"{self.link(post)}#comment-{comment.parent}" if comment.parent else self.link(post)
            )
            stamp = comment.when.isoformat().replace("+00:00", "Z")
            kind = "pingback" if comment.type == "pingback" else "comment"
            entries.append(
                f"""<entry>
<title type="html">Von: {escape(comment.author)}</title>
<link rel="alternate" href="{escape(self.link(post))}#comment-{comment.id}" type="text/html"/>
<author><name>{escape(comment.author)}</name></author>
<id>{escape(self.guid(post))}#comment-{comment.id}</id>
<updated>{stamp}</updated>
<published>{stamp}</published>
<category term="{kind}"/>
<thr:in-reply-to ref="{escape(parent_ref)}" href="{escape(parent_href)}" type="text/html"/>
<content type="html"><![CDATA[{comment.html}]]></content>
</entry>"""
            )
        return f"""<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:thr="http://purl.org/syndication/thread/1.0"
 xml:lang="de-DE">
<title type="text">Kommentare zu: {escape(post.title)}</title>
<id>{escape(self.link(post))}feed/atom/</id>
<updated>{self._last_change(post)}</updated>
<link rel="alternate" type="text/html" href="{escape(self.link(post))}"/>
{"".join(entries)}
</feed>"""
