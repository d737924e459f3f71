"""Copies and mentions in the archive: the SQL side of `ownfeed.links`.

Why a separate step: a toot that links to a blog post may be archived before or after
the blog post, by another source, in another run. So every sync (and import) ends with
`link_posts`, which looks only at the posts that changed since the last run, in both
directions: what they point at, and what already points at them (`post_urls` keeps every
post's normalised addresses and links for that lookup).

The result lives in `post_links` (DESIGN.md): `post_id` is the original (ours),
`linked_id` a copy of it on another platform (`relation = 'copy'`) or a post that links
to it (`'mention'`), `how` the evidence. The rows keep a simple shape: a copy has one
original, and an original is never itself a copy (a copy of a copy is attached to the
first original).

People correct it with `link` (a `how = 'manual'` row, which detection never changes)
and `unlink` (the row goes, and the pair is remembered in `post_link_overrides`, so
detection does not add it again, in either direction).
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from ownfeed.archive.db import Archive
from ownfeed.errors import OwnfeedError
from ownfeed.links import (
    EVIDENCE,
    HOW_RANK,
    TextPost,
    comparable_text,
    extract_urls,
    has_other_platform_near,
    own_addresses,
    text_matches,
    url_host,
    url_key,
)
from ownfeed.models import iso, parse_iso, utcnow

_CHUNK = 400
_ROWS_PER_INSERT = 190  # 5 values each: under SQLite's oldest limit of 999 per statement
_RAW_HINT = re.compile(r'"card"\s*:\s*\{|facet#link|"external"|syndication')
_RAW_WORDS = ('"card"', "facet#link", '"external"', "syndication")  # one is in every match
RETRY_FAILED = timedelta(days=7)  # a short link that failed is asked again after this
_TEXT_LIMIT = 3000  # characters: longer posts (articles) are never near-identical copies


class LinkError(OwnfeedError):
    """A manual link that cannot be made (unknown post, not ours, a copy of a copy)."""


@dataclass
class LinkReport:
    """What one linking run did."""

    scanned: int = 0
    added: int = 0
    updated: int = 0
    removed: int = 0

    def __str__(self) -> str:
        return (
            f"{self.scanned} post(s) checked, {self.added} link(s) added, "
            f"{self.updated} changed, {self.removed} removed"
        )


@dataclass(frozen=True, slots=True)
class _Info:
    id: str
    platform: str
    kind: str
    is_own: bool
    published_at: str | None
    in_reply_to: str | None


@dataclass
class _Claim:
    """One piece of evidence: `original` is linked to `linked` (relation decided later)."""

    kind: str  # "ref": linked points at original; "syn": original lists linked; "ping"
    original: str
    linked: str
    how: str


@dataclass
class _Scan:
    changed: dict[str, _Info] = field(default_factory=dict)
    own_keys: dict[str, list[str]] = field(default_factory=dict)  # post -> its self keys
    evidence: dict[str, list[tuple[str, str]]] = field(default_factory=dict)  # post -> (key, how)
    max_rowid: int = 0
    max_seen: str = ""


def _chunks(items: Sequence[str]) -> Iterator[Sequence[str]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def _marks(count: int) -> str:
    return ",".join("?" * count)


def _rank(how: str) -> int:
    return HOW_RANK.get(how, len(HOW_RANK))


# --- state and scanning ----------------------------------------------------------------


def _state(conn: sqlite3.Connection) -> dict[str, str]:
    return {row[0]: row[1] for row in conn.execute("SELECT name, value FROM link_state")}


def _save_state(conn: sqlite3.Connection, scan: _Scan, previous: dict[str, str]) -> None:
    rowid = max(scan.max_rowid, int(previous.get("rowid") or 0))
    seen = max(scan.max_seen, previous.get("seen") or "")
    conn.executemany(
        "INSERT INTO link_state (name, value) VALUES (?, ?) "
        "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
        [("rowid", str(rowid)), ("seen", seen), ("last_run", iso(utcnow()) or "")],
    )


_SCAN_COLUMNS = """rowid, id, platform, kind, is_own, url, native_id, published_at,
    content_html, content_text, raw, in_reply_to, last_seen_at"""


def _changed_rows(
    conn: sqlite3.Connection, state: dict[str, str], full: bool, only: Collection[str] | None
) -> Iterator[sqlite3.Row]:
    if only is not None:
        for chunk in _chunks(sorted(set(only))):
            yield from conn.execute(
                f"SELECT {_SCAN_COLUMNS} FROM posts WHERE id IN ({_marks(len(chunk))})",
                list(chunk),
            )
        return
    if full or not state:
        yield from conn.execute(f"SELECT {_SCAN_COLUMNS} FROM posts")
        return
    yield from conn.execute(
        f"SELECT {_SCAN_COLUMNS} FROM posts WHERE rowid > ? OR last_seen_at > ?",
        (int(state.get("rowid") or 0), state.get("seen") or ""),
    )


def _redirects(conn: sqlite3.Connection) -> dict[str, str]:
    return {
        row[0]: row[1]
        for row in conn.execute("SELECT url, target FROM link_redirects WHERE target IS NOT NULL")
    }


def _insert_urls(conn: sqlite3.Connection, rows: Sequence[tuple[str, ...]]) -> None:
    """post_urls rows in order, many per statement: half the CPU of a statement per row
    (executemany), the same rows and rowids (a replaced duplicate goes as it would)."""
    for start in range(0, len(rows), _ROWS_PER_INSERT):
        part = rows[start : start + _ROWS_PER_INSERT]
        conn.execute(
            "INSERT OR REPLACE INTO post_urls (post_id, key, url, host, how) VALUES "
            + ",".join(["(?, ?, ?, ?, ?)"] * len(part)),
            [value for row in part for value in row],
        )


def _raw_has_links(raw: str) -> bool:
    """Whether raw JSON may hold links (`_RAW_HINT`); substring tests first, as the regex
    scans the whole text at four times their cost."""
    if not any(word in raw for word in _RAW_WORDS):
        return False
    return _RAW_HINT.search(raw) is not None


def _scan(
    conn: sqlite3.Connection,
    state: dict[str, str],
    *,
    full: bool,
    only: Collection[str] | None,
) -> _Scan:
    """Read the changed posts and rewrite their `post_urls` rows."""
    scan = _Scan()
    redirects = _redirects(conn)
    rows: list[tuple[str, str, str, str, str]] = []
    ids: list[str] = []

    def flush() -> None:
        for chunk in _chunks(ids):
            conn.execute(f"DELETE FROM post_urls WHERE post_id IN ({_marks(len(chunk))})", chunk)
        _insert_urls(conn, rows)
        rows.clear()
        ids.clear()

    for row in _changed_rows(conn, state, full, only):
        info = _Info(
            row["id"],
            row["platform"],
            row["kind"],
            bool(row["is_own"]),
            row["published_at"],
            row["in_reply_to"],
        )
        scan.changed[info.id] = info
        scan.max_rowid = max(scan.max_rowid, int(row["rowid"]))
        scan.max_seen = max(scan.max_seen, row["last_seen_at"] or "")
        ids.append(info.id)
        own: list[str] = []
        if info.is_own and info.kind == "post":
            for address in own_addresses(row["url"], row["native_id"]):
                key = url_key(address)
                if key and key not in own:
                    own.append(key)
                    rows.append((info.id, key, address, url_host(address), "self"))
        scan.own_keys[info.id] = own
        if info.kind != "repost":
            raw = row["raw"]
            found = extract_urls(
                info.platform,
                row["content_html"],
                row["content_text"],
                raw if raw and _raw_has_links(raw) else None,
                base=row["url"],
                redirects=redirects,
            )
            evidence: list[tuple[str, str]] = []
            for item in found:
                key = url_key(item.url)
                if key is None or key in own:
                    continue
                evidence.append((key, item.how))
                # `url` is the address as linked (before redirects): what the sync follows
                rows.append((info.id, key, item.url, url_host(item.url), item.how))
            scan.evidence[info.id] = evidence
        if len(ids) >= _CHUNK:
            flush()
    flush()
    return scan


def _self_owners(conn: sqlite3.Connection, keys: Iterable[str]) -> dict[str, set[str]]:
    """Our original posts reached at each key."""
    found: dict[str, set[str]] = {}
    for chunk in _chunks(sorted(set(keys))):
        sql = (
            f"SELECT key, post_id FROM post_urls WHERE how = 'self' "
            f"AND key IN ({_marks(len(chunk))})"
        )
        for key, pid in conn.execute(sql, list(chunk)):
            found.setdefault(key, set()).add(pid)
    return found


def _claims(conn: sqlite3.Connection, scan: _Scan) -> list[_Claim]:
    """Evidence in both directions for the changed posts."""
    claims: list[_Claim] = []
    out_keys = {key for items in scan.evidence.values() for key, _ in items}
    in_keys = {key for keys in scan.own_keys.values() for key in keys}
    owners = _self_owners(conn, out_keys | in_keys)
    for pid, items in scan.evidence.items():
        for key, how in items:
            targets = owners.get(key, set())
            if len(targets) != 1:
                continue  # nothing of ours there, or ambiguous: no row
            target = next(iter(targets))
            if target == pid:
                continue
            if how == "syndication":
                claims.append(_Claim("syn", pid, target, how))
            else:
                claims.append(_Claim("ref", target, pid, how))
    # posts that already pointed at a changed post of ours (archived before it)
    wanted = sorted(k for k in in_keys if len(owners.get(k, ())) == 1)
    for chunk in _chunks(wanted):
        sql = (
            f"SELECT key, post_id, how FROM post_urls WHERE how != 'self' "
            f"AND key IN ({_marks(len(chunk))})"
        )
        for key, source, how in conn.execute(sql, list(chunk)):
            target = next(iter(owners[key]))
            if source == target or source in scan.changed:
                continue  # a changed source's claims were made above
            if how == "syndication":
                claims.append(_Claim("syn", source, target, how))
            else:
                claims.append(_Claim("ref", target, source, how))
    # pingbacks and trackbacks: a notification that another page links to our post
    for info in scan.changed.values():
        if info.kind == "pingback" and info.in_reply_to:
            claims.append(_Claim("ping", info.in_reply_to, info.id, "link"))
    own = sorted(pid for pid, info in scan.changed.items() if info.is_own)
    for chunk in _chunks(own):
        sql = (
            f"SELECT id, in_reply_to FROM posts WHERE kind = 'pingback' "
            f"AND in_reply_to IN ({_marks(len(chunk))})"
        )
        for pid, parent in conn.execute(sql, list(chunk)):
            if pid not in scan.changed:
                claims.append(_Claim("ping", parent, pid, "link"))
    return claims


def _infos(conn: sqlite3.Connection, ids: Iterable[str], known: dict[str, _Info]) -> None:
    missing = sorted({pid for pid in ids if pid not in known})
    for chunk in _chunks(missing):
        sql = (
            "SELECT id, platform, kind, is_own, published_at, in_reply_to FROM posts "
            f"WHERE id IN ({_marks(len(chunk))})"
        )
        for row in conn.execute(sql, list(chunk)):
            known[row[0]] = _Info(row[0], row[1], row[2], bool(row[3]), row[4], row[5])


# --- the rows --------------------------------------------------------------------------


class _Rows:
    """Reads and writes `post_links`, keeping its shape (one original per copy, no chains)."""

    def __init__(self, conn: sqlite3.Connection, report: LinkReport) -> None:
        self.conn = conn
        self.report = report

    def original_of(self, pid: str) -> tuple[str, str] | None:
        row = self.conn.execute(
            "SELECT post_id, how FROM post_links WHERE linked_id = ? AND relation = 'copy' "
            "ORDER BY post_id LIMIT 1",
            (pid,),
        ).fetchone()
        return (row[0], row[1]) if row else None

    def copies(self, pid: str) -> list[tuple[str, str]]:
        rows = self.conn.execute(
            "SELECT linked_id, how FROM post_links WHERE post_id = ? AND relation = 'copy' "
            "ORDER BY linked_id",
            (pid,),
        )
        return [(row[0], row[1]) for row in rows]

    def row(self, original: str, linked: str) -> tuple[str, str] | None:
        row = self.conn.execute(
            "SELECT relation, how FROM post_links WHERE post_id = ? AND linked_id = ?",
            (original, linked),
        ).fetchone()
        return (row[0], row[1]) if row else None

    def blocked(self, a: str, b: str) -> bool:
        row = self.conn.execute(
            "SELECT 1 FROM post_link_overrides WHERE (post_id = ? AND linked_id = ?) "
            "OR (post_id = ? AND linked_id = ?)",
            (a, b, b, a),
        ).fetchone()
        return row is not None

    def put(self, original: str, linked: str, relation: str, how: str) -> None:
        known = self.row(original, linked)
        if known == (relation, how):
            return
        self.conn.execute(
            "INSERT INTO post_links (post_id, linked_id, relation, how) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (post_id, linked_id) DO UPDATE SET relation = excluded.relation, "
            "how = excluded.how",
            (original, linked, relation, how),
        )
        if known is None:
            self.report.added += 1
        else:
            self.report.updated += 1

    def delete(self, original: str, linked: str) -> None:
        cursor = self.conn.execute(
            "DELETE FROM post_links WHERE post_id = ? AND linked_id = ?", (original, linked)
        )
        self.report.removed += cursor.rowcount

    def adopt(self, original: str, copy: str) -> None:
        """`copy` becomes a copy of `original`: its own copies move to `original`."""
        for other, how in self.copies(copy):
            self.delete(copy, other)
            if other != original and not self.blocked(original, other):
                self.put(original, other, "copy", how)

    def add_copy(self, original: str, copy: str, how: str) -> None:
        """Detected evidence that `copy` is a copy of `original` (or of its original)."""
        if original == copy or self.blocked(original, copy):
            return
        root = self.original_of(original)
        if root is not None:
            original = root[0]
            if original == copy or self.blocked(original, copy):
                return
        existing = self.original_of(copy)
        if existing is not None:
            current, current_how = existing
            if current == original:
                if current_how != "manual" and _rank(how) < _rank(current_how):
                    self.put(original, copy, "copy", how)
                return
            if current_how == "manual" or _rank(how) >= _rank(current_how):
                return  # the earlier, at least as strong evidence stands
        kids = self.copies(copy)
        if any(kid_how == "manual" for _, kid_how in kids):
            return  # a person made `copy` an original: detection does not undo that
        if existing is not None:
            self.delete(existing[0], copy)
        self.adopt(original, copy)
        self.put(original, copy, "copy", how)

    def add_mention(self, original: str, mention: str, how: str) -> None:
        if original == mention or self.blocked(original, mention):
            return
        known = self.row(original, mention)
        if known is not None:
            relation, known_how = known
            if relation == "mention" and known_how != "manual" and _rank(how) < _rank(known_how):
                self.put(original, mention, "mention", how)
            return
        self.put(original, mention, "mention", how)


def _apply(rows: _Rows, claims: list[_Claim], infos: dict[str, _Info]) -> None:
    """Decide each claim's relation, strongest evidence first."""
    copies: list[tuple[str, str, str]] = []
    mentions: list[tuple[str, str, str]] = []
    for claim in claims:
        original = infos.get(claim.original)
        linked = infos.get(claim.linked)
        if original is None or linked is None or not original.is_own:
            continue
        if linked.kind == "repost":
            continue
        if claim.kind == "syn":
            if linked.is_own and linked.platform != original.platform:
                copies.append((claim.original, claim.linked, claim.how))
        elif claim.kind == "ping":
            mentions.append((claim.original, claim.linked, claim.how))
        elif (
            linked.is_own
            and linked.kind == "post"
            and linked.platform != original.platform
            and linked.platform != "web"  # a blog post that links a toot is not its copy
        ):
            copies.append((claim.original, claim.linked, claim.how))
        else:
            mentions.append((claim.original, claim.linked, claim.how))
    for original_id, copy, how in sorted(set(copies), key=lambda c: (_rank(c[2]), c[1], c[0])):
        rows.add_copy(original_id, copy, how)
    for original_id, mention, how in sorted(set(mentions), key=lambda m: (_rank(m[2]), m)):
        rows.add_mention(original_id, mention, how)


def _text_candidates(
    conn: sqlite3.Connection, scan: _Scan, window: timedelta
) -> tuple[list[TextPost], set[str]]:
    moments = {
        info.id: parse_iso(info.published_at)
        for info in scan.changed.values()
        if info.is_own and info.kind == "post"
    }
    known = [moment for moment in moments.values() if moment]
    if not known:
        return [], set()
    start = iso(min(known) - window)
    end = iso(max(known) + window)
    rows = conn.execute(
        f"""SELECT id, platform, published_at FROM posts
            WHERE is_own = 1 AND kind = 'post' AND published_at BETWEEN ? AND ?
              AND length(content_text) BETWEEN 1 AND {_TEXT_LIMIT}""",
        (start, end),
    ).fetchall()
    changed = {pid for pid, moment in moments.items() if moment}
    if len({row[1] for row in rows}) < 2:
        return [], changed  # one platform only (a first sync of one blog): nothing to pair
    found = []
    for pid, platform, published_at in rows:
        moment = parse_iso(published_at)
        if moment is not None:
            found.append((pid, platform, moment))
    # Only a post with another platform's post in its window can be paired: the text of
    # the rest (say a month of blog posts while the toots began last week) is not read.
    reach = has_other_platform_near([(item[1], item[2]) for item in found], window)
    near = [item for item, close in zip(found, reach, strict=True) if close]
    texts: dict[str, str] = {}
    for chunk in _chunks([item[0] for item in near]):
        sql = (
            f"SELECT id, substr(content_text, 1, {_TEXT_LIMIT}) FROM posts "
            f"WHERE id IN ({_marks(len(chunk))})"
        )
        texts.update(conn.execute(sql, list(chunk)).fetchall())
    posts = [
        TextPost(pid, platform, moment, comparable_text(texts[pid]))
        for pid, platform, moment in near
    ]
    return posts, changed


def _match_texts(
    conn: sqlite3.Connection, rows: _Rows, scan: _Scan, threshold: float, window: timedelta
) -> None:
    if threshold > 1 or window <= timedelta(0):
        return
    posts, changed = _text_candidates(conn, scan, window)
    for match in text_matches(posts, changed, threshold=threshold, window=window):
        first = rows.original_of(match.original)
        second = rows.original_of(match.copy)
        group_a = first[0] if first else match.original
        group_b = second[0] if second else match.copy
        if group_a == group_b:
            continue  # already one story
        rows.add_copy(match.original, match.copy, "text")


_SUPPORT_REF = """SELECT 1 FROM post_urls e JOIN post_urls s ON s.key = e.key AND s.how = 'self'
    WHERE e.post_id = :linked AND e.how IN ('link', 'card', 'facet')
      AND (s.post_id = :original OR s.post_id IN
           (SELECT linked_id FROM post_links WHERE post_id = :original AND relation = 'copy'))
    LIMIT 1"""
_SUPPORT_PING = """SELECT 1 FROM posts WHERE id = :linked AND kind = 'pingback'
      AND (in_reply_to = :original OR in_reply_to IN
           (SELECT linked_id FROM post_links WHERE post_id = :original AND relation = 'copy'))
    LIMIT 1"""
_SUPPORT_SYN = """SELECT 1 FROM post_urls e JOIN post_urls s ON s.key = e.key AND s.how = 'self'
    WHERE s.post_id = :linked AND e.how = 'syndication'
      AND (e.post_id = :original OR e.post_id IN
           (SELECT linked_id FROM post_links WHERE post_id = :original AND relation = 'copy'))
    LIMIT 1"""


def _prune(conn: sqlite3.Connection, rows: _Rows, scan: _Scan) -> None:
    """Drop detected rows of changed posts whose evidence is gone (a link edited away)."""
    ids = sorted(scan.changed)
    hows = ", ".join(f"'{how}'" for how in EVIDENCE)
    candidates: set[tuple[str, str, str]] = set()
    for chunk in _chunks(ids):
        marks = _marks(len(chunk))
        sql = (
            f"SELECT post_id, linked_id, how FROM post_links WHERE how IN ({hows}) "
            f"AND (post_id IN ({marks}) OR linked_id IN ({marks}))"
        )
        candidates.update(tuple(row) for row in conn.execute(sql, [*chunk, *chunk]))
    for original, linked, how in sorted(candidates):
        params = {"original": original, "linked": linked}
        if how == "syndication":
            supported = conn.execute(_SUPPORT_SYN, params).fetchone()
        else:
            supported = (
                conn.execute(_SUPPORT_REF, params).fetchone()
                or conn.execute(_SUPPORT_PING, params).fetchone()
            )
        if supported is None:
            rows.delete(original, linked)


def link_posts(
    archive: Archive,
    *,
    text_threshold: float = 0.9,
    text_window_hours: float = 48.0,
    full: bool = False,
    only: Collection[str] | None = None,
) -> LinkReport:
    """Find copies and mentions among the posts changed since the last run (all of them
    with `full`, or exactly `only`) and bring `post_links` up to date.

    Call inside a transaction (`archive.transaction()`): the rows and the run's progress
    commit together.
    """
    conn = archive.conn
    report = LinkReport()
    state = _state(conn)
    scan = _scan(conn, state, full=full, only=only)
    report.scanned = len(scan.changed)
    if scan.changed:
        rows = _Rows(conn, report)
        claims = _claims(conn, scan)
        infos = dict(scan.changed)
        _infos(conn, (pid for c in claims for pid in (c.original, c.linked)), infos)
        _apply(rows, claims, infos)
        _match_texts(conn, rows, scan, text_threshold, timedelta(hours=text_window_hours))
        _prune(conn, rows, scan)
    if only is None:
        _save_state(conn, scan, state)
    return report


# --- short links -----------------------------------------------------------------------


def unresolved_links(archive: Archive, hosts: Collection[str], limit: int) -> list[str]:
    """Links on the given hosts (shorteners, our own sites) that match none of our posts
    and were never followed (or failed over a week ago): what the sync may resolve over
    HTTP, oldest first."""
    wanted = sorted({host.lower() for host in hosts if host})
    if not wanted or limit <= 0:
        return []
    rows = archive.query(
        f"""SELECT DISTINCT u.url FROM post_urls u
            WHERE u.how != 'self' AND u.host IN ({_marks(len(wanted))})
              AND NOT EXISTS (SELECT 1 FROM post_urls s WHERE s.key = u.key AND s.how = 'self')
              AND NOT EXISTS (SELECT 1 FROM link_redirects r WHERE r.url = u.url
                              AND (r.error IS NULL OR r.checked_at > ?))
            ORDER BY u.rowid LIMIT ?""",
        [*wanted, iso(utcnow() - RETRY_FAILED), limit],
    )
    return [row[0] for row in rows]


def save_redirects(
    archive: Archive, found: dict[str, str | None], errors: dict[str, str] | None = None
) -> list[str]:
    """Remember where short links lead (None: nowhere useful); return the posts that
    link to them, to be linked again. Call inside a transaction."""
    stamp = iso(utcnow())
    errors = errors or {}
    archive.conn.executemany(
        "INSERT OR REPLACE INTO link_redirects (url, target, checked_at, error) "
        "VALUES (?, ?, ?, ?)",
        [(url, target, stamp, errors.get(url)) for url, target in found.items()],
    )
    posts: set[str] = set()
    for chunk in _chunks(sorted(url for url, target in found.items() if target)):
        sql = f"SELECT DISTINCT post_id FROM post_urls WHERE url IN ({_marks(len(chunk))})"
        posts.update(row[0] for row in archive.conn.execute(sql, list(chunk)))
    return sorted(posts)


def own_hosts(archive: Archive) -> set[str]:
    """Hosts of our own sites (blogs: home pages and feed addresses). Social instances
    are left out: their hashtag and profile links are not redirects to our posts."""
    hosts: set[str] = set()
    rows = archive.query(
        "SELECT home_url, locator FROM sources WHERE type IN ('feed', 'wordpress')"
    )
    for home, locator in rows:
        for value in (home, locator):
            if isinstance(value, str) and "://" in value:
                host = url_host(value)
                if host:
                    hosts.add(host)
    return hosts


# --- manual corrections ----------------------------------------------------------------


def _post(archive: Archive, pid: str) -> _Info:
    known: dict[str, _Info] = {}
    _infos(archive.conn, [pid], known)
    if pid not in known:
        raise LinkError(f"no post {pid!r} in the archive")
    return known[pid]


def link_manually(
    archive: Archive, original: str, linked: str, relation: str = "copy"
) -> dict[str, Any]:
    """A person's link (`how = 'manual'`): detection never changes or removes it.

    A copy's earlier original loses it; copies of `linked` move to `original`. Call
    inside a transaction.
    """
    if relation not in ("copy", "mention"):
        raise LinkError(f"unknown relation {relation!r} (copy or mention)")
    if original == linked:
        raise LinkError("a post cannot be linked to itself")
    first, second = _post(archive, original), _post(archive, linked)
    if not first.is_own:
        raise LinkError(f"{original} is not one of our posts: only ours can be an original")
    report = LinkReport()
    rows = _Rows(archive.conn, report)
    archive.conn.execute(
        "DELETE FROM post_link_overrides WHERE (post_id = ? AND linked_id = ?) "
        "OR (post_id = ? AND linked_id = ?)",
        (original, linked, linked, original),
    )
    if relation == "copy":
        if not second.is_own:
            raise LinkError(f"{linked} is not one of our posts: link it with relation mention")
        above = rows.original_of(original)
        if above is not None and above[0] != linked:
            raise LinkError(
                f"{original} is a copy of {above[0]}: link {linked} to {above[0]} instead "
                f"(or `ownfeed unlink {above[0]} {original}` first)"
            )
        if above is not None:  # the two swap: `linked` was the original
            rows.delete(linked, original)
            rows.adopt(original, linked)
        existing = rows.original_of(linked)
        if existing is not None and existing[0] != original:
            rows.delete(existing[0], linked)
        rows.adopt(original, linked)
    rows.put(original, linked, relation, "manual")
    return {"post_id": original, "linked_id": linked, "relation": relation, "how": "manual"}


def unlink(archive: Archive, original: str, linked: str) -> int:
    """Remove the link between two posts (either way round) and remember it, so detection
    does not add it again. Returns the number of rows removed. Call inside a transaction."""
    if original == linked:
        raise LinkError("a post cannot be unlinked from itself")
    _post(archive, original)
    _post(archive, linked)
    cursor = archive.conn.execute(
        "DELETE FROM post_links WHERE (post_id = ? AND linked_id = ?) "
        "OR (post_id = ? AND linked_id = ?)",
        (original, linked, linked, original),
    )
    archive.conn.execute(
        "INSERT INTO post_link_overrides (post_id, linked_id, action, created_at) "
        "VALUES (?, ?, 'unlink', ?) ON CONFLICT (post_id, linked_id) DO UPDATE SET "
        "action = excluded.action, created_at = excluded.created_at",
        (original, linked, iso(utcnow())),
    )
    return cursor.rowcount
