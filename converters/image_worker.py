"""The child's entry point for pictures, ``python -m converters.image_worker``: read one
JSON job on stdin, make the picture safe (converters.images) and answer one JSON line.

``{"task": "image", "source": path, "mode": "photo" | "plan", "out": path, "sizes": [...],
"limits": {...}}``: ``photo`` writes ``<size>.webp`` into the folder ``out``, ``plan`` a
one-page PDF at ``out``; the answer is ``image`` (with the result) or ``rejected`` (with the
partner's message). A failure it can catch is an ``error`` line and exit code 4 (3 for
memory); a signal or a hang the parent sees from outside (converters.image_isolation).

Kept apart from converters.worker (the PDF renderer's loop): a photo job is one short
answer, and the two change for different reasons. Only the protocol goes to the real
stdout. Must not import Flask, SQLAlchemy, storage or floorplans."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any, TextIO

EXIT_MEMORY = 3  # keep in step with converters.process
EXIT_ERROR = 4


def _emit(channel: TextIO, event: str, **fields: Any) -> None:
    channel.write(json.dumps({"event": event, **fields}) + "\n")
    channel.flush()


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
        _emit(channel, "rejected", message=rejection.message)
        return
    _emit(channel, "image", result=asdict(result))


def main() -> int:
    channel = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    try:
        job = json.loads(sys.stdin.readline())
        if job.get("test_hook") == "hang":  # tests only: a decoder that never returns
            while True:
                pass
        if job.get("task") != "image":
            raise ValueError(f"unknown task {job.get('task')!r}")
        _image(job, channel)
    except MemoryError:
        _try_emit(channel, "error", kind="memory", detail="MemoryError")
        return EXIT_MEMORY
    except Exception as error:  # noqa: BLE001 - reported to the parent, which words it for people
        detail = f"{type(error).__name__}: {error}"[:500]
        memory = "memory" in detail.lower() or "cannot allocate" in detail.lower()
        _try_emit(channel, "error", kind="memory" if memory else "image", detail=detail)
        return EXIT_MEMORY if memory else EXIT_ERROR
    return 0


def _try_emit(channel: TextIO, event: str, **fields: Any) -> None:
    try:
        _emit(channel, event, **fields)
    except Exception:  # noqa: BLE001, S110 - the exit code still tells the parent what happened
        pass


if __name__ == "__main__":
    code = main()
    sys.stderr.flush()
    os._exit(code)
