"""The Instagram member export: posts, carousels, reels, our comments, layouts by year."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from ownfeed.archive import Archive
from tests.importers import (
    DATA,
    do_import,
    import_error,
    pairs,
    post,
    rebuild_zip,
    snapshot,
    write_zip,
    zip_members,
)

ZIP = DATA / "instagram.zip"
#: an export archived before each failing import, which must leave it as it was
OTHER = ("twitter", DATA / "twitter.zip")
POSTS_2025 = "your_instagram_activity/media/posts_1.json"
REELS_2025 = "your_instagram_activity/media/reels.json"
COMMENTS_2025 = "your_instagram_activity/comments/post_comments_1.json"
PROFILE_2025 = "personal_information/personal_information/personal_information.json"


def test_imports_posts_reels_and_comments(archive: Archive, tmp_path: Path) -> None:
    report = do_import(archive, "instagram", ZIP, tmp_path / "media")
    assert (report.new, report.media_copied) == (5, 4)
    assert report.warnings == ["1 media file(s) not in this export"]
    kinds = pairs(archive, "SELECT native_id, kind FROM posts WHERE platform = 'instagram'")
    assert kinds == {
        "post/1673089200": "post",
        "post/1673175600": "post",
        "post/1673262000": "post",  # its photo is missing, its caption is not
        "post/1673348400": "post",  # the reel
        "comment/1673100000": "reply",
    }


def test_captions_are_repaired_and_tagged(archive: Archive, tmp_path: Path) -> None:
    do_import(archive, "instagram", ZIP, tmp_path / "media")
    single = post(archive, "instagram", "post/1673089200")
    assert single["content_text"] == "Grüße aus dem Büro ☕ #Novosyx #teamwork"
    assert single["published_at"] == "2023-01-07T11:00:00+00:00"
    tags = archive.query(
        "SELECT tag FROM post_tags WHERE post_id = ? ORDER BY tag", (single["id"],)
    )
    assert [t[0] for t in tags] == ["Novosyx", "teamwork"]
    carousel = post(archive, "instagram", "post/1673175600")
    assert carousel["content_text"] == "Zwei Bilder vom Launch"
    comment = post(archive, "instagram", "comment/1673100000")
    assert comment["content_text"] == "Glückwunsch! 👏"
    assert comment["in_reply_to_url"] == "https://www.instagram.com/alice.example/"
    author = archive.one("SELECT * FROM authors WHERE id = ?", (single["author_id"],))
    assert author is not None
    assert (author["handle"], author["name"], author["url"]) == (
        "novosyx",
        "Novosyx Büro",
        "https://www.instagram.com/novosyx/",
    )


def test_every_photo_of_a_carousel_is_copied(archive: Archive, tmp_path: Path) -> None:
    do_import(archive, "instagram", ZIP, tmp_path / "media")
    carousel = post(archive, "instagram", "post/1673175600")
    rows = archive.query(
        "SELECT url, sha256, local_path FROM media WHERE post_id = ? ORDER BY url",
        (carousel["id"],),
    )
    assert [r["url"] for r in rows] == [
        "instagram-export:329447298_5678_n.jpg",
        "instagram-export:329447299_9012_n.jpg",
    ]
    second = b"\xff\xd8\xff\xe0fake-instagram-second"
    assert rows[0]["sha256"] == hashlib.sha256(second).hexdigest()
    assert all((tmp_path / "media" / r["local_path"]).is_file() for r in rows)
    reel = post(archive, "instagram", "post/1673348400")
    [video] = archive.query("SELECT kind, mime FROM media WHERE post_id = ?", (reel["id"],))
    assert tuple(video) == ("video", "video/mp4")
    # one file on disk per distinct content: the first photo appears twice in the export
    assert len([p for p in (tmp_path / "media").rglob("*") if p.is_file()]) == 3


def _older(tmp_path: Path) -> Path:
    """The same account as a pre-2023 export: content/, the older comment shape, 2021 profile."""
    members = zip_members(ZIP)
    comments = json.loads(members[COMMENTS_2025])
    older_comments = {
        "comments_media_comments": [
            {
                "title": c["string_map_data"]["Media Owner"]["value"],
                "string_list_data": [
                    {
                        "value": c["string_map_data"]["Comment"]["value"],
                        "timestamp": c["string_map_data"]["Time"]["timestamp"],
                    }
                ],
            }
            for c in comments
        ]
    }
    renamed = {
        POSTS_2025: "content/posts_1.json",
        REELS_2025: "content/reels.json",
        COMMENTS_2025: "comments/post_comments.json",
        PROFILE_2025: "account_information/personal_information.json",
    }
    out = {renamed.get(name, name): data for name, data in members.items()}
    out["comments/post_comments.json"] = json.dumps(older_comments).encode()
    return write_zip(tmp_path / "instagram-2021.zip", out)


def test_older_layouts_give_the_same_rows(archive: Archive, tmp_path: Path) -> None:
    first = do_import(archive, "instagram", _older(tmp_path), tmp_path / "media")
    assert (first.new, first.media_copied) == (5, 4)
    before = snapshot(archive, ignore=("last_seen_at", "raw"))
    again = do_import(archive, "instagram", ZIP, tmp_path / "media")
    assert (again.new, again.updated, again.unchanged) == (0, 0, 5)
    assert snapshot(archive, ignore=("last_seen_at", "raw")) == before


def test_the_2023_layout_is_known(archive: Archive, tmp_path: Path) -> None:
    members = zip_members(ZIP)
    moved = {
        name.replace("your_instagram_activity/media/", "your_instagram_activity/content/"): data
        for name, data in members.items()
    }
    report = do_import(archive, "instagram", write_zip(tmp_path / "ig.zip", moved), tmp_path / "m")
    assert report.new == 5


def test_comment_labels_in_another_language(archive: Archive, tmp_path: Path) -> None:
    comments = [
        {
            "string_map_data": {
                "Kommentar": {"value": "Sehr sch\u00c3\u00b6n"},
                "Medieninhaber": {"value": "bob"},
                "Zeit": {"timestamp": 1673200000},
            }
        }
    ]
    path = write_zip(tmp_path / "ig.zip", {COMMENTS_2025: json.dumps(comments).encode()})
    do_import(archive, "instagram", path, tmp_path / "media")
    comment = post(archive, "instagram", "comment/1673200000")
    assert comment["content_text"] == "Sehr schön"
    assert comment["in_reply_to_url"] == "https://www.instagram.com/bob/"


STORIES_2025 = "your_instagram_activity/media/stories.json"
STORY_PHOTO = b"\xff\xd8\xff\xe0fake-instagram-story"
STORIES = {
    "ig_stories": [
        {
            "uri": "media/stories/202302/story_1.jpg",
            "creation_timestamp": 1675252800,
            "title": "Messe-Tag 1 \u00f0\u009f\u0093\u00a3 #Novosyx",
            "media_metadata": {"photo_metadata": {"exif_data": [{}]}},
        },
        {"uri": "media/stories/202302/story_2.mp4", "creation_timestamp": 1675256400, "title": ""},
    ]
}


def _with_stories(tmp_path: Path, name: str = STORIES_2025) -> Path:
    return rebuild_zip(
        ZIP,
        tmp_path / "ig-stories.zip",
        {
            name: json.dumps(STORIES).encode(),
            "media/stories/202302/story_1.jpg": STORY_PHOTO,
            "media/stories/202302/story_2.mp4": b"\x00\x00\x00\x18ftypmp42",
        },
    )


def test_stories_are_kept_with_their_photo_or_video(archive: Archive, tmp_path: Path) -> None:
    """A story is gone from Instagram after a day; the export is the only copy left."""
    report = do_import(archive, "instagram", _with_stories(tmp_path), tmp_path / "media")
    assert (report.new, report.media_copied) == (7, 6)
    first = post(archive, "instagram", "story/1675252800")
    assert first["kind"] == "post" and first["content_text"] == "Messe-Tag 1 📣 #Novosyx"
    assert first["published_at"] == "2023-02-01T12:00:00+00:00"
    [photo] = archive.query("SELECT sha256, kind FROM media WHERE post_id = ?", (first["id"],))
    assert tuple(photo) == (hashlib.sha256(STORY_PHOTO).hexdigest(), "image")
    second = post(archive, "instagram", "story/1675256400")
    assert second["content_text"] == ""
    [video] = archive.query("SELECT kind FROM media WHERE post_id = ?", (second["id"],))
    assert video["kind"] == "video"
    assert json.loads(second["raw"])["story"]["uri"] == "media/stories/202302/story_2.mp4"


def test_stories_in_the_older_layouts_are_the_same_stories(
    archive: Archive, tmp_path: Path
) -> None:
    do_import(archive, "instagram", _with_stories(tmp_path), tmp_path / "media")
    before = snapshot(archive, ignore=("last_seen_at", "raw"))
    for name in ("content/stories.json", "your_instagram_activity/content/stories.json"):
        older = rebuild_zip(
            _with_stories(tmp_path),
            tmp_path / "older.zip",
            {STORIES_2025: None, name: json.dumps(STORIES).encode()},
        )
        again = do_import(archive, "instagram", older, tmp_path / "media")
        assert (again.new, again.updated, again.unchanged) == (0, 0, 7)
    assert snapshot(archive, ignore=("last_seen_at", "raw")) == before


# --- unknown layouts and broken files: one line, nothing written ---------------------------


def test_an_unknown_layout_says_what_was_expected_and_found(
    archive: Archive, tmp_path: Path
) -> None:
    path = write_zip(tmp_path / "ig.zip", {"your_activity/media/feed_1.json": b"[]"})
    message = import_error(archive, "instagram", path, tmp_path, over=OTHER)
    assert message.startswith("ig.zip: not an Instagram export in a known layout: expected ")
    assert "posts in content/posts_1.json (before 2023) or " in message
    assert "your_instagram_activity/media/posts_1.json (2025)" in message
    assert "your_instagram_activity/comments/post_comments_1.json (2023 and later)" in message
    assert message.endswith("found 1 file(s): your_activity/media/feed_1.json")


def test_the_wrong_kind_of_export(archive: Archive, tmp_path: Path) -> None:
    message = import_error(archive, "instagram", DATA / "facebook.zip", tmp_path, over=OTHER)
    assert "found 4 file(s): personal_information/profile_information/" in message


BROKEN: dict[str, tuple[str, Any, str]] = {
    "posts not a list": (
        POSTS_2025,
        {"ig_posts": []},
        f"ig.zip:{POSTS_2025}: expected a list, found an object with keys ig_posts",
    ),
    "post without a time": (
        POSTS_2025,
        [{"media": [{"uri": "media/posts/x.jpg"}], "title": "x"}],
        f"ig.zip:{POSTS_2025}: entry 0: expected a post with media and a creation_timestamp, "
        "found an object with keys media, title",
    ),
    "reels in an unknown wrapper": (
        REELS_2025,
        {"reels": []},
        f"ig.zip:{REELS_2025}: expected a list or an object with ig_reels_media, found an "
        "object with keys reels",
    ),
    "story without a time": (
        STORIES_2025,
        {"ig_stories": [{"uri": "media/stories/x.jpg"}]},
        f"ig.zip:{STORIES_2025}: entry 0: expected a story with a uri and a creation_timestamp, "
        "found an object with keys uri",
    ),
    "stories in an unknown wrapper": (
        STORIES_2025,
        {"stories": []},
        f"ig.zip:{STORIES_2025}: expected a list or an object with ig_stories, found an "
        "object with keys stories",
    ),
    "comment without a time": (
        COMMENTS_2025,
        [{"string_map_data": {"Comment": {"value": "hi"}}}],
        f"ig.zip:{COMMENTS_2025}: entry 0: expected a comment with a time, found an object",
    ),
    "not json": (COMMENTS_2025, b"<html>", f"ig.zip:{COMMENTS_2025}: invalid JSON at line 1"),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_a_broken_file_names_the_file_and_entry(
    archive: Archive, tmp_path: Path, case: str
) -> None:
    member, content, expected = BROKEN[case]
    data = content if isinstance(content, bytes) else json.dumps(content).encode()
    path = rebuild_zip(ZIP, tmp_path / "ig.zip", {member: data})
    assert import_error(archive, "instagram", path, tmp_path, over=OTHER).startswith(expected)
