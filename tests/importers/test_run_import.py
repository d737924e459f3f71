"""run_import as a whole: attribution, atomicity, hostile archives, idempotency, media."""

from __future__ import annotations

import importlib.util
import json
import os
import stat
import zipfile
from pathlib import Path

import pytest

from ownfeed.archive import Archive
from ownfeed.errors import ConfigError, ParseError
from ownfeed.importers import IMPORTERS
from tests.importers import DATA, EXPORTS, do_import, pairs, post, rebuild_zip, snapshot

TWITTER = DATA / "twitter.zip"


def test_every_kind_has_an_importer_and_a_fixture() -> None:
    assert set(IMPORTERS) == set(EXPORTS)


@pytest.mark.parametrize("kind", sorted(EXPORTS))
def test_reimport_of_every_kind_adds_no_row_and_no_version(
    archive: Archive, tmp_path: Path, kind: str
) -> None:
    first = do_import(archive, kind, EXPORTS[kind], tmp_path / "media")
    assert first.new > 0 and first.posts == first.new
    before = snapshot(archive, ignore=("last_seen_at",))
    again = do_import(archive, kind, EXPORTS[kind], tmp_path / "media")
    assert (again.new, again.updated, again.gone, again.versions, again.media_copied) == (0,) * 5
    assert again.unchanged == first.new
    assert snapshot(archive, ignore=("last_seen_at",)) == before


def test_posts_go_to_the_named_source_or_to_an_import_source(
    archive: Archive, tmp_path: Path
) -> None:
    do_import(
        archive,
        "wordpress",
        EXPORTS["wordpress"],
        tmp_path / "m",
        source="blog",
        source_type="wordpress",
    )
    do_import(archive, "twitter", TWITTER, tmp_path / "m")
    sources = {tuple(r) for r in archive.query("SELECT name, type FROM sources")}
    assert sources == {("blog", "wordpress"), ("twitter-import", "import")}
    counts = pairs(archive, "SELECT source, count(*) FROM posts GROUP BY source")
    assert counts == {"blog": 9, "twitter-import": 8}


def test_a_named_source_keeps_its_configured_type(archive: Archive, tmp_path: Path) -> None:
    archive.conn.execute(
        "INSERT INTO sources (name, type, locator) VALUES ('blog', 'feed', 'https://x/')"
    )
    do_import(archive, "wordpress", EXPORTS["wordpress"], tmp_path / "m", source="blog")
    row = archive.one("SELECT type, locator FROM sources WHERE name = 'blog'")
    assert row is not None and tuple(row) == ("feed", "https://x/")


def test_unknown_kind_and_missing_path(archive: Archive, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown import kind 'myspace'"):
        do_import(archive, "myspace", TWITTER, tmp_path / "m")
    with pytest.raises(ParseError, match="no such file or folder"):
        do_import(archive, "twitter", tmp_path / "nothing.zip", tmp_path / "m")


def test_the_wrong_kind_says_what_it_expected(archive: Archive, tmp_path: Path) -> None:
    with pytest.raises(ParseError, match=r"twitter.zip: no WordPress export \(.xml\) found"):
        do_import(archive, "wordpress", TWITTER, tmp_path / "m")
    with pytest.raises(ParseError, match="not a Mastodon export"):
        do_import(archive, "mastodon", TWITTER, tmp_path / "m")


# --- atomic: a broken archive writes nothing --------------------------------------------------


def _zip_with(tmp_path: Path, name: str, *, mode: int = 0o644, data: bytes = b"x") -> Path:
    target = rebuild_zip(TWITTER, tmp_path / "evil.zip")
    with zipfile.ZipFile(target, "a") as bundle:
        info = zipfile.ZipInfo(name)
        info.external_attr = mode << 16
        bundle.writestr(info, data)
    return target


def _truncated(tmp_path: Path) -> Path:
    target = tmp_path / "evil.zip"
    target.write_bytes(TWITTER.read_bytes()[: TWITTER.stat().st_size // 2])
    return target


def _corrupt_media(tmp_path: Path) -> Path:
    """A media member whose bytes no longer match its CRC: found only when it is copied."""
    stored = tmp_path / "stored.zip"
    with zipfile.ZipFile(stored, "w", zipfile.ZIP_STORED) as out, zipfile.ZipFile(TWITTER) as old:
        for item in old.infolist():
            out.writestr(item.filename, old.read(item))
    data = bytearray(stored.read_bytes())
    marker = b"fake-jpeg-office"
    at = data.index(marker)
    data[at : at + len(marker)] = marker.upper()
    target = tmp_path / "evil.zip"
    target.write_bytes(bytes(data))
    return target


BROKEN = {
    "truncated zip": (_truncated, "not a readable zip archive"),
    "zip slip": (
        lambda p: _zip_with(p, "data/../../evil.js"),
        "unsafe entry name 'data/../../evil.js'",
    ),
    "absolute name": (
        lambda p: _zip_with(p, "/etc/cron.d/evil"),
        "unsafe entry name '/etc/cron.d/evil'",
    ),
    "windows path": (lambda p: _zip_with(p, "..\\..\\evil.js"), "unsafe entry name"),
    "drive letter": (lambda p: _zip_with(p, "C:/evil.js"), "unsafe entry name"),
    "symlink member": (
        lambda p: _zip_with(
            p, "data/tweets_media/link.jpg", mode=stat.S_IFLNK | 0o777, data=b"/etc/passwd"
        ),
        "is a symlink",
    ),
    "duplicate member": (lambda p: _zip_with(p, "data/tweets.js", data=b"[]"), "appears twice"),
    "bad json": (
        lambda p: rebuild_zip(
            TWITTER, p / "evil.zip", {"data/tweets.js": b"window.YTD.tweets.part0 = [{"}
        ),
        "evil.zip:data/tweets.js: invalid JSON",
    ),
    "corrupt media": (
        _corrupt_media,
        "evil.zip:data/tweets_media/1598000000000000020-FjOffice01.jpg",
    ),
}


@pytest.mark.filterwarnings("ignore:Duplicate name")
@pytest.mark.parametrize("case", sorted(BROKEN))
def test_a_broken_archive_changes_nothing(archive: Archive, tmp_path: Path, case: str) -> None:
    do_import(archive, "wordpress", EXPORTS["wordpress"], tmp_path / "media")
    before = snapshot(archive)
    media_before = sorted((tmp_path / "media").rglob("*"))
    build, expected = BROKEN[case]
    with pytest.raises(ParseError) as error:
        do_import(archive, "twitter", build(tmp_path), tmp_path / "media")
    message = str(error.value)
    assert expected in message and "\n" not in message
    assert snapshot(archive) == before
    assert sorted((tmp_path / "media").rglob("*")) == media_before
    assert not (tmp_path / "evil.js").exists()


def test_a_symlink_in_an_export_folder_is_refused(archive: Archive, tmp_path: Path) -> None:
    folder = tmp_path / "export" / "data"
    folder.mkdir(parents=True)
    with zipfile.ZipFile(TWITTER) as bundle:
        (folder / "tweets.js").write_bytes(bundle.read("data/tweets.js"))
    (folder / "tweets_media").mkdir()
    secret = tmp_path / "secret.jpg"
    secret.write_bytes(b"not yours")
    os.symlink(secret, folder / "tweets_media" / "1598000000000000020-FjOffice01.jpg")
    with pytest.raises(
        ParseError, match=r"'data/tweets_media/1598000000000000020-FjOffice01\.jpg' is a symlink"
    ):
        do_import(archive, "twitter", tmp_path / "export", tmp_path / "media")
    assert archive.one("SELECT count(*) FROM posts")[0] == 0  # type: ignore[index]
    assert not (tmp_path / "media").exists()


# --- media and deletions across imports ---------------------------------------------------------


def test_media_are_named_by_content_never_by_the_archive(archive: Archive, tmp_path: Path) -> None:
    do_import(archive, "twitter", TWITTER, tmp_path / "media")
    do_import(archive, "mastodon", EXPORTS["mastodon"], tmp_path / "media")
    files = sorted(p for p in (tmp_path / "media").rglob("*") if p.is_file())
    rows = archive.query("SELECT sha256, local_path FROM media WHERE local_path IS NOT NULL")
    assert len(files) == len(rows) == 2
    for row in rows:
        assert Path(row["local_path"]).stem == row["sha256"]
        assert (tmp_path / "media" / row["local_path"]) in files


def test_a_later_export_marks_a_tweet_deleted_since(archive: Archive, tmp_path: Path) -> None:
    with zipfile.ZipFile(TWITTER) as bundle:
        deleted = json.loads(bundle.read("data/deleted-tweets.js").decode().split("=", 1)[1])
        tweets = json.loads(bundle.read("data/tweets.js").decode().split("=", 1)[1])
    body = f"window.YTD.tweets.part0 = {json.dumps(tweets + deleted)}".encode()
    older = rebuild_zip(
        TWITTER, tmp_path / "older.zip", {"data/tweets.js": body, "data/deleted-tweets.js": None}
    )
    first = do_import(archive, "twitter", older, tmp_path / "media")
    assert (first.new, first.gone) == (8, 0)
    assert post(archive, "twitter", "1598000000000000030")["gone_at"] is None
    second = do_import(archive, "twitter", TWITTER, tmp_path / "media")
    assert (second.new, second.gone) == (0, 1)
    assert post(archive, "twitter", "1598000000000000030")["gone_at"] == "2022-12-05T09:10:00+00:00"


def test_the_summary_line(archive: Archive, tmp_path: Path) -> None:
    report = do_import(archive, "twitter", TWITTER, tmp_path / "media")
    assert str(report) == (
        "8 new, 0 updated, 0 unchanged, 1 gone, 1 earlier version(s); 1 media file(s) copied"
    )


def test_the_callers_account_names_an_account_the_export_does_not(
    archive: Archive, tmp_path: Path
) -> None:
    from ownfeed.importers import run_import
    from ownfeed.media import MediaStore

    run_import(
        archive,
        "bluesky",
        EXPORTS["bluesky"],
        source="bluesky",
        source_type="bluesky",
        media_store=MediaStore(tmp_path / "media"),
        account="novosyx.bsky.social",
    )
    row = archive.one("SELECT url FROM posts WHERE native_id LIKE '%3kbzfirst2222'")
    assert row is not None
    assert row[0] == "https://bsky.app/profile/novosyx.bsky.social/post/3kbzfirst2222"


def test_a_linked_export_folder_is_followed(archive: Archive, tmp_path: Path) -> None:
    """The folder the user names may be a link; only links inside the export are refused."""
    folder = tmp_path / "export" / "data"
    folder.mkdir(parents=True)
    with zipfile.ZipFile(TWITTER) as bundle:
        (folder / "tweets.js").write_bytes(bundle.read("data/tweets.js"))
    os.symlink(tmp_path / "export", tmp_path / "latest")
    assert do_import(archive, "twitter", tmp_path / "latest", tmp_path / "media").new == 7


def test_an_old_tar_gz_mastodon_export_says_what_to_do(archive: Archive, tmp_path: Path) -> None:
    path = tmp_path / "archive-20200101.tar.gz"
    path.write_bytes(b"\x1f\x8b\x08\x00" + bytes(20))
    with pytest.raises(ParseError, match=r"unpack a \.tar\.gz export and import its folder"):
        do_import(archive, "mastodon", path, tmp_path / "media")


def test_the_committed_fixtures_are_what_the_script_makes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    spec = importlib.util.spec_from_file_location("make_fixtures", DATA / "make_fixtures.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    monkeypatch.setattr(module, "HERE", tmp_path)
    builds = (module.twitter, module.mastodon, module.wordpress, module.bluesky)
    for build in (*builds, module.facebook, module.instagram, module.linkedin):
        build()
    for name in ("wordpress.xml", "bluesky.car"):
        assert (tmp_path / name).read_bytes() == (DATA / name).read_bytes(), name
    zips = ("twitter.zip", "mastodon.zip", "facebook.zip", "instagram.zip", "linkedin.zip")
    for name in zips:  # compressed bytes may vary with zlib
        with zipfile.ZipFile(tmp_path / name) as made, zipfile.ZipFile(DATA / name) as kept:
            assert made.namelist() == kept.namelist()
            assert all(made.read(n) == kept.read(n) for n in kept.namelist()), name
