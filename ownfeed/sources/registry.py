"""The table of source kinds: config `type` -> class. One line per kind."""

from __future__ import annotations

from importlib import import_module

from ownfeed.sources.base import Source

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


def source_class(type_name: str) -> type[Source]:
    """The class for a config `type`; KeyError when unknown."""
    module_name, _, class_name = _KINDS[type_name].partition(":")
    cls: type[Source] = getattr(import_module(module_name), class_name)
    return cls
