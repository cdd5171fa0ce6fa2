"""The application factory."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib.metadata import version

from fastapi import FastAPI
from fastapi.middleware.cors import CORSMiddleware

from gatehouse.auth.kit import AuthKit
from gatehouse.auth.throttle import ThrottlePolicy
from gatehouse.chat.providers import make_chat_provider
from gatehouse.core.clock import Clock
from gatehouse.core.config import Settings, get_settings
from gatehouse.core.db import KeyReader, make_engine, make_sessionmaker
from gatehouse.core.docs import install_docs, openapi_url
from gatehouse.core.errors import install_error_handlers
from gatehouse.core.logging import configure_logging
from gatehouse.core.metrics import Metrics, MetricsMiddleware
from gatehouse.core.middleware import InputGuardMiddleware, RequestContextMiddleware
from gatehouse.core.openapi import (
    input_guard_responses,
    install_error_media_type,
    operation_id,
)
from gatehouse.core.ratelimit import LimitStore, RateLimiter
from gatehouse.mail.backends import make_backend
from gatehouse.mail.worker import MailWorker
from gatehouse.ops.router import router as ops_router
from gatehouse.routers import DOMAIN_ROUTERS
from gatehouse.users import service as users_service
from gatehouse.web.admin_pages import router as admin_pages_router
from gatehouse.web.chat_pages import router as chat_pages_router
from gatehouse.web.mfa_pages import router as mfa_pages_router
from gatehouse.web.pages import router as pages_router
from gatehouse.web.passkey_pages import router as passkey_pages_router
from gatehouse.web.router import router as web_router
from gatehouse.web.task_pages import router as task_pages_router

logger = logging.getLogger(__name__)

VERSION = version("gatehouse")


async def _bootstrap_first_admin(app: FastAPI, settings: Settings) -> None:
    if not (settings.FIRST_ADMIN_EMAIL and settings.FIRST_ADMIN_PASSWORD):
        return
    kit: AuthKit = app.state.auth
    async with app.state.sessionmaker() as db:
        await users_service.ensure_admin(
            db,
            hasher=kit.hasher,
            policy=kit.policy,
            email=settings.FIRST_ADMIN_EMAIL,
            password=settings.FIRST_ADMIN_PASSWORD.get_secret_value(),
        )


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Build what lives for the process, keep it on app.state, and release it at the end."""
    settings: Settings = app.state.settings
    metrics: Metrics = app.state.metrics
    engine = make_engine(settings)
    app.state.engine = engine
    app.state.sessionmaker = make_sessionmaker(engine)
    app.state.key_reader = KeyReader(engine)
    app.state.redis = None
    if settings.REDIS_URL:
        from redis.asyncio import Redis  # deferred: ~17 MB, and only with REDIS_URL

        app.state.redis = Redis.from_url(settings.REDIS_URL)
    app.state.mail_backend = make_backend(settings)
    store = LimitStore.from_settings(settings, clock=app.state.clock)
    app.state.limiter = RateLimiter(settings, store)
    app.state.limiter.on_limited = lambda name: metrics.rate_limited.labels(name).inc()
    app.state.auth = AuthKit.build(
        settings, store=store, clock=app.state.clock, throttle_policy=app.state.throttle_policy
    )
    app.state.chat_provider = make_chat_provider(settings)
    worker_task: asyncio.Task[None] | None = None
    stop_worker = asyncio.Event()
    try:
        await _bootstrap_first_admin(app, settings)
        if settings.MAIL_WORKER_ENABLED:
            worker = MailWorker(
                sessionmaker=app.state.sessionmaker,
                backend=app.state.mail_backend,
                settings=settings,
            )
            worker_task = asyncio.create_task(worker.run_forever(stop_worker), name="mail-worker")
        yield
    finally:
        if worker_task is not None:
            stop_worker.set()
            try:
                await asyncio.wait_for(worker_task, timeout=settings.SMTP_TIMEOUT_SECONDS + 5)
            except TimeoutError:
                logger.warning("mail worker did not stop in time; cancelling it")
                with contextlib.suppress(asyncio.CancelledError):
                    await worker_task
        if app.state.redis is not None:
            await app.state.redis.aclose()
        app.state.key_reader.close()
        await engine.dispose()


def create_app(
    settings: Settings | None = None,
    *,
    clock: Clock | None = None,
    throttle_policy: ThrottlePolicy | None = None,
) -> FastAPI:
    """Build the service. Tests pass their own Settings; the server reads the environment.

    `clock` and `throttle_policy` are seams for tests: the time and the waits of the rules
    (the login throttle, the forgot-password floor, retrying a lost Redis), and the login
    throttle's delays.
    """
    settings = settings or get_settings()
    configure_logging(settings)
    app = FastAPI(
        title="Gatehouse",
        version=VERSION,
        summary="Accounts, tokens, sessions and tasks for your application.",
        lifespan=lifespan,
        generate_unique_id_function=operation_id,
        # Every route may answer the input guard's 413 and 422; routes add their own.
        responses=input_guard_responses(),
        # Off in production unless DOCS_ENABLED; /docs and /redoc are added by
        # install_docs below, with their assets served locally instead of from a CDN.
        openapi_url=openapi_url(settings),
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.clock = clock
    app.state.throttle_policy = throttle_policy
    # Built here, not in the lifespan: the middleware below needs it at construction.
    app.state.metrics = Metrics()
    install_error_handlers(app)
    # Innermost, so its 413 and 422 answers pass through CORS, metrics and request context.
    app.add_middleware(InputGuardMiddleware, max_body_bytes=settings.MAX_BODY_BYTES)
    if settings.CORS_ORIGINS:
        app.add_middleware(
            CORSMiddleware,
            allow_origins=settings.CORS_ORIGINS,
            allow_credentials=True,
            allow_methods=["*"],
            allow_headers=["*"],
            expose_headers=["X-Request-ID", "Retry-After", "X-Device-Token"],
        )
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)
    app.add_middleware(RequestContextMiddleware, trusted_proxies=settings.TRUSTED_PROXIES)

    # Each router carries its full prefix, so a route's template (for metrics) is whole.
    for router in DOMAIN_ROUTERS:
        app.include_router(router)
    app.include_router(ops_router)
    app.include_router(web_router)
    app.include_router(pages_router)
    app.include_router(task_pages_router)
    app.include_router(chat_pages_router)
    app.include_router(mfa_pages_router)
    app.include_router(admin_pages_router)
    app.include_router(passkey_pages_router)
    install_docs(app)
    install_error_media_type(app)
    return app
