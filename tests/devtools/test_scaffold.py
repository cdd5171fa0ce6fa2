"""The feature scaffolder, in a temporary copy of the project: the generated package passes
ruff, mypy and its own tests; a conflicting dependency stops it with nothing written."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from gatehouse.devtools.scaffold import ScaffoldError, _register, new_feature

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


@pytest.fixture
def project(tmp_path: Path) -> Path:
    copy = tmp_path / "project"
    copy.mkdir()
    for name in ("src", "clients", "examples", "scripts", "tests", "migrations", "bench"):
        shutil.copytree(
            ROOT / name, copy / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
        )
    for name in ("pyproject.toml", "alembic.ini"):
        shutil.copy(ROOT / name, copy / name)
    return copy


def _run(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    # The copy's src comes first, so its gatehouse (with the new feature) is the one imported.
    env = {**os.environ, "PYTHONPATH": str(project / "src")}
    return subprocess.run(
        args, cwd=project, env=env, capture_output=True, text=True, timeout=600, check=False
    )


@pytest.mark.slow
@pytest.mark.timeout(600)  # a cold mypy and a test run in a fresh copy of the project
def test_a_new_feature_passes_ruff_mypy_and_its_tests(project: Path) -> None:
    made = _run(
        project,
        sys.executable,
        "-m",
        "gatehouse",
        "feature",
        "new",
        "notes",
        "--dep",
        "httpx>=0.20",
        "--dep",
        "humanize>=4",
    )
    assert made.returncode == 0, made.stdout + made.stderr
    assert (project / "src/gatehouse/notes/router.py").is_file()
    assert "notes_router" in (project / "src/gatehouse/routers.py").read_text()
    assert '"Notes"' in (project / "src/gatehouse/models.py").read_text()
    pyproject = (project / "pyproject.toml").read_text()
    assert '"humanize>=4"' in pyproject
    assert pyproject.count("httpx") == (ROOT / "pyproject.toml").read_text().count(
        "httpx"
    )  # present already

    for command in (
        [str(BIN / "ruff"), "check", "src", "tests", "migrations"],
        [str(BIN / "ruff"), "format", "--check", "src", "tests", "migrations"],
        # Strict, over the new package, its tests and the modules it was wired into (with
        # everything they import); the rest of the copy is the project's, checked by CI.
        [
            str(BIN / "mypy"),
            "src/gatehouse/notes",
            "tests/notes",
            "src/gatehouse/routers.py",
            "src/gatehouse/models.py",
        ],
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "tests/notes",
            "tests/test_migrations.py",
        ],
    ):
        result = _run(project, *command)
        assert result.returncode == 0, f"{command}: {result.stdout[-3000:]}{result.stderr[-3000:]}"


def test_a_conflicting_dependency_stops_it_and_nothing_is_written(project: Path) -> None:
    before = (project / "pyproject.toml").read_text()
    refused = _run(
        project,
        sys.executable,
        "-m",
        "gatehouse",
        "feature",
        "new",
        "notes",
        "--dep",
        "fastapi<0.1",
    )
    assert refused.returncode == 1
    assert "conflicts with the project's fastapi" in refused.stderr
    assert not (project / "src/gatehouse/notes").exists()
    assert (project / "pyproject.toml").read_text() == before


@pytest.mark.parametrize("name", ["Notes", "auth", "class", "x", "with-dash"])
def test_bad_names_are_refused(project: Path, name: str) -> None:
    refused = _run(project, sys.executable, "-m", "gatehouse", "feature", "new", name)
    assert refused.returncode == 1
    assert "error:" in refused.stderr


def test_new_feature_writes_and_registers_the_package_in_process(project: Path) -> None:
    result = new_feature(project, "notes", ["humanize>=4"])
    package = project / "src/gatehouse/notes"
    for module in ("models", "schemas", "exceptions", "dependencies", "service", "router"):
        assert (package / f"{module}.py").is_file(), module
    assert package / "router.py" in result.files
    assert "notes_router" in (project / "src/gatehouse/routers.py").read_text()
    assert '"humanize>=4"' in (project / "pyproject.toml").read_text()


@pytest.mark.parametrize("name", ["Notes", "sessions", "class", "x", "with-dash"])
def test_bad_names_raise_before_anything_is_written(project: Path, name: str) -> None:
    before = (project / "pyproject.toml").read_text()
    with pytest.raises(ScaffoldError):
        new_feature(project, name)
    assert (project / "pyproject.toml").read_text() == before


def test_a_conflicting_dependency_raises_in_process(project: Path) -> None:
    with pytest.raises(ScaffoldError, match="conflicts"):
        new_feature(project, "notes", ["fastapi<0.1"])
    assert not (project / "src/gatehouse/notes").exists()


def test_registering_keeps_an_import_that_spans_lines_whole(tmp_path: Path) -> None:
    models = tmp_path / "models.py"
    models.write_text(
        '"""Tables."""\n\n'
        "from gatehouse.audit.models import AuditEvent\n"
        "from gatehouse.auth.models import (\n    OneTimeToken,\n    RefreshToken,\n)\n"
        "from gatehouse.users.models import User\n\n"
        '__all__ = [\n    "AuditEvent",\n]\n',
        encoding="utf-8",
    )
    _register(
        models,
        "from gatehouse.notes.models import Note",
        r"__all__ = \[\n(.*?)\]",
        '    "Note",\n',
    )
    assert models.read_text(encoding="utf-8") == (
        '"""Tables."""\n\n'
        "from gatehouse.audit.models import AuditEvent\n"
        "from gatehouse.auth.models import (\n    OneTimeToken,\n    RefreshToken,\n)\n"
        "from gatehouse.notes.models import Note\n"
        "from gatehouse.users.models import User\n\n"
        '__all__ = [\n    "AuditEvent",\n    "Note",\n]\n'
    )
