"""The root typer app: every command and group of `gatehouse`, registered in help order."""

from __future__ import annotations

import typer

from gatehouse.cli.audit import audit_app
from gatehouse.cli.config import config_app
from gatehouse.cli.db import db_app
from gatehouse.cli.deps import deps_app
from gatehouse.cli.feature import feature_app
from gatehouse.cli.fib import fib
from gatehouse.cli.mail import mail_app, worker
from gatehouse.cli.mcp import mcp_server
from gatehouse.cli.serve import serve
from gatehouse.cli.users import users_app

app = typer.Typer(no_args_is_help=True, help="Gatehouse: accounts and tokens as a service.")

# Help lists the commands, then the groups, each in the order they are registered here.
app.command()(serve)
app.command()(worker)
app.command("mcp")(mcp_server)
app.command("fib")(fib)

app.add_typer(db_app, name="db")
app.add_typer(users_app, name="users")
app.add_typer(mail_app, name="mail")
app.add_typer(audit_app, name="audit")
app.add_typer(config_app, name="config")
app.add_typer(deps_app, name="deps")
app.add_typer(feature_app, name="feature")
