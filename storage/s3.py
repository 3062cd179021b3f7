"""S3-compatible backend (AWS S3, MinIO, Ceph RGW) over one shared boto3 client.

A key is stored as ``<prefix>/<key>`` in one bucket. The client is built once
(``S3Storage.from_url``) or injected, and shared by every call and every
``put_many`` thread: boto3 clients are thread-safe and pool their connections,
sessions are not. Region, credentials and endpoint come from boto3's own
settings (``AWS_*`` variables, config files, instance roles); this module
never reads the environment itself.

botocore's "not found" answers become :class:`FileNotFoundError`; every other
botocore or boto3 exception becomes :class:`~storage.base.StorageError` with
the cause chained and a message that names the bucket and key, never
credentials.

This module must not import Flask, SQLAlchemy, ``converters`` or
``floorplans``.
"""

from __future__ import annotations

import builtins
import errno
import mimetypes
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING
from urllib.parse import urlsplit, urlunsplit

import boto3.session
import botocore.config
import botocore.loaders
import botocore.session
from boto3.exceptions import Boto3Error
from botocore.exceptions import BotoCoreError, ClientError

if TYPE_CHECKING:
    # boto3-stubs (a test extra): the S3 client's methods and replies, checked by mypy.
    from mypy_boto3_s3 import S3Client

from storage.base import (
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

__all__ = ["S3Storage"]

# DeleteObjects takes at most this many keys per request.
_DELETE_BATCH = 1000
# HEAD answers carry no body, hence no error code but the status.
_MISSING_CODES = frozenset({"NoSuchKey", "404", "NotFound"})
# Never listed (not a valid key) and never a user's object.
_PROBE_NAME = ".probe~"
_DEFAULT_CONTENT_TYPE = "application/octet-stream"


def _content_type(key: str, content_type: str | None) -> str:
    # S3 would otherwise store binary/octet-stream, and a signed redirect to a
    # tile must come back with its image type.
    if content_type:
        return content_type
    guessed, _encoding = mimetypes.guess_type(key, strict=False)
    return guessed or _DEFAULT_CONTENT_TYPE


def _safe_endpoint(endpoint_url: str | None) -> str:
    if not endpoint_url:
        return "the default AWS endpoint"
    parts = urlsplit(endpoint_url)
    # Userinfo in an endpoint URL would be a credential.
    netloc = parts.hostname or ""
    if parts.port is not None:
        netloc = f"{netloc}:{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


#: botocore's service descriptions (S3's API, the endpoint rules: JSON files of several MB),
#: read once per process.  Each new session reads them again through a loader of its own:
#: ~0.1 s of every store made (a backup's second store, each test's app).  The data is the
#: installed botocore's and never changes while the process runs.
_DESCRIPTIONS = botocore.loaders.create_loader()


def _session() -> boto3.session.Session:
    """A new boto3 session (credentials, region and endpoint read from the environment now,
    as boto3 always does) sharing the process's service descriptions."""
    core = botocore.session.get_session()
    core.register_component("data_loader", _DESCRIPTIONS)
    return boto3.session.Session(botocore_session=core)


class S3Storage(Storage):
    """Objects in ``bucket`` under ``prefix``, through the boto3 S3 ``client`` given."""

    def __init__(self, client: S3Client, bucket: str, prefix: str = "", max_workers: int = 16) -> None:
        if not bucket:
            raise ValueError("S3 storage needs a bucket name")
        prefix = prefix.strip("/")
        if prefix:
            try:
                validate_key(prefix)
            except InvalidKey:
                raise InvalidKey(f"invalid S3 storage prefix {prefix!r}") from None
        self.client = client
        self.bucket = bucket
        self.prefix = prefix
        self.max_workers = max_workers

    @classmethod
    def from_url(
        cls, url: str, endpoint_url: str | None = None, *, max_workers: int = 16
    ) -> S3Storage:
        """Build from ``s3://bucket/optional/prefix`` with a client made for it.

        ``endpoint_url`` overrides boto3's (``AWS_ENDPOINT_URL_S3`` and
        friends), for MinIO or Ceph set in the app's own configuration.
        """
        parts = urlsplit(url)
        if parts.scheme != "s3" or not parts.netloc:
            raise ValueError(f"not an S3 storage URL: {url!r}; write s3://bucket/prefix")
        if parts.query or parts.fragment or "@" in parts.netloc:
            raise ValueError("an S3 storage URL is s3://bucket/prefix, nothing more")
        config = botocore.config.Config(
            signature_version="s3v4",
            retries={"mode": "standard", "max_attempts": 5},
            # One connection per put_many worker, plus a few for the requests
            # the web threads make meanwhile.
            max_pool_connections=max_workers + 4,
            connect_timeout=5,
            read_timeout=30,
        )
        client: S3Client = _session().client("s3", endpoint_url=endpoint_url, config=config)
        return cls(client, parts.netloc, parts.path, max_workers=max_workers)

    # -- helpers -------------------------------------------------------------

    def _object_key(self, key: str) -> str:
        return f"{self.prefix}/{key}" if self.prefix else key

    def _where(self, key: str) -> str:
        return f"s3://{self.bucket}/{self._object_key(key)}"

    @contextmanager
    def _errors(self, action: str, key: str = "") -> Iterator[None]:
        """Translate botocore/boto3 exceptions raised inside the block."""
        try:
            yield
        except ClientError as exc:
            error = exc.response.get("Error", {})
            code = str(error.get("Code", ""))
            if key and code in _MISSING_CODES:
                raise FileNotFoundError(errno.ENOENT, "no such object", key) from None
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", "?")
            message = error.get("Message") or "no message"
            raise StorageError(
                f"S3 {action} {self._where(key)} failed: HTTP {status} {code}: {message}"
            ) from exc
        except (BotoCoreError, Boto3Error) as exc:
            # botocore's messages name the endpoint and the operation, not the
            # credentials (NoCredentialsError says only that there are none).
            raise StorageError(
                f"S3 {action} {self._where(key)} failed: {type(exc).__name__}: {exc}"
            ) from exc

    # -- writes --------------------------------------------------------------

    def put(self, key: str, data: bytes, *, content_type: str | None = None) -> None:
        validate_key(key)
        with self._errors("put", key):
            self.client.put_object(
                Bucket=self.bucket,
                Key=self._object_key(key),
                Body=data,
                ContentType=_content_type(key, content_type),
            )

    def put_file(
        self, key: str, path: os.PathLike[str] | str, *, content_type: str | None = None
    ) -> None:
        validate_key(key)
        filename = os.fspath(path)
        # Checked first so that a missing source is the caller's
        # FileNotFoundError rather than a storage failure.
        if not os.path.isfile(filename):
            raise FileNotFoundError(errno.ENOENT, "no such file to upload", filename)
        with self._errors("upload", key):
            # upload_file switches to a multipart upload for large files.
            self.client.upload_file(
                Filename=filename,
                Bucket=self.bucket,
                Key=self._object_key(key),
                ExtraArgs={"ContentType": _content_type(key, content_type)},
            )

    def _put_one(
        self, key: str, source: bytes | os.PathLike[str], content_type: str | None
    ) -> None:
        if isinstance(source, os.PathLike):
            # put_many's items are small: a single PutObject streamed from the
            # file, rather than a transfer manager (and its own threads) per item.
            with open(source, "rb") as body, self._errors("put", key):
                self.client.put_object(
                    Bucket=self.bucket,
                    Key=self._object_key(key),
                    Body=body,
                    ContentType=_content_type(key, content_type),
                )
            return
        super()._put_one(key, source, content_type)

    # -- reads ---------------------------------------------------------------

    def get(self, key: str) -> bytes:
        validate_key(key)
        with self._errors("get", key):
            response = self.client.get_object(Bucket=self.bucket, Key=self._object_key(key))
            with response["Body"] as body:
                return body.read()

    def exists(self, key: str) -> bool:
        validate_key(key)
        try:
            with self._errors("head", key):
                self.client.head_object(Bucket=self.bucket, Key=self._object_key(key))
        except FileNotFoundError:
            return False
        return True

    def list(self, prefix: str = "") -> Iterator[str]:
        validate_prefix(prefix)
        # Validated now, listed lazily: a bucket can hold millions of tiles.
        return self._list(prefix)

    def _list(self, prefix: str) -> Iterator[str]:
        strip = len(self.prefix) + 1 if self.prefix else 0
        paginator = self.client.get_paginator("list_objects_v2")
        with self._errors("list", prefix):
            for page in paginator.paginate(Bucket=self.bucket, Prefix=self._object_key(prefix)):
                # S3 returns keys in UTF-8 binary order, which for the ASCII
                # key alphabet is Python's str order: no sorting needed.
                for item in page.get("Contents", ()):
                    key = item["Key"][strip:]
                    # Objects put into the bucket by other means, and the probe.
                    try:
                        yield validate_key(key)
                    except InvalidKey:
                        continue

    def folders(self, prefix: str) -> Iterator[str]:
        folder = validate_listing_folder(prefix)
        strip = len(self._object_key(folder))
        paginator = self.client.get_paginator("list_objects_v2")
        names: builtins.list[str] = []
        with self._errors("list", prefix):
            # The delimiter makes S3 answer with the folders, a thousand a request.
            for page in paginator.paginate(Bucket=self.bucket, Prefix=self._object_key(folder), Delimiter="/"):
                names += [item["Prefix"][strip:-1] for item in page.get("CommonPrefixes", ())]
        # Sorted as Python sorts ("a" before "a-b"; S3's byte order puts "a-b/" first).
        return iter(sorted(name for name in names if is_key_segment(name)))

    # -- deletes -------------------------------------------------------------

    def delete(self, key: str) -> None:
        validate_key(key)
        with self._errors("delete", key):
            self.client.delete_object(Bucket=self.bucket, Key=self._object_key(key))

    def delete_prefix(self, prefix: str) -> int:
        validate_folder(prefix)
        deleted = 0
        # builtins.list: in this class, ``list`` is the listing method above.
        batch: builtins.list[str] = []
        for key in self.list(prefix):
            batch.append(self._object_key(key))
            if len(batch) == _DELETE_BATCH:
                deleted += self._delete_batch(prefix, batch)
                batch = []
        if batch:
            deleted += self._delete_batch(prefix, batch)
        return deleted

    def _delete_batch(self, prefix: str, object_keys: builtins.list[str]) -> int:
        with self._errors("delete_prefix", prefix):
            response = self.client.delete_objects(
                Bucket=self.bucket,
                Delete={"Objects": [{"Key": k} for k in object_keys], "Quiet": True},
            )
        errors = response.get("Errors", [])
        if errors:
            first = errors[0]
            raise StorageError(
                f"S3 delete_prefix {self._where(prefix)}: {len(errors)} of {len(object_keys)} "
                f"objects not deleted; first: {first.get('Key')}: {first.get('Code')} "
                f"{first.get('Message', '')}"
            )
        return len(object_keys)

    # -- the rest ------------------------------------------------------------

    def signed_url(self, key: str, *, expires_in: int = 60) -> str | None:
        validate_key(key)
        validate_expiry(expires_in)
        with self._errors("sign", key):
            url: str = self.client.generate_presigned_url(
                "get_object",
                Params={"Bucket": self.bucket, "Key": self._object_key(key)},
                ExpiresIn=expires_in,
            )
        return url

    def check(self) -> None:
        probe = self._object_key(_PROBE_NAME)
        with self._errors("check"):
            self.client.head_bucket(Bucket=self.bucket)
            # A fixed probe key: probes from many hosts overwrite each other
            # instead of leaving litter when a delete is lost.
            self.client.put_object(Bucket=self.bucket, Key=probe, Body=b"ok")
            self.client.delete_object(Bucket=self.bucket, Key=probe)

    def describe(self) -> str:
        endpoint = _safe_endpoint(getattr(self.client.meta, "endpoint_url", None))
        return f"s3://{self.bucket}/{self.prefix} at {endpoint}"
