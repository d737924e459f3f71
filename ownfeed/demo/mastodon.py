"""A sample Mastodon instance with the Novosyx account, for `ownfeed demo` and tests.

Serves the REST API the Mastodon source reads (`/api/v1/accounts/lookup`, account
statuses with `Link` paging, `/statuses/:id`, `/statuses/:id/context`, WebFinger) and the
media files, all on the demo server. Every account is local to this instance (whose domain
is `DOMAIN`), so `--verify` asks the demo server about every status and never leaves it.
`change_world()` plays what happens between two syncs: a toot deleted, a toot edited, a new
post, a new reply.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from ownfeed.demo.blog import GUID_BASE as BLOG_HOME
from ownfeed.demo.images import sample_image
from ownfeed.demo.web import DemoRequest, DemoResponse, Handler

USERNAME = "novosyx"
#: The instance's own domain: status URIs and handles use it, so they stay the same whatever
#: port the demo server gets; the API and media are reached at the demo server's address.
DOMAIN = "social.novosyx.example"
_HOME = f"https://{DOMAIN}"
PAGE_LIMIT = 40
_FILES = "/mastodon-files/"


@dataclass(frozen=True)
class Person:
    id: str
    username: str
    name: str
    colour: tuple[int, int, int]


@dataclass
class Toot:
    """One status of the sample world; `boost_of` makes it a boost (reblog)."""

    id: str
    by: str
    when: str
    html: str = ""
    reply_to: str | None = None
    spoiler: str = ""
    edited: str | None = None
    image: tuple[str, str] | None = None  # (file name, alt text)
    boost_of: str | None = None
    tags: tuple[str, ...] = ()
    gone: bool = False


PEOPLE = {
    p.username: p
    for p in (
        Person("100000000000000001", USERNAME, "Novosyx GmbH", (20, 90, 160)),
        Person("100000000000000002", "joerg", "Jörg Müller", (160, 60, 40)),
        Person("100000000000000003", "zoe", "Zoë Weiß", (60, 140, 60)),
        Person("100000000000000004", "ana", "Ana Sousa", (140, 60, 140)),
        Person("100000000000000005", "max", "Max Mustermann", (90, 90, 90)),
    )
}
_IMAGES = {"lager": (200, 150, 60), "release": (30, 110, 200)}


def _toots() -> list[Toot]:
    """The sample conversations: replies both ways, a boost, a content warning, images."""
    return [
        Toot("113000000000000010", USERNAME, "2025-01-15T09:05:00Z",
             "<p>Hallo Fediverse! Novosyx ist jetzt auch hier. Wir schreiben über Vertrauen "
             "und Technik.</p>"),
        Toot("113000000000000011", "joerg", "2025-01-15T10:00:00Z",
             "<p>Willkommen im Fediverse, Novosyx!</p>", reply_to="113000000000000010"),
        Toot("113000000000000012", USERNAME, "2025-01-15T10:30:00Z",
             "<p>Danke, Jörg! Schön, dass du da bist.</p>", reply_to="113000000000000011"),
        Toot("113000000000000013", "zoe", "2025-01-15T11:00:00Z",
             "<p>Freut mich auch sehr. Bin gespannt, was ihr erzählt.</p>",
             reply_to="113000000000000012"),
        Toot("113000000000000020", USERNAME, "2025-04-02T15:00:00Z",
             '<p>Neu im Blog: Vertrauen ist alles. <a href="{blog}/vertrauen-ist-alles/" '
             'rel="nofollow noopener" target="_blank">{blog}/vertrauen-ist-alles/</a></p>',
             image=("lager", "Unser Lager in Köln, Regale voller Kartons"), tags=("vertrauen",)),
        Toot("113000000000000021", "ana", "2025-04-02T16:10:00Z",
             "<p>Sehr wahr – danke für den Artikel!</p>", reply_to="113000000000000020"),
        Toot("113000000000000030", "max", "2025-06-01T08:00:00Z",
             "<p>Kennt jemand ein gutes Werkzeug, um Social-Media-Konten zu archivieren?</p>"),
        Toot("113000000000000031", USERNAME, "2025-06-01T09:00:00Z",
             "<p>Wir bauen gerade eins, Max: ownfeed. Bald mehr!</p>",
             reply_to="113000000000000030"),
        Toot("113000000000000040", "ana", "2025-07-20T12:00:00Z",
             "<p>Datenhoheit beginnt zu Hause. :blobcat:</p>"),
        Toot("113000000000000041", USERNAME, "2025-07-20T13:00:00Z",
             boost_of="113000000000000040"),
        Toot("113000000000000050", USERNAME, "2025-09-10T08:30:00Z",
             "<p>Novosyx 2.0 ist da: Export, Suche und ein dunkler Modus.</p>",
             spoiler="Release-Spoiler", edited="2025-09-10T08:45:00Z",
             image=("release", "Screenshot der Version 2.0")),
        Toot("113000000000000060", USERNAME, "2026-01-15T09:30:00Z",
             "<p>Ein Jahr Novosyx im Fediverse. Danke an alle, die mitreden!</p>"),
    ]  # fmt: skip


@dataclass
class MastodonSample:
    """The sample instance. Change `toots` (or call `change_world`) between syncs."""

    toots: list[Toot] = field(default_factory=_toots)

    # --- the world ---------------------------------------------------------------------

    def change_world(self) -> None:
        """Between two syncs: one toot deleted, one edited, a new post and a new reply."""
        self._find("113000000000000060").gone = True
        release = self._find("113000000000000050")
        release.html = "<p>Novosyx 2.0 ist da: Export, Suche, dunkler Modus und Archiv.</p>"
        release.edited = "2026-02-01T10:00:00Z"
        self.toots.append(
            Toot("113000000000000070", USERNAME, "2026-02-02T09:00:00Z",
                 "<p>Unser Archiv ist jetzt öffentlich. Vertrauen braucht Nachweise.</p>")
        )  # fmt: skip
        self.toots.append(
            Toot("113000000000000071", "joerg", "2026-02-02T10:00:00Z",
                 "<p>Spät, aber: toller Artikel!</p>", reply_to="113000000000000020")
        )  # fmt: skip

    def _find(self, toot_id: str) -> Toot:
        return next(t for t in self.toots if t.id == toot_id)

    def _live(self) -> list[Toot]:
        return [t for t in self.toots if not t.gone]

    def _get(self, toot_id: str) -> Toot | None:
        return next((t for t in self._live() if t.id == toot_id), None)

    # --- JSON --------------------------------------------------------------------------

    def account(self, base: str, person: Person) -> dict[str, Any]:
        avatar = f"{base}{_FILES}avatar-{person.username}.png"
        return {
            "id": person.id,
            "username": person.username,
            "acct": person.username,
            "display_name": person.name,
            "locked": False,
            "bot": False,
            "created_at": "2024-11-01T00:00:00.000Z",
            "note": "<p>Wir liefern.</p>" if person.username == USERNAME else "<p></p>",
            "url": f"{_HOME}/@{person.username}",
            "uri": f"{_HOME}/users/{person.username}",
            "avatar": avatar,
            "avatar_static": avatar,
            "followers_count": 42,
            "following_count": 7,
            "statuses_count": sum(t.by == person.username for t in self._live()),
            "emojis": [],
            "fields": [],
        }

    def status(self, base: str, toot: Toot) -> dict[str, Any]:
        person = PEOPLE[toot.by]
        uri = f"{_HOME}/users/{person.username}/statuses/{toot.id}"
        parent = self._get(toot.reply_to) if toot.reply_to else None
        boosted = self._get(toot.boost_of) if toot.boost_of else None
        live = self._live()
        return {
            "id": toot.id,
            "created_at": toot.when.replace("Z", ".000Z"),
            "in_reply_to_id": toot.reply_to,
            "in_reply_to_account_id": PEOPLE[parent.by].id if parent else None,
            "sensitive": bool(toot.spoiler),
            "spoiler_text": toot.spoiler,
            "visibility": "public",
            "language": None if toot.boost_of else "de",
            "uri": uri + ("/activity" if toot.boost_of else ""),
            "url": None if toot.boost_of else f"{_HOME}/@{person.username}/{toot.id}",
            "replies_count": sum(t.reply_to == toot.id for t in live),
            "reblogs_count": sum(t.boost_of == toot.id for t in live),
            "favourites_count": 3,
            "edited_at": toot.edited.replace("Z", ".000Z") if toot.edited else None,
            "content": toot.html.replace("{blog}", BLOG_HOME),
            "reblog": self.status(base, boosted) if boosted else None,
            "application": None if toot.boost_of else {"name": "Web", "website": None},
            "account": self.account(base, person),
            "media_attachments": [self._attachment(base, toot)] if toot.image else [],
            "mentions": [],
            "tags": [{"name": t, "url": f"{_HOME}/tags/{t}"} for t in toot.tags],
            "emojis": [],
            "card": None,
            "poll": None,
        }

    def _attachment(self, base: str, toot: Toot) -> dict[str, Any]:
        name, alt = toot.image or ("", "")
        url = f"{base}{_FILES}{name}.png"
        size = {"width": 64, "height": 48, "size": "64x48", "aspect": 1.333}
        return {
            "id": f"{toot.id}9",
            "type": "image",
            "url": url,
            "preview_url": url,
            "remote_url": None,
            "meta": {"original": size, "small": size},
            "description": alt,
            "blurhash": "UBL_:rOpGG-;~qRjWBay",
        }

    # --- HTTP --------------------------------------------------------------------------

    def routes(self) -> dict[str, Handler]:
        return {
            "/api/v1/accounts/lookup": self._lookup,
            "/api/v1/accounts/": self._account_statuses,
            "/api/v1/statuses/": self._statuses,
            "/.well-known/webfinger": self._webfinger,
            _FILES: self._file,
        }

    def _lookup(self, request: DemoRequest) -> DemoResponse:
        person = PEOPLE.get(request.query.get("acct", "").split("@", 1)[0])
        if person is None:
            return _json({"error": "Record not found"}, 404)
        return _json(self.account(request.base_url, person))

    def _account_statuses(self, request: DemoRequest) -> DemoResponse:
        parts = request.path.strip("/").split("/")  # api v1 accounts <id> statuses
        person = next((p for p in PEOPLE.values() if parts[3:4] == [p.id]), None)
        if person is None or parts[4:] != ["statuses"]:
            return _json({"error": "Record not found"}, 404)
        limit = min(int(request.query.get("limit", "20") or 20), PAGE_LIMIT)
        max_id = request.query.get("max_id")
        mine = sorted((t for t in self._live() if t.by == person.username), key=lambda t: t.id)
        older = [t for t in reversed(mine) if not max_id or t.id < max_id]
        page = older[:limit]
        base = request.base_url
        headers: dict[str, str] = {}
        if page:
            url = f"{base}/api/v1/accounts/{person.id}/statuses?limit={limit}"
            links = [f'<{url}&min_id={page[0].id}>; rel="prev"']
            if len(older) > limit:
                links.insert(0, f'<{url}&max_id={page[-1].id}>; rel="next"')
            headers["Link"] = ", ".join(links)
        return _json([self.status(base, t) for t in page], headers=headers)

    def _statuses(self, request: DemoRequest) -> DemoResponse:
        parts = request.path.strip("/").split("/")  # api v1 statuses <id> [context]
        toot = self._get(parts[3]) if len(parts) > 3 else None
        if toot is None or parts[4:] not in ([], ["context"]):
            return _json({"error": "Record not found"}, 404)
        base = request.base_url
        if parts[4:] == []:
            return _json(self.status(base, toot))
        return _json(
            {
                "ancestors": [self.status(base, t) for t in self._ancestors(toot)],
                "descendants": [self.status(base, t) for t in self._descendants(toot)],
            }
        )

    def _ancestors(self, toot: Toot) -> list[Toot]:
        chain: list[Toot] = []
        parent = self._get(toot.reply_to) if toot.reply_to else None
        while parent is not None:
            chain.insert(0, parent)
            parent = self._get(parent.reply_to) if parent.reply_to else None
        return chain

    def _descendants(self, toot: Toot) -> list[Toot]:
        found: list[Toot] = []
        for child in sorted(self._live(), key=lambda t: t.id):
            if child.reply_to == toot.id:
                found.append(child)
                found.extend(self._descendants(child))
        return found

    def _webfinger(self, request: DemoRequest) -> DemoResponse:
        if request.query.get("resource") != f"acct:{USERNAME}@{DOMAIN}":
            return _json({}, 404)
        return _json(
            {
                "subject": f"acct:{USERNAME}@{DOMAIN}",
                "links": [
                    {"rel": "self", "type": "application/activity+json",
                     "href": f"{_HOME}/users/{USERNAME}"},
                    {"rel": "http://webfinger.net/rel/profile-page", "type": "text/html",
                     "href": f"{_HOME}/@{USERNAME}"},
                ],
            }
        )  # fmt: skip

    def _file(self, request: DemoRequest) -> DemoResponse:
        name = request.path.removeprefix(_FILES).removesuffix(".png")
        avatars = {key: person.colour for key, person in PEOPLE.items()}
        return sample_image(name, avatars, _IMAGES)


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> DemoResponse:
    """JSON with Mastodon's rate-limit headers (a budget that never runs out here)."""
    limits = {
        "X-RateLimit-Limit": "300",
        "X-RateLimit-Remaining": "299",
        "X-RateLimit-Reset": datetime.now(UTC).replace(microsecond=0).isoformat(),
    }
    return DemoResponse.json(data, status, **limits, **(headers or {}))


def routes() -> dict[str, Handler]:
    """The sample instance's routes, to mount on a DemoWeb."""
    return MastodonSample().routes()


def source_entries(base_url: str) -> list[dict[str, Any]]:
    """The config entry that archives the sample account from the demo server."""
    return [
        {
            "name": "mastodon",
            "type": "mastodon",
            "account": f"@{USERNAME}@{DOMAIN}",
            "instance": base_url.rstrip("/"),
        }
    ]
