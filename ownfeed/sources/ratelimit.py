"""Platform rate-limit headers, shared by the API sources.

Mastodon sends `X-RateLimit-Remaining/Reset` (reset as ISO 8601, or an epoch on
GoToSocial), Bluesky's XRPC servers `RateLimit-Remaining/Reset` (epoch seconds). The HTTP
layer only knows `Retry-After`, so a source routes its requests through a `RateLimiter`:
it waits for the reset once the budget is spent (instead of running into 429s), waits out
a 429 whose reset is near, and fails the source with one clear line when the reset is
further away than a sync should sleep.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from functools import partial
from typing import Any
from urllib.parse import urlsplit

import httpx

from ownfeed.errors import SourceError
from ownfeed.http import HttpClient, Response, parse_retry_after
from ownfeed.models import parse_iso

#: The longest a source sleeps for a rate limit to reset before it gives up for this run.
DEFAULT_MAX_WAIT = 60.0
#: How often one request is retried after a 429 whose reset is near.
MAX_429_RETRIES = 3
# Values below this are read as "seconds from now", above as a Unix timestamp.
_EPOCH_THRESHOLD = 1_000_000_000

Sleep = Callable[[float], Awaitable[None]]


async def pause(seconds: float) -> None:
    """How a limiter waits (a module function, so tests can replace it)."""
    await asyncio.sleep(seconds)


@dataclass
class _Budget:
    """What the last response of one host said about the remaining budget."""

    remaining: int | None = None
    reset_at: float | None = None  # local clock, seconds since the epoch


def _header(headers: httpx.Headers, name: str) -> str | None:
    """A rate-limit header in either spelling (`X-RateLimit-*` or `RateLimit-*`)."""
    return headers.get(f"x-ratelimit-{name}") or headers.get(f"ratelimit-{name}")


def _server_now(headers: httpx.Headers, local_now: float) -> float:
    """The server's clock from `Date`, so a reset timestamp is read against the same clock."""
    values = headers.get_list("date")  # a proxy may add a second one: the first is the origin's
    value = values[0] if values else None
    if not value:
        return local_now
    try:
        return parsedate_to_datetime(value).timestamp()
    except (TypeError, ValueError, IndexError):
        return local_now


def seconds_until_reset(headers: httpx.Headers, local_now: float | None = None) -> float | None:
    """Seconds until the reset named in the headers (ISO, epoch or delta); None if absent."""
    value = _header(headers, "reset")
    if not value or not value.strip():
        return None
    now = time.time() if local_now is None else local_now
    text = value.strip()
    try:
        number = float(text)
    except ValueError:
        when = parse_iso(text)
        if when is None:
            return None
        return max(0.0, when.timestamp() - _server_now(headers, now))
    if not math.isfinite(number):
        return None
    if number < _EPOCH_THRESHOLD:
        return max(0.0, number)
    return max(0.0, number - _server_now(headers, now))


def remaining(headers: httpx.Headers) -> int | None:
    """The requests left in the current window, if the server says."""
    value = _header(headers, "remaining")
    try:
        return int(float(value)) if value else None
    except ValueError:
        return None


class RateLimiter:
    """Routes GETs through the HTTP client and keeps each host within its announced budget."""

    def __init__(
        self, http: HttpClient, *, max_wait: float = DEFAULT_MAX_WAIT, sleep: Sleep | None = None
    ) -> None:
        self.http = http
        self.max_wait = max_wait
        self.sleep: Sleep = sleep or pause
        self.clock: Callable[[], float] = time.time
        self._budgets: dict[str, _Budget] = {}

    async def get(
        self,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        accept: Iterable[int] = (),
    ) -> Response:
        """GET `url` like `HttpClient.get`, waiting for rate-limit resets when needed."""
        accepted = tuple(accept)
        return await self._within_budget(
            url, accepted, partial(self.http.get, url, headers=headers, accept=(*accepted, 429))
        )

    async def post_json(
        self,
        url: str,
        payload: Any,
        *,
        headers: Mapping[str, str] | None = None,
        accept: Iterable[int] = (),
    ) -> Response:
        """POST a JSON query like `HttpClient.post_json`, within the host's budget."""
        accepted = tuple(accept)
        send = partial(self.http.post_json, url, payload, headers=headers, accept=(*accepted, 429))
        return await self._within_budget(url, accepted, send)

    async def _within_budget(
        self, url: str, accepted: tuple[int, ...], send: Callable[[], Awaitable[Response]]
    ) -> Response:
        host = urlsplit(url).netloc
        for _attempt in range(MAX_429_RETRIES + 1):
            await self._wait_for_budget(host)
            response = await send()
            self._observe(host, response.headers)
            if response.status != 429 or 429 in accepted:
                return response
            wait = self._wait_after_429(response)
            if wait > self.max_wait:
                raise SourceError(
                    f"rate limited by {host} (HTTP 429); the limit resets in "
                    f"{math.ceil(wait)} s, longer than the {self.max_wait:g} s a sync waits",
                    status=429,
                )
            await self.sleep(wait)
            self._budgets.pop(host, None)  # the wait was for this reset: do not wait twice
        raise SourceError(f"rate limited by {host} (HTTP 429) after retries", status=429)

    def _observe(self, host: str, headers: httpx.Headers) -> None:
        left = remaining(headers)
        if left is None:
            return
        now = self.clock()
        wait = seconds_until_reset(headers, now)
        self._budgets[host] = _Budget(left, None if wait is None else now + wait)

    async def _wait_for_budget(self, host: str) -> None:
        """Sleep until the reset when the last answer said no requests are left."""
        budget = self._budgets.get(host)
        if budget is None or budget.remaining is None or budget.remaining > 0:
            return
        if budget.reset_at is None:
            return  # nothing to wait for: let the server answer (429 or not)
        wait = budget.reset_at - self.clock()
        if wait <= 0:
            self._budgets.pop(host, None)
            return
        if wait > self.max_wait:
            raise SourceError(
                f"rate limit of {host} used up; it resets in {math.ceil(wait)} s, "
                f"longer than the {self.max_wait:g} s a sync waits",
                status=429,
            )
        await self.sleep(wait)
        self._budgets.pop(host, None)

    def _wait_after_429(self, response: Response) -> float:
        """Retry-After wins; else the platform's reset header; else a short pause."""
        wait = parse_retry_after(response.headers.get("retry-after"))
        if wait is None:
            wait = seconds_until_reset(response.headers, self.clock())
        return 1.0 if wait is None else wait
