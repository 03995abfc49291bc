"""The trained line reader against Tesseract, line by line, on the lines digitize cuts out.

    .venv/bin/python -m benchmarks.bench_line_reader DIR_OR_FILE... [--trust 0.8]
    .venv/bin/python -m benchmarks.bench_line_reader DIR... --fit-calibration models/line_reader.json

Each page is cleaned and its lines detected as `digitize process` does; every line is then
read both ways, one after the other in one process on one core: Tesseract's whole line
procedure (`PaddleDetEngine._read_line`: PSM 7, the parts on other baselines, the
black-and-white and block re-readings) and the reader. It prints the milliseconds per line of
each, how many lines both read alike, and how many the reader would keep at `--trust` (its
least certain letter at least that likely). Page CER, where ground truth exists, is
`bench_ocr`'s (run it with DIGITIZE_LINE_READER=false and true).

`--fit-calibration` writes the quantile map from the reader's certainty to Tesseract's word
confidence over the words both read alike (the confidence model and the page's re-reading
bars were fitted on Tesseract's scale); fit it on dev pages only."""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

from digitize import ingest
from digitize.config import Settings
from digitize.ocr import ppocr
from digitize.ocr.line_reader import shared_reader
from digitize.preprocess.cleanup import clean_page

SUFFIXES = {".png", ".jpg", ".jpeg", ".tif", ".tiff", ".pdf"}


def inputs(paths: list[Path]) -> list[Path]:
    out: list[Path] = []
    for p in paths:
        out += sorted(f for f in p.iterdir() if f.suffix.lower() in SUFFIXES) if p.is_dir() else [p]
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("paths", nargs="+", type=Path)
    ap.add_argument("--trust", type=float, default=ppocr.READER_TRUST)
    ap.add_argument("--fit-calibration", type=Path, help="write the reader's calibration here")
    args = ap.parse_args(argv)

    settings = Settings()
    engine = ppocr.PaddleDetEngine(line_reader=False)
    reader = shared_reader()
    tesseract_s = reader_s = 0.0
    lines = alike = kept = kept_alike = 0
    pairs: list[tuple[float, float]] = []
    read_line = ppocr.PaddleDetEngine._read_line

    def both(self, api, crop):
        nonlocal tesseract_s, reader_s, lines, alike, kept, kept_alike
        t0 = time.perf_counter()
        words = read_line(self, api, crop)
        t1 = time.perf_counter()
        reading = reader.read(crop)
        t2 = time.perf_counter()
        tesseract_s, reader_s = tesseract_s + t1 - t0, reader_s + t2 - t1
        ours = [ppocr.clean_word(t) for t, _, _, _ in reading.words]
        same = [w[0] for w in words] == [w for w in ours if w]
        lines += 1
        alike += same
        if ppocr.kept_reading(reading, args.trust) is not None:
            kept += 1
            kept_alike += same
        if same:
            certainties = [c for (t, _, _, _), c in zip(reading.words, reading.certainties) if ppocr.clean_word(t)]
            pairs.extend(zip(certainties, (w[2] for w in words)))
        return words

    ppocr.PaddleDetEngine._read_line = both  # type: ignore[method-assign]
    files = inputs(args.paths)
    for i, path in enumerate(files, 1):
        data = path.read_bytes()
        try:
            pages = ingest.load_pages(ingest.describe(path.name, data, settings), data, settings)
        except Exception as exc:  # noqa: BLE001 - a benchmark reports and goes on
            print(f"{path.name}: {exc}", file=sys.stderr)
            continue
        for page in pages:
            engine.recognize(clean_page(page))
        print(f"\r{i}/{len(files)} files, {lines} lines", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    if not lines:
        print("no lines read")
        return 1
    head = f"kept as the reader read it (trust ≥ {args.trust:.2f}, plain words)"
    print(f"| reader | ms per line | lines | read alike by both | {head} | of those, alike |")
    print("|---|---:|---:|---:|---:|---:|")
    print(f"| Tesseract (line procedure) | {1000 * tesseract_s / lines:.1f} | {lines} | | | |")
    print(
        f"| trained reader | {1000 * reader_s / lines:.1f} | {lines} | {alike} ({alike / lines:.1%}) "
        f"| {kept} ({kept / lines:.1%}) | {kept_alike} ({kept_alike / max(1, kept):.1%}) |"
    )
    if args.fit_calibration:
        fit(pairs, args.fit_calibration, [str(p) for p in args.paths])
    return 0


def fit(pairs: list[tuple[float, float]], out: Path, sources: list[str]) -> None:
    """41 quantiles of each, the reader's made strictly increasing (np.interp's knots)."""
    ours, theirs = np.array([p[0] for p in pairs]), np.array([p[1] for p in pairs])
    qs = np.linspace(0, 1, 41)
    knots: list[float] = []
    values: list[float] = []
    for a, b in zip(np.quantile(ours, qs), np.quantile(theirs, qs)):
        if knots and a <= knots[-1]:
            values[-1] = float(b)
            continue
        knots.append(float(a))
        values.append(float(b))
    about = (
        "Quantile map from the line reader's word certainty (its least certain letter's probability) to "
        f"Tesseract vie's word confidence, over the {len(pairs)} words both read alike on {', '.join(sources)} "
        "(benchmarks/bench_line_reader.py --fit-calibration)."
    )
    data = {"about": about, "reader": [round(v, 7) for v in knots], "tesseract": [round(v, 4) for v in values]}
    out.write_text(json.dumps(data, ensure_ascii=False, indent=0) + "\n", encoding="utf-8")
    print(f"wrote {out}: {len(knots)} knots from {len(pairs)} words")


if __name__ == "__main__":
    sys.exit(main())
