"""Source kinds, registered by their config `type`.

The names below are imported on first use (PEP 562), not with the package: the parse
workers (`python -m ownfeed.cpu`) import parser modules that live here, and must not pay
for the HTTP client and the rest of `base`/`registry` they never use.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ownfeed.sources.base import Source, SourceConfig, SourceContext
    from ownfeed.sources.registry import SOURCE_TYPES, source_class

__all__ = ["SOURCE_TYPES", "Source", "SourceConfig", "SourceContext", "source_class"]

_HOMES = {
    "Source": "ownfeed.sources.base",
    "SourceConfig": "ownfeed.sources.base",
    "SourceContext": "ownfeed.sources.base",
    "SOURCE_TYPES": "ownfeed.sources.registry",
    "source_class": "ownfeed.sources.registry",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(home), name)
    globals()[name] = value
    return value
