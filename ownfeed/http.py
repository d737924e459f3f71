"""The only module that talks HTTP: one httpx client with limits, retries and size caps.

Everything a source fetches goes through `HttpClient.get`, so politeness (User-Agent,
concurrency, Retry-After), safety (size caps counted after decompression, http(s) only,
credentials dropped on cross-origin redirects) and one-line error messages live in one place.
"""

from __future__ import annotations

import asyncio
import codecs
import copy
import itertools
import json
import math
import random
import socket
import ssl
import time
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from http import HTTPStatus
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import httpx

from ownfeed import __version__, jsontext
from ownfeed.errors import FetchError, ParseError
from ownfeed.netpolicy import AddressKind, AddressRefused, CheckedConnections, host_kind

MAX_BODY_DEFAULT = 20 * 1024 * 1024
MAX_REDIRECTS = 5
#: bytes a second a response body must keep arriving at (see `_Pace`)
MIN_BODY_RATE = 1024
CONNECTIONS_PER_CLIENT = 4
DEFAULT_USER_AGENT = f"ownfeed/{__version__} (+https://github.com/ownfeed/ownfeed)"

_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_SCHEMES = ("http", "https")
# Headers that must not follow a redirect to another origin: they carry credentials.
_CREDENTIAL_HEADERS = ("authorization", "proxy-authorization", "cookie")


@dataclass(frozen=True)
class Response:
    """A finished response with its whole (decompressed, capped) body in memory."""

    url: str
    status: int
    headers: httpx.Headers
    body: bytes

    @property
    def not_modified(self) -> bool:
        """True for 304: the caller's saved copy is still current."""
        return self.status == 304

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300

    @property
    def content_type(self) -> str:
        """The media type alone, lower-cased, so callers compare without parsing."""
        return self.headers.get("content-type", "").split(";", 1)[0].strip().lower()

    @property
    def charset(self) -> str | None:
        """The charset parameter of Content-Type, if any."""
        for param in self.headers.get("content-type", "").split(";")[1:]:
            key, _, value = param.partition("=")
            if key.strip().lower() == "charset":
                return value.strip().strip("\"'") or None
        return None

    @property
    def validators(self) -> dict[str, str]:
        """What to save for the next conditional GET (keys match `HttpClient.get`)."""
        found: dict[str, str] = {}
        if etag := self.headers.get("etag"):
            found["etag"] = etag
        if last_modified := self.headers.get("last-modified"):
            found["last_modified"] = last_modified
        return found

    def json(self) -> Any:
        """Parse the body as JSON; a broken body is a ParseError with a one-line message."""
        try:
            return jsontext.loads(self.body)
        except json.JSONDecodeError as exc:
            raise ParseError(
                f"invalid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})",
                status=self.status,
            ) from None
        except UnicodeDecodeError:
            raise ParseError("invalid JSON: body is not UTF-8 text", status=self.status) from None
        except RecursionError:
            raise ParseError("invalid JSON: nested too deeply", status=self.status) from None
        except ValueError:  # an integer of thousands of digits
            raise ParseError("invalid JSON: a number too long", status=self.status) from None

    def text(self) -> str:
        """Decode with the declared charset; unknown or missing charsets fall back to UTF-8."""
        encoding = "utf-8"
        if declared := self.charset:
            try:
                encoding = codecs.lookup(declared).name
            except LookupError:
                encoding = "utf-8"
        if encoding == "utf-8":
            encoding = "utf-8-sig"  # drop a byte order mark, which parsers choke on
        return self.body.decode(encoding, errors="replace")


class _Retryable(Exception):
    """An attempt failed in a way worth another try; `wait` is the server's wish, if any."""

    def __init__(self, error: FetchError, wait: float | None = None) -> None:
        super().__init__(str(error))
        self.error = error
        self.wait = wait


class HttpClient:
    """One shared client per sync: caps requests in flight, retries politely, caps bodies.

    A client belongs to the event loop it is first used in; close it with `aclose()` or
    use it as an async context manager.
    """

    def __init__(
        self,
        *,
        timeout: float = 30.0,
        concurrency: int = 16,
        max_body: int = MAX_BODY_DEFAULT,
        retries: int = 3,
        max_retry_wait: float = 60.0,
        backoff: float = 0.5,
        user_agent: str | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.timeout = timeout
        self.max_body = max_body
        self.tries = max(1, retries)
        self.max_retry_wait = max_retry_wait
        self.backoff = backoff
        self._semaphore = asyncio.Semaphore(max(1, concurrency))
        self.allow_private = True
        self._host_kinds: dict[str, AddressKind] = {}
        # httpx's connection pool does work per request that grows with its size: one
        # client with 16 connections spends about half again the CPU and wall time of four
        # clients with 4 each (measured on 300 feeds). So connections are split over a few
        # small clients, used in turn; the semaphore still caps requests in flight overall.
        cap = max(1, concurrency)
        shards = 1 if transport is not None else math.ceil(cap / CONNECTIONS_PER_CLIENT)
        per_client = math.ceil(cap / shards)
        # One TLS context for all of them: each client would otherwise load the CA bundle
        # again (about 20 ms each, paid by every sync, an unchanged one too).
        tls = httpx.create_ssl_context() if transport is None else None
        limits = httpx.Limits(max_connections=per_client, max_keepalive_connections=per_client)
        self._clients = [
            httpx.AsyncClient(
                verify=tls or True,  # these two reach the proxy transports httpx may add
                limits=limits,
                timeout=httpx.Timeout(timeout),
                follow_redirects=False,  # done by hand: scheme checks, credential stripping
                transport=transport or self._checked_transport(tls, limits),
                headers={
                    "User-Agent": user_agent or DEFAULT_USER_AGENT,
                    # Only encodings we can inflate with a bounded decompressor.
                    "Accept-Encoding": "gzip, deflate",
                },
            )
            for _ in range(shards)
        ]
        self._turn = itertools.count()

    def _checked_transport(
        self, tls: ssl.SSLContext | None, limits: httpx.Limits
    ) -> httpx.AsyncHTTPTransport:
        """httpx's own transport, connecting through `CheckedConnections`: the address a
        connection goes to is checked when it is made, not only when the request is."""
        transport = httpx.AsyncHTTPTransport(verify=tls or True, limits=limits)
        pool = transport._pool  # httpx offers no argument for httpcore's network backend
        pool._network_backend = CheckedConnections(self._host_kinds)
        return transport

    async def __aenter__(self) -> HttpClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        for client in self._clients:
            await client.aclose()

    def scoped(self, *, allow_private: bool) -> HttpClient:
        """A view of this client (same connections and cap) with its own address policy.

        A source whose configured URL is public gets `allow_private=False`, so neither a
        redirect nor a link in its content can make ownfeed fetch from the local network.
        """
        view = copy.copy(self)
        view.allow_private = allow_private
        return view

    async def _guard(self, url: httpx.URL) -> None:
        """Refuse link-local/metadata hosts always, private ones unless allowed."""
        host = url.host
        kind = self._host_kinds.get(host)
        if kind is None:
            kind = self._host_kinds[host] = await host_kind(host)
            # as the connection will name it (IDNA hosts are punycode there)
            self._host_kinds[url.raw_host.decode("ascii").lower()] = kind
        if kind == "blocked":
            raise FetchError(f"refused: {_shorten(host, 60)} is a link-local or metadata address")
        if kind == "private" and not self.allow_private:
            raise FetchError(
                f"refused: {_shorten(host, 60)} is a private address and the configured URL "
                "is public"
            )

    async def get(
        self,
        url: str,
        *,
        headers: Mapping[str, str] | None = None,
        validators: Mapping[str, str] | None = None,
        max_body: int | None = None,
        accept: Iterable[int] = (),
    ) -> Response:
        """GET `url`, following redirects and retrying transient failures.

        Returns a Response for 2xx, 304 and the statuses in `accept`; raises FetchError
        (one-line message, `status` set for HTTP errors) for everything else.
        """
        start = _check_url(url)
        cap = self.max_body if max_body is None else max_body
        accepted = frozenset(accept)
        request_headers = httpx.Headers(headers or {})
        if validators:
            if etag := validators.get("etag"):
                request_headers["If-None-Match"] = etag
            if last_modified := validators.get("last_modified"):
                request_headers["If-Modified-Since"] = last_modified

        return await self._send("GET", start, request_headers, None, cap, accepted)

    async def post_json(
        self,
        url: str,
        payload: Any,
        *,
        headers: Mapping[str, str] | None = None,
        max_body: int | None = None,
        accept: Iterable[int] = (),
    ) -> Response:
        """POST `payload` as JSON (a GraphQL query) and return the answer like `get`.

        Retried like a GET, so only for requests that change nothing upstream. Redirects
        are not followed: a redirected POST would be re-sent elsewhere or turned into a GET.
        """
        start = _check_url(url)
        cap = self.max_body if max_body is None else max_body
        request_headers = httpx.Headers(headers or {})
        request_headers["Content-Type"] = "application/json"
        body = json.dumps(payload).encode("utf-8")
        return await self._send("POST", start, request_headers, body, cap, frozenset(accept))

    async def _send(
        self,
        method: str,
        start: httpx.URL,
        request_headers: httpx.Headers,
        body: bytes | None,
        cap: int,
        accepted: frozenset[int],
    ) -> Response:
        """The request with its retries (Retry-After honoured up to `max_retry_wait`)."""
        for attempt in range(self.tries):
            try:
                async with self._semaphore:
                    return await self._attempt(method, start, request_headers, body, cap, accepted)
            except _Retryable as retry:
                if attempt + 1 >= self.tries:
                    raise retry.error from None
                if retry.wait is None:
                    wait = self.backoff * 2**attempt * random.uniform(0.5, 1.5)
                    wait = min(wait, self.max_retry_wait)
                elif retry.wait > self.max_retry_wait:
                    raise retry.error from None
                else:
                    wait = retry.wait
            # Sleep outside the semaphore: a waiting retry must not block other requests.
            await asyncio.sleep(wait)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _attempt(
        self,
        method: str,
        url: httpx.URL,
        headers: httpx.Headers,
        body: bytes | None,
        cap: int,
        accepted: frozenset[int],
    ) -> Response:
        """One try: the request, its redirects (GET only) and the body read."""
        headers = httpx.Headers(headers)
        client = self._clients[next(self._turn) % len(self._clients)]
        for hop in range(MAX_REDIRECTS + 1):
            await self._guard(url)
            try:
                request = client.build_request(method, url, headers=headers, content=body)
            except (httpx.HTTPError, ValueError, UnicodeError):
                raise FetchError("invalid request headers") from None
            try:
                response = await client.send(request, stream=True)
                try:
                    location = response.headers.get("location")
                    if response.status_code in _REDIRECT_STATUSES and location:
                        if method != "GET":
                            status = response.status_code
                            raise FetchError(f"{method} redirected (HTTP {status})", status=status)
                        if hop == MAX_REDIRECTS:
                            raise FetchError("too many redirects")
                        target = _redirect_target(response.url, location)
                        if _origin(target) != _origin(response.url):
                            for name in _CREDENTIAL_HEADERS:
                                headers.pop(name, None)
                        url = target
                        continue
                    return await self._finish(response, cap, accepted)
                finally:
                    await response.aclose()
            except httpx.HTTPError as exc:
                raise self._translate(exc) from None
        raise AssertionError("unreachable")  # pragma: no cover

    async def _finish(
        self, response: httpx.Response, cap: int, accepted: frozenset[int]
    ) -> Response:
        """Turn a final (non-redirect) response into a Response or the right error."""
        status = response.status_code
        final_url = str(response.url)
        if status == 304:
            # A 304 has no body, but the stream must be read to its end: a response closed
            # unread takes its connection with it, and every unchanged feed would pay a new
            # TCP (and TLS) handshake on the next request.
            async for _ in response.aiter_raw():
                break
            return Response(final_url, status, response.headers, b"")
        if 200 <= status < 300 or status in accepted:
            body = await _read_body(response, cap, self.timeout)
            return Response(final_url, status, response.headers, body)

        reason = _reason(response)
        if status in (429, 503):
            wait = parse_retry_after(response.headers.get("retry-after"))
            later = f", retry after {math.ceil(wait)} s" if wait is not None else ""
            if status == 429:
                message = f"rate limited (HTTP 429){later}"
            else:
                message = f"HTTP 503 {reason}".rstrip() + later
            raise _Retryable(FetchError(message, status=status), wait)
        error = FetchError(f"HTTP {status} {reason}".rstrip(), status=status)
        if 500 <= status < 600 and status != 501:
            raise _Retryable(error)
        raise error

    def _translate(self, exc: httpx.HTTPError) -> FetchError | _Retryable:
        """Map an httpx exception to a short message; transient ones become retryable."""
        if isinstance(exc, httpx.TimeoutException):
            return _Retryable(FetchError(f"timed out after {self.timeout:g} s"))
        if isinstance(exc, httpx.UnsupportedProtocol):
            return FetchError("invalid URL: only http and https are supported")
        if isinstance(exc, httpx.LocalProtocolError):
            # Its text may quote our own headers (tokens): say nothing specific.
            return FetchError("invalid request")
        if isinstance(exc, httpx.ConnectError):
            return _connect_error(exc)
        if isinstance(exc, httpx.RemoteProtocolError):
            return _Retryable(FetchError(f"protocol error: {_one_line(exc)}"))
        if isinstance(exc, httpx.ProxyError):
            return _Retryable(FetchError(f"proxy error: {_one_line(exc)}"))
        if isinstance(exc, httpx.TransportError):
            return _Retryable(FetchError(f"network error: {_one_line(exc)}"))
        return FetchError(f"request failed: {_one_line(exc)}")


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (delta-seconds or HTTP-date); None if unusable."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    try:
        seconds = float(value)
    except ValueError:
        pass
    else:
        return seconds if math.isfinite(seconds) and seconds >= 0 else None
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


class _Inflater:
    """Bounded gzip/deflate decoding: never produces more than the caller has room for.

    `deflate` in the wild is either zlib-wrapped (RFC 1950) or raw (RFC 1951); the first
    two bytes tell which.
    """

    def __init__(self, encoding: str) -> None:
        self.encoding = encoding
        self._pending = b""
        self._fed = False
        self._obj: Any = None  # zlib's decompress object type is not importable by name
        if encoding == "gzip":
            self._obj = zlib.decompressobj(16 + zlib.MAX_WBITS)

    def feed(self, data: bytes, room: int) -> list[bytes]:
        """Inflate `data`; stops once more than `room` bytes came out (caller then fails)."""
        if not data:
            return []
        self._fed = True
        if self._obj is None:
            self._pending += data
            if len(self._pending) < 2:
                return []
            data, self._pending = self._pending, b""
            zlib_wrapped = (data[0] & 0x0F) == 8 and ((data[0] << 8) | data[1]) % 31 == 0
            self._obj = zlib.decompressobj(zlib.MAX_WBITS if zlib_wrapped else -zlib.MAX_WBITS)
        pieces: list[bytes] = []
        produced = 0
        try:
            while data and not self._obj.eof:
                piece = self._obj.decompress(data, room - produced + 1)
                pieces.append(piece)
                produced += len(piece)
                if produced > room:
                    break
                data = self._obj.unconsumed_tail
        except zlib.error:
            raise FetchError(f"invalid {self.encoding} response body") from None
        return pieces

    def finish(self) -> bytes:
        """Flush what is left; a stream cut short is an error, not a silent partial body."""
        if not self._fed:
            return b""  # empty body, e.g. a 204 that still names an encoding
        if self._obj is None:
            raise FetchError(f"truncated {self.encoding} response body")
        try:
            rest: bytes = self._obj.flush()
        except zlib.error:
            raise FetchError(f"invalid {self.encoding} response body") from None
        if not self._obj.eof:
            raise FetchError(f"truncated {self.encoding} response body")
        return rest


class _Pace:
    """Cuts a body that trickles in: over every stretch of `window` seconds (the timeout,
    which httpx applies per read only) at least MIN_BODY_RATE bytes a second must arrive.
    A server sending a byte just before each read would time out could otherwise hold a
    request open for as long as it likes; an honest slow link (1 KiB/s) is never cut."""

    def __init__(self, window: float) -> None:
        self.window = max(window, 0.001)
        self.start = time.monotonic()
        self.received = 0

    def step(self, count: int) -> None:
        self.received += count
        elapsed = time.monotonic() - self.start
        if elapsed < self.window:
            return
        if self.received < MIN_BODY_RATE * elapsed:
            raise FetchError(
                f"response body too slow: {self.received} bytes in {elapsed:.0f} s "
                f"(less than {MIN_BODY_RATE // 1024} KiB/s)"
            )
        self.start, self.received = time.monotonic(), 0


async def _read_body(response: httpx.Response, cap: int, window: float = 30.0) -> bytes:
    """Read the raw stream and inflate it ourselves, so the cap holds after decompression;
    a body that arrives slower than MIN_BODY_RATE is cut (`_Pace`)."""
    encoding = response.headers.get("content-encoding", "").strip().lower()
    inflater: _Inflater | None
    if encoding in ("", "identity"):
        inflater = None
        length = response.headers.get("content-length", "").strip()
        if length.isdigit() and int(length) > cap:
            raise FetchError(f"response larger than {cap} bytes")
    elif encoding in ("gzip", "x-gzip"):
        inflater = _Inflater("gzip")
    elif encoding == "deflate":
        inflater = _Inflater("deflate")
    else:
        raise FetchError(f"unsupported content encoding {_shorten(encoding, 40)!r}")

    chunks: list[bytes] = []
    size = 0
    pace = _Pace(window)
    async for raw in response.aiter_raw():
        pace.step(len(raw))
        pieces = inflater.feed(raw, cap - size) if inflater else [raw]
        for piece in pieces:
            size += len(piece)
            if size > cap:
                raise FetchError(f"response larger than {cap} bytes")
            chunks.append(piece)
    if inflater:
        rest = inflater.finish()
        size += len(rest)
        if size > cap:
            raise FetchError(f"response larger than {cap} bytes")
        chunks.append(rest)
    return b"".join(chunks)


def _check_url(url: str) -> httpx.URL:
    """Accept absolute http(s) URLs only; anything else is a FetchError naming the URL."""
    shown = _display_url(url)
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError):
        raise FetchError(f"invalid URL {shown}") from None
    if parsed.scheme not in _SCHEMES:
        raise FetchError(f"invalid URL {shown}: only http and https are supported")
    if not parsed.host:
        raise FetchError(f"invalid URL {shown}: no host")
    return parsed


def _redirect_target(base: httpx.URL, location: str) -> httpx.URL:
    """Resolve a Location header and refuse anything that is not http(s)."""
    try:
        target = base.join(location.strip())
    except (httpx.InvalidURL, ValueError, TypeError):
        raise FetchError("redirect to an invalid URL") from None
    if target.scheme not in _SCHEMES:
        raise FetchError(f"redirect to unsupported URL scheme {_shorten(target.scheme, 20)!r}")
    if not target.host:
        raise FetchError("redirect to an invalid URL")
    return target


def _origin(url: httpx.URL) -> tuple[str, str, int | None]:
    default = {"http": 80, "https": 443}.get(url.scheme)
    return (url.scheme, url.host, url.port or default)


def _reason(response: httpx.Response) -> str:
    """The reason phrase, from the server if sane, else the standard one."""
    phrase = " ".join(response.reason_phrase.split())[:60]
    if phrase:
        return phrase
    try:
        return HTTPStatus(response.status_code).phrase
    except ValueError:
        return ""


_NO_SUCH_NAME = {socket.EAI_NONAME, getattr(socket, "EAI_NODATA", socket.EAI_NONAME)}


def _connect_error(exc: httpx.ConnectError) -> FetchError | _Retryable:
    """Name the cause of a failed connection, found in the exception chain."""
    host = _request_host(exc)
    cause: BaseException | None = exc
    seen = 0
    while cause is not None and seen < 10:
        if isinstance(cause, AddressRefused):
            return FetchError(_shorten(str(cause), 200))
        if isinstance(cause, ConnectionRefusedError):
            return _Retryable(FetchError(f"connection refused ({host})"))
        if isinstance(cause, socket.gaierror):
            error = FetchError(f"cannot resolve host {host}")
            # "no such name" is the resolver's answer, not a hiccup: retrying only waits
            # (a verify of 11 posts on a gone domain took 17 s); EAI_AGAIN is retried
            return error if cause.errno in _NO_SUCH_NAME else _Retryable(error)
        if isinstance(cause, ssl.SSLCertVerificationError):
            return FetchError(f"TLS certificate error: {cause.verify_message or 'invalid'}")
        if isinstance(cause, ssl.SSLError):
            return FetchError(f"TLS error: {cause.reason or 'handshake failed'}")
        if isinstance(cause, ConnectionResetError):
            return _Retryable(FetchError(f"connection reset ({host})"))
        cause = cause.__cause__ or cause.__context__
        seen += 1
    return _Retryable(FetchError(f"cannot connect to {host}: {_one_line(exc)}"))


def _request_host(exc: httpx.RequestError) -> str:
    try:
        url = exc.request.url
    except RuntimeError:
        return "host"
    return f"{url.host}:{url.port}" if url.port else url.host


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split())
    return _shorten(text, 160) if text else type(exc).__name__


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _display_url(url: object) -> str:
    """A URL fit for an error message: no user info, no query (either may hold secrets)."""
    text = str(url)
    try:
        parts = urlsplit(text)
    except ValueError:
        return repr(_shorten(text.split("?", 1)[0], 100))
    host = parts.netloc.rpartition("@")[2]
    if parts.scheme:
        shown = f"{parts.scheme}://{host}{parts.path}" if host else f"{parts.scheme}:{parts.path}"
    else:
        shown = parts.path
    return repr(_shorten(shown or text.split("?", 1)[0], 100))
