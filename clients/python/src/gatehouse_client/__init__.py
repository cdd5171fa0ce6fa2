"""The Gatehouse SDK: typed sync and async clients for the Gatehouse HTTP API.

It depends on httpx and pydantic only, and imports nothing from the `gatehouse` server.
The token verifier for resource servers (`gatehouse_client.verifier`) needs the
`verifier` extra; its FastAPI dependency and Starlette middleware need `fastapi` or
`starlette` (`pip install "gatehouse-client[fastapi]"`).
"""

from importlib.metadata import PackageNotFoundError, version

from gatehouse_client import models
from gatehouse_client.calls import Call
from gatehouse_client.client import AsyncClient, Client, RetryPolicy
from gatehouse_client.errors import (
    ApiError,
    GatehouseConnectionError,
    GatehouseError,
    GatehouseTimeout,
    MfaRequired,
    TokenRejected,
    TransportError,
)

try:
    __version__ = version("gatehouse-client")
except PackageNotFoundError:  # pragma: no cover  (a source tree on sys.path, not installed)
    __version__ = "0+unknown"

__all__ = [
    "ApiError",
    "AsyncClient",
    "Call",
    "Client",
    "GatehouseConnectionError",
    "GatehouseError",
    "GatehouseTimeout",
    "MfaRequired",
    "RetryPolicy",
    "TokenRejected",
    "TransportError",
    "__version__",
    "models",
]
