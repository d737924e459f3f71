"""ActivityPubSource against a local server: a Mastodon-style actor and a PeerTube account."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from ownfeed.models import post_id
from ownfeed.sync import SyncReport
from tests.httpserver import Reply, TestServer
from tests.sources.harness import query_rows, rows_by_native_id, sync_entry

DATA = Path(__file__).parent.parent / "data" / "activitypub"
AP = "application/activity+json; charset=utf-8"


class Fediverse:
    """Fixtures served where their ids point (social.example and other.example mapped here)."""

    def __init__(self, server: TestServer) -> None:
        self.server = server
        self.base = server.base_url
        self.objects: dict[str, Any] = {}
        for name in sorted(p.name for p in DATA.glob("*.json")):
            data = self.load(name)
            if name == "webfinger.json":
                server.route(
                    "/.well-known/webfinger",
                    Reply(json.dumps(data), content_type="application/jrd+json"),
                )
            elif isinstance(data, dict) and isinstance(data.get("id"), str):
                self.put(data)
                for item in [*data.get("orderedItems", ()), *data.get("items", ())]:
                    if not isinstance(item, dict):  # embedded objects have their URLs too
                        continue
                    if isinstance(item.get("object"), dict):
                        self.put(item["object"])
                    if item.get("type") in ("Announce", "Note"):
                        self.put(item)
        self.refuse(self.url("other", "/users/locked/statuses/902"), 404)

    def load(self, name: str) -> Any:
        text = (DATA / name).read_text(encoding="utf-8")
        text = text.replace("https://other.example", self.base + "/_other")
        return json.loads(text.replace("https://social.example", self.base))

    def url(self, host: str, path: str) -> str:
        return self.base + ("/_other" if host == "other" else "") + path

    def put(self, data: dict[str, Any]) -> None:
        self.objects[data["id"]] = data
        parts = urlsplit(data["id"])
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        self.server.route(
            path, lambda r, i=data["id"]: Reply(json.dumps(self.objects[i]), content_type=AP)
        )

    def refuse(self, url: str, status: int) -> None:
        parts = urlsplit(url)
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        self.server.route(
            path,
            Reply(
                json.dumps({"error": "Request not signed"}), status, content_type="application/json"
            ),
        )

    def paths(self) -> list[str]:
        return [r.path for r in self.server.requests]


@pytest.fixture
def fedi(server: TestServer) -> Fediverse:
    return Fediverse(server)


def sync(tmp_path: Path, server: TestServer, *, verify: bool = False, **options: Any) -> SyncReport:
    entry = {
        "name": "fedi",
        "type": "activitypub",
        "account": "@novosyx@social.example",
        "instance": server.base_url,
        **options,
    }
    return sync_entry(tmp_path, entry, verify=verify)


def test_outbox_pages_boosts_and_replies_collections(
    fedi: Fediverse, server: TestServer, tmp_path: Path
) -> None:
    report = sync(tmp_path, server)
    assert report.status == "ok" and report.runs[0].error is None
    me = fedi.url("social", "/users/novosyx/statuses/")
    posts = rows_by_native_id(tmp_path)
    own = {k for k, v in posts.items() if v["is_own"]}
    assert own == {me + n for n in ("105", "103", "102", "101", "107")} | {me + "104/activity"}
    n5 = posts[me + "105"]
    assert n5["platform"] == "activitypub" and n5["like_count"] == 4 and n5["repost_count"] == 1
    assert n5["url"] == fedi.url("social", "/@novosyx/105") and n5["language"] == "en"
    assert posts[me + "103"]["title"] == "Lots of photos"  # the content warning
    boost = posts[me + "104/activity"]
    lena = fedi.url("other", "/users/lena/statuses/900")
    assert boost["kind"] == "repost" and boost["repost_of"] == post_id("activitypub", lena)
    assert posts[lena]["is_own"] == 0
    aenne = fedi.url("other", "/users/aenne/statuses/901")
    bernd = fedi.url("social", "/users/bernd/statuses/106")
    assert posts[aenne]["in_reply_to"] == post_id("activitypub", me + "105")
    assert posts[me + "107"]["in_reply_to"] == post_id("activitypub", bernd)  # two levels down
    assert posts[me + "107"]["thread_root"] == post_id("activitypub", me + "105")
    assert posts[me + "101"]["updated_at"] == "2022-11-02T10:05:00+00:00"
    media = query_rows(tmp_path, "SELECT alt, width FROM media")
    tags = [r["tag"] for r in query_rows(tmp_path, "SELECT tag FROM post_tags")]
    assert media == [{"alt": "Six people at a lake", "width": 1600}]
    assert tags == ["team"]
    accept = server.requests[1].headers["accept"]
    assert accept.startswith("application/activity+json")


def test_unchanged_resync_reads_the_newest_outbox_page_only(
    fedi: Fediverse, server: TestServer, tmp_path: Path
) -> None:
    sync(tmp_path, server)
    server.requests.clear()
    report = sync(tmp_path, server)
    assert report.runs[0].counts.new == 0 and report.runs[0].counts.updated == 0
    assert fedi.paths() == ["/users/novosyx/outbox", "/users/novosyx/outbox?page=true"]


def test_edits_and_new_replies_on_a_recent_post(
    fedi: Fediverse, server: TestServer, tmp_path: Path
) -> None:
    sync(tmp_path, server)
    me = fedi.url("social", "/users/novosyx/statuses/")
    page = fedi.objects[fedi.url("social", "/users/novosyx/outbox?page=true")]
    note = page["orderedItems"][0]["object"]
    note["content"] = note["contentMap"]["en"] = "<p>Novosyx 4.0 is out (now with SSO)!</p>"
    note["updated"] = "2024-03-12T18:00:00Z"
    note["replies"]["totalItems"] = 4  # a changed count makes the thread worth a read
    others = fedi.objects[me + "105/replies?only_other_accounts=true&page=true"]
    late = dict(fedi.objects[fedi.url("other", "/users/aenne/statuses/901")])
    late["id"] = fedi.url("other", "/users/aenne/statuses/950")
    late["content"] = "<p>Late but happy</p>"
    fedi.put(late)
    others["items"].append(late["id"])
    report = sync(tmp_path, server)
    assert report.runs[0].counts.new == 1 and report.runs[0].counts.updated == 1
    posts = rows_by_native_id(tmp_path)
    assert posts[me + "105"]["versions"] == 2
    assert posts[late["id"]]["in_reply_to"] == post_id("activitypub", me + "105")


def test_a_remote_reply_behind_signed_fetch_is_a_warning(
    fedi: Fediverse, server: TestServer, tmp_path: Path
) -> None:
    fedi.refuse(fedi.url("other", "/users/locked/statuses/902"), 401)
    report = sync(tmp_path, server)
    assert report.status == "ok"
    assert "1 object(s) or replies could not be read" in (report.runs[0].error or "")
    assert "requires signed requests" in (report.runs[0].error or "")


def test_signed_fetch_outbox_is_one_clear_error(
    fedi: Fediverse, server: TestServer, tmp_path: Path
) -> None:
    fedi.refuse(fedi.url("social", "/users/novosyx/outbox"), 401)
    report = sync(tmp_path, server)
    assert report.status == "failed"
    error = report.runs[0].error or ""
    assert "requires signed requests for the outbox (HTTP 401" in error
    assert 'type = "mastodon"' in error and "\n" not in error


def test_unknown_account_is_one_line(fedi: Fediverse, server: TestServer, tmp_path: Path) -> None:
    server.route("/.well-known/webfinger", Reply("{}", 404, content_type="application/jrd+json"))
    report = sync(tmp_path, server)
    assert report.runs[0].error == "account @novosyx@social.example not found (WebFinger HTTP 404)"


def test_peertube_account_by_actor_url(fedi: Fediverse, server: TestServer, tmp_path: Path) -> None:
    report = sync(tmp_path, server, account=server.url("/accounts/novosyx"))
    assert report.status == "ok", report.runs[0].error
    posts = rows_by_native_id(tmp_path)
    video = fedi.url("social", "/videos/watch/6c4e8a2b-0d5f-4f47-9c1e-2f1c8a7e3b11")
    row = posts[video]
    assert row["title"] == "Novosyx 4.0 walkthrough" and row["is_own"] == 1
    assert row["url"] == fedi.url("social", "/w/dGdEn1VGBwXVdHvJmM6Hms")
    assert row["content_text"].startswith("A tour of **Novosyx 4.0**.")
    first, answer = video + "/comments/41", video + "/comments/42"
    assert posts[first]["in_reply_to"] == post_id("activitypub", video)
    assert posts[answer]["in_reply_to"] == post_id("activitypub", first)
    assert posts[answer]["is_own"] == 1 and posts[first]["is_own"] == 0
    assert posts[answer]["thread_root"] == post_id("activitypub", video)
    media = query_rows(tmp_path, "SELECT url, width FROM media")
    assert media == [{"url": fedi.url("social", "/lazy-static/previews/6c4e.jpg"), "width": 850}]


def test_verify_marks_deleted_objects_gone(
    fedi: Fediverse, server: TestServer, tmp_path: Path
) -> None:
    sync(tmp_path, server)
    me = fedi.url("social", "/users/novosyx/statuses/")
    fedi.refuse(me + "101", 410)
    fedi.objects[me + "102"] = {"id": me + "102", "type": "Tombstone"}
    report = sync(tmp_path, server, verify=True)
    posts = rows_by_native_id(tmp_path)
    assert posts[me + "101"]["gone_reason"] == "deleted upstream"
    assert posts[me + "102"]["gone_reason"] == "deleted upstream"
    assert posts[me + "105"]["gone_at"] is None
    assert report.runs[0].counts.gone == 2


def test_rate_limit_headers_pause_before_the_next_request(
    fedi: Fediverse, server: TestServer, tmp_path: Path, pauses: list[float]
) -> None:
    outbox = fedi.objects[fedi.url("social", "/users/novosyx/outbox")]
    server.route(
        "/users/novosyx/outbox",
        Reply(
            json.dumps(outbox),
            headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": "3"},
            content_type=AP,
        ),
    )
    report = sync(tmp_path, server)
    assert report.status == "ok"
    assert pauses and 2 <= pauses[0] <= 3
