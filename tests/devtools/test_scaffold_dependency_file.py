"""The scaffolder reads the dependency file from the project's config: pyproject.toml's
`[tool.gatehouse] dependency-file`, else pyproject.toml, else requirements.txt; and it checks
and adds dependencies in a requirements-file project as in a pyproject one."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from gatehouse.cli import app
from gatehouse.devtools.scaffold import ScaffoldError, dependency_file, new_feature

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = '[project]\nname = "x"\ndependencies = [\n    "fastapi>=0.100",\n]\n'


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """The project's code and migrations, with no dependency file yet."""
    copy = tmp_path / "project"
    copy.mkdir()
    for name in ("src", "migrations"):
        shutil.copytree(
            ROOT / name, copy / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
        )
    return copy


def test_which_file_the_config_names(project: Path) -> None:
    with pytest.raises(ScaffoldError, match=r"no pyproject\.toml or requirements\.txt"):
        dependency_file(project)
    (project / "requirements.txt").write_text("fastapi\n")
    assert dependency_file(project) == project / "requirements.txt"
    # A pyproject holding only tool settings leaves the requirements file in charge.
    (project / "pyproject.toml").write_text("[tool.ruff]\nline-length = 100\n")
    assert dependency_file(project) == project / "requirements.txt"
    (project / "pyproject.toml").write_text(PYPROJECT)
    assert dependency_file(project) == project / "pyproject.toml"
    (project / "deps").mkdir()
    (project / "deps" / "main.txt").write_text("fastapi\n")
    (project / "pyproject.toml").write_text(
        PYPROJECT + '[tool.gatehouse]\ndependency-file = "deps/main.txt"\n'
    )
    assert dependency_file(project) == project / "deps" / "main.txt"


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ('dependency-file = "missing.txt"', "missing.txt: no such file"),
        ("dependency-file = 3", "must be a file name"),
    ],
)
def test_a_bad_config_is_refused(project: Path, config: str, message: str) -> None:
    (project / "pyproject.toml").write_text(PYPROJECT + f"[tool.gatehouse]\n{config}\n")
    with pytest.raises(ScaffoldError, match=message):
        new_feature(project, "notes", ["humanize>=4"])
    assert not (project / "src/gatehouse/notes").exists()


def test_a_requirements_project(project: Path) -> None:
    (project / "base.txt").write_text("fastapi>=0.100\n")
    (project / "requirements.txt").write_text("-r base.txt\nhttpx>=0.28")  # no final newline
    with pytest.raises(ScaffoldError, match=r"conflicts with the project's fastapi>=0\.100"):
        new_feature(project, "notes", ["fastapi<0.1"])  # against the included file
    assert not (project / "src/gatehouse/notes").exists()
    result = new_feature(project, "notes", ["humanize>=4", "httpx>=0.20", "Humanize"])
    assert result.dependency_file == project / "requirements.txt"
    assert result.dependencies == ["humanize>=4"]
    assert (project / "requirements.txt").read_text() == "-r base.txt\nhttpx>=0.28\nhumanize>=4\n"
    assert (project / "base.txt").read_text() == "fastapi>=0.100\n"
    assert (project / "src/gatehouse/notes/router.py").is_file()


def test_the_configured_file_gets_the_dependencies_through_the_cli(project: Path) -> None:
    pyproject = PYPROJECT + '[tool.gatehouse]\ndependency-file = "requirements.txt"\n'
    (project / "pyproject.toml").write_text(pyproject)
    (project / "requirements.txt").write_text("fastapi>=0.100\n")
    result = CliRunner().invoke(
        app, ["feature", "new", "notes", "--dep", "humanize>=4", "--root", str(project)]
    )
    assert result.exit_code == 0, result.output
    assert "added dependency humanize>=4 to requirements.txt" in result.output
    assert (project / "requirements.txt").read_text() == "fastapi>=0.100\nhumanize>=4\n"
    assert (project / "pyproject.toml").read_text() == pyproject


def test_an_invalid_line_in_the_dependency_file_is_reported(project: Path) -> None:
    (project / "requirements.txt").write_text("fastapi\nthis is not valid!!\n")
    result = CliRunner().invoke(
        app, ["feature", "new", "notes", "--dep", "humanize", "--root", str(project)]
    )
    assert result.exit_code == 1
    assert "requirements.txt:2: 'this is not valid!!' is not a valid requirement" in result.output
    assert not (project / "src/gatehouse/notes").exists()


def test_outside_a_project_it_says_where_to_run(tmp_path: Path) -> None:
    with pytest.raises(ScaffoldError, match="run from the project's root"):
        new_feature(tmp_path, "notes")


def test_a_dependency_file_that_cannot_be_read_stops_it(project: Path) -> None:
    (project / "pyproject.toml").write_text("[project\n")
    with pytest.raises(ScaffoldError, match=r"pyproject\.toml: not valid TOML"):
        new_feature(project, "notes")
    (project / "pyproject.toml").write_text(
        PYPROJECT + '[tool.gatehouse]\ndependency-file = "requirements.txt"\n'
    )
    (project / "requirements.txt").write_bytes(b"caf\xe9\n")
    with pytest.raises(ScaffoldError, match=r"requirements\.txt: cannot be read"):
        new_feature(project, "notes", ["humanize"])
    assert not (project / "src/gatehouse/notes").exists()
