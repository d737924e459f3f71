"""SiteWriter: staged writes, the manifest, and an unchanged export that touches nothing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ownfeed.errors import LockedError
from ownfeed.export.writer import MANIFEST, SiteLock, SiteWriter


def export(output: Path, files: dict[str, str], marker: str = "m1") -> SiteWriter:
    writer = SiteWriter(output)
    for path, text in files.items():
        if not writer.fresh(path, f"print-{text}"):
            writer.put_text(path, text, f"print-{text}")
    writer.commit(marker)
    return writer


def listed(output: Path) -> dict[str, str]:
    """The files the manifest lists, as the next export reads them."""
    writer = SiteWriter(output)
    writer.abort()
    return writer.old


def saved(output: Path) -> Any:
    return json.loads((output / MANIFEST).read_text(encoding="utf-8"))


def test_an_unchanged_export_leaves_the_manifest_alone(tmp_path: Path) -> None:
    files = {"index.html": "home", "posts/a.html": "a"}
    export(tmp_path, files)
    manifest = tmp_path / MANIFEST
    before = manifest.stat()
    assert saved(tmp_path)["marker"] == "m1" and set(listed(tmp_path)) == set(files)
    export(tmp_path, files)
    after = manifest.stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


def test_a_new_marker_or_file_rewrites_the_manifest(tmp_path: Path) -> None:
    files = {"index.html": "home"}
    export(tmp_path, files)
    export(tmp_path, files, marker="m2")
    assert saved(tmp_path)["marker"] == "m2"
    export(tmp_path, {**files, "posts/b.html": "b"}, marker="m2")
    assert set(listed(tmp_path)) == {"index.html", "posts/b.html"}
    assert (tmp_path / "posts/b.html").read_text(encoding="utf-8") == "b"


def test_the_manifest_lists_paths_and_prints_as_lines(tmp_path: Path) -> None:
    files = {"posts/b.html": "b", "index.html": "home", "tags/x/1.html": "x"}
    export(tmp_path, files)
    data = saved(tmp_path)
    assert data["format"] == 2 and "files" not in data
    assert data["paths"] == "index.html\nposts/b.html\ntags/x/1.html\n"  # sorted: stable
    assert data["prints"] == "print-home\nprint-b\nprint-x\n"
    assert listed(tmp_path) == {path: f"print-{text}" for path, text in files.items()}
    writer = export(tmp_path, files, marker="m2")
    assert (writer.counts.written, writer.counts.unchanged) == (0, 3)


def test_the_manifest_follows_the_walk_then_new_files_sorted(tmp_path: Path) -> None:
    """The order the next export's walk likely finds them in (faster lookups there)."""
    files = {f"posts/{n}.html": str(n) for n in range(30)}
    export(tmp_path, files)
    more = {**files, "posts/new-b.html": "b", "posts/new-a.html": "a"}
    writer = export(tmp_path, more)
    walked = [path for path in writer.existing if path in files]
    order = [*walked, "posts/new-a.html", "posts/new-b.html"]
    assert saved(tmp_path)["paths"] == "".join(f"{path}\n" for path in order)
    assert saved(tmp_path)["prints"] == "".join(f"print-{more[path]}\n" for path in order)
    assert listed(tmp_path) == {path: f"print-{text}" for path, text in more.items()}


def test_the_manifest_is_sorted_when_the_walk_and_the_staged_files_miss_one(
    tmp_path: Path,
) -> None:
    export(tmp_path, {"b.html": "b", "a.html": "a"})
    writer = SiteWriter(tmp_path)
    assert writer.keep(["a.html", "b.html"])
    writer.new["0.html"] = "not staged, not found"
    writer.commit("m2")
    assert saved(tmp_path)["paths"] == "0.html\na.html\nb.html\n"


def test_a_format_1_manifest_is_read_and_only_its_files_are_deleted(tmp_path: Path) -> None:
    (tmp_path / "posts").mkdir()
    (tmp_path / "index.html").write_text("home", encoding="utf-8")
    (tmp_path / "posts/gone.html").write_text("gone", encoding="utf-8")
    (tmp_path / "notes.txt").write_text("not ours", encoding="utf-8")
    old = {"index.html": "print-home", "posts/gone.html": "print-gone"}
    (tmp_path / MANIFEST).write_text(
        json.dumps({"format": 1, "marker": "m1", "files": old}), encoding="utf-8"
    )
    writer = export(tmp_path, {"index.html": "home"})
    assert (writer.counts.written, writer.counts.unchanged, writer.counts.removed) == (0, 1, 1)
    assert not (tmp_path / "posts/gone.html").exists()
    assert (tmp_path / "notes.txt").read_text(encoding="utf-8") == "not ours"
    assert saved(tmp_path)["format"] == 2 and listed(tmp_path) == {"index.html": "print-home"}


def test_a_format_1_manifest_is_rewritten_even_when_nothing_changed(tmp_path: Path) -> None:
    """Else every later export would read the slow format again."""
    (tmp_path / "index.html").write_text("home", encoding="utf-8")
    old = {"format": 1, "marker": "m1", "files": {"index.html": "print-home"}}
    (tmp_path / MANIFEST).write_text(json.dumps(old), encoding="utf-8")
    export(tmp_path, {"index.html": "home"})
    assert saved(tmp_path)["paths"] == "index.html\n"


ODD = ["odd/tab\there.html", 'odd/quote" and \\ back.html', "odd/ünï cödé ☃.html"]


def test_odd_paths_survive_the_manifest(tmp_path: Path) -> None:
    """A newline in a path makes it the JSON object; other characters stay in the lines."""
    broken = "odd/line\nbreak.html"
    files = {path: f"text {n}" for n, path in enumerate([*ODD, broken])}
    export(tmp_path, files)
    assert isinstance(saved(tmp_path)["files"], dict)
    assert listed(tmp_path) == {path: f"print-{text}" for path, text in files.items()}
    del files[broken]
    export(tmp_path, files)
    assert not (tmp_path / broken).exists()
    assert saved(tmp_path)["paths"].count("\n") == len(ODD)
    assert listed(tmp_path) == {path: f"print-{text}" for path, text in files.items()}
    export(tmp_path, {})
    assert not any((tmp_path / path).exists() for path in ODD)
    assert listed(tmp_path) == {}


@pytest.mark.parametrize(
    "damage",
    [
        '{"format": 2, "paths": "a.html\\nb.html\\n", "prints": "x\\n"}',
        '{"format": 2, "paths": "a.html", "prints": "x"}',
        '{"format": 2, "paths": ["a.html"], "prints": ["x"]}',
        '{"format": 2, "paths": "a.html\\n"}',
        '{"format": 2, "paths": "a.html\\n", "prints": "x\\n"',
        '{"format": 3, "paths": "a.html\\n", "prints": "x\\n"}',
    ],
)
def test_a_damaged_manifest_deletes_nothing(tmp_path: Path, damage: str) -> None:
    (tmp_path / "a.html").write_text("a", encoding="utf-8")
    (tmp_path / MANIFEST).write_text(damage, encoding="utf-8")
    writer = export(tmp_path, {"index.html": "home"})
    assert writer.counts.removed == 0 and (tmp_path / "a.html").exists()
    assert listed(tmp_path) == {"index.html": "print-home"}


def test_the_manifest_shares_the_path_strings_of_the_walk(tmp_path: Path) -> None:
    """One string object per path: a large site has ~100,000 of them."""
    export(tmp_path, {"index.html": "home", "posts/a.html": "a", "posts/b.html": "b"})
    writer = SiteWriter(tmp_path)
    writer.abort()
    assert set(writer.old) == {"index.html", "posts/a.html", "posts/b.html"}
    assert all(path is writer.existing[path] for path in writer.old)


def test_keep_each_keeps_what_is_in_place_and_names_the_rest(tmp_path: Path) -> None:
    export(tmp_path, {"posts/a.html": "a", "posts/b.html": "b", "posts/c.html": "c"})
    (tmp_path / "posts" / "b.html").unlink()
    writer = SiteWriter(tmp_path)
    missing = writer.keep_each(["posts/a.html", "posts/b.html", "posts/new.html"])
    assert missing == ["posts/b.html", "posts/new.html"]
    assert writer.new == {"posts/a.html": "print-a"} and writer.counts.unchanged == 1
    writer.commit("m1")
    assert listed(tmp_path) == {"posts/a.html": "print-a"}  # c and b: not kept, deleted
    assert not (tmp_path / "posts" / "c.html").exists()


def test_one_export_at_a_time_per_site_folder(tmp_path: Path) -> None:
    site = tmp_path / "site"
    export(site, {"index.html": "old"})
    with SiteLock(site):
        running = SiteWriter(site)
        running.put_text("index.html", "new", "print-new")
        with pytest.raises(LockedError, match=f"another export is writing {site}"), SiteLock(site):
            SiteWriter(site)  # never reached: it would remove the running export's staging
        assert running.staging.is_dir()
        running.commit("m2")
    with SiteLock(site):  # released by the first one's `with`
        pass
    assert (site / "index.html").read_text() == "new"
    assert not list(site.glob(".ownfeed-staging-*"))


def test_a_folder_without_locks_is_exported_anyway(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import errno
    import fcntl

    def no_locks(fd: int, operation: int) -> None:
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr(fcntl, "flock", no_locks)
    with SiteLock(tmp_path / "site"):
        export(tmp_path / "site", {"index.html": "home"})
    assert (tmp_path / "site" / "index.html").read_text() == "home"
