"""Every imported post records where it came from: `raw.import` = kind, file, entry, at."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ownfeed.archive import Archive, store_posts
from ownfeed.importers.batch import PackedRaw, RawPacker, stamp_raw
from ownfeed.models import Post
from tests.importers import DATA, EXPORTS, do_import, post, snapshot

FIRST = datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
LATER = datetime(2024, 9, 1, 8, 30, tzinfo=UTC)
ENTRIES = {
    "twitter": {"data/tweets.js", "data/deleted-tweets.js"},
    "mastodon": {"outbox.json"},
    "wordpress": {"wordpress.xml"},
    "bluesky": {"bluesky.car"},
    "facebook": {
        "your_facebook_activity/posts/your_posts__check_ins__photos_and_videos_1.json",
        "your_facebook_activity/comments_and_reactions/comments.json",
    },
    "instagram": {
        "your_instagram_activity/media/posts_1.json",
        "your_instagram_activity/media/reels.json",
        "your_instagram_activity/comments/post_comments_1.json",
    },
    "linkedin": {
        "Basic_LinkedInDataExport_01-01-2024/Shares.csv",
        "Basic_LinkedInDataExport_01-01-2024/Comments.csv",
    },
}


def _at(monkeypatch: pytest.MonkeyPatch, when: datetime) -> None:
    monkeypatch.setattr("ownfeed.importers.utcnow", lambda: when)


def _imports(archive: Archive) -> list[dict[str, str]]:
    return [json.loads(row[0])["import"] for row in archive.query("SELECT raw FROM posts")]


@pytest.mark.parametrize("kind", sorted(EXPORTS))
def test_every_post_knows_its_file_entry_and_first_import(
    archive: Archive, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    _at(monkeypatch, FIRST)
    do_import(archive, kind, EXPORTS[kind], tmp_path / "media")
    found = _imports(archive)
    assert found and all(set(item) == {"kind", "file", "entry", "at"} for item in found)
    assert {item["kind"] for item in found} == {kind}
    assert {item["file"] for item in found} == {EXPORTS[kind].name}
    assert {item["entry"] for item in found} == ENTRIES[kind]
    assert {item["at"] for item in found} == {"2024-03-01T12:00:00+00:00"}


@pytest.mark.parametrize("kind", sorted(EXPORTS))
def test_a_later_reimport_keeps_the_first_import_time(
    archive: Archive, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, kind: str
) -> None:
    """Idempotent: the time is the first import's, never rewritten, so the rows stay equal."""
    _at(monkeypatch, FIRST)
    do_import(archive, kind, EXPORTS[kind], tmp_path / "media")
    before = snapshot(archive, ignore=("last_seen_at",))
    _at(monkeypatch, LATER)
    report = do_import(archive, kind, EXPORTS[kind], tmp_path / "media")
    assert (report.new, report.updated) == (0, 0)
    assert snapshot(archive, ignore=("last_seen_at",)) == before
    assert {item["at"] for item in _imports(archive)} == {"2024-03-01T12:00:00+00:00"}


def test_new_posts_of_a_later_export_get_their_own_time(
    archive: Archive, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced = Post(platform="twitter", native_id="1598000000000000001", content_html="<p>x</p>")
    with archive.transaction():
        store_posts(archive, [synced], "twitter", FIRST)
    _at(monkeypatch, LATER)
    do_import(archive, "twitter", DATA / "twitter.zip", tmp_path / "media")
    # synced first, imported later: the import is that post's first import
    launch = json.loads(post(archive, "twitter", "1598000000000000001")["raw"])
    assert launch["import"]["at"] == "2024-09-01T08:30:00+00:00"


def test_every_version_of_an_edited_tweet_names_the_same_import(
    archive: Archive, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _at(monkeypatch, FIRST)
    do_import(archive, "twitter", DATA / "twitter.zip", tmp_path / "media")
    edited = post(archive, "twitter", "1598000000000000010")
    assert edited["versions"] == 2
    assert json.loads(edited["raw"])["import"]["at"] == "2024-03-01T12:00:00+00:00"


def test_packed_raw_reads_back_as_the_json_it_was(tmp_path: Path) -> None:
    packer = RawPacker()
    origin = {"kind": "twitter", "file": "a.zip", "entry": "data/tweets.js"}
    packed = [packer.pack(origin, {"tweet": {"id": str(n), "text": "ü" * n}}) for n in range(900)]
    for number in (0, 1, 450, 899):
        raw = json.loads(packed[number].unpack("2024-01-01T00:00:00+00:00"))
        assert raw == {
            "import": {**origin, "at": "2024-01-01T00:00:00+00:00"},
            "tweet": {"id": str(number), "text": "ü" * number},
        }
    assert isinstance(stamp_raw(packed[3], "t"), str)
    assert isinstance(packed[0], PackedRaw)
    shared = {"import": origin, "post": {}}
    stamped = stamp_raw(shared, "t")
    assert stamped["import"]["at"] == "t" and "at" not in shared["import"]  # a copy
