"""Services are given what they work with (floorplans/services/__init__.py): they never read
the request, Flask's ``g`` or ``session``, Flask-Login's user, or the raw configuration.
Who acted comes as an ``audit.Origin`` or a ``by=`` user; settings as the typed
``floorplans.config.Settings`` (``get_settings()``), read nowhere else as ``app.config[...]``."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

#: What a service must not import: request state and the signed-in user.
FLASK_REQUEST_STATE = {"request", "g", "session", "has_request_context", "copy_current_request_context"}
REQUEST_STATE: dict[str, set[str] | None] = {
    "flask": FLASK_REQUEST_STATE,
    "flask_login": None,  # None: nothing from it at all (current_user, login_user, ...)
    "werkzeug.local": None,
}
#: Modules that may read the raw configuration: the one that types it, and the migrations
#: (they run before the settings exist, and keep the shape they had when written).
CONFIG_READERS = {"floorplans/config.py"}


def sources(*packages: str) -> list[Path]:
    return sorted(p for package in packages for p in (ROOT / package).rglob("*.py") if "migrations" not in p.parts)


def request_state_reads(tree: ast.AST) -> list[str]:
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module in REQUEST_STATE and node.level == 0:
            forbidden = REQUEST_STATE[node.module]
            found += [f"imports {alias.name} from {node.module}" for alias in node.names
                      if forbidden is None or alias.name in forbidden]
        elif isinstance(node, ast.Import):
            found += [f"imports {alias.name}" for alias in node.names
                      if alias.name.split(".")[0] == "flask_login" or alias.name == "werkzeug.local"]
        elif (isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "flask"
              and node.attr in FLASK_REQUEST_STATE):
            found.append(f"reads flask.{node.attr}")
    return found


#: Configuring an extension writes its keys: ``app.config.setdefault("SQLALCHEMY_...", ...)``.
WRITES = {"setdefault", "update", "from_mapping", "from_prefixed_env"}


def config_reads(tree: ast.AST) -> list[str]:
    """An app's ``config`` read as a mapping: ``current_app.config``, ``app.config[...]``,
    ``self.app.config.get(...)`` (the settings object has typed attributes instead)."""
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    found = []
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Attribute) and node.attr == "config"):
            continue
        owner = ast.unparse(node.value)
        if owner.split(".")[-1] not in ("app", "current_app", "_app"):
            continue
        parent = parents.get(node)
        if isinstance(parent, ast.Attribute) and parent.attr in WRITES:
            continue
        if isinstance(parent, ast.Subscript) and isinstance(parent.ctx, ast.Store | ast.Del):
            continue
        found.append(f"line {node.lineno}: {owner}.config")
    return found


def parsed(path: Path) -> ast.AST:
    return ast.parse(path.read_text(), filename=str(path))


@pytest.mark.parametrize("path", sources("floorplans/services"), ids=lambda p: p.name)
def test_a_service_never_reads_the_request_or_the_signed_in_user(path: Path) -> None:
    assert request_state_reads(parsed(path)) == []


@pytest.mark.parametrize("path", sources("floorplans/services"), ids=lambda p: p.name)
def test_a_service_reads_settings_typed(path: Path) -> None:
    assert config_reads(parsed(path)) == []


def test_the_raw_configuration_is_read_in_one_place() -> None:
    """Outside floorplans/config.py, nothing in floorplans/ or blueprints/ reads app.config
    (Flask and its extensions do, from the same keys)."""
    readers = {
        str(path.relative_to(ROOT)): reads
        for path in sources("floorplans", "blueprints")
        if str(path.relative_to(ROOT)) not in CONFIG_READERS and (reads := config_reads(parsed(path)))
    }
    assert readers == {}


@pytest.mark.parametrize(
    ("source", "what"),
    [
        ("from flask import request\n", ["imports request from flask"]),
        ("from flask import current_app, g\n", ["imports g from flask"]),
        ("from flask_login import current_user\n", ["imports current_user from flask_login"]),
        ("import flask\nflask.session.get('x')\n", ["reads flask.session"]),
        ("from flask import current_app\n", []),
    ],
)
def test_the_check_sees_each_way_of_reaching_request_state(source: str, what: list[str]) -> None:
    assert request_state_reads(ast.parse(source)) == what


@pytest.mark.parametrize(
    "source",
    ["current_app.config['X']\n", "int(current_app.config.get('X'))\n", "self.app.config['X']\n",
     "state.app.config['X']\n", "config = current_app.config\n", "tile_links.is_enabled(current_app.config)\n"],
)
def test_the_check_sees_each_way_of_reading_the_configuration(source: str) -> None:
    assert config_reads(ast.parse(source)) != []


@pytest.mark.parametrize(
    "source", ["app.config['X'] = 1\n", "app.config.setdefault('SQLALCHEMY_ENGINE_OPTIONS', {})\n",
               "get_settings(app).upload_max_mb\n", "self.config['X']\n"],
)
def test_writing_an_extensions_settings_is_not_reading_them(source: str) -> None:
    assert config_reads(ast.parse(source)) == []
