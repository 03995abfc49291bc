"""Object storage interface. Keys are '/'-separated, e.g.
`<agency>/<yyyy>/<mm>/<dd>/<result_id>/v1/document.pdf`.

Every put is atomic (nothing half-written is ever visible under the key) and
records the SHA-256 of the bytes; every get verifies it (fixity)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, Protocol


@dataclass(frozen=True)
class StoredObject:
    key: str
    sha256: str
    size: int


class Storage(Protocol):
    def put(
        self, key: str, data: bytes, *, content_type: str = "application/octet-stream", retain: bool = False
    ) -> StoredObject:
        """Store bytes atomically. `retain` asks for retention/immutability where the
        backend supports it (S3 object lock); the local folder makes the file read-only."""
        ...

    def get(self, key: str) -> bytes:
        """Bytes under key; raises NotFound, or StorageError when the checksum fails."""
        ...

    def exists(self, key: str) -> bool: ...

    def list(self, prefix: str = "") -> Iterator[str]: ...

    def fixity(self, prefix: str = "") -> Iterator[tuple[str, bool]]:
        """(key, checksum ok) for every object under prefix."""
        ...
