"""Builds the small export archives the importer tests read (run it to regenerate them).

Each archive follows the platform's documented layout (see PLATFORMS.md §3.7, §4.7, §5, §6
and the WordPress section) with made-up content. Facebook and Instagram text is written the
way Meta writes it: UTF-8 bytes escaped one `\\u00XX` per byte (`meta_json`). Output is
deterministic: zip entries carry a fixed timestamp, so regenerating gives the same bytes.

    python tests/data/import/make_fixtures.py
"""

from __future__ import annotations

import hashlib
import json
import zipfile
from pathlib import Path
from typing import Any

import libipld

HERE = Path(__file__).parent
STAMP = (2024, 1, 1, 0, 0, 0)

# --------------------------------------------------------------------------- twitter

OWN_ID = "1111111111"
PHOTO_BYTES = b"\xff\xd8\xff\xe0fake-jpeg-office"


def tweet(tid: str, created: str, full_text: str, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "edit_info": {
            "initial": {
                "editTweetIds": [tid],
                "editableUntil": "2022-12-01T11:00:00.000Z",
                "editsRemaining": "5",
                "isEditEligible": True,
            }
        },
        "retweeted": False,
        "source": '<a href="https://mobile.twitter.com" rel="nofollow">Twitter Web App</a>',
        "entities": {"hashtags": [], "symbols": [], "user_mentions": [], "urls": []},
        "display_text_range": ["0", str(len(full_text))],
        "favorite_count": "0",
        "id_str": tid,
        "truncated": False,
        "retweet_count": "0",
        "id": tid,
        "created_at": created,
        "favorited": False,
        "full_text": full_text,
        "lang": "en",
    }
    body.update(extra)
    return {"tweet": body}


def reply_fields(parent: str, user_id: str, screen_name: str) -> dict[str, str]:
    return {
        "in_reply_to_status_id_str": parent,
        "in_reply_to_status_id": parent,
        "in_reply_to_user_id": user_id,
        "in_reply_to_user_id_str": user_id,
        "in_reply_to_screen_name": screen_name,
    }


def twitter_tweets() -> list[dict[str, Any]]:
    launch = tweet(
        "1598000000000000001",
        "Thu Dec 01 10:00:00 +0000 2022",
        "We launch today &amp; we are proud #opensource https://t.co/abc123",
        favorite_count="12",
        retweet_count="3",
    )
    launch["tweet"]["entities"]["hashtags"] = [{"text": "opensource", "indices": ["35", "46"]}]
    launch["tweet"]["entities"]["urls"] = [
        {
            "url": "https://t.co/abc123",
            "expanded_url": "https://novosyx.example/blog/launch",
            "display_url": "novosyx.example/blog/launch",
            "indices": ["47", "70"],
        }
    ]
    thread = tweet(
        "1598000000000000002",
        "Thu Dec 01 10:05:00 +0000 2022",
        "@novosyx And the source is on our own site.",
        **reply_fields("1598000000000000001", OWN_ID, "novosyx"),
    )
    thread_more = tweet(
        "1598000000000000021",
        "Thu Dec 01 10:07:00 +0000 2022",
        "@novosyx Questions welcome.",
        **reply_fields("1598000000000000002", OWN_ID, "novosyx"),
    )
    answer = tweet(
        "1598000000000000003",
        "Fri Dec 02 08:00:00 +0000 2022",
        "@partner Thank you, it was a team effort!",
        **reply_fields("1597000000000000999", "2222222222", "partner"),
    )
    retweet = tweet(
        "1598000000000000004",
        "Fri Dec 02 09:00:00 +0000 2022",
        "RT @partner: Congratulations to Novosyx on the launch",
    )
    retweet["tweet"]["entities"]["user_mentions"] = [
        {
            "name": "Partner",
            "screen_name": "partner",
            "id_str": "2222222222",
            "indices": ["3", "11"],
        }
    ]
    edit_ids = ["1598000000000000010", "1598000000000000011"]
    first = tweet("1598000000000000010", "Sat Dec 03 10:00:00 +0000 2022", "Our office opns Monday")
    first["tweet"]["edit_info"] = {
        "initial": {
            "editTweetIds": edit_ids,
            "editableUntil": "2022-12-03T11:00:00.000Z",
            "editsRemaining": "4",
            "isEditEligible": True,
        }
    }
    edited = tweet(
        "1598000000000000011", "Sat Dec 03 10:02:00 +0000 2022", "Our office opens Monday"
    )
    edited["tweet"]["edit_info"] = {
        "edit": {
            "initialTweetId": "1598000000000000010",
            "editControlInitial": {
                "editTweetIds": edit_ids,
                "editableUntil": "2022-12-03T11:00:00.000Z",
                "editsRemaining": "4",
                "isEditEligible": True,
            },
        }
    }
    photo = tweet(
        "1598000000000000020",
        "Sun Dec 04 12:00:00 +0000 2022",
        "The new office https://t.co/media1",
    )
    photo_entity = {
        "expanded_url": "https://twitter.com/novosyx/status/1598000000000000020/photo/1",
        "indices": ["15", "34"],
        "url": "https://t.co/media1",
        "media_url": "http://pbs.twimg.com/media/FjOffice01.jpg",
        "id_str": "1598000000000000999",
        "media_url_https": "https://pbs.twimg.com/media/FjOffice01.jpg",
        "type": "photo",
        "display_url": "pic.twitter.com/media1",
        "ext_alt_text": "Desks by a window",
    }
    photo["tweet"]["entities"]["media"] = [photo_entity]
    photo["tweet"]["extended_entities"] = {"media": [photo_entity]}
    return [photo, edited, first, retweet, answer, thread_more, thread, launch]


def js(name: str, payload: Any) -> bytes:
    return f"window.YTD.{name}.part0 = {json.dumps(payload, indent=2)}".encode()


def write_zip(path: Path, members: dict[str, bytes]) -> None:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            info = zipfile.ZipInfo(name, STAMP)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, data)


def twitter() -> None:
    account = [
        {
            "account": {
                "email": "social@novosyx.example",
                "createdVia": "web",
                "username": "novosyx",
                "accountId": OWN_ID,
                "createdAt": "2012-03-01T09:00:00.000Z",
                "accountDisplayName": "Novosyx",
            }
        }
    ]
    manifest = {
        "userInfo": {"accountId": OWN_ID, "userName": "novosyx", "displayName": "Novosyx"},
        "archiveInfo": {"generationDate": "2024-01-01T00:00:00.000Z", "isPartialArchive": False},
        "dataTypes": {
            "tweets": {
                "files": [
                    {"fileName": "data/tweets.js", "globalName": "YTD.tweets.part0", "count": "8"}
                ]
            }
        },
    }
    deleted = tweet(
        "1598000000000000030", "Mon Dec 05 09:00:00 +0000 2022", "Oops, wrong link https://t.co/x"
    )
    deleted["tweet"]["deleted_at"] = "2022-12-05T09:10:00.000Z"
    write_zip(
        HERE / "twitter.zip",
        {
            "Your archive.html": b"<!DOCTYPE html><title>Your archive</title>",
            "data/manifest.js": b"window.__THAR_CONFIG = "
            + json.dumps(manifest, indent=2).encode(),
            "data/account.js": js("account", account),
            "data/tweets.js": js("tweets", twitter_tweets()),
            "data/deleted-tweets.js": js("deleted_tweets", [deleted]),
            "data/tweets_media/1598000000000000020-FjOffice01.jpg": PHOTO_BYTES,
        },
    )


# --------------------------------------------------------------------------- mastodon

HOST = "https://social.example"
ACTOR = f"{HOST}/users/novosyx"
PUBLIC = "https://www.w3.org/ns/activitystreams#Public"


def note(number: int, content: str, published: str, **extra: Any) -> dict[str, Any]:
    status = f"{ACTOR}/statuses/{number}"
    body: dict[str, Any] = {
        "id": status,
        "type": "Note",
        "summary": None,
        "inReplyTo": None,
        "published": published,
        "url": f"{HOST}/@novosyx/{number}",
        "attributedTo": ACTOR,
        "to": [PUBLIC],
        "cc": [f"{ACTOR}/followers"],
        "sensitive": False,
        "atomUri": status,
        "inReplyToAtomUri": None,
        "conversation": f"tag:social.example,2023-01-01:objectId={number}:objectType=Conversation",
        "content": content,
        "contentMap": {"en": content},
        "attachment": [],
        "tag": [],
        "replies": {
            "id": f"{status}/replies",
            "type": "Collection",
            "first": {
                "type": "CollectionPage",
                "next": f"{status}/replies?only_other_accounts=true&page=true",
                "partOf": f"{status}/replies",
                "items": [],
            },
        },
        "likes": {"id": f"{status}/likes", "type": "Collection", "totalItems": 0},
        "shares": {"id": f"{status}/shares", "type": "Collection", "totalItems": 0},
    }
    body.update(extra)
    return {
        "id": f"{status}/activity",
        "type": "Create",
        "actor": ACTOR,
        "published": published,
        "to": body["to"],
        "cc": body["cc"],
        "object": body,
    }


MEDIA_PATH = "media_attachments/files/110/000/000/000/000/001/original/3f1a2b3c4d5e6f70.png"


def mastodon() -> None:
    first = note(
        110000000000000001,
        '<p>Our new office is open! <a href="https://social.example/tags/novosyx" class="mention '
        'hashtag" rel="tag">#<span>Novosyx</span></a></p>',
        "2023-01-10T09:00:00Z",
        attachment=[
            {
                "type": "Document",
                "mediaType": "image/png",
                "url": "/" + MEDIA_PATH,
                "name": "The office from outside",
                "blurhash": "UEHLh[WB2yk8pyoJadR*.7kCMdnjS#M|%1%2",
                "width": 640,
                "height": 480,
            }
        ],
        tag=[{"type": "Hashtag", "href": f"{HOST}/tags/novosyx", "name": "#Novosyx"}],
        likes={
            "id": f"{ACTOR}/statuses/110000000000000001/likes",
            "type": "Collection",
            "totalItems": 4,
        },
        shares={
            "id": f"{ACTOR}/statuses/110000000000000001/shares",
            "type": "Collection",
            "totalItems": 2,
        },
    )
    self_reply = note(
        110000000000000002,
        "<p>Coffee is on us all week.</p>",
        "2023-01-10T09:05:00Z",
        inReplyTo=f"{ACTOR}/statuses/110000000000000001",
    )
    answer = note(
        110000000000000003,
        '<p><span class="h-card"><a href="https://other.example/@alice" class="u-url mention">'
        "@<span>alice</span></a></span> Thanks, Alice!</p>",
        "2023-01-11T10:00:00Z",
        inReplyTo="https://other.example/users/alice/statuses/999",
    )
    boost = {
        "id": f"{ACTOR}/statuses/110000000000000004/activity",
        "type": "Announce",
        "actor": ACTOR,
        "published": "2023-01-12T08:00:00Z",
        "to": [PUBLIC],
        "cc": ["https://other.example/users/alice", f"{ACTOR}/followers"],
        "object": "https://other.example/users/alice/statuses/1000",
    }
    private = note(110000000000000005, "<p>Team lunch at noon.</p>", "2023-01-12T11:00:00Z")
    private["to"] = private["object"]["to"] = [f"{ACTOR}/followers"]
    private["cc"] = private["object"]["cc"] = []
    warned = note(
        110000000000000006,
        "<p>We are hiring: two backend roles.</p>",
        "2023-01-13T09:00:00Z",
        summary="Job post",
        updated="2023-01-13T09:30:00Z",
    )
    outbox = {
        "@context": "https://www.w3.org/ns/activitystreams",
        "id": "outbox.json",
        "type": "OrderedCollection",
        "totalItems": 6,
        "orderedItems": [first, self_reply, answer, boost, private, warned],
    }
    actor = {
        "@context": ["https://www.w3.org/ns/activitystreams", "https://w3id.org/security/v1"],
        "id": ACTOR,
        "type": "Organization",
        "following": "following.json",
        "followers": f"{ACTOR}/followers",
        "inbox": f"{ACTOR}/inbox",
        "outbox": "outbox.json",
        "preferredUsername": "novosyx",
        "name": "Novosyx",
        "summary": "<p>Software for small teams.</p>",
        "url": f"{HOST}/@novosyx",
        "icon": {"type": "Image", "mediaType": "image/png", "url": "avatar.png"},
        "likes": "likes.json",
        "bookmarks": "bookmarks.json",
    }
    empty = {"@context": "https://www.w3.org/ns/activitystreams", "type": "OrderedCollection"}
    write_zip(
        HERE / "mastodon.zip",
        {
            "outbox.json": json.dumps(outbox, indent=2).encode(),
            "actor.json": json.dumps(actor, indent=2).encode(),
            "likes.json": json.dumps({**empty, "id": "likes.json", "orderedItems": []}).encode(),
            "bookmarks.json": json.dumps(
                {**empty, "id": "bookmarks.json", "orderedItems": []}
            ).encode(),
            "avatar.png": b"\x89PNG\r\n\x1a\nfake-avatar",
            MEDIA_PATH: b"\x89PNG\r\n\x1a\nfake-office-photo",
        },
    )


# --------------------------------------------------------------------------- wordpress

SITE = "https://blog.novosyx.example"


def comment(
    cid: int,
    author: str,
    content: str,
    date: str,
    *,
    parent: int = 0,
    approved: str = "1",
    kind: str = "comment",
    url: str = "",
    user_id: int = 0,
) -> str:
    return f"""
		<wp:comment>
			<wp:comment_id>{cid}</wp:comment_id>
			<wp:comment_author><![CDATA[{author}]]></wp:comment_author>
			<wp:comment_author_email><![CDATA[{author.split()[0].lower()}@mail.example]]></wp:comment_author_email>
			<wp:comment_author_url>{url}</wp:comment_author_url>
			<wp:comment_author_IP><![CDATA[192.0.2.{cid}]]></wp:comment_author_IP>
			<wp:comment_date><![CDATA[{date}]]></wp:comment_date>
			<wp:comment_date_gmt><![CDATA[{date}]]></wp:comment_date_gmt>
			<wp:comment_content><![CDATA[{content}]]></wp:comment_content>
			<wp:comment_approved><![CDATA[{approved}]]></wp:comment_approved>
			<wp:comment_type><![CDATA[{kind}]]></wp:comment_type>
			<wp:comment_parent>{parent}</wp:comment_parent>
			<wp:comment_user_id>{user_id}</wp:comment_user_id>
		</wp:comment>"""


def item(
    pid: int,
    title: str,
    slug: str,
    content: str,
    date: str,
    *,
    kind: str = "post",
    status: str = "publish",
    extra: str = "",
    password: str = "",
) -> str:
    link = f"{SITE}/{slug}/" if kind != "attachment" else f"{SITE}/?attachment_id={pid}"
    return f"""
	<item>
		<title><![CDATA[{title}]]></title>
		<link>{link}</link>
		<pubDate>Wed, 01 Jan 2020 10:00:00 +0000</pubDate>
		<dc:creator><![CDATA[jane]]></dc:creator>
		<guid isPermaLink="false">{SITE}/?{"page_id" if kind == "page" else "p"}={pid}</guid>
		<description></description>
		<content:encoded><![CDATA[{content}]]></content:encoded>
		<excerpt:encoded><![CDATA[]]></excerpt:encoded>
		<wp:post_id>{pid}</wp:post_id>
		<wp:post_date><![CDATA[{date}]]></wp:post_date>
		<wp:post_date_gmt><![CDATA[{date}]]></wp:post_date_gmt>
		<wp:post_modified><![CDATA[{date}]]></wp:post_modified>
		<wp:post_modified_gmt><![CDATA[{date}]]></wp:post_modified_gmt>
		<wp:comment_status><![CDATA[open]]></wp:comment_status>
		<wp:ping_status><![CDATA[open]]></wp:ping_status>
		<wp:post_name><![CDATA[{slug}]]></wp:post_name>
		<wp:status><![CDATA[{status}]]></wp:status>
		<wp:post_parent>0</wp:post_parent>
		<wp:menu_order>0</wp:menu_order>
		<wp:post_type><![CDATA[{kind}]]></wp:post_type>
		<wp:post_password><![CDATA[{password}]]></wp:post_password>
		<wp:is_sticky>0</wp:is_sticky>{extra}
	</item>"""


AUTHOR = "".join(
    [
        "\t<wp:author><wp:author_id>1</wp:author_id>",
        "<wp:author_login><![CDATA[jane]]></wp:author_login>",
        "<wp:author_email><![CDATA[jane@novosyx.example]]></wp:author_email>",
        "<wp:author_display_name><![CDATA[Jane Doe]]></wp:author_display_name>",
        "<wp:author_first_name><![CDATA[Jane]]></wp:author_first_name>",
        "<wp:author_last_name><![CDATA[Doe]]></wp:author_last_name></wp:author>",
    ]
)


def wordpress() -> None:
    hello_comments = "".join(
        [
            comment(
                5,
                "Bob Reader",
                "Congratulations!\nLooking forward to it.",
                "2020-01-02 09:00:00",
                url="https://bob.example",
            ),
            comment(
                6,
                "Jane Doe",
                "Thank you, Bob.",
                "2020-01-02 10:00:00",
                parent=5,
                user_id=1,
                url=SITE,
            ),
            comment(7, "Cheap Pills", "Buy now", "2020-01-02 11:00:00", approved="0"),
            comment(8, "Carol", "Replying to a held comment.", "2020-01-02 12:00:00", parent=7),
            comment(
                9,
                "Partner Blog",
                "[&#8230;] Novosyx said hello [&#8230;]",
                "2020-01-03 08:00:00",
                kind="pingback",
                url="https://partner.example/news/",
            ),
            comment(
                10,
                "Old Blog",
                "A trackback excerpt",
                "2020-01-03 09:00:00",
                kind="trackback",
                url="https://old.example/post",
            ),
            comment(11, "Spammer", "spam spam", "2020-01-03 10:00:00", approved="spam"),
            comment(
                12,
                "Bob Reader",
                "You are welcome!",
                "2020-01-03 11:00:00",
                parent=6,
                url="https://bob.example",
            ),
        ]
    )
    categories = (
        '\n\t\t<category domain="category" nicename="news"><![CDATA[News]]></category>'
        '\n\t\t<category domain="post_tag" nicename="launch"><![CDATA[Launch]]></category>'
        '\n\t\t<category domain="post_format" nicename="post-format-aside">'
        "<![CDATA[Aside]]></category>"
    )
    thumbnail = (
        "\n\t\t<wp:postmeta>\n\t\t\t<wp:meta_key><![CDATA[_thumbnail_id]]></wp:meta_key>"
        "\n\t\t\t<wp:meta_value><![CDATA[40]]></wp:meta_value>\n\t\t</wp:postmeta>"
    )
    attachment = (
        item(40, "team", "team", "", "2020-01-01 09:00:00", kind="attachment")
        .replace("<wp:post_parent>0</wp:post_parent>", "<wp:post_parent>37</wp:post_parent>")
        .replace(
            "<wp:is_sticky>0</wp:is_sticky>",
            f"<wp:is_sticky>0</wp:is_sticky>\n\t\t<wp:attachment_url><![CDATA[{SITE}/wp-content/uploads/2020/01/team.jpg]]></wp:attachment_url>",
        )
    )
    items = [
        attachment,
        item(
            37,
            "Hello &amp; welcome",
            "hello-world",
            "Welcome to our new blog.\n\nWe write about <em>small teams</em>.\nEvery week.",
            "2020-01-01 10:00:00",
            extra=categories + hello_comments,
        ),
        item(
            38,
            "Block editor post",
            "blocks",
            "<!-- wp:paragraph -->\n<p>Written with blocks.</p>\n<!-- /wp:paragraph -->",
            "2020-02-01 10:00:00",
            extra=thumbnail,
        ),
        item(2, "About", "about", "We are Novosyx.", "2019-12-01 10:00:00", kind="page"),
        item(39, "Draft", "draft", "Not yet.", "0000-00-00 00:00:00", status="draft"),
        item(42, "Members only", "members", "Secret.", "2020-03-01 10:00:00", password="s3cret"),
        item(50, "Home", "home", "", "2020-01-01 10:00:00", kind="nav_menu_item"),
    ]
    document = f"""<?xml version="1.0" encoding="UTF-8" ?>
<!-- This is a WordPress eXtended RSS file generated by WordPress as an export of your site. -->
<rss version="2.0"
	xmlns:excerpt="http://wordpress.org/export/1.2/excerpt/"
	xmlns:content="http://purl.org/rss/1.0/modules/content/"
	xmlns:wfw="http://wellformedweb.org/CommentAPI/"
	xmlns:dc="http://purl.org/dc/elements/1.1/"
	xmlns:wp="http://wordpress.org/export/1.2/"
>
<channel>
	<title>Novosyx Blog</title>
	<link>{SITE}</link>
	<description>Software for small teams</description>
	<pubDate>Mon, 01 Jan 2024 00:00:00 +0000</pubDate>
	<language>en-US</language>
	<wp:wxr_version>1.2</wp:wxr_version>
	<wp:base_site_url>{SITE}</wp:base_site_url>
	<wp:base_blog_url>{SITE}</wp:base_blog_url>
{AUTHOR}
	<wp:category><wp:term_id>1</wp:term_id><wp:category_nicename><![CDATA[news]]></wp:category_nicename><wp:category_parent><![CDATA[]]></wp:category_parent><wp:cat_name><![CDATA[News]]></wp:cat_name></wp:category>
	<wp:tag><wp:term_id>2</wp:term_id><wp:tag_slug><![CDATA[launch]]></wp:tag_slug><wp:tag_name><![CDATA[Launch]]></wp:tag_name></wp:tag>
	<generator>https://wordpress.org/?v=6.4.2</generator>
{"".join(items)}
</channel>
</rss>
"""
    (HERE / "wordpress.xml").write_text(document, encoding="utf-8")


# --------------------------------------------------------------------------- bluesky

DID = "did:plc:n0v0syx4testrepo5abc2def"
OTHER = "did:plc:0therpers0n4test5abc2def"


def cid(data: bytes, codec: int = 0x71) -> bytes:
    """A CIDv1 (sha2-256) as bytes: dag-cbor (0x71) for blocks, raw (0x55) for blobs."""
    return bytes([0x01, codec, 0x12, 0x20]) + hashlib.sha256(data).digest()


def varint(number: int) -> bytes:
    out = bytearray()
    while True:
        low, number = number & 0x7F, number >> 7
        out.append(low | (0x80 if number else 0))
        if not number:
            return bytes(out)


def mst_node(entries: list[tuple[str, bytes, bytes | None]], left: bytes | None) -> dict[str, Any]:
    """A Merkle search tree node: keys share prefixes with the previous key of the node."""
    out: list[dict[str, Any]] = []
    previous = b""
    for key, value, subtree in entries:
        raw = key.encode()
        shared = 0
        while shared < min(len(raw), len(previous)) and raw[shared] == previous[shared]:
            shared += 1
        out.append({"k": raw[shared:], "p": shared, "t": subtree, "v": value})
        previous = raw
    return {"e": out, "l": left}


def bluesky() -> None:
    blocks: dict[bytes, bytes] = {}

    def put(value: Any) -> bytes:
        data = libipld.encode_dag_cbor(value)
        key = cid(data)
        blocks[key] = data
        return key

    first_uri = f"at://{DID}/app.bsky.feed.post/3kbzfirst2222"
    text = "Our office is open! Details: novosyx.example/office #Novosyx"
    link_start = text.index("novosyx.example")
    tag_start = text.index("#Novosyx")
    image = cid(b"fake-jpeg-bytes", codec=0x55)
    records = {
        "app.bsky.actor.profile/self": {
            "$type": "app.bsky.actor.profile",
            "displayName": "Novosyx",
            "description": "Software for small teams",
        },
        "app.bsky.feed.post/3kbzfirst2222": {
            "$type": "app.bsky.feed.post",
            "text": text,
            "createdAt": "2024-02-01T09:00:00.000Z",
            "langs": ["en"],
            "facets": [
                {
                    "index": {"byteStart": link_start, "byteEnd": link_start + 22},
                    "features": [
                        {
                            "$type": "app.bsky.richtext.facet#link",
                            "uri": "https://novosyx.example/office",
                        }
                    ],
                },
                {
                    "index": {"byteStart": tag_start, "byteEnd": tag_start + 8},
                    "features": [{"$type": "app.bsky.richtext.facet#tag", "tag": "Novosyx"}],
                },
            ],
        },
        "app.bsky.feed.post/3kbzsecond222": {
            "$type": "app.bsky.feed.post",
            "text": "Coffee is on us — all week ☕",
            "createdAt": "2024-02-01T09:05:00.000Z",
            "langs": ["en"],
            "reply": {
                "root": {"uri": first_uri, "cid": "bafyreib2rxk3rh6kzwq"},
                "parent": {"uri": first_uri, "cid": "bafyreib2rxk3rh6kzwq"},
            },
        },
        "app.bsky.feed.post/3kbzthird2222": {
            "$type": "app.bsky.feed.post",
            "text": "Thanks, glad you like it!",
            "createdAt": "2024-02-02T10:00:00.000Z",
            "reply": {
                "root": {"uri": f"at://{OTHER}/app.bsky.feed.post/3kaaroot22222", "cid": "bafyx"},
                "parent": {"uri": f"at://{OTHER}/app.bsky.feed.post/3kaaparent222", "cid": "bafyy"},
            },
        },
        "app.bsky.feed.post/3kbzphoto2222": {
            "$type": "app.bsky.feed.post",
            "text": "The team at work",
            "createdAt": "2024-02-03T12:00:00.000Z",
            "embed": {
                "$type": "app.bsky.embed.images",
                "images": [
                    {
                        "alt": "Desks by a window",
                        "image": {
                            "$type": "blob",
                            "ref": image,
                            "mimeType": "image/jpeg",
                            "size": 15,
                        },
                        "aspectRatio": {"width": 4, "height": 3},
                    }
                ],
            },
        },
        "app.bsky.feed.like/3kbzlike22222": {
            "$type": "app.bsky.feed.like",
            "subject": {"uri": f"at://{OTHER}/app.bsky.feed.post/3kaaroot22222", "cid": "bafyx"},
            "createdAt": "2024-02-02T09:00:00.000Z",
        },
        "app.bsky.graph.follow/3kbzfollow222": {
            "$type": "app.bsky.graph.follow",
            "subject": OTHER,
            "createdAt": "2024-01-20T09:00:00.000Z",
        },
    }
    keys = sorted(records)
    values = {key: put(records[key]) for key in keys}
    # a small two-level tree: a left subtree, entries, and one right subtree
    left = put(mst_node([(k, values[k], None) for k in keys[:2]], None))
    right = put(mst_node([(k, values[k], None) for k in keys[3:5]], None))
    root = put(
        mst_node(
            [(keys[2], values[keys[2]], right)] + [(k, values[k], None) for k in keys[5:]],
            left,
        )
    )
    commit = put(
        {
            "did": DID,
            "version": 3,
            "data": root,
            "rev": "3kbzrev222222",
            "prev": None,
            "sig": b"\x00" * 64,
        }
    )
    header = libipld.encode_dag_cbor({"roots": [commit], "version": 1})
    out = bytearray(varint(len(header)) + header)
    for key in [commit, *[k for k in blocks if k != commit]]:
        out += varint(len(key) + len(blocks[key])) + key + blocks[key]
    (HERE / "bluesky.car").write_bytes(bytes(out))


# --------------------------------------------------------------------------- facebook

FB_PHOTO = b"\xff\xd8\xff\xe0fake-facebook-office-photo"
IG_PHOTO = b"\xff\xd8\xff\xe0fake-instagram-photo"
IG_SECOND = b"\xff\xd8\xff\xe0fake-instagram-second"
IG_REEL = b"\x00\x00\x00\x18ftypmp42fake-reel"


def mangle(value: Any) -> Any:
    """Text as Meta's exports hold it: each UTF-8 byte as its own latin-1 code point."""
    if isinstance(value, str):
        return value.encode("utf-8").decode("latin-1")
    if isinstance(value, list):
        return [mangle(item) for item in value]
    if isinstance(value, dict):
        return {key: mangle(item) for key, item in value.items()}
    return value


def meta_json(value: Any) -> bytes:
    """Meta's JSON: mis-encoded text, written as ASCII escapes (`\\u00c3\\u00b6`)."""
    return json.dumps(mangle(value), indent=2).encode("ascii")


def facebook_posts() -> list[dict[str, Any]]:
    media = "your_facebook_activity/posts/media/Timelinephotos_10158/101581234567890_n.jpg"
    return [
        {
            "timestamp": 1672570800,
            "data": [{"post": "Wir eröffnen unser neues Büro in München! 🎉 #Novosyx"}],
            "title": "Novosyx updated their status.",
        },
        {
            "timestamp": 1672657200,
            "attachments": [
                {
                    "data": [
                        {
                            "media": {
                                "uri": media,
                                "creation_timestamp": 1672657190,
                                "media_metadata": {"photo_metadata": {"exif_data": [{}]}},
                                "title": "Timeline photos",
                                "description": "Das Team",
                            }
                        }
                    ]
                }
            ],
            "data": [{"post": "Das Team am ersten Tag"}],
            "title": "Novosyx added a new photo.",
        },
        {
            "timestamp": 1672743600,
            "attachments": [
                {
                    "data": [
                        {
                            "external_context": {
                                "name": "Launch",
                                "url": "https://novosyx.example/blog/launch",
                            }
                        }
                    ]
                }
            ],
            "data": [{"post": "Read our launch story", "update_timestamp": 1672750000}],
            "title": "Novosyx shared a link.",
        },
        {  # two posts in one second: told apart by their text
            "timestamp": 1672830000,
            "data": [{"post": "First of two"}],
        },
        {"timestamp": 1672830000, "data": [{"post": "Second of two"}]},
        {  # a video not in this export
            "timestamp": 1672916400,
            "attachments": [
                {
                    "data": [
                        {
                            "media": {
                                "uri": "your_facebook_activity/posts/media/Videos/999_n.mp4",
                                "media_metadata": {"video_metadata": {"exif_data": [{}]}},
                            }
                        }
                    ]
                }
            ],
            "data": [{"post": "Our video"}],
        },
        {"timestamp": 1673002800, "title": "Novosyx updated their profile picture."},
    ]


def facebook_comments() -> dict[str, Any]:
    return {
        "comments_v2": [
            {
                "timestamp": 1672660000,
                "data": [
                    {
                        "comment": {
                            "timestamp": 1672660000,
                            "comment": "Danke für die Glückwünsche!",
                            "author": "Novosyx",
                        }
                    }
                ],
                "title": "Novosyx commented on Alice Example's post.",
            }
        ]
    }


def facebook() -> None:
    profile = {
        "profile_v2": {
            "name": {"full_name": "Novosyx"},
            "username": "novosyx",
            "profile_uri": "https://www.facebook.com/novosyx",
        }
    }
    activity = "your_facebook_activity"
    posts = meta_json(facebook_posts())
    # a newer export writes some text as real UTF-8 already: it must stay as it is
    posts = posts.replace(b'"First of two"', b'"First of two \\u00e0 la carte"')
    write_zip(
        HERE / "facebook.zip",
        {
            "personal_information/profile_information/profile_information.json": meta_json(profile),
            f"{activity}/posts/your_posts__check_ins__photos_and_videos_1.json": posts,
            f"{activity}/posts/media/Timelinephotos_10158/101581234567890_n.jpg": FB_PHOTO,
            f"{activity}/comments_and_reactions/comments.json": meta_json(facebook_comments()),
        },
    )


# --------------------------------------------------------------------------- instagram


def instagram_posts() -> list[dict[str, Any]]:
    return [
        {
            "media": [
                {
                    "uri": "media/posts/202301/329447297_1234_n.jpg",
                    "creation_timestamp": 1673089200,
                    "title": "Grüße aus dem Büro ☕ #Novosyx #teamwork",
                    "media_metadata": {"photo_metadata": {"exif_data": [{}]}},
                }
            ]
        },
        {
            "title": "Zwei Bilder vom Launch",
            "creation_timestamp": 1673175600,
            "media": [
                {
                    "uri": "media/posts/202301/329447298_5678_n.jpg",
                    "creation_timestamp": 1673175600,
                    "title": "",
                },
                {
                    "uri": "media/posts/202301/329447299_9012_n.jpg",
                    "creation_timestamp": 1673175600,
                    "title": "",
                },
            ],
        },
        {
            "media": [
                {
                    "uri": "media/posts/202301/gone_n.jpg",
                    "creation_timestamp": 1673262000,
                    "title": "Photo not in this export",
                }
            ]
        },
    ]


def instagram() -> None:
    profile = {
        "profile_user": [
            {
                "title": "",
                "string_map_data": {
                    "Username": {"href": "", "value": "novosyx", "timestamp": 0},
                    "Name": {"href": "", "value": "Novosyx Büro", "timestamp": 0},
                },
            }
        ]
    }
    reels = {
        "ig_reels_media": [
            {
                "media": [
                    {
                        "uri": "media/reels/202301/reel_1.mp4",
                        "creation_timestamp": 1673348400,
                        "title": "Behind the scenes #reels",
                    }
                ]
            }
        ]
    }
    comments = [
        {
            "string_map_data": {
                "Comment": {"value": "Glückwunsch! 👏"},
                "Media Owner": {"value": "alice.example"},
                "Time": {"timestamp": 1673100000},
            }
        }
    ]
    activity = "your_instagram_activity"
    write_zip(
        HERE / "instagram.zip",
        {
            "personal_information/personal_information/personal_information.json": meta_json(
                profile
            ),
            f"{activity}/media/posts_1.json": meta_json(instagram_posts()),
            f"{activity}/media/reels.json": meta_json(reels),
            f"{activity}/comments/post_comments_1.json": meta_json(comments),
            "media/posts/202301/329447297_1234_n.jpg": IG_PHOTO,
            "media/posts/202301/329447298_5678_n.jpg": IG_SECOND,
            "media/posts/202301/329447299_9012_n.jpg": IG_PHOTO,  # the same bytes twice
            "media/reels/202301/reel_1.mp4": IG_REEL,
        },
    )


# --------------------------------------------------------------------------- linkedin

LI_SHARE = "https://www.linkedin.com/feed/update/urn%3Ali%3Ashare%3A7012345678901234567"
LI_UGC = "https://www.linkedin.com/feed/update/urn%3Ali%3AugcPost%3A7023456789012345678"


def linkedin() -> None:
    folder = "Basic_LinkedInDataExport_01-01-2024"
    profile = (
        "First Name,Last Name,Maiden Name,Headline,Public Profile URL\n"
        "Nova,Syx,,Software for small teams,https://www.linkedin.com/in/novosyx\n"
    )
    shares = (
        "Date,ShareLink,ShareCommentary,SharedUrl,MediaUrl,Visibility\n"
        f'2023-01-05 10:00:00,{LI_SHARE},"We are hiring! Join us, ""the"" team.\n\n'
        f'#hiring #Novosyx",,https://media.licdn.com/dms/image/C4D22AQ/photo.jpg,PUBLIC\n'
        f"2023-01-06 11:30:00,{LI_UGC},,https://novosyx.example/blog/launch,,MEMBER_NETWORK\n"
        "2023-01-07 09:00:00,https://www.linkedin.com/feed/update/urn%3Ali%3Ashare%3A70345,"
        "Only for my connections,,,CONNECTIONS\n"
    )
    comments = (
        "Date,Link,Message\n"
        f"2023-01-05 12:00:00,{LI_SHARE},Applications are open until Friday.\n"
        "2023-01-08 08:15:00,https://www.linkedin.com/feed/update/urn%3Ali%3Aactivity%3A7040,"
        '"Congrats to the \\"tea, Earl Grey\\" team,\n\nwell done."\n'
    )
    write_zip(
        HERE / "linkedin.zip",
        {
            f"{folder}/Profile.csv": profile.encode(),
            f"{folder}/Shares.csv": shares.encode(),
            f"{folder}/Comments.csv": comments.encode(),
        },
    )


if __name__ == "__main__":
    twitter()
    mastodon()
    wordpress()
    bluesky()
    facebook()
    instagram()
    linkedin()
