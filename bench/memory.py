"""Memory of a web process: the peak RSS of a fresh interpreter after ``create_app()`` (the
same modules a gunicorn worker or a job worker loads), with PyMuPDF 2's optional extras kept
out (as the app does: converters/__init__.py) and, for comparison, loaded the way PyMuPDF
would load them by itself.

    .venv/bin/python bench/memory.py [--repeat 3]
"""
from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SCRIPT = """
import resource, sys
if {with_extras}:
    import pymupdf.layout, pymupdf4llm  # what `import pymupdf` would load by itself
from floorplans import create_app
create_app({{"SECRET_KEY": "k" * 40, "DATABASE_URL": "sqlite:///{folder}/app.db", "INSTANCE_PATH": "{folder}"}})
import pymupdf
loaded = [m for m in ("numpy", "onnxruntime") if sys.modules.get(m) is not None]
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, ",".join(loaded) or "-")
"""


def peak_mb(with_extras: bool) -> tuple[float, str]:
    with tempfile.TemporaryDirectory() as folder:
        done = subprocess.run([sys.executable, "-c", SCRIPT.format(with_extras=with_extras, folder=folder)],
                              cwd=ROOT, capture_output=True, text=True, check=True)
    mb, loaded = done.stdout.split()
    return float(mb), loaded


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    for with_extras in (True, False):
        runs = [peak_mb(with_extras) for _ in range(args.repeat)]
        label = "with pymupdf.layout and pymupdf4llm" if with_extras else "as the app runs (extras kept out)"
        print(f"create_app(), {label:40} {statistics.median(mb for mb, _ in runs):6.0f} MB peak RSS"
              f"  (median of {args.repeat}; also loaded: {runs[0][1]})")


if __name__ == "__main__":
    main()
