"""Readiness checks of the parts a request needs: database, object store, job queue.

Must not import blueprints.
"""
from __future__ import annotations

import logging

from sqlalchemy import text

from floorplans import objects
from floorplans.db import db
from floorplans.jobs import get_jobs

log = logging.getLogger(__name__)


def readiness() -> dict[str, bool]:
    return {"database": _database(), "storage": _storage(), "queue": _queue()}


def _database() -> bool:
    try:
        db.session.execute(text("SELECT 1"))
        return True
    except Exception:  # any failure means "not ready"; the log says which
        log.exception("Readiness: the database does not answer.")
        db.session.rollback()  # the failed statement's transaction: the request's commit would fail on it
        return False


def _storage() -> bool:
    try:
        # A HEAD of a key that never exists: reachability and credentials, no write per poll.
        objects.get_storage().exists("readyz-probe")
        return True
    except Exception:
        log.exception("Readiness: the object store does not answer.")
        return False


def _queue() -> bool:
    try:
        get_jobs().huey.pending_count()
        return True
    except Exception:
        log.exception("Readiness: the job queue does not answer.")
        return False
