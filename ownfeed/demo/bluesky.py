"""A sample Bluesky AppView with the Novosyx account, for `ownfeed demo` and tests.

Serves the XRPC methods the Bluesky source reads (`app.bsky.actor.getProfile`,
`app.bsky.feed.getAuthorFeed`, `getPostThread`, `getPosts`) and a tiny image CDN, all on the
demo server. Texts carry facets with UTF-8 byte offsets computed from the text, so umlauts
and emoji sit before links as they do in real posts. `change_world()` plays what happens
between two syncs: a post deleted, a record rewritten, a new post, a new reply.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any

from ownfeed.demo.blog import GUID_BASE as BLOG_HOME
from ownfeed.demo.images import sample_image
from ownfeed.demo.web import DemoRequest, DemoResponse, Handler

HANDLE = "novosyx.bsky.social"
_CDN = "/bsky-cdn/"
_POST = "app.bsky.feed.post"
_MENTION = "app.bsky.richtext.facet#mention"
_LINK = "app.bsky.richtext.facet#link"
_TAG = "app.bsky.richtext.facet#tag"


@dataclass(frozen=True)
class Person:
    did: str
    handle: str
    name: str
    colour: tuple[int, int, int]


PEOPLE = {
    p.handle.split(".", 1)[0]: p
    for p in (
        Person("did:plc:novosyxdemoa2b3c4d5e6f7g", HANDLE, "Novosyx GmbH", (20, 90, 160)),
        Person(
            "did:plc:joergdemoa2b3c4d5e6f7g2h", "joerg.bsky.social", "Jörg Müller", (160, 60, 40)
        ),
        Person("did:plc:zoedemoa2b3c4d5e6f7g2h3i", "zoe.bsky.social", "Zoë Weiß", (60, 140, 60)),
        Person("did:plc:anademoa2b3c4d5e6f7g2h3i", "ana.bsky.social", "Ana Sousa", (140, 60, 140)),
        Person(
            "did:plc:maxdemoa2b3c4d5e6f7g2h3i", "max.bsky.social", "Max Mustermann", (90, 90, 90)
        ),
    )
}
OWN = PEOPLE["novosyx"]
_IMAGES = {"release": (30, 110, 200), "card": (200, 150, 60)}


@dataclass
class Skeet:
    """One post (or, with `repost_of`, one repost) of the sample world.

    `marks` are (exact text, facet feature) pairs: the facet's byte range is found in the
    text; "{blog}" in a link is replaced by the demo server's address.
    """

    rkey: str
    by: str
    when: str
    text: str = ""
    reply_to: str | None = None
    marks: tuple[tuple[str, dict[str, str]], ...] = ()
    image: tuple[str, str] | None = None  # (file name, alt text)
    card: tuple[str, str, str] | None = None  # (url, title, description)
    quote: str | None = None
    repost_of: str | None = None
    gone: bool = False


def _skeets() -> list[Skeet]:
    """The sample conversations: replies both ways, a quote, a repost, a card, an image."""
    return [
        Skeet("3lfaaaaaaaa2a", "novosyx", "2025-01-15T09:10:00.000Z",
              "Hallo Bluesky! Novosyx ist jetzt auch hier – mehr über uns im Blog.",
              marks=(("im Blog", {"$type": _LINK, "uri": "{blog}/"}),)),
        Skeet("3llbbbbbbbb2b", "novosyx", "2025-04-02T15:05:00.000Z",
              "Vertrauen ist alles: unser neuer Blogartikel. #Vertrauen",
              marks=(("#Vertrauen", {"$type": _TAG, "tag": "Vertrauen"}),),
              card=("{blog}/vertrauen-ist-alles/", "Vertrauen ist alles",
                    "Social Media ohne Vertrauen ist wie ein Haus ohne Fundament.")),
        Skeet("3llcccccccc2c", "zoe", "2025-04-02T16:00:00.000Z",
              "Großartig geschrieben, @novosyx.bsky.social! 👏", reply_to="3llbbbbbbbb2b",
              marks=(("@novosyx.bsky.social", {"$type": _MENTION, "did": OWN.did}),)),
        Skeet("3llddddddd22", "novosyx", "2025-04-02T16:30:00.000Z",
              "Danke, Zoë! 💙", reply_to="3llcccccccc2c"),
        Skeet("3lleeeeeee22", "joerg", "2025-04-02T17:00:00.000Z",
              "Dem schließe ich mich an.", reply_to="3llddddddd22"),
        Skeet("3lqffffffff2f", "ana", "2025-06-10T08:00:00.000Z",
              "Wer archiviert eigentlich seine eigenen Posts?"),
        Skeet("3lqgggggggg2g", "novosyx", "2025-06-10T09:00:00.000Z",
              "Wir! Und bald ihr auch. 🗄️", quote="3lqffffffff2f"),
        Skeet("3lshhhhhhhh2h", "max", "2025-07-01T10:00:00.000Z",
              "Vortrag über Datenhoheit am Freitag in Köln. Kommt vorbei!"),
        Skeet("3lsiiiiiiii2i", "novosyx", "2025-07-01T11:00:00.000Z",
              repost_of="3lshhhhhhhh2h"),
        Skeet("3lvjjjjjjjj2j", "joerg", "2025-08-01T08:00:00.000Z",
              "Welche Werkzeuge nutzt ihr für Backups eurer Konten?"),
        Skeet("3lvkkkkkkkk2k", "zoe", "2025-08-01T08:20:00.000Z",
              "Gute Frage, Jörg. Bin auch neugierig.", reply_to="3lvjjjjjjjj2j"),
        Skeet("3lvllllllll2l", "novosyx", "2025-08-01T09:00:00.000Z",
              "Wir nutzen unser eigenes Archiv: ownfeed.", reply_to="3lvkkkkkkkk2k"),
        Skeet("3lxmmmmmmmm2m", "novosyx", "2025-09-10T08:35:00.000Z",
              "Novosyx 2.0 ist da: Export, Suche und ein dunkler Modus.",
              image=("release", "Screenshot der Version 2.0")),
    ]  # fmt: skip


@dataclass
class BlueskySample:
    """The sample AppView. Change `skeets` (or call `change_world`) between syncs."""

    skeets: list[Skeet] = field(default_factory=_skeets)

    # --- the world ---------------------------------------------------------------------

    def change_world(self) -> None:
        """Between two syncs: one post deleted, one rewritten, a new post and a new reply."""
        self._find("3lfaaaaaaaa2a").gone = True
        self._find("3lxmmmmmmmm2m").text = "Novosyx 2.0 ist da: Export, Suche, Archiv."
        self.skeets.append(
            Skeet("3mbnnnnnnnn2n", "novosyx", "2026-02-02T09:05:00.000Z",
                  "Unser Archiv ist jetzt öffentlich. Vertrauen braucht Nachweise.")
        )  # fmt: skip
        self.skeets.append(
            Skeet("3mboooooooo2o", "ana", "2026-02-02T10:00:00.000Z",
                  "Spät, aber: toller Artikel!", reply_to="3llbbbbbbbb2b")
        )  # fmt: skip

    def _find(self, rkey: str) -> Skeet:
        return next(s for s in self.skeets if s.rkey == rkey)

    def _live(self) -> list[Skeet]:
        return [s for s in self.skeets if not s.gone]

    def _get(self, rkey: str | None) -> Skeet | None:
        return next((s for s in self._live() if s.rkey == rkey), None) if rkey else None

    def _by_uri(self, uri: str) -> Skeet | None:
        return next((s for s in self._live() if self.uri(s) == uri), None)

    def uri(self, skeet: Skeet) -> str:
        collection = "app.bsky.feed.repost" if skeet.repost_of else _POST
        return f"at://{PEOPLE[skeet.by].did}/{collection}/{skeet.rkey}"

    def _root(self, skeet: Skeet) -> Skeet:
        parent = self._get(skeet.reply_to)
        return skeet if parent is None else self._root(parent)

    # --- JSON --------------------------------------------------------------------------

    def profile(self, base: str, person: Person) -> dict[str, Any]:
        key = person.handle.split(".", 1)[0]
        return {
            "did": person.did,
            "handle": person.handle,
            "displayName": person.name,
            "avatar": f"{base}{_CDN}img/avatar/plain/{person.did}/avatar-{key}@png",
            "labels": [],
            "createdAt": "2024-11-01T00:00:00.000Z",
        }

    def _cid(self, skeet: Skeet) -> str:
        digest = hashlib.sha256(f"{skeet.rkey}\0{skeet.text}".encode()).hexdigest()
        return "bafyrei" + digest[:40]

    def _facets(self, base: str, skeet: Skeet) -> list[dict[str, Any]]:
        data = skeet.text.encode("utf-8")
        facets = []
        for needle, feature in skeet.marks:
            start = data.find(needle.encode("utf-8"))
            if start < 0:
                continue
            resolved = {k: v.replace("{blog}", BLOG_HOME) for k, v in feature.items()}
            facets.append(
                {
                    "$type": "app.bsky.richtext.facet",
                    "index": {"byteStart": start, "byteEnd": start + len(needle.encode())},
                    "features": [resolved],
                }
            )
        return facets

    def record(self, base: str, skeet: Skeet) -> dict[str, Any]:
        record: dict[str, Any] = {
            "$type": _POST,
            "createdAt": skeet.when,
            "langs": ["de"],
            "text": skeet.text,
        }
        if facets := self._facets(base, skeet):
            record["facets"] = facets
        parent = self._get(skeet.reply_to)
        if parent is not None:
            root = self._root(parent)
            record["reply"] = {
                "parent": {"uri": self.uri(parent), "cid": self._cid(parent)},
                "root": {"uri": self.uri(root), "cid": self._cid(root)},
            }
        return record

    def post_view(self, base: str, skeet: Skeet, quotes: bool = True) -> dict[str, Any]:
        live = self._live()
        view: dict[str, Any] = {
            "uri": self.uri(skeet),
            "cid": self._cid(skeet),
            "author": self.profile(base, PEOPLE[skeet.by]),
            "record": self.record(base, skeet),
            "replyCount": sum(s.reply_to == skeet.rkey for s in live),
            "repostCount": sum(s.repost_of == skeet.rkey for s in live),
            "likeCount": 5,
            "quoteCount": sum(s.quote == skeet.rkey for s in live),
            "indexedAt": skeet.when,
            "labels": [],
        }
        if embed := self._embed(base, skeet, quotes):
            view["embed"] = embed
        return view

    def _embed(self, base: str, skeet: Skeet, quotes: bool) -> dict[str, Any] | None:
        did = PEOPLE[skeet.by].did
        if skeet.image:
            name, alt = skeet.image
            url = f"{base}{_CDN}img/feed_fullsize/plain/{did}/{name}@png"
            size = {"width": 64, "height": 48}
            image = {"thumb": url, "fullsize": url, "alt": alt, "aspectRatio": size}
            return {"$type": "app.bsky.embed.images#view", "images": [image]}
        if skeet.card:
            url, title, description = skeet.card
            thumb = f"{base}{_CDN}img/feed_thumbnail/plain/{did}/card@png"
            external = {"uri": url.replace("{blog}", BLOG_HOME), "title": title}
            external.update(description=description, thumb=thumb)
            return {"$type": "app.bsky.embed.external#view", "external": external}
        quoted = self._get(skeet.quote)
        if quoted is not None and quotes:
            inner = self.post_view(base, quoted, quotes=False)
            record = {"$type": "app.bsky.embed.record#viewRecord", **inner}
            record["value"] = record.pop("record")
            record["embeds"] = [record.pop("embed")] if "embed" in record else []
            return {"$type": "app.bsky.embed.record#view", "record": record}
        return None

    def _feed_item(self, base: str, skeet: Skeet) -> dict[str, Any] | None:
        if skeet.repost_of:
            subject = self._get(skeet.repost_of)
            if subject is None:
                return None
            reason = {
                "$type": "app.bsky.feed.defs#reasonRepost",
                "by": self.profile(base, PEOPLE[skeet.by]),
                "uri": self.uri(skeet),
                "cid": self._cid(skeet),
                "indexedAt": skeet.when,
            }
            return {"post": self.post_view(base, subject), "reason": reason}
        item: dict[str, Any] = {"post": self.post_view(base, skeet)}
        parent = self._get(skeet.reply_to)
        if parent is not None:
            view = "app.bsky.feed.defs#postView"
            item["reply"] = {
                "root": {"$type": view, **self.post_view(base, self._root(parent))},
                "parent": {"$type": view, **self.post_view(base, parent)},
            }
        return item

    def _thread_node(self, base: str, skeet: Skeet, depth: int) -> dict[str, Any]:
        node: dict[str, Any] = {
            "$type": "app.bsky.feed.defs#threadViewPost",
            "post": self.post_view(base, skeet),
        }
        if depth > 0:
            children = sorted((s for s in self._live() if s.reply_to == skeet.rkey), key=_when)
            node["replies"] = [self._thread_node(base, c, depth - 1) for c in children]
        return node

    def thread(self, base: str, skeet: Skeet, depth: int, height: int) -> dict[str, Any]:
        node = self._thread_node(base, skeet, depth)
        current, parent = node, self._get(skeet.reply_to)
        while parent is not None and height > 0:
            current["parent"] = {
                "$type": "app.bsky.feed.defs#threadViewPost",
                "post": self.post_view(base, parent),
            }
            current, parent, height = current["parent"], self._get(parent.reply_to), height - 1
        return node

    # --- HTTP --------------------------------------------------------------------------

    def routes(self) -> dict[str, Handler]:
        return {
            "/xrpc/app.bsky.actor.getProfile": self._get_profile,
            "/xrpc/app.bsky.feed.getAuthorFeed": self._get_author_feed,
            "/xrpc/app.bsky.feed.getPostThread": self._get_post_thread,
            "/xrpc/app.bsky.feed.getPosts": self._get_posts,
            _CDN: self._file,
        }

    def _person(self, actor: str) -> Person | None:
        return next((p for p in PEOPLE.values() if actor in (p.did, p.handle)), None)

    def _get_profile(self, request: DemoRequest) -> DemoResponse:
        person = self._person(request.query.get("actor", ""))
        if person is None:
            return _error("InvalidRequest", "Profile not found")
        profile = self.profile(request.base_url, person)
        count = sum(s.by == person.handle.split(".", 1)[0] for s in self._live())
        return _json({**profile, "postsCount": count, "followersCount": 42, "followsCount": 7})

    def _get_author_feed(self, request: DemoRequest) -> DemoResponse:
        person = self._person(request.query.get("actor", ""))
        if person is None:
            return _error("InvalidRequest", "Profile not found")
        base = request.base_url
        key = person.handle.split(".", 1)[0]
        mine = sorted((s for s in self._live() if s.by == key), key=_when, reverse=True)
        items = [item for s in mine if (item := self._feed_item(base, s))]
        offset = int(request.query.get("cursor", "0") or 0)
        limit = max(1, min(int(request.query.get("limit", "50") or 50), 100))
        body: dict[str, Any] = {"feed": items[offset : offset + limit]}
        if offset + limit < len(items):
            body["cursor"] = str(offset + limit)
        return _json(body)

    def _get_post_thread(self, request: DemoRequest) -> DemoResponse:
        uri = request.query.get("uri", "")
        skeet = self._by_uri(uri)
        if skeet is None:
            return _error("NotFound", f"Post not found: {uri}")
        depth = int(request.query.get("depth", "6") or 6)
        height = int(request.query.get("parentHeight", "80") or 80)
        return _json({"thread": self.thread(request.base_url, skeet, depth, height)})

    def _get_posts(self, request: DemoRequest) -> DemoResponse:
        uris = request.query_lists.get("uris", [])
        if len(uris) > 25:
            return _error("InvalidRequest", "uris must not have more than 25 elements")
        base = request.base_url
        found = [self.post_view(base, s) for uri in uris if (s := self._by_uri(uri))]
        return _json({"posts": found})

    def _file(self, request: DemoRequest) -> DemoResponse:
        name = request.path.rsplit("/", 1)[-1].split("@", 1)[0]
        avatars = {key: person.colour for key, person in PEOPLE.items()}
        return sample_image(name, avatars, _IMAGES)


def _when(skeet: Skeet) -> str:
    return skeet.when


def _json(data: Any, status: int = 200) -> DemoResponse:
    """JSON with the XRPC server's rate-limit headers (a budget that never runs out here)."""
    return DemoResponse.json(
        data,
        status,
        **{
            "RateLimit-Limit": "3000",
            "RateLimit-Remaining": "2999",
            "RateLimit-Policy": "3000;w=300",
        },
    )


def _error(name: str, message: str) -> DemoResponse:
    """An XRPC error: HTTP 400 with `error` and `message`."""
    return _json({"error": name, "message": message}, 400)


def routes() -> dict[str, Handler]:
    """The sample AppView's routes, to mount on a DemoWeb."""
    return BlueskySample().routes()


def source_entries(base_url: str) -> list[dict[str, Any]]:
    """The config entry that archives the sample account from the demo server."""
    return [
        {"name": "bluesky", "type": "bluesky", "account": HANDLE, "appview": base_url.rstrip("/")}
    ]
