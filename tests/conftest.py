"""Fixtures for the whole suite: an app on a fresh database per test (SQLite always,
PostgreSQL too when FLOORPLANS_TEST_DATABASE_URL is set), a signed-in test browser with
CSRF tokens, and factories for records."""

from __future__ import annotations

import contextvars
import os
import re
import shutil
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from jinja2 import BytecodeCache
from jinja2.bccache import Bucket
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url
from werkzeug.security import generate_password_hash
from werkzeug.serving import make_server
from werkzeug.test import TestResponse

from floorplans import create_app
from floorplans.db import db
from floorplans.models import Building, Organisation, PlanVersion, Role, User

pytest_plugins = ["tests.fixtures_s3"]

CORPUS = Path(__file__).resolve().parent.parent.parent / "shared" / "corpus"
PASSWORD = "correct horse battery staple"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _backends() -> list[str]:
    return ["sqlite", "postgresql"] if os.environ.get("FLOORPLANS_TEST_DATABASE_URL") else ["sqlite"]


def _migrate(database_url: str, instance: Path) -> None:
    app = create_app({"TESTING": True, "DATABASE_URL": database_url, "INSTANCE_PATH": str(instance)})
    with app.app_context():
        from flask_migrate import upgrade

        upgrade()
        db.engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One migrated SQLite file; each test gets a copy (milliseconds instead of a migration)."""
    folder = tmp_path_factory.mktemp("sqlite-template")
    path = folder / "template.sqlite3"
    _migrate(f"sqlite:///{path}", folder / "instance")
    return path


@contextmanager
def migrated_postgresql(prefix: str, instance: Path) -> Iterator[str]:
    """A new database of our own on the server named by FLOORPLANS_TEST_DATABASE_URL,
    migrated to the head; dropped afterwards so parallel runs never share tables."""
    server = make_url(os.environ["FLOORPLANS_TEST_DATABASE_URL"]).set(drivername="postgresql+psycopg")
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    admin = create_engine(server, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = server.set(database=name).render_as_string(hide_password=False)
    try:
        _migrate(url, instance)
        yield url
    finally:
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.fixture(scope="session")
def postgresql_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The suite's PostgreSQL database, migrated once; each test empties it afterwards."""
    with migrated_postgresql("floorplans_test", tmp_path_factory.mktemp("pg-instance")) as url:
        yield url


class SharedEngines:
    """One SQLAlchemy engine per kind of database for all the tests of a process.
    SQLAlchemy keeps the SQL it compiled per engine: each test's app made an engine of its
    own and compiled every statement again, half of a typical test's time.  An app made for
    the current test's database (``current``) gets the process's engine instead; the SQLite
    one opens the current test's copy of the template (its ``url`` says which), the
    PostgreSQL one is the suite's database.  The ``app`` fixture's end closes the engine's
    connections; nothing else of an engine outlives its test."""

    def __init__(self) -> None:
        self.current: str | None = None
        self.engines: dict[tuple[str, str], Any] = {}

    def make(self, original: Any, extension: Any, bind_key: str | None, options: dict[str, Any], app: Flask) -> Any:
        url = make_url(str(options["url"]))
        if self.current is None or url != make_url(self.current):
            return original(extension, bind_key, options, app)
        key = (url.get_backend_name(), repr(sorted((k, v) for k, v in options.items() if k != "url")))
        engine = self.engines.get(key)
        if engine is None:
            options = dict(options)
            if url.get_backend_name() == "sqlite":
                options["creator"] = self._sqlite_connection(dict(options.get("connect_args", {})))
            engine = self.engines[key] = original(extension, bind_key, options, app)
        engine.url = url  # the SQLite file of this test (a backup copies it by its name)
        return engine

    def _sqlite_connection(self, connect_args: dict[str, Any]) -> Any:
        import sqlite3

        def connect() -> sqlite3.Connection:
            database = make_url(self.current or "").database
            assert database, "no test database is current"
            return sqlite3.connect(database, check_same_thread=False, **connect_args)

        return connect

    def end_of_test(self) -> None:
        """No pooled connection to this test's database is left for the next test."""
        self.current = None
        for engine in self.engines.values():
            engine.dispose()


SHARED_ENGINES = SharedEngines()


@pytest.fixture(scope="session", autouse=True)
def _shared_engines() -> Iterator[None]:
    from flask_sqlalchemy import SQLAlchemy

    original = SQLAlchemy._make_engine
    patch = pytest.MonkeyPatch()
    patch.setattr(SQLAlchemy, "_make_engine",
                  lambda extension, bind_key, options, app: SHARED_ENGINES.make(original, extension, bind_key,
                                                                                 options, app))
    yield
    patch.undo()
    SHARED_ENGINES.end_of_test()


def fresh_database(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A database with the migrated schema and no rows: a copy of the SQLite template, or
    the suite's PostgreSQL database, emptied after the test."""
    if kind == "sqlite":
        path = tmp_path / "floorplans.sqlite3"
        shutil.copyfile(request.getfixturevalue("sqlite_template"), path)
        SHARED_ENGINES.current = f"sqlite:///{path}"
        try:
            yield f"sqlite:///{path}"
        finally:
            SHARED_ENGINES.end_of_test()
        return
    url: str = request.getfixturevalue("postgresql_url")
    SHARED_ENGINES.current = url
    try:
        yield url
    finally:
        SHARED_ENGINES.end_of_test()
    engine = create_engine(url)
    with engine.begin() as connection:
        tables = [t.name for t in reversed(db.metadata.sorted_tables)]
        connection.execute(text(f"TRUNCATE TABLE {', '.join(tables)} RESTART IDENTITY CASCADE"))
    engine.dispose()


CHILD_PROCESS_UNMARKED = (
    "this test starts a render or image child process (converters.process.ChildProcess): mark it "
    "@pytest.mark.slow, which `make test-fast` leaves out (a child costs a Python start and PyMuPDF)"
)


@pytest.fixture(autouse=True)
def _children_only_in_slow_tests(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Keeps the fast tier fast as tests are added: a test that starts a render, validation
    or image child process and is not marked ``slow`` (or ``browser``) fails, saying so.
    The refusal is raised where the child would start (a render job records it as its
    error) and the test fails at its end whatever the code made of it."""
    if request.node.get_closest_marker("slow") or request.node.get_closest_marker("browser"):
        yield
        return
    from converters import process

    started: list[str] = []

    def refuse(self: process.ChildProcess, job: dict[str, Any], **options: Any) -> None:
        started.append(str(options.get("module", "converters.worker")))
        raise RuntimeError(CHILD_PROCESS_UNMARKED)

    monkeypatch.setattr(process.ChildProcess, "__init__", refuse)
    yield
    if started:
        pytest.fail(f"{CHILD_PROCESS_UNMARKED}; it started {', '.join(sorted(set(started)))}", pytrace=False)


@contextmanager
def serving(app: Flask, port: int = 0) -> Iterator[str]:
    """``app`` behind werkzeug's threaded server, for a real browser: each request in a thread
    of its own, with its own database connection, as under gunicorn's threads.  Yields its
    base URL; the server is stopped afterwards."""
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="live-app", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(10)
        server.server_close()


@pytest.fixture(params=_backends())
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    yield from fresh_database(request.param, request, tmp_path)


@pytest.fixture
def app_config(tmp_path: Path, database_url: str) -> dict[str, Any]:
    """The test mapping; tests may change it before asking for ``app``."""
    return {
        "TESTING": True,
        "INSTANCE_PATH": str(tmp_path / "instance"),
        "DATABASE_URL": database_url,
        "STORAGE_URL": str(tmp_path / "storage"),
        "SECRET_KEY": "test-secret-key",
        # Administrators must enrol in two-factor sign-in by default; most tests sign them in
        # with a password alone.  tests/security/test_two_factor.py tests the default.
        "TWO_FACTOR_REQUIRED_ROLES": [],
    }


class IsolatedClient(FlaskClient):
    """Runs each request in a fresh context, as a server would.  The test body holds an app
    context of its own (for factories and assertions); without this, requests would reuse
    it and share ``g`` (the signed-in user) and the database session between requests."""

    def open(self, *args: Any, **kwargs: Any) -> TestResponse:  # type: ignore[override]
        response: TestResponse = contextvars.Context().run(super().open, *args, **kwargs)
        # werkzeug spools a large multipart body into a temporary file it never closes.
        body = response.request.environ.get("wsgi.input")
        if body is not None and hasattr(body, "close"):
            body.close()
        return response


class CompiledTemplates(BytecodeCache):
    """The templates compiled once per test process for all of its apps.  Each test's app
    has a Jinja environment of its own, which compiled every page it rendered again: a
    third of a typical test's time.  Jinja checks each entry against its template's source."""

    def __init__(self) -> None:
        self.code: dict[str, bytes] = {}

    def load_bytecode(self, bucket: Bucket) -> None:
        if bucket.key in self.code:
            bucket.bytecode_from_string(self.code[bucket.key])

    def dump_bytecode(self, bucket: Bucket) -> None:
        self.code[bucket.key] = bucket.bytecode_to_string()


COMPILED_TEMPLATES = CompiledTemplates()


@pytest.fixture
def app(app_config: dict[str, Any]) -> Iterator[Flask]:
    application = create_app(app_config)
    application.test_client_class = IsolatedClient
    application.jinja_env.bytecode_cache = COMPILED_TEMPLATES
    with application.app_context():
        yield application
        db.session.remove()
        db.engine.dispose()


@pytest.fixture
def runner(app: Flask):  # type: ignore[no-untyped-def]
    return app.test_cli_runner()


#: A cheap kind of password hash for tests: the app's own scrypt takes 0.1-0.2 s to make or
#: check, paid at each of the suite's thousands of sign-ins and password changes.
CHEAP_HASH = "pbkdf2:sha256:1000"


@pytest.fixture(scope="session")
def password_hash() -> str:
    """The hash every test user shares (werkzeug checks any kind it made)."""
    return generate_password_hash(PASSWORD, method=CHEAP_HASH)


@pytest.fixture(autouse=True)
def _cheap_password_hashes(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Passwords the app hashes itself (accounts made, changed, reset; the stand-in hash an
    unknown address is checked against) hashed the cheap way too, as Django's documentation
    advises for tests.  Tests marked ``real_password_hashes`` keep the app's own method
    (tests/security/test_passwords.py checks that it is scrypt)."""
    if request.node.get_closest_marker("real_password_hashes"):
        return
    from floorplans.services import accounts

    def cheap(password: str) -> str:
        return generate_password_hash(password, method=CHEAP_HASH)

    monkeypatch.setattr(accounts, "generate_password_hash", cheap)
    monkeypatch.setattr(accounts, "_DUMMY_HASH", cheap("not-a-real-password-" + "x" * 20))


@pytest.fixture
def make_organisation(app: Flask):  # type: ignore[no-untyped-def]
    def make(name: str | None = None, faith_tradition: str = "Muslim") -> Organisation:
        organisation = Organisation(
            name=name or f"Congregation {uuid.uuid4().hex[:6]}", faith_tradition=faith_tradition
        )
        db.session.add(organisation)
        db.session.commit()
        return organisation

    return make


@pytest.fixture
def make_user(app: Flask, password_hash: str, make_organisation):  # type: ignore[no-untyped-def]
    def make(role: str | Role = Role.OFFICER, organisation: Organisation | None = None, **values: Any) -> User:
        role = Role(role)
        if role is Role.PARTNER and organisation is None:
            organisation = make_organisation()
        user = User(
            email=values.pop("email", f"{role.value}-{uuid.uuid4().hex[:8]}@example.org"),
            role=role.value,
            organisation=organisation,
            password_hash=password_hash,
            **values,
        )
        db.session.add(user)
        db.session.commit()
        return user

    return make


@pytest.fixture
def make_building(app: Flask, make_organisation):  # type: ignore[no-untyped-def]
    def make(organisation: Organisation | None = None, **values: Any) -> Building:
        from floorplans.search import normalise

        fields = {
            "name": f"Masjid {uuid.uuid4().hex[:6]}",
            "street": "77 Queen Street West",
            "city": "Toronto",
            "region": "ON",
            "postal_code": "M5H 2N2",
            **values,
        }
        building = Building(organisation=organisation or make_organisation(), **fields)
        building.search_text = normalise(
            " ".join((building.name, building.street, building.city, building.postal_code))
        )
        db.session.add(building)
        db.session.commit()
        return building

    return make


#: What every current browser sends with a request one of this site's own pages made.
SAME_ORIGIN = {"Sec-Fetch-Site": "same-origin"}


def _from_own_page(kwargs: dict[str, Any]) -> dict[str, Any]:
    kwargs["headers"] = {**SAME_ORIGIN, **dict(kwargs.pop("headers", None) or {})}
    return kwargs


class Browser:
    """A test client that signs in through the real login form and sends the CSRF token
    with every form, as a browser would; and, as every current browser does, says that its
    requests come from this site's own pages (``Sec-Fetch-Site``; ``browser.client`` sends
    nothing of the kind)."""

    def __init__(self, client: FlaskClient) -> None:
        self.client = client
        self.csrf_token: str | None = None

    def get(self, url: str, **kwargs: Any) -> TestResponse:
        response = self.client.get(url, **_from_own_page(kwargs))
        self._remember_token(response)
        return response

    def post(self, url: str, data: dict[str, Any] | None = None, *, csrf: bool = True, **kwargs: Any) -> TestResponse:
        data = dict(data or {})
        if csrf:
            if self.csrf_token is None:
                self.get("/login")
            data.setdefault("csrf_token", self.csrf_token)
        response = self.client.post(url, data=data, **_from_own_page(kwargs))
        self._remember_token(response)
        return response

    def login(self, user: User | str, password: str = PASSWORD) -> TestResponse:
        email = user if isinstance(user, str) else user.email
        self.get("/login")
        response = self.post("/login", {"email": email, "password": password})
        self.csrf_token = None
        self.get("/account/password")  # a page with a form: picks up the new session's token
        return response

    def _remember_token(self, response: TestResponse) -> None:
        response.get_data()  # buffer the body, then release the file a static response holds
        response.close()
        if response.mimetype == "text/html":
            match = _CSRF.search(response.get_data(as_text=True))
            if match:
                self.csrf_token = match.group(1)


@pytest.fixture
def browser(app: Flask) -> Browser:
    return Browser(app.test_client())


def signed_in(app: Flask, user: User) -> Browser:
    """A browser in the state a successful password sign-in leaves it in, made without the
    three requests of the form (the login page, the post, a page for the new session's CSRF
    token): the same login record, audit entry and session as blueprints/auth.py makes.
    Tests of signing in itself use ``Browser.login``."""
    from flask import session
    from flask_login import login_user
    from flask_wtf.csrf import generate_csrf

    from floorplans.services import accounts, login

    def sign_in() -> tuple[str, dict[str, Any]]:
        # In a context of its own, as IsolatedClient runs requests: the test's app context
        # (its ``g``, where Flask-WTF keeps the token it made, and its database session)
        # stays out of it.
        with app.test_request_context("/login", method="POST"):
            account = db.session.get(User, user.id)
            assert account is not None
            login.succeed(account, ip_address="127.0.0.1", method="password")
            accounts.start_session(account, ip_address="127.0.0.1", user_agent="")
            login_user(account)
            token = generate_csrf()
            db.session.commit()
            return token, dict(session)

    browser = Browser(app.test_client())
    browser.csrf_token, contents = contextvars.Context().run(sign_in)
    with browser.client.session_transaction() as cookie:
        cookie.update(contents)
    return browser


@pytest.fixture
def browser_for(app: Flask):  # type: ignore[no-untyped-def]
    """A fresh signed-in browser for a user: ``browser_for(user)``.  A user with two-factor
    sign-in goes through the form (its second step is not the one the tests skip)."""

    def make(user: User) -> Browser:
        if user.has_two_factor:
            new = Browser(app.test_client())
            response = new.login(user)
            assert response.status_code == 302, response.get_data(as_text=True)
            return new
        return signed_in(app, user)

    return make


@pytest.fixture
def api_token(app: Flask):  # type: ignore[no-untyped-def]
    """A bearer header for a user: ``client.get(url, headers=api_token(user))``."""
    from floorplans.services import accounts

    def make(user: User) -> dict[str, str]:
        token = accounts.create_token(user, "tests")
        db.session.commit()
        return {"Authorization": f"Bearer {token}"}

    return make


def publish_reviewed(version: PlanVersion, by: User) -> PlanVersion:
    """What a partner does with a rendered draft once checked, in one step for tests that
    need a published plan: carried-over markers confirmed where they are, then published
    by ``by`` (the partner or an administrator); committed."""
    from floorplans.services import markers, plans

    db.session.refresh(version)
    assert version.state == "ready", f"version {version.number} did not render: {version.error}"
    for marker in markers.flagged_markers(version):
        markers.confirm(marker, by=by)
    plans.publish(version, by=by)
    db.session.commit()
    return version


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    """One headless Chromium for the whole run, shared by every browser test: Playwright's
    sync API refuses to start a second instance while one is running in the process."""
    from tests.blueprints.response.conftest import CHROMIUM, CHROMIUM_ARGS

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `make test` installs Debian's chromium (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    try:
        yield browser
    finally:
        browser.close()
        playwright.stop()
