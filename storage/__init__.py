"""Object storage behind one small interface: a local folder or an S3-compatible bucket.

Callers use :func:`from_url` and the :class:`Storage` methods only; the
backend is configuration, chosen here (the backends import ``storage.base``, never
this package, so nothing imports in a circle). This package must not import Flask, SQLAlchemy,
``converters`` or ``floorplans``.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from storage.base import InvalidKey, Storage, StorageError
from storage.local import LocalStorage
from storage.s3 import S3Storage

__all__ = ["InvalidKey", "LocalStorage", "S3Storage", "Storage", "StorageError", "from_url"]


def from_url(url: str, *, endpoint_url: str | None = None, max_workers: int = 16) -> Storage:
    """Build the storage named by ``url`` (the ``FLOORPLANS_STORAGE_URL`` setting).

    - ``s3://bucket/optional/prefix``: :class:`~storage.s3.S3Storage`; region,
      credentials and (unless ``endpoint_url`` is given) the endpoint come from
      boto3's usual settings.
    - ``file:///abs/path`` or a plain filesystem path:
      :class:`~storage.local.LocalStorage`, the folder created if missing.

    Anything else raises :class:`ValueError`.
    """
    if not isinstance(url, str) or not url.strip():
        raise ValueError("storage URL is empty")
    scheme = urlsplit(url).scheme
    if scheme == "s3":
        return S3Storage.from_url(url, endpoint_url=endpoint_url, max_workers=max_workers)
    if scheme == "file":
        return LocalStorage.from_url(url, max_workers=max_workers)
    if scheme == "":
        return LocalStorage(url, max_workers=max_workers)
    raise ValueError(
        f"unsupported storage URL scheme {scheme!r}: "
        "use s3://bucket/prefix, file:///path or a folder path"
    )
