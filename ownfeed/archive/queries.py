"""Read queries behind the CLI: sources, status, search, one post with its conversation."""

from __future__ import annotations

import re
import sqlite3
from typing import Any

from ownfeed.archive.db import Archive


def _dict(row: sqlite3.Row | None) -> dict[str, Any] | None:
    return dict(row) if row is not None else None


def source_overview(archive: Archive) -> list[dict[str, Any]]:
    """Every source row with its post count (own posts and all)."""
    rows = archive.query(
        """SELECT sources.name, sources.type, sources.locator, sources.title,
                  sources.last_sync_at, sources.last_success_at, sources.last_error,
                  sources.failures,
                  (SELECT count(*) FROM posts WHERE posts.source = sources.name) AS posts,
                  (SELECT count(*) FROM posts WHERE posts.source = sources.name
                     AND posts.is_own = 1) AS own_posts,
                  (SELECT count(*) FROM posts WHERE posts.source = sources.name
                     AND posts.gone_at IS NOT NULL) AS gone
           FROM sources ORDER BY sources.name"""
    )
    return [dict(row) for row in rows]


def last_source_runs(archive: Archive) -> dict[str, dict[str, Any]]:
    """The newest `source_runs` row of each source."""
    rows = archive.query(
        """SELECT source_runs.* FROM source_runs
           JOIN (SELECT source, max(run_id) AS run_id FROM source_runs GROUP BY source) AS latest
             ON latest.source = source_runs.source AND latest.run_id = source_runs.run_id"""
    )
    return {row["source"]: dict(row) for row in rows}


def recent_runs(archive: Archive, limit: int = 5) -> list[dict[str, Any]]:
    rows = archive.query(
        """SELECT sync_runs.*,
             (SELECT count(*) FROM source_runs WHERE run_id = sync_runs.id) AS sources,
             (SELECT count(*) FROM source_runs WHERE run_id = sync_runs.id
                AND status = 'failed') AS failed,
             (SELECT coalesce(sum(new), 0) FROM source_runs WHERE run_id = sync_runs.id) AS new
           FROM sync_runs ORDER BY id DESC LIMIT ?""",
        (limit,),
    )
    return [dict(row) for row in rows]


def totals(archive: Archive) -> dict[str, int]:
    row = archive.one(
        """SELECT count(*) AS posts, coalesce(sum(is_own), 0) AS own,
                  coalesce(sum(gone_at IS NOT NULL), 0) AS gone,
                  (SELECT count(*) FROM post_versions) AS versions,
                  (SELECT count(*) FROM media) AS media,
                  (SELECT count(*) FROM media WHERE local_path IS NOT NULL) AS media_stored,
                  (SELECT count(*) FROM authors) AS authors
           FROM posts"""
    )
    return {key: int(value or 0) for key, value in dict(row).items()} if row else {}


_FTS_TOKEN = re.compile(r"\w+", re.UNICODE)


def fts_query(text: str) -> str:
    """A safe FTS5 query from user text: words quoted, so punctuation is never syntax."""
    words = _FTS_TOKEN.findall(text)
    return " ".join(f'"{word}"' for word in words)


#: Matches ranked per search: a word in half the archive would otherwise cost a bm25 score
#: per match (1.4 s for 500,000 matches). Past this many, only the most recently archived
#: matches (highest rowid; within the source when one is given) are ranked.
RANKED_MATCHES = 1000
#: Rowids the results may span for their snippets to be made in one pass over the matches.
_SNIPPET_SPAN = 20_000


def search(
    archive: Archive,
    text: str,
    *,
    source: str | None = None,
    limit: int = 20,
    ranked: int = RANKED_MATCHES,
) -> list[dict[str, Any]]:
    """Full-text search over title and text, best match (bm25) first.

    Only the `ranked` (at least `limit`) most recently archived matches are ranked, so a
    word in half the archive costs no more than a rare one; a query with fewer matches
    ranks them all. With `source`, those are the newest matches of that source.
    """
    query = fts_query(text)
    if not query:
        return []
    newest = max(ranked, limit)
    if source:
        scored = _scored_in_source(archive, query, source, newest)
    else:
        scored = archive.query(
            """SELECT rowid, bm25(posts_fts) AS score FROM posts_fts
               WHERE posts_fts MATCH ? ORDER BY rowid DESC LIMIT ?""",
            (query, newest),
        )
    # best score first, the newer of equal ones first (rowids arrive newest first)
    best = sorted(scored, key=lambda row: row["score"])[:limit]
    if not best:
        return []
    order = {row["rowid"]: place for place, row in enumerate(best)}
    marks = ",".join("?" * len(order))
    # Snippets for these rows only. A MATCH per rowid opens every index segment again
    # (about 0.5 ms each on a million posts): when the rows lie close together, one pass
    # over the matches of their rowid range is cheaper (`+`: SQLite skips the IN list).
    within = "posts_fts.rowid IN"
    bounds: list[int] = []
    if max(order) - min(order) <= _SNIPPET_SPAN:
        within = "posts_fts.rowid BETWEEN ? AND ? AND +posts_fts.rowid IN"
        bounds = [min(order), max(order)]
    rows = archive.query(
        f"""SELECT posts_fts.rowid AS fts_rowid, posts.id, posts.platform, posts.source,
                   posts.kind, posts.is_own, posts.url, posts.title, posts.published_at,
                   posts.gone_at, authors.name AS author,
                   snippet(posts_fts, 1, '[', ']', '…', 12) AS snippet
            FROM posts_fts JOIN posts ON posts.rowid = posts_fts.rowid
            LEFT JOIN authors ON authors.id = posts.author_id
            WHERE posts_fts MATCH ? AND {within} ({marks})""",
        [query, *bounds, *order],
    )
    results = sorted((dict(row) for row in rows), key=lambda item: order[item["fts_rowid"]])
    for item in results:
        del item["fts_rowid"]
    return results


def _scored_in_source(archive: Archive, query: str, source: str, newest: int) -> list[sqlite3.Row]:
    """The `newest` most recent matches of one source, with their bm25 scores.

    Two plans, so neither a source with most of the matches nor one with few of them costs
    a lookup per match of the whole archive: first among the archive's newest matches
    (a window 4x `newest`; a post lookup each); when the source has too few of them there,
    every match is checked against the set of the source's rowids instead.
    """
    window = newest * 4
    floor = archive.one(
        """SELECT min(rowid) AS low, count(*) AS seen FROM (SELECT rowid FROM posts_fts
           WHERE posts_fts MATCH ? ORDER BY rowid DESC LIMIT ?)""",
        (query, window),
    )
    if floor is None or not floor["seen"]:
        return []
    rows = archive.query(
        """SELECT posts_fts.rowid AS rowid, bm25(posts_fts) AS score
           FROM posts_fts JOIN posts ON posts.rowid = posts_fts.rowid
           WHERE posts_fts MATCH ? AND posts_fts.rowid >= ? AND posts.source = ?
           ORDER BY posts_fts.rowid DESC LIMIT ?""",
        (query, floor["low"], source, newest),
    )
    if len(rows) >= newest or floor["seen"] < window:
        return rows  # the newest matches of the source all lie in the window
    # `+rowid`: a membership test per match, not a MATCH per rowid of the source
    return archive.query(
        """SELECT rowid, bm25(posts_fts) AS score FROM posts_fts
           WHERE posts_fts MATCH ? AND +rowid IN (SELECT rowid FROM posts WHERE source = ?)
           ORDER BY rowid DESC LIMIT ?""",
        (query, source, newest),
    )


_POST_COLUMNS = """posts.id, posts.platform, posts.native_id, posts.source, posts.kind,
    posts.is_own, posts.url, posts.title, posts.content_html, posts.content_text,
    posts.language, posts.published_at, posts.updated_at, posts.first_seen_at,
    posts.last_seen_at, posts.in_reply_to, posts.in_reply_to_url, posts.repost_of,
    posts.thread_root, posts.gone_at, posts.gone_reason, posts.versions, posts.reply_count,
    posts.like_count, posts.repost_count, authors.name AS author_name,
    authors.handle AS author_handle, authors.url AS author_url"""


def find_post(archive: Archive, ident: str) -> dict[str, Any] | None:
    """A post by id, id prefix (unique), native id or URL."""
    base = f"SELECT {_POST_COLUMNS} FROM posts LEFT JOIN authors ON authors.id = posts.author_id"
    row = archive.one(f"{base} WHERE posts.id = ?", (ident,))
    if row is None:
        row = archive.one(
            f"{base} WHERE posts.native_id = ? OR posts.url = ? LIMIT 1", (ident, ident)
        )
    if row is None and len(ident) >= 4 and ident.isalnum():
        rows = archive.query(f"{base} WHERE posts.id LIKE ? LIMIT 2", (ident + "%",))
        row = rows[0] if len(rows) == 1 else None
    return _dict(row)


def _original_of(archive: Archive, post_id: str) -> str | None:
    row = archive.one(
        "SELECT post_id FROM post_links WHERE linked_id = ? AND relation = 'copy' "
        "ORDER BY post_id LIMIT 1",
        (post_id,),
    )
    return str(row["post_id"]) if row else None


def _has_copies(archive: Archive, post_id: str) -> bool:
    row = archive.one(
        "SELECT 1 FROM post_links WHERE post_id = ? AND relation = 'copy' LIMIT 1", (post_id,)
    )
    return row is not None


def linked_ids(archive: Archive, post_id: str) -> tuple[str, list[str]]:
    """The original of a post's story and that original's copies.

    A copy belongs to its original; so does every reply in a copy's or the original's
    thread (found through its thread root). A post in no story is its own original.
    """
    candidates = [post_id]
    row = archive.one("SELECT thread_root FROM posts WHERE id = ?", (post_id,))
    if row and row["thread_root"] and row["thread_root"] != post_id:
        candidates.append(row["thread_root"])
    original = post_id
    for candidate in candidates:
        above = _original_of(archive, candidate)
        if above is not None:
            original = above
            break
        if _has_copies(archive, candidate):
            original = candidate
            break
    copies = [
        r["linked_id"]
        for r in archive.query(
            "SELECT linked_id FROM post_links WHERE post_id = ? AND relation = 'copy' "
            "ORDER BY linked_id",
            (original,),
        )
    ]
    return original, copies


def _when(item: dict[str, Any]) -> tuple[str, str]:
    return (item.get("published_at") or item.get("first_seen_at") or "", item["id"])


def thread(archive: Archive, post: dict[str, Any]) -> list[dict[str, Any]]:
    """One conversation: the thread of the post's original, with the replies to its
    copies on other platforms merged in below the original, nested, siblings in time order.

    Each item has `depth`, `platform`, `url` and `via` (the copy whose thread it came
    from, None for the original's own). Copies themselves are listed by `copies_of`;
    pingbacks linked as mentions by `mentions_of`, not here: they are not replies.
    """
    original, copies = linked_ids(archive, post["id"])
    members = [original, *copies]
    roots: dict[str, str] = {}
    for pid in members:
        row = archive.one(
            "SELECT coalesce(thread_root, id) AS root FROM posts WHERE id = ?", (pid,)
        )
        if row:
            roots[pid] = row["root"]
    if original not in roots:
        return []
    wanted = sorted(set(roots.values()))
    marks = ",".join("?" * len(wanted))
    rows = [
        dict(r)
        for r in archive.query(
            f"""SELECT {_POST_COLUMNS}, posts.first_seen_at FROM posts
                LEFT JOIN authors ON authors.id = posts.author_id
                WHERE posts.thread_root IN ({marks}) OR posts.id IN ({marks})
                ORDER BY coalesce(posts.published_at, posts.first_seen_at), posts.id""",
            [*wanted, *wanted],
        )
    ]
    by_id = {r["id"]: r for r in rows}
    home = roots[original]
    tops: list[dict[str, Any]] = []  # the original's thread's top (its root, or orphans)
    children: dict[str, list[dict[str, Any]]] = {}
    root_ids = set(roots.values())
    for item in rows:
        parent = None
        if item["id"] not in root_ids:
            parent = item["in_reply_to"]
            if parent not in by_id or parent == item["id"]:  # parent not archived: below root
                root = item["thread_root"]
                parent = root if root in by_id and root != item["id"] else None
        if parent is not None:
            children.setdefault(parent, []).append(item)
        elif home in (item["id"], item["thread_root"]):
            tops.append(item)
    if copies:
        merged = list(children.get(original, []))
        for copy in copies:
            merged.extend(children.pop(copy, []))
        children[original] = sorted(merged, key=_when)
    # copies are listed apart; pingbacks linked as mentions are shown under "mentioned by"
    skipped = set(copies) | {
        r["linked_id"]
        for r in archive.query(
            f"""SELECT post_links.linked_id FROM post_links
                JOIN posts ON posts.id = post_links.linked_id AND posts.kind = 'pingback'
                WHERE post_links.relation = 'mention'
                  AND post_links.post_id IN ({",".join("?" * len(members))})""",
            members,
        )
    }
    ordered: list[dict[str, Any]] = []
    seen: set[str] = set()

    def walk(item: dict[str, Any], depth: int, via: str | None) -> None:
        if item["id"] in seen or item["id"] in skipped:
            return
        seen.add(item["id"])
        item["depth"] = depth
        item["via"] = via
        ordered.append(item)
        for child in children.get(item["id"], []):
            origin = via
            if item["id"] == original and child["thread_root"] != home:
                origin = next((c for c in copies if roots.get(c) == child["thread_root"]), None)
            walk(child, depth + 1, origin)

    for top in tops:
        walk(top, 0, None)
    for item in ordered:
        item.pop("first_seen_at", None)
    return ordered


def versions(archive: Archive, post_id: str) -> list[dict[str, Any]]:
    rows = archive.query(
        """SELECT version, captured_at, title, content_html, content_hash FROM post_versions
           WHERE post_id = ? ORDER BY version""",
        (post_id,),
    )
    return [dict(row) for row in rows]


def media_of(archive: Archive, post_id: str) -> list[dict[str, Any]]:
    rows = archive.query(
        """SELECT id, url, kind, mime, alt, width, height, sha256, size, local_path, fetched_at,
                  error FROM media WHERE post_id = ? ORDER BY id""",
        (post_id,),
    )
    return [dict(row) for row in rows]


def tags_of(archive: Archive, post_id: str) -> list[str]:
    return [
        r["tag"]
        for r in archive.query(
            "SELECT tag FROM post_tags WHERE post_id = ? ORDER BY tag", (post_id,)
        )
    ]


def copies_of(archive: Archive, post_id: str) -> list[dict[str, Any]]:
    """The copies of a post's story on other platforms (the post itself included when it
    is one), with the evidence that linked them."""
    original, _ = linked_ids(archive, post_id)
    rows = archive.query(
        """SELECT post_links.linked_id AS id, post_links.relation, post_links.how,
                  posts.platform, posts.url, posts.published_at
           FROM post_links JOIN posts ON posts.id = post_links.linked_id
           WHERE post_links.post_id = ? AND post_links.relation = 'copy'
           ORDER BY posts.platform, posts.published_at, posts.id""",
        (original,),
    )
    return [dict(row) for row in rows]


def original_of(archive: Archive, post_id: str) -> dict[str, Any] | None:
    """The original of a story a post belongs to, when that is another post."""
    original, _ = linked_ids(archive, post_id)
    if original == post_id:
        return None
    row = archive.one(
        """SELECT id, platform, url, title, published_at FROM posts WHERE id = ?""",
        (original,),
    )
    return _dict(row)


def mentions_of(archive: Archive, post_id: str) -> list[dict[str, Any]]:
    """Posts that link to a post's story (its original or a copy): pingbacks, trackbacks,
    others' posts seen as context; oldest first."""
    original, copies = linked_ids(archive, post_id)
    members = [original, *copies]
    marks = ",".join("?" * len(members))
    rows = archive.query(
        f"""SELECT posts.id, posts.platform, posts.kind, posts.is_own, posts.url, posts.title,
                   posts.content_text, posts.published_at, post_links.how,
                   post_links.post_id AS mentions, authors.name AS author_name,
                   authors.handle AS author_handle, authors.url AS author_url
            FROM post_links JOIN posts ON posts.id = post_links.linked_id
            LEFT JOIN authors ON authors.id = posts.author_id
            WHERE post_links.post_id IN ({marks}) AND post_links.relation = 'mention'
            ORDER BY coalesce(posts.published_at, posts.first_seen_at), posts.id""",
        members,
    )
    found: dict[str, dict[str, Any]] = {}
    for row in rows:
        found.setdefault(row["id"], dict(row))
    return list(found.values())
