"""Keeping a patrol zone offline (issue 19): how much a district of 200 buildings takes on the
car's laptop, and how long "Keep my area offline" takes on a 1.6 Mbit/s cellular link and on
the station's Wi-Fi.

Per-plan sizes are real: each corpus plan (../shared/corpus, plan-*.pdf) is rendered at the
production settings (converters' defaults, as the render job uses them) into bench/out/
offline_zone/ (kept there: a second run renders nothing), and for every page the bytes of
exactly the tiles "keep offline" fetches (floorplans.services.offline.offline_levels: levels
0..max_zoom-1, full zoom too when it has at most 160 tiles) are summed from the files.  The
district's 200 buildings take the corpus plans in turn (each plan equally often; a real
district has fewer 25-sheet sets, so this leans large).  Each building also fetches its card
and plan page (PAGE_BYTES each, as the Find page's estimate counts them) and, with
--photo-kb, photos.

Times are computed, not measured: keep-offline.js fetches 4 files at a time, so a run takes
at least the larger of (bytes on the wire / bandwidth) and (requests x round trip / 4), and at
most their sum (no overlap at all).  Bytes on the wire add HEADER_BYTES of HTTP headers per
request; server time is left out (the tile route answers in about a millisecond:
docs/benchmarks.md).  Links: cellular 1.6 Mbit/s down with a 150 ms round trip (as
bench/firstview.py throttles Chromium), station Wi-Fi 50 Mbit/s with 10 ms.

Also printed: the Find page's estimate for the same buildings (each page's tiles at the mean
size of its pyramid's, services.offline.page_keep), which the storage check compares with
navigator.storage.estimate() (with a 20% margin), and what a fixed TILE_BYTES a tile would say.

Prints figures, never pass/fail.

    .venv/bin/python bench/offline_zone.py                       # every corpus plan (renders ~50 pages once)
    .venv/bin/python bench/offline_zone.py --only conference,assembly,auditorium --buildings 200
"""
from __future__ import annotations

import argparse
import json
import platform
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pymupdf

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from converters import render_pages  # noqa: E402
from floorplans.models import PlanPage  # noqa: E402
from floorplans.services.offline import PAGE_BYTES, TILE_BYTES, offline_levels, page_keep  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus"
OUT = ROOT / "bench" / "out" / "offline_zone"
HEADER_BYTES = 700  # request and response headers of one fetch, about
CONCURRENT = 4  # keep-offline.js: worker() x 4
MARGIN = 1.2  # keep-offline.js: the storage check asks for a fifth more than the estimate


@dataclass(frozen=True)
class Link:
    name: str
    bits_per_second: float
    round_trip: float  # seconds


LINKS = (
    Link("cellular 1.6 Mbit/s, 150 ms", 1_600_000, 0.150),
    Link("station Wi-Fi 50 Mbit/s, 10 ms", 50_000_000, 0.010),
)


@dataclass(frozen=True)
class PlanFigures:
    name: str
    pages: int
    tiles: int  # the tiles keep offline fetches
    bytes: int  # their bytes, exact
    pyramid_tiles: int
    pyramid_bytes: int
    estimate: int  # what the Find page says before keeping (services.offline.page_keep)


def render(pdf: Path) -> list[dict[str, int]]:
    """The plan's pages (geometry and folder), rendered once into OUT/<plan>/."""
    folder = OUT / pdf.stem
    index = folder / "pages.json"
    if index.exists():
        return list(json.loads(index.read_text()))
    with pymupdf.open(pdf) as document:
        count = document.page_count
    started = time.monotonic()
    results = render_pages(pdf, folder, list(range(1, count + 1)))
    print(f"  rendered {pdf.name}: {count} pages in {time.monotonic() - started:.1f} s", file=sys.stderr)
    pages = [{"number": r.number, "width": r.width, "height": r.height, "tile_size": r.tile_size,
              "max_zoom": r.max_zoom, "min_zoom": r.min_zoom} for r in results]
    index.write_text(json.dumps(pages))
    return pages


def measure(pdf: Path) -> PlanFigures:
    tiles = size = all_tiles = all_size = estimate = 0
    pages = render(pdf)
    for page in pages:
        page_tiles = page_size = 0
        folder = OUT / pdf.stem / str(page["number"])
        model = PlanPage(width=page["width"], height=page["height"], tile_size=page["tile_size"],
                         max_zoom=page["max_zoom"])
        kept = {level.zoom for level in offline_levels(model)}
        for tile in folder.glob("*/*/*.webp"):
            zoom = int(tile.parent.parent.name)
            page_tiles += 1
            page_size += tile.stat().st_size
            if zoom in kept:
                tiles += 1
                size += tile.stat().st_size
        # As the render records them on the page (tiles and tile_bytes), the estimate's input.
        estimate += page_keep(PlanPage(width=page["width"], height=page["height"], tile_size=page["tile_size"],
                                       max_zoom=page["max_zoom"], tiles=page_tiles, tile_bytes=page_size))[1]
        all_tiles += page_tiles
        all_size += page_size
    return PlanFigures(pdf.stem.removeprefix("plan-"), len(pages), tiles, size, all_tiles, all_size, estimate)


def megabytes(count: float) -> str:
    return f"{count / 1e6:,.1f} MB"


def duration(seconds: float) -> str:
    minutes, rest = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min" if hours else f"{minutes} min {rest:02d} s"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--buildings", type=int, default=200, help="buildings in the district (default 200)")
    parser.add_argument("--only", default="", help="comma-separated parts of corpus plan names to use")
    parser.add_argument("--photo-kb", type=float, default=0.0, help="photo bytes per building, both sizes (kB)")
    args = parser.parse_args()

    wanted = [part for part in args.only.split(",") if part]
    plans = [p for p in sorted(CORPUS.glob("plan-*.pdf")) if not wanted or any(w in p.name for w in wanted)]
    if not plans:
        sys.exit(f"no corpus plan matches {args.only!r} in {CORPUS}")
    OUT.mkdir(parents=True, exist_ok=True)
    figures = [measure(pdf) for pdf in plans]

    print(f"# Keeping {args.buildings} buildings offline ({platform.node()}, Python {platform.python_version()})\n")
    print("| plan | pages | tiles kept | MB kept | kB per tile | whole pyramid: tiles, MB |")
    print("|---|---|---|---|---|---|")
    for f in figures:
        print(f"| {f.name} | {f.pages} | {f.tiles:,} | {f.bytes / 1e6:.2f} | {f.bytes / max(1, f.tiles) / 1e3:.1f} | "
              f"{f.pyramid_tiles:,}, {f.pyramid_bytes / 1e6:.2f} |")

    # The district: building i has plan i mod n.
    district = [figures[i % len(figures)] for i in range(args.buildings)]
    photo = args.photo_kb * 1000
    tile_requests = sum(f.tiles for f in district)
    page_requests = 2 * len(district)
    requests = tile_requests + page_requests
    body = sum(f.bytes for f in district) + page_requests * PAGE_BYTES + photo * len(district)
    wire = body + requests * HEADER_BYTES
    estimate = sum(f.estimate for f in district) + page_requests * PAGE_BYTES + photo * len(district)
    fixed = sum(f.tiles for f in district) * TILE_BYTES + page_requests * PAGE_BYTES + photo * len(district)
    per_building = [f.bytes + 2 * PAGE_BYTES + photo for f in district]
    print(f"\n{args.buildings} buildings ({len(figures)} plans in turn): {requests:,} files, {megabytes(body)} kept "
          f"(median {statistics.median(per_building) / 1e6:.2f} MB a building, "
          f"largest {max(per_building) / 1e6:.2f} MB), "
          f"{megabytes(wire)} on the wire with headers.")
    print(f"The Find page's estimate for them: {megabytes(estimate)} ({estimate / body:.2f}x the real bytes; "
          f"each page's mean tile size), so the storage check asks for {megabytes(estimate * MARGIN)} free; at a fixed "
          f"{TILE_BYTES / 1e3:.1f} kB a tile it would have said {megabytes(fixed)} ({fixed / body:.2f}x).")
    print("\n| link | bandwidth bound | round-trip bound (4 at a time) | estimate: between | and |")
    print("|---|---|---|---|---|")
    for link in LINKS:
        transfer = wire * 8 / link.bits_per_second
        waits = requests * link.round_trip / CONCURRENT
        print(f"| {link.name} | {duration(transfer)} | {duration(waits)} | {duration(max(transfer, waits))} | "
              f"{duration(transfer + waits)} |")


if __name__ == "__main__":
    main()
