"""Where requests may go: never to link-local or cloud-metadata addresses, and to private
networks only when the configured URL itself is private (a local server, an intranet)."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from collections.abc import Iterable, Mapping
from typing import Literal
from urllib.parse import urlsplit

import httpcore

AddressKind = Literal["blocked", "private", "public", "unknown"]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Metadata services and link-local ranges: no feed lives there, credentials do.
_BLOCKED = tuple(
    ipaddress.ip_network(net)
    for net in (
        "169.254.0.0/16",
        "fe80::/10",
        "fd00:ec2::254/128",
        "100.100.100.200/32",
        "0.0.0.0/8",
        "::/128",
    )
)


def address_kind(address: IPAddress) -> AddressKind:
    """Classify one IP address."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped:
        address = address.ipv4_mapped
    if any(address in net for net in _BLOCKED if net.version == address.version):
        return "blocked"
    if address.is_private or address.is_loopback or address.is_reserved:
        return "private"
    return "public"


def _literal(host: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


async def host_kind(host: str) -> AddressKind:
    """The strictest kind of any address the host resolves to ('unknown' if it does not)."""
    literal = _literal(host)
    if literal is not None:
        return address_kind(literal)
    if host.lower() == "localhost" or host.lower().endswith(".localhost"):
        return "private"
    try:
        addresses = await resolve(host)
    except (OSError, UnicodeError):
        return "unknown"  # the request itself will fail with a clear message
    kinds = {address_kind(ipaddress.ip_address(address)) for address in addresses}
    order: tuple[AddressKind, ...] = ("blocked", "private", "public")
    return next((kind for kind in order if kind in kinds), "unknown")


async def url_is_private(url: str) -> bool:
    """True when a configured URL points at a private or loopback host."""
    host = urlsplit(url).hostname
    return bool(host) and await host_kind(host or "") == "private"


async def resolve(host: str) -> list[str]:
    """The host's addresses (scope ids dropped), in the resolver's order."""
    infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]).split("%")[0] for info in infos))


class AddressRefused(httpcore.ConnectError):
    """A connection refused because the host now resolves to an address not allowed."""


class CheckedConnections(httpcore.AsyncNetworkBackend):
    """Opens connections only to addresses the policy allows, resolving names itself, so
    the address checked is the address connected to: a name that answers with a public
    address when the request is checked and a private one when the connection is made
    (DNS rebinding) is refused.

    `checked` maps a host to the kind the request's own check saw ("private" only when the
    request was allowed to go to the local network); connections are made for requests
    that passed that check, so private addresses are used only for such hosts. TLS still
    names the host (httpcore takes the server name from the request, not the address).
    """

    def __init__(self, checked: Mapping[str, AddressKind]) -> None:
        self._checked = checked
        self._inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        literal = _literal(host)
        try:
            addresses = [str(literal)] if literal is not None else await resolve(host)
        except (OSError, UnicodeError) as error:
            raise httpcore.ConnectError(f"{host}: {error}") from error
        allowed: set[AddressKind] = {"public"}
        if self._checked.get(host.lower()) == "private" or literal is not None:
            allowed.add("private")  # a literal address was checked as it is
        usable = [a for a in addresses if address_kind(ipaddress.ip_address(a)) in allowed]
        if not usable:
            raise AddressRefused(
                f"refused: {host} now resolves to an address that is not allowed "
                "(it changed since it was checked)"
            )
        failure: httpcore.ConnectError | None = None
        for address in usable:
            try:
                return await self._inner.connect_tcp(
                    address, port, timeout, local_address, socket_options
                )
            except httpcore.ConnectError as error:
                failure = error
        assert failure is not None
        raise failure

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        return await self._inner.connect_unix_socket(path, timeout, socket_options)

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)
