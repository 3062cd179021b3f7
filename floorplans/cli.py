"""Operator commands: ``flask --app wsgi users create``, ``tokens create/list/revoke``, ``demo``.

Each command is one unit of work: it commits once, at its end and before it says what it
did (nothing is reported saved that was not); what waits for that commit
(``db.after_commit``: a queued job, files to delete) follows it.  A command that fails exits
before its commit, and its work is rolled back (``_fail``).  The demo and
``plans render`` also commit before rendering, which saves its progress as it goes.
Must not import blueprints.
"""
from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import click
from flask import Flask
from flask.cli import AppGroup

from floorplans.config import get_settings
from floorplans.db import db
from floorplans.errors import FloorplansError
from floorplans.models import Role, User
from floorplans.services import accounts
from floorplans.services import tokens as token_service

users = AppGroup("users", help="Manage accounts.")
tokens = AppGroup("tokens", help="Manage API bearer tokens.")
plans = AppGroup("plans", help="Render and clean up floor plans.")
jobs = AppGroup("jobs", help="The background job worker.")
audit = AppGroup("audit", help="The audit log.")
reminders = AppGroup("reminders", help="Reminders to partners before records go stale.")


def _fail(error: FloorplansError) -> None:
    db.session.rollback()  # now, not when the app context ends: a test's or a shell's outlives the command
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
@click.option("--agency", default="",
              help='A responder\'s agency (another service\'s officers: "Oakville Fire").')
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input.")
@click.option("--permanent", is_flag=True,
              help="The password is the owner's own: not to be changed at the first sign-in.")
def create_user(
    email: str, role: str, organisation_name: str | None, name: str,
    agency: str, password_stdin: bool, permanent: bool
) -> None:
    """Create an account.  Without --password-stdin a password is generated and printed once.
    The password is temporary (its owner chooses their own at the first sign-in) unless
    --permanent."""
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
        generated = False
    else:
        password = accounts.generate_password()
        generated = True
    try:
        organisation = accounts.organisation_by_name(organisation_name) if organisation_name else None
        user = accounts.create_user(email=email, role=role, password=password, name=name, agency=agency,
                                    organisation=organisation,
                                    temporary=not permanent)
    except FloorplansError as error:
        _fail(error)
        return
    db.session.commit()
    click.echo(f"Created {user.role} account {user.email}" + (f" ({organisation.name})" if organisation else ""))
    if not permanent:
        click.echo("The password is temporary: its owner chooses their own at the first sign-in.")
    if generated:
        click.echo(f"Password: {password}")


@users.command("unlock")
@click.option("--email", default=None, help="The account: every lock of its sign-in and password forms ends.")
@click.option("--address", default=None, help="A client address whose failed sign-ins stop counting (any account).")
def unlock_user(email: str | None, address: str | None) -> None:
    """End login locks at once: an account's (and the limit of each address that failed on
    it), or one address's.  For when no administrator can sign in to do it on the web."""
    from floorplans.services import attempts
    from floorplans.services import audit as audit_log

    if email is None and address is None:
        raise click.UsageError("Give --email, --address or both.")
    done: list[str] = []
    if email is not None:
        try:
            user = accounts.user_by_email(email)
        except FloorplansError as error:
            _fail(error)
            return
        accounts.unlock(user)
        done.append(f"{user.email} can sign in again now, from everywhere.")
    if address is not None:
        key = audit_log.address_key(address.strip())
        attempts.forget_address(key)
        audit_log.record("account.unlock", detail={"address": key})
        done.append(f"Failed sign-ins from {key} no longer count.")
    db.session.commit()
    for line in done:
        click.echo(line)


@tokens.command("create")
@click.option("--email", required=True)
@click.option("--label", default="", help="What the token is for, e.g. 'CAD integration'.")
@click.option("--expires-days", type=int, default=None,
              help="It stops working after this many days (default: until revoked).")
@click.option("--read-only", is_flag=True, default=False,
              help="It may only read (GET); any change answers 403. For CAD integrations.")
def create_token(email: str, label: str, expires_days: int | None, read_only: bool) -> None:
    """Print a new API bearer token for an account.  It is shown only this once."""
    import datetime as dt

    try:
        user = accounts.user_by_email(email)
        token = token_service.create_token(
            user, label, read_only=read_only,
            expires_in=dt.timedelta(days=expires_days) if expires_days is not None else None,
        )
    except FloorplansError as error:
        _fail(error)
        return
    db.session.commit()
    click.echo(token)  # alone on standard output, for scripts that capture it


@tokens.command("list")
@click.option("--email", required=True)
def list_tokens(email: str) -> None:
    """An account's tokens: id, prefix, status, scope, created, last used, expiry, label."""
    try:
        user = accounts.user_by_email(email)
    except FloorplansError as error:
        _fail(error)
        return
    found = token_service.tokens_of(user)
    if not found:
        click.echo(f"{user.email} has no API tokens.")
        return

    def when(value: Any) -> str:
        return f"{value:%Y-%m-%d %H:%M}" if value is not None else "-"

    click.echo(f"{'id':>5}  {'prefix':<10}  {'status':<16}  {'scope':<13}  {'created (UTC)':<16}  "
               f"{'last used':<16}  {'expires':<16}  label")
    for t in found:
        click.echo(f"{t.id:>5}  {t.prefix:<10}  {token_service.status(t).value:<16}  {t.scope:<13}  "
                   f"{when(t.created_at):<16}  {when(t.last_used_at):<16}  {when(t.expires_at):<16}  {t.label}")


@tokens.command("revoke")
@click.option("--prefix", default=None, help="The token's first characters (fpt_...), as `tokens list` shows.")
@click.option("--id", "token_id", type=int, default=None, help="The token's id, as `tokens list` shows.")
def revoke_token(prefix: str | None, token_id: int | None) -> None:
    """Revoke one API token: it stops working at once."""
    if (prefix is None) == (token_id is None):
        raise click.UsageError("Give either --prefix or --id.")
    try:
        if token_id is not None:
            api_token = token_service.get_by_id(token_id)
        else:
            api_token = token_service.find_by_prefix(prefix or "")
        token_service.revoke_token(api_token, reason=token_service.BY_OPERATOR)
    except FloorplansError as error:
        _fail(error)
        return
    db.session.commit()
    click.echo(f"Revoked token {api_token.prefix} ({api_token.label or 'no label'}) of {api_token.user.email}.")


@click.command("demo")
def demo_command() -> None:
    """Create the demo congregation, building and one account per role (empty database only)."""
    from floorplans import demo

    try:
        created = demo.create_demo()
    except FloorplansError as error:
        _fail(error)
        return
    db.session.commit()  # before the render, which saves its progress as it goes
    if created is None:
        click.echo("The database already holds data; the demo was not created.")
        logins = demo.saved_logins()
    else:
        logins, version_id = created
        # Rendered here rather than by the worker, so the demo partner can publish it at once:
        # officers only ever see a plan its partner has published.
        from floorplans.services import rendering

        version = rendering.render_version(version_id)
        if version is None or not demo.publish_demo_plan(version):
            click.echo("The demo plan could not be prepared: " + (version.error if version else "it was taken"),
                       err=True)
        else:
            db.session.commit()
            click.echo("The demo building's plan is rendered and published.")
    if logins:
        click.echo("Demo logins:")
        for role, email, password in logins:
            click.echo(f"  {role:<8} {email:<28} {password}")
        for line in demo.two_factor_lines():
            click.echo(line)


@plans.command("render")
@click.argument("pdf", type=click.Path(exists=True, dir_okay=False, readable=True))
@click.option("--building", "building_id", type=int, required=True, help="The building's id.")
@click.option("--publish", is_flag=True, default=False,
              help="Publish it when rendered, without the partner's review (bulk imports of checked plans). "
                   "Without it the version is a draft its partner checks and publishes.")
def render_plan(pdf: str, building_id: int, publish: bool) -> None:
    """Upload a PDF as a new plan version of a building and render it now, with progress."""
    from pathlib import Path

    from floorplans.models import Building, PlanVersion, VersionState
    from floorplans.services import plans as plan_service
    from floorplans.services import rendering

    building = db.session.get(Building, building_id)
    if building is None:
        click.echo(f"error: there is no building {building_id}.", err=True)
        sys.exit(1)
    admin = _operator()
    try:
        with open(pdf, "rb") as stream:
            version = plan_service.upload_plan(building, stream, Path(pdf).name, by=admin)
    except FloorplansError as error:
        _fail(error)
        return
    db.session.commit()  # before the render, which saves its progress as it goes
    click.echo(f"{Path(pdf).name}: {version.page_count} page(s), version {version.number} of {building.name}")
    version_id = version.id
    with click.progressbar(length=100, label="Rendering", show_percent=True) as bar:
        shown = 0
        interactive = sys.stdout.isatty()

        def advance(current: PlanVersion) -> None:
            nonlocal shown
            if current.percent <= shown:
                return
            if interactive:
                bar.update(current.percent - shown)
            elif current.percent // 10 > shown // 10:
                click.echo(f"  {current.percent}%")  # a log-friendly line per tenth
            shown = current.percent

        result = rendering.render_version(version_id, on_progress=advance)
    if result is None or result.state != VersionState.READY:
        message = result.error if result is not None else "another worker took this version"
        click.echo(f"error: {message}", err=True)
        sys.exit(1)
    if not publish:
        click.echo(f"Ready: {result.tiles_done} tiles, a draft: its partner checks the sheets and publishes it.")
        return
    try:
        plan_service.publish(result, by=admin)
    except FloorplansError as error:
        click.echo(f"Ready: {result.tiles_done} tiles, left as a draft.", err=True)
        _fail(error)
        return
    db.session.commit()
    click.echo(f"Ready: {result.tiles_done} tiles, published.")


def _operator() -> User | None:
    """The account recorded as uploader of a command-line import: the first administrator."""
    from sqlalchemy import select

    return db.session.scalar(select(User).where(User.role == Role.ADMIN.value).order_by(User.id))


@plans.command("find-rooms")
@click.option("--all", "every_version", is_flag=True, default=False,
              help="Every rendered version whose tiles are kept (drafts, earlier ones), not only the plans "
                   "officers see.")
def find_rooms_command(every_version: bool) -> None:
    """Read the room labels of plans rendered before Find existed, from their kept PDFs (the
    tiles stay as they are); versions that have labels are skipped."""
    from floorplans.services import rooms

    versions = rooms.versions_without_labels(every_version=every_version)
    with click.progressbar(length=len(versions), label="Finding rooms", show_pos=True) as bar:
        report = rooms.find_rooms(versions, on_version=lambda _version, _done, _total: bar.update(1))
    click.echo(f"Labels read for {report.versions} version(s): {report.labels} labels; {report.skipped} version(s) "
               "had them already.")
    if report.pages_without:
        from converters.rooms import INSTALL_HINT

        click.echo(f"{report.pages_without} page(s) got no labels (no text layer, and OCR missing or failed: "
                   f"{INSTALL_HINT}).", err=True)


@plans.command("rerender")
@click.option("--building", "building_id", type=int, default=None, help="Only this building's plans.")
@click.option("--all", "every_version", is_flag=True, default=False,
              help="Also earlier published versions whose tiles are kept, not only the published plans and "
                   "drafts.")
def rerender_command(building_id: int | None, every_version: bool) -> None:
    """Render the tiles of plans again from their kept original PDFs (after restoring a backup
    made with --skip-tiles), a version at a time, inline; versions whose tiles are there are
    skipped, so an interrupted run continues.  Records are not changed."""
    from floorplans.services import rerender

    versions = rerender.versions_to_rerender(building_id=building_id, every_version=every_version)
    labels = {version.id: f"{version.building.name}, version {version.number}" for version in versions}

    def said(version: Any, done: int, total: int, outcome: str) -> None:
        click.echo(f"[{done} of {total}] {labels[version.id]}: {outcome}")

    report = rerender.rerender(versions, on_version=said)
    click.echo(f"Rendered {len(report.rendered)} version(s) again ({report.tiles} tiles); "
               f"{len(report.skipped)} had their tiles already.")
    if report.failed:
        click.echo(f"error: {len(report.failed)} version(s) could not be rendered again.", err=True)
        sys.exit(1)


@plans.command("cleanup")
@click.option("--grace-days", type=float, default=None, help="Default: FLOORPLANS_PLAN_GRACE_DAYS (7).")
def cleanup_command(grace_days: float | None) -> None:
    """Remove tiles of superseded and failed versions after the grace period, and orphans."""
    import datetime as dt

    from floorplans.services.cleanup import cleanup_plans

    days = grace_days if grace_days is not None else get_settings().plan_grace_days
    report = cleanup_plans(grace=dt.timedelta(days=days))
    click.echo(
        f"Removed the tiles of {len(report.versions)} old version(s) and {len(report.orphans)} orphaned "
        f"version(s): {report.objects_deleted} objects."
    )


@jobs.command("worker")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Jobs run at once (default JOBS_WORKERS, 2; each render uses its own processes).")
def worker_command(workers: int | None) -> None:
    """Run a job consumer until interrupted (Ctrl-C)."""
    import logging

    from floorplans.jobs import get_jobs

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # Two by default: a render may take minutes (RENDER_PAGE_SECONDS a page), and the next
    # upload, the stalled-render recovery and the reminders must not wait behind it.
    workers = workers or get_settings().jobs_workers
    huey = get_jobs().huey
    click.echo(f"Job worker on {type(huey.storage).__name__} with {workers} worker(s).")
    # Poll at least once a second when idle (huey's default backs off to 10 s): a partner
    # watching the progress bar should not wait for the queue.
    huey.create_consumer(workers=workers, worker_type="thread", periodic=True, max_delay=1.0).run()


class _Bars:
    """One progress bar per phase of a backup or restore ("tables", then "objects")."""

    def __init__(self, verb: str) -> None:
        self.verb = verb
        self.bar: Any = None
        self.what = ""
        self.done = 0

    def __call__(self, what: str, done: int, total: int, *, done_bytes: int = 0,
                 total_bytes: int | None = None) -> None:
        if what != self.what:
            self.close()
            self.what, self.done = what, 0
            self.bar = click.progressbar(length=total, label=f"{self.verb} {what}", show_pos=True,
                                         item_show_func=lambda text: text)
            self.bar.__enter__()
        if done_bytes:
            of = f" of {total_bytes / 1e6:.1f}" if total_bytes is not None else ""
            self.bar.current_item = f"{done_bytes / 1e6:.1f}{of} MB"
        self.bar.update(done - self.done)
        self.done = done

    def close(self) -> None:
        if self.bar is not None:
            self.bar.__exit__(None, None, None)
            self.bar = None


@contextmanager
def _copying(verb: str, stopped: Callable[[Exception], str]) -> Iterator[_Bars]:
    """Progress bars for a backup or a restore, closed however it ends: a storage error
    ends the command with ``stopped(error)`` (what was kept, what to run), any other
    refusal with its own words, both with nothing saved and exit status 1."""
    from storage import StorageError

    bars = _Bars(verb)
    try:
        yield bars
    except StorageError as error:
        bars.close()
        db.session.rollback()
        click.echo(f"error: {stopped(error)}", err=True)
        sys.exit(1)
    except FloorplansError as error:
        bars.close()
        _fail(error)
    finally:
        bars.close()


@click.command("backup")
@click.argument("path", type=click.Path(dir_okay=False, writable=True))
@click.option("--skip-tiles", is_flag=True, default=False,
              help="Leave out the tile pyramids (most of the objects): every record and every kept original "
                   "(PDFs, photos, room labels) is kept; after a restore `flask plans rerender --all` renders "
                   "the tiles again.")
def backup_command(path: str, skip_tiles: bool) -> None:
    """Write every record and every stored object to one archive (.tar, or .tar.gz to compress)."""
    from pathlib import Path

    from floorplans.services.backup import work_folder_of, write_backup

    def stopped(error: Exception) -> str:
        return (f"the backup stopped: {error}. What it copied is kept in {work_folder_of(Path(path))}: "
                "run the same command again to continue.")

    with _copying("Saving", stopped) as bars:
        report = write_backup(Path(path), skip_tiles=skip_tiles, progress=bars)
    if report.resumed_objects:
        click.echo(f"Continued an interrupted backup: {report.resumed_objects} objects were copied before.")
    click.echo(f"Backup written to {path}: {sum(report.rows.values())} rows in {len(report.rows)} tables, "
               f"{report.objects} objects ({report.object_bytes / 1e6:.1f} MB).")
    if report.tiles_skipped:
        click.echo(f"Tiles skipped: {report.skipped_objects} tile objects left out; after a restore run "
                   "`flask plans rerender --all`.")
    if report.missing_objects:
        click.echo(f"warning: {len(report.missing_objects)} objects disappeared while copying (a cleanup ran).")


@click.command("restore")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, readable=True))
@click.option("--no-verify", "no_verify", is_flag=True, default=False,
              help="Do not read each object back from storage to check it (the archive's copy is checked "
                   "against its checksum all the same); halves the requests to storage.")
def restore_command(path: str, no_verify: bool) -> None:
    """Restore a backup into this deployment, which must be new: migrated, no records, empty storage."""
    from pathlib import Path

    from floorplans.services.backup import restore_backup

    def stopped(error: Exception) -> str:
        return (f"the restore stopped: {error}. No record was saved; run the same command again: "
                "it keeps the objects already restored (checked against the backup) and finishes.")

    with _copying("Restoring", stopped) as bars:
        report = restore_backup(Path(path), verify=not no_verify, progress=bars)
    db.session.commit()
    click.echo(f"Restored {sum(report.rows.values())} rows and {report.objects} objects from {path}"
               + (f" ({report.resumed_objects} restored by an interrupted run before)." if report.resumed_objects
                  else "."))
    if report.tiles_skipped:
        from floorplans.services.backup import RERENDER_HINT

        click.echo(RERENDER_HINT)


@audit.command("prune")
@click.option("--days", type=int, default=None, help="Days to keep (default: FLOORPLANS_AUDIT_RETENTION_DAYS, 365).")
def prune_command(days: int | None) -> None:
    """Delete audit and access-log events older than the retention period (run it daily)."""
    from floorplans.services import audit as audit_service

    retention = days if days is not None else get_settings().audit_retention_days
    try:
        pruned = audit_service.prune(retention)
    except ValueError as error:
        raise click.UsageError(str(error)) from None
    db.session.commit()
    click.echo(
        f"Deleted {pruned.audit_events} audit event(s) and {pruned.access_events} access-log event(s) "
        f"from before {pruned.before:%Y-%m-%d %H:%M} UTC."
    )


@reminders.command("send")
def send_reminders_command() -> None:
    """E-mail partners whose buildings are due for confirmation or stale (run it daily from
    cron; the job worker also does it daily).  Each threshold crossing is mailed once."""
    from floorplans.services import reminders as reminder_service

    run = reminder_service.send_reminders(db.session.commit)
    db.session.commit()
    if not run.mail_configured:
        click.echo("No SMTP server is configured (FLOORPLANS_SMTP_HOST): partners see reminders in the portal only.")
        return
    people = sum(count for _, _, count in run.sent)
    click.echo(f"Reminded the partners of {len(run.sent)} building(s) ({people} e-mail(s)); "
               f"{run.already_sent} already reminded.")
    if run.no_recipients:
        click.echo(f"warning: {len(run.no_recipients)} due building(s) have no active partner account: "
                   f"{', '.join(map(str, run.no_recipients))}.", err=True)
    if run.failed:
        click.echo(f"error: the SMTP server refused the reminders of {len(run.failed)} building(s); "
                   "they are tried again on the next run.", err=True)
        sys.exit(1)


def init_app(app: Flask) -> None:
    app.cli.add_command(backup_command)
    app.cli.add_command(restore_command)
    app.cli.add_command(users)
    app.cli.add_command(tokens)
    app.cli.add_command(plans)
    app.cli.add_command(jobs)
    app.cli.add_command(audit)
    app.cli.add_command(reminders)
    app.cli.add_command(demo_command)
    from floorplans import cli_import  # buildings import: its own module

    cli_import.init_app(app)
