"""Read-only queries for the export (`ownfeed.archive.site`)."""

from __future__ import annotations

import itertools
from pathlib import PurePosixPath

from ownfeed.archive import site


def test_media_extension_reads_the_suffix_as_pathlib_does() -> None:
    parts = ["", ".", "..", "a", "b.JPG", ".hidden", "x.tar.gz", "y.", "dir.d", "z.webp"]
    for first, second in itertools.product(parts, repeat=2):
        for path in (f"{first}/{second}", f"{first}/{second}/", f"/{first}//{second}"):
            suffix = PurePosixPath(path).suffix.lower().lstrip(".")
            expected = suffix if site._EXT_RE.match(suffix) else "bin"
            assert site.media_extension(path, None) == expected, path
    assert site.media_extension("photo", "image/png") == "png"
    assert site.media_extension("photo.toolongextension", None) == "bin"
