"""The child's side of the worker protocol, one front for every entry point
(converters.worker for PDFs, converters.image_worker for pictures): read one JSON job on
stdin, hand it to the task it names, and answer in JSON lines on stdout.

Only the protocol goes to the real stdout: file descriptor 1 is pointed at stderr first,
so MuPDF's, PyMuPDF's and Pillow's chatter can never corrupt it. A failure the child can
catch is an ``error`` line (``kind`` ``memory`` or the entry point's own word) and exit
code 4 (3 for memory); anything else (a signal, a hang) the parent sees from outside
(converters.process).

Imports nothing but the standard library's lightest modules: every worker pays for them
at its start. Must not import Flask, SQLAlchemy, storage, floorplans or the parent's side
(converters.process, converters.isolation)."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable, Mapping
from typing import Any, NoReturn, TextIO

EXIT_MEMORY = 3
EXIT_ERROR = 4
_MEMORY_WORDS = ("out of memory", "malloc", "cannot allocate", "memory")

#: What a task is given: the job, and the channel its answers go to (``emit``).
Task = Callable[[dict[str, Any], TextIO], None]


def emit(channel: TextIO, event: str, **fields: Any) -> None:
    """One protocol line, flushed at once: the parent reads progress as it comes."""
    channel.write(json.dumps({"event": event, **fields}) + "\n")
    channel.flush()


def _try_emit(channel: TextIO, event: str, **fields: Any) -> None:
    try:
        emit(channel, event, **fields)
    except Exception:  # noqa: BLE001, S110 - the exit code still tells the parent what happened
        pass


def _serve(tasks: Mapping[str, Task], failure_kind: str, test_hook: Task) -> int:
    channel = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)
    sys.stdout = sys.stderr
    try:
        job = json.loads(sys.stdin.readline())
        test_hook(job, channel)
        task = tasks.get(job.get("task"))
        if task is None:
            raise ValueError(f"unknown task {job.get('task')!r}")
        task(job, channel)
    except MemoryError:
        _try_emit(channel, "error", kind="memory", detail="MemoryError")
        return EXIT_MEMORY
    except Exception as error:  # noqa: BLE001 - reported to the parent, which words it for people
        detail = f"{type(error).__name__}: {error}"[:500]
        memory = any(word in detail.lower() for word in _MEMORY_WORDS)
        _try_emit(channel, "error", kind="memory" if memory else failure_kind, detail=detail)
        return EXIT_MEMORY if memory else EXIT_ERROR
    return 0


def serve(tasks: Mapping[str, Task], *, failure_kind: str, test_hook: Task) -> NoReturn:
    """Do the job on stdin with the task it names, then exit.

    ``failure_kind`` is the ``kind`` of an ``error`` line that is not about memory (what
    the child was reading: ``pdf``, ``image``); ``test_hook`` runs first with the job, for
    the failures the test suite provokes on purpose (``job["test_hook"]``)."""
    code = _serve(tasks, failure_kind, test_hook)
    sys.stderr.flush()
    # Everything the parent needs is written and flushed; skipping the interpreter's and
    # MuPDF's teardown saves ~0.1 s per worker, which the parent would wait for.
    os._exit(code)
