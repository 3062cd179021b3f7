"""stubs/ (what mypy knows of huey, Flask-Login, Flask-WTF and XStatic-Leaflet, which ship no
types) says what the installed packages do: a pin moved to a version whose API changed fails
here, not as a wrong type that mypy would trust."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow  # mypy's stubtest against the installed packages

ROOT = Path(__file__).resolve().parent.parent


def test_the_stubs_match_the_installed_packages() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "mypy.stubtest", "huey", "flask_login", "flask_wtf.csrf", "xstatic.pkg.leaflet",
         "--ignore-missing-stub", "--allowlist", "stubs/stubtest-allowlist.txt",
         "--mypy-config-file", "pyproject.toml"],
        cwd=ROOT, env={**os.environ, "MYPYPATH": "stubs"}, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
