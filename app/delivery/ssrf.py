"""The SSRF guard: which destinations an endpoint URL may reach.

Pure and synchronous at its core (``NetworkPolicy``, ``parse_endpoint_url``,
``parse_ip_literal``), with two entry points that add DNS:

- ``check_endpoint_url`` (async) at endpoint creation and update;
- ``validate_endpoint_url`` (sync, blocking DNS) for scripts and the CLI.

Both raise ``UnsafeURL`` (a ``ValueError``) whose message is a sentence for the user.
Attempt time is guarded separately by ``app.delivery.client.GuardedResolver``, which
re-checks every address actually connected to (DNS rebinding).

Forbidden by default: loopback, private, link-local (cloud metadata included), CGNAT,
multicast, unspecified, broadcast, documentation, benchmarking and reserved ranges of
IPv4 and IPv6; IPv4-mapped and IPv4-compatible IPv6; Teredo; site-local; NAT64 and 6to4
addresses that embed a forbidden IPv4. ``NetworkPolicy.allowed`` opens chosen networks
(``HERALD_ALLOWED_PRIVATE_NETWORKS``); an IPv6 address embedding an IPv4 one is also
allowed when that IPv4 address is.
"""

import asyncio
import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import idna

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
Resolver = Callable[[str], Awaitable[Sequence[str]]]
"""Async ``host -> addresses``; an empty list means the name does not resolve."""
BlockingResolver = Callable[[str], Iterable[str]]

ALLOWED_SCHEMES = frozenset({"http", "https"})
DNS_TIMEOUT_S = 2.0

_V4_FORBIDDEN: tuple[tuple[ipaddress.IPv4Network, str], ...] = tuple(
    (ipaddress.IPv4Network(cidr), reason)
    for cidr, reason in (
        ("0.0.0.0/8", "unspecified"),
        ("10.0.0.0/8", "private"),
        ("100.64.0.0/10", "CGNAT"),
        ("127.0.0.0/8", "loopback"),
        ("169.254.169.254/32", "link-local, cloud metadata"),
        ("169.254.0.0/16", "link-local"),
        ("172.16.0.0/12", "private"),
        ("192.0.0.0/24", "reserved"),
        ("192.0.2.0/24", "documentation"),
        ("192.88.99.0/24", "reserved"),
        ("192.168.0.0/16", "private"),
        ("198.18.0.0/15", "benchmarking"),
        ("198.51.100.0/24", "documentation"),
        ("203.0.113.0/24", "documentation"),
        ("224.0.0.0/4", "multicast"),
        ("255.255.255.255/32", "broadcast"),
        ("240.0.0.0/4", "reserved"),
    )
)
_V6_FORBIDDEN: tuple[tuple[ipaddress.IPv6Network, str], ...] = tuple(
    (ipaddress.IPv6Network(cidr), reason)
    for cidr, reason in (
        ("::/128", "unspecified"),
        ("::1/128", "loopback"),
        ("64:ff9b:1::/48", "reserved, local-use NAT64"),
        ("100::/64", "reserved, discard-only"),
        ("2001::/32", "Teredo"),
        ("2001:db8::/32", "documentation"),
        ("2001::/23", "reserved"),
        ("3fff::/20", "documentation"),
        ("fc00::/7", "private"),
        ("fe80::/10", "link-local"),
        ("fec0::/10", "site-local"),
        ("ff00::/8", "multicast"),
    )
)
_V4_MAPPED = ipaddress.IPv6Network("::ffff:0:0/96")
_V4_COMPATIBLE = ipaddress.IPv6Network("::/96")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
_GLOBAL_UNICAST = ipaddress.IPv6Network("2000::/3")


class UnsafeURL(ValueError):
    """An endpoint URL Herald refuses to call; ``reason`` is a sentence for the user."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def refusal_message(reason: str, host: str | None = None) -> str:
    """The sentence shown when an address (resolved from the name ``host``) is refused.

    It names the range, never the address: a tenant must not learn what a name resolves
    to inside the network Herald runs in.
    """
    if host:
        return f"{host} resolves to an address in a forbidden network ({reason})"
    return f"the destination address is in a forbidden network ({reason})"


@dataclass(frozen=True)
class NetworkPolicy:
    """Which addresses are reachable: the public internet plus ``allowed`` networks."""

    allowed: tuple[IPNetwork, ...] = ()

    @classmethod
    def from_cidrs(cls, cidrs: Iterable[str]) -> "NetworkPolicy":
        """Build a policy from CIDR strings; raise ``ValueError`` on a malformed one."""
        return cls(tuple(ipaddress.ip_network(c.strip(), strict=False) for c in cidrs))

    def verdict(self, ip: IPAddress | str) -> str | None:
        """Why ``ip`` is forbidden (e.g. ``"private"``), or None; ValueError if not an address."""
        address = ipaddress.ip_address(ip) if isinstance(ip, str) else ip
        if self._opens(address):
            return None
        if isinstance(address, ipaddress.IPv4Address):
            return _v4_reason(address)
        return _v6_reason(address)

    def is_allowed(self, ip: IPAddress | str) -> bool:
        """True when ``ip`` may be connected to under this policy."""
        return self.verdict(ip) is None

    def _opens(self, address: IPAddress) -> bool:
        candidates: list[IPAddress] = [address]
        if isinstance(address, ipaddress.IPv6Address):
            embedded = embedded_ipv4(address)
            if embedded is not None:
                candidates.append(embedded)
        return any(
            candidate.version == network.version and candidate in network
            for candidate in candidates
            for network in self.allowed
        )


def embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address carried by a mapped, compatible, NAT64 or 6to4 IPv6 address."""
    if address in _V4_MAPPED:
        return address.ipv4_mapped
    if address in _NAT64 or (address in _V4_COMPATIBLE and int(address) > 1):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address.sixtofour


def _v4_reason(address: ipaddress.IPv4Address) -> str | None:
    for network, reason in _V4_FORBIDDEN:
        if address in network:
            return reason
    return None if address.is_global else "reserved"


def _v6_reason(address: ipaddress.IPv6Address) -> str | None:
    address = ipaddress.IPv6Address(int(address))  # drop any zone id
    embedded = embedded_ipv4(address)
    if address in _V4_MAPPED:
        return _embedding_reason("IPv4-mapped IPv6", embedded, always=True)
    if address in _NAT64:
        return _embedding_reason("NAT64", embedded, always=False)
    if address.sixtofour is not None:
        return _embedding_reason("6to4", embedded, always=False)
    for network, reason in _V6_FORBIDDEN:
        if address in network:
            return reason
    if address in _V4_COMPATIBLE:
        return _embedding_reason("IPv4-compatible IPv6", embedded, always=True)
    return None if address in _GLOBAL_UNICAST else "reserved"


def _embedding_reason(kind: str, v4: ipaddress.IPv4Address | None, *, always: bool) -> str | None:
    inner = _v4_reason(v4) if v4 is not None else None
    if inner is not None:
        article = "an" if inner[0] in "aeiou" else "a"
        return f"{kind} embedding {article} {inner} IPv4 address"
    return kind if always else None


@dataclass(frozen=True)
class EndpointTarget:
    """A parsed endpoint URL: ``host`` normalised; ``address`` set when it is a literal."""

    scheme: str
    host: str
    port: int
    address: IPAddress | None


def parse_endpoint_url(url: str) -> EndpointTarget:
    """Parse ``url`` as a browser would; raise ``UnsafeURL`` if it is not a usable http(s) URL."""
    if any(c.isspace() or c == "\\" or ord(c) < 0x20 or ord(c) == 0x7F for c in url):
        raise UnsafeURL("the URL contains whitespace, control characters or backslashes")
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        raise UnsafeURL(f"the URL is malformed: {exc}") from None
    scheme = parts.scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        shown = f"{scheme!r}" if scheme else "missing"
        raise UnsafeURL(f"the URL scheme is {shown}: only http and https are allowed")
    raw_host, port = _split_host_port(parts.netloc.rpartition("@")[2])
    if not raw_host:
        raise UnsafeURL("the URL has no host")
    default_port = 443 if scheme == "https" else 80
    if raw_host.startswith("["):
        address: IPAddress = _parse_bracketed_ipv6(raw_host)
        return EndpointTarget(scheme, str(address), port or default_port, address)
    host = normalize_host(raw_host)
    return EndpointTarget(scheme, host, port or default_port, parse_ip_literal(host))


def _split_host_port(hostport: str) -> tuple[str, int | None]:
    if hostport.startswith("["):
        end = hostport.find("]")
        if end < 0:
            raise UnsafeURL("the URL has an unterminated IPv6 address")
        host, rest = hostport[: end + 1], hostport[end + 1 :]
        if rest and not rest.startswith(":"):
            raise UnsafeURL("the URL has text after its IPv6 address")
        port_text = rest[1:]
    else:
        host, _, port_text = hostport.partition(":")
    if not port_text:
        return host, None
    if not port_text.isascii() or not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise UnsafeURL(f"the URL port {port_text!r} is not a number from 1 to 65535")
    return host, int(port_text)


def _parse_bracketed_ipv6(raw: str) -> ipaddress.IPv6Address:
    text = raw[1:-1].split("%", 1)[0]  # a zone id (fe80::1%25eth0) does not change the range
    try:
        return ipaddress.IPv6Address(text)
    except ValueError:
        raise UnsafeURL(f"{raw} is not a valid IPv6 address") from None


def normalize_host(raw: str) -> str:
    """Percent-decode, IDNA-map (UTS 46), lowercase and drop one trailing dot of a host name."""
    host = unquote(raw)
    if not host.isascii():
        try:
            host = idna.encode(host, uts46=True).decode("ascii")
        except idna.IDNAError:
            raise UnsafeURL(f"{raw!r} is not a valid host name") from None
    host = host.lower().removesuffix(".")
    if not host:
        raise UnsafeURL("the URL has no host")
    if any(c in host for c in " #%/:<>?@[\\]^|") or not host.isprintable():
        raise UnsafeURL(f"{raw!r} is not a valid host name")
    return host


def parse_ip_literal(host: str) -> IPAddress | None:
    """The address a host spells, in any form libc or a browser accepts, or None for a name.

    Accepts dotted, short (``127.1``), decimal (``2130706433``), hex (``0x7f.1``) and octal
    (``0177.0.0.1``) IPv4, and IPv6 with or without brackets and zone id. Raises
    ``UnsafeURL`` for a host that ends in a number but is not a valid IPv4 address.
    """
    text = host.strip("[]").split("%", 1)[0] if ":" in host else host.rstrip(".")
    if ":" in text:
        try:
            return ipaddress.IPv6Address(text)
        except ValueError:
            raise UnsafeURL(f"{host!r} is not a valid IPv6 address") from None
    labels = text.split(".")
    if not _is_number_like(labels[-1]):
        return None
    numbers = [_ipv4_number(label) for label in labels]
    if len(labels) > 4 or any(n is None for n in numbers):
        raise UnsafeURL(f"{host!r} is not a valid IPv4 address")
    *head, last = [n for n in numbers if n is not None]
    if any(n > 255 for n in head) or last >= 256 ** (4 - len(head)):
        raise UnsafeURL(f"{host!r} is not a valid IPv4 address")
    value = last
    for index, n in enumerate(head):
        value += n << (8 * (3 - index))
    return ipaddress.IPv4Address(value)


def _is_number_like(label: str) -> bool:
    # WHATWG "ends in a number": such a host is an IPv4 address or invalid, never a name.
    return (label.isascii() and label.isdigit()) or _ipv4_number(label) is not None


def _ipv4_number(label: str) -> int | None:
    if not label.isascii():
        return None
    base, digits = 10, label
    if label[:2].lower() == "0x":
        base, digits = 16, label[2:]
        if not digits:
            return 0
    elif len(label) > 1 and label.startswith("0"):
        base, digits = 8, label[1:]
    try:
        return int(digits, base) if digits.isalnum() else None
    except ValueError:
        return None


def check_addresses(host: str, addresses: Iterable[str], policy: NetworkPolicy) -> None:
    """Raise ``UnsafeURL`` if any of the addresses ``host`` resolved to is forbidden."""
    for text in addresses:
        try:
            address = ipaddress.ip_address(text.split("%", 1)[0])
        except ValueError:
            continue
        reason = policy.verdict(address)
        if reason is not None:
            raise UnsafeURL(refusal_message(reason, host))


def _check_syntax(url: str, policy: NetworkPolicy) -> EndpointTarget:
    target = parse_endpoint_url(url)
    if target.address is not None:
        reason = policy.verdict(target.address)
        if reason is not None:
            raise UnsafeURL(refusal_message(reason))
    return target


async def resolve_host(host: str, *, timeout_s: float = DNS_TIMEOUT_S) -> list[str]:
    """Resolve ``host`` with the system resolver; [] when it does not resolve in time."""
    loop = asyncio.get_running_loop()
    try:
        async with asyncio.timeout(timeout_s):
            infos = await loop.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (OSError, TimeoutError, UnicodeError):
        return []
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def resolve_host_blocking(host: str) -> list[str]:
    """Blocking ``resolve_host``: the system resolver, [] when the name does not resolve."""
    try:
        infos = socket.getaddrinfo(host, None, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return []
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


async def check_endpoint_url(
    url: str, policy: NetworkPolicy, resolver: Resolver | None = None
) -> None:
    """Raise ``UnsafeURL`` unless ``url`` may be registered as an endpoint.

    Refused: a scheme other than http(s), no host, a literal address in a forbidden range,
    a name any of whose resolved addresses is forbidden. A name that does not resolve
    (yet) is accepted: attempt time checks again.
    """
    target = _check_syntax(url, policy)
    if target.address is None:
        addresses = await (resolver or resolve_host)(target.host)
        check_addresses(target.host, addresses, policy)


def validate_endpoint_url(
    url: str, policy: NetworkPolicy, resolve: BlockingResolver = resolve_host_blocking
) -> None:
    """Blocking ``check_endpoint_url``, with a synchronous ``resolve``."""
    target = _check_syntax(url, policy)
    if target.address is None:
        check_addresses(target.host, resolve(target.host), policy)
