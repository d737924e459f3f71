"""Import speed: a generated X/Twitter archive of N tweets through `run_import`.

The archive is a zip shaped like a real one (`data/tweets.js` as `window.YTD.tweets.part0 =
[ … ]`, pretty-printed like X writes it, with `edit_info`, entities, t.co links, hashtags,
mentions, emoji, self-threads and replies to others, retweets, photos in
`data/tweets_media/`, some edit chains, `deleted-tweets.js`, `account.js`, `manifest.js`).
It is generated once per invocation (untimed), then every phase runs in its own subprocess
so its wall time includes start-up and its peak RSS is its own (``ru_maxrss`` of the child,
exact rather than sampled):

- first:  the archive into a fresh SQLite archive;
- again:  the same archive once more (idempotent: everything unchanged).

Besides wall time it reports the child's CPU time (user + system), which stays meaningful
on a machine busy with other work, when wall time does not.

Target (issue 5): 100,000 tweets in < 30 s with < 500 MB.

Usage: ``python benchmarks/import_speed.py [--tweets 100000] [--runs 1] [--media-every 50]
[--save FILE] [--baseline FILE] [--keep DIR]``.
"""

from __future__ import annotations

import argparse
import compileall
import importlib.util
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
TARGET_SECONDS = 30.0
TARGET_MB = 500.0
USER = "novosyx"
USER_ID = "1111111111"
FIRST_ID = 1_300_000_000_000_000_000
WORDS = [
    "trust",
    "archive",
    "launch",
    "team",
    "office",
    "product",
    "release",
    "customers",
    "open",
    "source",
    "update",
    "vertrauen",
    "öffentlich",
    "größer",
    "café",
    "naïve",
    "résumé",
    "Zürich",
    "data",
    "export",
    "thread",
    "reply",
    "privacy",
    "security",
    "roadmap",
    "hiring",
    "conference",
    "talk",
    "blog",
    "docs",
    "support",
    "feature",
]
EMOJI = ["🚀", "🎉", "✨", "👏", "🇩🇪", "👩‍💻", "❤️", "😀", "🔒", "📦"]
TAGS = ["opensource", "privacy", "release", "hiring", "Novosyx", "datenschutz"]
OTHERS = [("alice", "2222222222"), ("bob_dev", "3333333333"), ("carla", "4444444444")]

# Runs in the measured subprocess: one import into ARCHIVE, the report as JSON on stdout.
CHILD = """
import json, sys, time
from pathlib import Path
from ownfeed.archive import Archive
from ownfeed.importers import run_import
from ownfeed.media import MediaStore
zip_path, db, media = sys.argv[1], sys.argv[2], sys.argv[3]
started = time.perf_counter()
with Archive(db) as archive:
    report = run_import(archive, "twitter", Path(zip_path), source=None, source_type=None,
                        media_store=MediaStore(Path(media)))
    posts = archive.one("SELECT count(*) FROM posts")[0]
print(json.dumps({"import_seconds": time.perf_counter() - started, "posts": posts,
                  "new": report.new, "updated": report.updated,
                  "unchanged": report.unchanged, "gone": report.gone,
                  "media": report.media_copied}))
"""


# --------------------------------------------------------------------------- the archive


def twitter_date(when: datetime) -> str:
    """X's `Tue Apr 08 17:27:14 +0000 2025`."""
    return when.strftime("%a %b %d %H:%M:%S +0000 %Y")  # the C locale's names


@dataclass
class Generated:
    tweets: int
    deleted: int
    media: int
    chains: int
    size_mb: float


def _tweet(number: int, rng: random.Random, start: datetime, media_every: int) -> dict[str, Any]:
    """One tweet as X writes it (numbers as strings); the shape varies with `number`."""
    tid = str(FIRST_ID + number * 1000)
    when = start + timedelta(minutes=number * 7)
    words = rng.choices(WORDS, k=rng.randint(6, 30))
    entities: dict[str, Any] = {"hashtags": [], "symbols": [], "user_mentions": [], "urls": []}
    extra: dict[str, Any] = {}
    prefix = ""
    if number % 9 == 1:  # a reply to somebody else
        name, uid = OTHERS[number % len(OTHERS)]
        prefix = f"@{name} "
        entities["user_mentions"].append(
            {"name": name.title(), "screen_name": name, "indices": ["0", str(len(name) + 1)]}
            | {"id_str": uid, "id": uid}
        )
        parent = str(FIRST_ID - number)
        extra |= _reply(parent, uid, name)
    elif number % 9 == 2 and number > 2:  # a self-thread: answers our previous tweet
        extra |= _reply(str(FIRST_ID + (number - 1) * 1000), USER_ID, USER)
    if number % 23 == 3:  # a retweet
        name, uid = OTHERS[number % len(OTHERS)]
        prefix = f"RT @{name}: "
    body = prefix + " ".join(words).capitalize()
    if number % 4 == 0:
        body += " " + rng.choice(EMOJI)
    if number % 3 == 0:
        tag = TAGS[number % len(TAGS)]
        start_at = len(body) + 1
        body += f" #{tag}"
        entities["hashtags"].append({"text": tag, "indices": [str(start_at), str(len(body))]})
    if number % 5 == 0:
        short = f"https://t.co/{number:010x}"
        start_at = len(body) + 1
        body += f" {short}"
        entities["urls"].append(
            {
                "url": short,
                "expanded_url": f"https://novosyx.example/blog/{number}",
                "display_url": f"novosyx.example/blog/{number}",
                "indices": [str(start_at), str(len(body))],
            }
        )
    if media_every and number % media_every == 7:
        extra |= _photo(tid, number, len(body))
        body += f" https://t.co/m{number:09x}"
    tweet: dict[str, Any] = {
        "edit_info": {
            "initial": {
                "editTweetIds": [tid],
                "editableUntil": (when + timedelta(hours=1)).isoformat(timespec="milliseconds"),
                "editsRemaining": "5",
                "isEditEligible": number % 2 == 0,
            }
        },
        "retweeted": False,
        "source": '<a href="https://mobile.twitter.com" rel="nofollow">Twitter Web App</a>',
        "entities": entities,
        "display_text_range": ["0", str(len(body))],
        "favorite_count": str(rng.randint(0, 500)),
        "id_str": tid,
        "truncated": False,
        "retweet_count": str(rng.randint(0, 80)),
        "id": tid,
        "created_at": twitter_date(when),
        "favorited": False,
        "full_text": body,
        "lang": "de" if number % 7 == 0 else "en",
    }
    tweet.update(extra)
    return {"tweet": tweet}


def _reply(parent: str, uid: str, name: str) -> dict[str, str]:
    return {
        "in_reply_to_status_id_str": parent,
        "in_reply_to_status_id": parent,
        "in_reply_to_user_id": uid,
        "in_reply_to_user_id_str": uid,
        "in_reply_to_screen_name": name,
    }


def _photo(tid: str, number: int, at: int) -> dict[str, Any]:
    basename = f"F{number:09d}.jpg"
    short = f"https://t.co/m{number:09x}"
    item = {
        "expanded_url": f"https://twitter.com/{USER}/status/{tid}/photo/1",
        "indices": [str(at + 1), str(at + 1 + len(short))],
        "url": short,
        "media_url": f"http://pbs.twimg.com/media/{basename}",
        "id_str": str(int(tid) + 1),
        "id": str(int(tid) + 1),
        "media_url_https": f"https://pbs.twimg.com/media/{basename}",
        "sizes": {
            size: {"w": "1200", "h": "800", "resize": "fit"}
            for size in ("thumb", "medium", "small", "large")
        },
        "type": "photo",
        "display_url": f"pic.twitter.com/{number:010x}",
        "ext_alt_text": f"Photo {number}",
    }
    return {"entities_media": item}


def _finish_media(tweet: dict[str, Any]) -> str | None:
    """Move a generated photo where X puts it (entities and extended_entities)."""
    item = tweet.pop("entities_media", None)
    if item is None:
        return None
    tweet["entities"]["media"] = [item]
    tweet["extended_entities"] = {"media": [item]}
    return str(item["media_url_https"]).rsplit("/", 1)[-1]


def _edit(tweet: dict[str, Any], chain: list[str]) -> None:
    tweet["edit_info"] = {
        "edit": {
            "initialTweetId": chain[0],
            "editControlInitial": {
                "editTweetIds": chain,
                "editableUntil": "2023-01-01T00:00:00.000Z",
                "editsRemaining": "4",
                "isEditEligible": True,
            },
        }
    }


def _items(count: int, media_every: int, stats: Generated, media: list[str]) -> Iterator[str]:
    """The tweets.js elements as X pretty-prints them, one string each."""
    rng = random.Random(20240101)
    start = datetime(2012, 3, 1, 9, 0, tzinfo=UTC)
    for number in range(count):
        item = _tweet(number, rng, start, media_every)
        tweet = item["tweet"]
        basename = _finish_media(tweet)
        if basename:
            media.append(f"{tweet['id_str']}-{basename}")
        if number % 500 == 250 and number + 1 < count:  # every 500th tweet was edited once
            chain = [tweet["id_str"], str(int(tweet["id_str"]) + 1)]
            tweet["edit_info"]["initial"]["editTweetIds"] = chain
            edited = json.loads(json.dumps(tweet))
            edited["id_str"] = edited["id"] = chain[1]
            edited["full_text"] += " (edited)"
            _edit(edited, chain)
            stats.chains += 1
            yield json.dumps({"tweet": edited}, indent=2, ensure_ascii=False)
        yield json.dumps(item, indent=2, ensure_ascii=False)


def generate(path: Path, count: int, media_every: int) -> Generated:
    """Write the archive zip (streamed: a big tweets.js is never held whole)."""
    stats = Generated(count, 0, 0, 0, 0.0)
    media: list[str] = []
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as bundle:
        bundle.writestr("Your archive.html", "<!DOCTYPE html><title>Your archive</title>")
        account = [
            {
                "account": {
                    "username": USER,
                    "accountId": USER_ID,
                    "accountDisplayName": "Novosyx",
                    "createdAt": "2012-03-01T09:00:00.000Z",
                }
            }
        ]
        bundle.writestr(
            "data/account.js", f"window.YTD.account.part0 = {json.dumps(account, indent=2)}"
        )
        manifest = {"userInfo": {"accountId": USER_ID, "userName": USER, "displayName": "N"}}
        bundle.writestr("data/manifest.js", f"window.__THAR_CONFIG = {json.dumps(manifest)}")
        with bundle.open("data/tweets.js", "w", force_zip64=True) as out:
            out.write(b"window.YTD.tweets.part0 = [ ")
            for index, element in enumerate(_items(count, media_every, stats, media)):
                out.write((", " if index else "").encode() + element.encode("utf-8"))
            out.write(b" ]")
        deleted = []
        for number in range(min(count // 1000, 100)):
            item = _tweet(count + number, random.Random(number), datetime(2023, 1, 1), 0)
            item["tweet"]["deleted_at"] = "2023-06-01T00:00:00.000Z"
            deleted.append(item)
        stats.deleted = len(deleted)
        bundle.writestr(
            "data/deleted-tweets.js",
            f"window.YTD.deleted_tweets.part0 = {json.dumps(deleted, indent=2)}",
        )
        for name in media:  # small stand-ins: the copy path, not the disk, is measured
            data = b"\xff\xd8\xff\xe0" + name.encode() + bytes(2048)
            bundle.writestr(f"data/tweets_media/{name}", data)
    stats.media = len(media)
    stats.size_mb = path.stat().st_size / 1e6
    return stats


# --------------------------------------------------------------------------- measuring


@dataclass
class Measure:
    seconds: float
    cpu_seconds: float  # user + system: what the import costs, however busy the machine is
    peak_rss_mb: float
    report: dict[str, Any]


def run_measured(command: Sequence[str]) -> Measure:
    """Wall time and exact peak RSS (the child's own ru_maxrss, from wait4) of one phase."""
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        started = time.perf_counter()
        process = subprocess.Popen(command, stdout=out, stderr=err, env=env, text=True)
        _, status, usage = os.wait4(process.pid, 0)
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if process.returncode != 0:
            raise SystemExit(f"import failed ({process.returncode}):\n{err.read()}")
        report = json.loads(out.read().strip().splitlines()[-1])
    cpu = usage.ru_utime + usage.ru_stime
    return Measure(seconds, cpu, usage.ru_maxrss / 1024, report)


def one_run(zip_path: Path) -> dict[str, dict[str, float]]:
    run: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory(prefix="ownfeed-import-bench-") as tmp:
        command = [sys.executable, "-c", CHILD, str(zip_path), f"{tmp}/a.db", f"{tmp}/media"]
        for phase in ("first", "again"):
            measure = run_measured(command)
            report = measure.report
            run[phase] = {
                "seconds": measure.seconds,
                "import_seconds": report["import_seconds"],
                "cpu_seconds": measure.cpu_seconds,
                "peak_rss_mb": measure.peak_rss_mb,
                "posts": report["posts"],
                "new": report["new"],
                "unchanged": report["unchanged"],
            }
            print(
                f"  {phase:6} {measure.seconds:7.2f} s wall ({report['import_seconds']:.2f} s in "
                f"run_import, {measure.cpu_seconds:.2f} s CPU) {measure.peak_rss_mb:7.1f} MB "
                f"peak; {report['posts']} posts, "
                f"{report['new']} new, {report['unchanged']} unchanged, {report['gone']} gone, "
                f"{report['media']} media copied",
                file=sys.stderr,
            )
    return run


@dataclass
class Results:
    params: dict[str, Any]
    runs: list[dict[str, dict[str, float]]] = field(default_factory=list)

    def median(self) -> dict[str, dict[str, float]]:
        out: dict[str, dict[str, float]] = {}
        for phase in dict.fromkeys(key for run in self.runs for key in run):
            samples = [run[phase] for run in self.runs if phase in run]
            out[phase] = {
                metric: statistics.median(sample[metric] for sample in samples)
                for metric in samples[0]
            }
        return out


def print_table(results: Results, baseline: dict[str, Any] | None) -> bool:
    """The medians, against the target and a saved baseline; True when within target."""
    medians = results.median()
    base = Results(baseline["params"], baseline["runs"]).median() if baseline else {}
    params = results.params
    print(
        f"\n{params['tweets']} tweets ({params['archive_mb']:.0f} MB zip, {params['media']} "
        f"media files, {params['chains']} edit chains), {len(results.runs)} run(s), medians"
    )
    header = f"{'phase':8} {'wall s':>8} {'import s':>9} {'CPU s':>7} {'tweets/s':>9} "
    header += f"{'peak RSS MB':>12}"
    print(header + (f" {'vs baseline':>12}" if base else ""))
    for phase, value in medians.items():
        line = (
            f"{phase:8} {value['seconds']:8.2f} {value['import_seconds']:9.2f} "
            f"{value['cpu_seconds']:7.2f} {params['tweets'] / value['seconds']:9.0f} "
            f"{value['peak_rss_mb']:12.1f}"
        )
        if phase in base:
            line += f" {value['seconds'] / base[phase]['seconds']:11.2f}×"
        print(line)
    first = medians["first"]
    scaled = params["tweets"] / 100_000
    ok = first["seconds"] <= TARGET_SECONDS * max(scaled, 1) and first["peak_rss_mb"] <= TARGET_MB
    verdict = "within" if ok else "OVER"
    print(
        f"\ntarget for 100,000 tweets: < {TARGET_SECONDS:.0f} s and < {TARGET_MB:.0f} MB: "
        f"first import {verdict} ({first['seconds']:.1f} s, {first['peak_rss_mb']:.0f} MB)"
    )
    load = os.getloadavg()[0]
    if load > (os.cpu_count() or 1) * 0.75:
        print(f"note: load average {load:.1f} on {os.cpu_count()} CPUs: wall times are inflated")
    return ok


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tweets", type=int, default=100_000, help="tweets (100000)")
    parser.add_argument("--runs", type=int, default=1, help="repetitions; medians shown (1)")
    parser.add_argument("--media-every", type=int, default=50, help="a photo every Nth tweet")
    parser.add_argument("--save", type=Path, help="write the results as JSON")
    parser.add_argument("--baseline", type=Path, help="compare with a saved JSON result")
    parser.add_argument("--keep", type=Path, help="write the generated zip here and keep it")
    args = parser.parse_args(argv)
    # Bytecode for ownfeed as `pip install` writes it (PYTHONDONTWRITEBYTECODE is set here).
    if (spec := importlib.util.find_spec("ownfeed")) and spec.origin:
        compileall.compile_dir(Path(spec.origin).parent, quiet=1)

    baseline = json.loads(args.baseline.read_text(encoding="utf-8")) if args.baseline else None
    with tempfile.TemporaryDirectory(prefix="ownfeed-import-zip-") as tmp:
        zip_path = args.keep or Path(tmp) / "twitter-archive.zip"
        started = time.perf_counter()
        made = generate(zip_path, args.tweets, args.media_every)
        print(
            f"generated {zip_path.name}: {made.tweets} tweets, {made.size_mb:.0f} MB "
            f"in {time.perf_counter() - started:.1f} s",
            file=sys.stderr,
        )
        params = {
            "tweets": args.tweets,
            "media": made.media,
            "deleted": made.deleted,
            "chains": made.chains,
            "archive_mb": made.size_mb,
            "python": platform.python_version(),
            "machine": f"{platform.machine()}, {os.cpu_count()} cpu",
            "date": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        results = Results(params)
        for number in range(1, args.runs + 1):
            print(f"run {number}/{args.runs}", file=sys.stderr)
            results.runs.append(one_run(zip_path))
    ok = print_table(results, baseline)
    if args.save:
        args.save.parent.mkdir(parents=True, exist_ok=True)
        payload = {"params": params, "runs": results.runs, "median": results.median()}
        args.save.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
