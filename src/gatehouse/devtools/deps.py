"""Checking a project's dependencies against what is installed, with `packaging`.

Reads requirements files (comments, `-r`/`-c` includes, options, URLs, extras, markers) and
pyproject.toml (`[project].dependencies`, optional dependencies, dependency groups);
reports each requirement with the installed version and whether it satisfies the
specifier, plus duplicates and conflicting specifiers; with `outdated`, the newest
version on the package index, from its JSON API through httpx (so it works where pip is
not installed); an index that cannot be reached is a clear error of the report.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tomllib
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import httpx
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import SpecifierSet
from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from gatehouse.devtools.config import mask_url_password


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


def is_pyproject(path: Path) -> bool:
    """Whether `path` is read as a pyproject (a `.toml` file), else as a requirements file."""
    return path.suffix == ".toml"


def read_requirements(path: Path) -> list[tuple[str, str]]:
    """(requirement text, where) for each requirement of a requirements file (with what it
    includes) or a pyproject.toml. OSError or ValueError when it cannot be read."""
    return _pyproject_lines(path) if is_pyproject(path) else _requirement_lines(path, set())


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


# The package index's JSON API: `{base}/{name}/json` describes a project and its releases.
DEFAULT_INDEX_URL = "https://pypi.org/pypi"
INDEX_URL_ENV = "GATEHOUSE_INDEX_URL"
INDEX_TIMEOUT_SECONDS = 10.0


class IndexUnreachable(Exception):
    """The package index could not be asked (offline, refused, timed out, or an answer
    that is not the JSON API's); the message says which index and why."""


def index_url_from_env() -> str:
    """The index to ask: GATEHOUSE_INDEX_URL when set, else PyPI's JSON API."""
    return os.environ.get(INDEX_URL_ENV) or DEFAULT_INDEX_URL


class PackageIndex:
    """The newest version of a project, from the index's JSON API through httpx (no pip).

    `base_url` is the JSON API's root (`https://pypi.org/pypi`, or a mirror or a test
    server); one connection is kept for all the questions. Close it (or use `with`)."""

    def __init__(
        self, base_url: str = DEFAULT_INDEX_URL, *, timeout: float = INDEX_TIMEOUT_SECONDS
    ) -> None:
        self.base_url = base_url
        # As messages show it: a private index's password or token in the URL is masked.
        self.shown_url = mask_url_password(base_url)
        self._client = httpx.Client(
            timeout=timeout, follow_redirects=True, headers={"Accept": "application/json"}
        )

    def close(self) -> None:
        self._client.close()

    def __enter__(self) -> PackageIndex:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def latest(self, name: str) -> str | None:
        """The newest release of `name` (its newest final one when it has any), or None
        when the index has no such project. IndexUnreachable for anything else."""
        url = f"{self.base_url.rstrip('/')}/{canonicalize_name(name)}/json"
        try:
            response = self._client.get(url)
        except httpx.HTTPError as exc:
            reason = str(exc) or type(exc).__name__
            raise IndexUnreachable(
                f"the package index at {self.shown_url} could not be reached ({reason})"
            ) from None
        if response.status_code == 404:
            return None
        if response.status_code != 200:
            raise IndexUnreachable(
                f"the package index at {self.shown_url} answered {response.status_code} for {name}"
            )
        try:
            data = response.json()
            releases = data.get("releases") or {}
            newest = _newest(releases) if isinstance(releases, dict) else None
            return newest or str(data["info"]["version"])
        except (ValueError, KeyError, TypeError, AttributeError):
            raise IndexUnreachable(
                f"the package index at {self.shown_url} gave an answer for {name} that is "
                "not its JSON API"
            ) from None


def _newest(releases: dict[str, Any]) -> str | None:
    """The newest final version among `releases` (ignoring those whose files are all
    yanked), else the newest pre-release; None when none parses."""
    versions: list[Version] = []
    for text, files in releases.items():
        if (
            isinstance(files, list)
            and files
            and all(isinstance(item, dict) and item.get("yanked") for item in files)
        ):
            continue
        with contextlib.suppress(InvalidVersion):
            versions.append(Version(text))
    finals = [version for version in versions if not version.is_prerelease]
    chosen = max(finals or versions, default=None)
    return str(chosen) if chosen is not None else None


def analyze(
    path: str | Path,
    *,
    outdated: bool = False,
    index_url: str | None = None,
    lookup_latest: Callable[[str], str | None] | None = None,
) -> DepsReport:
    """Report on the requirements of a requirements file or a pyproject.toml; with
    `outdated`, ask `lookup_latest` (by default the package index at `index_url`, or
    GATEHOUSE_INDEX_URL, or PyPI) for each one's latest. An index that cannot be reached
    is an error of the report, named once; the rest of the report stands."""
    file = Path(path)
    report = DepsReport()
    if not file.is_file():
        report.errors.append(f"{file}: no such file")
        return report
    try:
        lines = read_requirements(file)
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
        if lookup_latest is not None:
            _add_latest(report, lookup_latest)
        else:
            with PackageIndex(index_url or index_url_from_env()) as index:
                _add_latest(report, index.latest)
    return report


def _add_latest(report: DepsReport, lookup_latest: Callable[[str], str | None]) -> None:
    """Each requirement's latest version (one question per name); a direct URL has none."""
    answers: dict[str, str | None] = {}
    try:
        for item in report.requirements:
            if item.url is None and item.name not in answers:
                answers[item.name] = lookup_latest(item.name)
            item.latest = answers.get(item.name)
    except IndexUnreachable as exc:
        report.errors.append(f"{exc}; the latest versions were not checked")
        return
    unknown = sorted(name for name, latest in answers.items() if latest is None)
    if unknown:
        report.notes.append(f"not on the package index: {', '.join(unknown)}")


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
