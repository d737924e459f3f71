"""Source kinds, registered by their config `type`."""

from __future__ import annotations

from ownfeed.sources.base import Source, SourceConfig, SourceContext
from ownfeed.sources.registry import SOURCE_TYPES, source_class

__all__ = ["SOURCE_TYPES", "Source", "SourceConfig", "SourceContext", "source_class"]
