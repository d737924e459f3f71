import pytest

from ownfeed.media import MediaStore, extension_for


def test_files_are_named_by_content(tmp_path):
    store = MediaStore(tmp_path)
    first = store.store(b"same bytes", "image/png", "https://x/../../etc/passwd")
    second = store.store(b"same bytes", "image/png", "https://y/other-name.png")
    assert first == second
    assert first.local_path == f"{first.sha256[:2]}/{first.sha256}.png"
    assert (tmp_path / first.local_path).read_bytes() == b"same bytes"
    assert sorted(p.name for p in tmp_path.rglob("*") if p.is_file()) == [first.sha256 + ".png"]


@pytest.mark.parametrize(
    "mime, url, expected",
    [
        ("image/jpeg", None, ".jpg"),
        (None, "https://x/a/photo.WEBP?size=large", ".webp"),
        (None, "https://x/../../evil.sh/..", ".bin"),
        ("application/x-unknown-thing", "https://x/file.tar.gz/../x", ".bin"),
        (None, "https://x/name.with/slash%2F..%2Fup", ".bin"),
        ("text/html; charset=utf-8", None, ".html"),
    ],
)
def test_extensions_never_carry_paths(mime, url, expected):
    assert extension_for(mime, url) == expected


@pytest.mark.parametrize("path", ["../outside.png", "/etc/passwd", "ab/../../x"])
def test_paths_cannot_leave_the_media_folder(tmp_path, path):
    with pytest.raises(ValueError):
        MediaStore(tmp_path / "media").path_of(path)
