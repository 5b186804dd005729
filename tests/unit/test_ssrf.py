"""The SSRF guard's verdicts. No packet leaves loopback: DNS answers are faked."""

import ipaddress
from collections.abc import Sequence

import pytest

from app.delivery.ssrf import (
    NetworkPolicy,
    UnsafeURL,
    check_endpoint_url,
    embedded_ipv4,
    parse_endpoint_url,
    parse_ip_literal,
    resolve_host,
    validate_endpoint_url,
)

DEFAULT = NetworkPolicy()

# (URL with a literal host in a forbidden range, the CIDR that opens it)
HOSTILE_LITERALS = [
    ("http://127.0.0.1/", "127.0.0.0/8"),
    ("http://127.1/", "127.0.0.0/8"),
    ("http://127.0.1:8080/", "127.0.0.0/8"),
    ("http://2130706433/", "127.0.0.0/8"),
    ("http://0x7f000001/", "127.0.0.0/8"),
    ("http://0X7F.0.0.1/", "127.0.0.0/8"),
    ("http://0177.0.0.1/", "127.0.0.0/8"),
    ("http://017700000001/", "127.0.0.0/8"),
    ("http://0x7f.0.0x0.01/", "127.0.0.0/8"),
    ("http://127.0.0.1./", "127.0.0.0/8"),
    ("http://%31%32%37.0.0.1/", "127.0.0.0/8"),
    ("http://\uff11\uff12\uff17\uff0e\uff10\uff0e\uff10\uff0e\uff11/", "127.0.0.0/8"),
    ("https://user:pw@127.0.0.1:8443/hook?x=1", "127.0.0.0/8"),
    ("http://[::1]/", "::1/128"),
    ("http://[0:0:0:0:0:0:0:1]:80/", "::1/128"),
    ("http://[::ffff:127.0.0.1]/", "127.0.0.0/8"),
    ("http://[::ffff:7f00:1]/", "::ffff:0:0/96"),
    ("http://[::ffff:93.184.216.34]/", "::ffff:0:0/96"),
    ("http://[::127.0.0.1]/", "127.0.0.0/8"),
    ("http://169.254.169.254/latest/meta-data/", "169.254.0.0/16"),
    ("http://[fe80::1%25eth0]/", "fe80::/10"),
    ("http://[FE80::A:1]/", "fe80::/10"),
    ("http://10.0.0.1/", "10.0.0.0/8"),
    ("http://10.255.255.255:8080/", "10.0.0.0/8"),
    ("http://172.16.0.1/", "172.16.0.0/12"),
    ("http://172.31.255.254/", "172.16.0.0/12"),
    ("http://192.168.1.1/", "192.168.0.0/16"),
    ("http://3232235777/", "192.168.0.0/16"),
    ("http://100.64.0.1/", "100.64.0.0/10"),
    ("http://0.0.0.0/", "0.0.0.0/8"),
    ("http://0/", "0.0.0.0/8"),
    ("http://224.0.0.1/", "224.0.0.0/4"),
    ("http://240.0.0.1/", "240.0.0.0/4"),
    ("http://255.255.255.255/", "255.255.255.255/32"),
    ("http://198.18.0.1/", "198.18.0.0/15"),
    ("http://192.0.2.1/", "192.0.2.0/24"),
    ("http://192.0.0.8/", "192.0.0.0/24"),
    ("http://[fc00::1]/", "fc00::/7"),
    ("http://[fd00:ec2::254]/", "fc00::/7"),
    ("http://[::]/", "::/128"),
    ("http://[ff02::1]/", "ff00::/8"),
    ("http://[fec0::1]/", "fec0::/10"),
    ("http://[2001:db8::1]/", "2001:db8::/32"),
    ("http://[64:ff9b::7f00:1]/", "127.0.0.0/8"),
    ("http://[64:ff9b::a00:1]/", "10.0.0.0/8"),
    ("http://[2002:7f00:1::]/", "127.0.0.0/8"),
    ("http://[2002:a9fe:a9fe::1]/", "169.254.0.0/16"),
    ("http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/", "2001::/32"),
]

# (host, what the faked DNS answers, the CIDRs that open every answer)
HOSTILE_ANSWERS = [
    ("metadata.google.internal", ["169.254.169.254"], ["169.254.0.0/16"]),
    ("private.example.com", ["10.1.2.3"], ["10.0.0.0/8"]),
    ("mixed.example.com", ["93.184.216.34", "192.168.0.10"], ["192.168.0.0/16"]),
    ("loop.example.com", ["127.0.0.1", "::1"], ["127.0.0.0/8", "::1/128"]),
    ("ula.example.com", ["2606:4700::1", "fd12:3456::1"], ["fc00::/7"]),
    ("mapped.example.com", ["::ffff:10.0.0.1"], ["10.0.0.0/8"]),
    ("linklocal6.example.com", ["fe80::1%eth0"], ["fe80::/10"]),
    ("cgnat.example.com", ["100.100.100.200"], ["100.64.0.0/10"]),
]

NEVER_ALLOWED = [
    "ftp://example.com/",
    "file:///etc/passwd",
    "gopher://127.0.0.1:70/_stats",
    "javascript:alert(1)",
    "//example.com/hook",
    "http:///hook",
    "http://",
    "http://user@:80/",
    "http://exa mple.com/",
    "http://example.com\\@127.0.0.1/",
    "http://1.2.3.08/",
    "http://1.2.3.4.5/",
    "http://[::1/",
    "http://[127.0.0.1]/",
    "http://example.com:99999/",
    "http://example.com:0/",
]

PUBLIC_LITERALS = [
    "http://93.184.216.34/",
    "https://8.8.8.8:8443/hook",
    "https://[2606:4700::1]/",
    "http://[2002:5db8:d822::1]/",
    "http://[64:ff9b::5db8:d822]/",
    "https://1.1.1.1./",
]


def _policy(*cidrs: str) -> NetworkPolicy:
    return NetworkPolicy.from_cidrs(cidrs)


class FakeDNS:
    """A resolver that answers from a table and records every question."""

    def __init__(self, answers: dict[str, list[str]] | None = None) -> None:
        self.answers = answers or {}
        self.asked: list[str] = []

    async def __call__(self, host: str) -> Sequence[str]:
        self.asked.append(host)
        return self.answers.get(host, [])


@pytest.mark.parametrize(("url", "cidr"), HOSTILE_LITERALS)
async def test_hostile_literal_is_refused_unless_its_network_is_allowed(
    url: str, cidr: str
) -> None:
    # Given a URL whose host spells a forbidden address, and a DNS that must not be asked
    dns = FakeDNS()
    # When it is checked with the default policy, Then it is refused with a reason
    with pytest.raises(UnsafeURL, match="forbidden network") as refused:
        await check_endpoint_url(url, DEFAULT, dns)
    # that names the range, not the address (nor the IPv4 address an IPv6 one embeds)
    address = parse_endpoint_url(url).address
    assert address is not None
    assert not any(text in refused.value.reason for text in _spellings_of(address))
    # And when its network is opened, Then it is accepted
    await check_endpoint_url(url, _policy(cidr), dns)
    assert dns.asked == []


@pytest.mark.parametrize(("host", "answers", "cidrs"), HOSTILE_ANSWERS)
async def test_name_resolving_to_a_forbidden_address_is_refused(
    host: str, answers: list[str], cidrs: list[str]
) -> None:
    # Given a DNS that answers the host with at least one forbidden address
    dns = FakeDNS({host: answers})
    url = f"https://{host}/webhooks"
    # When checked with the default policy, Then it is refused, naming the host
    with pytest.raises(
        UnsafeURL, match=f"^{host} resolves to an address in a forbidden"
    ) as refused:
        await check_endpoint_url(url, DEFAULT, dns)
    # But none of the addresses it resolved to
    for answer in answers:
        address = ipaddress.ip_address(answer.split("%", 1)[0])
        assert not any(text in refused.value.reason for text in _spellings_of(address))
    # And with the networks opened it is accepted
    await check_endpoint_url(url, _policy(*cidrs), dns)


def _spellings_of(address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> set[str]:
    """The address as text, and the IPv4 address an IPv6 one embeds."""
    embedded = embedded_ipv4(address) if isinstance(address, ipaddress.IPv6Address) else None
    return {str(address)} | ({str(embedded)} if embedded is not None else set())


@pytest.mark.parametrize("url", NEVER_ALLOWED)
async def test_malformed_or_non_http_url_is_refused_under_any_policy(url: str) -> None:
    everything = _policy("0.0.0.0/0", "::/0")
    with pytest.raises(UnsafeURL):
        await check_endpoint_url(url, everything, FakeDNS())


@pytest.mark.parametrize("url", PUBLIC_LITERALS)
async def test_public_literal_is_accepted(url: str) -> None:
    # Verdicts only: nothing connects to these addresses.
    await check_endpoint_url(url, DEFAULT, FakeDNS())


async def test_name_resolving_only_to_public_addresses_is_accepted() -> None:
    dns = FakeDNS({"hooks.example.com": ["93.184.216.34", "2606:2800:220:1::1"]})
    await check_endpoint_url("https://Hooks.Example.COM./in", DEFAULT, dns)
    assert dns.asked == ["hooks.example.com"]


async def test_name_that_does_not_resolve_yet_is_accepted() -> None:
    await check_endpoint_url("https://not-yet.example.com/", DEFAULT, FakeDNS())


async def test_default_resolver_refuses_localhost() -> None:
    # localhost comes from /etc/hosts: no DNS packet is sent
    with pytest.raises(UnsafeURL, match="loopback"):
        await check_endpoint_url("http://localhost:8080/", DEFAULT)


async def test_default_resolver_returns_nothing_for_an_unresolvable_literal_name() -> None:
    assert await resolve_host("bad host name with spaces") == []


def test_blocking_validation_uses_the_given_resolver() -> None:
    answers = {"internal.example.com": ["10.0.0.7"]}
    with pytest.raises(UnsafeURL) as refused:
        validate_endpoint_url("http://internal.example.com/", DEFAULT, answers.__getitem__)
    assert refused.value.reason == (
        "internal.example.com resolves to an address in a forbidden network (private)"
    )
    validate_endpoint_url(
        "http://internal.example.com/", _policy("10.0.0.0/8"), answers.__getitem__
    )


def test_refusal_message_names_the_range_not_the_address() -> None:
    with pytest.raises(UnsafeURL) as refused:
        validate_endpoint_url("http://10.0.0.1/", DEFAULT)
    assert refused.value.reason == "the destination address is in a forbidden network (private)"


def test_an_embedded_ipv4_address_is_named_by_its_range() -> None:
    assert DEFAULT.verdict("::ffff:10.1.2.3") == "IPv4-mapped IPv6 embedding a private IPv4 address"
    assert DEFAULT.verdict("64:ff9b::7f00:1") == "NAT64 embedding a loopback IPv4 address"
    assert DEFAULT.verdict("2002:0:1::1") == "6to4 embedding an unspecified IPv4 address"


def test_metadata_address_is_named_as_such() -> None:
    assert DEFAULT.verdict("169.254.169.254") == "link-local, cloud metadata"


@pytest.mark.parametrize(
    ("spelling", "address"),
    [
        ("2130706433", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("127.0.1", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("10.0x10.0300", "10.16.0.192"),
        ("1.2.3.4.", "1.2.3.4"),
        ("[fe80::1%25en0]", "fe80::1"),
        ("::ffff:127.0.0.1", "::ffff:7f00:1"),
    ],
)
def test_every_ipv4_spelling_is_read_as_its_address(spelling: str, address: str) -> None:
    assert parse_ip_literal(spelling) == ipaddress.ip_address(address)


@pytest.mark.parametrize("name", ["example.com", "0x.example.com", "127.0.0.1.nip.io", "a1"])
def test_names_are_not_addresses(name: str) -> None:
    assert parse_ip_literal(name) is None


def test_parsed_target_has_default_ports_and_normalised_host() -> None:
    target = parse_endpoint_url("HTTPS://user:pw@B\u00fccher.Example./x")
    assert (target.scheme, target.host, target.port) == ("https", "xn--bcher-kva.example", 443)
    assert parse_endpoint_url("http://[::1]:8080").port == 8080


def test_embedded_ipv4_is_opened_by_its_ipv4_network() -> None:
    # Given loopback opened for IPv4 only
    policy = _policy("127.0.0.0/8")
    # Then its IPv4-mapped spelling is open too, but not ::1
    assert policy.is_allowed("::ffff:127.0.0.1")
    assert not policy.is_allowed("::1")
    assert policy.verdict("::1") == "loopback"
