"""RedditSource against a local server answering with Reddit's listing and thread shapes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from ownfeed.models import post_id
from ownfeed.sources.reddit import RedditSource, parse_user
from ownfeed.sync import SyncReport
from tests.httpserver import Reply, Request, TestServer
from tests.sources.harness import query_rows, rows_by_native_id, sync_entry

DATA = Path(__file__).parent.parent / "data" / "reddit"


def load(name: str) -> Any:
    return json.loads((DATA / name).read_text(encoding="utf-8"))


class Reddit:
    """u/novosyx: two pages of submissions, one of comments, two threads, info for verify."""

    def __init__(self, server: TestServer) -> None:
        self.server = server
        self.pages = [load("submitted-1.json"), load("submitted-2.json")]
        self.threads = {"s5": load("thread-s5.json"), "s3": load("thread-s3.json")}
        self.limit_headers = {
            "x-ratelimit-used": "4",
            "x-ratelimit-remaining": "96.0",
            "x-ratelimit-reset": "312",
        }
        server.route("/user/novosyx/submitted.json", self.submitted)
        server.route("/user/novosyx/comments.json", lambda r: self.json(load("comments-1.json")))
        for key in self.threads:
            permalink = self.threads[key][0]["data"]["children"][0]["data"]["permalink"]
            server.route(
                permalink.rstrip("/") + ".json", lambda r, k=key: self.json(self.threads[k])
            )
        server.route("/api/morechildren.json", lambda r: self.json(load("morechildren.json")))
        server.route("/api/info.json", lambda r: self.json(load("info.json")))

    def json(self, data: Any, status: int = 200) -> Reply:
        return Reply(
            json.dumps(data), status, dict(self.limit_headers), content_type="application/json"
        )

    def submitted(self, request: Request) -> Reply:
        after = parse_qs(urlsplit(request.path).query).get("after")
        return self.json(self.pages[1] if after == ["t3_s4"] else self.pages[0])

    def paths(self) -> list[str]:
        return [urlsplit(r.path).path for r in self.server.requests]


@pytest.fixture
def reddit(server: TestServer) -> Reddit:
    return Reddit(server)


def sync(tmp_path: Path, server: TestServer, *, verify: bool = False, **options: Any) -> SyncReport:
    entry = {
        "name": "reddit",
        "type": "reddit",
        "account": "u/novosyx",
        "api_base": server.base_url,
        **options,
    }
    return sync_entry(tmp_path, entry, verify=verify)


def test_user_forms() -> None:
    for form in ("u/novosyx", "/u/novosyx", "novosyx", "https://www.reddit.com/user/novosyx/"):
        assert parse_user(form) == "novosyx"


def test_first_sync_gets_submissions_comments_and_threads(
    reddit: Reddit, server: TestServer, tmp_path: Path
) -> None:
    report = sync(tmp_path, server)
    assert report.status == "ok" and report.runs[0].error is None
    posts = rows_by_native_id(tmp_path)
    own = {k for k, v in posts.items() if v["is_own"]}
    assert own == {"t3_s5", "t3_s4", "t3_s3", "t3_s2", "t1_u1", "t1_u2", "t1_c2"}
    assert set(posts) == own | {"t1_c1", "t1_c3", "t1_c4", "t1_c5", "t1_c6", "t1_c7", "t1_c8"}
    s5 = posts["t3_s5"]
    assert s5["title"] == "Novosyx 4.0 is out" and s5["reply_count"] == 7
    assert s5["url"] == "https://www.reddit.com/r/novosyx/comments/s5/novosyx_4.0_is_out/"
    assert s5["content_text"] == "We shipped **4.0** today. AMA!"
    assert '<a href="https://novosyx.example/blog/4-0">' in posts["t3_s4"]["content_html"]
    assert posts["t1_c3"]["in_reply_to"] == post_id("reddit", "t1_c2")
    assert posts["t1_c3"]["thread_root"] == post_id("reddit", "t3_s5")
    assert posts["t1_c5"]["in_reply_to"] == post_id("reddit", "t1_c4")  # under the placeholder
    assert posts["t1_c4"]["content_html"] is None and posts["t1_c4"]["gone_reason"] == "deleted"
    assert posts["t1_c7"]["gone_reason"] == "removed"
    assert posts["t1_u2"]["updated_at"] == "2024-02-29T11:46:40+00:00"
    assert posts["t1_u2"]["in_reply_to_url"] is None
    media = {r["url"] for r in query_rows(tmp_path, "SELECT url FROM media")}
    assert "https://external-preview.redd.it/abc.jpg?width=1200&s=9f" in media
    assert "https://preview.redd.it/img1.jpg?width=2048&format=pjpg&s=11" in media
    tags = {r["tag"] for r in query_rows(tmp_path, "SELECT tag FROM post_tags")}
    assert {"r/selfhosted", "r/novosyx"} <= tags
    assert reddit.paths()[:3] == [
        "/user/novosyx/submitted.json",
        "/user/novosyx/submitted.json",
        "/user/novosyx/comments.json",
    ]
    assert sorted(reddit.paths()[3:]) == [  # threads are read concurrently
        "/api/morechildren.json",
        "/r/novosyx/comments/s3/roadmap_for_2024.json",
        "/r/novosyx/comments/s5/novosyx_4.0_is_out.json",
    ]
    agent = server.requests[0].headers["user-agent"]
    assert agent.startswith("python:ownfeed:") and "u/novosyx" in agent


def test_unchanged_resync_costs_two_requests(
    reddit: Reddit, server: TestServer, tmp_path: Path
) -> None:
    sync(tmp_path, server)
    server.requests.clear()
    report = sync(tmp_path, server)
    assert report.runs[0].counts.new == 0 and report.runs[0].counts.updated == 0
    assert reddit.paths() == ["/user/novosyx/submitted.json", "/user/novosyx/comments.json"]


def test_deleted_comment_is_gone_and_keeps_its_text(
    reddit: Reddit, server: TestServer, tmp_path: Path
) -> None:
    sync(tmp_path, server)
    thread = reddit.threads["s5"]
    c1 = thread[1]["data"]["children"][0]["data"]
    c1.update(author="[deleted]", body="[deleted]", body_html="<div>[deleted]</div>")
    thread[0]["data"]["children"][0]["data"]["num_comments"] = 8
    reddit.pages[0]["data"]["children"][0]["data"]["num_comments"] = 8
    report = sync(tmp_path, server)
    assert report.runs[0].counts.gone == 1
    c1_row = rows_by_native_id(tmp_path)["t1_c1"]
    assert (
        c1_row["content_text"] == "Congrats on the release!" and c1_row["gone_reason"] == "deleted"
    )
    assert c1_row["versions"] == 1


def test_rate_limit_headers_make_the_source_wait(
    reddit: Reddit, server: TestServer, tmp_path: Path, pauses: list[float]
) -> None:
    reddit.limit_headers.update({"x-ratelimit-remaining": "0.0", "x-ratelimit-reset": "7"})
    report = sync(tmp_path, server)
    assert report.status == "ok"
    assert pauses and all(6 <= w <= 7 for w in pauses)


def test_429_with_a_far_reset_is_one_clear_line(
    reddit: Reddit, server: TestServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(RedditSource, "max_rate_wait", 5.0)
    reddit.limit_headers.update({"x-ratelimit-remaining": "0", "x-ratelimit-reset": "540"})
    server.route("/user/novosyx/submitted.json", lambda r: reddit.json(load("error-429.json"), 429))
    report = sync(tmp_path, server)
    assert report.status == "failed"
    error = report.runs[0].error or ""
    assert "HTTP 429" in error and "540 s" in error and "\n" not in error


@pytest.mark.parametrize(
    ("status", "message"),
    [
        (403, "Reddit refused access (HTTP 403)"),
        (404, "Reddit user u/novosyx not found (HTTP 404)"),
    ],
)
def test_blocked_or_missing_user_is_one_clear_line(
    reddit: Reddit, server: TestServer, tmp_path: Path, status: int, message: str
) -> None:
    server.route(
        "/user/novosyx/submitted.json",
        lambda r: reddit.json(load(f"error-{status}.json"), status),
    )
    report = sync(tmp_path, server)
    assert report.status == "failed"
    assert message in (report.runs[0].error or "")


def test_a_failing_thread_is_a_warning_and_retried(
    reddit: Reddit, server: TestServer, tmp_path: Path
) -> None:
    path = "/r/novosyx/comments/s3/roadmap_for_2024.json"
    server.route(path, lambda r: reddit.json(load("error-403.json"), 403))
    report = sync(tmp_path, server)
    assert report.status == "ok" and "thread t3_s3" in (report.runs[0].error or "")
    server.route(path, lambda r: reddit.json(reddit.threads["s3"]))
    server.requests.clear()
    sync(tmp_path, server)
    assert path in reddit.paths()
    assert "t1_c8" in rows_by_native_id(tmp_path)


@pytest.mark.parametrize("permalink", ["@evil.example/r/x/", "]/r/x/", "//evil.example/r/x/"])
def test_a_permalink_that_is_no_path_is_a_warning_and_never_leaves_the_host(
    reddit: Reddit, server: TestServer, tmp_path: Path, permalink: str
) -> None:
    reddit.pages[0]["data"]["children"][0]["data"]["permalink"] = permalink
    report = sync(tmp_path, server)
    assert report.status == "ok"
    assert "not a Reddit permalink" in (report.runs[0].error or "")
    assert not [path for path in reddit.paths() if "evil" in path or "]" in path]


def test_verify_marks_missing_and_deleted_and_records_edits(
    reddit: Reddit, server: TestServer, tmp_path: Path
) -> None:
    sync(tmp_path, server)
    report = sync(tmp_path, server, verify=True)
    posts = rows_by_native_id(tmp_path)
    assert posts["t3_s2"]["gone_reason"] == "not found"
    assert posts["t1_c1"]["gone_reason"] == "deleted"
    assert posts["t1_c1"]["content_text"] == "Congrats on the release!"
    assert posts["t3_s5"]["versions"] == 2 and "18:00" in posts["t3_s5"]["content_text"]
    assert report.runs[0].counts.gone >= 2
    assert posts["t3_s4"]["gone_at"] is None
