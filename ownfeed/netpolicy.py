"""Where requests may go: never to link-local or cloud-metadata addresses, and to private
networks only when the configured URL itself is private (a local server, an intranet)."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from typing import Literal
from urllib.parse import urlsplit

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
        infos = await asyncio.get_running_loop().getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return "unknown"  # the request itself will fail with a clear message
    kinds = {address_kind(ipaddress.ip_address(str(info[4][0]).split("%")[0])) for info in infos}
    order: tuple[AddressKind, ...] = ("blocked", "private", "public")
    return next((kind for kind in order if kind in kinds), "unknown")


async def url_is_private(url: str) -> bool:
    """True when a configured URL points at a private or loopback host."""
    host = urlsplit(url).hostname
    return bool(host) and await host_kind(host or "") == "private"
