"""Object storage: the embedded folder (`LocalStorage`) or S3/MinIO/SeaweedFS (`S3Storage`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .base import Storage, StoredObject
from .common import ChecksumMismatch, RetainedObject, validate_key
from .local import LocalStorage

if TYPE_CHECKING:
    from ..config import Settings

__all__ = [
    "Storage",
    "StoredObject",
    "LocalStorage",
    "S3Storage",
    "ChecksumMismatch",
    "RetainedObject",
    "validate_key",
    "make_storage",
    "check_fixity",
]


def __getattr__(name: str):  # S3Storage imports the minio SDK: load it only when asked for
    if name == "S3Storage":
        from .s3 import S3Storage

        return S3Storage
    raise AttributeError(name)


def make_storage(settings: "Settings") -> Storage:
    """The storage backend the settings name ("local" or "s3")."""
    if settings.storage == "s3":
        from .s3 import S3Storage

        return S3Storage(
            settings.s3_endpoint,
            settings.s3_access_key,
            settings.s3_secret_key,
            settings.s3_bucket,
            secure=settings.s3_secure,
            retention_days=settings.s3_retention_days,
            retention_mode=settings.s3_retention_mode,
        )
    return LocalStorage(settings.archive_path)


def check_fixity(storage: Storage, prefix: str = "") -> tuple[int, list[str]]:
    """Verify every object under `prefix`: (number of good objects, keys that failed).

    Raises StorageError when the storage itself cannot be read (a transient
    failure is not reported as damaged objects)."""
    ok = 0
    bad: list[str] = []
    for key, good in storage.fixity(prefix):
        if good:
            ok += 1
        else:
            bad.append(key)
    return ok, bad
