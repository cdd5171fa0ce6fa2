"""The domain routers the app mounts, each with its full prefix.

`gatehouse feature new NAME` adds the new domain's import and router here.
"""

from fastapi import APIRouter

from gatehouse.audit.router import router as audit_router
from gatehouse.auth.router import router as auth_router
from gatehouse.chat.router import router as chat_router
from gatehouse.tasks.router import router as tasks_router
from gatehouse.users.router import router as users_router

DOMAIN_ROUTERS: tuple[APIRouter, ...] = (
    auth_router,
    users_router,
    tasks_router,
    chat_router,
    audit_router,
)
