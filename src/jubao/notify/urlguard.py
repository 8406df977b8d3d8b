"""SSRF guard for merchant callback URLs: only http(s), and every resolved address must be public.

A merchant chooses the URL, so without this guard jubao would POST wherever it is told: to its own
admin port, to a database on the private network, to the cloud metadata service. The core is pure
(``refusal_reason`` classifies one address); ``UrlGuard.vet`` resolves the host and returns a
``Destination`` whose address the caller must connect to (see ``Destination`` for why).

Rules, applied to every address the host resolves to (one bad address refuses the URL):

* cloud metadata addresses are always refused, whatever the allowlist says;
* IPv6 forms that carry an IPv4 address are judged by that IPv4 address too: IPv4-mapped
  (``::ffff:0:0/96``, judged exactly as the IPv4 address it is), 6to4 (``2002::/16``), NAT64
  (``64:ff9b::/96``), Teredo (``2001::/32``: server and client); IPv4-compatible (``::/96``) and
  local-use NAT64 (``64:ff9b:1::/48``) are refused outright;
* then the special-purpose tables below; IPv6 outside global unicast ``2000::/3`` is refused;
* ``allow_private`` (the sandbox) lets loopback and private ranges (RFC 1918, ULA) through; an
  explicit allowlist of CIDRs or host names lets anything but metadata through.
"""

from __future__ import annotations

import asyncio
import functools
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field

import httpx

from jubao.httppool import parsed_url

__all__ = [
    "Destination",
    "IPAddress",
    "Resolver",
    "UrlGuard",
    "UrlRefused",
    "refusal_reason",
    "system_resolver",
]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str, int], Awaitable[list[str]]]

LOOPBACK, PRIVATE, METADATA = "loopback", "private", "cloud metadata"
_PRIVATE_KINDS = frozenset({LOOPBACK, PRIVATE})

_METADATA = frozenset(
    ipaddress.ip_address(text)
    for text in (
        "169.254.169.254",  # AWS, GCP, Azure, Oracle, Huawei, DigitalOcean ...
        "169.254.169.253",  # AWS VPC DNS
        "169.254.169.123",  # AWS time sync
        "169.254.170.2",  # AWS ECS task metadata
        "169.254.0.23",  # Tencent Cloud
        "100.100.100.200",  # Alibaba Cloud
        "192.0.0.192",  # Oracle Cloud (classic)
        "fd00:ec2::254",  # AWS IMDS over IPv6
        "fd00:ec2::23",  # AWS DNS over IPv6
        "fd00:ec2::123",  # AWS time sync over IPv6
    )
)


def _nets(*pairs: tuple[str, str]) -> tuple[tuple[IPNetwork, str], ...]:
    return tuple((ipaddress.ip_network(cidr), kind) for cidr, kind in pairs)


_IPV4_TABLE = _nets(
    ("0.0.0.0/8", "unspecified"),
    ("10.0.0.0/8", PRIVATE),
    ("100.64.0.0/10", "carrier-grade NAT"),
    ("127.0.0.0/8", LOOPBACK),
    ("169.254.0.0/16", "link-local"),
    ("172.16.0.0/12", PRIVATE),
    ("192.0.0.0/24", "IETF protocol assignments"),
    ("192.0.2.0/24", "documentation"),
    ("192.88.99.0/24", "6to4 relay anycast"),
    ("192.168.0.0/16", PRIVATE),
    ("198.18.0.0/15", "benchmarking"),
    ("198.51.100.0/24", "documentation"),
    ("203.0.113.0/24", "documentation"),
    ("224.0.0.0/4", "multicast"),
    ("240.0.0.0/4", "reserved"),  # includes the broadcast address 255.255.255.255
)

_IPV6_TABLE = _nets(
    ("::/128", "unspecified"),
    ("::1/128", LOOPBACK),
    ("100::/64", "discard-only"),
    ("2001:2::/48", "benchmarking"),
    ("2001:10::/28", "ORCHID"),
    ("2001:20::/28", "ORCHIDv2"),
    ("2001:db8::/32", "documentation"),
    ("3fff::/20", "documentation"),
    ("fc00::/7", PRIVATE),  # unique local addresses
    ("fe80::/10", "link-local"),
    ("fec0::/10", "site-local"),
    ("ff00::/8", "multicast"),
)

_IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_NAT64_LOCAL = ipaddress.IPv6Network("64:ff9b:1::/48")
_GLOBAL_UNICAST = ipaddress.IPv6Network("2000::/3")


def _in_table(address: IPAddress, table: tuple[tuple[IPNetwork, str], ...]) -> str | None:
    for network, kind in table:
        if address.version == network.version and address in network:
            return kind
    return None


def _embedded_ipv4(address: ipaddress.IPv6Address) -> list[tuple[str, ipaddress.IPv4Address]]:
    """The IPv4 addresses an IPv6 address wraps, with the wrapper's name."""
    found: list[tuple[str, ipaddress.IPv4Address]] = []
    if address.sixtofour is not None:
        found.append(("6to4", address.sixtofour))
    if address.teredo is not None:
        server, client = address.teredo
        found += [("Teredo server", server), ("Teredo client", client)]
    if address in _NAT64:
        found.append(("NAT64", ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)))
    return found


def refusal_reason(address: IPAddress) -> str | None:
    """Why jubao must not connect to ``address``, or ``None`` when it is public. Pure.

    Loopback and private ranges give exactly ``"loopback"`` / ``"private"`` (which ``allow_private``
    can lift); an IPv4-mapped address classifies exactly as the IPv4 address it is; other wrappers
    give ``"<wrapper> wrapping <v4>: <reason>"``, which only an explicit allowlist can lift."""
    if address in _METADATA:
        return METADATA
    if isinstance(address, ipaddress.IPv6Address):
        return _ipv6_reason(address)
    kind = _in_table(address, _IPV4_TABLE)
    if kind is None and not address.is_global:  # belt and braces: anything Python knows of
        kind = "not globally routable"
    return kind


def _ipv6_reason(address: ipaddress.IPv6Address) -> str | None:
    if address.scope_id:  # a zone index only makes sense on a link-local address
        return "link-local"
    mapped = address.ipv4_mapped
    if mapped is not None:  # the socket connects to the IPv4 address itself
        return refusal_reason(mapped)
    if address in _NAT64_LOCAL:
        return "NAT64 local-use prefix"
    if address in _IPV4_COMPATIBLE and address not in (
        ipaddress.IPv6Address("::"),
        ipaddress.IPv6Address("::1"),
    ):
        return "IPv4-compatible (deprecated)"
    for wrapper, inner in _embedded_ipv4(address):
        reason = refusal_reason(inner)
        if reason is not None:
            return f"{wrapper} wrapping {inner}: {reason}"
    kind = _in_table(address, _IPV6_TABLE)
    if kind is None and address not in _GLOBAL_UNICAST and address not in _NAT64:
        kind = "reserved"
    return kind


class UrlRefused(Exception):
    """The URL must not be fetched; the message says why (it is stored with the attempt)."""


@dataclass(frozen=True, slots=True)
class Destination:
    """A vetted URL and the address to connect to.

    Why pin: resolving once to check and letting the HTTP client resolve again to connect leaves a
    window (DNS rebinding: a short TTL answers a public address first and 127.0.0.1 next). So the
    request goes to ``pinned_url`` (the vetted IP literal) with the original ``Host`` header, and
    for https the original name as SNI and for certificate verification (``server_hostname``,
    which httpx takes as the ``sni_hostname`` extension).
    """

    url: httpx.URL
    address: str
    # derived once (a Destination is cached per URL and address, see ``_destination``)
    pinned_url: httpx.URL = field(init=False, compare=False)
    host_header: str = field(init=False, compare=False)
    server_hostname: str | None = field(init=False, compare=False)  # https: SNI, certificate

    def __post_init__(self) -> None:
        url = self.url
        host = url.raw_host.decode("ascii")  # IDNA form, as DNS has it
        header = f"[{host}]" if ":" in host else host  # an IPv6 literal in brackets
        if url.port not in (None, {"http": 80, "https": 443}[url.scheme]):
            header = f"{header}:{url.port}"
        object.__setattr__(self, "pinned_url", url.copy_with(host=self.address))
        object.__setattr__(self, "host_header", header)
        object.__setattr__(self, "server_hostname", host if url.scheme == "https" else None)

    @property
    def extensions(self) -> dict[str, str]:
        """``server_hostname`` as httpx takes it."""
        name = self.server_hostname
        return {} if name is None else {"sni_hostname": name}


async def system_resolver(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to, via the event loop's (threaded) getaddrinfo."""
    try:  # an address literal needs no lookup (and no thread hop)
        return [str(ipaddress.ip_address(host.strip("[]")))]
    except ValueError:
        pass
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UrlRefused(f"cannot resolve {host}: {exc}") from exc
    return [str(info[4][0]) for info in infos]


class UrlGuard:
    def __init__(
        self,
        *,
        allow_private: bool = False,
        allowlist: Iterable[str] = (),
        resolver: Resolver = system_resolver,
    ) -> None:
        """``allowlist`` entries are CIDRs (``10.1.0.0/16``, ``::1``) or exact host names."""
        self._allow_private = allow_private
        self._resolver = resolver
        self._networks: list[IPNetwork] = []
        self._hosts: set[str] = set()
        for entry in allowlist:
            try:
                self._networks.append(ipaddress.ip_network(entry.strip(), strict=False))
            except ValueError:
                self._hosts.add(entry.strip().lower().rstrip("."))

    def permits(self, address: IPAddress, host: str = "") -> str | None:
        """``None`` if jubao may connect to ``address``, else the reason it may not."""
        reason = refusal_reason(address)
        if reason is None or reason == METADATA:
            return reason
        if self._allow_private and reason in _PRIVATE_KINDS:
            return None
        if host.lower().rstrip(".") in self._hosts:
            return None
        if any(address.version == net.version and address in net for net in self._networks):
            return None
        return reason

    async def vet(self, url: str) -> Destination:
        """Check ``url`` and resolve its host; raise ``UrlRefused`` unless every address passes."""
        try:
            parsed = parsed_url(url)
        except (httpx.InvalidURL, TypeError) as exc:
            raise UrlRefused(f"invalid URL: {exc}") from exc
        if parsed.scheme not in ("http", "https"):
            raise UrlRefused(f"scheme {parsed.scheme or '(none)'} not allowed: only http and https")
        if not parsed.host:
            raise UrlRefused("URL has no host")
        port = parsed.port or (443 if parsed.scheme == "https" else 80)
        addresses = await self._resolver(parsed.host, port)
        if not addresses:
            raise UrlRefused(f"{parsed.host} resolves to no address")
        for text in addresses:
            address = ipaddress.ip_address(text)
            reason = self.permits(address, parsed.host)
            if reason is not None:
                raise UrlRefused(f"{parsed.host} resolves to {address}: {reason} address refused")
        return _destination(url, addresses[0])


# Parsing is a pure function of the text; the checks above run on every call (DNS may move).
@functools.lru_cache(maxsize=1024)
def _destination(url: str, address: str) -> Destination:
    return Destination(parsed_url(url), address)
