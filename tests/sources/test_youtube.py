"""YouTubeSource against a local server: the channel feed, the Data API, comments, verify."""

from __future__ import annotations

import asyncio
import copy
import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from ownfeed.archive import Archive
from ownfeed.config import parse_config
from ownfeed.models import post_id
from ownfeed.sources.youtube import channel_id_in
from ownfeed.sync import SyncOptions, SyncReport, sync_archive
from tests.httpserver import Reply, Request, TestServer

DATA = Path(__file__).parent.parent / "data" / "youtube"
CHANNEL = "UCnovosyx0000000000000A1"
T1 = "UgzAenne0000000000000001"


def load(name: str) -> Any:
    return json.loads((DATA / name).read_text(encoding="utf-8"))


def as_json(data: Any, status: int = 200) -> Reply:
    return Reply(json.dumps(data), status, content_type="application/json; charset=UTF-8")


class YouTube:
    """The channel page, its feed, and the Data API resources the source uses."""

    def __init__(self, server: TestServer) -> None:
        self.server = server
        self.feed = (DATA / "videos.xml").read_bytes()
        self.stats = load("videos-statistics.json")
        self.threads = {
            "vidNEW00001": load("commentThreads-vidNEW00001.json"),
            "vidMID00002": load("commentThreads-vidMID00002.json"),
        }
        self.errors: dict[str, Any] = {}
        server.route(
            "/@novosyx", Reply((DATA / "channel-page.html").read_bytes(), content_type="text/html")
        )
        server.route(
            "/feeds/videos.xml", lambda r: Reply(self.feed, content_type="application/atom+xml")
        )
        server.route("/youtube/v3/playlistItems", self.playlist)
        server.route("/youtube/v3/channels", as_json(load("channels-forHandle.json")))
        server.route("/youtube/v3/videos", self.videos)
        server.route("/youtube/v3/commentThreads", self.comment_threads)
        server.route("/youtube/v3/comments", self.comments)
        server.route("/oembed", self.oembed)

    @staticmethod
    def query(request: Request) -> dict[str, str]:
        return {k: v[-1] for k, v in parse_qs(urlsplit(request.path).query).items()}

    def playlist(self, request: Request) -> Reply:
        query = self.query(request)
        assert query["key"] == "test-key" and query["playlistId"] == "UU" + CHANNEL[2:]
        return as_json(
            load("playlistItems-2.json" if query.get("pageToken") else "playlistItems-1.json")
        )

    def videos(self, request: Request) -> Reply:
        ids = self.query(request)["id"].split(",")
        body = copy.deepcopy(self.stats)
        body["items"] = [item for item in body["items"] if item["id"] in ids]
        return as_json(body)

    def comment_threads(self, request: Request) -> Reply:
        video = self.query(request)["videoId"]
        if video in self.errors:
            return as_json(self.errors[video], self.errors[video]["error"]["code"])
        return as_json(self.threads.get(video, {"items": []}))

    def comments(self, request: Request) -> Reply:
        query = self.query(request)
        if "parentId" in query:
            return as_json(load(f"comments-{query['parentId']}.json"))
        ids = query["id"].split(",")
        known = {T1, T1 + ".9xNovosyxReply1", T1 + ".9xAenneReply2"}
        return as_json({"items": [{"kind": "youtube#comment", "id": i} for i in ids if i in known]})

    def oembed(self, request: Request) -> Reply:
        if "vidOLD00003" in request.path:
            return Reply("Not Found", 404)
        return as_json({"type": "video", "title": "x"})

    def api_paths(self) -> list[str]:
        return [urlsplit(r.path).path for r in self.server.requests]


def sync(tmp_path: Path, server: TestServer, *, verify: bool = False, **options: Any) -> SyncReport:
    entry = {
        "name": "yt",
        "type": "youtube",
        "url": "https://www.youtube.com/@novosyx",
        "web_base": server.base_url,
        "api_base": server.url("/youtube/v3"),
        **options,
    }
    config = parse_config(
        {"archive": str(tmp_path / "a.db"), "sources": [entry]}, tmp_path / "o.toml"
    )
    with Archive(config.archive) as archive:
        return asyncio.run(sync_archive(config, archive, SyncOptions(media=False, verify=verify)))


def rows(tmp_path: Path, sql: str, *args: Any) -> list[dict[str, Any]]:
    with Archive(tmp_path / "a.db") as archive:
        return [dict(r) for r in archive.query(sql, args)]


@pytest.fixture
def youtube(server: TestServer) -> YouTube:
    return YouTube(server)


@pytest.fixture
def key(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.setenv("YT_KEY", "test-key")
    return {"api_key_env": "YT_KEY"}


def test_channel_ids_in_urls() -> None:
    assert channel_id_in(f"https://www.youtube.com/channel/{CHANNEL}/videos") == CHANNEL
    assert channel_id_in(CHANNEL) == CHANNEL
    assert channel_id_in("https://www.youtube.com/@novosyx") is None


def test_without_key_videos_come_from_the_feed_and_comments_are_mentioned_once(
    youtube: YouTube, server: TestServer, tmp_path: Path
) -> None:
    first = sync(tmp_path, server)
    assert first.status == "ok"
    assert "comments need a Data API key" in (first.runs[0].error or "")
    videos = rows(tmp_path, "SELECT * FROM posts ORDER BY published_at DESC")
    assert [v["native_id"] for v in videos] == ["vidNEW00001", "vidMID00002", "vidOLD00003"]
    new = videos[0]
    assert new["title"] == "Novosyx 4.0 – what is new"
    assert new["platform"] == "youtube" and new["is_own"] == 1
    assert new["url"] == "https://www.youtube.com/watch?v=vidNEW00001"
    assert "<br>00:00 Intro" in new["content_html"]
    assert '<a href="https://novosyx.example/docs/4.0">' in new["content_html"]
    assert json.loads(new["raw"])["views"] == 1234 and new["like_count"] == 42
    media = rows(
        tmp_path,
        "SELECT url, width FROM media WHERE post_id = ?",
        post_id("youtube", "vidNEW00001"),
    )
    assert media == [{"url": "https://i1.ytimg.com/vi/vidNEW00001/hqdefault.jpg", "width": 480}]
    assert youtube.api_paths() == ["/@novosyx", "/feeds/videos.xml"]
    server.requests.clear()
    second = sync(tmp_path, server)
    assert second.runs[0].error is None  # said once
    assert second.runs[0].counts.new == 0 and second.runs[0].counts.updated == 0
    assert youtube.api_paths() == ["/feeds/videos.xml"]  # unchanged re-sync: one request


def test_with_key_history_counts_and_threaded_comments(
    youtube: YouTube, server: TestServer, tmp_path: Path, key: dict[str, str]
) -> None:
    report = sync(tmp_path, server, **key)
    assert report.status == "ok" and report.runs[0].error is None
    videos = rows(tmp_path, "SELECT native_id, reply_count FROM posts WHERE kind = 'post'")
    assert {v["native_id"] for v in videos} == {
        "vidNEW00001",
        "vidMID00002",
        "vidOLD00003",
        "vidOLD00004",
        "vidOLD00005",
    }  # the private playlist item is skipped
    comments = {
        r["native_id"]: r for r in rows(tmp_path, "SELECT * FROM posts WHERE kind = 'reply'")
    }
    assert set(comments) == {
        T1,
        T1 + ".9xNovosyxReply1",
        T1 + ".9xAenneReply2",
        "UgzBernd0000000000000002",
        "UgzCarla0000000000000003",
    }
    answer = comments[T1 + ".9xNovosyxReply1"]
    assert answer["in_reply_to"] == post_id("youtube", T1)
    assert answer["thread_root"] == post_id("youtube", "vidNEW00001")
    assert answer["is_own"] == 1 and comments[T1]["is_own"] == 0
    assert comments[T1]["in_reply_to"] == post_id("youtube", "vidNEW00001")
    assert comments["UgzBernd0000000000000002"]["updated_at"] == "2024-03-02T09:05:00+00:00"
    assert youtube.api_paths()[:5] == [
        "/youtube/v3/channels",  # forHandle: one quota unit, once
        "/feeds/videos.xml",
        "/youtube/v3/playlistItems",
        "/youtube/v3/playlistItems",
        "/youtube/v3/videos",
    ]
    assert sorted(youtube.api_paths()[5:]) == [
        "/youtube/v3/commentThreads",
        "/youtube/v3/commentThreads",
        "/youtube/v3/comments",  # the thread with more replies than the 1 embedded
    ]
    assert youtube.api_paths().count("/youtube/v3/commentThreads") == 2  # videos with comments
    # unchanged re-sync: the feed and one statistics request
    server.requests.clear()
    again = sync(tmp_path, server, **key)
    assert again.runs[0].counts.new == 0 and again.runs[0].counts.updated == 0
    assert youtube.api_paths() == ["/feeds/videos.xml", "/youtube/v3/videos"]


def test_changed_comment_count_rereads_that_video_only(
    youtube: YouTube, server: TestServer, tmp_path: Path, key: dict[str, str]
) -> None:
    sync(tmp_path, server, **key)
    youtube.stats["items"][1]["statistics"]["commentCount"] = "2"
    youtube.threads["vidMID00002"]["items"][0]["snippet"]["topLevelComment"]["snippet"][
        "textDisplay"
    ] = "Danke für den Vortrag! (edited)"
    server.requests.clear()
    report = sync(tmp_path, server, **key)
    assert report.runs[0].counts.updated == 1  # the edited comment (a count alone is no update)
    calls = [r.path for r in server.requests if "commentThreads" in r.path]
    assert len(calls) == 1 and "videoId=vidMID00002" in calls[0]
    edited = rows(
        tmp_path, "SELECT versions FROM posts WHERE native_id = 'UgzCarla0000000000000003'"
    )
    assert edited == [{"versions": 2}]


def test_quota_exhausted_leaves_threads_for_the_next_sync(
    youtube: YouTube, server: TestServer, tmp_path: Path, key: dict[str, str]
) -> None:
    youtube.errors["vidNEW00001"] = load("error-quotaExceeded.json")
    youtube.errors["vidMID00002"] = load("error-commentsDisabled.json")
    report = sync(tmp_path, server, **key)
    assert report.status == "ok"
    assert "daily quota is used up" in (report.runs[0].error or "")
    assert "comments are turned off" not in (report.runs[0].error or "")
    youtube.errors.clear()
    server.requests.clear()
    sync(tmp_path, server, **key)
    calls = [r.path for r in server.requests if "commentThreads" in r.path]
    assert any("vidNEW00001" in c for c in calls)
    # vidNEW00001's four comments; vidMID00002 had comments off and its count did not change
    assert rows(tmp_path, "SELECT count(*) AS n FROM posts WHERE kind = 'reply'")[0]["n"] == 4


def test_bad_key_is_a_clear_warning(
    youtube: YouTube, server: TestServer, tmp_path: Path, key: dict[str, str]
) -> None:
    server.route("/youtube/v3/playlistItems", as_json(load("error-keyInvalid.json"), 400))
    server.route("/youtube/v3/videos", as_json(load("error-keyInvalid.json"), 400))
    server.route("/youtube/v3/commentThreads", as_json(load("error-keyInvalid.json"), 400))
    report = sync(tmp_path, server, **key)
    assert report.status == "ok"  # videos from the feed still land
    assert "the API key was refused" in (report.runs[0].error or "")
    assert len(rows(tmp_path, "SELECT id FROM posts")) == 3


def test_missing_channel_is_one_line(server: TestServer, tmp_path: Path) -> None:
    report = sync(tmp_path, server, url=f"https://www.youtube.com/channel/{CHANNEL}")
    assert report.status == "failed"
    assert report.runs[0].error == f"YouTube channel {CHANNEL} not found (HTTP 404)"


def test_verify_with_key_asks_the_api(
    youtube: YouTube, server: TestServer, tmp_path: Path, key: dict[str, str]
) -> None:
    sync(tmp_path, server, **key)
    youtube.stats["items"] = [i for i in youtube.stats["items"] if i["id"] != "vidOLD00004"]
    report = sync(tmp_path, server, verify=True, **key)
    gone = rows(tmp_path, "SELECT native_id FROM posts WHERE gone_at IS NOT NULL")
    assert {r["native_id"] for r in gone} == {
        "vidOLD00004",
        "UgzBernd0000000000000002",
        "UgzCarla0000000000000003",
    }
    assert report.runs[0].counts.gone == 3


def test_verify_without_key_asks_oembed(
    youtube: YouTube, server: TestServer, tmp_path: Path
) -> None:
    sync(tmp_path, server)
    report = sync(tmp_path, server, verify=True)
    gone = rows(tmp_path, "SELECT native_id FROM posts WHERE gone_at IS NOT NULL")
    assert gone == [{"native_id": "vidOLD00003"}] and report.runs[0].counts.gone == 1


def test_entity_declarations_in_the_channel_feed_are_refused(
    youtube: YouTube, server: TestServer, tmp_path: Path
) -> None:
    youtube.feed = b"""<?xml version="1.0"?>
<!DOCTYPE feed [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>
<feed xmlns="http://www.w3.org/2005/Atom"><title>&b;</title></feed>"""
    report = sync(tmp_path, server, url=f"https://www.youtube.com/channel/{CHANNEL}")
    assert report.status == "failed"
    assert report.runs[0].error == (
        f"channel feed of {CHANNEL}: not a feed: XML entity declarations are refused (entity bomb?)"
    )
    assert rows(tmp_path, "SELECT id FROM posts") == []


def test_feed_entry_without_update_time_is_not_called_edited() -> None:
    """feedparser answers a missing `updated_parsed` with `published_parsed` (and a
    DeprecationWarning); the mapper must not take that for an edit time. Parsed feeds always
    carry the key (None when unreadable); an entry built by hand, as the property tests
    build them, need not."""
    import time
    import warnings

    import feedparser

    from ownfeed.sources.youtube import map_feed_entry

    entry = feedparser.FeedParserDict(
        id="yt:video:vidNEW00001",
        yt_videoid="vidNEW00001",
        title="A video",
        published="2026-01-02T03:04:05+00:00",
        published_parsed=time.struct_time((2026, 1, 2, 3, 4, 5, 4, 2, 0)),
        updated="not a date",
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        post = map_feed_entry(entry, CHANNEL)
    assert post is not None and post.published_at is not None
    assert post.updated_at is None
