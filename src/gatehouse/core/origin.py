"""Where a request comes from: the client's address and user agent, as recorded on
sessions and audit events."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

USER_AGENT_MAX = 512


@dataclass(frozen=True, slots=True)
class RequestOrigin:
    ip: str | None
    user_agent: str | None

    @classmethod
    def of(cls, request: Request) -> RequestOrigin:
        agent = request.headers.get("user-agent")
        return cls(ip=client_ip(request), user_agent=agent[:USER_AGENT_MAX] if agent else None)


def client_ip(request: Request) -> str:
    """The client's address (taken from X-Forwarded-For only when the peer is trusted)."""
    return request.client.host if request.client else "unknown"
