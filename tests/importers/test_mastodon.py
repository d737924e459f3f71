"""The Mastodon export: outbox.json, actor.json, media; the same rows as the API source."""

from __future__ import annotations

import asyncio
import hashlib
import json
import zipfile
from pathlib import Path
from typing import Any

import pytest

from ownfeed.archive import Archive, store_posts
from ownfeed.archive.runs import known_posts
from ownfeed.http import HttpClient
from ownfeed.models import Author, Media, Post
from ownfeed.sources.base import SourceConfig, SourceContext
from ownfeed.sources.mastodon import MastodonSource
from tests.httpserver import Reply, TestServer
from tests.importers import DATA, do_import, import_error, pairs, post, rebuild_zip, snapshot

ZIP = DATA / "mastodon.zip"
ACTOR = "https://social.example/users/novosyx"
TOOTS = [f"{ACTOR}/statuses/11000000000000000{n}" for n in (1, 2, 3, 6)]
BOOST = f"{ACTOR}/statuses/110000000000000004/activity"
MEDIA_PATH = "media_attachments/files/110/000/000/000/000/001/original/3f1a2b3c4d5e6f70.png"
API_MEDIA = f"https://files.social.example/{MEDIA_PATH}"


def test_imports_public_posts_replies_and_boosts(archive: Archive, tmp_path: Path) -> None:
    report = do_import(archive, "mastodon", ZIP, tmp_path / "media")
    assert (report.new, report.updated, report.unchanged) == (5, 0, 0)
    assert report.warnings == ["skipped 1 followers-only or direct posts"]
    kinds = pairs(archive, "SELECT native_id, kind FROM posts")
    assert kinds == {
        TOOTS[0]: "post",
        TOOTS[1]: "reply",
        TOOTS[2]: "reply",
        TOOTS[3]: "post",
        BOOST: "repost",
    }
    assert archive.one("SELECT 1 FROM posts WHERE native_id LIKE '%000005'") is None


def test_fields_follow_the_api_source(archive: Archive, tmp_path: Path) -> None:
    do_import(archive, "mastodon", ZIP, tmp_path / "media")
    first = post(archive, "mastodon", TOOTS[0])
    assert first["url"] == "https://social.example/@novosyx/110000000000000001"
    assert first["content_text"] == "Our new office is open! #Novosyx"
    assert (first["language"], first["like_count"], first["repost_count"]) == ("en", 4, 2)
    assert first["published_at"] == "2023-01-10T09:00:00+00:00"
    tags = archive.query("SELECT tag FROM post_tags WHERE post_id = ?", (first["id"],))
    assert [t[0] for t in tags] == ["Novosyx"]
    author = archive.one("SELECT * FROM authors WHERE id = ?", (first["author_id"],))
    assert author is not None
    assert (author["handle"], author["name"]) == ("@novosyx@social.example", "Novosyx")
    assert author["id"] == Author("mastodon", handle="@novosyx@social.example").id
    warned = post(archive, "mastodon", TOOTS[3])
    assert warned["title"] == "Job post"  # the content warning, as the API source keeps it
    assert warned["updated_at"] == "2023-01-13T09:30:00+00:00"
    boost = post(archive, "mastodon", BOOST)
    assert boost["repost_of_native"] == "https://other.example/users/alice/statuses/1000"


def test_replies_and_threads(archive: Archive, tmp_path: Path) -> None:
    do_import(archive, "mastodon", ZIP, tmp_path / "media")
    first, second, answer = (post(archive, "mastodon", uri) for uri in TOOTS[:3])
    assert second["in_reply_to"] == first["id"]
    assert second["thread_root"] == first["id"]
    assert answer["in_reply_to_native"] == "https://other.example/users/alice/statuses/999"
    assert answer["in_reply_to_url"] == "https://other.example/users/alice/statuses/999"


def test_attachments_are_copied_from_the_export(archive: Archive, tmp_path: Path) -> None:
    report = do_import(archive, "mastodon", ZIP, tmp_path / "media")
    assert report.media_copied == 1
    [row] = archive.query("SELECT * FROM media")
    data = b"\x89PNG\r\n\x1a\nfake-office-photo"
    assert row["sha256"] == hashlib.sha256(data).hexdigest()
    assert (tmp_path / "media" / row["local_path"]).read_bytes() == data
    assert (row["alt"], row["width"], row["height"], row["mime"]) == (
        "The office from outside",
        640,
        480,
        "image/png",
    )


def test_reimport_changes_nothing(archive: Archive, tmp_path: Path) -> None:
    do_import(archive, "mastodon", ZIP, tmp_path / "media")
    before = snapshot(archive, ignore=("last_seen_at",))
    report = do_import(archive, "mastodon", ZIP, tmp_path / "media")
    assert (report.new, report.updated, report.unchanged, report.media_copied) == (0, 0, 5, 0)
    assert snapshot(archive, ignore=("last_seen_at",)) == before


def test_an_archived_api_media_row_gets_the_exported_file(archive: Archive, tmp_path: Path) -> None:
    """Synced first: the export's file lands on the API's row, no second row."""
    synced = Post(
        platform="mastodon",
        native_id=TOOTS[0],
        url="https://social.example/@novosyx/110000000000000001",
        content_html="<p>Our new office is open! #Novosyx</p>",
        media=(Media(API_MEDIA, "image", "image/png"),),
    )
    with archive.transaction():
        store_posts(archive, [synced], "mastodon")
    do_import(archive, "mastodon", ZIP, tmp_path / "media")
    [row] = archive.query("SELECT url, local_path FROM media")
    assert row["url"] == API_MEDIA and row["local_path"]


def test_the_configured_account_is_the_author_handle(archive: Archive, tmp_path: Path) -> None:
    archive.conn.execute(
        "INSERT INTO sources (name, type, locator) "
        "VALUES ('mastodon', 'mastodon', '@Novosyx@Social.Example')"
    )
    report = do_import(
        archive, "mastodon", ZIP, tmp_path / "media", source="mastodon", source_type="mastodon"
    )
    assert report.source == "mastodon"
    row = archive.one("SELECT handle FROM authors")
    assert row is not None and row[0] == "@Novosyx@social.example"
    assert {r[0] for r in archive.query("SELECT source FROM posts")} == {"mastodon"}


def test_export_in_a_folder(archive: Archive, tmp_path: Path) -> None:
    folder = tmp_path / "archive-20240101000000-0123456789abcdef0123456789abcdef"
    with zipfile.ZipFile(ZIP) as bundle:
        for name in bundle.namelist():
            target = folder / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(bundle.read(name))
    report = do_import(archive, "mastodon", folder, tmp_path / "media")
    assert (report.new, report.media_copied) == (5, 1)


@pytest.mark.parametrize(
    ("outbox", "expected"),
    [
        (b'{"orderedItems": [', "outbox.json: invalid JSON at line 1"),
        (b'{"type": "OrderedCollection"}', "expected an OrderedCollection"),
        (b'{"orderedItems": ["x"]}', "item 0: not an activity object"),
        (
            json.dumps(
                {"orderedItems": [{"type": "Create", "to": ["as:Public"], "object": {}}]}
            ).encode(),
            "item 0: Create without an object id",
        ),
    ],
)
def test_broken_outbox_names_the_file_and_item(
    archive: Archive, tmp_path: Path, outbox: bytes, expected: str
) -> None:
    broken = rebuild_zip(ZIP, tmp_path / "broken.zip", {"outbox.json": outbox})
    message = import_error(archive, "mastodon", broken, tmp_path)
    assert message.startswith("broken.zip:")
    assert expected in message


# --- an import and a sync of the same account ------------------------------------------------


def _status(number: int, content: str, created: str, **extra: Any) -> dict[str, Any]:
    status_id = f"11000000000000000{number}"
    body: dict[str, Any] = {
        "id": status_id,
        "created_at": created,
        "in_reply_to_id": None,
        "in_reply_to_account_id": None,
        "sensitive": False,
        "spoiler_text": "",
        "visibility": "public",
        "language": "en",
        "uri": f"{ACTOR}/statuses/{status_id}",
        "url": f"https://social.example/@novosyx/{status_id}",
        "replies_count": 0,
        "reblogs_count": 0,
        "favourites_count": 0,
        "edited_at": None,
        "content": content,
        "reblog": None,
        "account": ACCOUNT,
        "media_attachments": [],
        "mentions": [],
        "tags": [],
        "emojis": [],
        "card": None,
        "poll": None,
    }
    body.update(extra)
    return body


ACCOUNT = {
    "id": "109300000000000001",
    "username": "novosyx",
    "acct": "novosyx",
    "display_name": "Novosyx",
    "url": "https://social.example/@novosyx",
    "uri": ACTOR,
}
ALICE = {
    "id": "109300000000000009",
    "username": "alice",
    "acct": "alice@other.example",
    "display_name": "Alice",
    "url": "https://other.example/@alice",
}


def _timeline(outbox: dict[str, Any]) -> list[dict[str, Any]]:
    """What the API answers for the toots of the export (newest first)."""
    notes = {
        item["object"]["id"]: item["object"]
        for item in outbox["orderedItems"]
        if item["type"] == "Create"
    }
    first = notes[TOOTS[0]]
    alice_999 = _status(9, "<p>Congrats on the office!</p>", "2023-01-11T09:00:00Z")
    alice_999.update(
        id="111900000000000999",
        uri="https://other.example/users/alice/statuses/999",
        url="https://other.example/@alice/999",
        account=ALICE,
    )
    alice_1000 = dict(
        alice_999, id="111900000000001000", uri="https://other.example/users/alice/statuses/1000"
    )
    statuses = [
        _status(
            6,
            notes[TOOTS[3]]["content"],
            "2023-01-13T09:00:00.000Z",
            spoiler_text="Job post",
            edited_at="2023-01-13T09:30:00.000Z",
        ),
        _status(
            4, "", "2023-01-12T08:00:00.000Z", uri=BOOST, url=None, reblog=alice_1000, language=None
        ),
        _status(
            3,
            notes[TOOTS[2]]["content"],
            "2023-01-11T10:00:00.000Z",
            in_reply_to_id="111900000000000999",
            in_reply_to_account_id=ALICE["id"],
        ),
        _status(
            2,
            notes[TOOTS[1]]["content"],
            "2023-01-10T09:05:00.000Z",
            in_reply_to_id="110000000000000001",
            in_reply_to_account_id=ACCOUNT["id"],
        ),
        _status(
            1,
            first["content"],
            "2023-01-10T09:00:00.000Z",
            replies_count=1,
            favourites_count=4,
            reblogs_count=2,
            tags=[{"name": "Novosyx", "url": "https://social.example/tags/novosyx"}],
            media_attachments=[
                {
                    "id": "1",
                    "type": "image",
                    "url": API_MEDIA,
                    "description": "The office from outside",
                    "meta": {"original": {"width": 640, "height": 480}},
                }
            ],
        ),
    ]
    return [*statuses, alice_999]


def _serve(server: TestServer, statuses: list[dict[str, Any]]) -> None:
    def reply(data: Any) -> Reply:
        return Reply(json.dumps(data), content_type="application/json")

    ours, alice = statuses[:-1], statuses[-1]
    by_id = {s["id"]: s for s in statuses}
    server.route("/api/v1/accounts/lookup", reply(ACCOUNT))
    server.route(f"/api/v1/accounts/{ACCOUNT['id']}/statuses", reply(ours))
    contexts = {
        "110000000000000001": {"ancestors": [], "descendants": [by_id["110000000000000002"]]},
        "110000000000000002": {"ancestors": [by_id["110000000000000001"]], "descendants": []},
        "110000000000000003": {"ancestors": [alice], "descendants": []},
    }
    for status_id, context in contexts.items():
        server.route(f"/api/v1/statuses/{status_id}/context", reply(context))


def _sync(server: TestServer, archive: Archive) -> None:
    config = SourceConfig(
        name="mastodon",
        type="mastodon",
        options={"account": "@novosyx@social.example", "instance": server.base_url},
    )
    source = MastodonSource(config)

    async def fetch() -> Any:
        async with HttpClient(retries=1, backoff=0.01) as http:
            known = known_posts(archive, "mastodon", "mastodon")
            return await source.fetch(SourceContext(http, {}, known))

    result = asyncio.run(fetch())
    assert not result.warnings
    with archive.transaction():
        store_posts(archive, result.posts, "mastodon")


def test_import_then_sync_of_the_same_account_makes_one_row_per_toot(
    server: TestServer, archive: Archive, tmp_path: Path
) -> None:
    with zipfile.ZipFile(ZIP) as bundle:
        outbox = json.loads(bundle.read("outbox.json"))
    _serve(server, _timeline(outbox))
    do_import(
        archive, "mastodon", ZIP, tmp_path / "media", source="mastodon", source_type="mastodon"
    )
    _sync(server, archive)
    rows = archive.query(
        "SELECT native_id, versions FROM posts WHERE native_id LIKE ?", (f"{ACTOR}/%",)
    )
    assert sorted(r[0] for r in rows) == sorted([*TOOTS, BOOST])
    assert {r[1] for r in rows} == {1}  # the API's content is the export's: no new version
    first, second = post(archive, "mastodon", TOOTS[0]), post(archive, "mastodon", TOOTS[1])
    assert second["in_reply_to"] == first["id"] and first["reply_count"] == 1
    again = do_import(archive, "mastodon", ZIP, tmp_path / "media", source="mastodon")
    assert (again.new, again.updated) == (0, 0)


def test_sync_then_import_adds_the_files_and_nothing_else(
    server: TestServer, archive: Archive, tmp_path: Path
) -> None:
    with zipfile.ZipFile(ZIP) as bundle:
        outbox = json.loads(bundle.read("outbox.json"))
    _serve(server, _timeline(outbox))
    _sync(server, archive)
    count = archive.one("SELECT count(*) FROM posts")[0]  # type: ignore[index]
    report = do_import(archive, "mastodon", ZIP, tmp_path / "media", source="mastodon")
    assert report.new == 0 and report.media_copied == 1
    assert archive.one("SELECT count(*) FROM posts")[0] == count  # type: ignore[index]
    assert archive.one("SELECT max(versions) FROM posts")[0] == 1  # type: ignore[index]
    [media] = archive.query("SELECT url, local_path FROM media")
    assert media["url"] == API_MEDIA and media["local_path"]


# --- one media row for one file, import first or sync first ------------------------------

EMOJI = "https://files.social.example/custom_emojis/images/000/000/001/original/blobcat.png"


def _with_emoji(tmp_path: Path, where: str) -> Path:
    """The export with a custom emoji in a toot or in the profile: its icon is on the media
    host, so the files' upstream URLs can be made from it."""
    emoji = {"type": "Emoji", "name": ":blobcat:", "icon": {"type": "Image", "url": EMOJI}}
    with zipfile.ZipFile(ZIP) as bundle:
        outbox = json.loads(bundle.read("outbox.json"))
        actor = json.loads(bundle.read("actor.json"))
    if where == "toot":
        outbox["orderedItems"][-1]["object"]["tag"].append(emoji)
    else:
        actor["tag"] = [emoji]
    changes: dict[str, bytes | None] = {
        "outbox.json": json.dumps(outbox).encode(),
        "actor.json": json.dumps(actor).encode(),
    }
    return rebuild_zip(ZIP, tmp_path / "emoji.zip", changes)


@pytest.mark.parametrize("where", ["toot", "profile"])
def test_import_then_sync_makes_one_media_row(
    server: TestServer, archive: Archive, tmp_path: Path, where: str
) -> None:
    with zipfile.ZipFile(ZIP) as bundle:
        outbox = json.loads(bundle.read("outbox.json"))
    _serve(server, _timeline(outbox))
    do_import(archive, "mastodon", _with_emoji(tmp_path, where), tmp_path / "media")
    [imported] = archive.query("SELECT url FROM media")
    assert imported["url"] == API_MEDIA  # the media host, not the instance's /system/
    _sync(server, archive)
    [row] = archive.query("SELECT url, local_path FROM media")
    assert row["url"] == API_MEDIA and row["local_path"]


def test_the_media_host_of_files_already_synced_is_used(
    server: TestServer, archive: Archive, tmp_path: Path
) -> None:
    """An account synced before (a recent toot with a photo) tells where its files live;
    an import of its older toots then uses that host, and their later sync matches."""
    recent = Post(
        platform="mastodon",
        native_id=f"{ACTOR}/statuses/120000000000000001",
        content_html="<p>Recent</p>",
        media=(Media(f"https://files.social.example/{MEDIA_PATH[:-4]}9.png", "image"),),
    )
    with archive.transaction():
        store_posts(archive, [recent], "mastodon")
    with zipfile.ZipFile(ZIP) as bundle:
        outbox = json.loads(bundle.read("outbox.json"))
    _serve(server, _timeline(outbox))
    do_import(archive, "mastodon", ZIP, tmp_path / "media")
    _sync(server, archive)
    rows = archive.query("SELECT url FROM media WHERE post_id = ?", (post_id_of(TOOTS[0]),))
    assert [r["url"] for r in rows] == [API_MEDIA]


def test_without_a_hint_the_instance_itself_is_assumed(archive: Archive, tmp_path: Path) -> None:
    """Right for instances that keep files themselves (`/system/`); with a separate media
    host an import before the first sync still makes a second row (see the importer)."""
    do_import(archive, "mastodon", ZIP, tmp_path / "media")
    [row] = archive.query("SELECT url FROM media")
    assert row["url"] == f"https://social.example/system/{MEDIA_PATH}"


def post_id_of(native_id: str) -> str:
    return Post(platform="mastodon", native_id=native_id).id
