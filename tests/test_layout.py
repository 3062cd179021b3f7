"""The dependency direction of DESIGN.md: blueprints -> floorplans -> {storage, converters}.

storage and converters import neither Flask nor SQLAlchemy nor each other; blueprints never
import boto3, pymupdf or PIL; only create_app knows the blueprints."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

FORBIDDEN: dict[str, set[str]] = {
    "storage": {"flask", "flask_sqlalchemy", "sqlalchemy", "converters", "floorplans", "blueprints", "werkzeug"},
    "converters": {
        "flask",
        "flask_sqlalchemy",
        "sqlalchemy",
        "storage",
        "floorplans",
        "blueprints",
        "werkzeug",
        "boto3",
    },
    "floorplans": {"blueprints"},
    "blueprints": {"boto3", "botocore", "pymupdf", "fitz", "PIL", "storage", "converters"},
}
# create_app registers the blueprints: the one place allowed to know them.
ALLOWED = {("floorplans/__init__.py", "blueprints")}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def sources(package: str) -> list[Path]:
    return sorted(p for p in (ROOT / package).rglob("*.py") if "migrations" not in p.parts)


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_imports_flow_one_way(package: str) -> None:
    files = sources(package)
    assert files, f"{package}/ has no Python files"
    violations = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in files
        for name in sorted(imported_modules(path) & FORBIDDEN[package])
        if (str(path.relative_to(ROOT)), name) not in ALLOWED
    ]
    assert violations == []


def test_the_checker_sees_a_violation(tmp_path: Path) -> None:
    bad = tmp_path / "bad.py"
    bad.write_text("import flask\nfrom sqlalchemy.orm import Session\nfrom . import sibling\n")
    assert imported_modules(bad) == {"flask", "sqlalchemy"}


# A storage key is a string that starts with its folder ("tiles/...", f"originals/..."); a
# route's path starts with "/" and may say /tiles/ without building any key.
STORAGE_KEY_LITERAL = re.compile(r"""[fFrRbB]{0,2}["'](?:tiles|originals)/""")


def test_blueprints_never_build_storage_keys() -> None:
    offenders = [
        str(path.relative_to(ROOT))
        for path in sources("blueprints")
        if STORAGE_KEY_LITERAL.search(path.read_text())
    ]
    assert offenders == []


def test_the_storage_key_check_can_fail() -> None:
    assert STORAGE_KEY_LITERAL.search('key = f"tiles/{version}/{page}"')
    assert STORAGE_KEY_LITERAL.search("store.get('originals/' + sha)")
    assert not STORAGE_KEY_LITERAL.search('@bp.route("/tiles/<version_key>/<int:page>/overview.webp")')
