"""A tiny threaded HTTP server on 127.0.0.1 that the demo (and tests) mount sample sites on."""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True)
class DemoRequest:
    """A request as a sample site sees it: path, flattened query, lower-cased headers."""

    path: str
    query: dict[str, str]
    headers: dict[str, str]
    query_lists: dict[str, list[str]] = field(default_factory=dict)

    @property
    def base_url(self) -> str:
        """The server's address as the client reached it (its Host header): links in an
        answer point back at the demo server whatever port it got."""
        return "http://" + self.headers.get("host", "127.0.0.1")


@dataclass
class DemoResponse:
    """What a sample site answers."""

    body: bytes | str = b""
    status: int = 200
    content_type: str = "text/html; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, data: Any, status: int = 200, **headers: str) -> DemoResponse:
        return cls(
            json.dumps(data, ensure_ascii=False), status, "application/json; charset=utf-8", headers
        )


Handler = Callable[[DemoRequest], DemoResponse]


class DemoWeb:
    """Routes by exact path first, then by the longest registered prefix ending in '/'."""

    def __init__(self, port: int = 0) -> None:
        self.routes: dict[str, Handler] = {}
        web = self

        class _Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:
                return

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                lists = parse_qs(parts.query)
                request = DemoRequest(
                    parts.path,
                    {k: v[-1] for k, v in lists.items()},
                    {k.lower(): v for k, v in self.headers.items()},
                    lists,
                )
                handler = web.find(parts.path)
                reply = handler(request) if handler else DemoResponse("not found", 404)
                body = reply.body.encode("utf-8") if isinstance(reply.body, str) else reply.body
                try:
                    self.send_response(reply.status)
                    self.send_header("Content-Type", reply.content_type)
                    for key, value in reply.headers.items():
                        self.send_header(key, value)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    if reply.status != 304:
                        self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", port), _Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        host_text = host.decode() if isinstance(host, bytes) else str(host)
        return f"http://{host_text}:{port}"

    def find(self, path: str) -> Handler | None:
        if path in self.routes:
            return self.routes[path]
        prefixes = [p for p in self.routes if p.endswith("/") and path.startswith(p)]
        return self.routes[max(prefixes, key=len)] if prefixes else None

    def mount(self, routes: dict[str, Handler]) -> None:
        self.routes.update(routes)

    def start(self) -> DemoWeb:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> DemoWeb:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
