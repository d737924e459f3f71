"""Error hierarchy: user mistakes and per-source failures are values with one-line messages."""

from __future__ import annotations


class OwnfeedError(Exception):
    """Base of every error ownfeed raises on purpose; its message is shown to the user as is."""


class ConfigError(OwnfeedError):
    """The config file is missing, unreadable or invalid (exit code 2)."""


class SourceError(OwnfeedError):
    """A source could not be fetched or understood; fails that source only."""

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class FetchError(SourceError):
    """The network or the server failed: connection, timeout, HTTP error status, size cap."""


class ParseError(SourceError):
    """The server answered, but with something that is not what the source expects."""


class ArchiveError(OwnfeedError):
    """The archive database cannot be opened, migrated or written."""


class LockedError(OwnfeedError):
    """Another sync holds the archive's lock, or another export the site folder's (exit code 75)."""


class ThemeError(OwnfeedError):
    """A theme's template cannot be compiled or rendered; names the file and line."""
