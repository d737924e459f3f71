"""The Bluesky repository export (CAR): post records with replies, facets and images."""

from __future__ import annotations

import hashlib
import zipfile
from pathlib import Path

import libipld
import pytest

from ownfeed.archive import Archive
from ownfeed.errors import ParseError
from tests.importers import DATA, do_import, import_error, pairs, post, snapshot

CAR = DATA / "bluesky.car"
DID = "did:plc:n0v0syx4testrepo5abc2def"
OTHER = "did:plc:0therpers0n4test5abc2def"
FIRST = f"at://{DID}/app.bsky.feed.post/3kbzfirst2222"
SECOND = f"at://{DID}/app.bsky.feed.post/3kbzsecond222"
THIRD = f"at://{DID}/app.bsky.feed.post/3kbzthird2222"
PHOTO = f"at://{DID}/app.bsky.feed.post/3kbzphoto2222"


def test_every_post_record_of_the_tree_is_imported(archive: Archive, tmp_path: Path) -> None:
    report = do_import(archive, "bluesky", CAR, tmp_path / "media")
    assert (report.new, report.updated, report.unchanged) == (4, 0, 0)  # no likes, no follows
    kinds = pairs(archive, "SELECT native_id, kind FROM posts")
    assert kinds == {FIRST: "post", SECOND: "reply", THIRD: "reply", PHOTO: "post"}
    row = archive.one("SELECT type, locator FROM sources WHERE name = 'bluesky-import'")
    assert row is not None and tuple(row) == ("import", DID)


def test_text_facets_and_tags(archive: Archive, tmp_path: Path) -> None:
    do_import(archive, "bluesky", CAR, tmp_path / "media")
    first = post(archive, "bluesky", FIRST)
    assert first["content_text"] == "Our office is open! Details: novosyx.example/office #Novosyx"
    assert 'href="https://novosyx.example/office"' in first["content_html"]
    assert (first["language"], first["published_at"]) == ("en", "2024-02-01T09:00:00+00:00")
    assert first["url"] == f"https://bsky.app/profile/{DID}/post/3kbzfirst2222"
    tags = archive.query("SELECT tag FROM post_tags WHERE post_id = ?", (first["id"],))
    assert [t[0] for t in tags] == ["Novosyx"]
    author = archive.one("SELECT handle, name FROM authors WHERE id = ?", (first["author_id"],))
    assert author is not None and tuple(author) == (DID, "Novosyx")
    assert post(archive, "bluesky", SECOND)["content_text"] == "Coffee is on us — all week ☕"


def test_reply_references(archive: Archive, tmp_path: Path) -> None:
    do_import(archive, "bluesky", CAR, tmp_path / "media")
    first, second, third = (post(archive, "bluesky", uri) for uri in (FIRST, SECOND, THIRD))
    assert second["in_reply_to"] == first["id"] and second["thread_root"] == first["id"]
    assert third["in_reply_to_native"] == f"at://{OTHER}/app.bsky.feed.post/3kaaparent222"
    assert third["in_reply_to_url"] == f"https://bsky.app/profile/{OTHER}/post/3kaaparent222"
    assert third["thread_root"] != third["id"]  # the root is the other account's post


def test_images_are_media_rows_for_the_next_sync(archive: Archive, tmp_path: Path) -> None:
    do_import(archive, "bluesky", CAR, tmp_path / "media")
    [row] = archive.query("SELECT * FROM media")
    digest = hashlib.sha256(b"fake-jpeg-bytes").digest()
    blob = libipld.encode_cid(bytes([1, 0x55, 0x12, 0x20]) + digest)
    assert row["url"] == f"https://cdn.bsky.app/img/feed_fullsize/plain/{DID}/{blob}@jpeg"
    assert (row["alt"], row["mime"], row["local_path"]) == ("Desks by a window", "image/jpeg", None)


def test_the_configured_handle_names_the_account(archive: Archive, tmp_path: Path) -> None:
    archive.conn.execute(
        "INSERT INTO sources (name, type, locator) "
        "VALUES ('bsky', 'bluesky', 'novosyx.bsky.social')"
    )
    do_import(archive, "bluesky", CAR, tmp_path / "media", source="bsky", source_type="bluesky")
    first = post(archive, "bluesky", FIRST)
    assert first["url"] == "https://bsky.app/profile/novosyx.bsky.social/post/3kbzfirst2222"
    assert first["source"] == "bsky"


def test_reimport_changes_nothing(archive: Archive, tmp_path: Path) -> None:
    do_import(archive, "bluesky", CAR, tmp_path / "media")
    before = snapshot(archive, ignore=("last_seen_at",))
    report = do_import(archive, "bluesky", CAR, tmp_path / "media")
    assert (report.new, report.updated, report.unchanged) == (0, 0, 4)
    assert snapshot(archive, ignore=("last_seen_at",)) == before


def test_a_car_inside_a_zip(archive: Archive, tmp_path: Path) -> None:
    bundle = tmp_path / "repo.zip"
    with zipfile.ZipFile(bundle, "w") as out:
        out.write(CAR, "repo.car")
    assert do_import(archive, "bluesky", bundle, tmp_path / "media").new == 4


def _varint(data: bytes, at: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[at]
        value |= (byte & 0x7F) << shift
        at, shift = at + 1, shift + 7
        if not byte & 0x80:
            return value, at


def _sections(data: bytes) -> list[bytes]:
    """The CAR's length-prefixed sections: the header, then one per block."""
    found, at = [], 0
    while at < len(data):
        size, start = _varint(data, at)
        found.append(data[at : start + size])
        at = start + size
    return found


def _without_block(data: bytes, index: int) -> bytes:
    sections = _sections(data)
    return b"".join(s for n, s in enumerate(sections) if n != index)


def _header_only(roots: list[bytes]) -> bytes:
    header = libipld.encode_dag_cbor({"roots": roots, "version": 1})
    return bytes([len(header)]) + header


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (CAR.read_bytes()[:-40], "not a readable CAR file"),
        (b"hello, not a car", "not a readable CAR file"),
        (_without_block(CAR.read_bytes(), 1), "no signed commit at the CAR root"),
        (_header_only([bytes([1, 0x71, 0x12, 0x20]) + bytes(32)]), "no signed commit"),
    ],
)
def test_broken_repositories_are_refused(
    archive: Archive, tmp_path: Path, data: bytes, expected: str
) -> None:
    path = tmp_path / "repo.car"
    path.write_bytes(data)
    message = import_error(archive, "bluesky", path, tmp_path)
    assert message.startswith("repo.car: ") and expected in message


def test_a_missing_tree_block_is_a_truncated_export(archive: Archive, tmp_path: Path) -> None:
    data = CAR.read_bytes()
    _, blocks = libipld.decode_car(data)
    leaves = [cid for cid, block in blocks.items() if isinstance(block, dict) and "e" in block]
    leaf = next(cid for cid in leaves if blocks[cid]["l"] is None)  # a subtree, not the root
    kept = [s for s in _sections(data) if s[_varint(s, 0)[1] :][: len(leaf)] != leaf]
    assert len(kept) == len(_sections(data)) - 1
    path = tmp_path / "repo.car"
    path.write_bytes(b"".join(kept))
    with pytest.raises(ParseError, match="a block of the record tree is missing: truncated"):
        do_import(archive, "bluesky", path, tmp_path / "media")
