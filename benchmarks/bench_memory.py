"""Memory over a whole book: does a worker's RSS stay flat from the first page to the last?

    .venv/bin/python -m benchmarks.bench_memory [--pages 1000] [--workers 2] [--every 1.0]

The archivist's job: `digitize batch DIR --book-id B --workers N` over --pages page scans,
in a fresh DIGITIZE_HOME. The pages are bench_throughput's 36 generated ones (clean, office
scan, poor scan, phone photo) copied with one pixel changed until there are --pages of them,
so every file is distinct content and none is answered from the archive. While the batch
runs, the resident memory (VmRSS, /proc) of the batch process and of each worker process is
read every --every seconds, and the results written so far (the index's rows) counted.

Prints, at each tenth of the book: pages done and the largest worker's RSS; then the peak of
each process and the growth of the largest worker between the second tenth and the last
(what a leak would show: memory that grows with the pages done)."""

from __future__ import annotations

import argparse
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.bench_throughput import kind_pages, make_pages  # noqa: E402


def copies(source: list[Path], count: int, folder: Path) -> list[Path]:
    """`count` files cycling through `source`, each with one pixel changed (distinct content)."""
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for i in range(count):
        src = source[i % len(source)]
        image = cv2.imread(str(src))
        image[0, 0] = ((i * 37) % 251, (i * 61) % 251, (i // 251) % 251)
        dst = folder / f"page-{i:05d}{src.suffix}"
        cv2.imwrite(str(dst), image)
        out.append(dst)
    return out


def rss_mib(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError):
        return None
    return None


def children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def done(index: Path) -> int:
    if not index.is_file():
        return 0
    try:
        with sqlite3.connect(f"file:{index}?mode=ro", uri=True, timeout=1) as conn:
            return int(conn.execute("SELECT count(*) FROM results").fetchone()[0])
    except sqlite3.Error:
        return -1  # busy: not counted this time


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--pages", type=int, default=1000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--every", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=2020)
    ap.add_argument("--source", type=Path, default=Path(tempfile.gettempdir()) / "bench-throughput-9-2020")
    args = ap.parse_args()

    make_pages(args.source, 9, args.seed)
    work = Path(tempfile.mkdtemp(prefix="bench-memory-"))
    print(f"making {args.pages} distinct pages in {work}", file=sys.stderr)
    pages = copies([path for _, path, _ in kind_pages(args.source)], args.pages, work / "book")
    home = work / "home"
    env = dict(os.environ, DIGITIZE_HOME=str(home))
    cmd = [sys.executable, "-m", "digitize.cli", "batch", str(pages[0].parent), "--book-id", "MEM-1"]
    cmd += ["--workers", str(args.workers), "--no-progress"]
    started = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    samples: list[tuple[float, int, float, float]] = []  # (seconds, pages done, batch RSS, largest worker RSS)
    peaks: dict[int, float] = {}
    count = 0
    while proc.poll() is None:
        workers = [(pid, rss_mib(pid)) for pid in children(proc.pid)]
        own = rss_mib(proc.pid) or 0.0
        for pid, rss in [(proc.pid, own), *workers]:
            if rss is not None:
                peaks[pid] = max(peaks.get(pid, 0.0), rss)
        now = done(home / "index.sqlite3")
        count = now if now >= 0 else count
        largest = max((r for _, r in workers if r is not None), default=0.0)
        samples.append((time.perf_counter() - started, count, own, largest))
        time.sleep(args.every)
    seconds = time.perf_counter() - started
    err = proc.stderr.read() if proc.stderr else ""
    final = done(home / "index.sqlite3")
    if proc.returncode != 0:
        print(f"digitize batch exited {proc.returncode}: {err.strip()[-500:]}", file=sys.stderr)

    print(f"{args.pages} pages, {args.workers} workers: {seconds:.0f} s, {final} results indexed")
    print()
    print("| pages done | largest worker RSS MiB | batch process RSS MiB |")
    print("|---:|---:|---:|")
    rows = []
    for tenth in range(1, 11):
        target = args.pages * tenth / 10
        row = next((s for s in samples if s[1] >= target), samples[-1] if samples else None)
        if row is not None and row not in rows:
            rows.append(row)
            print(f"| {row[1]} | {row[3]:.0f} | {row[2]:.0f} |")
    print()
    worker_peaks = [v for pid, v in peaks.items() if pid != proc.pid]
    workers_text = ", ".join(f"{v:.0f}" for v in worker_peaks)
    print(f"peak RSS: batch process {peaks.get(proc.pid, 0):.0f} MiB, workers {workers_text} MiB")
    if len(rows) >= 3:
        print(
            f"largest worker from {rows[1][1]} to {rows[-1][1]} pages done: "
            f"{rows[1][3]:.0f} -> {rows[-1][3]:.0f} MiB ({rows[-1][3] - rows[1][3]:+.0f})"
        )
    return 0 if proc.returncode == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
