"""The SDK is a distribution of its own: installed into a clean virtualenv it brings
httpx and pydantic, not the server (FastAPI, SQLAlchemy, `gatehouse`)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CLIENT = ROOT / "clients" / "python"
SERVER_ONLY = ("gatehouse", "fastapi", "sqlalchemy", "starlette", "alembic", "asyncpg", "mcp")


def _uv() -> str:
    found = shutil.which("uv") or str(ROOT / ".tools" / "bin" / "uv")
    if not Path(found).is_file():
        pytest.fail("uv is missing: `make install-dev` bootstraps it into .tools/")
    return found


def _install(python: Path, requirement: str) -> None:
    """`uv pip install` into that interpreter: from uv's cache when it holds everything,
    otherwise from the package index."""
    command = [_uv(), "pip", "install", "--python", str(python), requirement]
    env = {k: v for k, v in os.environ.items() if k != "VIRTUAL_ENV"}
    offline = subprocess.run(
        [*command, "--offline"], env=env, capture_output=True, text=True, timeout=60
    )
    if offline.returncode != 0:
        subprocess.run(command, env=env, check=True, capture_output=True, timeout=300)


def _importable(python: Path, modules: tuple[str, ...]) -> list[str]:
    """Which of `modules` the interpreter can import."""
    probe = (
        "import importlib.util, sys; "
        "print(' '.join(m for m in sys.argv[1:] if importlib.util.find_spec(m)))"
    )
    found = subprocess.run(
        [str(python), "-c", probe, *modules], check=True, capture_output=True, text=True, timeout=60
    )
    return found.stdout.split()


@pytest.mark.slow
@pytest.mark.timeout(420)  # offline from uv's cache it takes seconds; the index may be slower
def test_the_client_installs_alone_into_a_clean_virtualenv(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    subprocess.run(
        [sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=60
    )
    python = venv / "bin" / "python"

    _install(python, str(CLIENT))
    check = (
        "from importlib.metadata import version; import gatehouse_client as g; "
        "c = g.Client('http://127.0.0.1:1'); c.close(); print(g.__version__, version('httpx'))"
    )
    out = subprocess.run(
        [str(python), "-c", check], check=True, capture_output=True, text=True, timeout=60
    )
    server_version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert out.stdout.split()[0] == server_version  # one version, the server's
    assert _importable(python, ("httpx", "pydantic")) == ["httpx", "pydantic"]
    assert _importable(python, (*SERVER_ONLY, "jwt")) == []

    # The verifier extra adds PyJWT and cryptography, still no web framework.
    _install(python, f"{CLIENT}[verifier]")
    imports = "import gatehouse_client.verifier, jwt, cryptography"
    subprocess.run([str(python), "-c", imports], check=True, capture_output=True, timeout=60)
    assert _importable(python, SERVER_ONLY) == []
