"""Storage backends: the local folder, and S3 against a real SeaweedFS on loopback."""

from __future__ import annotations

import io
import os
import threading
import uuid
from pathlib import Path

import pytest

from digitize.config import Settings
from digitize.errors import NotFound, StorageError
from digitize.storage import LocalStorage, check_fixity, make_storage
from digitize.storage.common import ChecksumMismatch, RetainedObject, validate_key

pytest_plugins = ["conftest_servers"]

BAD_KEYS = [
    "",
    "/abs/key",
    "a/../b",
    "..",
    "a/./b",
    "a//b",
    "a\\b",
    "a/b/",
    "ä/b",
    "a b",
    ".hidden",
    "a/.x.sha256",
    "x" * 2000,
]


@pytest.fixture
def local(tmp_path: Path) -> LocalStorage:
    return LocalStorage(tmp_path / "archive")


@pytest.fixture
def s3(s3_server):
    from digitize.storage.s3 import S3Storage

    return S3Storage(
        s3_server.endpoint,
        s3_server.access_key,
        s3_server.secret_key,
        f"t-{uuid.uuid4().hex[:12]}",
        retention_days=1,
        retention_mode="GOVERNANCE",
    )


@pytest.fixture(params=["local", "s3"])
def storage(request):
    return request.getfixturevalue(request.param)


# -- both backends ----------------------------------------------------------------


def test_roundtrip(storage) -> None:
    obj = storage.put("dev/2026/11/23/abc/v1/document.pdf", b"%PDF-1.7 data", content_type="application/pdf")
    assert obj.size == 13 and len(obj.sha256) == 64
    assert storage.get("dev/2026/11/23/abc/v1/document.pdf") == b"%PDF-1.7 data"
    assert storage.exists("dev/2026/11/23/abc/v1/document.pdf")
    assert not storage.exists("dev/2026/11/23/abc/v1/other.pdf")
    # overwrite of a non-retained object is allowed
    storage.put("dev/2026/11/23/abc/v1/document.pdf", b"second")
    assert storage.get("dev/2026/11/23/abc/v1/document.pdf") == b"second"


def test_not_found(storage) -> None:
    with pytest.raises(NotFound):
        storage.get("dev/missing/key.json")


@pytest.mark.parametrize("key", BAD_KEYS)
def test_bad_keys_rejected(storage, key: str) -> None:
    with pytest.raises(StorageError):
        storage.put(key, b"x")
    with pytest.raises(StorageError):
        storage.get(key)


def test_retained_refuses_different_content(storage) -> None:
    first = storage.put("dev/r/doc.pdf", b"signed", retain=True)
    again = storage.put("dev/r/doc.pdf", b"signed", retain=True)  # idempotent
    assert again == first
    with pytest.raises(RetainedObject):
        storage.put("dev/r/doc.pdf", b"changed", retain=True)
    with pytest.raises(StorageError):
        storage.put("dev/r/doc.pdf", b"changed")
    assert storage.get("dev/r/doc.pdf") == b"signed"


def test_list_sorted_and_prefix(storage) -> None:
    keys = ["a/b/c.json", "a/b.json", "a.b", "a-b/x", "b/1", "a/b/c.pdf", "a/ba/z"]
    for key in keys:
        storage.put(key, key.encode())
    assert list(storage.list()) == sorted(keys)
    assert list(storage.list("a/b")) == sorted(k for k in keys if k.startswith("a/b"))
    assert list(storage.list("a/b/")) == ["a/b/c.json", "a/b/c.pdf"]
    assert list(storage.list("zzz/")) == []


def test_fixity_all_good(storage) -> None:
    for i in range(3):
        storage.put(f"dev/f/{i}.json", b"{}" * i)
    assert check_fixity(storage, "dev/f/") == (3, [])


# -- local folder -----------------------------------------------------------------


def test_local_layout_and_tamper(local: LocalStorage) -> None:
    local.put("dev/x/doc.pdf", b"original", retain=True)
    path = local.root / "dev/x/doc.pdf"
    assert path.read_bytes() == b"original"
    assert not os.access(path, os.W_OK) or os.geteuid() == 0
    assert oct(path.stat().st_mode & 0o777) == "0o444"
    assert [p.name for p in path.parent.iterdir() if not p.name.startswith(".")] == ["doc.pdf"]
    os.chmod(path, 0o644)
    path.write_bytes(b"tampered")
    with pytest.raises(ChecksumMismatch):
        local.get("dev/x/doc.pdf")
    assert check_fixity(local) == (0, ["dev/x/doc.pdf"])


def test_local_missing_sidecar_is_a_fixity_failure(local: LocalStorage) -> None:
    local.put("dev/y/a.json", b"{}")
    (local.root / "dev/y/.a.json.sha256").unlink()
    with pytest.raises(ChecksumMismatch):
        local.get("dev/y/a.json")
    # a retry of the same put repairs it
    local.put("dev/y/a.json", b"{}")
    assert local.get("dev/y/a.json") == b"{}"


def test_local_put_leaves_no_temp_files(local: LocalStorage) -> None:
    local.put("dev/z/a.bin", os.urandom(100_000))
    names = sorted(p.name for p in (local.root / "dev/z").iterdir())
    assert names == [".a.bin.sha256", "a.bin"]


def test_local_concurrent_writers(local: LocalStorage) -> None:
    payloads = [bytes([i]) * 50_000 for i in range(8)]
    threads = [threading.Thread(target=local.put, args=("dev/c/same.bin", p)) for p in payloads]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert local.get("dev/c/same.bin") in payloads  # bytes and checksum from the same writer


def test_make_storage(tmp_path: Path) -> None:
    store = make_storage(Settings(home=tmp_path))
    assert isinstance(store, LocalStorage) and store.root == tmp_path / "archive"
    s3 = make_storage(Settings(storage="s3", s3_endpoint="http://127.0.0.1:1", s3_bucket="b"))
    assert s3.endpoint == "127.0.0.1:1" and not s3.secure


def test_validate_key_accepts_normal_keys() -> None:
    assert validate_key("dev/2026/11/23/0a1b-c_d/v1/document.pdf")


# -- S3 ---------------------------------------------------------------------------


def test_s3_versioning_and_object_lock(s3) -> None:
    from minio.error import S3Error

    s3.put("dev/v/doc.pdf", b"signed", retain=True)
    client, bucket = s3.client, s3.bucket
    assert client.get_bucket_versioning(bucket).status == "Enabled"
    stat = client.stat_object(bucket, "dev/v/doc.pdf")
    assert stat.metadata["x-amz-meta-sha256"] == __import__("hashlib").sha256(b"signed").hexdigest()
    retention = client.get_object_retention(bucket, "dev/v/doc.pdf", version_id=stat.version_id)
    assert retention.mode == "GOVERNANCE"
    with pytest.raises(S3Error):
        client.remove_object(bucket, "dev/v/doc.pdf", version_id=stat.version_id)
    assert s3.get("dev/v/doc.pdf") == b"signed"


def test_s3_versions_kept_on_overwrite(s3) -> None:
    s3.put("dev/w/a.json", b"1")
    s3.put("dev/w/a.json", b"2")
    versions = [o for o in s3.client.list_objects(s3.bucket, prefix="dev/w/", include_version=True)]
    assert len(versions) == 2
    assert s3.get("dev/w/a.json") == b"2"


def test_s3_out_of_band_overwrite_detected(s3) -> None:
    s3.put("dev/o/a.json", b"genuine")
    forged = {"sha256": __import__("hashlib").sha256(b"genuine").hexdigest()}
    s3.client.put_object(s3.bucket, "dev/o/a.json", io.BytesIO(b"forged!"), 7, metadata=forged)
    with pytest.raises(ChecksumMismatch):
        s3.get("dev/o/a.json")
    s3.client.put_object(s3.bucket, "dev/o/b.json", io.BytesIO(b"no checksum"), 11)
    with pytest.raises(ChecksumMismatch):
        s3.get("dev/o/b.json")
    assert check_fixity(s3, "dev/o/") == (0, ["dev/o/a.json", "dev/o/b.json"])


def test_s3_dead_server_fails_fast() -> None:
    import time

    from digitize.storage.s3 import S3Storage
    from conftest_servers import free_port

    store = S3Storage(f"127.0.0.1:{free_port()}", "k", "s", "bucket")
    start = time.monotonic()
    with pytest.raises(StorageError) as info:
        store.put("a/b", b"x")
    assert time.monotonic() - start < 5
    assert "unreachable" in str(info.value) and "\n" not in str(info.value)
