"""The archive: the only package that knows SQL."""

from ownfeed.archive.db import Archive
from ownfeed.archive.store import WriteCounts, mark_gone, store_posts

__all__ = ["Archive", "WriteCounts", "mark_gone", "store_posts"]
