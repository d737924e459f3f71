"""feedparser's rewrite of relative URIs in HTML content (`resolve_relative_uris`), fast.

feedparser re-serializes every HTML value it resolves (attribute names lower-cased and
sorted, `<img ... />`, references normalized), and the archive keeps that form, so the fast
feed path must produce the very same string. feedparser does it with sgmllib, a third of
the fast path's time; here ordinary markup (complete tags with quoted attributes, end tags,
plain comments, references, text) is re-serialized by one regular-expression scan that
follows sgmllib token for token. Anything else (unquoted or valueless attributes, `<?`,
`<!DOCTYPE`, CDATA, a tag cut short...) goes to feedparser's own resolver.
tests/sources/test_htmluris.py compares the two on generated markup.
"""

from __future__ import annotations

import re
from html.entities import name2codepoint

from feedparser.html import _BaseHTMLProcessor, _cp1252
from feedparser.urls import RelativeURIResolver, make_safe_absolute_uri
from feedparser.urls import resolve_relative_uris as _feedparser_resolve

_VOID = frozenset(_BaseHTMLProcessor.elements_no_end_tag)
_URI_ATTRIBUTES = frozenset(RelativeURIResolver.relative_uris)
_ENTITIES = frozenset(name2codepoint) | {"apos"}
# feedparser's preprocessing, applied before sgmllib sees the markup.
_DECLARATION = re.compile(r"<!((?!DOCTYPE|--|\[))", re.IGNORECASE)
_SHORT_TAG = re.compile(r"<([^<>\s]+?)\s*/>")
_TOKEN = re.compile(
    r"""(?P<text>[^<&]+)
    |<(?P<tag>[a-zA-Z][-_.:a-zA-Z0-9]*)
      (?P<attrs>(?:\s+[a-zA-Z_][-:.a-zA-Z_0-9]*\s*=\s*(?:"[^"<>]*"|'[^'<>]*'))*)\s*/?>
    |</(?P<end>[a-zA-Z][-_.:a-zA-Z0-9]*)\s*>
    |(?P<comment><!--(?:(?!--).)*-->)
    |&\#(?P<charref>[0-9]+|[xX][0-9a-fA-F]+);
    |&(?P<entity>[a-zA-Z][-.a-zA-Z0-9]*)(?P<stop>[^a-zA-Z0-9])
    |(?P<verbatim>&|<(?![a-zA-Z/!?>]))""",
    re.VERBOSE | re.DOTALL,
)
_ATTRIBUTE = re.compile(r"""\s+([a-zA-Z_][-:.a-zA-Z_0-9]*)\s*=\s*("[^"<>]*"|'[^'<>]*')""")
_REFERENCE = re.compile(r"&(?:([a-zA-Z][-.a-zA-Z0-9]*)|#([0-9]+))(;?)")
_BARE_AMPERSAND = re.compile(r"&(?!#\d+;|#x[0-9a-fA-F]+;|\w+;)")


class _Irregular(Exception):
    """Markup the scan does not follow; feedparser's resolver takes it."""


def resolve_relative_uris(markup: str, base: str) -> str:
    """`markup` as feedparser stores an HTML value of a UTF-8 document with base URI `base`."""
    if "<" not in markup and "&" not in markup:
        return markup
    try:
        return _rewrite(markup, base)
    except _Irregular:
        return str(_feedparser_resolve(markup, base, "utf-8", "text/html"))


def _rewrite(markup: str, base: str) -> str:
    data = _DECLARATION.sub(r"&lt;!\1", markup)
    data = _SHORT_TAG.sub(_short_tag, data)
    data = data.replace("&#39;", "'").replace("&#34;", '"')
    out: list[str] = []
    position, size = 0, len(data)
    while position < size:
        token = _TOKEN.match(data, position)
        if token is None:
            raise _Irregular
        kind = token.lastgroup
        if kind in ("text", "verbatim", "comment"):
            out.append(token.group())
        elif kind == "attrs":
            out.append(_start_tag(token.group("tag").lower(), token.group("attrs"), base))
        elif kind == "end":
            tag = token.group("end").lower()
            if tag not in _VOID:
                out.append(f"</{tag}>")
        elif kind == "charref":
            out.append(_charref(token.group("charref")))
        elif kind == "stop":
            name = token.group("entity")
            out.append(f"&{name};" if name in _ENTITIES else f"&amp;{name}")
            if token.group("stop") != ";":
                position = token.end() - 1
                continue
        else:  # pragma: no cover - every alternative is named
            raise _Irregular
        position = token.end()
    return "".join(out)


def _short_tag(match: re.Match[str]) -> str:
    tag = match.group(1)
    return f"<{tag} />" if tag in _VOID else f"<{tag}></{tag}>"


def _start_tag(tag: str, markup: str, base: str) -> str:
    """sgmllib's attribute reading, then feedparser's normalizing, resolving and escaping."""
    attrs: dict[str, str] = {}
    for name, quoted in _ATTRIBUTE.findall(markup):
        key = name.lower()
        value = _REFERENCE.sub(_reference, quoted[1:-1])
        attrs[key] = value.lower() if key in ("rel", "type") else value
    pieces = [f"<{tag}"]
    for key, value in sorted(attrs.items()):
        if (tag, key) in _URI_ATTRIBUTES:
            value = make_safe_absolute_uri(base, value.strip()) or value
        value = value.replace(">", "&gt;").replace("<", "&lt;").replace('"', "&quot;")
        pieces.append(f' {key}="{_BARE_AMPERSAND.sub("&amp;", value)}"')
    pieces.append(" />" if tag in _VOID else ">")
    return "".join(pieces)


def _reference(match: re.Match[str]) -> str:
    if match.group(2):
        return f"&#{match.group(2)};"
    if match.group(3):
        return f"&{match.group(1)};"
    return f"&{match.group(1)}"


def _charref(ref: str) -> str:
    ref = ref.lower()
    value = int(ref[1:], 16) if ref.startswith("x") else int(ref)
    if value in _cp1252:
        return f"&#{hex(ord(_cp1252[value]))[1:]};"
    return f"&#{ref};"


__all__ = ["resolve_relative_uris"]
