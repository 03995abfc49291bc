"""Per-stage time of digitize on one core: where a page's seconds go.

    .venv/bin/python -m benchmarks.bench_stages [PAGES_DIR]

Runs each page through the same stage functions the pipeline uses, in this
process, and prints mean seconds per page for every cleanup stage, OCR,
extraction, PDF rendering and signing (storage/index excluded)."""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import defaultdict
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from digitize import ingest  # noqa: E402
from digitize.config import load_settings  # noqa: E402
from digitize.extract import extract  # noqa: E402
from digitize.pipeline import VN_TZ, Engines, recognise_page  # noqa: E402
from digitize.render import render_pdf  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
SUFFIXES = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".pdf"}


def stage_seconds(paths: list[Path]) -> tuple[dict[str, float], int]:
    """(seconds per stage summed over all pages, page count): each input through the pipeline's
    stage functions in this process, with a fresh DIGITIZE_HOME (development signer)."""
    import tempfile

    with tempfile.TemporaryDirectory() as home:
        settings = load_settings(env={**os.environ, "DIGITIZE_HOME": home})
        engines = Engines.from_settings(settings)
        totals: dict[str, float] = defaultdict(float)
        pages = 0
        for path in paths:
            data = path.read_bytes()
            t = time.perf_counter()
            source = ingest.describe(path.name, data, settings)
            images = ingest.load_pages(source, data, settings)
            totals["ingest"] += time.perf_counter() - t
            for image in images:
                t = time.perf_counter()
                clean, ocr = recognise_page(image, engines)
                total = time.perf_counter() - t
                cleanup = sum(s for _, s in clean.timings)
                for stage, seconds in clean.timings:
                    totals[f"cleanup: {stage}"] += seconds
                totals["ocr (incl. orientation retry)"] += total - cleanup
                t = time.perf_counter()
                extract(ocr)
                totals["extract"] += time.perf_counter() - t
                t = time.perf_counter()
                pdf = render_pdf(
                    [(clean, ocr)], title=path.stem, source_sha256=source.sha256, created=datetime.now(VN_TZ)
                )
                totals["render PDF/A"] += time.perf_counter() - t
                t = time.perf_counter()
                engines.signer.sign(pdf)
                totals["sign"] += time.perf_counter() - t
                pages += 1
        engines.close()
    return dict(totals), pages


def input_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in SUFFIXES)


def print_stage_table(totals: dict[str, float], pages: int) -> None:
    grand = sum(totals.values())
    print("| stage | s/page | share |")
    print("|---|---:|---:|")
    for stage, seconds in totals.items():
        print(f"| {stage} | {seconds / pages:.3f} | {seconds / grand * 100:.0f}% |")
    print(f"| **total** | **{grand / pages:.2f}** | 100% |")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", type=Path, default=ROOT / "samples" / "data")
    args = parser.parse_args(argv)
    totals, pages = stage_seconds(input_files(args.folder))
    grand = sum(totals.values())
    print(f"{pages} pages from {args.folder}, one process\n")
    print_stage_table(totals, pages)
    print(f"\n{60 * pages / grand:.1f} pages/minute on one core")
    return 0


if __name__ == "__main__":
    sys.exit(main())
