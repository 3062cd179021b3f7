"""Workers as child processes: a hang, a crash, a memory blow-up, a CPU loop or garbage on
stdout each become a RenderFailed sentence, the parent carries on, and no worker process
outlives the call. Progress arrives in order."""

from __future__ import annotations

import itertools
import os
import signal
import threading
import time
from pathlib import Path

import pytest

from converters import (
    PageResult,
    PdfRejected,
    Progress,
    RenderFailed,
    RenderLimits,
    isolation,
    process,
    render_pages,
    validate_pdf_isolated,
)

pytestmark = pytest.mark.slow  # the render and validation children themselves

CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus"
HANG = CORPUS / "bad-render-hang-structtree-cycle.pdf"
SMALL_PLAN = CORPUS / "plan-conference-centre-lecture-halls-A4-vector.pdf"
QUICK = RenderLimits(page_pixels=500_000, wall_seconds=30)


@pytest.fixture
def worker_pids(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The pids of every worker started during the test."""
    pids: list[int] = []
    original = process.ChildProcess.__init__

    def recording(self: process.ChildProcess, *args: object, **kwargs: object) -> None:
        original(self, *args, **kwargs)  # type: ignore[arg-type]
        pids.append(self.pid)

    monkeypatch.setattr(process.ChildProcess, "__init__", recording)
    return pids


def children_of_this_process() -> list[int]:
    mine = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == os.getpid():
                mine.append(int(entry.name))
    return mine


def assert_all_gone(pids: list[int]) -> None:
    assert pids
    for pid in pids:
        with pytest.raises(ProcessLookupError):
            os.kill(pid, 0)  # reaped, not even a zombie
    assert not set(pids) & set(children_of_this_process())


def test_a_hanging_page_is_stopped_at_the_wall_limit(tmp_path: Path, worker_pids: list[int]) -> None:
    started = time.monotonic()
    with pytest.raises(RenderFailed) as caught:
        render_pages(HANG, tmp_path, [1], limits=RenderLimits(wall_seconds=5))
    assert 5 <= time.monotonic() - started < 15
    assert str(caught.value) == (
        "Page 1 took longer than 5 seconds to render and was stopped. Try exporting the drawing again "
        "from your CAD program, or split it into smaller sheets."
    )
    assert len(worker_pids) == 2
    assert_all_gone(worker_pids)
    assert not (tmp_path / "1").exists()  # no half-written pyramid


def test_a_cpu_loop_is_stopped_by_the_cpu_limit(tmp_path: Path, worker_pids: list[int]) -> None:
    with pytest.raises(RenderFailed, match=r"^Page 1 needed more than 1 seconds of processor time"):
        render_pages(HANG, tmp_path, [1], limits=RenderLimits(cpu_seconds=1, wall_seconds=30, workers=1))
    assert_all_gone(worker_pids)


def test_a_crashing_worker_fails_the_page_not_the_parent(
    tmp_path: Path, worker_pids: list[int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(isolation, "TEST_HOOK", "abort")
    with pytest.raises(RenderFailed, match=r"^The renderer stopped unexpectedly on page 1\. Try exporting"):
        render_pages(SMALL_PLAN, tmp_path, [1], limits=QUICK)
    assert_all_gone(worker_pids)
    monkeypatch.setattr(isolation, "TEST_HOOK", None)
    [result] = render_pages(SMALL_PLAN, tmp_path, [1], limits=QUICK)  # the parent is fine
    assert result.tiles > 0


def test_a_worker_killed_from_outside_fails_the_page(tmp_path: Path, worker_pids: list[int]) -> None:
    # As the kernel's OOM killer would: SIGKILL while the page is still being drawn.
    killer = threading.Timer(1.0, lambda: os.kill(worker_pids[0], signal.SIGKILL))
    killer.start()
    try:
        with pytest.raises(RenderFailed, match=r"^The renderer stopped unexpectedly on page 1"):
            render_pages(HANG, tmp_path, [1], limits=RenderLimits(wall_seconds=20))
    finally:
        killer.cancel()
    assert_all_gone(worker_pids)


def test_the_memory_cap_stops_a_worker(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, worker_pids: list[int]) -> None:
    # The hook allocates twice memory_mb: it only fails if RLIMIT_AS is really in force.
    monkeypatch.setattr(isolation, "TEST_HOOK", "allocate")
    with pytest.raises(RenderFailed) as caught:
        render_pages(SMALL_PLAN, tmp_path, [1], limits=RenderLimits(memory_mb=600))
    assert str(caught.value).startswith("Page 1 needed more memory than the 600 MB allowed to render and was stopped.")
    assert_all_gone(worker_pids)


def test_garbage_on_stdout_fails_the_page(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, worker_pids: list[int]
) -> None:
    monkeypatch.setattr(isolation, "TEST_HOOK", "garbage")
    with pytest.raises(RenderFailed, match="unexpected answer on page 1"):
        render_pages(SMALL_PLAN, tmp_path, [1], limits=QUICK)
    assert_all_gone(worker_pids)


def test_keyboard_interrupt_leaves_no_worker(tmp_path: Path, worker_pids: list[int]) -> None:
    def interrupt(progress: Progress) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        render_pages(SMALL_PLAN, tmp_path, [1], limits=QUICK, on_progress=interrupt)
    assert_all_gone(worker_pids)


def test_workers_get_no_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "not-for-workers")
    monkeypatch.setenv("FLOORPLANS_SECRET_KEY", "not-for-workers")
    child = process.ChildProcess({"task": "environment"}, memory_mb=1024, cpu_seconds=10)
    try:
        [(_, message)] = [item for item in process.exchange([child], time.monotonic() + 20) if item[1]]
    finally:
        child.close()
    assert message["event"] == "environment"
    assert set(message["names"]) <= {"PATH", "LANG", "PYTHONPATH", "PWD", "LC_CTYPE"}
    assert "AWS_SECRET_ACCESS_KEY" not in message["names"]


def test_the_limits_are_in_force_in_the_worker() -> None:
    child = process.ChildProcess({"task": "environment"}, memory_mb=700, cpu_seconds=9, cpu_total=40)
    try:
        limits = Path(f"/proc/{child.pid}/limits").read_text()
        list(process.exchange([child], time.monotonic() + 20))
    finally:
        child.close()
    assert "Max address space         734003200" in limits
    assert "Max cpu time              9                    45" in limits
    assert "Max core file size        0                    0" in limits


def test_progress_arrives_in_order_and_reaches_the_total(tmp_path: Path) -> None:
    seen: list[Progress] = []
    path = CORPUS / "plan-assembly-hall-raster-5pages-mixed-sizes.pdf"
    results = render_pages(path, tmp_path, [2, 5], limits=QUICK, on_progress=seen.append)
    assert [result.number for result in results] == [2, 5]
    assert [result.directory.name for result in results] == ["2", "5"]
    assert seen
    for before, after in itertools.pairwise(seen):
        assert after.tiles_done >= before.tiles_done
        assert after.tiles_total >= before.tiles_total
        assert after.pages_done >= before.pages_done
    assert all(step.tiles_done <= step.tiles_total and step.pages_total == 2 for step in seen)
    assert [step.page_number for step in seen] == sorted(step.page_number for step in seen)
    total = sum(result.tiles for result in results)
    assert (seen[-1].pages_done, seen[-1].tiles_done, seen[-1].tiles_total) == (2, total, total)


def test_each_page_is_handed_over_when_complete(tmp_path: Path, worker_pids: list[int]) -> None:
    """on_page gets each page once it is whole, before the next one is rendered, and an
    exception it raises stops the render with no worker left behind."""
    path = CORPUS / "plan-assembly-hall-raster-5pages-mixed-sizes.pdf"
    handed: list[tuple[int, list[int]]] = []

    def take(result: PageResult) -> None:
        assert (result.directory / "overview.webp").exists()
        assert sum(1 for _ in result.directory.rglob("*.webp")) == result.tiles + 1
        handed.append((result.number, sorted(int(folder.name) for folder in (tmp_path / "all").iterdir()
                                                  if folder.is_dir())))

    results = render_pages(path, tmp_path / "all", [2, 4, 5], limits=QUICK, on_page=take)
    assert handed == [(2, [2]), (4, [2, 4]), (5, [2, 4, 5])]  # the next page not yet begun
    assert [result.number for result in results] == [2, 4, 5]

    class Refused(Exception):
        pass

    def refuse(result: PageResult) -> None:
        handed.append((result.number, []))
        raise Refused

    handed.clear()
    with pytest.raises(Refused):
        render_pages(path, tmp_path / "refused", [1, 2, 3], limits=QUICK, on_page=refuse)
    assert [number for number, _ in handed] == [1]
    assert_all_gone(worker_pids)


def test_isolated_validation_survives_a_crash(monkeypatch: pytest.MonkeyPatch, worker_pids: list[int]) -> None:
    monkeypatch.setattr(isolation, "TEST_HOOK", "abort")
    with pytest.raises(PdfRejected, match="could not be read safely"):
        validate_pdf_isolated(SMALL_PLAN)
    assert_all_gone(worker_pids)


def test_isolated_validation_has_a_time_limit(monkeypatch: pytest.MonkeyPatch, worker_pids: list[int]) -> None:
    monkeypatch.setattr(isolation, "TEST_HOOK", "hang")
    started = time.monotonic()
    with pytest.raises(PdfRejected, match="within 1 seconds"):
        validate_pdf_isolated(SMALL_PLAN, timeout=1.0)
    assert time.monotonic() - started < 5
    assert_all_gone(worker_pids)


def test_a_page_that_hangs_mupdf_is_refused_at_validation_naming_it(worker_pids: list[int]) -> None:
    """Validation reads each page as the render workers will (a display list): a file on
    which MuPDF hangs is refused when the partner uploads it, not after a render worker has
    spent its whole time limit on it."""
    started = time.monotonic()
    with pytest.raises(PdfRejected) as caught:
        validate_pdf_isolated(HANG, page_seconds=3.0)
    assert time.monotonic() - started < 8  # the page's limit, not the whole check's 20 s
    assert caught.value.message.startswith(
        "Page 1 of this PDF was still being read after 3 seconds, so the file was refused"
    )
    assert_all_gone(worker_pids)
    with pytest.raises(PdfRejected, match="within 2 seconds"):  # the whole check's limit still holds
        validate_pdf_isolated(HANG, timeout=2.0)


def test_render_workers_run_below_the_callers_priority(tmp_path: Path, worker_pids: list[int]) -> None:
    niceness: list[int] = []

    def look(_: Progress) -> None:
        if not niceness:  # the workers are running: they sent progress
            niceness.extend(os.getpriority(os.PRIO_PROCESS, pid) for pid in worker_pids[-QUICK.workers:])

    render_pages(SMALL_PLAN, tmp_path, [1], limits=QUICK, on_progress=look)
    assert niceness == [isolation.RENDER_NICE] * QUICK.workers == [10, 10]
    niceness.clear()
    render_pages(SMALL_PLAN, tmp_path / "again", [1], limits=QUICK, on_progress=look, nice=15)
    assert niceness == [15, 15]


def test_validation_keeps_the_callers_priority(monkeypatch: pytest.MonkeyPatch) -> None:
    # The partner who uploaded waits for it; it has its own time limit.
    seen: list[int] = []
    original = process.ChildProcess.send

    def send(self: process.ChildProcess, message: dict[str, object]) -> None:
        seen.append(os.getpriority(os.PRIO_PROCESS, self.pid))
        original(self, message)

    monkeypatch.setattr(process.ChildProcess, "send", send)
    validate_pdf_isolated(SMALL_PLAN)
    assert seen == [os.getpriority(os.PRIO_PROCESS, 0)]
