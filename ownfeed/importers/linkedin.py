"""The LinkedIn member data export ("Get a copy of your data"): CSV files.

`Shares.csv` holds our posts (`Date`, `ShareLink`, `ShareCommentary`, `SharedUrl`,
`MediaUrl`, `Visibility`), `Comments.csv` our own comments (`Date`, `Link`, `Message`);
the "complete" export names them `Shares_<member id>.csv`. Older exports lack `MediaUrl`
and `Visibility`. Quoting is irregular: some exports double quotes inside a quoted field
(`""`), others escape them with a backslash (`\\"`); both are read.

A share's native id is the URN in its `ShareLink` (`urn:li:share:…`, `urn:li:ugcPost:…`,
`urn:li:activity:…`), the id LinkedIn itself uses. A comment has none in the export:
its native id is `comment/<date>/<hash of the commented post's link>`, which survives an
edit of the comment; its parent is the URN in `Link`. Posts seen only by connections are
left out: the archive is for publishing. Media URLs point at LinkedIn's CDN; there are no
files in the export to copy.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import PurePosixPath
from typing import Any
from urllib.parse import unquote

from ownfeed.importers.batch import (
    ImportBatch,
    ImportOptions,
    guess_mime,
    media_kind,
    provenance,
    text,
    thread_roots,
)
from ownfeed.importers.bundle import Bundle
from ownfeed.importers.member import (
    Layout,
    digest,
    find_files,
    hashtags,
    native_ids,
    not_an_export,
    plain_html,
    with_link,
)
from ownfeed.models import Author, Media, Post, PostKind

PLATFORM = "linkedin"
SHARES = (Layout("Shares.csv", "all years"), Layout("Shares_{n}.csv", "complete export"))
COMMENTS = (Layout("Comments.csv", "all years"), Layout("Comments_{n}.csv", "complete export"))
PROFILE = (Layout("Profile.csv", "all years"),)
SHARE_COLUMNS = ("Date", "ShareLink", "ShareCommentary")
COMMENT_COLUMNS = ("Date", "Link", "Message")
_URN = re.compile(r"urn:li:(?:share|ugcPost|activity|comment):[\w(),:]+")
_ACTIVITY_SLUG = re.compile(r"-activity-(\d{10,25})-")
_PRIVATE = {"CONNECTIONS", "CONNECTIONS_ONLY"}


def parse(bundle: Bundle, options: ImportOptions) -> ImportBatch:
    """Our public shares and our comments from a LinkedIn export; ParseError when it is none."""
    share_files, comment_files = find_files(bundle, SHARES), find_files(bundle, COMMENTS)
    if not share_files and not comment_files:
        raise not_an_export(bundle, "LinkedIn", [("posts", SHARES), ("comments", COMMENTS)])
    author = _author(bundle, options)
    batch = ImportBatch(platform=PLATFORM, account=author.handle if author else None)
    private = 0
    for member in share_files:
        for row in _rows(bundle, member, SHARE_COLUMNS):
            if (row.get("Visibility") or "").strip().upper() in _PRIVATE:
                private += 1
                continue
            batch.posts.append(_share(bundle, member, row, author))
            options.tick()
    for member in comment_files:
        rows = list(_rows(bundle, member, COMMENT_COLUMNS))
        keys = [(_comment_key(row), row.get("Message") or "") for row in rows]
        for row, native_id in zip(rows, native_ids(keys), strict=True):
            batch.posts.append(_comment(bundle, member, row, native_id, author))
            options.tick()
    if private:
        batch.warnings.append(f"skipped {private} posts visible to connections only")
    roots = thread_roots({post.native_id: post.in_reply_to for post in batch.posts})
    batch.posts = [
        replace(post, thread_root=roots[post.native_id]) if post.native_id in roots else post
        for post in batch.posts
    ]
    return batch


def _rows(bundle: Bundle, member: str, columns: tuple[str, ...]) -> Iterator[dict[str, str]]:
    """The CSV's rows as dicts; ParseError naming the file when the columns are not ours."""
    try:
        body = bundle.read(member).decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise bundle.fail(member, f"not UTF-8 ({error.reason} at byte {error.start})") from None
    escaped = '\\"' in body
    reader = csv.reader(io.StringIO(body, newline=""), escapechar="\\" if escaped else None)
    try:
        header = [name.strip() for name in next(reader, [])]
        missing = [name for name in columns if name not in header]
        if missing:
            found = ", ".join(header[:8]) or "nothing"
            cause = f"expected the columns {', '.join(columns)}, found {found}"
            raise bundle.fail(member, cause)
        for number, values in enumerate(reader, start=2):
            if not any(value.strip() for value in values):
                continue
            if len(values) > len(header):
                cause = f"row {number}: {len(values)} fields for {len(header)} columns"
                raise bundle.fail(member, cause)
            yield dict(zip(header, values, strict=False))
    except csv.Error as error:
        raise bundle.fail(member, f"broken CSV at line {reader.line_num}: {error}") from None


def _date(value: str | None) -> datetime | None:
    """`2023-01-05 10:00:00` (UTC) or a bare `2023-01-05`."""
    raw = (value or "").strip().removesuffix(" UTC")
    for layout in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%d"):
        try:
            return datetime.strptime(raw, layout).replace(tzinfo=UTC)
        except ValueError:
            continue
    return None


def urn(link: str | None) -> str | None:
    """The URN a LinkedIn link names (`…/feed/update/urn%3Ali%3Ashare%3A123`, or a
    `/posts/<slug>-activity-123-xyz` page)."""
    if not link:
        return None
    decoded = unquote(link)
    found = _URN.search(decoded)
    if found:
        return found.group(0).rstrip(",:")
    slug = _ACTIVITY_SLUG.search(decoded)
    return f"urn:li:activity:{slug.group(1)}" if slug else None


def _share(bundle: Bundle, member: str, row: dict[str, str], author: Author | None) -> Post:
    link = text(row.get("ShareLink"))
    body = _body(row, "ShareCommentary")
    shared = text(row.get("SharedUrl"))
    published = _date(row.get("Date"))
    native_id = urn(link) or link
    if native_id is None:
        native_id = f"share/{row.get('Date', '').strip()}/{digest(body, shared or '')}"
    kind: PostKind = "repost" if not body and shared else "post"
    media_url = text(row.get("MediaUrl"))
    media: tuple[Media, ...] = ()
    if media_url and media_url.startswith(("http://", "https://")):
        mime = guess_mime(PurePosixPath(media_url.split("?")[0]).name)
        media = (Media(media_url, media_kind(mime) if mime else "image", mime),)
    return Post(
        platform=PLATFORM,
        native_id=native_id,
        kind=kind,
        is_own=True,
        url=link if link and link.startswith("http") else None,
        content_html=plain_html(body, shared),
        content_text=with_link(body, shared),
        author=author,
        published_at=published,
        tags=hashtags(body),
        media=media,
        raw={"import": provenance(bundle, member, PLATFORM), "share": _clean(row)},
    )


def _comment_key(row: dict[str, str]) -> str:
    own = urn(row.get("Link"))
    if own and own.startswith("urn:li:comment:"):
        return own
    return f"comment/{(row.get('Date') or '').strip()}/{digest(row.get('Link') or '')}"


def _comment(
    bundle: Bundle, member: str, row: dict[str, str], native_id: str, author: Author | None
) -> Post:
    link = text(row.get("Link"))
    parent = urn(link)
    if parent and parent.startswith("urn:li:comment:"):
        parent = None
    body = _body(row, "Message")
    return Post(
        platform=PLATFORM,
        native_id=native_id,
        kind="reply",
        is_own=True,
        content_html=plain_html(body),
        content_text=body,
        author=author,
        published_at=_date(row.get("Date")),
        in_reply_to=parent,
        in_reply_to_url=link if link and link.startswith("http") else None,
        tags=hashtags(body),
        raw={"import": provenance(bundle, member, PLATFORM), "comment": _clean(row)},
    )


def _body(row: dict[str, str], column: str) -> str:
    """A text column with its line ends as `\n` (exports made on Windows keep CRLF)."""
    return (row.get(column) or "").replace("\r\n", "\n").strip()


def _clean(row: dict[str, str]) -> dict[str, Any]:
    return {key: value for key, value in row.items() if key}


def _author(bundle: Bundle, options: ImportOptions) -> Author | None:
    """Our name from Profile.csv; the handle from its profile URL or the configured account."""
    name = url = None
    for member in find_files(bundle, PROFILE)[:1]:
        for row in _rows(bundle, member, ()):
            name = " ".join(
                p for p in (text(row.get("First Name")), text(row.get("Last Name"))) if p
            )
            url = text(row.get("Public Profile URL")) or text(row.get("Profile URL"))
            break
    configured = (options.account or "").strip()
    if not url and configured.startswith(("http://", "https://")):
        url = configured
    handle = None
    if url:
        handle = url.rstrip("/").rsplit("/", 1)[-1] or None
    elif configured:
        handle = configured.lstrip("@")
    if handle and not url:
        url = f"https://www.linkedin.com/in/{handle}/"
    if not (handle or name):
        return None
    return Author(platform=PLATFORM, handle=handle, name=name or None, url=url)
