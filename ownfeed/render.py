"""Terminal rendering for the CLI: tables, a post with its thread, sync progress."""

from __future__ import annotations

import sys
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TaskID, TextColumn, TimeElapsedColumn
from rich.table import Table

from ownfeed.archive.runs import SourceRun

console = Console()
err_console = Console(stderr=True)


def short_time(value: str | None) -> str:
    return value.replace("T", " ")[:16] if value else "—"


class RichProgress:
    """One bar per source while a sync runs (only on a terminal)."""

    def __init__(self) -> None:
        self.progress = Progress(
            TextColumn("{task.description:<20}"),
            BarColumn(),
            TextColumn("{task.fields[status]}"),
            TimeElapsedColumn(),
            console=err_console,
            transient=False,
        )
        self.tasks: dict[str, TaskID] = {}

    def __enter__(self) -> RichProgress:
        self.progress.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def started(self, name: str) -> None:
        self.tasks[name] = self.progress.add_task(name, total=None, status="fetching")

    def advanced(self, name: str, done: int, total: int | None) -> None:
        if name in self.tasks:
            self.progress.update(self.tasks[name], completed=done, total=total)

    def finished(self, run: SourceRun) -> None:
        task = self.tasks.get(run.source)
        if task is None:
            return
        if run.status == "failed":
            status = f"[red]failed[/]: {escape(run.error or '')}"
        else:
            status = f"[green]{run.counts.new} new[/], {run.counts.updated} updated"
            if run.error:
                status += f", [yellow]warnings[/]: {escape(run.error)}"
        self.progress.update(task, total=1, completed=1, status=status)


def sources_table(rows: list[dict[str, Any]]) -> Table:
    table = Table(title="Sources")
    for column in ("name", "type", "locator", "posts", "last sync", "last error"):
        table.add_column(column, overflow="fold")
    for row in rows:
        table.add_row(
            row["name"],
            row["type"],
            row.get("locator") or "",
            str(row.get("posts") or 0),
            short_time(row.get("last_sync_at")),
            escape(row.get("last_error") or ""),
        )
    return table


def status_table(rows: list[dict[str, Any]]) -> Table:
    table = Table(title="Source health")
    for column in ("source", "state", "last success", "failures", "posts", "gone", "last run"):
        table.add_column(column, overflow="fold")
    for row in rows:
        healthy = not row.get("failures")
        state = "[green]ok[/]" if healthy else f"[red]failing[/]: {escape(row['last_error'] or '')}"
        if row.get("last_sync_at") is None:
            state = "[dim]never synced[/]"
        last = row.get("last_run") or {}
        last_text = (
            f"{last.get('new', 0)} new, {last.get('updated', 0)} upd"
            + (f", [yellow]{escape(last['error'])}[/]" if last.get("error") and healthy else "")
            if last
            else "—"
        )
        table.add_row(
            row["name"],
            state,
            short_time(row.get("last_success_at")),
            str(row.get("failures") or 0),
            str(row.get("posts") or 0),
            str(row.get("gone") or 0),
            last_text,
        )
    return table


def print_post(detail: dict[str, Any]) -> None:
    post = detail["post"]
    header = post.get("title") or (post.get("content_text") or "")[:60]
    console.rule(f"[bold]{escape(header)}[/]")
    who = post.get("author_name") or post.get("author_handle") or "unknown"
    console.print(
        f"[dim]{post['id']} · {post['platform']} · {post['kind']} · {escape(who)} · "
        f"{short_time(post.get('published_at'))}[/]"
    )
    if post.get("url"):
        console.print(f"[link={post['url']}]{escape(post['url'])}[/link]")
    if post.get("gone_at"):
        console.print(
            f"[red]gone upstream since {short_time(post['gone_at'])}"
            f" ({escape(post.get('gone_reason') or '')})[/]"
        )
    console.print()
    console.print(escape(post.get("content_text") or ""))
    if detail["tags"]:
        console.print("[dim]tags: " + escape(", ".join(detail["tags"])) + "[/]")
    for item in detail["media"]:
        where = item.get("local_path") or f"not downloaded: {item.get('error') or 'pending'}"
        console.print(f"[dim]media: {escape(item['url'])} → {escape(where)}[/]")
    original = detail.get("original")
    if original:
        name = original.get("title") or original.get("url") or original["id"]
        console.print(f"[dim]copy of {original['id']} on {original['platform']}: {escape(name)}[/]")
    for copy in detail["copies"]:
        if copy["id"] == post["id"]:
            continue
        console.print(f"[dim]also on {copy['platform']}: {escape(copy['url'] or copy['id'])}[/]")
    if len(detail["versions"]) > 1:
        console.print(f"\n[bold]{len(detail['versions'])} versions[/]")
        for version in detail["versions"]:
            console.print(f"  v{version['version']} captured {short_time(version['captured_at'])}")
    replies = [item for item in detail["thread"] if item["id"] != post["id"]]
    if replies:
        console.print(f"\n[bold]Conversation ({len(replies)} more)[/]")
        for item in detail["thread"]:
            indent = "  " * item["depth"]
            marker = "[bold]▶[/] " if item["id"] == post["id"] else ""
            who = item.get("author_name") or item.get("author_handle") or "?"
            own = "[green]us[/]" if item["is_own"] else escape(who)
            text = " ".join((item.get("content_text") or "").split())[:160]
            when = short_time(item.get("published_at"))
            if item.get("url"):
                when = f"[link={escape(item['url'])}]{when}[/link]"
            console.print(
                f"{indent}{marker}[dim]{item['platform']} {when}[/] {own}: {escape(text)}"
            )
    print_mentions(detail.get("mentioned_by") or [])


def print_mentions(mentions: list[dict[str, Any]]) -> None:
    """Pingbacks, trackbacks and others' posts that link to the story."""
    if not mentions:
        return
    console.print(f"\n[bold]Mentioned by ({len(mentions)})[/]")
    for item in mentions:
        who = item.get("author_name") or item.get("author_handle") or item.get("url") or "?"
        text = " ".join((item.get("title") or item.get("content_text") or "").split())[:120]
        console.print(
            f"  [dim]{item['platform']} {short_time(item.get('published_at'))}[/] "
            f"{escape(who)}: {escape(text)}"
        )
        if item.get("url"):
            console.print(f"    [dim]{escape(item['url'])}[/]")


def stderr_line(text: str) -> None:
    print(text, file=sys.stderr)
