"""Replies to GitHub releases: the comments of a release's discussion, read through GraphQL.

A release made with "Create a discussion" has a `discussion_url`
(`https://github.com/<o>/<r>/discussions/<n>`); its comments and their replies are the
replies to the release. REST has no endpoint for them and GraphQL answers only with a token,
so they are read only when the source has `token_env`. Comments are read 50 at a time with
their first 50 replies (GitHub nests replies one level deep); more replies than that are
reported, not paged.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ownfeed.errors import ParseError
from ownfeed.models import Author, Post, parse_iso
from ownfeed.sources.apiutil import as_count, as_text

PLATFORM = "github"
PAGE = 50
MAX_PAGES = 20  # 1,000 comments per discussion and sync at most
_DISCUSSION_RE = re.compile(
    r"^https?://[^/]+/([A-Za-z0-9_.-]+)/([A-Za-z0-9_.-]+)/discussions/(\d+)"
)

_FIELDS = """
  id url bodyHTML createdAt lastEditedAt isMinimized
  author { login url avatarUrl }
  reactions { totalCount }
"""
QUERY = f"""
query($owner: String!, $name: String!, $number: Int!, $after: String) {{
  repository(owner: $owner, name: $name) {{
    discussion(number: $number) {{
      comments(first: {PAGE}, after: $after) {{
        pageInfo {{ hasNextPage endCursor }}
        nodes {{
          {_FIELDS}
          replies(first: {PAGE}) {{ totalCount nodes {{ {_FIELDS} }} }}
        }}
      }}
    }}
  }}
}}
"""

#: (query, variables) -> the `data` object of the answer
Ask = Callable[[str, Mapping[str, Any]], Awaitable[Mapping[str, Any]]]


def _object(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def discussion_ref(url: object) -> tuple[str, str, int] | None:
    """(owner, repository, number) of a discussion URL, or None."""
    match = _DISCUSSION_RE.match(url) if isinstance(url, str) else None
    return (match.group(1), match.group(2), int(match.group(3))) if match else None


@dataclass
class Discussion:
    """What one read of a discussion found: the replies as posts, and replies left unread."""

    posts: list[Post] = field(default_factory=list)
    unread_replies: int = 0


def map_comment(node: Mapping[str, Any], parent: str, release: str, owner: str) -> Post | None:
    """A discussion comment (or a reply to one) answering `parent` in the thread of
    `release` (native ids); ours when the repository's owner wrote it. Minimized comments
    (spam, off-topic) are left out."""
    url = as_text(node.get("url"))
    if url is None or node.get("isMinimized"):
        return None
    author = _object(node.get("author"))
    login = as_text(author.get("login"))
    reactions = _object(node.get("reactions"))
    created = parse_iso(node.get("createdAt"))
    edited = parse_iso(node.get("lastEditedAt"))
    return Post(
        platform=PLATFORM,
        native_id=url,
        kind="reply",
        is_own=bool(login) and str(login).lower() == owner.lower(),
        url=url,
        content_html=as_text(node.get("bodyHTML")),
        author=Author(
            PLATFORM,
            handle=login,
            name=login,
            url=as_text(author.get("url")),
            avatar_url=as_text(author.get("avatarUrl")),
        )
        if login
        else None,
        published_at=created,
        updated_at=edited if edited and created and edited > created else None,
        in_reply_to=parent,
        in_reply_to_url=parent,
        thread_root=release,
        like_count=as_count(reactions.get("totalCount")),
        raw={"node_id": as_text(node.get("id")), "discussion_comment": True},
    )


async def read_discussion(ask: Ask, release: str, url: str, owner: str) -> Discussion:
    """Every comment of the release's discussion, with up to 50 replies each."""
    ref = discussion_ref(url)
    if ref is None:
        raise ParseError(f"not a discussion URL: {url[:80]}")
    repo_owner, name, number = ref
    found = Discussion()
    after: str | None = None
    for _page in range(MAX_PAGES):
        variables = {"owner": repo_owner, "name": name, "number": number, "after": after}
        data = await ask(QUERY, variables)
        discussion = _object(_object(data).get("repository")).get("discussion")
        if discussion is None:
            return found  # deleted, or not visible to this token: nothing to add
        comments = _object(discussion).get("comments")
        if not isinstance(comments, Mapping) or not isinstance(comments.get("nodes"), list):
            raise ParseError(f"GitHub GraphQL: discussion {number} without a comments list")
        for node in comments["nodes"]:
            if not isinstance(node, Mapping):
                continue
            comment = map_comment(node, release, release, owner)
            if comment is None:
                continue
            found.posts.append(comment)
            replies = _object(node.get("replies"))
            listed = [n for n in replies.get("nodes") or () if isinstance(n, Mapping)]
            total = replies.get("totalCount")
            if isinstance(total, int) and total > len(listed):
                found.unread_replies += total - len(listed)
            found.posts += [
                p for n in listed if (p := map_comment(n, comment.native_id, release, owner))
            ]
        page_info = _object(comments.get("pageInfo"))
        after = page_info.get("endCursor") if page_info.get("hasNextPage") else None
        if not isinstance(after, str):
            return found
    return found
