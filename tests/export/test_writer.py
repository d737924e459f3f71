"""SiteWriter: staged writes, the manifest, and an unchanged export that touches nothing."""

from __future__ import annotations

import json
from pathlib import Path

from ownfeed.export.writer import MANIFEST, SiteWriter


def export(output: Path, files: dict[str, str], marker: str = "m1") -> SiteWriter:
    writer = SiteWriter(output)
    for path, text in files.items():
        if not writer.fresh(path, f"print-{text}"):
            writer.put_text(path, text, f"print-{text}")
    writer.commit(marker)
    return writer


def test_an_unchanged_export_leaves_the_manifest_alone(tmp_path: Path) -> None:
    files = {"index.html": "home", "posts/a.html": "a"}
    export(tmp_path, files)
    manifest = tmp_path / MANIFEST
    before = manifest.stat()
    saved = json.loads(manifest.read_text(encoding="utf-8"))
    assert saved["marker"] == "m1" and set(saved["files"]) == set(files)
    export(tmp_path, files)
    after = manifest.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


def test_a_new_marker_or_file_rewrites_the_manifest(tmp_path: Path) -> None:
    files = {"index.html": "home"}
    export(tmp_path, files)
    export(tmp_path, files, marker="m2")
    assert json.loads((tmp_path / MANIFEST).read_text(encoding="utf-8"))["marker"] == "m2"
    export(tmp_path, {**files, "posts/b.html": "b"}, marker="m2")
    saved = json.loads((tmp_path / MANIFEST).read_text(encoding="utf-8"))
    assert set(saved["files"]) == {"index.html", "posts/b.html"}
    assert (tmp_path / "posts/b.html").read_text(encoding="utf-8") == "b"
