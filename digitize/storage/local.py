"""The embedded archive: a plain folder.

`<root>/<key>` holds the bytes, exactly as stored, so that a person can open
the archive with a file browser. Next to each file, a hidden sidecar
`.<name>.sha256` holds one JSON line: {"sha256", "size", "retain",
"content_type"}. Writes go to a hidden temp file in the same folder, are
fsynced and renamed into place (atomic); the folder is fsynced after.

Writers to the same folder are serialised with flock on the folder, and a
reader takes the same lock shared, so a reader never sees new bytes with an
old sidecar. `retain=True` makes the file and sidecar read-only and refuses
any later put of different bytes under the key.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import stat
import tempfile
from pathlib import Path
from typing import Iterator

from ..errors import NotFound, StorageError
from .base import StoredObject
from .common import ChecksumMismatch, RetainedObject, sha256_hex, validate_key, validate_prefix

SIDECAR_SUFFIX = ".sha256"


class LocalStorage:
    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)

    def __repr__(self) -> str:
        return f"LocalStorage({str(self.root)!r})"

    # -- paths --------------------------------------------------------------

    def _path(self, key: str) -> Path:
        return self.root.joinpath(*validate_key(key).split("/"))

    @staticmethod
    def _sidecar(path: Path) -> Path:
        return path.with_name(f".{path.name}{SIDECAR_SUFFIX}")

    @contextlib.contextmanager
    def _locked(self, folder: Path, mode: int) -> Iterator[None]:
        try:
            fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        except (FileNotFoundError, NotADirectoryError):
            yield  # nothing there (readers then find no file); writers create the folder first
            return
        except OSError as exc:
            raise StorageError(f"cannot open archive folder {folder}: {exc.strerror}") from None
        try:
            fcntl.flock(fd, mode)
            yield
        finally:
            os.close(fd)

    # -- writing ------------------------------------------------------------

    def put(
        self, key: str, data: bytes, *, content_type: str = "application/octet-stream", retain: bool = False
    ) -> StoredObject:
        path = self._path(key)
        data = bytes(data)
        digest = sha256_hex(data)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StorageError(f"cannot create archive folder for {key}: {exc.strerror}") from None
        with self._locked(path.parent, fcntl.LOCK_EX):
            try:
                if path.exists() or path.is_symlink():
                    if not path.is_file() or path.is_symlink():
                        raise StorageError(f"{key}: not a regular file in the archive")
                    meta = self._read_sidecar(path)
                    existing = sha256_hex(path.read_bytes())
                    retained = bool(meta and meta.get("retain")) or not (path.stat().st_mode & stat.S_IWUSR)
                    if existing == digest:
                        # Same bytes: idempotent. Repair or upgrade the sidecar if needed.
                        if meta is None or meta.get("sha256") != digest or (retain and not retained):
                            self._write_sidecar(path, digest, len(data), content_type, retain or retained)
                        if retain or retained:
                            self._make_read_only(path)
                        return StoredObject(key, digest, len(data))
                    if retained:
                        raise RetainedObject(f"{key}: retained object exists with different content")
                self._write_atomic(path, data)
                self._write_sidecar(path, digest, len(data), content_type, retain)
                if retain:
                    self._make_read_only(path)
                self._fsync_dir(path.parent)
            except StorageError:
                raise
            except OSError as exc:
                raise StorageError(f"cannot store {key}: {exc.strerror or exc}") from None
        return StoredObject(key, digest, len(data))

    @staticmethod
    def _write_atomic(path: Path, data: bytes) -> None:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.chmod(tmp, 0o644)
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise

    def _write_sidecar(self, path: Path, digest: str, size: int, content_type: str, retain: bool) -> None:
        line = (
            json.dumps(
                {"sha256": digest, "size": size, "retain": bool(retain), "content_type": content_type}, sort_keys=True
            )
            + "\n"
        )
        sidecar = self._sidecar(path)
        self._write_atomic(sidecar, line.encode())
        if retain:
            os.chmod(sidecar, 0o444)

    @staticmethod
    def _make_read_only(path: Path) -> None:
        os.chmod(path, 0o444)

    @staticmethod
    def _fsync_dir(folder: Path) -> None:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    # -- reading ------------------------------------------------------------

    def _read_sidecar(self, path: Path) -> dict | None:
        try:
            meta = json.loads(self._sidecar(path).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError):
            return {}
        return meta if isinstance(meta, dict) else {}

    def _read_verified(self, key: str) -> bytes:
        path = self._path(key)
        with self._locked(path.parent, fcntl.LOCK_SH):
            try:
                if not path.is_file() or path.is_symlink():
                    raise NotFound(f"{key}: not found in archive")
                data = path.read_bytes()
            except OSError as exc:
                if exc.errno in (errno.ENOENT, errno.ENOTDIR):
                    raise NotFound(f"{key}: not found in archive") from None
                raise StorageError(f"cannot read {key}: {exc.strerror}") from None
            meta = self._read_sidecar(path)
        if meta is None:
            raise ChecksumMismatch(f"{key}: no checksum recorded")
        if meta.get("sha256") != sha256_hex(data):
            raise ChecksumMismatch(f"{key}: checksum mismatch (stored bytes changed)")
        return data

    def get(self, key: str) -> bytes:
        return self._read_verified(key)

    def exists(self, key: str) -> bool:
        path = self._path(key)
        return path.is_file() and not path.is_symlink()

    def list(self, prefix: str = "") -> Iterator[str]:
        """Keys starting with `prefix`, in byte-wise (lexicographic) order."""
        validate_prefix(prefix)
        base, _, _ = prefix.rpartition("/")
        start = self.root.joinpath(*base.split("/")) if base else self.root
        if not start.is_dir():
            return
        yield from (k for k in self._walk(start, base) if k.startswith(prefix))

    def _walk(self, folder: Path, key_prefix: str) -> Iterator[str]:
        try:
            entries = [e for e in os.scandir(folder) if not e.name.startswith(".")]
        except OSError as exc:
            raise StorageError(f"cannot list {folder}: {exc.strerror}") from None
        # A folder's keys all start with "name/": sorting folders as "name/"
        # makes the walk yield keys in plain string order.
        entries.sort(key=lambda e: e.name + "/" if e.is_dir(follow_symlinks=False) else e.name)
        for entry in entries:
            key = f"{key_prefix}/{entry.name}" if key_prefix else entry.name
            if entry.is_dir(follow_symlinks=False):
                yield from self._walk(Path(entry.path), key)
            elif entry.is_file(follow_symlinks=False):
                yield key

    def fixity(self, prefix: str = "") -> Iterator[tuple[str, bool]]:
        for key in self.list(prefix):
            try:
                self._read_verified(key)
            except ChecksumMismatch:
                yield key, False
            except NotFound:
                continue  # removed while we walked
            else:
                yield key, True
