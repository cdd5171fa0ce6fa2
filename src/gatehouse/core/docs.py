"""The API docs: Swagger UI at /docs, ReDoc at /redoc, the schema at /openapi.json.

Their scripts, styles and icon are served by the app itself from the files the
`fastapi-offline` package ships, not from a CDN: a page on the cookie origin runs no
script the service did not ship. Production serves the docs only with DOCS_ENABLED.
"""

from __future__ import annotations

from pathlib import Path

import fastapi_offline
from fastapi import FastAPI, Request
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from gatehouse.core.config import Settings

OPENAPI_URL = "/openapi.json"
SWAGGER_UI_URL = "/docs"
REDOC_URL = "/redoc"
ASSETS_URL = "/docs/assets"
ASSETS_DIR = Path(fastapi_offline.__file__).parent / "static"


def openapi_url(settings: Settings) -> str | None:
    """The schema's URL, or None where the docs are off (production without DOCS_ENABLED)."""
    return OPENAPI_URL if settings.is_development or settings.DOCS_ENABLED else None


def install_docs(app: FastAPI) -> None:
    """Add /docs, its OAuth2 redirect page, /redoc and their assets to an app whose schema
    is published (`openapi_url` set); an app without one gets none of them.

    The app is built with `docs_url=None, redoc_url=None`, so these are the only pages.
    """
    schema_url = app.openapi_url
    if not schema_url:
        return
    redirect_url = app.swagger_ui_oauth2_redirect_url or f"{SWAGGER_UI_URL}/oauth2-redirect"
    app.mount(ASSETS_URL, StaticFiles(directory=ASSETS_DIR), name="docs-assets")

    async def swagger_ui(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "").rstrip("/")
        return get_swagger_ui_html(
            openapi_url=root + schema_url,
            title=f"{app.title} - Swagger UI",
            swagger_js_url=f"{root}{ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{root}{ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{root}{ASSETS_URL}/favicon.png",
            oauth2_redirect_url=root + redirect_url,
            init_oauth=app.swagger_ui_init_oauth,
            swagger_ui_parameters=app.swagger_ui_parameters,
        )

    async def swagger_ui_redirect(_request: Request) -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    async def redoc(request: Request) -> HTMLResponse:
        root = request.scope.get("root_path", "").rstrip("/")
        return get_redoc_html(
            openapi_url=root + schema_url,
            title=f"{app.title} - ReDoc",
            redoc_js_url=f"{root}{ASSETS_URL}/redoc.standalone.js",
            redoc_favicon_url=f"{root}{ASSETS_URL}/favicon.png",
            with_google_fonts=False,
        )

    app.add_route(SWAGGER_UI_URL, swagger_ui, include_in_schema=False)
    app.add_route(redirect_url, swagger_ui_redirect, include_in_schema=False)
    app.add_route(REDOC_URL, redoc, include_in_schema=False)
