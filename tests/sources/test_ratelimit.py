"""The shared rate-limit helper: reset headers in every form, waits, and clear failures."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import httpx
import pytest

from ownfeed.errors import SourceError
from ownfeed.http import HttpClient, Response
from ownfeed.sources.ratelimit import RateLimiter, remaining, seconds_until_reset
from tests.httpserver import Reply, Request, TestServer

NOW = datetime(2026, 8, 1, 13, 45, tzinfo=UTC).timestamp()


def headers(**values: str) -> httpx.Headers:
    return httpx.Headers({k.replace("_", "-"): v for k, v in values.items()})


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-08-01T13:50:00.809356Z", 300.809356),  # Mastodon: ISO 8601 with microseconds
        (str(int(NOW) + 120), 120.0),  # Bluesky, GoToSocial: Unix epoch seconds
        ("45", 45.0),  # a small number is a delay, not a date in 1970
        ("2026-08-01T13:40:00Z", 0.0),  # already past: no wait
    ],
)
def test_reset_forms(value: str, expected: float) -> None:
    found = seconds_until_reset(headers(x_ratelimit_reset=value), NOW)
    assert found == pytest.approx(expected)


def test_reset_is_read_against_the_servers_clock() -> None:
    # the server's clock is 10 minutes behind ours: its reset is 5 minutes after its now
    sent = headers(ratelimit_reset="2026-08-01T13:40:00Z", date="Sat, 01 Aug 2026 13:35:00 GMT")
    assert seconds_until_reset(sent, NOW) == pytest.approx(300.0)


def test_unusable_headers_give_none() -> None:
    assert seconds_until_reset(headers(), NOW) is None
    assert seconds_until_reset(headers(x_ratelimit_reset="soon"), NOW) is None
    assert seconds_until_reset(headers(x_ratelimit_reset="nan"), NOW) is None
    assert remaining(headers(ratelimit_remaining="12")) == 12
    assert remaining(headers(x_ratelimit_remaining="many")) is None


def limiter_run(server: TestServer, path: str, max_wait: float = 60.0) -> tuple[list[float], int]:
    waited: list[float] = []

    async def record(seconds: float) -> None:
        waited.append(seconds)

    async def go() -> int:
        async with HttpClient(retries=1) as http:
            limiter = RateLimiter(http, max_wait=max_wait, sleep=record)
            first: Response = await limiter.get(server.url(path))
            await limiter.get(server.url(path))
            return first.status

    return waited, asyncio.run(go())


def test_spent_budget_waits_for_the_reset_before_the_next_request(server: TestServer) -> None:
    reset = str(int(datetime.now(UTC).timestamp()) + 30)
    server.route("/a", Reply("{}", headers={"RateLimit-Remaining": "0", "RateLimit-Reset": reset}))
    waited, status = limiter_run(server, "/a")
    assert status == 200 and len(waited) == 1 and 28 <= waited[0] <= 31


def test_spent_budget_with_a_distant_reset_fails_before_asking(server: TestServer) -> None:
    reset = str(int(datetime.now(UTC).timestamp()) + 600)
    server.route(
        "/a", Reply("{}", headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset})
    )
    with pytest.raises(SourceError, match=r"rate limit of 127\.0\.0\.1:\d+ used up"):
        limiter_run(server, "/a")
    assert len(server.requests) == 1


def test_retry_after_wins_over_the_reset_header(server: TestServer) -> None:
    answers = [
        Reply("slow down", 429, {"Retry-After": "7", "RateLimit-Reset": "999999999999"}),
        Reply("{}"),
    ]

    def handler(_request: Request) -> Reply:
        return answers.pop(0) if len(answers) > 1 else answers[0]

    server.route("/a", handler)
    waited, status = limiter_run(server, "/a")
    assert status == 200 and waited == [7.0]


def test_endless_429_gives_up(server: TestServer) -> None:
    server.route("/a", Reply("slow down", 429, {"Retry-After": "1"}))
    with pytest.raises(SourceError, match="HTTP 429"):
        limiter_run(server, "/a")
    assert len(server.requests) == 4  # the first try and three retries


def test_a_posted_query_waits_out_a_429_like_a_get(server: TestServer) -> None:
    answers = [Reply("slow down", 429, {"Retry-After": "3"}), Reply('{"data": {}}')]
    server.route("/graphql", lambda _request: answers.pop(0) if len(answers) > 1 else answers[0])
    waited: list[float] = []

    async def record(seconds: float) -> None:
        waited.append(seconds)

    async def go() -> Response:
        async with HttpClient(retries=1) as http:
            limiter = RateLimiter(http, sleep=record)
            return await limiter.post_json(server.url("/graphql"), {"query": "{ a }"})

    assert asyncio.run(go()).json() == {"data": {}}
    assert waited == [3.0]
    assert [r.method for r in server.requests] == ["POST", "POST"]
    assert server.requests[1].body == b'{"query": "{ a }"}'
