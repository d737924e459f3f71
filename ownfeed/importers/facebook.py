"""The Facebook member data export ("Download your information", JSON format).

Our posts and our own comments; other people's comments on our posts are not in it. Known
layouts: `posts/your_posts_N.json` and `comments/comments.json` or
`comments_and_reactions/comments.json` (exports before 2024), and the same under
`your_facebook_activity/` from 2024 on, where the posts file became
`your_posts__check_ins__photos_and_videos_N.json`. Text is repaired from Meta's
mis-encoding (`member.repair_text`); attached photos and videos are copied from the export.

The export gives posts no id and no URL. A post's native id is `post/<unix time>` (a
comment's `comment/<unix time>`), which survives an edit and a change of layout; posts of
the same second get a content hash appended (see `member.native_ids`).
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
_COMMENT_KEYS = ("comments_v2", "comments")  # 2021 on, and before


def parse(bundle: Bundle, options: ImportOptions) -> ImportBatch:
    """Our posts and comments from a Facebook export; ParseError when it is none."""
    post_files, comment_files = find_files(bundle, POSTS), find_files(bundle, COMMENTS)
    if not post_files and not comment_files:
        raise not_an_export(bundle, "Facebook", [("posts", POSTS), ("comments", COMMENTS)])
    author = _author(bundle, options)
    account = (author.handle or author.name) if author else None
    batch = ImportBatch(platform=PLATFORM, account=account)
    entries: list[MemberEntry] = []
    for member in post_files:
        entries += _posts(bundle, member, options)
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
