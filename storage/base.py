"""The storage interface: a flat key -> bytes store, its errors and its key rules.

Everything above ``storage/`` (services, jobs, the CLI) codes against
:class:`Storage` only; which backend sits behind it is configuration
(:func:`storage.from_url`). This module must not import Flask, SQLAlchemy, boto3,
``converters`` or ``floorplans``: it is the part every backend and every
caller shares, and must stay importable anywhere.
"""

from __future__ import annotations

import abc
import os
import re
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait

__all__ = [
    "MAX_KEY_LENGTH",
    "MAX_SIGNED_URL_SECONDS",
    "InvalidKey",
    "Storage",
    "StorageError",
    "is_key_segment",
    "validate_expiry",
    "validate_folder",
    "validate_key",
    "validate_listing_folder",
    "validate_prefix",
]

MAX_KEY_LENGTH = 512

_SEGMENT = re.compile(r"[A-Za-z0-9._-]+")


class StorageError(Exception):
    """A backend failed for a reason other than a missing object.

    The message names the backend, the operation and the key, never
    credentials, so it is safe to log; the original exception is chained as
    ``__cause__``. It is not meant to be shown to users as it is.
    """


class InvalidKey(StorageError, ValueError):
    """A key or prefix breaks the key rules (see :func:`validate_key`).

    Also a :class:`ValueError`, because it is the caller's mistake, not the
    backend's.
    """


def is_key_segment(segment: str) -> bool:
    return segment not in (".", "..") and _SEGMENT.fullmatch(segment) is not None


def validate_key(key: object) -> str:
    """Return ``key`` if it is a valid object key, else raise :class:`InvalidKey`.

    A key is a ``/``-separated relative path of at most 512 characters whose
    segments are made of ``[A-Za-z0-9._-]``, none empty, ``.`` or ``..``. The
    rule is deliberately narrow: such a key is the same path on every
    filesystem and the same key on every S3 implementation, needs no escaping
    in URLs, and cannot climb out of a folder.
    """
    if not isinstance(key, str):
        raise InvalidKey(f"storage key must be a str, not {type(key).__name__}")
    if not key:
        raise InvalidKey("storage key is empty")
    if len(key) > MAX_KEY_LENGTH:
        raise InvalidKey(f"storage key is longer than {MAX_KEY_LENGTH} characters")
    if not all(is_key_segment(segment) for segment in key.split("/")):
        # repr() so that NUL, newlines and backslashes are visible in logs.
        raise InvalidKey(
            f"invalid storage key {key!r}: use '/'-separated segments of "
            "A-Z a-z 0-9 . _ -, none empty, '.' or '..'"
        )
    return key


def validate_prefix(prefix: object, *, allow_empty: bool = True) -> str:
    """Return ``prefix`` if it can start a valid key, else raise :class:`InvalidKey`.

    A prefix is matched as a plain string prefix of keys, as S3 does:
    ``"tiles/1"`` selects ``tiles/1/...``, ``tiles/10/...`` and
    ``tiles/1.json``, while ``"tiles/1/"`` selects only what lies below the
    folder ``tiles/1``. It is therefore a valid key, optionally followed by one
    ``/``; the empty prefix (everything) is refused where ``allow_empty`` is
    false.
    """
    if not isinstance(prefix, str):
        raise InvalidKey(f"storage prefix must be a str, not {type(prefix).__name__}")
    if not prefix:
        if allow_empty:
            return prefix
        raise InvalidKey("an empty storage prefix would select every object")
    try:
        validate_key(prefix[:-1] if prefix.endswith("/") else prefix)
    except InvalidKey:
        raise InvalidKey(f"invalid storage prefix {prefix!r}") from None
    return prefix


def validate_folder(prefix: object) -> str:
    """Return ``prefix`` if it names a folder (a valid prefix ending in ``/``), as
    ``delete_prefix`` requires, else raise :class:`InvalidKey`."""
    folder = validate_prefix(prefix, allow_empty=False)
    if not folder.endswith("/"):
        raise InvalidKey(
            f"delete_prefix({folder!r}) would also take every key that merely starts "
            f"with it; pass a folder ending in '/', e.g. {folder + '/'!r}"
        )
    return folder


def validate_listing_folder(prefix: object) -> str:
    """``prefix`` if it names a folder whose folders ``Storage.folders`` may list."""
    folder = validate_prefix(prefix, allow_empty=False)
    if not folder.endswith("/"):
        raise InvalidKey(f"folders({folder!r}): pass a folder ending in '/', e.g. {folder + '/'!r}")
    return folder


MAX_SIGNED_URL_SECONDS = 7 * 24 * 3600


def validate_expiry(expires_in: object) -> int:
    """Return ``expires_in`` if it is a usable signed-URL lifetime in seconds.

    SigV4 refuses lifetimes over seven days, and a bool is an int that nobody
    means as a number of seconds.
    """
    if (
        not isinstance(expires_in, int)
        or isinstance(expires_in, bool)
        or not 1 <= expires_in <= MAX_SIGNED_URL_SECONDS
    ):
        raise ValueError(
            f"expires_in must be a number of seconds from 1 to {MAX_SIGNED_URL_SECONDS}, "
            f"not {expires_in!r}"
        )
    return expires_in


# One put_many item: (key, bytes or a local file, content type or None).
PutItem = tuple[str, bytes | os.PathLike[str], str | None]


class Storage(abc.ABC):
    """Flat key -> bytes store.

    Keys are ``/``-separated relative paths (see :func:`validate_key`); every
    method validates its key before touching the backend, so an invalid key
    raises :class:`InvalidKey` and changes nothing. A missing object is
    :class:`FileNotFoundError` (from :meth:`get` only); any other backend
    failure is :class:`StorageError`.

    Writes are whole-object: a reader sees the old bytes or the new ones,
    never a mix. Nothing is atomic across objects, which is why callers that
    publish a set of objects (a tile pyramid) write its manifest last.
    """

    #: Threads used by :meth:`put_many` and :meth:`get_many`; backends set it in their constructor.
    max_workers: int = 1

    @abc.abstractmethod
    def put(self, key: str, data: bytes, *, content_type: str | None = None) -> None:
        """Store ``data`` under ``key``, replacing any object already there."""

    @abc.abstractmethod
    def put_file(
        self, key: str, path: os.PathLike[str] | str, *, content_type: str | None = None
    ) -> None:
        """Store the content of the local file ``path`` under ``key``.

        Meant for large objects (the original PDFs): the file is streamed,
        never read whole into memory. A missing ``path`` raises
        :class:`FileNotFoundError` for that path and writes nothing.
        """

    @abc.abstractmethod
    def get(self, key: str) -> bytes:
        """Return the object's bytes; :class:`FileNotFoundError` if there is none."""

    @abc.abstractmethod
    def exists(self, key: str) -> bool:
        """Tell whether an object is stored under ``key``."""

    @abc.abstractmethod
    def list(self, prefix: str = "") -> Iterator[str]:
        """Yield the keys that start with ``prefix``, in sorted order.

        ``prefix`` is a string prefix (see :func:`validate_prefix`): end it with
        ``/`` to mean a folder.
        """

    def folders(self, prefix: str) -> Iterator[str]:
        """Yield the names of the folders directly under the folder ``prefix`` that hold an
        object, sorted: ``folders("tiles/")`` gives each plan version's key once, where
        :meth:`list` gives each of its thousands of tiles (a province's store holds
        millions).  This default reads every key under ``prefix``; the backends override
        it with one listing of the folder itself."""
        folder = validate_listing_folder(prefix)
        return iter(sorted({key[len(folder):].split("/", 1)[0] for key in self.list(folder)
                            if "/" in key[len(folder):]}))

    @abc.abstractmethod
    def delete(self, key: str) -> None:
        """Delete the object under ``key``; a missing object is not an error."""

    @abc.abstractmethod
    def delete_prefix(self, prefix: str) -> int:
        """Delete every object under the folder ``prefix`` and return how many.

        Unlike :meth:`list`, the prefix must name a folder, i.e. end with
        ``/``: ``delete_prefix("tiles/1")`` would also take ``tiles/10/`` and
        is refused with :class:`InvalidKey`, as is the empty prefix.
        """

    @abc.abstractmethod
    def signed_url(self, key: str, *, expires_in: int = 60) -> str | None:
        """Return a short-lived URL that GETs the object, or None if the backend has none.

        The URL is not checked against the object's existence. ``expires_in``
        outside 1 s .. 7 days raises :class:`ValueError`.
        """

    @abc.abstractmethod
    def check(self) -> None:
        """Readiness probe: raise :class:`StorageError` unless the backend can be written."""

    @abc.abstractmethod
    def describe(self) -> str:
        """Say where objects go, for logs and the admin page (no secrets)."""

    def put_many(
        self,
        items: Iterable[PutItem],
        *,
        on_progress: Callable[[int], None] | None = None,
    ) -> int:
        """Store many small objects concurrently and return how many were stored.

        ``items`` yields ``(key, data_or_path, content_type)``; it is consumed
        lazily with a bounded number of objects in flight, so a generator of
        tiles never sits in memory whole. ``on_progress(n)`` is called from
        the calling thread with the number stored so far, after each batch of
        completions; it reaches the returned count.

        On the first failure nothing more is started, objects still queued
        are cancelled, those in flight finish, and then :class:`StorageError`
        is raised (:class:`InvalidKey` for a bad key). Objects stored before
        that stay stored: the operation is not atomic. An exception raised by
        ``items`` or ``on_progress`` themselves propagates unchanged, after
        the same draining.
        """
        workers = max(1, self.max_workers)
        # Twice the workers keeps every thread busy without reading far ahead.
        window = workers * 2
        iterator = iter(items)
        stored = 0
        failures: list[BaseException] = []
        pending: set[Future[None]] = set()
        pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="storage-put")
        try:
            exhausted = False
            while True:
                while not exhausted and not failures and len(pending) < window:
                    item = next(iterator, None)
                    if item is None:
                        exhausted = True
                        break
                    key, source, content_type = item
                    try:
                        validate_key(key)
                    except InvalidKey as exc:
                        failures.append(exc)
                        break
                    pending.add(pool.submit(self._put_one, key, source, content_type))
                if not pending:
                    break
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                completed = 0
                for future in done:
                    if future.cancelled():
                        continue
                    error = future.exception()
                    if error is None:
                        completed += 1
                    else:
                        failures.append(error)
                if failures:
                    for future in pending:
                        future.cancel()
                if completed:
                    stored += completed
                    if on_progress is not None:
                        on_progress(stored)
        finally:
            # Also reached when ``items`` or ``on_progress`` raise: queued
            # uploads are dropped and running ones finish before we return.
            pool.shutdown(wait=True, cancel_futures=True)
        if failures:
            first = failures[0]
            if isinstance(first, InvalidKey):
                raise first
            raise StorageError(
                f"put_many: {len(failures)} object(s) failed after {stored} were stored "
                f"in {self.describe()}; first error: {first}"
            ) from first
        return stored

    def get_many(self, keys: Iterable[str], *, workers: int | None = None) -> dict[str, bytes | None]:
        """Read many small objects concurrently and return each key's bytes, or None for a
        missing object.  ``workers`` threads, at most and by default :attr:`max_workers`
        (callers running several at once share the connection pool).  Every key is validated
        first; any other failure raises :class:`StorageError`: reads not yet started are
        dropped, those in flight finish first.

        For readers that need a whole set at once (a page's tiles, for an export): over a
        network each read waits a round trip, so one at a time would cost their sum."""
        wanted = list(dict.fromkeys(validate_key(key) for key in keys))
        if not wanted:
            return {}

        def read(key: str) -> bytes | None:
            try:
                return self.get(key)
            except FileNotFoundError:
                return None

        workers = max(1, min(self.max_workers, workers or self.max_workers, len(wanted)))
        if workers == 1:
            return {key: read(key) for key in wanted}
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="storage-get") as pool:
            futures = {key: pool.submit(read, key) for key in wanted}
            _done, pending = wait(futures.values(), return_when=FIRST_EXCEPTION)
            for future in pending:  # a store that fails once will likely fail the rest
                future.cancel()
        failures = [f.exception() for f in futures.values() if not f.cancelled() and f.exception() is not None]
        if failures:
            first = failures[0]
            if isinstance(first, StorageError):
                raise first
            raise StorageError(f"get_many: {len(failures)} of {len(wanted)} read(s) failed in "
                               f"{self.describe()}; first error: {first}") from first
        return {key: future.result() for key, future in futures.items()}

    def _put_one(
        self, key: str, source: bytes | os.PathLike[str], content_type: str | None
    ) -> None:
        """Store one :meth:`put_many` item; backends may override for a cheaper path."""
        if isinstance(source, (bytes, bytearray, memoryview)):
            self.put(key, bytes(source), content_type=content_type)
        elif isinstance(source, os.PathLike):
            self.put_file(key, source, content_type=content_type)
        else:
            # A str could be either a path or text; refuse to guess.
            raise TypeError(
                f"put_many item for {key!r} must be bytes or os.PathLike, "
                f"not {type(source).__name__}"
            )

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.describe()}>"
