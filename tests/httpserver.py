"""A real HTTP server on 127.0.0.1 for tests: routes serve files, bytes or scripted handlers."""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit


@dataclass
class Reply:
    """A scripted answer: status, headers, body; `delay` seconds before it is sent."""

    body: bytes | str = b""
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    content_type: str | None = "text/plain; charset=utf-8"
    #: a body sent in chunks without Content-Length (the connection closes after it)
    stream: Callable[[], Iterable[bytes]] | None = None


@dataclass
class Request:
    """A request the server saw (for assertions on conditional GET and the like)."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes = b""  # what a POST sent


Handler = Callable[[Request], Reply]


class TestServer:
    """Serve routes by path (with query string, or without it as a fallback)."""

    __test__ = False

    def __init__(self) -> None:
        self.routes: dict[str, Handler] = {}
        self.requests: list[Request] = []
        self._lock = threading.Lock()
        server = self

        class _RequestHandler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                return

            def handle(self) -> None:
                # A client that hangs up mid-body (size cap, timeout) is not a server error:
                # no traceback on stderr.
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    super().handle()

            def do_GET(self) -> None:
                self._answer()

            def do_HEAD(self) -> None:
                self._answer(head=True)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                self._answer(body=self.rfile.read(length))

            def _answer(self, head: bool = False, body: bytes = b"") -> None:
                request = Request(
                    self.command, self.path, {k.lower(): v for k, v in self.headers.items()}, body
                )
                with server._lock:
                    server.requests.append(request)
                handler = server.routes.get(self.path) or server.routes.get(
                    urlsplit(self.path).path
                )
                reply = handler(request) if handler else Reply(b"not found", status=404)
                if reply.delay:
                    time.sleep(reply.delay)
                data = reply.body.encode("utf-8") if isinstance(reply.body, str) else reply.body
                try:
                    self.send_response(reply.status)
                    if reply.content_type and "content-type" not in {
                        k.lower() for k in reply.headers
                    }:
                        self.send_header("Content-Type", reply.content_type)
                    for key, value in reply.headers.items():
                        self.send_header(key, value)
                    if reply.stream is not None:
                        self.send_header("Connection", "close")
                        self.close_connection = True
                    elif "content-length" not in {k.lower() for k in reply.headers}:
                        self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    if head or reply.status in (204, 304):
                        return
                    if reply.stream is None:
                        self.wfile.write(data)
                        return
                    for chunk in reply.stream():
                        self.wfile.write(chunk)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), _RequestHandler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def start(self) -> TestServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def route(self, path: str, reply: Reply | Handler) -> None:
        """Serve `reply` (or call the handler) at `path`."""
        self.routes[path] = reply if callable(reply) else (lambda _request, r=reply: r)

    def serve_file(self, path: str, file: Path, content_type: str, **headers: str) -> None:
        self.route(path, Reply(file.read_bytes(), content_type=content_type, headers=headers))

    def requests_to(self, path: str) -> list[Request]:
        with self._lock:
            return [r for r in self.requests if urlsplit(r.path).path == path]
