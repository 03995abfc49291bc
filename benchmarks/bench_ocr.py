"""OCR side by side: digitize vs plain `tesseract -l vie` vs OCRmyPDF, one run.

For each tool, over the same pages: pages/minute (wall clock, the whole machine
available to the tool), CER against the generator's ground truth (per
degradation and overall), and the peak RSS of the tool's processes (wait4).

    .venv/bin/python -m benchmarks.bench_ocr [PAGES_DIR] [--tools digitize,tesseract,ocrmypdf]

PAGES_DIR holds NAME.{png,jpg,tif,pdf} + NAME.gt.json as written by
`python -m samples.generate`; default samples/data."""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from digitize.text import cer  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
VENV_BIN = Path(sys.executable).parent


def load_pages(folder: Path) -> list[tuple[Path, dict]]:
    pages = []
    for gt_path in sorted(folder.glob("*.gt.json")):
        gt = json.loads(gt_path.read_text(encoding="utf-8"))
        stem = gt_path.name[: -len(".gt.json")]
        inputs = [p for p in folder.glob(stem + ".*") if not p.name.endswith(".gt.json")]
        if inputs:
            pages.append((inputs[0], gt))
    return pages


def degradation_label(gt: dict) -> str:
    degs = gt.get("degradations") or {}
    active = [k for k, v in degs.items() if v not in (0, None, False, "", "none")]
    return "+".join(sorted(active)) or "clean"


def run_measured(cmd: list[str], env: dict | None = None) -> tuple[float, int, int]:
    """(seconds, peak RSS in MiB of the process tree's largest member, return code)."""
    started = time.perf_counter()
    # stderr goes to a log next to the outputs: a page a tool failed on must show up as a
    # failure with its reason, not only as an empty text with 100 % CER.
    log = Path(tempfile.gettempdir()) / f"bench_ocr-{Path(cmd[0]).name}.log"
    with open(log, "ab") as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.perf_counter() - started
    # ru_maxrss covers the process; children it waited for are in RUSAGE_CHILDREN of it,
    # which wait4 folds in for the direct child only. Good enough for single-process tools;
    # for pools we report the largest member, which is what sizes a machine.
    return elapsed, usage.ru_maxrss // 1024, os.waitstatus_to_exitcode(status)


def page_texts_digitize(out: Path, page_path: Path) -> str:
    result = out / f"{page_path.stem}.json"
    if not result.exists():
        print(
            f"digitize gave no result for {page_path.name}: counted as empty "
            f"(reason in {tempfile.gettempdir()}/bench_ocr-digitize.log)",
            file=sys.stderr,
        )
        return ""
    data = json.loads(result.read_text(encoding="utf-8"))
    return "\n".join(p["text"] for p in data["pages"])


def bench_digitize(pages, work: Path, workers: int | None = None) -> tuple[float, int, dict[str, str]]:
    """`digitize process` over all pages in one command (`workers` processes; None: its default)."""
    out = work / "digitize-out"
    env = dict(os.environ, DIGITIZE_HOME=str(work / "digitize-home"))
    inputs = work / "inputs"
    inputs.mkdir(exist_ok=True)
    for path, _ in pages:
        target = inputs / path.name
        if not target.exists():
            os.symlink(path.resolve(), target)
    jobs = ["--workers", str(workers)] if workers else []
    seconds, rss, _ = run_measured(
        [str(VENV_BIN / "digitize"), "process", str(inputs), "--out", str(out), "--no-progress", *jobs], env
    )
    return seconds, rss, {p.name: page_texts_digitize(out, p) for p, _ in pages}


def _tesseract_input(path: Path, work: Path) -> list[Path]:
    """Tesseract reads images but not PDFs: rasterise a PDF at 300 dpi like a user would."""
    if path.suffix.lower() != ".pdf":
        return [path]
    prefix = work / f"raster-{path.stem}"
    subprocess.run(["pdftoppm", "-r", "300", "-png", str(path), str(prefix)], check=True)
    return sorted(work.glob(f"raster-{path.stem}*.png"))


def bench_tesseract(pages, work: Path) -> tuple[float, int, dict[str, str]]:
    texts: dict[str, str] = {}
    total, peak = 0.0, 0
    for path, _ in pages:
        parts = []
        for image in _tesseract_input(path, work):
            base = work / f"tess-{image.stem}"
            seconds, rss, _ = run_measured(["tesseract", str(image), str(base), "-l", "vie"])
            total += seconds
            peak = max(peak, rss)
            txt = base.with_suffix(".txt")
            parts.append(txt.read_text(encoding="utf-8") if txt.exists() else "")
        texts[path.name] = "\n".join(parts)
    return total, peak, texts


def ocrmypdf_command(path: Path, gt: dict, work: Path, *extra: str) -> tuple[list[str], Path]:
    """The OCRmyPDF command for one page, and the sidecar text file it writes."""
    clean = ["--clean"] if shutil.which("unpaper") else []
    sidecar = work / f"omp-{path.stem}.txt"
    cmd = [
        str(VENV_BIN / "ocrmypdf"),
        "-l",
        "vie",
        "--deskew",
        "--rotate-pages",
        *clean,
        "--force-ocr",
        *extra,
        "--output-type",
        "pdf",
        "--sidecar",
        str(sidecar),
        "--image-dpi",
        str(gt.get("dpi", 200)),
        str(path),
        str(work / f"omp-{path.stem}.pdf"),
    ]
    return cmd, sidecar


def sidecar_text(sidecar: Path) -> str:
    return sidecar.read_text(encoding="utf-8").replace("\f", "\n") if sidecar.exists() else ""


def bench_ocrmypdf(pages, work: Path) -> tuple[float, int, dict[str, str]]:
    texts: dict[str, str] = {}
    total, peak = 0.0, 0
    for path, gt in pages:
        cmd, sidecar = ocrmypdf_command(path, gt, work)
        seconds, rss, _ = run_measured(cmd)
        total += seconds
        peak = max(peak, rss)
        texts[path.name] = sidecar_text(sidecar)
    return total, peak, texts


TOOLS = {"digitize": bench_digitize, "tesseract": bench_tesseract, "ocrmypdf": bench_ocrmypdf}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", type=Path, default=ROOT / "samples" / "data")
    parser.add_argument("--tools", default="digitize,tesseract,ocrmypdf")
    parser.add_argument("--json", type=Path, help="also write the numbers here")
    args = parser.parse_args(argv)

    pages = load_pages(args.folder)
    n_pages = sum(len(gt.get("pages") or [gt["text"]]) for _, gt in pages)
    tools = [t for t in args.tools.split(",") if t]
    rows = {}
    per_deg: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    with tempfile.TemporaryDirectory(prefix="bench-ocr-") as tmp:
        for tool in tools:
            work = Path(tmp) / tool
            work.mkdir()
            seconds, rss, texts = TOOLS[tool](pages, work)
            cers = []
            for path, gt in pages:
                value = cer(texts.get(path.name, ""), gt["text"])
                cers.append(value)
                per_deg[degradation_label(gt)][tool].append(value)
            rows[tool] = {
                "seconds": seconds,
                "pages_per_minute": n_pages / seconds * 60 if seconds else 0.0,
                "cer": sum(cers) / len(cers),
                "peak_rss_mib": rss,
                "per_page": {p.name: c for (p, _), c in zip(pages, cers)},
            }

    print(f"{len(pages)} inputs, {n_pages} pages from {args.folder}\n")
    print("| tool | pages/min | mean CER | peak RSS MiB | CER vs digitize | speed vs digitize |")
    print("|---|---:|---:|---:|---:|---:|")
    base = rows.get("digitize")
    for tool, r in rows.items():
        cer_ratio = (r["cer"] / base["cer"]) if base and base["cer"] else float("nan")
        speed_ratio = (r["pages_per_minute"] / base["pages_per_minute"]) if base else float("nan")
        print(
            f"| {tool} | {r['pages_per_minute']:.1f} | {r['cer'] * 100:.2f}% | {r['peak_rss_mib']} | "
            f"{cer_ratio:.1f}× | {speed_ratio:.2f}× |"
        )
    print("\nCER per degradation (mean over pages):\n")
    print("| degradation | pages | " + " | ".join(tools) + " |")
    print("|---|---:|" + "---:|" * len(tools))
    for deg, by_tool in sorted(per_deg.items()):
        count = len(next(iter(by_tool.values())))
        cells = " | ".join(f"{sum(by_tool[t]) / len(by_tool[t]) * 100:.2f}%" for t in tools)
        print(f"| {deg} | {count} | {cells} |")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
