import asyncio
import ipaddress

import httpx
import pytest

from ownfeed import netpolicy
from ownfeed.errors import FetchError
from ownfeed.http import HttpClient
from ownfeed.netpolicy import address_kind, host_kind, url_is_private
from tests.httpserver import Reply, TestServer


@pytest.mark.parametrize(
    "address, kind",
    [
        ("169.254.169.254", "blocked"),
        ("fe80::1", "blocked"),
        ("fd00:ec2::254", "blocked"),
        ("::ffff:169.254.169.254", "blocked"),
        ("10.1.2.3", "private"),
        ("192.168.0.10", "private"),
        ("127.0.0.1", "private"),
        ("::1", "private"),
        ("93.184.216.34", "public"),
        ("2606:2800:220:1::1", "public"),
    ],
)
def test_address_kinds(address, kind):
    assert address_kind(ipaddress.ip_address(address)) == kind


def test_localhost_names_are_private():
    assert asyncio.run(host_kind("localhost")) == "private"
    assert asyncio.run(url_is_private("http://127.0.0.1:8000/feed"))
    assert not asyncio.run(url_is_private("https://93.184.216.34/feed"))


def redirecting_to(target: str) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.host == "93.184.216.34":
            return httpx.Response(302, headers={"Location": target})
        return httpx.Response(200, stream=httpx.ByteStream(b"secret"))

    return httpx.MockTransport(handler)


def fetch(target: str, allow_private: bool) -> FetchError | bytes:
    async def go() -> FetchError | bytes:
        async with HttpClient(transport=redirecting_to(target), retries=1) as client:
            try:
                response = await client.scoped(allow_private=allow_private).get(
                    "http://93.184.216.34/feed"
                )
            except FetchError as error:
                return error
            return response.body

    return asyncio.run(go())


def test_public_source_cannot_be_redirected_into_the_local_network():
    outcome = fetch("http://10.0.0.5/admin", allow_private=False)
    assert isinstance(outcome, FetchError) and "private address" in str(outcome)


def test_private_hops_allowed_when_the_configured_url_is_private():
    assert fetch("http://10.0.0.5/feed", allow_private=True) == b"secret"


def test_metadata_address_is_always_refused():
    outcome = fetch("http://169.254.169.254/latest/meta-data/", allow_private=True)
    assert isinstance(outcome, FetchError) and "metadata" in str(outcome)


def rebinding(monkeypatch: pytest.MonkeyPatch, first: str, then: str) -> list[str]:
    """`rebind.example` answers `first` to the request's check and `then` afterwards."""
    asked: list[str] = []

    async def resolve(host: str) -> list[str]:
        assert host == "rebind.example"
        asked.append(host)
        return [first if len(asked) == 1 else then]

    monkeypatch.setattr(netpolicy, "resolve", resolve)
    return asked


def get(url: str, allow_private: bool) -> FetchError | bytes:
    async def go() -> FetchError | bytes:
        async with HttpClient(retries=1, timeout=2) as client:
            try:
                return (await client.scoped(allow_private=allow_private).get(url)).body
            except FetchError as error:
                return error

    return asyncio.run(go())


def test_a_name_that_rebinds_to_the_local_network_is_not_connected_to(
    server: TestServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Checked as public, then resolved to 127.0.0.1 for the connection: refused, and the
    local server never sees the request."""
    server.route("/admin", Reply("secret"))
    port = server.base_url.rsplit(":", 1)[1]
    asked = rebinding(monkeypatch, "93.184.216.34", "127.0.0.1")
    outcome = get(f"http://rebind.example:{port}/admin", allow_private=False)
    assert isinstance(outcome, FetchError)
    assert str(outcome) == (
        "refused: rebind.example now resolves to an address that is not allowed "
        "(it changed since it was checked)"
    )
    assert len(asked) == 2 and server.requests == []


def test_the_connection_goes_to_the_address_that_was_checked(
    server: TestServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    server.route("/feed", Reply("ok"))
    port = server.base_url.rsplit(":", 1)[1]
    rebinding(monkeypatch, "127.0.0.1", "127.0.0.1")
    assert get(f"http://rebind.example:{port}/feed", allow_private=True) == b"ok"
    assert server.requests[0].headers["host"] == f"rebind.example:{port}"
