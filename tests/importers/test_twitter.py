"""The X/Twitter archive: tweets, replies, retweets, edits, deletions and media."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest

from ownfeed.archive import Archive
from ownfeed.errors import ParseError
from tests.importers import DATA, do_import, import_error, pairs, post, rebuild_zip, snapshot

ZIP = DATA / "twitter.zip"


def test_imports_every_tweet_with_its_kind(archive: Archive, tmp_path: Path) -> None:
    report = do_import(archive, "twitter", ZIP, tmp_path / "media")
    assert (report.new, report.updated, report.unchanged) == (8, 0, 0)
    assert report.source == "twitter-import"
    kinds = pairs(archive, "SELECT native_id, kind FROM posts WHERE platform = 'twitter'")
    assert kinds == {
        "1598000000000000001": "post",
        "1598000000000000002": "reply",
        "1598000000000000021": "reply",
        "1598000000000000003": "reply",
        "1598000000000000004": "repost",
        "1598000000000000010": "post",
        "1598000000000000020": "post",
        "1598000000000000030": "post",
    }
    row = archive.one("SELECT type, locator FROM sources WHERE name = 'twitter-import'")
    assert row is not None and tuple(row) == ("import", "novosyx")


def test_links_are_expanded_and_hashtags_become_tags(archive: Archive, tmp_path: Path) -> None:
    do_import(archive, "twitter", ZIP, tmp_path / "media")
    launch = post(archive, "twitter", "1598000000000000001")
    assert launch["content_text"] == (
        "We launch today & we are proud #opensource https://novosyx.example/blog/launch"
    )
    assert '<a href="https://novosyx.example/blog/launch">' in launch["content_html"]
    assert "t.co" not in launch["content_html"]
    assert launch["url"] == "https://twitter.com/novosyx/status/1598000000000000001"
    assert launch["published_at"] == "2022-12-01T10:00:00+00:00"
    assert (launch["like_count"], launch["repost_count"], launch["language"]) == (12, 3, "en")
    tags = archive.query("SELECT tag FROM post_tags WHERE post_id = ?", (launch["id"],))
    assert [t[0] for t in tags] == ["opensource"]
    author = archive.one("SELECT * FROM authors WHERE id = ?", (launch["author_id"],))
    assert author is not None
    assert (author["handle"], author["name"]) == ("novosyx", "Novosyx")


def test_replies_point_at_their_parents_and_self_threads_share_a_root(
    archive: Archive, tmp_path: Path
) -> None:
    do_import(archive, "twitter", ZIP, tmp_path / "media")
    top = post(archive, "twitter", "1598000000000000001")
    second = post(archive, "twitter", "1598000000000000002")
    third = post(archive, "twitter", "1598000000000000021")
    assert second["in_reply_to"] == top["id"]
    assert third["in_reply_to"] == second["id"]
    assert top["thread_root"] == second["thread_root"] == third["thread_root"] == top["id"]
    answer = post(archive, "twitter", "1598000000000000003")
    assert answer["in_reply_to"] is None  # the partner's tweet is not in our archive
    assert answer["in_reply_to_url"] == "https://twitter.com/partner/status/1597000000000000999"
    assert answer["thread_root"] == answer["id"]


def test_an_edit_chain_is_one_post_with_versions(archive: Archive, tmp_path: Path) -> None:
    report = do_import(archive, "twitter", ZIP, tmp_path / "media")
    assert report.versions == 1
    assert archive.one("SELECT 1 FROM posts WHERE native_id = '1598000000000000011'") is None
    edited = post(archive, "twitter", "1598000000000000010")
    assert edited["content_text"] == "Our office opens Monday"
    assert edited["versions"] == 2
    assert edited["published_at"] == "2022-12-03T10:00:00+00:00"
    assert edited["updated_at"] == "2022-12-03T10:02:00+00:00"
    texts = archive.query(
        "SELECT content_html FROM post_versions WHERE post_id = ? ORDER BY version",
        (edited["id"],),
    )
    assert ["opns" in r[0] for r in texts] == [True, False]


def test_deleted_tweets_are_imported_and_marked_gone(archive: Archive, tmp_path: Path) -> None:
    report = do_import(archive, "twitter", ZIP, tmp_path / "media")
    assert report.gone == 1
    deleted = post(archive, "twitter", "1598000000000000030")
    assert deleted["gone_at"] == "2022-12-05T09:10:00+00:00"
    assert deleted["gone_reason"]
    assert post(archive, "twitter", "1598000000000000001")["gone_at"] is None


def test_media_files_are_copied_by_sha256(archive: Archive, tmp_path: Path) -> None:
    report = do_import(archive, "twitter", ZIP, tmp_path / "media")
    assert report.media_copied == 1
    photo = post(archive, "twitter", "1598000000000000020")
    assert photo["content_text"] == "The new office"  # the t.co link of the photo is dropped
    row = archive.one("SELECT * FROM media WHERE post_id = ?", (photo["id"],))
    assert row is not None
    data = b"\xff\xd8\xff\xe0fake-jpeg-office"
    assert row["url"] == "https://pbs.twimg.com/media/FjOffice01.jpg"
    assert row["sha256"] == hashlib.sha256(data).hexdigest()
    assert row["local_path"] == f"{row['sha256'][:2]}/{row['sha256']}.jpg"
    assert (tmp_path / "media" / row["local_path"]).read_bytes() == data
    assert row["alt"] == "Desks by a window"


def test_reimport_changes_nothing(archive: Archive, tmp_path: Path) -> None:
    do_import(archive, "twitter", ZIP, tmp_path / "media")
    before = snapshot(archive, ignore=("last_seen_at",))
    report = do_import(archive, "twitter", ZIP, tmp_path / "media")
    assert (report.new, report.updated, report.unchanged, report.gone) == (0, 0, 8, 0)
    assert (report.versions, report.media_copied) == (0, 0)
    assert snapshot(archive, ignore=("last_seen_at",)) == before


def _tweets(path: Path) -> list[dict]:
    import zipfile

    with zipfile.ZipFile(path) as archive:
        body = archive.read("data/tweets.js").decode()
    return json.loads(body.split("=", 1)[1])


def _js(name: str, items: list[dict]) -> bytes:
    return f"window.YTD.{name}.part0 = {json.dumps(items)}".encode()


def test_a_newer_export_adds_new_tweets_and_edits_as_versions(
    archive: Archive, tmp_path: Path
) -> None:
    items = _tweets(ZIP)
    without_edit = [i for i in items if i["tweet"]["id_str"] != "1598000000000000011"]
    older = rebuild_zip(
        ZIP, tmp_path / "older.zip", {"data/tweets.js": _js("tweets", without_edit)}
    )
    first = do_import(archive, "twitter", older, tmp_path / "media")
    assert first.new == 8
    assert (
        post(archive, "twitter", "1598000000000000010")["content_text"] == "Our office opns Monday"
    )
    second = do_import(archive, "twitter", ZIP, tmp_path / "media")
    assert (second.new, second.updated, second.unchanged) == (0, 1, 7)
    edited = post(archive, "twitter", "1598000000000000010")
    assert (edited["versions"], edited["content_text"]) == (2, "Our office opens Monday")


def test_older_archive_layout_in_a_folder(archive: Archive, tmp_path: Path) -> None:
    """2019-2022 archives: data/tweet.js, `YTD.tweet`, tweets not wrapped in {"tweet": …}."""
    items = [i["tweet"] for i in _tweets(ZIP)]
    root = tmp_path / "twitter-2020-01-01-abc" / "data"
    root.mkdir(parents=True)
    (root / "tweet.js").write_bytes(_js("tweet", items[:4]))
    (root / "tweet-part1.js").write_bytes(_js("tweet_part1", items[4:]))
    report = do_import(archive, "twitter", tmp_path / "twitter-2020-01-01-abc", tmp_path / "m")
    assert report.new == 7
    assert post(archive, "twitter", "1598000000000000001")["url"].startswith(
        "https://twitter.com/i/web/status/"
    )  # no account.js: the tweet URL works without the user name


def test_the_configured_account_names_the_user(archive: Archive, tmp_path: Path) -> None:
    archive.conn.execute(
        "INSERT INTO sources (name, type, locator) VALUES ('x', 'import', '@novosyx')"
    )
    folder = tmp_path / "export" / "data"
    folder.mkdir(parents=True)
    (folder / "tweets.js").write_bytes(_js("tweets", _tweets(ZIP)[:1]))
    do_import(archive, "twitter", tmp_path / "export", tmp_path / "m", source="x")
    row = post(archive, "twitter", "1598000000000000020")
    assert row["url"] == "https://twitter.com/novosyx/status/1598000000000000020"
    assert row["source"] == "x"


@pytest.mark.parametrize(
    ("member", "data", "expected"),
    [
        (
            "data/tweets.js",
            b'window.YTD.tweets.part0 = [{\n  "tweet": {',
            "data/tweets.js: invalid JSON at line 2",
        ),
        ("data/tweets.js", b"var x = [];", "expected 'window.YTD"),
        (
            "data/tweets.js",
            _js("tweets", [{"tweet": {"full_text": "no id"}}]),
            "entry 0: no tweet id",
        ),
        (
            "data/tweets.js",
            _js("tweets", [{"tweet": {"id_str": "1", "created_at": "yesterday"}}]),
            "entry 0 (tweet 1): bad created_at",
        ),
        ("data/deleted-tweets.js", b"window.YTD.deleted_tweets.part0 = {}", "expected a list"),
    ],
)
def test_broken_files_name_the_file_and_entry(
    archive: Archive, tmp_path: Path, member: str, data: bytes, expected: str
) -> None:
    broken = rebuild_zip(ZIP, tmp_path / "broken.zip", {member: data})
    message = import_error(archive, "twitter", broken, tmp_path)
    assert expected in message
    assert message.startswith("broken.zip:")


def test_a_zip_without_tweets_is_not_an_archive(archive: Archive, tmp_path: Path) -> None:
    other = rebuild_zip(DATA / "mastodon.zip", tmp_path / "other.zip")
    with pytest.raises(ParseError, match=r"no data/tweets\.js"):
        do_import(archive, "twitter", other, tmp_path / "media")


def test_large_files_are_read_a_window_at_a_time(
    archive: Archive, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Tiny windows: elements, multi-byte characters and errors cross window borders."""
    from ownfeed.importers import ytd

    monkeypatch.setattr(ytd, "WINDOW", 7)
    items = _tweets(ZIP)
    items[0]["tweet"]["full_text"] = "Grüße 😊 aus Köln — ☕"
    changed = rebuild_zip(ZIP, tmp_path / "small.zip", {"data/tweets.js": _js("tweets", items)})
    report = do_import(archive, "twitter", changed, tmp_path / "media")
    assert (report.new, report.gone, report.versions, report.media_copied) == (8, 1, 1, 1)
    photo = post(archive, "twitter", "1598000000000000020")
    assert photo["content_text"] == "Grüße 😊 aus Köln — ☕"
    body = b"window.YTD.tweets.part0 = [\n" + json.dumps(items[0]).encode() + b",\n  {oops}\n]"
    broken = rebuild_zip(ZIP, tmp_path / "broken.zip", {"data/tweets.js": body})
    with pytest.raises(ParseError, match=r"tweets\.js: invalid JSON at line 3 column 4"):
        do_import(archive, "twitter", broken, tmp_path / "media")
