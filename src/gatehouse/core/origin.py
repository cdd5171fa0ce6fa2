"""Where a request comes from: the client's address and user agent, as recorded on
sessions and audit events."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

from fastapi import Request

from gatehouse.core.network import parse_address

USER_AGENT_MAX = 512


@dataclass(frozen=True, slots=True)
class RequestOrigin:
    ip: str | None
    user_agent: str | None

    @property
    def is_loopback(self) -> bool:
        """Whether the client is on this machine (127.0.0.0/8 or ::1)."""
        address = parse_address(self.ip) if self.ip else None
        return address is not None and address.is_loopback

    @classmethod
    def of(cls, request: Request) -> RequestOrigin:
        agent = request.headers.get("user-agent")
        return cls(ip=client_ip(request), user_agent=agent[:USER_AGENT_MAX] if agent else None)


def client_ip(request: Request) -> str:
    """The client's address (taken from X-Forwarded-For only when the peer is trusted)."""
    return request.client.host if request.client else "unknown"


def client_network(request: Request) -> str:
    """The client as per-IP limits count it: its address, or for IPv6 its /64 (one
    subscriber's whole network, which holds 2^64 addresses)."""
    ip = client_ip(request)
    address = parse_address(ip)
    if address is None:
        return ip
    if isinstance(address, ipaddress.IPv6Address):
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)
