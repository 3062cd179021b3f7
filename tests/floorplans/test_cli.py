"""Operator commands keep their names: users create, tokens create, demo."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import func, select
from werkzeug.security import check_password_hash

from floorplans.db import db
from floorplans.models import ApiToken, Building, Contact, Gathering, Organisation, User


def test_users_create_with_password_from_stdin(runner, make_organisation) -> None:
    make_organisation("Masjid Toronto")
    result = runner.invoke(
        args=[
            "users",
            "create",
            "--email",
            "Imam@Example.org",
            "--role",
            "partner",
            "--organisation",
            "masjid toronto",
            "--password-stdin",
        ],
        input="a long enough password\n",
    )
    assert result.exit_code == 0, result.output
    user = db.session.scalar(select(User).where(User.email == "imam@example.org"))
    assert user.organisation.name == "Masjid Toronto"
    assert check_password_hash(user.password_hash, "a long enough password")


def test_users_create_refuses_bad_input_with_a_message(runner) -> None:
    result = runner.invoke(
        args=[
            "users",
            "create",
            "--email",
            "x@example.org",
            "--role",
            "partner",
            "--organisation",
            "Nowhere",
            "--password-stdin",
        ],
        input="a long enough password\n",
    )
    assert result.exit_code == 1
    assert "No organisation is called 'Nowhere'" in result.output
    result = runner.invoke(
        args=["users", "create", "--email", "x@example.org", "--role", "officer", "--password-stdin"], input="short\n"
    )
    assert result.exit_code == 1 and "at least 12 characters" in result.output
    assert db.session.scalar(select(func.count(User.id))) == 0


def test_users_create_generates_a_password(runner) -> None:
    result = runner.invoke(args=["users", "create", "--email", "o@example.org", "--role", "officer"])
    assert result.exit_code == 0
    password = result.output.split("Password: ")[1].strip()
    user = db.session.scalar(select(User))
    assert check_password_hash(user.password_hash, password)


def test_tokens_create_prints_a_token_that_works(app, runner, make_user) -> None:
    user = make_user("officer")
    result = runner.invoke(args=["tokens", "create", "--email", user.email])
    assert result.exit_code == 0
    token = result.output.strip()
    assert token.startswith("fpt_")
    stored = db.session.scalar(select(ApiToken))
    assert token not in stored.token_hash
    assert app.test_client().get("/api/v1/buildings", headers={"Authorization": f"Bearer {token}"}).status_code == 200


@pytest.mark.slow  # renders the demo plan in child processes
def test_demo_creates_everything_once(app, runner) -> None:
    result = runner.invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    assert db.session.scalar(select(func.count(Organisation.id))) == 1
    assert db.session.scalar(select(func.count(Building.id))) == 1
    assert db.session.scalar(select(func.count(Contact.id))) == 3
    assert db.session.scalar(select(func.count(Gathering.id))) == 3
    roles = sorted(db.session.scalars(select(User.role)))
    assert roles == ["admin", "officer", "partner", "planner"]
    logins = json.loads((Path(app.instance_path) / "demo-logins.json").read_text())
    assert (Path(app.instance_path) / "demo-logins.json").stat().st_mode & 0o077 == 0
    for _role, email, password in logins:
        assert email in result.output and password in result.output
        assert check_password_hash(db.session.scalar(select(User).where(User.email == email)).password_hash, password)
    again = runner.invoke(args=["demo"])
    assert "already holds data" in again.output
    assert db.session.scalar(select(func.count(Building.id))) == 1
