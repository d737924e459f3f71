"""The X archive's `.js` data files: `window.YTD.<name>.partN = [ … ]`.

A large archive's tweets.js runs to hundreds of megabytes. Decoding it whole holds the text
(up to four bytes a character once an emoji appears) and every tweet's object tree at once;
`iter_items` instead decodes a window of the file at a time and hands out one element after
the other, so an importer can keep only what it needs of each.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterator
from typing import IO, Any

from ownfeed import jsontext
from ownfeed.importers.bundle import Bundle

WINDOW = 8 * 1024 * 1024  # bytes decoded at a time
_PREFIX = re.compile(r"\s*(?:window\.[\w.$]+\s*=\s*)?(?=[\[{])")
_SPACE = re.compile(r"[ \t\r\n]*")
_DECODER = json.JSONDecoder()


def read_js(bundle: Bundle, member: str) -> Any:
    """A small data file (account.js, manifest.js) as one JSON value."""
    try:
        body = bundle.read(member).decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise bundle.fail(member, f"not UTF-8 ({error.reason} at byte {error.start})") from None
    start = _PREFIX.match(body)
    if start is None:
        raise bundle.fail(member, "expected 'window.YTD.… = [' at the start")
    try:
        value, end = _DECODER.raw_decode(body, start.end())
    except json.JSONDecodeError as error:
        raise bundle.fail(member, _cause(error, 0, 0)) from None
    if jsontext.escapes_surrogate(body, start.end(), end):
        value = jsontext.repaired(value)
    if body[end:].strip(" \t\r\n;"):
        raise bundle.fail(member, f"unexpected text after the data (character {end})")
    return value


class _Window:
    """Decoded text over the file's bytes, extended on demand, consumed text dropped."""

    def __init__(self, bundle: Bundle, member: str, stream: IO[bytes]) -> None:
        self.bundle, self.member, self.stream = bundle, member, stream
        self.decoder = codecs.getincrementaldecoder("utf-8-sig")()
        self.read = 0  # bytes decoded so far
        self.eof = False
        self.text = ""
        self.at = 0  # position in text
        self.lines = 0  # newlines in the dropped text, and characters dropped of the
        self.column = 0  # current line: error positions are the file's own

    def more(self) -> bool:
        """Append the next window of the file; False at its end."""
        if self.eof:
            return False
        chunk = self.stream.read(WINDOW)
        self.read += len(chunk)
        self.eof = len(chunk) < WINDOW
        try:
            decoded = self.decoder.decode(chunk, final=self.eof)
        except UnicodeDecodeError as error:
            cause = f"not UTF-8 ({error.reason} near byte {self.read - len(chunk) + error.start})"
            raise self.bundle.fail(self.member, cause) from None
        newline = self.text.rfind("\n", 0, self.at)
        self.lines += self.text.count("\n", 0, self.at)
        self.column = self.column + self.at if newline < 0 else self.at - newline - 1
        self.text = self.text[self.at :] + decoded
        self.at = 0
        return True

    def skip_space(self) -> str | None:
        """The next non-blank character (not consumed), None at the end of the file."""
        while True:
            self.at = _SPACE.match(self.text, self.at).end()  # type: ignore[union-attr]
            if self.at < len(self.text):
                return self.text[self.at]
            if not self.more():
                return None

    def value(self) -> Any:
        while True:
            try:
                value, end = _DECODER.raw_decode(self.text, self.at)
                if end < len(self.text) or not self.more():  # a number may go on
                    if jsontext.escapes_surrogate(self.text, self.at, end):
                        value = jsontext.repaired(value)  # lone surrogates cannot be stored
                    self.at = end
                    return value
            except json.JSONDecodeError as error:
                if not self.more():  # the whole rest of the file is there: really broken
                    cause = _cause(error, self.lines, self.column)
                    raise self.bundle.fail(self.member, cause) from None

    def fail(self, expected: str) -> Exception:
        line = self.lines + self.text.count("\n", 0, self.at) + 1
        found = repr(self.text[self.at : self.at + 12]) if self.at < len(self.text) else "the end"
        return self.bundle.fail(self.member, f"expected {expected} at line {line}, found {found}")


def iter_items(bundle: Bundle, member: str) -> Iterator[tuple[int, Any]]:
    """The elements of a data file's array, one at a time, with their index."""
    with bundle.open(member) as stream:
        yield from _items(_Window(bundle, member, stream))


def _items(window: _Window) -> Iterator[tuple[int, Any]]:
    bundle, member = window.bundle, window.member
    while "[" not in window.text and "{" not in window.text and window.more():
        pass  # the `window.YTD.… = ` prefix, however small the window
    start = _PREFIX.match(window.text)
    if start is None:
        raise bundle.fail(member, "expected 'window.YTD.… = [' at the start")
    if window.text[start.end() : start.end() + 1] != "[":
        raise bundle.fail(member, "expected a list of entries, found an object")
    window.at = start.end() + 1
    index = 0
    if window.skip_space() == "]":
        window.at += 1
    else:
        while True:
            if window.skip_space() is None:
                raise window.fail("an element")
            yield index, window.value()
            index += 1
            following = window.skip_space()
            if following == "]":
                window.at += 1
                break
            if following != ",":
                raise window.fail("',' or ']'")
            window.at += 1
    while window.skip_space() == ";":
        window.at += 1
    if window.skip_space() is not None:
        raise window.fail("the end of the file")


def _cause(error: json.JSONDecodeError, lines: int, column: int) -> str:
    """Where the decoder stopped, counted from the file's start (not the window's)."""
    col = error.colno + (column if error.lineno == 1 else 0)
    return f"invalid JSON at line {lines + error.lineno} column {col}: {error.msg}"
