"""The web service under attack, against a real `digitize serve` on loopback
(raw sockets, so nothing in between buffers or fixes the requests):

- anonymous uploads, sent chunked and large, are refused before their bodies are
  read, and the server's memory does not grow with them;
- an authenticated chunked upload over the limit is cut off with 413 as soon as
  it passes the limit."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest

from serve import serve

ROOT = Path(__file__).resolve().parent.parent
LIMIT = 4_000_000  # DIGITIZE_MAX_BYTES for this server: the upload limit

pytestmark = [pytest.mark.slow]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    pytest.importorskip("uvicorn")
    home = tmp_path_factory.mktemp("attack")
    from digitize.web.auth import Auth
    from digitize.web.db import WebDB

    auth = Auth(WebDB(home / "web.sqlite3"))
    auth.add_user("officer", "intake", "hue", password="pw-officer-attack")
    token = auth.issue_token("officer")
    with serve(home, DIGITIZE_AGENCY="hue", DIGITIZE_MAX_BYTES=str(LIMIT)) as served:
        yield {"port": served.port, "pid": served.pid, "token": token}


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmRSS")


def chunked_upload(port: int, total: int, headers: dict[str, str] | None = None) -> tuple[int, int]:
    """Send a multipart upload of `total` bytes, chunked, until the server answers;
    returns (status, bytes of body sent before the answer)."""
    boundary = "dzboundary"
    head = "".join(f"{k}: {v}\r\n" for k, v in (headers or {}).items())
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    sock.sendall(
        (
            f"POST /api/upload HTTP/1.1\r\nHost: 127.0.0.1\r\n{head}"
            f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
            "Transfer-Encoding: chunked\r\n\r\n"
        ).encode()
    )
    part = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.png"\r\n'
        "Content-Type: image/png\r\n\r\n"
    ).encode()
    sent = 0
    chunk = b"\x89PNG\r\n\x1a\n" + b"\0" * (256 * 1024 - 8)
    sock.setblocking(False)
    answer = b""
    try:
        pieces = [part] + [chunk] * (total // len(chunk))
        for piece in pieces:
            try:
                answer += sock.recv(4096)
            except BlockingIOError:
                pass
            if answer:
                break
            frame = f"{len(piece):x}\r\n".encode() + piece + b"\r\n"
            view = memoryview(frame)
            while view:
                try:
                    n = sock.send(view)
                    view = view[n:]
                except BlockingIOError:
                    time.sleep(0.001)
                except (BrokenPipeError, ConnectionResetError):
                    view = memoryview(b"")
                    break
            sent += len(piece)
        sock.setblocking(True)
        sock.settimeout(30)
        while b"\r\n" not in answer:
            more = sock.recv(4096)
            if not more:
                break
            answer += more
    finally:
        sock.close()
    return int(answer.split(b" ", 2)[1]), sent


def test_anonymous_chunked_uploads_are_refused_unread_and_memory_stays_flat(server):
    before = rss_mb(server["pid"])
    results = [chunked_upload(server["port"], 40_000_000) for _ in range(4)]
    after = rss_mb(server["pid"])
    assert all(status == 401 for status, _ in results), results
    # Refused before the body was read: far less than 40 MB each went in.
    assert all(sent < 8_000_000 for _, sent in results), results
    assert after - before < 40, f"server grew from {before:.0f} MB to {after:.0f} MB"


def test_authenticated_chunked_upload_over_the_limit_is_cut_off(server):
    status, sent = chunked_upload(server["port"], 12 * LIMIT, {"Authorization": f"Bearer {server['token']}"})
    assert status == 413
    assert sent < 6 * LIMIT  # stopped once past the limit (kernel buffers aside), not after the whole body


def test_ocr_workers_end_with_the_server_even_when_it_is_killed(tmp_path):
    """A server killed with SIGKILL leaves no OCR worker running on (an orphaned worker
    went on reading a 200-page upload for an hour after its server was gone)."""
    import signal
    import subprocess
    import sys

    script = (
        "import os, sys, time\n"
        "from digitize.config import load_settings\n"
        "from digitize.web.jobs import Processor\n"
        "p = Processor(load_settings(env={'DIGITIZE_HOME': sys.argv[1]}), processes=1)\n"
        "p.warm_up()\n"
        "pids = [pid for pool in p._pools() for pid in pool._processes]\n"
        "print(' '.join(map(str, pids)), flush=True)\n"
        "time.sleep(600)\n"
    )
    server = subprocess.Popen([sys.executable, "-c", script, str(tmp_path)], stdout=subprocess.PIPE, text=True)
    try:
        pids = [int(p) for p in server.stdout.readline().split()]
        assert pids and all(_alive(pid) for pid in pids)
    finally:
        server.send_signal(signal.SIGKILL)
        server.wait(timeout=10)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and any(_alive(pid) for pid in pids):
        time.sleep(0.2)
    assert not any(_alive(pid) for pid in pids), "an OCR worker outlived its server"


def test_ocr_workers_started_from_a_short_lived_thread_keep_working(tmp_path):
    """The server starts its pools from the warm-up thread (or a request's), which then ends:
    the workers must not end with that thread (Linux's parent-death signal follows the thread
    that started a process, and once broke every upload with a 500)."""
    import os
    import threading

    from digitize.config import load_settings
    from digitize.web.jobs import Processor

    processor = Processor(load_settings(env={"DIGITIZE_HOME": str(tmp_path)}), processes=1)
    try:
        warm = threading.Thread(target=processor.warm_up)
        warm.start()
        warm.join()
        time.sleep(1.0)  # a signal sent when the thread ended has arrived by now
        interactive, batch = processor._pools()
        assert interactive.submit(os.getpid).result(timeout=60) != os.getpid()
        assert batch.submit(os.getpid).result(timeout=60) != os.getpid()
    finally:
        processor.close()


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except OSError:
        return False
    return state != "Z"
