"""``flask --app wsgi buildings import FILE.csv [--dry-run] [--invite]``: a region's buildings
and partners from a CSV file (``services.imports``), with a progress bar.

Commits its own work (or, with --dry-run, rolls it back).  Must not import blueprints.
"""
from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import Flask
from flask.cli import AppGroup
from sqlalchemy import select

from floorplans.db import db
from floorplans.errors import FloorplansError, InvalidInput
from floorplans.models import Role, User
from floorplans.services import audit, imports

buildings = AppGroup("buildings", help="Building records in bulk.")


@buildings.command("import")
@click.argument("path", metavar="FILE.csv", type=click.Path(exists=True, dir_okay=False, readable=True))
@click.option("--dry-run", is_flag=True, help="Check every line and say what would change; change nothing.")
@click.option("--invite", is_flag=True, help="Invite the new partner e-mails to set their password.")
def import_command(path: str, dry_run: bool, invite: bool) -> None:
    """Create or update buildings, their organisations and partner accounts from a CSV file
    (columns: name, street, city, region, postal_code, latitude, longitude, organisation,
    faith_tradition, partner_email; see docs/import.md).  Running it again changes nothing."""
    data = Path(path).read_bytes()
    if len(data) > imports.MAX_BYTES:
        click.echo(f"error: {Path(path).name} is over {imports.MAX_BYTES // 1024 // 1024} MB: split it.", err=True)
        sys.exit(1)
    operator = db.session.scalar(select(User).where(User.role == Role.ADMIN.value).order_by(User.id))
    interactive = sys.stdout.isatty()
    with click.progressbar(length=1, label="Importing", show_pos=True) as bar:
        shown = 0

        def advance(done: int, total: int) -> None:
            nonlocal shown
            bar.length = total
            if not interactive and done * 10 // total > shown * 10 // total:
                click.echo(f"  {done} of {total} lines")  # a log-friendly line per tenth
            bar.update(done - shown)
            shown = done

        try:
            with audit.acting(audit.Origin("cli", actor=operator)):  # the creations too, not only the summary
                report = imports.import_buildings(data, filename=Path(path).name, by=operator, on_progress=advance)
        except FloorplansError as error:
            db.session.rollback()
            message = error.fields.get("file", error.message) if isinstance(error, InvalidInput) else error.message
            click.echo(f"\nerror: {Path(path).name} {message}", err=True)
            sys.exit(1)
    _print(report)
    if dry_run:
        db.session.rollback()
        click.echo("Dry run: nothing was changed.")
        return
    invited = imports.invite_new_partners(report.new_partners, by=operator) if invite else []
    db.session.commit()  # a command commits its own work; the invitations' mail follows the commit
    if invite and report.new_partners:
        if invited:
            click.echo(f"Invited {len(invited)} new partner(s).")
        else:
            click.echo(f"warning: no invitation was sent: {len(report.new_partners)} new partner account(s) wait "
                       "for an administrator to invite them or set a password.", err=True)


def _print(report: imports.ImportReport) -> None:
    click.echo(f"{report.filename}: {len(report.lines)} line(s), {report.encoding}, {report.delimiter}-separated.")
    if report.unknown_columns:
        click.echo(f"warning: ignored unknown column(s): {', '.join(report.unknown_columns)} "
                   f"(known: {', '.join(imports.COLUMNS)}).", err=True)
    for line in report.of("rejected"):
        click.echo(f"line {line.number}: rejected: {'; '.join(line.reasons)}", err=True)
    for line in report.of("updated"):
        click.echo(f"line {line.number}: update {line.name}: {'; '.join(line.changes)}")
    for line in report.lines:
        for note in line.notes:
            click.echo(f"line {line.number}: check: {note}", err=True)
    click.echo(report.summary() + ".")


def init_app(app: Flask) -> None:
    app.cli.add_command(buildings)
