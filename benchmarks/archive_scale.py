"""Archive scale: bulk insert through ownfeed's own write path, then FTS query latency.

Inserts N synthetic posts (default 1,000,000) with `ownfeed.archive.store_posts`, the
function every sync and import writes through (merge, versions, tags, media, FTS triggers),
in batches of `--batch` posts per transaction like a large source. Texts draw words from a
Zipf-distributed vocabulary, so common words are common and rare words rare, as in real
prose. Then runs `ownfeed.archive.queries.search` (what `ownfeed search` runs) for words of
several frequencies, a two-word query and a source-filtered query, and reports the median
and p95 of each over `--repeat` runs. CPU seconds (this process) are reported beside wall
time, with the load average: on a shared machine they are the steadier figure.

Usage: ``python benchmarks/archive_scale.py [--posts 1000000] [--batch 1000] [--keep DB]
[--append]``; `--append` adds `--posts` more to the archive at `--keep` (compare changes by
inserting 100,000 posts into a copy of one larger archive).
Needs about 4 GB of disk for a million posts (WAL included); memory stays flat.
"""

from __future__ import annotations

import argparse
import bisect
import compileall
import importlib.util
import json
import os
import random
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from ownfeed.archive import Archive, store_posts
from ownfeed.archive.queries import search
from ownfeed.models import Author, Media, Post

VOCABULARY = 30_000
SOURCES = 20


def _word(rank: int) -> str:
    """A pronounceable pseudo-word per rank (stable, so queries can name them)."""
    consonants, vowels = "bcdfghklmnprstvz", "aeiou"
    letters, value = [], rank + 1
    while value:
        value, digit = divmod(value, len(consonants) * len(vowels))
        letters.append(consonants[digit % len(consonants)] + vowels[digit // len(consonants)])
    return "".join(letters)


class Corpus:
    """Zipf (s = 1) over a fixed vocabulary: rank r is drawn with probability ∝ 1/r."""

    def __init__(self, seed: int) -> None:
        self.random = random.Random(seed)
        self.words = [_word(rank) for rank in range(VOCABULARY)]
        weights = [1 / (rank + 1) for rank in range(VOCABULARY)]
        total, running = sum(weights), 0.0
        self.cumulative = []
        for weight in weights:
            running += weight / total
            self.cumulative.append(running)

    def text(self, count: int) -> str:
        draws = (bisect.bisect_left(self.cumulative, self.random.random()) for _ in range(count))
        return " ".join(self.words[min(rank, VOCABULARY - 1)] for rank in draws)


def posts(total: int, batch: int, seed: int, offset: int = 0) -> Iterator[tuple[str, list[Post]]]:
    """Batches of synthetic posts numbered from `offset`, made lazily so memory stays flat."""
    corpus = Corpus(seed + offset)
    authors = [Author("web", name=f"Author {n}", url=f"https://a{n}.example/") for n in range(50)]
    start = datetime(2015, 1, 1, tzinfo=UTC)
    for first in range(offset, offset + total, batch):
        source = f"source-{(first // batch) % SOURCES}"
        chunk = []
        for number in range(first, min(offset + total, first + batch)):
            paragraph = corpus.text(60)
            chunk.append(
                Post(
                    platform="web",
                    native_id=f"https://{source}.example/?p={number}",
                    url=f"https://{source}.example/{number}/",
                    title=corpus.text(6).capitalize(),
                    content_html=f"<p>{paragraph}</p><p>{corpus.text(20)}</p>",
                    author=authors[number % len(authors)],
                    published_at=start + timedelta(minutes=7 * number),
                    tags=(corpus.words[number % 40], corpus.words[100 + number % 300]),
                    media=(Media(f"https://{source}.example/{number}.jpg"),)
                    if number % 4 == 0
                    else (),
                    raw={"guid": f"https://{source}.example/?p={number}", "n": number},
                )
            )
        yield source, chunk


def percentile(samples: Sequence[float], share: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--posts", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=1000, help="posts per transaction")
    parser.add_argument("--repeat", type=int, default=20, help="runs per query")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", type=Path, help="archive path to keep (default: temporary)")
    parser.add_argument(
        "--append",
        action="store_true",
        help="insert into the existing archive at --keep, numbering after the posts it holds",
    )
    parser.add_argument("--save", type=Path, help="write the results as JSON")
    args = parser.parse_args(argv)
    # Bytecode for ownfeed as `pip install` writes it (PYTHONDONTWRITEBYTECODE is set here).
    if (spec := importlib.util.find_spec("ownfeed")) and spec.origin:
        compileall.compile_dir(Path(spec.origin).parent, quiet=1)

    with tempfile.TemporaryDirectory(prefix="ownfeed-scale-") as tmp:
        path = args.keep or Path(tmp) / "archive.db"
        if path.exists() and not args.append:
            raise SystemExit(f"{path} exists: give a new path (or --append)")
        archive = Archive(path)
        offset = 0
        if args.append:
            offset = archive.conn.execute("SELECT count(*) FROM posts").fetchone()[0]
            print(f"appending to {offset:,} archived posts", file=sys.stderr)
        for pragma in os.environ.get("BENCH_PRAGMAS", "").split(";"):
            if pragma.strip():
                archive.conn.execute(f"PRAGMA {pragma}")
        made = stored = stored_cpu = 0.0
        done = 0
        load_before = os.getloadavg()
        begin = time.perf_counter()
        now = datetime(2026, 1, 1, tzinfo=UTC)
        batches = posts(args.posts, args.batch, args.seed, offset)
        while True:
            mark = time.perf_counter()
            item = next(batches, None)
            made += time.perf_counter() - mark
            if item is None:
                break
            source, chunk = item
            mark, cpu = time.perf_counter(), time.process_time()
            with archive.transaction():
                store_posts(archive, chunk, source, now)
            stored += time.perf_counter() - mark
            stored_cpu += time.process_time() - cpu
            done += len(chunk)
            if done % (args.batch * 100) == 0:
                print(
                    f"  {done:>9,} posts, {done / stored:,.0f} posts/s so far",
                    file=sys.stderr,
                )
        wall = time.perf_counter() - begin
        rate = done / stored
        size = sum(
            os.path.getsize(f"{path}{suffix}")
            for suffix in ("", "-wal")
            if os.path.exists(f"{path}{suffix}")
        )
        print(
            f"inserted {done:,} posts in {stored:.1f} s: {rate:,.0f} posts/s "
            f"({stored_cpu:.1f} s CPU: {done / stored_cpu:,.0f} posts per CPU second; "
            f"making the Post objects took another {made:.1f} s; wall {wall:.1f} s; "
            f"archive {size / 1e9:.2f} GB; load average {load_before[0]:.1f} at the start, "
            f"{os.getloadavg()[0]:.1f} at the end)"
        )

        corpus = Corpus(args.seed)
        queries = {
            f"common word (rank 10: {corpus.words[10]})": (corpus.words[10], None),
            f"frequent word (rank 100: {corpus.words[100]})": (corpus.words[100], None),
            f"medium word (rank 1000: {corpus.words[1000]})": (corpus.words[1000], None),
            f"rare word (rank 20000: {corpus.words[20000]})": (corpus.words[20000], None),
            "two words (ranks 50, 500)": (f"{corpus.words[50]} {corpus.words[500]}", None),
            "frequent word, one source": (corpus.words[100], "source-3"),
        }
        latencies: dict[str, dict[str, float]] = {}
        print(f"\nFTS via ownfeed.archive.queries.search, limit 20, {args.repeat} runs each")
        print(f"{'query':44} {'hits':>6} {'median ms':>10} {'p95 ms':>8} {'CPU ms':>7}")
        for label, (text, source_name) in queries.items():
            samples, cpus = [], []
            for _ in range(args.repeat):
                mark, cpu = time.perf_counter(), time.process_time()
                found = search(archive, text, source=source_name, limit=20)
                samples.append((time.perf_counter() - mark) * 1000)
                cpus.append((time.process_time() - cpu) * 1000)
            median, p95 = statistics.median(samples), percentile(samples, 0.95)
            cpu_median = statistics.median(cpus)
            latencies[label] = {"median_ms": median, "p95_ms": p95, "cpu_median_ms": cpu_median}
            print(f"{label:44} {len(found):>6} {median:10.1f} {p95:8.1f} {cpu_median:7.1f}")
        every = [value["median_ms"] for value in latencies.values()]
        middle, worst = statistics.median(every), max(every)
        print(f"\nmedian over the queries {middle:.1f} ms, worst {worst:.1f} ms")
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"peak RSS {peak:.0f} MB")
        archive.close()
        if args.save:
            result = {
                "posts": done,
                "batch": args.batch,
                "archived_before": offset,
                "posts_per_s": rate,
                "insert_cpu_s": stored_cpu,
                "load_average": [load_before[0], os.getloadavg()[0]],
                "archive_bytes": size,
                "queries": latencies,
                "peak_rss_mb": peak,
            }
            args.save.write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
