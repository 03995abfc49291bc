"""Books on the distributed engines, against real servers on loopback: Redis
(broker), SeaweedFS (S3 archive) and PostgreSQL (index), with Celery workers
started as subprocesses (`digitize worker`) and books submitted with
`digitize batch`, configured through the environment only.

- `digitize process` works end to end against SeaweedFS + PostgreSQL;
- with the production defaults, a worker killed with SIGKILL in the middle of a
  book (held exactly between storing a page and indexing it): the book finishes
  within a few minutes of the kill, the stored page is taken over (one signed
  object version per page, nothing unreferenced), corrupt pages fail alone, and
  every Celery task state agrees with what was stored;
- Redis (appendonly) restarted in the middle of a book: the waiting command rides
  through it, saves its report, and no stored page is recorded as failed;
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


def server_env(
    tmp_path: Path,
    s3: S3Server,
    postgres_url: str,
    redis_url: str | None,
    *,
    agency: str,
    redis_db: int = 0,
    **extra: str,
) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DIGITIZE_")}
    env.update(
        {
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
        }
    )
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
        return subprocess.Popen(
            DIGITIZE + ["worker", "--concurrency", str(concurrency), "--loglevel", "INFO"],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )


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
    return subprocess.Popen(
        DIGITIZE + ["batch", str(source), "--book-id", book, "--no-progress"],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        stdin=subprocess.DEVNULL,
    )


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


def assert_each_page_exactly_once(
    env: dict[str, str], postgres_url: str, book: str, shas: list[str], failed_inputs: int = 0
) -> None:
    """One index row per page; per page, one version in storage, the one the index
    names (a run killed between storing and indexing is taken over, not redone)."""
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
    try:
        for rid in expected:
            result = index.get(rid)
            committed = result.version
            assert all(storage.exists(k) for k in result.keys.values())
            versions = census[rid]
            assert versions[0] == {"original.png"}
            assert versions[committed] >= {"document.pdf", "result.json", "words.json"}
            assert set(versions) == {0, committed}, (rid, dict(versions))
    finally:
        index.close()
    inputs = [k for k in storage.list(f"{settings.agency}/inputs/")]
    assert len(inputs) == len(expected) + failed_inputs  # (a page that failed in its task is kept too)


def signed_versions(env: dict[str, str], s3: S3Server) -> dict[str, int]:
    """{result id: number of stored object versions of signed PDFs} (every version
    S3 keeps, not only the latest: a second signed copy cannot hide under one key)."""
    from minio import Minio

    client = Minio(s3.endpoint, access_key=s3.access_key, secret_key=s3.secret_key, secure=False)
    counts: dict[str, int] = defaultdict(int)
    for obj in client.list_objects(
        env["DIGITIZE_S3_BUCKET"], prefix=f"{env['DIGITIZE_AGENCY']}/", recursive=True, include_version=True
    ):
        m = KEY.match(obj.object_name)
        if m and m["file"] == "document.pdf" and not obj.is_delete_marker:
            counts[m["rid"]] += 1
    return dict(counts)


def task_states(env: dict[str, str], task_ids: list[str]) -> dict[str, str]:
    """Celery's recorded state of each task, read from the result store itself."""
    import redis

    client = redis.Redis.from_url(env["DIGITIZE_BROKER"])
    states = {}
    for task_id in task_ids:
        raw = client.get(f"celery-task-meta-{task_id}")
        states[task_id] = json.loads(raw)["status"] if raw else "PENDING"
    return states


def run_cli(env: dict[str, str], *args: str, timeout: float = 120) -> subprocess.CompletedProcess:
    return subprocess.run(DIGITIZE + list(args), env=env, cwd=ROOT, capture_output=True, text=True, timeout=timeout)


# -- configuration end to end ------------------------------------------------------------------


def test_process_against_seaweedfs_and_postgres(tmp_path: Path, s3_server: S3Server, postgres_url: str) -> None:
    env = server_env(tmp_path, s3_server, postgres_url, None, agency="proc")
    page = tmp_path / "giay.png"
    page.write_bytes(tiny_png("Số hóa qua S3 và PostgreSQL"))
    out = tmp_path / "out"
    proc = subprocess.run(
        DIGITIZE + ["process", str(page), "--out", str(out), "--workers", "1"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    result = json.loads((out / "giay.json").read_text(encoding="utf-8"))
    assert result["keys"]["pdf"].startswith("proc/")
    assert (
        subprocess.run(
            DIGITIZE + ["verify", str(out / "giay.pdf")], env=env, cwd=ROOT, capture_output=True, timeout=120
        ).returncode
        == 0
    )

    from minio import Minio

    client = Minio(s3_server.endpoint, access_key=s3_server.access_key, secret_key=s3_server.secret_key, secure=False)
    stat = client.stat_object("digitize-proc", result["keys"]["pdf"])
    retention = client.get_object_retention("digitize-proc", result["keys"]["pdf"], version_id=stat.version_id)
    assert retention.mode == "GOVERNANCE"  # DIGITIZE_S3_RETENTION_DAYS=1: signed PDFs under object lock
    hits = subprocess.run(
        DIGITIZE + ["search", "PostgreSQL"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert hits.returncode == 0 and result["id"] in hits.stdout
    got = subprocess.run(
        DIGITIZE + ["get", result["id"], "--pdf", str(tmp_path / "again.pdf")],
        env=env,
        cwd=ROOT,
        capture_output=True,
        timeout=120,
    )
    assert got.returncode == 0 and (tmp_path / "again.pdf").read_bytes() == (out / "giay.pdf").read_bytes()
    fixity = subprocess.run(
        DIGITIZE + ["fixity", "--prefix", "proc/"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert fixity.returncode == 0 and json.loads(fixity.stdout)["bad"] == 0


# -- a worker killed in the middle of a book, with the production defaults -------------------


def test_worker_killed_between_store_and_index_book_recovers_within_minutes(
    tmp_path: Path, s3_server: S3Server, postgres_url: str, redis_url: str
) -> None:
    import psycopg

    # No DIGITIZE_PAGE_TIME_LIMIT / VISIBILITY_TIMEOUT here: the production defaults.
    env = server_env(tmp_path, s3_server, postgres_url, redis_url, agency="kill", redis_db=1)
    shas = write_tiny_book(tmp_path / "book", "Sổ chết", 36)
    (tmp_path / "book" / "p0037.png").write_bytes(b"")  # zero bytes
    (tmp_path / "book" / "p0038.png").write_bytes(tiny_png("Trang cụt")[:300])  # truncated
    book = "Sổ 38 trang"
    first = start_worker(env, tmp_path / "worker1.log")
    second = None
    batch = submit(tmp_path / "book", book, env)
    lock = psycopg.connect(postgres_url)
    try:
        wait_for(lambda: len(indexed_ids(postgres_url, book)) >= 8, 300, "8 pages done by the first worker")
        # Writers wait on the index from here (readers do not): the next pages are
        # stored, signed, and stopped exactly before their index commit.
        lock.execute("LOCK TABLE results IN EXCLUSIVE MODE")
        done_at_lock = set(indexed_ids(postgres_url, book))

        def stored_not_indexed() -> set[str]:
            return {rid for rid in signed_versions(env, s3_server)} - done_at_lock

        wait_for(lambda: len(stored_not_indexed()) >= 2, 120, "two pages stored and waiting for the index")
        stop_worker(first, signal.SIGKILL)
        killed_at = time.monotonic()
        held = stored_not_indexed()
        lock.rollback()
        second = start_worker(env, tmp_path / "worker2.log")
        out, err = batch.communicate(timeout=600)
        recovered = time.monotonic() - killed_at
    finally:
        lock.close()
        for proc in (first, second):
            if proc is not None:
                stop_worker(proc)
        if batch.poll() is None:
            batch.kill()
    assert batch.returncode == 1, err[-3000:]  # two pages failed (and said so), the rest done
    report = json.loads(out)
    print(f"killed with {len(held)} pages between store and index; book finished {recovered:.0f}s later")
    assert recovered < 240, f"the book waited {recovered:.0f}s after the kill"
    assert report["state"] == "done" and report["mode"] == "celery"
    assert report["summary"]["done"] == 36 and report["summary"]["failed"] == 2
    assert report["summary"]["reused"] == 0  # every page was done by this book
    failed = {p["name"]: p["error"] for p in report["pages"] if p["status"] == "failed"}
    assert set(failed) == {"p0037.png", "p0038.png"} and all("Traceback" not in e for e in failed.values())
    assert "Traceback" not in err
    # One signed object version per page, the held pages taken over as version 1.
    assert_each_page_exactly_once(env, postgres_url, book, shas, failed_inputs=1)  # the truncated page
    assert signed_versions(env, s3_server) == {sha[:32]: 1 for sha in shas}
    fixity = run_cli(env, "fixity", "--prefix", "kill/")
    assert fixity.returncode == 0 and json.loads(fixity.stdout)["unreferenced_signed"] == 0, fixity.stderr
    states = task_states(env, [p["task"] for p in report["pages"] if p.get("task")])
    assert set(states.values()) == {"SUCCESS"}, states
    status = json.loads(run_cli(env, "batch", "--status", report["id"]).stdout)
    assert status["summary"]["done"] == 36 and status["summary"]["reused"] == 0


# -- Redis restarted in the middle of a book -----------------------------------------------------


class PrivateRedis:
    """A redis-server of this test's own (appendonly, as production runs it) that can
    be stopped and started again on the same port and data."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True)
        self.port = free_ports(1)[0]
        self.proc: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        import shutil
        import socket

        log = self.folder / "redis.log"
        cmd = [
            shutil.which("redis-server"),
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(self.folder),
            "--save",
            "",
            "--appendonly",
            "yes",
            "--appendfsync",
            "everysec",
            "--protected-mode",
            "no",
            "--daemonize",
            "no",
            "--logfile",
            str(log),
        ]
        self.proc = subprocess.Popen(
            cmd, cwd=self.folder, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL
        )

        def ready() -> bool:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")

        _wait_until(ready, self.proc, log, "redis-server")

    def stop(self) -> None:
        if self.proc is not None:
            _stop(self.proc)
            self.proc = None


def test_redis_restart_mid_book_the_waiting_batch_rides_through(
    tmp_path: Path, s3_server: S3Server, postgres_url: str
) -> None:
    import shutil

    if shutil.which("redis-server") is None:
        pytest.skip("redis-server not installed")
    redis_server = PrivateRedis(tmp_path / "redis")
    redis_server.start()
    env = server_env(tmp_path, s3_server, postgres_url, redis_server.url, agency="restart")
    shas = write_tiny_book(tmp_path / "book", "Sổ Redis", 24)
    book = "Sổ Redis khởi động lại"
    worker = start_worker(env, tmp_path / "worker.log")
    batch = submit(tmp_path / "book", book, env)
    try:
        wait_for(lambda: len(indexed_ids(postgres_url, book)) >= 6, 300, "6 pages done")
        redis_server.stop()
        time.sleep(6)
        assert batch.poll() is None  # still waiting, not crashed
        redis_server.start()
        out, err = batch.communicate(timeout=600)
    finally:
        stop_worker(worker)
        if batch.poll() is None:
            batch.kill()
        redis_server.stop()
    assert batch.returncode == 0, err[-3000:]
    assert "Traceback" not in err and "broker unreachable" in err
    report = json.loads(out)
    assert report["state"] == "done" and report["summary"]["done"] == 24 and report["summary"]["failed"] == 0
    assert_each_page_exactly_once(env, postgres_url, book, shas)
    assert signed_versions(env, s3_server) == {sha[:32]: 1 for sha in shas}
    redis_server.start()
    try:
        states = task_states(env, [p["task"] for p in report["pages"]])
        # A page stored and indexed is never recorded as failed.
        assert "FAILURE" not in states.values(), states
        import redis

        client = redis.Redis.from_url(env["DIGITIZE_BROKER"])
        wait_for(lambda: not client.keys("digitize:lease:*"), 40, "leases to lapse")
        saved = json.loads(run_cli(env, "batch", "--status", report["id"]).stdout)
        assert saved["state"] == "done" and saved["summary"]["done"] == 24
    finally:
        redis_server.stop()


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
        cmd = [
            weed_binary(),
            "mini",
            f"-dir={self.folder / 'data'}",
            "-ip=127.0.0.1",
            "-ip.bind=127.0.0.1",
            f"-master.port={master}",
            f"-master.port.grpc={master_grpc}",
            "-master.telemetry=false",
            "-master.volumeSizeLimitMB=64",
            f"-volume.port={volume}",
            f"-volume.port.grpc={volume_grpc}",
            f"-filer.port={filer}",
            f"-filer.port.grpc={filer_grpc}",
            f"-filer.localSocket={self.folder}/f.sock",
            f"-s3.port={s3}",
            f"-s3.port.grpc={s3_grpc}",
            "-s3.port.iceberg=0",
            "-s3.port.lance=0",
            f"-s3.localSocket={self.folder}/s.sock",
            f"-admin.port={admin}",
            f"-admin.port.grpc={admin_grpc}",
            "-admin.ui=false",
            "-webdav=false",
        ]
        env = dict(os.environ, AWS_ACCESS_KEY_ID=self.access_key, AWS_SECRET_ACCESS_KEY=self.secret_key)
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                cmd, cwd=self.folder, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL
            )
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


def test_s3_down_mid_book_pages_wait_and_complete(
    tmp_path: Path, private_s3: PrivateSeaweed, postgres_url: str, redis_url: str
) -> None:
    env = server_env(
        tmp_path,
        private_s3.server,
        postgres_url,
        redis_url,
        agency="outage",
        redis_db=2,
        DIGITIZE_PAGE_TIME_LIMIT="120",
        DIGITIZE_VISIBILITY_TIMEOUT="200",
        DIGITIZE_RETRY_BACKOFF_MAX="4",
        DIGITIZE_RETRY_MAX="40",
    )
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


def test_same_book_submitted_twice_no_duplicates(
    tmp_path: Path, s3_server: S3Server, postgres_url: str, redis_url: str
) -> None:
    env = server_env(
        tmp_path,
        s3_server,
        postgres_url,
        redis_url,
        agency="twice",
        redis_db=3,
        DIGITIZE_PAGE_TIME_LIMIT="60",
        DIGITIZE_VISIBILITY_TIMEOUT="100",
        DIGITIZE_RETRY_BACKOFF_MAX="4",
    )
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
        third = subprocess.run(
            DIGITIZE + ["batch", str(tmp_path / "book"), "--book-id", book, "--no-progress"],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert_each_page_exactly_once(env, postgres_url, book, shas)
        # --no-wait: queued and returned at once; --status follows the book from the index
        write_tiny_book(tmp_path / "later", "Sổ để sau", 3)
        queued = subprocess.run(
            DIGITIZE + ["batch", str(tmp_path / "later"), "--book-id", "Sổ sau", "--no-wait"],
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert queued.returncode == 0 and json.loads(queued.stdout)["state"] == "running", queued.stderr
        later_id = json.loads(queued.stdout)["id"]

        def later_done() -> bool:
            status = subprocess.run(
                DIGITIZE + ["batch", "--status", later_id],
                env=env,
                cwd=ROOT,
                capture_output=True,
                text=True,
                timeout=120,
            )
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
    status = subprocess.run(
        DIGITIZE + ["batch", "--status", first["id"]], env=env, cwd=ROOT, capture_output=True, text=True, timeout=120
    )
    assert status.returncode == 0 and json.loads(status.stdout)["summary"]["done"] == 16
