"""What a web process and a job carry: PyMuPDF 2's optional layout analysis and Markdown
extraction (pymupdf.layout, pymupdf4llm, and with them onnxruntime and numpy, ~90 MB) are
installed by its dependencies but never loaded (converters/__init__.py)."""
from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # new Python processes measured

ROOT = Path(__file__).resolve().parent.parent
HEAVY = ("numpy", "onnxruntime")


def _loaded_after(code: str, tmp_path: Path) -> list[str]:
    script = textwrap.dedent(code) + textwrap.dedent(f"""
        import sys
        print("loaded:" + ",".join(m for m in {HEAVY!r} if sys.modules.get(m) is not None))
    """)
    done = subprocess.run([sys.executable, "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=120,
                          env={"FLOORPLANS_INSTANCE_PATH": str(tmp_path), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    return [name for name in done.stdout.strip().splitlines()[-1].removeprefix("loaded:").split(",") if name]


def test_the_web_app_does_not_load_pymupdfs_optional_extras(tmp_path: Path) -> None:
    loaded = _loaded_after(f"""
        from floorplans import create_app
        app = create_app({{"SECRET_KEY": "k" * 40, "SQLALCHEMY_DATABASE_URI": "sqlite:///{tmp_path}/app.db"}})
        import pymupdf
        from converters import render, validate, labels, titles, packet, pictures, plan_drawing
        from floorplans import demo_plan
        demo_plan.demo_plan_pdf()
    """, tmp_path)
    assert loaded == []


def test_a_render_worker_does_not_load_them(tmp_path: Path) -> None:
    assert _loaded_after("import converters.worker, pymupdf", tmp_path) == []
