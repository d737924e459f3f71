"""`post.html` and `list.html` (with `base.html` and `macros.html`) as plain Python: the
same bytes.

Why: a post page is rendered once per own post (~75,000 in a large archive), a list page
~20,000 times, and Jinja's machinery (a context per render, the macro module, a generator
step, `getattr` and `escape` per expression, a Macro object per call) cost ~4x the page's
own work. The templates stay the definition: this runs only when the theme overrides none
of a page's templates (`Templates.python_post`, `python_list`), and tests render varied
pages both ways and compare them byte for byte (`tests/export/test_pypages.py`), so a
template edit without the same edit here fails them. `search.html` is rendered the same
way in pages.py (`Templates.render`, tested in `tests/test_imports.py`).

Every `{{ value }}` of the templates is `esc(value)` here: markupsafe's escape, so `None`
prints as `None`, numbers as digits and Markup (sanitized HTML, `entry_meta`) as it is.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from markupsafe import Markup, escape

from ownfeed.export.views import Entry, MediaView, PostView

_Meta = Callable[..., str]  # pages.meta_html: entry_meta without the Markup
_Card = Callable[[Any], str]  # pages.card_html
_Date = Callable[[Any], str]


def esc(value: Any) -> str:
    """`{{ value }}` with autoescape: markupsafe's escape, its replacements inlined for a
    plain string (most values) and Markup (sanitized HTML, list entries) as it is, which
    skips two calls and a new Markup object."""
    cls = value.__class__
    if cls is str:
        return (
            value.replace("&", "&amp;")
            .replace(">", "&gt;")
            .replace("<", "&lt;")
            .replace("'", "&#39;")
            .replace('"', "&#34;")
        )
    if cls is Markup:
        return value
    return escape(value)


class Frame:
    """base.html around a page's title and main, for one site and root: made once."""

    def __init__(self, site: Any, root: str, csp: str) -> None:
        title, r = esc(site.title), esc(root)
        self.head = (
            f'<!DOCTYPE html>\n<html lang="{esc(site.language)}">\n<head>\n'
            '<meta charset="utf-8">\n'
            f'<meta http-equiv="Content-Security-Policy" content="{esc(csp)}">\n'
            '<meta name="referrer" content="no-referrer">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n<title>'
        )
        self.links = (
            f'<link rel="stylesheet" href="{r}assets/style.css">\n'
            f'<link rel="alternate" type="application/atom+xml" title="{title} (Atom)" '
            f'href="{r}feed.xml">\n'
            f'<link rel="alternate" type="application/rss+xml" title="{title} (RSS)" '
            f'href="{r}rss.xml">\n'
            f'<link rel="alternate" type="application/feed+json" title="{title} (JSON Feed)" '
            f'href="{r}feed.json">\n'
            "</head>\n<body>\n"
            '<a class="skip" href="#main">Skip to content</a>\n'
            '<header class="site-header">\n'
            f'  <a class="site-title" href="{r}index.html">{title}</a>\n'
            '  <nav aria-label="Site">\n'
            f'    <a href="{r}index.html">Posts</a>\n'
            f'    <a href="{r}search.html">Search</a>\n'
            f'    <a href="{r}feed.xml">Feed</a>\n'
            "  </nav>\n</header>\n"
            '<main id="main">\n'
        )
        description = f"<p>{esc(site.description)}</p>" if site.description else ""
        self.tail = (
            '</main>\n<footer class="site-footer">\n'
            f"{description}"
            "  <p>An archive on our own site: every post, reply and earlier version, "
            "made with ownfeed.</p>\n"
            "</footer>\n</body>\n</html>\n"
        )
        self.site_title = title

    def open(self, title: str, canonical: Any) -> list[str]:
        """Everything before the `main` block, as parts to join."""
        out = [self.head, title, "</title>\n"]
        if canonical:
            out.append(f'<link rel="canonical" href="{esc(canonical)}">\n')
        out.append(self.links)
        return out


class PostPage:
    """post.html with the helpers it calls (pages.py: meta_html, card_html, display_date)."""

    def __init__(self, entry_meta: _Meta, author_card: _Card, date: _Date) -> None:
        self.entry_meta = entry_meta
        self.author_card = author_card
        self.date = date

    def render(self, frame: Frame, view: PostView, label: Any, canonical: Any) -> str:
        title = f"{esc(view.entry.post.title or label)} — {frame.site_title}"
        out = frame.open(title, canonical)
        self._main(view, label, out.append)
        out.append(frame.tail)
        return "".join(out)

    def _main(self, view: PostView, label: Any, add: Callable[[str], Any]) -> None:
        meta = self.entry_meta
        e = view.entry
        post = e.post
        if view.context:
            add(
                '<section class="context" aria-labelledby="context-heading">\n'
                '  <h2 id="context-heading">In reply to</h2>\n'
            )
            for c in view.context:
                add(
                    f'  <article class="h-cite context-entry {_whose(c)}" id="p-{esc(c.post.id)}">'
                    f"\n    {meta(c)}\n    {self._entry_body(c)}\n  </article>\n"
                )
            add("</section>\n")
        gone = " gone" if post.gone_at else ""
        add(f'<article class="h-entry post{gone}" id="p-{esc(post.id)}">\n  <header>\n')
        if post.title:
            add(f'<h1 class="p-name">{esc(post.title)}</h1>')
        else:
            add(f"<h1>{esc(label)}</h1>")
        add(f"    {meta(e, page_link=False)}\n")
        if e.reply_to_url:
            url = esc(e.reply_to_url)
            add(
                f'<p class="in-reply-to">In reply to <a class="u-in-reply-to" href="{url}" '
                f'rel="nofollow noopener ugc">{url}</a></p>'
            )
        add("  </header>\n")
        if post.gone_at:
            add(self._gone(post))
        if view.repost:
            repost = view.repost
            add(
                '  <div class="repost">\n'
                f"    <p>Shared a post by {self.author_card(repost.post)}:</p>\n"
                '    <blockquote class="h-cite u-repost-of">\n'
                f"      {meta(repost)}\n      {self._entry_body(repost)}\n"
                "    </blockquote>\n  </div>\n"
            )
        add(f'  <div class="e-content content">{esc(e.html)}</div>\n')
        if e.media:
            add(_media_list(e.media))
        add('  <footer class="post-footer">\n')
        if view.tags:
            links = ", ".join(
                f'<a class="p-category" href="{esc(href)}">{esc(name)}</a>'
                for name, href in view.tags
            )
            add(f'    <p class="tags">Tags: {links}</p>\n')
        add(
            f'    <p>Archived from <a href="{esc(view.source_href)}">{esc(view.source_name)}</a>, '
            f'listed in <a href="{esc(view.month_href)}">{esc(view.month)}</a>. '
            f'<a class="u-url u-uid" href="{esc(e.href)}">Permalink</a>.</p>\n'
        )
        if post.url:
            url = esc(post.url)
            add(f'<p class="original">Original: <a href="{url}">{url}</a></p>')
        if view.copies:
            add('    <p class="copies">Also published on:\n')
            last = len(view.copies) - 1
            for n, copy in enumerate(view.copies):
                entry = copy.entry
                if entry.post.url:
                    add(
                        f'<a class="u-syndication" href="{esc(entry.post.url)}">'
                        f"{esc(entry.platform)}</a>"
                    )
                else:
                    add(esc(entry.platform))
                if entry.href:
                    add(f' (<a href="{esc(entry.href)}">archived</a>)')
                add(", \n" if n < last else "\n")
            add("    </p>\n")
        if view.original:
            original = view.original
            href = esc(original.href or original.post.url)
            name = esc(original.post.title or "our post on " + original.platform)
            add(f'    <p class="copy-of">A copy of <a href="{href}">{name}</a>')
            if original.post.url:
                add(f' (<a class="u-repost-of" href="{esc(original.post.url)}">original</a>)')
            add(".</p>\n")
        add("  </footer>\n")
        if view.versions:
            add(
                '  <section class="versions" aria-labelledby="versions-heading">\n'
                '    <h2 id="versions-heading">Earlier versions</h2>\n'
            )
            for v in view.versions:
                captured = esc(v.captured_at)
                title = f"<h3>{esc(v.title)}</h3>" if v.title else ""
                add(
                    f"    <details>\n      <summary>Version {esc(v.version)}, captured "
                    f'<time datetime="{captured}">{esc(self.date(v.captured_at))}</time>'
                    f"</summary>\n{title}"
                    f'      <div class="content">{esc(v.html)}</div>\n    </details>\n'
                )
            add("  </section>\n")
        heading = "Conversation" if view.whole_conversation else "Replies"
        add(
            '  <section class="replies" id="replies" aria-labelledby="replies-heading">\n'
            f'    <h2 id="replies-heading">{heading} ({esc(view.reply_count)})</h2>\n'
        )
        if view.conversation_href:
            add(f'<p><a href="{esc(view.conversation_href)}">See the whole conversation</a></p>')
        if not view.replies:
            add('<p class="none">No replies archived.</p>')
        if view.platform_counts:
            counts = " · ".join(
                f"Replies on {esc(name)}: {esc(count)}" for name, count in view.platform_counts
            )
            add(f'<p class="platform-counts">{counts}</p>')
        add("    ")
        if view.replies:
            add('<ol class="thread">\n')
            self._thread(view.replies, add)
            add("</ol>\n")
        add("\n  </section>\n")
        if view.mentions:
            add(
                '  <section class="mentions" id="mentions" aria-labelledby="mentions-heading">\n'
                f'    <h2 id="mentions-heading">Mentioned by ({len(view.mentions)})</h2>\n'
                '    <ul class="mentions">\n'
            )
            for c in view.mentions:
                add(
                    f'      <li class="h-cite mention {_whose(c)}" id="p-{esc(c.post.id)}">\n'
                    f"        {meta(c)}\n        {self._entry_body(c)}\n      </li>\n"
                )
            add("    </ul>\n  </section>\n")
        add("</article>\n")

    def _gone(self, post: Any) -> str:
        """macros.html `gone(post)`."""
        if not post.gone_at:
            return ""
        reason = f" ({esc(post.gone_reason)})" if post.gone_reason else ""
        return (
            '<p class="gone-marker" role="note"><strong>Gone upstream</strong> since '
            f'<time datetime="{esc(post.gone_at)}">{esc(self.date(post.gone_at))}</time>'
            f"{reason}. This copy is kept in the archive.</p>\n"
        )

    def _entry_body(self, e: Entry) -> str:
        """macros.html `entry_body(e)`."""
        post = e.post
        title = f'<h3 class="p-name">{esc(post.title)}</h3>' if post.title else ""
        gone = self._gone(post) if post.gone_at else ""
        media = _media_list(e.media) if e.media else ""
        return f'{title}{gone}<div class="e-content content">{esc(e.html)}</div>\n{media}'

    def _thread(self, entries: list[Entry], add: Callable[[str], Any]) -> None:
        """The inside of macros.html `thread(entries)`: the recursive loop."""
        meta = self.entry_meta
        for e in entries:
            post = e.post
            current = " current" if e.current else ""
            add(
                f'  <li>\n  <article class="h-entry h-cite p-comment reply {_whose(e)}{current}" '
                f'id="p-{esc(post.id)}">\n'
            )
            if e.current:
                link = f' (<a class="u-url" href="{esc(e.href)}">permalink</a>)' if e.href else ""
                add(f'    <p class="stub">This post, shown above{link}.</p>\n')
            else:
                add(f"    {meta(e)}\n")
                if post.title:
                    add(f'<h3 class="p-name">{esc(post.title)}</h3>')
                if post.gone_at:
                    add(self._gone(post))
                add(f'    <div class="e-content content">{esc(e.html)}</div>\n')
                if e.media:
                    add(_media_list(e.media))
            if e.children:
                add('    <ol class="thread">')
                self._thread(e.children, add)
                add("</ol>\n")
            add("  </article>\n  </li>\n")


def _whose(e: Entry) -> str:
    return "own" if e.post.is_own else "other"


def _media_list(items: list[MediaView]) -> str:
    """macros.html `media_list(items)`."""
    if not items:
        return ""
    out = ['<ul class="media">\n']
    add = out.append
    for m in items:
        add("  <li>\n")
        if m.src and m.kind == "image":
            src, alt = esc(m.src), esc(m.alt)
            width = f' width="{esc(m.width)}"' if m.width else ""
            height = f' height="{esc(m.height)}"' if m.height else ""
            caption = f"<figcaption>{alt}</figcaption>" if m.alt else ""
            add(
                f'    <figure><a href="{src}"><img class="u-photo" src="{src}" alt="{alt}"'
                f'{width}{height} loading="lazy"></a>{caption}</figure>\n'
            )
        elif m.src and m.kind in ("video", "audio"):
            label = f' aria-label="{esc(m.alt)}"' if m.alt else ""
            add(
                f'    <{m.kind} class="u-{m.kind}" controls preload="none" src="{esc(m.src)}"'
                f"{label}></{m.kind}>\n"
            )
        elif m.src:
            add(f'    <a href="{esc(m.src)}">{esc(m.alt or "Attached file")}</a>\n')
        else:
            suffix = f": {esc(m.alt)}" if m.alt else ""
            kind = esc(str(m.kind).capitalize())
            if m.url:
                add(
                    f'    <a class="remote-media" href="{esc(m.url)}" rel="nofollow noopener">'
                    f"{kind} (not archived){suffix}</a>\n"
                )
            else:
                add(f'    <span class="remote-media">{kind} (not archived){suffix}</span>\n')
        add("  </li>\n")
    add("</ul>\n")
    return "".join(out)


def list_page(
    frame: Frame,
    heading: Any,
    intro: Any,
    items: Any,
    pages: Any,
    overview: Any,
    canonical: Any,
) -> str:
    """list.html."""
    title = f"{esc(heading)} — " if heading else ""
    title += frame.site_title
    if pages.number > 1:
        title += f" (page {esc(pages.number)})"
    out = frame.open(title, canonical)
    add = out.append
    h1 = esc(heading) if heading else frame.site_title
    add(f'<section class="h-feed">\n  <h1 class="p-name">{h1}</h1>\n')
    if intro:
        add(f'<p class="intro">{esc(intro)}</p>')
    if not items:
        add("<p>Nothing archived yet.</p>")
    for item in items:
        add(f"  {esc(item.html)}\n")
    add("</section>\n")
    add(_pagination(pages))
    add("\n")
    if overview:
        add('<aside class="overview" aria-label="Browse">\n')
        for key, heading_, css in _OVERVIEW:
            rows = _attr(overview, key)
            if rows:
                add(f"  <section><h2>{heading_}</h2><ul{css}>")
                for name, href, count in rows:
                    add(
                        f'<li><a href="{esc(href)}">{esc(name)}</a> '
                        f'<span class="count">{esc(count)}</span></li>'
                    )
                add("</ul></section>\n")
        add("</aside>\n")
    add(frame.tail)
    return "".join(out)


_OVERVIEW = (
    ("sources", "Sources", ""),
    ("months", "Months", ' class="months"'),
    ("tags", "Tags", ' class="tags"'),
)


def _attr(value: Any, name: str) -> Any:
    """`value.name` as Jinja reads it: the attribute, else the item."""
    try:
        return getattr(value, name)
    except AttributeError:
        return value[name]


def _pagination(pages: Any) -> str:
    """macros.html `pagination(pages)`."""
    if not pages.count > 1:
        return ""
    newer = f'<a rel="prev" href="{esc(pages.newer)}">← Newer</a>' if pages.newer else ""
    older = f'<a rel="next" href="{esc(pages.older)}">Older →</a>' if pages.older else ""
    return (
        f'<nav class="pagination" aria-label="Pages">\n{newer}'
        f"  <span>Page {esc(pages.number)} of {esc(pages.count)}</span>\n{older}</nav>\n"
    )
