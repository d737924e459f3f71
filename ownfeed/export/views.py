"""Page data for templates: sanitized entries, nested threads, media, versions.

Templates only display; every decision (which replies a page shows, which image is local,
where a link points) is made here, on plain data from the archive.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from html import escape

from markupsafe import Markup

from ownfeed.archive.site import MediaItem, SitePost, Version
from ownfeed.export import urls
from ownfeed.export.model import SiteModel
from ownfeed.export.sanitize import Cleaned, Sanitizer, media_key, safe_post, safe_url

MAX_DEPTH = 30  # deeper replies are shown at this depth, so templates never recurse far

PLATFORMS = {
    "web": "Web",
    "mastodon": "Mastodon",
    "bluesky": "Bluesky",
    "twitter": "Twitter",
    "youtube": "YouTube",
    "reddit": "Reddit",
    "lemmy": "Lemmy",
    "github": "GitHub",
    "activitypub": "ActivityPub",
}


def platform_name(platform: str) -> str:
    return PLATFORMS.get(platform, platform.title())


@dataclass
class MediaView:
    kind: str
    alt: str
    src: str | None  # relative link to the local copy
    url: str | None  # upstream address (a link when there is no local copy), http(s) only
    mime: str | None
    width: int | None
    height: int | None


@dataclass
class Entry:
    """One post as a page shows it, with its replies nested below."""

    post: SitePost
    html: str
    media: list[MediaView]
    href: str | None  # our page of it (own posts only), relative to the current page
    reply_to_url: str | None
    current: bool = False
    children: list[Entry] = field(default_factory=list)

    @property
    def platform(self) -> str:
        return platform_name(self.post.platform)


@dataclass
class VersionView:
    version: int
    captured_at: str
    title: str | None
    html: str


@dataclass
class CopyView:
    entry: Entry
    replies: list[Entry]


@dataclass
class PostView:
    """Everything `post.html` shows about one of our posts."""

    entry: Entry
    context: list[Entry]  # the posts above it in its thread (root first)
    replies: list[Entry]  # its replies, or the whole conversation with it marked
    whole_conversation: bool
    conversation_href: str | None
    copies: list[CopyView]
    original: Entry | None
    repost: Entry | None
    versions: list[VersionView]
    tags: list[tuple[str, str]]
    reply_count: int
    source_name: str
    source_href: str
    month: str
    month_href: str
    mentions: list[Entry] = field(default_factory=list)  # "mentioned by": links to the story
    platform_counts: list[tuple[str, int]] = field(default_factory=list)  # when it has copies


class PageBuilder:
    """Builds PostViews for one chunk of post pages; caches sanitized HTML per post."""

    def __init__(
        self,
        model: SiteModel,
        sanitizer: Sanitizer,
        threads: dict[str, list[SitePost]],
        extra: dict[str, SitePost],
        versions: dict[str, list[Version]],
        root: str = "../",
    ) -> None:
        self.model = model
        self.sanitizer = sanitizer
        self.posts: dict[str, SitePost] = dict(extra)
        for items in threads.values():
            for post in items:
                self.posts[post.id] = post
        self.versions = versions
        self.root = root
        self.local_files = set(model.media_files.values())
        self._clean: dict[str, Cleaned] = {}
        self._children: dict[str, list[str]] = defaultdict(list)
        for items in threads.values():
            for post in items:
                parent = model.parent.get(post.id)
                if parent is not None:
                    self._children[parent].append(post.id)

    def cleaned(self, post: SitePost) -> Cleaned:
        if post.id not in self._clean:
            self._clean[post.id] = self.sanitizer.clean(
                post.content_html,
                base=post.url,
                media_root=self.root + "media/",
                third_party=not post.is_own,
            )
        return self._clean[post.id]

    def entry(self, post: SitePost, current: bool = False) -> Entry:
        cleaned = self.cleaned(post)
        html = Markup(cleaned.html or text_html(post.content_text))
        post = safe_post(post)
        media: list[MediaView] = []
        items = self.model.media.get(post.id)
        if items:  # most posts have none; media_key (a URL parse) only when HTML shows some
            inline = cleaned.inline_media
            media = [
                self.media_view(item)
                for item in items
                if not inline or media_key(item.url) not in inline
            ]
        href = None
        if post.id in self.model.by_id:
            href = urls.href(urls.post_page(post.id), self.root)
        parent = self.posts.get(post.in_reply_to or "")
        reply_to_url = post.in_reply_to_url or (safe_url(parent.url) if parent else None)
        return Entry(post, html, media, href, reply_to_url, current)

    def media_view(self, item: MediaItem) -> MediaView:
        local = item.file if item.file in self.local_files else None
        src = urls.href(f"media/{local}", self.root) if local else None
        return MediaView(
            kind=item.kind or "file",
            alt=item.alt or "",
            src=src,
            url=safe_url(item.url),
            mime=item.mime,
            width=item.width,
            height=item.height,
        )

    def tree(self, ids: list[str], current: str | None = None, depth: int = 1) -> list[Entry]:
        """Entries for `ids` with their replies nested, oldest first; flat below MAX_DEPTH."""
        result: list[Entry] = []
        for pid in ids:
            post = self.posts.get(pid)
            if post is None:
                continue
            node = self.entry(post, current=pid == current)
            kids = self._children.get(pid, [])
            if depth < MAX_DEPTH:
                node.children = self.tree(kids, current, depth + 1)
            elif kids:
                node.children = [
                    self.entry(self.posts[kid], current=kid == current)
                    for kid in self._flat(kids)
                    if kid in self.posts
                ]
            result.append(node)
        return result

    def _flat(self, ids: list[str]) -> list[str]:
        """All descendants of `ids`, in date order (for replies past MAX_DEPTH)."""
        found: list[str] = []
        stack = list(ids)
        while stack:
            pid = stack.pop()
            found.append(pid)
            stack.extend(self._children.get(pid, []))
        if not found:
            return []
        root = self.posts[found[0]].thread_root
        order = {pid: n for n, pid in enumerate(self.model.members.get(root, []))}
        return sorted(set(found), key=lambda pid: order.get(pid, 0))

    def ancestors(self, post_id: str) -> list[str]:
        chain: list[str] = []
        node = self.model.parent.get(post_id)
        while node is not None and node not in chain and len(chain) < 10_000:
            chain.append(node)
            node = self.model.parent.get(node)
        return list(reversed(chain))

    def post_view(self, post_id: str) -> PostView:
        model = self.model
        post = self.posts[post_id]
        root = post.thread_root
        conversation = model.conversation_page(root)
        context: list[Entry] = []
        conversation_href = None
        whole = False
        if post_id == root:
            replies = self.tree(self._children.get(post_id, []))
        elif conversation == post_id:
            whole = True
            tops = [
                pid
                for pid in model.members.get(root, [])
                if pid not in model.parent and pid in self.posts and pid not in model.hidden
            ]
            replies = self.tree(tops, current=post_id)
        else:
            context = [self.entry(self.posts[pid]) for pid in self.ancestors(post_id)]
            replies = self.tree(self._children.get(post_id, []))
            if conversation is not None:
                conversation_href = urls.href(urls.post_page(conversation), self.root)
        copies = [
            CopyView(self.entry(self.posts[copy]), self.tree(self._children.get(copy, [])))
            for copy in model.copies_of.get(post_id, [])
            if copy in self.posts
        ]
        counts: list[tuple[str, int]] = []
        if copies:  # one conversation: the replies to the copies join the post's, by time
            merged = [*replies, *(reply for copy in copies for reply in copy.replies)]
            replies = sorted(merged, key=lambda e: (e.post.date, e.post.id))
            counts = _platform_counts(replies)
        original_id = model.original_of.get(post_id)
        original = self.posts.get(original_id or "")
        if original is not None and conversation_href is None and original_id in model.by_id:
            conversation_href = urls.href(urls.post_page(original.id), self.root)
        repost = self.posts.get(post.repost_of or "") if post.kind == "repost" else None
        source = post.source or "unknown"
        info = model.sources.get(source)
        month = urls.month_of(post.date)
        return PostView(
            entry=self.entry(post),
            context=context,
            replies=replies,
            whole_conversation=whole,
            conversation_href=conversation_href,
            copies=copies,
            original=self.entry(original) if original else None,
            repost=self.entry(repost) if repost else None,
            versions=self.version_views(post),
            tags=[(tag, urls.href(path, self.root)) for tag, path in model.tag_links(post_id)],
            reply_count=self._count(post_id, whole),
            source_name=info.title if info and info.title else source,
            source_href=urls.href(urls.source_page(model.source_slugs[source]), self.root),
            month=month,
            month_href=urls.href(urls.month_page(month), self.root),
            mentions=[self.entry(self.posts[pid]) for pid in self._mentions(post_id)],
            platform_counts=counts,
        )

    def _mentions(self, post_id: str) -> list[str]:
        """Posts linking to this post or to one of its copies, oldest first."""
        found = dict.fromkeys(
            pid
            for target in (post_id, *self.model.copies_of.get(post_id, []))
            for pid in self.model.mentions_of.get(target, [])
            if pid in self.posts
        )
        return sorted(found, key=lambda pid: (self.posts[pid].date, pid))

    def _count(self, post_id: str, whole: bool) -> int:
        """Replies below the post (and its copies), or all others in a whole conversation."""
        count = self.model.replies(post_id)
        if whole:
            others = len(self.model.members.get(self.posts[post_id].thread_root, [])) - 1
            count += others - self.model.descendants(post_id)
        return count

    def version_views(self, post: SitePost) -> list[VersionView]:
        """Earlier versions, newest first, sanitized like the current content."""
        views = []
        for version in reversed(self.versions.get(post.id, [])):
            cleaned = self.sanitizer.clean(
                version.content_html,
                base=post.url,
                media_root=self.root + "media/",
                third_party=not post.is_own,
            )
            views.append(
                VersionView(
                    version.version, version.captured_at, version.title, Markup(cleaned.html)
                )
            )
        return views


def _platform_counts(entries: list[Entry]) -> list[tuple[str, int]]:
    """Replies per platform in a conversation, in order of first appearance."""
    counts: dict[str, int] = {}
    stack = list(reversed(entries))
    while stack:
        entry = stack.pop()
        if not entry.current:
            counts[entry.platform] = counts.get(entry.platform, 0) + 1
        stack.extend(reversed(entry.children))
    return list(counts.items())


def needed(model: SiteModel, post_ids: list[str]) -> tuple[set[str], set[str]]:
    """What a chunk of post pages shows: threads (own and copies'), and single posts
    (originals of copies, reposted posts, posts that mention them)."""
    roots: set[str] = set()
    singles: set[str] = set()
    for pid in post_ids:
        roots.add(model.thread_root(pid))
        singles.update(model.mentions_of.get(pid, []))
        for copy in model.copies_of.get(pid, []):
            roots.add(model.thread_root(copy))
            singles.update(model.mentions_of.get(copy, []))
        original = model.original_of.get(pid)
        if original:
            singles.add(original)
        repost = model.by_id[pid].repost_of
        if repost:
            singles.add(repost)
    return roots, singles


def text_html(text: str | None) -> str:
    """Plain text (text-only platforms) as HTML paragraphs, escaped."""
    if not text:
        return ""
    paragraphs = [part.strip() for part in text.replace("\r\n", "\n").split("\n\n")]
    return "".join(
        "<p>" + escape(part).replace("\n", "<br>") + "</p>" for part in paragraphs if part
    )


def page_inputs(model: SiteModel, post_id: str) -> tuple[str, ...]:
    """What a post page depends on, as digests: the fingerprint's ingredients.

    Runs for every one of our posts on each export: a thread of one post (most of them)
    contributes its own id and digest instead of a hash of them, and posts without
    copies, mentions or shared posts skip those lookups.
    """
    post = model.by_id[post_id]
    digest = model.digest
    own = digest.get(post_id, "")
    parts = [post_id, own, _thread_input(model, post.thread_root)]
    copies = model.copies_of.get(post_id)
    if copies:
        for copy in copies:
            parts.append(model.thread_digest(model.thread_root(copy)))
    mentions = model.mentions_of
    if mentions:
        for target in (post_id, *(copies or ())):
            for mention in mentions.get(target, ()):
                parts.append(f"{mention}:{digest.get(mention, '')}")
    original = model.original_of.get(post_id)
    if original:
        parts.append(f"{original}:{digest.get(original, '')}")
    if post.repost_of:
        parts.append(f"{post.repost_of}:{digest.get(post.repost_of, '')}")
    tags = model.tags.get(post_id)
    parts.append(",".join(tags) if tags else "")
    parts.append(model.source_slugs.get(post.source or "unknown", ""))
    return tuple(parts)


def _thread_input(model: SiteModel, root: str) -> str:
    """A thread as a fingerprint ingredient: its one post as is, else the thread's digest."""
    ids = model.members.get(root)
    if ids is not None and len(ids) == 1:
        return f"{ids[0]}:{model.digest[ids[0]]}"
    return model.thread_digest(root)
