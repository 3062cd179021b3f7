"""Background jobs with huey: SQLite storage in the instance folder by default, Redis when
``FLOORPLANS_REDIS_URL`` is set.  ``flask --app wsgi jobs worker`` runs a consumer.

Tasks are bound to the app that created them, so the consumer (which builds the app with
create_app) and the web process enqueue and run the same named tasks.  Must not import
blueprints.
"""
from __future__ import annotations

import datetime as dt
import logging
from functools import partial
from pathlib import Path

from flask import Flask, current_app
from huey import Huey, RedisHuey, SqliteHuey, crontab

from floorplans import mail
from floorplans.config import get_settings, keep_private
from floorplans.db import after_commit, db, unit_of_work
from floorplans.services import account_links, imports, reminders, rendering

log = logging.getLogger(__name__)


class Jobs:
    def __init__(self, app: Flask) -> None:
        settings = get_settings(app)
        name = settings.jobs_name
        if settings.redis_url:
            self.huey: Huey = RedisHuey(name, url=settings.redis_url)
        else:
            queue = Path(app.instance_path) / "jobs.sqlite3"
            keep_private(queue)  # the queue holds job arguments; readable by this account only
            self.huey = SqliteHuey(name, filename=str(queue))
        self.huey.immediate = settings.jobs_immediate
        silent_for = dt.timedelta(seconds=settings.render_page_seconds + 120)

        @self.huey.task(retries=3, retry_delay=15, name="render_plan")
        def render_plan(version_id: int) -> None:
            with app.app_context():
                try:
                    rendering.render_version(version_id)
                finally:
                    db.session.remove()

        @self.huey.periodic_task(crontab(minute="*/2"), name="recover_stalled_plans")
        def recover_stalled_plans() -> None:
            with app.app_context():
                try:
                    with unit_of_work():
                        for version_id in rendering.recover_stalled(
                                silent_for=silent_for, queued_for=dt.timedelta(minutes=10)):
                            log.warning("Plan version %s was abandoned; queued again.", version_id)
                            after_commit(partial(render_plan, version_id))
                finally:
                    db.session.remove()

        @self.huey.on_startup(name="recover_on_startup")
        def recover_on_startup() -> None:
            # A worker that starts after a crash picks up what the crash abandoned at once,
            # not at the next periodic run.
            recover_stalled_plans.call_local()

        @self.huey.periodic_task(crontab(minute="0", hour=str(settings.reminders_hour_utc)),
                                 name="send_reminders")
        def send_reminders() -> None:
            # Daily; a run that finds nothing new sends nothing (one mail per threshold
            # crossing, recorded), so cron running `flask reminders send` too is harmless.
            with app.app_context():
                try:
                    run = reminders.send_reminders(db.session.commit)
                    db.session.commit()
                finally:
                    db.session.remove()
            if run.sent or run.failed:
                log.info("Reminders: %d building(s) mailed, %d failed.", len(run.sent), len(run.failed))

        @self.huey.task(retries=5, retry_delay=60, name="send_mail")
        def send_mail(to: str, subject: str, body: str) -> None:
            # An invitation or a password reset: sent here, not in the request, so a slow
            # mail server neither holds a web worker nor tells by its delay that an address
            # has an account (forgot password).  Retried if the server refuses for now.
            mail_settings = get_settings(app)
            with mail.connection(mail_settings) as smtp:
                smtp.send_message(mail.message(mail_settings, to=to, subject=subject, body=body))

        @self.huey.task(retries=3, retry_delay=60, name="send_password_reset")
        def send_password_reset(email: str, ip_address: str) -> None:
            # Forgot password: the web request only queued this (as long for any address).
            mail_settings = get_settings(app)
            if not mail.is_configured(mail_settings):
                log.warning("A password reset was asked for, but no mail server is set (SMTP_HOST).")
                return
            with app.app_context():
                try:
                    with unit_of_work():
                        found = account_links.reset_link(email, ip_address=ip_address)
                        message = found and (found[0].email, *account_links.reset_mail(*found))
                finally:
                    db.session.remove()
            if message:
                with mail.connection(mail_settings) as smtp:
                    smtp.send_message(mail.message(mail_settings, to=message[0], subject=message[1], body=message[2]))

        @self.huey.task(name="import_buildings")
        def import_buildings(token: str, by_id: int | None, invite: bool) -> None:
            # An admin's CSV preview or import (services.imports): seconds to minutes.
            with app.app_context():
                try:
                    imports.run_job(token, by_id=by_id, invite=invite)
                finally:
                    db.session.remove()

        self.render_plan = render_plan
        self.import_buildings = import_buildings
        self.send_reminders = send_reminders
        self.send_mail = send_mail
        self.send_password_reset = send_password_reset
        self.recover_stalled_plans = recover_stalled_plans


def init_app(app: Flask) -> None:
    app.extensions["floorplans.jobs"] = Jobs(app)


def get_jobs() -> Jobs:
    jobs: Jobs = current_app.extensions["floorplans.jobs"]
    return jobs


def queue_mail(to: str, subject: str, body: str) -> bool:
    """Queue one e-mail once the unit of work is committed (a link in it must work when it
    arrives); False, and nothing queued, when no mail server is configured."""
    if not mail.is_configured(get_settings()):
        return False
    send_mail = get_jobs().send_mail
    after_commit(lambda: send_mail(to, subject, body))
    return True


def queue_password_reset(email: str, ip_address: str) -> None:
    """Queue a forgot-password request once the unit of work is committed (whatever the
    address: the job finds out whether it has an account)."""
    send_password_reset = get_jobs().send_password_reset
    after_commit(lambda: send_password_reset(email, ip_address))


def queue_render(version_id: int) -> None:
    """Queue the rendering of a version once the unit of work that made it is committed
    (the worker must find it); not at all if that is rolled back.  A queue that cannot be
    reached then is logged, and ``recover_stalled_plans`` queues the version again."""
    render_plan = get_jobs().render_plan
    after_commit(lambda: render_plan(version_id))


def queue_import(token: str, *, by_id: int | None, invite: bool = False) -> None:
    """Queue an admin's CSV preview or import now: its file and state wait in the object
    store (services.imports), not in a transaction the worker would have to find committed."""
    get_jobs().import_buildings(token, by_id, invite)
