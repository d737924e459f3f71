"""Export speed: `ownfeed export` of a large synthetic archive, full and incremental.

The archive (default 100,000 posts: two thirds our own posts, a third replies in threads,
5 % of the posts with a downloaded image, some edited, some gone upstream, tags) is
written through ownfeed's own write path (`ownfeed.archive.store_posts`, media through
`MediaStore` and `record_media_stored`), once, and cached in the temp folder between runs
(`ownfeed-export-bench/` there; delete it to rebuild). Each run copies it, then times, each
phase in its own subprocess (wall time includes start-up and imports; CPU time counts the
forked page helpers too and tells a slow export from a busy machine; memory is the peak
of the summed PSS of the process tree: pages a helper still shares with its parent count
once, where summed RSS would count them once per process):

- full: export into an empty folder;
- unchanged: export again with nothing new;
- changed: after 1 % of the posts changed (half of them our posts edited, half of them
  new replies by others to our posts), export again; the files written are reported.

`--verify` also exports the changed archive into an empty folder and checks that every
page and feed is byte-identical to the incrementally updated site (the search index is
built in segments, so its files may differ and are left out).

Usage: ``python benchmarks/export_speed.py [--posts 100000] [--runs 3] [--save FILE]
[--baseline FILE] [--verify] [--profile DIR] [--theme DIR]`` (or ``make bench-export``).
`--theme` exports with that theme folder (config `export.theme`): a theme that overrides a
template renders its pages through Jinja2 instead of the default theme's Python renderer.
"""

from __future__ import annotations

import argparse
import compileall
import cProfile
import filecmp
import functools
import hashlib
import importlib.util
import json
import os
import platform
import random
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import accumulate
from pathlib import Path
from typing import Any

GENERATOR = 1  # bump when the synthetic archive changes: the cache is keyed by it
CACHE = Path(tempfile.gettempdir()) / "ownfeed-export-bench"
NOW = datetime(2026, 1, 1, tzinfo=UTC)
BASE_URL = "https://example.com/archive/"
TARGETS = {"full": 25.0, "unchanged": 3.0, "changed": 5.0}  # seconds, on 2 cores
PEAK_TARGET_MB = 300.0
PHASES = ("full", "unchanged", "changed")

# (source, platform, share of our posts): a blog with titles, two text-first networks.
SOURCES = (("blog", "web", 0.1), ("mastodon", "mastodon", 0.5), ("bluesky", "bluesky", 0.4))


# --------------------------------------------------------------------------- the archive


class Words:
    """Pseudo-words with Zipf (s = 1) frequencies, so common words are common."""

    def __init__(self, rng: random.Random, size: int = 5000) -> None:
        consonants, vowels = "bcdfghklmnprstvz", "aeiouä"
        self.rng = rng
        self.words = []
        for rank in range(size):
            letters, value = [], rank + 1
            while value:
                value, digit = divmod(value, len(consonants) * len(vowels))
                letters.append(consonants[digit % 16] + vowels[digit // 16])
            self.words.append("".join(letters))
        self.cumulative = list(accumulate(1 / (rank + 1) for rank in range(size)))

    def text(self, count: int) -> str:
        return " ".join(self.rng.choices(self.words, cum_weights=self.cumulative, k=count))


@dataclass(slots=True)
class Planned:
    """One post of the synthetic archive, before it is a `Post`."""

    number: int
    source: int  # index into SOURCES
    own: bool
    root: int  # number of the thread's root (itself for a root)
    parent: int | None
    when: datetime
    tags: tuple[str, ...] = ()
    image: bool = False


def native(plan: Planned) -> str:
    name, _, _ = SOURCES[plan.source]
    who = "novosyx" if plan.own else f"user{plan.number % 977}"
    return f"https://{name}.example/@{who}/{plan.number}"


def plan_archive(total: int, rng: random.Random) -> list[Planned]:
    """Roots (ours, plus others' posts we replied to), then replies in threads, in order."""
    replies = total // 3
    others = total // 100
    own_roots = total - replies - others
    span = (NOW - datetime(2018, 1, 1, tzinfo=UTC)).total_seconds()
    tags = [f"topic{n}" for n in range(290)] + [f"Über {n}" for n in range(10)]
    tag_weights = list(accumulate(1 / (rank + 1) for rank in range(len(tags))))
    shares = list(accumulate(share for _, _, share in SOURCES))
    image_every = max(1, own_roots // max(1, total // 20))
    plans: list[Planned] = []
    for number in range(own_roots + others):
        own = number < own_roots
        when = NOW - timedelta(seconds=span * (own_roots + others - number) / (own_roots + others))
        draw = rng.random() * shares[-1]
        source = next(i for i, share in enumerate(shares) if draw <= share)
        if not own:
            source = 1 + number % 2  # others' posts we replied to: on the networks
        chosen = rng.choices(tags, cum_weights=tag_weights, k=rng.randrange(4)) if own else []
        plans.append(
            Planned(
                number,
                source,
                own,
                number,
                None,
                when,
                tuple(dict.fromkeys(chosen)),
                own and number % image_every == 0 and number // image_every < total // 20,
            )
        )
    # Replies: our replies to others' posts, then threads below our posts (a few large).
    threads: dict[int, list[int]] = {}
    hot = [rng.randrange(own_roots) for _ in range(max(1, own_roots // 5))]
    for count in range(replies):
        if count < others:
            root = own_roots + count
            own = True
        else:
            big = count % 20 == 0  # a twentieth of the replies go to ten large threads
            root = hot[rng.randrange(min(len(hot), 10))] if big else rng.choice(hot)
            own = rng.random() < 0.25
        members = threads.setdefault(root, [])
        parent = root if not members or rng.random() < 0.6 else rng.choice(members)
        number = len(plans)
        when = plans[parent].when + timedelta(minutes=rng.randrange(1, 600))
        plans.append(Planned(number, plans[root].source, own, root, parent, when))
        members.append(number)
    return plans


def make_post(plan: Planned, plans: list[Planned], words: Words, version: int = 1) -> Any:
    from ownfeed.models import Author, Media, Post

    name, platform_, _ = SOURCES[plan.source]
    author = (
        Author(platform_, handle="@novosyx", name="Novosyx", url=f"https://{name}.example/")
        if plan.own
        else Author(
            platform_,
            handle=f"@user{plan.number % 977}",
            name=f"User {plan.number % 977}",
            url=f"https://{name}.example/@user{plan.number % 977}",
        )
    )
    edit = f" (edit {version})" if version > 1 else ""
    title = None
    if platform_ == "bluesky":  # a text-only platform: no HTML
        html, text = None, words.text(30) + edit
    elif platform_ == "web" and plan.parent is None:
        title = words.text(5).capitalize()
        html = (
            f"<p>{words.text(60)}.</p><p>{words.text(25)} "
            f'<a href="https://{name}.example/link/{plan.number}">{words.text(3)}</a> '
            f"<em>{words.text(4)}</em>{edit}.</p><p>{words.text(40)}.</p>"
        )
        text = None
    else:
        tag = ""
        if plan.tags:
            tag = f' <a href="https://{name}.example/tags/{plan.tags[0]}">#{plan.tags[0]}</a>'
        html = f"<p>{words.text(35)}{edit}{tag}</p>"
        text = None
    parent = plans[plan.parent] if plan.parent is not None else None
    url = native(plan)
    return Post(
        platform=platform_,
        native_id=url,
        kind="reply" if parent else "post",
        is_own=plan.own,
        url=url,
        title=title,
        content_html=html,
        content_text=text,
        author=author,
        published_at=plan.when,
        in_reply_to=native(parent) if parent else None,
        thread_root=native(plans[plan.root]) if parent else None,
        tags=plan.tags,
        media=(Media(f"https://{name}.example/img/{plan.number}.png", alt=words.text(3)),)
        if plan.image
        else (),
    )


def _batches(plans: list[Planned], size: int = 1000) -> Iterator[tuple[int, list[Planned]]]:
    """Batches of one source each, parents before their replies."""
    pending: dict[int, list[Planned]] = {}
    for plan in plans:
        batch = pending.setdefault(plan.source, [])
        batch.append(plan)
        if len(batch) == size:
            yield plan.source, batch
            pending[plan.source] = []
    for source, batch in pending.items():
        if batch:
            yield source, batch


def build_archive(folder: Path, total: int, seed: int) -> None:
    """Write the synthetic archive (archive.db, media/) through ownfeed's write path."""
    from ownfeed.archive import Archive, mark_gone, store_posts
    from ownfeed.archive.media import record_media_stored
    from ownfeed.archive.runs import ensure_source
    from ownfeed.archive.store import media_id
    from ownfeed.media import MediaStore
    from ownfeed.models import Gone, SourceResult

    started = time.perf_counter()
    rng = random.Random(seed)
    words = Words(rng)
    plans = plan_archive(total, rng)
    folder.mkdir(parents=True, exist_ok=True)
    store = MediaStore(folder / "media")
    with Archive(folder / "archive.db") as archive:
        with archive.transaction():
            for name, platform_, _ in SOURCES:
                ensure_source(archive, name, "feed" if platform_ == "web" else platform_, None)
        done = 0
        for source, batch in _batches(plans):
            posts = [make_post(plan, plans, words) for plan in batch]
            with archive.transaction():
                store_posts(archive, posts, SOURCES[source][0], now=NOW - timedelta(days=30))
            images = [post for plan, post in zip(batch, posts, strict=True) if plan.image]
            with archive.transaction():
                for post in images:
                    data = b"\x89PNG\r\n\x1a\n" + hashlib.sha256(post.id.encode()).digest() * 32
                    stored = store.store(data, "image/png")
                    mid = media_id(post.id, post.media[0].url)
                    record_media_stored(
                        archive, mid, stored.sha256, stored.size, stored.local_path, "image/png"
                    )
            done += len(batch)
            if done % 10_000 < len(batch):
                print(f"  {done:>8,} posts stored", file=sys.stderr)
        own_roots = [plan for plan in plans if plan.own and plan.parent is None]
        edited = rng.sample(own_roots, len(plans) // 50)
        for source in range(len(SOURCES)):
            posts = [make_post(p, plans, words, 2) for p in edited if p.source == source]
            with archive.transaction():
                store_posts(archive, posts, SOURCES[source][0], now=NOW - timedelta(days=20))
        gone = [
            Gone(SOURCES[p.source][1], native(p), "404")
            for p in rng.sample(own_roots, len(plans) // 500)
        ]
        with archive.transaction():
            mark_gone(archive, SourceResult(gone=gone), now=NOW - timedelta(days=10))
        archive.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        count = archive.one("SELECT count(*) FROM posts")
    (folder / "plan.json").write_text(
        json.dumps({"posts": total, "seed": seed, "generator": GENERATOR}), encoding="utf-8"
    )
    print(
        f"built {count[0] if count else 0:,} posts in {time.perf_counter() - started:.0f} s",
        file=sys.stderr,
    )


def cached_archive(total: int, seed: int) -> Path:
    folder = CACHE / f"g{GENERATOR}-{total}-{seed}"
    if not (folder / "plan.json").exists():
        shutil.rmtree(folder, ignore_errors=True)
        print(f"building the archive in {folder} (cached for later runs) …", file=sys.stderr)
        build_archive(folder, total, seed)
    return folder


def change_archive(archive_path: Path, total: int, seed: int) -> int:
    """Change 1 % of the posts: half of them our posts edited, half new replies to ours."""
    from ownfeed.archive import Archive, store_posts

    rng = random.Random(seed)
    words = Words(rng)
    plans = plan_archive(total, rng)
    own_roots = [plan for plan in plans if plan.own and plan.parent is None]
    changes = max(2, total // 100)
    picked = random.Random(seed + 1).sample(own_roots, changes)
    by_source: dict[int, list[Any]] = {}
    for index, plan in enumerate(picked):
        if index % 2 == 0:
            by_source.setdefault(plan.source, []).append(make_post(plan, plans, words, 3))
            continue
        reply = Planned(
            len(plans), plan.source, False, plan.number, plan.number, NOW - timedelta(hours=1)
        )
        plans.append(reply)
        by_source.setdefault(plan.source, []).append(make_post(reply, plans, words))
    with Archive(archive_path) as archive, archive.transaction():
        for source, posts in by_source.items():
            store_posts(archive, posts, SOURCES[source][0], now=NOW)
    return changes


# --------------------------------------------------------------------------- measuring


PAGE_KIB = resource.getpagesize() // 1024
PSS_GAP = 0.1  # seconds: the least time between two PSS readings of the tree,
PSS_DUTY = 0.1  # longer if a reading cost more than this share of the time since the last,
PSS_RISE_KIB = 8192  # unless the tree's summed RSS rose by this much since the last reading


def _scan_tree(root: int) -> list[int]:
    """A process and its descendants, from every process's parent in /proc/*/stat."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as handle:
                    parent = int(handle.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(parent, []).append(int(entry))
    found, stack = [], [root]
    while stack:
        pid = stack.pop()
        found.append(pid)
        stack.extend(children.get(pid, ()))
    return found


@functools.cache
def _children_listed() -> bool:
    """Whether the kernel lists each thread's children (CONFIG_PROC_CHILDREN)."""
    return os.path.exists(f"/proc/{os.getpid()}/task/{os.getpid()}/children")


def _children(pid: int) -> list[int]:
    """The children of a process: each of its threads lists those it forked."""
    found: list[int] = []
    try:
        threads = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for thread in threads:
        try:
            with open(f"/proc/{pid}/task/{thread}/children", "rb") as handle:
                found.extend(int(child) for child in handle.read().split())
        except (OSError, ValueError):
            continue
    return found


def _tree(root: int) -> list[int]:
    """A process and all its descendants (the export's forked page helpers): from the
    children lists of the tree's own threads where the kernel has them (a few small
    reads), else from a scan of every process in /proc (~2 ms with 75 processes)."""
    if not _children_listed():
        return _scan_tree(root)
    found, stack = [], [root]
    while stack:
        pid = stack.pop()
        found.append(pid)
        stack.extend(_children(pid))
    return found


def _rss_kib(pid: int) -> int:
    """Resident memory of a process from /proc/<pid>/statm: a counter, read in ~20 us."""
    try:
        with open(f"/proc/{pid}/statm", "rb") as handle:
            return int(handle.read().split()[1]) * PAGE_KIB
    except (OSError, IndexError, ValueError):
        return 0


def _pss_kib(pid: int) -> int:
    """PSS of a process from /proc/<pid>/smaps_rollup: the kernel walks the page tables
    under the process's mmap lock, ~9 ms for 300 MB."""
    try:
        with open(f"/proc/{pid}/smaps_rollup", encoding="ascii", errors="replace") as file:
            for line in file:
                if line.startswith("Pss:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def tree_pss_kib(root: int, pids: Sequence[int] | None = None) -> int:
    """Memory of a process tree as the sum of PSS: pages a forked helper still shares with
    its parent count once (summing RSS would count them once per process). A reading costs
    ~9 ms of kernel time per 300 MB, holding each process's mmap lock meanwhile, so
    `PeakSampler` reads it only when a new peak is possible."""
    return sum(_pss_kib(pid) for pid in (_tree(root) if pids is None else pids))


@dataclass
class PeakSampler:
    """Peak summed PSS of a process tree, read so as to disturb the tree little.

    PSS costs a walk of the page tables (`_pss_kib`); reading it at each 20 ms tick took
    ~30 % of a core against a 390 MB tree of two busy processes, on a machine of two
    cores. A process's PSS is never more than its RSS, a counter (`_rss_kib`), so each
    tick (~0.1 ms) sums the tree's RSS and reads PSS only when that sum is above the peak
    so far. RSS counts shared pages in full (those a helper shares with the export twice,
    libraries in each), so the sum mostly stays above the peak; the readings are then
    spaced by at least `gap` seconds and by the CPU time the last one took divided by
    `duty`, unless the RSS sum rose by `rise_kib` since (a peak being made). The peak is
    the highest of these readings: within 0.3 MB of one taken at a known peak (a forked
    helper's copy-on-write raises PSS but not RSS, so it is caught at the next reading)."""

    root: int
    gap: float = PSS_GAP
    duty: float = PSS_DUTY
    rise_kib: int = PSS_RISE_KIB
    peak_kib: int = 0
    readings: int = 0  # of PSS, for telling the cost
    ticks: int = 0
    reading_seconds: float = 0.0  # CPU time the readings took, most of it in the kernel
    _next: float = -1e9
    _read_rss: int = 0

    def tick(self) -> None:
        self.ticks += 1
        pids = _tree(self.root)
        rss = sum(_rss_kib(pid) for pid in pids)
        if rss <= self.peak_kib:
            return
        now = time.monotonic()
        if now < self._next and rss - self._read_rss < self.rise_kib:
            return
        cpu = time.thread_time()
        self.peak_kib = max(self.peak_kib, tree_pss_kib(self.root, pids))
        cost = time.thread_time() - cpu
        self._next, self._read_rss = now + max(self.gap, cost / self.duty), rss
        self.readings += 1
        self.reading_seconds += cost


def child_export(
    archive_path: Path, media: Path, output: Path, profile: Path | None, theme: Path | None
) -> None:
    """One export, as `ownfeed export` runs it; prints its report as JSON."""
    from ownfeed.archive import Archive
    from ownfeed.config import ExportConfig
    from ownfeed.export import build_site

    config = ExportConfig(output=output, title="Synthetic company", base_url=BASE_URL, theme=theme)
    profiler = cProfile.Profile() if profile else None
    if profiler:
        profiler.enable()
    with Archive(archive_path) as archive:
        report = build_site(archive, config, media)
    if profiler and profile:
        profiler.disable()
        profiler.dump_stats(profile)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    print(
        json.dumps(
            {
                "written": report.pages_written,
                "unchanged": report.pages_unchanged,
                "media": report.media_copied,
                "removed": report.files_removed,
                "posts": report.posts,
                "export_s": report.seconds,
                "self_cpu_s": usage.ru_utime + usage.ru_stime,
            }
        )
    )


@dataclass
class Measure:
    seconds: float
    cpu_seconds: float
    peak_mb: float
    report: dict[str, Any] = field(default_factory=dict)
    sys_seconds: float = 0.0  # of cpu_seconds, in the kernel (mostly creating files)


def dirty_kib() -> int:
    """Dirty and under-writeback page cache (Linux), in KiB; 0 where unknown."""
    try:
        lines = Path("/proc/meminfo").read_text(encoding="ascii").splitlines()
    except OSError:
        return 0
    fields = dict(line.split(":", 1) for line in lines if ":" in line)
    return sum(int(fields.get(k, "0 kB").split()[0]) for k in ("Dirty", "Writeback"))


def creation_us(folder: Path, count: int = 300) -> float:
    """What creating an empty file costs here now, in microseconds (the files are removed;
    empty files free no blocks, so the probe leaves the disk as it found it)."""
    probe = folder / ".settle-probe"
    probe.mkdir(exist_ok=True)
    started = time.perf_counter()
    for number in range(count):
        os.close(os.open(probe / str(number), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644))
    seconds = time.perf_counter() - started
    shutil.rmtree(probe)
    return seconds / count * 1e6


def settle(folder: Path, limit: float = 300.0, quick_us: float = 60.0) -> tuple[float, float]:
    """Flush what earlier phases wrote and wait for the disk to go quiet; (seconds waited,
    microseconds a file creation cost at the end).

    A full export creates ~96,000 files; the kernel writes them back for many seconds
    afterwards, and a phase started meanwhile pays for that in file creation. And on this
    disk (ext4 mounted with `discard`), for a minute or more after many files were deleted
    (by anything: an earlier benchmark, a test run, `rm -rf`), creating one costs 150-700 us
    instead of 25-40 us (measured with `creation_us`): a full export then took 33 s
    instead of 19 s, all of the difference kernel time. Each phase therefore starts as a
    one-off export on a quiet disk would: after writeback, once a file creation is cheap
    again (or `limit` passed); `--no-settle` skips this."""
    began = time.perf_counter()
    os.sync()
    while dirty_kib() > 8 * 1024 and time.perf_counter() - began < limit:
        time.sleep(0.2)
    cost = creation_us(folder)
    while cost > quick_us and time.perf_counter() - began < limit:
        time.sleep(2.0)
        cost = creation_us(folder)
    return time.perf_counter() - began, cost


def measure_export(
    archive_path: Path,
    media: Path,
    output: Path,
    profile: Path | None = None,
    theme: Path | None = None,
) -> Measure:
    """Run one export in a subprocess: wall and CPU time (helpers too), peak tree PSS.

    A thread samples the memory every 20 ms with a `PeakSampler`, which sums the tree's
    RSS each time and reads its PSS only when that could be a new peak: reading PSS every
    time took 1.3-1.9 s of kernel CPU in a 5 s run of a 390 MB tree of two busy processes
    (0.4 s now), on two cores shared with the export, so that it measured the sampler too."""
    command = [sys.executable, __file__, "--child", str(archive_path), str(media), str(output)]
    if profile:
        command += ["--profile", str(profile)]
    if theme:
        command += ["--theme", str(theme)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    done = threading.Event()
    peak = PeakSampler(process.pid)

    def sample() -> None:
        while not done.is_set():
            peak.tick()
            done.wait(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    stdout, stderr = process.communicate()
    seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if process.returncode != 0:
        raise SystemExit(f"export failed ({process.returncode}):\n{stderr}")
    kernel = after.ru_stime - before.ru_stime
    cpu = (after.ru_utime - before.ru_utime) + kernel
    report = json.loads(stdout.strip().splitlines()[-1])
    return Measure(seconds, cpu, peak.peak_kib / 1024, report, kernel)


def compare_sites(incremental: Path, full: Path) -> list[str]:
    """Files that differ between two exports (the search index and state files left out)."""
    differ: list[str] = []

    def listing(root: Path) -> set[str]:
        return {
            str(path.relative_to(root))
            for path in root.rglob("*")
            if path.is_file()
            and not path.name.startswith(".ownfeed")
            and path.relative_to(root).parts[0] != "search"
        }

    left, right = listing(incremental), listing(full)
    differ += sorted(f"only in one: {name}" for name in left ^ right)
    for name in sorted(left & right):
        if not filecmp.cmp(incremental / name, full / name, shallow=False):
            differ.append(name)
    return differ


# --------------------------------------------------------------------------- the run


@dataclass
class Results:
    params: dict[str, Any]
    runs: list[dict[str, dict[str, float]]] = field(default_factory=list)

    def median(self) -> dict[str, dict[str, float]]:
        out: dict[str, dict[str, float]] = {}
        for phase in PHASES:
            samples = [run[phase] for run in self.runs if phase in run]
            if not samples:
                continue
            out[phase] = {
                metric: statistics.median(sample[metric] for sample in samples)
                for metric in samples[0]
            }
            out[phase]["min_seconds"] = min(sample["seconds"] for sample in samples)
            out[phase]["max_seconds"] = max(sample["seconds"] for sample in samples)
        return out


def one_run(
    args: argparse.Namespace, cached: Path, number: int, scratch: Path
) -> dict[str, dict[str, float]]:
    run: dict[str, dict[str, float]] = {}
    # the run's files stay in `scratch` until every run is done (see main)
    folder = scratch / f"run-{number}"
    folder.mkdir()
    archive = folder / "archive.db"
    shutil.copyfile(cached / "archive.db", archive)
    site = folder / "site"
    media = cached / "media"

    def record(phase: str) -> None:
        profile = args.profile / f"{phase}-{number}.prof" if args.profile else None
        waited, cost = settle(folder) if args.settle else (0.0, creation_us(folder))
        measure = measure_export(archive, media, site, profile, args.theme)
        report = measure.report
        run[phase] = {
            "seconds": measure.seconds,
            "cpu_seconds": measure.cpu_seconds,
            "sys_seconds": measure.sys_seconds,
            "peak_mb": measure.peak_mb,
            "files_written": report["written"] + report["media"],
            "files_unchanged": report["unchanged"],
            "settle_seconds": round(waited, 1),
            "create_us_before": round(cost, 1),
        }
        print(
            f"  {phase:10} {measure.seconds:7.2f} s wall {measure.cpu_seconds:7.2f} s cpu "
            f"({measure.sys_seconds:.1f} sys) "
            f"{measure.peak_mb:7.1f} MB  {report['written'] + report['media']:>7} "
            f"files written, {report['unchanged']} unchanged "
            f"(disk: waited {waited:.0f} s, a file creation {cost:.0f} us)",
            file=sys.stderr,
        )

    record("full")
    record("unchanged")
    changed = change_archive(archive, args.posts, args.seed)
    print(f"  ({changed} posts changed)", file=sys.stderr)
    record("changed")
    if args.verify:
        fresh = folder / "fresh"
        measure_export(archive, media, fresh, theme=args.theme)
        differ = compare_sites(site, fresh)
        if differ:
            listed = "\n  ".join(differ[:20])
            raise SystemExit(f"incremental and full export differ ({len(differ)}):\n  {listed}")
        print("  verified: the updated site equals a fresh export", file=sys.stderr)
    return run


def print_table(results: Results, baseline: dict[str, Any] | None) -> None:
    medians = results.median()
    base = Results(baseline["params"], baseline["runs"]).median() if baseline else {}
    params = results.params
    print(
        f"\n{params['posts']:,} posts, {len(results.runs)} run(s), medians (min–max); "
        f"targets: full ≤ {TARGETS['full']:.0f} s, unchanged ≤ {TARGETS['unchanged']:.0f} s, "
        f"1 % changed ≤ {TARGETS['changed']:.0f} s, peak < {PEAK_TARGET_MB:.0f} MB (at 100k)"
    )
    header = (
        f"{'phase':10} {'wall s':>8} {'min–max':>13} {'cpu s':>7} {'written':>8} "
        f"{'peak MB':>8} {'target':>7}"
    )
    if base:
        header += f" {'vs baseline':>12}"
    print(header)
    for phase, value in medians.items():
        ok = value["seconds"] <= TARGETS[phase] and value["peak_mb"] < PEAK_TARGET_MB
        line = (
            f"{phase:10} {value['seconds']:8.2f} "
            f"{value['min_seconds']:6.2f}–{value['max_seconds']:<6.2f} "
            f"{value['cpu_seconds']:7.2f} {value['files_written']:8.0f} "
            f"{value['peak_mb']:8.1f} {'ok' if ok else 'over':>7}"
        )
        if phase in base:
            line += f" {value['seconds'] / base[phase]['seconds']:11.2f}×"
        print(line)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--posts", type=int, default=100_000, help="archive size (100000)")
    parser.add_argument("--runs", type=int, default=3, help="repetitions; medians shown (3)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--verify", action="store_true", help="compare with a fresh export")
    parser.add_argument(
        "--no-settle",
        dest="settle",
        action="store_false",
        help="start each phase at once, without waiting for the disk to write back the last",
    )
    parser.add_argument("--profile", type=Path, help="save cProfile stats per phase here")
    parser.add_argument(
        "--theme", type=Path, help="export with this theme folder (config export.theme)"
    )
    parser.add_argument("--save", type=Path, help="write the results as JSON")
    parser.add_argument("--baseline", type=Path, help="compare with a saved JSON result")
    parser.add_argument("--child", nargs=3, type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        archive_path, media, output = args.child
        child_export(archive_path, media, output, args.profile, args.theme)
        return 0
    # Bytecode for ownfeed as `pip install` writes it (PYTHONDONTWRITEBYTECODE is set here).
    if (spec := importlib.util.find_spec("ownfeed")) and spec.origin:
        compileall.compile_dir(Path(spec.origin).parent, quiet=1)

    if args.theme is not None:
        if not args.theme.is_dir():
            parser.error(f"--theme: {args.theme} is not a folder")
        args.theme = args.theme.resolve()
    cached = cached_archive(args.posts, args.seed)
    if args.profile:
        args.profile.mkdir(parents=True, exist_ok=True)
    params = {
        "posts": args.posts,
        "seed": args.seed,
        "settle": args.settle,
        "theme": str(args.theme) if args.theme else None,
        "generator": GENERATOR,
        "python": platform.python_version(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cpu",
        "load": os.getloadavg()[0],
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    baseline = json.loads(args.baseline.read_text(encoding="utf-8")) if args.baseline else None
    results = Results(params)
    # Every run's files are deleted only after the last run: on a disk mounted with
    # `discard` (as here), creating files right after deleting ~100,000 cost 200-500 us a
    # file instead of 40-80 us, so a run would pay for the one before; a real export
    # does not follow such a deletion.
    with tempfile.TemporaryDirectory(prefix="ownfeed-export-bench-") as scratch:
        for number in range(1, args.runs + 1):
            print(f"run {number}/{args.runs}", file=sys.stderr)
            results.runs.append(one_run(args, cached, number, Path(scratch)))
    print_table(results, baseline)
    if args.save:
        args.save.parent.mkdir(parents=True, exist_ok=True)
        payload = {"params": params, "runs": results.runs, "median": results.median()}
        args.save.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
