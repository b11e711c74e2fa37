"""The SSRF guard for webhook targets: only ``http``/``https`` URLs, and only public addresses.

A webhook makes the server send requests where a registry admin says, so without a guard it
could reach the cloud metadata service or internal admin ports. Checked twice:

1. when a webhook is created or its URL changes (``check_url``), with a readable error;
2. at connect time, by ``GuardedBackend``: the host is resolved once, every address checked,
   and the connection made to that checked address (TLS still verifies the host name), so a DNS
   answer that changes between the check and the connection (DNS rebinding) cannot slip through.

Loopback, private (RFC 1918, unique-local), carrier-grade NAT and other non-global addresses
are refused unless ``webhook_allow_private_targets`` is on. Link-local addresses (which hold the
cloud metadata services, 169.254.169.254 and fd00:ec2::254) and unspecified/multicast addresses
are refused always. Redirects are never followed and proxies from the environment are ignored.

An IPv6 address that carries an IPv4 address (IPv4-mapped ``::ffff:a.b.c.d``, IPv4-compatible
``::a.b.c.d``, NAT64 ``64:ff9b::/96`` and ``64:ff9b:1::/48``, 6to4 ``2002::/16``, Teredo) is
judged by the IPv4 address it carries too, so ``[::a9fe:a9fe]`` is 169.254.169.254. A host
written as a numeric IPv4 address in any form ``inet_aton`` accepts (``2852039166``,
``0xa9.0xfe.0xa9.0xfe``, ``0251.0376.0251.0376``, ``169.254.43518``, a trailing dot) is parsed
here, not left to the platform resolver, and connected to in its canonical dotted form.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable
from typing import Any
from urllib.parse import urlsplit

import httpcore
import httpx

from modelyard.errors import UnsafeTargetError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Metadata services that do not sit in link-local space.
_ALWAYS_BLOCKED = {ipaddress.ip_address("100.100.100.200"), ipaddress.ip_address("fd00:ec2::254")}


# IPv6 prefixes whose last 32 bits are an IPv4 address (NAT64 well-known and local-use prefixes,
# RFC 6052 and RFC 8215; IPv4-compatible ::/96, RFC 4291). :: and ::1 are themselves refused.
_IPV4_IN_LAST_32 = (
    ipaddress.ip_network("64:ff9b::/96"),
    ipaddress.ip_network("64:ff9b:1::/48"),
    ipaddress.ip_network("::/96"),
)


def embedded_ipv4(addr: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address carries (mapped, compatible, NAT64, 6to4, Teredo)."""
    out: list[ipaddress.IPv4Address] = []
    if addr.ipv4_mapped is not None:
        out.append(addr.ipv4_mapped)
    if any(addr in net for net in _IPV4_IN_LAST_32):
        out.append(ipaddress.IPv4Address(int(addr) & 0xFFFFFFFF))
    if addr.sixtofour is not None:
        out.append(addr.sixtofour)
    if addr.teredo is not None:
        out.extend(addr.teredo)
    return out


def address_refusal(addr: IPAddress, *, allow_private: bool) -> str | None:
    """Why ``addr`` may not be a webhook target (None when it may).

    An IPv6 address carrying an IPv4 address is refused when either of them is.
    """
    if isinstance(addr, ipaddress.IPv6Address):
        for inner in embedded_ipv4(addr):
            why = _refusal(inner, allow_private=allow_private)
            if why:
                return f"{why}, carried in the IPv6 address as {inner}"
    return _refusal(addr, allow_private=allow_private)


def _refusal(addr: IPAddress, *, allow_private: bool) -> str | None:
    if addr in _ALWAYS_BLOCKED:
        return "a cloud metadata address"
    if addr.is_link_local:
        return "a link-local address (cloud metadata services live there)"
    if addr.is_unspecified or addr.is_multicast:
        return "not a unicast address"
    if addr.is_global:
        return None
    if allow_private:
        return None
    if addr.is_loopback:
        return "a loopback address"
    return "a private or reserved address"


def parse_numeric_ipv4(host: str) -> ipaddress.IPv4Address | None:
    """``host`` as an IPv4 address in any form ``inet_aton`` accepts, or None if it is a name.

    One to four dot-separated parts, each decimal, octal (leading 0) or hex (0x); the last part
    fills the remaining bytes (``169.254.43518``, ``2852039166``). One trailing dot is allowed.
    """
    text = host[:-1] if host.endswith(".") else host
    parts = text.split(".")
    if not 1 <= len(parts) <= 4:
        return None
    values: list[int] = []
    for part in parts:
        low = part.lower()
        try:
            if low.startswith("0x"):
                values.append(int(low[2:] or "0", 16))
            elif len(low) > 1 and low.startswith("0"):
                values.append(int(low[1:], 8))
            elif low.isdigit():
                values.append(int(low, 10))
            else:
                return None
        except ValueError:
            return None
    *head, last = values
    if any(v > 0xFF for v in head) or last >= 1 << (8 * (4 - len(head))):
        return None
    number = last
    for i, v in enumerate(head):
        number |= v << (8 * (3 - i))
    return ipaddress.IPv4Address(number)


def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address ``host`` resolves to (an IP literal, in any numeric form, resolves to itself)."""
    try:
        return [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        pass
    numeric = parse_numeric_ipv4(host)
    if numeric is not None:
        return [numeric]
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UnsafeTargetError(f"cannot resolve the webhook host '{host}': {exc}", field="url") from exc
    out: list[IPAddress] = []
    for info in infos:
        addr = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if addr not in out:
            out.append(addr)
    return out


def check_addresses(host: str, addrs: Iterable[IPAddress], *, allow_private: bool) -> None:
    for addr in addrs:
        why = address_refusal(addr, allow_private=allow_private)
        if why:
            hint = (
                ""
                if allow_private or "link-local" in why or "metadata" in why
                else (" (an operator can allow private targets with MODELYARD_WEBHOOK_ALLOW_PRIVATE_TARGETS=true)")
            )
            raise UnsafeTargetError(
                f"refusing to send webhooks to '{host}': it resolves to {addr}, {why}{hint}",
                field="url",
                address=str(addr),
            )


def check_url(url: str, *, allow_private: bool, resolve_host: bool = True) -> str:
    """Validate a webhook URL (scheme, host, addresses); returns it unchanged."""
    if not isinstance(url, str) or len(url) > 2048:
        raise UnsafeTargetError("the webhook URL must be a string of at most 2048 characters", field="url")
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeTargetError(f"invalid webhook URL: {exc}", field="url") from exc
    if parts.scheme not in ("http", "https"):
        raise UnsafeTargetError("webhook URLs must start with http:// or https://", field="url")
    host = parts.hostname
    if not host:
        raise UnsafeTargetError("the webhook URL has no host", field="url")
    if resolve_host:
        port = port or (443 if parts.scheme == "https" else 80)
        check_addresses(host, resolve(host, port), allow_private=allow_private)
    return url


class GuardedBackend(httpcore.SyncBackend):
    """Resolves, checks, and connects to the checked address (see the module docstring)."""

    def __init__(self, *, allow_private: bool) -> None:
        self.allow_private = allow_private

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[Any] | None = None,
    ) -> httpcore.NetworkStream:
        try:
            addrs = resolve(host, port)
            check_addresses(host, addrs, allow_private=self.allow_private)
        except UnsafeTargetError as exc:
            raise httpcore.ConnectError(exc.message) from exc
        last: Exception | None = None
        for addr in addrs:
            try:
                return super().connect_tcp(str(addr), port, timeout, local_address, socket_options)
            except httpcore.ConnectError as exc:  # try the next address
                last = exc
        raise last or httpcore.ConnectError(f"cannot connect to {host}")


def guarded_client(*, allow_private: bool, timeout: float, max_connections: int = 20) -> httpx.Client:
    """An httpx client for webhook deliveries: guarded connects, no redirects, no env proxies."""
    transport = httpx.HTTPTransport(limits=httpx.Limits(max_connections=max_connections), retries=0)
    pool = transport._pool  # httpx exposes no network_backend option; tests/lifecycle checks this still works
    assert hasattr(pool, "_network_backend"), "httpcore changed: the SSRF guard cannot be installed"
    pool._network_backend = GuardedBackend(allow_private=allow_private)
    return httpx.Client(
        transport=transport,
        timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
        follow_redirects=False,
        trust_env=False,
        headers={"Content-Type": "application/json"},
    )
