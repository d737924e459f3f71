"""LemmySource against a local server answering with Lemmy v3 API shapes."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from ownfeed.models import post_id
from ownfeed.sources import lemmy
from ownfeed.sources.lemmy import parent_local_id, parse_account
from ownfeed.sync import SyncReport
from tests.httpserver import Reply, Request, TestServer
from tests.sources.harness import as_json, query_rows, rows_by_native_id, sync_entry

DATA = Path(__file__).parent.parent / "data" / "lemmy"
P11 = "https://lemmy.example/post/11"


def load(name: str) -> Any:
    return json.loads((DATA / name).read_text(encoding="utf-8"))


class Instance:
    """lemmy.example with novosyx's profile (paged by `page`/`limit`) and one comment tree."""

    def __init__(self, server: TestServer) -> None:
        self.server = server
        self.user = load("user.json")
        self.tree = load("comment-list-11.json")
        server.route("/api/v3/user", self.profile)
        server.route("/api/v3/comment/list", self.comments)
        server.route("/api/v3/comment", lambda r: as_json(load("comment-50.json")))
        server.route("/api/v3/post", self.post)

    @staticmethod
    def query(request: Request) -> dict[str, str]:
        return {k: v[-1] for k, v in parse_qs(urlsplit(request.path).query).items()}

    def _page(self, items: list[Any], query: dict[str, str]) -> list[Any]:
        limit, page = int(query.get("limit", 10)), int(query.get("page", 1))
        return items[(page - 1) * limit : page * limit]

    def profile(self, request: Request) -> Reply:
        query = self.query(request)
        if query["username"] != "novosyx":
            return as_json(load("error-not-found.json"), 404)
        body = copy.deepcopy(self.user)
        body["posts"] = self._page(body["posts"], query)
        body["comments"] = self._page(body["comments"], query)
        return as_json(body)

    def comments(self, request: Request) -> Reply:
        query = self.query(request)
        assert query["post_id"] == "11" and query["sort"] == "Old"
        return as_json({"comments": self._page(self.tree["comments"], query)})

    def post(self, request: Request) -> Reply:
        local = int(self.query(request)["id"])
        for view in self.user["posts"]:
            if view["post"]["id"] == local:
                return as_json({"post_view": view, "community_view": {}, "moderators": []})
        return as_json({"error": "couldnt_find_post"}, 404)

    def paths(self) -> list[str]:
        return [urlsplit(r.path).path for r in self.server.requests]


@pytest.fixture
def instance(server: TestServer) -> Instance:
    return Instance(server)


def sync(tmp_path: Path, server: TestServer, *, verify: bool = False, **options: Any) -> SyncReport:
    entry = {
        "name": "lemmy",
        "type": "lemmy",
        "account": "novosyx@lemmy.example",
        "instance": server.base_url,
        **options,
    }
    return sync_entry(tmp_path, entry, verify=verify)


def test_account_forms_and_paths() -> None:
    assert parse_account("novosyx@lemmy.example") == ("novosyx", "lemmy.example")
    assert parse_account("@novosyx@lemmy.example") == ("novosyx", "lemmy.example")
    assert parse_account("https://lemmy.example/u/novosyx") == ("novosyx", "lemmy.example")
    assert parent_local_id("0.21") is None
    assert parent_local_id("0.21.22.23") == 22


def test_first_sync_over_several_pages_builds_the_tree(
    instance: Instance, server: TestServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lemmy, "PAGE_SIZE", 2)
    report = sync(tmp_path, server)
    assert report.status == "ok" and report.runs[0].error is None
    posts = rows_by_native_id(tmp_path)
    own = {k for k, v in posts.items() if v["is_own"]}
    assert own == {
        P11,
        "https://lemmy.example/post/12",
        "https://lemmy.example/post/13",
        "https://lemmy.example/post/14",
        "https://lemmy.example/comment/31",
        "https://lemmy.example/comment/32",
        "https://lemmy.example/comment/22",
    }
    assert instance.paths().count("/api/v3/user") == 3  # 4 posts and 2 comments in pages of 2
    assert instance.paths().count("/api/v3/comment/list") == 3  # 5 comments in pages of 2
    p11 = posts[P11]
    assert p11["title"] == "Novosyx 4.0 released" and p11["reply_count"] == 5
    assert p11["content_text"].startswith("We shipped **4.0**.")
    assert '<a href="https://novosyx.example/blog/4-0">' in p11["content_html"]
    reply = posts["https://lemmy.ml/comment/555"]
    assert reply["in_reply_to"] == post_id("lemmy", "https://lemmy.example/comment/22")
    assert reply["thread_root"] == post_id("lemmy", P11)
    assert "&lt;script&gt;" in reply["content_html"]  # Markdown text is escaped, never run
    assert posts["https://lemmy.example/comment/24"]["gone_reason"] == "deleted"
    assert posts["https://lemmy.ml/comment/556"]["in_reply_to"] == post_id(
        "lemmy", "https://lemmy.example/comment/24"
    )
    assert posts["https://lemmy.example/post/13"]["gone_reason"] == "deleted"
    # our reply to someone's comment on another instance: its parent looked up once
    mine = posts["https://lemmy.example/comment/32"]
    assert mine["in_reply_to"] == post_id("lemmy", "https://lemmy.ml/comment/77")
    assert mine["thread_root"] == post_id("lemmy", "https://lemmy.ml/post/40")
    assert posts["https://lemmy.ml/comment/77"]["is_own"] == 0
    assert posts["https://lemmy.ml/post/40"]["is_own"] == 0  # context
    assert posts["https://lemmy.example/comment/31"]["in_reply_to"] == post_id(
        "lemmy", "https://lemmy.ml/post/40"
    )
    tags = {r["tag"] for r in query_rows(tmp_path, "SELECT tag FROM post_tags")}
    assert "!opensource@lemmy.ml" in tags


def test_unchanged_resync_costs_one_request(
    instance: Instance, server: TestServer, tmp_path: Path
) -> None:
    sync(tmp_path, server)
    server.requests.clear()
    report = sync(tmp_path, server)
    assert report.runs[0].counts.new == 0 and report.runs[0].counts.updated == 0
    assert instance.paths() == ["/api/v3/user"]


def test_new_comment_and_edit_are_picked_up(
    instance: Instance, server: TestServer, tmp_path: Path
) -> None:
    sync(tmp_path, server)
    instance.user["posts"][0]["counts"]["comments"] = 6
    extra = copy.deepcopy(instance.tree["comments"][0])
    extra["comment"].update(
        id=26, content="Late question", ap_id="https://lemmy.ml/comment/600", path="0.21.26"
    )
    instance.tree["comments"].append(extra)
    instance.user["posts"][1]["post"].update(
        body="Questions about Novosyx? Ask here, we answer on Fridays.",
        updated="2024-01-16T09:00:00.000000Z",
    )
    report = sync(tmp_path, server)
    assert report.runs[0].counts.new == 1 and report.runs[0].counts.updated == 1
    posts = rows_by_native_id(tmp_path)
    assert posts["https://lemmy.ml/comment/600"]["in_reply_to"] == post_id(
        "lemmy", "https://feddit.de/comment/901"
    )
    assert posts["https://lemmy.example/post/12"]["versions"] == 2


def test_removed_later_keeps_the_text(
    instance: Instance, server: TestServer, tmp_path: Path
) -> None:
    sync(tmp_path, server)
    instance.user["posts"][0]["counts"]["comments"] = 4
    instance.tree["comments"][0]["comment"].update(removed=True, content="")
    report = sync(tmp_path, server)
    assert report.runs[0].counts.gone == 1
    row = rows_by_native_id(tmp_path)["https://feddit.de/comment/901"]
    assert (
        row["gone_reason"] == "removed" and row["content_text"] == "Congrats! Is the export *new*?"
    )


@pytest.mark.parametrize(
    ("account", "reply", "message"),
    [
        ("nobody@lemmy.example", None, "Lemmy user nobody@127.0.0.1"),
        (
            "novosyx@lemmy.example",
            (load("error-private.json"), 401),
            "instance_is_private (HTTP 401)",
        ),
    ],
)
def test_missing_user_and_closed_instance_are_one_line(
    instance: Instance,
    server: TestServer,
    tmp_path: Path,
    account: str,
    reply: tuple[Any, int] | None,
    message: str,
) -> None:
    if reply is not None:
        server.route("/api/v3/user", as_json(*reply))
    report = sync(tmp_path, server, account=account)
    assert report.status == "failed"
    assert message in (report.runs[0].error or "")


def test_verify_checks_local_items_by_id(
    instance: Instance, server: TestServer, tmp_path: Path
) -> None:
    sync(tmp_path, server)
    instance.user["posts"][1]["post"]["deleted"] = True
    instance.user["posts"] = [v for v in instance.user["posts"] if v["post"]["id"] != 14]
    report = sync(tmp_path, server, verify=True)
    posts = rows_by_native_id(tmp_path)
    assert posts["https://lemmy.example/post/12"]["gone_reason"] == "deleted"
    assert posts["https://lemmy.example/post/14"]["gone_reason"] == "not found"
    assert posts[P11]["gone_at"] is None
    assert report.runs[0].counts.gone == 2


def test_rate_limited_answers_are_waited_out(
    instance: Instance, server: TestServer, tmp_path: Path, pauses: list[float]
) -> None:
    answers = iter(
        [as_json({"error": "rate_limit_error"}, 429), as_json({"error": "rate_limit_error"}, 429)]
    )
    server.route("/api/v3/user", lambda r: next(answers, None) or instance.profile(r))
    report = sync(tmp_path, server)
    assert report.status == "ok"
    assert pauses == [1.0, 1.0]  # no Retry-After: a short pause, then again


def test_rate_limit_that_resets_too_late_is_one_line(
    instance: Instance, server: TestServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lemmy.LemmySource, "max_rate_wait", 5.0)
    reply = as_json({"error": "rate_limit_error"}, 429)
    reply.headers["Retry-After"] = "600"
    server.route("/api/v3/user", reply)
    report = sync(tmp_path, server)
    assert report.status == "failed"
    assert "HTTP 429" in (report.runs[0].error or "") and "600 s" in (report.runs[0].error or "")


def too_late_429() -> Reply:
    reply = as_json({"error": "rate_limit_error"}, 429)
    reply.headers["Retry-After"] = "600"
    return reply


def test_rate_limited_comment_tree_waits_for_the_next_sync(
    instance: Instance, server: TestServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lemmy.LemmySource, "max_rate_wait", 5.0)
    server.route("/api/v3/comment/list", too_late_429())
    report = sync(tmp_path, server)
    assert report.status == "ok"  # the profile is archived; the tree is left for later
    assert "1 thread(s) left for the next sync" in (report.runs[0].error or "")
    assert P11 in rows_by_native_id(tmp_path)
    server.route("/api/v3/comment/list", instance.comments)
    report = sync(tmp_path, server)
    assert report.runs[0].error is None
    assert "https://feddit.de/comment/901" in rows_by_native_id(tmp_path)


def test_verify_stops_at_a_rate_limit_and_keeps_every_post(
    instance: Instance, server: TestServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(lemmy.LemmySource, "max_rate_wait", 5.0)
    sync(tmp_path, server)
    gone_before = {k for k, row in rows_by_native_id(tmp_path).items() if row["gone_at"]}
    server.route("/api/v3/post", too_late_429())
    server.route("/api/v3/comment", too_late_429())
    server.requests.clear()
    report = sync(tmp_path, server, verify=True)
    checks = [p for p in instance.paths() if p in ("/api/v3/post", "/api/v3/comment")]
    assert len(checks) == 1  # one 429 ends the check instead of asking for every post
    assert "verify stopped" in (report.runs[0].error or "")
    gone_after = {k for k, row in rows_by_native_id(tmp_path).items() if row["gone_at"]}
    assert gone_after == gone_before
