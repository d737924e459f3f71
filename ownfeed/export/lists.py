"""The list pages (index, sources, tags, months).

Why an entry store: every post shows up in about five lists, and a page shows 20 entries.
With the default list page, an entry is rendered once per change of its post and read
back from the entry store (entries.py) for every page that shows it, so a stale page
costs one template call, not 20. A theme's own `list.html` may show more of an entry than
its HTML: then the lists are written in one pass over our posts, newest first, filling the
current page of each list, which renders each post's entry once per pass and keeps only
the pages being filled in memory.

After a small change, `plan(changed)` fingerprints only the pages that show a changed post
(changes.py); the others are kept as the last export wrote them, and a stale one is
mostly the last export's file with the changed posts' entries swapped (`_spliced`).
"""

from __future__ import annotations

import copy
import math
import os
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from functools import partial
from itertools import compress
from typing import Any

from markupsafe import Markup

from ownfeed.archive import site
from ownfeed.archive.db import Archive
from ownfeed.archive.site import SitePost
from ownfeed.export import urls
from ownfeed.export.entries import ROOT, EntryStore
from ownfeed.export.model import Listing, SiteModel
from ownfeed.export.pages import Pages, Site, Templates, entry_label
from ownfeed.export.views import platform_name
from ownfeed.export.writer import SiteWriter, fingerprint

EXCERPT = 300
_BATCH = 1000  # excerpts fetched per query


@dataclass(slots=True)
class ListItem:
    """One post in a list; `html` is its rendered `list_item.html`."""

    post: SitePost  # with checked URLs (sanitize.safe_post)
    href: str
    replies: int
    text: str  # the start of its text
    html: str = ""

    @property
    def platform(self) -> str:
        return platform_name(self.post.platform)

    @property
    def label(self) -> str:
        return entry_label(self.post)

    @property
    def excerpt(self) -> str:
        text = " ".join(self.text.split())
        return text if len(text) < 280 else text[:279].rsplit(" ", 1)[0] + "…"


def overview(listings: list[Listing]) -> dict[str, list[tuple[str, str, int]]]:
    """Sources, months and the most used tags, for the first page of the index."""
    result: dict[str, list[tuple[str, str, int]]] = {"sources": [], "months": [], "tags": []}
    tags = []
    for listing in listings:
        entry = (listing.name, urls.href(listing.page_path(1)), len(listing.posts))
        if listing.kind == "source":
            result["sources"].append(entry)
        elif listing.kind == "month":
            result["months"].append(entry)
        elif listing.kind == "tag":
            tags.append(entry)
    tags.sort(key=lambda item: (-item[2], item[0].lower()))
    result["tags"] = sorted(tags[:100], key=lambda item: item[0].lower())
    return result


HEADINGS = {
    "index": "{}",
    "source": "From {}",
    "tag": "Tagged “{}”",
    "month": "Posts of {}",
}


class ListWriter:
    def __init__(
        self,
        writer: SiteWriter,
        archive: Archive,
        model: SiteModel,
        templates: Templates,
        site_: Site,
        per_page: int,
        salt: str,
        canonical: Callable[[str], str | None],
        kinds: Collection[str] | None = None,
        entries: EntryStore | None = None,
    ) -> None:
        self.kinds = set(kinds) if kinds is not None else None  # None: every list
        self._stale: set[tuple[int, int]] | None = None
        self.writer = writer
        self.archive = archive
        self.model = model
        self.templates = templates
        self.site = site_
        self.per_page = max(1, per_page)
        self.salt = salt
        self.canonical = canonical
        self.listings = model.listings()
        self.summary = overview(self.listings)
        self.counts = [max(1, math.ceil(len(x.posts) / self.per_page)) for x in self.listings]
        self._keys = {(x.kind, x.key): i for i, x in enumerate(self.listings)}
        self._prints: dict[tuple[int, int], str] = {}
        self._excerpts: dict[str, str] = {}
        self._tokens: dict[str, str] = {}
        self._ids: list[list[str]] = []  # see listing_ids()
        self._among = False  # planned among changed posts: tokens and entry keys are kept
        self._changed: Collection[str] = ()  # those posts (when `_among`)
        self._entry_keys: dict[str, str] = {}  # post id -> entry key (when `_among`)
        self.entries = entries  # None: every entry rendered (a theme's own list.html)

    def part(self, kinds: Collection[str]) -> ListWriter:
        """The same lists, limited to some kinds: parts can be written by different processes
        (the index's pages and the others' use different `root`s, so no entry is rendered
        twice)."""
        other = copy.copy(self)
        other.kinds = set(kinds)
        other._stale = None
        return other

    def plan(self, changed: Collection[str] | None = None) -> int:
        """Decide which pages are stale (the others are kept); how many are.

        `changed`: when every list holds the same posts in the same order as in the last
        export, our posts whose entry may differ (changes.py); the pages without one of
        them are kept unless their file is missing. None: every page is fingerprinted.
        """
        if changed is None:
            self._stale = self._stale_pages()
        else:
            self._among = True
            self._changed = changed
            self._stale = self._stale_pages_among(changed)
        return len(self._stale)

    def listing_ids(self) -> list[list[str]]:
        """The post ids of every list, in order (made once, shared by the parts)."""
        if not self._ids:
            self._ids.extend([post.id for post in listing.posts] for listing in self.listings)
        return self._ids

    def stale_count(self) -> int:
        return len(self._stale or ())

    def forget_tokens(self, *, keep: bool = False) -> None:
        """Drop the fingerprint ingredients once every part has planned (memory).

        `keep`: pages were planned among a few changed posts (`plan(changed)`), so the
        tokens made are those of the stale pages' posts, which `prepare` and the page
        writers need again (their entry keys are kept as they are made, too).
        """
        self._ids.clear()
        if not keep:
            self._tokens.clear()

    def write(self) -> None:
        stale = self._stale if self._stale is not None else self._stale_pages()
        if not stale:
            return
        if self.entries is not None:
            self._write_stored(sorted(stale), self.entries)
            return
        needed = [
            post.id
            for post, lists in self._walk()
            if any((index, position // self.per_page + 1) in stale for index, position in lists)
        ]
        wanted = iter(needed)
        buffers: dict[int, list[ListItem]] = {}
        rendered: dict[str, dict[str, ListItem]] = {}  # post id -> root -> item
        for post, lists in self._walk():
            for index, position in lists:
                page = position // self.per_page + 1
                if (index, page) not in stale:
                    continue
                root = urls.root_of(self.listings[index].page_path(page))
                buffer = buffers.setdefault(index, [])
                buffer.append(self._item(post, root, rendered, wanted))
                last = len(self.listings[index].posts) - 1
                if position % self.per_page == self.per_page - 1 or position == last:
                    self._write_page(index, page, buffer)
                    buffers[index] = []
            rendered.pop(post.id, None)  # every list that shows it has had it
        for index, page in stale:  # lists with no posts at all (an empty index)
            if not self.listings[index].posts:
                self._write_page(index, page, [])

    def prepare(self) -> None:
        """Render and store the entries that stale pages need and the store lacks, so the
        pages can then be written in any order, by any process (helpers add no entries).

        Planned among changed posts, only theirs are looked up: every other post's entry
        has the key it had in the last export, which stored it (or, the store lost, it is
        rendered where a page needs it). Why: looking up all ~56,000 entries of the stale
        pages here, before the helpers may write pages, was most of this step.
        """
        store = self.entries
        if store is None or not self._stale:
            return
        missing: dict[str, tuple[SitePost, str]] = {}
        for post in self._stored_posts(store):
            key = self._entry_key(store, post.id)
            if not store.has(post.id, key):
                missing[post.id] = (post, key)
        wanted = iter(missing)
        for post, key in missing.values():
            store.add(post.id, key, self._render(post, ROOT, wanted).html)
        self._excerpts = {}

    def _stored_posts(self, store: EntryStore) -> list[SitePost]:
        """The posts whose entries `prepare` looks up: the changed ones (by id: a stable
        order) when planned among them, else every post a stale page stores entries of."""
        if self._among and store.loaded:
            by_id = self.model.by_id
            return [by_id[pid] for pid in sorted(self._changed) if pid in by_id]
        found: dict[str, SitePost] = {}  # a post shows up in about five lists
        for index, page in sorted(self._stale or ()):
            if urls.root_of(self.listings[index].page_path(page)) == ROOT:  # not index 1
                found.update((post.id, post) for post in self._page_posts(index, page))
        return list(found.values())

    def batches(self, size: int) -> list[list[tuple[int, int]]]:
        """The stale pages in batches of `size` (tasks for `write_pages`)."""
        stale = sorted(self._stale or ())
        return [stale[start : start + size] for start in range(0, len(stale), size)]

    def write_pages(self, pages: list[tuple[int, int]]) -> None:
        """Write these stale pages (with the entry store)."""
        assert self.entries is not None
        self._write_stored(pages, self.entries)

    def _write_stored(self, stale: list[tuple[int, int]], store: EntryStore) -> None:
        """Stale pages one by one, their entries read from the store where it has them
        (rendered and added otherwise): no walk over every post, no entry rendered twice.
        Planned among changed posts, a page is the last export's with entries swapped."""
        for index, page in stale:
            posts = self._page_posts(index, page)
            root = urls.root_of(self.listings[index].page_path(page))
            if root != ROOT:  # the index's first page: its entries are rendered here
                if posts:
                    self._excerpts = site.excerpts(self.archive, [p.id for p in posts], EXCERPT)
                self._write_page(index, page, [self._render(p, root, iter(())) for p in posts])
                continue
            ids = [post.id for post in posts]
            spliced = self._spliced(index, page, ids, store) if self._among else None
            if spliced is not None:
                self.writer.put_text(spliced[0], spliced[1], self._prints[(index, page)])
                continue
            known = self._entry_keys.get  # filled when planned among changed posts
            keys = [known(pid) or self._entry_key(store, pid) for pid in ids]
            found = store.get_page(ids, keys)
            if None in found:
                missing = [pid for pid, html in zip(ids, found, strict=True) if html is None]
                self._excerpts = site.excerpts(self.archive, missing, EXCERPT)
            items: list[ListItem | _Stored] = []
            for n, html in enumerate(found):
                if html is None:
                    html = self._render(posts[n], root, iter(())).html
                    store.add(ids[n], keys[n], html)
                items.append(_Stored(_markup(html)))
            self._write_page(index, page, items)

    def _spliced(
        self, index: int, page: int, ids: list[str], store: EntryStore
    ) -> tuple[str, str] | None:
        """Path and text of a stale page planned among changed posts: the file the last
        export wrote with the entries of the changed posts swapped for their new ones.
        None when that cannot be done safely (then the page is rendered).

        Why: such a page differs from the last export's only in those entries (the
        lists hold the same posts in the same order, the settings and templates are the
        same, every other entry has the same key, and so the same HTML); reading the 20
        entries of each of ~3,900 pages and rendering them again was most of the lists'
        time after a 1 % change. Each old entry (the store's, CRC checked) must be found
        on the page exactly once.
        """
        changed = [pid for pid in ids if pid in self._changed]
        path = self.listings[index].page_path(page)
        writer = self.writer
        if not changed or not store.loaded or path not in writer.old:
            return None
        try:
            with open(os.path.join(writer.output, writer.existing[path]), "rb") as handle:
                text = handle.read().decode("utf-8")
        except (KeyError, OSError, ValueError):
            return None
        known = self._entry_keys.get
        keys = [known(pid) or self._entry_key(store, pid) for pid in changed]
        for pid, html in zip(changed, store.get_page(changed, keys), strict=True):
            old = store.last(pid)
            if html is None or not old or text.count(old) != 1:
                return None
            text = text.replace(old, html)
        return path, text

    def _page_posts(self, index: int, page: int) -> list[SitePost]:
        return self.listings[index].posts[(page - 1) * self.per_page : page * self.per_page]

    def _render(self, post: SitePost, root: str, wanted: Iterator[str]) -> ListItem:
        if post.id not in self._excerpts:
            self._fetch(post.id, wanted)
        model = self.model
        item = ListItem(
            model.shown(post),
            urls.href(urls.post_page(post.id), root),
            model.replies(post.id),
            self._excerpts.get(post.id, ""),
        )
        item.html = Markup(self.templates.list_item(item, root))
        return item

    def _stale_pages(self) -> set[tuple[int, int]]:
        """Pages whose inputs changed since the last export (the others are kept as is)."""
        stale: set[tuple[int, int]] = set()
        tokens = self._all_tokens()
        for index, listing in enumerate(self.listings):
            if self.kinds is not None and listing.kind not in self.kinds:
                continue
            for page in range(1, self.counts[index] + 1):
                if not self._fresh(index, page, tokens):
                    stale.add((index, page))
        return stale

    def _stale_pages_among(self, changed: Collection[str]) -> set[tuple[int, int]]:
        """Like `_stale_pages`, fingerprinting only pages that show a changed post (and
        pages whose file went missing)."""
        stale: set[tuple[int, int]] = set()
        all_ids = self.listing_ids()
        per_page = self.per_page
        for index, listing in enumerate(self.listings):
            if self.kinds is not None and listing.kind not in self.kinds:
                continue
            ids = all_ids[index]
            at = compress(range(len(ids)), map(changed.__contains__, ids))  # C loops
            shown = {n // per_page + 1 for n in at}
            kept = {
                listing.page_path(page): page
                for page in range(1, self.counts[index] + 1)
                if page not in shown
            }
            shown.update(kept[path] for path in self.writer.keep_each(kept))  # files missing
            stale.update((index, page) for page in shown if not self._fresh(index, page, None))
        return stale

    def _fresh(self, index: int, page: int, tokens: dict[str, str] | None) -> bool:
        """Fingerprint a page; True (and kept) when it is that of the file in place."""
        listing = self.listings[index]
        count = self.counts[index]
        posts = listing.posts[(page - 1) * self.per_page : page * self.per_page]
        first = listing.kind == "index" and page == 1
        print_ = fingerprint(
            self.salt,
            listing.kind,
            listing.key,
            listing.name,
            page,
            count,
            self.summary if first else "",
            *self._page_tokens(posts, tokens),
        )
        self._prints[(index, page)] = print_
        return self.writer.fresh(listing.page_path(page), print_)

    def _page_tokens(self, posts: list[SitePost], tokens: dict[str, str] | None) -> list[str]:
        """The tokens of a page's posts, from `tokens` (every post's) or made as needed
        (a post's is looked up ~3 times: in each list showing it)."""
        if tokens is not None:
            return [tokens[post.id] for post in posts]
        known = self._tokens.get
        return [known(post.id) or self._token(post.id) for post in posts]

    def _token(self, post_id: str) -> str:
        """What a list shows of a post (cached: a post is in about five lists)."""
        token = self._tokens.get(post_id)
        if token is None:
            token = self._tokens[post_id] = self._entry_token(post_id)
        return token

    def _all_tokens(self) -> dict[str, str]:
        """Every post's token, made in one pass for all the lists."""
        digest = self.model.digest
        replies = self.model.replies
        self._tokens.update(  # in place: the parts of one ListWriter share it
            (p.id, f"{p.id}:{digest.get(p.id)}:{replies(p.id)}")
            for p in self.model.posts
            if p.id not in self._tokens
        )
        return self._tokens

    def _entry_key(self, store: EntryStore, post_id: str) -> str:
        """The key of a post's entry in the store (kept when planned among changed posts:
        a stale page's 20 entries are looked up in `prepare` and again when written)."""
        if not self._among:
            return store.key(self._entry_token(post_id))
        key = self._entry_keys.get(post_id)
        if key is None:
            key = self._entry_keys[post_id] = store.key(self._token(post_id))
        return key

    def _entry_token(self, post_id: str) -> str:
        model = self.model
        return f"{post_id}:{model.digest.get(post_id)}:{model.replies(post_id)}"

    def _walk(self) -> Iterator[tuple[SitePost, list[tuple[int, int]]]]:
        """Our posts, newest first, each with (list, position in it) of the lists showing it."""
        model = self.model
        positions = [0] * len(self.listings)
        for post in model.posts:
            slugs = dict.fromkeys(model.tag_slugs[t] for t in model.tags.get(post.id, []))
            keys = [("index", ""), ("source", model.source_slugs[post.source or "unknown"])]
            keys += [("tag", slug) for slug in slugs]
            keys.append(("month", urls.month_of(post.date)))
            found = []
            for key in keys:
                index = self._keys[key]
                found.append((index, positions[index]))
                positions[index] += 1
            yield post, found

    def _item(
        self,
        post: SitePost,
        root: str,
        rendered: dict[str, dict[str, ListItem]],
        wanted: Iterator[str],
    ) -> ListItem:
        by_root = rendered.setdefault(post.id, {})
        item = by_root.get(root)
        if item is None:
            item = by_root[root] = self._render(post, root, wanted)
        return item

    def _fetch(self, post_id: str, wanted: Iterator[str]) -> None:
        """Excerpts for the next posts that need an entry, in one query."""
        batch = [post_id]
        for next_id in wanted:
            if len(batch) >= _BATCH:
                break
            batch.append(next_id)
        self._excerpts = site.excerpts(self.archive, batch, EXCERPT)

    def _write_page(
        self, index: int, page: int, items: list[ListItem] | list[ListItem | _Stored]
    ) -> None:
        listing = self.listings[index]
        path = listing.page_path(page)
        root = urls.root_of(path)
        count = self.counts[index]
        newer = urls.href(listing.page_path(page - 1), root) if page > 1 else None
        older = urls.href(listing.page_path(page + 1), root) if page < count else None
        context: dict[str, Any] = {
            "path": path,
            "root": root,
            "heading": HEADINGS[listing.kind].format(listing.name),
            "intro": "",
            "items": items,
            "pages": Pages(page, count, newer, older),
            "listing": listing,
            "overview": self.summary if listing.kind == "index" and page == 1 else None,
        }
        html = self.templates.render(
            "list.html", site=self.site, canonical=self.canonical(path), **context
        )
        self.writer.put_text(path, html, self._prints[(index, page)])


# Markup of a stored entry without Markup.__new__'s checks (for a str the same object):
# a call per entry of every stale page.
_markup = partial(str.__new__, Markup)


@dataclass(slots=True)
class _Stored:
    """An entry read back from the store: the default list.html shows only its HTML."""

    html: Markup
