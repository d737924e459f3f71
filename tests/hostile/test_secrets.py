"""A token named by `token_env` is used, and never lands in the archive, output or errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from ownfeed.cli import cli
from tests.httpserver import Reply
from tests.sources.test_mastodon import Instance

TOKEN = "tok-3f9a1c7e-never-print-me"


def write_config(tmp_path: Path, instance_url: str) -> Path:
    config = tmp_path / "ownfeed.toml"
    config.write_text(
        f"""[[sources]]
name = "mastodon"
type = "mastodon"
account = "@novosyx@social.example"
instance = "{instance_url}"
token_env = "OWNFEED_TEST_TOKEN"
""",
        encoding="utf-8",
    )
    return config


def everything_written(tmp_path: Path) -> bytes:
    return b"".join(path.read_bytes() for path in tmp_path.rglob("*") if path.is_file())


def test_token_is_sent_but_never_stored_or_printed(tmp_path, server, monkeypatch):
    monkeypatch.setenv("OWNFEED_TEST_TOKEN", TOKEN)
    Instance(server)
    config = write_config(tmp_path, server.base_url)
    runner = CliRunner()
    outputs = []
    for args in (["sync", "--json"], ["sync", "--verify"], ["status", "--json"], ["sources"]):
        result = runner.invoke(cli, ["-c", str(config), *args])
        outputs.append(result.output)
        assert result.exit_code == 0, result.output
    sent = {r.headers.get("authorization") for r in server.requests}
    assert f"Bearer {TOKEN}" in sent  # the token was really used
    assert all(TOKEN not in text for text in outputs)
    assert TOKEN.encode() not in everything_written(tmp_path)
    data = json.loads(outputs[2])
    assert data["totals"]["posts"] > 0


@pytest.mark.parametrize("status", [401, 500])
def test_failures_do_not_leak_the_token(tmp_path, server, monkeypatch, status):
    monkeypatch.setenv("OWNFEED_TEST_TOKEN", TOKEN)
    body = json.dumps({"error": f"bad token {TOKEN}"})  # even a server echoing it back
    server.route("/api/v1/accounts/lookup", Reply(body, status=status))
    config = write_config(tmp_path, server.base_url)
    result = CliRunner().invoke(cli, ["-c", str(config), "sync", "--json"])
    assert result.exit_code == 1
    assert TOKEN not in result.output
    assert TOKEN.encode() not in everything_written(tmp_path)
    report = json.loads(result.output)
    assert report["sources"][0]["error"]


def test_missing_token_variable_is_a_clear_error(tmp_path, server, monkeypatch):
    monkeypatch.delenv("OWNFEED_TEST_TOKEN", raising=False)
    Instance(server)
    config = write_config(tmp_path, server.base_url)
    result = CliRunner().invoke(cli, ["-c", str(config), "sync", "--quiet"])
    assert result.exit_code == 1
    assert "OWNFEED_TEST_TOKEN" in result.output
