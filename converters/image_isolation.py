"""The parent side of pictures: make a photo safe (converters.images) in a child process
with a memory cap, a CPU limit and a wall-clock deadline, so that a hostile picture (a
decompression bomb, a file that hangs a decoder) costs a short-lived child, never the web
process; every way the child can fail becomes an ``ImageRejected`` sentence.

The cheap checks (size, kind by its bytes, one file from first byte to last) run here first,
so most refusals cost no child at all. Must not import PIL or pymupdf, nor Flask,
SQLAlchemy, storage or floorplans."""

from __future__ import annotations

import logging
from dataclasses import asdict
from pathlib import Path
from typing import Any

from converters import images
from converters.errors import ImageRejected
from converters.images import DEFAULT_IMAGE_LIMITS, ImageLimits, ImageSize, PhotoResult, PlanImageResult
from converters.process import ChildProcess, WallTimeout, ask

logger = logging.getLogger(__name__)

#: The long sides of a photo's stored sizes: a thumbnail for lists, cards and the tap panel,
#: and one that fills an in-car screen.
PHOTO_SIZES = (320, 1280)
# A 48-megapixel HEIC decodes in ~2 s on one of our cores, a 12-megapixel JPEG in 0.2 s; a
# picture still being decoded after 15 s is a hostile one.
TIMEOUT_SECONDS = 15.0
MEMORY_MB = 1024

# Set by tests only ("hang": the child spins until its limits stop it).
TEST_HOOK: str | None = None
_TRY_AGAIN = "Take or export the photo again as JPEG, PNG or HEIC, and upload that file."


def _run(job: dict[str, Any], source: Path, limits: ImageLimits, timeout: float, memory_mb: int) -> dict[str, Any]:
    images.check_structure(source.read_bytes(), limits)  # most refusals need no child
    job = {**job, "source": str(source), "limits": asdict(limits)}
    if TEST_HOOK:
        job["test_hook"] = TEST_HOOK
    child = ChildProcess(
        job, memory_mb=memory_mb, cpu_seconds=max(1, int(timeout)), module="converters.image_worker"
    )
    try:
        answer = ask(child, timeout, what=f"reading picture {source.name}")
    except WallTimeout:
        raise ImageRejected(
            f"We could not finish reading this picture within {timeout:.0f} seconds, so it was refused. {_TRY_AGAIN}"
        ) from None
    if answer.rejection is not None:
        raise ImageRejected(answer.rejection)
    reply = answer.payload("image")
    if reply is not None:
        result: dict[str, Any] = reply["result"]
        return result
    logger.warning("reading picture %s failed: %s %s", source.name, answer.outcome.describe(), answer.detail)
    if answer.out_of_memory:
        raise ImageRejected(f"This picture needs more memory to open than we allow, so it was refused. {_TRY_AGAIN}")
    if answer.outcome.returncode < 0:
        raise ImageRejected(
            f"Reading this picture took longer than we allow, so it was refused. {_TRY_AGAIN}"
        )
    raise ImageRejected(f"This picture could not be read safely; it is probably damaged. {_TRY_AGAIN}")


def photo_sizes_isolated(
    source: Path,
    out_dir: Path,
    sizes: tuple[int, ...] = PHOTO_SIZES,
    limits: ImageLimits = DEFAULT_IMAGE_LIMITS,
    *,
    timeout: float = TIMEOUT_SECONDS,
    memory_mb: int = MEMORY_MB,
) -> PhotoResult:
    """Write ``<size>.webp`` for each of ``sizes`` into ``out_dir``: upright, sRGB, no
    metadata. Raises ``ImageRejected`` with what to do."""
    out_dir = Path(out_dir).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    fields = _run({"task": "image", "mode": "photo", "out": str(out_dir), "sizes": list(sizes)},
                  Path(source).resolve(), limits, timeout, memory_mb)  # fmt: skip
    return PhotoResult(
        kind=fields["kind"], width=fields["width"], height=fields["height"],
        sizes=tuple(ImageSize(**size) for size in fields["sizes"]),
    )  # fmt: skip


def image_pdf_isolated(
    source: Path,
    out_path: Path,
    limits: ImageLimits = DEFAULT_IMAGE_LIMITS,
    *,
    timeout: float = TIMEOUT_SECONDS,
    memory_mb: int = MEMORY_MB,
) -> PlanImageResult:
    """Write a one-page PDF of the upright picture at ``out_path`` (converters.images.image_pdf)."""
    fields = _run({"task": "image", "mode": "plan", "out": str(Path(out_path).resolve())},
                  Path(source).resolve(), limits, timeout, memory_mb)  # fmt: skip
    return PlanImageResult(**fields)
