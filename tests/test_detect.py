"""`ownfeed add` recognising Mastodon and Bluesky accounts, and leaving everything else."""

from __future__ import annotations

import pytest

from ownfeed.detect import detect_handle


@pytest.mark.parametrize(
    ("text", "account"),
    [
        ("@novosyx@mastodon.social", "@novosyx@mastodon.social"),
        ("  @Novosyx@Mastodon.Social ", "@Novosyx@mastodon.social"),
        ("acct:novosyx@social.example", "@novosyx@social.example"),
        ("@novosyx@127.0.0.1:8080", "@novosyx@127.0.0.1:8080"),
        ("https://mastodon.social/@novosyx", "@novosyx@mastodon.social"),
        ("https://mastodon.social/@novosyx/", "@novosyx@mastodon.social"),
        ("https://mastodon.social/@novosyx/112233445566", "@novosyx@mastodon.social"),
        ("https://mastodon.social/@novosyx@chaos.social", "@novosyx@chaos.social"),
    ],
)
def test_mastodon_handles_and_profile_urls(text: str, account: str) -> None:
    entry = detect_handle(text)
    assert entry is not None
    assert entry["type"] == "mastodon" and entry["account"] == account
    assert entry["name"] == "mastodon-novosyx"
    assert "instance" not in entry


def test_local_http_profile_keeps_its_instance() -> None:
    entry = detect_handle("http://127.0.0.1:8080/@novosyx")
    assert entry == {
        "name": "mastodon-novosyx",
        "type": "mastodon",
        "account": "@novosyx@127.0.0.1:8080",
        "instance": "http://127.0.0.1:8080",
    }


@pytest.mark.parametrize(
    ("text", "account"),
    [
        ("novosyx.bsky.social", "novosyx.bsky.social"),
        ("@Novosyx.bsky.social", "novosyx.bsky.social"),
        ("@novosyx.example", "novosyx.example"),
        ("https://bsky.app/profile/novosyx.bsky.social", "novosyx.bsky.social"),
        ("https://bsky.app/profile/novosyx.bsky.social/post/3km2hhhhhhh2h", "novosyx.bsky.social"),
        ("did:plc:nvsx4k2m7q3bz5wjtye6hd2a", "did:plc:nvsx4k2m7q3bz5wjtye6hd2a"),
        (
            "https://bsky.app/profile/did:plc:nvsx4k2m7q3bz5wjtye6hd2a",
            "did:plc:nvsx4k2m7q3bz5wjtye6hd2a",
        ),
    ],
)
def test_bluesky_handles_dids_and_profile_urls(text: str, account: str) -> None:
    entry = detect_handle(text)
    assert entry is not None
    assert entry["type"] == "bluesky" and entry["account"] == account
    assert entry["name"].startswith("bluesky-")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "https://novosyx.example/blog/",
        "novosyx.example",
        "novosyx@mastodon.social",  # may be an e-mail address
        "@novosyx",
        "https://www.youtube.com/@novosyx",
        "https://medium.com/@novosyx",
        "https://bsky.app/",
        "https://bsky.app/profile/",
        "ftp://mastodon.social/@novosyx",
        "@novosyx@",
        "did:example:123",
    ],
)
def test_anything_else_is_left_to_feed_discovery(text: str) -> None:
    assert detect_handle(text) is None
