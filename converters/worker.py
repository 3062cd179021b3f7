"""The child's entry point, ``python -m converters.worker``: read one JSON job on stdin,
do it, and answer in JSON lines on stdout (the front that reads the job, routes it and
turns failures into ``error`` lines is converters.child, shared with the picture reader).

The first stdin line is the job. ``{"task": "validate", "pdf": path, "limits": {...}}``
answers ``checking`` as each page's checks begin, then ``summary`` or ``rejected``.
``{"task": "labels", "pdf", "pages", "work_dir", "ocr_seconds", "cpu_seconds"}`` answers
``checking`` and then ``labels`` for each page (converters.rooms), without drawing anything.
``{"task": "render", "pdf", "index", "workers", "page_pixels", "target_dpi",
"cpu_seconds", "ocr_seconds"}`` then reads one line per page, ``{"page",
"page_dir"}``, and answers each with ``geometry``, ``tiles`` after each band, and ``done``;
it exits when stdin closes, so a job's pages share one interpreter start. The last
worker also writes each page's room labels (converters.rooms) beside the page's folder.

Runs with the limits set by converters.process; must not import Flask, SQLAlchemy,
storage, floorplans or converters.isolation."""

from __future__ import annotations

import json
import os
import resource
import sys
import time
from dataclasses import asdict
from pathlib import Path
from typing import Any, TextIO

from converters.child import emit, serve


def _test_hook(job: dict[str, Any], channel: TextIO) -> None:
    """Failures the test suite provokes on purpose (converters.isolation.TEST_HOOK)."""
    name, memory_mb = job.get("test_hook"), int(job.get("memory_mb", 1024))
    if name == "abort":
        os.abort()
    if name == "allocate":
        hoard = []
        for _ in range(2 * memory_mb):
            hoard.append(bytearray(1024 * 1024))
    if name == "hang":
        while True:
            time.sleep(1)
    if name == "garbage":
        channel.write("<html>not a protocol line</html>\n")
        channel.flush()


def _test_page_hook(name: str | None, page: int) -> None:
    """Per page: "hang_pages" hangs on every page, as MuPDF does on some hostile files;
    "slow_then_hang" answers page 1 slowly (a second and more between bands, so the job
    saves progress at each) and hangs on every later page (tests/floorplans/test_jobs.py
    runs the job worker through it). Validation is left alone by both."""
    if name == "hang_pages" or (name == "slow_then_hang" and page > 1):
        _hang()
    if name == "slow_then_hang":
        time.sleep(1.2)


def _hang() -> None:
    """Hang as MuPDF does, but asleep (a real hang spins, and RLIMIT_CPU ends it): until the
    parent kills this process, or dies itself (a test kills its job worker), so that no test
    leaves a sleeping child behind for good."""
    parent = os.getppid()
    while os.getppid() == parent:
        time.sleep(1)
    os._exit(0)


def _validate(job: dict[str, Any], channel: TextIO) -> None:
    from converters.errors import PdfRejected
    from converters.validate import UploadLimits, validate_pdf

    data = Path(job["pdf"]).read_bytes()
    try:
        summary = validate_pdf(
            data, UploadLimits(**job["limits"]), on_page=lambda number: emit(channel, "checking", page=number)
        )
    except PdfRejected as rejection:
        emit(channel, "rejected", message=rejection.message)
        return
    emit(channel, "summary", summary=asdict(summary))


def _render(job: dict[str, Any], channel: TextIO) -> None:
    """Render this worker's share of each page named on the following stdin lines."""
    import pymupdf

    from converters import tiling
    from converters.render import PageRenderer, render_share

    document = pymupdf.open(job["pdf"], filetype="pdf")  # never sniffed as an image or HTML
    hook = job.get("test_hook")
    for line in sys.stdin:
        command = json.loads(line)
        _allow_cpu(job["cpu_seconds"])
        if hook:
            _test_page_hook(hook, command["page"])
        renderer = PageRenderer(document, command["page"])
        plan = renderer.plan(job["page_pixels"], job["target_dpi"])
        page_dir = Path(command["page_dir"])
        emit(
            channel,
            "geometry",
            page=plan.number,
            kind=plan.kind,
            dpi=plan.dpi,
            width=plan.width,
            height=plan.height,
            max_zoom=plan.max_zoom,
            background=tiling.hex_colour(plan.background),
            tiles_total=plan.tiles,
            overview_width=plan.overview_width,
            overview_height=plan.overview_height,
        )
        overview_bytes = 0
        if job["index"] == job["workers"] - 1:  # the other workers claim more bands meanwhile
            data = tiling.encode_webp(renderer.overview(), tiling.OVERVIEW_OPTIONS)
            tiling.write_atomic(page_dir / f"overview.{tiling.FORMAT}", data)
            overview_bytes = len(data)
            if job.get("labels", True):
                _labels(renderer, plan.number, page_dir, float(job.get("ocr_seconds", 40.0)))
        def band_done(done: int, _bytes: int, number: int = plan.number) -> None:
            if hook:
                _test_page_hook(hook, number)
            emit(channel, "tiles", page=number, done=done)

        tiles, written = render_share(renderer, plan, page_dir, band_done)
        del renderer
        emit(
            channel, "done", page=plan.number, tiles=tiles, bytes=written + overview_bytes, peak_rss_mb=_peak_rss_mb()
        )


def _read_labels(job: dict[str, Any], channel: TextIO) -> None:
    """Only the room labels of ``job["pages"]`` (a version rendered before labels were read:
    its tiles stay as they are), one ``labels`` line per page."""
    import pymupdf

    from converters import rooms

    document = pymupdf.open(job["pdf"], filetype="pdf")
    for number in job["pages"]:
        _allow_cpu(job["cpu_seconds"])
        emit(channel, "checking", page=number)
        page = document.load_page(number - 1)
        labels = rooms.page_labels(page, number, Path(job["work_dir"]), ocr_seconds=float(job["ocr_seconds"]))
        emit(channel, "labels", page=number, labels=labels.as_json())


def _labels(renderer: Any, number: int, page_dir: Path, ocr_seconds: float) -> None:
    """The page's room labels, written beside its folder (converters.rooms.labels_path),
    read from the display list the renderer recorded. Never fails the page: labels that
    cannot be read are "failed" and the tiles go on."""
    from converters import rooms

    try:
        labels = rooms.page_labels(renderer.page, number, page_dir.parent, ocr_seconds=ocr_seconds,
                                   display_list=renderer.display_list)
    except Exception as error:  # noqa: BLE001 - a page without labels is still a plan
        print(f"page {number}: labels not read: {type(error).__name__}: {error}"[:300], file=sys.stderr)
        labels = rooms.PageLabels(number, "failed")
    rooms.write_page_labels(rooms.labels_path(page_dir), labels)


def _peak_rss_mb() -> float:
    """This process's peak resident memory since exec (VmHWM). The parent's ru_maxrss
    would also count the parent's pages the child shared between fork and exec."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _allow_cpu(seconds: int) -> None:
    """Give the coming page ``seconds`` of CPU on top of what this process has used.

    The parent set the hard limit before exec (``seconds`` times the number of pages), so
    this only moves the soft limit (SIGXCPU) within it: a worker serves several pages, and
    the per-page allowance is what the limit means."""
    used = resource.getrusage(resource.RUSAGE_SELF)
    spent = int(used.ru_utime + used.ru_stime) + 1
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    soft = spent + seconds
    if hard != resource.RLIM_INFINITY:
        soft = min(soft, hard)
    resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))


def _environment(job: dict[str, Any], channel: TextIO) -> None:
    """Test-only: report the names of the environment variables the worker received."""
    emit(channel, "environment", names=sorted(os.environ))


if __name__ == "__main__":
    # PyMuPDF's optional extras are kept out by converters/__init__.py, which `python -m
    # converters.worker` runs first (~0.6 s of every worker's start, and ~90 MB).
    serve(
        {"validate": _validate, "render": _render, "labels": _read_labels, "environment": _environment},
        failure_kind="pdf",
        test_hook=_test_hook,
    )
