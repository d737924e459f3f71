"""Sync speed, side by side: ownfeed against lemon24/reader on the same local feeds.

A threaded server on 127.0.0.1 serves N synthetic RSS 2.0 feeds of M entries each, with
ETag/Last-Modified validators and an optional per-request latency (slept in the request's
own thread, so it never holds up other requests). Every phase runs in its own subprocess so
its wall time includes start-up and its peak RSS is its own:

- ownfeed: ``python -m ownfeed -c CONFIG sync --quiet --no-media`` (the real CLI);
- reader:  ``update_feeds(workers=16)`` in a separate venv (``benchmarks/.venv``, created
  on first use; reader is never a dependency of ownfeed).

Phases: first sync into a fresh archive, an unchanged re-sync (every feed answers 304),
and a re-sync after 10 % of the feeds changed (one new entry each, the oldest dropped).

Usage: ``python benchmarks/sync_speed.py [--feeds 300] [--entries 50] [--latency 50]
[--runs 3] [--save FILE] [--baseline FILE]`` (or ``make bench``).
"""

from __future__ import annotations

import argparse
import compileall
import importlib.util
import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import venv
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from xml.sax.saxutils import escape

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
BENCH_VENV = HERE / ".venv"
# reader vendors a feedparser that imports `sgmllib`, which its metadata does not pull in.
READER_REQUIREMENTS = ("reader>=3.26,<4", "sgmllib3k")

WORDS = [
    "trust",
    "archive",
    "feed",
    "owner",
    "company",
    "post",
    "reply",
    "network",
    "publish",
    "media",
    "open",
    "search",
    "export",
    "static",
    "site",
    "history",
    "version",
    "comment",
    "thread",
    "platform",
    "vertrauen",
    "öffentlich",
]

# Runs inside the benchmark venv: add the feeds (untimed), or update them (timed).
READER_SCRIPT = """
import json, sys
from reader import make_reader
mode, db, urls, workers = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
reader = make_reader(db)
if mode == "add":
    for url in open(urls).read().split():
        reader.add_feed(url, exist_ok=True)
else:
    reader.update_feeds(workers=workers, scheduled=False)
counts = reader.get_entry_counts()
print(json.dumps({"entries": counts.total}))
reader.close()
"""


# --------------------------------------------------------------------------- the feeds


def _words(seed: int, count: int) -> str:
    return " ".join(WORDS[(seed * 7 + i * 13) % len(WORDS)] for i in range(count))


def render_feed(index: int, entries: int, generation: int, base: str) -> bytes:
    """A WordPress-like RSS 2.0 feed; each generation adds one entry and drops the oldest."""
    start = datetime(2026, 1, 1, tzinfo=UTC)
    items: list[str] = []
    for number in range(generation + entries - 1, generation - 1, -1):
        when = start + timedelta(hours=number, minutes=index % 60)
        site = f"https://site{index}.example"
        html = (
            f"<p>{_words(index + number, 40).capitalize()}.</p>"
            f'<p>Read <a href="{site}/p/{number}/">the whole story</a> and '
            f"<em>{_words(number, 6)}</em> &amp; more.</p>"
            f'<p><img src="{site}/img/{number}.jpg" alt="{_words(number, 3)}" '
            f'width="640" height="480"></p>'
        )
        items.append(
            f"""<item>
<title>{escape(_words(number, 6).title())} {number}</title>
<link>{site}/p/{number}/</link>
<pubDate>{format_datetime(when)}</pubDate>
<dc:creator><![CDATA[Author {number % 5}]]></dc:creator>
<category><![CDATA[{WORDS[number % 20]}]]></category>
<category><![CDATA[{WORDS[(number + 3) % 20]}]]></category>
<guid isPermaLink="false">{site}/?p={number}</guid>
<description><![CDATA[{_words(index + number, 25)} [&#8230;]]]></description>
<content:encoded><![CDATA[{html}]]></content:encoded>
</item>"""
        )
    head = f"""<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"
 xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:atom="http://www.w3.org/2005/Atom">
<channel>
<title>Company blog {index}</title>
<atom:link href="{base}/feed/{index}.xml" rel="self" type="application/rss+xml" />
<link>https://site{index}.example/</link>
<description>News from company {index}</description>
<language>en-US</language>
"""
    return (head + "\n".join(items) + "\n</channel>\n</rss>\n").encode("utf-8")


class _Server(ThreadingHTTPServer):
    """The default listen backlog of 5 drops connects beyond it (a 1 s SYN retry)."""

    request_queue_size = 256
    daemon_threads = True


class FeedServer:
    """N feeds on 127.0.0.1 with validators and latency; `change()` bumps some feeds."""

    def __init__(self, feeds: int, entries: int, latency: float) -> None:
        self.feeds, self.entries, self.latency = feeds, entries, latency
        self.generation = [0] * feeds
        self.requests = 0
        self._cache: dict[tuple[int, int], bytes] = {}
        self._lock = threading.Lock()
        self.httpd = _Server(("127.0.0.1", 0), self._handler())
        self.base = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> FeedServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()

    def urls(self) -> list[str]:
        return [f"{self.base}/feed/{index}.xml" for index in range(self.feeds)]

    def reset(self) -> None:
        self.generation = [0] * self.feeds

    def change(self, share: float) -> int:
        """Add one entry to (and drop the oldest of) every 1/share-th feed; returns how many."""
        step = max(1, round(1 / share)) if share > 0 else self.feeds + 1
        changed = 0
        for index in range(0, self.feeds, step):
            self.generation[index] += 1
            changed += 1
        return changed

    def body(self, index: int) -> tuple[bytes, str]:
        generation = self.generation[index]
        key = (index, generation)
        with self._lock:
            body = self._cache.get(key)
            if body is None:
                body = render_feed(index, self.entries, generation, self.base)
                self._cache[key] = body
        return body, f'"{index}-{generation}"'

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self
        stamp = format_datetime(datetime(2026, 1, 1, tzinfo=UTC), usegmt=True)

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # no 40 ms delayed-ACK stalls between writes

            def do_GET(self) -> None:
                server.requests += 1
                if server.latency:
                    time.sleep(server.latency)
                name = self.path.rsplit("/", 1)[-1]
                number = name.removesuffix(".xml")
                if not self.path.startswith("/feed/") or not number.isdigit():
                    self._reply(404, b"not found", {})
                    return
                index = int(number)
                if index >= server.feeds:
                    self._reply(404, b"not found", {})
                    return
                body, etag = server.body(index)
                headers = {"ETag": etag, "Last-Modified": stamp}
                if self.headers.get("If-None-Match") == etag:
                    self._reply(304, b"", headers)
                else:
                    headers["Content-Type"] = "application/rss+xml; charset=UTF-8"
                    self._reply(200, body, headers)

            def _reply(self, status: int, body: bytes, headers: dict[str, str]) -> None:
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                if status != 304:
                    self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if status != 304:
                    self.wfile.write(body)

            def log_message(self, format: str, *args: Any) -> None:
                return None

        return Handler


# --------------------------------------------------------------------------- measuring


def _children() -> dict[int, list[int]]:
    tree: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as handle:
                fields = handle.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        tree.setdefault(int(fields[1]), []).append(int(entry))
    return tree


def _rss_kib(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii", errors="replace") as handle:
            for line in handle:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def tree_rss_kib(root: int) -> int:
    """RSS of a process and all its descendants (workers of a pool count too)."""
    tree = _children()
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        total += _rss_kib(pid)
        stack.extend(tree.get(pid, ()))
    return total


@dataclass
class Measure:
    seconds: float
    peak_rss_mb: float
    entries: int
    output: str = ""
    cpu_seconds: float = 0.0


def run_measured(command: Sequence[str], env: dict[str, str] | None = None) -> Measure:
    """Run one phase: wall time, CPU time (user + system, the phase and every process it
    waited for), and the peak summed RSS of its process tree (sampled every 20 ms)."""
    peak = 0
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    process = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, text=True
    )
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, tree_rss_kib(process.pid))
            done.wait(0.02)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    stdout, stderr = process.communicate()
    seconds = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    done.set()
    sampler.join()
    if process.returncode != 0:
        raise SystemExit(f"{' '.join(command[:4])} … failed ({process.returncode}):\n{stderr}")
    return Measure(seconds, peak / 1024, 0, stdout, cpu)


# --------------------------------------------------------------------------- the contenders


def ensure_reader_venv() -> Path:
    """benchmarks/.venv with reader, created once; reader stays out of ownfeed's own venv."""
    python = BENCH_VENV / "bin" / "python"
    probe = [str(python), "-c", "import reader, sgmllib"]
    if python.exists() and subprocess.run(probe, capture_output=True).returncode == 0:
        return python
    print(f"creating {BENCH_VENV} with {', '.join(READER_REQUIREMENTS)} …", file=sys.stderr)
    venv.EnvBuilder(with_pip=True, clear=True).create(BENCH_VENV)
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", *READER_REQUIREMENTS], check=True
    )
    return python


def reader_version(python: Path) -> str:
    code = "from importlib.metadata import version; print(version('reader'))"
    result = subprocess.run([str(python), "-c", code], capture_output=True, text=True)
    return result.stdout.strip() or "?"


def write_config(folder: Path, urls: Sequence[str], concurrency: int) -> Path:
    lines = [f'archive = "archive.db"\nconcurrency = {concurrency}\ntimeout = 60\n']
    for index, url in enumerate(urls):
        lines.append(
            f'[[sources]]\nname = "feed-{index}"\ntype = "feed"\nurl = "{url}"\n'
            "comments = false\nmedia = false\n"
        )
    path = folder / "ownfeed.toml"
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def count_posts(archive: Path) -> int:
    import sqlite3

    with sqlite3.connect(archive) as conn:
        return int(conn.execute("SELECT count(*) FROM posts").fetchone()[0])


class Ownfeed:
    name = "ownfeed"

    def __init__(self, folder: Path, urls: Sequence[str], concurrency: int) -> None:
        self.config = write_config(folder, urls, concurrency)
        self.archive = folder / "archive.db"

    def sync(self) -> Measure:
        command = [sys.executable, "-m", "ownfeed", "-c", str(self.config)]
        measure = run_measured([*command, "sync", "--quiet", "--no-media"])
        measure.entries = count_posts(self.archive)
        return measure


class Reader:
    name = "reader"

    def __init__(self, python: Path, folder: Path, urls: Sequence[str], workers: int) -> None:
        self.python, self.workers = python, workers
        self.db = folder / "reader.sqlite"
        self.urls = folder / "urls.txt"
        self.urls.write_text("\n".join(urls), encoding="utf-8")
        self._run("add")

    def _run(self, mode: str) -> Measure:
        command = [str(self.python), "-c", READER_SCRIPT, mode, str(self.db), str(self.urls)]
        measure = run_measured([*command, str(self.workers)])
        measure.entries = int(json.loads(measure.output.strip().splitlines()[-1])["entries"])
        return measure

    def sync(self) -> Measure:
        return self._run("update")


# --------------------------------------------------------------------------- the run

PHASES = ("first", "unchanged", "changed")


@dataclass
class Results:
    params: dict[str, Any]
    runs: list[dict[str, dict[str, float]]] = field(default_factory=list)

    def median(self) -> dict[str, dict[str, float]]:
        keys = sorted({key for run in self.runs for key in run})
        out: dict[str, dict[str, float]] = {}
        for key in keys:
            samples = [run[key] for run in self.runs if key in run]
            out[key] = {
                metric: statistics.median(sample[metric] for sample in samples)
                for metric in samples[0]
            }
            seconds = [sample["seconds"] for sample in samples]
            out[key]["min_seconds"] = min(seconds)
            out[key]["max_seconds"] = max(seconds)
        return out


def one_run(args: argparse.Namespace, server: FeedServer, python: Path | None) -> dict[str, Any]:
    server.reset()
    served = args.feeds * args.entries
    run: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="ownfeed-bench-") as tmp:
        folder = Path(tmp)
        (folder / "ownfeed").mkdir()
        contenders: list[Any] = [Ownfeed(folder / "ownfeed", server.urls(), args.concurrency)]
        if python is not None:
            (folder / "reader").mkdir()
            contenders.append(Reader(python, folder / "reader", server.urls(), args.workers))

        def record(contender: Any, phase: str, expect: int) -> None:
            measure = contender.sync()
            if measure.entries != expect:
                print(
                    f"  warning: {contender.name} {phase}: {measure.entries} entries stored, "
                    f"expected {expect}",
                    file=sys.stderr,
                )
            run[f"{contender.name}.{phase}"] = {
                "seconds": measure.seconds,
                "entries_per_s": served / measure.seconds,
                "peak_rss_mb": measure.peak_rss_mb,
                "cpu_seconds": measure.cpu_seconds,
            }
            print(
                f"  {contender.name:8} {phase:10} {measure.seconds:7.2f} s "
                f"{served / measure.seconds:9.0f} entries/s {measure.peak_rss_mb:7.1f} MB "
                f"cpu {measure.cpu_seconds:6.2f} s",
                file=sys.stderr,
            )

        for contender in contenders:
            record(contender, "first", served)
            record(contender, "unchanged", served)
        changed = server.change(args.changed)
        for contender in contenders:
            record(contender, "changed", served + changed)
    return run


def print_table(results: Results, baseline: dict[str, Any] | None) -> None:
    medians = results.median()
    base = Results(baseline["params"], baseline["runs"]).median() if baseline else {}
    params = results.params
    print(
        f"\n{params['feeds']} feeds × {params['entries']} entries, latency {params['latency']} ms,"
        f" ownfeed concurrency {params['concurrency']}, reader workers {params['workers']},"
        f" {len(results.runs)} run(s), medians (min–max)"
    )
    header = (
        f"{'phase':22} {'wall s':>8} {'min–max':>13} {'entries/s':>10} {'peak RSS MB':>12}"
        f" {'cpu s':>7}"
    )
    if base:
        header += f" {'vs baseline':>12}"
    print(header)
    for key, value in medians.items():
        line = (
            f"{key:22} {value['seconds']:8.2f} "
            f"{value['min_seconds']:6.2f}–{value['max_seconds']:<6.2f} "
            f"{value['entries_per_s']:10.0f} {value['peak_rss_mb']:12.1f}"
            f" {value.get('cpu_seconds', 0.0):7.2f}"
        )
        if key in base:
            line += f" {value['seconds'] / base[key]['seconds']:11.2f}×"
        print(line)
    print()
    for phase in PHASES:
        ours, theirs = medians.get(f"ownfeed.{phase}"), medians.get(f"reader.{phase}")
        if ours and theirs:
            ratio = ours["seconds"] / theirs["seconds"]
            cpu = ours.get("cpu_seconds", 0.0) / max(theirs.get("cpu_seconds", 0.0), 1e-9)
            print(
                f"ownfeed / reader, {phase:10} {ratio:6.2f} × the wall time, "
                f"{cpu:5.2f} × the CPU time"
            )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--feeds", type=int, default=300, help="number of feeds (300)")
    parser.add_argument("--entries", type=int, default=50, help="entries per feed (50)")
    parser.add_argument("--latency", type=float, default=50, help="ms per request (50)")
    parser.add_argument("--runs", type=int, default=3, help="repetitions; medians shown (3)")
    parser.add_argument("--concurrency", type=int, default=16, help="ownfeed concurrency (16)")
    parser.add_argument("--workers", type=int, default=16, help="reader workers (16)")
    parser.add_argument("--changed", type=float, default=0.1, help="share of changed feeds")
    parser.add_argument("--no-reader", action="store_true", help="time ownfeed alone")
    parser.add_argument("--save", type=Path, help="write the results as JSON")
    parser.add_argument("--baseline", type=Path, help="compare with a saved JSON result")
    args = parser.parse_args(argv)
    # Bytecode for ownfeed as `pip install` writes it (PYTHONDONTWRITEBYTECODE is set here).
    if (spec := importlib.util.find_spec("ownfeed")) and spec.origin:
        compileall.compile_dir(Path(spec.origin).parent, quiet=1)

    python = None if args.no_reader else ensure_reader_venv()
    params = {
        "feeds": args.feeds,
        "entries": args.entries,
        "latency": args.latency,
        "concurrency": args.concurrency,
        "workers": args.workers,
        "changed": args.changed,
        "reader": reader_version(python) if python else None,
        "python": platform.python_version(),
        "machine": f"{platform.machine()}, {os.cpu_count()} cpu",
        "date": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    baseline = json.loads(args.baseline.read_text(encoding="utf-8")) if args.baseline else None
    results = Results(params)
    with FeedServer(args.feeds, args.entries, args.latency / 1000) as server:
        for number in range(1, args.runs + 1):
            print(f"run {number}/{args.runs}", file=sys.stderr)
            results.runs.append(one_run(args, server, python))
    print_table(results, baseline)
    if args.save:
        args.save.parent.mkdir(parents=True, exist_ok=True)
        payload = {"params": params, "runs": results.runs, "median": results.median()}
        args.save.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
