"""A WordPress export (WXR): every published post and page with its whole comment tree.

Native ids are the ones the feed source gives (the post guid; `<guid>#comment-<id>` for a
comment), so an export and a feed of the same blog merge into the same rows. The export
holds the raw post text, so paragraphs are restored the way WordPress renders them.
Attachments become media rows, downloaded by the next sync.
"""

from __future__ import annotations

import html
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from pathlib import PurePosixPath

from ownfeed.importers.batch import (
    ImportBatch,
    ImportOptions,
    guess_mime,
    media_kind,
    provenance,
    text,
)
from ownfeed.importers.bundle import Bundle, FileBundle
from ownfeed.models import Author, Media, Post, PostKind
from ownfeed.safexml import UnsafeXML, parse_untrusted

PLATFORM = "web"
_CONTENT = "{http://purl.org/rss/1.0/modules/content/}encoded"
_CREATOR = "{http://purl.org/dc/elements/1.1/}creator"
_WP_NS = re.compile(r"^\{(http://wordpress\.org/export/[0-9.]+/)\}")
_BLOCK = re.compile(
    r"^\s*(?:<!--|<(?:p|div|ul|ol|dl|li|table|blockquote|h[1-6]|pre|figure|hr|section|"
    r"iframe|form|address|img|video|audio)\b)",
    re.IGNORECASE,
)
_HAS_PARAGRAPHS = re.compile(r"<p[\s>]", re.IGNORECASE)
_NO_DATE = "0000-00-00 00:00:00"


@dataclass(frozen=True)
class _Comment:
    id: str
    parent: str
    approved: bool
    element: ET.Element


def parse(bundle: Bundle, options: ImportOptions) -> ImportBatch:
    """Every published post and page, with its comment tree, from a WordPress export."""
    if isinstance(bundle, FileBundle):
        members = bundle.names()
    else:
        members = sorted(n for n in bundle.names() if n.lower().endswith(".xml"))
    if not members:
        raise bundle.fail(bundle.label, "no WordPress export (.xml) found")
    batch = ImportBatch(platform=PLATFORM)
    for member in members:
        _parse_document(bundle, member, batch, options)
    return batch


def load_xml(bundle: Bundle, member: str) -> ET.Element:
    """Parse without ever expanding entities: a document with a DTD is refused outright."""
    try:
        return parse_untrusted(bundle.read(member))
    except UnsafeXML as error:
        raise bundle.fail(member, str(error)) from None


def _parse_document(
    bundle: Bundle, member: str, batch: ImportBatch, options: ImportOptions
) -> None:
    root = load_xml(bundle, member)
    channel = root.find("channel")
    ns = _wp_namespace(channel)
    if root.tag != "rss" or channel is None or ns is None:
        raise bundle.fail(member, "not a WordPress export (no <rss><channel> with wp: elements)")
    wp = _Wp(ns)
    authors = {
        wp.text(a, "author_login"): wp.text(a, "author_display_name")
        for a in channel.findall(wp.tag("author"))
    }
    items = channel.findall("item")
    attachments = _attachments(items, wp)
    language = text(channel.findtext("language"))
    skipped = 0
    for index, item in enumerate(items):
        if wp.text(item, "post_type") not in ("post", "page"):
            continue
        if wp.text(item, "status") != "publish" or wp.text(item, "post_password"):
            skipped += 1
            continue
        guid = text(item.findtext("guid")) or text(item.findtext("link"))
        if guid is None:
            raise bundle.fail(member, f"item {index}: a post without guid or link")
        post = _post(item, wp, guid, authors, attachments, language, bundle, member)
        batch.posts.append(post)
        batch.posts += _comments(item, wp, post, bundle, member)
        options.tick()
    if skipped:
        batch.warnings.append(f"{member}: skipped {skipped} unpublished or protected posts")


@dataclass(frozen=True)
class _Wp:
    """Lookups in the wp: namespace, whichever WXR version (1.0, 1.1, 1.2) wrote it."""

    ns: str

    def tag(self, name: str) -> str:
        return f"{{{self.ns}}}{name}"

    def text(self, element: ET.Element, name: str) -> str | None:
        return text(element.findtext(self.tag(name)))


def _wp_namespace(channel: ET.Element | None) -> str | None:
    for element in channel if channel is not None else ():
        match = _WP_NS.match(element.tag)
        if match:
            return match.group(1)
    return None


@dataclass
class _Uploads:
    """Attachment URLs by parent post id and by attachment id (for featured images)."""

    by_parent: dict[str, list[str]]
    by_id: dict[str, str]


def _attachments(items: list[ET.Element], wp: _Wp) -> _Uploads:
    uploads = _Uploads({}, {})
    for item in items:
        if wp.text(item, "post_type") != "attachment":
            continue
        url = wp.text(item, "attachment_url")
        if url and url.startswith(("http://", "https://")):
            uploads.by_parent.setdefault(wp.text(item, "post_parent") or "0", []).append(url)
            uploads.by_id[wp.text(item, "post_id") or ""] = url
    return uploads


def _post(
    item: ET.Element,
    wp: _Wp,
    guid: str,
    authors: dict[str | None, str | None],
    attachments: _Uploads,
    language: str | None,
    bundle: Bundle,
    member: str,
) -> Post:
    wp_id = wp.text(item, "post_id") or ""
    login = text(item.findtext(_CREATOR))
    name = authors.get(login) or login
    comments = [c for c in item.findall(wp.tag("comment")) if wp.text(c, "comment_approved") == "1"]
    return Post(
        platform=PLATFORM,
        native_id=guid,
        kind="post",
        is_own=True,
        url=text(item.findtext("link")),
        title=_title(item.findtext("title")),
        content_html=autop(item.findtext(_CONTENT)),
        language=language,
        author=Author(platform=PLATFORM, name=name) if name else None,
        published_at=_wp_date(wp.text(item, "post_date_gmt"))
        or _rfc822(text(item.findtext("pubDate")))
        or _wp_date(wp.text(item, "post_date")),
        updated_at=_wp_date(wp.text(item, "post_modified_gmt")),
        tags=_categories(item),
        media=_media(item, wp, wp_id, attachments),
        reply_count=len(comments),
        raw={
            "import": provenance(bundle, member, "wordpress"),
            "post": {
                "post_id": wp_id,
                "post_type": wp.text(item, "post_type"),
                "post_name": wp.text(item, "post_name"),
                "status": wp.text(item, "status"),
            },
        },
    )


def _title(value: str | None) -> str | None:
    """Titles are plain text; exports hold them HTML-escaped (`&amp;`) as WordPress stores them."""
    found = text(value)
    return html.unescape(found) if found else None


def _categories(item: ET.Element) -> tuple[str, ...]:
    tags: list[str] = []
    for element in item.findall("category"):
        name = text(element.text)
        if element.get("domain") in ("category", "post_tag") and name and name not in tags:
            tags.append(name)
    return tuple(tags)


def _media(item: ET.Element, wp: _Wp, wp_id: str, uploads: _Uploads) -> tuple[Media, ...]:
    urls = list(uploads.by_parent.get(wp_id, ())) if wp_id else []
    for meta in item.findall(wp.tag("postmeta")):
        if wp.text(meta, "meta_key") == "_thumbnail_id":
            thumbnail = uploads.by_id.get(wp.text(meta, "meta_value") or "")
            urls += [thumbnail] if thumbnail else []
    media: list[Media] = []
    for url in dict.fromkeys(urls):
        mime = guess_mime(PurePosixPath(url.split("?")[0]).name)
        media.append(Media(url=url, kind=media_kind(mime), mime=mime))
    return tuple(media)


def _comments(item: ET.Element, wp: _Wp, post: Post, bundle: Bundle, member: str) -> list[Post]:
    """Approved comments; a reply to an unapproved comment hangs under its nearest approved
    ancestor (or the post), as WordPress shows it."""
    found: dict[str, _Comment] = {}
    for element in item.findall(wp.tag("comment")):
        cid = wp.text(element, "comment_id")
        if cid:
            parent = wp.text(element, "comment_parent") or "0"
            approved = wp.text(element, "comment_approved") == "1"
            found[cid] = _Comment(cid, parent, approved, element)
    raw = provenance(bundle, member, "wordpress")
    return [
        _comment(comment, _approved_parent(comment, found), wp, post, raw)
        for comment in found.values()
        if comment.approved
    ]


def _comment(
    comment: _Comment, parent: str | None, wp: _Wp, post: Post, origin: dict[str, str]
) -> Post:
    element = comment.element
    parent_native = f"{post.native_id}#comment-{parent}" if parent else post.native_id
    kind: PostKind = "reply"
    if (wp.text(element, "comment_type") or "").lower() in ("pingback", "trackback"):
        kind = "pingback"
    author_url = wp.text(element, "comment_author_url")
    author_url = author_url if author_url and author_url.startswith("http") else None
    author_name = wp.text(element, "comment_author")
    author = None
    if author_name or author_url:
        author = Author(platform=PLATFORM, name=author_name, url=author_url)
    parent_url = None
    if post.url:
        parent_url = f"{post.url}#comment-{parent}" if parent else post.url
    return Post(
        platform=PLATFORM,
        native_id=f"{post.native_id}#comment-{comment.id}",
        kind=kind,
        is_own=False,
        url=f"{post.url}#comment-{comment.id}" if post.url else None,
        content_html=autop(element.findtext(wp.tag("comment_content"))),
        language=post.language,
        author=author,
        published_at=_wp_date(wp.text(element, "comment_date_gmt"))
        or _wp_date(wp.text(element, "comment_date")),
        in_reply_to=parent_native,
        in_reply_to_url=parent_url,
        thread_root=post.native_id,
        raw={
            "import": origin,
            "comment": {  # no e-mail or IP address: the archive gets published
                "comment_id": comment.id,
                "comment_parent": comment.parent,
                "comment_type": wp.text(element, "comment_type"),
            },
        },
    )


def _approved_parent(comment: _Comment, found: dict[str, _Comment]) -> str | None:
    parent, seen = comment.parent, {comment.id}
    while parent in found and parent not in seen:
        if found[parent].approved:
            return parent
        seen.add(parent)
        parent = found[parent].parent
    return None


def autop(raw: str | None) -> str | None:
    """WordPress's paragraphs for raw post or comment text: blank lines split paragraphs,
    single newlines become <br />; text that already has blocks is left alone."""
    body = (raw or "").replace("\r\n", "\n").strip()
    if not body:
        return None
    if _HAS_PARAGRAPHS.search(body):
        return body
    chunks = [chunk.strip() for chunk in re.split(r"\n\s*\n", body) if chunk.strip()]
    return "\n".join(
        chunk if _BLOCK.match(chunk) else "<p>" + chunk.replace("\n", "<br />\n") + "</p>"
        for chunk in chunks
    )


def _wp_date(value: str | None) -> datetime | None:
    """`2020-01-01 10:00:00` (the *_gmt fields are UTC); WordPress writes zeros for none."""
    if not value or value == _NO_DATE:
        return None
    try:
        return datetime.strptime(value, "%Y-%m-%d %H:%M:%S").replace(tzinfo=UTC)
    except ValueError:
        return None


def _rfc822(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        stamp = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC)
