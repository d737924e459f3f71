"""feedparser's rewrite of relative URIs in HTML content (`resolve_relative_uris`).

feedparser re-serializes every HTML value it resolves (attributes sorted, `<img ... />`),
and the archive keeps that form, so the fast path must produce the very same string.
"""

from __future__ import annotations

from feedparser.urls import resolve_relative_uris as _feedparser_resolve


def resolve_relative_uris(markup: str, base: str) -> str:
    """`markup` as feedparser stores an HTML value of a UTF-8 document with base URI `base`."""
    return str(_feedparser_resolve(markup, base, "utf-8", "text/html"))


__all__ = ["resolve_relative_uris"]
