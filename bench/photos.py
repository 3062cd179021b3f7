"""Photos made safe (converters.images, in the child process of converters.image_isolation):
for a phone's JPEG (12 and 48 megapixels, EXIF orientation 6 and GPS tags), its HEIC (12
megapixels) and a PNG scan, the wall and CPU time of one isolated call (the child's start
included) and of the same work in this process, the child's peak memory, and the stored
bytes of each size; then a 12-megapixel photo of a plan turned into its one-page PDF.  CPU
time as well as wall time: the figures then hold on a machine busy with other work.  Figures,
never pass/fail.

    .venv/bin/python bench/photos.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import io
import platform
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import pillow_heif  # noqa: E402
from PIL import Image  # noqa: E402

from converters import image_isolation, images  # noqa: E402
from tests.converters.photo_samples import exif_block  # noqa: E402


def phone_picture(width: int, height: int) -> Image.Image:
    """Something like a photo (noise and gradients compress like one; a flat colour would not)."""
    noise = Image.effect_noise((width, height), 40).convert("L")
    gradient = Image.linear_gradient("L").resize((width, height))
    return Image.merge("RGB", (noise, gradient, Image.blend(noise, gradient, 0.5)))


def jpeg(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    phone_picture(width, height).save(buffer, "JPEG", quality=90, exif=exif_block(6).tobytes())
    return buffer.getvalue()


def heic(width: int, height: int) -> bytes:
    pillow_heif.register_heif_opener()
    buffer = io.BytesIO()
    phone_picture(width, height).save(buffer, "HEIF", quality=80, exif=exif_block(6).tobytes())
    return buffer.getvalue()


def png(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    phone_picture(width, height).convert("L").save(buffer, "PNG")
    return buffer.getvalue()


def children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def timed(work: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Median wall seconds and median CPU seconds (this process and its children)."""
    walls, cpus = [], []
    for _ in range(repeat):
        own, children, started = time.process_time(), children_cpu(), time.perf_counter()
        work()
        walls.append(time.perf_counter() - started)
        cpus.append(time.process_time() - own + children_cpu() - children)
    return statistics.median(walls), statistics.median(cpus)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"{platform.processor() or platform.machine()}, Python {platform.python_version()}, "
          f"Pillow {Image.__version__}, pillow-heif {pillow_heif.__version__}")
    print("| picture | file | isolated: wall / CPU s | in process: wall / CPU s | stored 320 + 1280 |")
    print("|---|---|---|---|---|")
    samples = {
        "JPEG 4032 x 3024 (12 MP)": jpeg(4032, 3024),
        "JPEG 8000 x 6000 (48 MP)": jpeg(8000, 6000),
        "HEIC 4032 x 3024 (12 MP)": heic(4032, 3024),
        "PNG 5100 x 6600 grey (a letter page at 600 dpi)": png(5100, 6600),
    }
    with tempfile.TemporaryDirectory() as folder:
        work = Path(folder)
        for name, data in samples.items():
            source = work / "photo"
            source.write_bytes(data)
            result = image_isolation.photo_sizes_isolated(source, work / "out")
            isolated = timed(lambda source=source: image_isolation.photo_sizes_isolated(source, work / "out"),
                             args.repeat)
            inline = timed(lambda data=data: images.photo_sizes(data, work / "out", image_isolation.PHOTO_SIZES),
                           args.repeat)
            stored = " + ".join(f"{size.bytes / 1000:.0f} kB" for size in result.sizes)
            print(f"| {name} | {len(data) / 1e6:.1f} MB | {isolated[0]:.2f} / {isolated[1]:.2f} | "
                  f"{inline[0]:.2f} / {inline[1]:.2f} | {stored} |")
        source = work / "plan.jpg"
        source.write_bytes(samples["JPEG 4032 x 3024 (12 MP)"])
        made = image_isolation.image_pdf_isolated(source, work / "plan.pdf")
        wall, cpu = timed(lambda: image_isolation.image_pdf_isolated(source, work / "plan.pdf"), args.repeat)
        print(f"\nA 12 MP photo of a plan -> one-page PDF: {wall:.2f} s wall, {cpu:.2f} s CPU; page "
              f"{made.width_pt / 72:.1f} x {made.height_pt / 72:.1f} in at {made.dpi:.0f} dpi, "
              f"{(work / 'plan.pdf').stat().st_size / 1e6:.1f} MB")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"Largest child's peak RSS (ru_maxrss, includes what it shared with this process before exec): "
          f"{peak:.0f} MB")


if __name__ == "__main__":
    main()
