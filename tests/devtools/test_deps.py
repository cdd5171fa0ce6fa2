"""The dependency analyser on tricky requirement files and on pyproject.toml."""

from __future__ import annotations

import json
from importlib import metadata
from pathlib import Path

from typer.testing import CliRunner

from gatehouse.cli import app
from gatehouse.devtools.deps import analyze

HTTPX = metadata.version("httpx")
PYDANTIC = metadata.version("pydantic")


def _write(tmp_path: Path, name: str, text: str) -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_a_tricky_requirements_file(tmp_path: Path) -> None:
    _write(tmp_path, "base.txt", f"pydantic>={PYDANTIC}  # the models\n")
    path = _write(
        tmp_path,
        "requirements.txt",
        "# tools\n"
        "-r base.txt\n"
        "--index-url https://example.invalid/simple\n"
        f"httpx[http2]=={HTTPX} ; python_version >= '3.8'\n"
        "uvicorn[standard] >=0.20, <1000 \\\n"
        "    # continued\n"
        "\n"
        "not-installed-package-xyz==1.0\n"
        "ancient ; python_version < '3.0'\n"
        "mylib @ https://example.invalid/mylib-1.0.tar.gz\n"
        "httpx<0.1\n",
    )
    report = analyze(path)
    by_name = {(r.name, r.source): r for r in report.requirements}
    names = [r.name for r in report.requirements]
    assert names == [
        "pydantic",
        "httpx",
        "uvicorn",
        "not-installed-package-xyz",
        "ancient",
        "mylib",
        "httpx",
    ]
    pydantic = by_name[("pydantic", "base.txt:1")]
    assert (pydantic.installed, pydantic.satisfied) == (PYDANTIC, True)
    httpx_line = next(r for r in report.requirements if r.name == "httpx" and r.extras)
    assert httpx_line.extras == ["http2"]
    assert httpx_line.marker == 'python_version >= "3.8"'
    assert httpx_line.satisfied is True
    assert (
        next(r for r in report.requirements if r.name == "not-installed-package-xyz").installed
        is None
    )
    ancient = next(r for r in report.requirements if r.name == "ancient")
    assert ancient.applies is False
    assert (
        next(r for r in report.requirements if r.name == "mylib").url
        == "https://example.invalid/mylib-1.0.tar.gz"
    )
    assert "httpx" in report.duplicates
    assert "httpx" in report.conflicts  # ==HTTPX and <0.1 cannot both hold
    assert report.ok is False


def test_compatible_duplicates_are_not_conflicts(tmp_path: Path) -> None:
    path = _write(tmp_path, "requirements.txt", "packaging>=20\npackaging<100,!=21.0\n")
    report = analyze(path)
    assert "packaging" in report.duplicates
    assert report.conflicts == {}


def test_disjoint_ranges_conflict(tmp_path: Path) -> None:
    path = _write(tmp_path, "requirements.txt", "foo>=2.0\nfoo<1.5\nbar~=1.4\nbar>=1.4.2\n")
    report = analyze(path)
    assert set(report.conflicts) == {"foo"}


def test_invalid_lines_and_a_missing_file_are_errors(tmp_path: Path) -> None:
    path = _write(tmp_path, "requirements.txt", "good==1\nthis is not valid!!\n")
    report = analyze(path)
    assert len(report.errors) == 1
    assert "requirements.txt:2" in report.errors[0]
    missing = analyze(tmp_path / "nope.txt")
    assert missing.errors == [f"{tmp_path / 'nope.txt'}: no such file"]


def test_pyproject_dependencies_extras_and_groups(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        "pyproject.toml",
        '[project]\nname = "x"\ndependencies = ["httpx>=0.1"]\n'
        '[project.optional-dependencies]\nfast = ["uvicorn[standard]"]\n'
        '[dependency-groups]\ndev = ["pytest>=7", {include-group = "other"}]\nother = []\n',
    )
    report = analyze(path)
    sources = {r.name: r.source for r in report.requirements}
    assert sources == {
        "httpx": "pyproject.toml:project.dependencies",
        "uvicorn": "pyproject.toml:optional-dependencies.fast",
        "pytest": "pyproject.toml:dependency-groups.dev",
    }
    assert report.ok


def test_outdated_is_skipped_with_a_note_when_the_index_cannot_be_asked(
    tmp_path: Path,
) -> None:
    path = _write(tmp_path, "requirements.txt", "httpx\n")
    # As when pip cannot reach the index (or is not installed): every answer is None.
    report = analyze(path, outdated=True, lookup_latest=lambda _name: None)
    assert report.notes == ["latest versions skipped: the package index could not be reached"]


def test_the_cli(tmp_path: Path) -> None:
    runner = CliRunner()
    good = _write(tmp_path, "good.txt", f"httpx=={HTTPX}\n")
    result = runner.invoke(app, ["deps", "check", str(good), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["ok"] is True
    bad = _write(tmp_path, "bad.txt", "foo>=2\nfoo<1\n")
    refused = runner.invoke(app, ["deps", "check", str(bad)])
    assert refused.exit_code == 1
    assert "conflict" in refused.output
