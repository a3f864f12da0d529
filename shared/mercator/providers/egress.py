"""The egress guard: every request Mercator makes on a tenant's behalf goes out through it.

Store API calls (listings, details, status writes, the credentials check at configure), OAuth token
calls, workflow webhooks and Web Push messages are sent by HTTP clients built here from one
EgressPolicy, which the wiring builds from the function's settings (``EGRESS_ALLOW_LOOPBACK``,
``EGRESS_ALLOWED_HOSTS``). Such a client:

- speaks https only: any other scheme is refused before anything is sent (plain http only to a
  loopback host, and only with ``allow_loopback``, which the local stack sets and a deployment never);
- connects to public addresses only, checked after resolution: its httpcore network backend
  resolves the host itself, refuses the connection when any address it got is loopback, private,
  link-local (the instance metadata endpoints 169.254.169.254 and fd00:ec2::254 included), shared
  (carrier-grade NAT), multicast, unspecified, reserved or broadcast, or such an address in
  IPv4-mapped, IPv4-compatible, 6to4 or NAT64 form, then connects to one of the very addresses it
  checked. No second lookup comes between the check and the connection, so DNS rebinding has no
  window; TLS still verifies the certificate for, and sends SNI with, the URL's host name, and the
  Host header stays the URL's (httpcore takes both from the request, not from the address dialled);
- takes no proxy from the environment (``trust_env=False``: HTTP(S)_PROXY cannot send it elsewhere)
  and follows no redirect (a 3xx is an answer, which each caller reports as one).

A refused request raises EgressRefusedError. It is an httpx.ConnectError, so code that only knows
httpx sees a connection that could not be made; Mercator's own callers turn it into their domain
errors and never retry it. Which hosts a tenant's own store address may name is the other half of the
guard, checked before any request (mercator.providers.store_hosts).

Tests inject their own transports (httpx.MockTransport, a sandbox's ASGI app) where a client takes an
``http`` or ``http_factory``; the production wiring (mercator.wiring) always passes guarded clients.
"""

from __future__ import annotations

import functools
import ipaddress
import socket
import ssl
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import anyio
import httpcore
import httpx

from mercator.connector.definition import ConnectorDefinition
from mercator.connector.placeholders import fill, placeholders
from mercator.connector.sync import origin
from mercator.domain.errors import HostNotAllowedError, MissingCredentialError
from mercator.domain.host_patterns import matching
from mercator.settings import EgressSettings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Sequence[str]]
"""``(host, port)`` to the IP addresses (text) a connection to it may use."""

LOOPBACK = "loopback"
_LOCALHOST = "localhost"
DEFAULT_LIMITS = httpx.Limits(max_connections=20, max_keepalive_connections=10)

# Checked before ipaddress's own properties, whose tables differ between Python releases and miss
# some (224.0.0.1, 192.0.0.8 and 64:ff9b::7f00:1 count as global in 3.11).
_V4_REFUSED: tuple[tuple[ipaddress.IPv4Network, str], ...] = tuple(
    (ipaddress.IPv4Network(network), kind)
    for network, kind in (
        ("0.0.0.0/8", "unspecified"),
        ("10.0.0.0/8", "private"),
        ("100.64.0.0/10", "shared (carrier-grade NAT)"),
        ("127.0.0.0/8", LOOPBACK),
        ("169.254.0.0/16", "link-local"),
        ("172.16.0.0/12", "private"),
        ("192.0.0.0/24", "reserved"),
        ("192.0.2.0/24", "reserved (documentation)"),
        ("192.88.99.0/24", "reserved (6to4 relay)"),
        ("192.168.0.0/16", "private"),
        ("198.18.0.0/15", "reserved (benchmarking)"),
        ("198.51.100.0/24", "reserved (documentation)"),
        ("203.0.113.0/24", "reserved (documentation)"),
        ("224.0.0.0/4", "multicast"),
        ("255.255.255.255/32", "broadcast"),
        ("240.0.0.0/4", "reserved"),
    )
)
_V6_REFUSED: tuple[tuple[ipaddress.IPv6Network, str], ...] = tuple(
    (ipaddress.IPv6Network(network), kind)
    for network, kind in (
        ("::/128", "unspecified"),
        ("::1/128", LOOPBACK),
        ("::/96", "reserved (IPv4-compatible)"),
        ("64:ff9b:1::/48", "reserved (local NAT64)"),
        ("100::/64", "reserved (discard)"),
        ("2001::/23", "reserved (IETF protocol assignments)"),
        ("2001:db8::/32", "reserved (documentation)"),
        ("fd00:ec2::254/128", "link-local (the EC2 instance metadata service)"),
        ("fc00::/7", "private (unique local)"),
        ("fe80::/10", "link-local"),
        ("fec0::/10", "reserved (site-local)"),
        ("ff00::/8", "multicast"),
    )
)
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")
_IPV4_TRANSLATED = ipaddress.IPv6Network("::ffff:0:0:0/96")


class EgressRefusedError(httpx.ConnectError):
    """A request Mercator will not send on a tenant's behalf; ``reason`` says why, naming the host only."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class PolicySettings(Protocol):
    """What a policy is built from (every function's settings, mercator.settings)."""

    @property
    def egress_allow_loopback(self) -> bool: ...

    @property
    def egress_allowed_hosts(self) -> tuple[str, ...]: ...


def address_kind(address: IPAddress) -> str | None:
    """What kind of address Mercator never connects to ``address`` is; None for a public address.

    An IPv4 address embedded in an IPv6 one (IPv4-mapped ``::ffff:127.0.0.1``, IPv4-compatible,
    IPv4-translated, 6to4, NAT64 ``64:ff9b::/96``) is judged as the IPv4 address it reaches.
    """
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            return address_kind(embedded)
        refused: Iterable[tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, str]] = _V6_REFUSED
    else:
        refused = _V4_REFUSED
    for network, kind in refused:
        if address in network:
            return kind
    for kind, test in (
        ("multicast", address.is_multicast),
        (LOOPBACK, address.is_loopback),
        ("link-local", address.is_link_local),
        ("unspecified", address.is_unspecified),
        ("private", address.is_private),
        ("reserved", address.is_reserved),
    ):
        if test:
            return kind
    return None if address.is_global else "not public"


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    low = ipaddress.IPv4Address(int(address) & 0xFFFF_FFFF)
    if address in _NAT64 or address in _IPV4_TRANSLATED:
        return low
    if address in _IPV4_COMPATIBLE and int(address) > 1:  # not :: nor ::1, which are IPv6's own
        return low
    return None


def ip_literal(host: str) -> IPAddress | None:
    """``host`` as an IP address when it is one (brackets and an IPv6 zone allowed), else None."""
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def loopback_host(host: str) -> bool:
    """Whether ``host`` names this machine: ``localhost`` or a loopback IP literal."""
    if host.lower().rstrip(".") == _LOCALHOST:
        return True
    address = ip_literal(host)
    return address is not None and address_kind(address) == LOOPBACK


def system_resolver(host: str, port: int) -> list[str]:
    """The addresses the system resolver gives ``host``, in its order, each once."""
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError) as exc:
        raise httpcore.ConnectError(f"{host} could not be resolved ({type(exc).__name__})") from None
    return list(dict.fromkeys(str(info[4][0]) for info in found))


@dataclass(frozen=True)
class EgressPolicy:
    """What requests made on a tenant's behalf may reach; the clients that hold to it.

    ``allow_loopback`` (the local stack and tests only) lets them reach loopback addresses, over plain
    http too; ``allowed_hosts`` are the operator's host patterns, beside each connector's own, for a
    tenant's store address; ``resolver`` turns a host into addresses (tests stub it).
    """

    allow_loopback: bool = False
    allowed_hosts: tuple[str, ...] = ()
    resolver: Resolver = field(default=system_resolver, compare=False, repr=False)

    @classmethod
    def from_settings(cls, settings: PolicySettings) -> EgressPolicy:
        return cls(
            allow_loopback=settings.egress_allow_loopback,
            allowed_hosts=tuple(settings.egress_allowed_hosts),
        )

    @classmethod
    def from_environment(cls) -> EgressPolicy:
        """The policy the process's environment sets (validated by mercator.settings): for a client
        built where its function's settings are not at hand."""
        return cls.from_settings(EgressSettings.from_environ())

    # Checks

    def url_problem(self, url: httpx.URL | str) -> str | None:
        """Why a request to ``url`` is refused before any lookup (its scheme, an IP-literal host)."""
        try:
            parsed = url if isinstance(url, httpx.URL) else httpx.URL(url)
        except httpx.InvalidURL:
            return "the address is not a URL that can be requested"
        host = parsed.host
        scheme = parsed.scheme.lower()
        if not host:
            return "the address has no host"
        if scheme == "http" and self.allow_loopback and loopback_host(host):
            return None
        if scheme != "https":
            shown = f"[{host}]" if ":" in host else host
            return (
                f"{scheme or 'a relative'}://{shown} is not https: Mercator sends requests on a tenant's "
                "behalf over https only"
            )
        address = ip_literal(host)
        return None if address is None else self.address_problem(host, address)

    def check_url(self, url: httpx.URL | str) -> None:
        """Raise EgressRefusedError when ``url`` may not be requested (see url_problem)."""
        problem = self.url_problem(url)
        if problem is not None:
            raise EgressRefusedError(problem)

    def address_problem(self, host: str, address: IPAddress) -> str | None:
        """Why ``host``'s address ``address`` may not be connected to; None when it may."""
        kind = address_kind(address)
        if kind is None or (kind == LOOPBACK and self.allow_loopback):
            return None
        described = f"{'an' if kind[0] in 'aeiou' else 'a'} {kind} address"
        if ip_literal(host) is not None:
            return f"{host} is {described}; Mercator calls public addresses only"
        # The address itself is not shown: an internal name's address is not the tenant's to learn.
        return f"{host} resolves to {described}; Mercator calls public addresses only"

    def addresses(self, host: str, port: int) -> list[str]:
        """The addresses to connect to for ``host``: resolved once, every one of them checked.

        EgressRefusedError when any is refused: a name that resolves to one public and one internal
        address is not one to trust.
        """
        literal = ip_literal(host)
        found = [str(literal)] if literal is not None else list(self.resolver(host, port))
        if not found:
            raise httpcore.ConnectError(f"{host} resolves to no address")
        checked: list[str] = []
        for text in found:
            address = ip_literal(text)
            if address is None:
                raise EgressRefusedError(f"{host} resolves to something that is not an IP address")
            problem = self.address_problem(host, address)
            if problem is not None:
                raise EgressRefusedError(problem)
            checked.append(str(address))
        return checked

    def allows_store_host(self, host: str, patterns: Iterable[str]) -> bool:
        """Whether a tenant's store address may name ``host``: one of ``patterns`` (the connector's)
        or of the operator's matches it, or it is loopback and loopback is allowed."""
        if matching(host, [*patterns, *self.allowed_hosts]):
            return True
        return self.allow_loopback and loopback_host(host)

    def check_store_hosts(
        self, definition: ConnectorDefinition, base_url: str | None, credentials: Mapping[str, str]
    ) -> None:
        """Refuse (HostNotAllowedError) a store address whose host the connector does not allow.

        ``base_url`` is the integration's own (its ``baseUrl`` setting), None to use the connector's. An
        address that is not a URL with a host passes here: the client refuses it as it builds its
        requests. MissingCredentialError when the base URL needs a credential that is not given.
        """
        patterns = definition.sync.store_hosts()
        for where, url in _chosen_addresses(definition, base_url, credentials):
            host = _host(url)
            if host is None or self.allows_store_host(host, patterns):
                continue
            allowed = ", ".join([*patterns, *self.allowed_hosts]) or "none"
            raise HostNotAllowedError(
                f"{where} names the host {host!r}, which is not one {definition.displayName} stores are "
                f"served from; allowed hosts: {allowed}"
            )

    # Clients

    def client(
        self,
        *,
        timeout: float = 10.0,
        headers: Mapping[str, str] | None = None,
        limits: httpx.Limits = DEFAULT_LIMITS,
    ) -> httpx.Client:
        """A guarded client (workflow webhooks, Web Push)."""
        return httpx.Client(
            transport=GuardedTransport(self, limits=limits),
            timeout=timeout,
            headers=headers,
            trust_env=False,
            follow_redirects=False,
        )

    def async_client(
        self,
        *,
        timeout: float = 10.0,
        headers: Mapping[str, str] | None = None,
        limits: httpx.Limits = DEFAULT_LIMITS,
    ) -> httpx.AsyncClient:
        """A guarded async client (store APIs, token endpoints)."""
        return httpx.AsyncClient(
            transport=AsyncGuardedTransport(self, limits=limits),
            timeout=timeout,
            headers=headers,
            trust_env=False,
            follow_redirects=False,
        )

    def async_clients(
        self, *, timeout: float = 10.0, headers: Mapping[str, str] | None = None
    ) -> Callable[[], httpx.AsyncClient]:
        """A factory of guarded async clients, for adapters that open one per call."""
        return functools.partial(self.async_client, timeout=timeout, headers=headers)


def guarded_async_clients(
    *, timeout: float, headers: Mapping[str, str] | None = None
) -> Callable[[], httpx.AsyncClient]:
    """Guarded async clients under the policy of the process's environment (EgressPolicy.from_environment)."""
    return EgressPolicy.from_environment().async_clients(timeout=timeout, headers=headers)


# The network backends: resolve, check, connect to a checked address


class GuardedBackend(httpcore.NetworkBackend):
    """httpcore's synchronous backend, connecting only to addresses the policy let through."""

    def __init__(self, policy: EgressPolicy, inner: httpcore.NetworkBackend | None = None) -> None:
        self._policy = policy
        self._inner = inner or httpcore.SyncBackend()

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        failure: Exception | None = None
        for address in self._policy.addresses(host, port):
            try:
                return self._inner.connect_tcp(
                    address, port, timeout=timeout, local_address=local_address, socket_options=socket_options
                )
            except httpcore.ConnectError as exc:  # the next checked address, as a resolver's order allows
                failure = exc
        assert failure is not None  # addresses() never answers an empty list
        raise failure

    def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.NetworkStream:
        raise EgressRefusedError("a Unix socket is not an address Mercator calls on a tenant's behalf")

    def sleep(self, seconds: float) -> None:
        self._inner.sleep(seconds)


class AsyncGuardedBackend(httpcore.AsyncNetworkBackend):
    """httpcore's async backend, connecting only to addresses the policy let through."""

    def __init__(self, policy: EgressPolicy, inner: httpcore.AsyncNetworkBackend | None = None) -> None:
        self._policy = policy
        self._inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        failure: Exception | None = None
        for address in await self._addresses(host, port, timeout):
            try:
                return await self._inner.connect_tcp(
                    address, port, timeout=timeout, local_address=local_address, socket_options=socket_options
                )
            except httpcore.ConnectError as exc:
                failure = exc
        assert failure is not None
        raise failure

    async def _addresses(self, host: str, port: int, timeout: float | None) -> list[str]:
        if ip_literal(host) is not None:
            return self._policy.addresses(host, port)
        # getaddrinfo blocks: in a worker thread, within the connect timeout.
        try:
            with anyio.fail_after(timeout):
                return await anyio.to_thread.run_sync(
                    self._policy.addresses, host, port, abandon_on_cancel=True
                )
        except TimeoutError:
            raise httpcore.ConnectTimeout(f"{host} was not resolved within {timeout:g} s") from None

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise EgressRefusedError("a Unix socket is not an address Mercator calls on a tenant's behalf")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


# The transports: httpx's own request handling over a pool on the guarded backend


@functools.cache
def _ssl_context() -> ssl.SSLContext:
    # One per process: loading the CA bundle for every client would cost each Lambda invocation.
    return httpx.create_ssl_context()


class GuardedTransport(httpx.HTTPTransport):
    """httpx's transport with the scheme checked and its pool on the guarded backend.

    httpx builds its pool with httpcore's default backend and takes no other; this transport builds
    the pool itself with httpcore's public ``ConnectionPool(network_backend=...)`` and keeps
    HTTPTransport's request handling (its mapping of httpcore errors to httpx's) as it is. No proxy
    is ever configured, whatever the environment says.
    """

    def __init__(
        self,
        policy: EgressPolicy,
        *,
        limits: httpx.Limits = DEFAULT_LIMITS,
        backend: httpcore.NetworkBackend | None = None,
    ) -> None:
        # HTTPTransport.__init__ would only build a pool (and an SSL context) to be replaced.
        self.policy = policy
        self._pool = httpcore.ConnectionPool(
            ssl_context=_ssl_context(),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=GuardedBackend(policy, backend),
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.policy.check_url(request.url)
        return super().handle_request(request)


class AsyncGuardedTransport(httpx.AsyncHTTPTransport):
    """The async GuardedTransport."""

    def __init__(
        self,
        policy: EgressPolicy,
        *,
        limits: httpx.Limits = DEFAULT_LIMITS,
        backend: httpcore.AsyncNetworkBackend | None = None,
    ) -> None:
        self.policy = policy
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=_ssl_context(),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=AsyncGuardedBackend(policy, backend),
        )

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.policy.check_url(request.url)
        return await super().handle_async_request(request)


# A tenant chooses where Mercator calls in two ways: the integration's ``baseUrl`` setting, and the
# credentials a connector's base URL is made from (``https://[[shopDomain]]/...``). Either host must
# match the connector's ``sync.allowedHosts`` or the operator's ``EGRESS_ALLOWED_HOSTS``, checked when
# an integration is configured and again when each session opens, so an integration stored before a
# connector narrowed its hosts is refused too.


def _chosen_addresses(
    definition: ConnectorDefinition, base_url: str | None, credentials: Mapping[str, str]
) -> Iterator[tuple[str, str]]:
    """Every address a tenant chose, with where it was chosen."""
    written = definition.sync.baseUrl
    if base_url is not None:
        yield "settings.baseUrl", base_url
    names = placeholders(origin(written))
    if not names:
        return
    try:
        # The connector's own host made from the credentials: its absolute endpoint URLs are on it,
        # whatever settings.baseUrl says.
        filled = fill(origin(written), credentials, "sync.baseUrl")
    except MissingCredentialError:
        if base_url is None:
            raise
        return
    shown = ", ".join(sorted(names))
    yield f"the credential{'s' if len(names) > 1 else ''} {shown} (sync.baseUrl {written})", filled


def _host(url: str) -> str | None:
    text = url.strip()
    scheme, separator, rest = text.partition("://")
    if not separator:
        return None
    try:
        # As the client reads it: collapsed slashes (mercator.providers.client), httpx's parser.
        host = httpx.URL(f"{scheme}://{rest.lstrip('/')}").raw_host.decode("ascii")
    except (httpx.InvalidURL, UnicodeError):
        return None
    return host.lower().rstrip(".") or None
