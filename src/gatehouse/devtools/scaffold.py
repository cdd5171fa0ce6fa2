"""`gatehouse feature new NAME`: a new domain package laid out as docs/architecture.md says.

It reads the project's config for its dependency file (`[tool.gatehouse] dependency-file`
in pyproject.toml; else pyproject.toml, or requirements.txt in a project without a
`[project]` table), checks the new dependencies against the existing ones with the
analyser (a conflict stops it, and nothing is written), then writes `src/gatehouse/NAME/`
(models, schemas, exceptions, dependencies, service, router), an Alembic migration after
the current head, and `tests/NAME/`, registers the router and the model, and adds the
dependencies to that file. The result passes ruff, mypy and its own tests.

The files are written from the `string.Template` files in templates/feature/ (package data,
read with importlib.resources): `${name}` is the feature's name, `${Name}` its class name.
"""

from __future__ import annotations

import keyword
import re
import shutil
import subprocess
import sys
import tomllib
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from importlib.resources import files
from pathlib import Path
from string import Template

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from gatehouse.devtools.deps import conflicting, is_pyproject, read_requirements

_NAME = re.compile(r"^[a-z][a-z0-9_]{1,30}$")
_RESERVED = {"core", "auth", "sessions", "users", "tasks", "chat", "mail", "audit", "web", "ops", "devtools",
             "accounts", "models", "main", "cli", "migrate", "routers", "test", "tests"}  # fmt: skip


# The modules of a new package, each from templates/feature/package/<module>.tmpl.
PACKAGE_MODULES = (
    "__init__.py",
    "models.py",
    "schemas.py",
    "exceptions.py",
    "dependencies.py",
    "service.py",
    "router.py",
)


class ScaffoldError(Exception):
    """The feature cannot be made; nothing was written."""


@dataclass
class ScaffoldResult:
    files: list[Path] = field(default_factory=list)
    dependencies: list[str] = field(default_factory=list)
    dependency_file: Path | None = None  # where the dependencies were added


def render(template: str, values: dict[str, str]) -> str:
    """The file `template` (a path under templates/feature/) with `values` substituted."""
    source = files("gatehouse.devtools") / "templates" / "feature" / template
    return Template(source.read_text(encoding="utf-8")).substitute(values)


def _class_name(name: str) -> str:
    return "".join(part.capitalize() for part in name.split("_"))


def _check_name(root: Path, name: str) -> None:
    if not _NAME.match(name) or keyword.iskeyword(name) or name in _RESERVED:
        raise ScaffoldError(
            f"{name!r} cannot be a feature name: use 2-31 lower-case letters, digits or "
            "underscores, starting with a letter, and not a name the project already uses"
        )
    if (root / "src" / "gatehouse" / name).exists():
        raise ScaffoldError(f"src/gatehouse/{name} exists already")


def dependency_file(root: Path) -> Path:
    """Where the project at `root` lists its dependencies, as its config says.

    `[tool.gatehouse] dependency-file` in pyproject.toml names it (relative to the root: a
    requirements file, or a `.toml` read as a pyproject); without it, pyproject.toml when it
    has a `[project]` table, else requirements.txt.
    """
    pyproject = root / "pyproject.toml"
    requirements = root / "requirements.txt"
    if pyproject.is_file():
        try:
            data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            raise ScaffoldError(f"pyproject.toml: not valid TOML: {exc}") from None
        tool = data.get("tool", {}).get("gatehouse", {})
        configured = tool.get("dependency-file") if isinstance(tool, dict) else None
        if configured is not None:
            if not isinstance(configured, str) or not configured:
                raise ScaffoldError(
                    "pyproject.toml: [tool.gatehouse] dependency-file must be a file name"
                )
            path = root / configured
            if not path.is_file():
                raise ScaffoldError(
                    f"{configured}: no such file (named by [tool.gatehouse] dependency-file "
                    "in pyproject.toml)"
                )
            return path
        if "project" in data or not requirements.is_file():
            return pyproject
    if requirements.is_file():
        return requirements
    raise ScaffoldError(
        f"{root}: no pyproject.toml or requirements.txt here; run from the project's root"
    )


def check_dependencies(dependencies: Path, new: list[str]) -> list[str]:
    """The new requirements not in the project's dependency file (a pyproject.toml or a
    requirements file, with what it includes), normalised; ScaffoldError with a report on
    any conflict."""
    try:
        lines = read_requirements(dependencies)
    except (OSError, ValueError) as exc:
        raise ScaffoldError(f"{dependencies.name}: cannot be read: {exc}") from None
    existing: dict[str, list[str]] = {}
    problems: list[str] = []
    for text, source in lines:
        try:
            requirement = Requirement(text)
        except InvalidRequirement:
            problems.append(f"{source}: {text!r} is not a valid requirement")
            continue
        existing.setdefault(canonicalize_name(requirement.name), []).append(
            str(requirement.specifier)
        )
    accepted: list[str] = []
    for text in new:
        try:
            requirement = Requirement(text)
        except InvalidRequirement as exc:
            problems.append(f"{text!r} is not a valid requirement: {exc}")
            continue
        name = canonicalize_name(requirement.name)
        have = [spec for spec in existing.get(name, []) if spec]
        if have and conflicting([*have, str(requirement.specifier)], None):
            problems.append(
                f"{requirement.name}{requirement.specifier} conflicts with the project's "
                f"{requirement.name}{','.join(have)}"
            )
            continue
        if name not in existing:
            accepted.append(str(requirement))
            existing[name] = [str(requirement.specifier)]
    if problems:
        raise ScaffoldError("dependency check failed:\n  " + "\n  ".join(problems))
    return accepted


def _add_dependencies(dependencies: Path, requirements: list[str]) -> None:
    if not requirements:
        return
    text = dependencies.read_text(encoding="utf-8")
    if not is_pyproject(dependencies):
        separator = "" if not text or text.endswith("\n") else "\n"
        added = "".join(f"{item}\n" for item in requirements)
        dependencies.write_text(text + separator + added, encoding="utf-8")
        return
    match = re.search(r"^dependencies = \[\n(.*?)^\]", text, re.MULTILINE | re.DOTALL)
    if match is None:
        raise ScaffoldError(f"{dependencies.name}: no [project] dependencies list to add to")
    added = "".join(f'    "{item}",\n' for item in requirements)
    dependencies.write_text(text[: match.end(1)] + added + text[match.end(1) :], encoding="utf-8")


def _register(path: Path, import_line: str, entry_pattern: str, entry: str) -> None:
    """Add an import (kept sorted among the gatehouse imports, which may span lines) and an
    entry to a tuple/list."""
    text = path.read_text(encoding="utf-8")
    statements = list(_GATEHOUSE_IMPORT.finditer(text))
    if not statements:
        raise ScaffoldError(f"{path}: no gatehouse imports to add to")
    block = sorted({*(match.group(0) for match in statements), import_line + "\n"})
    text = text[: statements[0].start()] + "".join(block) + text[statements[-1].end() :]
    match = re.search(entry_pattern, text, re.DOTALL)
    if match is None:
        raise ScaffoldError(f"{path}: cannot find where to register the feature")
    text = text[: match.end(1)] + entry + text[match.end(1) :]
    path.write_text(text, encoding="utf-8")


# One `from gatehouse.… import …` statement, parenthesised over several lines or not.
_GATEHOUSE_IMPORT = re.compile(r"^from gatehouse\.[^\n(]*(?:\([^)]*\))?[^\n]*\n", re.MULTILINE)


def _head_revision(root: Path) -> str:
    revisions = {}
    for file in (root / "migrations" / "versions").glob("*.py"):
        source = file.read_text(encoding="utf-8")
        revision = re.search(r'^revision: str = "([^"]+)"', source, re.MULTILINE)
        down = re.search(
            r"^down_revision: str \| None = (?:\"([^\"]+)\"|None)", source, re.MULTILINE
        )
        if revision:
            revisions[revision.group(1)] = down.group(1) if down else None
    heads = set(revisions) - {down for down in revisions.values() if down}
    if len(heads) != 1:
        raise ScaffoldError(f"migrations: expected one head, found {sorted(heads) or 'none'}")
    return heads.pop()


def _format(root: Path, files: list[Path]) -> None:
    """Format what was written with ruff, when it is installed (the templates are clean)."""
    ruff = shutil.which("ruff") or str(Path(sys.executable).with_name("ruff"))
    if not Path(ruff).exists():
        return
    targets = [str(f) for f in files]
    subprocess.run([ruff, "check", "--fix", "--quiet", *targets], cwd=root, check=False)  # noqa: S603
    subprocess.run([ruff, "format", "--quiet", *targets], cwd=root, check=False)  # noqa: S603


def new_feature(root: Path, name: str, dependencies: list[str] | None = None) -> ScaffoldResult:
    """Write the feature `name` into the project at `root`."""
    if not (root / "src" / "gatehouse" / "routers.py").is_file():
        raise ScaffoldError(
            f"{root}: no src/gatehouse/routers.py here; run from the project's root"
        )
    dependency_path = dependency_file(root)
    _check_name(root, name)
    accepted = check_dependencies(dependency_path, dependencies or [])
    now = datetime.now(UTC)
    values = {
        "name": name,
        "Name": _class_name(name),
        "revision": f"{now:%Y%m%d%H%M%S}_{name}"[:32],
        "down_revision": _head_revision(root),
        "created": now.isoformat(),
        "uid": uuid.uuid4().hex[:8],
    }
    package = root / "src" / "gatehouse" / name
    tests = root / "tests" / name
    migration = root / "migrations" / "versions" / f"{now:%Y_%m_%d_%H%M}-{name}.py"
    plan = {
        **{package / module: f"package/{module}.tmpl" for module in PACKAGE_MODULES},
        migration: "migration.py.tmpl",
        tests / "__init__.py": "tests/__init__.py.tmpl",
        tests / f"test_{name}.py": "tests/test_feature.py.tmpl",
    }
    texts = {path: render(template, values) for path, template in plan.items()}  # all or none
    result = ScaffoldResult(dependencies=accepted, dependency_file=dependency_path)
    for path, text in texts.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        result.files.append(path)
    _register(
        root / "src" / "gatehouse" / "routers.py",
        f"from gatehouse.{name}.router import router as {name}_router",
        r"DOMAIN_ROUTERS: tuple\[APIRouter, \.\.\.\] = \(\n(.*?)\)",
        f"    {name}_router,\n",
    )
    _register(
        root / "src" / "gatehouse" / "models.py",
        f"from gatehouse.{name}.models import {values['Name']}",
        r"__all__ = \[\n(.*?)\]",
        f'    "{values["Name"]}",\n',
    )
    _add_dependencies(dependency_path, accepted)
    _format(
        root,
        [
            *result.files,
            root / "src" / "gatehouse" / "routers.py",
            root / "src" / "gatehouse" / "models.py",
        ],
    )
    return result
