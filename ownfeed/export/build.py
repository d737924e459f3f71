"""One export run: decide what changed, render it, put it in place all at once."""

from __future__ import annotations

import gc
import os
import posixpath
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from html import escape
from pathlib import Path

from ownfeed.archive import site
from ownfeed.archive.db import Archive
from ownfeed.archive.site import SitePost
from ownfeed.config import ExportConfig
from ownfeed.export import changes, feeds, modelcache, pages, parallel, urls, views
from ownfeed.export.entries import EntryStore
from ownfeed.export.lists import ListWriter
from ownfeed.export.model import InThread, SiteModel
from ownfeed.export.sanitize import Sanitizer, safe_post, safe_url
from ownfeed.export.search import write_search
from ownfeed.export.writer import HelperRecord, SiteLock, SiteWriter, WriteCounts, fingerprint
from ownfeed.gcpause import fewer_collections

FORMAT = "ownfeed-export-1"  # bump when the code changes what pages look like
CHUNK = 200  # post pages rendered per batch of queries
LIST_PAGES_PER_TASK = 80  # list pages that take about as long as a chunk of post pages
PREPARE_ALONGSIDE = 20  # post chunks up to which list entries are stored while helpers run
INDEX_PAGES_PER_CHUNK = 80  # without the entry store: index pages worth one chunk


@dataclass
class ExportReport:
    """What an export did; `pages_*` count every generated file (pages, feeds, index)."""

    output: Path
    pages_written: int = 0
    pages_unchanged: int = 0
    media_copied: int = 0
    files_removed: int = 0
    posts: int = 0
    seconds: float = 0.0
    warnings: list[str] = field(default_factory=list)

    @property
    def files_written(self) -> int:
        return self.pages_written + self.media_copied

    def __str__(self) -> str:
        """One line for people (the CLI and the demo print it)."""
        media = f" ({self.media_copied} media)" if self.media_copied else ""
        removed = f", {self.files_removed} removed" if self.files_removed else ""
        return (
            f"{self.posts} posts, {self.files_written} files written{media}, "
            f"{self.pages_unchanged} unchanged{removed} in {self.seconds:.2f} s"
        )


def normalize_base_url(value: str | None) -> str:
    value = (value or "").strip()
    return value if not value or value.endswith("/") else value + "/"


class Export:
    def __init__(
        self,
        archive: Archive,
        config: ExportConfig,
        media_dir: Path,
        output: Path,
        base_url: str,
        full: bool,
        progress: Progress | None = None,
    ) -> None:
        self.archive = archive
        self.progress: Progress = progress or _no_progress
        self.config = config
        self.media_dir = media_dir
        self.base_url = base_url
        # first: a theme that is not a folder fails here, before anything is staged
        self.templates = pages.Templates(config.theme)
        self.site = pages.Site(config.title, config.description, config.language, base_url)
        self._marker = _ChangeMarker(archive)  # runs while the writer walks the site
        self.writer = SiteWriter(output, full=full)
        self.report = ExportReport(output=output)
        self._helpers: parallel.Helpers[HelperRecord] | None = None
        self._entries: EntryStore | None = None

    def run(self) -> ExportReport:
        # An export allocates a container per post in a dozen places; with the default
        # thresholds the collector ran some hundred passes, the full ones over the model.
        with fewer_collections():
            return self._run()

    def _run(self) -> ExportReport:
        started = time.perf_counter()
        try:
            local = self.local_media()
            # Waiting for the marker's thread: read the model cache meanwhile (wasted only
            # when the marker then says nothing changed, and it was late anyway).
            early = None if self._marker.ready() else modelcache.read_early(self.writer)
            marker = fingerprint(
                FORMAT,
                self.templates.fingerprint(),
                self.site,
                self.config.per_page,
                self.config.feed_items,
                self._marker.result(),
                *sorted(local),
            )
            if self.writer.keep_all(marker):  # nothing new since the last export
                return self._finish(self.writer.commit(marker), started, None)
            self.progress("reading the archive", 0, 0)
            model, facts = modelcache.load(
                self.archive, self.writer, set(local), self._marker.state().buckets, early
            )
            del early
            gc.freeze()  # the model lives to the end: no collection needs to walk it
            self.salt = fingerprint(
                FORMAT,
                self.templates.fingerprint(),
                self.site,
                self.config.per_page,
                sorted(model.sources.items()),
            )
            self.write_assets()
            for name, source in sorted(local.items()):
                self.writer.put_file(f"media/{name}", source, name)
            if not self.templates.overrides("list.html"):  # it may show more than entries
                self._entries = EntryStore(self.writer, self.salt)
            lists = ListWriter(
                self.writer,
                self.archive,
                model,
                self.templates,
                self.site,
                self.config.per_page,
                self.salt,
                self.canonical,
                entries=self._entries,
            )
            snapshot = changes.Snapshot.of(
                model, self.salt, changes.lists_print(lists.listings, lists.listing_ids())
            )
            changed = self._changed(model, snapshot)
            changes.write(self.writer, snapshot)  # staged now: its strings are freed early
            del snapshot
            modelcache.save(self.writer, model, facts)
            del facts
            shown = changed.posts if changed is not None and changed.lists_kept else None
            index_lists = lists.part({"index"})
            other_lists = lists.part({"source", "tag", "month"})
            index_stale = index_lists.plan(shown)
            other_lists.plan(shown)
            lists.forget_tokens(keep=shown is not None)  # shared by the parts
            only = changed.posts if changed is not None else None
            if self._entries is not None:
                # The stale pages are tasks like chunks of post pages, for this process and
                # the helpers alike, after the post pages: while helpers render those, this
                # process stores every entry the pages need (`prepare`), then lets them on.
                tasks = [
                    (part, batch)
                    for part in (other_lists, index_lists)
                    for batch in part.batches(LIST_PAGES_PER_TASK)
                ]
                parts = [other_lists, index_lists]
                finish_posts = self.write_posts(model, tasks, parts, self._prepare_lists, only)
            else:  # the index's pages are a helper task; the other lists are written here
                tasks = [(index_lists, [])] if index_stale else []
                finish_posts = self.write_posts(model, tasks, [index_lists], lambda _: None, only)
                other_lists.write()
            self.writer.put_text(
                "search.html",
                self.templates.render(
                    "search.html", site=self.site, root="", canonical=self.canonical("search.html")
                ),
            )
            finish_posts()  # helpers done before the search index: the peaks never add up
            self.progress("search index and feeds", 0, 0)
            if self._entries is not None:
                self._entries.finish(post.id for post in model.posts)
            write_search(self.writer, self.archive, model, self.salt, changed)
            self.write_feeds(model)
            self.progress("putting files in place", 0, 0)
            counts = self.writer.commit(marker)
        except BaseException:
            if self._helpers is not None:
                self._helpers.stop()
            if self._entries is not None:
                self._entries.close()
            self.writer.abort()
            raise
        return self._finish(counts, started, model)

    def _finish(self, counts: WriteCounts, started: float, model: SiteModel | None) -> ExportReport:
        report = self.report
        report.pages_written = counts.written
        report.pages_unchanged = counts.unchanged
        report.media_copied = counts.media_copied
        report.files_removed = counts.removed
        if model is not None:
            report.posts = len(model.posts)
        else:  # kept as it was: our posts are the post pages of the last export
            report.posts = sum(1 for path in self.writer.new if path.startswith("posts/"))
            if not self.base_url:
                report.warnings.append("no base_url: sitemap.xml skipped, feed links relative")
        report.seconds = round(time.perf_counter() - started, 3)
        return report

    def canonical(self, path: str) -> str | None:
        return self.base_url + urls.href(path) if self.base_url else None

    def local_media(self) -> dict[str, Path]:
        """Site file name -> downloaded file, for media whose file is really there."""
        root = self.media_dir.resolve()
        present = _regular_files(str(root))
        found: dict[str, Path] = {}
        missing = 0
        for item in site.downloaded_media(self.archive):
            name = item.file
            if name is None or name in found or item.local_path is None:
                continue
            relative = posixpath.normpath(item.local_path)
            if relative in present:  # never `..`, absolute or through a symlink
                found[name] = root / relative
            else:
                missing += 1
        if missing:
            self.report.warnings.append(
                f"{missing} downloaded media files are missing from {self.media_dir}; "
                "they are linked to their original address instead"
            )
        return found

    def write_assets(self) -> None:
        for name, data in self.templates.static_files().items():
            self.writer.put(f"assets/{name}", data)

    def _changed(
        self, model: SiteModel, snapshot: changes.Snapshot | None
    ) -> changes.Changed | None:
        """Our posts that may look different since the last export (None: unknown)."""
        last = changes.Snapshot.load(self.writer)
        return last.compare(model, snapshot) if last is not None else None

    def write_posts(
        self,
        model: SiteModel,
        list_tasks: list[ListTask],
        parts: list[ListWriter],
        prepare: Callable[[list[ListWriter]], None],
        only: Collection[str] | None = None,
    ) -> Callable[[], None]:
        """Start rendering the post pages whose inputs changed, then the list tasks (a
        batch of stale pages of one part, or `[]`: all of its stale pages), which wait for
        `prepare(parts)`; returns `finish()`. `only`: the posts whose page inputs may
        have changed (changes.py); the other pages are kept if their file is in place.

        Enough work goes to forked helpers (see parallel.py) while this process prepares
        the lists and goes on; `finish()` renders what is left and collects theirs.
        """
        pending: list[tuple[str, str, str]] = []
        posts = [post.id for post in model.posts]
        if only is not None:  # the others' pages are kept, unless their file is missing
            missing = set(
                self.writer.keep_each(urls.post_page(pid) for pid in posts if pid not in only)
            )
            posts = [
                pid for pid in posts if pid in only or (missing and urls.post_page(pid) in missing)
            ]
        for pid in posts:
            path = urls.post_page(pid)
            print_ = fingerprint(self.salt, *views.page_inputs(model, pid))
            if not self.writer.fresh(path, print_):
                pending.append((pid, path, print_))
        chunks = [pending[start : start + CHUNK] for start in range(0, len(pending), CHUNK)]
        pages = _PostPages(self, model, chunks, list_tasks, parts)
        work = len(chunks) + sum(
            1 if batch else part.stale_count() // INDEX_PAGES_PER_CHUNK
            for part, batch in list_tasks
        )
        enough = work >= parallel.MIN_CHUNKS and self._can_fork()
        helpers = parallel.helper_count() if enough else 0
        # Preparing touches every post the stale lists show; alongside helpers that render
        # many post pages (a full export), both processes would copy most of the model.
        alongside = len(chunks) <= PREPARE_ALONGSIDE
        if not alongside:
            prepare(parts)

        def rendered(taken: int) -> None:
            self.progress("rendering pages", taken, pages.count)

        rendered(0)
        if not helpers:
            for number in range(pages.lists):  # post pages first, as lists link to them
                pages.render(number)
                rendered(number + 1)
            if alongside:
                prepare(parts)
            for number in range(pages.lists, pages.count):
                pages.render(number)
                rendered(number + 1)
            return lambda: None
        gate_from = pages.lists if alongside else None
        running = parallel.Helpers(
            pages.count, helpers, pages.setup, pages.render, pages.record, gate_from, pages.gate
        )
        self._helpers = running
        if alongside:
            prepare(parts)
            running.open_gate(self._entries.added() if self._entries is not None else None)

        def finish() -> None:
            for record in running.finish(rendered):
                self.writer.merge(record)

        return finish

    @staticmethod
    def _prepare_lists(parts: list[ListWriter]) -> None:
        for part in parts:
            part.prepare()

    def _can_fork(self) -> bool:
        """Helpers open the archive file again: not possible for an in-memory one."""
        path = str(self.archive.path)
        return path != ":memory:" and os.path.isfile(path)

    def write_feeds(self, model: SiteModel) -> None:
        """Feeds and sitemap; skipped when their inputs are those of the last export."""
        newest = [p.id for p in model.posts[: max(0, self.config.feed_items)]]
        print_ = fingerprint(
            self.salt,
            "feeds",
            *(f"{pid}:{model.digest.get(pid)}:{model.tags.get(pid)}" for pid in newest),
            *(f"{pid}>{_syndication(model, pid)}" for pid in newest if pid in model.copies_of),
        )
        names = ["feed.xml", "rss.xml", "feed.json"]
        if not self._keep(names, print_):
            self._feeds(model, newest, print_)
        if not self.base_url:
            self.report.warnings.append("no base_url: sitemap.xml skipped, feed links relative")
            return
        lastmod = {
            urls.post_page(p.id): (p.updated_at or p.published_at or p.date) for p in model.posts
        }
        pages = sorted(  # paths, then pairs: sorting strings is ~3x quicker than tuples
            path for path in self.writer.new if path.endswith(".html")
        )
        listed = [(path, lastmod.get(path)) for path in pages if not path.startswith("assets/")]
        # strings, not tuples: `str()` of ~100,000 tuples was most of this fingerprint
        print_ = fingerprint(self.salt, "sitemap", *(f"{path}\x1e{mod}" for path, mod in listed))
        previous = [path for path in self.writer.old if path.startswith("sitemap")]
        if previous and self._keep(previous, print_):
            return
        for name, data in feeds.sitemaps(self.base_url, listed).items():
            self.writer.put(name, data, print_)

    def _keep(self, paths: list[str], print_: str) -> bool:
        """Keep files made from the same inputs last time (all of them, or none)."""
        old = self.writer.old
        return all(old.get(path) == print_ for path in paths) and self.writer.keep(paths)

    def _feeds(self, model: SiteModel, newest: list[str], print_: str) -> None:
        full = site.posts_by_id(self.archive, newest)
        shared = [p.repost_of for p in full.values() if p.kind == "repost" and p.repost_of]
        full.update(site.posts_by_id(self.archive, shared))
        sanitizer = Sanitizer(model.media_files)

        def content(post: SitePost) -> str:
            cleaned = sanitizer.clean(
                post.content_html,
                base=post.url,
                media_root=self.base_url + "media/",
                third_party=not post.is_own,
            )
            return cleaned.html or views.text_html(post.content_text)

        items = []
        for pid in newest:
            post = full[pid]
            html = content(post)
            target = full.get(post.repost_of or "") if post.kind == "repost" else None
            if target is not None:  # a boost: the feed carries what was shared
                who = escape(target.author_name or target.author_handle or "someone")
                html += f"<p>Shared a post by {who}:</p><blockquote>{content(target)}</blockquote>"
            items.append(
                feeds.FeedItem(
                    safe_post(post), html, model.tags.get(pid, []), _syndication(model, pid)
                )
            )
        feed_site = feeds.FeedSite(
            self.config.title, self.config.description, self.config.language, self.base_url
        )
        self.writer.put("feed.xml", feeds.atom(feed_site, items), print_)
        self.writer.put("rss.xml", feeds.rss(feed_site, items), print_)
        self.writer.put("feed.json", feeds.json_feed(feed_site, items), print_)


def _syndication(model: SiteModel, post_id: str) -> tuple[str, ...]:
    """Upstream URLs of a post's copies on other platforms (checked http(s) only)."""
    found = []
    for copy in model.copies_of.get(post_id, []):
        post = model.by_id.get(copy)
        url = safe_url(post.url) if post is not None else None
        if url:
            found.append(url)
    return tuple(found)


ListTask = tuple[ListWriter, list[tuple[int, int]]]  # a part's pages ([]: all stale ones)
Progress = Callable[[str, int, int], None]  # phase, done, total (0: unknown)


def _no_progress(phase: str, done: int, total: int) -> None:
    """No progress bar."""


class _PostPages:
    """Renders chunks of post pages (the first tasks) and the list tasks (the others, from
    task `lists` on); in a helper process with its own archive connection."""

    def __init__(
        self,
        export: Export,
        model: SiteModel,
        chunks: list[list[tuple[str, str, str]]],
        list_tasks: list[ListTask],
        parts: list[ListWriter],
    ) -> None:
        self.export = export
        self.model = model
        self.chunks = chunks
        self.list_tasks = list_tasks
        self.parts = parts
        self.lists = len(chunks)
        self.count = self.lists + len(list_tasks)
        self.archive = export.archive
        self.sanitizer = Sanitizer(model.media_files)

    def setup(self) -> None:
        """In a forked helper: never touch the parent's SQLite connection."""
        self.archive = Archive(self.export.archive.path)
        for part in self.parts:
            part.archive = self.archive
        if self.export._entries is not None:
            self.export._entries.for_helper()
        self.export.writer.forget_for_helper()

    def gate(self, added: object) -> None:
        """In a helper, before its first list task: the entries the main process stored."""
        if self.export._entries is not None and isinstance(added, str):
            self.export._entries.take_added(added)

    def record(self) -> HelperRecord:
        return self.export.writer.helper_record()

    def render(self, number: int) -> None:
        if number >= self.lists:
            part, batch = self.list_tasks[number - self.lists]
            if batch:
                part.write_pages(batch)
            else:
                part.write()
            return
        export, model, archive = self.export, self.model, self.archive
        chunk = self.chunks[number]
        ids = [pid for pid, _, _ in chunk]
        roots, singles = views.needed(model, ids)
        threads = site.threads(archive, roots)
        loaded = {p.id for items in threads.values() for p in items}
        extra = site.posts_by_id(archive, singles - loaded)
        edited = [pid for pid in ids if model.by_id[pid].versions > 1]
        builder = views.PageBuilder(
            model, self.sanitizer, threads, extra, site.versions(archive, edited)
        )
        for pid, path, print_ in chunk:
            view = builder.post_view(pid)
            html = export.templates.render(
                "post.html",
                site=export.site,
                root="../",
                path=path,
                canonical=export.canonical(path),
                view=view,
                label=pages.entry_label(view.entry.post),
            )
            export.writer.put_text(path, html, print_)


class _ChangeMarker:
    """The archive's change state (marker and bucket prints), computed in a thread on a
    connection of its own.

    Why: it is a few scans inside SQLite (~0.4 s at 100,000 posts), which runs without
    the GIL, so it costs nothing while the writer walks the site and reads its manifest.
    An in-memory archive has no second connection, and a thread that could not read the
    archive leaves it to the main connection: then it is computed on first use.
    """

    def __init__(self, archive: Archive) -> None:
        self._state = InThread(archive, site.change_state)

    def result(self) -> str:
        return self.state().marker

    def ready(self) -> bool:
        """Whether `state()` returns without waiting for the thread."""
        return self._state.ready()

    def state(self) -> site.ChangeState:
        return self._state.result()


def _regular_files(root: str) -> set[str]:
    """Relative paths (with `/`) of the regular files below `root`; symlinks are skipped.

    One directory walk instead of resolving every media file's path on its own.
    """
    found: set[str] = set()
    pending = [("", root)]
    while pending:
        prefix, folder = pending.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                pending.append((prefix + entry.name + "/", entry.path))
            elif entry.is_file(follow_symlinks=False):
                found.add(prefix + entry.name)
    return found


def build_site(
    archive: Archive,
    config: ExportConfig,
    media_dir: Path,
    *,
    output: Path | None = None,
    base_url: str | None = None,
    full: bool = False,
    progress: Progress | None = None,
) -> ExportReport:
    """Write (or update) the static site of the archive; see DESIGN.md "Export layout".

    `progress(phase, done, total)` is called as the export goes on (total 0: unknown), in
    this process only, for a progress bar.
    """
    target = Path(output if output is not None else config.output)
    base = normalize_base_url(base_url if base_url is not None else config.base_url)
    with SiteLock(target):  # LockedError while another export writes the same folder
        return Export(archive, config, Path(media_dir), target, base, full, progress).run()
