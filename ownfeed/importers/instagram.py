"""The Instagram member data export ("Download your information", JSON format).

Our posts, reels and stories with their photos and videos, and our own comments (other
people's comments are not in it). Known layouts: `content/posts_N.json` (before 2023),
`your_instagram_activity/content/posts_N.json` (2023 to 2024) and
`your_instagram_activity/media/posts_N.json` (2025), each with `reels.json` and
`stories.json` beside it;
comments in `comments/post_comments.json` (the older `comments_media_comments` object
with `string_list_data`) or `…/comments/post_comments_N.json` (a list with
`string_map_data`). Text is repaired from Meta's mis-encoding.

The export gives posts no id and no URL (no shortcode). A post's native id is
`post/<unix time of posting>` (a comment's `comment/<unix time>`), which survives a caption
edit and a change of layout; see `member.native_ids` for posts of the same second. A story
(one photo or video, gone from Instagram after a day, kept here) is `story/<unix time>`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
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
from ownfeed.models import Author, Post

PLATFORM = "instagram"
POSTS = (
    Layout("content/posts_{n}.json", "before 2023"),
    Layout("your_instagram_activity/content/posts_{n}.json", "2023 to 2024"),
    Layout("your_instagram_activity/media/posts_{n}.json", "2025"),
)
REELS = (
    Layout("content/reels.json", "before 2023"),
    Layout("your_instagram_activity/content/reels.json", "2023 to 2024"),
    Layout("your_instagram_activity/media/reels.json", "2025"),
)
STORIES = (
    Layout("content/stories.json", "before 2023"),
    Layout("your_instagram_activity/content/stories.json", "2023 to 2024"),
    Layout("your_instagram_activity/media/stories.json", "2025"),
)
COMMENTS = (
    Layout("comments/post_comments.json", "before 2022"),
    Layout("comments/post_comments_{n}.json", "2022"),
    Layout("your_instagram_activity/comments/post_comments_{n}.json", "2023 and later"),
    Layout("your_instagram_activity/comments/reels_comments.json", "2023 and later"),
)
PROFILE = (
    Layout("account_information/personal_information.json", "2021"),
    Layout("personal_information/personal_information.json", "2022 to 2024"),
    Layout("personal_information/personal_information/personal_information.json", "2025"),
)
_COMMENT_LISTS = ("comments_media_comments", "comments_reels_comments")
_REEL_LISTS = ("ig_reels_media",)
_STORY_LISTS = ("ig_stories",)


@dataclass
class _Entry(MemberEntry):
    owner: str | None = None  # a comment's media owner (whose post we commented on)


def parse(bundle: Bundle, options: ImportOptions) -> ImportBatch:
    """Our posts, reels, stories and comments from an Instagram export; ParseError when it
    is none."""
    post_files, reel_files = find_files(bundle, POSTS), find_files(bundle, REELS)
    story_files, comment_files = find_files(bundle, STORIES), find_files(bundle, COMMENTS)
    if not post_files and not reel_files and not story_files and not comment_files:
        groups = [("posts", POSTS), ("reels", REELS), ("stories", STORIES)]
        raise not_an_export(bundle, "Instagram", [*groups, ("comments", COMMENTS)])
    author = _author(bundle, options)
    batch = ImportBatch(platform=PLATFORM, account=author.handle if author else None)
    entries: list[_Entry] = []
    for member in post_files:
        entries += _posts(bundle, member, _as_list(bundle, member, ()), options)
    for member in reel_files:
        entries += _posts(bundle, member, _as_list(bundle, member, _REEL_LISTS), options)
    for member in story_files:
        entries += _stories(bundle, member, options)
    for member in comment_files:
        entries += _comments(bundle, member, options)
    return add_entries(
        batch,
        bundle,
        entries,
        _post,
        author,
        empty="entries without caption, text or media",
        missing_files="media file(s)",
    )


def _as_list(bundle: Bundle, member: str, keys: tuple[str, ...]) -> list[Any]:
    """The file's entries: a bare list, or the list under one of `keys`."""
    document = load_meta_json(bundle, member)
    if isinstance(document, dict):
        for key in keys:
            if isinstance(document.get(key), list):
                return list(document[key])
    if isinstance(document, list):
        return document
    wanted = "a list" + (f" or an object with {' or '.join(keys)}" if keys else "")
    raise bundle.fail(member, f"expected {wanted}, found {shape(document)}")


def _posts(bundle: Bundle, member: str, items: list[Any], options: ImportOptions) -> list[_Entry]:
    """Posts and reels: `{media: [{uri, creation_timestamp, title}], title, creation_timestamp}`
    (a post of one photo has its caption on the photo, a carousel on the post)."""
    found = []
    for index, item in enumerate(items):
        media = object_list(item, "media")
        published = None
        if isinstance(item, dict):
            published = timestamp(item.get("creation_timestamp"))
            published = published or next(
                (t for t in (timestamp(m.get("creation_timestamp")) for m in media) if t), None
            )
        if not isinstance(item, dict) or published is None:
            cause = f"entry {index}: expected a post with media and a creation_timestamp, "
            raise bundle.fail(member, cause + f"found {shape(item)}")
        captions = [text(item.get("title"))] + [text(m.get("title")) for m in media]
        body = "\n\n".join(dict.fromkeys(c for c in captions if c))
        found.append(_Entry("post", member, published, body, item))
        options.tick()
    return found


def _stories(bundle: Bundle, member: str, options: ImportOptions) -> list[_Entry]:
    """Stories: `{ig_stories: [{uri, creation_timestamp, title}]}`, one medium each."""
    found = []
    for index, item in enumerate(_as_list(bundle, member, _STORY_LISTS)):
        published = timestamp(item.get("creation_timestamp")) if isinstance(item, dict) else None
        if not isinstance(item, dict) or published is None:
            cause = f"entry {index}: expected a story with a uri and a creation_timestamp, "
            raise bundle.fail(member, cause + f"found {shape(item)}")
        found.append(_Entry("story", member, published, text(item.get("title")) or "", item))
        options.tick()
    return found


def _comments(bundle: Bundle, member: str, options: ImportOptions) -> list[_Entry]:
    found = []
    for index, item in enumerate(_as_list(bundle, member, _COMMENT_LISTS)):
        body, owner, published = _comment_fields(item)
        if published is None:
            cause = f"entry {index}: expected a comment with a time, found {shape(item)}"
            raise bundle.fail(member, cause)
        found.append(_Entry("comment", member, published, body or "", item, owner))
        options.tick()
    return found


def _comment_fields(item: Any) -> tuple[str | None, str | None, datetime | None]:
    """(text, media owner, time) of either comment shape.

    Newer: `string_map_data` `{Comment: {value}, Media Owner: {value}, Time: {timestamp}}`.
    The labels are translated in exports made in another language, so when the English
    ones are missing the first value is taken as the text and the second as the owner.
    Older: `{title: owner, string_list_data: [{value, timestamp}]}`.
    """
    if not isinstance(item, dict):
        return None, None, None
    mapped = item.get("string_map_data")
    if isinstance(mapped, dict):
        fields = {k: v for k, v in mapped.items() if isinstance(v, dict)}
        values = [text(v.get("value")) for v in fields.values() if text(v.get("value"))]
        times = [timestamp(v.get("timestamp")) for v in fields.values()]
        body = text(fields.get("Comment", {}).get("value")) or (values[0] if values else None)
        owner = text(fields.get("Media Owner", {}).get("value"))
        if owner is None and "Comment" not in fields and len(values) > 1:
            owner = values[1]
        published = timestamp(fields.get("Time", {}).get("timestamp"))
        return body, owner, published or next((t for t in times if t), None)
    listed = item.get("string_list_data")
    first = listed[0] if isinstance(listed, list) and listed else None
    if isinstance(first, dict):
        return text(first.get("value")), text(item.get("title")), timestamp(first.get("timestamp"))
    return None, None, None


def _post(
    bundle: Bundle, entry: _Entry, native_id: str, author: Author | None, files: ExportFiles
) -> tuple[Post | None, Attachments]:
    attached = files.for_post(native_id)
    media = [entry.data] if entry.kind == "story" else object_list(entry.data, "media")
    for item in media:
        uri = text(item.get("uri"))
        if uri:
            attached.add(uri)
    if not entry.body and not attached.media:
        return None, attached
    post = member_post(
        bundle, entry, native_id, author, attached, in_reply_to_url=_owner_url(entry.owner)
    )
    return post, attached


def _owner_url(owner: str | None) -> str | None:
    """The profile whose post a comment answers (the post itself is not named)."""
    if owner and owner.replace(".", "").replace("_", "").isalnum():
        return f"https://www.instagram.com/{owner}/"
    return None


def _author(bundle: Bundle, options: ImportOptions) -> Author | None:
    """The account from the personal information file, else the configured account."""
    handle = name = None
    for member in find_files(bundle, PROFILE)[:1]:
        document = load_meta_json(bundle, member)
        users = document.get("profile_user") if isinstance(document, dict) else None
        first = users[0] if isinstance(users, list) and users else None
        mapped = first.get("string_map_data") if isinstance(first, dict) else None
        if isinstance(mapped, dict):
            handle = _value(mapped, "Username")
            name = _value(mapped, "Name")
    configured = (options.account or "").strip().rstrip("/")
    if configured:
        handle = handle or configured.rsplit("/", 1)[-1].lstrip("@") or None
    if not (handle or name):
        return None
    url = f"https://www.instagram.com/{handle}/" if handle else None
    return Author(platform=PLATFORM, handle=handle, name=name, url=url)


def _value(mapped: dict[str, Any], key: str) -> str | None:
    found = mapped.get(key)
    return text(found.get("value")) if isinstance(found, dict) else None
