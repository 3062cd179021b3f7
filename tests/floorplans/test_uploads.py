"""An upload's private copy (floorplans.uploads): its sha256 and size, and a file over the
limit refused with the caller's words after reading no more than the limit, leaving nothing."""
from __future__ import annotations

import hashlib
import io
from pathlib import Path

import pytest

from floorplans.uploads import MB, spool


class Refused(Exception):
    pass


class Counting(io.BytesIO):
    """A request stream that remembers how much was read from it."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data)
        self.taken = 0

    def read(self, size: int | None = -1) -> bytes:
        chunk = super().read(size)
        self.taken += len(chunk)
        return chunk


def test_an_upload_is_copied_with_its_hash_and_size(tmp_path: Path) -> None:
    data = b"%PDF-1.7 " + bytes(range(256)) * 9000  # more than one chunk
    path, sha256, size = spool(io.BytesIO(data), tmp_path, max_bytes=4 * MB, too_large=Refused(), prefix="upload-",
                               suffix=".pdf")
    assert path.parent == tmp_path and path.name.startswith("upload-") and path.suffix == ".pdf"
    assert path.read_bytes() == data and size == len(data) and sha256 == hashlib.sha256(data).hexdigest()


def test_a_file_over_the_limit_is_refused_and_leaves_nothing(tmp_path: Path) -> None:
    stream = Counting(b"x" * (5 * MB))
    with pytest.raises(Refused, match="too big"):
        spool(stream, tmp_path, max_bytes=2 * MB, too_large=Refused("too big"), prefix="photo-", suffix=".img")
    assert list(tmp_path.iterdir()) == []
    assert stream.taken <= 3 * MB  # stopped at the limit, not after the whole stream


def test_an_empty_upload_is_an_empty_file(tmp_path: Path) -> None:
    path, _, size = spool(io.BytesIO(b""), tmp_path, max_bytes=MB, too_large=Refused(), prefix="u-", suffix=".pdf")
    assert size == 0 and path.read_bytes() == b""
