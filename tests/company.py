"""The sample company (blog, Mastodon, Bluesky) on one local server, with a config that
archives it and the CLI to run against it: shared by the end-to-end tests."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from click.testing import CliRunner, Result

from ownfeed.archive import Archive
from ownfeed.cli import cli
from ownfeed.demo import bluesky, mastodon
from ownfeed.demo.blog import Blog
from ownfeed.demo.bluesky import BlueskySample
from ownfeed.demo.mastodon import MastodonSample
from ownfeed.demo.run import write_demo_config
from ownfeed.demo.web import DemoWeb


@dataclass
class World:
    """The sample company's servers (change them between syncs) and its config."""

    blog: Blog
    mastodon: MastodonSample
    bluesky: BlueskySample
    config: Path
    site: Path

    def ownfeed(self, *args: str) -> Result:
        result = CliRunner().invoke(cli, ["-c", str(self.config), *args])
        assert result.exit_code == 0, result.output
        return result

    def sync_and_export(self) -> None:
        self.ownfeed("sync", "--quiet")
        self.ownfeed("export", "--output", str(self.site))

    def show(self, ident: str) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.ownfeed("show", ident, "--json").output)
        return data

    def archive(self) -> Archive:
        return Archive(self.config.parent / "archive.db")

    def query(self, sql: str) -> list[dict[str, object]]:
        with self.archive() as archive:
            return [dict(row) for row in archive.query(sql)]


@contextmanager
def sample_company(folder: Path) -> Iterator[World]:
    """Serve the sample company on 127.0.0.1 for the duration; its config in `folder`."""
    blog, toots, skeets = Blog(), MastodonSample(), BlueskySample()
    with DemoWeb() as web:
        for routes in (blog.routes(), toots.routes(), skeets.routes()):
            web.mount(routes)
        entries = [
            {"name": "blog", "type": "feed", "url": f"{web.base_url}/", "comments": True},
            *mastodon.source_entries(web.base_url),
            *bluesky.source_entries(web.base_url),
        ]
        config = write_demo_config(folder, entries)
        yield World(blog, toots, skeets, config, folder / "site")
