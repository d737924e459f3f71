from click.testing import CliRunner

from ownfeed.archive import Archive
from ownfeed.cli import cli


def test_demo_syncs_the_sample_company(tmp_path):
    folder = tmp_path / "demo"
    result = CliRunner().invoke(cli, ["demo", str(folder)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "blog" in result.output and "Synced in" in result.output
    with Archive(folder / "archive.db") as archive:
        blog = archive.query("SELECT * FROM posts WHERE source = 'blog'")
        assert sum(1 for p in blog if p["is_own"]) == 5
        replies = [p for p in blog if not p["is_own"]]
        assert replies and all(p["in_reply_to"] for p in replies)
        nested = archive.one(
            "SELECT count(*) FROM posts"
            " WHERE in_reply_to IN (SELECT id FROM posts WHERE is_own = 0)"
        )[0]
        assert nested >= 2  # comments answering comments
        assert archive.one("SELECT count(*) FROM posts WHERE kind = 'pingback'")[0] == 1
        assert archive.one("SELECT count(*) FROM media WHERE local_path IS NOT NULL")[0] >= 2
    with Archive(folder / "archive.db") as archive:
        before = archive.one("SELECT count(*), sum(versions) FROM posts")[:]
    again = CliRunner().invoke(cli, ["demo", str(folder)], catch_exceptions=False)
    assert again.exit_code == 0  # a second demo run (on another port) reuses the archive
    with Archive(folder / "archive.db") as archive:
        assert archive.one("SELECT count(*), sum(versions) FROM posts")[:] == before
