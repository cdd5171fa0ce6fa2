"""`gatehouse feature ...`: scaffold new domain packages."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gatehouse.cli.common import fail

feature_app = typer.Typer(no_args_is_help=True, help="Scaffold new domain packages.")


@feature_app.command("new")
def feature_new(
    name: Annotated[str, typer.Argument(help="The domain's name, e.g. notes.")],
    dep: Annotated[
        list[str] | None, typer.Option("--dep", help="A dependency to add (repeatable).")
    ] = None,
    root: Annotated[Path, typer.Option(help="The project's root.")] = Path(),
) -> None:
    """Write a new domain package (models, schemas, service, router, migration, tests)."""
    from gatehouse.devtools.scaffold import ScaffoldError, new_feature

    try:
        result = new_feature(root.resolve(), name, dep or [])
    except ScaffoldError as exc:
        raise fail(f"error: {exc}") from None
    for path in result.files:
        print(f"wrote {path.relative_to(root.resolve())}")
    for requirement in result.dependencies:
        where = result.dependency_file.name if result.dependency_file else "the project"
        print(f"added dependency {requirement} to {where}")
    print(f"registered {name} in src/gatehouse/routers.py and src/gatehouse/models.py")
