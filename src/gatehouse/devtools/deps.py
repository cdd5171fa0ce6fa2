"""Checking a project's dependencies against what is installed, with `packaging`.

Reads requirements files (comments, `-r`/`-c` includes, options, URLs, extras, markers) and
pyproject.toml (`[project].dependencies`, optional dependencies, dependency groups);
reports each requirement with the installed version and whether it satisfies the
specifier, plus duplicates and conflicting specifiers; with `outdated`, the newest
version on the package index through pip (skipped with a note when that fails).
"""

from __future__ import annotations

import contextlib
import json
import re
import subprocess
import sys
import tomllib
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version


@dataclass
class RequirementReport:
    name: str
    specifier: str
    source: str
    extras: list[str] = field(default_factory=list)
    marker: str | None = None
    url: str | None = None
    applies: bool = True
    installed: str | None = None
    satisfied: bool | None = None
    latest: str | None = None


@dataclass
class DepsReport:
    requirements: list[RequirementReport] = field(default_factory=list)
    duplicates: dict[str, list[str]] = field(default_factory=dict)
    conflicts: dict[str, list[str]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        unsatisfied = any(r.applies and r.satisfied is False for r in self.requirements)
        return not (self.errors or self.conflicts or unsatisfied)

    def to_json(self) -> str:
        return json.dumps(asdict(self) | {"ok": self.ok}, indent=2)


def _requirement_lines(path: Path, seen: set[Path]) -> list[tuple[str, str]]:
    """(requirement text, 'file:line') for a requirements file and what it includes."""
    path = path.resolve()
    if path in seen:
        return []
    seen.add(path)
    lines: list[tuple[str, str]] = []
    text = path.read_text(encoding="utf-8")
    logical = re.sub(r"\\\n", "", text)  # line continuations
    for number, raw in enumerate(logical.splitlines(), start=1):
        line = re.sub(r"(^|\s)#.*$", "", raw).strip()
        if not line:
            continue
        include = re.match(r"^(?:-r|--requirement|-c|--constraint)\s*=?\s*(\S+)$", line)
        if include:
            lines.extend(_requirement_lines(path.parent / include.group(1), seen))
            continue
        if line.startswith("-"):
            continue  # pip options (-e, --index-url, --hash …) are not requirements
        lines.append((line.split(" --hash")[0].strip(), f"{path.name}:{number}"))
    return lines


def _table(data: dict[str, Any], key: str, where: str) -> dict[str, Any]:
    value = data.get(key, {})
    if not isinstance(value, dict):
        raise ValueError(f"{where}{key} is not a table")
    return value


def _strings(value: Any, where: str, *, skip_others: bool = False) -> list[str]:
    """The strings of a list; a value that is not a list, or (unless `skip_others`, as for
    a dependency group's `{include-group = ...}`) an item that is not a string, is an error."""
    if not isinstance(value, list):
        raise ValueError(f"{where} is not a list")
    if not skip_others and not all(isinstance(item, str) for item in value):
        raise ValueError(f"{where} holds an item that is not a string")
    return [item for item in value if isinstance(item, str)]


def _pyproject_lines(path: Path) -> list[tuple[str, str]]:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    project = _table(data, "project", "")
    lines = [
        (item, f"{path.name}:project.dependencies")
        for item in _strings(project.get("dependencies", []), "project.dependencies")
    ]
    for extra, items in _table(project, "optional-dependencies", "project.").items():
        where = f"optional-dependencies.{extra}"
        lines += [(item, f"{path.name}:{where}") for item in _strings(items, where)]
    for group, items in _table(data, "dependency-groups", "").items():
        where = f"dependency-groups.{group}"
        lines += [
            (item, f"{path.name}:{where}") for item in _strings(items, where, skip_others=True)
        ]
    return lines


def _candidates(specs: list[SpecifierSet], installed: str | None) -> set[Version]:
    """Versions near every boundary the specifiers name: enough to find a common one."""
    found: set[Version] = set()
    for spec_set in specs:
        for spec in spec_set:
            try:
                version = Version(spec.version.replace(".*", ".0"))
            except InvalidVersion:
                continue
            release = list(version.release) + [0] * (3 - len(version.release))
            found.add(version)
            for index in range(len(release)):
                up = release[:index] + [release[index] + 1] + [0] * (len(release) - index - 1)
                found.add(Version(".".join(map(str, up))))
                if release[index] > 0:
                    down = (
                        release[:index] + [release[index] - 1] + [999] * (len(release) - index - 1)
                    )
                    found.add(Version(".".join(map(str, down))))
    if installed:
        with contextlib.suppress(InvalidVersion):
            found.add(Version(installed))
    return found


def conflicting(specifiers: list[str], installed: str | None) -> bool:
    specs = [SpecifierSet(s) for s in specifiers if s]
    if len(specs) < 2:
        return False
    combined = SpecifierSet(",".join(str(s) for s in specs))
    return not any(combined.contains(v, prereleases=True) for v in _candidates(specs, installed))


def latest_version(name: str) -> str | None:
    """The newest version on the index, asked through pip; None when that fails."""
    try:
        result = subprocess.run(  # noqa: S603  (fixed argv, no shell)
            [sys.executable, "-m", "pip", "index", "versions", name],
            capture_output=True,
            text=True,
            timeout=30,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(r"^\S+ \(([^)]+)\)", result.stdout, re.MULTILINE)
    return match.group(1) if result.returncode == 0 and match else None


def analyze(
    path: str | Path,
    *,
    outdated: bool = False,
    lookup_latest: Callable[[str], str | None] = latest_version,
) -> DepsReport:
    """Report on the requirements of a requirements file or a pyproject.toml; with
    `outdated`, ask `lookup_latest` (the package index, by default) for each one's latest."""
    file = Path(path)
    report = DepsReport()
    if not file.is_file():
        report.errors.append(f"{file}: no such file")
        return report
    try:
        lines = (
            _pyproject_lines(file)
            if file.name == "pyproject.toml"
            else _requirement_lines(file, set())
        )
    except (OSError, ValueError) as exc:  # unreadable, not UTF-8, not TOML, or malformed
        report.errors.append(f"{file}: {exc}")
        return report
    by_name: dict[str, list[RequirementReport]] = {}
    for text, source in lines:
        try:
            requirement = Requirement(text)
        except InvalidRequirement as exc:
            report.errors.append(f"{source}: {text!r} is not a valid requirement ({exc})")
            continue
        name = str(canonicalize_name(requirement.name))
        try:
            installed: str | None = metadata.version(requirement.name)
        except metadata.PackageNotFoundError:
            installed = None
        applies = requirement.marker.evaluate() if requirement.marker else True
        satisfied = None
        if installed is not None and requirement.url is None:
            satisfied = requirement.specifier.contains(installed, prereleases=True)
        item = RequirementReport(
            name=name,
            specifier=str(requirement.specifier),
            source=source,
            extras=sorted(requirement.extras),
            marker=str(requirement.marker) if requirement.marker else None,
            url=requirement.url,
            applies=applies,
            installed=installed,
            satisfied=satisfied,
        )
        report.requirements.append(item)
        by_name.setdefault(name, []).append(item)
    for name, items in by_name.items():
        if len(items) > 1:
            report.duplicates[name] = [f"{i.source} {i.specifier or '(any)'}" for i in items]
            applying = [i.specifier for i in items if i.applies]
            if conflicting(applying, items[0].installed):
                report.conflicts[name] = [f"{i.source} {i.specifier}" for i in items if i.applies]
    if outdated:
        missing = 0
        for item in report.requirements:
            item.latest = lookup_latest(item.name)
            missing += item.latest is None
        if report.requirements and missing == len(report.requirements):
            report.notes.append("latest versions skipped: the package index could not be reached")
    return report


def render_table_rows(report: DepsReport) -> list[tuple[str, ...]]:
    rows: list[tuple[str, ...]] = []
    for item in report.requirements:
        state = {True: "ok", False: "MISMATCH", None: "not installed"}[item.satisfied]
        if not item.applies:
            state = "marker: skipped"
        rows.append(
            (
                item.name,
                item.specifier or "(any)",
                item.installed or "-",
                state,
                item.latest or "",
                item.source,
            )
        )
    return rows
