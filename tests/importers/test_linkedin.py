"""The LinkedIn member export: Shares.csv and Comments.csv, URN ids, irregular quoting."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest

from ownfeed.archive import Archive
from ownfeed.importers.linkedin import urn
from tests.importers import (
    DATA,
    do_import,
    import_error,
    pairs,
    post,
    rebuild_zip,
    write_zip,
)

ZIP = DATA / "linkedin.zip"
#: an export archived before each failing import, which must leave it as it was
OTHER = ("twitter", DATA / "twitter.zip")
FOLDER = "Basic_LinkedInDataExport_01-01-2024"
SHARE = "urn:li:share:7012345678901234567"
UGC = "urn:li:ugcPost:7023456789012345678"


def test_imports_shares_and_comments(archive: Archive, tmp_path: Path) -> None:
    report = do_import(archive, "linkedin", ZIP, tmp_path / "media")
    assert (report.new, report.media_copied) == (4, 0)
    assert report.warnings == ["skipped 1 posts visible to connections only"]
    kinds = pairs(archive, "SELECT native_id, kind FROM posts WHERE platform = 'linkedin'")
    assert kinds == {
        SHARE: "post",
        UGC: "repost",
        "comment/2023-01-05 12:00:00/ef998aaf6f": "reply",
        "comment/2023-01-08 08:15:00/70c2960e0f": "reply",
    }
    assert archive.one("SELECT 1 FROM posts WHERE native_id LIKE '%70345'") is None


def test_share_fields_and_quoting(archive: Archive, tmp_path: Path) -> None:
    do_import(archive, "linkedin", ZIP, tmp_path / "media")
    share = post(archive, "linkedin", SHARE)
    assert share["content_text"] == 'We are hiring! Join us, "the" team.\n\n#hiring #Novosyx'
    assert share["content_html"] == (
        "<p>We are hiring! Join us, &quot;the&quot; team.</p>\n<p>#hiring #Novosyx</p>"
    )
    assert share["url"] == (
        "https://www.linkedin.com/feed/update/urn%3Ali%3Ashare%3A7012345678901234567"
    )
    assert share["published_at"] == "2023-01-05T10:00:00+00:00"
    tags = archive.query("SELECT tag FROM post_tags WHERE post_id = ? ORDER BY tag", (share["id"],))
    assert [t[0] for t in tags] == ["Novosyx", "hiring"]
    [media] = archive.query("SELECT url, kind, local_path FROM media")
    assert tuple(media) == ("https://media.licdn.com/dms/image/C4D22AQ/photo.jpg", "image", None)
    repost = post(archive, "linkedin", UGC)
    assert repost["content_text"] == "https://novosyx.example/blog/launch"
    author = archive.one("SELECT * FROM authors WHERE id = ?", (share["author_id"],))
    assert author is not None
    assert (author["handle"], author["name"], author["url"]) == (
        "novosyx",
        "Nova Syx",
        "https://www.linkedin.com/in/novosyx",
    )


def test_comments_thread_under_our_share(archive: Archive, tmp_path: Path) -> None:
    do_import(archive, "linkedin", ZIP, tmp_path / "media")
    share = post(archive, "linkedin", SHARE)
    ours = post(archive, "linkedin", "comment/2023-01-05 12:00:00/ef998aaf6f")
    assert (ours["in_reply_to"], ours["thread_root"]) == (share["id"], share["id"])
    elsewhere = post(archive, "linkedin", "comment/2023-01-08 08:15:00/70c2960e0f")
    assert elsewhere["content_text"] == 'Congrats to the "tea, Earl Grey" team,\n\nwell done.'
    assert elsewhere["in_reply_to_native"] == "urn:li:activity:7040"
    assert elsewhere["in_reply_to_url"].endswith("urn%3Ali%3Aactivity%3A7040")


@pytest.mark.parametrize(
    ("link", "expected"),
    [
        ("https://www.linkedin.com/feed/update/urn%3Ali%3Ashare%3A70123", "urn:li:share:70123"),
        ("https://www.linkedin.com/feed/update/urn:li:activity:70123/", "urn:li:activity:70123"),
        (
            "https://www.linkedin.com/posts/novosyx_hiring-activity-7012345678901234567-AbCd",
            "urn:li:activity:7012345678901234567",
        ),
        ("https://example.com/somewhere", None),
        ("", None),
    ],
)
def test_urns_from_links(link: str, expected: str | None) -> None:
    assert urn(link) == expected


def test_the_complete_export_names_and_older_columns(archive: Archive, tmp_path: Path) -> None:
    """`Shares_<member id>.csv` without MediaUrl and Visibility; a BOM; CRLF line ends."""
    shares = (
        "\ufeffDate,ShareLink,ShareCommentary,SharedUrl\r\n"
        "2019-03-01 08:00:00,https://www.linkedin.com/feed/update/urn:li:activity:650,"
        '"Line one\r\nline two",\r\n'
    )
    path = write_zip(tmp_path / "Complete.zip", {"Shares_155814142.csv": shares.encode()})
    report = do_import(archive, "linkedin", path, tmp_path / "media")
    assert report.new == 1
    share = post(archive, "linkedin", "urn:li:activity:650")
    assert share["content_text"] == "Line one\nline two"
    assert share["author_id"] is None


def test_reimport_and_a_later_export(archive: Archive, tmp_path: Path) -> None:
    do_import(archive, "linkedin", ZIP, tmp_path / "media")
    with zipfile.ZipFile(ZIP) as bundle:
        shares = bundle.read(f"{FOLDER}/Shares.csv").decode()
    later = (
        shares
        + "2023-02-01 09:00:00,https://www.linkedin.com/feed/update/urn:li:share:80,New,,,PUBLIC\n"
    )
    path = rebuild_zip(ZIP, tmp_path / "later.zip", {f"{FOLDER}/Shares.csv": later.encode()})
    report = do_import(archive, "linkedin", path, tmp_path / "media")
    assert (report.new, report.updated, report.unchanged) == (1, 0, 4)


# --- unknown layouts and broken files: one line, nothing written ---------------------------


def test_an_unknown_layout_says_what_was_expected_and_found(
    archive: Archive, tmp_path: Path
) -> None:
    path = write_zip(
        tmp_path / "li.zip", {"Posts/posts.json": b"[]", "Profile.csv": b"First Name\n"}
    )
    message = import_error(archive, "linkedin", path, tmp_path, over=OTHER)
    assert message == (
        "li.zip: not a LinkedIn export in a known layout: expected posts in Shares.csv "
        "(all years) or Shares_1.csv (complete export); comments in Comments.csv (all years) "
        "or Comments_1.csv (complete export); found 2 file(s): Profile.csv, Posts/posts.json"
    )


@pytest.mark.parametrize(
    ("member", "content", "expected"),
    [
        (
            "Shares.csv",
            b"When,Link,Text\n2023-01-01,x,y\n",
            "li.zip:Shares.csv: expected the columns Date, ShareLink, ShareCommentary, "
            "found When, Link, Text",
        ),
        (
            "Comments.csv",
            b"Date,Link,Message\n2023-01-01,https://x,a,b,c\n",
            "li.zip:Comments.csv: row 2: 5 fields for 3 columns",
        ),
        ("Shares.csv", b"\xff\xfeD\x00a\x00", "li.zip:Shares.csv: not UTF-8"),
        ("Comments.csv", b"", "li.zip:Comments.csv: expected the columns Date, Link, Message"),
    ],
)
def test_a_broken_file_names_the_file_and_row(
    archive: Archive, tmp_path: Path, member: str, content: bytes, expected: str
) -> None:
    path = write_zip(tmp_path / "li.zip", {member: content})
    assert import_error(archive, "linkedin", path, tmp_path, over=OTHER).startswith(expected)
