"""An uploaded file on its way in: copied from the request's stream to a private temporary
file in chunks, hashed on the way and stopped at the size limit, so a file too large is
refused after reading no more than the limit and no upload is ever held in memory. Plans
(services.plans) and photos (services.photos) both arrive this way.

Must not import blueprints, storage or converters."""
from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path
from typing import IO, NamedTuple

MB = 1024 * 1024


class Spooled(NamedTuple):
    """The upload's private copy (the caller deletes it), its sha256 and its size in bytes."""

    path: Path
    sha256: str
    size: int


def spool(stream: IO[bytes], folder: Path, *, max_bytes: int, too_large: Exception, prefix: str,
          suffix: str) -> Spooled:
    """Copy ``stream`` into a new file in ``folder``; raise ``too_large`` (the caller's words
    for its partner) past ``max_bytes``, leaving nothing behind."""
    digest = hashlib.sha256()
    size = 0
    fd, name = tempfile.mkstemp(prefix=prefix, suffix=suffix, dir=folder)
    path = Path(name)
    try:
        with os.fdopen(fd, "wb") as out:
            while chunk := stream.read(MB):
                size += len(chunk)
                if size > max_bytes:
                    raise too_large
                digest.update(chunk)
                out.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return Spooled(path, digest.hexdigest(), size)
