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


# No import cycles, even hidden inside functions: a module that must import its importer
# inside a function is two concepts in the wrong homes (issue 16 broke security <-> tile_gate,
# services.reminders <-> templating and storage.base <-> its backends).  create_app, which
# imports everything, and a package's own modules (``blueprints.api`` and its routes) are
# not cycles of concepts.
CYCLE_FREE = ("floorplans", "storage", "converters")


def project_modules(packages: tuple[str, ...]) -> dict[str, Path]:
    modules = {}
    for package in packages:
        for path in sources(package):
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
            modules[name] = path
    return modules


def imports_of(path: Path, known: set[str], *, in_functions_only: bool = False) -> set[str]:
    """The project modules ``path`` imports, wherever (or only inside functions), leaving out
    ``if TYPE_CHECKING:`` blocks, which never run."""
    found: set[str] = set()

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test):
                continue
            inside = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
            if inside or not in_functions_only:
                if isinstance(child, ast.Import):
                    found.update(alias.name for alias in child.names)
                elif isinstance(child, ast.ImportFrom) and child.module and child.level == 0:
                    found.add(child.module)
                    found.update(f"{child.module}.{alias.name}" for alias in child.names)
            visit(child, inside)

    visit(ast.parse(path.read_text(), filename=str(path)), False)
    return found & known


def import_cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def connect(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        for other in sorted(graph[module]):
            if other not in index:
                connect(other)
                low[module] = min(low[module], low[other])
            elif other in stack:
                low[module] = min(low[module], index[other])
        if low[module] == index[module]:
            group = [stack.pop()]
            while group[-1] != module:
                group.append(stack.pop())
            if len(group) > 1:
                cycles.append(sorted(group))

    for module in sorted(graph):
        if module not in index:
            connect(module)
    return cycles


def import_graph(packages: tuple[str, ...]) -> dict[str, set[str]]:
    modules = project_modules(packages)
    modules.pop("floorplans", None)  # create_app
    known = set(modules)

    def family(a: str, b: str) -> bool:
        return a.startswith(b + ".") or b.startswith(a + ".")

    return {name: {other for other in imports_of(path, known) if other != name and not family(name, other)}
            for name, path in modules.items()}


def test_no_import_cycles() -> None:
    assert import_cycles(import_graph(CYCLE_FREE)) == []


def test_the_cycle_check_can_fail(tmp_path: Path) -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert import_cycles(graph) == [["a", "b", "c"]]
    hidden = tmp_path / "hidden.py"
    hidden.write_text("from floorplans import x\n\ndef f():\n    from floorplans import tile_gate\n"
                      "if TYPE_CHECKING:\n    import floorplans.y\n")
    known = {"floorplans", "floorplans.x", "floorplans.y", "floorplans.tile_gate"}
    assert imports_of(hidden, known) == {"floorplans", "floorplans.x", "floorplans.tile_gate"}
    assert imports_of(hidden, known, in_functions_only=True) == {"floorplans", "floorplans.tile_gate"}


# The modules whose cycles were broken import the project at the top, where a cycle fails at
# once, not inside a function, where it hides.
NO_HIDDEN_IMPORTS = ("floorplans/security.py", "floorplans/tile_gate.py", "floorplans/templating.py",
                     "floorplans/services/reminders.py", "floorplans/tile_urls.py", "floorplans/tile_responses.py",
                     "floorplans/tile_links.py", "floorplans/services/plan_tiles.py", "converters/pyramid.py",
                     *(str(path.relative_to(ROOT)) for path in sources("storage")))


def test_no_project_imports_inside_functions_where_cycles_were_broken() -> None:
    known = set(project_modules(("floorplans", "storage", "converters", "blueprints")))
    hidden = {name: sorted(imports_of(ROOT / name, known, in_functions_only=True)) for name in NO_HIDDEN_IMPORTS}
    assert {name: found for name, found in hidden.items() if found} == {}
