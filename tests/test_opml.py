"""OPML: reading feed readers' exports safely, `ownfeed add --opml`, `ownfeed sources --opml`."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from ownfeed.cli import cli
from ownfeed.config import load_config
from ownfeed.errors import ParseError
from ownfeed.opml import Subscription, parse_opml, plan_import, write_opml
from ownfeed.sources.base import SourceConfig

DATA = Path(__file__).parent / "data" / "opml"
BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE opml [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
<!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">]>
<opml version="2.0"><body><outline text="&c;" xmlUrl="https://x.example/feed"/></body></opml>"""
EXTERNAL = b"""<?xml version="1.0"?>
<!DOCTYPE opml SYSTEM "file:///etc/passwd">
<opml version="2.0"><body><outline xmlUrl="https://x.example/feed"/></body></opml>"""


def invoke(*args: str):
    return CliRunner().invoke(cli, list(args))


def test_nested_outlines_each_url_once_http_only() -> None:
    found = parse_opml((DATA / "subscriptions.opml").read_bytes())
    assert found == [
        Subscription("https://novosyx.example/feed/", "Novosyx Blog", "https://novosyx.example/"),
        Subscription(
            "https://datenschutz.example/rss.xml",
            "Datenschutz News",
            "https://datenschutz.example/",
        ),
        Subscription("https://weekly.example/atom.xml", "Analytics Weekly"),
        Subscription("https://weekly.example/podcast.xml", "Analytics Weekly"),
    ]


@pytest.mark.parametrize("document", [BILLION_LAUGHS, EXTERNAL])
def test_dtds_are_refused_before_parsing(document: bytes) -> None:
    with pytest.raises(ParseError, match="refusing OPML with a DTD"):
        parse_opml(document)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        (b"<rss><channel/></rss>", "not an OPML document"),
        (b"<opml><body>", "invalid OPML"),
    ],
)
def test_other_documents_are_one_line_errors(document: bytes, message: str) -> None:
    with pytest.raises(ParseError, match=message):
        parse_opml(document)


def test_plan_skips_configured_urls_and_keeps_names_unique() -> None:
    configured = [
        SourceConfig("novosyx-blog", "wordpress", options={"url": "https://novosyx.example"}),
        SourceConfig("analytics-weekly", "feed", options={"url": "https://other.example/feed"}),
    ]
    subscriptions = parse_opml((DATA / "subscriptions.opml").read_bytes())
    entries, skipped = plan_import(subscriptions, configured)
    assert skipped == 1  # the WordPress site's /feed/ is configured already
    assert [(e["name"], e["url"]) for e in entries] == [
        ("datenschutz-news", "https://datenschutz.example/rss.xml"),
        ("analytics-weekly-2", "https://weekly.example/atom.xml"),
        ("analytics-weekly-3", "https://weekly.example/podcast.xml"),
    ]
    assert all(e["type"] == "feed" for e in entries)


def test_add_opml_then_export_round_trip(tmp_path: Path) -> None:
    assert invoke("init", str(tmp_path)).exit_code == 0
    config = tmp_path / "ownfeed.toml"
    first = invoke("-c", str(config), "add", "--opml", str(DATA / "subscriptions.opml"))
    assert first.exit_code == 0, first.output
    assert first.output.startswith("Added 4 source(s) from")
    again = invoke("-c", str(config), "add", "--opml", str(DATA / "subscriptions.opml"))
    assert again.exit_code == 0 and "Added 0 source(s)" in again.output
    assert "skipped 4 already configured" in again.output
    assert "# Add sources with" in config.read_text()  # comments kept
    names = [s.name for s in load_config(config).sources]
    assert names == ["novosyx-blog", "datenschutz-news", "analytics-weekly", "analytics-weekly-2"]
    exported = invoke("-c", str(config), "sources", "--opml")
    assert exported.exit_code == 0
    urls = [s.url for s in parse_opml(exported.output.encode())]
    assert urls == [s.url for s in parse_opml((DATA / "subscriptions.opml").read_bytes())]


def test_export_gives_each_platform_its_own_feed() -> None:
    sources = [
        SourceConfig("blog", "wordpress", options={"url": "https://novosyx.example/"}),
        SourceConfig(
            "yt",
            "youtube",
            options={"url": "https://www.youtube.com/channel/UCnovosyx0000000000000A1"},
        ),
        SourceConfig("gh", "github", options={"url": "https://github.com/novosyx/novosyx"}),
        SourceConfig("m", "mastodon", options={"account": "@novosyx@mastodon.social"}),
        SourceConfig("b", "bluesky", options={"account": "novosyx.bsky.social"}),
        SourceConfig("r", "reddit", options={"account": "u/novosyx"}),
        SourceConfig("l", "lemmy", options={"account": "novosyx@lemmy.example"}),
        SourceConfig("ap", "activitypub", options={"account": "@novosyx@peertube.example"}),
    ]
    urls = [s.url for s in parse_opml(write_opml(sources, "Novosyx").encode())]
    assert urls == [
        "https://novosyx.example/feed/",
        "https://www.youtube.com/feeds/videos.xml?channel_id=UCnovosyx0000000000000A1",
        "https://github.com/novosyx/novosyx/releases.atom",
        "https://mastodon.social/@novosyx.rss",
        "https://bsky.app/profile/novosyx.bsky.social/rss",
        "https://www.reddit.com/user/novosyx/submitted.rss",
        "https://lemmy.example/feeds/u/novosyx.xml",
    ]


def test_cli_errors_are_one_line_usage_errors(tmp_path: Path) -> None:
    assert invoke("init", str(tmp_path)).exit_code == 0
    config = str(tmp_path / "ownfeed.toml")
    bad = tmp_path / "bad.opml"
    bad.write_bytes(BILLION_LAUGHS)
    result = invoke("-c", config, "add", "--opml", str(bad))
    assert result.exit_code == 2 and "refusing OPML with a DTD" in result.output
    assert len(result.output.strip().splitlines()) == 1
    assert invoke("-c", config, "add").exit_code == 2
    both = invoke("-c", config, "add", "https://x.example", "--opml", str(bad))
    assert both.exit_code == 2 and "--opml takes no URL-OR-HANDLE" in both.output
