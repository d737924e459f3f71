"""The Facebook member data export ("Download your information", JSON format).

Our posts, photos, videos and albums, and our own comments; other people's comments on our
posts are not in it. Known layouts: `posts/your_posts_N.json` and `comments/comments.json` or
`comments_and_reactions/comments.json` (exports before 2024), and the same under
`your_facebook_activity/` from 2024 on, where the posts file became
`your_posts__check_ins__photos_and_videos_N.json`. Beside the posts file:
`your_uncategorized_photos.json` (`other_photos_v2`: uploads outside posts and albums),
`your_videos.json` (`videos_v2`) and `album/N.json` (one album: `name`, `description`,
`photos`). Facebook's own albums ("Timeline photos", "Mobile uploads") hold photos that
posts show too: the album keeps them as an album, and the media store keeps one file per
content. Text is repaired from Meta's mis-encoding (`member.repair_text`); photos and
videos are copied from the export.

The export gives posts no id and no URL. A post's native id is `post/<unix time>` (a
comment's `comment/<unix time>`, a photo's `photo/…`, a video's `video/…`, an album's
`album/<time of its first photo>`), which survives an edit and a change of layout; posts
of the same second get a content hash appended (see `member.native_ids`).
"""

from __future__ import annotations

from typing import Any

from ownfeed.importers.batch import ImportBatch, ImportOptions, text
from ownfeed.importers.bundle import Bundle
from ownfeed.importers.member import (
    Attachments,
    ExportFiles,
    Layout,
    MemberEntry,
    add_entries,
    find_files,
    load_meta_json,
    member_post,
    not_an_export,
    object_list,
    shape,
    timestamp,
)
from ownfeed.models import Author, MediaKind, Post

PLATFORM = "facebook"
POSTS = (
    Layout("posts/your_posts_{n}.json", "before 2024"),
    Layout(
        "your_facebook_activity/posts/your_posts__check_ins__photos_and_videos_{n}.json",
        "2024 and later",
    ),
)
COMMENTS = (
    Layout("comments/comments.json", "2019 to 2021"),
    Layout("comments_and_reactions/comments.json", "2022 to 2023"),
    Layout("your_facebook_activity/comments_and_reactions/comments.json", "2024 and later"),
)
PROFILE = (
    Layout("profile_information/profile_information.json", "before 2024"),
    Layout("personal_information/profile_information/profile_information.json", "2024 on"),
)
PHOTOS = (
    Layout("posts/your_uncategorized_photos.json", "before 2024"),
    Layout("your_facebook_activity/posts/your_uncategorized_photos.json", "2024 and later"),
)
VIDEOS = (
    Layout("posts/your_videos.json", "before 2024"),
    Layout("your_facebook_activity/posts/your_videos.json", "2024 and later"),
)
ALBUMS = (
    Layout("posts/album/{n}.json", "before 2024"),
    Layout("your_facebook_activity/posts/album/{n}.json", "2024 and later"),
)
_COMMENT_KEYS = ("comments_v2", "comments")  # 2021 on, and before
#: file layouts of uploads outside posts: (layouts, the list's key, entry kind, medium kind)
_UPLOADS: tuple[tuple[tuple[Layout, ...], str, str, MediaKind], ...] = (
    (PHOTOS, "other_photos_v2", "photo", "image"),
    (VIDEOS, "videos_v2", "video", "video"),
)


def parse(bundle: Bundle, options: ImportOptions) -> ImportBatch:
    """Our posts, uploads and comments from a Facebook export; ParseError when it is none."""
    post_files, comment_files = find_files(bundle, POSTS), find_files(bundle, COMMENTS)
    if not post_files and not comment_files:  # uploads alone are not how an export looks
        raise not_an_export(bundle, "Facebook", [("posts", POSTS), ("comments", COMMENTS)])
    author = _author(bundle, options)
    account = (author.handle or author.name) if author else None
    batch = ImportBatch(platform=PLATFORM, account=account)
    entries: list[MemberEntry] = []
    for member in post_files:
        entries += _posts(bundle, member, options)
    for layouts, key, kind, _ in _UPLOADS:
        for member in find_files(bundle, layouts):
            entries += _uploads(bundle, member, key, kind, options)
    for member in find_files(bundle, ALBUMS):
        entries += _album(bundle, member, options)
    for member in comment_files:
        entries += _comments(bundle, member, options)
    return add_entries(
        batch,
        bundle,
        entries,
        _post,
        author,
        empty="entries without text, media or link",
        missing_files="attached file(s)",
    )


def _posts(bundle: Bundle, member: str, options: ImportOptions) -> list[MemberEntry]:
    document = load_meta_json(bundle, member)
    if not isinstance(document, list):
        raise bundle.fail(member, f"expected a list of posts, found {shape(document)}")
    found = []
    for index, item in enumerate(document):
        published = timestamp(item.get("timestamp")) if isinstance(item, dict) else None
        if not isinstance(item, dict) or published is None:
            cause = f"entry {index}: expected a post with a timestamp, found {shape(item)}"
            raise bundle.fail(member, cause)
        texts = (text(data.get("post")) for data in object_list(item, "data"))
        body = next((t for t in texts if t), "")
        found.append(MemberEntry("post", member, published, body, item))
        options.tick()
    return found


def _uploads(
    bundle: Bundle, member: str, key: str, kind: str, options: ImportOptions
) -> list[MemberEntry]:
    """Photos or videos uploaded outside posts: `{key: [{uri, creation_timestamp,
    description, title}]}`, one post each."""
    document = load_meta_json(bundle, member)
    items = document.get(key) if isinstance(document, dict) else None
    if not isinstance(items, list):
        raise bundle.fail(
            member, f"expected an object with a list under {key}, found {shape(document)}"
        )
    found = []
    for index, item in enumerate(items):
        published = timestamp(item.get("creation_timestamp")) if isinstance(item, dict) else None
        if not isinstance(item, dict) or published is None or not text(item.get("uri")):
            cause = f"entry {index}: expected a {kind} with a uri and a creation_timestamp"
            raise bundle.fail(member, f"{cause}, found {shape(item)}")
        body = text(item.get("description")) or text(item.get("title")) or ""
        found.append(MemberEntry(kind, member, published, body, item))
        options.tick()
    return found


def _album(bundle: Bundle, member: str, options: ImportOptions) -> list[MemberEntry]:
    """One album (`{name, description, photos: [{uri, creation_timestamp, title}]}`) as one
    post: its name and description as the text, every photo as a medium, dated by its first
    photo (or its last change)."""
    album = load_meta_json(bundle, member)
    if not isinstance(album, dict) or not isinstance(album.get("photos"), list):
        raise bundle.fail(member, f"expected an album with a photos list, found {shape(album)}")
    photos = object_list(album, "photos")
    times = [t for t in (timestamp(p.get("creation_timestamp")) for p in photos) if t]
    published = min(times, default=None) or timestamp(album.get("last_modified_timestamp"))
    if published is None and photos:  # its photos would be lost without a word
        cause = "expected an album dated by a photo's creation_timestamp or last_modified_timestamp"
        raise bundle.fail(member, f"{cause}, found {shape(album)}")
    if published is None:
        return []  # an empty album: nothing to keep
    parts = (text(album.get("name")), text(album.get("description")))
    options.tick()
    return [MemberEntry("album", member, published, "\n\n".join(p for p in parts if p), album)]


def _comments(bundle: Bundle, member: str, options: ImportOptions) -> list[MemberEntry]:
    document = load_meta_json(bundle, member)
    key = next((k for k in _COMMENT_KEYS if isinstance(document, dict) and k in document), None)
    items = document.get(key) if key and isinstance(document, dict) else None
    if not isinstance(items, list):
        cause = f"expected an object with a comments_v2 list, found {shape(document)}"
        raise bundle.fail(member, cause)
    found = []
    for index, item in enumerate(items):
        comment = _comment_data(item)
        published = timestamp(item.get("timestamp")) if isinstance(item, dict) else None
        published = published or timestamp(comment.get("timestamp"))
        if not isinstance(item, dict) or published is None:
            cause = f"entry {index}: expected a comment with a timestamp, found {shape(item)}"
            raise bundle.fail(member, cause)
        found.append(
            MemberEntry("comment", member, published, text(comment.get("comment")) or "", item)
        )
        options.tick()
    return found


def _comment_data(item: Any) -> dict[str, Any]:
    data = item.get("data") if isinstance(item, dict) else None
    for entry in data if isinstance(data, list) else ():
        if isinstance(entry, dict) and isinstance(entry.get("comment"), dict):
            return dict(entry["comment"])
    return {}


def _post(
    bundle: Bundle, entry: MemberEntry, native_id: str, author: Author | None, files: ExportFiles
) -> tuple[Post | None, Attachments]:
    """The post or comment; None when it has nothing to show (a bare "… updated their
    profile picture" with the picture not in the export)."""
    attached = files.for_post(native_id)
    for medium, kind in _uploaded(entry):
        attached.add(medium, kind)
    links: list[str] = []
    for attachment in object_list(entry.data, "attachments"):
        for item in object_list(attachment, "data"):
            found = item.get("media")
            uri = text(found.get("uri")) if isinstance(found, dict) else None
            if uri and isinstance(found, dict):
                attached.add(uri, _media_kind(found))
            context = item.get("external_context")
            url = text(context.get("url")) if isinstance(context, dict) else None
            if url and url.startswith(("http://", "https://")):
                links.append(url)
    link = links[0] if links else None
    if not entry.body and not attached.media and not link:
        return None, attached
    updated = None
    for item in object_list(entry.data, "data"):
        updated = updated or timestamp(item.get("update_timestamp"))
    post = member_post(
        bundle,
        entry,
        native_id,
        author,
        attached,
        link=link,
        updated_at=updated if updated and updated > entry.published else None,
    )
    return post, attached


def _uploaded(entry: MemberEntry) -> list[tuple[str, MediaKind | None]]:
    """The media of an upload or album entry (posts and comments carry theirs as
    attachments)."""
    kinds = {kind: medium for _, _, kind, medium in _UPLOADS}
    if entry.kind in kinds:
        uri = text(entry.data.get("uri"))
        return [(uri, kinds[entry.kind])] if uri else []
    if entry.kind == "album":
        found = [
            (text(p.get("uri")), _media_kind(p) or "image")
            for p in object_list(entry.data, "photos")
        ]
        return [(uri, kind) for uri, kind in found if uri]
    return []


def _media_kind(found: dict[str, Any]) -> MediaKind | None:
    """Photo or video as the metadata says (older files have no extension to tell by)."""
    metadata = found.get("media_metadata")
    if isinstance(metadata, dict):
        if "video_metadata" in metadata:
            return "video"
        if "photo_metadata" in metadata:
            return "image"
    return None


def _author(bundle: Bundle, options: ImportOptions) -> Author | None:
    """The account from the profile file; the configured account names it otherwise."""
    profile: dict[str, Any] = {}
    for member in find_files(bundle, PROFILE)[:1]:
        document = load_meta_json(bundle, member)
        if isinstance(document, dict):
            found = document.get("profile_v2", document.get("profile"))
            profile = found if isinstance(found, dict) else {}
    name = profile.get("name")
    full_name = text(name.get("full_name")) if isinstance(name, dict) else text(name)
    handle = text(profile.get("username"))
    url = text(profile.get("profile_uri"))
    configured = (options.account or "").strip()
    if configured.startswith(("http://", "https://")):
        url = url or configured
        configured = configured.rstrip("/").rsplit("/", 1)[-1]
    handle = handle or configured.lstrip("@") or None
    if handle and not url:
        url = f"https://www.facebook.com/{handle}"
    if not (handle or full_name):
        return None
    return Author(platform=PLATFORM, handle=handle, name=full_name, url=url)
