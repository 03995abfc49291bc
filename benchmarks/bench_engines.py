"""OCR engines side by side on the same cleaned pages: CER and seconds per page.

    .venv/bin/python -m benchmarks.bench_engines [--engines tesseract,paddle-det] \
        [--heldout 24] [--seed 4242] [--folder DIR ...] [--json FILE]

Pages: the committed samples (samples/data) plus a held-out degraded set made
by `samples.generate --split heldout --degradations random` into a temporary
folder. Each page is cleaned once (`clean_page`); every engine then reads the
same CleanPage, with the pipeline's upside-down retry (Tesseract OSD) applied
alike. CER is `digitize.text.cer` of the pages' texts joined by "\\n" against
the ground truth `text`. Seconds are wall clock and CPU (all threads) of
`recognize` only, per page.

Engine specs: `tesseract`; `paddle-det` with optional `:SOURCE:MAX_SIDE`
(SOURCE `display` or `ocr`, the image the detector sees), e.g. `paddle-det:ocr:1280`."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from digitize import ingest  # noqa: E402
from digitize.config import Settings  # noqa: E402
from digitize.preprocess import clean_page, with_rotation  # noqa: E402
from digitize.text import cer  # noqa: E402
from digitize.types import CleanPage, OcrPage  # noqa: E402

from benchmarks.bench_ocr import load_pages  # noqa: E402  (same ground-truth layout)

ROOT = Path(__file__).resolve().parents[1]


def degradations(gt: dict) -> list[str]:
    degs = gt.get("degradations") or {}
    active = sorted(k for k, v in degs.items() if v not in (0, None, False, "", "none") and k != "upright_rotation")
    return active or ["clean"]


def make_engine(spec: str):
    name, *opts = spec.split(":")
    if name == "tesseract":
        from digitize.ocr.tesseract import TesseractEngine

        return TesseractEngine()
    if name == "paddle-det":
        from digitize.ocr.ppocr import PaddleDetEngine

        kwargs: dict = {}
        if opts:
            kwargs["source"] = opts[0]
        if len(opts) > 1:
            kwargs["max_side"] = int(opts[1])
        return PaddleDetEngine(**kwargs)
    raise SystemExit(f"unknown engine spec {spec!r}")


def _looks_wrong(page: OcrPage) -> bool:  # as digitize.pipeline
    return page.confidence < 0.80 or sum(len(line.words) for line in page.lines) < 3


def _score(page: OcrPage) -> float:
    return page.confidence * sum(len(w.text) for line in page.lines for w in line.words)


def read(engine, clean: CleanPage) -> OcrPage:
    """recognize + the pipeline's upside-down retry."""
    ocr = engine.recognize(clean)
    if _looks_wrong(ocr):
        guess = engine.orientation(clean.ocr_input)
        if guess and guess[0] and guess[1] >= 1.0:
            second = engine.recognize(with_rotation(clean, (-guess[0]) % 360))
            if _score(second) > _score(ocr):
                return second
    return ocr


def generate_heldout(out: Path, count: int, seed: int) -> None:
    subprocess.run(
        [
            sys.executable,
            "-m",
            "samples.generate",
            "--out",
            str(out),
            "--count",
            str(count),
            "--seed",
            str(seed),
            "--split",
            "heldout",
            "--degradations",
            "random",
        ],
        check=True,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--engines", default="tesseract,paddle-det")
    parser.add_argument(
        "--folder", type=Path, action="append", help="page folders (NAME.* + NAME.gt.json); default samples/data"
    )
    parser.add_argument("--heldout", type=int, default=24, help="generated held-out pages (0: none)")
    parser.add_argument("--seed", type=int, default=4242)
    parser.add_argument("--json", type=Path, help="also write per-page numbers here")
    args = parser.parse_args(argv)

    specs = [s for s in args.engines.split(",") if s]
    engines = {spec: make_engine(spec) for spec in specs}
    settings = Settings()
    with tempfile.TemporaryDirectory(prefix="bench-engines-") as tmp:
        sets = [("samples", folder) for folder in (args.folder or [ROOT / "samples" / "data"])]
        if args.heldout:
            generate_heldout(Path(tmp), args.heldout, args.seed)
            sets.append((f"heldout-{args.seed}", Path(tmp)))
        rows = []
        for set_name, folder in sets:
            for path, gt in load_pages(folder):
                data = path.read_bytes()
                cleaned = [
                    clean_page(p) for p in ingest.load_pages(ingest.describe(path.name, data, settings), data, settings)
                ]
                row = {
                    "set": set_name,
                    "name": path.name,
                    "degradations": degradations(gt),
                    "pages": len(cleaned),
                    "doc_type": gt.get("doc_type", "?"),
                    "leaders": bool(gt.get("leaders")),
                }
                for spec, engine in engines.items():
                    wall = cpu = 0.0
                    texts = []
                    for clean in cleaned:
                        t0, c0 = time.perf_counter(), time.process_time()
                        texts.append(read(engine, clean).text)
                        wall += time.perf_counter() - t0
                        cpu += time.process_time() - c0
                    row[spec] = {"cer": cer("\n".join(texts), gt["text"]), "wall": wall, "cpu": cpu}
                rows.append(row)
                print(
                    f"{set_name} {path.name}: "
                    + "  ".join(f"{s} {row[s]['cer'] * 100:.2f}% {row[s]['wall']:.1f}s" for s in specs),
                    file=sys.stderr,
                )

    groups: dict[str, list[dict]] = defaultdict(list)
    for row in rows:
        groups[f"all {row['set']}"].append(row)
        groups[f"type {row['doc_type']}"].append(row)
        if row["leaders"]:
            groups["dotted leaders"].append(row)
        if row["set"] != "samples":
            for deg in row["degradations"]:
                groups[deg].append(row)
    first = ("all ", "type ", "dotted")
    order = [g for p in first for g in sorted(groups) if g.startswith(p)] + sorted(
        g for g in groups if not g.startswith(first)
    )
    print(
        "| pages | n | "
        + " | ".join(f"{s} CER" for s in specs)
        + " | "
        + " | ".join(f"{s} s/page (CPU s)" for s in specs)
        + " |"
    )
    print("|---|---:|" + "---:|" * (2 * len(specs)))
    for group in order:
        members = groups[group]
        n_pages = sum(r["pages"] for r in members)
        cers = " | ".join(f"{sum(r[s]['cer'] for r in members) / len(members) * 100:.2f}%" for s in specs)
        secs = " | ".join(
            f"{sum(r[s]['wall'] for r in members) / n_pages:.2f} ({sum(r[s]['cpu'] for r in members) / n_pages:.2f})"
            for s in specs
        )
        print(f"| {group} | {len(members)} | {cers} | {secs} |")
    print(
        "\nCER: mean over inputs. `type`/`dotted leaders` rows pool both sets; degradation rows are the "
        "held-out pages, each counted under every degradation it has."
    )
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
