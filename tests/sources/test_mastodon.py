"""The Mastodon source against a real local server answering with Mastodon API shapes."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from ownfeed.demo.mastodon import MastodonSample
from ownfeed.demo.mastodon import source_entries as demo_entries
from ownfeed.demo.web import DemoWeb
from ownfeed.errors import SourceError
from ownfeed.sources.base import SourceConfig
from ownfeed.sources.mastodon import MastodonSource, parse_account
from tests.httpserver import Reply, Request, TestServer
from tests.sources.harness import LATER as LATER  # tests/hostile runs this instance at LATER
from tests.sources.harness import (
    Archived,
    as_json,
    author_of,
    by_id,
    counted,
    first_then,
    known,
    run_source,
)

DATA = Path(__file__).parent.parent / "data" / "mastodon"
ACCOUNT_ID = "109300000000000001"
STATUSES = f"/api/v1/accounts/{ACCOUNT_ID}/statuses"
SOCIAL = "https://social.example/users"
S1 = f"{SOCIAL}/novosyx/statuses/110000000000000010"
S2 = f"{SOCIAL}/novosyx/statuses/110000000000000020"
S3 = f"{SOCIAL}/novosyx/statuses/110000000000000030"
S4 = f"{SOCIAL}/novosyx/statuses/110000000000000040"
A1 = "https://other.example/users/aenne/statuses/111900000000000001"
A2 = f"{SOCIAL}/novosyx/statuses/110000000000000045"
A3 = f"{SOCIAL}/bernd/statuses/110000000000000047"
B1 = f"{SOCIAL}/bernd/statuses/110000000000000021"
J0 = "https://other.example/users/juergen/statuses/111900000000000100"
J1 = "https://third.example/users/lena/statuses/112000000000000007"
S5 = f"{SOCIAL}/novosyx/statuses/110000000000000050"
R1 = "https://third.example/users/lena/statuses/112000000000000050"
S6 = f"{SOCIAL}/novosyx/statuses/110000000000000060/activity"
JUST_AFTER = datetime(2024, 3, 13, tzinfo=UTC)  # S4 .. S6 inside a 14-day window


def load(name: str) -> Any:
    return json.loads((DATA / name).read_text(encoding="utf-8"))


class Instance:
    """A scripted Mastodon instance: the fixture account, three timeline pages, threads."""

    def __init__(self, server: TestServer) -> None:
        self.server = server
        self.pages = [load("statuses-1.json"), load("statuses-2.json"), load("statuses-3.json")]
        self.contexts = {
            "110000000000000040": load("context-S4.json"),
            "110000000000000045": load("context-A2.json"),
            "110000000000000050": load("context-S5.json"),
            "110000000000000020": load("context-S2.json"),
        }
        server.route("/api/v1/accounts/lookup", as_json(load("account.json")))
        server.route(STATUSES, self.timeline)
        for status_id in self.contexts:
            server.route(f"/api/v1/statuses/{status_id}/context", self.context)

    def timeline(self, request: Request) -> Reply:
        """Newest first, paged by `max_id` with a `Link` header like Mastodon's."""
        query = parse_qs(urlsplit(request.path).query)
        max_id = query.get("max_id", [None])[0]
        index = 0
        if max_id:
            older = (n for n, page in enumerate(self.pages) if page and page[0]["id"] < max_id)
            index = next(older, len(self.pages))
        page = self.pages[index] if index < len(self.pages) else []
        headers = {}
        if page:
            base = self.server.url(STATUSES)
            links = [f'<{base}?limit=40&min_id={page[0]["id"]}>; rel="prev"']
            if index + 1 < len(self.pages):
                links.insert(0, f'<{base}?limit=40&max_id={page[-1]["id"]}>; rel="next"')
            headers["Link"] = ", ".join(links)
        return Reply(json.dumps(page), 200, headers, content_type="application/json")

    def context(self, request: Request) -> Reply:
        status_id = urlsplit(request.path).path.split("/")[-2]
        return as_json(self.contexts[status_id])

    def count(self) -> int:
        return len(self.server.requests)


def make_source(server: TestServer, **options: Any) -> MastodonSource:
    entry = {"account": "@novosyx@social.example", "instance": server.base_url, **options}
    config = SourceConfig(
        name="mastodon",
        type="mastodon",
        refresh_days=options.pop("refresh_days", 14),
        replies=options.pop("replies", True),
        options={k: v for k, v in entry.items() if k in MastodonSource.keys},
    )
    return MastodonSource(config)


# --- first sync ---------------------------------------------------------------------------


def test_first_sync_pages_through_the_whole_history(server: TestServer) -> None:
    instance = Instance(server)
    result = run_source(make_source(server))
    assert len(server.requests_to(STATUSES)) == 3
    assert "max_id=110000000000000045" in server.requests_to(STATUSES)[1].path
    # lookup + 3 timeline pages + threads of S4, A2, S2 (replies) and S5, A2 (our replies)
    assert instance.count() == 1 + 3 + 4
    own = {p.native_id for p in result.posts if p.is_own}
    assert own == {S1, S2, S3, S4, A2, S5, S6}
    assert {p.native_id for p in result.posts if not p.is_own} == {A1, A3, B1, J0, J1, R1}
    assert result.state["newest_id"] == "110000000000000060"
    assert result.state["account_id"] == ACCOUNT_ID
    assert result.title == "Novosyx GmbH"
    assert result.home_url == "https://social.example/@novosyx"
    assert result.warnings == []


def test_threads_several_levels_deep_are_linked_to_their_root(server: TestServer) -> None:
    Instance(server)
    posts = by_id(run_source(make_source(server)))
    assert posts[A1].in_reply_to == S4 and posts[A1].kind == "reply"
    assert posts[A2].in_reply_to == A1 and posts[A2].is_own and posts[A2].kind == "reply"
    assert posts[A3].in_reply_to == A2 and not posts[A3].is_own
    assert {posts[n].thread_root for n in (A1, A2, A3)} == {S4}
    assert posts[B1].in_reply_to == S2 and posts[B1].thread_root == S2


def test_posts_we_answered_are_kept_as_context(server: TestServer) -> None:
    Instance(server)
    posts = by_id(run_source(make_source(server)))
    assert posts[S5].in_reply_to == J1 and posts[S5].thread_root == J0
    assert posts[J1].in_reply_to == J0 and not posts[J1].is_own
    assert posts[J0].kind == "post" and not posts[J0].is_own
    assert author_of(posts[J0]).name == "Jürgen Weiß"
    assert author_of(posts[J0]).handle == "@juergen@other.example"


def test_boost_is_a_repost_with_the_boosted_status_as_context(server: TestServer) -> None:
    Instance(server)
    posts = by_id(run_source(make_source(server)))
    assert posts[S6].kind == "repost" and posts[S6].is_own
    assert posts[S6].repost_of == R1 and posts[S6].content_html is None
    assert posts[S6].url == "https://third.example/@lena/112000000000000050"
    assert not posts[R1].is_own and "Datenhoheit" in (posts[R1].content_html or "")


def test_status_fields_are_mapped(server: TestServer) -> None:
    Instance(server)
    posts = by_id(run_source(make_source(server)))
    s4 = posts[S4]
    assert s4.title == "Baustellenfotos"  # the content warning
    assert s4.url == "https://social.example/@novosyx/110000000000000040"
    assert s4.language == "de" and s4.tags == ("logistik",)
    assert s4.published_at == datetime(2024, 3, 1, 12, 0, tzinfo=UTC)
    assert s4.updated_at == datetime(2024, 3, 1, 12, 20, 31, tzinfo=UTC)
    assert (s4.reply_count, s4.like_count, s4.repost_count) == (1, 30, 7)
    assert author_of(s4).handle == "@novosyx@social.example"
    assert author_of(s4).name == "Novosyx GmbH"
    [image] = s4.media
    assert image.alt == "Das neue Lager in Köln, Regale voller Kartons"
    assert (image.kind, image.mime, image.width, image.height) == ("image", "image/png", 1200, 800)
    assert s4.raw["id"] == "110000000000000040"
    assert author_of(posts[A1]).name == "Änne Müller"
    assert author_of(posts[A3]).handle == "@bernd@social.example"
    assert ":blobcat:" in (posts[S3].content_html or "")  # custom emoji stays readable


def test_replies_false_keeps_parents_but_not_replies_by_others(server: TestServer) -> None:
    Instance(server)
    posts = by_id(run_source(make_source(server, replies=False)))
    assert J1 in posts and J0 in posts  # what we answered
    assert B1 not in posts and A3 not in posts


# --- incremental --------------------------------------------------------------------------


def test_unchanged_resync_costs_one_request_and_adds_nothing(
    server: TestServer, tmp_path: Path
) -> None:
    instance = Instance(server)
    archive = Archived(tmp_path, make_source(server))
    archive.sync()
    before = instance.count()
    _, counts = archive.sync()
    assert instance.count() - before == 1
    assert server.requests[-1].path.startswith(STATUSES)
    assert (counts.new, counts.updated) == (0, 0)


def test_refresh_window_rereads_recent_statuses_and_their_threads(
    server: TestServer, tmp_path: Path
) -> None:
    instance = Instance(server)
    archive = Archived(tmp_path, make_source(server))
    archive.sync()
    before = instance.count()
    _, counts = archive.sync(now=JUST_AFTER)
    new_requests = [r.path for r in server.requests[before:]]
    # page 1 and 2 (S4 is inside the window), threads of S4 and A2 (recent, with replies)
    assert len(new_requests) == 4, new_requests
    assert sum("/context" in path for path in new_requests) == 2
    assert (counts.new, counts.updated) == (0, 0)


def test_new_status_and_changed_reply_count_cost_only_what_changed(
    server: TestServer, tmp_path: Path
) -> None:
    instance = Instance(server)
    archive = Archived(tmp_path, make_source(server))
    archive.sync()
    s7 = dict(load("status-S3.json"), id="110000000000000070", replies_count=0)
    s7["uri"] = f"{SOCIAL}/novosyx/statuses/110000000000000070"
    s7["content"] = "<p>Neu: unser Archiv ist online.</p>"
    instance.pages[0].insert(0, s7)
    a2 = instance.pages[0][3]
    a2["replies_count"] = 2
    late = dict(load("context-S2.json")["descendants"][0], id="110000000000000061")
    late.update(uri=f"{SOCIAL}/bernd/statuses/110000000000000061", in_reply_to_id=a2["id"])
    instance.contexts[a2["id"]]["descendants"].append(late)
    before = instance.count()
    result, counts = archive.sync()
    assert instance.count() - before == 2  # the timeline page and A2's thread
    assert counts.new == 2  # S7 and the late reply
    assert by_id(result)[late["uri"]].in_reply_to == A2
    assert by_id(result)[late["uri"]].thread_root == S4
    assert archive.state["newest_id"] == "110000000000000070"


def test_full_rereads_everything(server: TestServer, tmp_path: Path) -> None:
    instance = Instance(server)
    archive = Archived(tmp_path, make_source(server))
    archive.sync()
    first = instance.count()
    archive.sync(full=True)
    assert instance.count() - first == first - 1  # all but the cached account lookup


def test_edited_status_inside_the_window_gets_a_second_version(
    server: TestServer, tmp_path: Path
) -> None:
    instance = Instance(server)
    archive = Archived(tmp_path, make_source(server))
    archive.sync()
    instance.pages[1][0] = load("status-S4-edited.json")
    _, counts = archive.sync(now=JUST_AFTER)
    row = archive.row(S4)
    assert row["versions"] == 2 and "in Köln" in row["content_html"]
    assert counts.updated >= 1


def test_failed_thread_is_a_warning_and_is_read_again_next_time(
    server: TestServer, tmp_path: Path
) -> None:
    instance = Instance(server)
    server.route("/api/v1/statuses/110000000000000020/context", Reply("boom", 502))
    archive = Archived(tmp_path, make_source(server))
    result, _ = archive.sync()
    assert len(result.warnings) == 1 and "HTTP 502" in result.warnings[0]
    assert "\n" not in result.warnings[0]
    assert B1 not in by_id(result)
    assert archive.state["pending_threads"] == {"110000000000000020": S2}
    server.route("/api/v1/statuses/110000000000000020/context", instance.context)
    before = instance.count()
    result, counts = archive.sync()
    assert instance.count() - before == 2  # the timeline page and the pending thread
    assert B1 in by_id(result) and counts.new == 1
    assert by_id(result)[B1].in_reply_to == S2 and by_id(result)[B1].thread_root == S2
    assert "pending_threads" not in archive.state


# --- account, errors, tokens -----------------------------------------------------------------


def test_account_not_found_is_one_clear_line(server: TestServer) -> None:
    server.route("/api/v1/accounts/lookup", as_json(load("not-found.json"), 404))
    source = make_source(server, account=f"@nobody@{server.base_url.split('//')[1]}")
    with pytest.raises(SourceError) as info:
        run_source(source)
    host = server.base_url.split("//")[1]
    assert str(info.value) == f"account @nobody@{host} not found"
    assert server.requests_to("/.well-known/webfinger")  # WebFinger was asked too


def test_unauthenticated_instance_is_one_clear_line(server: TestServer) -> None:
    server.route("/api/v1/accounts/lookup", as_json(load("unauthorized.json"), 401))
    with pytest.raises(SourceError) as info:
        run_source(make_source(server))
    assert str(info.value).startswith("instance requires authentication (HTTP 401)")
    assert "token_env" in str(info.value) and info.value.status == 401


def test_unauthenticated_timeline_fails_the_source(server: TestServer) -> None:
    Instance(server)
    server.route(STATUSES, as_json(load("unauthorized.json"), 401))
    with pytest.raises(SourceError, match=r"instance requires authentication \(HTTP 401\)"):
        run_source(make_source(server))


def test_token_is_sent_to_the_instance_and_never_kept(
    server: TestServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    Instance(server)
    monkeypatch.setenv("NOVOSYX_TOKEN", "s3cr3t-t0ken")
    result = run_source(make_source(server, token_env="NOVOSYX_TOKEN"))
    assert all(r.headers.get("authorization") == "Bearer s3cr3t-t0ken" for r in server.requests)
    kept = json.dumps([result.state, [p.raw for p in result.posts], result.warnings])
    assert "s3cr3t" not in kept


def test_missing_token_variable_is_named(
    server: TestServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("NOVOSYX_TOKEN", raising=False)
    with pytest.raises(SourceError, match="NOVOSYX_TOKEN"):
        run_source(make_source(server, token_env="NOVOSYX_TOKEN"))
    assert server.requests == []


def test_cached_account_id_that_went_stale_is_looked_up_again(server: TestServer) -> None:
    Instance(server)
    state = {
        "account_key": f"@novosyx@social.example {server.base_url}",
        "account_id": "1",
        "api_base": server.base_url,
    }
    result = run_source(make_source(server), state=state)
    assert result.state["account_id"] == ACCOUNT_ID
    assert len(server.requests_to("/api/v1/accounts/1/statuses")) == 1
    assert len(server.requests_to("/api/v1/accounts/lookup")) == 1


def test_webfinger_leads_to_the_instance_that_hosts_the_account(server: TestServer) -> None:
    home = TestServer().start()
    try:
        Instance(home)
        host = server.base_url.split("//")[1]
        server.route("/api/v1/accounts/lookup", as_json(load("not-found.json"), 404))
        finger = load("webfinger.json")
        finger["links"][1]["href"] = home.url("/users/novosyx")
        server.route("/.well-known/webfinger", as_json(finger))
        source = make_source(server, account=f"@novosyx@{host}")
        result = run_source(source)
        assert f"acct=novosyx@{host}" in home.requests_to("/api/v1/accounts/lookup")[0].path
        assert S4 in by_id(result)
        assert result.state["api_base"] == home.base_url
    finally:
        home.stop()


# --- rate limits ----------------------------------------------------------------------------


def _reset_headers(seconds: int, epoch: bool) -> dict[str, str]:
    now = datetime.now(UTC).replace(microsecond=0)
    reset = now.timestamp() + seconds
    value = str(int(reset)) if epoch else datetime.fromtimestamp(reset, UTC).isoformat()
    return {
        "X-RateLimit-Limit": "300",
        "X-RateLimit-Remaining": "0",
        "X-RateLimit-Reset": value.replace("+00:00", ".000000Z"),
        "Date": now.strftime("%a, %d %b %Y %H:%M:%S GMT"),
    }


@pytest.mark.parametrize("epoch", [False, True], ids=["iso-reset", "epoch-reset"])
def test_429_waits_until_the_reset_and_retries(
    server: TestServer, pauses: list[float], epoch: bool
) -> None:
    instance = Instance(server)
    limited = as_json({"error": "Too many requests"}, 429, **_reset_headers(30, epoch))
    server.route(STATUSES, first_then(limited, instance.timeline))
    result = run_source(make_source(server))
    assert len(pauses) == 1 and 28 <= pauses[0] <= 31
    assert S1 in by_id(result)


def test_a_rate_limited_thread_leaves_the_unread_ones_for_the_next_sync(
    server: TestServer, pauses: list[float], tmp_path: Path
) -> None:
    Instance(server)
    limited = as_json({"error": "Too many requests"}, 429, **_reset_headers(3600, False))
    server.route("/api/v1/statuses/110000000000000020/context", limited)
    archive = Archived(tmp_path, make_source(server))
    result, _ = archive.sync()
    pending = archive.state["pending_threads"]
    assert pending["110000000000000020"] == S2
    [warning] = result.warnings
    assert warning.startswith(f"{len(pending)} thread(s) left for the next sync: ")
    assert S4 in by_id(result)  # what was read is archived now


def test_429_with_a_distant_reset_fails_with_one_line(
    server: TestServer, pauses: list[float]
) -> None:
    Instance(server)
    limited = as_json({"error": "Too many requests"}, 429, **_reset_headers(3600, False))
    server.route(STATUSES, limited)
    with pytest.raises(SourceError) as info:
        run_source(make_source(server))
    message = str(info.value)
    found = re.search(r"HTTP 429\).*resets in (\d+) s", message)
    assert found and 3590 <= int(found.group(1)) <= 3600 and "\n" not in message
    assert pauses == []


def test_spent_budget_waits_before_the_next_request(
    server: TestServer, pauses: list[float]
) -> None:
    instance = Instance(server)
    headers = _reset_headers(12, True)

    def timeline(request: Request) -> Reply:
        reply = instance.timeline(request)
        if "max_id" not in request.path:
            reply.headers.update(headers)
        return reply

    server.route(STATUSES, timeline)
    run_source(make_source(server))
    assert len(pauses) == 1 and 10 <= pauses[0] <= 13


# --- verify -----------------------------------------------------------------------------------


def test_verify_marks_deleted_gone_and_returns_edits(
    server: TestServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    other = TestServer().start()
    try:
        server.route("/api/v1/statuses/110000000000000010", as_json(load("not-found.json"), 404))
        server.route("/api/v1/statuses/110000000000000030", as_json(load("status-S3.json")))
        server.route("/api/v1/statuses/110000000000000040", as_json(load("status-S4-edited.json")))
        remote = dict(load("status-S3.json"), id="555")
        remote["uri"] = other.url("/users/lena/statuses/555")
        other.route("/api/v1/statuses/555", as_json(remote))
        monkeypatch.setenv("NOVOSYX_TOKEN", "s3cr3t")
        source = make_source(server, token_env="NOVOSYX_TOKEN")
        result = run_source(source, verify=[known(S1), known(S3), known(S4), known(remote["uri"])])
        assert [(g.native_id, g.reason) for g in result.gone] == [(S1, "HTTP 404")]
        assert {n for _, n in result.seen_again} == {S3, S4, remote["uri"]}
        edited = by_id(result)[S4]
        assert "Lager in Köln" in (edited.content_html or "") and edited.is_own
        assert "authorization" not in other.requests[0].headers  # token stays home
        assert server.requests[0].headers["authorization"] == "Bearer s3cr3t"
    finally:
        other.stop()


def test_verify_then_store_records_gone_and_a_new_version(
    server: TestServer, tmp_path: Path
) -> None:
    Instance(server)
    archive = Archived(tmp_path, make_source(server))
    archive.sync()
    server.route("/api/v1/statuses/110000000000000010", as_json(load("not-found.json"), 404))
    server.route("/api/v1/statuses/110000000000000040", as_json(load("status-S4-edited.json")))
    archive.verify(S1, S4)
    assert archive.row(S1)["gone_at"] is not None
    assert archive.row(S4)["versions"] == 2


def test_verify_stops_with_one_warning_when_rate_limited(
    server: TestServer, pauses: list[float]
) -> None:
    limited = as_json({"error": "Too many requests"}, 429, **_reset_headers(3600, False))
    ids = [f"1100000000000001{n:02d}" for n in range(12)]
    for status_id in ids:
        server.route(f"/api/v1/statuses/{status_id}", limited)
    posts = [known(f"{SOCIAL}/novosyx/statuses/{status_id}") for status_id in ids]
    result = run_source(make_source(server), verify=posts)
    assert result.gone == [] and result.seen_again == []
    [warning] = result.warnings
    assert warning.startswith("verify stopped, 12 post(s) left unchecked: rate limited")
    assert len(server.requests) <= 4  # only those already in flight


def test_verify_against_a_closed_instance_stops_with_one_warning(server: TestServer) -> None:
    for status_id in ("110000000000000010", "110000000000000030", "110000000000000040"):
        server.route(f"/api/v1/statuses/{status_id}", as_json(load("unauthorized.json"), 401))
    result = run_source(make_source(server), verify=[known(S1), known(S3), known(S4)])
    assert len(result.warnings) == 1 and "HTTP 401" in result.warnings[0]
    assert result.gone == []


# --- helpers ----------------------------------------------------------------------------------


def test_parse_account_accepts_handles_with_and_without_leading_at() -> None:
    assert parse_account("@Novosyx@Social.Example") == ("Novosyx", "social.example")
    assert parse_account("novosyx@127.0.0.1:8080") == ("novosyx", "127.0.0.1:8080")
    with pytest.raises(SourceError, match="@user@host"):
        parse_account("https://social.example/@novosyx")


# --- the demo instance, end to end -------------------------------------------------------------


def test_demo_instance_is_archived_and_follows_the_world(tmp_path: Path) -> None:
    sample = MastodonSample()
    log: list[str] = []
    with DemoWeb() as web:
        web.mount(counted(sample.routes(), log))
        [entry] = demo_entries(web.base_url)
        source = MastodonSource(
            SourceConfig(
                "mastodon", "mastodon", options={k: entry[k] for k in ("account", "instance")}
            )
        )
        archive = Archived(tmp_path, source)
        archive.sync()
        rows = archive.archive.query("SELECT * FROM posts")
        own = [r for r in rows if r["is_own"]]
        assert len(own) == 7  # 4 posts, 2 replies, 1 boost
        assert {r["kind"] for r in own} == {"post", "reply", "repost"}
        others = [r for r in rows if not r["is_own"]]
        assert all(r["in_reply_to"] or r["kind"] == "post" for r in others)
        names = {a["name"] for a in archive.archive.query("SELECT name FROM authors")}
        assert {"Jörg Müller", "Zoë Weiß", "Novosyx GmbH"} <= names
        deepest = archive.one(
            "SELECT p.* FROM posts p JOIN authors a ON a.id = p.author_id WHERE a.name = 'Zoë Weiß'"
        )
        root = archive.one("SELECT * FROM posts WHERE id = ?", (deepest["thread_root"],))
        assert root["is_own"] and "Hallo Fediverse" in root["content_html"]
        assert archive.one("SELECT count(*) FROM media")[0] == 2

        before = len(log)
        _, counts = archive.sync()
        assert len(log) - before == 1 and (counts.new, counts.updated) == (0, 0)

        sample.change_world()
        _, counts = archive.sync()
        assert counts.new == 2  # the new post and the new reply
        archive.verify()
        gone = archive.archive.query("SELECT content_html FROM posts WHERE gone_at IS NOT NULL")
        assert [r["content_html"] for r in gone] == [
            "<p>Ein Jahr Novosyx im Fediverse. Danke an alle, die mitreden!</p>"
        ]
        edited = archive.one("SELECT * FROM posts WHERE title = 'Release-Spoiler'")
        assert edited["versions"] == 2 and "Archiv" in edited["content_html"]
