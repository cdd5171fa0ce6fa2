"""`gatehouse feature new NAME`: a new domain package laid out as docs/architecture.md says.

It reads the project's pyproject.toml, checks the new dependencies against the existing
ones with the analyser (a conflict stops it, and nothing is written), then writes
`src/gatehouse/NAME/` (models, schemas, service, router), an Alembic migration after the
current head, and `tests/NAME/`, registers the router and the model, and adds the
dependencies to pyproject.toml. The result passes ruff, mypy and its own tests.
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
from pathlib import Path
from string import Template

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from gatehouse.devtools.deps import conflicting

_NAME = re.compile(r"^[a-z][a-z0-9_]{1,30}$")
_RESERVED = {"core", "auth", "users", "tasks", "chat", "mail", "audit", "web", "ops", "devtools",
             "models", "main", "cli", "migrate", "routers", "test", "tests"}  # fmt: skip


class ScaffoldError(Exception):
    """The feature cannot be made; nothing was written."""


@dataclass
class ScaffoldResult:
    files: list[Path] = field(default_factory=list)
    dependencies: list[str] = field(default_factory=list)


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


def check_dependencies(pyproject: Path, new: list[str]) -> list[str]:
    """The new requirements, normalised; ScaffoldError with a report on any conflict."""
    data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    existing: dict[str, list[str]] = {}
    for text in data.get("project", {}).get("dependencies", []):
        requirement = Requirement(text)
        existing.setdefault(canonicalize_name(requirement.name), []).append(
            str(requirement.specifier)
        )
    problems: list[str] = []
    accepted: list[str] = []
    for text in new:
        try:
            requirement = Requirement(text)
        except InvalidRequirement as exc:
            problems.append(f"{text!r} is not a valid requirement: {exc}")
            continue
        name = canonicalize_name(requirement.name)
        have = existing.get(name, [])
        if have and conflicting([*have, str(requirement.specifier)], None):
            problems.append(
                f"{requirement.name}{requirement.specifier} conflicts with the project's "
                f"{requirement.name}{','.join(have)}"
            )
            continue
        if not have:
            accepted.append(str(requirement))
    if problems:
        raise ScaffoldError("dependency check failed:\n  " + "\n  ".join(problems))
    return accepted


def _add_dependencies(pyproject: Path, requirements: list[str]) -> None:
    if not requirements:
        return
    text = pyproject.read_text(encoding="utf-8")
    match = re.search(r"^dependencies = \[\n(.*?)^\]", text, re.MULTILINE | re.DOTALL)
    if match is None:
        raise ScaffoldError("pyproject.toml: no [project] dependencies list to add to")
    added = "".join(f'    "{item}",\n' for item in requirements)
    pyproject.write_text(text[: match.end(1)] + added + text[match.end(1) :], encoding="utf-8")


def _register(path: Path, import_line: str, entry_pattern: str, entry: str) -> None:
    """Add an import (kept sorted among the gatehouse imports) and an entry to a tuple/list."""
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    indexes = [i for i, line in enumerate(lines) if line.startswith("from gatehouse.")]
    block = sorted({*(lines[i] for i in indexes), import_line + "\n"})
    lines[indexes[0] : indexes[-1] + 1] = block
    text = "".join(lines)
    match = re.search(entry_pattern, text, re.DOTALL)
    if match is None:
        raise ScaffoldError(f"{path}: cannot find where to register the feature")
    text = text[: match.end(1)] + entry + text[match.end(1) :]
    path.write_text(text, encoding="utf-8")


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
    pyproject = root / "pyproject.toml"
    if not pyproject.is_file():
        raise ScaffoldError(f"{root}: no pyproject.toml here; run from the project's root")
    _check_name(root, name)
    accepted = check_dependencies(pyproject, dependencies or [])
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
        package / "__init__.py": f'"""The {name} feature."""\n',
        package / "models.py": MODELS,
        package / "schemas.py": SCHEMAS,
        package / "service.py": SERVICE,
        package / "router.py": ROUTER,
        migration: MIGRATION,
        tests / "__init__.py": "",
        tests / f"test_{name}.py": TESTS,
    }
    result = ScaffoldResult(dependencies=accepted)
    for path, template in plan.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(Template(template).substitute(values), encoding="utf-8")
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
    _add_dependencies(pyproject, accepted)
    _format(
        root,
        [
            *result.files,
            root / "src" / "gatehouse" / "routers.py",
            root / "src" / "gatehouse" / "models.py",
        ],
    )
    return result


MODELS = '''"""The ${name} table: every row belongs to one user."""

from __future__ import annotations

import uuid

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from gatehouse.core.db import Base, TimestampMixin


class ${Name}(TimestampMixin, Base):
    __tablename__ = "${name}"
    __table_args__ = (Index("ix_${name}_user_id_created_at", "user_id", "created_at"),)

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=uuid.uuid4)
    user_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    title: Mapped[str] = mapped_column(String(200))
'''

SCHEMAS = '''"""Wire shapes of ${name}."""

from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class ${Name}Create(BaseModel):
    title: str = Field(min_length=1, max_length=200)


class ${Name}Read(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    title: str
    created_at: datetime
    updated_at: datetime
'''

SERVICE = '''"""Rules about ${name}. Every query is scoped by the owner's id."""

from __future__ import annotations

import uuid

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from gatehouse.core.errors import NotFound
from gatehouse.core.pagination import PageParams, PageResult, paginate
from gatehouse.${name}.models import ${Name}


async def list_items(
    session: AsyncSession, *, owner_id: uuid.UUID, params: PageParams
) -> PageResult[${Name}]:
    statement = (
        select(${Name})
        .where(${Name}.user_id == owner_id)
        .order_by(${Name}.created_at.desc(), ${Name}.id.desc())
    )
    return await paginate(session, statement, params)


async def get_item(session: AsyncSession, *, owner_id: uuid.UUID, item_id: uuid.UUID) -> ${Name}:
    """The owner's item; anyone else's, or none, is 404."""
    item = await session.scalar(
        select(${Name}).where(${Name}.id == item_id, ${Name}.user_id == owner_id)
    )
    if item is None:
        raise NotFound("${Name} not found")
    return item


async def create_item(session: AsyncSession, *, owner_id: uuid.UUID, title: str) -> ${Name}:
    item = ${Name}(user_id=owner_id, title=title)
    session.add(item)
    await session.commit()
    return item


async def delete_item(session: AsyncSession, *, item: ${Name}) -> None:
    await session.delete(item)
    await session.commit()
'''

ROUTER = '''"""${Name} API: /api/v1/${name}."""

from __future__ import annotations

from fastapi import APIRouter, Depends, status

from gatehouse.auth.dependencies import CurrentUser
from gatehouse.core.db import DbDep
from gatehouse.core.ids import parse_id
from gatehouse.core.errors import NotAuthenticated, NotFound, RateLimited, ValidationFailed
from gatehouse.core.openapi import error_responses
from gatehouse.core.pagination import Page, PageParamsDep
from gatehouse.core.ratelimit import default_rate_limit
from gatehouse.${name} import service
from gatehouse.${name}.schemas import ${Name}Create, ${Name}Read

router = APIRouter(
    prefix="/api/v1/${name}",
    tags=["${name}"],
    dependencies=[Depends(default_rate_limit)],
    responses=error_responses(NotAuthenticated, RateLimited),
)


@router.get("")
async def list_${name}(user: CurrentUser, db: DbDep, params: PageParamsDep) -> Page[${Name}Read]:
    """Your ${name}, newest first."""
    result = await service.list_items(db, owner_id=user.id, params=params)
    return Page.of(result, [${Name}Read.model_validate(item) for item in result.items])


@router.post("", status_code=status.HTTP_201_CREATED, responses=error_responses(ValidationFailed))
async def create_${name}(data: ${Name}Create, user: CurrentUser, db: DbDep) -> ${Name}Read:
    """Add one."""
    item = await service.create_item(db, owner_id=user.id, title=data.title)
    return ${Name}Read.model_validate(item)


@router.get("/{item_id}", responses=error_responses(NotFound))
async def read_${name}(item_id: str, user: CurrentUser, db: DbDep) -> ${Name}Read:
    """One of yours (anyone else's is 404)."""
    item = await service.get_item(db, owner_id=user.id, item_id=parse_id(item_id))
    return ${Name}Read.model_validate(item)


@router.delete("/{item_id}", status_code=status.HTTP_204_NO_CONTENT, responses=error_responses(NotFound))
async def delete_${name}(item_id: str, user: CurrentUser, db: DbDep) -> None:
    """Delete one of yours."""
    item = await service.get_item(db, owner_id=user.id, item_id=parse_id(item_id))
    await service.delete_item(db, item=item)
'''

MIGRATION = '''"""${name}

Revision ID: ${revision}
Revises: ${down_revision}
Create Date: ${created}
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "${revision}"
down_revision: str | None = "${down_revision}"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "${name}",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("user_id", sa.Uuid(), nullable=False),
        sa.Column("title", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_${name}_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_${name}")),
    )
    op.create_index("ix_${name}_user_id_created_at", "${name}", ["user_id", "created_at"])


def downgrade() -> None:
    op.drop_index("ix_${name}_user_id_created_at", table_name="${name}")
    op.drop_table("${name}")
'''

TESTS = '''"""The ${name} feature: create, list, read, delete, and isolation between users."""

from __future__ import annotations

import httpx

from tests.helpers import assert_envelope, bearer, signed_up

PATH = "/api/v1/${name}"


async def test_${name}_crud(client: httpx.AsyncClient) -> None:
    headers = bearer((await signed_up(client))["access_token"])
    created = await client.post(PATH, headers=headers, json={"title": "first"})
    assert created.status_code == 201
    item = created.json()
    assert (await client.get(f"{PATH}/{item['id']}", headers=headers)).json() == item
    page = (await client.get(PATH, headers=headers)).json()
    assert (page["total"], page["items"][0]["id"]) == (1, item["id"])
    assert (await client.delete(f"{PATH}/{item['id']}", headers=headers)).status_code == 204
    assert_envelope(await client.get(f"{PATH}/{item['id']}", headers=headers), 404, "NOT_FOUND")
    assert_envelope(await client.post(PATH, headers=headers, json={"title": ""}), 422, "VALIDATION_ERROR")


async def test_${name}_of_another_user_is_404(client: httpx.AsyncClient) -> None:
    alice = bearer((await signed_up(client))["access_token"])
    bob = bearer((await signed_up(client))["access_token"])
    item = (await client.post(PATH, headers=alice, json={"title": "mine"})).json()
    assert_envelope(await client.get(f"{PATH}/{item['id']}", headers=bob), 404, "NOT_FOUND")
    assert_envelope(await client.delete(f"{PATH}/{item['id']}", headers=bob), 404, "NOT_FOUND")
    assert (await client.get(PATH, headers=bob)).json()["total"] == 0
'''
