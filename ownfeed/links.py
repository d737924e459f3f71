"""Finding a post's copies and mentions: pure detection, no SQL and no network.

Why pure: the same story reaches the archive from many sources in any order, so the
archive (`ownfeed.archive.links`) re-runs these functions over whatever changed and keeps
the result in `post_links`. Everything here is a plain function of a post's fields:

- `normalize_url` makes two spellings of one address compare equal (scheme and host
  case, default port, trailing slash, fragment, `utm_*` parameters), and `url_key`
  drops the scheme too, so an `http://` link finds an `https://` post;
- `extract_urls` lists what a post points at, with the evidence (`how`): links in its
  HTML or text, a Mastodon link card, Bluesky link facets and external embeds, and the
  `u-syndication` / `rel=syndication` links with which a blog post names its copies;
- `comparable_text`, `similarity` and `text_matches` pair near-identical posts of ours
  on different platforms published close together (`how = 'text'`).

Linking reads every new post, so the common cases take a short way with the same result:
plain markup is read by regex (`plain_html_links`) and plain URLs are normalised without
urllib; anything else, or anything they are not sure of, goes to html.parser and urllib
(`tests/test_links_fast.py` compares both on generated input).
"""

from __future__ import annotations

import bisect
import json
import re
from collections import Counter
from collections.abc import Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from difflib import SequenceMatcher
from html import unescape
from html.parser import HTMLParser
from typing import Any
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

#: Evidence, strongest first: a stronger `how` replaces a weaker one for the same pair.
HOW_RANK = {"manual": 0, "syndication": 1, "card": 2, "facet": 3, "link": 4, "text": 5}
#: The evidence kinds that come from a post's own content (`self` marks its own address).
EVIDENCE = ("syndication", "card", "facet", "link")

#: Link shorteners whose redirects the sync follows (with the hosts of our own sites).
SHORTENERS = frozenset(
    {
        "bit.ly",
        "buff.ly",
        "dlvr.it",
        "fb.me",
        "goo.gl",
        "is.gd",
        "lnkd.in",
        "ow.ly",
        "rebrand.ly",
        "s.id",
        "t.co",
        "t.ly",
        "tiny.cc",
        "tinyurl.com",
        "trib.al",
        "wp.me",
    }
)

_DEFAULT_PORTS = {"http": "80", "https": "443"}
_TEXT_URL_RE = re.compile(r"https?://[^\s<>\"'\]\[(){}]+", re.IGNORECASE)
_TRAILING_PUNCT = ".,;:!?…'\")»"
_MAX_URLS = 200  # per post: a link farm must not make linking quadratic
_MAX_URL_LENGTH = 2048


def normalize_url(url: str | None, base: str | None = None) -> str | None:
    """One spelling per address, or None for anything that is not an http(s) URL.

    Lower-cased scheme and host, no default port, no fragment, no `utm_*` parameters,
    no trailing slash (the root path stays `/`). Relative links resolve against `base`.
    """
    if not url:
        return None
    text = url.strip()
    if not text or len(text) > _MAX_URL_LENGTH:
        return None
    plain = _PLAIN_URL_RE.match(text)
    if plain is not None and "utm_" not in text.lower():
        return _plain_normal(*plain.groups())
    return _parsed_normal(text, base)


def _parsed_normal(text: str, base: str | None) -> str | None:
    """`normalize_url` of a stripped URL of allowed length, the full way (urllib)."""
    if base and not re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", text):
        joined = _join(base, text)
        if joined is None:
            return None
        text = joined
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        return None
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").rstrip(".")
    if scheme not in _DEFAULT_PORTS or not host:
        return None
    netloc = host.lower()
    if ":" in netloc:
        netloc = f"[{netloc}]"  # an IPv6 literal keeps its brackets
    if port is not None and str(port) != _DEFAULT_PORTS[scheme]:
        netloc += f":{port}"
    path = parts.path or "/"
    if len(path) > 1:
        path = path.rstrip("/") or "/"
    query = _clean_query(parts.query)
    return urlunsplit((scheme, netloc, path, query, ""))


# A URL that `urlsplit` takes apart without surprises: lower-case scheme (http or https),
# an ASCII host of non-empty labels with no port or user, a path and a non-empty query of
# printable ASCII that no step of `normalize_url` changes (no fragment, whitespace or
# backslash, no escape in the query: `%75tm_` is a tracking parameter too). For such URLs
# the result is built directly; everything else takes the full way. The tests compare both.
_PLAIN_URL_RE = re.compile(
    r"(https?)://([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*)"
    r"(/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*)?"
    r"(?:\?([A-Za-z0-9._~!$&'()*+,;=:@/?-]+))?\Z"
)


def _plain_normal(scheme: str, host: str, path: str | None, query: str | None) -> str:
    """`normalize_url` of a URL `_PLAIN_URL_RE` matched, from its parts."""
    if not path:
        path = "/"
    elif len(path) > 1:
        path = path.rstrip("/") or "/"
    if query:
        return f"{scheme}://{host.lower()}{path}?{query}"
    return f"{scheme}://{host.lower()}{path}"


def _join(base: str, link: str) -> str | None:
    try:
        return urljoin(base, link)
    except ValueError:
        return None


def _clean_query(query: str) -> str:
    """The query without tracking parameters (`utm_*`), order kept."""
    if not query:
        return ""
    pairs = parse_qsl(query, keep_blank_values=True)
    kept = [(key, value) for key, value in pairs if not key.lower().startswith("utm_")]
    if len(kept) == len(pairs):
        return query
    return urlencode(kept)


def url_key(url: str | None, base: str | None = None) -> str | None:
    """What two addresses must share to be the same post: the normalised URL without its
    scheme (`//host/path?query`), so `http://` and `https://` links match."""
    normal = normalize_url(url, base)
    if normal is None:
        return None
    return normal.split(":", 1)[1]


def url_host(url: str) -> str:
    """The lower-cased host of an absolute URL ("" when there is none)."""
    plain = _PLAIN_URL_RE.match(url)
    if plain is not None:
        return plain.group(2).lower()
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


@dataclass(frozen=True, slots=True)
class FoundUrl:
    """An address a post points at: `url` normalised, `how` the evidence."""

    url: str
    how: str


def _anchor(tag: str, attrs: list[tuple[str, str | None]], found: list[tuple[str, bool]]) -> None:
    """Record an `<a href>` (or a syndication `<link>`) with whether it names a copy."""
    if tag not in ("a", "link") or len(found) >= _MAX_URLS:
        return
    values = {name.lower(): value or "" for name, value in attrs}
    href = values.get("href")
    if not href:
        return
    classes = values.get("class", "").split()
    rels = values.get("rel", "").lower().split()
    syndication = "u-syndication" in classes or "syndication" in rels
    if tag == "link" and not syndication:
        return
    found.append((href, syndication))


class _Anchors(HTMLParser):
    """Collects `<a href>` with their class and rel (for u-syndication / rel=syndication)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, bool]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        _anchor(tag, attrs, self.found)


def html_links(markup: str | None) -> list[tuple[str, bool]]:
    """(href, is_syndication) of every link in an HTML fragment, in document order."""
    if not markup or ("href" not in markup and "href" not in markup.lower()):
        return []
    plain = plain_html_links(markup)
    if plain is not None:
        return plain
    return parsed_html_links(markup)


def parsed_html_links(markup: str) -> list[tuple[str, bool]]:
    """`html_links` by html.parser: any markup."""
    parser = _Anchors()
    try:
        parser.feed(markup)
        parser.close()
    except (AssertionError, ValueError):  # pragma: no cover - HTMLParser is lenient
        pass
    return parser.found


# Plain markup, where html.parser's tokens are certain: every `<` opens a start or end tag
# of a letters-and-digits name (no `<` inside attribute values either, so every `<` in the
# text is a tag), attributes are separated by ASCII whitespace, named
# `[a-zA-Z_:][-a-zA-Z0-9_:.]*`, with a quoted value or an unquoted one with no quote, `<`,
# `>` or backquote in it (html.parser ends a bare value at `>` or any whitespace, so one
# followed by anything but ASCII whitespace, `/>` or `>` fails the match). Atomic groups
# and possessive repeats: the match is the one parse, never a backtracked other.
_WS = r"[ \t\n\r\f]"
_NAME = r"[a-zA-Z_:][-a-zA-Z0-9_:.]*+"
_VALUE = r"\"[^\"<]*+\"|'[^'<]*+'|[^\s\"'=<>`][^\s\"'<>`]*+"
_ATTR = rf"(?>{_WS}++({_NAME})(?:{_WS}*+={_WS}*+({_VALUE}))?)"
_ANY_ATTRS = rf"(?>{_WS}++{_NAME}(?:{_WS}*+={_WS}*+(?:{_VALUE}))?)*+{_WS}*+/?>"
# Elements whose content html.parser (in some Python version) reads as raw text: a start
# tag of one fails the match.
_RAW_TEXT = (
    r"(?!(?i:script|style|title|textarea|plaintext|xmp|iframe|noembed|noframes|noscript)"
    r"(?![a-zA-Z0-9]))"
)
# Any plain tag; it holds a single `<`, so markup with as many matches as `<`s is plain.
_PLAIN_TAG_RE = re.compile(
    rf"</[a-zA-Z][a-zA-Z0-9]*+{_WS}*+>|<{_RAW_TEXT}[a-zA-Z][a-zA-Z0-9]*+{_ANY_ATTRS}"
)
_LINK_TAG_RE = re.compile(rf"<((?i:a|link))((?:{_ATTR})*+){_WS}*+/?>")
_ATTR_RE = re.compile(_ATTR)


def plain_html_links(markup: str) -> list[tuple[str, bool]] | None:
    """`html_links` of plain markup by regex scans, or None where html.parser's reading is
    not certain (comments, declarations, raw-text elements, a stray `<`, odd tags)."""
    if len(_PLAIN_TAG_RE.findall(markup)) != markup.count("<"):
        return None
    found: list[tuple[str, bool]] = []
    for match in _LINK_TAG_RE.finditer(markup):
        attrs: list[tuple[str, str | None]] = []
        for attr in _ATTR_RE.finditer(match.group(2)):
            value = attr.group(2)
            if value is not None and value[:1] in ("'", '"'):
                value = value[1:-1]
            attrs.append((attr.group(1).lower(), unescape(value) if value else value))
        _anchor(match.group(1).lower(), attrs, found)
        if len(found) >= _MAX_URLS:
            break
    return found


def text_links(text: str | None) -> list[str]:
    """http(s) URLs written out in plain text (text-only platforms)."""
    if not text or "http" not in text.lower():
        return []
    found = []
    for match in _TEXT_URL_RE.finditer(text):
        found.append(match.group(0).rstrip(_TRAILING_PUNCT))
        if len(found) >= _MAX_URLS:
            break
    return found


def load_raw(raw: Any) -> Any:
    """The archived `raw` column as data (it is stored as JSON text)."""
    if isinstance(raw, (dict, list)):
        return raw
    if not isinstance(raw, str) or not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return None


def _get(data: Any, *path: str) -> Any:
    for key in path:
        if not isinstance(data, Mapping):
            return None
        data = data.get(key)
    return data


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _strings(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [item for item in value if isinstance(item, str)]
    return []


def raw_links(platform: str, raw: Any) -> Iterator[tuple[str, str]]:
    """(url, how) from a post's raw platform data: what its HTML may not show.

    Mastodon: the link card (`card.url`). Bluesky, as a postView or a bare record: link
    facets (`app.bsky.richtext.facet#link`) and the external embed (`external.uri`).
    Blogs: syndication lists where a platform exports them (mf2 `syndication`, the
    WordPress Syndication Links plugin's `mf2_syndication` meta).
    """
    data = load_raw(raw)
    if not isinstance(data, Mapping):
        return
    card = data.get("card")
    if isinstance(card, Mapping) and isinstance(card.get("url"), str):
        yield card["url"], "card"
    for record in (data, data.get("record"), data.get("value")):
        if not isinstance(record, Mapping):
            continue
        for facet in _list(record.get("facets")):
            for feature in _list(_get(facet, "features")):
                if not isinstance(feature, Mapping):
                    continue
                kind = str(feature.get("$type") or "")
                if kind.endswith("facet#link") and isinstance(feature.get("uri"), str):
                    yield feature["uri"], "facet"
        embed = record.get("embed")
        for external in (_get(embed, "external"), _get(embed, "media", "external")):
            uri = _get(external, "uri")
            if isinstance(uri, str):
                yield uri, "card"
    for path in (
        ("syndication",),
        ("properties", "syndication"),
        ("meta", "mf2_syndication"),
        ("mf2_syndication",),
    ):
        for url in _strings(_get(data, *path)):
            yield url, "syndication"


def extract_urls(
    platform: str,
    content_html: str | None,
    content_text: str | None = None,
    raw: Any = None,
    base: str | None = None,
    redirects: Mapping[str, str] | None = None,
) -> list[FoundUrl]:
    """Every address a post points at, normalised, each once with its strongest evidence.

    Links in the HTML are `link` (or `syndication` when marked so); plain-text URLs
    count only when the post has no HTML. `redirects` maps normalised short links to
    where they lead (followed by the sync), so a `bit.ly` link finds our post.
    """
    candidates: list[tuple[str, str]] = [
        (href, "syndication" if syndication else "link")
        for href, syndication in html_links(content_html)
    ]
    if not content_html:
        candidates += [(url, "link") for url in text_links(content_text)]
    candidates += list(raw_links(platform, raw))
    best: dict[str, str] = {}
    for url, how in candidates[: _MAX_URLS * 2]:
        normal = normalize_url(url, base)
        if normal is None:
            continue
        if redirects:
            target = redirects.get(normal)
            if target:
                normal = normalize_url(target) or normal
        known = best.get(normal)
        if known is None or HOW_RANK[how] < HOW_RANK[known]:
            best[normal] = how
    return [FoundUrl(url, how) for url, how in best.items()]


def own_addresses(url: str | None, native_id: str | None) -> list[str]:
    """The normalised addresses a post of ours is reached at: its URL, and its native id
    when that is a URL too (a feed guid, a status URI)."""
    found: list[str] = []
    for value in (url, native_id):
        normal = normalize_url(value) if value and "://" in value else None
        if normal and normal not in found:
            found.append(normal)
    return found


# --- near-identical text ---------------------------------------------------------------

_NON_WORD_RE = re.compile(r"[\W_]+", re.UNICODE)
MIN_TEXT = 20  # characters: shorter texts ("Danke!") say too little to call copies
MAX_TEXT = 1000  # characters compared: copies are short; long posts differ early
WORD_SLACK = 0.25  # how much lower the word overlap may be than the text similarity


def _is_link_text(token: str) -> bool:
    """A written-out or shortened link (`https://…`, `www.x`, `example.com/foo…`)."""
    if "://" in token or token.startswith(("www.", "WWW.")):
        return True
    head, slash, _ = token.partition("/")
    return bool(slash) and "." in head.strip("(\"'")


def comparable_text(text: str | None) -> str:
    """Text reduced to what cross-posting keeps: words, lower-cased, links removed.

    Platforms shorten links differently (`example.com/foo…`), so links are dropped,
    as are punctuation and case.
    """
    if not text:
        return ""
    tokens = [t for t in text[: MAX_TEXT * 2].split() if not _is_link_text(t)]
    words = _NON_WORD_RE.sub(" ", " ".join(tokens).lower()).split()
    return " ".join(words)[:MAX_TEXT]


def similarity(a: str, b: str, threshold: float = 0.0) -> float:
    """How alike two comparable texts are (0..1); 0 early when they cannot reach
    `threshold`. See `_Similar` for the cheap checks that come first."""
    return _Similar(b).score(a, threshold)


class _Similar:
    """One text compared with many: difflib keeps its index of `text` between pairs.

    Cheap checks come first, so most pairs never reach difflib: the length ratio (an
    upper bound of difflib's ratio), the overlap of the two texts' words (a copy keeps
    most of its words; `WORD_SLACK` leaves room for small edits), then difflib's quick
    upper bounds.
    """

    def __init__(self, text: str) -> None:
        self.text = text
        self.words = Counter(text.split())
        self.count = sum(self.words.values())
        self.matcher: SequenceMatcher[str] | None = None

    def score(self, other: str, threshold: float, words: Counter[str] | None = None) -> float:
        a, b = other, self.text
        if not a or not b:
            return 0.0
        if a == b:
            return 1.0
        if 2 * min(len(a), len(b)) / (len(a) + len(b)) < threshold:
            return 0.0
        bag = words if words is not None else Counter(a.split())
        total = sum(bag.values()) + self.count
        if total and 2 * sum((bag & self.words).values()) / total < threshold - WORD_SLACK:
            return 0.0
        if self.matcher is None:
            self.matcher = SequenceMatcher(None, autojunk=False)
            self.matcher.set_seq2(b)
        self.matcher.set_seq1(a)
        matcher = self.matcher
        if matcher.real_quick_ratio() < threshold or matcher.quick_ratio() < threshold:
            return 0.0
        return matcher.ratio()


@dataclass(frozen=True, slots=True)
class TextPost:
    """One of our posts as text matching sees it."""

    id: str
    platform: str
    published: datetime
    text: str  # comparable_text()


@dataclass(frozen=True, slots=True)
class TextMatch:
    original: str
    copy: str
    score: float


def _order(post: TextPost) -> tuple[datetime, int, str]:
    """Who is the original of two near-identical posts: the earlier, a blog on a tie."""
    return (post.published, 0 if post.platform == "web" else 1, post.id)


def has_other_platform_near(posts: Sequence[tuple[str, datetime]], window: timedelta) -> list[bool]:
    """For each (platform, published) post, whether a post of another platform lies within
    `window` of it (inclusive, as in `text_matches`): a post without one is never paired,
    so it need not be compared (or even reduced to comparable text)."""
    times: dict[str, list[datetime]] = {}
    for platform, moment in posts:
        times.setdefault(platform, []).append(moment)
    if len(times) < 2:
        return [False] * len(posts)
    for group in times.values():
        group.sort()
    near = []
    for platform, moment in posts:
        low, high = moment - window, moment + window
        near.append(
            any(
                bisect.bisect_left(group, low) < bisect.bisect_right(group, high)
                for name, group in times.items()
                if name != platform
            )
        )
    return near


def text_matches(
    posts: Iterable[TextPost],
    changed: Collection[str],
    *,
    threshold: float,
    window: timedelta,
) -> list[TextMatch]:
    """Pairs of near-identical posts on different platforms within `window` of each
    other, at least one of them in `changed`; the earlier one is the original.

    Each post is paired with at most one post per other platform (its best match), so a
    weekly "we are hiring" does not chain a month of posts together.
    """
    ordered = sorted((p for p in posts if len(p.text) >= MIN_TEXT), key=_order)
    # Per platform, in the same order: a post is only ever compared with other platforms'
    # posts, so the window is searched there alone (a first sync of many posts on one
    # platform would otherwise walk every window for nothing). Each post's `_order` key is
    # computed once and travels with it.
    keyed = [(_order(post), post) for post in ordered]
    by_platform: dict[str, list[tuple[tuple[datetime, int, str], TextPost]]] = {}
    for item in keyed:
        by_platform.setdefault(item[1].platform, []).append(item)
    times = {name: [p.published for _, p in group] for name, group in by_platform.items()}
    bags: dict[str, Counter[str]] = {}
    best: dict[tuple[str, str], tuple[float, TextPost, TextPost]] = {}
    for order, post in keyed:
        if post.id not in changed:
            continue
        similar: _Similar | None = None
        for name, group in by_platform.items():
            if name == post.platform:
                continue
            start = bisect.bisect_left(times[name], post.published - window)
            end = bisect.bisect_right(times[name], post.published + window)
            for other_order, other in group[start:end]:
                if other.id in changed and other_order < order:
                    continue  # this pair was scored from the other side
                if similar is None:
                    similar = _Similar(post.text)
                bag = bags.get(other.id)
                if bag is None:
                    bag = bags[other.id] = Counter(other.text.split())
                score = similar.score(other.text, threshold, bag)
                if score < threshold:
                    continue
                # the earlier is the original (`sorted` by `_order` would keep a tie as is)
                first, second = (other, post) if other_order < order else (post, other)
                key = (second.id, first.platform)
                known = best.get(key)
                if known is None or score > known[0]:
                    best[key] = (score, first, second)
    return sorted(
        (TextMatch(first.id, second.id, score) for score, first, second in best.values()),
        key=lambda m: (-m.score, m.copy, m.original),
    )


def strongest(hows: Sequence[str]) -> str:
    """The strongest of several pieces of evidence."""
    return min(hows, key=lambda how: HOW_RANK.get(how, len(HOW_RANK)))
