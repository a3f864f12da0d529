"""The egress guard: https only, public addresses only, checked on the very address connected to.

No network: the guarded clients run over httpcore's mock backends, which record what the guard
asked them to connect to (and, for https, the name TLS was started for), so each test shows where a
request would really have gone.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

import httpcore
import httpx
import pytest

from mercator.providers.egress import (
    AsyncGuardedTransport,
    EgressPolicy,
    EgressRefusedError,
    GuardedTransport,
    address_kind,
    ip_literal,
)

OK = [b"HTTP/1.1 200 OK\r\n", b"Content-Type: application/json\r\n", b"Content-Length: 2\r\n", b"\r\n", b"[]"]
PUBLIC = "93.184.216.34"

REFUSED_ADDRESSES = [
    ("127.0.0.1", "loopback"),
    ("127.255.255.254", "loopback"),
    ("::1", "loopback"),
    ("10.0.0.1", "private"),
    ("172.16.5.4", "private"),
    ("172.31.255.255", "private"),
    ("192.168.1.1", "private"),
    ("fc00::1", "private (unique local)"),
    ("fd12:3456::1", "private (unique local)"),
    ("169.254.169.254", "link-local"),
    ("169.254.0.1", "link-local"),
    ("fe80::1", "link-local"),
    ("fd00:ec2::254", "link-local (the EC2 instance metadata service)"),
    ("100.64.0.1", "shared (carrier-grade NAT)"),
    ("100.127.255.254", "shared (carrier-grade NAT)"),
    ("224.0.0.1", "multicast"),
    ("239.255.255.250", "multicast"),
    ("ff02::1", "multicast"),
    ("0.0.0.0", "unspecified"),
    ("0.1.2.3", "unspecified"),
    ("::", "unspecified"),
    ("255.255.255.255", "broadcast"),
    ("240.0.0.1", "reserved"),
    ("192.0.0.8", "reserved"),
    ("198.18.0.1", "reserved (benchmarking)"),
    ("192.0.2.10", "reserved (documentation)"),
    ("2001:db8::1", "reserved (documentation)"),
    # The same addresses, written as IPv6
    ("::ffff:127.0.0.1", "loopback"),
    ("::ffff:169.254.169.254", "link-local"),
    ("::ffff:10.1.2.3", "private"),
    ("::ffff:0:127.0.0.1", "loopback"),  # IPv4-translated
    ("::127.0.0.1", "loopback"),  # IPv4-compatible
    ("64:ff9b::127.0.0.1", "loopback"),  # NAT64
    ("64:ff9b::a9fe:a9fe", "link-local"),  # NAT64 of 169.254.169.254
    ("2002:7f00:1::", "loopback"),  # 6to4 of 127.0.0.1
    ("64:ff9b:1::1", "reserved (local NAT64)"),
]
PUBLIC_ADDRESSES = [
    PUBLIC,
    "8.8.8.8",
    "1.1.1.1",
    "151.101.1.69",
    "100.63.255.255",  # just below the shared range
    "172.32.0.1",  # just above 172.16/12
    "2606:4700:4700::1111",
    "2a00:1450:4001:82a::200e",
    "::ffff:8.8.8.8",
    "64:ff9b::808:808",  # NAT64 of 8.8.8.8
]


class _Stream(httpcore.MockStream):
    def __init__(self, buffer: list[bytes], tls_names: list[str | None]) -> None:
        super().__init__(list(buffer))
        self._tls_names = tls_names

    def start_tls(
        self, ssl_context: object, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        self._tls_names.append(server_hostname)
        return self


class Recording(httpcore.NetworkBackend):
    """A backend that answers ``buffer`` on every connection, noting each address it is asked to
    connect to and the name TLS is started for."""

    def __init__(self, buffer: Sequence[bytes] = OK) -> None:
        self.buffer = list(buffer)
        self.connected: list[tuple[str, int]] = []
        self.tls_names: list[str | None] = []

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: object = None,
    ) -> httpcore.NetworkStream:
        self.connected.append((host, port))
        return _Stream(self.buffer, self.tls_names)


class AsyncRecording(httpcore.AsyncMockBackend):
    def __init__(self, buffer: Sequence[bytes] = OK) -> None:
        super().__init__(list(buffer))
        self.connected: list[tuple[str, int]] = []

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: object = None,
    ) -> httpcore.AsyncNetworkStream:
        self.connected.append((host, port))
        return await super().connect_tcp(host, port)


class Rebinding:
    """A resolver that answers a public address the first time and loopback ever after (a name with a
    zero TTL under an attacker's control)."""

    def __init__(self, *answers: list[str]) -> None:
        self.answers: Iterator[list[str]] = iter(answers)
        self.last: list[str] = []
        self.asked: list[str] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.asked.append(host)
        self.last = next(self.answers, self.last)
        return self.last


def client(policy: EgressPolicy, backend: httpcore.NetworkBackend) -> httpx.Client:
    return httpx.Client(transport=GuardedTransport(policy, backend=backend), trust_env=False)


# Addresses


@pytest.mark.parametrize(("address", "kind"), REFUSED_ADDRESSES)
def test_every_internal_address_is_refused_with_its_kind(address: str, kind: str) -> None:
    parsed = ip_literal(address)
    assert parsed is not None
    assert address_kind(parsed) == kind

    # Given as the host of a URL, or as what a name resolves to, it is never connected to
    backend = Recording()
    for url, policy in (
        (f"https://[{address}]/" if ":" in address else f"https://{address}/", EgressPolicy()),
        ("https://store.example.com/", EgressPolicy(resolver=lambda host, port: [address])),
    ):
        with (
            client(policy, backend) as http,
            pytest.raises(EgressRefusedError, match=re.escape(f"{kind} address;")),
        ):
            http.get(url)
    assert backend.connected == []


@pytest.mark.parametrize("address", PUBLIC_ADDRESSES)
def test_public_addresses_are_connected_to(address: str) -> None:
    backend = Recording()
    policy = EgressPolicy(resolver=lambda host, port: [address])

    with client(policy, backend) as http:
        response = http.get("https://store.example.com/orders")

    assert response.status_code == 200
    assert backend.connected == [(str(ip_literal(address)), 443)]


def test_loopback_is_reached_only_where_the_policy_allows_it_and_nothing_else_internal() -> None:
    local = EgressPolicy(allow_loopback=True)

    for address in ("127.0.0.1", "::1", "::ffff:127.0.0.1"):
        assert local.address_problem(address, ip_literal(address)) is None  # type: ignore[arg-type]
        assert EgressPolicy().address_problem(address, ip_literal(address)) is not None  # type: ignore[arg-type]
    for address in ("10.0.0.1", "169.254.169.254", "fd00:ec2::254", "192.168.0.10"):
        assert local.address_problem(address, ip_literal(address)) is not None  # type: ignore[arg-type]


def test_a_name_resolving_to_one_public_and_one_internal_address_is_refused() -> None:
    backend = Recording()
    policy = EgressPolicy(resolver=lambda host, port: [PUBLIC, "10.0.0.7"])

    with client(policy, backend) as http, pytest.raises(EgressRefusedError) as caught:
        http.get("https://store.example.com/")

    assert backend.connected == []
    # The internal address itself is not told: only its kind
    assert str(caught.value) == (
        "store.example.com resolves to a private address; Mercator calls public addresses only"
    )


# Schemes


@pytest.mark.parametrize(
    ("url", "allow_loopback", "refused"),
    [
        ("https://store.example.com/", False, False),
        ("http://store.example.com/", False, True),
        ("http://store.example.com/", True, True),  # loopback allowed is not plain http anywhere
        ("http://127.0.0.1:8900/", False, True),
        ("http://127.0.0.1:8900/", True, False),
        ("http://localhost:8900/", True, False),
        ("http://[::1]:8900/", True, False),
        ("ftp://store.example.com/", False, True),
        ("ws://store.example.com/", True, True),
    ],
)
def test_https_only_and_plain_http_to_loopback_only_where_allowed(
    url: str, allow_loopback: bool, refused: bool
) -> None:
    policy = EgressPolicy(allow_loopback=allow_loopback, resolver=lambda host, port: [PUBLIC])

    assert (policy.url_problem(url) is not None) == refused
    if url.startswith(("http://", "https://")):
        backend = Recording()
        with client(policy, backend) as http:
            if refused:
                with pytest.raises(EgressRefusedError, match="is not https"):
                    http.get(url)
                assert backend.connected == []
            else:
                assert http.get(url).status_code == 200


# DNS rebinding: the address checked is the address connected to


def test_a_name_that_rebinds_to_loopback_after_the_check_is_never_connected_to_loopback() -> None:
    # Given a name answering a public address when it is checked, and 127.0.0.1 ever after
    resolver = Rebinding([PUBLIC], ["127.0.0.1"])
    policy = EgressPolicy(resolver=resolver)
    backend = Recording()

    # When a check resolves it (public: fine) and a request follows
    assert policy.addresses("rebind.example.net", 443) == [PUBLIC]
    with client(policy, backend) as http, pytest.raises(EgressRefusedError, match="a loopback address"):
        http.get("https://rebind.example.net/admin")

    # Then the connection's own lookup was checked too, and nothing was connected to
    assert resolver.asked == ["rebind.example.net", "rebind.example.net"]
    assert backend.connected == []


def test_the_connection_goes_to_the_checked_address_with_the_hostname_kept_for_tls_and_host() -> None:
    # Given a name that answers public once and loopback afterwards
    resolver = Rebinding([PUBLIC], ["127.0.0.1"])
    backend = Recording()
    sent: list[httpx.Request] = []

    with httpx.Client(
        transport=GuardedTransport(EgressPolicy(resolver=resolver), backend=backend),
        event_hooks={"request": [sent.append]},
    ) as http:
        response = http.get("https://rebind.example.net/orders")

    # Then one lookup served both the check and the connection, which went to the checked address,
    # while TLS was started for the name and the Host header kept it
    assert response.status_code == 200
    assert resolver.asked == ["rebind.example.net"]
    assert backend.connected == [(PUBLIC, 443)]
    assert backend.tls_names == ["rebind.example.net"]
    assert sent[0].headers["Host"] == "rebind.example.net"


@pytest.mark.anyio
async def test_the_async_client_checks_the_address_it_connects_to() -> None:
    resolver = Rebinding([PUBLIC], ["127.0.0.1"])
    backend = AsyncRecording()
    policy = EgressPolicy(resolver=resolver)

    async with httpx.AsyncClient(transport=AsyncGuardedTransport(policy, backend=backend)) as http:
        assert (await http.get("https://rebind.example.net/a")).status_code == 200
    async with httpx.AsyncClient(transport=AsyncGuardedTransport(policy, backend=AsyncRecording())) as http:
        with pytest.raises(EgressRefusedError, match=r"rebind\.example\.net resolves to a loopback address"):
            await http.get("https://rebind.example.net/b")

    assert backend.connected == [(PUBLIC, 443)]


# Proxies and redirects


def test_a_proxy_from_the_environment_is_not_used(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTPS_PROXY", "https_proxy", "ALL_PROXY", "HTTP_PROXY"):
        monkeypatch.setenv(name, "http://10.0.0.9:3128")
    backend = Recording()
    policy = EgressPolicy(resolver=lambda host, port: [PUBLIC])

    with policy.client() as http:
        assert not http._mounts  # no proxy mount from the environment
    with httpx.Client(transport=GuardedTransport(policy, backend=backend), trust_env=False) as http:
        http.get("https://store.example.com/")

    assert backend.connected == [(PUBLIC, 443)]


def test_a_redirect_is_an_answer_and_is_not_followed() -> None:
    redirect = [
        b"HTTP/1.1 302 Found\r\n",
        b"Location: http://169.254.169.254/latest/meta-data/\r\n",
        b"Content-Length: 0\r\n",
        b"\r\n",
    ]
    backend = Recording(redirect)
    policy = EgressPolicy(resolver=lambda host, port: [PUBLIC])

    with policy.client() as http:
        assert http.follow_redirects is False
        assert http._trust_env is False
    with httpx.Client(transport=GuardedTransport(policy, backend=backend)) as http:
        response = http.get("https://store.example.com/")

    assert response.status_code == 302
    assert backend.connected == [(PUBLIC, 443)]


def test_the_clients_made_here_are_guarded() -> None:
    policy = EgressPolicy()

    with policy.client() as sync_client:
        assert isinstance(sync_client._transport, GuardedTransport)
    http = policy.async_client()
    assert isinstance(http._transport, AsyncGuardedTransport)
    assert http._trust_env is False and http.follow_redirects is False
