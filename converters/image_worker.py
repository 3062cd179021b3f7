"""The child's entry point for pictures, ``python -m converters.image_worker``: read one
JSON job on stdin, make the picture safe (converters.images) and answer one JSON line.

``{"task": "image", "source": path, "mode": "photo" | "plan", "out": path, "sizes": [...],
"limits": {...}}``: ``photo`` writes ``<size>.webp`` into the folder ``out``, ``plan`` a
one-page PDF at ``out``; the answer is ``image`` (with the result) or ``rejected`` (with the
partner's message). The front (reading the job, ``error`` lines, exit codes) is
converters.child, shared with the PDF renderer; a signal or a hang the parent sees from
outside (converters.image_isolation).

Kept apart from converters.worker (the PDF renderer's tasks): a photo job is one short
answer, and the two change for different reasons. Must not import Flask, SQLAlchemy,
storage or floorplans."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any, TextIO

from converters.child import emit, serve


def _image(job: dict[str, Any], channel: TextIO) -> None:
    from converters import images
    from converters.errors import ImageRejected

    data = Path(job["source"]).read_bytes()
    limits = images.ImageLimits(**job["limits"])
    try:
        if job["mode"] == "photo":
            result: Any = images.photo_sizes(data, Path(job["out"]), job["sizes"], limits)
        else:
            result = images.image_pdf(data, Path(job["out"]), limits)
    except ImageRejected as rejection:
        emit(channel, "rejected", message=rejection.message)
        return
    emit(channel, "image", result=asdict(result))


def _test_hook(job: dict[str, Any], channel: TextIO) -> None:
    if job.get("test_hook") == "hang":  # tests only: a decoder that never returns
        while True:
            pass


if __name__ == "__main__":
    serve({"image": _image}, failure_kind="image", test_hook=_test_hook)
