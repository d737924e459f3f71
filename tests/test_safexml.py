import pytest

from ownfeed.safexml import UnsafeXML, parse_untrusted


def test_plain_documents_parse():
    assert parse_untrusted(b"<a><b>x</b></a>").find("b").text == "x"


@pytest.mark.parametrize(
    "document",
    [
        b'<!DOCTYPE a [<!ENTITY e "x">]><a>&e;</a>',
        b'<?xml version="1.0"?><!DOCTYPE a SYSTEM "file:///etc/passwd"><a/>',
        b"<a><b></a>",
        b"",
    ],
)
def test_dtds_and_broken_documents_are_one_line_errors(document):
    with pytest.raises(UnsafeXML) as error:
        parse_untrusted(document)
    assert "\n" not in str(error.value)
