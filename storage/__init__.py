"""Object storage behind one small interface: a local folder or an S3-compatible bucket.

Callers use :func:`from_url` and the :class:`Storage` methods only; the
backend is configuration. This package must not import Flask, SQLAlchemy,
``converters`` or ``floorplans``.
"""

from __future__ import annotations

from storage.base import InvalidKey, Storage, StorageError, from_url
from storage.local import LocalStorage
from storage.s3 import S3Storage

__all__ = ["InvalidKey", "LocalStorage", "S3Storage", "Storage", "StorageError", "from_url"]
