"""YouTube channels: videos from the channel's Atom feed, comments through the Data API.

The feed (`/feeds/videos.xml?channel_id=UC…`) needs no key but lists only the newest
videos; with `api_key_env` the first sync also walks the uploads playlist for the whole
history, each sync reads view/like/comment counts (one quota unit per 50 videos) and the
comment threads of videos whose count changed. Without a key the source says once that
comments need one. Videos are `platform = "youtube"` with the video id as native id.
"""

from __future__ import annotations

import asyncio
import copy
import re
from dataclasses import replace
from functools import partial
from typing import Any, ClassVar
from urllib.parse import quote, urlencode, urlsplit

from ownfeed.errors import ParseError, SourceError
from ownfeed.http import Response
from ownfeed.models import Author, Gone, KnownPost, Media, Post, SourceResult, parse_iso
from ownfeed.sources.apiutil import (
    Skipped,
    as_count,
    base_url,
    env_secret,
    json_object,
    mapper,
    needs_replies,
    text_to_html,
)
from ownfeed.sources.base import Source, SourceContext
from ownfeed.sources.feedparse import entry_date, parse_document
from ownfeed.sources.registry import SOURCE_KEYS, Keys

PLATFORM = "youtube"
WEB = "https://www.youtube.com"
API = "https://www.googleapis.com/youtube/v3"
_CHANNEL_RE = re.compile(r"(?<![\w-])(UC[0-9A-Za-z_-]{22})(?![\w-])")
_PAGE_ID_RES = (
    re.compile(r"feeds/videos\.xml\?channel_id=(UC[0-9A-Za-z_-]{22})"),
    re.compile(r'<meta itemprop="(?:identifier|channelId)" content="(UC[0-9A-Za-z_-]{22})"'),
    re.compile(r'<link rel="canonical" href="[^"]*/channel/(UC[0-9A-Za-z_-]{22})"'),
    re.compile(r'"(?:externalId|channelId)":"(UC[0-9A-Za-z_-]{22})"'),
)
# Without it, EU visitors get a cookie-consent page instead of the channel.
_CONSENT = {"Cookie": "CONSENT=YES+1; SOCS=CAI"}
_GONE_TITLES = ("Private video", "Deleted video")
_QUOTA = ("quotaExceeded", "dailyLimitExceeded", "rateLimitExceeded")


def channel_id_in(text: str) -> str | None:
    """A `UC…` channel id in a URL or given alone."""
    match = _CHANNEL_RE.search(text)
    return match.group(1) if match else None


def is_video_id(native_id: str) -> bool:
    """Video ids are 11 characters; comment ids (`Ugz…`, replies `Ugz….8x…`) are longer."""
    return len(native_id) == 11


def watch_url(video_id: str) -> str:
    return f"{WEB}/watch?v={quote(video_id)}"


def _int(value: Any) -> int | None:
    """The API's counts come as strings of digits; anything else (or beyond 64 bits) is None."""
    try:
        return as_count(int(str(value))) if value is not None and str(value).strip() else None
    except ValueError:
        return None


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


class ApiError(SourceError):
    """A Data API error with its `reason` (quotaExceeded, commentsDisabled, keyInvalid, ...)."""

    def __init__(self, message: str, reason: str, status: int) -> None:
        super().__init__(message, status=status)
        self.reason = reason


@mapper("YouTube feed entry")
def map_feed_entry(entry: Any, channel: str) -> Post | None:
    """One feed entry (a video): title, description, thumbnail, views, likes."""
    video = str(entry.get("yt_videoid") or "").strip()
    if not video:
        return None
    stats = entry.get("media_statistics") or {}
    rating = entry.get("media_starrating") or {}
    thumbnails = [
        Media(url=t["url"], kind="image", width=_int(t.get("width")), height=_int(t.get("height")))
        for t in entry.get("media_thumbnail") or ()
        if t.get("url")
    ]
    detail = entry.get("author_detail") or {}
    return Post(
        platform=PLATFORM,
        native_id=video,
        url=entry.get("link") or watch_url(video),
        title=entry.get("title") or None,
        content_html=text_to_html(entry.get("summary")),
        author=Author(PLATFORM, handle=channel, name=detail.get("name"), url=detail.get("href")),
        published_at=entry_date(entry, "published"),
        updated_at=entry_date(entry, "updated"),
        media=tuple(thumbnails[:1]),
        like_count=_int(rating.get("count")),
        raw={"video_id": video, "channel_id": channel, "views": _int(stats.get("views"))},
    )


def _best_thumbnail(thumbnails: Any) -> Media | None:
    if not isinstance(thumbnails, dict):
        return None
    for size in ("maxres", "standard", "high", "medium", "default"):
        item = thumbnails.get(size)
        if isinstance(item, dict) and item.get("url"):
            return Media(item["url"], "image", width=item.get("width"), height=item.get("height"))
    return None


@mapper("YouTube playlist item")
def map_playlist_item(item: dict[str, Any], channel: str) -> Post | None:
    """An uploads-playlist item (API) as a video; private and deleted ones are skipped."""
    snippet = item.get("snippet") or {}
    details = item.get("contentDetails") or {}
    video = details.get("videoId") or (snippet.get("resourceId") or {}).get("videoId")
    if not video or snippet.get("title") in _GONE_TITLES:
        return None
    thumbnail = _best_thumbnail(snippet.get("thumbnails"))
    return Post(
        platform=PLATFORM,
        native_id=str(video),
        url=watch_url(str(video)),
        title=snippet.get("title") or None,
        content_html=text_to_html(snippet.get("description")),
        author=Author(PLATFORM, handle=channel, name=snippet.get("channelTitle") or None),
        published_at=parse_iso(details.get("videoPublishedAt") or snippet.get("publishedAt")),
        media=(thumbnail,) if thumbnail else (),
        raw={"video_id": video, "channel_id": channel},
    )


@mapper("YouTube comment")
def map_comment(
    comment: dict[str, Any], video: str, channel: str, replies: int | None = None
) -> Post | None:
    """A top-level comment or a reply, threaded under the video by `parentId`."""
    snippet = comment.get("snippet") or {}
    cid = comment.get("id")
    if not cid:
        return None
    author_channel = (snippet.get("authorChannelId") or {}).get("value")
    published = parse_iso(snippet.get("publishedAt"))
    updated = parse_iso(snippet.get("updatedAt"))
    return Post(
        platform=PLATFORM,
        native_id=str(cid),
        kind="reply",
        is_own=author_channel == channel,
        url=f"{watch_url(video)}&lc={quote(str(cid))}",
        content_html=snippet.get("textDisplay") or None,
        author=Author(
            PLATFORM,
            handle=author_channel or snippet.get("authorDisplayName"),
            name=snippet.get("authorDisplayName") or None,
            url=snippet.get("authorChannelUrl") or None,
            avatar_url=snippet.get("authorProfileImageUrl") or None,
        ),
        published_at=published,
        updated_at=updated if updated and updated != published else None,
        in_reply_to=snippet.get("parentId") or video,
        thread_root=video,
        like_count=_int(snippet.get("likeCount")),
        reply_count=replies,
        raw={"id": cid, "video_id": video, "snippet": snippet},
    )


class _Api:
    """The YouTube Data API v3 with a key; errors keep their `reason`."""

    def __init__(self, ctx: SourceContext, base: str, key: str) -> None:
        self.ctx = ctx
        self.base = base
        self.key = key

    async def get(self, resource: str, **params: Any) -> dict[str, Any]:
        query = urlencode({**{k: v for k, v in params.items() if v is not None}, "key": self.key})
        response = await self.ctx.http.get(
            f"{self.base}/{resource}?{query}", accept=(400, 403, 404)
        )
        if response.status >= 400:
            raise self._error(resource, response)
        return json_object(response, resource)

    @staticmethod
    def _error(resource: str, response: Response) -> ApiError:
        try:
            error = json_object(response, resource).get("error") or {}
        except ParseError:
            error = {}
        errors = error.get("errors") if isinstance(error, dict) else None
        reason = str(errors[0].get("reason")) if isinstance(errors, list) and errors else ""
        if "API key not valid" in str(error.get("message") if isinstance(error, dict) else ""):
            reason = "keyInvalid"  # Google now says badRequest + API_KEY_INVALID
        hint = {
            "keyInvalid": "the API key was refused (check api_key_env)",
            "quotaExceeded": "the API key's daily quota is used up",
            "commentsDisabled": "comments are turned off",
        }.get(reason, reason or "error")
        return ApiError(
            f"YouTube API {resource}: {hint} (HTTP {response.status})", reason, response.status
        )

    async def pages(self, resource: str, **params: Any) -> list[dict[str, Any]]:
        """Every page of a list resource (`nextPageToken`)."""
        items: list[dict[str, Any]] = []
        token: str | None = None
        seen: set[str] = set()
        while True:
            data = await self.get(resource, pageToken=token, **params)
            found = data.get("items")
            items += [i for i in found if isinstance(i, dict)] if isinstance(found, list) else []
            token = data.get("nextPageToken")
            if not token or not isinstance(token, str) or token in seen:
                return items  # the last page, or a server repeating itself
            seen.add(token)


class YouTubeSource(Source):
    """A YouTube channel by channel URL, handle URL (`/@name`) or channel id."""

    type = "youtube"
    platform = PLATFORM
    keys: ClassVar[Keys] = SOURCE_KEYS["youtube"]

    @property
    def web(self) -> str:
        return base_url(self.config.option("web_base"), WEB, "web_base")

    def _api(self, ctx: SourceContext) -> _Api | None:
        key = env_secret(self.config.option("api_key_env"), "api_key_env")
        api = base_url(self.config.option("api_base"), API, "api_base")
        return _Api(ctx, api, key) if key else None

    # --- channel -------------------------------------------------------------------------

    async def _channel(self, ctx: SourceContext, state: dict[str, Any], api: _Api | None) -> str:
        """The channel id: in the URL, remembered, via the API, or from the channel's page."""
        url = str(self.config.option("url")).strip()
        found = channel_id_in(url)
        if found:
            return found
        if state.get("channel_for") == url and state.get("channel_id"):
            return str(state["channel_id"])
        path = urlsplit(url if "://" in url else f"{WEB}/{url.lstrip('/')}").path.rstrip("/")
        if api is not None and path.startswith("/@"):
            try:
                data = await api.get("channels", part="id", forHandle=path[1:])
            except SourceError:
                data = {}  # the channel's page still tells
            items = data.get("items")
            first = items[0] if isinstance(items, list) and items else None
            found = str(first.get("id")) if isinstance(first, dict) and first.get("id") else None
        if not found:
            response = await ctx.http.get(self.web + path, headers=_CONSENT, accept=(404, 410))
            if response.status in (404, 410):
                raise SourceError(f"YouTube channel {url} not found (HTTP {response.status})")
            text = response.text()
            found = next((m.group(1) for r in _PAGE_ID_RES if (m := r.search(text))), None)
        if not found:
            raise ParseError(f"no channel id found on {url}; configure the UC… channel URL")
        state.update(channel_for=url, channel_id=found)
        return found

    # --- videos --------------------------------------------------------------------------

    async def _feed(
        self, ctx: SourceContext, channel: str, state: dict[str, Any], result: SourceResult
    ) -> list[Post] | None:
        """The channel feed's videos; None when unchanged (304)."""
        url = f"{self.web}/feeds/videos.xml?channel_id={channel}"
        validators = None if ctx.full else state.get("validators")
        response = await ctx.http.get(url, validators=validators, accept=(404,))
        result.http_status = response.status
        if response.status == 404:
            raise SourceError(f"YouTube channel {channel} not found (HTTP 404)", status=404)
        if response.not_modified:
            return None
        try:
            parsed = parse_document(
                response.body, url=url, content_type=response.headers.get("content-type", "")
            )
        except ParseError as error:
            raise ParseError(f"channel feed of {channel}: {error}") from None
        state["validators"] = response.validators
        result.title = parsed.feed.get("title") or None
        result.home_url = f"{WEB}/channel/{channel}"
        skip = Skipped()
        posts = [
            p for entry in parsed.entries if (p := skip(partial(map_feed_entry, entry, channel)))
        ]
        skip.report(result)
        return posts

    async def _backfill(
        self, api: _Api, channel: str, state: dict[str, Any], result: SourceResult
    ) -> list[Post]:
        """The whole uploads playlist (`UU…`), once: the feed shows only the newest videos."""
        try:
            items = await api.pages(
                "playlistItems",
                part="snippet,contentDetails",
                playlistId="UU" + channel[2:],
                maxResults=50,
            )
        except SourceError as error:
            result.warnings.append(f"older videos: {error}")
            return []
        state["backfilled"] = True
        skip = Skipped()
        posts = [p for item in items if (p := skip(partial(map_playlist_item, item, channel)))]
        skip.report(result)
        return posts

    async def _statistics(
        self, api: _Api, videos: list[Post], result: SourceResult
    ) -> dict[str, dict[str, Any]]:
        """View, like and comment counts, 50 videos per request."""
        stats: dict[str, dict[str, Any]] = {}
        ids = [post.native_id for post in videos]
        for start in range(0, len(ids), 50):
            try:
                data = await api.get(
                    "videos", part="statistics", id=",".join(ids[start : start + 50])
                )
            except SourceError as error:
                result.warnings.append(f"video statistics: {error}")
                break
            items = data.get("items")
            for item in items if isinstance(items, list) else ():
                if isinstance(item, dict) and item.get("id"):
                    stats[str(item["id"])] = _dict(item.get("statistics"))
        return stats

    # --- comments ------------------------------------------------------------------------

    async def _thread_comments(
        self, api: _Api, video: str, channel: str, skipped: Skipped | None = None
    ) -> list[Post]:
        """Every comment thread of a video, with all replies (beyond the 5 embedded ones).
        Malformed comments are left out (counted in `skipped`)."""
        threads = await api.pages(
            "commentThreads",
            part="snippet,replies",
            videoId=video,
            maxResults=100,
            textFormat="html",
            order="time",
        )
        posts: list[Post] = []
        skip = skipped or Skipped()
        for thread in threads:
            snippet = _dict(thread.get("snippet"))
            top = _dict(snippet.get("topLevelComment"))
            total = _int(snippet.get("totalReplyCount")) or 0
            if (post := skip(partial(map_comment, top, video, channel, total))) is not None:
                posts.append(post)
            replies = _dict(thread.get("replies")).get("comments")
            replies = replies if isinstance(replies, list) else []
            if total > len(replies) and isinstance(top.get("id"), str):
                replies = await api.pages(
                    "comments",
                    part="snippet",
                    parentId=top["id"],
                    maxResults=100,
                    textFormat="html",
                )
            posts += [
                p
                for r in replies
                if isinstance(r, dict) and (p := skip(partial(map_comment, r, video, channel)))
            ]
        return posts

    async def _comments(
        self,
        ctx: SourceContext,
        api: _Api,
        videos: list[Post],
        channel: str,
        state: dict[str, Any],
        result: SourceResult,
    ) -> None:
        pending = set(state.get("pending") or ())
        wanted = [
            v
            for v in videos
            if needs_replies(
                ctx,
                v.native_id,
                count=v.reply_count,
                published=v.published_at,
                refresh_days=self.config.refresh_days,
                pending=pending,
            )
        ]
        failed: set[str] = set()
        malformed = Skipped()
        stop: list[ApiError] = []
        gate = asyncio.Semaphore(4)

        async def one(video: Post) -> list[Post]:
            async with gate:
                if stop:
                    failed.add(video.native_id)
                    return []
                try:
                    return await self._thread_comments(api, video.native_id, channel, malformed)
                except ApiError as error:
                    if error.reason in _QUOTA or error.reason == "keyInvalid":
                        stop.append(error)
                        failed.add(video.native_id)
                    elif error.reason not in ("commentsDisabled", "videoNotFound"):
                        result.warnings.append(f"comments of {video.native_id}: {error}")
                        failed.add(video.native_id)
                    return []
                except SourceError as error:
                    result.warnings.append(f"comments of {video.native_id}: {error}")
                    failed.add(video.native_id)
                    return []

        for comments in await asyncio.gather(*(one(v) for v in wanted)):
            result.posts += comments
        malformed.report(result)
        if stop:
            result.warnings.append(f"{len(failed)} video(s) left for the next sync: {stop[0]}")
        state["pending"] = sorted(failed | (pending - {v.native_id for v in wanted}))

    # --- the source ----------------------------------------------------------------------

    async def fetch(self, ctx: SourceContext) -> SourceResult:
        state = copy.deepcopy(dict(ctx.state or {}))
        result = SourceResult(state=state)
        api = self._api(ctx)
        channel = await self._channel(ctx, state, api)
        videos = await self._feed(ctx, channel, state, result) or []
        if api is not None and (ctx.full or not state.get("backfilled")):
            listed = {v.native_id for v in videos}
            older = await self._backfill(api, channel, state, result)
            videos += [v for v in older if v.native_id not in listed]
        if api is not None and videos:
            stats = await self._statistics(api, videos, result)
            videos = [_with_stats(v, stats.get(v.native_id)) for v in videos]
        result.posts = list(videos)
        if not self.config.comments:
            return result
        if api is None:
            if not state.get("key_warned"):
                result.warnings.append(
                    "YouTube comments need a Data API key: set api_key_env to the name of an "
                    "environment variable holding one (this is said once)"
                )
                state["key_warned"] = True
            return result
        await self._comments(ctx, api, videos, channel, state, result)
        return result

    async def verify(self, ctx: SourceContext, posts: list[KnownPost]) -> SourceResult:
        """With a key: ids the API no longer returns are gone (50 per request). Without:
        oEmbed answers 404 for a deleted video."""
        api = self._api(ctx)
        result = SourceResult(state=dict(ctx.state))
        if api is None:
            for post in posts:
                if not is_video_id(post.native_id):
                    continue  # comments cannot be checked without the API
                url = (
                    f"{self.web}/oembed?format=json&url={quote(watch_url(post.native_id), safe='')}"
                )
                try:
                    response = await ctx.http.get(url, accept=(401, 403, 404, 410))
                except SourceError as error:
                    result.warnings.append(f"verify {post.native_id}: {error}")
                    continue
                if response.status in (404, 410):
                    result.gone.append(Gone(PLATFORM, post.native_id, f"HTTP {response.status}"))
                else:
                    result.seen_again.append((PLATFORM, post.native_id))
            return result
        videos = [p.native_id for p in posts if is_video_id(p.native_id)]
        comments = [p.native_id for p in posts if not is_video_id(p.native_id)]
        for resource, ids in (("videos", videos), ("comments", comments)):
            for start in range(0, len(ids), 50):
                chunk = ids[start : start + 50]
                try:
                    data = await api.get(resource, part="id", id=",".join(chunk))
                except SourceError as error:
                    result.warnings.append(f"verify {resource}: {error}")
                    continue
                live = {str(i.get("id")) for i in data.get("items") or () if isinstance(i, dict)}
                for native_id in chunk:
                    if native_id in live:
                        result.seen_again.append((PLATFORM, native_id))
                    else:
                        result.gone.append(Gone(PLATFORM, native_id, "not returned by the API"))
        return result


def _with_stats(video: Post, stats: dict[str, Any] | None) -> Post:
    """Counts from the API: comments decide whether threads are read, views go to `raw`."""
    if not stats:
        return video
    raw = dict(video.raw or {})
    raw["views"] = _int(stats.get("viewCount")) if stats.get("viewCount") else raw.get("views")
    return replace(
        video,
        reply_count=_int(stats.get("commentCount")),
        like_count=_int(stats.get("likeCount")) or video.like_count,
        raw=raw,
    )
