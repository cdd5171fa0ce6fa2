"""Running Alembic migrations from the service and the CLI.

Alembic (with Mako and Pygments, ~13 MB and ~0.4 s) is imported only to migrate: the check
`gatehouse serve` makes at every start (is the database at the head revision?) reads the
revision files' `revision`/`down_revision` and the `alembic_version` table itself, and falls
back to Alembic for anything but one plain line of revisions.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

if TYPE_CHECKING:
    from alembic.config import Config

VERSION_TABLE = "alembic_version"  # Alembic's default, which env.py keeps


def _script_location() -> Path:
    packaged = Path(__file__).parent / "_migrations"  # where a wheel install puts them
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "migrations"


def alembic_config() -> Config:
    from alembic.config import Config  # deferred: only migrating needs Alembic

    config = Config()
    config.set_main_option("script_location", str(_script_location()))
    return config


_Revision = str | tuple[str, ...] | None


def _revisions_of(path: Path) -> tuple[str, _Revision] | None:
    """A revision file's (revision, down_revision), or None when not plain literals."""
    found: dict[str, object] = {}
    for node in ast.parse(path.read_text(encoding="utf-8")).body:
        target = value = None
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            target, value = node.target, node.value
        if isinstance(target, ast.Name) and target.id in ("revision", "down_revision"):
            try:
                found[target.id] = ast.literal_eval(value) if value is not None else None
            except ValueError:
                return None
    revision, down = found.get("revision"), found.get("down_revision")
    if not isinstance(revision, str) or "down_revision" not in found:
        return None
    if isinstance(down, list | tuple) and all(isinstance(item, str) for item in down):
        return revision, tuple(down)
    if down is None or isinstance(down, str):
        return revision, down
    return None


def _head_from_files() -> str | None:
    """The one head of the revision files, read without Alembic; None when unsure
    (a file that does not spell its revisions as literals, branches, no files)."""
    revisions: dict[str, _Revision] = {}
    for path in sorted((_script_location() / "versions").glob("*.py")):
        pair = _revisions_of(path)
        if pair is None or pair[0] in revisions:
            return None
        revisions[pair[0]] = pair[1]
    pointed: set[str] = set()
    for down in revisions.values():
        if isinstance(down, str):
            pointed.add(down)
        elif isinstance(down, tuple):
            pointed.update(down)
    if not pointed <= revisions.keys():
        return None
    heads = [revision for revision in revisions if revision not in pointed]
    return heads[0] if len(heads) == 1 else None


def head_revision() -> str | None:
    head = _head_from_files()
    if head is not None:
        return head
    from alembic.script import ScriptDirectory  # deferred: see the module's docstring

    return ScriptDirectory.from_config(alembic_config()).get_current_head()


def _current_revision(connection: Connection) -> str | None:
    if not inspect(connection).has_table(VERSION_TABLE):
        return None
    rows = connection.execute(text(f"SELECT version_num FROM {VERSION_TABLE}")).all()  # noqa: S608 - a constant
    if len(rows) == 1:
        return str(rows[0][0])
    if not rows:
        return None
    from alembic.runtime.migration import MigrationContext  # raises for several heads

    return MigrationContext.configure(connection).get_current_revision()


async def current_revision(engine: AsyncEngine) -> str | None:
    async with engine.connect() as connection:
        return await connection.run_sync(_current_revision)


async def is_up_to_date(engine: AsyncEngine) -> bool:
    return await current_revision(engine) == head_revision()


def _upgrade(connection: Connection, revision: str) -> None:
    from alembic import command  # deferred: see the module's docstring

    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    """Apply migrations up to `revision` in one transaction."""
    async with engine.begin() as connection:
        await connection.run_sync(_upgrade, revision)


def _downgrade(connection: Connection, revision: str) -> None:
    from alembic import command  # deferred: see the module's docstring

    config = alembic_config()
    config.attributes["connection"] = connection
    command.downgrade(config, revision)


async def downgrade(engine: AsyncEngine, revision: str) -> None:
    async with engine.begin() as connection:
        await connection.run_sync(_downgrade, revision)
