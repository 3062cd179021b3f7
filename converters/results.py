"""Rendering limits and what rendering reports back: the records the app's job code reads.

Plain frozen dataclasses; must not import Flask, SQLAlchemy, storage or floorplans."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class RenderLimits:
    """Per-page and per-worker limits.

    ``memory_mb`` caps each worker's *virtual* address space (RLIMIT_AS), not its resident
    memory. A started worker maps ~100 MB (Python, PyMuPDF, Pillow; it blocks PyMuPDF's
    optional ONNX layout module, which would map ~430 MB more) and peaks at 70-130 MB
    resident on the corpus, so 1024 MB leaves room for a large scan decoded at full
    resolution (MuPDF's own store is capped at 256 MB) while a runaway page fails fast
    (docs/benchmarks.md).

    ``cpu_seconds`` is RLIMIT_CPU, set before exec, and applies to each page: a worker
    serves all the pages of one ``render_pages`` call, so its hard limit is
    ``cpu_seconds`` times the number of pages and it moves its soft limit (SIGXCPU) to
    ``cpu_seconds`` past what it has used before starting each page. ``wall_seconds`` is
    per page too, enforced by the parent."""

    page_pixels: int = 100_000_000
    target_dpi: float = 288.0
    wall_seconds: float = 120.0
    cpu_seconds: int = 240
    memory_mb: int = 1024
    workers: int = 2
    # Read each page's room labels (converters.rooms) while rendering; bench/rooms.py turns
    # it off to measure what reading them adds.
    labels: bool = True


DEFAULT_RENDER_LIMITS = RenderLimits()


@dataclass(frozen=True)
class Progress:
    """One step of a ``render_pages`` call.

    ``tiles_total`` is the sum over the pages whose geometry is known so far (a page's tile
    count is known only once its worker has measured it), so it grows as pages start and
    reaches its final value when the last page starts; ``tiles_done`` never exceeds it."""

    page_number: int
    pages_done: int
    pages_total: int
    tiles_done: int
    tiles_total: int


@dataclass(frozen=True)
class PageResult:
    """A rendered page: a Leaflet CRS.Simple pyramid under ``directory``.

    ``directory`` holds ``<z>/<x>/<y>.<format>`` (x = column, y = row from top-left) for
    z in min_zoom..max_zoom, plus ``overview.<format>``, and nothing else."""

    number: int
    width: int
    height: int
    tile_size: int
    min_zoom: int
    max_zoom: int
    format: str
    kind: str
    dpi: float
    background: str
    tiles: int
    bytes: int
    directory: Path
    overview_width: int
    overview_height: int

    @property
    def labels_file(self) -> Path:
        """The page's room labels (converters.rooms.PageLabels as JSON), beside ``directory``;
        absent when the worker could not write them."""
        return self.directory.parent / f"{self.directory.name}.labels.json"
