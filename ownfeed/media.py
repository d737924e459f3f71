"""Download, hash and store media files, content-addressed by sha256."""

from __future__ import annotations

import asyncio
import hashlib
import mimetypes
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit

from ownfeed.archive import Archive
from ownfeed.archive.media import (
    PendingMedia,
    pending_media,
    record_media_error,
    record_media_stored,
)
from ownfeed.errors import SourceError
from ownfeed.http import HttpClient

MEDIA_MAX_BYTES = 100 * 1024 * 1024
_EXT_RE = re.compile(r"^\.[a-z0-9]{1,5}$")
_PREFERRED_EXT = {"image/jpeg": ".jpg", "image/svg+xml": ".svg", "audio/mpeg": ".mp3"}


def extension_for(mime: str | None, url: str | None = None) -> str:
    """A safe file extension from the MIME type, else the URL's; never a path from upstream."""
    if mime:
        media_type = mime.split(";")[0].strip().lower()
        ext = _PREFERRED_EXT.get(media_type) or mimetypes.guess_extension(media_type) or ""
        if _EXT_RE.match(ext):
            return ext
    if url:
        suffix = PurePosixPath(urlsplit(url).path).suffix.lower()
        if _EXT_RE.match(suffix):
            return suffix
    return ".bin"


@dataclass(frozen=True)
class StoredFile:
    sha256: str
    size: int
    local_path: str  # relative to the media folder


class MediaStore:
    """A folder of files named by their sha256; writes are atomic, duplicates stored once."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path_of(self, local_path: str) -> Path:
        """The absolute path of a stored file; refuses anything that would leave the folder."""
        candidate = (self.root / local_path).resolve()
        if not candidate.is_relative_to(self.root.resolve()):
            raise ValueError(f"media path outside the media folder: {local_path!r}")
        return candidate

    def store(self, data: bytes, mime: str | None = None, url: str | None = None) -> StoredFile:
        digest = hashlib.sha256(data).hexdigest()
        local_path = f"{digest[:2]}/{digest}{extension_for(mime, url)}"
        target = self.path_of(local_path)
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            fd, temp = tempfile.mkstemp(dir=target.parent, prefix=".partial-")
            try:
                with os.fdopen(fd, "wb") as handle:
                    handle.write(data)
                os.replace(temp, target)
            except BaseException:
                Path(temp).unlink(missing_ok=True)
                raise
        return StoredFile(digest, len(data), local_path)


async def _fetch_one(
    http: HttpClient, store: MediaStore, item: PendingMedia
) -> tuple[PendingMedia, StoredFile | None, str | None, str | None]:
    try:
        response = await http.get(item.url, max_body=MEDIA_MAX_BYTES)
    except SourceError as error:
        return item, None, None, str(error)
    except ValueError as error:
        return item, None, None, f"invalid media URL: {error}"
    mime = response.headers.get("content-type", "").split(";")[0].strip() or item.mime
    stored = await asyncio.to_thread(store.store, response.body, mime, item.url)
    return item, stored, mime, None


async def download_media(
    archive: Archive, http: HttpClient, store: MediaStore, sources: list[str]
) -> tuple[int, int]:
    """Fetch every pending media file of these sources; returns (stored, failed).

    A failed download is recorded on its row and retried next sync; it never fails a post.
    """
    pending = pending_media(archive, sources)
    if not pending:
        return 0, 0
    results = await asyncio.gather(*(_fetch_one(http, store, item) for item in pending))
    stored = failed = 0
    with archive.transaction():
        for item, file, mime, error in results:
            if file is not None:
                record_media_stored(archive, item.id, file.sha256, file.size, file.local_path, mime)
                stored += 1
            else:
                record_media_error(archive, item.id, error or "unknown error")
                failed += 1
    return stored, failed
