"""Deterministic mutations of small PDFs for fuzzing the upload validation and the renderer.

Input ``n`` is always the same bytes (``mutant(n)``), so a failure names a number that
reproduces it.  Run as ``python -m tests.security.fuzzing START COUNT PROGRESS_FILE``: a
child process validates inputs START.. in-process, writing each number to PROGRESS_FILE
before trying it (if MuPDF crashes or hangs, the parent knows on which input) and a JSON
line of results to standard output at the end."""

from __future__ import annotations

import json
import random
import re
import sys
import time
from functools import cache
from pathlib import Path

SEED = 20261122
CORPUS = Path(__file__).resolve().parents[3] / "shared" / "corpus"
_NUMBER = re.compile(rb"-?\d+(?:\.\d+)?")
_KEYWORDS = [b"obj", b"endobj", b"stream", b"endstream", b"R", b"/Kids", b"/Count", b"/Length", b"/Page",
             b"/Pages", b"/Parent", b"/MediaBox", b"/Filter", b"/FlateDecode", b"xref", b"trailer",
             b"startxref", b"%%EOF", b"<<", b">>", b"[", b"]", b"/Root", b"/Encrypt", b"/Rotate"]  # fmt: skip
_EXTREMES = [b"0", b"-1", b"2147483648", b"-2147483649", b"99999999999999999999", b"1e308", b"NaN", b"0.000001",
             b"65535", b"4294967295"]  # fmt: skip


@cache
def seeds() -> tuple[bytes, ...]:
    from tests.security import hostile

    made = [hostile.simple_plan(), hostile.javascript_everywhere(), hostile.page_tree_loop_pair(),
            hostile.embedded_file_and_launch(), hostile.many_pages(3), hostile.encrypted(None),
            hostile.one_page(b"q 1 0 0 1 10 10 cm 0 0 100 100 re f Q", size=(1000, 700)),
            hostile.image_bomb(200)]  # fmt: skip
    small = [p.read_bytes() for p in sorted(CORPUS.glob("bad-*.pdf")) if p.stat().st_size < 2048]
    return tuple(made + small)


def mutant(index: int) -> bytes:
    rng = random.Random(f"{SEED}:{index}")
    data = bytearray(rng.choice(seeds()))
    for _ in range(rng.randint(1, 4)):
        operation = rng.randrange(8)
        if not data:
            data = bytearray(rng.choice(seeds()))
        position = rng.randrange(len(data))
        if operation == 0:  # flip bytes
            for _ in range(rng.randint(1, 8)):
                data[rng.randrange(len(data))] = rng.randrange(256)
        elif operation == 1:  # insert junk
            data[position:position] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 64)))
        elif operation == 2:  # delete a range
            del data[position: position + rng.randint(1, 128)]
        elif operation == 3:  # duplicate a range
            data[position:position] = data[position: position + rng.randint(1, 256)]
        elif operation == 4:  # truncate
            del data[position:]
        elif operation == 5:  # a number becomes extreme
            numbers = list(_NUMBER.finditer(data))
            if numbers:
                match = rng.choice(numbers)
                data[match.start(): match.end()] = rng.choice(_EXTREMES)
        elif operation == 6:  # a keyword becomes another
            data[position:position] = b" " + rng.choice(_KEYWORDS) + b" "
        else:  # splice with another seed
            other = rng.choice(seeds())
            data = data[:position] + bytearray(other[rng.randrange(len(other)):])
    return bytes(data)


def main() -> None:
    import converters
    from converters.validate import UploadLimits

    start, count, progress = int(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3])
    limits = UploadLimits(max_page_pixels=4_000_000)
    accepted, refused, slowest, surprises = [], 0, 0.0, []
    with progress.open("w") as mark:
        for index in range(start, start + count):
            mark.write(f"{index}\n")
            mark.flush()
            data = mutant(index)
            began = time.monotonic()
            try:
                converters.validate_pdf(data, limits)
            except converters.PdfRejected as rejected:
                refused += 1
                if not str(rejected).strip() or "Traceback" in str(rejected):
                    surprises.append([index, "empty or raw message"])
            except Exception as error:  # noqa: BLE001  (any other exception is the finding)
                surprises.append([index, f"{type(error).__name__}: {error}"[:200]])
            else:
                accepted.append(index)
            slowest = max(slowest, time.monotonic() - began)
    print(json.dumps({"accepted": accepted, "refused": refused, "slowest": slowest, "surprises": surprises}))


if __name__ == "__main__":
    main()
