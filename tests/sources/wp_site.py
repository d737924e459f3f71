"""A local WordPress site for tests: REST API, paged RSS2 feed, Atom comment feeds, pages.

Shapes follow WordPress core (PLATFORMS.md 1.5): REST `/wp-json/wp/v2/{posts,pages,comments}`
with `X-WP-Total(Pages)`, 400 `rest_post_invalid_page_number` past the end, `modified_after`
against local `modified`; `/feed/?paged=N` with `posts_per_rss` items and 404 past the end,
site-wide ETag/Last-Modified; `<permalink>/feed/atom/` with `thr:in-reply-to` and only the
newest `posts_per_rss` comments (WordPress does not page comment feeds).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from hashlib import md5
from html import escape
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.httpserver import Reply, Request, TestServer

START = datetime(2015, 1, 5, 10, 0, tzinfo=UTC)
TZ = timedelta(hours=2)  # the site's local time is UTC+2
RSS = "application/rss+xml; charset=UTF-8"
ATOM = "application/atom+xml; charset=UTF-8"
JSON = "application/json; charset=UTF-8"
#: how a site that closed its REST API answers: status -> (error code, message)
_REST_REFUSALS = {
    "401": ("rest_not_logged_in", "Only authenticated users can access the REST API."),
    "403": ("rest_disabled", "The REST API is disabled on this site."),
}


@dataclass
class Comment:
    id: int
    post: int
    parent: int
    author: str
    date: datetime
    text: str
    approved: bool = True


@dataclass
class WpPost:
    id: int
    slug: str
    title: str
    text: str
    date: datetime
    modified: datetime
    kind: str = "post"  # or "page"
    status: str = "publish"
    categories: list[str] = field(default_factory=list)
    comments: list[Comment] = field(default_factory=list)


def local(value: datetime) -> str:
    return (value + TZ).strftime("%Y-%m-%dT%H:%M:%S")


def gmt(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%S")


def rfc3339(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")


def _query(request: Request) -> dict[str, str]:
    return {k: v[-1] for k, v in parse_qs(urlsplit(request.path).query).items()}


class WpSite:
    """`posts` posts (and two pages) with threaded comments, served at `server`."""

    def __init__(self, server: TestServer, posts: int = 250, per_rss: int = 20) -> None:
        self.server = server
        self.base = server.base_url
        self.per_rss = per_rss
        self.rest = "open"  # "open", "401", "403" (rest_disabled), "404"
        self.pretty = True  # False: no /wp-json/, only /?rest_route=/ (plain permalinks)
        self.posts: list[WpPost] = []
        self.next_comment = 1000
        for number in range(1, posts + 1):
            self.add_post(
                f"Post {number}: Novosyx’s news & notes",
                f"<p>Body of post {number}.</p>\n<p>Second paragraph.</p>\n",
                START + timedelta(days=9 * number),
            )
            count = 12 if number == 7 else number % 6
            for k in range(count):
                parent = self.posts[-1].comments[-1].id if k % 2 == 1 else 0
                self.add_comment(self.posts[-1], f"Reader {k}", parent, f"Comment {k} on {number}")
        for number, title in enumerate(("About us", "Imprint"), 1):
            self.add_post(title, f"<p>{title} page.</p>\n", START + timedelta(days=number), "page")
        self._mount()

    # --- building --------------------------------------------------------------------------

    def add_post(self, title: str, text: str, date: datetime, kind: str = "post") -> WpPost:
        post_id = 100 + 2 * len(self.posts)
        post = WpPost(post_id, f"post-{post_id}", title, text, date, date, kind)
        self.posts.append(post)
        if hasattr(self, "_mounted"):
            self._mount_post(post)
        return post

    def add_comment(
        self, post: WpPost, author: str, parent: int, text: str, date: datetime | None = None
    ) -> Comment:
        self.next_comment += 1
        when = date or post.date + timedelta(hours=1 + len(post.comments))
        comment = Comment(self.next_comment, post.id, parent, author, when, text)
        post.comments.append(comment)
        return comment

    def guid(self, post: WpPost) -> str:
        return f"{self.base}/?{'page_id' if post.kind == 'page' else 'p'}={post.id}"

    def link(self, post: WpPost) -> str:
        if post.kind == "page":
            return f"{self.base}/{post.slug}/"
        return f"{self.base}/{post.date:%Y/%m}/{post.slug}/"

    def public(self, kind: str = "post") -> list[WpPost]:
        return [p for p in self.posts if p.kind == kind and p.status == "publish"]

    def comments(self) -> list[tuple[WpPost, Comment]]:
        return [
            (p, c) for p in self.posts if p.status == "publish" for c in p.comments if c.approved
        ]

    def last_modified(self) -> datetime:
        return max(p.modified for p in self.posts)

    # --- routes ----------------------------------------------------------------------------

    def _mount(self) -> None:
        self._mounted = True
        route = self.server.route
        route("/", self._home)
        for name in ("/", "/wp/v2/posts", "/wp/v2/pages", "/wp/v2/comments"):
            route("/wp-json" + name, lambda r, n=name: self._rest(r, n, pretty=True))
        route("/feed/", self._feed)
        for post in self.posts:
            self._mount_post(post)

    def _mount_post(self, post: WpPost) -> None:
        path = urlsplit(self.link(post)).path
        self.server.route(path, lambda r, p=post: self._page(p))
        self.server.route(path + "feed/atom/", lambda r, p=post: self._comment_feed(r, p))

    def _closed(self) -> Reply | None:
        if self.rest == "open":
            return None
        if self.rest in _REST_REFUSALS:
            status = int(self.rest)
            code, message = _REST_REFUSALS[self.rest]
            body = {"code": code, "message": message, "data": {"status": status}}
            return Reply(json.dumps(body), status, content_type=JSON)
        return Reply("<html><body>Page not found</body></html>", 404, content_type="text/html")

    def _rest(self, request: Request, route: str, pretty: bool) -> Reply:
        if pretty != self.pretty:
            return Reply("<html><body>Page not found</body></html>", 404, content_type="text/html")
        closed = self._closed()
        if closed:
            return closed
        if route == "/":
            return self._index(request)
        if route == "/wp/v2/comments":
            return self._comments(request)
        return self._collection(request, "page" if route == "/wp/v2/pages" else "post")

    def _home(self, request: Request) -> Reply:
        route = _query(request).get("rest_route")
        if route is not None:
            return self._rest(request, route, pretty=False)
        root = f"{self.base}/wp-json/" if self.pretty else f"{self.base}/?rest_route=/"
        headers = {} if self.rest == "404" else {"Link": f'<{root}>; rel="https://api.w.org/"'}
        html = (
            "<!DOCTYPE html><html><head><title>Novosyx</title>"
            f'<link rel="alternate" type="application/rss+xml" href="{self.base}/feed/">'
            "</head><body>Novosyx</body></html>"
        )
        return Reply(html, headers=headers, content_type="text/html; charset=UTF-8")

    def _index(self, request: Request) -> Reply:
        body = {
            "name": "Novosyx Blog",
            "description": "News",
            "url": self.base,
            "home": self.base,
            "namespaces": ["oembed/1.0", "wp/v2", "wp-site-health/v1"],
            "routes": {},
        }
        return Reply(json.dumps(body), content_type=JSON)

    def rest_post(self, post: WpPost) -> dict[str, Any]:
        return {
            "id": post.id,
            "date": local(post.date),
            "date_gmt": gmt(post.date),
            "guid": {"rendered": self.guid(post)},
            "modified": local(post.modified),
            "modified_gmt": gmt(post.modified),
            "slug": post.slug,
            "status": post.status,
            "type": post.kind,
            "link": self.link(post),
            "title": {"rendered": escape(post.title, quote=False).replace("’", "&#8217;")},
            "content": {"rendered": post.text, "protected": False},
            "excerpt": {"rendered": f"<p>{post.title}</p>\n", "protected": False},
            "author": 1,
            "featured_media": 0,
            "comment_status": "open",
            "categories": [1],
            "tags": [],
            "_links": {"self": [{"href": f"{self.base}/wp-json/wp/v2/posts/{post.id}"}]},
            "_embedded": {
                "author": [{"id": 1, "name": "Nora Admin", "url": "", "slug": "nora"}],
                "wp:term": [[{"id": 1, "name": "News", "taxonomy": "category"}], []],
            },
        }

    def _paged(self, request: Request, items: list[Any], render: Any) -> Reply:
        query = _query(request)
        per_page = min(100, int(query.get("per_page", 10)))
        page = int(query.get("page", 1))
        total_pages = max(1, -(-len(items) // per_page))
        if page > total_pages:
            body = {
                "code": "rest_post_invalid_page_number",
                "message": "The page number requested is larger than the number of pages "
                "available.",
                "data": {"status": 400},
            }
            return Reply(json.dumps(body), 400, content_type=JSON)
        chunk = items[(page - 1) * per_page : page * per_page]
        if "_fields" in query:
            fields = query["_fields"].split(",")
            body = [{k: v for k, v in render(i).items() if k in fields} for i in chunk]
        else:
            body = [render(i) for i in chunk]
        headers = {"X-WP-Total": str(len(items)), "X-WP-TotalPages": str(total_pages)}
        return Reply(json.dumps(body), headers=headers, content_type=JSON)

    def _collection(self, request: Request, kind: str) -> Reply:
        query = _query(request)
        items = self.public(kind)
        if "include" in query:
            wanted = {int(i) for i in query["include"].split(",")}
            items = [p for p in items if p.id in wanted]
        if "modified_after" in query:
            items = [p for p in items if local(p.modified) > query["modified_after"]]
        key = (lambda p: p.modified) if query.get("orderby") == "modified" else (lambda p: p.date)
        items.sort(key=key, reverse=query.get("order", "desc") == "desc")
        return self._paged(request, items, self.rest_post)

    def rest_comment(self, pair: tuple[WpPost, Comment]) -> dict[str, Any]:
        post, comment = pair
        return {
            "id": comment.id,
            "post": post.id,
            "parent": comment.parent,
            "author": 0,
            "author_name": comment.author,
            "author_url": f"https://{comment.author.lower().replace(' ', '')}.example/",
            "date": local(comment.date),
            "date_gmt": gmt(comment.date),
            "content": {"rendered": f"<p>{escape(comment.text)}</p>\n"},
            "link": f"{self.link(post)}#comment-{comment.id}",
            "status": "approved",
            "type": "comment",
            "author_avatar_urls": {"96": "https://secure.gravatar.com/avatar/x?s=96"},
            "meta": [],
        }

    def _comments(self, request: Request) -> Reply:
        query = _query(request)
        items = self.comments()
        if "after" in query:
            items = [pair for pair in items if local(pair[1].date) > query["after"]]
        items.sort(key=lambda pair: pair[1].date, reverse=query.get("order", "desc") == "desc")
        return self._paged(request, items, self.rest_comment)

    # --- feeds -----------------------------------------------------------------------------

    def _validators(self, modified: datetime) -> dict[str, str]:
        stamp = format_datetime(modified, usegmt=True)
        return {"Last-Modified": stamp, "ETag": f'"{md5(stamp.encode()).hexdigest()}"'}

    def _conditional(self, request: Request, headers: dict[str, str]) -> bool:
        etag = request.headers.get("if-none-match")
        since = request.headers.get("if-modified-since")
        if not etag and not since:
            return False
        return (not etag or etag == headers["ETag"]) and (
            not since or since == headers["Last-Modified"]
        )

    def _feed(self, request: Request) -> Reply:
        headers = self._validators(self.last_modified())
        if self._conditional(request, headers):
            return Reply(b"", 304, headers=headers)
        page = int(_query(request).get("paged", 1))
        posts = sorted(self.public(), key=lambda p: p.date, reverse=True)
        chunk = posts[(page - 1) * self.per_rss : page * self.per_rss]
        if not chunk:
            return Reply("<html><body>Not found</body></html>", 404, content_type="text/html")
        items = "".join(self._item(post) for post in chunk)
        body = (
            '<?xml version="1.0" encoding="UTF-8"?><rss version="2.0" '
            'xmlns:content="http://purl.org/rss/1.0/modules/content/" '
            'xmlns:wfw="http://wellformedweb.org/CommentAPI/" '
            'xmlns:dc="http://purl.org/dc/elements/1.1/" '
            'xmlns:atom="http://www.w3.org/2005/Atom" '
            'xmlns:slash="http://purl.org/rss/1.0/modules/slash/"><channel>'
            f"<title>Novosyx Blog</title><link>{self.base}</link>"
            f'<atom:link href="{self.base}/feed/" rel="self" type="application/rss+xml" />'
            f"<description>News</description><language>en-US</language>{items}</channel></rss>"
        )
        return Reply(body, headers=headers, content_type=RSS)

    def _item(self, post: WpPost) -> str:
        link = self.link(post)
        count = len([c for c in post.comments if c.approved])
        return (
            f"<item><title>{escape(post.title, quote=False)}</title><link>{link}</link>"
            f"<comments>{link}#respond</comments>"
            f"<dc:creator><![CDATA[Nora Admin]]></dc:creator>"
            f"<pubDate>{format_datetime(post.date, usegmt=True)}</pubDate>"
            "<category><![CDATA[News]]></category>"
            f'<guid isPermaLink="false">{self.guid(post)}</guid>'
            f"<description><![CDATA[{post.title}]]></description>"
            f"<content:encoded><![CDATA[{post.text}]]></content:encoded>"
            f"<wfw:commentRss>{link}feed/</wfw:commentRss><slash:comments>{count}</slash:comments>"
            "</item>"
        )

    def _comment_feed(self, request: Request, post: WpPost) -> Reply:
        if post.status != "publish":
            return Reply("<html>Not found</html>", 404, content_type="text/html")
        comments = sorted(
            (c for c in post.comments if c.approved), key=lambda c: c.date, reverse=True
        )
        newest = max([post.modified, *(c.date for c in comments)])
        headers = self._validators(newest)
        if self._conditional(request, headers):
            return Reply(b"", 304, headers=headers)
        link, guid = self.link(post), self.guid(post)
        entries = []
        for comment in comments[: self.per_rss]:
            ref, href = (
                (f"{guid}#comment-{comment.parent}", f"{link}#comment-{comment.parent}")
                if comment.parent
                else (guid, link)
            )
            author_url = f"https://{comment.author.lower().replace(' ', '')}.example/"
            entries.append(
                f'<entry><title type="html"><![CDATA[By: {comment.author}]]></title>'
                f'<link rel="alternate" href="{link}#comment-{comment.id}" type="text/html" />'
                f"<author><name>{comment.author}</name><uri>{author_url}</uri></author>"
                f"<id>{guid}#comment-{comment.id}</id>"
                f"<updated>{rfc3339(comment.date)}</updated><published>{rfc3339(comment.date)}</published>"
                f'<thr:in-reply-to ref="{ref}" href="{href}" type="text/html" />'
                f'<content type="html" xml:base="{link}#comment-{comment.id}">'
                f"<![CDATA[<p>{escape(comment.text)}</p>\n]]></content></entry>"
            )
        body = (
            '<?xml version="1.0" encoding="UTF-8"?><feed xmlns="http://www.w3.org/2005/Atom" '
            'xml:lang="en-US" xmlns:thr="http://purl.org/syndication/thread/1.0">'
            f'<title type="text">Comments on: {escape(post.title, quote=False)}</title>'
            f"<updated>{rfc3339(newest)}</updated>"
            f'<link rel="alternate" type="text/html" href="{link}" />'
            f"<id>{link}feed/atom/</id>{''.join(entries)}</feed>"
        )
        return Reply(body, headers=headers, content_type=ATOM)

    def _page(self, post: WpPost) -> Reply:
        if post.status != "publish":
            return Reply("<html>Not found</html>", 404, content_type="text/html")
        return Reply(f"<html><body>{post.text}</body></html>", content_type="text/html")

    # --- the site's own export (WXR 1.2) ------------------------------------------------

    def wxr(self) -> str:
        """Tools > Export: every post and page with its comments, as WordPress writes it."""
        items = []
        for post in self.posts:
            comments = "".join(
                "<wp:comment>"
                f"<wp:comment_id>{c.id}</wp:comment_id>"
                f"<wp:comment_author><![CDATA[{c.author}]]></wp:comment_author>"
                "<wp:comment_author_url>"
                f"https://{c.author.lower().replace(' ', '')}.example/</wp:comment_author_url>"
                f"<wp:comment_date>{local(c.date).replace('T', ' ')}</wp:comment_date>"
                f"<wp:comment_date_gmt>{gmt(c.date).replace('T', ' ')}</wp:comment_date_gmt>"
                f"<wp:comment_content><![CDATA[{c.text}]]></wp:comment_content>"
                f"<wp:comment_approved>{int(c.approved)}</wp:comment_approved>"
                "<wp:comment_type>comment</wp:comment_type>"
                f"<wp:comment_parent>{c.parent}</wp:comment_parent></wp:comment>"
                for c in post.comments
            )
            items.append(
                f"<item><title>{escape(post.title, quote=False)}</title>"
                f"<link>{self.link(post)}</link>"
                f"<pubDate>{format_datetime(post.date, usegmt=True)}</pubDate>"
                "<dc:creator><![CDATA[nora]]></dc:creator>"
                f'<guid isPermaLink="false">{self.guid(post)}</guid>'
                f"<content:encoded><![CDATA[{post.text}]]></content:encoded>"
                f"<wp:post_id>{post.id}</wp:post_id>"
                f"<wp:post_date_gmt>{gmt(post.date).replace('T', ' ')}</wp:post_date_gmt>"
                f"<wp:post_modified_gmt>{gmt(post.modified).replace('T', ' ')}"
                "</wp:post_modified_gmt>"
                f"<wp:post_name>{post.slug}</wp:post_name><wp:status>{post.status}</wp:status>"
                f"<wp:post_type>{post.kind}</wp:post_type><wp:post_password></wp:post_password>"
                f'<category domain="category" nicename="news"><![CDATA[News]]></category>'
                f"{comments}</item>"
            )
        return (
            '<?xml version="1.0" encoding="UTF-8" ?><rss version="2.0" '
            'xmlns:excerpt="http://wordpress.org/export/1.2/excerpt/" '
            'xmlns:content="http://purl.org/rss/1.0/modules/content/" '
            'xmlns:dc="http://purl.org/dc/elements/1.1/" '
            'xmlns:wp="http://wordpress.org/export/1.2/"><channel>'
            f"<title>Novosyx Blog</title><link>{self.base}</link><language>en-US</language>"
            "<wp:wxr_version>1.2</wp:wxr_version><wp:author><wp:author_login>nora"
            "</wp:author_login><wp:author_display_name><![CDATA[Nora Admin]]>"
            f"</wp:author_display_name></wp:author>{''.join(items)}</channel></rss>"
        )
