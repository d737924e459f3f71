"""GitHubSource against a local server: releases.atom, the REST API, users' repositories."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from ownfeed.archive import Archive
from ownfeed.config import parse_config
from ownfeed.sources.github import GitHubSource, parse_target
from ownfeed.sync import SyncOptions, SyncReport, sync_archive
from tests.httpserver import Reply, Request, TestServer

DATA = Path(__file__).parent.parent / "data" / "github"
V4 = "https://github.com/novosyx/novosyx/releases/tag/v4.0.0"


def load(name: str) -> Any:
    return json.loads((DATA / name).read_text(encoding="utf-8"))


class GitHub:
    """github.com (feeds) and api.github.com (REST) on one local server."""

    def __init__(self, server: TestServer) -> None:
        self.server = server
        self.pages = [load("releases-1.json"), load("releases-2.json")]
        self.limit = {
            "x-ratelimit-limit": "60",
            "x-ratelimit-remaining": "59",
            "x-ratelimit-used": "1",
        }
        self.atom = (DATA / "releases.atom").read_bytes()
        server.route("/novosyx/novosyx/releases.atom", self.feed)
        server.route(
            "/novosyx/sdk-python/releases.atom",
            Reply((DATA / "sdk-releases.atom").read_bytes(), content_type="application/atom+xml"),
        )
        server.route("/api/repos/novosyx/novosyx/releases", self.releases)
        server.route(
            "/api/repos/novosyx/sdk-python/releases", lambda r: self.json(load("sdk-releases.json"))
        )
        server.route(
            "/api/users/novosyx/repos",
            lambda r: self.json(load("repos.json"), etag='"r1"', request=r),
        )
        server.route(
            "/api/repos/novosyx/novosyx/releases/tags/v3.0.0",
            lambda r: self.json(load("error-not-found.json"), 404),
        )
        server.route(
            "/api/repos/novosyx/novosyx/releases/tags/v4.0.0", lambda r: self.json(self.pages[0][0])
        )

    def json(
        self, data: Any, status: int = 200, etag: str | None = None, request: Request | None = None
    ) -> Reply:
        headers = {**self.limit, "x-ratelimit-reset": str(int(time.time()) + 1800)}
        if etag:
            headers["ETag"] = etag
            if request is not None and request.headers.get("if-none-match") == etag:
                return Reply(b"", 304, headers)
        return Reply(
            json.dumps(data), status, headers, content_type="application/json; charset=utf-8"
        )

    def feed(self, request: Request) -> Reply:
        if request.headers.get("if-none-match") == '"a1"':
            return Reply(b"", 304, {"ETag": '"a1"'})
        return Reply(
            self.atom, headers={"ETag": '"a1"'}, content_type="application/atom+xml; charset=utf-8"
        )

    def releases(self, request: Request) -> Reply:
        page = int(parse_qs(urlsplit(request.path).query).get("page", ["1"])[0])
        reply = self.json(
            self.pages[page - 1], etag=f'"p{page}-{len(json.dumps(self.pages))}"', request=request
        )
        if page == 1:
            second = self.server.url("/api/repos/novosyx/novosyx/releases?per_page=100&page=2")
            reply.headers["Link"] = f'<{second}>; rel="next", <{second}>; rel="last"'
        return reply

    def paths(self) -> list[str]:
        return [urlsplit(r.path).path for r in self.server.requests]


@pytest.fixture
def github(server: TestServer) -> GitHub:
    return GitHub(server)


def sync(tmp_path: Path, server: TestServer, *, verify: bool = False, **options: Any) -> SyncReport:
    entry = {
        "name": "gh",
        "type": "github",
        "url": "https://github.com/novosyx/novosyx",
        "web_base": server.base_url,
        "api_base": server.url("/api"),
        **options,
    }
    config = parse_config(
        {"archive": str(tmp_path / "a.db"), "sources": [entry]}, tmp_path / "o.toml"
    )
    with Archive(config.archive) as archive:
        return asyncio.run(sync_archive(config, archive, SyncOptions(media=False, verify=verify)))


def rows(tmp_path: Path) -> dict[str, dict[str, Any]]:
    with Archive(tmp_path / "a.db") as archive:
        return {r["native_id"]: dict(r) for r in archive.query("SELECT * FROM posts")}


def test_targets() -> None:
    assert parse_target("https://github.com/novosyx/novosyx") == ("novosyx", "novosyx")
    assert parse_target("github.com/novosyx") == ("novosyx", None)
    assert parse_target("novosyx/sdk-python.git") == ("novosyx", "sdk-python")


def test_without_token_atom_plus_one_history_walk(
    github: GitHub, server: TestServer, tmp_path: Path
) -> None:
    report = sync(tmp_path, server)
    assert report.status == "ok" and report.runs[0].error is None
    posts = rows(tmp_path)
    assert set(posts) == {
        V4,
        "https://github.com/novosyx/novosyx/releases/tag/v3.9.1",
        "https://github.com/novosyx/novosyx/releases/tag/v3.9.0-rc.1",
        "https://github.com/novosyx/novosyx/releases/tag/v3.0.0",
    }
    v4 = posts[V4]
    assert v4["title"] == "Novosyx 4.0" and v4["published_at"] == "2024-03-01T10:00:00+00:00"
    assert "<li>SSO</li>" in v4["content_html"] and v4["like_count"] == 12
    assert json.loads(v4["raw"])["assets"][0]["name"] == "novosyx-4.0.0-linux-amd64.tar.gz"
    assert github.paths() == [
        "/novosyx/novosyx/releases.atom",
        "/api/repos/novosyx/novosyx/releases",
        "/api/repos/novosyx/novosyx/releases",
    ]
    assert "authorization" not in server.requests[1].headers
    server.requests.clear()
    again = sync(tmp_path, server)
    assert again.runs[0].counts.new == 0 and again.runs[0].counts.updated == 0
    assert github.paths() == ["/novosyx/novosyx/releases.atom"]  # a 304: no API quota used


def test_with_token_the_api_is_used_with_etags(
    github: GitHub, server: TestServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("GH_TOKEN", "ghp_test")
    report = sync(tmp_path, server, token_env="GH_TOKEN")
    assert report.status == "ok" and len(rows(tmp_path)) == 4
    assert github.paths() == ["/api/repos/novosyx/novosyx/releases"] * 2
    assert server.requests[0].headers["authorization"] == "Bearer ghp_test"
    server.requests.clear()
    sync(tmp_path, server, token_env="GH_TOKEN")
    assert github.paths() == ["/api/repos/novosyx/novosyx/releases"]  # 304
    assert server.requests[0].headers["if-none-match"]
    github.pages[0][0]["body_html"] = "<h2>What's new</h2><p>Export, SSO and a fix.</p>"
    server.requests.clear()
    edited = sync(tmp_path, server, token_env="GH_TOKEN")
    assert edited.runs[0].counts.updated == 1
    assert rows(tmp_path)[V4]["versions"] == 2
    assert github.paths() == ["/api/repos/novosyx/novosyx/releases"]  # page 1 held nothing new


def test_a_user_means_each_of_their_own_repositories(
    github: GitHub, server: TestServer, tmp_path: Path
) -> None:
    report = sync(tmp_path, server, url="https://github.com/novosyx")
    assert report.status == "ok", report.runs[0].error
    posts = rows(tmp_path)
    assert "https://github.com/novosyx/sdk-python/releases/tag/v1.2.0" in posts
    assert len(posts) == 5
    assert "/novosyx/forked-lib/releases.atom" not in github.paths()
    server.requests.clear()
    sync(tmp_path, server, url="https://github.com/novosyx")
    assert sorted(github.paths()) == [
        "/api/users/novosyx/repos",  # 304
        "/novosyx/novosyx/releases.atom",  # 304
        "/novosyx/sdk-python/releases.atom",
    ]


def test_rate_limit_used_up_is_a_warning_without_token(
    github: GitHub, server: TestServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(GitHubSource, "max_rate_wait", 5.0)
    github.limit["x-ratelimit-remaining"] = "0"
    server.route(
        "/api/repos/novosyx/novosyx/releases",
        lambda r: github.json(load("error-rate-limit.json"), 403),
    )
    report = sync(tmp_path, server)
    assert report.status == "ok"  # the feed's releases still land
    error = report.runs[0].error or ""
    assert "GitHub API rate limit used up; it resets in" in error
    assert "set token_env" in error
    assert len(rows(tmp_path)) == 2
    server.requests.clear()
    github.limit["x-ratelimit-remaining"] = "59"
    server.route("/api/repos/novosyx/novosyx/releases", github.releases)
    sync(tmp_path, server)
    assert len(rows(tmp_path)) == 4  # the history walk was retried


def test_unknown_repository_is_one_line(github: GitHub, server: TestServer, tmp_path: Path) -> None:
    report = sync(tmp_path, server, url="https://github.com/novosyx/nope")
    assert report.status == "failed"
    assert report.runs[0].error == "GitHub repository novosyx/nope not found (HTTP 404)"


def test_verify_marks_deleted_releases(github: GitHub, server: TestServer, tmp_path: Path) -> None:
    sync(tmp_path, server)
    server.route(
        "/api/repos/novosyx/novosyx/releases/tags/v3.9.1", lambda r: github.json(github.pages[0][1])
    )
    server.route(
        "/api/repos/novosyx/novosyx/releases/tags/v3.9.0-rc.1",
        lambda r: github.json(github.pages[1][0]),
    )
    report = sync(tmp_path, server, verify=True)
    assert report.runs[0].counts.gone == 1
    gone = [k for k, v in rows(tmp_path).items() if v["gone_at"]]
    assert gone == ["https://github.com/novosyx/novosyx/releases/tag/v3.0.0"]


BOMB = b"""<?xml version="1.0"?>
<!DOCTYPE feed [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]>
<feed xmlns="http://www.w3.org/2005/Atom"><title>&b;</title></feed>"""


def test_entity_declarations_in_releases_atom_are_refused(
    github: GitHub, server: TestServer, tmp_path: Path
) -> None:
    github.atom = BOMB
    report = sync(tmp_path, server)
    assert report.status == "failed"
    assert report.runs[0].error == (
        "novosyx/novosyx/releases.atom: "
        "not a feed: XML entity declarations are refused (entity bomb?)"
    )
    assert rows(tmp_path) == {}


# --- replies: the comments of a release's discussion (GraphQL, token only) -------------------

DISCUSSION = "https://github.com/novosyx/novosyx/discussions/90"


def comment(number: int, login: str, html: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": f"DC_{number}",
        "url": f"{DISCUSSION}#discussioncomment-{number}",
        "bodyHTML": html,
        "createdAt": f"2024-03-0{min(number, 9)}T12:00:00Z",
        "lastEditedAt": None,
        "isMinimized": False,
        "author": {"login": login, "url": f"https://github.com/{login}", "avatarUrl": None},
        "reactions": {"totalCount": number},
        **extra,
    }


class GraphQL:
    """/api/graphql answering the discussion query in two pages of comments."""

    def __init__(self, github: GitHub) -> None:
        self.github = github
        self.asked: list[dict[str, Any]] = []
        self.reply: Reply | None = None  # a scripted answer instead of the pages
        first = comment(1, "alice", "<p>Does SSO work with Keycloak?</p>")
        first["replies"] = {
            "totalCount": 1,
            "nodes": [comment(2, "novosyx", "<p>Yes, since 4.0.</p>")],
        }
        spam = comment(3, "spammer", "<p>cheap pills</p>", isMinimized=True)
        spam["replies"] = {"totalCount": 0, "nodes": []}
        last = comment(4, "carol", "<p>Thanks!</p>")
        last["replies"] = {"totalCount": 60, "nodes": [comment(5, "dave", "<p>+1</p>")]}
        self.pages = [[first, spam], [last]]
        github.server.route("/api/graphql", self.answer)

    def answer(self, request: Request) -> Reply:
        assert request.method == "POST"
        assert request.headers["authorization"] == "Bearer ghp_test"
        body = json.loads(request.body)
        self.asked.append(body["variables"])
        if self.reply is not None:
            return self.reply
        assert body["variables"]["number"] == 90 and "discussion(number: $number)" in body["query"]
        page = 1 if body["variables"]["after"] == "c1" else 0
        info = {"hasNextPage": page == 0, "endCursor": "c1" if page == 0 else None}
        data = {
            "repository": {
                "discussion": {"comments": {"pageInfo": info, "nodes": self.pages[page]}}
            }
        }
        return self.github.json({"data": data})


@pytest.fixture
def graphql(github: GitHub, monkeypatch: pytest.MonkeyPatch) -> GraphQL:
    monkeypatch.setenv("GH_TOKEN", "ghp_test")
    github.pages[0][0]["discussion_url"] = DISCUSSION
    return GraphQL(github)


def test_release_discussion_comments_are_its_replies(
    graphql: GraphQL, server: TestServer, tmp_path: Path
) -> None:
    report = sync(tmp_path, server, token_env="GH_TOKEN")
    assert report.status == "ok"
    assert report.runs[0].error == "59 discussion replies beyond the first 50 not read"
    posts = rows(tmp_path)
    question, answer = (
        posts[f"{DISCUSSION}#discussioncomment-1"],
        posts[f"{DISCUSSION}#discussioncomment-2"],
    )
    release = posts[V4]
    assert question["kind"] == "reply" and question["is_own"] == 0
    assert question["in_reply_to"] == release["id"] and question["thread_root"] == release["id"]
    assert answer["in_reply_to"] == question["id"] and answer["thread_root"] == release["id"]
    assert answer["is_own"] == 1 and answer["content_text"] == "Yes, since 4.0."
    assert f"{DISCUSSION}#discussioncomment-3" not in posts  # minimized: spam or off-topic
    assert {f"{DISCUSSION}#discussioncomment-{n}" for n in (4, 5)} <= set(posts)
    assert [a["after"] for a in graphql.asked] == [None, "c1"]
    graphql.asked.clear()
    again = sync(tmp_path, server, token_env="GH_TOKEN")
    assert again.runs[0].counts.new == 0
    assert graphql.asked == []  # an old release's discussion is not read on every sync


def test_without_a_token_no_discussion_is_asked_for(
    github: GitHub, server: TestServer, tmp_path: Path
) -> None:
    github.pages[0][0]["discussion_url"] = DISCUSSION
    report = sync(tmp_path, server)
    assert report.status == "ok" and "/api/graphql" not in github.paths()


def test_a_spent_graphql_budget_leaves_the_discussion_for_the_next_sync(
    graphql: GraphQL, github: GitHub, server: TestServer, tmp_path: Path
) -> None:
    reset = str(int(time.time()) + 3600)
    graphql.reply = Reply(
        json.dumps({"message": "API rate limit exceeded"}),
        403,
        {"x-ratelimit-remaining": "0", "x-ratelimit-reset": reset},
        content_type="application/json",
    )
    report = sync(tmp_path, server, token_env="GH_TOKEN")
    assert report.status == "ok" and V4 in rows(tmp_path)
    assert "1 discussion(s) left for the next sync: GitHub API rate limit used up" in (
        report.runs[0].error or ""
    )
    graphql.reply = None
    sync(tmp_path, server, token_env="GH_TOKEN")
    assert f"{DISCUSSION}#discussioncomment-1" in rows(tmp_path)


def test_a_graphql_error_is_one_line_and_keeps_the_releases(
    graphql: GraphQL, server: TestServer, tmp_path: Path
) -> None:
    graphql.reply = github_error = Reply(
        json.dumps({"errors": [{"message": "Something went wrong\nwhile executing your query."}]}),
        content_type="application/json",
    )
    assert github_error.status == 200
    report = sync(tmp_path, server, token_env="GH_TOKEN")
    assert report.status == "ok" and V4 in rows(tmp_path)
    error = report.runs[0].error or ""
    said = "Something went wrong while executing your query."  # one line
    assert error == f"discussion of {V4}: GitHub GraphQL API: {said}"
