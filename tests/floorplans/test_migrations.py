"""Migrations build the same schema as the models, on SQLite and PostgreSQL, and go both ways."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect

from floorplans.db import db


def test_migrated_schema_matches_the_models(app) -> None:
    with db.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, db.metadata) == []


def test_downgrade_to_nothing_and_back(app) -> None:
    downgrade(revision="base")
    assert set(inspect(db.engine).get_table_names()) <= {"alembic_version"}
    upgrade()
    assert {"buildings", "contacts", "gatherings", "users", "access_events"} <= set(
        inspect(db.engine).get_table_names()
    )
