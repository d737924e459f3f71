"""Load and validate `ownfeed.toml`; add sources to it in place, keeping its comments."""

from __future__ import annotations

import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from ownfeed.errors import ConfigError
from ownfeed.sources.base import SourceConfig
from ownfeed.sources.registry import SOURCE_KEYS, SOURCE_TYPES

CONFIG_NAME = "ownfeed.toml"
NAME_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")

_TOP_KEYS: dict[str, type | tuple[type, ...]] = {
    "archive": str,
    "media_dir": str,
    "concurrency": int,
    "timeout": (int, float),
    "export": dict,
    "links": dict,
    "sources": list,
}
_EXPORT_KEYS: dict[str, type | tuple[type, ...]] = {
    "output": str,
    "title": str,
    "description": str,
    "base_url": str,
    "language": str,
    "feed_items": int,
    "per_page": int,
    "theme": str,
}
_LINKS_KEYS: dict[str, type | tuple[type, ...]] = {
    "text_threshold": (int, float),
    "text_window_hours": (int, float),
    "follow_redirects": bool,
    "shorteners": list,
}
_COMMON_SOURCE_KEYS: dict[str, type | tuple[type, ...]] = {
    "name": str,
    "type": str,
    "enabled": bool,
    "media": bool,
    "refresh_days": int,
    "comments": bool,
    "replies": bool,
}


@dataclass(frozen=True)
class ExportConfig:
    """The `[export]` table: where and how the static site is written."""

    output: Path
    title: str = "Everything we published"
    description: str = ""
    base_url: str = ""
    language: str = "en"
    feed_items: int = 50
    per_page: int = 20
    theme: Path | None = None


@dataclass(frozen=True)
class LinksConfig:
    """The `[links]` table: how a post's copies on other platforms are found."""

    text_threshold: float = 0.9  # similarity (0..1) from which two posts of ours are copies
    text_window_hours: float = 48.0  # how far apart they may be published; 0: no text match
    follow_redirects: bool = True  # follow short links (and our own) during a sync
    shorteners: tuple[str, ...] = ()  # more link-shortener hosts to follow


@dataclass(frozen=True)
class Config:
    """A validated config; every path is absolute (relative ones resolve against the file)."""

    path: Path
    archive: Path
    media_dir: Path
    concurrency: int = 16
    timeout: float = 30.0
    export: ExportConfig = field(default_factory=lambda: ExportConfig(output=Path("site")))
    links: LinksConfig = field(default_factory=LinksConfig)
    sources: tuple[SourceConfig, ...] = ()

    def source(self, name: str) -> SourceConfig:
        for source in self.sources:
            if source.name == name:
                return source
        known = ", ".join(s.name for s in self.sources) or "none"
        raise ConfigError(f"{self.path}: no source named {name!r} (configured: {known})")


def default_config_path() -> Path:
    """`$OWNFEED_CONFIG`, else ./ownfeed.toml, else the user config dir's ownfeed.toml."""
    env = os.environ.get("OWNFEED_CONFIG")
    if env:
        return Path(env)
    local = Path.cwd() / CONFIG_NAME
    if local.exists():
        return local
    import platformdirs  # ~3 ms, for a config found neither by $OWNFEED_CONFIG nor here

    user = Path(platformdirs.user_config_dir("ownfeed")) / CONFIG_NAME
    return user if user.exists() else local


class _Locator:
    """Finds the line of a key in the TOML text, so errors can name it."""

    def __init__(self, text: str) -> None:
        self.lines = text.splitlines()

    def line(self, key: str, table: str | None = None, index: int = 0) -> int | None:
        start = 0
        if table is not None:
            header = re.compile(rf"^\s*\[\[?\s*{re.escape(table)}\s*\]\]?\s*(#.*)?$")
            seen = -1
            for number, text in enumerate(self.lines):
                if header.match(text):
                    seen += 1
                    if seen == index:
                        start = number
                        break
            else:
                return None
        key_re = re.compile(rf"^\s*[\"']?{re.escape(key)}[\"']?\s*=")
        for number in range(start, len(self.lines)):
            text = self.lines[number]
            if number > start and table is not None and text.lstrip().startswith("["):
                break
            if table is None and text.lstrip().startswith("["):
                break
            if key_re.match(text):
                return number + 1
        return start + 1 if table is not None else None


def _type_name(expected: type | tuple[type, ...]) -> str:
    if isinstance(expected, tuple):
        return " or ".join(t.__name__ for t in expected)
    return {"str": "a string", "int": "an integer", "bool": "true or false"}.get(
        expected.__name__, expected.__name__
    )


def _is_instance(value: Any, expected: type | tuple[type, ...]) -> bool:
    types = expected if isinstance(expected, tuple) else (expected,)
    if isinstance(value, bool) and bool not in types:
        return False
    return isinstance(value, types)


class _Validator:
    def __init__(self, path: Path, text: str) -> None:
        self.path = path
        self.locate = _Locator(text)

    def fail(self, message: str, key: str, table: str | None = None, index: int = 0) -> ConfigError:
        line = self.locate.line(key, table, index)
        where = f"{self.path}:{line}" if line else str(self.path)
        return ConfigError(f"{where}: {message}")

    def check_keys(
        self,
        data: dict[str, Any],
        allowed: dict[str, type | tuple[type, ...]],
        label: str,
        table: str | None = None,
        index: int = 0,
    ) -> None:
        for key, value in data.items():
            if key not in allowed:
                known = ", ".join(sorted(allowed))
                raise self.fail(
                    f"unknown key {key!r} in {label} (known keys: {known})", key, table, index
                )
            if not _is_instance(value, allowed[key]):
                raise self.fail(
                    f"{label}: {key!r} must be {_type_name(allowed[key])}, got {value!r}",
                    key,
                    table,
                    index,
                )


def _resolve(base: Path, value: str) -> Path:
    path = Path(os.path.expanduser(value))
    return path if path.is_absolute() else (base / path).resolve()


def base_url_problem(value: str) -> str | None:
    """Why `value` cannot be the site's public address; None when it can (or is empty).

    Why check: it goes into every feed, the sitemap and the canonical links, where a
    `javascript:` or relative value would make links that are wrong or unsafe.
    """
    value = value.strip()
    if not value:
        return None
    parts = urlsplit(value)
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return f"must be an absolute http(s) URL like https://example.com/archive/, not {value!r}"
    if parts.query or parts.fragment:
        return f"must have no query or fragment: {value!r}"
    return None


def load_config(path: str | Path | None = None) -> Config:
    """Read and validate a config file; ConfigError names the file, line and key."""
    config_path = Path(path) if path else default_config_path()
    try:
        text = config_path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"{config_path}: no config file here; run `ownfeed init` to create one"
        ) from None
    except (OSError, UnicodeDecodeError) as error:
        raise ConfigError(f"{config_path}: cannot read config: {error}") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{config_path}: invalid TOML: {error}") from None
    return parse_config(data, config_path.resolve(), text)


def parse_config(data: dict[str, Any], path: Path, text: str = "") -> Config:
    """Validate already-parsed TOML data (the text only helps to name lines)."""
    check = _Validator(path, text)
    check.check_keys(data, _TOP_KEYS, "the config")
    base = path.parent
    concurrency = data.get("concurrency", 16)
    if concurrency < 1:
        raise check.fail("'concurrency' must be at least 1", "concurrency")
    timeout = float(data.get("timeout", 30))
    if timeout <= 0:
        raise check.fail("'timeout' must be a positive number of seconds", "timeout")
    export = data.get("export", {})
    check.check_keys(export, _EXPORT_KEYS, "[export]", "export")
    for key in ("feed_items", "per_page"):
        if key in export and export[key] < 1:
            raise check.fail(f"[export]: {key!r} must be at least 1", key, "export")
    problem = base_url_problem(export.get("base_url", ""))
    if problem:
        raise check.fail(f"[export]: 'base_url' {problem}", "base_url", "export")
    export_config = ExportConfig(
        output=_resolve(base, export.get("output", "site")),
        title=export.get("title", ExportConfig.title),
        description=export.get("description", ""),
        base_url=export.get("base_url", ""),
        language=export.get("language", "en"),
        feed_items=export.get("feed_items", 50),
        per_page=export.get("per_page", 20),
        theme=_resolve(base, export["theme"]) if "theme" in export else None,
    )
    links_config = _parse_links(check, data.get("links", {}))
    sources = tuple(
        _parse_source(check, entry, index) for index, entry in enumerate(data.get("sources", []))
    )
    seen: set[str] = set()
    for index, source in enumerate(sources):
        if source.name in seen:
            raise check.fail(f"duplicate source name {source.name!r}", "name", "sources", index)
        seen.add(source.name)
    return Config(
        path=path,
        archive=_resolve(base, data.get("archive", "archive.db")),
        media_dir=_resolve(base, data.get("media_dir", "media")),
        concurrency=concurrency,
        timeout=timeout,
        export=export_config,
        links=links_config,
        sources=sources,
    )


def _parse_links(check: _Validator, links: dict[str, Any]) -> LinksConfig:
    """Validate `[links]`: a threshold in (0, 1], a window and short-link hosts."""
    check.check_keys(links, _LINKS_KEYS, "[links]", "links")
    threshold = float(links.get("text_threshold", LinksConfig.text_threshold))
    if not 0 < threshold <= 1:
        raise check.fail(
            "[links]: 'text_threshold' must be above 0 and at most 1", "text_threshold", "links"
        )
    window = float(links.get("text_window_hours", LinksConfig.text_window_hours))
    if window < 0:
        raise check.fail(
            "[links]: 'text_window_hours' must be >= 0 (0 turns text matching off)",
            "text_window_hours",
            "links",
        )
    shorteners = links.get("shorteners", [])
    for host in shorteners:
        if not isinstance(host, str) or not re.match(r"^[a-z0-9.-]+$", host.lower()):
            raise check.fail(
                f"[links]: 'shorteners' must list host names, got {host!r}", "shorteners", "links"
            )
    return LinksConfig(
        text_threshold=threshold,
        text_window_hours=window,
        follow_redirects=links.get("follow_redirects", True),
        shorteners=tuple(host.lower() for host in shorteners),
    )


def _parse_source(check: _Validator, entry: Any, index: int) -> SourceConfig:
    label = f"[[sources]] #{index + 1}"
    if not isinstance(entry, dict):
        raise check.fail(f"{label} must be a table", "sources")
    for key in ("name", "type"):
        if key not in entry:
            raise check.fail(f"{label}: missing required key {key!r}", key, "sources", index)
    name, type_ = entry["name"], entry["type"]
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise check.fail(
            f"{label}: 'name' must use only a-z, 0-9 and '-', got {name!r}",
            "name",
            "sources",
            index,
        )
    label = f"source {name!r}"
    if type_ not in SOURCE_TYPES:
        known = ", ".join(SOURCE_TYPES)
        raise check.fail(
            f"{label}: unknown type {type_!r} (known types: {known})", "type", "sources", index
        )
    specific = SOURCE_KEYS[type_]  # not the class: its module would load httpx
    allowed = {**_COMMON_SOURCE_KEYS, **{k: t for k, (t, _) in specific.items()}}
    check.check_keys(entry, allowed, label, "sources", index)
    for key, (_, required) in specific.items():
        if required and key not in entry:
            raise check.fail(f"{label}: missing required key {key!r}", "type", "sources", index)
    refresh_days = entry.get("refresh_days", 14)
    if refresh_days < 0:
        raise check.fail(f"{label}: 'refresh_days' must be >= 0", "refresh_days", "sources", index)
    return SourceConfig(
        name=name,
        type=type_,
        enabled=entry.get("enabled", True),
        media=entry.get("media", True),
        refresh_days=refresh_days,
        comments=entry.get("comments", True),
        replies=entry.get("replies", True),
        options={k: v for k, v in entry.items() if k in specific},
    )


def add_source(path: Path, entry: dict[str, Any]) -> None:
    """Append a `[[sources]]` entry to the config file, keeping its comments and layout."""
    import tomlkit  # only `ownfeed add` edits the config: every sync would pay ~6 ms for it

    text = path.read_text(encoding="utf-8")
    document = tomlkit.parse(text)
    current = document.get("sources")
    names = {s.get("name") for s in current} if current is not None else set()
    if entry["name"] in names:
        raise ConfigError(f"{path}: a source named {entry['name']!r} exists already")
    table = tomlkit.table()
    for key, value in entry.items():
        table.add(key, value)
    if current is None:
        array = tomlkit.aot()
        array.append(table)
        document.append("sources", array)
    else:
        current.append(table)
    new_text = tomlkit.dumps(document)
    parse_config(tomllib.loads(new_text), path.resolve(), new_text)  # never write a bad config
    path.write_text(new_text, encoding="utf-8")
