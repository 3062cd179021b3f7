"""Room labels on the corpus plans (converters.rooms): how many of the rooms a person reads
on each plan are found, and what reading them adds to a render.

Recall: EXPECTED lists, per corpus page, what an officer would type to find each room or
place printed on it (written by looking at the rendered pages, not at what the extraction
finds). A query is "exact" when a label says just those words, "found" when the Find box
would list a label of that page for it (services.rooms' match: every query word in one
label, forgiving case, accents and small typos). The scanned school is measured twice:
with the text layer its scanning app added, and OCR'd from its picture alone (the text
layer removed, as a plain scan has none).

Cost: each vector page rendered by render_pages at the default limits with labels read
and without (RenderLimits.labels), interleaved, --repeat times, medians: the wall time and
the workers' peak RSS added. For OCR'd pages, the OCR's own time and the peak RSS of the
forked OCR process (converters.rooms runs it in a fork of the worker).

    .venv/bin/python bench/rooms.py [--repeat 3] [--no-render]

Figures, not pass/fail; docs/benchmarks.md ("Finding rooms") holds a run."""

from __future__ import annotations

import argparse
import logging
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pymupdf

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from converters import RenderLimits, render_pages, rooms  # noqa: E402
from floorplans.services.rooms import label_score, parse_query, words  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus"

# (file, page): what a person reads on the page, as an officer would type it.
EXPECTED: dict[tuple[str, int], list[str]] = {
    ("plan-conference-centre-lecture-halls-A4-vector.pdf", 1): [
        "castle secondfloor", "castle firstfloor", "castle groundfloor", "new building", "guesthouse", "office",
        "lecture hall 1", "hall 2", "library", "sauna", "workstation", "wine cellar", "cafeteria", "dining hall",
        "infodesk", "terrace", "news", "brucke", "restrooms", "lockers", "s001", "s206", "s212", "n001", "n018",
        "g101", "g107", "k02",
    ],
    ("plan-university-hall-floor1-legal-rot90-vector.pdf", 1): [
        "newell-simon hall", "floor 1", "legend", "1125", "1150", "1208", "1109", "1200", "1202", "1207", "1100",
        "1305", "1401", "1403", "1507", "1513", "1600", "1612", "1502g", "1604a", "1600d", "1905", "1211a", "1109b",
    ],
    ("plan-restaurant-inn-8sheets-A1-rot90-autocad.pdf", 2): [
        "cold rooms", "store room", "scullery", "kitchen", "ablutions", "dessert", "pub", "restaurant", "foyer",
        "office", "garden terrace", "stage", "atrium", "parking", "ground floor plan",
    ],
    ("plan-school-scanned-photo-ocr.pdf", 1): [
        "roof garden", "school history gallery", "library", "hall", "lecture theatre", "open playground",
        "covered playground", "tuck shop", "g01", "medical", "study", "music", "computer", "visual arts", "podium",
        "meeting", "conference", "itlc", "308", "chapel", "406", "401", "509", "counselling", "social worker 2",
        "toilet", "corridor", "staircase", "lobby",
    ],
    ("plan-assembly-hall-raster-5pages-mixed-sizes.pdf", 1): ["sayles first floor", "108", "105", "104"],
    ("plan-assembly-hall-raster-5pages-mixed-sizes.pdf", 2): ["sayles second floor", "205", "204", "200"],
    ("plan-assembly-hall-raster-5pages-mixed-sizes.pdf", 3): ["sayles basement", "005", "002"],
    ("plan-assembly-hall-raster-5pages-mixed-sizes.pdf", 4): ["friedman first floor", "108", "102"],
    ("plan-assembly-hall-raster-5pages-mixed-sizes.pdf", 5): ["friedman second floor", "208", "201", "202"],
}
# Vector pages whose render time is compared with and without reading labels.
VECTOR_PAGES = [
    ("plan-conference-centre-lecture-halls-A4-vector.pdf", 1),
    ("plan-university-hall-floor1-legal-rot90-vector.pdf", 1),
    ("plan-house-archicad-vector-nonstandard-size.pdf", 1),
    ("plan-auditorium-event-layout-letter-mixed.pdf", 1),
    ("plan-restaurant-inn-8sheets-A1-rot90-autocad.pdf", 1),
    ("plan-restaurant-inn-8sheets-A1-rot90-autocad.pdf", 2),
    ("plan-farmhouse-25sheets-tabloid-rot270-brotli.pdf", 1),
    ("plan-farmhouse-25sheets-tabloid-rot270-brotli.pdf", 3),
    ("plan-university-lab-5sheets-A2-autocad.pdf", 1),
    ("plan-residence-site-archD-portrait-vector-watermark.pdf", 1),
]


def picture_only(path: Path, number: int, folder: Path) -> Path:
    """The page as a plain scan: its picture alone in a new PDF, no text layer."""
    page = pymupdf.open(path)[number - 1]
    picture = page.get_pixmap(dpi=200)
    scan = pymupdf.open()
    scan.new_page(width=page.rect.width, height=page.rect.height).insert_image(page.rect, pixmap=picture)
    out = folder / f"{path.stem}-p{number}-picture.pdf"
    scan.save(out)
    return out


def recall(labels: rooms.PageLabels, expected: list[str]) -> tuple[int, int, list[str]]:
    exact = found = 0
    missed: list[str] = []
    texts = [label.text for label in labels.labels]
    for query in expected:
        wanted = words(query)
        if any(words(text) == wanted for text in texts):
            exact += 1
        if any(label_score(parse_query(query), text) > 0 for text in texts):
            found += 1
        else:
            missed.append(query)
    return exact, found, missed


def read(path: Path, number: int) -> rooms.PageLabels:
    with tempfile.TemporaryDirectory() as work:
        page = pymupdf.open(path)[number - 1]
        return rooms.page_labels(page, number, Path(work), ocr_seconds=120, display_list=page.get_displaylist())


OCR_PROBE = """
import json, resource, sys, time
from pathlib import Path
import pymupdf
from converters import rooms
page = pymupdf.open(sys.argv[1])[int(sys.argv[2]) - 1]
start = time.perf_counter()
labels = rooms.page_labels(page, int(sys.argv[2]), Path(sys.argv[3]), ocr_seconds=120)
print(json.dumps({"seconds": time.perf_counter() - start, "source": labels.source,
                  "fork_peak_mb": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))
"""


def ocr_cost(path: Path, number: int) -> dict[str, float | str]:
    import json

    with tempfile.TemporaryDirectory() as work:
        done = subprocess.run([sys.executable, "-c", OCR_PROBE, str(path), str(number), work], cwd=ROOT,
                              capture_output=True, text=True, check=True)
    result: dict[str, float | str] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


class _Peaks(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.peaks: list[float] = []

    def emit(self, record: logging.LogRecord) -> None:
        stats = getattr(record, "page_stats", None)
        if stats and stats.get("peak_rss_mb") is not None:
            self.peaks.append(float(stats["peak_rss_mb"]))


def render_once(path: Path, number: int, labels: bool, out: Path) -> tuple[float, float, float]:
    """Wall seconds of render_pages for one page, the workers' largest peak RSS, and the
    seconds the worker spent reading labels (as it timed them itself; 0 without)."""
    handler = _Peaks()
    logger = logging.getLogger("converters.isolation")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        start = time.perf_counter()
        result = render_pages(path, out, [number], limits=RenderLimits(labels=labels))[0]
        wall = time.perf_counter() - start
        read = rooms.read_page_labels(result.labels_file, number) if labels else None
        return wall, max(handler.peaks, default=0.0), read.seconds if read else 0.0
    finally:
        logger.removeHandler(handler)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--no-render", action="store_true", help="recall and OCR figures only")
    args = parser.parse_args()
    print(f"# {platform.node()} · {os.cpu_count()} cores · PyMuPDF {pymupdf.VersionBind} · "
          f"tessdata {rooms.tessdata() or 'missing'} · load {os.getloadavg()[0]:.1f}")

    print("\n## Recall\n")
    print("| page | source | labels | expected | exact | found | found % | missed | read s |")
    print("|---|---|---|---|---|---|---|---|---|")
    totals = {"text": [0, 0], "ocr": [0, 0]}
    with tempfile.TemporaryDirectory() as folder:
        cases: list[tuple[str, Path, int, list[str]]] = []
        for (name, number), expected in EXPECTED.items():
            cases.append((f"{name.removeprefix('plan-')[:34]} p{number}", CORPUS / name, number, expected))
        school = CORPUS / "plan-school-scanned-photo-ocr.pdf"
        cases.append(("school, picture only (OCR) p1", picture_only(school, 1, Path(folder)), 1,
                      EXPECTED[(school.name, 1)]))
        for title, path, number, expected in cases:
            labels = read(path, number)
            exact, found, missed = recall(labels, expected)
            kind = "ocr" if labels.source.startswith("ocr") else "text"
            totals[kind][0] += found
            totals[kind][1] += len(expected)
            print(f"| {title} | {labels.source} | {len(labels.labels)} | {len(expected)} | {exact} | {found} | "
                  f"{100 * found / len(expected):.0f} | {', '.join(missed) or '-'} | {labels.seconds:.2f} |")
        for kind, (found, total) in totals.items():
            if total:
                print(f"\n{kind}: {found} of {total} found ({100 * found / total:.0f} %)")

        print("\n## OCR cost (page OCR'd alone in a fresh process; the fork's peak RSS)\n")
        print("| page | source | OCR s | fork peak RSS MB |")
        print("|---|---|---|---|")
        assembly = CORPUS / "plan-assembly-hall-raster-5pages-mixed-sizes.pdf"
        scans = [(f"assembly-hall p{n}", assembly, n) for n in range(1, 6)]
        scans += [("art-gallery (oversize) p1", CORPUS / "plan-art-gallery-raster-oversize-page.pdf", 1),
                  ("school, picture only p1", picture_only(school, 1, Path(folder)), 1)]
        for title, path, number in scans:
            cost = ocr_cost(path, number)
            print(f"| {title} | {cost['source']} | {float(cost['seconds']):.2f} | {float(cost['fork_peak_mb']):.0f} |")

        if args.no_render:
            return
        print(f"\n## Render with and without labels (default limits, 2 workers, median of {args.repeat})\n")
        print("The worker times its own reading of the labels (\"labels s\"): on a shared machine that is the")
        print("figure to trust; the wall times with and without are interleaved medians, noisy under load.\n")
        print("| page | without s | with s | wall added % | labels s | labels / render % | peak RSS MB without "
              "| with |")
        print("|---|---|---|---|---|---|---|---|")
        added: list[float] = []
        share: list[float] = []
        for name, number in VECTOR_PAGES:
            runs: dict[bool, list[tuple[float, float, float]]] = {False: [], True: []}
            for repeat in range(args.repeat):
                for labels in (False, True) if repeat % 2 == 0 else (True, False):
                    runs[labels].append(render_once(CORPUS / name, number, labels, Path(folder) / "out"))
            without = statistics.median(wall for wall, _, _ in runs[False])
            with_labels = statistics.median(wall for wall, _, _ in runs[True])
            reading = statistics.median(seconds for _, _, seconds in runs[True])
            added.append(100 * (with_labels - without) / without)
            share.append(100 * reading / without)
            print(f"| {name.removeprefix('plan-')[:34]} p{number} | {without:.2f} | {with_labels:.2f} | "
                  f"{added[-1]:+.1f} | {reading:.3f} | {share[-1]:.1f} | {max(rss for _, rss, _ in runs[False]):.0f} | "
                  f"{max(rss for _, rss, _ in runs[True]):.0f} |")
        print(f"\nlabels / render: median {statistics.median(share):.1f} %, largest {max(share):.1f} % "
              f"(goal: under 15 %); wall added: median {statistics.median(added):+.1f} %")


if __name__ == "__main__":
    main()
