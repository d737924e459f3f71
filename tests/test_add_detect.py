"""`ownfeed add` recognising each platform from the URL a user would paste."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from ownfeed.add import detect_source, platform_entry
from ownfeed.cli import cli
from ownfeed.config import load_config
from tests.httpserver import Reply, TestServer


def detect(target: str, type_: str | None = None) -> dict[str, Any]:
    return asyncio.run(detect_source(target, type_=type_, timeout=5))


@pytest.mark.parametrize(
    ("url", "entry"),
    [
        (
            "https://www.youtube.com/channel/UCnovosyx0000000000000A1",
            {"type": "youtube", "url": "https://www.youtube.com/channel/UCnovosyx0000000000000A1"},
        ),
        (
            "youtube.com/@Novosyx/videos",
            {"type": "youtube", "url": "https://www.youtube.com/@Novosyx"},
        ),
        (
            "https://m.youtube.com/c/novosyx",
            {"type": "youtube", "url": "https://www.youtube.com/c/novosyx"},
        ),
        (
            "https://www.youtube.com/feeds/videos.xml?channel_id=UCnovosyx0000000000000A1",
            {"type": "youtube", "url": "https://www.youtube.com/channel/UCnovosyx0000000000000A1"},
        ),
        ("https://www.reddit.com/user/novosyx/", {"type": "reddit", "account": "u/novosyx"}),
        ("https://old.reddit.com/u/novosyx/submitted", {"type": "reddit", "account": "u/novosyx"}),
        ("https://github.com/novosyx", {"type": "github", "url": "https://github.com/novosyx"}),
        (
            "https://github.com/novosyx/sdk-python/releases",
            {"type": "github", "url": "https://github.com/novosyx/sdk-python"},
        ),
        (
            "github.com/novosyx/novosyx.git",
            {"type": "github", "url": "https://github.com/novosyx/novosyx"},
        ),
    ],
)
def test_platform_urls_by_shape(url: str, entry: dict[str, str]) -> None:
    found = platform_entry(url)
    assert found is not None
    assert {k: v for k, v in found.items() if k != "name"} == entry
    assert found["name"].startswith(entry["type"] + "-")


@pytest.mark.parametrize(
    "url",
    [
        "https://github.com/orgs/novosyx",
        "https://www.youtube.com/watch?v=vidNEW00001",
        "https://www.reddit.com/r/novosyx",
        "https://novosyx.example/u/someone",
    ],
)
def test_other_urls_are_not_claimed_by_shape(url: str) -> None:
    assert platform_entry(url) is None


def wp_home(api_link: str | None, generator: bool = False, header: bool = True) -> Reply:
    head = '<link rel="alternate" type="application/rss+xml" href="/feed/">'
    headers = {}
    if api_link and header:
        headers["Link"] = f'<{api_link}>; rel="https://api.w.org/"'
    elif api_link:
        head += f'<link rel="https://api.w.org/" href="{api_link}">'
    if generator:
        head += '<meta name="generator" content="WordPress 6.4.3">'
    html = f"<!DOCTYPE html><html><head>{head}</head><body>Blog</body></html>"
    return Reply(html, headers=headers, content_type="text/html; charset=UTF-8")


def test_wordpress_by_link_header(server: TestServer) -> None:
    server.route("/", wp_home(server.url("/wp-json/")))
    entry = detect(server.url("/"))
    assert entry == {"name": "127-0-0-1", "type": "wordpress", "url": server.url("/")}


def test_wordpress_in_a_subfolder_by_link_element(server: TestServer) -> None:
    server.route("/blog/2024/03/hello/", wp_home(server.url("/blog/wp-json/"), header=False))
    entry = detect(server.url("/blog/2024/03/hello/"))
    assert entry["type"] == "wordpress" and entry["url"] == server.url("/blog/")


def test_wordpress_without_pretty_permalinks(server: TestServer) -> None:
    server.route("/", wp_home(server.url("/?rest_route=/")))
    assert detect(server.url("/"))["url"] == server.url("/")


def test_wordpress_with_rest_removed_by_its_generator(server: TestServer) -> None:
    server.route("/", wp_home(None, generator=True))
    assert detect(server.url("/"))["type"] == "wordpress"


def test_a_plain_site_stays_a_feed(server: TestServer) -> None:
    server.route("/", wp_home(None))
    assert detect(server.url("/")) == {
        "name": "127-0-0-1",
        "type": "feed",
        "url": server.url("/feed/"),
    }


def nodeinfo(server: TestServer, software: str) -> None:
    server.route(
        "/.well-known/nodeinfo",
        Reply(
            json.dumps(
                {
                    "links": [
                        {
                            "rel": "http://nodeinfo.diaspora.software/ns/schema/2.1",
                            "href": server.url("/nodeinfo/2.1"),
                        }
                    ]
                }
            ),
            content_type="application/json",
        ),
    )
    body = {"version": "2.1", "software": {"name": software, "version": "1.0"}, "protocols": []}
    server.route("/nodeinfo/2.1", Reply(json.dumps(body), content_type="application/json"))


def test_lemmy_profile_url_via_nodeinfo(server: TestServer) -> None:
    nodeinfo(server, "lemmy")
    host = server.base_url.removeprefix("http://")
    assert detect(server.url("/u/novosyx")) == {
        "name": "lemmy-novosyx",
        "type": "lemmy",
        "account": f"novosyx@{host}",
        "instance": server.base_url,
    }


def test_peertube_account_url_is_activitypub(server: TestServer) -> None:
    nodeinfo(server, "peertube")
    entry = detect(server.url("/a/novosyx"))
    host = server.base_url.removeprefix("http://")
    assert entry["type"] == "activitypub" and entry["account"] == f"@novosyx@{host}"
    assert entry["name"] == "peertube-novosyx"


def test_profile_path_on_a_site_without_nodeinfo_is_left_to_feeds(server: TestServer) -> None:
    server.route("/u/someone", wp_home(None))
    assert detect(server.url("/u/someone"))["type"] == "feed"


@pytest.mark.parametrize(
    ("target", "type_", "key", "value"),
    [
        ("novosyx", "reddit", "account", "novosyx"),
        ("@novosyx@video.example", "activitypub", "account", "@novosyx@video.example"),
        ("https://github.com/novosyx", "github", "url", "https://github.com/novosyx"),
    ],
)
def test_explicit_types_use_their_key(target: str, type_: str, key: str, value: str) -> None:
    entry = detect(target, type_)
    assert entry["type"] == type_ and entry[key] == value


def test_cli_add_writes_valid_entries(tmp_path: Path) -> None:
    runner = CliRunner()
    assert runner.invoke(cli, ["init", str(tmp_path)]).exit_code == 0
    config = str(tmp_path / "ownfeed.toml")
    for url in (
        "https://www.youtube.com/@novosyx",
        "https://www.reddit.com/user/novosyx",
        "https://github.com/novosyx/novosyx",
    ):
        result = runner.invoke(cli, ["-c", config, "add", url])
        assert result.exit_code == 0, result.output
    sources = load_config(config).sources
    assert [(s.name, s.type) for s in sources] == [
        ("youtube-novosyx", "youtube"),
        ("reddit-novosyx", "reddit"),
        ("github-novosyx", "github"),
    ]
