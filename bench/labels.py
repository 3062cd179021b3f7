"""Proposed floor names: the name and kind proposed for every page of every corpus plan,
next to what the sheet's title really says (read off the rendered sheets by a person and
written down below), and the time the proposal adds to validating an upload.

For each page it prints a Markdown row: file, page, proposed name, kind, the title as
printed, and the verdict: "right" (the name an officer should read: the floor, or the
sheet's own title), "wrong", or "picture" (the title exists only in the pixels of a scan or
a raster export: with no text to read, "Sheet n" is the best a proposal can do). Then the
counts, and per file the CPU time of reading the pages' text (converters.titles.read_sheet,
per page) and of the document-level proposal (converters.labels.propose), medians of
--repeat runs, next to the whole in-process validate_pdf for scale. CPU time rather than
wall time: the figures then hold on a machine busy with other work. Figures, never
pass/fail.

    .venv/bin/python bench/labels.py [--repeat 5] [--only SUBSTRING]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import pymupdf

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
CORPUS = ROOT.parent / "shared" / "corpus"

from converters.labels import propose  # noqa: E402
from converters.titles import read_sheet  # noqa: E402
from converters.validate import validate_pdf  # noqa: E402

PICTURE = "(picture) "
# What each sheet's title says, page by page, and the name an officer should read. Titles
# of CAD sets are the title block's; "(picture)" titles are only in the pixels.
TRUTH: dict[str, list[tuple[str, str]]] = {
    "plan-art-gallery-raster-oversize-page.pdf": [(f"{PICTURE}GROUND FLOOR PLAN", "Sheet 1")],
    "plan-assembly-hall-raster-5pages-mixed-sizes.pdf": [
        (f"{PICTURE}Sayles First Floor", "Sheet 1"),
        (f"{PICTURE}Sayles Second Floor", "Sheet 2"),
        (f"{PICTURE}Sayles Basement", "Sheet 3"),
        (f"{PICTURE}Friedman First Floor", "Sheet 4"),
        (f"{PICTURE}Friedman Second Floor", "Sheet 5"),
    ],
    "plan-auditorium-event-layout-letter-mixed.pdf": [("Lower Atrium / Auditorium", "Lower Atrium / Auditorium")],
    "plan-conference-centre-lecture-halls-A4-vector.pdf": [
        ("no sheet title: captions of 3 buildings' floors (Castle Groundfloor...)", "Sheet 1")
    ],
    "plan-farmhouse-25sheets-tabloid-rot270-brotli.pdf": [
        ("COVER PAGE", "Cover page"),
        ("PROJECT INFORMATION", "Project information"),
        ("PROJECT NOTES", "Project notes"),
        ("SITE PLAN", "Site plan"),
        ("FOUNDATION PLAN", "Foundation plan"),
        ("1ST FLOOR PLAN", "First floor"),
        ("2ND FLOOR PLAN", "Second floor"),
        ("ROOF PLAN", "Roof plan"),
        ("1ST FLOOR RCP / ELECTRICAL PLAN", "First floor RCP / electrical"),
        ("2ND REF. CEILING PLAN / ELECTRICAL PLAN", "2nd ref. ceiling plan / electrical plan"),
        ("DETAIL PLANS", "Detail plans"),
        ("SOUTH ELEVATION", "South elevation"),
        ("WEST ELEVATION", "West elevation"),
        ("NORTH ELEVATION", "North elevation"),
        ("EAST ELEVATION", "East elevation"),
        ("INTERIOR ELEVATIONS, sheet A2.4", "Interior elevations (A2.4)"),
        ("INTERIOR ELEVATIONS, sheet A2.5", "Interior elevations (A2.5)"),
        ("BUILDING SECTION, sheet A3.0", "Building section (A3.0)"),
        ("BUILDING SECTION, sheet A3.1", "Building section (A3.1)"),
        ("SECTIONS", "Sections"),
        ("TYPICAL DETAILS", "Typical details"),
        ("DECORATIVE DETAILS", "Decorative details"),
        ("EXTERIOR DETAILS", "Exterior details"),
        ("DOORS & WINDOWS", "Doors & windows"),
        ("SCHEDULES", "Schedules"),
    ],
    "plan-house-archicad-vector-nonstandard-size.pdf": [
        ("TLORIS PRITLIČJA (Slovenian: ground floor plan)", "Tloris pritličja")
    ],
    "plan-residence-site-archD-portrait-vector-watermark.pdf": [
        ("no sheet title (site/landscape plan, plant schedule)", "Sheet 1")
    ],
    "plan-restaurant-inn-8sheets-A1-rot90-autocad.pdf": [
        ("SITE PLAN & ROOF PLAN", "Site plan & roof plan"),
        ("GROUND FLOOR PLAN", "Ground floor"),
        ("FIRST FLOOR PLAN", "First floor"),
        ("SECTION", "Section"),
        ("ELEVATIONS", "Elevations"),
        ("ALUMINIUM SCHEDULE", "Aluminium schedule"),
        ("ELECTRICAL GROUND FLOOR PLAN", "Electrical ground floor"),
        ("ELECTRICAL FIRST FLOOR", "Electrical first floor"),
    ],
    "plan-school-scanned-photo-ocr.pdf": [("Shatin Pui Ying College / Floor Plan (whole school)", "Floor plan")],
    "plan-university-hall-floor1-legal-rot90-vector.pdf": [("Newell-Simon Hall / Floor 1", "Floor 1")],
    "plan-university-lab-5sheets-A2-autocad.pdf": [
        ("LAYOUT PLAN", "Layout plan"),
        ("DEMOLITION PLAN", "Demolition plan"),
        ("BLOCK WALL PLAN", "Block wall plan"),
        ("REFLECTED CEILING PLAN", "Reflected ceiling plan"),
        ("FLOOR FINISHES PLAN", "Floor finishes plan"),
    ],
}


Result = TypeVar("Result")


def _timed(repeat: int, work: Callable[[], Result]) -> tuple[float, Result]:
    times = []
    for _ in range(repeat - 1):
        start = time.process_time()
        work()
        times.append(time.process_time() - start)
    start = time.process_time()
    result = work()
    times.append(time.process_time() - start)
    return statistics.median(times), result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--only", default="")
    args = parser.parse_args()
    files = sorted(path for path in CORPUS.glob("plan-*.pdf") if args.only in path.name)
    counts = {"right": 0, "wrong": 0, "picture": 0}
    timings = []
    print("| file | page | proposed name | kind | the sheet's title says | verdict |\n|---|---:|---|---|---|---|")
    for path in files:
        data = path.read_bytes()
        with pymupdf.open(stream=data, filetype="pdf") as document:
            pages = list(document)
            read_s, sheets = _timed(args.repeat, lambda pages=pages: [read_sheet(p, n) for n, p in enumerate(pages, 1)])
            propose_s, proposals = _timed(args.repeat, lambda sheets=sheets: propose(sheets))
        validate_s, _ = _timed(args.repeat, lambda data=data: validate_pdf(data))
        timings.append((path.name, len(pages), read_s, propose_s, validate_s))
        truth = TRUTH.get(path.name, [])
        for index, proposal in enumerate(proposals):
            printed, expected = truth[index] if index < len(truth) else ("?", "?")
            verdict = "right" if proposal.name == expected else "wrong"
            if printed.startswith(PICTURE):
                printed, verdict = printed.removeprefix(PICTURE) + " (in the picture only)", "picture"
            counts[verdict] += 1
            print(f"| {path.name} | {index + 1} | {proposal.name} | {proposal.kind} | {printed} | {verdict} |")
    total = sum(counts.values())
    print(f"\n{total} pages: {counts['right']} right, {counts['wrong']} wrong, "
          f"{counts['picture']} with the title only in a picture (named 'Sheet n')\n")
    print(f"{platform.platform()}, Python {platform.python_version()}, PyMuPDF {pymupdf.VersionBind}; "
          f"medians of {args.repeat} runs\n")
    print("| file | pages | reading text, CPU ms/page | proposing, CPU ms | validate_pdf in-process, CPU ms |\n"
          "|---|---:|---:|---:|---:|")
    for name, count, read_s, propose_s, validate_s in timings:
        print(f"| {name} | {count} | {read_s * 1000 / count:.1f} | {propose_s * 1000:.1f} | {validate_s * 1000:.0f} |")


if __name__ == "__main__":
    main()
