"""S3-compatible object storage (MinIO, SeaweedFS, AWS) through the minio SDK.

The bucket is created with object lock enabled (which also turns versioning
on) when missing; versioning is switched on for an existing bucket that has
it off. Every object carries its SHA-256 as user metadata (x-amz-meta-sha256)
and `get` checks the body against it. `retain=True` puts an object-lock
retention on the version (when retention_days > 0) and marks it
(x-amz-meta-retain) so that a later put of different bytes under the same key
is refused; the earlier version stays in the bucket either way.

A single PUT is atomic on S3: readers see the old object or the new one.
Errors map to StorageError (transient: unreachable server, 5xx) or NotFound,
each with a one-line message.
"""

from __future__ import annotations

import contextlib
import io
import threading
from datetime import datetime, timedelta, timezone
from typing import TYPE_CHECKING, Iterator

import urllib3
from minio import Minio
from minio.commonconfig import ENABLED
from minio.error import InvalidResponseError, MinioException, S3Error, ServerError
from minio.retention import Retention
from minio.versioningconfig import VersioningConfig

from ..errors import ConfigError, NotFound, StorageError
from .base import StoredObject
from .common import ChecksumMismatch, RetainedObject, sha256_hex, validate_key, validate_prefix

if TYPE_CHECKING:
    from minio.helpers import DictType

_MISSING = {"NoSuchKey", "NoSuchVersion", "NoSuchObject"}


def split_endpoint(endpoint: str, secure: bool) -> tuple[str, bool]:
    """'http://host:9000' -> ('host:9000', False); a bare 'host:port' keeps `secure`."""
    endpoint = endpoint.strip().rstrip("/")
    if endpoint.startswith("https://"):
        return endpoint[len("https://") :], True
    if endpoint.startswith("http://"):
        return endpoint[len("http://") :], False
    return endpoint, secure


class S3Storage:
    def __init__(
        self,
        endpoint: str,
        access_key: str,
        secret_key: str,
        bucket: str,
        *,
        secure: bool = False,
        retention_days: int = 0,
        retention_mode: str = "GOVERNANCE",
        connect_timeout: float = 3.0,
        read_timeout: float = 60.0,
        retries: int = 1,
        region: str | None = None,
    ) -> None:
        endpoint, secure = split_endpoint(endpoint, secure)
        if not endpoint:
            raise ConfigError("S3 endpoint is empty")
        if retention_mode not in ("GOVERNANCE", "COMPLIANCE"):
            raise ConfigError("S3 retention mode must be GOVERNANCE or COMPLIANCE")
        if retention_days < 0:
            raise ConfigError("S3 retention days must be >= 0")
        self.endpoint = endpoint
        self.bucket = bucket
        self.secure = secure
        self.retention_days = int(retention_days)
        self.retention_mode = retention_mode
        http = urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=connect_timeout, read=read_timeout),
            maxsize=10,
            retries=urllib3.Retry(
                total=retries,
                connect=retries,
                read=0,
                backoff_factor=0.2,
                status_forcelist=[500, 502, 503, 504],
                raise_on_status=False,
                allowed_methods=None,
            ),
        )
        try:
            self.client = Minio(
                endpoint,
                access_key=access_key or None,
                secret_key=secret_key or None,
                secure=secure,
                region=region,
                http_client=http,
            )
        except ValueError as exc:
            raise ConfigError(f"S3 endpoint {endpoint!r}: {exc}") from None
        self._ready = False
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"S3Storage({self.endpoint!r}, bucket={self.bucket!r})"

    # -- errors -------------------------------------------------------------

    @contextlib.contextmanager
    def _errors(self, what: str) -> Iterator[None]:
        try:
            yield
        except S3Error as exc:
            if exc.code in _MISSING:
                raise NotFound(f"{what}: not found in bucket {self.bucket}") from None
            status = getattr(exc.response, "status", 0) or 0
            kind = "server error" if status >= 500 else "refused"
            raise StorageError(f"S3 {kind} for {what}: {exc.code}: {exc.message}") from None
        except ServerError as exc:
            raise StorageError(f"S3 server error for {what}: HTTP {exc.status_code}") from None
        except (InvalidResponseError, MinioException) as exc:
            raise StorageError(f"S3 bad response for {what}: {' '.join(str(exc).split())[:200]}") from None
        except urllib3.exceptions.MaxRetryError as exc:
            reason = exc.reason.__class__.__name__ if exc.reason else "no response"
            raise StorageError(f"S3 endpoint {self.endpoint} unreachable ({reason})") from None
        except (urllib3.exceptions.HTTPError, OSError) as exc:
            raise StorageError(f"S3 endpoint {self.endpoint} failed ({exc.__class__.__name__})") from None

    # -- bucket -------------------------------------------------------------

    def ensure_bucket(self) -> None:
        """Create the bucket (object lock on) if missing; make sure versioning is on."""
        if self._ready:
            return
        with self._lock:
            if self._ready:
                return
            with self._errors(f"bucket {self.bucket}"):
                if not self.client.bucket_exists(self.bucket):
                    try:
                        self.client.make_bucket(self.bucket, object_lock=True)
                    except S3Error as exc:
                        if exc.code not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
                            raise
                if self.client.get_bucket_versioning(self.bucket).status != ENABLED:
                    self.client.set_bucket_versioning(self.bucket, VersioningConfig(ENABLED))
            self._ready = True

    # -- objects ------------------------------------------------------------

    def _stat(self, key: str):
        try:
            return self.client.stat_object(self.bucket, key)
        except S3Error as exc:
            if exc.code in _MISSING:
                return None
            raise

    @staticmethod
    def _is_retained(stat) -> bool:
        meta = stat.metadata or {}
        if str(meta.get("x-amz-meta-retain", "")).lower() in ("1", "true", "yes"):
            return True
        until = meta.get("x-amz-object-lock-retain-until-date")
        if until:
            try:
                when = datetime.fromisoformat(str(until).replace("Z", "+00:00"))
            except ValueError:
                return True
            return when > datetime.now(timezone.utc)
        return False

    def put(
        self, key: str, data: bytes, *, content_type: str = "application/octet-stream", retain: bool = False
    ) -> StoredObject:
        validate_key(key)
        data = bytes(data)
        digest = sha256_hex(data)
        self.ensure_bucket()
        with self._errors(key):
            current = self._stat(key)
            if current is not None:
                same = (current.metadata or {}).get("x-amz-meta-sha256") == digest and current.size == len(data)
                if same and (self._is_retained(current) or not retain):
                    return StoredObject(key, digest, len(data))  # idempotent
                if not same and self._is_retained(current):
                    raise RetainedObject(f"{key}: retained object exists with different content")
            metadata: DictType = {"sha256": digest}
            retention = None
            if retain:
                metadata["retain"] = "1"
                if self.retention_days > 0:
                    until = datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=self.retention_days)
                    retention = Retention(self.retention_mode, until)
            self.client.put_object(
                self.bucket,
                key,
                io.BytesIO(data),
                len(data),
                content_type=content_type,
                metadata=metadata,
                retention=retention,
            )
        return StoredObject(key, digest, len(data))

    def _read_verified(self, key: str) -> bytes:
        validate_key(key)
        self.ensure_bucket()
        with self._errors(key):
            response = self.client.get_object(self.bucket, key)
            try:
                data = response.read()
                expected = response.headers.get("x-amz-meta-sha256")
            finally:
                response.close()
                response.release_conn()
        if not expected:
            raise ChecksumMismatch(f"{key}: no checksum recorded")
        if sha256_hex(data) != expected.strip().lower():
            raise ChecksumMismatch(f"{key}: checksum mismatch (stored bytes changed)")
        return data

    def get(self, key: str) -> bytes:
        return self._read_verified(key)

    def exists(self, key: str) -> bool:
        validate_key(key)
        self.ensure_bucket()
        with self._errors(key):
            return self._stat(key) is not None

    def list(self, prefix: str = "") -> Iterator[str]:
        validate_prefix(prefix)
        self.ensure_bucket()
        with self._errors(f"list {prefix or '/'}"):
            names = [
                o.object_name
                for o in self.client.list_objects(self.bucket, prefix=prefix or None, recursive=True)
                if not o.is_dir
            ]
        # S3 lists in key order; some S3-compatible servers list folder by
        # folder instead, so sort to give one order everywhere.
        yield from sorted(names)

    def fixity(self, prefix: str = "") -> Iterator[tuple[str, bool]]:
        for key in self.list(prefix):
            try:
                self._read_verified(key)
            except ChecksumMismatch:
                yield key, False
            except NotFound:
                continue
            else:
                yield key, True
