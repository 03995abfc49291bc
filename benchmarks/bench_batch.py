"""Book throughput: pages per minute with 1, 2 and 4 workers, end to end through
`digitize batch` (split, store, OCR, sign, store, index, report), and the time a
book loses when its worker is killed.

    .venv/bin/python benchmarks/bench_batch.py                   # 20 generated pages, seed 7
    .venv/bin/python benchmarks/bench_batch.py --pages 40 --workers 1,2 --modes celery --kill

`--kill` (celery): one more run in which the worker is killed with SIGKILL once a
third of the pages are indexed and a new worker is started at once, with the
production time limits; it reports the seconds from the kill to the end of the book
and how many of them the remaining pages needed at the undisturbed rate (the rest
is what the crash cost).

Modes: `local` is the embedded default (a local process pool, no broker);
`celery` starts a private redis-server and `digitize worker --concurrency N`
(skipped when redis-server is not installed). Each run gets an empty archive
and index, so no page is reused; the development signing certificate is made
once beforehand. The clock runs from `digitize batch` starting to its exit;
Celery worker start-up is outside it, the first page's engine set-up inside.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DIGITIZE = [sys.executable, "-m", "digitize.cli"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def generate(folder: Path, count: int, seed: int) -> None:
    subprocess.run(
        [sys.executable, "-m", "samples.generate", "--out", str(folder), "--count", str(count), "--seed", str(seed)],
        cwd=ROOT,
        check=True,
        stdout=subprocess.DEVNULL,
    )


def run_batch(source: Path, env: dict[str, str]) -> tuple[float, dict]:
    started = time.perf_counter()
    proc = subprocess.run(
        DIGITIZE + ["batch", str(source), "--book-id", "bench", "--no-progress"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    elapsed = time.perf_counter() - started
    if proc.returncode not in (0, 1):
        raise SystemExit(f"digitize batch failed ({proc.returncode}): {proc.stderr[-2000:]}")
    return elapsed, json.loads(proc.stdout)


def start_redis(folder: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            str(folder),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    for _ in range(100):
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return proc, f"redis://127.0.0.1:{port}/0"
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise SystemExit("redis-server did not start")


def start_worker(env: dict[str, str], concurrency: int, log: Path) -> subprocess.Popen:
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            DIGITIZE + ["worker", "--concurrency", str(concurrency), "--loglevel", "INFO"],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if b" ready." in log.read_bytes():
            return proc
        if proc.poll() is not None:
            raise SystemExit(f"worker exited: {log.read_text()[-2000:]}")
        time.sleep(0.2)
    raise SystemExit("worker not ready after 60 s")


def indexed(env: dict[str, str]) -> int:
    import sqlite3

    try:
        with sqlite3.connect(env["DIGITIZE_INDEX_PATH"], timeout=5) as conn:
            return int(conn.execute("SELECT count(*) FROM results").fetchone()[0])
    except sqlite3.Error:
        return 0


def killed_run(source: Path, env: dict[str, str], concurrency: int, run: Path, pages: int) -> dict:
    """A book whose only worker is killed a third of the way through."""
    worker = start_worker(env, concurrency, run / "worker1.log")
    batch = subprocess.Popen(
        DIGITIZE + ["batch", str(source), "--book-id", "bench", "--no-progress"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    second = None
    try:
        while indexed(env) < max(1, pages // 3):
            if batch.poll() is not None:
                raise SystemExit("the book ended before the kill")
            time.sleep(0.2)
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait()
        killed_at, done_at_kill = time.perf_counter(), indexed(env)
        second = start_worker(env, concurrency, run / "worker2.log")
        out, err = batch.communicate(timeout=3600)
        after = time.perf_counter() - killed_at
    finally:
        if second is not None:
            stop(second)
        if batch.poll() is None:
            batch.kill()
    report = json.loads(out)
    return {
        "after_kill_s": round(after, 1),
        "pages_left_at_kill": pages - done_at_kill,
        "done": report["summary"]["done"],
        "failed": report["summary"]["failed"],
    }


def stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--pages", type=int, default=20)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--workers", default="1,2,4", help="comma-separated worker counts")
    ap.add_argument("--modes", default="local,celery")
    ap.add_argument("--kill", action="store_true", help="(celery) also time a book whose worker is killed")
    ap.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = ap.parse_args(argv)
    counts = [int(n) for n in args.workers.split(",")]
    modes = args.modes.split(",")
    if "celery" in modes and shutil.which("redis-server") is None:
        print("redis-server not installed: celery mode skipped", file=sys.stderr)
        modes.remove("celery")

    work = Path(tempfile.mkdtemp(prefix="bench-batch-"))
    try:
        source = work / "pages"
        generate(source, args.pages, args.seed)
        base = {k: v for k, v in os.environ.items() if not k.startswith("DIGITIZE_")}
        base["DIGITIZE_HOME"] = str(work / "home")
        # the development certificate, once, outside the clock
        from digitize.config import load_settings
        from digitize.signing import make_signer

        make_signer(load_settings(env=base))
        print(f"{'mode':8} {'workers':>7} {'pages':>5} {'done':>5} {'seconds':>8} {'pages/min':>9}")
        rows = []
        for mode in modes:
            redis = None
            if mode == "celery":
                redis, broker = start_redis(work)
            try:
                for n in counts:
                    run = work / f"{mode}-{n}"
                    env = dict(
                        base,
                        DIGITIZE_ARCHIVE_DIR=str(run / "archive"),
                        DIGITIZE_INDEX_PATH=str(run / "index.sqlite3"),
                        DIGITIZE_WORKERS=str(n),
                    )
                    run.mkdir()
                    worker = None
                    if mode == "celery":
                        env["DIGITIZE_BROKER"] = broker.rsplit("/", 1)[0] + f"/{n}"
                        worker = start_worker(env, n, run / "worker.log")
                    try:
                        seconds, report = run_batch(source, env)
                    finally:
                        if worker is not None:
                            stop(worker)
                    s = report["summary"]
                    rate = s["done"] / seconds * 60
                    rows.append(
                        {
                            "mode": mode,
                            "workers": n,
                            "pages": s["pages"],
                            "done": s["done"],
                            "failed": s["failed"],
                            "seconds": round(seconds, 2),
                            "pages_per_minute": round(rate, 1),
                        }
                    )
                    print(f"{mode:8} {n:>7} {s['pages']:>5} {s['done']:>5} {seconds:>8.1f} {rate:>9.1f}", flush=True)
                if mode == "celery" and args.kill:
                    n = counts[-1]
                    run = work / f"celery-{n}-killed"
                    run.mkdir()
                    env = dict(
                        base,
                        DIGITIZE_ARCHIVE_DIR=str(run / "archive"),
                        DIGITIZE_INDEX_PATH=str(run / "index.sqlite3"),
                        DIGITIZE_WORKERS=str(n),
                        DIGITIZE_BROKER=broker.rsplit("/", 1)[0] + "/9",
                    )
                    kill = killed_run(source, env, n, run, args.pages)
                    rate = next(r["pages_per_minute"] for r in rows if r["mode"] == "celery" and r["workers"] == n)
                    needed = kill["pages_left_at_kill"] / rate * 60
                    kill.update(
                        workers=n,
                        remaining_pages_need_s=round(needed, 1),
                        crash_cost_s=round(kill["after_kill_s"] - needed, 1),
                    )
                    rows.append({"mode": "celery-killed", **kill})
                    print(
                        f"killed worker ({n}): book done {kill['after_kill_s']:.0f} s after the kill; its "
                        f"{kill['pages_left_at_kill']} remaining pages need {needed:.0f} s at the undisturbed rate: "
                        f"the crash cost {kill['crash_cost_s']:.0f} s",
                        flush=True,
                    )
            finally:
                if redis is not None:
                    redis.terminate()
                    redis.wait()
        print(json.dumps({"cpus": os.cpu_count(), "runs": rows}))
    finally:
        if args.keep:
            print(f"kept {work}", file=sys.stderr)
        else:
            shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
