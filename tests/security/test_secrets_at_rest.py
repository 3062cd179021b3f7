"""Secrets at rest: TOTP keys sealed with a key the database does not hold (also while
enrolment waits in the session cookie), a rotation of SECRET_KEY that keeps two-factor
working, the migration that seals keys already enrolled, and an instance folder that only
its own account can read."""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pyotp
import pytest
from flask import Flask
from flask_migrate import downgrade, upgrade
from sqlalchemy import text

from floorplans import create_app, secrets_at_rest
from floorplans.db import db
from floorplans.models import Role, User
from floorplans.services import login
from tests.conftest import PASSWORD, Browser, IsolatedClient
from tests.security.test_two_factor import code_at, enrol, password_step


def raw_user_row(user: User) -> dict[str, Any]:
    """The row as the database holds it, whatever the model says."""
    db.session.commit()
    row = db.session.execute(text("SELECT * FROM users WHERE id = :id"), {"id": user.id}).mappings().one()
    return dict(row)


def test_the_totp_key_is_not_in_the_database(app, browser_for, make_user, database_url: str) -> None:
    user = make_user(Role.PARTNER)
    key = enrol(browser_for(user))
    row = raw_user_row(user)
    assert "totp_secret" not in row  # the clear column is gone
    assert key not in repr(row) and row["totp_secret_sealed"].startswith("gAAAAA")  # a Fernet token
    if database_url.startswith("sqlite:///"):
        db.session.remove()  # every connection closed: nothing of the database only in memory
        db.engine.dispose()
        path = Path(database_url.removeprefix("sqlite:///"))
        on_disk = b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())
        assert key.encode() not in on_disk and user.email.encode() in on_disk  # the file was read
    # Without SECRET_KEY the sealed value gives no code generator.
    with pytest.raises(secrets_at_rest.SealBroken):
        secrets_at_rest.unseal({"SECRET_KEY": "a copy of the database, not the key"}, row["totp_secret_sealed"])


def test_the_key_waiting_for_its_first_code_is_sealed_in_the_cookie(app, browser_for, make_user) -> None:
    browser = browser_for(make_user(Role.OFFICER))
    page = browser.get("/account/two-factor").get_data(as_text=True)
    key = re.search(r'class="totp-key"><code>([A-Z2-7 ]+)</code>', page).group(1).replace(" ", "")
    cookie = browser.client.get_cookie("session").value
    contents = app.session_interface.get_signing_serializer(app).loads(cookie)  # what anyone holding it reads
    assert key not in repr(contents) and login.open_secret(contents["totp_enrolment"]) == key


def test_a_new_secret_key_with_the_old_one_as_fallback_keeps_two_factor(app, app_config, browser_for,
                                                                        make_user) -> None:
    user = make_user(Role.OFFICER)
    key = enrol(browser_for(user))
    rotated = create_app({**app_config, "SECRET_KEY": "the new secret key",
                          "SECRET_KEY_FALLBACKS": ["test-secret-key"]})
    rotated.test_client_class = IsolatedClient
    with rotated.app_context():
        browser = password_step(rotated, user)
        assert browser.post("/login/code", {"code": code_at(key, 1)}).headers["Location"] == "/r/"
        db.session.remove()
        db.engine.dispose()
    db.session.expire_all()
    sealed = db.session.get(User, user.id).totp_secret_sealed
    assert secrets_at_rest.unseal({"SECRET_KEY": "the new secret key"}, sealed) == key  # sealed again, new key


def test_the_migration_seals_keys_enrolled_before_it(app, make_user) -> None:
    user = make_user(Role.OFFICER)
    key = pyotp.random_base32()
    login.enable_two_factor(user, key, pyotp.TOTP(key).now())
    db.session.commit()
    user_id = user.id
    db.session.remove()

    downgrade(revision="0009")  # as the database was before: the key in clear
    clear = db.session.execute(text("SELECT totp_secret FROM users WHERE id = :id"), {"id": user_id}).scalar()
    assert clear == key
    db.session.remove()
    upgrade()
    row = db.session.execute(text("SELECT * FROM users WHERE id = :id"), {"id": user_id}).mappings().one()
    assert "totp_secret" not in row and key not in repr(dict(row))
    assert secrets_at_rest.unseal(app.config, row["totp_secret_sealed"]) == key
    db.session.remove()
    browser = Browser(app.test_client())
    browser.post("/login", {"email": db.session.get(User, user_id).email, "password": PASSWORD})
    browser.get("/login/code")
    assert browser.post("/login/code", {"code": code_at(key, 1)}).headers["Location"] == "/r/"


# --- the instance folder ------------------------------------------------------------------

@pytest.fixture
def umask_022() -> Iterator[None]:
    """The usual umask, under which files would be world-readable unless the app says not."""
    before = os.umask(0o022)
    yield
    os.umask(before)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_the_instance_folder_and_its_files_are_for_the_app_only(umask_022, tmp_path: Path) -> None:
    instance = tmp_path / "instance"
    instance.mkdir(mode=0o755)
    (instance / "secret_key").write_text("a key left world-readable by an older version")
    (instance / "secret_key").chmod(0o644)
    app: Flask = create_app({"TESTING": True, "INSTANCE_PATH": str(instance), "TWO_FACTOR_REQUIRED_ROLES": []})
    with app.app_context():
        upgrade()  # creates the database and writes to it (its -wal and -shm files appear)
        from floorplans.objects import get_storage

        get_storage().put("originals/ab/cdef.pdf", b"%PDF-1.7 a plan")
        db.session.execute(text("SELECT count(*) FROM users")).scalar()
        files = {path.relative_to(instance).as_posix(): mode(path) for path in instance.rglob("*")}
        db.session.remove()
        db.engine.dispose()
    assert mode(instance) == 0o700
    assert {name: m for name, m in files.items() if not (instance / name).is_dir() and m != 0o600} == {}
    assert files["storage"] == 0o700
    for expected in ("secret_key", "floorplans.sqlite3", "jobs.sqlite3", "storage/originals/ab/cdef.pdf"):
        assert files.get(expected) == 0o600, (expected, files)
    assert "floorplans.sqlite3-wal" in files  # written as SQLite writes it, and private too
