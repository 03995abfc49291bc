"""`digitize serve` in a subprocess on a free loopback port, for the tests that
talk to a real server (browser pages, raw sockets)."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Served:
    base: str  # http://127.0.0.1:PORT
    port: int
    pid: int


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def serve(home: Path, **env_extra: str) -> Iterator[Served]:
    """Start the server over `home` (users already added there), wait until it
    answers, yield it, stop it. Plain http, so cookies are marked insecure."""
    port = free_port()
    env = dict(os.environ, DIGITIZE_HOME=str(home), DIGITIZE_INSECURE_COOKIES="1", **env_extra)
    # The server's output goes to a file: a pipe nobody reads fills up (64 KB of warnings)
    # and then blocks the server in the middle of a request.
    log = home / "serve.log"
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "digitize.cli", "serve", "--port", str(port), "--processes", "0"],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(base + "/api/health", timeout=2) as r:
                if r.status == 200:
                    break
        except OSError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            pytest.fail("server did not start: " + log.read_text(errors="replace")[-2000:])
        time.sleep(0.2)
    try:
        yield Served(base, port, proc.pid)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


@contextlib.contextmanager
def chromium(executable: str, args: list[str]) -> Iterator[object]:
    """A headless Chromium driven by playwright, closed afterwards."""
    from playwright.sync_api import sync_playwright

    driver = sync_playwright().start()
    browser = driver.chromium.launch(executable_path=executable, args=args)
    try:
        yield browser
    finally:
        browser.close()
        driver.stop()
