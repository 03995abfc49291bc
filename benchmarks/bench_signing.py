"""Signing cost per level, side by side: time per signature and file-size overhead at
PAdES B-B vs B-T vs B-LT vs B-LTA, for the same rendered pages.

The TSA is an RFC 3161 endpoint on loopback (pyHanko's DummyTimeStamper behind
http.server, answering over HTTP like a real TSA); revocation data is the
development CA's CRL (in-process). Each level signs with the Nghị định 30 copy
stamp and after the PDF/A-2b check, as `make_signer` does. The "renew" row is
`digitize retimestamp`'s work on a B-LTA file: fresh revocation data and one more
document timestamp (`renew_timestamp`), without the archive's reads and writes.

    .venv/bin/python benchmarks/bench_signing.py [--pages 1 4] [--repeat 5]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import threading
import time
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from digitize.render import render_pdf  # noqa: E402
from digitize.signing.devcert import DevAuthority  # noqa: E402
from digitize.signing.pyhanko_signer import LEVELS, PyHankoSigner  # noqa: E402
from digitize.signing.retimestamp import renew_timestamp  # noqa: E402
from digitize.signing.stamp import StampSpec  # noqa: E402
from digitize.signing.trust import Trust  # noqa: E402
from digitize.signing.verify import load_certificates  # noqa: E402
from digitize.types import CleanPage, Line, OcrPage, Word  # noqa: E402


def _document(pages: int) -> bytes:
    rng = np.random.default_rng(11)
    parts = []
    for n in range(pages):
        img = rng.integers(180, 255, size=(1754, 1240, 3), dtype=np.uint8)  # A4 at 150 dpi
        lines = tuple(
            Line(
                tuple(Word(f"từ{k}", (100 + 90 * k, 200 + 40 * r, 180 + 90 * k, 230 + 40 * r), 0.9) for k in range(10))
            )
            for r in range(30)
        )
        parts.append(
            (CleanPage(n + 1, img, img[:, :, 0], 150.0, 1.0, 0, 0.0), OcrPage(n + 1, lines, 1240, 1754, 150.0))
        )
    return render_pdf(parts, title="bench", source_sha256="ee" * 32, created=datetime(2026, 1, 1))


def _serve_tsa(stamper: object) -> tuple[ThreadingHTTPServer, str]:
    from asn1crypto import tsp

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: object) -> None:
            return None

        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers["Content-Length"]))
            reply = stamper.request_tsa_response(tsp.TimeStampReq.load(body)).dump()  # type: ignore[attr-defined]
            self.send_response(200)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.send_header("Content-Length", str(len(reply)))
            self.end_headers()
            self.wfile.write(reply)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/tsa"


def main() -> None:
    from pyhanko.sign.timestamps.requests_client import RequestsHTTPTimeStamper

    ap = argparse.ArgumentParser()
    ap.add_argument("--pages", type=int, nargs="+", default=[1, 4])
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()

    dev = DevAuthority(Path(tempfile.mkdtemp()) / "dev")
    server, url = _serve_tsa(dev.timestamper())
    trust = Trust(roots=tuple(load_certificates([dev.ca_cert])), local_crls=lambda: [dev.crl()])
    stamp = StampSpec("SAO Y", "Ủy ban nhân dân thành phố Đà Nẵng")
    print(
        f"{'pages':>5} {'level':>6} {'unsigned KB':>12} {'signed KB':>10} {'overhead KB':>12} "
        f"{'median s':>9} {'s/page':>7}"
    )
    for pages in args.pages:
        pdf = _document(pages)
        for level in LEVELS:
            signer = PyHankoSigner(
                dev.p12,
                dev.password,
                level=level,
                timestamper=RequestsHTTPTimeStamper(url),
                trust=trust,
                stamp=stamp,
                check_pdfa=True,
            )
            signer.sign(pdf)  # warm-up: learns the container size, loads fonts
            times, size = [], 0
            for _ in range(args.repeat):
                t = time.perf_counter()
                signed, _ = signer.sign(pdf)
                times.append(time.perf_counter() - t)
                size = len(signed)
            med = statistics.median(times)
            print(
                f"{pages:>5} {level:>6} {len(pdf) / 1024:>12.1f} {size / 1024:>10.1f} "
                f"{(size - len(pdf)) / 1024:>12.1f} {med:>9.3f} {med / pages:>7.3f}"
            )
        lta = signed  # the last level is B-LTA
        times = []
        for _ in range(args.repeat):
            t = time.perf_counter()
            renewed = renew_timestamp(lta, RequestsHTTPTimeStamper(url), trust)
            times.append(time.perf_counter() - t)
        med = statistics.median(times)
        print(
            f"{pages:>5} {'renew':>6} {len(lta) / 1024:>12.1f} {len(renewed) / 1024:>10.1f} "
            f"{(len(renewed) - len(lta)) / 1024:>12.1f} {med:>9.3f} {med / pages:>7.3f}"
        )
    server.shutdown()


if __name__ == "__main__":
    main()
