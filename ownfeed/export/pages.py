"""Jinja2 templates: loading (with theme overrides), filters, and page contexts.

A theme folder overrides any default template by name and may extend the default one as
`default/<name>` (as Datasette does); its `static/` files replace or add assets.

Without a theme no page needs Jinja (post, list and search pages are rendered in Python, the
same bytes): the environment, and jinja2 with it (~20 ms of every export's start-up), is
made on first use (`Templates.env`).
"""

from __future__ import annotations

import hashlib
from collections.abc import MutableMapping
from dataclasses import dataclass
from functools import cache
from html import escape
from pathlib import Path
from typing import TYPE_CHECKING, Any

from markupsafe import Markup

from ownfeed.archive.site import SitePost
from ownfeed.errors import ConfigError, ThemeError
from ownfeed.export.pypages import Frame, PostPage, esc, list_page
from ownfeed.export.sanitize import safe_url
from ownfeed.export.views import platform_name
from ownfeed.models import parse_iso

if TYPE_CHECKING:
    from jinja2 import Environment, Template

CSP = (
    "default-src 'self'; img-src 'self'; media-src 'self'; style-src 'self'; "
    "script-src 'self'; font-src 'self'; connect-src 'self'; object-src 'none'; "
    "frame-src 'none'; base-uri 'none'; form-action 'self'"
)

_CSP_MARKUP = Markup.escape(CSP)
# What importlib.resources.files() gives for a package on disk (the only way templates can be
# read: `Templates` takes paths), without importing it (its readers: a few ms of every export).
PACKAGE = Path(__file__).parent


def _package_dir(name: str) -> Path:
    return PACKAGE / name


def display_date(value: str | None) -> str:
    """`2024-03-05 14:02 UTC`: unambiguous in every language."""
    if value and len(value) == 25 and value.endswith("+00:00") and value[10] == "T":
        return f"{value[:10]} {value[11:16]} UTC"  # the archive's own format: no parsing
    moment = parse_iso(value)
    return moment.strftime("%Y-%m-%d %H:%M UTC") if moment else (value or "")


def time_tag(value: str | None, kind: str = "dt-published") -> Markup:
    """`<time>` with the machine-readable date and the displayed one."""
    return Markup(time_html(value, kind))


def time_html(value: str | None, kind: str = "dt-published") -> str:
    """time_tag as a plain string (Python-rendered pages skip the Markup)."""
    stamp = escape(value or "")
    cls = "dt-published" if kind == "dt-published" else escape(kind)
    return f'<time class="{cls}" datetime="{stamp}">{display_date(stamp)}</time>'


def author_card(post: SitePost) -> Markup:
    """The p-author h-card of a post (its URL must already be checked: safe_post)."""
    return Markup(card_html(post))


def card_html(post: SitePost) -> str:
    """author_card as a plain string.

    Plain f-strings with html.escape: this runs for every entry on every page.
    """
    name = post.author_name or post.author_handle
    if not name:
        fallback = "us" if post.is_own else "someone"
        return f'<span class="p-author h-card"><span class="p-name">{fallback}</span></span>'
    if post.author_url:
        rel = "" if post.is_own else ' rel="nofollow noopener ugc"'
        url = escape(post.author_url)
        inner = f'<a class="p-name u-url" href="{url}"{rel}>{escape(name)}</a>'
    else:
        inner = f'<span class="p-name">{escape(name)}</span>'
    if post.author_handle and post.author_name:
        inner += f' <span class="p-nickname handle">{escape(post.author_handle)}</span>'
    return f'<span class="p-author h-card">{inner}</span>'


def entry_meta(entry: Any, page_link: bool = True) -> Markup:
    """The line under an entry (a views.Entry): who, where, when, and links."""
    return Markup(meta_html(entry, page_link))


def meta_html(entry: Any, page_link: bool = True) -> str:
    """entry_meta as a plain string."""
    post = entry.post
    badge = _OURS if post.is_own else _THEIRS
    when = time_html(post.date)
    if post.url:
        rel = "" if post.is_own else ' rel="nofollow noopener ugc"'
        when = f'<a class="u-url" href="{escape(post.url)}"{rel}>{when}</a>'
    parts = [
        f"{card_html(post)} {badge}",
        f'<span class="platform">{escape(entry.platform)}</span>',
        when,
    ]
    if entry.href and page_link:
        parts.append(f'<a href="{escape(entry.href)}">archived page</a>')
    if post.versions > 1:
        parts.append(f"edited ({post.versions} versions)")
    reply_to = ""
    if entry.reply_to_url:
        reply_to = f'<data class="u-in-reply-to" value="{escape(entry.reply_to_url)}"></data>'
    return f'<p class="meta">{" · ".join(parts)}{reply_to}</p>'


def list_entry(item: Any) -> Markup:
    """One post in a list (a lists.ListItem) as list_item.html shows it: an h-entry summary.

    Python, not template lines: it runs once per post and list root (~100,000 times in a
    large export), where Jinja's expressions cost ~3x the work itself.
    """
    post = item.post
    gone = " gone" if post.gone_at else ""
    href = esc(item.href)
    if post.title:
        heading = f'<a class="p-name u-url" href="{href}">{esc(post.title)}</a>'
    else:
        heading = f'<a class="u-url" href="{href}">{esc(item.label)}</a>'
    out = [
        f'<article class="h-entry summary{gone}">\n  <h2>{heading}</h2>\n  <p class="meta">\n'
        f"    {time_html(post.date)} · {card_html(post)}\n"
        f'    · <span class="platform">{esc(item.platform)}</span>\n'
    ]
    if post.kind == "reply":
        out.append("· reply")
    if item.replies:
        out.append(f"· {esc(item.replies)} {'reply' if item.replies == 1 else 'replies'}")
    if post.versions > 1:
        out.append(f"· {esc(post.versions)} versions")
    if post.gone_at:
        out.append('<span class="badge gone">gone upstream</span>')
    out.append("  </p>\n")
    if item.text:
        out.append(f'<p class="p-summary">{esc(item.excerpt)}</p>')
    out.append("</article>")
    return Markup("".join(out))


_OURS = Markup('<span class="badge own">ours</span>')
_THEIRS = Markup('<span class="badge other">by someone else</span>')


def whose(post: SitePost) -> Markup:
    """The visible mark of whose post this is."""
    return _OURS if post.is_own else _THEIRS


def _error_text(error: Exception) -> str:
    """An error's own words on one line (Jinja's syntax errors add the source line)."""
    from jinja2 import TemplateNotFound  # loaded already: a template was looked up

    if isinstance(error, TemplateNotFound):
        return f"no template named {error.name!r}"
    text = getattr(error, "message", None) or str(error) or type(error).__name__
    return " ".join(str(text).split())


def _theme_templates(theme: Path) -> Path:
    nested = theme / "templates"
    return nested if nested.is_dir() else theme


@dataclass(frozen=True)
class Site:
    title: str
    description: str
    language: str
    base_url: str


@dataclass(frozen=True)
class Pages:
    """Where a list page sits among its siblings."""

    number: int
    count: int
    newer: str | None
    older: str | None


def entry_label(post: SitePost) -> str:
    """A heading for a post without a title."""
    kind = {"reply": "Reply", "repost": "Shared post"}.get(post.kind, "Post")
    return f"{kind} on {platform_name(post.platform)}, {post.date[:10]}"


@cache
def _environment_class() -> type[Environment]:
    from jinja2 import Environment  # on first use only: see the module's docstring

    class _Environment(Environment):
        """A template's globals as one plain dict, not a ChainMap over the environment's.

        Jinja copies them into the context of every render, and copying a ChainMap walks it
        in Python: ~7 of a list entry's ~19 us. Our globals are set before any template
        loads and never change afterwards, so a copy made at load time holds the same values.
        """

        def make_globals(self, d: MutableMapping[str, Any] | None) -> MutableMapping[str, Any]:
            return {**self.globals, **(d or {})}

    return _Environment


# What post, list and search pages are made of; a theme overriding any of them gets Jinja
# for them.
POST_TEMPLATES = ("post.html", "base.html", "macros.html")
LIST_TEMPLATES = ("list.html", "base.html", "macros.html")
SEARCH_TEMPLATES = ("search.html", "base.html")

# search.html's `main` and `scripts` blocks (the page is base.html around them), as Jinja
# renders them: tests/test_imports.py compares the two for varied sites.
_SEARCH_MAIN = """\
<h1>Search</h1>
<form class="search-form" action="search.html" method="get" role="search">
  <label for="q">Words to find</label>
  <input type="search" id="q" name="q" autocomplete="off">
  <button type="submit">Search</button>
</form>
<p id="search-status" class="search-status" role="status">Search runs in your browser and \
needs JavaScript.</p>
<noscript><p class="notice">JavaScript is off, so search cannot run. Every post is still \
reachable from the <a href="index.html">list of posts</a>.</p></noscript>
<ol id="search-results" class="search-results"></ol>
<p><button type="button" id="search-more" class="search-more" hidden>Show more</button></p>
"""
_SEARCH_SCRIPTS = '<script src="assets/search.js" defer></script>\n'
_PAGE_END = "</body>\n</html>\n"


class Templates:
    def __init__(self, theme: Path | None = None, *, python: bool = True) -> None:
        default = _package_dir("templates")
        self.dirs = [default]
        if theme is not None:
            if not theme.is_dir():
                raise ConfigError(f"[export] theme: {theme} is not a folder")
            self.dirs.append(_theme_templates(theme))
        self._env: Environment | None = None
        self.theme = theme
        self._loaded: dict[str, Template] = {}
        # post.html, list.html and search.html in Python (pypages.py, the same bytes) unless
        # the theme changes one of the templates they are made of
        self.python_post = python and not any(map(self.overrides, POST_TEMPLATES))
        self.python_list = python and not any(map(self.overrides, LIST_TEMPLATES))
        self.python_search = python and not any(map(self.overrides, SEARCH_TEMPLATES))
        self.python_item = python and not self.overrides("list_item.html")
        self._post_page = PostPage(meta_html, card_html, display_date)
        self._frames: dict[tuple[Site, str], Frame] = {}

    @property
    def env(self) -> Environment:
        """The Jinja environment (theme first, then the defaults), made on first use."""
        if self._env is None:
            # here, not at the top: see the module's docstring
            from jinja2 import ChoiceLoader, FileSystemLoader, PrefixLoader, StrictUndefined

            default = self.dirs[0]
            loaders: list[Any] = [FileSystemLoader(str(folder)) for folder in self.dirs[1:]]
            loaders.append(PrefixLoader({"default": FileSystemLoader(str(default))}))
            loaders.append(FileSystemLoader(str(default)))
            env = _environment_class()(
                loader=ChoiceLoader(loaders),
                autoescape=True,
                undefined=StrictUndefined,
                trim_blocks=True,
                lstrip_blocks=True,
                keep_trailing_newline=True,
                auto_reload=False,  # one export never sees a template change: no stat per render
            )
            env.filters["date"] = display_date
            env.filters["safe_url"] = safe_url
            env.globals.update(
                author_card=author_card,
                whose=whose,
                time_tag=time_tag,
                entry_meta=entry_meta,
                list_entry=list_entry,
            )
            self._env = env
        return self._env

    def fingerprint(self) -> str:
        """Digest of every template and static file: a change re-renders every page."""
        digest = hashlib.blake2b(digest_size=12)
        for folder in self.dirs:
            for path in sorted(folder.glob("*.html")):
                digest.update(path.name.encode() + b"\0" + path.read_bytes())
        for name, data in sorted(self.static_files().items()):
            digest.update(name.encode() + b"\0" + data)
        return digest.hexdigest()

    def static_files(self) -> dict[str, bytes]:
        """Files for `assets/`: the defaults, replaced or extended by the theme's `static/`."""
        files: dict[str, bytes] = {}
        folders = [_package_dir("static")]
        if self.theme is not None and (self.theme / "static").is_dir():
            folders.append(self.theme / "static")
        for folder in folders:
            for path in sorted(folder.iterdir()):
                if path.is_file() and not path.name.startswith("."):
                    files[path.name] = path.read_bytes()
        return files

    def overrides(self, name: str) -> bool:
        """Whether the theme has its own version of a template."""
        return any((folder / name).is_file() for folder in self.dirs[1:])

    def get(self, name: str) -> Template:
        """A template, looked up once per export (not once per page)."""
        found = self._loaded.get(name)
        if found is None:
            found = self._loaded[name] = self.env.get_template(name)
        return found

    def render(self, name: str, **context: Any) -> str:
        if name == "post.html" and self.python_post:
            frame = self._frame(context["site"], context["root"])
            return self._post_page.render(
                frame, context["view"], context["label"], context["canonical"]
            )
        if name == "list.html" and self.python_list:
            c = context
            return list_page(
                self._frame(c["site"], c["root"]),
                c["heading"],
                c["intro"],
                c["items"],
                c["pages"],
                c["overview"],
                c["canonical"],
            )
        if name == "search.html" and self.python_search:
            return self._search_page(context["site"], context["root"], context["canonical"])
        return self._jinja(name, csp=_CSP_MARKUP, **context)

    def _jinja(self, name: str, **context: Any) -> str:
        """A template rendered by Jinja; a theme's mistake (bad syntax, an unknown name, a
        call that fails inside its template) is a `ThemeError` naming its file and line."""
        try:
            return self.get(name).render(**context)
        except Exception as error:
            found = self._theme_fault(error) if self.theme is not None else None
            if found is None:
                raise
            raise ThemeError(f"theme template {found}: {_error_text(error)}") from None

    def _theme_fault(self, error: Exception) -> str | None:
        """`file:line` of the theme's template where `error` arose, or the template it
        concerns (a Jinja error without a frame); None when it is not the theme's."""
        from jinja2 import TemplateError, TemplateSyntaxError  # loaded already: we rendered

        theme_dirs = [str(folder) for folder in self.dirs[1:]]
        if isinstance(error, TemplateSyntaxError):
            return f"{error.filename or error.name}:{error.lineno}"
        where = None
        trace = error.__traceback__
        while trace is not None:
            filename = trace.tb_frame.f_code.co_filename
            if any(filename.startswith(folder) for folder in theme_dirs):
                where = f"{filename}:{trace.tb_lineno}"
            trace = trace.tb_next
        if where is None and isinstance(error, TemplateError):
            return str(self.theme)
        return where

    def _search_page(self, site: Site, root: str, canonical: Any) -> str:
        """search.html without Jinja: base.html (a Frame) around its two blocks."""
        frame = self._frame(site, root)
        out = frame.open(f"Search — {frame.site_title}", canonical)
        out += [_SEARCH_MAIN, frame.tail.removesuffix(_PAGE_END), _SEARCH_SCRIPTS, _PAGE_END]
        return "".join(out)

    def list_item(self, item: Any, root: str) -> str:
        """list_item.html for one entry: its helper without a Jinja render (~19 -> ~7 us)
        unless the theme has its own."""
        if self.python_item:
            return list_entry(item) + "\n"
        return self._jinja("list_item.html", item=item, root=root)

    def _frame(self, site: Site, root: str) -> Frame:
        found = self._frames.get((site, root))
        if found is None:
            found = self._frames[(site, root)] = Frame(site, root, CSP)
        return found
