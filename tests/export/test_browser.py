"""The exported demo site in a real browser: headless Chromium, driven over CDP.

Why a browser: links, the CSP, the search script and its index only prove themselves when
a browser loads them. The demo site is served from 127.0.0.1; the test follows a link to a
post with a thread, searches, opens a result, saves screenshots, and fails on any console
error, uncaught exception, failed load or CSP violation. Without chromium it is skipped,
except in CI (`CI` set), where a missing browser is a failure: `make browser` installs it.
"""

from __future__ import annotations

import base64
import functools
import os
import shutil
import threading
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from ownfeed.export.pages import CSP
from tests.export.cdp import Session, chromium

SEARCH_WORD = "Vertrauen"  # in the demo blog's posts (the demo itself suggests it)

# Recorded by the page itself: scripts added over CDP are not subject to the page's CSP.
WATCH_CSP = """
window.__ownfeedViolations = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__ownfeedViolations.push(e.violatedDirective + " blocked " + e.blockedURI);
});
"""


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def chromium_binary() -> str | None:
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        return None


@pytest.fixture(scope="module")
def demo_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """`ownfeed demo` into a temporary folder: the sample company synced and exported."""
    from ownfeed.demo.run import run_demo

    folder = tmp_path_factory.mktemp("demo")
    said: list[str] = []
    run_demo(folder, echo=said.append)
    site = folder / "site"
    assert (site / "index.html").is_file()
    assert any(f"Site written to {site}/" in line for line in said), said
    assert any((site / "index.html").resolve().as_uri() in line for line in said), said
    return site


def _serve(folder: Path) -> Iterator[str]:
    handler = functools.partial(_Quiet, directory=str(folder))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def site_url(demo_site: Path) -> Iterator[str]:
    yield from _serve(demo_site)


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Session]:
    binary = chromium_binary()
    if binary is None:
        if _in_ci():
            pytest.fail("CI is set but chromium is missing: `make browser` installs it")
        pytest.skip("chromium is not installed (`make browser` or apt-get install chromium)")
    folder = tmp_path_factory.mktemp("chromium")
    profile = folder / "profile"
    profile.mkdir()
    with chromium(binary, profile, folder / "chromium.log") as cdp:
        for domain in ("Page", "Runtime", "Log", "Network", "Audits"):
            cdp.call(f"{domain}.enable")
        cdp.call("Page.addScriptToEvaluateOnNewDocument", {"source": WATCH_CSP})
        yield cdp


def problems(cdp: Session, since: int = 0) -> list[str]:
    """Console errors, exceptions, failed loads and CSP issues among the events."""
    found: list[str] = []
    for event in cdp.events[since:]:
        method, params = event.get("method"), event.get("params", {})
        if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            args = params.get("args", [])
            found.append("console: " + " ".join(str(a.get("value", a)) for a in args))
        elif method == "Runtime.exceptionThrown":
            details = params.get("exceptionDetails", {})
            text = details.get("exception", {}).get("description") or details.get("text")
            found.append(f"exception: {text}")
        elif method == "Log.entryAdded":
            entry = params.get("entry", {})
            text = entry.get("text", "")
            if str(entry.get("url", "")).endswith("/favicon.ico"):
                continue  # asked for by the browser at the host root, not by our pages
            if entry.get("level") == "error" or "Content Security Policy" in text:
                found.append(f"log ({entry.get('source')}): {text} {entry.get('url', '')}")
        elif method == "Audits.issueAdded":
            issue = params.get("issue", {})
            if issue.get("code") == "ContentSecurityPolicyIssue":
                found.append(f"CSP issue: {issue.get('details')}")
        elif method == "Network.loadingFailed" and not params.get("canceled"):
            found.append(f"load failed: {params.get('errorText')}")
        elif method == "Network.responseReceived":
            response = params.get("response", {})
            url = str(response.get("url", ""))
            if int(response.get("status", 0)) >= 400 and not url.endswith("/favicon.ico"):
                found.append(f"HTTP {response.get('status')}: {url}")
    return found


def violations(cdp: Session) -> list[str]:
    """What the page's own `securitypolicyviolation` listener saw."""
    return list(cdp.evaluate("window.__ownfeedViolations || []"))


def navigate(cdp: Session, url: str) -> None:
    cdp.loaded(lambda: cdp.call("Page.navigate", {"url": url}))


def click(cdp: Session, selector: str) -> None:
    """Click a link the way a reader does, and wait for the page it opens."""
    expression = f"document.querySelector({selector!r}).click()"
    cdp.loaded(lambda: cdp.evaluate(expression))


def screenshot(cdp: Session, path: Path) -> None:
    data = cdp.call("Page.captureScreenshot", {"format": "png"})["data"]
    path.write_bytes(base64.b64decode(data))
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert path.stat().st_size > 5_000  # a rendered page, not an empty image


def test_demo_site_in_chromium(browser: Session, site_url: str, tmp_path: Path) -> None:
    cdp = browser
    start = len(cdp.events)
    seen: list[str] = []

    navigate(cdp, site_url + "index.html")
    assert "Novosyx" in cdp.evaluate("document.title")
    assert cdp.evaluate("getComputedStyle(document.body).maxWidth !== ''")  # style.css loaded
    seen += violations(cdp)

    # A post with a thread: the list entry says how many replies it has.
    href = cdp.evaluate(
        """(() => {
          const entry = [...document.querySelectorAll("article.h-entry")].find(
            (a) => /\\d+ repl(y|ies)/.test(a.querySelector(".meta").textContent));
          return entry ? entry.querySelector("h2 a").getAttribute("href") : null;
        })()"""
    )
    assert href and href.startswith("posts/"), "no post with replies on the first page"
    click(cdp, f'a[href="{href}"]')
    assert cdp.evaluate("location.pathname").endswith("/" + href)
    replies = cdp.evaluate("document.querySelectorAll('#replies ol.thread article').length")
    assert replies >= 1
    assert cdp.evaluate("document.querySelector('#replies').textContent").count("by someone else")
    screenshot(cdp, tmp_path / "thread.png")
    seen += violations(cdp)

    # Search, from the site's own navigation, typed and submitted like a reader does.
    click(cdp, 'nav a[href$="search.html"]')
    cdp.evaluate("document.getElementById('q').focus()")
    cdp.call("Input.insertText", {"text": SEARCH_WORD})
    for kind in ("keyDown", "keyUp"):
        cdp.call(
            "Input.dispatchKeyEvent",
            {
                "type": kind,
                "key": "Enter",
                "code": "Enter",
                "windowsVirtualKeyCode": 13,
                "text": "\r" if kind == "keyDown" else "",
            },
        )
    found = cdp.poll("document.querySelectorAll('#search-results li a').length")
    assert found >= 1
    status = cdp.evaluate("document.getElementById('search-status').textContent")
    assert "found" in status and SEARCH_WORD in status
    screenshot(cdp, tmp_path / "search.png")
    seen += violations(cdp)

    click(cdp, "#search-results li a")
    assert "/posts/" in cdp.evaluate("location.pathname")
    assert SEARCH_WORD.lower() in cdp.evaluate("document.body.innerText").lower()
    screenshot(cdp, tmp_path / "result.png")
    seen += violations(cdp)

    assert problems(cdp, start) + seen == []


@pytest.fixture
def hostile_page(tmp_path: Path) -> Iterator[str]:
    """A page with our CSP that breaks it: inline script, a remote image, a missing file."""
    (tmp_path / "bad.html").write_text(
        f"""<!DOCTYPE html><html><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="{CSP}">
<title>bad</title></head><body>
<script>console.log("inline ran")</script>
<img src="http://203.0.113.9/tracker.png" alt="remote">
<script src="missing.js"></script>
</body></html>""",
        encoding="utf-8",
    )
    yield from _serve(tmp_path)


def test_the_browser_test_sees_csp_violations(browser: Session, hostile_page: str) -> None:
    """The checks above would fail on a page that breaks the policy (no silent pass)."""
    start = len(browser.events)
    navigate(browser, hostile_page + "bad.html")
    found = problems(browser, start)
    seen = violations(browser)
    assert any("script-src" in v for v in seen), seen
    assert any("img-src" in v for v in seen), seen
    assert any("Content Security Policy" in p or "CSP" in p for p in found), found
    assert any("404" in p for p in found), found
