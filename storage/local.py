"""Local-folder backend: the embedded default, objects as files under one root folder.

A key maps to the path ``root/<key>``. Writes go to a temporary file in the
target folder, are fsynced and then renamed over the target, so a reader (or a
restart after a crash) sees the whole old object or the whole new one.
Temporary names contain ``~``, which no key may, so they are never listed.

Limits that S3 does not have: a key cannot be both an object and a folder
(``a`` and ``a/b``), and objects carry no content type (callers derive it from
the key's extension). Objects are created readable by the app's user only.

This module must not import Flask, SQLAlchemy, boto3, ``converters`` or
``floorplans``.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO
from urllib.parse import urlsplit
from urllib.request import url2pathname

from storage.base import (
    MAX_KEY_LENGTH,
    InvalidKey,
    Storage,
    StorageError,
    is_key_segment,
    validate_expiry,
    validate_folder,
    validate_key,
    validate_listing_folder,
    validate_prefix,
)

__all__ = ["LocalStorage"]

# '~' is outside the key alphabet: a temporary file can never shadow an object.
_TEMP_PREFIX = ".~"
_TEMP_SUFFIX = ".part"
_COPY_CHUNK = 1024 * 1024


class LocalStorage(Storage):
    """Objects as files under ``root`` (created if missing)."""

    def __init__(self, root: os.PathLike[str] | str, *, max_workers: int = 4) -> None:
        folder = Path(root).expanduser()
        try:
            # Readable by this account only, as its files are (mkstemp makes them 0600): plans
            # of places of worship.  An existing folder keeps the mode its operator gave it.
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError(f"cannot create storage folder {folder}: {exc.strerror}") from exc
        # Resolved once, so that every containment check compares real paths.
        self.root = folder.resolve()
        # Threads only overlap fsync waits here; a handful is plenty.
        self.max_workers = max_workers

    @classmethod
    def from_url(cls, url: str, *, max_workers: int = 4) -> LocalStorage:
        """Build from ``file:///absolute/path`` (``file://localhost/...`` too)."""
        parts = urlsplit(url)
        if parts.scheme != "file" or parts.netloc not in ("", "localhost"):
            raise ValueError(
                f"not a local file URL: {url!r}; write file:///absolute/path "
                "or a plain folder path"
            )
        if parts.query or parts.fragment:
            raise ValueError(f"a file storage URL takes no query or fragment: {url!r}")
        return cls(url2pathname(parts.path), max_workers=max_workers)

    # -- paths ---------------------------------------------------------------

    def _inside_root(self, path: Path) -> bool:
        real = os.path.realpath(path)
        root = str(self.root)
        return real == root or real.startswith(root.rstrip(os.sep) + os.sep)

    def _path(self, key: str) -> Path:
        validate_key(key)
        path = self.root.joinpath(*key.split("/"))
        # The key itself cannot climb out, but a symlink inside the root could
        # lead anywhere; refuse to read or write through one that leaves it.
        # (Whoever can plant symlinks in the root between this check and the
        # open can already write the objects directly.)
        if not self._inside_root(path):
            raise InvalidKey(f"storage key {key!r} leads outside {self.root} through a symlink")
        return path

    def _fail(self, action: str, key: str, exc: OSError) -> StorageError:
        reason = exc.strerror or str(exc)
        return StorageError(f"local storage: cannot {action} {key!r} in {self.root}: {reason}")

    # -- writes --------------------------------------------------------------

    def put(self, key: str, data: bytes, *, content_type: str | None = None) -> None:
        path = self._path(key)
        self._write(key, path, lambda target: target.write(data))

    def put_file(
        self, key: str, path: os.PathLike[str] | str, *, content_type: str | None = None
    ) -> None:
        target = self._path(key)
        # Opened before anything is created: a missing source is the caller's
        # FileNotFoundError, not a storage failure.
        with open(path, "rb") as source:
            self._write(key, target, lambda out: shutil.copyfileobj(source, out, _COPY_CHUNK))

    def _write(self, key: str, path: Path, fill: Callable[[BinaryIO], object]) -> None:
        fd, tmp = self._temp_file(key, path.parent)
        try:
            with os.fdopen(fd, "wb") as out:
                fill(out)
                out.flush()
                os.fsync(out.fileno())
            # The rename is what makes the write atomic. The folder is not
            # fsynced: after a power cut an object written just before may be
            # missing, never partial, and renders are redone when their
            # manifest (written last) is missing.
            os.replace(tmp, path)
        except BaseException as exc:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            if isinstance(exc, IsADirectoryError):
                raise StorageError(
                    f"local storage: cannot write {key!r}: a folder of that name holds "
                    "other objects"
                ) from exc
            if isinstance(exc, OSError):
                raise self._fail("write", key, exc) from exc
            raise

    def _temp_file(self, key: str, folder: Path) -> tuple[int, str]:
        # A concurrent delete may prune the freshly made folder before the
        # temporary file lands in it; making it again is enough.
        for attempt in range(3):
            try:
                folder.mkdir(mode=0o700, parents=True, exist_ok=True)
                return tempfile.mkstemp(dir=folder, prefix=_TEMP_PREFIX, suffix=_TEMP_SUFFIX)
            except FileNotFoundError as exc:
                if attempt == 2:
                    raise self._fail("write", key, exc) from exc
            except (FileExistsError, NotADirectoryError) as exc:
                raise StorageError(
                    f"local storage: cannot write {key!r}: part of its path is an object"
                ) from exc
            except OSError as exc:
                raise self._fail("write", key, exc) from exc
        raise AssertionError("unreachable")

    # -- reads ---------------------------------------------------------------

    def get(self, key: str) -> bytes:
        path = self._path(key)
        try:
            with open(path, "rb") as source:
                return source.read()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            # A folder is not an object; and the message names the key, not
            # the server's paths.
            raise FileNotFoundError(errno.ENOENT, "no such object", key) from None
        except OSError as exc:
            raise self._fail("read", key, exc) from exc

    def exists(self, key: str) -> bool:
        path = self._path(key)
        try:
            return path.is_file()
        except OSError as exc:
            raise self._fail("look up", key, exc) from exc

    def list(self, prefix: str = "") -> Iterator[str]:
        validate_prefix(prefix)
        folder, _, start = prefix.rpartition("/")
        base = self.root.joinpath(*folder.split("/")) if folder else self.root
        if not self._inside_root(base):
            return iter(())
        try:
            keys = sorted(self._walk(base, f"{folder}/" if folder else "", start))
        except OSError as exc:
            raise self._fail("list", prefix, exc) from exc
        return iter(keys)

    def folders(self, prefix: str) -> Iterator[str]:
        folder = validate_listing_folder(prefix)
        base = self.root.joinpath(*folder[:-1].split("/"))
        if not self._inside_root(base):
            return iter(())
        try:
            entries = list(os.scandir(base))
        except (FileNotFoundError, NotADirectoryError):
            return iter(())
        except OSError as exc:
            raise self._fail("list", prefix, exc) from exc
        # A folder a crash left empty holds no object: not listed, as on S3.
        return iter(sorted(entry.name for entry in entries
                           if is_key_segment(entry.name) and entry.is_dir(follow_symlinks=False)
                           and next(self._walk(Path(entry.path), f"{folder}{entry.name}/"), None) is not None))

    def _walk(self, folder: Path, key_prefix: str, start: str = "") -> Iterator[str]:
        try:
            entries = list(os.scandir(folder))
        except (FileNotFoundError, NotADirectoryError):
            return
        for entry in entries:
            name = entry.name
            # Skips temporary files and anything not written through a key.
            if not name.startswith(start) or not is_key_segment(name):
                continue
            key = key_prefix + name
            # follow_symlinks=False: only what the store wrote is listed, and
            # a symlink can't drag a listing (or delete_prefix) outside root.
            if entry.is_dir(follow_symlinks=False):
                yield from self._walk(Path(entry.path), key + "/")
            elif entry.is_file(follow_symlinks=False) and len(key) <= MAX_KEY_LENGTH:
                yield key

    # -- deletes -------------------------------------------------------------

    def delete(self, key: str) -> None:
        path = self._path(key)
        if self._unlink(key, path):
            self._prune(path.parent)

    def delete_prefix(self, prefix: str) -> int:
        validate_folder(prefix)
        deleted = 0
        for key in self.list(prefix):
            if self._unlink(key, self.root.joinpath(*key.split("/"))):
                deleted += 1
        folder = self.root.joinpath(*prefix[:-1].split("/"))
        if self._inside_root(folder) and not folder.is_symlink():
            for dirpath, _dirnames, _filenames in os.walk(folder, topdown=False):
                with contextlib.suppress(OSError):
                    os.rmdir(dirpath)
            self._prune(folder)
        return deleted

    def _unlink(self, key: str, path: Path) -> bool:
        try:
            path.unlink()
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            return False
        except OSError as exc:
            raise self._fail("delete", key, exc) from exc
        return True

    def _prune(self, folder: Path) -> None:
        """Remove ``folder`` and its parents up to the root while they are empty."""
        while folder != self.root and folder.is_relative_to(self.root):
            try:
                folder.rmdir()
            except OSError:
                # Not empty (or already gone, or a symlink): stop here.
                if folder.exists():
                    return
            folder = folder.parent

    # -- the rest ------------------------------------------------------------

    def signed_url(self, key: str, *, expires_in: int = 60) -> str | None:
        self._path(key)
        validate_expiry(expires_in)
        return None

    def check(self) -> None:
        try:
            fd, probe = tempfile.mkstemp(dir=self.root, prefix=_TEMP_PREFIX, suffix=".check")
            try:
                os.write(fd, b"ok")
                os.fsync(fd)
            finally:
                os.close(fd)
                os.unlink(probe)
        except OSError as exc:
            raise StorageError(
                f"local folder {self.root} is not writable: {exc.strerror or exc}"
            ) from exc

    def describe(self) -> str:
        return f"local folder {self.root}"
