"""/docs, /redoc and /openapi.json: on in development, off in production unless
DOCS_ENABLED, and every script, style and icon they load served by the app itself."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI

from tests.helpers import assert_envelope, running

DOCS_PATHS = (
    "/docs",
    "/docs/oauth2-redirect",
    "/redoc",
    "/openapi.json",
    "/docs/assets/swagger-ui-bundle.js",
    "/docs/assets/redoc.standalone.js",
)
_LOADED = re.compile(r"""(?:src|href)\s*[=:]\s*['"]([^'"]+)['"]|url:\s*['"]([^'"]+)['"]""")


def _production(tmp_path: Path, **overrides: Any) -> dict[str, Any]:
    return {
        "ENVIRONMENT": "production",
        "EMAIL_BACKEND": "file",
        "EMAIL_FILE_DIR": tmp_path / "mail",
        "PUBLIC_URL": "https://testserver",
        **overrides,
    }


def _loaded_urls(html: str) -> list[str]:
    """What a page loads: src= and href= attributes, and the schema `url:` of Swagger UI."""
    return [first or second for first, second in _LOADED.findall(html)]


async def test_production_serves_no_docs_by_default(
    app_factory: Callable[..., FastAPI], tmp_path: Path
) -> None:
    async with running(app_factory(**_production(tmp_path))) as client:
        for path in DOCS_PATHS:
            assert_envelope(await client.get(path), 404, "NOT_FOUND")
        assert (await client.get("/health")).status_code == 200


async def test_production_serves_the_docs_with_docs_enabled(
    app_factory: Callable[..., FastAPI], tmp_path: Path
) -> None:
    async with running(app_factory(**_production(tmp_path, DOCS_ENABLED=True))) as client:
        for path in DOCS_PATHS:
            assert (await client.get(path)).status_code == 200, path


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
async def test_the_doc_pages_load_nothing_from_another_origin(
    app_factory: Callable[..., FastAPI], page: str
) -> None:
    async with running(app_factory(ENVIRONMENT="development")) as client:
        html = (await client.get(page)).text
        loaded = _loaded_urls(html)
        assert loaded, html
        assert all(url.startswith("/") and not url.startswith("//") for url in loaded), loaded
        assert "fonts.googleapis" not in html
        for url in loaded:
            response = await client.get(url)
            assert response.status_code == 200, url
            assert response.content, url
    scripts = [url for url in loaded if url.endswith(".js")]
    assert scripts, loaded  # the page's own script is among them
