"""Operator commands: ``flask --app wsgi users create``, ``tokens create``, ``demo``.

Each command commits its own work.  Must not import blueprints.
"""
from __future__ import annotations

import sys

import click
from flask import Flask
from flask.cli import AppGroup

from floorplans.db import db
from floorplans.errors import FloorplansError
from floorplans.models import Role
from floorplans.services import accounts

users = AppGroup("users", help="Manage accounts.")
tokens = AppGroup("tokens", help="Manage API bearer tokens.")


def _fail(error: FloorplansError) -> None:
    db.session.rollback()
    fields = getattr(error, "fields", None)
    if fields:
        for name, problem in fields.items():
            click.echo(f"error: {name}: {problem}", err=True)
    else:
        click.echo(f"error: {error.message}", err=True)
    sys.exit(1)


@users.command("create")
@click.option("--email", required=True)
@click.option("--role", required=True, type=click.Choice([r.value for r in Role]))
@click.option("--organisation", "organisation_name", help="The congregation of a partner.")
@click.option("--name", default="")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
def create_user(email: str, role: str, organisation_name: str | None, name: str, password_stdin: bool) -> None:
    """Create an account.  Without --password-stdin a password is generated and printed once."""
    import secrets

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        generated = False
    else:
        password = secrets.token_urlsafe(12)
        generated = True
    try:
        organisation = accounts.organisation_by_name(organisation_name) if organisation_name else None
        user = accounts.create_user(email=email, role=role, password=password, name=name, organisation=organisation)
    except FloorplansError as error:
        _fail(error)
        return
    db.session.commit()
    click.echo(f"Created {user.role} account {user.email}" + (f" ({organisation.name})" if organisation else ""))
    if generated:
        click.echo(f"Password: {password}")


@tokens.command("create")
@click.option("--email", required=True)
@click.option("--label", default="", help="What the token is for, e.g. 'CAD integration'.")
def create_token(email: str, label: str) -> None:
    """Print a new API bearer token for an account.  It is shown only this once."""
    try:
        user = accounts.user_by_email(email)
    except FloorplansError as error:
        _fail(error)
        return
    token = accounts.create_token(user, label)
    db.session.commit()
    click.echo(token)


@click.command("demo")
def demo_command() -> None:
    """Create the demo congregation, building and one account per role (empty database only)."""
    from floorplans import demo

    logins = demo.create_demo()
    db.session.commit()
    if logins is None:
        click.echo("The database already holds data; the demo was not created.")
        logins = demo.saved_logins()
    if logins:
        click.echo("Demo logins:")
        for role, email, password in logins:
            click.echo(f"  {role:<8} {email:<28} {password}")


def init_app(app: Flask) -> None:
    app.cli.add_command(users)
    app.cli.add_command(tokens)
    app.cli.add_command(demo_command)
