"""Fuzzing the upload validation and the renderer entry with thousands of deterministic
mutations of small PDFs (tests/security/fuzzing.py; input n is always the same bytes).

The in-process pass runs in a child process of its own, so that MuPDF crashing or hanging
on an input costs that child, is named by its input number, and the pass goes on after it.
Every input that surprised the in-process validator (an exception other than PdfRejected, a
crash, a hang) then goes through ``validate_pdf_isolated``, the one the app runs, which
must answer with a refusal or a summary.  A handful go through the isolated renderer."""

from __future__ import annotations

import json
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

import converters
from converters.validate import UploadLimits
from tests.security.fuzzing import SEED, mutant

pytestmark = pytest.mark.slow  # thousands of mutants through MuPDF and the isolated renderer

ROOT = Path(__file__).resolve().parents[2]
INPUTS = 3000
LIMITS = UploadLimits(max_page_pixels=4_000_000)


def fuzz_validation(progress: Path) -> dict[str, Any]:
    """Validate inputs 0..INPUTS-1 in child processes, resuming after any input that kills one."""
    accepted: list[int] = []
    surprises: list[list[Any]] = []
    refused, slowest, start = 0, 0.0, 0
    while start < INPUTS:
        child = subprocess.run(
            [sys.executable, "-m", "tests.security.fuzzing", str(start), str(INPUTS - start), str(progress)],
            # MuPDF's warnings on stderr quote the mutant's bytes, which need not be UTF-8.
            cwd=ROOT, capture_output=True, text=True, errors="replace", timeout=120, check=False,
        )
        if child.returncode == 0:
            result = json.loads(child.stdout.strip().splitlines()[-1])
            accepted += result["accepted"]
            refused += result["refused"]
            surprises += result["surprises"]
            slowest = max(slowest, result["slowest"])
            break
        last = int(progress.read_text().split()[-1])
        surprises.append([last, f"the validating process died ({child.returncode})"])
        start = last + 1
    return {"accepted": accepted, "refused": refused, "surprises": surprises, "slowest": slowest}


@pytest.fixture(scope="module")
def fuzzed(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    return fuzz_validation(tmp_path_factory.mktemp("fuzz") / "progress")


def test_thousands_of_mutants_get_a_summary_or_a_refusal(fuzzed: dict[str, Any], tmp_path: Path) -> None:
    assert len(fuzzed["accepted"]) + fuzzed["refused"] + len(fuzzed["surprises"]) >= INPUTS
    assert fuzzed["refused"] > INPUTS // 4 and len(fuzzed["accepted"]) > INPUTS // 10  # the mutants mean something
    assert fuzzed["slowest"] < 5.0
    # Whatever surprised MuPDF in-process, the isolated validator the app uses refuses cleanly.
    messages = []
    for index, _what in fuzzed["surprises"][:30]:
        path = tmp_path / f"mutant-{index}.pdf"
        path.write_bytes(mutant(index))
        try:
            converters.validate_pdf_isolated(path, LIMITS, timeout=10)
        except converters.PdfRejected as rejected:
            messages.append(str(rejected))
    assert all(m.strip() and "Traceback" not in m for m in messages), messages


def test_in_process_validation_raises_nothing_but_a_refusal(fuzzed: dict[str, Any]) -> None:
    assert fuzzed["surprises"] == []


def test_the_isolated_renderer_survives_mutants(fuzzed: dict[str, Any], tmp_path: Path) -> None:
    rng = random.Random(SEED)
    accepted = set(fuzzed["accepted"])
    chosen = rng.sample(sorted(accepted), 6) + rng.sample(sorted(set(range(INPUTS)) - accepted), 3)
    limits = converters.RenderLimits(page_pixels=250_000, wall_seconds=15, cpu_seconds=15, memory_mb=1024, workers=1)
    outcomes, failures = [], []
    for index in chosen:
        pdf = tmp_path / f"{index}.pdf"
        pdf.write_bytes(mutant(index))
        started = time.monotonic()
        try:
            results = converters.render_pages(pdf, tmp_path / f"out-{index}", [1], limits=limits)
        except converters.RenderFailed as failed:
            outcomes.append("failed")
            failures.append(str(failed))
        else:
            outcomes.append("rendered")
            assert results[0].tiles >= 1 and (results[0].directory / "overview.webp").exists()
        assert time.monotonic() - started < 30, index
    assert "rendered" in outcomes  # the valid mutants do render
    assert all(m.startswith(("Page 1", "The renderer")) for m in failures), failures
