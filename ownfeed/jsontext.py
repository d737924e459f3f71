"""JSON from untrusted bytes (HTTP bodies, export files), made safe to store.

JSON may escape a lone UTF-16 surrogate (`"\\ud800"`): Python's parser accepts it, but such a
string cannot be encoded as UTF-8, so SQLite refuses it and the whole write fails. Lone
surrogates are replaced with U+FFFD here, the one place every such document passes; the
scan only runs when the text contains a surrogate escape at all.
"""

from __future__ import annotations

import json
import re
from typing import Any

_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATE_ESCAPE_BYTES = re.compile(rb"\\u[dD][89a-fA-F]")


def loads(data: bytes | str) -> Any:
    """`json.loads`, with lone surrogates in strings and keys replaced by U+FFFD.

    Raises what `json.loads` raises: JSONDecodeError, UnicodeDecodeError, RecursionError,
    and ValueError for an integer longer than Python converts (4300 digits).
    """
    value = json.loads(data)
    pattern: Any = _SURROGATE_ESCAPE_BYTES if isinstance(data, bytes) else _SURROGATE_ESCAPE
    return repaired(value) if pattern.search(data) else value


def escapes_surrogate(text: str, start: int = 0, end: int | None = None) -> bool:
    """Whether `text[start:end]` escapes a surrogate (only then can a parsed value hold a
    lone one, so only then does it need `repaired`)."""
    return _SURROGATE_ESCAPE.search(text, start, len(text) if end is None else end) is not None


def repair(text: str) -> str:
    """The text with lone surrogates replaced by U+FFFD (pairs were joined by the parser)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return text


def repaired(value: Any) -> Any:
    """Every string of a parsed document repaired in place (iteratively: documents may nest
    as deep as the parser allows)."""
    if isinstance(value, str):
        return repair(value)
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            items = list(node.items())
            node.clear()
            for key, item in items:
                node[repair(key)] = repair(item) if isinstance(item, str) else item
                if isinstance(item, dict | list):
                    stack.append(item)
        elif isinstance(node, list):
            for index, item in enumerate(node):
                if isinstance(item, str):
                    node[index] = repair(item)
                elif isinstance(item, dict | list):
                    stack.append(item)
    return value
