"""Parse untrusted XML without entity expansion: a document with a DTD is refused outright."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from typing import Any
from xml.parsers import expat


class UnsafeXML(ValueError):
    """The document is not well-formed, or declares a DTD or entities."""


class _Doctype(Exception):
    pass


class _Root(Exception):
    pass


def _refuse_dtd(data: bytes) -> None:
    """Read up to the root element: fail on any DOCTYPE or ENTITY declaration before it."""
    checker = expat.ParserCreate()

    def refuse(*_: Any) -> None:
        raise _Doctype

    def stop(*_: Any) -> None:
        raise _Root

    checker.StartDoctypeDeclHandler = refuse
    checker.EntityDeclHandler = refuse
    checker.StartElementHandler = stop
    try:
        checker.Parse(data, True)
    except _Root:
        return
    except _Doctype:
        raise UnsafeXML("refusing XML with a DTD (<!DOCTYPE>/<!ENTITY>)") from None
    except expat.ExpatError as error:
        raise UnsafeXML(f"invalid XML ({error})") from None


def parse_untrusted(data: bytes) -> ET.Element:
    """The document's root element; UnsafeXML (one line) for DTDs and malformed input."""
    _refuse_dtd(data)
    try:
        return ET.fromstring(data)
    except ET.ParseError as error:
        raise UnsafeXML(f"invalid XML ({error})") from None
