"""The documentation stays true: the route table of docs/api.md against the app, no
pointer to files outside the repository, and .env.example against Settings."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from gatehouse.core.config import Settings
from gatehouse.main import create_app

ROOT = Path(__file__).resolve().parents[1]
API_DOC = ROOT / "docs" / "api.md"
ENV_EXAMPLE = ROOT / ".env.example"
HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
# Written in two parts so that this file does not contain what it looks for.
OUTSIDE_POINTERS = ("../" + "shared", "/work/" + "shared")
NOT_THE_REPOSITORY = {
    ".git",
    ".venv",
    ".tools",
    "__pycache__",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
}
_ASSIGNMENT = re.compile(r"^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=")

Operation = tuple[str, str]


def documented_operations(markdown: str) -> list[Operation]:
    """The (METHOD, path) of each row of the table in the `## Routes` section."""
    _, found, rest = markdown.partition("\n## Routes\n")
    assert found, "docs/api.md has no '## Routes' section"
    section = rest.split("\n## ", 1)[0]
    rows: list[Operation] = []
    for line in section.splitlines():
        cells = [cell.strip().strip("`").strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) >= 2 and cells[0] in HTTP_METHODS:
            rows.append((cells[0], cells[1]))
    return rows


def served_operations(settings: Settings) -> set[Operation]:
    """The (METHOD, path) of each operation in the app's OpenAPI schema."""
    paths = create_app(settings).openapi()["paths"]
    return {
        (method.upper(), path)
        for path, item in paths.items()
        for method in item
        if method.upper() in HTTP_METHODS
    }


def _listing(title: str, operations: set[Operation] | list[Operation]) -> str:
    rows = "\n".join(f"  | {method} | `{path}` |" for method, path in sorted(operations))
    return f"{title}:\n{rows}"


def test_the_route_table_lists_exactly_the_operations_the_app_serves(
    settings: Settings,
) -> None:
    documented = documented_operations(API_DOC.read_text(encoding="utf-8"))
    served = served_operations(settings)
    problems = []
    if missing := served - set(documented):
        problems.append(_listing("served by the app but missing from docs/api.md", missing))
    if unknown := set(documented) - served:
        problems.append(_listing("in docs/api.md but not served by the app", unknown))
    if repeated := {row for row in documented if documented.count(row) > 1}:
        problems.append(_listing("listed more than once in docs/api.md", repeated))
    assert not problems, "the route table of docs/api.md is out of date\n" + "\n".join(problems)


def repository_files() -> list[Path]:
    """The files of the repository: git's tracked and new (not ignored) files, or, without
    git, every file outside the tool and cache directories."""
    git = shutil.which("git")
    if git is not None:
        listed = subprocess.run(
            [git, "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=ROOT,
            capture_output=True,
            check=False,
        )
        if listed.returncode == 0:
            names = listed.stdout.decode("utf-8", "surrogateescape").split("\0")
            return [ROOT / name for name in names if name and (ROOT / name).is_file()]
    files: list[Path] = []
    for directory, subdirectories, names in os.walk(ROOT):
        subdirectories[:] = [name for name in subdirectories if name not in NOT_THE_REPOSITORY]
        files.extend(Path(directory) / name for name in names)
    return files


def test_no_file_points_outside_the_repository() -> None:
    files = repository_files()
    assert API_DOC in files
    offenders = []
    for path in files:
        text = path.read_bytes().decode("utf-8", "replace")
        if not any(pointer in text for pointer in OUTSIDE_POINTERS):
            continue
        for number, line in enumerate(text.splitlines(), start=1):
            for pointer in OUTSIDE_POINTERS:
                if pointer in line:
                    offenders.append(f"  {path.relative_to(ROOT)}:{number}: {pointer}")
    assert not offenders, (
        "the repository must be self-contained; these lines point outside it:\n"
        + "\n".join(offenders)
    )


def env_example_names() -> list[str]:
    """The variables .env.example assigns (comment lines are not assignments)."""
    lines = ENV_EXAMPLE.read_text(encoding="utf-8").splitlines()
    return [match.group(1) for line in lines if (match := _ASSIGNMENT.match(line))]


def test_env_example_names_every_setting_and_nothing_else() -> None:
    named = env_example_names()
    fields = set(Settings.model_fields)
    problems = []
    if missing := sorted(fields - set(named)):
        problems.append(f"settings missing from .env.example: {', '.join(missing)}")
    if unknown := sorted(set(named) - fields):
        problems.append(f"in .env.example but not a setting: {', '.join(unknown)}")
    if repeated := sorted({name for name in named if named.count(name) > 1}):
        problems.append(f"assigned more than once in .env.example: {', '.join(repeated)}")
    assert not problems, "\n".join(problems)


def test_env_example_as_a_dotenv_file_gives_the_defaults(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # the development secret is generated here, for both
    from_example = Settings(_env_file=ENV_EXAMPLE)
    defaults = Settings(_env_file=None)
    differ = {
        name: (getattr(from_example, name), getattr(defaults, name))
        for name in Settings.model_fields
        if getattr(from_example, name) != getattr(defaults, name)
    }
    assert not differ, f".env.example gives other values than the defaults: {differ}"


def test_every_test_security_md_names_exists() -> None:
    text = (ROOT / "SECURITY.md").read_text("utf-8")
    named = re.findall(r"`(tests/[\w/]+\.py)::(\w+)`", text)
    assert len(named) >= 22
    missing = [
        f"{path}::{name}"
        for path, name in named
        if not (ROOT / path).is_file()
        or not re.search(rf"^(async )?def {name}\(", (ROOT / path).read_text("utf-8"), re.M)
    ]
    assert missing == [], "SECURITY.md names tests that do not exist:\n" + "\n".join(missing)
