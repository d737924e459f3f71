"""The linking step that ends every sync and import: copies and mentions into post_links.

Why here and not in a source: a copy and its original come from different sources, so
linking waits until every source of the run has been written, then runs once, in one
transaction. Short links (known shorteners and links to our own sites that match no
post) are followed over HTTP afterwards, a bounded number per sync, through the sync's
shared client; where they lead is remembered, so each is asked for once.
"""

from __future__ import annotations

import asyncio
import sqlite3
from typing import TYPE_CHECKING

from ownfeed.archive import Archive
from ownfeed.archive.links import (
    LinkReport,
    link_posts,
    own_hosts,
    save_redirects,
    unresolved_links,
)
from ownfeed.config import LinksConfig
from ownfeed.errors import ArchiveError, FetchError
from ownfeed.links import SHORTENERS, normalize_url, url_host

if TYPE_CHECKING:  # the CLI imports this module: httpx loads only when a sync runs
    from ownfeed.http import HttpClient

#: Short links followed per sync at most; the rest wait for the next sync.
MAX_LOOKUPS = 20
#: Seconds all lookups of one sync may take together.
LOOKUP_BUDGET = 30.0
#: A redirect answer needs no body; a page that is followed to its end is read this far.
_BODY_CAP = 512 * 1024


def link_archive(archive: Archive, config: LinksConfig, *, full: bool = False) -> LinkReport:
    """Link the posts changed since the last run (all with `full`) in one transaction."""
    try:
        with archive.transaction():
            return link_posts(
                archive,
                text_threshold=config.text_threshold,
                text_window_hours=config.text_window_hours,
                full=full,
            )
    except sqlite3.Error as error:
        raise ArchiveError(f"linking copies failed: {error}") from error


async def link_after_sync(
    archive: Archive, config: LinksConfig, http: HttpClient | None = None
) -> LinkReport:
    """The sync's last archive step: link, then follow new short links and link again
    the posts that carry them. A failed lookup is remembered and never fails the sync."""
    report = link_archive(archive, config)
    if http is None or not config.follow_redirects:
        return report
    ours = own_hosts(archive)
    pending = unresolved_links(archive, SHORTENERS | set(config.shorteners) | ours, MAX_LOOKUPS)
    if not pending:
        return report
    found, errors = await resolve_links(http, pending, ours)
    if not found:
        return report
    try:
        with archive.transaction():
            posts = save_redirects(archive, found, errors)
            if posts:
                again = link_posts(
                    archive,
                    text_threshold=config.text_threshold,
                    text_window_hours=config.text_window_hours,
                    only=posts,
                )
                report.added += again.added
                report.updated += again.updated
                report.removed += again.removed
    except sqlite3.Error as error:
        raise ArchiveError(f"linking copies failed: {error}") from error
    return report


async def resolve_links(
    http: HttpClient, urls: list[str], ours: set[str], budget: float = LOOKUP_BUDGET
) -> tuple[dict[str, str | None], dict[str, str]]:
    """Where each URL leads after redirects (None when it leads nowhere new).

    Private addresses are allowed only for our own hosts (a blog on the local network);
    lookups still running when the budget is spent are dropped and asked again later.
    """

    async def one(url: str) -> tuple[str, str | None, str | None]:
        client = http.scoped(allow_private=url_host(url) in ours)
        try:
            response = await client.get(url, max_body=_BODY_CAP, accept=range(400, 600))
        except FetchError as error:
            return url, None, str(error)
        target = normalize_url(response.url)
        if target is None or target == normalize_url(url) or response.status >= 400:
            return url, None, None if response.status < 400 else f"HTTP {response.status}"
        return url, target, None

    tasks = [asyncio.ensure_future(one(url)) for url in urls]
    done, pending = await asyncio.wait(tasks, timeout=budget)
    for task in pending:
        task.cancel()
    await asyncio.gather(*pending, return_exceptions=True)
    found: dict[str, str | None] = {}
    errors: dict[str, str] = {}
    for task in done:
        if task.cancelled() or task.exception() is not None:
            continue
        url, target, error = task.result()
        found[url] = target
        if error:
            errors[url] = error
    return found, errors
