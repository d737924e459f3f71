"""The shared API-source helpers: paging, a run's batch of posts, reads on one rate budget."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import cast

import pytest

from ownfeed.errors import SourceError
from ownfeed.http import HttpClient
from ownfeed.models import Gone, KnownPost, Post, SourceResult
from ownfeed.sources.apiutil import Batch, BudgetedReads, can_stop_paging, placeholder
from ownfeed.sources.base import SourceContext

NOW = datetime(2024, 3, 20, tzinfo=UTC)


def context(*known: str, full: bool = False) -> SourceContext:
    posts = {
        n: KnownPost(id="x", native_id=n, url=None, reply_count=None, published_at=None)
        for n in known
    }
    no_http = cast(HttpClient, None)  # these helpers make no request
    return SourceContext(no_http, {}, posts, full=full, now=NOW)


@pytest.mark.parametrize(
    ("known", "age_days", "full", "stops"),
    [
        (True, 20, False, True),  # archived and older than the window: the rest is too
        (True, None, False, True),  # no date counts as old
        (True, 5, False, False),  # inside the window: re-read
        (False, 20, False, False),  # not archived yet
        (True, 20, True, False),  # --full reads everything
    ],
)
def test_can_stop_paging(known: bool, age_days: int | None, full: bool, stops: bool) -> None:
    ctx = context(*(["a"] if known else []), full=full)
    published = None if age_days is None else NOW - timedelta(days=age_days)
    assert can_stop_paging(ctx, "a", published, refresh_days=14) is stops


def post(native_id: str, text: str | None = "text") -> Post:
    return Post(
        platform="lemmy",
        native_id=native_id,
        kind="reply",
        is_own=True,
        url=f"https://x.example/{native_id}",
        title="A title",
        content_html=text,
        in_reply_to="parent",
        thread_root="root",
    )


def test_placeholder_keeps_the_place_in_the_thread_and_what_it_is_told() -> None:
    bare = placeholder(post("a"))
    assert (bare.url, bare.in_reply_to, bare.thread_root) == (
        "https://x.example/a",
        "parent",
        "root",
    )
    assert bare.content_html is None and bare.title is None
    assert placeholder(post("a"), "title").title == "A title"


def test_batch_marks_deleted_items_gone_and_never_overwrites_what_was_archived() -> None:
    batch = Batch(context("archived").known, placeholder_keeps=("title",))
    batch.add(post("shown"), None)
    batch.add(post("archived"), "deleted")
    batch.add(post("new", text=None), "removed")
    result = SourceResult()
    batch.skipped.errors.append("bad item")
    batch.report(result)
    assert [p.native_id for p in result.posts] == ["shown", "new"]  # no placeholder for "archived"
    assert result.posts[1].title == "A title" and result.posts[1].content_html is None
    assert result.gone == [Gone("lemmy", "archived", "deleted"), Gone("lemmy", "new", "removed")]
    assert result.warnings == ["1 malformed item(s) skipped, e.g. bad item"]


def test_budgeted_reads_stop_at_the_first_rate_limit() -> None:
    asked: list[int] = []

    async def read(number: int) -> int:
        asked.append(number)
        if number == 2:
            raise SourceError("HTTP 503", status=503)
        if number == 3:
            raise SourceError("rate limited", status=429)
        return number

    async def run() -> list[int | str]:
        reads = BudgetedReads(1)
        outcomes: list[int | str] = []
        for number in range(1, 6):
            try:
                outcomes.append(await reads(partial(read, number)))
            except SourceError as error:
                outcomes.append(str(error))
        result = SourceResult()
        reads.warn_left(result, 3)
        assert result.warnings == ["3 thread(s) left for the next sync: rate limited"]
        return outcomes

    outcomes = asyncio.run(run())
    assert asked == [1, 2, 3]  # a 503 does not stop the others; the 429 does
    assert outcomes == [1, "HTTP 503", "rate limited", "rate limited", "rate limited"]


def test_budgeted_reads_stop_on_what_they_are_told() -> None:
    calls = 0

    async def refused() -> None:
        nonlocal calls
        calls += 1
        raise SourceError("HTTP 401", status=401)

    async def run() -> BudgetedReads:
        reads = BudgetedReads(2, stops=lambda error: error.status == 401)
        for _ in range(2):
            with pytest.raises(SourceError, match="HTTP 401"):
                await reads(refused)
        return reads

    reads = asyncio.run(run())
    assert calls == 1 and reads.stopped is not None


def test_budgeted_reads_that_never_stopped_say_nothing() -> None:
    result = SourceResult()
    BudgetedReads(2).warn_left(result, 5)
    assert result.warnings == []
