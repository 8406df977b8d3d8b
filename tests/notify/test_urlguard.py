"""The SSRF guard: the pure classifier over many addresses, allowlists, and URL vetting."""

from __future__ import annotations

import ipaddress

import pytest

from jubao.notify.urlguard import Resolver, UrlGuard, UrlRefused, refusal_reason

BLOCKED = [
    # (address, a word the reason must contain)
    ("127.0.0.1", "loopback"),
    ("127.255.255.254", "loopback"),
    ("::1", "loopback"),
    ("10.0.0.1", "private"),
    ("172.16.0.1", "private"),
    ("172.31.255.255", "private"),
    ("192.168.1.1", "private"),
    ("169.254.1.1", "link-local"),
    ("fe80::1", "link-local"),
    ("febf::1", "link-local"),
    ("fe80::1%1", "link-local"),
    ("100.64.0.1", "carrier-grade NAT"),
    ("100.127.255.254", "carrier-grade NAT"),
    ("224.0.0.1", "multicast"),
    ("239.255.255.250", "multicast"),
    ("ff02::1", "multicast"),
    ("ff0e::1", "multicast"),
    ("0.0.0.0", "unspecified"),
    ("0.1.2.3", "unspecified"),
    ("::", "unspecified"),
    ("255.255.255.255", "reserved"),
    ("240.0.0.1", "reserved"),
    ("198.18.0.1", "benchmarking"),
    ("198.19.255.254", "benchmarking"),
    ("2001:2::1", "benchmarking"),
    ("192.0.2.1", "documentation"),
    ("198.51.100.7", "documentation"),
    ("203.0.113.9", "documentation"),
    ("2001:db8::1", "documentation"),
    ("192.0.0.8", "IETF"),
    ("192.88.99.1", "6to4 relay"),
    ("fc00::1", "private"),
    ("fd12:3456::1", "private"),
    ("fec0::1", "site-local"),
    ("100::1", "discard"),
    ("4000::1", "reserved"),  # outside global unicast 2000::/3
    # cloud metadata
    ("169.254.169.254", "metadata"),
    ("169.254.170.2", "metadata"),
    ("100.100.100.200", "metadata"),
    ("fd00:ec2::254", "metadata"),
    ("192.0.0.192", "metadata"),
    # IPv4-mapped: exactly the IPv4 address
    ("::ffff:127.0.0.1", "loopback"),
    ("::ffff:10.1.2.3", "private"),
    ("::ffff:169.254.169.254", "metadata"),
    ("::ffff:0.0.0.0", "unspecified"),
    # IPv4-compatible (deprecated)
    ("::127.0.0.1", "IPv4-compatible"),
    ("::8.8.8.8", "IPv4-compatible"),
    # 6to4 wrapping a non-public IPv4
    ("2002:7f00:1::1", "6to4 wrapping 127.0.0.1: loopback"),
    ("2002:a00:1::", "6to4 wrapping 10.0.0.1: private"),
    ("2002:a9fe:a9fe::1", "6to4 wrapping 169.254.169.254: cloud metadata"),
    ("2002:c0a8:101::", "private"),
    # NAT64
    ("64:ff9b::7f00:1", "NAT64 wrapping 127.0.0.1: loopback"),
    ("64:ff9b::a9fe:a9fe", "NAT64 wrapping 169.254.169.254"),
    ("64:ff9b::c0a8:1", "private"),
    ("64:ff9b:1::8.8.8.8", "NAT64 local-use"),
    # Teredo: server 8.8.8.8, client 127.0.0.1 (stored inverted) / server 10.0.0.1
    ("2001:0:808:808:0:0:80ff:fffe", "Teredo client wrapping 127.0.0.1: loopback"),
    ("2001:0:a00:1:0:0:f7f7:f7f7", "Teredo server wrapping 10.0.0.1: private"),
]

PUBLIC = [
    "8.8.8.8",
    "1.1.1.1",
    "93.184.216.34",
    "100.63.255.255",  # just below CGNAT
    "100.128.0.0",  # just above
    "172.15.255.255",
    "172.32.0.0",
    "223.255.255.255",
    "2606:4700:4700::1111",
    "2400:3200::1",
    "2002:808:808::1",  # 6to4 of 8.8.8.8
    "64:ff9b::808:808",  # NAT64 of 8.8.8.8
    "2001:0:808:808:0:0:f7f7:f7f7",  # Teredo: server 8.8.8.8, client 8.8.8.8
]


@pytest.mark.parametrize(("address", "reason"), BLOCKED)
def test_non_public_addresses_are_refused(address: str, reason: str) -> None:
    found = refusal_reason(ipaddress.ip_address(address))
    assert found is not None and reason in found, found
    assert UrlGuard().permits(ipaddress.ip_address(address)) is not None


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_pass(address: str) -> None:
    assert refusal_reason(ipaddress.ip_address(address)) is None


@pytest.mark.parametrize(
    ("address", "allowed"),
    [
        ("127.0.0.1", True),
        ("::1", True),
        ("::ffff:127.0.0.1", True),
        ("10.9.8.7", True),
        ("192.168.0.10", True),
        ("fd12::1", True),
        ("169.254.169.254", False),  # metadata: never
        ("fd00:ec2::254", False),
        ("100.100.100.200", False),
        ("169.254.1.1", False),  # link-local is not "private"
        ("100.64.0.1", False),
        ("2002:7f00:1::1", False),  # a wrapped loopback stays refused
        ("224.0.0.1", False),
    ],
)
def test_allow_private_lifts_loopback_and_private_only(address: str, allowed: bool) -> None:
    guard = UrlGuard(allow_private=True)
    assert (guard.permits(ipaddress.ip_address(address)) is None) is allowed


def test_an_explicit_allowlist_of_cidrs_and_hosts() -> None:
    guard = UrlGuard(allowlist=["10.20.0.0/16", "fd00:1::/32", "Receiver.Internal."])
    assert guard.permits(ipaddress.ip_address("10.20.3.4")) is None
    assert guard.permits(ipaddress.ip_address("fd00:1::5")) is None
    assert guard.permits(ipaddress.ip_address("10.21.0.1")) == "private"
    assert guard.permits(ipaddress.ip_address("192.168.1.1"), "receiver.internal") is None
    assert guard.permits(ipaddress.ip_address("169.254.169.254"), "receiver.internal") == (
        "cloud metadata"
    )
    everything = UrlGuard(allowlist=["0.0.0.0/0"])
    assert everything.permits(ipaddress.ip_address("169.254.169.254")) == "cloud metadata"


def _dns(*addresses: str) -> Resolver:
    async def resolve(host: str, port: int) -> list[str]:
        return list(addresses)

    return resolve


@pytest.mark.parametrize(
    "url",
    [
        "ftp://example.com/x",
        "file:///etc/passwd",
        "gopher://example.com/",
        "javascript:alert(1)",
        "//example.com/notify",
        "http:///nohost",
        "not a url",
    ],
)
async def test_only_http_and_https_urls_with_a_host(url: str) -> None:
    with pytest.raises(UrlRefused):
        await UrlGuard(resolver=_dns("8.8.8.8")).vet(url)


async def test_one_bad_address_among_many_refuses_the_url() -> None:
    guard = UrlGuard(resolver=_dns("8.8.8.8", "2606:4700::1", "::ffff:10.0.0.1"))
    with pytest.raises(UrlRefused, match="::ffff:a00:1: private"):
        await guard.vet("https://merchant.example/notify")


async def test_a_vetted_url_is_pinned_to_the_resolved_address() -> None:
    guard = UrlGuard(resolver=_dns("93.184.216.34", "93.184.216.35"))
    destination = await guard.vet("https://Merchant.Example:8443/notify?a=1")
    assert str(destination.pinned_url) == "https://93.184.216.34:8443/notify?a=1"
    assert destination.host_header == "merchant.example:8443"
    assert destination.extensions == {"sni_hostname": "merchant.example"}
    plain = await UrlGuard(resolver=_dns("2606:4700::1")).vet("http://merchant.example/n")
    assert str(plain.pinned_url) == "http://[2606:4700::1]/n"
    assert plain.host_header == "merchant.example" and plain.extensions == {}


async def test_ip_literals_and_real_resolution_are_checked() -> None:
    guard = UrlGuard()
    for url in (
        "http://127.0.0.1:8600/x",
        "http://[::1]/x",
        "http://[::ffff:169.254.169.254]/latest/meta-data",
        "http://localhost/x",
        "http://2130706433/x",  # 127.0.0.1 as one decimal number
        "http://0x7f.1/x",
    ):
        with pytest.raises(UrlRefused):
            await guard.vet(url)


async def test_an_unresolvable_host_is_refused() -> None:
    with pytest.raises(UrlRefused, match="cannot resolve"):
        await UrlGuard().vet("http://no-such-host.invalid/notify")
