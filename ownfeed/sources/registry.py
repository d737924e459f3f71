"""The table of source kinds: config `type` -> class, and the config keys each kind takes."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # loading a config must not import the sources (and httpx behind them)
    from ownfeed.sources.base import Source

#: A kind's own config keys: name -> (python type, required).
Keys = dict[str, tuple[type, bool]]

# type -> "module:Class"; imported lazily so a broken kind cannot break the others.
_KINDS: dict[str, str] = {
    "feed": "ownfeed.sources.feed:FeedSource",
    "wordpress": "ownfeed.sources.wordpress:WordPressSource",
    "youtube": "ownfeed.sources.youtube:YouTubeSource",
    "reddit": "ownfeed.sources.reddit:RedditSource",
    "lemmy": "ownfeed.sources.lemmy:LemmySource",
    "activitypub": "ownfeed.sources.activitypub:ActivityPubSource",
    "github": "ownfeed.sources.github:GitHubSource",
    "mastodon": "ownfeed.sources.mastodon:MastodonSource",
    "bluesky": "ownfeed.sources.bluesky:BlueskySource",
}

SOURCE_TYPES: tuple[str, ...] = tuple(_KINDS)

#: Each kind's keys (its class's `keys` is this entry). Kept here, not only on the classes,
#: so that validating a config (every `ownfeed export` and `status` does) imports no source.
SOURCE_KEYS: dict[str, Keys] = {
    "feed": {"url": (str, True), "backfill": (bool, False), "max_pages": (int, False)},
    "wordpress": {
        "url": (str, True),
        "api": (str, False),
        "pages": (bool, False),
        "max_pages": (int, False),
    },
    "youtube": {
        "url": (str, True),
        "api_key_env": (str, False),
        "web_base": (str, False),
        "api_base": (str, False),
    },
    "reddit": {"account": (str, True), "api_base": (str, False), "user_agent": (str, False)},
    "lemmy": {"account": (str, True), "instance": (str, False)},
    "activitypub": {"account": (str, True), "instance": (str, False), "max_pages": (int, False)},
    "github": {
        "url": (str, True),
        "token_env": (str, False),
        "web_base": (str, False),
        "api_base": (str, False),
        "max_repos": (int, False),
    },
    "mastodon": {"account": (str, True), "instance": (str, False), "token_env": (str, False)},
    "bluesky": {"account": (str, True), "appview": (str, False)},
}


def source_class(type_name: str) -> type[Source]:
    """The class for a config `type`; KeyError when unknown."""
    module_name, _, class_name = _KINDS[type_name].partition(":")
    cls: type[Source] = getattr(import_module(module_name), class_name)
    return cls
