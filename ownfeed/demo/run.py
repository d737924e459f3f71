"""`ownfeed demo`: serve the sample company locally, sync it into a folder, export the site."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import tomlkit

from ownfeed.archive import Archive
from ownfeed.archive.queries import totals
from ownfeed.config import CONFIG_NAME, load_config
from ownfeed.demo import bluesky, mastodon
from ownfeed.demo.blog import Blog
from ownfeed.demo.web import DemoWeb
from ownfeed.lock import ArchiveLock
from ownfeed.sync import SyncReport, sync_archive


def mount_sample_company(web: DemoWeb) -> list[dict[str, Any]]:
    """Mount the blog and the social accounts; return their `[[sources]]` entries."""
    blog = Blog()
    web.mount(blog.routes())
    entries: list[dict[str, Any]] = [
        {"name": "blog", "type": "feed", "url": f"{web.base_url}/", "comments": True}
    ]
    for social in (mastodon, bluesky):
        web.mount(social.routes())
        entries.extend(social.source_entries(web.base_url))
    return entries


def write_demo_config(folder: Path, entries: list[dict[str, Any]]) -> Path:
    """A config for the demo folder (rewritten each run: the server's port changes)."""
    document = tomlkit.document()
    document.add(tomlkit.comment("Written by `ownfeed demo`: a sample company on 127.0.0.1."))
    document.add("archive", "archive.db")
    document.add("media_dir", "media")
    export = tomlkit.table()
    export.add("output", "site")
    export.add("title", "Novosyx — everything we published")
    export.add("base_url", "https://novosyx.example/archive/")
    document.add("export", export)
    sources = tomlkit.aot()
    for entry in entries:
        table = tomlkit.table()
        for key, value in entry.items():
            table.add(key, value)
        sources.append(table)
    document.add("sources", sources)
    path = folder / CONFIG_NAME
    path.write_text(tomlkit.dumps(document), encoding="utf-8")
    return path


def _export(config: Any, archive: Archive) -> Any:
    try:
        from ownfeed.export import build_site
    except ImportError:
        return None
    return build_site(archive, config.export, config.media_dir)


def describe_site(site: Path, report: Any) -> list[str]:
    """Where the exported site is and how to open it (a file:// link works at once)."""
    index = site.resolve() / "index.html"
    lines = [
        f"Site written to {site}/ ({report})",
        f"  open it in a browser: {index.as_uri()}",
        f"  or serve it over http: python3 -m http.server -d {site} 8000"
        ", then http://127.0.0.1:8000/",
    ]
    lines += [f"  note: {warning}" for warning in getattr(report, "warnings", [])]
    return lines


def run_demo(
    folder: Path, *, serve: bool = False, echo: Callable[[str], None] = print
) -> SyncReport:
    """Run the whole demo and describe what was archived."""
    folder.mkdir(parents=True, exist_ok=True)
    with DemoWeb() as web:
        config_path = write_demo_config(folder, mount_sample_company(web))
        config = load_config(config_path)
        echo(f"Sample company served at {web.base_url}; archiving into {folder}/")
        with ArchiveLock(config.archive), Archive(config.archive) as archive:
            started = time.monotonic()
            report = asyncio.run(sync_archive(config, archive))
            elapsed = time.monotonic() - started
            for run in report.runs:
                state = "ok" if run.status != "failed" else f"FAILED: {run.error}"
                echo(
                    f"  {run.source:<10} {state:<6} {run.counts.new} new, "
                    f"{run.counts.updated} updated ({run.seconds:.2f} s)"
                )
            numbers = totals(archive)
            echo(
                f"Synced in {elapsed:.2f} s: {numbers['posts']} posts ({numbers['own']} ours), "
                f"{numbers['media_stored']} media files stored."
            )
            exported = _export(config, archive)
        if exported is not None:
            for line in describe_site(config.export.output, exported):
                echo(line)
        echo("Try next:")
        echo(f"  ownfeed -c {config_path} status")
        echo(f'  ownfeed -c {config_path} search "Vertrauen"')
        if serve:
            echo("Sample server running; press Ctrl-C to stop.")
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                pass
    return report
