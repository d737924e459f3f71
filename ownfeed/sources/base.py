"""What every source kind implements: remote data in, posts and new state out; no DB, no prints."""

from __future__ import annotations

import builtins
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar

from ownfeed.errors import FetchError
from ownfeed.models import Gone, KnownPost, SourceResult, utcnow

if TYPE_CHECKING:  # the config imports this module: httpx and asyncio load when a source runs
    from ownfeed.cpu import Offload
    from ownfeed.http import HttpClient


@dataclass(frozen=True)
class SourceConfig:
    """One `[[sources]]` entry, validated. Type-specific keys live in `options`."""

    name: str
    type: str
    enabled: bool = True
    media: bool = True
    refresh_days: int = 14
    comments: bool = True
    replies: bool = True
    options: Mapping[str, Any] = field(default_factory=dict)

    def option(self, key: str, default: Any = None) -> Any:
        return self.options.get(key, default)


def _no_progress(done: int, total: int | None) -> None:
    return None


def _thread_offload() -> Offload:
    from ownfeed.cpu import in_thread  # here, not above: ownfeed.cpu imports asyncio

    return in_thread


@dataclass
class SourceContext:
    """What a source may use during one run: the HTTP client, its saved state, archive facts."""

    http: HttpClient
    state: dict[str, Any]
    known: Mapping[str, KnownPost] = field(default_factory=dict)
    full: bool = False
    now: datetime = field(default_factory=utcnow)
    progress: Callable[[int, int | None], None] = _no_progress
    #: where to run CPU-heavy parsing: a thread by default, the sync's process pool in a sync
    offload: Offload = field(default_factory=_thread_offload)
    #: a body byte-identical to the last parsed one counts as unchanged, like a 304 (the sync
    #: engine sets this; a direct caller gets the posts of every successful read)
    skip_unchanged_bodies: bool = False

    def in_refresh_window(self, published_at: str | datetime | None, days: int) -> bool:
        """True when a post is recent enough to be re-read on every sync."""
        if published_at is None:
            return False
        if isinstance(published_at, str):
            from ownfeed.models import parse_iso

            parsed = parse_iso(published_at)
            if parsed is None:
                return False
            published_at = parsed
        return published_at >= self.now - timedelta(days=days)


class Source(ABC):
    """A kind of source. Subclasses set `type`, `platform` and the config keys they take."""

    type: ClassVar[str]
    platform: ClassVar[str]
    #: type-specific config keys: name -> (python type, required)
    keys: ClassVar[dict[str, tuple[builtins.type, bool]]] = {}

    def __init__(self, config: SourceConfig) -> None:
        self.config = config

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def locator(self) -> str:
        """What the source points at (URL or account), for `ownfeed sources`."""
        return str(self.config.option("url") or self.config.option("account") or "")

    @abstractmethod
    async def fetch(self, ctx: SourceContext) -> SourceResult:
        """Fetch new and recent posts. Raise SourceError when the primary request fails."""

    async def verify(self, ctx: SourceContext, posts: list[KnownPost]) -> SourceResult:
        """Re-check archived posts upstream; by default GET each post's URL (404/410 = gone)."""
        result = SourceResult()
        for done, post in enumerate(posts, 1):
            ctx.progress(done, len(posts))
            if not post.url:
                continue
            try:
                response = await ctx.http.get(post.url, accept=(404, 410))
            except FetchError as error:
                result.warnings.append(f"verify {post.url}: {error}")
                continue
            if response.status in (404, 410):
                result.gone.append(Gone(self.platform, post.native_id, f"HTTP {response.status}"))
            else:
                result.seen_again.append((self.platform, post.native_id))
        return result
