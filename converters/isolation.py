"""The parent-side API: validate or render a PDF in child processes so that MuPDF crashing,
hanging or eating memory on a hostile file costs a worker, never the web process or the
job runner.

``render_pages`` renders pages one after another, each by ``RenderLimits.workers``
processes that share its bands (converters.render), merges their progress and turns every
way a worker can fail into a ``RenderFailed`` sentence naming the page and what to do.
Whatever happens (including KeyboardInterrupt) no worker outlives the call.

Must not import pymupdf or PIL (the parent never opens the PDF), nor Flask, SQLAlchemy,
storage or floorplans."""

from __future__ import annotations

import logging
import shutil
import signal
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from converters import rooms
from converters.errors import PdfRejected, RenderFailed
from converters.process import (
    ChildProcess,
    Outcome,
    ProtocolError,
    WallTimeout,
    ask,
    exchange,
    out_of_memory,
)
from converters.results import DEFAULT_RENDER_LIMITS, PageResult, Progress, RenderLimits
from converters.tiling import CLAIMS_FOLDER, FORMAT, TILE_SIZE
from converters.validate import DEFAULT_UPLOAD_LIMITS, PageSummary, PdfSummary, UploadLimits, check_size

logger = logging.getLogger(__name__)

# Set by tests only, to make workers fail on purpose (see converters.worker._test_hook).
TEST_HOOK: str | None = None

# Render workers' scheduling priority (0 = the caller's, 19 = the lowest). Rendering is
# background work sharing its cores with the web processes on a small machine: at 10, a
# busy web process gets ~90% of a contended core (Linux CFS weights 1024 against 110),
# and the workers still have every idle cycle. Validation keeps the caller's priority:
# the partner who uploaded waits for it, and it is bounded by its own time limit.
RENDER_NICE = 10
_TRY_AGAIN = "Try exporting the drawing again from your CAD program, or split it into smaller sheets."
_GEOMETRY_FIELDS = (
    "kind", "dpi", "width", "height", "max_zoom", "background", "tiles_total",
    "overview_width", "overview_height",
)  # fmt: skip


def _job(fields: dict[str, Any], memory_mb: int) -> dict[str, Any]:
    job = {**fields, "memory_mb": memory_mb}
    if TEST_HOOK:
        job["test_hook"] = TEST_HOOK
    return job


def _failure_message(number: int, outcome: Outcome, error: dict[str, Any] | None, limits: RenderLimits) -> str:
    """Why a worker that ended without ``done`` failed, in words for the partner."""
    if out_of_memory(outcome, error):
        return (
            f"Page {number} needed more memory than the {limits.memory_mb} MB allowed to render "
            f"and was stopped. {_TRY_AGAIN}"
        )
    if outcome.returncode == -signal.SIGXCPU:
        return (
            f"Page {number} needed more than {limits.cpu_seconds} seconds of processor time to "
            f"render and was stopped. {_TRY_AGAIN}"
        )
    if error is not None:
        return (
            f"Page {number} could not be drawn because part of the PDF is damaged. "
            "Try exporting the drawing again from your CAD program (or print it to PDF) and upload the new file."
        )
    return (
        f"The renderer stopped unexpectedly on page {number}. Try exporting the drawing again "
        "from your CAD program (or print it to PDF) and upload the new file."
    )


class _Workers:
    """The worker processes of one ``render_pages`` call, reused from page to page (a
    worker's interpreter start, PyMuPDF's import and the document's opening are paid once
    per call, not once per page)."""

    def __init__(self, pdf_path: Path, page_count: int, limits: RenderLimits, nice: int) -> None:
        self.limits = limits
        self.children: list[ChildProcess] = []
        try:
            for index in range(limits.workers):
                fields = {
                    "task": "render",
                    "pdf": str(pdf_path),
                    "index": index,
                    "workers": limits.workers,
                    "page_pixels": limits.page_pixels,
                    "target_dpi": limits.target_dpi,
                    "cpu_seconds": limits.cpu_seconds,
                    # OCR of a scanned page (converters.rooms) gets a third of the page's
                    # time; past it the page keeps its tiles without OCR labels.
                    "ocr_seconds": limits.wall_seconds / 3,
                    "labels": limits.labels,
                }
                self.children.append(
                    ChildProcess(
                        _job(fields, limits.memory_mb),
                        memory_mb=limits.memory_mb,
                        cpu_seconds=limits.cpu_seconds,
                        cpu_total=limits.cpu_seconds * page_count,
                        nice=nice,
                    )
                )
        except BaseException:
            self.close()
            raise

    def close(self) -> None:
        for child in self.children:
            child.close()

    def finish(self, deadline: float) -> None:
        """Let the workers exit on their own (they are idle), then log what they cost."""
        for child in self.children:
            child.end_input()
        for index, child in enumerate(self.children):
            outcome = child.reap(timeout=max(0.0, deadline - time.monotonic()))
            logger.debug(
                "worker %d: %s, %.2f s CPU", index, outcome.describe(), outcome.cpu_seconds,
                extra={"worker_stats": {"index": index, **asdict(outcome)}},
            )  # fmt: skip
            summary = child.stderr_summary()
            if summary:
                logger.info("worker %d: %s", index, summary)

    def render_page(self, number: int, page_dir: Path, report: Callable[[int, int, int], None]) -> PageResult:
        """Render one page; ``report(number, tiles_done, tiles_total_of_page)`` after every
        message that moves progress. Raises RenderFailed, leaving no partial page."""
        limits = self.limits
        shutil.rmtree(page_dir, ignore_errors=True)
        page_dir.mkdir(parents=True)
        geometry: dict[str, Any] | None = None
        tiles: dict[ChildProcess, int] = {}
        done: dict[ChildProcess, dict[str, Any]] = {}
        deadline = time.monotonic() + limits.wall_seconds
        for child in self.children:
            child.send({"page": number, "page_dir": str(page_dir)})
        try:
            for child, message in exchange(self.children, deadline):
                if message is None or message["event"] == "error":
                    # The worker is exiting: give it what is left of the time to finish.
                    outcome = child.reap(timeout=max(0.0, deadline - time.monotonic()))
                    logger.warning(
                        "page %d: worker ended with %s (%s) %s",
                        number, outcome.describe(), (message or {}).get("detail", "no message"),
                        child.stderr_summary(),
                    )  # fmt: skip
                    raise RenderFailed(_failure_message(number, outcome, message, limits))
                event = message["event"]
                if message.get("page") != number:
                    raise ProtocolError(f"message about page {message.get('page')!r}")
                if event == "geometry":
                    fields = {key: message.get(key) for key in _GEOMETRY_FIELDS}
                    if geometry is None:
                        geometry = fields
                        report(number, 0, geometry["tiles_total"])
                    elif fields != geometry:
                        raise ProtocolError("workers disagree on the page geometry")
                elif event == "tiles" and geometry is not None:
                    tiles[child] = int(message["done"])
                    report(number, sum(tiles.values()), geometry["tiles_total"])
                elif event == "done" and geometry is not None:
                    done[child] = message
                    stats = {
                        "page": number,
                        "index": self.children.index(child),
                        "peak_rss_mb": message.get("peak_rss_mb"),
                    }
                    logger.debug(
                        "page %(page)d worker %(index)d: peak RSS %(peak_rss_mb).0f MB",
                        stats,
                        extra={"page_stats": stats},
                    )
                    if len(done) == len(self.children):
                        break
                else:
                    raise ProtocolError(f"unexpected {event!r}")
            else:
                raise ProtocolError("the workers stopped answering")
            assert geometry is not None
            shutil.rmtree(page_dir / CLAIMS_FOLDER, ignore_errors=True)
            result = _page_result(number, page_dir, geometry, list(done.values()))
            if result.tiles != geometry["tiles_total"]:
                raise ProtocolError("the tile count does not add up")
            return result
        except WallTimeout:
            failure = RenderFailed(
                f"Page {number} took longer than {limits.wall_seconds:.0f} seconds to render and was "
                f"stopped. {_TRY_AGAIN}"
            )
        except ProtocolError as error:
            logger.warning("page %d: worker protocol error: %s", number, error)
            failure = RenderFailed(
                f"The renderer gave an unexpected answer on page {number} and was stopped. Try exporting "
                "the drawing again from your CAD program (or print it to PDF) and upload the new file."
            )
        except BaseException:
            self.close()
            shutil.rmtree(page_dir, ignore_errors=True)
            raise
        self.close()
        shutil.rmtree(page_dir, ignore_errors=True)
        raise failure


def _page_result(number: int, page_dir: Path, geometry: dict[str, Any], done: list[dict[str, Any]]) -> PageResult:
    return PageResult(
        number=number,
        width=geometry["width"],
        height=geometry["height"],
        tile_size=TILE_SIZE,
        min_zoom=0,
        max_zoom=geometry["max_zoom"],
        format=FORMAT,
        kind=geometry["kind"],
        dpi=geometry["dpi"],
        background=geometry["background"],
        tiles=sum(message["tiles"] for message in done),
        bytes=sum(message["bytes"] for message in done),
        directory=page_dir,
        overview_width=geometry["overview_width"],
        overview_height=geometry["overview_height"],
    )


def render_pages(
    pdf_path: Path,
    out_dir: Path,
    page_numbers: Sequence[int],
    *,
    limits: RenderLimits = DEFAULT_RENDER_LIMITS,
    on_progress: Callable[[Progress], None] | None = None,
    on_page: Callable[[PageResult], None] | None = None,
    nice: int = RENDER_NICE,
) -> list[PageResult]:
    """Render ``page_numbers`` (1-based) of ``pdf_path`` into ``out_dir/<number>/``.

    The workers run at scheduling priority ``nice`` (see RENDER_NICE).

    ``on_page(result)`` is called with each page as soon as it is complete, before the
    workers start the next: the caller can store it meanwhile (it must return quickly; an
    exception it raises stops the render).

    Raises ``RenderFailed`` on the first page that fails, after removing that page's
    partial output; pages already rendered stay. ``Progress.tiles_total`` counts the pages
    whose geometry is known so far (see converters.results.Progress). ``bytes`` of a
    result counts everything in its directory, overview included."""
    if any(number < 1 for number in page_numbers):
        raise ValueError(f"page numbers start at 1: {list(page_numbers)}")
    pdf_path, out_dir = Path(pdf_path).resolve(), Path(out_dir).resolve()
    results: list[PageResult] = []
    finished_tiles = 0

    def report(number: int, page_done: int, page_total: int) -> None:
        if on_progress is not None:
            on_progress(
                Progress(
                    page_number=number,
                    pages_done=len(results),
                    pages_total=len(page_numbers),
                    tiles_done=finished_tiles + page_done,
                    tiles_total=finished_tiles + page_total,
                )
            )

    if not page_numbers:
        return results
    workers = _Workers(pdf_path, len(page_numbers), limits, nice)
    try:
        for number in page_numbers:
            result = workers.render_page(number, out_dir / str(number), report)
            results.append(result)
            finished_tiles += result.tiles
            if on_page is not None:
                on_page(result)
            report(number, 0, 0)
        workers.finish(time.monotonic() + limits.wall_seconds)
    finally:
        workers.close()
    return results


def validate_pdf_isolated(
    path: Path,
    limits: UploadLimits = DEFAULT_UPLOAD_LIMITS,
    *,
    timeout: float = 20.0,
    page_seconds: float = 8.0,
    memory_mb: int = 1024,
) -> PdfSummary:
    """``validate_pdf`` in a child process: a crash, hang or memory blow-up while MuPDF
    parses the file becomes a ``PdfRejected`` instead of taking the web process down.

    ``timeout`` bounds the whole check, ``page_seconds`` each page's (the child says when
    it starts one). Reading a page is what every render worker does first and takes under
    0.1 s for the corpus's largest sheets, ~1 s on a loaded machine; a page still being read
    after 8 s is a file MuPDF hangs on, and the upload's web request need not wait 20 s for
    it."""
    path = Path(path).resolve()
    check_size(path.stat().st_size, limits)  # refuse a huge file before a child reads it
    fields = {"task": "validate", "pdf": str(path), "limits": asdict(limits)}
    child = ChildProcess(_job(fields, memory_mb), memory_mb=memory_mb, cpu_seconds=max(1, int(timeout) + 1))
    try:
        answer = ask(child, timeout, step_seconds=page_seconds, what=f"validating {path.name}")
    except WallTimeout as stopped:
        page = (stopped.step or {}).get("page")
        if isinstance(page, int):
            # A page still being read at its limit would hold a render worker until the
            # render's own limit (minutes), and this upload's web request meanwhile.
            raise PdfRejected(
                f"Page {page} of this PDF was still being read after {page_seconds:.0f} seconds, so the file was "
                "refused: drawing it would take far longer. Export the drawing again from the program that "
                "made it (or print it to PDF) and upload the new file."
            ) from None
        raise PdfRejected(
            f"We could not finish checking this PDF within {timeout:.0f} seconds, so it was refused. "
            "Export the drawing again from the program that made it (or print it to PDF) and upload the new file."
        ) from None
    if answer.rejection is not None:
        raise PdfRejected(answer.rejection)
    reply = answer.payload("summary")
    if reply is not None:
        fields = reply["summary"]
        pages = tuple(PageSummary(**page) for page in fields.pop("pages"))
        return PdfSummary(pages=pages, **fields)
    logger.warning("validating %s failed: %s %s", path.name, answer.outcome.describe(), answer.detail)
    if answer.out_of_memory:
        raise PdfRejected(
            "This PDF needs more memory to open than we allow, so it was refused. Export the drawing "
            "again with smaller embedded pictures, or split it into several files."
        )
    raise PdfRejected(
        "This PDF could not be read safely; it is probably damaged. Export the drawing again from "
        "the program that made it (or print it to PDF) and upload the new file."
    )


def read_labels_isolated(
    pdf_path: Path,
    page_numbers: Sequence[int],
    *,
    limits: RenderLimits = DEFAULT_RENDER_LIMITS,
    on_page: Callable[[int], None] | None = None,
    nice: int = RENDER_NICE,
) -> list[rooms.PageLabels]:
    """The room labels of ``page_numbers`` (converters.rooms), read in one child process with
    a render worker's limits, nothing drawn: for versions rendered before labels were read.
    A page the child cannot finish (a crash, its time or memory limit) and the pages after
    it are "failed" (no labels); ``on_page(number)`` after each page."""
    pdf_path = Path(pdf_path).resolve()
    found: dict[int, rooms.PageLabels] = {}
    if not page_numbers:
        return []
    with tempfile.TemporaryDirectory(prefix="labels-") as work:
        fields = {
            "task": "labels", "pdf": str(pdf_path), "pages": list(page_numbers), "work_dir": work,
            "ocr_seconds": limits.wall_seconds / 3, "cpu_seconds": limits.cpu_seconds,
        }  # fmt: skip
        child = ChildProcess(_job(fields, limits.memory_mb), memory_mb=limits.memory_mb,
                             cpu_seconds=limits.cpu_seconds, cpu_total=limits.cpu_seconds * len(page_numbers),
                             nice=nice)
        deadline = time.monotonic() + limits.wall_seconds

        def current_deadline() -> float:
            return deadline

        try:
            for _, message in exchange([child], current_deadline):
                if message is None:
                    break
                if message.get("event") == "checking":
                    deadline = time.monotonic() + limits.wall_seconds
                elif message.get("event") == "labels" and isinstance(message.get("page"), int):
                    number = message["page"]
                    found[number] = rooms.PageLabels.from_json(number, message.get("labels") or {})
                    if on_page is not None:
                        on_page(number)
                else:
                    logger.warning("reading labels of %s: %s", pdf_path.name, str(message)[:300])
                    break
        except (WallTimeout, ProtocolError) as error:
            logger.warning("reading labels of %s stopped: %s", pdf_path.name, type(error).__name__)
        finally:
            summary = child.stderr_summary()
            child.close()
        if summary:
            logger.info("reading labels of %s: %s", pdf_path.name, summary)
    return [found.get(number) or rooms.PageLabels(number, "failed") for number in page_numbers]
