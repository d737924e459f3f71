"""File names and relative links of the exported site (DESIGN.md, "Export layout").

Every internal link points at a file, never a folder, and is relative to the page that
holds it, so the site works from `file://`, a web root, or any sub-path.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from urllib.parse import quote

_NOT_WORD = re.compile(r"[\W_]+")
_MAX_SLUG = 80
_PLAIN = re.compile(r"[A-Za-z0-9/._~-]*\Z")


def slug(text: str) -> str:
    """Lower-case, runs of non letters/digits turned into `-`; UTF-8 letters are kept.

    A name with no letters or digits at all (`#`, `+++`) gets a short stable hash instead,
    and very long names are cut and suffixed with one, so every file name is usable.
    """
    normal = unicodedata.normalize("NFC", text).lower()
    value = _NOT_WORD.sub("-", normal).strip("-")
    digest = hashlib.sha256(normal.encode("utf-8")).hexdigest()[:8]
    if not value:
        return f"x-{digest}"
    if len(value) > _MAX_SLUG:
        return f"{value[:_MAX_SLUG].rstrip('-')}-{digest}"
    return value


SAFE_ID = re.compile(r"[A-Za-z0-9_-]{1,64}\Z")
_MONTH = re.compile(r"\d{4}-\d{2}\Z")


def month_of(date: str) -> str:
    """`yyyy-mm` of an archive date; `undated` for anything else (never a path)."""
    month = date[:7]
    return month if _MONTH.match(month) else "undated"


def numbered(stem: str, page: int) -> str:
    """`sources/blog.html`, `sources/blog-2.html`, …: a paginated list's file names."""
    return f"{stem}.html" if page == 1 else f"{stem}-{page}.html"


def index_page(page: int) -> str:
    """`index.html`, then `page/2.html`, `page/3.html`, …"""
    return "index.html" if page == 1 else f"page/{page}.html"


def post_page(post_id: str) -> str:
    return f"posts/{post_id}.html"


def source_page(source_slug: str, page: int = 1) -> str:
    return numbered(f"sources/{source_slug}", page)


def tag_page(tag_slug: str, page: int = 1) -> str:
    return numbered(f"tags/{tag_slug}", page)


def month_page(month: str, page: int = 1) -> str:
    return numbered(f"archive/{month}", page)


def root_of(path: str) -> str:
    """The relative prefix from a page back to the site root (`""` or `"../"`)."""
    return "../" * path.count("/")


def href(path: str, root: str = "") -> str:
    """A relative link to a site file, percent-encoded (UTF-8 tag names stay valid URLs)."""
    if _PLAIN.match(path):
        return root + path
    return root + quote(path, safe="/-._~")


_NUMBERED = re.compile(r"^(.+)-(\d+)$")


def unique_slugs(names: list[str]) -> dict[str, str]:
    """Slugs for list names that never collide with another list's page `<slug>-N.html`.

    Names with the same slug share one list (`C++` and `c`). A slug like `foo-2` whose
    `foo` is also a list would be page 2 of `foo`, so it gets a hash suffix instead.
    """
    plain = {name: slug(name) for name in names}
    taken = set(plain.values())
    result: dict[str, str] = {}
    for name, value in plain.items():
        match = _NUMBERED.match(value)
        if match and match.group(1) in taken:
            digest = hashlib.sha256(value.encode("utf-8")).hexdigest()[:6]
            value = f"{value}-n{digest}"
        result[name] = value
    return result
