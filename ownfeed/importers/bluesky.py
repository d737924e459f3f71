"""A Bluesky repository export (CAR file from `com.atproto.sync.getRepo`).

The CAR and its DAG-CBOR blocks are decoded by libipld; the repository's Merkle search tree
is walked here to find each record's key (`app.bsky.feed.post/<rkey>`), which gives the same
at:// native id as the API source. Blobs are not in a repository export: image rows point at
the CDN URL the AppView gives, and are downloaded by the next sync.
"""

from __future__ import annotations

import re
from typing import Any

import libipld

from ownfeed.importers.batch import ImportBatch, ImportOptions, provenance, text
from ownfeed.importers.bundle import Bundle, FileBundle
from ownfeed.models import Author, Media, Post, PostKind, parse_iso
from ownfeed.sources.richtext import facet_tags, profile_url, render

PLATFORM = "bluesky"
POST = "app.bsky.feed.post"
PROFILE = "app.bsky.actor.profile/self"
_RKEY = re.compile(r"^[A-Za-z0-9._:~-]{1,512}$")
_HANDLE = re.compile(r"^(?:https://bsky\.app/profile/)?@?([A-Za-z0-9.-]+\.[A-Za-z]{2,})/?$")
_MAX_MST_NODES = 10_000_000


def parse(bundle: Bundle, options: ImportOptions) -> ImportBatch:
    """Our posts from a Bluesky repository export (a CAR file), named by its profile."""
    if isinstance(bundle, FileBundle):
        members = bundle.names()
    else:
        members = sorted(n for n in bundle.names() if n.lower().endswith(".car"))
    if len(members) != 1:
        raise bundle.fail(bundle.label, f"expected one .car repository, found {len(members)}")
    member = members[0]
    try:
        header, blocks = libipld.decode_car(bundle.read(member))
    except Exception as error:  # the decoder's errors are plain ValueErrors and friends
        raise bundle.fail(member, f"not a readable CAR file ({error})") from None
    commit = _commit(bundle, member, header, blocks)
    did = str(commit["did"])
    records = dict(_walk(bundle, member, blocks, commit["data"]))
    profile = _block(blocks, records.get(PROFILE))
    handle = _handle(options.account) or did
    name = text(profile.get("displayName")) if isinstance(profile, dict) else None
    author = Author(platform=PLATFORM, handle=handle, name=name, url=profile_url(handle))
    batch = ImportBatch(platform=PLATFORM, account=handle)
    origin = provenance(bundle, member, PLATFORM)
    for key, cid in records.items():
        collection, _, rkey = key.partition("/")
        if collection != POST:
            continue
        record = _block(blocks, cid)
        if not isinstance(record, dict) or not _RKEY.match(rkey):
            raise bundle.fail(member, f"record {key}: missing or malformed")
        batch.posts.append(_post(did, handle, rkey, record, author, origin))
        options.tick()
    return batch


def _commit(bundle: Bundle, member: str, header: Any, blocks: dict[bytes, Any]) -> dict[str, Any]:
    roots = header.get("roots") if isinstance(header, dict) else None
    commit = _block(blocks, roots[0]) if isinstance(roots, list) and roots else None
    if not isinstance(commit, dict) or not isinstance(commit.get("did"), str):
        raise bundle.fail(member, "no signed commit at the CAR root: not a repository export")
    if not str(commit["did"]).startswith("did:") or not isinstance(commit.get("data"), bytes):
        raise bundle.fail(member, "the commit has no DID or no data tree")
    return commit


def _block(blocks: dict[bytes, Any], cid: Any) -> Any:
    return blocks.get(cid) if isinstance(cid, bytes) else None


def _walk(
    bundle: Bundle, member: str, blocks: dict[bytes, Any], root: bytes
) -> list[tuple[str, bytes]]:
    """Every (key, record CID) of the repository's Merkle search tree, in key order.

    A node is `{l: left subtree, e: [{p: shared prefix length, k: key suffix, v: value,
    t: right subtree}]}`; each key is the previous key's first `p` bytes plus `k`.
    """
    found: list[tuple[str, bytes]] = []
    stack: list[Any] = [root]
    visited: set[bytes] = set()
    while stack:
        item = stack.pop()
        if isinstance(item, tuple):
            found.append(item)
            continue
        if item in visited or len(visited) > _MAX_MST_NODES:
            raise bundle.fail(member, "the record tree loops")
        visited.add(item)
        node = _block(blocks, item)
        if not isinstance(node, dict) or not isinstance(node.get("e"), list):
            raise bundle.fail(member, "a block of the record tree is missing: truncated export")
        pending: list[Any] = []
        if node.get("l") is not None:
            pending.append(node["l"])
        previous = b""
        for entry in node["e"]:
            if not isinstance(entry, dict) or not isinstance(entry.get("k"), bytes):
                raise bundle.fail(member, "a malformed entry in the record tree")
            key = previous[: int(entry.get("p") or 0)] + entry["k"]
            previous = key
            try:
                pending.append((key.decode("utf-8"), entry.get("v")))
            except UnicodeDecodeError:
                raise bundle.fail(member, "a record key is not UTF-8") from None
            if entry.get("t") is not None:
                pending.append(entry["t"])
        stack += reversed(pending)
    return found


def _handle(account: str | None) -> str | None:
    match = _HANDLE.match((account or "").strip())
    return match.group(1).lower() if match else None


def _post(
    did: str,
    handle: str,
    rkey: str,
    record: dict[str, Any],
    author: Author,
    origin: dict[str, str],
) -> Post:
    body = record.get("text") if isinstance(record.get("text"), str) else ""
    reply = record.get("reply")
    if not isinstance(reply, dict):
        reply = {}
    parent, root = _ref(reply.get("parent")), _ref(reply.get("root"))
    langs = record.get("langs")
    kind: PostKind = "reply" if parent else "post"
    return Post(
        platform=PLATFORM,
        native_id=f"at://{did}/{POST}/{rkey}",
        kind=kind,
        is_own=True,
        url=f"{profile_url(handle)}/post/{rkey}",
        content_html=render(str(body), _facets(record)) or None,
        content_text=str(body),
        language=text(langs[0]) if isinstance(langs, list) and langs else None,
        author=author,
        published_at=parse_iso(text(record.get("createdAt"))),
        in_reply_to=parent,
        in_reply_to_url=web_url(parent) if parent else None,
        thread_root=root if parent else None,
        tags=_tags(record),
        media=_images(did, record.get("embed")),
        raw={"import": origin, "record": jsonable(record)},
    )


def _ref(value: Any) -> str | None:
    uri = text(value.get("uri")) if isinstance(value, dict) else None
    return uri if uri and uri.startswith("at://") else None


def web_url(at_uri: str) -> str | None:
    """at://<did>/app.bsky.feed.post/<rkey> -> https://bsky.app/profile/<did>/post/<rkey>."""
    parts = at_uri.removeprefix("at://").split("/")
    if len(parts) == 3 and parts[1] == POST:
        return f"{profile_url(parts[0])}/post/{parts[2]}"
    return None


def _facets(record: dict[str, Any]) -> list[Any]:
    facets = record.get("facets")
    return facets if isinstance(facets, list) else []


def _tags(record: dict[str, Any]) -> tuple[str, ...]:
    """Tags given outside the text (`tags`) and inside it (`#tag` facets)."""
    listed = record.get("tags")
    tags = [t for t in (text(v) for v in (listed if isinstance(listed, list) else ())) if t]
    return tuple(dict.fromkeys(tags + facet_tags(_facets(record))))


def _images(did: str, embed: Any) -> tuple[Media, ...]:
    """Image blobs as the AppView's full-size CDN URLs (recordWithMedia wraps them)."""
    if not isinstance(embed, dict):
        return ()
    if isinstance(embed.get("media"), dict):
        embed = embed["media"]
    images = embed.get("images") if str(embed.get("$type", "")).endswith("images") else None
    media: list[Media] = []
    for image in images if isinstance(images, list) else ():
        blob = image.get("image") if isinstance(image, dict) else None
        cid = _blob_cid(blob)
        if cid and isinstance(image, dict):
            media.append(
                Media(
                    url=f"https://cdn.bsky.app/img/feed_fullsize/plain/{did}/{cid}@jpeg",
                    kind="image",
                    mime=text(blob.get("mimeType")) if isinstance(blob, dict) else None,
                    alt=text(image.get("alt")),
                )
            )
    return tuple(media)


def _blob_cid(blob: Any) -> str | None:
    if not isinstance(blob, dict):
        return None
    ref = blob.get("ref")
    if isinstance(ref, bytes):
        return _cid_text(ref)
    return text(blob.get("cid"))  # legacy blobs name the CID as a string


def _cid_text(value: bytes) -> str | None:
    try:
        return str(libipld.encode_cid(value))
    except Exception:
        return None


def jsonable(value: Any) -> Any:
    """A decoded record as JSON: CID links as their string form, other bytes as hex."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [jsonable(v) for v in value]
    if isinstance(value, bytes):
        cid = _cid_text(value) if value[:1] == b"\x01" else None
        return {"$link": cid} if cid else {"$bytes": value.hex()}
    return value
