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

    .venv/bin/python benchmarks/bench_web.py [--sequential 10] [--concurrent 50] [--bombs] [--json out.json]

3. `--bombs`: the concurrent uploads again, with hostile inputs sent at the same
   time — a 8000x8000 1-bit PNG (pixel bomb), a PDF of 200 pages reusing one large
   image, a PDF whose content stream inflates to 300 MB (flate bomb), each twice,
   and four anonymous 40 MB chunked uploads. Reported: the ordinary uploads' errors
   and latency beside the run without bombs, what each bomb got, and the server's
   peak memory (its processes together).

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
    for i, line in enumerate(
        [
            "GIẤY KHAI SINH",
            "Họ, chữ đệm, tên: TRẦN MỸ LOAN",
            "Ngày sinh: 08/07/1957",
            "Số định danh cá nhân: 046157258462",
        ]
    ):
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


def pixel_bomb() -> bytes:
    from PIL import Image

    out = io.BytesIO()
    Image.new("1", (8000, 8000), 1).save(out, "PNG")
    return out.getvalue()


def reused_image_pdf(pages: int = 200) -> bytes:
    """Many pages drawing one large image: tiny on disk, huge when every page is decoded."""
    import pikepdf

    pdf = pikepdf.new()
    raw = bytes(4000 * 4000)
    image = pikepdf.Stream(pdf, raw)
    image.Type, image.Subtype = pikepdf.Name.XObject, pikepdf.Name.Image
    image.Width, image.Height, image.BitsPerComponent = 4000, 4000, 8
    image.ColorSpace = pikepdf.Name.DeviceGray
    for _ in range(pages):
        page = pdf.add_blank_page(page_size=(595, 842))
        page.Resources = pikepdf.Dictionary(XObject=pikepdf.Dictionary(Im0=image))
        page.Contents = pdf.make_stream(b"q 595 0 0 842 0 0 cm /Im0 Do Q")
    out = io.BytesIO()
    pdf.save(out, compress_streams=True)
    return out.getvalue()


def flate_bomb_pdf(inflated: int = 300_000_000) -> bytes:
    """One page whose content stream inflates to `inflated` bytes (spaces)."""
    import zlib

    import pikepdf

    packer = zlib.compressobj(9)
    block = b" " * (1 << 20)
    packed = b"".join(packer.compress(block) for _ in range(inflated // len(block))) + packer.flush()
    pdf = pikepdf.new()
    page = pdf.add_blank_page(page_size=(595, 842))
    stream = pikepdf.Stream(pdf, packed)
    stream.Filter = pikepdf.Name.FlateDecode
    page.Contents = stream
    out = io.BytesIO()
    pdf.save(out, compress_streams=False)
    return out.getvalue()


def tree_rss_mb(pid: int) -> float:
    """Resident memory of a process and its children, MB."""
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
            todo += [int(c) for t in Path(f"/proc/{p}/task").iterdir() for c in (t / "children").read_text().split()]
        except OSError:
            continue
    return total / 1024


def anonymous_chunked(base: str, size: int) -> int:
    """An anonymous upload of `size` bytes sent chunked; the status it got."""
    import httpx

    def body():
        chunk = b"\0" * (1 << 18)
        for _ in range(size // len(chunk)):
            yield chunk

    try:
        r = httpx.post(
            base + "/api/upload",
            content=body(),
            timeout=120,
            headers={"Content-Type": "multipart/form-data; boundary=x"},
        )
        return r.status_code
    except httpx.HTTPError:
        return 0  # the server hung up on it: also refused


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
        r = client.post(
            base + "/api/upload",
            headers={"Authorization": f"Bearer {token}"},
            files={"file": (name, data, "image/png")},
            timeout=600,
        )
        elapsed = time.perf_counter() - started
        body = r.json() if r.headers.get("content-type", "").startswith("application/json") else None
        return r.status_code, elapsed, body, "" if r.status_code == 200 else (body or {}).get("error", r.text[:200])
    except Exception as exc:  # connection reset, timeout: an error, not a crash of the benchmark
        return 0, time.perf_counter() - started, None, f"{type(exc).__name__}: {exc}"


def concurrent(
    base: str, token: str, page: bytes, count: int, salt: int, bombs: list | None = None, server_pid: int | None = None
) -> dict:
    """`count` distinct uploads at once (and the bombs beside them): errors, lost, latency."""
    import httpx

    files = variants(page, count, salt=salt)
    expected = {hashlib.sha256(d).hexdigest()[:32] for d in files}
    outcomes: list[tuple[int, float, dict | None, str]] = [None] * len(files)  # type: ignore[list-item]
    bombs = bombs or []
    bomb_status: list[str] = [""] * len(bombs)
    anonymous: list[int] = [0] * (4 if bombs else 0)
    barrier = threading.Barrier(len(files) + len(bombs) + len(anonymous))
    limits = httpx.Limits(max_connections=len(files) + len(bombs), max_keepalive_connections=len(files))
    peak = [0.0]
    done = threading.Event()

    def watch() -> None:
        while not done.wait(0.2):
            if server_pid:
                peak[0] = max(peak[0], tree_rss_mb(server_pid))

    with httpx.Client(limits=limits) as client:

        def ordinary(i: int) -> None:
            barrier.wait()
            outcomes[i] = upload(client, base, token, f"c{salt}-{i}.png", files[i])

        def hostile(i: int) -> None:
            name, data, media = bombs[i]
            barrier.wait()
            started = time.perf_counter()
            try:
                r = client.post(
                    base + "/api/upload",
                    headers={"Authorization": f"Bearer {token}"},
                    files={"file": (name, data, media)},
                    timeout=600,
                )
                error = r.json().get("error", "") if r.status_code != 200 else ""
                bomb_status[i] = f"{name}: {r.status_code} in {time.perf_counter() - started:.1f}s {error}"[:160]
            except httpx.HTTPError as exc:
                bomb_status[i] = f"{name}: {type(exc).__name__}"

        def stranger(i: int) -> None:
            barrier.wait()
            anonymous[i] = anonymous_chunked(base, 40_000_000)

        threads = [threading.Thread(target=ordinary, args=(i,)) for i in range(len(files))]
        threads += [threading.Thread(target=hostile, args=(i,)) for i in range(len(bombs))]
        threads += [threading.Thread(target=stranger, args=(i,)) for i in range(len(anonymous))]
        watcher = threading.Thread(target=watch, daemon=True)
        watcher.start()
        started = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - started
        done.set()

        ok_ids = {o[2]["id"] for o in outcomes if o[0] == 200 and o[2]}
        errors = [o for o in outcomes if o[0] != 200]
        lost = 0
        for rid in expected:
            r = client.get(f"{base}/api/results/{rid}", headers={"Authorization": f"Bearer {token}"})
            if r.status_code != 200 or r.json().get("id") != rid:
                lost += 1 if rid in ok_ids else 0  # a 200 that cannot be read back
        missing = len(expected - ok_ids) - len(errors)  # neither an error nor a result
        lat = [o[1] for o in outcomes if o[0] == 200]
    out = {
        "uploads": len(files),
        "errors": len(errors),
        "results_lost": lost + max(0, missing),
        "wall_s": round(wall, 2),
        "throughput_pages_per_s": round(len(ok_ids) / wall, 3),
        "latency_p50_s": round(percentile(lat, 0.5), 2),
        "latency_p95_s": round(percentile(lat, 0.95), 2),
        "latency_max_s": round(max(lat), 2) if lat else None,
        "error_examples": sorted({f"{o[0]} {o[3]}" for o in errors})[:5],
    }
    if bombs:
        out.update(bombs=bomb_status, anonymous_40mb_chunked=anonymous, server_peak_rss_mb=round(peak[0]))
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--sequential", type=int, default=10)
    ap.add_argument("--concurrent", type=int, default=50)
    ap.add_argument("--processes", type=int, help="server OCR processes (default: the server's: CPUs)")
    ap.add_argument("--bombs", action="store_true", help="also run the concurrent uploads with hostile inputs")
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
                    "uploads": args.sequential,
                    "errors": errors_seq,
                    "p50_s": round(percentile(latencies, 0.50), 3),
                    "p95_s": round(percentile(latencies, 0.95), 3),
                    "mean_s": round(statistics.fmean(latencies), 3) if latencies else None,
                }
                print(json.dumps({"sequential": report["sequential"]}), flush=True)

            if args.concurrent:
                report["concurrent"] = concurrent(base, token, page, args.concurrent, salt=2, server_pid=proc.pid)
                print(json.dumps({"concurrent": report["concurrent"]}), flush=True)
            if args.concurrent and args.bombs:
                bombs = [
                    ("pixel-bomb.png", pixel_bomb(), "image/png"),
                    ("reused-image.pdf", reused_image_pdf(), "application/pdf"),
                    ("flate-bomb.pdf", flate_bomb_pdf(), "application/pdf"),
                ] * 2
                report["with_bombs"] = concurrent(
                    base, token, page, args.concurrent, salt=3, bombs=bombs, server_pid=proc.pid
                )
                print(json.dumps({"with_bombs": report["with_bombs"]}), flush=True)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
    print(json.dumps(report, indent=2))
    if args.json:
        args.json.write_text(json.dumps(report, indent=2))
    runs = [report.get(k) or {} for k in ("concurrent", "with_bombs")]
    return 0 if not any(r.get("errors") or r.get("results_lost") for r in runs) else 1


if __name__ == "__main__":
    sys.exit(main())
