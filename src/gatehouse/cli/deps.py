"""`gatehouse deps ...`: the project's dependencies."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

deps_app = typer.Typer(no_args_is_help=True, help="The project's dependencies.")


@deps_app.command("check")
def deps_check(
    file: Annotated[Path, typer.Argument(help="requirements.txt or pyproject.toml")] = Path(
        "pyproject.toml"
    ),
    outdated: Annotated[
        bool, typer.Option("--outdated", help="Ask the index for newer versions.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
    index_url: Annotated[
        str | None,
        typer.Option(
            "--index-url",
            envvar="GATEHOUSE_INDEX_URL",
            help="The package index's JSON API asked by --outdated (default https://pypi.org/pypi).",
        ),
    ] = None,
) -> None:
    """Check requirements against the installed packages; exit 1 on any problem (an index
    that cannot be reached with --outdated is one)."""
    from gatehouse.devtools.deps import analyze, render_table_rows

    report = analyze(file, outdated=outdated, index_url=index_url)
    if as_json:
        print(report.to_json())
    else:
        from rich.console import Console  # deferred: only this command's output needs rich
        from rich.table import Table

        table = Table(title=f"dependencies of {file}")
        for column in ("name", "wants", "installed", "state", "latest", "from"):
            table.add_column(column)
        for row in render_table_rows(report):
            table.add_row(*row)
        console = Console()
        console.print(table)
        for name, places in report.duplicates.items():
            console.print(f"duplicate: {name}: {'; '.join(places)}")
        for name, places in report.conflicts.items():
            console.print(f"[red]conflict[/red]: {name}: {'; '.join(places)}")
        for line in report.errors + report.notes:
            console.print(line, markup=False, highlight=False, soft_wrap=True)
    if not report.ok:
        raise typer.Exit(1)
