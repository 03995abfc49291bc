"""Web API benchmark: upload -> result latency for one A4 page, and N concurrent
uploads on loopback.

Starts `digitize serve` (real pipeline, worker processes) in a subprocess on
127.0.0.1 with a fresh home folder, creates an intake user with an API token,
then:

1. latency: `--sequential` uploads one after the other (p50/p95 of the time
   from sending the file to having the JSON result);
2. load: `--concurrent` uploads at once (errors, results lost, throughput).
   Every upload is a distinct file (one pixel changed), so the idempotent
   pipeline cannot answer from the archive. "Lost" = a 200 whose result cannot
   be read back, or a file whose id (SHA-256 prefix) is not in the index after.

    .venv/bin/python benchmarks/bench_web.py [--sequential 10] [--concurrent 50] [--json out.json]

On a 2-core machine run the concurrent part once: it takes about a minute."""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SAMPLE = ROOT / "samples" / "data" / "khai_sinh_clean.png"
FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSerif.ttf"


def a4_page() -> bytes:
    if SAMPLE.exists():
        return SAMPLE.read_bytes()
    from PIL import Image, ImageDraw, ImageFont

    image = Image.new("L", (1654, 2339), 255)  # A4 at 200 dpi
    draw = ImageDraw.Draw(image)
    font = ImageFont.truetype(FONT, 34)
    for i, line in enumerate(["GIẤY KHAI SINH", "Họ, chữ đệm, tên: TRẦN MỸ LOAN", "Ngày sinh: 08/07/1957",
                              "Số định danh cá nhân: 046157258462"]):
        draw.text((150, 200 + 80 * i), line, font=font, fill=0)
    buf = io.BytesIO()
    image.save(buf, "PNG", dpi=(200, 200))
    return buf.getvalue()


def variants(data: bytes, count: int, salt: int) -> list[bytes]:
    """`count` distinct files of the same page (one pixel differs)."""
    from PIL import Image

    base = Image.open(io.BytesIO(data))
    base.load()
    out = []
    for i in range(count):
        image = base.copy()
        n = salt * 10_000 + i
        image.putpixel((n % image.width, 1 + (n // image.width) % 5), 254 if image.mode == "L" else (254, 254, 254))
        buf = io.BytesIO()
        image.save(buf, "PNG", dpi=base.info.get("dpi", (200, 200)))
        out.append(buf.getvalue())
    return out


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(home: Path, processes: int | None) -> tuple[subprocess.Popen, str, str]:
    from digitize.web.auth import Auth
    from digitize.web.db import WebDB

    auth = Auth(WebDB(home / "web.sqlite3"))
    auth.add_user("bench", "intake", "bench", password="bench-password-1")
    token = auth.issue_token("bench")
    port = free_port()
    cmd = [sys.executable, "-m", "digitize.cli", "serve", "--port", str(port)]
    if processes is not None:
        cmd += ["--processes", str(processes)]
    env = dict(os.environ, DIGITIZE_HOME=str(home), DIGITIZE_AGENCY="bench")
    proc = subprocess.Popen(cmd, env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    import httpx

    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit("server exited: " + proc.stderr.read().decode(errors="replace")[-2000:])
        try:
            if httpx.get(base + "/api/health", timeout=2).status_code == 200:
                return proc, base, token
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise SystemExit("server did not start")


def upload(client, base: str, token: str, name: str, data: bytes) -> tuple[int, float, dict | None, str]:
    started = time.perf_counter()
    try:
        r = client.post(base + "/api/upload", headers={"Authorization": f"Bearer {token}"},
                        files={"file": (name, data, "image/png")}, timeout=600)
        elapsed = time.perf_counter() - started
        body = r.json() if r.headers.get("content-type", "").startswith("application/json") else None
        return r.status_code, elapsed, body, "" if r.status_code == 200 else (body or {}).get("error", r.text[:200])
    except Exception as exc:  # connection reset, timeout: an error, not a crash of the benchmark
        return 0, time.perf_counter() - started, None, f"{type(exc).__name__}: {exc}"


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sequential", type=int, default=10)
    ap.add_argument("--concurrent", type=int, default=50)
    ap.add_argument("--processes", type=int, help="server OCR processes (default: the server's: CPUs)")
    ap.add_argument("--json", type=Path, help="also write the numbers here")
    args = ap.parse_args(argv)
    import httpx

    page = a4_page()
    report: dict = {"cpus": os.cpu_count(), "page_bytes": len(page)}
    with tempfile.TemporaryDirectory(prefix="bench-web-") as tmp:
        proc, base, token = start_server(Path(tmp), args.processes)
        try:
            with httpx.Client() as client:
                warm = upload(client, base, token, "warm.png", variants(page, 1, salt=9)[0])
                report["warm_up_s"] = round(warm[1], 3)
                if warm[0] != 200:
                    raise SystemExit(f"warm-up upload failed: {warm[0]} {warm[3]}")

                latencies = []
                errors_seq = 0
                for i, data in enumerate(variants(page, args.sequential, salt=1)):
                    status, elapsed, body, _ = upload(client, base, token, f"seq{i}.png", data)
                    if status == 200 and body and body.get("records") is not None:
                        latencies.append(elapsed)
                    else:
                        errors_seq += 1
                report["sequential"] = {
                    "uploads": args.sequential, "errors": errors_seq,
                    "p50_s": round(percentile(latencies, 0.50), 3), "p95_s": round(percentile(latencies, 0.95), 3),
                    "mean_s": round(statistics.fmean(latencies), 3) if latencies else None}
                print(json.dumps({"sequential": report["sequential"]}), flush=True)

            if args.concurrent:
                files = variants(page, args.concurrent, salt=2)
                expected = {hashlib.sha256(d).hexdigest()[:32] for d in files}
                outcomes: list[tuple[int, float, dict | None, str]] = [None] * len(files)  # type: ignore[list-item]
                barrier = threading.Barrier(len(files))
                limits = httpx.Limits(max_connections=len(files), max_keepalive_connections=len(files))

                with httpx.Client(limits=limits) as client:
                    def worker(i: int) -> None:
                        barrier.wait()
                        outcomes[i] = upload(client, base, token, f"c{i}.png", files[i])

                    threads = [threading.Thread(target=worker, args=(i,)) for i in range(len(files))]
                    started = time.perf_counter()
                    for t in threads:
                        t.start()
                    for t in threads:
                        t.join()
                    wall = time.perf_counter() - started

                    ok_ids = {o[2]["id"] for o in outcomes if o[0] == 200 and o[2]}
                    errors = [o for o in outcomes if o[0] != 200]
                    lost = 0
                    for rid in expected:
                        r = client.get(f"{base}/api/results/{rid}", headers={"Authorization": f"Bearer {token}"})
                        if r.status_code != 200 or r.json().get("id") != rid:
                            lost += 1 if rid in ok_ids else 0  # a 200 that cannot be read back
                    missing = len(expected - ok_ids) - len(errors)  # neither an error nor a result
                    lat = [o[1] for o in outcomes if o[0] == 200]
                report["concurrent"] = {
                    "uploads": len(files), "errors": len(errors), "results_lost": lost + max(0, missing),
                    "wall_s": round(wall, 2), "throughput_pages_per_s": round(len(ok_ids) / wall, 3),
                    "latency_p50_s": round(percentile(lat, 0.5), 2), "latency_p95_s": round(percentile(lat, 0.95), 2),
                    "latency_max_s": round(max(lat), 2) if lat else None,
                    "error_examples": sorted({f"{o[0]} {o[3]}" for o in errors})[:5]}
                print(json.dumps({"concurrent": report["concurrent"]}), flush=True)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
    print(json.dumps(report, indent=2))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    return 0 if not report.get("concurrent", {}).get("errors") and not report.get("concurrent", {}).get(
        "results_lost") else 1


if __name__ == "__main__":
    sys.exit(main())
