"""What the database benchmarks share: say where the figures come from, then run on a
database of their own (a fresh SQLite file, or a new database on the PostgreSQL server
named by --database-url) in a temporary folder."""
from __future__ import annotations

import argparse
import platform
import tempfile
from collections.abc import Callable
from pathlib import Path

from load import own_database  # bench/load.py, beside this script


def on_own_database(args: argparse.Namespace, run: Callable[[argparse.Namespace, str, Path], None]) -> None:
    print(f"{platform.node()} {platform.machine()} python {platform.python_version()}; "
          f"{'PostgreSQL' if args.database_url else 'SQLite'}")  # fmt: skip
    with tempfile.TemporaryDirectory() as folder, own_database(args.database_url) as url:
        run(args, url, Path(folder))
