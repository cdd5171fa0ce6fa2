"""The Gatehouse SDK: typed sync and async clients for the Gatehouse HTTP API.

It depends on httpx and pydantic only, and imports nothing from the `gatehouse` server.
"""

from gatehouse_client import models
from gatehouse_client.calls import Call
from gatehouse_client.client import AsyncClient, Client, RetryPolicy
from gatehouse_client.errors import ApiError

__all__ = ["ApiError", "AsyncClient", "Call", "Client", "RetryPolicy", "models"]
