"""One sync against every kind of broken or hostile upstream, beside good sources.

The sync runs in a subprocess so its wall time and peak memory are its own.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ownfeed.archive import Archive
from tests.httpserver import Reply, TestServer
from tests.test_http import closed_port, gzip_zeros

DATA = Path(__file__).parent.parent / "data"
ROOT = Path(__file__).parent.parent.parent
TIMEOUT = 2

GOOD_RSS = (DATA / "feed" / "wordpress-rss2.xml").read_bytes()

# Starts the sync and writes its peak RSS (KiB) and exit code to argv[1]. The sync is started
# from this small process, not from pytest: a child's ru_maxrss (from wait4) starts at the
# high-water RSS of the process that started it (Linux records the pre-exec memory's peak at
# exec, and subprocess uses vfork, which shares the parent's memory), so a child of pytest
# reported pytest's lifetime peak (471 MiB late in a full run) instead of its own. Here the
# floor is this launcher's own peak (~12 MiB).
LAUNCHER = """
import os, subprocess, sys
child = subprocess.Popen(sys.argv[2:])
_, status, usage = os.wait4(child.pid, 0)
with open(sys.argv[1], "w") as out:
    out.write(f"{usage.ru_maxrss} {os.waitstatus_to_exitcode(status)}")
"""

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE rss [
 <!ENTITY a "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa">
 <!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">
 <!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;&b;">
 <!ENTITY d "&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;&c;">
 <!ENTITY e "&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;&d;">
 <!ENTITY f "&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;&e;">
 <!ENTITY g "&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;&f;">
]>
<rss version="2.0"><channel><title>&g;</title>
<item><guid>bomb-1</guid><title>&g;</title><description>&g;</description></item>
</channel></rss>"""

INVALID_UTF8 = (
    b'<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>Broken bytes</title>'
    b"<item><guid>https://utf8.example/?p=1</guid><title>Caf\xe9 ohne UTF-8 \xff</title>"
    b"<link>https://utf8.example/1/</link><description>Gr\xfc\xdfe aus dem Archiv</description>"
    b"</item></channel></rss>"
)


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections (the kernel does) and never answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield sock.getsockname()[1]


def two_hundred_mb() -> Iterator[bytes]:
    chunk = b"<!-- " + b"x" * (1 << 20) + b" -->"
    yield b'<?xml version="1.0"?><rss version="2.0"><channel>'
    for _ in range(200):
        yield chunk


def hostile_routes(server: TestServer) -> dict[str, str]:
    """Mount every bad upstream; return source name -> URL."""
    bomb = gzip_zeros(1024)
    server.route("/good", Reply(GOOD_RSS, content_type="application/rss+xml"))
    server.route("/utf8", Reply(INVALID_UTF8, content_type="application/rss+xml"))
    server.route("/e500", Reply("boom", status=500))
    server.route("/e429", Reply("slow down", status=429, headers={"Retry-After": "3600"}))
    server.route(
        "/html",
        Reply(
            "<html><head><title>Hi</title></head><body>no feed</body></html>",
            content_type="text/html",
        ),
    )
    server.route("/empty", Reply(b"", content_type="application/rss+xml"))
    server.route("/loop", Reply("", status=302, headers={"Location": "/loop"}))
    server.route("/big", Reply(stream=two_hundred_mb, content_type="application/rss+xml"))
    server.route("/laughs", Reply(BILLION_LAUGHS, content_type="application/rss+xml"))
    server.route(
        "/gzip-bomb",
        Reply(bomb, content_type="application/rss+xml", headers={"Content-Encoding": "gzip"}),
    )
    server.route("/file", Reply("", status=302, headers={"Location": "file:///etc/passwd"}))
    server.route(
        "/metadata",
        Reply("", status=302, headers={"Location": "http://169.254.169.254/latest/meta-data/"}),
    )
    return {
        "good": server.url("/good"),
        "broken-utf8": server.url("/utf8"),
        "error-500": server.url("/e500"),
        "rate-limited": server.url("/e429"),
        "html-no-feed": server.url("/html"),
        "empty": server.url("/empty"),
        "redirect-loop": server.url("/loop"),
        "huge-body": server.url("/big"),
        "entity-bomb": server.url("/laughs"),
        "gzip-bomb": server.url("/gzip-bomb"),
        "to-file-url": server.url("/file"),
        "to-metadata": server.url("/metadata"),
        "refused": f"http://127.0.0.1:{closed_port()}/feed",
    }


def test_hostile_upstreams_fail_alone(tmp_path, server, silent_port):
    urls = hostile_routes(server)
    urls["never-answers"] = f"http://127.0.0.1:{silent_port}/feed"
    sources = "".join(
        f'\n[[sources]]\nname = "{name}"\ntype = "feed"\nurl = "{url}"\n'
        for name, url in urls.items()
    )
    config = tmp_path / "ownfeed.toml"
    config.write_text(f"timeout = {TIMEOUT}\n{sources}", encoding="utf-8")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    started = time.monotonic()
    out, err, usage = tmp_path / "stdout", tmp_path / "stderr", tmp_path / "usage"
    sync = [sys.executable, "-m", "ownfeed", "-c", str(config), "sync", "--json"]
    with out.open("wb") as stdout, err.open("wb") as stderr:
        subprocess.run(
            [sys.executable, "-c", LAUNCHER, str(usage), *sync],
            env=env,
            stdout=stdout,
            stderr=stderr,
            check=True,
        )
    wall = time.monotonic() - started
    # the sync's own peak and its waited-for workers', not pytest's (see LAUNCHER)
    maxrss_kib, returncode = map(int, usage.read_text().split())
    peak_mib = maxrss_kib / 1024
    process = subprocess.CompletedProcess(sync, returncode, out.read_text(), err.read_text())
    assert process.returncode == 1, process.stderr
    assert "Traceback" not in process.stderr + process.stdout
    report = json.loads(process.stdout)
    runs = {run["source"]: run for run in report["sources"]}
    good = {"good", "broken-utf8"}
    assert {name for name, run in runs.items() if run["status"] != "failed"} == good
    for name, run in runs.items():
        if name not in good:
            assert run["error"] and "\n" not in run["error"], name
    assert "larger than" in runs["huge-body"]["error"]
    assert "larger than" in runs["gzip-bomb"]["error"]
    assert "redirect" in runs["redirect-loop"]["error"]
    assert "scheme" in runs["to-file-url"]["error"]
    assert "metadata" in runs["to-metadata"]["error"]
    assert "429" in runs["rate-limited"]["error"]
    assert "refused" in runs["refused"]["error"]
    assert "timed out" in runs["never-answers"]["error"]
    assert wall < 6 * TIMEOUT + 10, f"sync took {wall:.1f} s"
    assert peak_mib < 400, f"peak RSS {peak_mib:.0f} MiB"
    with Archive(tmp_path / "archive.db") as archive:
        assert archive.integrity_ok()
        rows = {r["name"]: r for r in archive.query("SELECT * FROM sources")}
        for name in runs:
            if name not in good:
                assert rows[name]["last_error"] and rows[name]["failures"] == 1
        titles = [
            r["title"]
            for r in archive.query("SELECT title FROM posts WHERE source = ?", ("broken-utf8",))
        ]
        assert len(titles) == 1 and titles[0].startswith("Caf")
        assert archive.one("SELECT count(*) FROM posts WHERE source = 'good'")[0] > 0
        assert archive.one("SELECT count(*) FROM posts WHERE source = 'entity-bomb'")[0] <= 1
