"""The Facebook member export: posts and our comments, repaired text, stable ids, layouts."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from ownfeed.archive import Archive
from ownfeed.importers.member import repair_text, repaired
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

ZIP = DATA / "facebook.zip"
#: an export archived before each failing import, which must leave it as it was
OTHER = ("wordpress", DATA / "wordpress.xml")
NEW_POSTS = "your_facebook_activity/posts/your_posts__check_ins__photos_and_videos_1.json"
NEW_COMMENTS = "your_facebook_activity/comments_and_reactions/comments.json"
NEW_PROFILE = "personal_information/profile_information/profile_information.json"
NEW_PHOTO = "your_facebook_activity/posts/media/Timelinephotos_10158/101581234567890_n.jpg"


def _older_layout(tmp_path: Path) -> Path:
    """The same account as a 2019–2023 export: other paths, the same content."""
    members = zip_members(ZIP)
    posts = members[NEW_POSTS].replace(
        b"your_facebook_activity/posts/media/Timelinephotos_10158/",
        b"photos_and_videos/TimelinePhotos_10158/",
    )
    comments = json.loads(members[NEW_COMMENTS])
    return write_zip(
        tmp_path / "facebook-2022.zip",
        {
            "facebook-novosyx/profile_information/profile_information.json": members[NEW_PROFILE],
            "facebook-novosyx/posts/your_posts_1.json": posts,
            "facebook-novosyx/photos_and_videos/TimelinePhotos_10158/101581234567890_n.jpg": (
                members[NEW_PHOTO]
            ),
            "facebook-novosyx/comments/comments.json": json.dumps(
                {"comments": comments["comments_v2"]}
            ).encode(),
        },
    )


def test_imports_our_posts_and_comments(archive: Archive, tmp_path: Path) -> None:
    report = do_import(archive, "facebook", ZIP, tmp_path / "media")
    assert (report.new, report.updated, report.unchanged, report.media_copied) == (7, 0, 0, 1)
    assert report.warnings == [
        "skipped 1 entries without text, media or link",
        "1 attached file(s) not in this export",
    ]
    kinds = pairs(archive, "SELECT native_id, kind FROM posts WHERE platform = 'facebook'")
    assert kinds == {
        "post/1672570800": "post",
        "post/1672657200": "post",
        "post/1672743600": "post",
        "post/1672830000-dabbc413a7": "post",
        "post/1672830000-381fd937be": "post",
        "post/1672916400": "post",
        "comment/1672660000": "reply",
    }
    assert {r[0] for r in archive.query("SELECT is_own FROM posts")} == {1}
    row = archive.one("SELECT type, locator FROM sources WHERE name = 'facebook-import'")
    assert row is not None and tuple(row) == ("import", "novosyx")


def test_mis_encoded_text_is_repaired(archive: Archive, tmp_path: Path) -> None:
    do_import(archive, "facebook", ZIP, tmp_path / "media")
    first = post(archive, "facebook", "post/1672570800")
    assert first["content_text"] == "Wir eröffnen unser neues Büro in München! 🎉 #Novosyx"
    assert first["content_html"] == ("<p>Wir eröffnen unser neues Büro in München! 🎉 #Novosyx</p>")
    assert first["published_at"] == "2023-01-01T11:00:00+00:00"
    assert first["title"] is None  # "Novosyx updated their status." is Facebook's, not ours
    tags = archive.query("SELECT tag FROM post_tags WHERE post_id = ?", (first["id"],))
    assert [t[0] for t in tags] == ["Novosyx"]
    comment = post(archive, "facebook", "comment/1672660000")
    assert comment["content_text"] == "Danke für die Glückwünsche!"
    # text the export already wrote as real UTF-8 does not survive the round trip: kept
    kept = post(archive, "facebook", "post/1672830000-dabbc413a7")
    assert kept["content_text"] == "First of two à la carte"
    raw = json.loads(first["raw"])
    assert raw["post"]["data"][0]["post"].startswith("Wir eröffnen")
    author = archive.one("SELECT * FROM authors WHERE id = ?", (first["author_id"],))
    assert author is not None
    assert (author["handle"], author["name"], author["url"]) == (
        "novosyx",
        "Novosyx",
        "https://www.facebook.com/novosyx",
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("B\u00c3\u00bcro", "Büro"),  # the export's bytes-as-code-points
        ("\u00f0\u009f\u008e\u0089", "🎉"),
        ("Büro", "Büro"),  # real text: the round trip fails, the text stays
        ("Caf\u00e9", "Café"),
        ("🎉 party", "🎉 party"),  # not latin-1 at all
        ("\u00c3", "\u00c3"),  # a lone lead byte: not UTF-8, kept
        ("plain", "plain"),
    ],
)
def test_repair_only_where_the_round_trip_succeeds(value: str, expected: str) -> None:
    assert repair_text(value) == expected


def test_repair_reaches_keys_and_nested_values() -> None:
    assert repaired({"Gr\u00c3\u00bc\u00c3\u009fe": ["M\u00c3\u00bcnchen", 3, None]}) == {
        "Grüße": ["München", 3, None]
    }


def test_attached_photo_is_copied_and_a_link_kept(archive: Archive, tmp_path: Path) -> None:
    do_import(archive, "facebook", ZIP, tmp_path / "media")
    photo = post(archive, "facebook", "post/1672657200")
    [media] = archive.query("SELECT * FROM media WHERE post_id = ?", (photo["id"],))
    data = b"\xff\xd8\xff\xe0fake-facebook-office-photo"
    assert media["sha256"] == hashlib.sha256(data).hexdigest()
    assert (tmp_path / "media" / media["local_path"]).read_bytes() == data
    assert (media["url"], media["kind"], media["mime"]) == (
        "facebook-export:101581234567890_n.jpg",
        "image",
        "image/jpeg",
    )
    link = post(archive, "facebook", "post/1672743600")
    assert link["content_text"] == "Read our launch story\n\nhttps://novosyx.example/blog/launch"
    assert '<a href="https://novosyx.example/blog/launch">' in link["content_html"]
    assert link["updated_at"] == "2023-01-03T12:46:40+00:00"
    video = post(archive, "facebook", "post/1672916400")
    assert archive.query("SELECT 1 FROM media WHERE post_id = ?", (video["id"],)) == []


def test_an_older_layout_gives_the_same_rows(archive: Archive, tmp_path: Path) -> None:
    """2019–2023 paths in a wrapper folder: same ids, same media row, nothing new."""
    older = do_import(archive, "facebook", _older_layout(tmp_path), tmp_path / "media")
    assert (older.new, older.media_copied) == (7, 1)
    before = snapshot(archive, ignore=("last_seen_at", "raw"))
    newer = do_import(archive, "facebook", ZIP, tmp_path / "media")
    assert (newer.new, newer.updated, newer.unchanged, newer.media_copied) == (0, 0, 7, 0)
    after = snapshot(archive, ignore=("last_seen_at", "raw"))
    assert after == before  # only raw moved on: it names the newer export now
    assert len(after["media"]) == 1


def test_an_edit_between_exports_is_a_new_version(archive: Archive, tmp_path: Path) -> None:
    do_import(archive, "facebook", ZIP, tmp_path / "media")
    posts = json.loads(zip_members(ZIP)[NEW_POSTS])
    posts[0]["data"][0]["post"] = posts[0]["data"][0]["post"].replace("neues", "gro\u00c3\u009fes")
    edited = rebuild_zip(ZIP, tmp_path / "edited.zip", {NEW_POSTS: json.dumps(posts).encode()})
    report = do_import(archive, "facebook", edited, tmp_path / "media")
    assert (report.new, report.updated) == (0, 1)
    first = post(archive, "facebook", "post/1672570800")
    assert first["versions"] == 2
    assert "großes Büro" in first["content_text"]


def test_only_comments_is_enough(archive: Archive, tmp_path: Path) -> None:
    members = zip_members(ZIP)
    only = write_zip(tmp_path / "comments.zip", {NEW_COMMENTS: members[NEW_COMMENTS]})
    report = do_import(archive, "facebook", only, tmp_path / "media")
    assert report.new == 1
    assert archive.one("SELECT author_id FROM posts")[0] is None  # type: ignore[index]


# --- unknown layouts and broken files: one line, nothing written ---------------------------


def test_an_unknown_layout_says_what_was_expected_and_found(
    archive: Archive, tmp_path: Path
) -> None:
    path = write_zip(
        tmp_path / "facebook-2031.zip",
        {
            "your_activity/posts_2031/all_posts.json": b"[]",
            "your_activity/messages/inbox.json": b"{}",
        },
    )
    message = import_error(archive, "facebook", path, tmp_path, over=OTHER)
    assert message.startswith("facebook-2031.zip: not a Facebook export in a known layout: ")
    assert "posts in posts/your_posts_1.json (before 2024) or " in message
    assert (
        "your_facebook_activity/posts/your_posts__check_ins__photos_and_videos_1.json "
        "(2024 and later)" in message
    )
    assert "comments in comments/comments.json (2019 to 2021)" in message
    found = "your_activity/messages/inbox.json, your_activity/posts_2031/all_posts.json"
    assert message.endswith(f"found 2 file(s): {found}")


def test_an_html_export_is_named_as_such(archive: Archive, tmp_path: Path) -> None:
    path = write_zip(tmp_path / "fb.zip", {"posts/your_posts_1.html": b"<html></html>"})
    message = import_error(archive, "facebook", path, tmp_path, over=OTHER)
    assert message.endswith(
        "found posts/your_posts_1.html, the HTML export: request the JSON format instead"
    )


UPLOADS = "your_facebook_activity/posts/"
PHOTOS = UPLOADS + "your_uncategorized_photos.json"
VIDEOS = UPLOADS + "your_videos.json"
ALBUM = UPLOADS + "album/0.json"
PHOTO_BYTES = b"\xff\xd8\xff\xe0fake-facebook-upload"
VIDEO_BYTES = b"\x00\x00\x00\x18ftypmp42-facebook"


def _with_uploads(tmp_path: Path, prefix: str = UPLOADS) -> Path:
    """The sample export plus a photo and a video uploaded outside posts, and an album whose
    cover is the same photo (one file on disk for both)."""
    photo = prefix + "media/Uploads_1/upload_1.jpg"
    video = prefix + "media/Videos_1/clip_1.mp4"
    photos = {
        "other_photos_v2": [
            {
                "uri": photo,
                "creation_timestamp": 1673000000,
                "description": "Neues B\u00c3\u00bcro",
                "media_metadata": {"photo_metadata": {"exif_data": [{}]}},
            }
        ]
    }
    videos = {"videos_v2": [{"uri": video, "creation_timestamp": 1673100000, "title": "Rundgang"}]}
    album = {
        "name": "Er\u00c3\u00b6ffnung",
        "description": "Die ersten Tage",
        "last_modified_timestamp": 1673300000,
        "photos": [
            {"uri": photo, "creation_timestamp": 1673200000, "title": "Er\u00c3\u00b6ffnung"},
            {"uri": prefix + "media/Album_1/missing.jpg", "creation_timestamp": 1673250000},
        ],
    }
    return rebuild_zip(
        ZIP,
        tmp_path / f"fb-uploads-{len(prefix)}.zip",
        {
            prefix + "your_uncategorized_photos.json": json.dumps(photos).encode(),
            prefix + "your_videos.json": json.dumps(videos).encode(),
            prefix + "album/0.json": json.dumps(album).encode(),
            photo: PHOTO_BYTES,
            video: VIDEO_BYTES,
        },
    )


def test_uploads_outside_posts_and_albums_are_kept(archive: Archive, tmp_path: Path) -> None:
    report = do_import(archive, "facebook", _with_uploads(tmp_path), tmp_path / "media")
    assert (report.new, report.media_copied) == (7 + 3, 1 + 3)
    assert "2 attached file(s) not in this export" in report.warnings
    photo = post(archive, "facebook", "photo/1673000000")
    assert photo["content_text"] == "Neues Büro" and photo["kind"] == "post"
    [image] = archive.query("SELECT kind, sha256 FROM media WHERE post_id = ?", (photo["id"],))
    assert tuple(image) == ("image", hashlib.sha256(PHOTO_BYTES).hexdigest())
    video = post(archive, "facebook", "video/1673100000")
    assert video["content_text"] == "Rundgang"
    [clip] = archive.query("SELECT kind FROM media WHERE post_id = ?", (video["id"],))
    assert clip["kind"] == "video"
    album = post(archive, "facebook", "album/1673200000")  # the time of its first photo
    assert album["content_text"] == "Eröffnung\n\nDie ersten Tage"
    shown = archive.query("SELECT sha256 FROM media WHERE post_id = ?", (album["id"],))
    assert [r["sha256"] for r in shown if r["sha256"]] == [hashlib.sha256(PHOTO_BYTES).hexdigest()]
    files = [p for p in (tmp_path / "media").rglob("*") if p.is_file()]
    assert sum(p.read_bytes() == PHOTO_BYTES for p in files) == 1


def test_uploads_in_the_older_layout_are_the_same_posts(archive: Archive, tmp_path: Path) -> None:
    do_import(archive, "facebook", _with_uploads(tmp_path), tmp_path / "media")
    ours = "SELECT native_id, content_text FROM posts WHERE native_id NOT LIKE 'post/%'"
    before = pairs(archive, ours)
    again = do_import(archive, "facebook", _with_uploads(tmp_path, "posts/"), tmp_path / "media")
    assert again.new == 0
    assert pairs(archive, ours) == before


BROKEN: dict[str, tuple[str, Any, str]] = {
    "posts not a list": (
        NEW_POSTS,
        {"status_updates": []},
        f"fb.zip:{NEW_POSTS}: expected a list of posts, found an object with keys status_updates",
    ),
    "post without time": (
        NEW_POSTS,
        [{"timestamp": 1672570800, "data": []}, {"data": [{"post": "x"}]}],
        f"fb.zip:{NEW_POSTS}: entry 1: expected a post with a timestamp, found an object with "
        "keys data",
    ),
    "comments without list": (
        NEW_COMMENTS,
        {"comments_v3": []},
        f"fb.zip:{NEW_COMMENTS}: expected an object with a comments_v2 list, found an object "
        "with keys comments_v3",
    ),
    "comment not an object": (
        NEW_COMMENTS,
        {"comments_v2": ["hello"]},
        f"fb.zip:{NEW_COMMENTS}: entry 0: expected a comment with a timestamp, found a string",
    ),
    "uploads without their list": (
        PHOTOS,
        {"photos": []},
        f"fb.zip:{PHOTOS}: expected an object with a list under other_photos_v2, found an object "
        "with keys photos",
    ),
    "video without a uri": (
        VIDEOS,
        {"videos_v2": [{"creation_timestamp": 1673100000}]},
        f"fb.zip:{VIDEOS}: entry 0: expected a video with a uri and a creation_timestamp, "
        "found an object with keys creation_timestamp",
    ),
    "album without photos": (
        ALBUM,
        {"name": "x"},
        f"fb.zip:{ALBUM}: expected an album with a photos list, found an object with keys name",
    ),
    "album without any time": (
        ALBUM,
        {"name": "x", "photos": [{"uri": "a.jpg"}]},
        f"fb.zip:{ALBUM}: expected an album dated by a photo's creation_timestamp or "
        "last_modified_timestamp, found an object with keys name, photos",
    ),
    "truncated json": (
        NEW_POSTS,
        b'[{"timestamp": 1672570800, "data": [',
        f"fb.zip:{NEW_POSTS}: invalid JSON at line 1 column 37",
    ),
}


@pytest.mark.parametrize("case", sorted(BROKEN))
def test_a_broken_file_names_the_file_and_entry(
    archive: Archive, tmp_path: Path, case: str
) -> None:
    member, content, expected = BROKEN[case]
    data = content if isinstance(content, bytes) else json.dumps(content).encode()
    path = rebuild_zip(ZIP, tmp_path / "fb.zip", {member: data})
    assert import_error(archive, "facebook", path, tmp_path, over=OTHER).startswith(expected)
