"""Untrusted HTML in, safe HTML out: an nh3 allow-list plus image rewriting.

Everything a platform hands us is untrusted, our own posts included (a feed can carry
anything). nh3 (ammonia) parses like a browser, so entity- or control-character-hidden
schemes (`jav&#x09;ascript:`) are decoded before the scheme check. Afterwards every `<img>`
either points at the local media copy or becomes a plain link: a page never loads a file
from another host.
"""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit, urlunsplit

import nh3

from ownfeed.archive.site import SitePost

TAGS = frozenset(
    {
        "a", "abbr", "b", "bdi", "bdo", "blockquote", "br", "caption", "cite", "code", "col",
        "colgroup", "dd", "del", "details", "dfn", "div", "dl", "dt", "em", "figcaption",
        "figure", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd", "li",
        "mark", "ol", "p", "pre", "q", "rp", "rt", "ruby", "s", "samp", "small", "span",
        "strong", "sub", "summary", "sup", "table", "tbody", "td", "tfoot", "th", "thead",
        "time", "tr", "u", "ul", "var", "wbr",
    }
)  # fmt: skip

# Removed together with everything inside them (their text is code, not prose).
DROP_WITH_CONTENT = frozenset(
    {
        "script", "style", "template", "iframe", "frame", "frameset", "object", "embed",
        "applet", "noscript", "noembed", "noframes", "svg", "math", "title", "textarea",
        "select", "xmp", "head",
    }
)  # fmt: skip

ATTRIBUTES: dict[str, set[str]] = {
    "*": {"lang", "dir", "title", "id"},
    "a": {"href", "hreflang"},
    "img": {"src", "alt", "width", "height"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan", "scope"},
    "col": {"span"},
    "colgroup": {"span"},
    "ol": {"start", "reversed"},
    "time": {"datetime"},
}

URL_SCHEMES = frozenset({"http", "https", "mailto"})
ID_PREFIX = "x-"  # content ids can never clash with (or clobber) the page's own ids
THIRD_PARTY_REL = "nofollow noopener ugc"
OWN_REL = "noopener"

_TAG_RE = re.compile(r'<(/?)(a|img)\b((?:\s+[^\s=>/]+(?:="[^"]*")?)*)\s*/?>', re.IGNORECASE)
_ATTR_RE = re.compile(r'([^\s=]+)="([^"]*)"')


def media_key(url: str) -> str:
    """A URL as media lookups compare it: scheme and host lower-cased, fragment dropped."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return url
    return urlunsplit((parts.scheme.lower(), parts.netloc.lower(), parts.path, parts.query, ""))


@dataclass(frozen=True)
class Cleaned:
    """Sanitized HTML and the media URLs it shows inline, as image or link (galleries skip
    them)."""

    html: str
    inline_media: frozenset[str]


class Sanitizer:
    """Reusable cleaner; `media_files` maps media_key(url) to the site file `<sha>.<ext>`.

    Not thread-safe: the base URL of the post being cleaned is held on the instance while
    nh3 calls back to resolve relative links.
    """

    def __init__(self, media_files: Mapping[str, str] | None = None) -> None:
        self.media_files = dict(media_files or {})
        self._base: str | None = None
        common = {
            "tags": set(TAGS),
            "clean_content_tags": set(DROP_WITH_CONTENT),
            "attributes": ATTRIBUTES,
            "url_schemes": set(URL_SCHEMES),
            "url_relative": self._resolve,
            "id_prefix": ID_PREFIX,
            "strip_comments": True,
        }
        self._third_party = nh3.Cleaner(link_rel=THIRD_PARTY_REL, **common)  # type: ignore[arg-type]
        self._own = nh3.Cleaner(link_rel=OWN_REL, **common)  # type: ignore[arg-type]

    def _resolve(self, url: str) -> str | None:
        """Relative URLs point at the post's own site, not ours: make them absolute."""
        if url.startswith("#"):
            fragment = url[1:]
            return "#" + (fragment if fragment.startswith(ID_PREFIX) else ID_PREFIX + fragment)
        if url.startswith("//"):
            absolute = "https:" + url
        elif self._base:
            absolute = urljoin(self._base, url)
        else:
            return None
        scheme = urlsplit(absolute).scheme.lower()
        return absolute if scheme in ("http", "https") else None

    def clean(
        self,
        markup: str | None,
        *,
        base: str | None = None,
        media_root: str = "media/",
        third_party: bool = True,
    ) -> Cleaned:
        """Sanitize one fragment; `media_root` prefixes local media files (`../media/`)."""
        if not markup:
            return Cleaned("", frozenset())
        self._base = base
        try:
            cleaner = self._third_party if third_party else self._own
            safe = cleaner.clean(markup)
        finally:
            self._base = None
        if "<img" not in safe:
            return Cleaned(safe, frozenset())
        return self._rewrite_images(safe, media_root, third_party)

    def _rewrite_images(self, safe: str, media_root: str, third_party: bool) -> Cleaned:
        out: list[str] = []
        used: set[str] = set()
        link_depth = 0
        position = 0
        rel = THIRD_PARTY_REL if third_party else OWN_REL
        for match in _TAG_RE.finditer(safe):
            closing, name = match.group(1), match.group(2).lower()
            if name == "a":
                link_depth = max(0, link_depth + (-1 if closing else 1))
                continue
            out.append(safe[position : match.start()])
            position = match.end()
            attrs = {k.lower(): html.unescape(v) for k, v in _ATTR_RE.findall(match.group(3))}
            out.append(self._image(attrs, media_root, rel, link_depth > 0, used))
        out.append(safe[position:])
        return Cleaned("".join(out), frozenset(used))

    def _image(
        self, attrs: dict[str, str], media_root: str, rel: str, in_link: bool, used: set[str]
    ) -> str:
        src = attrs.get("src", "")
        alt = attrs.get("alt", "").strip()
        esc = html.escape
        local = self.media_files.get(media_key(src)) if src else None
        if local:
            used.add(media_key(src))
            size = "".join(
                f' {key}="{esc(attrs[key])}"'
                for key in ("width", "height")
                if attrs.get(key, "").isdigit()
            )
            return f'<img src="{esc(media_root + local)}" alt="{esc(alt)}"{size} loading="lazy">'
        if src:
            used.add(media_key(src))  # shown here as a link: no second mention below the post
        label = f"Image: {alt}" if alt else "Image (not archived)"
        if in_link or not src.lower().startswith(("http://", "https://")):
            return f'<span class="remote-image">[{esc(label)}]</span>'
        return f'<a class="remote-image" href="{esc(src)}" rel="{rel}">[{esc(label)}]</a>'


_URL_NOISE = re.compile(r"[\x00-\x20\x7f]+")
_PLAIN_HTTP = re.compile(r"https?://[^\x00-\x20\x7f]+\Z", re.IGNORECASE)


def safe_url(url: str | None) -> str | None:
    """An upstream URL fit for an href: http(s) only, else None (no javascript:, data:, …).

    Browsers ignore tabs and newlines inside a scheme, so they are removed before checking.
    """
    if not url:
        return None
    value = url.strip()
    if value.startswith(("https://", "http://")) and value.isprintable() and " " not in value:
        return value  # the common case, without a regex: nothing to remove, a web scheme
    if _PLAIN_HTTP.match(value):
        return value
    try:
        scheme = urlsplit(_URL_NOISE.sub("", value)).scheme.lower()
    except ValueError:
        return None
    if scheme not in ("http", "https") or _URL_NOISE.search(value):
        return None
    return value


def safe_post(post: SitePost) -> SitePost:
    """The post with every upstream URL a page links to checked (http(s) only)."""
    url, author_url = safe_url(post.url), safe_url(post.author_url)
    reply_to = safe_url(post.in_reply_to_url)
    if (url, author_url, reply_to) == (post.url, post.author_url, post.in_reply_to_url):
        return post
    return post._replace(url=url, author_url=author_url, in_reply_to_url=reply_to)
