"""Books on the distributed engines, against real servers on loopback: Redis
(broker), SeaweedFS (S3 archive) and PostgreSQL (index), with Celery workers
started as subprocesses (`digitize worker`) and books submitted with
`digitize batch`, configured through the environment only.

- `digitize process` works end to end against SeaweedFS + PostgreSQL;
- a worker killed with SIGKILL in the middle of a 200-page book: a new worker
  finishes it, and every page is in the index and committed in storage exactly once;
- the S3 server stopped in the middle of a book and started again: pages wait
  (retries with backoff) and complete, none lost;
- the same book submitted twice at once, then a third time: no duplicates, and
  the third submission queues nothing.

Each test has its own bucket, agency, Redis database and page texts, so tests
sharing the session servers cannot see each other's pages."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Iterator

import pytest

from conftest_servers import S3Server, _log_tail, _stop, _tcp_open, _wait_until, free_ports, weed_binary
from test_batch import tiny_png

pytestmark = [pytest.mark.servers, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[1]
DIGITIZE = [sys.executable, "-m", "digitize.cli"]
KEY = re.compile(r"^(?P<agency>[^/]+)/\d{4}/\d{2}/\d{2}/(?P<rid>[0-9a-f]{32})/(?:v(?P<v>\d+)/)?(?P<file>[^/]+)$")


# -- helpers -------------------------------------------------------------------------

def server_env(tmp_path: Path, s3: S3Server, postgres_url: str, redis_url: str | None, *, agency: str,
               redis_db: int = 0, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIGITIZE_")}
    env.update({
        "DIGITIZE_HOME": str(tmp_path / "home"),
        "DIGITIZE_AGENCY": agency,
        "DIGITIZE_STORAGE": "s3",
        "DIGITIZE_S3_ENDPOINT": s3.endpoint,
        "DIGITIZE_S3_BUCKET": f"digitize-{agency}",
        "AWS_ACCESS_KEY_ID": s3.access_key,
        "AWS_SECRET_ACCESS_KEY": s3.secret_key,
        "DIGITIZE_S3_RETENTION_DAYS": "1",
        "DIGITIZE_INDEX": postgres_url,
        "PYTHONUNBUFFERED": "1",
    })
    if redis_url:
        env["DIGITIZE_BROKER"] = redis_url.rsplit("/", 1)[0] + f"/{redis_db}"
    env.update(extra)
    return env


def write_tiny_book(folder: Path, tag: str, count: int) -> list[str]:
    """`count` one-line pages, each with its own text (so its own content hash)."""
    import hashlib

    folder.mkdir(parents=True)
    shas = []
    for i in range(1, count + 1):
        data = tiny_png(f"{tag} trang số {i}")
        (folder / f"p{i:04d}.png").write_bytes(data)
        shas.append(hashlib.sha256(data).hexdigest())
    return shas


def start_worker(env: dict[str, str], log: Path, concurrency: int = 2) -> subprocess.Popen:
    with open(log, "ab") as out:
        return subprocess.Popen(DIGITIZE + ["worker", "--concurrency", str(concurrency), "--loglevel", "INFO"],
                                env=env, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                start_new_session=True)


def stop_worker(proc: subprocess.Popen, sig: int = signal.SIGTERM) -> None:
    """Signal the worker's whole process group (main process and pool children)."""
    if proc.poll() is None:
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
    try:
        proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)


def submit(source: Path, book: str, env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(DIGITIZE + ["batch", str(source), "--book-id", book, "--no-progress"], env=env, cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, stdin=subprocess.DEVNULL)


def finish(proc: subprocess.Popen, timeout: float = 600) -> tuple[dict, str]:
    out, err = proc.communicate(timeout=timeout)
    assert proc.returncode == 0, err[-3000:]
    return json.loads(out), err


def indexed_ids(postgres_url: str, book: str) -> list[str]:
    import psycopg

    with psycopg.connect(postgres_url) as conn:
        try:
            return [row[0] for row in conn.execute("SELECT id FROM results WHERE book = %s", (book,))]
        except psycopg.errors.UndefinedTable:
            return []


def wait_for(condition, timeout: float, what: str, every: float = 0.5) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(every)
    raise AssertionError(f"timed out waiting for {what}")


def storage_census(env: dict[str, str]) -> dict[str, dict[int, set[str]]]:
    """{result id: {version: files}} of everything stored under the agency's dated prefixes."""
    from digitize.config import load_settings
    from digitize.storage import make_storage

    settings = load_settings(env=env)
    census: dict[str, dict[int, set[str]]] = defaultdict(lambda: defaultdict(set))
    for key in make_storage(settings).list(f"{settings.agency}/"):
        m = KEY.match(key)
        if m:
            census[m["rid"]][int(m["v"] or 0)].add(m["file"])
    return census


def assert_each_page_exactly_once(env: dict[str, str], postgres_url: str, book: str, shas: list[str],
                                  allowed_orphans: int = 0) -> int:
    """One index row per page; per page, one committed version in storage (the one
    the index names); only a run killed between storing and indexing may leave an
    uncommitted earlier version (retained objects cannot be removed)."""
    from digitize.config import load_settings
    from digitize.index import make_index
    from digitize.storage import make_storage

    expected = {s[:32] for s in shas}
    ids = indexed_ids(postgres_url, book)
    assert len(ids) == len(expected) and set(ids) == expected
    settings = load_settings(env=env)
    storage, index = make_storage(settings), make_index(settings)
    census = storage_census(env)
    assert set(census) == expected
    orphans = 0
    try:
        for rid in expected:
            result = index.get(rid)
            committed = int(result["version"])
            assert all(storage.exists(k) for k in result["keys"].values())
            versions = census[rid]
            assert versions[0] == {"original.png"}
            assert versions[committed] >= {"document.pdf", "result.json", "words.json"}
            others = sorted(v for v in versions if v not in (0, committed))
            assert all(v < committed for v in others), (rid, dict(versions))
            orphans += len(others)
    finally:
        index.close()
    assert orphans <= allowed_orphans, f"{orphans} uncommitted versions"
    inputs = [k for k in storage.list(f"{settings.agency}/inputs/")]
    assert len(inputs) == len(expected)
    return orphans


# -- configuration end to end ------------------------------------------------------------------

def test_process_against_seaweedfs_and_postgres(tmp_path: Path, s3_server: S3Server, postgres_url: str) -> None:
    env = server_env(tmp_path, s3_server, postgres_url, None, agency="proc")
    page = tmp_path / "giay.png"
    page.write_bytes(tiny_png("Số hóa qua S3 và PostgreSQL"))
    out = tmp_path / "out"
    proc = subprocess.run(DIGITIZE + ["process", str(page), "--out", str(out), "--workers", "1"], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    result = json.loads((out / "giay.json").read_text(encoding="utf-8"))
    assert result["keys"]["pdf"].startswith("proc/")
    assert subprocess.run(DIGITIZE + ["verify", str(out / "giay.pdf")], env=env, cwd=ROOT, capture_output=True,
                          timeout=120).returncode == 0

    from minio import Minio

    client = Minio(s3_server.endpoint, access_key=s3_server.access_key, secret_key=s3_server.secret_key,
                   secure=False)
    stat = client.stat_object("digitize-proc", result["keys"]["pdf"])
    retention = client.get_object_retention("digitize-proc", result["keys"]["pdf"], version_id=stat.version_id)
    assert retention.mode == "GOVERNANCE"  # DIGITIZE_S3_RETENTION_DAYS=1: signed PDFs under object lock
    hits = subprocess.run(DIGITIZE + ["search", "PostgreSQL"], env=env, cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert hits.returncode == 0 and result["id"] in hits.stdout
    got = subprocess.run(DIGITIZE + ["get", result["id"], "--pdf", str(tmp_path / "again.pdf")], env=env, cwd=ROOT,
                         capture_output=True, timeout=120)
    assert got.returncode == 0 and (tmp_path / "again.pdf").read_bytes() == (out / "giay.pdf").read_bytes()
    fixity = subprocess.run(DIGITIZE + ["fixity", "--prefix", "proc/"], env=env, cwd=ROOT, capture_output=True,
                            text=True, timeout=120)
    assert fixity.returncode == 0 and json.loads(fixity.stdout)["bad"] == 0


# -- a worker killed in the middle of a book ---------------------------------------------------

def test_worker_killed_mid_book_another_finishes_every_page_exactly_once(
        tmp_path: Path, s3_server: S3Server, postgres_url: str, redis_url: str) -> None:
    # Short limits so a dead worker's pages come back within seconds, not an hour.
    env = server_env(tmp_path, s3_server, postgres_url, redis_url, agency="kill", redis_db=1,
                     DIGITIZE_PAGE_TIME_LIMIT="10", DIGITIZE_VISIBILITY_TIMEOUT="16",
                     DIGITIZE_RETRY_BACKOFF_MAX="4", DIGITIZE_RETRY_MAX="30")
    shas = write_tiny_book(tmp_path / "book", "Sổ chết", 200)
    book = "Sổ 200 trang"
    first = start_worker(env, tmp_path / "worker1.log")
    second = None
    batch = submit(tmp_path / "book", book, env)
    try:
        wait_for(lambda: len(indexed_ids(postgres_url, book)) >= 50, 400, "50 pages done by the first worker")
        stop_worker(first, signal.SIGKILL)
        done_at_kill = len(indexed_ids(postgres_url, book))
        assert done_at_kill < 200
        second = start_worker(env, tmp_path / "worker2.log")
        report, _ = finish(batch)
    finally:
        for proc in (first, second):
            if proc is not None:
                stop_worker(proc)
        if batch.poll() is None:
            batch.kill()
    assert report["state"] == "done" and report["mode"] == "celery"
    assert report["summary"]["done"] == 200 and report["summary"]["failed"] == 0
    # Only the pages in flight at the kill (concurrency 2) can have stopped between store and index.
    orphans = assert_each_page_exactly_once(env, postgres_url, book, shas, allowed_orphans=2)
    print(f"killed after {done_at_kill} of 200 pages; uncommitted versions left by the kill: {orphans}")
    assert "Task digitize.page" in (tmp_path / "worker2.log").read_text()


# -- the S3 server stopped in the middle of a book ---------------------------------------------

class PrivateSeaweed:
    """A `weed mini` of this test's own, on fixed ports, that can be stopped and
    started again over the same data folder."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        (folder / "data").mkdir(parents=True)
        self.ports = free_ports(10)
        self.access_key, self.secret_key = "digitize-test", "digitize-test-secret-0123456789"
        self.proc: subprocess.Popen | None = None
        self.log = folder / "weed.log"

    @property
    def server(self) -> S3Server:
        return S3Server(f"127.0.0.1:{self.ports[6]}", self.access_key, self.secret_key)

    def start(self) -> None:
        (master, master_grpc, volume, volume_grpc, filer, filer_grpc, s3, s3_grpc, admin, admin_grpc) = self.ports
        cmd = [weed_binary(), "mini", f"-dir={self.folder / 'data'}", "-ip=127.0.0.1", "-ip.bind=127.0.0.1",
               f"-master.port={master}", f"-master.port.grpc={master_grpc}", "-master.telemetry=false",
               "-master.volumeSizeLimitMB=64", f"-volume.port={volume}", f"-volume.port.grpc={volume_grpc}",
               f"-filer.port={filer}", f"-filer.port.grpc={filer_grpc}", f"-filer.localSocket={self.folder}/f.sock",
               f"-s3.port={s3}", f"-s3.port.grpc={s3_grpc}", "-s3.port.iceberg=0", "-s3.port.lance=0",
               f"-s3.localSocket={self.folder}/s.sock", f"-admin.port={admin}", f"-admin.port.grpc={admin_grpc}",
               "-admin.ui=false", "-webdav=false"]
        env = dict(os.environ, AWS_ACCESS_KEY_ID=self.access_key, AWS_SECRET_ACCESS_KEY=self.secret_key)
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(cmd, cwd=self.folder, env=env, stdout=out, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL)
        from minio import Minio

        client = Minio(self.server.endpoint, access_key=self.access_key, secret_key=self.secret_key, secure=False)

        def ready() -> bool:
            import io

            if not _tcp_open(s3):
                return False
            if not client.bucket_exists("ready-probe"):
                client.make_bucket("ready-probe")
            client.put_object("ready-probe", "probe", io.BytesIO(b"ok"), 2)
            return True

        _wait_until(ready, self.proc, self.log, "SeaweedFS")

    def stop(self) -> None:
        if self.proc is not None:
            _stop(self.proc)
            self.proc = None


@pytest.fixture
def private_s3(tmp_path: Path) -> Iterator[PrivateSeaweed]:
    if weed_binary() is None:
        pytest.skip("SeaweedFS `weed` binary not installed")
    seaweed = PrivateSeaweed(tmp_path / "seaweedfs")
    seaweed.start()
    try:
        yield seaweed
    finally:
        seaweed.stop()


def test_s3_down_mid_book_pages_wait_and_complete(tmp_path: Path, private_s3: PrivateSeaweed, postgres_url: str,
                                                  redis_url: str) -> None:
    env = server_env(tmp_path, private_s3.server, postgres_url, redis_url, agency="outage", redis_db=2,
                     DIGITIZE_PAGE_TIME_LIMIT="120", DIGITIZE_VISIBILITY_TIMEOUT="200",
                     DIGITIZE_RETRY_BACKOFF_MAX="4", DIGITIZE_RETRY_MAX="40")
    shas = write_tiny_book(tmp_path / "book", "Sổ mất điện", 30)
    book = "Sổ S3 tắt"
    worker = start_worker(env, tmp_path / "worker.log")
    batch = submit(tmp_path / "book", book, env)
    try:
        wait_for(lambda: len(indexed_ids(postgres_url, book)) >= 6, 300, "6 pages done")
        private_s3.stop()
        down_at = len(indexed_ids(postgres_url, book))
        time.sleep(10)
        log = (tmp_path / "worker.log").read_text()
        assert "unreachable" in log and "retry" in log, _log_tail(tmp_path / "worker.log")
        assert batch.poll() is None  # the book waits, it does not fail
        assert len(indexed_ids(postgres_url, book)) <= down_at + 2  # (pages already past storage)
        private_s3.start()
        report, _ = finish(batch)
    finally:
        stop_worker(worker)
        if batch.poll() is None:
            batch.kill()
    assert report["summary"]["done"] == 30 and report["summary"]["failed"] == 0
    assert_each_page_exactly_once(env, postgres_url, book, shas)


# -- the same book twice ------------------------------------------------------------------------

def test_same_book_submitted_twice_no_duplicates(tmp_path: Path, s3_server: S3Server, postgres_url: str,
                                                 redis_url: str) -> None:
    env = server_env(tmp_path, s3_server, postgres_url, redis_url, agency="twice", redis_db=3,
                     DIGITIZE_PAGE_TIME_LIMIT="60", DIGITIZE_VISIBILITY_TIMEOUT="100",
                     DIGITIZE_RETRY_BACKOFF_MAX="4")
    shas = write_tiny_book(tmp_path / "book", "Sổ hai lần", 16)
    book = "Sổ nộp hai lần"
    import redis

    # Page 1 is being processed "elsewhere" (a lease held, as by a worker that then died):
    # its tasks wait for the lease instead of processing it a second time, and take it over
    # when it expires.
    broker = redis.Redis.from_url(env["DIGITIZE_BROKER"])
    assert broker.set(f"digitize:lease:{shas[0]}", "another-worker", nx=True, ex=6)
    worker = start_worker(env, tmp_path / "worker.log")
    try:
        one, two = submit(tmp_path / "book", book, env), submit(tmp_path / "book", book, env)
        (first, _), (second, _) = finish(one), finish(two)
        third = subprocess.run(DIGITIZE + ["batch", str(tmp_path / "book"), "--book-id", book, "--no-progress"],
                               env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)
        assert_each_page_exactly_once(env, postgres_url, book, shas)
        # --no-wait: queued and returned at once; --status follows the book from the index
        write_tiny_book(tmp_path / "later", "Sổ để sau", 3)
        queued = subprocess.run(DIGITIZE + ["batch", str(tmp_path / "later"), "--book-id", "Sổ sau", "--no-wait"],
                                env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert queued.returncode == 0 and json.loads(queued.stdout)["state"] == "running", queued.stderr
        later_id = json.loads(queued.stdout)["id"]

        def later_done() -> bool:
            status = subprocess.run(DIGITIZE + ["batch", "--status", later_id], env=env, cwd=ROOT,
                                    capture_output=True, text=True, timeout=120)
            return status.returncode == 0 and json.loads(status.stdout)["state"] == "done"

        wait_for(later_done, 120, "the queued book", every=1)
    finally:
        stop_worker(worker)
    assert "Retry in 3.0s" in (tmp_path / "worker.log").read_text()  # waited for the lease
    assert first["id"] == second["id"]
    assert first["summary"]["done"] == second["summary"]["done"] == 16
    assert third.returncode == 0, third.stderr
    again = json.loads(third.stdout)
    assert again["id"] == first["id"] and again["summary"]["reused"] == 16
    assert not any("task" in page for page in again["pages"])  # nothing queued the third time
    status = subprocess.run(DIGITIZE + ["batch", "--status", first["id"]], env=env, cwd=ROOT, capture_output=True,
                            text=True, timeout=120)
    assert status.returncode == 0 and json.loads(status.stdout)["summary"]["done"] == 16
