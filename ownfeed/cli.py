"""Click commands only: parse options, call the library, render with rich or print JSON.

Each command imports what only it needs (asyncio, rich, the sync, the linker) inside its
function: every run pays for this module's imports, and `ownfeed export` must start fast
(issue #4: a 1 % change of a large archive is timed as a whole process).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ownfeed import __version__
from ownfeed.archive import Archive, queries
from ownfeed.config import (
    CONFIG_NAME,
    Config,
    add_source,
    base_url_problem,
    default_config_path,
    load_config,
)
from ownfeed.errors import ConfigError, LockedError, OwnfeedError, ParseError
from ownfeed.lock import ArchiveLock

if TYPE_CHECKING:
    from rich.console import Console

EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_LOCKED = 75


def _console() -> Console:
    from ownfeed.render import console  # rich: only the commands that print with it load it

    return console


def _stderr_line(text: str) -> None:
    from ownfeed.render import stderr_line  # see _console

    stderr_line(text)


def _fail(message: str, code: int) -> None:
    _stderr_line(f"Error: {message}")
    sys.exit(code)


@contextmanager
def _user_errors() -> Iterator[None]:
    """Turn ownfeed's own errors into one line on stderr and a meaningful exit code."""
    try:
        yield
    except LockedError as error:
        _fail(str(error), EXIT_LOCKED)
    except ConfigError as error:
        _fail(str(error), EXIT_USAGE)
    except OwnfeedError as error:
        _fail(str(error), EXIT_FAILED)
    except KeyboardInterrupt:
        _fail("interrupted", 130)


def _json(data: Any) -> None:
    click.echo(json.dumps(data, ensure_ascii=False, indent=2, default=str))


class _Context:
    def __init__(self, config_path: str | None) -> None:
        self.config_path = Path(config_path) if config_path else None

    def config(self) -> Config:
        return load_config(self.config_path)

    @contextmanager
    def archive(self) -> Iterator[tuple[Config, Archive]]:
        config = self.config()
        archive = Archive(config.archive)
        try:
            yield config, archive
        finally:
            archive.close()


pass_context = click.make_pass_decorator(_Context)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "-c",
    "--config",
    "config_path",
    envvar="OWNFEED_CONFIG",
    type=click.Path(dir_okay=False),
    help=f"Config file (default: ./{CONFIG_NAME}, then the user config folder).",
)
@click.version_option(__version__, prog_name="ownfeed")
@click.pass_context
def cli(ctx: click.Context, config_path: str | None) -> None:
    """ownfeed: your own copy of everything you publish online.

    Pulls your posts and the replies to them from blogs and social platforms into a
    SQLite archive you own, and exports it as a static website.
    """
    ctx.obj = _Context(config_path)


@cli.command()
@click.argument("directory", default=".", type=click.Path(file_okay=False))
@click.option("--force", is_flag=True, help="Overwrite an existing ownfeed.toml.")
def init(directory: str, force: bool) -> None:
    """Write a commented ownfeed.toml in DIRECTORY and create the archive."""
    from importlib import resources  # a few ms (its readers) that only `init` needs

    folder = Path(directory)
    target = folder / CONFIG_NAME
    with _user_errors():
        if target.exists() and not force:
            raise ConfigError(f"{target} exists already (use --force to overwrite)")
        template = resources.files("ownfeed").joinpath("templates", "ownfeed.toml").read_text()
        try:
            folder.mkdir(parents=True, exist_ok=True)
            target.write_text(template, encoding="utf-8")
        except OSError as error:
            _fail(f"cannot write {target}: {error.strerror or error}", EXIT_FAILED)
        config = load_config(target)
        Archive(config.archive).close()
    click.echo(f"Wrote {target} and created the archive {config.archive}")
    click.echo("Next: ownfeed add URL-OR-HANDLE, then ownfeed sync")


@cli.command()
@click.argument("target", required=False)
@click.option("--name", help="Source name (default: derived from the URL or handle).")
@click.option("--type", "type_", help="Source type, when detection guesses wrong.")
@click.option(
    "--opml",
    "opml_file",
    type=click.Path(exists=True, dir_okay=False),
    help="Add every feed of a feed reader's OPML export (known URLs are skipped).",
)
@pass_context
def add(
    obj: _Context, target: str | None, name: str | None, type_: str | None, opml_file: str | None
) -> None:
    """Detect the source type of URL-OR-HANDLE and append it to the config.

    Feeds and HTML pages that advertise one, WordPress sites, @user@host (Mastodon),
    handle.bsky.social and bsky.app profile URLs (Bluesky), YouTube channels, Reddit
    users, GitHub users and repositories, Lemmy and other fediverse profiles.
    """
    if opml_file is not None:
        from ownfeed.opml import plan_import, read_opml

        if target or name or type_:
            _fail("--opml takes no URL-OR-HANDLE, --name or --type", EXIT_USAGE)
        with _user_errors():
            config = obj.config()
            entries, skipped = plan_import(read_opml(Path(opml_file)), config.sources)
            for entry in entries:
                add_source(config.path, entry)
        click.echo(
            f"Added {len(entries)} source(s) from {opml_file} to {config.path}"
            + (f"; skipped {skipped} already configured" if skipped else "")
        )
        return
    if not target:
        _fail("missing URL-OR-HANDLE (or --opml FILE)", EXIT_USAGE)
        return
    import asyncio  # here: only `add` and `sync` run a loop

    from ownfeed.add import detect_source

    with _user_errors():
        config = obj.config()
        entry = asyncio.run(detect_source(target, type_=type_, timeout=config.timeout))
        entry["name"] = name or unique_name(entry.get("name") or "source", config)
        add_source(config.path, entry)
    details = ", ".join(f"{k} = {v!r}" for k, v in entry.items() if k != "name")
    click.echo(f"Added source {entry['name']!r} ({details}) to {config.path}")


def unique_name(base: str, config: Config) -> str:
    taken = {source.name for source in config.sources}
    name, counter = base, 2
    while name in taken:
        name, counter = f"{base}-{counter}", counter + 1
    return name


@cli.command("sources")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@click.option("--opml", "as_opml", is_flag=True, help="Print the sources as an OPML list.")
@pass_context
def sources_command(obj: _Context, as_json: bool, as_opml: bool) -> None:
    """The configured sources with type, post count, last sync and last error."""
    if as_opml:
        from ownfeed.opml import write_opml

        with _user_errors():
            config = obj.config()
        click.echo(write_opml(config.sources, config.export.title), nl=False)
        return
    with _user_errors(), obj.archive() as (config, archive):
        archived = {row["name"]: row for row in queries.source_overview(archive)}
        rows = []
        for source in config.sources:
            row = archived.get(source.name, {})
            rows.append(
                {
                    "name": source.name,
                    "type": source.type,
                    "enabled": source.enabled,
                    "locator": source.option("url") or source.option("account") or "",
                    "posts": row.get("posts", 0),
                    "last_sync_at": row.get("last_sync_at"),
                    "last_error": row.get("last_error"),
                }
            )
    if as_json:
        _json(rows)
    elif not rows:
        click.echo("No sources yet. Add one with: ownfeed add URL-OR-HANDLE")
    else:
        from ownfeed.render import sources_table  # rich, see _console

        _console().print(sources_table(rows))


@cli.command()
@click.argument("names", nargs=-1)
@click.option("--full", is_flag=True, help="Ignore saved cursors and validators; fetch all.")
@click.option("--verify", is_flag=True, help="Re-check every archived post upstream.")
@click.option("--no-media", is_flag=True, help="Do not download media this time.")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing unless a source fails (cron).")
@click.option("--json", "as_json", is_flag=True, help="Print a JSON summary.")
@pass_context
def sync(
    obj: _Context,
    names: tuple[str, ...],
    full: bool,
    verify: bool,
    no_media: bool,
    quiet: bool,
    as_json: bool,
) -> None:
    """Fetch every enabled source (or the NAMES given) into the archive.

    Exit codes: 0 all sources ok, 1 a source failed (the others were archived),
    2 usage or config error, 75 another sync holds the archive's lock.
    """
    import asyncio  # here, as in `add`

    from ownfeed.render import RichProgress
    from ownfeed.sync import SyncOptions, sync_archive

    options = SyncOptions(names=names, full=full, verify=verify, media=not no_media)
    with _user_errors():
        config = obj.config()
        with ArchiveLock(config.archive), Archive(config.archive) as archive:
            show_bars = not quiet and not as_json and sys.stderr.isatty()
            if show_bars:
                with RichProgress() as bars:
                    report = asyncio.run(sync_archive(config, archive, options, bars))
            else:
                report = asyncio.run(sync_archive(config, archive, options))
    if as_json:
        _json(
            {
                "run_id": report.run_id,
                "status": report.status,
                "seconds": round(report.seconds, 3),
                "media_stored": report.media_stored,
                "media_failed": report.media_failed,
                "sources": [
                    {
                        "source": run.source,
                        "status": run.status,
                        "new": run.counts.new,
                        "updated": run.counts.updated,
                        "unchanged": run.counts.unchanged,
                        "gone": run.counts.gone,
                        "error": run.error,
                        "http_status": run.http_status,
                        "seconds": round(run.seconds, 3),
                    }
                    for run in report.runs
                ],
            }
        )
    elif quiet:
        for run in report.failed:
            _stderr_line(f"{run.source}: {run.error}")
    else:
        for run in report.failed:
            _stderr_line(f"{run.source}: failed: {run.error}")
        new = sum(run.counts.new for run in report.runs)
        updated = sum(run.counts.updated for run in report.runs)
        click.echo(
            f"Synced {len(report.runs)} source(s) in {report.seconds:.1f} s: {new} new, "
            f"{updated} updated, {len(report.failed)} failed"
            + (f", {report.media_stored} media file(s) stored" if report.media_stored else "")
        )
    sys.exit(report.exit_code)


@cli.command("import")
@click.argument("kind")
@click.argument("path", type=click.Path(exists=True))
@click.option("--source", "source_name", help="Attribute posts to this configured source.")
@pass_context
def import_command(obj: _Context, kind: str, path: str, source_name: str | None) -> None:
    """Import a platform's own data export: twitter, mastodon, wordpress, bluesky, facebook,
    instagram or linkedin (a zip, an unpacked folder or a single file)."""
    try:
        from ownfeed.importers import IMPORTERS, run_import
    except ImportError:
        _fail("importers are not available in this build", EXIT_FAILED)
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from ownfeed.linking import link_archive  # asyncio, for the short links a sync follows
    from ownfeed.media import MediaStore
    from ownfeed.render import err_console

    # A bar on a terminal only (as `sync` shows them): entries read while the export is
    # parsed (no total yet), then posts written out of the total to write.
    bar = None
    if sys.stderr.isatty():
        bar = Progress(
            TextColumn("{task.description:<20}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err_console,
            transient=False,
        )
    task = bar.add_task(f"reading {kind}", total=None) if bar else None

    def progress(done: int, total: int | None) -> None:
        if bar is None or task is None:
            return
        if total is None:
            bar.update(task, completed=done)
        else:
            bar.update(task, completed=done, total=total, description="writing posts")

    with _user_errors():
        if kind not in IMPORTERS:
            raise ConfigError(f"unknown import kind {kind!r} (known: {', '.join(IMPORTERS)})")
        config = obj.config()
        configured = config.source(source_name) if source_name else None
        with ArchiveLock(config.archive), Archive(config.archive) as archive:
            try:
                with bar or nullcontext():
                    report = run_import(
                        archive,
                        kind,
                        Path(path),
                        source=source_name,
                        source_type=configured.type if configured else None,
                        media_store=MediaStore(config.media_dir),
                        account=(configured.option("account") or configured.option("url"))
                        if configured
                        else None,
                        progress=progress if bar else None,
                    )
            except ParseError as error:
                _fail(f"{kind} import of {path}: {error}", EXIT_FAILED)
                return
            link_archive(archive, config.links)  # copies and mentions among what came in
    for warning in report.warnings:
        _stderr_line(f"warning: {warning}")
    click.echo(f"Imported {path}: {report.summary}")


@cli.command()
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_context
def status(obj: _Context, as_json: bool) -> None:
    """Health: per source last success, failures in a row, counts; the last runs."""
    with _user_errors(), obj.archive() as (config, archive):
        overview = {row["name"]: row for row in queries.source_overview(archive)}
        last_runs = queries.last_source_runs(archive)
        rows = []
        for source in config.sources:
            row = dict(overview.get(source.name, {"name": source.name}))
            row.update(name=source.name, type=source.type, enabled=source.enabled)
            row["last_run"] = last_runs.get(source.name)
            rows.append(row)
        data: dict[str, Any] = {
            "archive": str(config.archive),
            "totals": queries.totals(archive),
            "sources": rows,
            "runs": queries.recent_runs(archive),
        }
    if as_json:
        _json(data)
        return
    from ownfeed.render import status_table  # rich, see _console

    console = _console()
    totals = data["totals"]
    console.print(
        f"Archive {config.archive}: {totals.get('posts', 0)} posts "
        f"({totals.get('own', 0)} ours), {totals.get('versions', 0)} versions, "
        f"{totals.get('gone', 0)} gone upstream, {totals.get('media_stored', 0)}/"
        f"{totals.get('media', 0)} media stored"
    )
    if rows:
        console.print(status_table(rows))
    for run in data["runs"]:
        console.print(
            f"run {run['id']}: {run['status'] or 'running'} · started {run['started_at']} · "
            f"{run['sources']} sources, {run['failed']} failed, {run['new']} new"
        )


@cli.command()
@click.argument("query")
@click.option("--source", help="Only posts of this source.")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 10000))
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_context
def search(obj: _Context, query: str, source: str | None, limit: int, as_json: bool) -> None:
    """Full-text search over every archived post and reply.

    Best match (bm25) first. When more than 1,000 posts match, only the 1,000 most recently
    archived ones (of the source, with --source) are ranked, so common words stay fast.
    """
    with _user_errors(), obj.archive() as (_config, archive):
        results = queries.search(archive, query, source=source, limit=limit)
    if as_json:
        _json(results)
        return
    if not results:
        click.echo(f"No posts match {query!r}.")
        return
    console = _console()
    for row in results:
        title = row["title"] or ""
        console.print(
            f"[bold]{row['id']}[/] [dim]{row['platform']} {(row['published_at'] or '')[:10]}[/] "
            f"{title}"
        )
        console.print(f"    {row['snippet']}", markup=False, highlight=False)


@cli.command()
@click.argument("ident")
@click.option("--json", "as_json", is_flag=True, help="Print JSON.")
@pass_context
def show(obj: _Context, ident: str, as_json: bool) -> None:
    """One post (by id, id prefix, native id or URL) with its whole conversation."""
    with _user_errors(), obj.archive() as (_config, archive):
        post = queries.find_post(archive, ident)
        if post is None:
            raise OwnfeedError(f"no post {ident!r} in the archive (try `ownfeed search`)")
        detail = {
            "post": post,
            "thread": queries.thread(archive, post),
            "versions": queries.versions(archive, post["id"]),
            "media": queries.media_of(archive, post["id"]),
            "copies": queries.copies_of(archive, post["id"]),
            "original": queries.original_of(archive, post["id"]),
            "mentioned_by": queries.mentions_of(archive, post["id"]),
            "tags": queries.tags_of(archive, post["id"]),
        }
    if as_json:
        _json(detail)
    else:
        from ownfeed.render import print_post  # rich, see _console

        print_post(detail)


def _find_post(archive: Archive, ident: str) -> dict[str, Any]:
    """A post as `show` finds it (id, id prefix, native id or URL), or a user error."""
    post = queries.find_post(archive, ident)
    if post is None:
        raise OwnfeedError(f"no post {ident!r} in the archive (try `ownfeed search`)")
    return post


def _label(post: dict[str, Any]) -> str:
    return f"{post['id']} ({post['platform']})"


@cli.command("link")
@click.argument("original")
@click.argument("linked")
@click.option("--mention", is_flag=True, help="LINKED mentions ORIGINAL instead of copying it.")
@pass_context
def link_command(obj: _Context, original: str, linked: str, mention: bool) -> None:
    """Make LINKED a copy of ORIGINAL (our post), so their replies form one conversation.

    Both are given as `show` takes them: id, id prefix, native id or URL. Detection never
    changes or removes a link made here; `ownfeed unlink` does.
    """
    from ownfeed.archive.links import link_manually

    relation = "mention" if mention else "copy"
    with _user_errors():
        config = obj.config()
        with ArchiveLock(config.archive), Archive(config.archive) as archive:
            first, second = _find_post(archive, original), _find_post(archive, linked)
            with archive.transaction():
                link_manually(archive, first["id"], second["id"], relation)
    click.echo(f"Linked {_label(second)} as a {relation} of {_label(first)}")


@cli.command("unlink")
@click.argument("original")
@click.argument("linked")
@pass_context
def unlink_command(obj: _Context, original: str, linked: str) -> None:
    """Separate LINKED from ORIGINAL; detection will not link the two again."""
    from ownfeed.archive.links import unlink

    with _user_errors():
        config = obj.config()
        with ArchiveLock(config.archive), Archive(config.archive) as archive:
            first, second = _find_post(archive, original), _find_post(archive, linked)
            with archive.transaction():
                removed = unlink(archive, first["id"], second["id"])
    state = "Unlinked" if removed else "They were not linked; kept apart from now on:"
    click.echo(f"{state} {_label(first)} and {_label(second)}")


class _ExportBar:
    """The export's phase and, while pages render, a bar: on a terminal only.

    Refreshed by the export's own calls (`auto_refresh` off): a refresh thread could hold
    the terminal's lock when page helpers are forked.
    """

    def __init__(self) -> None:
        from rich.progress import BarColumn, Progress, TextColumn

        from ownfeed.render import err_console

        self.bar = Progress(
            TextColumn("{task.description:<24}"),
            BarColumn(),
            TextColumn("{task.fields[share]}"),  # empty while the total is unknown
            console=err_console,
            transient=True,
            auto_refresh=False,
        )
        self.task = self.bar.add_task("looking at the site", total=None, share="")

    def show(self, phase: str, done: int, total: int) -> None:
        share = f"{100 * done // total:>3d} %" if total else ""
        self.bar.update(
            self.task, description=phase, completed=done, total=total or None, share=share
        )
        self.bar.refresh()

    def __enter__(self) -> _ExportBar:
        self.bar.start()
        self.bar.refresh()
        return self

    def __exit__(self, *exc: object) -> None:
        self.bar.stop()


def _checked_base_url(
    _ctx: click.Context, _param: click.Parameter, value: str | None
) -> str | None:
    problem = base_url_problem(value) if value else None
    if problem:
        raise click.BadParameter(problem)
    return value


@cli.command()
@click.option(
    "-o",
    "--output",
    type=click.Path(file_okay=False),
    help="Folder (default: [export] output).",
)
@click.option(
    "--base-url",
    callback=_checked_base_url,
    help="Public URL of the site (default: [export] base_url); '' for none.",
)
@click.option("--full", is_flag=True, help="Rewrite every file, not only changed ones.")
@click.option("-q", "--quiet", is_flag=True, help="Print nothing unless the export fails (cron).")
@click.option("--json", "as_json", is_flag=True, help="Print the report as JSON.")
@pass_context
def export(
    obj: _Context,
    output: str | None,
    base_url: str | None,
    full: bool,
    quiet: bool,
    as_json: bool,
) -> None:
    """Write or update the static site: every post, thread, version, feed and a search page.

    All or nothing: a failed export leaves the site in place as it was. Exit codes: 0
    written, 1 failed (the site is kept), 2 usage or config error, 75 another export is
    writing the same folder.
    """
    try:
        from ownfeed.export import build_site
    except ImportError:
        _fail("the export is not available in this build", EXIT_FAILED)
        return
    with _user_errors(), obj.archive() as (config, archive):
        target = Path(output) if output else config.export.output
        bar = _ExportBar() if sys.stderr.isatty() and not quiet and not as_json else None
        try:
            with bar or nullcontext():
                report = build_site(
                    archive,
                    config.export,
                    config.media_dir,
                    output=target,
                    base_url=base_url,
                    full=full,
                    progress=bar.show if bar else None,
                )
        except OSError as error:  # a folder we may not write, a full disk: the site is kept
            reason = error.strerror or str(error)
            where = f" ({error.filename})" if error.filename else ""
            _fail(
                f"export to {target} failed, the site is left as it was: {reason}{where}",
                EXIT_FAILED,
            )
            return
    if as_json:
        _json(
            {
                "output": str(target),
                "posts": report.posts,
                "files_written": report.files_written,
                "media_copied": report.media_copied,
                "unchanged": report.pages_unchanged,
                "removed": report.files_removed,
                "seconds": report.seconds,
                "warnings": report.warnings,
            }
        )
        return
    if quiet:
        return
    for warning in report.warnings:  # click, not rich: the export path never loads rich
        click.echo(f"warning: {warning}", err=True)
    click.echo(f"Exported to {target}: {report}")


@cli.command()
@click.argument("directory", default="ownfeed-demo", type=click.Path(file_okay=False))
@click.option("--serve/--no-serve", default=False, help="Keep the sample server running.")
def demo(directory: str, serve: bool) -> None:
    """Sync a sample company (blog, Mastodon, Bluesky) from a local server into DIRECTORY.

    Works offline: the sample server runs on 127.0.0.1 for the duration of the demo.
    """
    from ownfeed.demo.run import run_demo

    with _user_errors():
        run_demo(Path(directory), serve=serve, echo=click.echo)


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="ownfeed")


__all__ = ["cli", "default_config_path", "main"]
