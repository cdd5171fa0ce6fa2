"""The `gatehouse` command: run the service and operate its database and users.

`app` (in app.py) is the root typer app and the place where every command and group is
registered; each group of commands lives in its own module, and common.py holds what they
share (settings, the database, failing with a message).
"""

from __future__ import annotations

import logging
import sys

from gatehouse.cli.app import app

__all__ = ["app", "main"]


def main() -> None:
    # stderr: stdout belongs to command output (and to the protocol, for `gatehouse mcp`).
    logging.basicConfig(
        level=logging.INFO, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    app()
