"""Throughput side by side: digitize end to end vs bare tesseract vs OCRmyPDF, one run.

    .venv/bin/python -m benchmarks.bench_throughput [--per-kind 9] [--seed 2020] [--jobs 2]
        [--pages DIR] [--ocrmypdf-every 1] [--stages-every 3]
        [--tools digitize,digitize-tesseract-lines,tesseract,tesseract-1-thread,ocrmypdf]

The same pages for every tool: generated with `samples.generate` (--per-kind pages of each of
four kinds: clean, office scan, poor scan, phone photo; 36 by default) into --pages (default
a cache folder under the temporary directory, reused when complete). Then, with --jobs (2)
at a time on the same machine:

  (a) `digitize process DIR --workers JOBS` end to end (cleanup, OCR, fields, PDF/A, PAdES
      B-LTA with the development signer, store, index) in a fresh DIGITIZE_HOME: the
      development certificate is made first, outside the timing; and the same with
      DIGITIZE_LINE_READER=false (Tesseract reads every line, as before the trained reader);
  (b) bare `tesseract IMG out -l vie --psm 4`, JOBS processes at a time, as installed (Debian's
      build runs OpenMP threads of its own) and with OMP_THREAD_LIMIT=1 (as OCRmyPDF and
      digitize run it: one page per core);
  (c) `ocrmypdf -l vie --deskew --rotate-pages` (bench_ocr's command, `--jobs 1` each),
      JOBS at a time, on every --ocrmypdf-every'th page (default 3: 12 of the 36, 3 per kind).

Prints pages/minute (wall clock), the ratios, the peak RSS of the largest single process of
each tool, the mean CER against the generator's ground truth (digitize.text.cer) per kind
and overall, and digitize's seconds per stage (bench_stages, one process, every
--stages-every'th page) and per page of each kind, against the clean pages' (the issue's
degraded pages within 2× the time of clean ones)."""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.bench_ocr import (  # noqa: E402
    _tesseract_input,
    bench_digitize,
    load_pages,
    ocrmypdf_command,
    run_measured,
    sidecar_text,
)
from benchmarks.bench_stages import print_stage_table, stage_seconds  # noqa: E402
from digitize.text import cer  # noqa: E402

# name, samples.generate --degradations, seed offset
KINDS = [
    ("clean", "clean", 0),
    ("office scan", "skew:1,noise:1,borders:1", 1),
    ("poor scan", "photocopy:2,skew:2,blur:1,noise:2,jpeg:2", 2),
    ("phone photo", "photo:2,stamp:1,signature:1", 3),
]


def make_pages(folder: Path, per_kind: int, seed: int) -> None:
    """`samples.generate` per kind into folder/<kind>/ (skipped where already complete)."""
    for kind, degradations, offset in KINDS:
        sub = folder / kind.replace(" ", "_")
        if len(list(sub.glob("*.gt.json"))) == per_kind:
            continue
        subprocess.run(
            [
                sys.executable,
                "-m",
                "samples.generate",
                "--out",
                str(sub),
                "--count",
                str(per_kind),
                "--seed",
                str(seed + offset),
                "--degradations",
                degradations,
            ],
            check=True,
            cwd=Path(__file__).resolve().parents[1],
            stdout=subprocess.DEVNULL,
        )


def kind_pages(folder: Path) -> list[tuple[str, Path, dict]]:
    out = []
    for kind, _, _ in KINDS:
        out.extend((kind, path, gt) for path, gt in load_pages(folder / kind.replace(" ", "_")))
    return out


def run_many(cmds: list[list[str]], jobs: int, env: dict[str, str] | None = None) -> tuple[float, int, int]:
    """Run the commands `jobs` at a time: (wall seconds, largest single peak RSS MiB, failures)."""
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        results = list(pool.map(lambda cmd: run_measured(cmd, env), cmds))
    return time.perf_counter() - started, max((r[1] for r in results), default=0), sum(r[2] != 0 for r in results)


def digitize_texts(pages, work: Path, jobs: int) -> tuple[float, int, dict[str, str]]:
    # the development certificate (three RSA 3072 keys) is made on first use: make it before timing
    home = work / "digitize-home"
    subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from digitize.config import load_settings; "
            "from digitize.signing.devcert import ensure_dev_certificate; "
            "ensure_dev_certificate(load_settings().dev_cert_dir)",
        ],
        check=True,
        env=dict(os.environ, DIGITIZE_HOME=str(home)),
    )
    return bench_digitize([(p, gt) for _, p, gt in pages], work, workers=jobs)


def tesseract_texts(pages, work: Path, jobs: int, threads: str = "") -> tuple[float, int, dict[str, str]]:
    """Bare tesseract; `threads`: its OMP_THREAD_LIMIT ("" = as installed: Debian's build runs
    OpenMP threads of its own, which contend with the other process on 2 cores)."""
    images = {p.name: _tesseract_input(p, work) for _, p, _ in pages}  # PDFs rasterised first, untimed
    cmds = [
        ["tesseract", str(img), str(work / f"tess-{img.stem}"), "-l", "vie", "--psm", "4"]
        for imgs in images.values()
        for img in imgs
    ]
    env = dict(os.environ)
    env.pop("OMP_THREAD_LIMIT", None)
    if threads:
        env["OMP_THREAD_LIMIT"] = threads
    seconds, rss, failed = run_many(cmds, jobs, env)
    if failed:
        print(
            f"tesseract failed on {failed} pages (see {tempfile.gettempdir()}/bench_ocr-tesseract.log)", file=sys.stderr
        )
    texts = {}
    for name, imgs in images.items():
        txts = [work / f"tess-{img.stem}.txt" for img in imgs]
        texts[name] = "\n".join(t.read_text(encoding="utf-8") if t.exists() else "" for t in txts)
    return seconds, rss, texts


def ocrmypdf_texts(pages, work: Path, jobs: int) -> tuple[float, int, dict[str, str]]:
    cmds, sidecars = [], {}
    for _, path, gt in pages:
        cmd, sidecars[path.name] = ocrmypdf_command(path, gt, work, "--jobs", "1")
        cmds.append(cmd)
    seconds, rss, failed = run_many(cmds, jobs)
    if failed:
        print(
            f"ocrmypdf failed on {failed} pages (see {tempfile.gettempdir()}/bench_ocr-ocrmypdf.log)", file=sys.stderr
        )
    return seconds, rss, {name: sidecar_text(s) for name, s in sidecars.items()}


def tesseract_one_thread_texts(pages, work: Path, jobs: int) -> tuple[float, int, dict[str, str]]:
    return tesseract_texts(pages, work, jobs, threads="1")


def digitize_tesseract_lines_texts(pages, work: Path, jobs: int) -> tuple[float, int, dict[str, str]]:
    """digitize with Tesseract reading every line (DIGITIZE_LINE_READER=false): the tree before
    the trained line reader, in the same run."""
    before = os.environ.get("DIGITIZE_LINE_READER")
    os.environ["DIGITIZE_LINE_READER"] = "false"
    try:
        return digitize_texts(pages, work, jobs)
    finally:
        if before is None:
            del os.environ["DIGITIZE_LINE_READER"]
        else:
            os.environ["DIGITIZE_LINE_READER"] = before


TOOLS = {
    "digitize": digitize_texts,
    "digitize-tesseract-lines": digitize_tesseract_lines_texts,
    "tesseract": tesseract_texts,
    "tesseract-1-thread": tesseract_one_thread_texts,
    "ocrmypdf": ocrmypdf_texts,
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-kind", type=int, default=9, help="pages per kind (4 kinds)")
    parser.add_argument("--seed", type=int, default=2020)
    parser.add_argument("--jobs", type=int, default=2, help="processes at a time, every tool")
    parser.add_argument("--pages", type=Path, help="folder for the generated pages (kept, reused)")
    parser.add_argument("--ocrmypdf-every", type=int, default=3, help="OCRmyPDF on every Nth page only (slow)")
    parser.add_argument("--stages-every", type=int, default=3, help="per-stage seconds on every Nth page (0: off)")
    parser.add_argument("--tools", default="digitize,digitize-tesseract-lines,tesseract,tesseract-1-thread,ocrmypdf")
    args = parser.parse_args(argv)

    folder = args.pages or Path(tempfile.gettempdir()) / f"bench-throughput-{args.per_kind}-{args.seed}"
    make_pages(folder, args.per_kind, args.seed)
    pages = kind_pages(folder)
    tools = [t for t in args.tools.split(",") if t]
    rows: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="bench-throughput-") as tmp:
        for tool in tools:
            subset = pages[:: args.ocrmypdf_every] if tool == "ocrmypdf" else pages
            work = Path(tmp) / tool
            work.mkdir()
            seconds, rss, texts = TOOLS[tool](subset, work, args.jobs)
            by_kind: dict[str, list[float]] = {}
            for kind, path, gt in subset:
                by_kind.setdefault(kind, []).append(cer(texts.get(path.name, ""), gt["text"]))
            rows[tool] = {
                "pages": len(subset),
                "seconds": seconds,
                "ppm": len(subset) / seconds * 60,
                "rss": rss,
                "cer": statistics.mean(c for cs in by_kind.values() for c in cs),
                "by_kind": {k: statistics.mean(v) for k, v in by_kind.items()},
            }
    stages = None
    per_kind: dict[str, float] = {}  # seconds a page, all stages, by kind
    if args.stages_every and "digitize" in tools:
        chosen = pages[:: args.stages_every]
        summed: dict[str, float] = {}
        count = 0
        for kind, _, _ in KINDS:
            paths = [p for k, p, _ in chosen if k == kind]
            if not paths:
                continue
            totals, n = stage_seconds(paths)
            per_kind[kind] = sum(totals.values()) / n
            for stage, seconds in totals.items():
                summed[stage] = summed.get(stage, 0.0) + seconds
            count += n
        stages = (summed, count)

    print(
        f"{len(pages)} pages ({args.per_kind} each: {', '.join(k for k, _, _ in KINDS)}) in {folder}, "
        f"{args.jobs} at a time, {os.cpu_count()} CPUs\n"
    )
    print("| tool | pages | wall s | pages/min | digitize vs it | peak RSS MiB (largest process) | mean CER |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    base = rows.get("digitize")
    for tool, r in rows.items():
        ratio = f"{base['ppm'] / r['ppm']:.2f}×" if base else "n/a"
        print(
            f"| {tool} | {r['pages']} | {r['seconds']:.1f} | {r['ppm']:.1f} | {ratio} | {r['rss']} | "
            f"{r['cer'] * 100:.2f}% |"
        )
    print("\nMean CER per kind:\n")
    print("| kind | " + " | ".join(rows) + " |")
    print("|---|" + "---:|" * len(rows))
    for kind, _, _ in KINDS:
        cells = " | ".join(f"{r['by_kind'][kind] * 100:.2f}%" if kind in r["by_kind"] else "–" for r in rows.values())
        print(f"| {kind} | {cells} |")
    if stages is not None:
        totals, n = stages
        print(
            f"\ndigitize seconds per stage (one process, {n} of the pages: 1 in {args.stages_every}; "
            "storage and index not included):\n"
        )
        print_stage_table(totals, n)
        clean = per_kind.get(KINDS[0][0])
        print("\ndigitize seconds per page by kind (the same run, all stages):\n")
        print("| kind | s/page | vs clean |")
        print("|---|---:|---:|")
        for kind, seconds in per_kind.items():
            print(
                f"| {kind} | {seconds:.2f} | {seconds / clean:.2f}× |" if clean else f"| {kind} | {seconds:.2f} | – |"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
