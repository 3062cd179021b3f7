"""Rendering benchmark: our tile pyramids against bare MuPDF and two libvips pipelines.

For each corpus plan page (page 1 of every plan; every page with --all-pages) it prints, in
one run: wall and CPU time of ``render_pages`` (worker processes included), the peak RSS
of each worker, pyramid bytes and tile count; the "floor" (the same page rasterized once
by bare MuPDF at the same full-zoom size, on one core); ``pdftoppm -r DPI`` + ``vips
dzsave`` and ``vips dzsave file.pdf[page=N,dpi=DPI]`` producing the same pyramid; the
bytes of our tiles re-encoded with Pillow's default WebP lossless (method 4, quality 80);
and the bytes of the tiles that fill a 1024 x 768 screen around the page centre at full
zoom. It prints figures and the issue's goals next to them, never pass/fail.

    .venv/bin/python bench/render.py [--all-pages] [--only SUBSTRING] [--no-vips] [--repeat N]
    .venv/bin/python bench/render.py --one-process [--all-pages] [--only SUBSTRING]

Each vector page also gets an encoding bound: the CPU of encoding only its distinct
non-blank tiles at the cheapest lossless setting within 1.1x Pillow's default bytes, halved
for two cores, which no lossless-WebP pipeline can beat. --one-process instead renders each
page's whole pyramid in this process (no workers to start) and prints its CPU / 2 over the
floor, at our encoder setting and at quality 0.

With --repeat N every timed figure (ours, the floor, both libvips pipelines) is the median
of N interleaved runs.

pdftoppm (poppler-utils) and vips (libvips-tools) are optional: without them their
columns say "missing". Output goes to bench/out/ (ignored by git)."""

from __future__ import annotations

import argparse
import io
import logging
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import pymupdf
from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from converters import PageResult, RenderLimits, render_pages  # noqa: E402
from converters.tiling import level_size  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus"
OUT = ROOT / "bench" / "out"
SCREEN = (1024, 768)


@dataclass
class Figures:
    name: str
    page: int
    kind: str = ""
    size: str = ""
    dpi: float = 0.0
    tiles: int = 0
    wall: float = 0.0
    cpu: float = 0.0
    worker_rss: list[float] = field(default_factory=list)
    pyramid_bytes: int = 0
    floor_cpu: float = 0.0
    poppler_vips: float | None = None
    vips_pdf: float | None = None
    # CPU seconds (user + system) of the two libvips pipelines, for the load-independent
    # comparison in the summary.
    poppler_vips_cpu: float | None = None
    vips_pdf_cpu: float | None = None
    load: float = 0.0
    pillow_default_bytes: int | None = None
    screen_bytes: int = 0
    screen_tiles: int = 0
    # Wall seconds no lossless-WebP pipeline can beat on two cores (encoding_bound).
    encoding_bound: float | None = None
    bound_setting: str = ""
    tools_ran: bool = False
    failed: str = ""


class WorkerStats(logging.Handler):
    """Collects the per-worker peak RSS that converters.isolation logs for each page."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.stats: list[dict[str, float]] = []

    def emit(self, record: logging.LogRecord) -> None:
        stats = getattr(record, "page_stats", None)
        if stats:
            self.stats.append(stats)


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def floor_cpu(path: Path, number: int, width: int, height: int) -> float:
    """CPU seconds of one get_pixmap at full zoom, open and page load excluded."""
    page = pymupdf.open(path)[number - 1]
    matrix = pymupdf.Matrix(width / page.rect.width, height / page.rect.height)
    started = time.process_time()
    page.get_pixmap(matrix=matrix, alpha=False)
    return time.process_time() - started


# CPU seconds of the tool processes the last run_timed calls ran, summed until read.
_TOOL_CPU: list[float] = []


def run_timed(commands: list[list[str]]) -> float | None:
    """Wall seconds for the commands, or None when one fails (poppler, and so libvips's
    PDF loader, cannot decode Brotli streams, for one). Their CPU time goes to _TOOL_CPU."""
    started = time.perf_counter()
    cpu_before = children_cpu()
    try:
        for command in commands:
            if subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL).returncode:
                return None
    finally:
        _TOOL_CPU.append(children_cpu() - cpu_before)
    return time.perf_counter() - started


def tool_cpu() -> float:
    """The CPU seconds the tools used since the last call."""
    total = sum(_TOOL_CPU)
    _TOOL_CPU.clear()
    return total


def poppler_then_vips(path: Path, number: int, dpi: float, work: Path) -> float | None:
    prefix = work / "poppler"
    rasterize = run_timed(
        [["pdftoppm", "-r", f"{dpi:g}", "-f", str(number), "-l", str(number), str(path), str(prefix)]]
    )
    ppms = list(work.glob("poppler*.ppm"))
    if rasterize is None or len(ppms) != 1:
        return None
    tile = run_timed(
        [
            [
                "vips",
                "dzsave",
                str(ppms[0]),
                str(work / "pv"),
                "--layout",
                "google",
                "--tile-size",
                "256",
                "--suffix",
                ".webp",
            ]
        ]
    )
    ppms[0].unlink()
    return None if tile is None else rasterize + tile


def vips_from_pdf(path: Path, number: int, dpi: float, work: Path) -> float | None:
    source = f"{path}[page={number - 1},dpi={dpi:g}]"
    return run_timed(
        [["vips", "dzsave", source, str(work / "vp"), "--layout", "google", "--tile-size", "256", "--suffix", ".webp"]]
    )


def tile_files(result: PageResult) -> list[Path]:
    return [path for path in result.directory.rglob("*.webp") if path.name != "overview.webp"]


def encoded_size(image: Image.Image, **options: object) -> int:
    buffer = io.BytesIO()
    image.save(buffer, "WEBP", lossless=True, **options)
    return buffer.tell()


def distinct_tiles(result: PageResult) -> list[tuple[Image.Image, int]]:
    """Each tile file's pixels once, with the number of names it has in the pyramid (blank
    and repeated tiles are hard links to one file)."""
    tiles: dict[int, tuple[Image.Image, int]] = {}
    for path in tile_files(result):
        stat = path.stat()
        if stat.st_ino not in tiles:
            image = Image.open(path).convert("RGB")
            tiles[stat.st_ino] = (image, stat.st_nlink)
    return list(tiles.values())


def pillow_default_bytes(tiles: list[tuple[Image.Image, int]]) -> int:
    """The pyramid's bytes with every tile re-encoded by Pillow's default lossless WebP."""
    return sum(encoded_size(image) * links for image, links in tiles)


# Lossless WebP settings (method, quality) from the cheapest up; quality 1-20 encode the
# same as 0 at method 1 (libwebp buckets quality into effort levels).
BOUND_SETTINGS = ((0, 0), (0, 100), (1, 0), (1, 25), (1, 30))


def encoding_bound(tiles: list[tuple[Image.Image, int]]) -> tuple[float, str]:
    """A lower bound on any lossless-WebP pipeline's wall time for this page: the CPU
    seconds of encoding only the page's distinct non-blank tiles (posterized, as ours),
    at the cheapest setting whose bytes stay within 1.1x Pillow's default, split perfectly
    over two cores. Nothing drawn, no process started, no file written: a pipeline that
    must store these tiles cannot be faster."""
    inked = [(image, links) for image, links in tiles if image.getcolors(1) is None]
    if not inked:
        return 0.0, "no tiles"
    reference = pillow_default_bytes(inked)
    for method, quality in BOUND_SETTINGS:
        started = time.process_time()
        size = sum(encoded_size(image, method=method, quality=quality) * links for image, links in inked)
        seconds = time.process_time() - started
        if size <= 1.1 * reference:
            return seconds / 2, f"m{method} q{quality}"
    return seconds / 2, "none within 1.1x"


def screen_tiles(result: PageResult) -> list[Path]:
    """The full-zoom tiles of a 1024 x 768 screen at the page centre, snapped to the tile
    grid (12 tiles; fewer on a page smaller than the screen)."""
    width, height = level_size(result.width, result.height, result.max_zoom, result.max_zoom)
    columns, rows = SCREEN[0] // 256, SCREEN[1] // 256
    first_column = max(0, round((width / 2 - SCREEN[0] / 2) / 256))
    first_row = max(0, round((height / 2 - SCREEN[1] / 2) / 256))
    last_column = min(-(-width // 256), first_column + columns)
    last_row = min(-(-height // 256), first_row + rows)
    return [
        result.directory / str(result.max_zoom) / str(column) / f"{row}.webp"
        for column in range(first_column, last_column)
        for row in range(first_row, last_row)
    ]


def median(values: list[float | None]) -> float | None:
    """The median, or None when any run failed (a tool that fails fails every time)."""
    if not values or any(value is None for value in values):
        return None
    return statistics.median(value for value in values if value is not None)


def measure(path: Path, number: int, limits: RenderLimits, use_vips: bool, repeat: int) -> Figures:
    """Render the page ``repeat`` times, each run followed by the floor and both libvips
    pipelines (interleaved, so that all four see similar load), and keep the medians."""
    figures = Figures(name=path.name, page=number)
    work = OUT / f"{path.stem}-p{number}"
    walls: list[float | None] = []
    cpus: list[float | None] = []
    floors: list[float | None] = []
    vips_pdf: list[float | None] = []
    poppler_vips: list[float | None] = []
    vips_pdf_cpu: list[float | None] = []
    poppler_vips_cpu: list[float | None] = []
    loads: list[float] = []
    for _ in range(repeat):
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        handler = WorkerStats()
        logger = logging.getLogger("converters.isolation")
        logger.addHandler(handler)
        logger.setLevel(logging.DEBUG)
        cpu_before = children_cpu()
        started = time.perf_counter()
        try:
            [result] = render_pages(path, work / "ours", [number], limits=limits)
        except Exception as error:  # noqa: BLE001 - a benchmark reports, it does not stop
            figures.failed = str(error)
            return figures
        finally:
            logger.removeHandler(handler)
        walls.append(time.perf_counter() - started)
        cpus.append(children_cpu() - cpu_before)
        peaks = [stats["peak_rss_mb"] for stats in handler.stats]
        figures.worker_rss = [max(pair) for pair in zip(peaks, figures.worker_rss or peaks, strict=True)]
        floors.append(floor_cpu(path, number, result.width, result.height))
        if use_vips and shutil.which("vips") and shutil.which("pdftoppm"):
            figures.tools_ran = True
            tool_cpu()
            vips_pdf.append(vips_from_pdf(path, number, result.dpi, work))
            vips_pdf_cpu.append(tool_cpu() if vips_pdf[-1] is not None else None)
            poppler_vips.append(poppler_then_vips(path, number, result.dpi, work))
            poppler_vips_cpu.append(tool_cpu() if poppler_vips[-1] is not None else None)
        loads.append(os.getloadavg()[0])
    figures.wall, figures.cpu, figures.floor_cpu = median(walls) or 0.0, median(cpus) or 0.0, median(floors) or 0.0
    if figures.tools_ran:
        figures.vips_pdf, figures.poppler_vips = median(vips_pdf), median(poppler_vips)
        figures.vips_pdf_cpu, figures.poppler_vips_cpu = median(vips_pdf_cpu), median(poppler_vips_cpu)
    figures.load = statistics.median(loads)
    figures.kind, figures.dpi, figures.tiles = result.kind, result.dpi, result.tiles
    figures.size = f"{result.width}x{result.height}"
    figures.pyramid_bytes = sum(tile.stat().st_size for tile in tile_files(result))
    screen = screen_tiles(result)
    figures.screen_tiles = len(screen)
    figures.screen_bytes = sum(tile.stat().st_size for tile in screen)
    if result.kind == "vector":
        tiles = distinct_tiles(result)
        figures.pillow_default_bytes = pillow_default_bytes(tiles)
        figures.encoding_bound, figures.bound_setting = encoding_bound(tiles)
    shutil.rmtree(work, ignore_errors=True)
    return figures


def one_process(path: Path, number: int) -> tuple[str, str, float, float]:
    """The page's whole pyramid rendered in this process, as if its workers had been started
    ahead of the job: CPU seconds (best of two) halved for a perfect two-core split, over
    the floor, at our encoder setting and at quality 0 (the cheapest within the bytes goal
    on most pages), and the bytes quality 0 costs."""
    from converters import tiling
    from converters.render import PageRenderer, render_share

    limits = RenderLimits()
    figures: list[tuple[float, int]] = []
    chosen = tiling.POSTERIZED_OPTIONS
    try:
        for quality in (int(chosen["quality"]), 0):  # type: ignore[call-overload]
            tiling.POSTERIZED_OPTIONS = {**chosen, "quality": quality}
            runs = []
            for _ in range(2):
                work = OUT / f"{path.stem}-p{number}-one"
                shutil.rmtree(work, ignore_errors=True)
                work.mkdir(parents=True)
                started = time.process_time()
                renderer = PageRenderer(pymupdf.open(path), number)
                plan = renderer.plan(limits.page_pixels, limits.target_dpi)
                tiling.encode_webp(renderer.overview(), tiling.OVERVIEW_OPTIONS)
                render_share(renderer, plan, work, lambda _tiles, _bytes: None)
                runs.append((time.process_time() - started, sum(tile.stat().st_size for tile in work.rglob("*.webp"))))
                shutil.rmtree(work, ignore_errors=True)
            figures.append(min(runs))
    finally:
        tiling.POSTERIZED_OPTIONS = chosen
    floor = min(floor_cpu(path, number, plan.width, plan.height) for _ in range(3))
    (ours, ours_bytes), (cheapest, cheapest_bytes) = figures
    line = (
        f"| {path.name.removeprefix('plan-').removesuffix('.pdf')[:34]} p{number} | {plan.kind} | {floor:.3f} "
        f"| {ours:.2f} | {ours / 2 / floor:.2f} | {cheapest:.2f} | {cheapest / 2 / floor:.2f} "
        f"| {cheapest_bytes / ours_bytes:.3f} |"
    )
    return line, plan.kind, ours / 2 / floor, cheapest / 2 / floor


def whole_document(path: Path, floors: list[float]) -> str:
    """One render_pages call for every page: workers start once, as in the app's job."""
    work = OUT / f"{path.stem}-all"
    shutil.rmtree(work, ignore_errors=True)
    cpu_before = children_cpu()
    started = time.perf_counter()
    try:
        results = render_pages(path, work, range(1, len(floors) + 1))
    except Exception as error:  # noqa: BLE001 - a benchmark reports, it does not stop
        return f"{path.name}: failed: {error}"
    finally:
        shutil.rmtree(work, ignore_errors=True)
    wall, cpu = time.perf_counter() - started, children_cpu() - cpu_before
    tiles = sum(result.tiles for result in results)
    return (
        f"{path.name}: {len(floors)} pages in one call: {wall:.2f} s wall, {cpu:.2f} s CPU, {tiles} tiles; "
        f"sum of floors {sum(floors):.2f} s, wall/floor {wall / sum(floors):.2f}"
    )


def ratio(numerator: float | None, denominator: float | None) -> str:
    if not numerator or not denominator:
        return "n/a"
    return f"{numerator / denominator:.2f}"


def tool_seconds(value: float | None, tools_ran: bool, missing: str) -> str:
    if not tools_ran:
        return missing
    return "failed" if value is None else f"{value:.2f}"


HEADER = (
    "| page | kind | px | tiles | wall s | CPU s | worker RSS MB | KB | floor s | wall/floor "
    "| poppler+vips s | x faster | vips pdf s | x faster | bytes vs Pillow default | screen KB (tiles) "
    "| encoding bound s | bound/floor | load |"
)


def bound(figures: Figures) -> str:
    if figures.encoding_bound is None:
        return "n/a"
    return f"{figures.encoding_bound:.2f} ({figures.bound_setting})"


def row(figures: Figures, missing: str) -> str:
    if figures.failed:
        return f"| {figures.name} p{figures.page} | failed: {figures.failed} |"
    rss = "/".join(f"{value:.0f}" for value in figures.worker_rss)
    poppler_vips = tool_seconds(figures.poppler_vips, figures.tools_ran, missing)
    vips_pdf = tool_seconds(figures.vips_pdf, figures.tools_ran, missing)
    return (
        f"| {figures.name.removeprefix('plan-').removesuffix('.pdf')[:34]} p{figures.page} | {figures.kind} "
        f"| {figures.size} @{figures.dpi:g} | {figures.tiles} | {figures.wall:.2f} | {figures.cpu:.2f} | {rss} "
        f"| {figures.pyramid_bytes / 1024:.0f} | {figures.floor_cpu:.2f} | {ratio(figures.wall, figures.floor_cpu)} "
        f"| {poppler_vips} | {ratio(figures.poppler_vips, figures.wall)} "
        f"| {vips_pdf} | {ratio(figures.vips_pdf, figures.wall)} "
        f"| {ratio(figures.pyramid_bytes, figures.pillow_default_bytes)} "
        f"| {figures.screen_bytes / 1024:.1f} ({figures.screen_tiles}) | {bound(figures)} "
        f"| {ratio(figures.encoding_bound, figures.floor_cpu)} | {figures.load:.1f} |"
    )


def machine() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    versions = f"PyMuPDF {pymupdf.__version__} (MuPDF {pymupdf.mupdf_version}), Pillow {Image.__version__}"
    vips = (
        subprocess.run(["vips", "--version"], capture_output=True, text=True).stdout.strip()
        if shutil.which("vips")
        else "vips missing"
    )
    system = f"{platform.platform()}, {os.cpu_count()} cores ({cpu}), {memory:.0f} GiB"
    return f"{system}; Python {platform.python_version()}, {versions}, {vips}"


def goals(rows: list[Figures]) -> list[str]:
    vector = [figures for figures in rows if figures.kind == "vector" and not figures.failed]
    lines = [f"{len(vector)} vector pages:"]

    def count(check: list[bool]) -> str:
        return f"{sum(check)}/{len(check)}"

    def spread(values: list[float]) -> str:
        if not values:
            return "n/a"
        return f"median {statistics.median(values):.2f}, {min(values):.2f}-{max(values):.2f}"

    walls = [f.wall / f.floor_cpu for f in vector if f.floor_cpu]
    lines.append(f"- wall <= 3x floor: {count([value <= 3 for value in walls])} (wall/floor {spread(walls)})")
    # What the wall would be on two otherwise idle cores if both workers were busy all the
    # time: a load-independent reading, since the floor is CPU time and so unaffected by
    # other processes while our wall is not.
    halves = [f.cpu / 2 / f.floor_cpu for f in vector if f.floor_cpu]
    lines.append(
        f"  (CPU/2 <= 3x floor, load-independent: {count([value <= 3 for value in halves])}, {spread(halves)})"
    )
    # Whether the goal can be met at all by a pipeline writing lossless tiles within the
    # bytes goal (encoding_bound).
    bounds = [f.encoding_bound / f.floor_cpu for f in vector if f.floor_cpu and f.encoding_bound is not None]
    lines.append(
        f"  (reachable at all: encoding bound <= 3x floor: {count([value <= 3 for value in bounds])}, "
        f"bound/floor {spread(bounds)})"
    )
    timed = [f for f in vector if f.vips_pdf and f.poppler_vips]
    faster = [min(f.vips_pdf, f.poppler_vips) / f.wall for f in timed]  # type: ignore[type-var]
    lines.append(
        "- >= 2.5x faster than both libvips pipelines: "
        + (
            f"{count([value >= 2.5 for value in faster])} (the faster pipeline's wall over ours {spread(faster)})"
            if timed
            else "not measured"
        )
    )
    by_cpu = [
        min(f.vips_pdf_cpu, f.poppler_vips_cpu) / f.cpu  # type: ignore[type-var]
        for f in timed
        if f.vips_pdf_cpu and f.poppler_vips_cpu and f.cpu
    ]
    if by_cpu:
        lines.append(
            f"  (by CPU seconds instead of wall: {count([value >= 2.5 for value in by_cpu])}, {spread(by_cpu)})"
        )
    if timed:
        reachable = [
            f.encoding_bound <= min(f.vips_pdf, f.poppler_vips) / 2.5  # type: ignore[type-var, operator]
            for f in timed
            if f.encoding_bound is not None
        ]
        lines.append(f"  (2.5x reachable at all: encoding bound <= faster pipeline / 2.5: {count(reachable)})")
    lines.append(
        "- bytes <= 1.1x Pillow default lossless: "
        + count([f.pyramid_bytes <= 1.1 * (f.pillow_default_bytes or 0) for f in vector])
    )
    lines.append(f"- worker RSS <= 200 MB: {count([max(f.worker_rss) <= 200 for f in vector])}")
    lines.append(f"- <= 50 KB to fill a 1024x768 screen: {count([f.screen_bytes <= 50 * 1024 for f in vector])}")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--all-pages", action="store_true", help="every page of every plan, not page 1 only")
    parser.add_argument("--only", default="", help="only plans whose file name contains this")
    parser.add_argument("--no-vips", action="store_true", help="skip the libvips and poppler pipelines")
    parser.add_argument("--repeat", type=int, default=1, help="timed runs per page (medians are printed)")
    parser.add_argument(
        "--one-process",
        action="store_true",
        help="instead: each page's pyramid rendered in this process (no workers to start), CPU/2 over the floor",
    )
    args = parser.parse_args()
    if args.one_process:
        print(machine())
        print("| page | kind | floor s | q30 CPU s | /2 over floor | q0 CPU s | /2 over floor | bytes q0 / q30 |")
        print("|---|---|---|---|---|---|---|---|")
        ratios: list[tuple[float, float]] = []
        for path in sorted(CORPUS.glob("plan-*.pdf")):
            if args.only in path.name:
                count = pymupdf.open(path).page_count if args.all_pages else 1
                for number in range(1, count + 1):
                    line, kind, ours, cheapest = one_process(path, number)
                    print(line, flush=True)
                    if kind == "vector":
                        ratios.append((ours, cheapest))
        print(
            f"\n{len(ratios)} vector pages within 3x of the floor with no workers to start: "
            f"{sum(ours <= 3 for ours, _ in ratios)} at quality 30, {sum(cheapest <= 3 for _, cheapest in ratios)} "
            "at quality 0"
        )
        return
    missing = [tool for tool in ("pdftoppm", "vips") if shutil.which(tool) is None]
    if missing and not args.no_vips:
        print(
            f"note: {' and '.join(missing)} not found; their columns say 'missing'. "
            "Install with: apt-get install -y poppler-utils libvips-tools",
            file=sys.stderr,
        )
    print(machine())
    print("load average at start (1, 5, 15 min): {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    print(HEADER)
    print("|" + "---|" * (HEADER.count("|") - 1))
    rows: list[Figures] = []
    for path in sorted(CORPUS.glob("plan-*.pdf")):
        if args.only not in path.name:
            continue
        pages = range(1, pymupdf.open(path).page_count + 1) if args.all_pages else [1]
        for number in pages:
            figures = measure(path, number, RenderLimits(), use_vips=not args.no_vips, repeat=max(1, args.repeat))
            rows.append(figures)
            print(row(figures, "skipped" if args.no_vips else "missing"), flush=True)
    print("load average at end (1, 5, 15 min): {:.2f} {:.2f} {:.2f}".format(*os.getloadavg()))
    print()
    print("\n".join(goals(rows)))
    if args.all_pages:
        print()
        for name in sorted({figures.name for figures in rows}):
            pages = [figures for figures in rows if figures.name == name]
            if len(pages) > 1 and all(figures.floor_cpu for figures in pages):
                print(whole_document(CORPUS / name, [figures.floor_cpu for figures in pages]), flush=True)


if __name__ == "__main__":
    main()
