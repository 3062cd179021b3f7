"""One PMTiles archive per plan page against one object per tile (issue 19): what storing a
rendered plan, reading tiles back, deleting a version and backing it up cost each way, against
a bucket on moto's S3 server (its own process, 127.0.0.1).  Prints figures, never pass/fail.

    .venv/bin/python bench/pmtiles.py [--plan NAME ...] [--latency-ms 20] [--reads 2000] [--threads 16]
    .venv/bin/python bench/pmtiles.py --job [--plan NAME ...] [--latency-ms 20]

- **publish**: a plan's rendered pages stored as publishing stores them today (the render
  job's page store, ``rendering._PageStore``: each page's tiles through ``put_many``, then its
  overview, then its manifest) against one archive per page written with the ``pmtiles``
  package's writer in a local file (identical tiles stored once), then the archive
  (``put_file``: multipart when large), the overview and the manifest.
- **read**: random tiles, ``--threads`` at once: a GET per tile against a range GET into the
  page's archive, whose directory a web process would keep (a small cache of archive
  directories, as in the issue): cold (an empty cache; a page's first tile pays the directory
  fetch) and warm; and each page's first tile alone, the price of a page a process has not
  seen.  The same reads in process from a local folder say what the tile gate would pay.
- **cleanup and backup**: the objects a version leaves to delete and to copy each way, and
  ``delete_prefix`` timed.
- ``--job`` instead: upload to published as the job does it (bench/publish.py's figure), each
  way: the plan rendered with each page stored while the next renders, and what is left to
  store after the render.  A job cannot finish before its render, whatever the storing costs.

Pages are rendered once, at the app's default settings (as the job renders them), and kept
in bench/out/pmtiles/ for the next run.  ``--latency-ms`` waits that long before every request
to S3 (a botocore ``before-send`` hook, as bench/backup.py adds it: the requests and their
retries stay real), which is what a store in another network costs: waiting, not CPU.  moto on
loopback answers in about a millisecond but spends the same two cores the benchmark does.

The storage interface has no range read yet; the archive's reads here go to the S3 client
(``GetObject`` with ``Range``) or seek into the local folder's file, which is what such a
method would do.
"""

from __future__ import annotations

import argparse
import dataclasses
import gzip
import json
import os
import platform
import random
import secrets
import statistics
import sys
import tempfile
import threading
import time
import tracemalloc
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
# Run as a script, this file's folder comes first on sys.path and this file would be imported
# as the ``pmtiles`` package; the bench's own helpers (exports, load) are found after it.
sys.path[:] = [entry for entry in sys.path if Path(entry or ".").resolve() != BENCH]
sys.path.insert(0, str(ROOT))
sys.path.append(str(BENCH))

import pymupdf  # noqa: E402
from pmtiles.tile import (  # noqa: E402
    Compression,
    Entry,
    TileType,
    deserialize_directory,
    deserialize_header,
    find_tile,
    zxy_to_tileid,
)
from pmtiles.writer import write as write_pmtiles  # noqa: E402

import storage  # noqa: E402
from converters import PageResult, render_pages  # noqa: E402
from converters.results import DEFAULT_RENDER_LIMITS  # noqa: E402
from floorplans import objects  # noqa: E402
from floorplans.services.rendering import _PageStore  # noqa: E402 - the job's own page store
from storage import LocalStorage, S3Storage, Storage  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpus"
KEPT = BENCH / "out" / "pmtiles"
DEFAULT_PLANS = [
    "plan-university-lab-5sheets-A2-autocad.pdf",
    "plan-farmhouse-25sheets-tabloid-rot270-brotli.pdf",  # the 25-sheet set of bench/publish.py
]
#: A reader's first request: the header and the root directory, which the writer keeps within
#: the first 16 KB (the PMTiles specification's advice to readers).
FIRST_BYTES = 16_384
#: Archive directories a web process keeps (root and leaves of one page each).
DIRECTORIES_KEPT = 64


# -- the rendered plans --------------------------------------------------------------------


@dataclass
class RenderedPlan:
    name: str
    pages: list[PageResult]
    render_seconds: float

    @property
    def short_name(self) -> str:
        return self.name.removeprefix("plan-").removesuffix(".pdf")

    @property
    def tiles(self) -> int:
        return sum(page.tiles for page in self.pages)


def rendered_plan(name: str) -> RenderedPlan:
    """The plan's pages as the render job makes them (the app's default limits), rendered once
    and kept under bench/out/pmtiles/<plan>/ with a JSON list of the pages' results."""
    folder = KEPT / Path(name).stem
    described = folder / "pages.json"
    if described.exists():
        saved = json.loads(described.read_text())
        pages = [PageResult(**{**page, "directory": Path(page["directory"])}) for page in saved["pages"]]
        return RenderedPlan(name, pages, saved["render_seconds"])
    started = time.perf_counter()
    pages = render_pages(CORPUS / name, folder / "pages", page_numbers(name), limits=DEFAULT_RENDER_LIMITS)
    seconds = time.perf_counter() - started
    described.write_text(json.dumps({"render_seconds": seconds, "pages": [
        {**dataclasses.asdict(page), "directory": str(page.directory)} for page in pages]}))
    return RenderedPlan(name, pages, seconds)


def page_numbers(name: str) -> list[int]:
    with pymupdf.open(CORPUS / name) as document:
        return list(range(1, document.page_count + 1))


@dataclass(frozen=True)
class Tile:
    page: int
    z: int
    x: int
    y: int
    file: Path


def page_tiles(page: PageResult) -> Iterator[Tile]:
    for path in page.directory.rglob("*.webp"):
        parts = path.relative_to(page.directory).parts
        if len(parts) == 3:  # <z>/<x>/<y>.webp; the overview sits beside them
            yield Tile(page.number, int(parts[0]), int(parts[1]), int(Path(parts[2]).stem), path)


# -- one archive per page ------------------------------------------------------------------


def archive_key(version_key: str, page: int) -> str:
    return objects.page_prefix(version_key, page) + "tiles.pmtiles"


def write_archive(page: PageResult, path: Path) -> None:
    """The page's pyramid as one PMTiles file; the writer stores identical tiles once (blank
    paper is half a line drawing's tiles) and wants them in tile-id order to cluster them."""
    tiles = sorted((zxy_to_tileid(tile.z, tile.x, tile.y), tile.file) for tile in page_tiles(page))
    with write_pmtiles(str(path)) as writer:
        for tile_id, file in tiles:
            writer.write_tile(tile_id, file.read_bytes())
        writer.finalize({"tile_type": TileType.WEBP, "tile_compression": Compression.NONE},
                        {"page": page.number, "width": page.width, "height": page.height})


@dataclass
class Archives:
    """What storing a plan as archives wrote: seconds spent writing them locally, and bytes."""

    seconds: float = 0.0
    bytes: int = 0


class ArchivePageStore(_PageStore):
    """The job's page store, each page stored as one archive, then its overview, then its
    manifest (last, as today): pages in order on the store's thread, as objects are."""

    def __init__(self, store: Storage, version_key: str, folder: Path) -> None:
        super().__init__(store, version_key)
        self.folder = folder
        self.written = Archives()

    def _store_page(self, result: PageResult) -> None:
        archive = self.folder / f"{self.version_key}-{result.number}.pmtiles"
        started = time.perf_counter()
        write_archive(result, archive)
        self.written.seconds += time.perf_counter() - started
        self.written.bytes += archive.stat().st_size
        self.store.put_file(archive_key(self.version_key, result.number), archive,
                            content_type="application/vnd.pmtiles")
        self.store.put_file(objects.overview_key(self.version_key, result.number), result.directory / "overview.webp",
                            content_type="image/webp")
        self.store.put(objects.manifest_key(self.version_key, result.number),
                       json.dumps({"page": result.number, "tiles": result.tiles, "archive": True}).encode(),
                       content_type="application/json")
        archive.unlink()
        self.tiles += result.tiles


def store_pages(pages: _PageStore, plan: RenderedPlan) -> None:
    """The rendered pages handed to a page store as the render job hands them, then waited for."""
    with pages:
        for page in plan.pages:
            pages.add(page)
        pages.wait(lambda: None)


def publish_job(pages: _PageStore, name: str, folder: Path) -> tuple[float, float]:
    """The render job's render-and-store (each page stored while the next renders), timed:
    the whole of it and its render."""
    # The page store closes (its thread done) before the rendered pages' folder goes, as in the job.
    numbers = page_numbers(name)
    with tempfile.TemporaryDirectory(dir=folder) as out, pages:
        started = time.perf_counter()
        render_pages(CORPUS / name, Path(out), numbers, limits=DEFAULT_RENDER_LIMITS, on_page=pages.add)
        rendered = time.perf_counter() - started
        pages.wait(lambda: None)
        return time.perf_counter() - started, rendered


@dataclass
class ArchiveDirectory:
    tile_data_offset: int
    leaf_directory_offset: int
    root: list[Entry]
    leaves: dict[int, list[Entry]] = field(default_factory=dict)


class ArchiveReader:
    """Tiles read by byte range from page archives, keeping the last ``DIRECTORIES_KEPT``
    archives' directories, as each web process would."""

    def __init__(self, store: Storage) -> None:
        self.store = store
        self.directories: OrderedDict[str, ArchiveDirectory] = OrderedDict()
        self.lock = threading.Lock()
        self.loading: dict[str, threading.Lock] = {}
        self.directory_reads = 0

    def read_range(self, key: str, offset: int, length: int) -> bytes:
        if isinstance(self.store, S3Storage):
            answer = self.store.client.get_object(Bucket=self.store.bucket, Key=self.store._object_key(key),
                                                  Range=f"bytes={offset}-{offset + length - 1}")
            with answer["Body"] as body:
                return body.read()
        assert isinstance(self.store, LocalStorage)
        with open(self.store._path(key), "rb") as archive:
            archive.seek(offset)
            return archive.read(length)

    def directory(self, key: str) -> ArchiveDirectory:
        with self.lock:
            kept = self.directories.get(key)
            if kept is not None:
                self.directories.move_to_end(key)
                return kept
            loading = self.loading.setdefault(key, threading.Lock())
        # One fetch per page: the threads that miss it together wait for the first.
        with loading:
            with self.lock:
                kept = self.directories.get(key)
            return kept if kept is not None else self._fetch_directory(key)

    def _fetch_directory(self, key: str) -> ArchiveDirectory:
        first = self.read_range(key, 0, FIRST_BYTES)
        header = deserialize_header(first[:127])
        root_end = header["root_offset"] + header["root_length"]
        root = first[header["root_offset"]:root_end] if root_end <= len(first) else self.read_range(
            key, header["root_offset"], header["root_length"])
        directory = ArchiveDirectory(header["tile_data_offset"], header["leaf_directory_offset"],
                                     deserialize_directory(root))
        with self.lock:
            self.directory_reads += 1
            self.directories[key] = directory
            self.loading.pop(key, None)
            if len(self.directories) > DIRECTORIES_KEPT:
                self.directories.popitem(last=False)
        return directory

    def tile(self, key: str, z: int, x: int, y: int) -> bytes | None:
        directory = self.directory(key)
        tile_id, entries = zxy_to_tileid(z, x, y), directory.root
        for _depth in range(4):  # the format's deepest directory tree
            entry = find_tile(entries, tile_id)
            if entry is None:
                return None
            if entry.run_length:
                return self.read_range(key, directory.tile_data_offset + entry.offset, entry.length)
            leaf = directory.leaves.get(entry.offset)
            if leaf is None:
                leaf = deserialize_directory(self.read_range(
                    key, directory.leaf_directory_offset + entry.offset, entry.length))
                directory.leaves[entry.offset] = leaf
                with self.lock:
                    self.directory_reads += 1
            entries = leaf
        return None


# -- measuring -----------------------------------------------------------------------------


class RequestCount:
    """Every request the S3 client sends (retries included), counted by a botocore hook."""

    def __init__(self, store: S3Storage) -> None:
        self.sent = self.taken = 0
        self.lock = threading.Lock()
        store.client.meta.events.register("before-send.s3", self._sent)

    def _sent(self, **_: Any) -> None:
        with self.lock:
            self.sent += 1

    def since_last(self) -> int:
        with self.lock:
            count, self.taken = self.sent - self.taken, self.sent
        return count


def add_latency(store: S3Storage, milliseconds: float) -> None:
    """Wait before every request, in the thread that sends it, as a round trip would."""
    if milliseconds:
        delay = milliseconds / 1000
        store.client.meta.events.register("before-send.s3", lambda **_: time.sleep(delay))


@dataclass
class Reads:
    latencies: list[float]
    seconds: float
    requests: int

    def row(self, label: str) -> str:
        ordered = sorted(self.latencies)
        p99 = ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]
        return (f"| {label} | {len(ordered):,} | {self.requests:,} | {len(ordered) / self.seconds:,.0f} "
                f"| {statistics.median(ordered) * 1000:.2f} | {p99 * 1000:.2f} |")


def timed_reads(read: Callable[[Tile], bytes | None], tiles: Sequence[Tile], threads: int,
                requests: RequestCount) -> Reads:
    """Each tile read once, ``threads`` at a time; every answer checked against the rendered file
    after its time is taken."""
    latencies: list[float] = []
    requests.since_last()

    def one(tile: Tile) -> None:
        started = time.perf_counter()
        data = read(tile)
        latencies.append(time.perf_counter() - started)
        if data != tile.file.read_bytes():
            raise SystemExit(f"page {tile.page} tile {tile.z}/{tile.x}/{tile.y}: wrong bytes read back")

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=threads) as pool:
        list(pool.map(one, tiles))
    return Reads(latencies, time.perf_counter() - started, requests.since_last())


def directory_cost(store: Storage, version_key: str, plan: RenderedPlan) -> str:
    """Decoding the directory of the plan's largest page, and what keeping it costs in memory."""
    largest = max(plan.pages, key=lambda page: page.tiles)
    reader = ArchiveReader(store)
    key = archive_key(version_key, largest.number)
    header = deserialize_header(reader.read_range(key, 0, 127))
    raw = reader.read_range(key, header["root_offset"], header["root_length"])
    leaves = header["leaf_directory_length"]
    started = time.perf_counter()
    entries = deserialize_directory(raw)
    decoded = time.perf_counter() - started
    tracemalloc.start()
    kept = deserialize_directory(raw)
    size, _peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del kept
    return (f"largest page ({largest.tiles:,} tiles): root directory {len(raw):,} B gzipped "
            f"({len(gzip.decompress(raw)):,} B), {len(entries):,} entries "
            f"({header['tile_contents_count']:,} distinct tiles), leaf directories {leaves:,} B; "
            f"decoded in {decoded * 1000:.1f} ms, {size / 1024:.0f} KiB kept in memory")


def print_table(header: str, rows: list[str]) -> None:
    columns = header.count("|") - 1
    print(header + "\n" + "|---" * columns + "|")
    for row in rows:
        print(row)
    print(flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--plan", action="append", help="corpus file name (repeatable)")
    parser.add_argument("--latency-ms", type=float, default=0.0,
                        help="wait this long before every S3 request, as a network round trip would")
    parser.add_argument("--reads", type=int, default=2_000, help="random tiles read each way")
    parser.add_argument("--threads", type=int, default=16, help="reads at once (the store's 16 connections)")
    parser.add_argument("--repeat", type=int, default=1, help="publish runs each way (medians printed)")
    parser.add_argument("--job", action="store_true",
                        help="instead, time the whole render job each way (each plan rendered twice more)")
    args = parser.parse_args()
    KEPT.mkdir(parents=True, exist_ok=True)
    plans = []
    for name in args.plan or DEFAULT_PLANS:
        plan = rendered_plan(name)
        print(f"# {plan.short_name}: {len(plan.pages)} pages, {plan.tiles:,} tiles, rendered in "
              f"{plan.render_seconds:.1f} s (kept in {KEPT.relative_to(ROOT)})", flush=True)
        plans.append(plan)
    from exports import s3_bucket  # bench/exports.py: moto in its own process

    with s3_bucket() as storage_url, tempfile.TemporaryDirectory() as folder:
        store = storage.from_url(storage_url)
        assert isinstance(store, S3Storage)
        requests = RequestCount(store)
        add_latency(store, args.latency_ms)
        print(f"# pmtiles: {platform.platform()}, {os.cpu_count()} cores, load average "
              f"{os.getloadavg()[0]:.1f}, S3 (moto, own process, loopback)"
              + (f", {args.latency_ms:g} ms added to each request" if args.latency_ms else "")
              + f", {args.threads} threads\n", flush=True)
        if args.job:
            jobs(plans, store, Path(folder))
        else:
            run(args, plans, store, requests, Path(folder))
    print(f"# load average after: {os.getloadavg()[0]:.1f}")


def run(args: argparse.Namespace, plans: list[RenderedPlan], store: S3Storage, requests: RequestCount,
        folder: Path) -> None:
    published: list[str] = []
    reads: list[str] = []
    cleanup: list[str] = []
    notes: list[str] = []
    for plan in plans:
        object_runs: list[tuple[float, int]] = []
        archive_runs: list[tuple[float, Archives, int]] = []
        kept: dict[str, str] = {}
        for repeat in range(args.repeat):
            for way in (("objects", "archive") if repeat % 2 == 0 else ("archive", "objects")):
                version_key = secrets.token_urlsafe(9)
                requests.since_last()
                started = time.perf_counter()
                if way == "objects":
                    store_pages(_PageStore(store, version_key), plan)
                    object_runs.append((time.perf_counter() - started, requests.since_last()))
                else:
                    page_store = ArchivePageStore(store, version_key, folder)
                    store_pages(page_store, plan)
                    archive_runs.append((time.perf_counter() - started, page_store.written, requests.since_last()))
                if way in kept:
                    store.delete_prefix(objects.version_prefix(kept[way]))
                kept[way] = version_key
        objects_s = statistics.median(seconds for seconds, _ in object_runs)
        archive_s = statistics.median(seconds for seconds, _, _ in archive_runs)
        writing_s = statistics.median(written.seconds for _, written, _ in archive_runs)
        archives = archive_runs[0][1]
        tile_bytes = sum(tile.file.stat().st_size for page in plan.pages for tile in page_tiles(page))
        published.append(
            f"| {plan.short_name} | {len(plan.pages)} | {plan.tiles:,} | {tile_bytes / 1e6:.1f} / "
            f"{archives.bytes / 1e6:.1f} | {plan.render_seconds:.1f} | {objects_s:.2f} ({object_runs[0][1]:,}) "
            f"| {archive_s:.2f} ({archive_runs[0][2]:,}; writing {writing_s:.2f}) | {objects_s / archive_s:.1f}x |")
        reads += measure_reads(plan, store, kept["objects"], kept["archive"], args, requests)
        notes.append(f"- {plan.short_name}: {directory_cost(store, kept['archive'], plan)}")
        for way in ("objects", "archive"):
            prefix = objects.version_prefix(kept[way])
            count = sum(1 for _ in store.list(prefix))
            requests.since_last()
            started = time.perf_counter()
            deleted = store.delete_prefix(prefix)
            seconds = time.perf_counter() - started
            cleanup.append(f"| {plan.short_name} | {way} | {count:,} | {deleted:,} in {seconds:.2f} s "
                           f"({requests.since_last()} requests) |")
    print_table("| plan | pages | tiles | MB: tiles / archives | render s (once) "
                "| objects: store s (requests) | archives: store s (requests; local writing s) | sooner |",
                published)
    print_table("| reads | tiles | requests | tiles/s | p50 ms | p99 ms |", reads)
    print_table("| plan | layout | objects a version keeps (to copy in a backup) | cleanup: deleted |", cleanup)
    print("\n".join(notes), flush=True)
    local_reads(plans[0], args.reads, folder)


def jobs(plans: list[RenderedPlan], store: S3Storage, folder: Path) -> None:
    """Upload to published as the job does it, each way: the render, with each page stored
    while the next one renders, and what is left to store after the render."""
    rows = []
    for plan in plans:
        for way in ("objects", "archive"):
            version_key = secrets.token_urlsafe(9)
            pages = _PageStore(store, version_key) if way == "objects" else ArchivePageStore(store, version_key, folder)
            job, rendered = publish_job(pages, plan.name, folder)
            rows.append(f"| {plan.short_name} | {way} | {job:.2f} | {rendered:.2f} | {job - rendered:.2f} |")
            store.delete_prefix(objects.version_prefix(version_key))
    print_table("| plan | layout | job s | rendering s | storing after the render s |", rows)


def measure_reads(plan: RenderedPlan, store: S3Storage, objects_version: str, archives_version: str,
                  args: argparse.Namespace, requests: RequestCount) -> list[str]:
    """Random tiles of the plan by key and by range (directories cold, then warm), and each
    page's first tile alone in a process that has seen none of them."""
    every_tile = [tile for page in plan.pages for tile in page_tiles(page)]
    sample = random.Random(19).choices(every_tile, k=args.reads)
    firsts = [random.Random(page.number).choice(list(page_tiles(page))) for page in plan.pages]
    name = plan.short_name

    def by_key(tile: Tile) -> bytes:
        return store.get(objects.tile_key(objects_version, tile.page, tile.z, tile.x, tile.y))

    def by_range(reader: ArchiveReader) -> Callable[[Tile], bytes | None]:
        return lambda tile: reader.tile(archive_key(archives_version, tile.page), tile.z, tile.x, tile.y)

    rows = [timed_reads(by_key, sample, args.threads, requests).row(f"{name}: GET by key")]
    reader = ArchiveReader(store)
    cold = timed_reads(by_range(reader), sample, args.threads, requests)
    rows.append(cold.row(f"{name}: range GET, cold directories ({reader.directory_reads} directory reads)"))
    rows.append(timed_reads(by_range(reader), sample, args.threads, requests).row(
        f"{name}: range GET, warm directories"))
    rows.append(timed_reads(by_key, firsts, 1, requests).row(f"{name}: each page's first tile, GET"))
    rows.append(timed_reads(by_range(ArchiveReader(store)), firsts, 1, requests).row(
        f"{name}: each page's first tile, directory + range GET"))
    return rows


def local_reads(plan: RenderedPlan, count: int, folder: Path) -> None:
    """The same reads in process from a local folder, one at a time: the store's share of what
    the tile gate spends on a tile (about 90 µs in all, docs/benchmarks.md)."""
    store = LocalStorage(folder / "local")
    objects_key, archives_key = "local-objects", "local-archives"
    store_pages(_PageStore(store, objects_key), plan)
    store_pages(ArchivePageStore(store, archives_key, folder), plan)
    sample = random.Random(20).choices([tile for page in plan.pages for tile in page_tiles(page)], k=count)
    reader = ArchiveReader(store)
    reader.tile(archive_key(archives_key, sample[0].page), sample[0].z, sample[0].x, sample[0].y)
    ways: list[tuple[str, Callable[[Tile], bytes | None]]] = [
        ("get by key", lambda tile: store.get(objects.tile_key(objects_key, tile.page, tile.z, tile.x, tile.y))),
        ("directory lookup + range read (warm)",
         lambda tile: reader.tile(archive_key(archives_key, tile.page), tile.z, tile.x, tile.y)),
    ]
    rows = []
    for label, read in ways:
        for tile in sample[:50]:
            read(tile)  # the file system's caches and the directories, as in a running process
        started = time.perf_counter()
        for tile in sample:
            read(tile)
        rows.append(f"| {plan.short_name}: {label} | {count:,} | {(time.perf_counter() - started) / count * 1e6:.0f} |")
    print()
    print_table("| local folder, in process, one at a time | tiles | µs a tile |", rows)


if __name__ == "__main__":
    main()
