"""Read-only queries for the export (`ownfeed.archive.site`)."""

from __future__ import annotations

import itertools
from pathlib import Path, PurePosixPath

from ownfeed.archive import site
from tests.export.test_model import _generated


def test_media_extension_reads_the_suffix_as_pathlib_does() -> None:
    parts = ["", ".", "..", "a", "b.JPG", ".hidden", "x.tar.gz", "y.", "dir.d", "z.webp"]
    for first, second in itertools.product(parts, repeat=2):
        for path in (f"{first}/{second}", f"{first}/{second}/", f"/{first}//{second}"):
            suffix = PurePosixPath(path).suffix.lower().lstrip(".")
            expected = suffix if site._EXT_RE.match(suffix) else "bin"
            assert site.media_extension(path, None) == expected, path
    assert site.media_extension("photo", "image/png") == "png"
    assert site.media_extension("photo.toolongextension", None) == "bin"


def test_bucket_prints_read_in_one_row_equal_a_row_per_bucket(tmp_path: Path) -> None:
    """The one-row read and its fallback (a value holding its separator) give the prints
    of the texts SQLite joins per bucket."""
    archive = _generated(tmp_path, 90)

    def per_bucket() -> bytes:
        return b"".join(site.print_of(text) for (text,) in site._rows(archive, site._BUCKETS_SQL))

    assert len(site.bucket_prints(archive)) == site.PRINT_SIZE * (90 // 8 + 1)
    assert site.bucket_prints(archive) == per_bucket()
    archive.conn.execute("UPDATE posts SET kind = 'odd\x1dkind' WHERE rowid = 17")
    assert site.bucket_prints(archive) == per_bucket()
    archive.conn.execute("DELETE FROM posts WHERE rowid BETWEEN 20 AND 40")  # empty buckets
    assert site.bucket_prints(archive) == per_bucket()
