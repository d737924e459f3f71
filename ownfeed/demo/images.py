"""Small PNG images made on the fly, so the demo ships no binary files, and the sample
social sites' avatars and pictures made of them."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Mapping

from ownfeed.demo.web import DemoResponse

RGB = tuple[int, int, int]


def _chunk(kind: bytes, data: bytes) -> bytes:
    body = kind + data
    return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)


def png(width: int, height: int, rgb: RGB) -> bytes:
    """A solid-colour RGB PNG with a diagonal stripe (so two colours give two hashes)."""
    rows = bytearray()
    for y in range(height):
        rows.append(0)
        for x in range(width):
            on_stripe = abs(x - y) < 3
            rows.extend((255, 255, 255) if on_stripe else rgb)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(bytes(rows), 9))
        + _chunk(b"IEND", b"")
    )


def sample_image(
    name: str, avatars: Mapping[str, RGB], pictures: Mapping[str, RGB]
) -> DemoResponse:
    """The file a sample social site serves as `name`: `avatar-<person>` is a 32×32 avatar in
    that person's colour, a picture's name a 64×48 picture in its own; not found otherwise."""
    person = name.removeprefix("avatar-")
    if name.startswith("avatar-") and person in avatars:
        return DemoResponse(png(32, 32, avatars[person]), 200, "image/png")
    if name in pictures:
        return DemoResponse(png(64, 48, pictures[name]), 200, "image/png")
    return DemoResponse("not found", 404, "text/plain")
