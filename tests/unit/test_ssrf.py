"""The webhook SSRF guard judges an address by every IPv4 address it can stand for (issue 8, item 8).

A blocked IPv4 address stays blocked whatever spelling carries it: IPv6 forms that embed it
(IPv4-mapped, IPv4-compatible, NAT64, 6to4, Teredo) and the numeric host forms ``inet_aton``
accepts (one integer, octal or hex parts, two or three parts, a trailing dot).
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable

import httpcore
import pytest
from hypothesis import given
from hypothesis import strategies as st

from modelyard.errors import InvalidArgumentError
from modelyard.events.ssrf import GuardedBackend, address_refusal, check_url, parse_numeric_ipv4

V4 = ipaddress.IPv4Address


def _v6(value: int) -> str:
    return f"[{ipaddress.IPv6Address(value)}]"


# Each form maps an IPv4 address to a URL host that reaches (or names) that address.
IPV6_FORMS: dict[str, Callable[[V4], str]] = {
    "mapped": lambda a: _v6(0xFFFF << 32 | int(a)),
    "compatible": lambda a: _v6(int(a)),
    "compatible-dotted": lambda a: f"[::{a}]",
    "nat64": lambda a: _v6(0x0064FF9B << 96 | int(a)),
    "nat64-local": lambda a: _v6(0x0064FF9B0001 << 80 | int(a)),
    "6to4": lambda a: _v6(0x2002 << 112 | int(a) << 80 | 1),
    "teredo": lambda a: _v6(0x20010000 << 96 | 0x4136E378 << 64 | (int(a) ^ 0xFFFFFFFF)),
}
NUMERIC_FORMS: dict[str, Callable[[V4], str]] = {
    "decimal": lambda a: str(int(a)),
    "hex": lambda a: hex(int(a)),
    "octal": lambda a: "0" + format(int(a), "o"),
    "dotted-hex": lambda a: ".".join(hex(b) for b in a.packed),
    "dotted-octal": lambda a: ".".join("0" + format(b, "o") for b in a.packed),
    "two-part": lambda a: f"{a.packed[0]}.{int(a) & 0xFFFFFF}",
    "three-part": lambda a: f"{a.packed[0]}.{a.packed[1]}.{int(a) & 0xFFFF}",
    "trailing-dot": lambda a: f"{a}.",
}
FORMS = {**IPV6_FORMS, **NUMERIC_FORMS}

link_local = st.integers(0, 0xFFFF).map(lambda n: V4((169 << 24) | (254 << 16) | n))
private = st.sampled_from(["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "127.0.0.0/8", "100.64.0.0/10"]).flatmap(
    lambda net: st.integers(0, ipaddress.ip_network(net).num_addresses - 1).map(
        lambda n, net=net: ipaddress.ip_network(net)[n]
    )
)
public = st.sampled_from(["8.8.8.8", "1.1.1.1", "93.184.216.34", "151.101.1.69"]).map(V4)


def _refused(host: str, *, allow_private: bool) -> str | None:
    try:
        check_url(f"http://{host}/hook", allow_private=allow_private)
    except InvalidArgumentError as exc:
        return exc.message
    return None


@pytest.mark.parametrize("form", sorted(FORMS))
@given(addr=link_local)
def test_link_local_is_refused_in_every_form_even_when_private_targets_are_allowed(form: str, addr: V4) -> None:
    host = FORMS[form](addr)
    for allow_private in (False, True):
        why = _refused(host, allow_private=allow_private)
        assert why is not None and "link-local" in why, (host, why)


@pytest.mark.parametrize("form", sorted(FORMS))
@given(addr=private)
def test_private_addresses_are_refused_in_every_form_by_default(form: str, addr: V4) -> None:
    host = FORMS[form](addr)
    assert _refused(host, allow_private=False) is not None, host


@pytest.mark.parametrize("form", sorted(NUMERIC_FORMS))
@given(addr=public)
def test_public_addresses_stay_allowed_in_numeric_forms(form: str, addr: V4) -> None:
    assert _refused(NUMERIC_FORMS[form](addr), allow_private=False) is None


@pytest.mark.parametrize("form", ["mapped", "nat64", "6to4"])
@given(addr=public)
def test_public_addresses_stay_allowed_through_translation_prefixes(form: str, addr: V4) -> None:
    assert _refused(IPV6_FORMS[form](addr), allow_private=False) is None


@pytest.mark.parametrize(
    "url",
    [
        "http://[::a9fe:a9fe]/",
        "http://[::169.254.169.254]/",
        "http://[64:ff9b::a9fe:a9fe]/",
        "http://[2002:a9fe:a9fe::]/",
        "http://2852039166/",
        "http://0xa9.0xfe.0xa9.0xfe/",
        "http://0251.0376.0251.0376/",
        "http://169.254.43518/",
        "http://0xa9fea9fe/",
    ],
)
def test_the_issue_examples_are_refused(url: str) -> None:
    with pytest.raises(InvalidArgumentError, match=r"169\.254\.169\.254"):
        check_url(url, allow_private=True)


@pytest.mark.parametrize("form", sorted(NUMERIC_FORMS))
@given(addr=st.integers(0, 2**32 - 1).map(V4))
def test_numeric_parsing_agrees_with_inet_aton(form: str, addr: V4) -> None:
    host = NUMERIC_FORMS[form](addr)
    assert parse_numeric_ipv4(host) == addr
    if not host.endswith("."):
        assert socket.inet_aton(host) == addr.packed


@given(st.text(alphabet="0123456789abcdefx.", max_size=24))
def test_numeric_parsing_matches_inet_aton_on_arbitrary_strings(host: str) -> None:
    try:
        expected: V4 | None = V4(socket.inet_aton(host))
    except OSError:
        expected = None
    if host.endswith(".") and host[:-1] and not host.endswith(".."):
        return  # the trailing-dot form is ours (URL hosts), inet_aton does not take it
    assert parse_numeric_ipv4(host) == expected, host


def test_names_are_not_numeric() -> None:
    for host in ("example.com", "1.com", "0x.example", "a.1.2.3", "1..2", ""):
        assert parse_numeric_ipv4(host) is None, host


def test_refusal_names_the_embedded_address() -> None:
    why = address_refusal(ipaddress.ip_address("::a9fe:a9fe"), allow_private=True)
    assert why is not None and "169.254.169.254" in why


@pytest.mark.parametrize("host", ["::a9fe:a9fe", "64:ff9b::a9fe:a9fe", "2852039166", "0xa9.0xfe.0xa9.0xfe"])
def test_connect_time_guard_refuses_embedded_and_numeric_forms(host: str) -> None:
    """Delivery re-checks at connect time, so a URL stored before the fix cannot reach the address."""
    with pytest.raises(httpcore.ConnectError, match="link-local"):
        GuardedBackend(allow_private=True).connect_tcp(host, 80, timeout=1)
