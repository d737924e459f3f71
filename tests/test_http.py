"""HttpClient against a real local server: bodies, caps, retries, redirects, errors."""

from __future__ import annotations

import asyncio
import gzip
import json
import socket
import struct
import threading
import time
import tracemalloc
import zlib
from collections.abc import AsyncIterator, Callable, Iterable
from typing import Any

import httpx
import pytest

from ownfeed import __version__
from ownfeed.errors import FetchError, ParseError
from ownfeed.http import HttpClient, Response, parse_retry_after
from tests.httpserver import Reply, Request, TestServer

FAST: dict[str, Any] = {"backoff": 0.01, "max_retry_wait": 1.0}


def fetch(url: str, client: dict[str, Any] | None = None, **kwargs: Any) -> Response:
    """One GET with a fresh fast-retrying client, in its own event loop."""

    async def go() -> Response:
        async with HttpClient(**{**FAST, **(client or {})}) as http:
            return await http.get(url, **kwargs)

    return asyncio.run(go())


def fetch_error(url: str, client: dict[str, Any] | None = None, **kwargs: Any) -> FetchError:
    with pytest.raises(FetchError) as info:
        fetch(url, client, **kwargs)
    assert "\n" not in str(info.value)
    return info.value


def scripted(*replies: Reply) -> Callable[[Request], Reply]:
    """A handler that answers with `replies` in turn, then repeats the last one."""
    queue = list(replies)

    def handler(_request: Request) -> Reply:
        return queue.pop(0) if len(queue) > 1 else queue[0]

    return handler


def gzip_zeros(mib: int) -> bytes:
    """Gzip of `mib` MiB of zeros without ever holding them: after a full flush the
    compressor's output for each further MiB is identical, so one block is repeated and
    the trailer (CRC, size) is computed separately."""
    zeros = bytes(1 << 20)
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    first = compressor.compress(zeros) + compressor.flush(zlib.Z_FULL_FLUSH)
    block = compressor.compress(zeros) + compressor.flush(zlib.Z_FULL_FLUSH)
    assert first.endswith(block)
    end = compressor.flush()[:-8]  # final empty block, without the 2 MiB trailer
    crc = 0
    for _ in range(mib):
        crc = zlib.crc32(zeros, crc)
    trailer = struct.pack("<II", crc, (mib << 20) & 0xFFFFFFFF)
    return first + block * (mib - 1) + end + trailer


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


# --- bodies ------------------------------------------------------------------------------


def test_200_body_and_response_fields(server: TestServer) -> None:
    server.route(
        "/feed",
        Reply(
            "<rss/>",
            content_type="Application/RSS+XML; charset=UTF-8",
            headers={"ETag": '"v1"', "Last-Modified": "Tue, 01 Jul 2025 10:00:00 GMT"},
        ),
    )
    response = fetch(server.url("/feed"))
    assert response.status == 200
    assert response.ok and not response.not_modified
    assert response.body == b"<rss/>"
    assert response.text() == "<rss/>"
    assert response.url == server.url("/feed")
    assert response.content_type == "application/rss+xml"
    assert response.validators == {
        "etag": '"v1"',
        "last_modified": "Tue, 01 Jul 2025 10:00:00 GMT",
    }


def test_sends_user_agent_and_only_decodable_encodings(server: TestServer) -> None:
    server.route("/", Reply("ok"))
    fetch(server.url("/"))
    fetch(server.url("/"), client={"user_agent": "custom/1"})
    first, second = server.requests_to("/")
    assert first.headers["user-agent"].startswith(f"ownfeed/{__version__} ")
    assert first.headers["accept-encoding"] == "gzip, deflate"
    assert second.headers["user-agent"] == "custom/1"


def test_gzip_body_is_decoded(server: TestServer) -> None:
    text = "Vertrauen ist gut. " * 500
    server.route("/gz", Reply(gzip.compress(text.encode()), headers={"Content-Encoding": "gzip"}))
    response = fetch(server.url("/gz"))
    assert response.text() == text


@pytest.mark.parametrize("wbits", [zlib.MAX_WBITS, -zlib.MAX_WBITS], ids=["zlib", "raw"])
def test_deflate_body_is_decoded_in_both_flavours(server: TestServer, wbits: int) -> None:
    data = b"deflated " * 1000
    compressor = zlib.compressobj(6, zlib.DEFLATED, wbits)
    body = compressor.compress(data) + compressor.flush()
    server.route("/d", Reply(body, headers={"Content-Encoding": "deflate"}))
    assert fetch(server.url("/d")).body == data


def test_truncated_gzip_body_fails(server: TestServer) -> None:
    body = gzip.compress(b"x" * 10_000)[:-12]
    server.route("/cut", Reply(body, headers={"Content-Encoding": "gzip"}))
    error = fetch_error(server.url("/cut"))
    assert "truncated gzip" in str(error)


def test_gzip_bomb_stops_at_cap_with_bounded_memory(server: TestServer) -> None:
    bomb = gzip_zeros(1024)  # 1 GiB inflated, about 1 MB on the wire
    assert len(bomb) < 2 * 1024 * 1024
    server.route("/bomb", Reply(bomb, headers={"Content-Encoding": "gzip"}))
    cap = 1024 * 1024
    tracemalloc.start()
    try:
        started = time.monotonic()
        error = fetch_error(server.url("/bomb"), client={"max_body": cap})
        elapsed = time.monotonic() - started
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert str(error) == f"response larger than {cap} bytes"
    assert peak < 8 * cap, f"peak memory {peak} bytes"
    assert elapsed < 10
    assert len(server.requests_to("/bomb")) == 1  # a size cap is not retried


def test_gzip_bomb_builder_is_a_valid_stream() -> None:
    """Guards the bomb test: the repeated-block trick must yield a correct gzip stream."""
    assert gzip.decompress(gzip_zeros(3)) == bytes(3 << 20)


def test_per_call_max_body_overrides_client_cap(server: TestServer) -> None:
    server.route("/big", Reply(b"x" * 5000))
    assert len(fetch(server.url("/big"), client={"max_body": 100}, max_body=5000).body) == 5000
    error = fetch_error(server.url("/big"), max_body=4999)
    assert str(error) == "response larger than 4999 bytes"


def test_content_length_over_cap_fails_before_reading(server: TestServer) -> None:
    # The announced length is never sent: a client that starts reading would hang until
    # its read timeout instead of failing at once.
    server.route("/huge", Reply(b"x" * 100, headers={"Content-Length": "50000000"}))
    started = time.monotonic()
    error = fetch_error(server.url("/huge"), client={"max_body": 1000, "timeout": 5, "retries": 1})
    assert str(error) == "response larger than 1000 bytes"
    assert time.monotonic() - started < 2


def test_unannounced_stream_stops_reading_at_cap() -> None:
    produced = 0

    async def endless() -> AsyncIterator[bytes]:
        nonlocal produced
        for _ in range(10_000):
            produced += 1
            yield b"y" * 1024

    transport = httpx.MockTransport(lambda request: httpx.Response(200, content=endless()))
    with pytest.raises(FetchError, match="response larger than 10240 bytes"):
        fetch("http://example.test/", client={"transport": transport, "max_body": 10 * 1024})
    assert produced <= 12


# --- status handling and retries ---------------------------------------------------------


def test_500_is_retried_then_fails(server: TestServer) -> None:
    server.route("/err", Reply("boom", status=500))
    error = fetch_error(server.url("/err"))
    assert str(error) == "HTTP 500 Internal Server Error"
    assert error.status == 500
    assert len(server.requests_to("/err")) == 3


def test_500_then_200_succeeds(server: TestServer) -> None:
    server.route("/flaky", scripted(Reply("boom", status=500), Reply("fine")))
    assert fetch(server.url("/flaky")).body == b"fine"
    assert len(server.requests_to("/flaky")) == 2


def test_retries_setting_is_total_tries(server: TestServer) -> None:
    server.route("/err", Reply("boom", status=502))
    fetch_error(server.url("/err"), client={"retries": 1})
    assert len(server.requests_to("/err")) == 1


def test_501_and_404_are_not_retried(server: TestServer) -> None:
    server.route("/nyi", Reply("no", status=501))
    assert fetch_error(server.url("/nyi")).status == 501
    assert len(server.requests_to("/nyi")) == 1
    error = fetch_error(server.url("/missing"))
    assert (str(error), error.status) == ("HTTP 404 Not Found", 404)
    assert len(server.requests_to("/missing")) == 1


def test_accepted_status_returns_response(server: TestServer) -> None:
    response = fetch(server.url("/missing"), accept=(404, 410))
    assert response.status == 404
    assert not response.ok
    assert response.body == b"not found"


def test_429_with_retry_after_zero_then_200(server: TestServer) -> None:
    server.route(
        "/api",
        scripted(Reply("slow down", status=429, headers={"Retry-After": "0"}), Reply("[]")),
    )
    assert fetch(server.url("/api")).json() == []
    assert len(server.requests_to("/api")) == 2


def test_429_with_long_retry_after_fails_at_once(server: TestServer) -> None:
    server.route("/api", Reply("slow down", status=429, headers={"Retry-After": "3600"}))
    started = time.monotonic()
    error = fetch_error(server.url("/api"), client={"max_retry_wait": 5})
    assert time.monotonic() - started < 2
    assert str(error) == "rate limited (HTTP 429), retry after 3600 s"
    assert error.status == 429
    assert len(server.requests_to("/api")) == 1


def test_429_retry_after_wait_is_honoured(server: TestServer) -> None:
    server.route("/api", scripted(Reply(status=429, headers={"Retry-After": "1"}), Reply("ok")))
    started = time.monotonic()
    assert fetch(server.url("/api"), client={"max_retry_wait": 5}).body == b"ok"
    assert time.monotonic() - started >= 0.9


def test_503_with_retry_after_http_date_is_retried(server: TestServer) -> None:
    server.route(
        "/busy",
        scripted(
            Reply(status=503, headers={"Retry-After": "Wed, 21 Oct 2015 07:28:00 GMT"}),
            Reply("back"),
        ),
    )
    assert fetch(server.url("/busy")).body == b"back"
    assert len(server.requests_to("/busy")) == 2


def test_conditional_get_sends_validators_and_returns_304(server: TestServer) -> None:
    etag, modified = '"abc"', "Tue, 01 Jul 2025 10:00:00 GMT"

    def feed(request: Request) -> Reply:
        if request.headers.get("if-none-match") == etag:
            return Reply(status=304, headers={"ETag": etag})
        return Reply("<feed/>", headers={"ETag": etag, "Last-Modified": modified})

    server.route("/feed", feed)
    first = fetch(server.url("/feed"))
    second = fetch(server.url("/feed"), validators=first.validators)
    assert first.status == 200
    assert second.not_modified and second.status == 304
    assert second.body == b""
    sent = server.requests_to("/feed")[1].headers
    assert sent["if-none-match"] == etag
    assert sent["if-modified-since"] == modified
    assert "if-none-match" not in server.requests_to("/feed")[0].headers


# --- redirects ---------------------------------------------------------------------------


def test_redirects_are_followed_and_final_url_reported(server: TestServer) -> None:
    server.route("/a", Reply(status=302, headers={"Location": "/b"}))
    server.route("/b", Reply(status=301, headers={"Location": server.url("/c?x=1")}))
    server.route("/c", Reply("landed"))
    response = fetch(server.url("/a"))
    assert response.body == b"landed"
    assert response.url == server.url("/c?x=1")


def test_five_redirects_are_fine_six_are_too_many(server: TestServer) -> None:
    for hop in range(6):
        server.route(f"/r{hop}", Reply(status=307, headers={"Location": f"/r{hop + 1}"}))
    server.route("/r6", Reply("end"))
    assert fetch(server.url("/r1")).body == b"end"  # r1 -> r6: five redirects
    assert str(fetch_error(server.url("/r0"))) == "too many redirects"


def test_redirect_loop_fails(server: TestServer) -> None:
    server.route("/loop", Reply(status=302, headers={"Location": "/loop"}))
    assert str(fetch_error(server.url("/loop"))) == "too many redirects"
    assert len(server.requests_to("/loop")) == 6  # first request and five follow-ups


def test_redirect_to_other_scheme_fails(server: TestServer) -> None:
    server.route("/ftp", Reply(status=301, headers={"Location": "ftp://files.example/x"}))
    assert "'ftp'" in str(fetch_error(server.url("/ftp")))


def test_credentials_do_not_follow_a_cross_origin_redirect(server: TestServer) -> None:
    other = TestServer().start()
    try:
        server.route("/same", Reply(status=302, headers={"Location": "/go"}))
        server.route("/go", Reply(status=302, headers={"Location": other.url("/land")}))
        other.route("/land", Reply("ok"))
        fetch(server.url("/same"), headers={"Authorization": "Bearer s3cret"})
        assert server.requests_to("/go")[0].headers["authorization"] == "Bearer s3cret"
        assert "authorization" not in other.requests_to("/land")[0].headers
    finally:
        other.stop()


# --- transport errors and bad input ------------------------------------------------------


@pytest.mark.parametrize(
    "url", ["ftp://example.com/feed", "file:///etc/passwd", "not a url", "http:///no-host", ""]
)
def test_only_http_urls_are_accepted(url: str) -> None:
    assert str(fetch_error(url)).startswith("invalid URL")


def test_invalid_url_message_hides_credentials() -> None:
    message = str(fetch_error("gopher://user:hunter2@example.com/x?token=s3cret"))
    assert "hunter2" not in message and "s3cret" not in message
    assert "example.com" in message


def test_connection_refused() -> None:
    started = time.monotonic()
    error = fetch_error(f"http://127.0.0.1:{closed_port()}/")
    assert "connection refused" in str(error)
    assert error.status is None
    assert time.monotonic() - started < 5


@pytest.mark.parametrize(
    "code, tries", [(socket.EAI_NONAME, 1), (socket.EAI_AGAIN, 3)], ids=["no-such-name", "again"]
)
def test_an_unknown_host_is_not_retried_a_resolver_hiccup_is(code: int, tries: int) -> None:
    calls = 0

    def unresolvable(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        try:
            raise socket.gaierror(code, "resolver says no")
        except socket.gaierror as cause:
            raise httpx.ConnectError("[Errno] resolver says no", request=request) from cause

    transport = httpx.MockTransport(unresolvable)
    error = fetch_error("http://gone.example/post", client={"transport": transport})
    assert str(error) == "cannot resolve host gone.example"
    assert calls == tries


def test_server_that_never_answers_times_out(server: TestServer) -> None:
    server.route("/slow", Reply("late", delay=3))
    started = time.monotonic()
    error = fetch_error(server.url("/slow"), client={"timeout": 0.3, "retries": 2})
    elapsed = time.monotonic() - started
    assert str(error) == "timed out after 0.3 s"
    assert len(server.requests_to("/slow")) == 2  # timeouts are retried
    assert elapsed < 2


def test_concurrency_caps_requests_in_flight(server: TestServer) -> None:
    lock = threading.Lock()
    in_flight = peak = 0

    def slow(_request: Request) -> Reply:
        nonlocal in_flight, peak
        with lock:
            in_flight += 1
            peak = max(peak, in_flight)
        time.sleep(0.15)
        with lock:
            in_flight -= 1
        return Reply("ok")

    server.route("/slow", slow)

    async def many() -> list[Response]:
        async with HttpClient(concurrency=2, **FAST) as http:
            return await asyncio.gather(*(http.get(server.url("/slow")) for _ in range(6)))

    assert [r.body for r in asyncio.run(many())] == [b"ok"] * 6
    assert peak == 2


def trickle(piece: bytes, pause: float, count: int) -> Reply:
    def chunks() -> Iterable[bytes]:
        for _ in range(count):
            yield piece
            time.sleep(pause)

    return Reply(stream=chunks)


def test_a_trickling_body_is_cut_once_a_timeout_has_passed(server: TestServer) -> None:
    """A byte just before each read would time out kept a request open for as long as the
    server liked (httpx's timeout is per read): now the body must keep up 1 KiB/s."""
    server.route("/trickle", trickle(b"<", 0.15, 40))  # 6 s at 7 bytes a second
    began = time.monotonic()
    error = fetch_error(server.url("/trickle"), client={"timeout": 0.3, "retries": 1})
    assert "response body too slow" in str(error) and "less than 1 KiB/s" in str(error)
    assert time.monotonic() - began < 2


def test_a_slow_but_steady_body_is_read_to_its_end(server: TestServer) -> None:
    server.route("/steady", trickle(b"x" * 2048, 0.1, 8))  # 20 KiB/s for 0.8 s
    assert fetch(server.url("/steady"), client={"timeout": 0.3}).body == b"x" * 2048 * 8


# --- Response helpers --------------------------------------------------------------------


def make(body: bytes, content_type: str = "application/json") -> Response:
    return Response("http://x.test/", 200, httpx.Headers({"Content-Type": content_type}), body)


def test_json_error_is_a_one_line_parse_error() -> None:
    with pytest.raises(ParseError) as info:
        make(b'{"a": 1,\n  oops}').json()
    assert str(info.value).startswith("invalid JSON: ")
    assert "\n" not in str(info.value)
    with pytest.raises(ParseError):
        make(b"\xff\xfe\xfa").json()


def test_text_uses_declared_charset_and_falls_back_to_utf8() -> None:
    assert make("café".encode("latin-1"), "text/html; charset=ISO-8859-1").text() == "café"
    assert make("café".encode(), "text/html; charset=bogus").text() == "café"
    assert make(b"\xef\xbb\xbfhi \xff", "text/plain").text() == "hi \ufffd"
    assert make(b"", "").content_type == ""


def test_parse_retry_after() -> None:
    assert parse_retry_after("120") == 120
    assert parse_retry_after(" 0 ") == 0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0  # in the past
    future = parse_retry_after("Fri, 01 Jan 2100 00:00:00 GMT")
    assert future is not None and future > 3600
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after("-5") is None


def test_httpcore_finds_the_async_library_without_scanning_sys_path() -> None:
    """httpcore asks `import sniffio` for each lock of each request; sniffio is a dependency
    so that import is a dictionary lookup instead of a failed search of sys.path."""
    import sys

    from httpcore._synchronization import current_async_library

    async def ask() -> str:
        return current_async_library()

    assert asyncio.run(ask()) == "asyncio"
    assert "sniffio" in sys.modules and sys.modules["sniffio"] is not None


def post(url: str, payload: Any, **kwargs: Any) -> Response:
    async def go() -> Response:
        async with HttpClient(**FAST) as http:
            return await http.post_json(url, payload, **kwargs)

    return asyncio.run(go())


def test_post_json_sends_the_body_and_retries_a_transient_failure(server: TestServer) -> None:
    server.route("/graphql", scripted(Reply(b"busy", status=502), Reply(b'{"data": {}}')))
    response = post(server.url("/graphql"), {"query": "{ viewer { login } }"}, headers={"X": "1"})
    assert response.status == 200 and response.json() == {"data": {}}
    first, second = server.requests_to("/graphql")
    assert first.method == second.method == "POST"
    assert json.loads(second.body) == {"query": "{ viewer { login } }"}
    assert second.headers["content-type"] == "application/json" and second.headers["x"] == "1"


def test_post_json_does_not_follow_a_redirect(server: TestServer) -> None:
    server.route("/graphql", Reply(b"", status=307, headers={"Location": "/elsewhere"}))
    server.route("/elsewhere", Reply(b"{}"))

    async def go() -> None:
        async with HttpClient(**FAST) as http:
            await http.post_json(server.url("/graphql"), {"query": "x"})

    with pytest.raises(FetchError, match=r"POST redirected \(HTTP 307\)"):
        asyncio.run(go())
    assert server.requests_to("/elsewhere") == []
