"""A minimal Chrome DevTools Protocol client for the browser test: stdlib only.

Why our own: the test needs a handful of CDP commands (navigate, evaluate, insert text,
screenshot) and the console, log and CSP events, over one local websocket. A websocket
client for that is about a hundred lines (RFC 6455, text frames, client masking), which is
less to trust and install than a browser-automation package and its driver downloads.
One thread: every read happens inside `call()` or `wait_event()`, and events read while
waiting for something else are kept in `events`.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import json
import os
import signal
import socket
import struct
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

_GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

# Flags that keep headless Chromium from reaching out on its own (and, here, from having
# its local connections refused many at a time), with a fresh profile each time.
CHROMIUM_FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-default-apps",
    "--mute-audio",
    "--hide-scrollbars",
    "--window-size=1280,900",
)


class CDPError(RuntimeError):
    pass


class WebSocket:
    """A blocking websocket client for one `ws://` URL: text messages in and out."""

    def __init__(self, url: str, timeout: float = 30.0) -> None:
        parts = urlsplit(url)
        if parts.scheme != "ws" or parts.hostname is None:
            raise ValueError(f"not a ws:// URL: {url}")
        self.sock = socket.create_connection((parts.hostname, parts.port or 80), timeout)
        key = base64.b64encode(os.urandom(16)).decode("ascii")
        request = (
            f"GET {parts.path or '/'} HTTP/1.1\r\nHost: {parts.hostname}:{parts.port}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        self.sock.sendall(request.encode("ascii"))
        head = b""
        while b"\r\n\r\n" not in head:
            data = self.sock.recv(4096)
            if not data:
                raise CDPError("websocket handshake: connection closed")
            head += data
        head, self._buffer = head.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        if " 101 " not in lines[0] + " ":
            raise CDPError(f"websocket handshake refused: {lines[0]}")
        accept = base64.b64encode(hashlib.sha1((key + _GUID).encode()).digest()).decode()
        headers = {k.strip().lower(): v.strip() for k, _, v in (x.partition(":") for x in lines)}
        if headers.get("sec-websocket-accept") != accept:
            raise CDPError("websocket handshake: wrong Sec-WebSocket-Accept")

    def _exact(self, count: int) -> bytes:
        while len(self._buffer) < count:
            data = self.sock.recv(max(65536, count - len(self._buffer)))
            if not data:
                raise CDPError("websocket closed by the browser")
            self._buffer += data
        data, self._buffer = self._buffer[:count], self._buffer[count:]
        return data

    def _frame(self, opcode: int, payload: bytes) -> None:
        mask = os.urandom(4)
        size = len(payload)
        if size < 126:
            head = struct.pack("!BB", 0x80 | opcode, 0x80 | size)
        elif size < 1 << 16:
            head = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, size)
        else:
            head = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, size)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(head + mask + masked)

    def send(self, text: str) -> None:
        self._frame(0x1, text.encode("utf-8"))

    def recv(self) -> str:
        """The next text message (fragments joined; pings answered)."""
        parts: list[bytes] = []
        while True:
            first, second = self._exact(2)
            opcode, size = first & 0x0F, second & 0x7F
            if size == 126:
                (size,) = struct.unpack("!H", self._exact(2))
            elif size == 127:
                (size,) = struct.unpack("!Q", self._exact(8))
            mask = self._exact(4) if second & 0x80 else b""
            payload = self._exact(size)
            if mask:
                payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
            if opcode == 0x8:
                raise CDPError("websocket closed by the browser")
            if opcode == 0x9:
                self._frame(0xA, payload)
                continue
            if opcode in (0x0, 0x1, 0x2):
                parts.append(payload)
                if first & 0x80:
                    return b"".join(parts).decode("utf-8")

    def close(self) -> None:
        with contextlib.suppress(OSError):
            self._frame(0x8, b"")
        self.sock.close()


class Session:
    """CDP over the browser's websocket; `session` routes commands to one page."""

    def __init__(self, ws: WebSocket) -> None:
        self.ws = ws
        self.session: str | None = None
        self.events: list[dict[str, Any]] = []
        self._next = 0

    def call(self, method: str, params: dict[str, Any] | None = None, *, page: bool = True) -> Any:
        self._next += 1
        message: dict[str, Any] = {"id": self._next, "method": method, "params": params or {}}
        if page and self.session:
            message["sessionId"] = self.session
        self.ws.send(json.dumps(message))
        while True:
            reply = json.loads(self.ws.recv())
            if reply.get("id") == self._next:
                if "error" in reply:
                    raise CDPError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            if "method" in reply:
                self.events.append(reply)

    def wait_event(
        self, match: Callable[[dict[str, Any]], bool], timeout: float = 30.0, since: int = 0
    ) -> dict[str, Any]:
        """The first event from index `since` on that `match`es, reading more as needed."""
        deadline = time.monotonic() + timeout
        checked = since
        while True:
            for event in self.events[checked:]:
                if match(event):
                    return event
            checked = len(self.events)
            left = deadline - time.monotonic()
            if left <= 0:
                raise CDPError("timed out waiting for a browser event")
            self.ws.sock.settimeout(left)
            try:
                reply = json.loads(self.ws.recv())
            except TimeoutError as error:
                raise CDPError("timed out waiting for a browser event") from error
            finally:
                self.ws.sock.settimeout(30.0)
            if "method" in reply:
                self.events.append(reply)

    def evaluate(self, expression: str) -> Any:
        """The value of a JavaScript expression in the page (promises awaited)."""
        result = self.call(
            "Runtime.evaluate",
            {"expression": expression, "returnByValue": True, "awaitPromise": True},
        )
        if "exceptionDetails" in result:
            raise CDPError(f"{expression!r} threw: {result['exceptionDetails']}")
        return result["result"].get("value")

    def loaded(self, action: Callable[[], object], timeout: float = 30.0) -> None:
        """Run `action` (a navigation) and wait until the new page fired its load event."""
        mark = len(self.events)
        action()
        self.wait_event(lambda e: e.get("method") == "Page.loadEventFired", timeout, mark)

    def poll(self, expression: str, timeout: float = 20.0) -> Any:
        """Evaluate until the expression is truthy (e.g. results that appear later)."""
        deadline = time.monotonic() + timeout
        while True:
            with contextlib.suppress(CDPError):  # a context replaced by a navigation
                value = self.evaluate(expression)
                if value:
                    return value
            if time.monotonic() > deadline:
                raise CDPError(f"timed out waiting for {expression!r}")
            time.sleep(0.1)


@contextlib.contextmanager
def chromium(binary: str, profile: Path, log: Path, timeout: float = 60.0) -> Iterator[Session]:
    """Start headless Chromium on a free port, attach to a new page, stop it afterwards."""
    port_file = profile / "DevToolsActivePort"
    command = [
        binary,
        *CHROMIUM_FLAGS,
        f"--user-data-dir={profile}",
        "--remote-debugging-address=127.0.0.1",
        "--remote-debugging-port=0",
        "about:blank",
    ]
    with open(log, "wb") as output:
        process = subprocess.Popen(
            command, stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
    ws: WebSocket | None = None
    try:
        deadline = time.monotonic() + timeout
        while not (port_file.exists() and len(port_file.read_text().splitlines()) >= 2):
            if process.poll() is not None:
                raise CDPError(f"chromium exited ({process.returncode}); see {log}")
            if time.monotonic() > deadline:
                raise CDPError(f"chromium did not open its debugging port; see {log}")
            time.sleep(0.05)
        port, path = port_file.read_text().splitlines()[:2]
        ws = WebSocket(f"ws://127.0.0.1:{port.strip()}{path.strip()}")
        cdp = Session(ws)
        target = cdp.call("Target.createTarget", {"url": "about:blank"}, page=False)
        attached = cdp.call(
            "Target.attachToTarget", {"targetId": target["targetId"], "flatten": True}, page=False
        )
        cdp.session = attached["sessionId"]
        yield cdp
    finally:
        if ws is not None:
            with contextlib.suppress(CDPError, OSError):
                Session(ws).call("Browser.close", page=False)
            ws.close()
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(10)
        with contextlib.suppress(ProcessLookupError):  # helpers left in our own session
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(10)
