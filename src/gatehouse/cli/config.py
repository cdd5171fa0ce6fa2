"""`gatehouse config ...`: configuration files and the service's settings."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from gatehouse.cli.common import fail, load_settings

config_app = typer.Typer(no_args_is_help=True, help="Configuration files and settings.")


@config_app.command("show")
def config_show(
    file: Annotated[Path | None, typer.Argument(help="A JSON, YAML, INI or TOML file.")] = None,
    fmt: Annotated[str | None, typer.Option("--format", help="json, yaml, ini or toml")] = None,
) -> None:
    """Show a configuration file as JSON, or (without FILE) the service's effective
    settings with secrets masked."""
    from gatehouse.devtools.config import ConfigError, effective_settings, load_config

    if file is None:
        print(json.dumps(effective_settings(load_settings()), indent=2, default=str))
        return
    try:
        data = load_config(file, fmt)  # type: ignore[arg-type]
    except ConfigError as exc:
        raise fail(f"error: {exc}") from None
    print(json.dumps(data, indent=2, default=str))
