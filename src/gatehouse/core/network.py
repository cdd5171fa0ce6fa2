"""Addresses: which hosts and peers are this machine (loopback) or in a list of networks."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable

Network = ipaddress.IPv4Network | ipaddress.IPv6Network
Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def parse_address(text: str) -> Address | None:
    """The IP address in `text` (`[::1]` brackets allowed; an IPv4-mapped IPv6 address is
    its IPv4 address), or None when it is not an address."""
    try:
        address = ipaddress.ip_address(text.strip().removeprefix("[").removesuffix("]"))
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def is_loopback_host(host: str) -> bool:
    """True for `localhost` and for loopback addresses (127.0.0.0/8, ::1). Any other name
    is not: it may resolve to anything."""
    if host.strip().rstrip(".").lower() == "localhost":
        return True
    address = parse_address(host)
    return address is not None and address.is_loopback


def in_networks(host: str, networks: Iterable[Network]) -> bool:
    """True when `host` is an IP address inside one of `networks`."""
    address = parse_address(host)
    return address is not None and any(address in network for network in networks)
