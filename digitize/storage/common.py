"""Helpers shared by the storage backends: key rules, checksums, fixity errors."""

from __future__ import annotations

import hashlib
import re

from ..errors import StorageError

# One segment: letters, digits, '.', '_' or '-', not starting with '.', so that
# '.', '..' and hidden names (the local backend's sidecars and temp files) are
# never keys.
_SEGMENT = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]*")
_PREFIX = re.compile(r"[A-Za-z0-9._/-]*")
MAX_KEY = 1024


class ChecksumMismatch(StorageError):
    """Stored bytes do not match the SHA-256 recorded when they were stored
    (or no checksum was recorded). Not transient: the object is damaged."""


class RetainedObject(StorageError):
    """Refused: the key holds a retained object with different content."""


def validate_key(key: str) -> str:
    """Return `key` if it is a safe storage key, else raise StorageError.

    Keys are '/'-separated segments of [A-Za-z0-9._-]; no empty segment, no
    segment starting with '.', no absolute path, no backslash."""
    if not isinstance(key, str) or not key:
        raise StorageError("storage key is empty")
    if len(key) > MAX_KEY:
        raise StorageError(f"storage key longer than {MAX_KEY} characters")
    for segment in key.split("/"):
        if not _SEGMENT.fullmatch(segment):
            raise StorageError(f"invalid storage key {key!r}")
    return key


def validate_prefix(prefix: str) -> str:
    if (
        not isinstance(prefix, str)
        or not _PREFIX.fullmatch(prefix)
        or prefix.startswith("/")
        or any(part.startswith(".") for part in prefix.split("/")[:-1])
    ):
        raise StorageError(f"invalid storage prefix {prefix!r}")
    return prefix


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
